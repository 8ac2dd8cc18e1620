//! Sessions in Redis: one string key each, plus an index by user for "log out
//! everywhere" (see `keys`); every write is a script (see `scripts`) that
//! keeps the two in step.

use std::time::Duration;

use redis::AsyncCommands;

use super::{bounded, px, scripts, RedisStore};
use crate::{
    session::{SessionId, SessionState},
    store::StoreError,
};

/// How many sessions one step of ending a user deletes: measured at about
/// 0.85 ms per step for 256 (a delete and a marker each), so 128 keeps each
/// step near half a millisecond, far below the contract's 10 ms even on a
/// busy host.
const END_USER_BATCH: usize = 128;

/// A bound on the steps of ending one user, so a flood of concurrent logins
/// under the name cannot keep one request looping forever.
const END_USER_MAX_STEPS: usize = 100_000;

impl RedisStore {
    pub(in crate::store) async fn load(
        &self,
        id: &SessionId,
    ) -> Result<Option<SessionState>, StoreError> {
        let (mut connection, key) = (self.connection(), self.session_key(&self.room(id)));
        let raw: Option<String> = bounded(async move { connection.get(key).await }).await?;
        raw.map(|raw| decode(&raw)).transpose()
    }

    pub(in crate::store) async fn create(
        &self,
        state: SessionState,
        ttl: Duration,
    ) -> Result<SessionId, StoreError> {
        let value = encode(&state)?;
        loop {
            let id = SessionId::generate();
            let room = self.room(&id);
            let mut call = scripts::CREATE.prepare_invoke();
            call.key(self.session_key(&room))
                .arg(&value)
                .arg(px(ttl))
                .arg(&*self.prefix)
                .arg(room.to_string());
            let created: u8 = self.run(call).await?;
            if created == 1 {
                return Ok(id);
            }
        }
    }

    pub(in crate::store) async fn replace(
        &self,
        id: &SessionId,
        state: SessionState,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let room = self.room(id);
        let mut call = scripts::REPLACE.prepare_invoke();
        call.key(self.session_key(&room))
            .arg(encode(&state)?)
            .arg(px(ttl))
            .arg(&*self.prefix)
            .arg(room.to_string());
        let replaced: u8 = self.run(call).await?;
        Ok(replaced == 1)
    }

    pub(in crate::store) async fn increment(
        &self,
        id: &SessionId,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let room = self.room(id);
        let mut call = scripts::INCREMENT.prepare_invoke();
        call.key(self.session_key(&room))
            .arg(field)
            .arg(px(ttl))
            .arg(&*self.prefix)
            .arg(room.to_string());
        self.run(call).await
    }

    pub(in crate::store) async fn renew(
        &self,
        id: &SessionId,
        changes: SessionState,
        ttl: Duration,
        renewed_for: Duration,
    ) -> Result<Option<SessionId>, StoreError> {
        let changes = encode(&changes)?;
        let old = self.room(id);
        loop {
            let new = SessionId::generate();
            let room = self.room(&new);
            let mut call = scripts::RENEW.prepare_invoke();
            call.key(self.session_key(&old))
                .key(self.session_key(&room))
                .key(self.ended_key(&old))
                .arg(&changes)
                .arg(px(ttl))
                .arg(&*self.prefix)
                .arg(old.to_string())
                .arg(room.to_string())
                .arg(px(renewed_for));
            let moved: i64 = self.run(call).await?;
            match moved {
                1 => return Ok(Some(new)),
                0 => return Ok(None),
                _ => continue, // the new key was taken: draw another
            }
        }
    }

    pub(in crate::store) async fn touch(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let room = self.room(id);
        let mut call = scripts::TOUCH.prepare_invoke();
        call.key(self.session_key(&room))
            .arg(px(ttl))
            .arg(&*self.prefix)
            .arg(room.to_string());
        self.run(call).await
    }

    pub(in crate::store) async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let room = self.room(id);
        let mut call = scripts::DELETE.prepare_invoke();
        call.key(self.session_key(&room))
            .arg(&*self.prefix)
            .arg(room.to_string());
        self.run(call).await
    }

    /// Ends every session of `user` but `spare` in bounded steps (each
    /// deletes a batch and remembers it as logged out, atomically); how many
    /// it ended. A failed step fails the call; calling again finishes the
    /// work.
    pub(in crate::store) async fn end_user(
        &self,
        user: &str,
        ended_for: Duration,
        spare: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        let spare = spare
            .map(|id| self.room(id).to_string())
            .unwrap_or_default();
        let mut total = 0;
        for _ in 0..END_USER_MAX_STEPS {
            let mut call = scripts::END_USER_STEP.prepare_invoke();
            call.key(self.user_key(user))
                .arg(&*self.prefix)
                .arg(END_USER_BATCH)
                .arg(px(ended_for))
                .arg(&spare);
            let (ended, left): (usize, usize) = self.run(call).await?;
            total += ended;
            if left == 0 {
                break;
            }
        }
        Ok(total)
    }
}

fn encode(state: &SessionState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|err| StoreError::Corrupt(err.to_string()))
}

fn decode(raw: &str) -> Result<SessionState, StoreError> {
    serde_json::from_str(raw).map_err(|err| StoreError::Corrupt(err.to_string()))
}
