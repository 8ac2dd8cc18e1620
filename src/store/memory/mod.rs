//! The embedded store: everything in this process's memory, a complete
//! backend. Each part is a plain structure in a file of its own (`map`: the
//! sessions; `ended`; `lobby`; `presence`) that knows nothing of locks or of
//! the others; this file holds each behind its lock and offers the store's
//! operations on them.
//!
//! Every operation takes short locks and never awaits while holding one, so
//! each is atomic and writes to one session are serialised (the one
//! exception is the lobby's delivery order: see [`MemoryStore::append_chat`]).
//! Where two parts must change together (a renewal and its remembered end)
//! the sessions' lock is taken first. Expiry is lazy (an expired entry is
//! treated as absent the moment it is read) plus a periodic sweep that frees
//! the memory of sessions nobody comes back to.
//!
//! It holds at most a fixed number of sessions (`MAX_SESSIONS`), so a flood
//! of anonymous requests, each of which starts a session, cannot exhaust
//! memory; which one goes beyond that is `map`'s business.

mod ended;
mod lobby;
mod map;
mod presence;

use std::{
    future::Future,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use actix_web::cookie::Key;

use self::{
    ended::MemoryEnded,
    lobby::MemoryLog,
    map::{Entry, Map},
    presence::MemoryPresence,
};
use crate::{
    session::{RoomId, RoomKey, SessionId, SessionState, SocketId},
    store::{Ended, History, Roster, SocketChange, StoreError, Transition},
    sync::lock,
};

/// In-memory sessions and the rest, shared by every clone (and so by every
/// worker).
#[derive(Clone)]
pub struct MemoryStore {
    sessions: Arc<Mutex<Map>>,
    ended: Arc<Mutex<MemoryEnded>>,
    log: Arc<Mutex<MemoryLog>>,
    /// Held from a lobby append to the end of its delivery (tokio's lock is
    /// FIFO, so deliveries follow the order of the appends).
    delivering: Arc<tokio::sync::Mutex<()>>,
    presence: Arc<Mutex<MemoryPresence>>,
    rooms: RoomKey,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(usize::MAX)
    }
}

impl MemoryStore {
    /// An empty store without a limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that holds at most `capacity` sessions (and as many
    /// remembered ends of each kind): a new session beyond it evicts one,
    /// unpinned before pinned, anonymous before logged in, then the least
    /// recently used.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            sessions: Arc::new(Mutex::new(Map::new(capacity))),
            ended: Arc::new(Mutex::new(MemoryEnded::new(capacity))),
            log: Arc::default(),
            delivering: Arc::default(),
            presence: Arc::default(),
            rooms: RoomKey::new(&Key::generate()),
        }
    }

    /// Names rooms (for the remembered ends) with `rooms`, the key the
    /// app's services use; without it the store draws a key of its own.
    pub fn with_rooms(mut self, rooms: RoomKey) -> Self {
        self.rooms = rooms;
        self
    }

    /// Starts the periodic sweep of expired sessions (and remembered ends)
    /// on the current runtime. It ends by itself once every clone of the
    /// store is dropped.
    pub fn spawn_sweeper(&self, every: Duration) {
        let sessions: Weak<Mutex<Map>> = Arc::downgrade(&self.sessions);
        let ended = Arc::downgrade(&self.ended);
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                let (Some(sessions), Some(ended)) = (sessions.upgrade(), ended.upgrade()) else {
                    return;
                };
                let now = Instant::now();
                lock(&sessions).sweep(now);
                lock(&ended).sweep(now);
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

    /// The room id of a session.
    pub(in crate::store) fn room(&self, id: &SessionId) -> RoomId {
        self.rooms.room(id)
    }

    pub(in crate::store) fn load(&self, id: &SessionId) -> Option<SessionState> {
        lock(&self.sessions)
            .read(id.as_str())
            .map(|entry| entry.state.clone())
    }

    /// One more open socket of `id` on this instance: the session is not
    /// evicted before every unpinned one.
    pub(in crate::store) fn pin(&self, id: &SessionId) {
        lock(&self.sessions).repin(id.as_str(), |pins| pins.saturating_add(1));
    }

    /// One socket of `id` closed on this instance (once per [`pin`]).
    ///
    /// [`pin`]: Self::pin
    pub(in crate::store) fn unpin(&self, id: &SessionId) {
        lock(&self.sessions).repin(id.as_str(), |pins| pins.saturating_sub(1));
    }

    pub(in crate::store) fn create(&self, state: SessionState, ttl: Duration) -> SessionId {
        lock(&self.sessions).insert_fresh(Entry::new(state, ttl))
    }

    pub(in crate::store) fn replace(
        &self,
        id: &SessionId,
        state: SessionState,
        ttl: Duration,
    ) -> bool {
        lock(&self.sessions)
            .write(id.as_str(), ttl, |current| *current = state)
            .is_some()
    }

    pub(in crate::store) fn increment(
        &self,
        id: &SessionId,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let (mut sessions, key) = (lock(&self.sessions), id.as_str());
        // Check first: a failed increment changes nothing, not even the lifetime.
        if !sessions.is_live(key) {
            return Ok(None);
        }
        let current = match sessions.field(key, field) {
            None => 0,
            Some(value) => value
                .parse::<u64>()
                .map_err(|_| StoreError::Corrupt(format!("`{field}` is not a whole number")))?,
        };
        let next = current.saturating_add(1);
        Ok(sessions.write(key, ttl, |state| {
            state.insert(field.to_owned(), next.to_string());
            next
        }))
    }

    pub(in crate::store) fn renew(
        &self,
        id: &SessionId,
        changes: SessionState,
        ttl: Duration,
        renewed_for: Duration,
    ) -> Option<SessionId> {
        let mut sessions = lock(&self.sessions);
        if !sessions.is_live(id.as_str()) {
            return None;
        }
        let mut state = sessions.remove(id.as_str())?.state;
        state.extend(changes);
        let new = sessions.insert_fresh(Entry::new(state, ttl));
        // Under the sessions' lock: no request sees the old key neither live
        // nor renewed.
        lock(&self.ended).remember(self.room(id), Ended::Renewed, renewed_for);
        Some(new)
    }

    pub(in crate::store) fn touch(&self, id: &SessionId, ttl: Duration) {
        lock(&self.sessions).write(id.as_str(), ttl, |_| ());
    }

    pub(in crate::store) fn delete(&self, id: &SessionId) {
        lock(&self.sessions).remove(id.as_str());
    }

    pub(in crate::store) fn end_user(
        &self,
        user: &str,
        ended_for: Duration,
        spare: Option<&SessionId>,
    ) -> usize {
        let mut sessions = lock(&self.sessions);
        let mut remembered = lock(&self.ended);
        let mut ended = 0;
        let spare = spare.map(SessionId::as_str);
        for key in sessions.keys_of(user) {
            if spare != Some(key.as_str()) && sessions.remove(&key).is_some() {
                let room = self.room(&SessionId::from_stored(key));
                remembered.remember(room, Ended::LoggedOut, ended_for);
                ended += 1;
            }
        }
        ended
    }
}

/// Ended sessions.
impl MemoryStore {
    pub(in crate::store) fn remember_ended(&self, room: &RoomId, how: Ended, ttl: Duration) {
        lock(&self.ended).remember(*room, how, ttl);
    }

    pub(in crate::store) fn ended(&self, room: &RoomId) -> Option<Ended> {
        lock(&self.ended).get(room)
    }
}

/// The lobby. Its one process is the only deliverer, so "append and have it
/// delivered" is: append, then call the caller's delivery, holding a FIFO
/// lock from the one to the other.
impl MemoryStore {
    /// Appends `message`, keeps the last `keep`, then `deliver`s the
    /// message's position before any later append's; the position.
    pub(in crate::store) async fn append_chat<Fut: Future<Output = ()>>(
        &self,
        message: &str,
        keep: usize,
        deliver: impl FnOnce(u64) -> Fut,
    ) -> Result<u64, StoreError> {
        let _in_order = self.delivering.lock().await;
        let seq = lock(&self.log).append(message, keep)?;
        deliver(seq).await;
        Ok(seq)
    }

    pub(in crate::store) fn chat_history(&self) -> History {
        lock(&self.log).history()
    }
}

/// Presence.
impl MemoryStore {
    pub(in crate::store) fn presence_sockets(&self, user: &str, instance: &str) -> Vec<SocketId> {
        lock(&self.presence).sockets(user, instance)
    }

    pub(in crate::store) fn presence_users(&self, instance: &str) -> Vec<String> {
        lock(&self.presence).users(instance)
    }

    pub(in crate::store) fn presence_sync(
        &self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
    ) -> Option<Transition> {
        lock(&self.presence).sync(user, instance, change, grace)
    }

    pub(in crate::store) fn presence_sweep(&self, grace: Duration) -> Vec<Transition> {
        lock(&self.presence).sweep(grace)
    }

    pub(in crate::store) fn presence_roster(&self) -> Roster {
        lock(&self.presence).roster()
    }
}

#[cfg(test)]
mod tests;
