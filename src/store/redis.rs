//! The Redis session store, shared by every instance of the app.
//!
//! Written for this app instead of actix-session's stock `RedisSessionStore`,
//! which (a) saves an update of a vanished session under a new key, so a slow
//! request could bring back a session that was logged out, and (b) cannot be
//! tuned, so requests hung for minutes after a Redis outage. Here:
//!
//! - every write is conditional on the session existing (`SET .. XX`, or a
//!   script that checks first), so nothing is ever resurrected;
//! - increments and key renewals are Lua scripts, atomic inside Redis, so
//!   writers on any number of instances never lose each other's work;
//! - the connection manager is lazy (the app starts while Redis is down) and
//!   tuned for short timeouts and a quick, capped reconnect; every call is
//!   also bounded by [`CALL_TIMEOUT`];
//! - a call that times out replaces the connection (see [`link`]): the
//!   manager alone would keep using a silently dead one.
//!
//! A session is one string key, `{prefix}session:{room}`, holding the state as
//! a JSON object of JSON-encoded values (as actix-session's stores do), with a
//! millisecond expiry. `{room}` is the session's room id, a keyed hash of its
//! key: nothing at rest in Redis (nor in `MONITOR` or `SLOWLOG`) is usable as
//! a cookie. The scripts and the rest of the layout are in `scripts`.

mod link;

use std::{future::Future, sync::Arc, time::Duration};

use redis::{aio::ConnectionManagerConfig, AsyncCommands, Client};

pub use link::Link;

use super::{scripts, SessionState, StoreError};
use crate::session::{RoomId, RoomKey, SessionId};

/// The longest any store call may take, connection attempts included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// How many sessions one step of ending a user deletes: measured at about
/// 0.85 ms per step for 256 (a delete and a marker each), so 128 keeps each
/// step near half a millisecond, far below the contract's 10 ms even on a
/// busy host.
const END_USER_BATCH: usize = 128;

/// A bound on the steps of ending one user, so a flood of concurrent logins
/// under the name cannot keep one request looping forever.
const END_USER_MAX_STEPS: usize = 100_000;

/// Sessions in Redis; cheap to clone (one multiplexed connection, shared).
#[derive(Clone)]
pub struct RedisStore {
    connection: Link,
    prefix: Arc<str>,
    rooms: RoomKey,
}

impl RedisStore {
    /// A store over `client`, with keys under `prefix`, naming sessions by
    /// their room id under `rooms` (which every instance must share).
    /// Connects lazily: this succeeds while Redis is down.
    pub fn new(client: Client, prefix: &str, rooms: RoomKey) -> Result<Self, StoreError> {
        let connection = Link::new(client, manager_config()).map_err(store_error)?;
        Ok(Self {
            connection,
            prefix: prefix.into(),
            rooms,
        })
    }

    /// A client for `url` whose connections detect a silent peer (TCP
    /// keepalive, `TCP_USER_TIMEOUT`): for the store and the subscription.
    pub fn client(url: &str) -> Result<Client, StoreError> {
        link::open_client(url).map_err(store_error)
    }

    /// The shared connection (the fan-out publishes through it); replaced
    /// behind the handle when a call times out.
    pub fn connection(&self) -> Link {
        self.connection.clone()
    }

    /// The prefix of every key and channel.
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The room id of a session: its name in Redis.
    pub(super) fn room(&self, id: &SessionId) -> RoomId {
        self.rooms.room(id)
    }

    /// The one channel that carries every instance's events.
    pub fn events_channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    fn key(&self, room: &RoomId) -> String {
        format!("{}session:{room}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}user-sessions:{user}", self.prefix)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        bounded(async move { redis::cmd("PING").query_async::<()>(&mut connection).await }).await
    }

    pub(super) async fn load(&self, id: &SessionId) -> Result<Option<SessionState>, StoreError> {
        let (mut connection, key) = (self.connection.clone(), self.key(&self.room(id)));
        let raw: Option<String> = bounded(async move { connection.get(key).await }).await?;
        raw.map(|raw| decode(&raw)).transpose()
    }

    pub(super) async fn create(
        &self,
        state: SessionState,
        ttl: Duration,
    ) -> Result<SessionId, StoreError> {
        let value = encode(&state)?;
        loop {
            let id = SessionId::generate();
            let room = self.room(&id);
            let mut call = scripts::CREATE.prepare_invoke();
            call.key(self.key(&room))
                .arg(&value)
                .arg(millis(ttl))
                .arg(self.prefix())
                .arg(room.to_string());
            let mut connection = self.connection.clone();
            let created: u8 =
                bounded(async move { call.invoke_async(&mut connection).await }).await?;
            if created == 1 {
                return Ok(id);
            }
        }
    }

    pub(super) async fn replace(
        &self,
        id: &SessionId,
        state: SessionState,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let room = self.room(id);
        let mut call = scripts::REPLACE.prepare_invoke();
        call.key(self.key(&room))
            .arg(encode(&state)?)
            .arg(millis(ttl))
            .arg(self.prefix())
            .arg(room.to_string());
        let mut connection = self.connection.clone();
        let replaced: u8 = bounded(async move { call.invoke_async(&mut connection).await }).await?;
        Ok(replaced == 1)
    }

    pub(super) async fn increment(
        &self,
        id: &SessionId,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let room = self.room(id);
        let mut call = scripts::INCREMENT.prepare_invoke();
        call.key(self.key(&room))
            .arg(field)
            .arg(millis(ttl))
            .arg(self.prefix())
            .arg(room.to_string());
        let mut connection = self.connection.clone();
        bounded(async move { call.invoke_async(&mut connection).await }).await
    }

    pub(super) async fn renew(
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
            call.key(self.key(&old))
                .key(self.key(&room))
                .key(self.ended_key(&old))
                .arg(&changes)
                .arg(millis(ttl))
                .arg(self.prefix())
                .arg(old.to_string())
                .arg(room.to_string())
                .arg(millis(renewed_for));
            let mut connection = self.connection.clone();
            let moved: i64 =
                bounded(async move { call.invoke_async(&mut connection).await }).await?;
            match moved {
                1 => return Ok(Some(new)),
                0 => return Ok(None),
                _ => continue, // the new key was taken: draw another
            }
        }
    }

    pub(super) async fn touch(&self, id: &SessionId, ttl: Duration) -> Result<(), StoreError> {
        let room = self.room(id);
        let mut call = scripts::TOUCH.prepare_invoke();
        call.key(self.key(&room))
            .arg(millis(ttl))
            .arg(self.prefix())
            .arg(room.to_string());
        let mut connection = self.connection.clone();
        bounded(async move { call.invoke_async::<()>(&mut connection).await }).await
    }

    pub(super) async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let room = self.room(id);
        let mut call = scripts::DELETE.prepare_invoke();
        call.key(self.key(&room))
            .arg(self.prefix())
            .arg(room.to_string());
        let mut connection = self.connection.clone();
        bounded(async move { call.invoke_async::<()>(&mut connection).await }).await
    }

    /// Ends every session of `user` but `spare` in bounded steps (each
    /// deletes a batch and remembers it as logged out, atomically); how many
    /// it ended. A failed step fails the call; calling again finishes the
    /// work.
    pub(super) async fn end_user(
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
                .arg(self.prefix())
                .arg(END_USER_BATCH)
                .arg(millis(ended_for))
                .arg(&spare);
            let mut connection = self.connection.clone();
            let (ended, left): (usize, usize) =
                bounded(async move { call.invoke_async(&mut connection).await }).await?;
            total += ended;
            if left == 0 {
                break;
            }
        }
        Ok(total)
    }
}

/// Short timeouts and a quick, capped reconnect: during an outage calls fail
/// within about a second instead of hanging, and the first call after Redis
/// returns reconnects. The response timeout stays below [`CALL_TIMEOUT`]: it
/// is the timeout the [`Link`] sees, and replaces the connection on.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(1_000)))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// Runs one Redis call within [`CALL_TIMEOUT`].
///
/// Every Redis call of the store goes through here, so this is the one place
/// that counts failed and timed-out calls (once per call).
pub(super) async fn bounded<T>(
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    let result = match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(store_error),
        Err(_) => Err(StoreError::Unavailable(anyhow::anyhow!(
            "timed out after {CALL_TIMEOUT:?}"
        ))),
    };
    if result.is_err() {
        metrics::counter!(crate::telemetry::STORE_ERRORS).increment(1);
    }
    result
}

/// A script's `corrupt` error reply is about the data; anything else means
/// Redis could not be used.
fn store_error(err: redis::RedisError) -> StoreError {
    if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError)
        && err.to_string().contains("corrupt")
    {
        StoreError::Corrupt(err.to_string())
    } else {
        StoreError::Unavailable(err.into())
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn encode(state: &SessionState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|err| StoreError::Corrupt(err.to_string()))
}

fn decode(raw: &str) -> Result<SessionState, StoreError> {
    serde_json::from_str(raw).map_err(|err| StoreError::Corrupt(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    #[test]
    fn each_failed_call_is_counted_once_and_a_good_one_not_at_all() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let refused = || async {
                    Err::<(), _>(redis::RedisError::from(std::io::Error::from(
                        std::io::ErrorKind::ConnectionRefused,
                    )))
                };
                assert!(bounded(refused()).await.is_err());
                assert!(bounded(refused()).await.is_err());
                assert!(bounded(async { Ok::<_, redis::RedisError>(()) })
                    .await
                    .is_ok());
            });
        });
        let text = handle.render();
        assert!(
            text.contains(&format!("{} 2", crate::telemetry::STORE_ERRORS)),
            "{text}"
        );
    }
}
