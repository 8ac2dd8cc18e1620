//! The Redis store, shared by every instance of the app: a complete backend
//! (sessions, ended sessions, the lobby, presence), one file per part, all
//! through the connection, timeout and error handling here.
//!
//! Written for this app instead of actix-session's stock `RedisSessionStore`,
//! which (a) saves an update of a vanished session under a new key, so a slow
//! request could bring back a session that was logged out, and (b) cannot be
//! tuned, so requests hung for minutes after a Redis outage. Here:
//!
//! - every write is conditional on the session existing (`SET .. XX`, or a
//!   script that checks first), so nothing is ever resurrected;
//! - anything that must be atomic is a Lua script (in `lua/`, loaded by
//!   `scripts`), so writers on any number of instances never lose each
//!   other's work;
//! - the connection manager is lazy (the app starts while Redis is down) and
//!   tuned for short timeouts and a quick, capped reconnect; every call is
//!   also bounded by [`CALL_TIMEOUT`];
//! - a call that times out replaces the connection (see [`link`]): the
//!   manager alone would keep using a silently dead one.
//!
//! Where each thing is kept in Redis is in `keys`.

mod ended;
mod keys;
mod link;
mod lobby;
mod presence;
mod scripts;
mod sessions;

use std::{future::Future, sync::Arc, time::Duration};

use redis::{aio::ConnectionManagerConfig, Client, FromRedisValue, ScriptInvocation};

pub use link::Link;

use super::StoreError;
use crate::session::{RoomId, RoomKey, SessionId};

/// The longest any store call may take, connection attempts included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Sessions and the rest in Redis; cheap to clone (the connections are
/// shared).
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

    /// The room id of a session: its name in Redis.
    pub(in crate::store) fn room(&self, id: &SessionId) -> RoomId {
        self.rooms.room(id)
    }

    pub(in crate::store) async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        bounded(async move { redis::cmd("PING").query_async::<()>(&mut connection).await }).await
    }

    /// Runs a prepared script within [`CALL_TIMEOUT`].
    async fn run<T: FromRedisValue>(
        &self,
        call: ScriptInvocation<'static>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        bounded(async move { call.invoke_async(&mut connection).await }).await
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
async fn bounded<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
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

/// A lifetime as a Redis `PX` argument: whole milliseconds, at least one
/// (Redis refuses 0).
fn px(ttl: Duration) -> u64 {
    crate::clock::millis(ttl).max(1)
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
