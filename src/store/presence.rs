//! Presence, kept where sessions are: which sockets each user has open on
//! each instance (by socket id, so adding or removing one twice changes
//! nothing), who is online, and who has had no socket since when.
//!
//! Every change is one atomic step that returns the transition it caused, if
//! any, with a version that increases with every transition of every user, so
//! exactly one caller (on one instance) announces each change and sockets can
//! tell a late announcement from a new one. A user whose last socket closes is
//! only marked; [`Store::presence_sweep`] later announces offline those
//! still without a socket after the grace, re-checking in the same step.
//! How the services keep the store in step with the sockets (and heal it) is
//! in `services::presence`.
//!
//! With Redis each instance also refreshes a key with a TTL; the sweep treats
//! an instance whose key has expired (crashed, cut off) as having no sockets,
//! so its users go offline after the grace too. The embedded store has one
//! instance and needs none of that.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use redis::AsyncCommands;

use super::{
    presence_scripts::{BEAT, ROSTER, SWEEP, SWEEP_BATCH, SYNC},
    redis::{bounded, RedisStore},
    Store, StoreError,
};
use crate::session::SocketId;

/// A user came online or went offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The user.
    pub user: String,
    /// The new state.
    pub online: bool,
    /// Its place among all presence transitions.
    pub version: u64,
}

/// Who is online, and the version of the last transition included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// The names online, sorted, each once.
    pub online: Vec<String>,
    /// The last transition this roster includes.
    pub version: u64,
}

/// Socket ids to remove from and add to what the store holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketChange<'a> {
    /// The ids to remove (absent ones are ignored).
    pub remove: &'a [SocketId],
    /// The ids to add (present ones are ignored).
    pub add: &'a [SocketId],
}

/// The embedded store's presence (by instance too, like Redis, although the
/// app runs one instance on it).
#[derive(Default)]
pub(super) struct MemoryPresence {
    sockets: HashMap<String, HashSet<(String, SocketId)>>,
    online: BTreeSet<String>,
    since: HashMap<String, Instant>,
    version: u64,
}

impl MemoryPresence {
    fn transition(&mut self, user: &str, online: bool) -> Transition {
        self.version += 1;
        Transition {
            user: user.to_owned(),
            online,
            version: self.version,
        }
    }
}

impl Store {
    /// The ids of `user`'s sockets on `instance` that the store holds.
    pub async fn presence_sockets(
        &self,
        user: &str,
        instance: &str,
    ) -> Result<Vec<SocketId>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_sockets(user, instance)),
            Self::Redis(store) => store.presence_sockets(user, instance).await,
        }
    }

    /// The users the store holds sockets of on `instance`.
    pub async fn presence_users(&self, instance: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_users(instance)),
            Self::Redis(store) => store.presence_users(instance).await,
        }
    }

    /// Removes the sockets `remove` and adds the sockets `add` of `user` on
    /// `instance`, idempotently (a socket added twice is held once; removing
    /// one not held changes nothing), in one atomic step; the user's
    /// transition, if any. A user left without any socket goes offline at
    /// once when `grace` is zero, else at the first sweep after `grace`.
    /// With Redis, the keys of this user and instance expire by themselves
    /// after `keep` without another call.
    pub async fn presence_sync(
        &self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
        keep: Duration,
    ) -> Result<Option<Transition>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_sync(user, instance, change, grace)),
            Self::Redis(store) => {
                store
                    .presence_sync(user, instance, change, grace, keep)
                    .await
            }
        }
    }

    /// Takes offline the users without a socket for `grace` (with Redis,
    /// counting silent instances as having none, a batch of their users per
    /// call); their transitions.
    pub async fn presence_sweep(&self, grace: Duration) -> Result<Vec<Transition>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_sweep(grace)),
            Self::Redis(store) => store.presence_sweep(grace).await,
        }
    }

    /// Who is online now.
    pub async fn presence_roster(&self) -> Result<Roster, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_roster()),
            Self::Redis(store) => store.presence_roster().await,
        }
    }

    /// Says `instance` is alive for `ttl` more. Whether it had been silent
    /// for longer (its sockets may have been dropped). Always `false` for the
    /// embedded store, which has one instance.
    pub async fn instance_alive(&self, instance: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self {
            Self::Memory(_) => Ok(false),
            Self::Redis(store) => store.instance_alive(instance, ttl).await,
        }
    }
}

impl super::MemoryStore {
    fn presence(&self) -> std::sync::MutexGuard<'_, MemoryPresence> {
        self.presence.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn presence_sockets(&self, user: &str, instance: &str) -> Vec<SocketId> {
        self.presence()
            .sockets
            .get(user)
            .into_iter()
            .flatten()
            .filter(|(at, _)| at == instance)
            .map(|(_, socket)| *socket)
            .collect()
    }

    fn presence_users(&self, instance: &str) -> Vec<String> {
        self.presence()
            .sockets
            .iter()
            .filter(|(_, sockets)| sockets.iter().any(|(at, _)| at == instance))
            .map(|(user, _)| user.clone())
            .collect()
    }

    fn presence_sync(
        &self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
    ) -> Option<Transition> {
        let mut book = self.presence();
        let sockets = book.sockets.entry(user.to_owned()).or_default();
        for socket in change.remove {
            sockets.remove(&(instance.to_owned(), *socket));
        }
        sockets.extend(
            change
                .add
                .iter()
                .map(|socket| (instance.to_owned(), *socket)),
        );
        if !sockets.is_empty() {
            book.since.remove(user);
            return book
                .online
                .insert(user.to_owned())
                .then(|| book.transition(user, true));
        }
        book.sockets.remove(user);
        if !book.online.contains(user) {
            return None;
        }
        if grace.is_zero() {
            book.online.remove(user);
            book.since.remove(user);
            return Some(book.transition(user, false));
        }
        // A repeated or stray leave does not restart the grace.
        book.since
            .entry(user.to_owned())
            .or_insert_with(Instant::now);
        None
    }

    fn presence_sweep(&self, grace: Duration) -> Vec<Transition> {
        let mut book = self.presence();
        let now = Instant::now();
        let due: Vec<String> = book
            .since
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= grace)
            .map(|(user, _)| user.clone())
            .collect();
        let mut offline = Vec::new();
        for user in due {
            book.since.remove(&user);
            if !book.sockets.contains_key(&user) && book.online.remove(&user) {
                offline.push(book.transition(&user, false));
            }
        }
        offline
    }

    fn presence_roster(&self) -> Roster {
        let book = self.presence();
        Roster {
            online: book.online.iter().cloned().collect(),
            version: book.version,
        }
    }
}

/// The presence state shared by every clone of the embedded store.
pub(super) type SharedPresence = std::sync::Arc<Mutex<MemoryPresence>>;

impl RedisStore {
    fn presence_key(&self, name: &str) -> String {
        format!("{}presence:{name}", self.prefix())
    }

    fn sockets_key(&self, user: &str, instance: &str) -> String {
        self.presence_key(&format!("sockets:{instance}:{user}"))
    }

    async fn presence_sockets(
        &self,
        user: &str,
        instance: &str,
    ) -> Result<Vec<SocketId>, StoreError> {
        let (mut connection, key) = (self.connection(), self.sockets_key(user, instance));
        bounded(async move { connection.smembers(key).await }).await
    }

    async fn presence_users(&self, instance: &str) -> Result<Vec<String>, StoreError> {
        let mut connection = self.connection();
        let key = self.presence_key(&format!("instance:{instance}"));
        bounded(async move { connection.smembers(key).await }).await
    }

    async fn presence_sync(
        &self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
        keep: Duration,
    ) -> Result<Option<Transition>, StoreError> {
        let mut call = SYNC.prepare_invoke();
        call.key(self.sockets_key(user, instance))
            .key(self.presence_key(&format!("at:{user}")))
            .key(self.presence_key("online"))
            .key(self.presence_key("pending"))
            .key(self.presence_key("version"))
            .key(self.presence_key(&format!("instance:{instance}")))
            .arg(user)
            .arg(instance)
            .arg(grace.as_millis().to_string())
            .arg(keep.as_millis().max(1).to_string())
            .arg(change.remove.len())
            .arg(change.remove)
            .arg(change.add);
        let mut connection = self.connection();
        let (version, online): (u64, u8) =
            bounded(async move { call.invoke_async(&mut connection).await }).await?;
        Ok(came(user, online == 1, version))
    }

    async fn presence_sweep(&self, grace: Duration) -> Result<Vec<Transition>, StoreError> {
        let mut call = SWEEP.prepare_invoke();
        call.key(self.presence_key("online"))
            .key(self.presence_key("pending"))
            .key(self.presence_key("version"))
            .key(self.presence_key("instances"))
            .arg(self.prefix())
            .arg(grace.as_millis().to_string())
            .arg(SWEEP_BATCH);
        let mut connection = self.connection();
        let flat: Vec<(String, u64)> =
            bounded(async move { call.invoke_async(&mut connection).await }).await?;
        Ok(flat
            .into_iter()
            .map(|(user, version)| Transition {
                user,
                online: false,
                version,
            })
            .collect())
    }

    async fn presence_roster(&self) -> Result<Roster, StoreError> {
        let mut call = ROSTER.prepare_invoke();
        call.key(self.presence_key("online"))
            .key(self.presence_key("version"));
        let mut connection = self.connection();
        let (version, mut online): (u64, Vec<String>) =
            bounded(async move { call.invoke_async(&mut connection).await }).await?;
        // Rust's string order is by code point, as the contract asks.
        online.sort_unstable();
        Ok(Roster { online, version })
    }

    async fn instance_alive(&self, instance: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut call = BEAT.prepare_invoke();
        call.key(self.presence_key(&format!("alive:{instance}")))
            .key(self.presence_key("instances"))
            .arg(instance)
            .arg(ttl.as_millis().to_string());
        let mut connection = self.connection();
        let lapsed: u8 = bounded(async move { call.invoke_async(&mut connection).await }).await?;
        Ok(lapsed == 1)
    }
}

/// The transition a script reported (version 0: none).
fn came(user: &str, online: bool, version: u64) -> Option<Transition> {
    (version > 0).then(|| Transition {
        user: user.to_owned(),
        online,
        version,
    })
}
