//! The [`Store`] as actix-session's [`SessionStore`], so the stock
//! `SessionMiddleware` reads and writes the very sessions that the sockets
//! and our own routes use: a thin adapter over the store's own operations,
//! the same for every backend.

use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time;

use super::Store;
use crate::session::{SessionId, SessionState};

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
