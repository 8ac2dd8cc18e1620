//! Where session state lives, with everything kept next to it (ended
//! sessions, the lobby's log, presence): one [`Store`] chosen at start-up.
//!
//! Sliced once, by backend: `memory/` (the embedded store) and `redis/`
//! (shared by every instance) are each a complete implementation of every
//! operation, split into one file per part (sessions, ended, lobby,
//! presence) that knows nothing of the other backend. This file is the
//! dispatch, one `match` per operation, and
//! says what each operation promises; `types` holds what they take and
//! return; `actix` adapts the store to actix-session's `SessionStore`. By
//! backend, not by feature, because the parts of one backend are coupled
//! (a renewal remembers its end in the same atomic step; one Redis key
//! layout, one lock order) while the backends share nothing but the
//! promises, which `tests/store` checks against each of them.
//!
//! A new operation: a method here that says what it promises and dispatches
//! to each backend; in `memory/`, the work on the part's plain structure
//! (`map.rs` for sessions) and a method in `memory/mod.rs` that runs it under
//! the part's lock; in `redis/`, the method in the part's file (with a
//! script in `redis/lua/` when it must be atomic, registered in
//! `redis/scripts.rs`, and any new key in `redis/keys.rs`); a check in
//! `tests/store`, listed in its `stores!`, which runs it against every
//! backend. A third backend is a new directory, a variant of [`Store`], and
//! one line in that list.
//!
//! The store is a cheap `Clone` over shared state: the same instance must
//! reach every worker, or each worker would silently get sessions of its own.
//! The atomic operations are what the contract needs ("writers never lose
//! each other's work"): an increment and a key renewal happen inside the
//! store, and never recreate a session that was deleted or expired meanwhile.

mod actix;
mod memory;
mod redis;
mod types;

use std::{future::Future, time::Duration};

pub use self::redis::{Link, RedisStore, CALL_TIMEOUT};
pub use memory::MemoryStore;
pub use types::{Ended, History, LogEntry, Roster, SocketChange, Spliced, StoreError, Transition};

use crate::session::{RoomId, SessionId, SessionState, SocketId};

/// The session store chosen at start-up (an enum, so no generic parameter
/// leaks into the rest of the app).
#[derive(Clone)]
pub enum Store {
    /// Everything in this process's memory.
    Memory(MemoryStore),
    /// Everything in Redis, shared by every instance.
    Redis(RedisStore),
}

/// Sessions.
impl Store {
    /// The store's name as `/healthz` reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }

    /// Checks that the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(store) => store.ping().await,
        }
    }

    /// The session's state, or `None` when it does not exist (or expired).
    /// Reading does not extend the session's lifetime.
    pub async fn load(&self, id: &SessionId) -> Result<Option<SessionState>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.load(id)),
            Self::Redis(store) => store.load(id).await,
        }
    }

    /// Stores a new session under a fresh key.
    pub async fn create(
        &self,
        state: SessionState,
        ttl: Duration,
    ) -> Result<SessionId, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.create(state, ttl)),
            Self::Redis(store) => store.create(state, ttl).await,
        }
    }

    /// Replaces the state of an existing session; `false` when it does not
    /// exist.
    pub async fn replace(
        &self,
        id: &SessionId,
        state: SessionState,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.replace(id, state, ttl)),
            Self::Redis(store) => store.replace(id, state, ttl).await,
        }
    }

    /// Adds 1 to the integer `field` of an existing session and restarts its
    /// lifetime, atomically; the new value, or `None` when the session does
    /// not exist.
    pub async fn increment(
        &self,
        id: &SessionId,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        match self {
            Self::Memory(store) => store.increment(id, field, ttl),
            Self::Redis(store) => store.increment(id, field, ttl).await,
        }
    }

    /// Moves an existing session to a fresh key with `changes` merged into its
    /// state, and remembers the old key as [`Ended::Renewed`] for
    /// `renewed_for`, in one atomic step (the old key stops working at once,
    /// and is never seen neither live nor renewed); the new key, or `None`
    /// when the session does not exist.
    pub async fn renew(
        &self,
        id: &SessionId,
        changes: SessionState,
        ttl: Duration,
        renewed_for: Duration,
    ) -> Result<Option<SessionId>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.renew(id, changes, ttl, renewed_for)),
            Self::Redis(store) => store.renew(id, changes, ttl, renewed_for).await,
        }
    }

    /// The room id of a session, as this store names it (a keyed hash of
    /// the key).
    pub fn room(&self, id: &SessionId) -> RoomId {
        match self {
            Self::Memory(store) => store.room(id),
            Self::Redis(store) => store.room(id),
        }
    }

    /// Restarts the lifetime of an existing session.
    pub async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<(), StoreError> {
        match self {
            Self::Memory(store) => {
                store.touch(id, ttl);
                Ok(())
            }
            Self::Redis(store) => store.touch(id, ttl).await,
        }
    }

    /// Deletes every session logged in as `user` but `spare`, remembering
    /// each as [`Ended::LoggedOut`] for `ended_for` in the same step as its
    /// delete; how many it ended. With Redis this takes as many bounded steps
    /// as needed; after a failure half way, calling it again finishes the
    /// work (the caller's own session, spared and ended last, still carries
    /// the retry).
    pub async fn end_user(
        &self,
        user: &str,
        ended_for: Duration,
        spare: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.end_user(user, ended_for, spare)),
            Self::Redis(store) => store.end_user(user, ended_for, spare).await,
        }
    }

    /// Says a socket of `id` opened on this instance: the embedded store
    /// evicts sessions with an open socket only after every other one.
    /// Nothing to do for Redis, whose memory Redis itself bounds.
    pub fn pin(&self, id: &SessionId) {
        if let Self::Memory(store) = self {
            store.pin(id);
        }
    }

    /// Says a socket of `id` closed on this instance (once per [`pin`]).
    ///
    /// [`pin`]: Self::pin
    pub fn unpin(&self, id: &SessionId) {
        if let Self::Memory(store) = self {
            store.unpin(id);
        }
    }

    /// Deletes the session (nothing happens when it does not exist).
    pub async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        match self {
            Self::Memory(store) => {
                store.delete(id);
                Ok(())
            }
            Self::Redis(store) => store.delete(id).await,
        }
    }
}

/// Ended sessions. A renewal and "log out everywhere" remember theirs in the
/// step that ends the session; [`Store::remember_ended`] serves a single
/// logout, which remembers first and deletes second.
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
                store.remember_ended(room, how, ttl);
                Ok(())
            }
            Self::Redis(store) => store.remember_ended(room, how, ttl).await,
        }
    }

    /// How the session of `room` ended, if that is still remembered.
    pub async fn ended(&self, room: &RoomId) -> Result<Option<Ended>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.ended(room)),
            Self::Redis(store) => store.ended(room).await,
        }
    }
}

/// The lobby's log: each message gets the next position in one stream, and
/// the last few are kept as the history. Messages are opaque JSON text here.
impl Store {
    /// Appends `message` (JSON) to the lobby, keeping the last `keep`, and
    /// has it delivered to every socket in the log's order; its position.
    /// With Redis the same atomic step publishes `publish` with the position
    /// spliced in, and every instance, this one included, delivers it from
    /// its subscription; `deliver` is not called. The embedded store calls
    /// `deliver` with the position, before any later message's.
    pub async fn append_chat<Fut: Future<Output = ()>>(
        &self,
        message: &str,
        publish: &Spliced,
        keep: usize,
        deliver: impl FnOnce(u64) -> Fut,
    ) -> Result<u64, StoreError> {
        match self {
            Self::Memory(store) => store.append_chat(message, keep, deliver).await,
            Self::Redis(store) => store.append_chat(message, publish, keep).await,
        }
    }

    /// The lobby's last position and kept messages, read in one step.
    pub async fn chat_history(&self) -> Result<History, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.chat_history()),
            Self::Redis(store) => store.chat_history().await,
        }
    }
}

/// Presence: which sockets each user has open on each instance (by socket
/// id, so adding or removing one twice changes nothing), who is online, and
/// who has had no socket since when. Every change is one atomic step that
/// returns the transition it caused, if any, with a version that increases
/// with every transition of every user, so exactly one caller (on one
/// instance) announces each change and sockets can tell a late announcement
/// from a new one. How the services keep the store in step with the sockets
/// (and heal it) is in `services::presence`.
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
    /// `instance`, idempotently, in one atomic step; the user's transition,
    /// if any. A user left without any socket goes offline at once when
    /// `grace` is zero, else at the first [`presence_sweep`] after `grace`.
    /// With Redis, the keys of this user and instance expire by themselves
    /// after `keep` without another call.
    ///
    /// [`presence_sweep`]: Self::presence_sweep
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

    /// Takes offline the users without a socket for `grace`, re-checking in
    /// the same step (with Redis, counting silent instances as having none,
    /// a batch of their users per call); their transitions.
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
