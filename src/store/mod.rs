//! Where session state lives: one [`Store`] chosen at start-up.
//!
//! [`Store`] implements actix-session's [`SessionStore`], so the stock
//! `SessionMiddleware` reads and writes the very sessions that the sockets and
//! our own routes use. Beyond that trait it offers the atomic operations the
//! contract needs ("writers never lose each other's work"): an increment and a
//! key renewal that happen inside the store, and never recreate a session that
//! was deleted or expired meanwhile.
//!
//! The store is a cheap `Clone` over shared state: the same instance must reach
//! every worker, or each worker would silently get sessions of its own.

mod ended;
mod lobby;
mod memory;
mod presence;
mod presence_scripts;
mod redis;
mod scripts;

use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time;

pub use self::redis::{Link, RedisStore, CALL_TIMEOUT};
pub use ended::Ended;
pub use lobby::{History, LogEntry};
pub use memory::MemoryStore;
pub use presence::{Roster, SocketChange, Transition};

use crate::session::{RoomId, SessionId, SessionState};

/// The store could not do what was asked; never "the session does not exist", which
/// every operation reports as `None` instead.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time.
    #[error("{0:#}")]
    Unavailable(#[source] anyhow::Error),
    /// A stored value is not what this app wrote.
    #[error("session state is corrupt: {0}")]
    Corrupt(String),
}

/// The session store chosen at start-up (an enum, so no generic parameter
/// leaks into the rest of the app).
#[derive(Clone)]
pub enum Store {
    /// Sessions in this process's memory.
    Memory(MemoryStore),
    /// Sessions in Redis, shared by every instance.
    Redis(RedisStore),
}

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
            Self::Memory(store) => Ok(store.load(id.as_str())),
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

    /// Replaces the state of an existing session; `false` when it does not exist.
    pub async fn replace(
        &self,
        id: &SessionId,
        state: SessionState,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.replace(id.as_str(), state, ttl)),
            Self::Redis(store) => store.replace(id, state, ttl).await,
        }
    }

    /// Adds 1 to the integer `field` of an existing session and restarts its
    /// lifetime, atomically; the new value, or `None` when the session does not exist.
    pub async fn increment(
        &self,
        id: &SessionId,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        match self {
            Self::Memory(store) => store.increment(id.as_str(), field, ttl),
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
                store.touch(id.as_str(), ttl);
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
                store.delete(id.as_str());
                Ok(())
            }
            Self::Redis(store) => store.delete(id).await,
        }
    }
}

/// Converts actix-session's TTL type; negative means "already expired".
fn std_ttl(ttl: &time::Duration) -> Duration {
    Duration::try_from(*ttl).unwrap_or(Duration::ZERO)
}

impl SessionStore for Store {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let id = SessionId::from(session_key);
        Store::load(self, &id)
            .await
            .map_err(|err| LoadError::Other(err.into()))
    }

    async fn save(
        &self,
        session_state: SessionState,
        ttl: &time::Duration,
    ) -> Result<SessionKey, SaveError> {
        let id = self
            .create(session_state, std_ttl(ttl))
            .await
            .map_err(|err| SaveError::Other(err.into()))?;
        id.to_session_key().map_err(SaveError::Other)
    }

    /// Unlike the stock stores, an update of a session that no longer exists
    /// fails instead of saving the stale state under a new key: a slow
    /// request must not bring back a session that was logged out meanwhile.
    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        let id = SessionId::from(&session_key);
        match self.replace(&id, session_state, std_ttl(ttl)).await {
            Ok(true) => Ok(session_key),
            Ok(false) => Err(UpdateError::Other(anyhow::anyhow!(
                "the session was deleted or expired before it could be updated"
            ))),
            Err(err) => Err(UpdateError::Other(err.into())),
        }
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &time::Duration,
    ) -> anyhow::Result<()> {
        Ok(self
            .touch(&SessionId::from(session_key), std_ttl(ttl))
            .await?)
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        Ok(Store::delete(self, &SessionId::from(session_key)).await?)
    }
}
