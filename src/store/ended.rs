//! Sessions that ended, remembered for a while by their room id (never their
//! key), so a late comer is answered for what happened instead of being
//! treated as a stranger: a socket that missed its logout closes with 4000,
//! not 4001, and a request carrying a key renewed by a login gets 409
//! instead of starting a session whose cookie would overwrite the login's.
//!
//! With Redis each is one key, `{prefix}gone:{room}`, with its own TTL (the
//! key keeps the name it was first stored under, so instances of every
//! version read each other's). A
//! renewal and the ends of "log out everywhere" write theirs inside the very
//! script that ends the session (see `scripts`), so no request finds a key
//! neither live nor remembered; [`Store::remember_ended`] serves a single
//! logout, which remembers first and deletes second. The embedded store keeps
//! them in a map with a deadline, at most as many of each kind as it holds
//! sessions (the oldest is forgotten first).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::AsyncCommands;

use super::{
    memory::lock,
    redis::{bounded, RedisStore},
    Store, StoreError,
};
use crate::session::RoomId;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Logged out (`POST /logout` or `POST /logout/everywhere`).
    LoggedOut,
    /// Moved to a new key by a login.
    Renewed,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Renewed => "renewed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "logged_out" => Some(Self::LoggedOut),
            "renewed" => Some(Self::Renewed),
            _ => None,
        }
    }
}

/// The embedded store's remembered ends.
pub(super) struct MemoryEnded {
    rooms: HashMap<RoomId, (Ended, Instant)>,
    /// Per kind, in the order remembered (each kind has one TTL, so this is
    /// also the order of their deadlines).
    order: [VecDeque<(Instant, RoomId)>; 2],
    capacity: usize,
}

impl MemoryEnded {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            rooms: HashMap::new(),
            order: Default::default(),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn remember(&mut self, room: RoomId, how: Ended, ttl: Duration) {
        let now = Instant::now();
        let deadline = now.checked_add(ttl).unwrap_or(now);
        let order = &mut self.order[how as usize];
        if order.len() >= self.capacity {
            if let Some((at, oldest)) = order.pop_front() {
                if self
                    .rooms
                    .get(&oldest)
                    .is_some_and(|(_, until)| *until == at)
                {
                    self.rooms.remove(&oldest);
                }
            }
        }
        order.push_back((deadline, room));
        self.rooms.insert(room, (how, deadline));
    }

    fn get(&self, room: &RoomId) -> Option<Ended> {
        let now = Instant::now();
        self.rooms
            .get(room)
            .filter(|(_, until)| *until > now)
            .map(|(how, _)| *how)
    }

    pub(super) fn sweep(&mut self, now: Instant) {
        for order in &mut self.order {
            while order.front().is_some_and(|(until, _)| *until <= now) {
                if let Some((until, room)) = order.pop_front() {
                    if self.rooms.get(&room).is_some_and(|(_, at)| *at == until) {
                        self.rooms.remove(&room);
                    }
                }
            }
        }
    }
}

/// The remembered ends shared by every clone of the embedded store.
pub(super) type SharedEnded = Arc<Mutex<MemoryEnded>>;

impl Store {
    /// Remembers for `ttl` that the session of `room` ended as `how`.
    pub async fn remember_ended(
        &self,
        room: &RoomId,
        how: Ended,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match self {
            Self::Memory(store) => {
                lock(&store.ended).remember(*room, how, ttl);
                Ok(())
            }
            Self::Redis(store) => store.remember_ended(room, how, ttl).await,
        }
    }

    /// How the session of `room` ended, if that is still remembered.
    pub async fn ended(&self, room: &RoomId) -> Result<Option<Ended>, StoreError> {
        match self {
            Self::Memory(store) => Ok(lock(&store.ended).get(room)),
            Self::Redis(store) => store.ended(room).await,
        }
    }
}

impl RedisStore {
    pub(super) fn ended_key(&self, room: &RoomId) -> String {
        format!("{}gone:{room}", self.prefix())
    }

    async fn remember_ended(
        &self,
        room: &RoomId,
        how: Ended,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (mut connection, key) = (self.connection(), self.ended_key(room));
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        bounded(async move { connection.pset_ex::<_, _, ()>(key, how.as_str(), ttl).await }).await
    }

    async fn ended(&self, room: &RoomId) -> Result<Option<Ended>, StoreError> {
        let (mut connection, key) = (self.connection(), self.ended_key(room));
        let value: Option<String> = bounded(async move { connection.get(key).await }).await?;
        Ok(value.as_deref().and_then(Ended::parse))
    }
}
