//! The embedded session store: a map in this process's memory.
//!
//! Every operation takes one short lock and never awaits while holding it, so
//! each is atomic and writes to one session are serialised. Expiry is lazy (an
//! expired entry is treated as absent the moment it is read) plus a periodic
//! sweep that frees the memory of sessions nobody comes back to.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, Instant},
};

use super::{SessionState, StoreError};
use crate::session::SessionId;

struct Entry {
    state: SessionState,
    expires_at: Instant,
}

impl Entry {
    fn new(state: SessionState, ttl: Duration) -> Self {
        Self {
            state,
            expires_at: deadline(ttl),
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

/// A deadline `ttl` from now, saturating instead of overflowing.
fn deadline(ttl: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

type Map = HashMap<String, Entry>;

/// In-memory sessions, shared by every clone (and so by every worker).
#[derive(Clone, Default)]
pub struct MemoryStore {
    sessions: Arc<Mutex<Map>>,
    pub(super) log: super::lobby::SharedLog,
    pub(super) presence: super::presence::SharedPresence,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the periodic sweep of expired sessions on the current runtime.
    /// It ends by itself once every clone of the store is dropped.
    pub fn spawn_sweeper(&self, every: Duration) {
        let sessions: Weak<Mutex<Map>> = Arc::downgrade(&self.sessions);
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                let Some(sessions) = sessions.upgrade() else {
                    return;
                };
                let now = Instant::now();
                lock(&sessions).retain(|_, entry| entry.is_live(now));
            }
        });
    }

    /// The number of sessions held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Whether the store holds no session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn load(&self, key: &str) -> Option<SessionState> {
        let mut sessions = lock(&self.sessions);
        live_entry(&mut sessions, key).map(|entry| entry.state.clone())
    }

    pub(super) fn create(&self, state: SessionState, ttl: Duration) -> SessionId {
        insert_fresh(&mut lock(&self.sessions), Entry::new(state, ttl))
    }

    pub(super) fn replace(&self, key: &str, state: SessionState, ttl: Duration) -> bool {
        let mut sessions = lock(&self.sessions);
        match live_entry(&mut sessions, key) {
            Some(entry) => {
                *entry = Entry::new(state, ttl);
                true
            }
            None => false,
        }
    }

    pub(super) fn increment(
        &self,
        key: &str,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let mut sessions = lock(&self.sessions);
        let Some(entry) = live_entry(&mut sessions, key) else {
            return Ok(None);
        };
        let current = match entry.state.get(field) {
            None => 0,
            Some(value) => value
                .parse::<u64>()
                .map_err(|_| StoreError::Corrupt(format!("`{field}` is not a whole number")))?,
        };
        let next = current.saturating_add(1);
        entry.state.insert(field.to_owned(), next.to_string());
        entry.expires_at = deadline(ttl);
        Ok(Some(next))
    }

    pub(super) fn renew(
        &self,
        key: &str,
        changes: SessionState,
        ttl: Duration,
    ) -> Option<SessionId> {
        let mut sessions = lock(&self.sessions);
        live_entry(&mut sessions, key)?;
        let mut entry = sessions.remove(key)?;
        entry.state.extend(changes);
        entry.expires_at = deadline(ttl);
        Some(insert_fresh(&mut sessions, entry))
    }

    pub(super) fn touch(&self, key: &str, ttl: Duration) {
        if let Some(entry) = live_entry(&mut lock(&self.sessions), key) {
            entry.expires_at = deadline(ttl);
        }
    }

    pub(super) fn delete(&self, key: &str) {
        lock(&self.sessions).remove(key);
    }
}

/// Locks the map. No code panics while holding the lock, so a poisoned lock
/// still guards a consistent map and is safe to use.
fn lock(sessions: &Mutex<Map>) -> MutexGuard<'_, Map> {
    sessions.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Inserts `entry` under a new random key (a collision of 64 random
/// characters is not expected, but costs only a retry).
fn insert_fresh(sessions: &mut Map, entry: Entry) -> SessionId {
    loop {
        let id = SessionId::generate();
        if !sessions.contains_key(id.as_str()) {
            sessions.insert(id.as_str().to_owned(), entry);
            return id;
        }
    }
}

/// The live entry for `key`; an expired one is removed on the way (lazy expiry).
fn live_entry<'a>(sessions: &'a mut Map, key: &str) -> Option<&'a mut Entry> {
    let now = Instant::now();
    if sessions.get(key).is_some_and(|entry| !entry.is_live(now)) {
        sessions.remove(key);
    }
    sessions.get_mut(key)
}
