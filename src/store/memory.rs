//! The embedded session store: a map in this process's memory.
//!
//! Every operation takes one short lock and never awaits while holding it, so
//! each is atomic and writes to one session are serialised. Expiry is lazy (an
//! expired entry is treated as absent the moment it is read) plus a periodic
//! sweep that frees the memory of sessions nobody comes back to.
//!
//! It holds at most a fixed number of sessions (`MAX_SESSIONS`), so a flood of
//! anonymous requests, each of which starts a session, cannot exhaust memory.
//! Beyond it one session is evicted in O(log n), chosen in the contract's
//! order: sessions without an open socket on this instance (not pinned)
//! before pinned ones; among those, anonymous before logged in; then the
//! least recently used (read or written). So a flood never evicts a session
//! whose socket is open. It also indexes sessions by user, for "log out
//! everywhere".

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, Instant},
};

use actix_web::cookie::Key;

use super::{ended, lobby, presence, Ended, SessionState, StoreError};
use crate::session::{RoomId, RoomKey, SessionData, SessionId};

struct Entry {
    state: SessionState,
    expires_at: Instant,
    /// The login name it is indexed under, when logged in.
    user: Option<String>,
    /// Its place in use order, reads and writes (for eviction).
    used: u64,
}

impl Entry {
    fn new(state: SessionState, ttl: Duration) -> Self {
        let user = SessionData::from_state(&state).user().map(str::to_owned);
        Self {
            state,
            expires_at: deadline(ttl),
            user,
            used: 0,
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

/// The sessions with their indexes kept in step with them.
struct Map {
    entries: HashMap<String, Entry>,
    /// `(used, key)` in use order, one set per eviction class (see
    /// [`Map::class`]), evicted from the first non-empty one.
    recency: [BTreeSet<(u64, String)>; 4],
    /// User → the keys of its sessions.
    users: HashMap<String, HashSet<String>>,
    /// Key → how many open sockets on this instance pin it. Kept apart from
    /// the entries: a socket may outlive its session (logout) and still
    /// unpin it when it closes.
    pins: HashMap<String, usize>,
    uses: u64,
    capacity: usize,
}

impl Map {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            recency: Default::default(),
            users: HashMap::new(),
            pins: HashMap::new(),
            uses: 0,
            capacity: capacity.max(1),
        }
    }

    /// The eviction class of `key`: `0` not pinned and anonymous, `1` not
    /// pinned and logged in, `2` pinned and anonymous, `3` pinned and logged
    /// in. Whatever changes a class (a pin, the user) re-files the entry.
    fn class(&self, key: &str, entry: &Entry) -> usize {
        usize::from(entry.user.is_some()) + 2 * usize::from(self.pins.contains_key(key))
    }

    /// Inserts `entry` under `key` as its newest use, indexing it.
    fn insert(&mut self, key: String, mut entry: Entry) {
        self.uses += 1;
        entry.used = self.uses;
        self.recency[self.class(&key, &entry)].insert((entry.used, key.clone()));
        if let Some(user) = &entry.user {
            self.users
                .entry(user.clone())
                .or_default()
                .insert(key.clone());
        }
        self.entries.insert(key, entry);
    }

    /// Inserts `entry` under a new random key (a collision of 64 random
    /// characters is not expected, but costs only a retry), first evicting
    /// what the capacity requires.
    fn insert_fresh(&mut self, entry: Entry) -> SessionId {
        while self.entries.len() >= self.capacity && self.evict_one() {}
        loop {
            let id = SessionId::generate();
            if !self.entries.contains_key(id.as_str()) {
                self.insert(id.as_str().to_owned(), entry);
                return id;
            }
        }
    }

    /// Evicts the first session of the first non-empty class: the least
    /// recently used of the lowest class.
    fn evict_one(&mut self) -> bool {
        let oldest = self
            .recency
            .iter()
            .find_map(|by_write| by_write.first().map(|(_, key)| key.clone()));
        oldest.is_some_and(|key| self.remove(&key).is_some())
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        let class = self.class(key, &entry);
        self.recency[class].remove(&(entry.used, key.to_owned()));
        if let Some(user) = &entry.user {
            if let Some(keys) = self.users.get_mut(user) {
                keys.remove(key);
                if keys.is_empty() {
                    self.users.remove(user);
                }
            }
        }
        Some(entry)
    }

    /// Whether `key` is live; an expired one is removed on the way (lazy expiry).
    fn is_live(&mut self, key: &str) -> bool {
        let now = Instant::now();
        match self.entries.get(key) {
            Some(entry) if entry.is_live(now) => true,
            Some(_) => {
                self.remove(key);
                false
            }
            None => false,
        }
    }

    /// Reads a live `key`, making it the most recently used.
    fn read(&mut self, key: &str) -> Option<&Entry> {
        if !self.is_live(key) {
            return None;
        }
        let entry = self.remove(key)?;
        self.insert(key.to_owned(), entry);
        self.entries.get(key)
    }

    /// Changes the pins of `key` by `change`, re-filing its entry when its
    /// class changes.
    fn repin(&mut self, key: &str, change: impl FnOnce(usize) -> usize) {
        let entry = self.remove(key);
        let pins = change(self.pins.get(key).copied().unwrap_or(0));
        if pins == 0 {
            self.pins.remove(key);
        } else {
            self.pins.insert(key.to_owned(), pins);
        }
        if let Some(entry) = entry {
            // Re-inserted as used now: a socket opening on it is a use.
            self.insert(key.to_owned(), entry);
        }
    }

    /// Writes a live `key`: `change` its state, restart its lifetime, move it
    /// to the back of the eviction order (re-indexing it if its user changed).
    fn write<T>(
        &mut self,
        key: &str,
        ttl: Duration,
        change: impl FnOnce(&mut SessionState) -> T,
    ) -> Option<T> {
        if !self.is_live(key) {
            return None;
        }
        let mut entry = self.remove(key)?;
        let result = change(&mut entry.state);
        self.insert(key.to_owned(), Entry::new(entry.state, ttl));
        Some(result)
    }

    fn sweep(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, entry)| !entry.is_live(now))
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }
}

/// In-memory sessions, shared by every clone (and so by every worker).
#[derive(Clone)]
pub struct MemoryStore {
    sessions: Arc<Mutex<Map>>,
    pub(super) log: lobby::SharedLog,
    pub(super) presence: presence::SharedPresence,
    pub(super) ended: ended::SharedEnded,
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
            log: Arc::default(),
            presence: Arc::default(),
            ended: Arc::new(Mutex::new(ended::MemoryEnded::new(capacity))),
            rooms: RoomKey::new(&Key::generate()),
        }
    }

    /// Names rooms (for the remembered ends) with `rooms`, the key the
    /// app's services use; without it the store draws a key of its own.
    pub fn with_rooms(mut self, rooms: RoomKey) -> Self {
        self.rooms = rooms;
        self
    }

    /// The room id of a session.
    pub(super) fn room(&self, id: &SessionId) -> RoomId {
        self.rooms.room(id)
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
        lock(&self.sessions).entries.len()
    }

    /// Whether the store holds no session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn load(&self, key: &str) -> Option<SessionState> {
        lock(&self.sessions)
            .read(key)
            .map(|entry| entry.state.clone())
    }

    /// One more open socket of `id` on this instance: the session is not
    /// evicted before every unpinned one.
    pub(super) fn pin(&self, id: &SessionId) {
        lock(&self.sessions).repin(id.as_str(), |pins| pins.saturating_add(1));
    }

    /// One socket of `id` closed on this instance (once per [`pin`]).
    ///
    /// [`pin`]: Self::pin
    pub(super) fn unpin(&self, id: &SessionId) {
        lock(&self.sessions).repin(id.as_str(), |pins| pins.saturating_sub(1));
    }

    pub(super) fn create(&self, state: SessionState, ttl: Duration) -> SessionId {
        lock(&self.sessions).insert_fresh(Entry::new(state, ttl))
    }

    pub(super) fn replace(&self, key: &str, state: SessionState, ttl: Duration) -> bool {
        lock(&self.sessions)
            .write(key, ttl, |current| *current = state)
            .is_some()
    }

    pub(super) fn increment(
        &self,
        key: &str,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let mut sessions = lock(&self.sessions);
        // Check first: a failed increment changes nothing, not even the lifetime.
        let current = match sessions.is_live(key) {
            false => return Ok(None),
            true => match sessions.entries.get(key).and_then(|e| e.state.get(field)) {
                None => 0,
                Some(value) => value
                    .parse::<u64>()
                    .map_err(|_| StoreError::Corrupt(format!("`{field}` is not a whole number")))?,
            },
        };
        let next = current.saturating_add(1);
        Ok(sessions.write(key, ttl, |state| {
            state.insert(field.to_owned(), next.to_string());
            next
        }))
    }

    pub(super) fn renew(
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

    pub(super) fn touch(&self, key: &str, ttl: Duration) {
        lock(&self.sessions).write(key, ttl, |_| ());
    }

    pub(super) fn delete(&self, key: &str) {
        lock(&self.sessions).remove(key);
    }

    pub(super) fn end_user(
        &self,
        user: &str,
        ended_for: Duration,
        spare: Option<&SessionId>,
    ) -> usize {
        let mut sessions = lock(&self.sessions);
        let keys: Vec<String> = sessions
            .users
            .get(user)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default();
        let mut remembered = lock(&self.ended);
        let mut ended = 0;
        let spare = spare.map(SessionId::as_str);
        for key in keys {
            if spare != Some(key.as_str()) && sessions.remove(&key).is_some() {
                let room = self.room(&SessionId::from_stored(key));
                remembered.remember(room, Ended::LoggedOut, ended_for);
                ended += 1;
            }
        }
        ended
    }
}

/// Locks a part of the store. No code panics while holding a lock, so a
/// poisoned one still guards consistent data and is safe to use.
pub(super) fn lock<T>(part: &Mutex<T>) -> MutexGuard<'_, T> {
    part.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    fn logged_in(name: &str) -> SessionState {
        SessionData {
            count: 0,
            name: Some(name.to_owned()),
            authenticated: true,
        }
        .to_state()
    }

    #[test]
    fn pinned_sessions_go_last_and_reads_count_as_uses() {
        let store = MemoryStore::with_capacity(3);
        let pinned = store.create(SessionState::new(), LONG);
        store.pin(&pinned);
        let read = store.create(logged_in("bob"), LONG);
        let unread = store.create(logged_in("carol"), LONG);
        // Reading `read` makes `unread` the least recently used.
        assert!(store.load(read.as_str()).is_some());
        store.create(logged_in("dave"), LONG);
        assert!(store.load(unread.as_str()).is_none(), "evicted");
        // A pinned anonymous session outlasts unpinned logged-in ones.
        store.create(logged_in("erin"), LONG);
        store.create(logged_in("fay"), LONG);
        assert!(store.load(read.as_str()).is_none(), "not pinned goes");
        assert!(store.load(pinned.as_str()).is_some(), "pinned stays");
        // Unpinned, it goes first again (anonymous).
        store.unpin(&pinned);
        store.create(logged_in("gus"), LONG);
        assert!(store.load(pinned.as_str()).is_none());
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn beyond_its_capacity_it_evicts_the_least_recently_used_anonymous_first() {
        let store = MemoryStore::with_capacity(3);
        let alice = store.create(logged_in("alice"), LONG);
        let old = store.create(SessionState::new(), LONG);
        let young = store.create(SessionState::new(), LONG);
        // Writing `old` makes `young` the least recently used.
        store.touch(old.as_str(), LONG);
        store.create(SessionState::new(), LONG);
        assert!(store.load(young.as_str()).is_none(), "evicted");
        assert!(store.load(old.as_str()).is_some());
        store.create(SessionState::new(), LONG);
        store.create(SessionState::new(), LONG);
        assert!(
            store.load(old.as_str()).is_none(),
            "anonymous ones go first"
        );
        assert!(
            store.load(alice.as_str()).is_some(),
            "the logged-in one stays"
        );
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn a_user_index_follows_logins_and_deletes() {
        let store = MemoryStore::new();
        let first = store.create(logged_in("bob"), LONG);
        let anonymous = store.create(SessionState::new(), LONG);
        let second = store
            .renew(&anonymous, logged_in("bob"), LONG, LONG)
            .expect("renewed");
        let other = store.create(logged_in("carol"), LONG);
        store.delete(first.as_str());
        assert_eq!(store.end_user("bob", LONG, None), 1);
        assert!(store.load(second.as_str()).is_none());
        assert!(store.load(other.as_str()).is_some());
        assert_eq!(store.end_user("bob", LONG, None), 0);
    }
}
