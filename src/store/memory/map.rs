//! The embedded store's sessions: a map with the indexes kept in step with
//! it (by user, for "log out everywhere"; by eviction class and use order,
//! for the bound on memory).
//!
//! Beyond its capacity one session is evicted in O(log n), chosen in the
//! contract's order: sessions without an open socket on this instance (not
//! pinned) before pinned ones; among those, anonymous before logged in; then
//! the least recently used (read or written). So a flood never evicts a
//! session whose socket is open.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    time::{Duration, Instant},
};

use crate::{
    clock::deadline,
    session::{SessionData, SessionId, SessionState},
};

/// One session and what the indexes need of it.
pub(super) struct Entry {
    pub(super) state: SessionState,
    expires_at: Instant,
    /// The login name it is indexed under, when logged in.
    user: Option<String>,
    /// Its place in use order, reads and writes (for eviction).
    used: u64,
}

impl Entry {
    pub(super) fn new(state: SessionState, ttl: Duration) -> Self {
        let user = SessionData::from_state(&state).user().map(str::to_owned);
        Self {
            state,
            expires_at: deadline(Instant::now(), ttl),
            user,
            used: 0,
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

/// The sessions with their indexes kept in step with them.
pub(super) struct Map {
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
    pub(super) fn new(capacity: usize) -> Self {
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
    pub(super) fn insert_fresh(&mut self, entry: Entry) -> SessionId {
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

    pub(super) fn remove(&mut self, key: &str) -> Option<Entry> {
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
    pub(super) fn is_live(&mut self, key: &str) -> bool {
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

    /// How many sessions it holds, expired ones not yet swept included.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The keys of the sessions logged in as `user`.
    pub(super) fn keys_of(&self, user: &str) -> Vec<String> {
        self.users
            .get(user)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The value of `field` in `key`'s state (live or not: check first),
    /// without counting as a use.
    pub(super) fn field(&self, key: &str, field: &str) -> Option<&str> {
        self.entries.get(key)?.state.get(field).map(String::as_str)
    }

    /// Reads a live `key`, making it the most recently used.
    pub(super) fn read(&mut self, key: &str) -> Option<&Entry> {
        if !self.is_live(key) {
            return None;
        }
        let entry = self.remove(key)?;
        self.insert(key.to_owned(), entry);
        self.entries.get(key)
    }

    /// Changes the pins of `key` by `change`, re-filing its entry when its
    /// class changes.
    pub(super) fn repin(&mut self, key: &str, change: impl FnOnce(usize) -> usize) {
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
    pub(super) fn write<T>(
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

    pub(super) fn sweep(&mut self, now: Instant) {
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
