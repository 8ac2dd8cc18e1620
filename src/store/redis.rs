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
//! A session is one string key, `{prefix}session:{key}`, holding the state as
//! a JSON object of JSON-encoded values (as actix-session's stores do), with a
//! millisecond expiry.

mod link;

use std::{future::Future, sync::Arc, time::Duration};

use redis::{aio::ConnectionManagerConfig, AsyncCommands, Client, Script, SetExpiry, SetOptions};

pub use link::Link;

use super::{SessionState, StoreError};
use crate::session::{SessionData, SessionId};

/// The longest any store call may take, connection attempts included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Adds 1 to a field of an existing session and restarts its expiry.
/// KEYS[1] session; ARGV[1] field, ARGV[2] ttl in ms. Returns the new value,
/// or nil when the session does not exist.
const INCREMENT: &str = r"
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local state = cjson.decode(raw)
local current = tonumber(state[ARGV[1]] or '0')
if current == nil or current < 0 or current % 1 ~= 0 then
  return redis.error_reply('corrupt: field is not a whole number')
end
local next = current + 1
state[ARGV[1]] = string.format('%d', next)
redis.call('SET', KEYS[1], cjson.encode(state), 'PX', ARGV[2])
return next
";

/// The user a session state is logged in as (its `name` and `authenticated`
/// fields hold JSON), or nil. Shared by the scripts below.
const USER_OF: &str = r"
local function user_of(state)
  if state.authenticated ~= 'true' or type(state.name) ~= 'string' then return nil end
  local ok, name = pcall(cjson.decode, state.name)
  if ok and type(name) == 'string' then return name end
  return nil
end
";

/// Moves an existing session to a new key with changes merged in, and keeps
/// the user index in step (pruning keys that expired meanwhile).
/// KEYS[1] old, KEYS[2] new; ARGV[1] changes (JSON object), ARGV[2] ttl in ms,
/// ARGV[3] key prefix. Returns 1 when moved, 0 when the old session does not
/// exist, -1 when the new key is taken.
const RENEW: &str = r"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local state = cjson.decode(raw)
local before = user_of(state)
for field, value in pairs(cjson.decode(ARGV[1])) do state[field] = value end
redis.call('SET', KEYS[2], cjson.encode(state), 'PX', ARGV[2])
redis.call('DEL', KEYS[1])
local old_key = string.sub(KEYS[1], string.len(ARGV[3] .. 'session:') + 1)
if before then redis.call('SREM', ARGV[3] .. 'user:' .. before, old_key) end
local user = user_of(state)
if user then
  local index = ARGV[3] .. 'user:' .. user
  for _, key in ipairs(redis.call('SMEMBERS', index)) do
    if redis.call('EXISTS', ARGV[3] .. 'session:' .. key) == 0 then redis.call('SREM', index, key) end
  end
  redis.call('SADD', index, string.sub(KEYS[2], string.len(ARGV[3] .. 'session:') + 1))
end
return 1
";

/// Deletes a session and its entry in the user index. KEYS[1] the session;
/// ARGV[1] key prefix, ARGV[2] the session's key.
const DELETE: &str = r"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, state = pcall(cjson.decode, raw)
if ok then
  local user = user_of(state)
  if user then redis.call('SREM', ARGV[1] .. 'user:' .. user, ARGV[2]) end
end
return redis.call('DEL', KEYS[1])
";

/// Indexes a new session under its user. KEYS[1] the user index; ARGV[1] the
/// session's key.
const INDEX: &str = r"
return redis.call('SADD', KEYS[1], ARGV[1])
";

/// Deletes every session of a user. KEYS[1] the user index; ARGV[1] key
/// prefix. Returns the keys of the sessions deleted.
const END_USER: &str = r"
local ended = {}
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('DEL', ARGV[1] .. 'session:' .. key) == 1 then table.insert(ended, key) end
end
redis.call('DEL', KEYS[1])
return ended
";

/// Sessions in Redis; cheap to clone (one multiplexed connection, shared).
#[derive(Clone)]
pub struct RedisStore {
    connection: Link,
    prefix: Arc<str>,
    increment: Arc<Script>,
    renew: Arc<Script>,
    delete: Arc<Script>,
    index: Arc<Script>,
    end_user: Arc<Script>,
}

impl RedisStore {
    /// A store over `client`, with keys under `prefix`. Connects lazily: this
    /// succeeds while Redis is down.
    pub fn new(client: Client, prefix: &str) -> Result<Self, StoreError> {
        let connection = Link::new(client, manager_config()).map_err(store_error)?;
        Ok(Self {
            connection,
            prefix: prefix.into(),
            increment: Arc::new(Script::new(INCREMENT)),
            renew: Arc::new(Script::new(&format!("{USER_OF}{RENEW}"))),
            delete: Arc::new(Script::new(&format!("{USER_OF}{DELETE}"))),
            index: Arc::new(Script::new(INDEX)),
            end_user: Arc::new(Script::new(END_USER)),
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

    /// The one channel that carries every instance's events.
    pub fn events_channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    fn key(&self, id: &str) -> String {
        format!("{}session:{id}", self.prefix)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        bounded(async move { redis::cmd("PING").query_async::<()>(&mut connection).await }).await
    }

    pub(super) async fn load(&self, id: &str) -> Result<Option<SessionState>, StoreError> {
        let (mut connection, key) = (self.connection.clone(), self.key(id));
        let raw: Option<String> = bounded(async move { connection.get(key).await }).await?;
        raw.map(|raw| decode(&raw)).transpose()
    }

    pub(super) async fn create(
        &self,
        state: SessionState,
        ttl: Duration,
    ) -> Result<SessionId, StoreError> {
        let value = encode(&state)?;
        let user = SessionData::from_state(&state).user().map(str::to_owned);
        loop {
            let id = SessionId::generate();
            if self.set(id.as_str(), &value, ttl, SetOnly::New).await? {
                if let Some(user) = user {
                    // Only this request knows the key yet: indexing it next
                    // is as good as indexing it in the same step.
                    let (mut connection, script) = (self.connection.clone(), self.index.clone());
                    let (index, key) = (self.user_key(&user), id.as_str().to_owned());
                    bounded(async move {
                        script
                            .key(index)
                            .arg(key)
                            .invoke_async::<()>(&mut connection)
                            .await
                    })
                    .await?;
                }
                return Ok(id);
            }
        }
    }

    pub(super) async fn replace(
        &self,
        id: &str,
        state: SessionState,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.set(id, &encode(&state)?, ttl, SetOnly::Existing).await
    }

    pub(super) async fn increment(
        &self,
        id: &str,
        field: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let (mut connection, key) = (self.connection.clone(), self.key(id));
        let script = self.increment.clone();
        bounded(async move {
            script
                .key(key)
                .arg(field)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
        })
        .await
    }

    pub(super) async fn renew(
        &self,
        id: &str,
        changes: SessionState,
        ttl: Duration,
    ) -> Result<Option<SessionId>, StoreError> {
        let changes = encode(&changes)?;
        loop {
            let new = SessionId::generate();
            let (mut connection, script) = (self.connection.clone(), self.renew.clone());
            let (old_key, new_key) = (self.key(id), self.key(new.as_str()));
            let changes = changes.clone();
            let prefix = self.prefix.clone();
            let moved: i64 = bounded(async move {
                script
                    .key(old_key)
                    .key(new_key)
                    .arg(changes)
                    .arg(millis(ttl))
                    .arg(&*prefix)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
            match moved {
                1 => return Ok(Some(new)),
                0 => return Ok(None),
                _ => continue, // the new key was taken: draw another
            }
        }
    }

    pub(super) async fn touch(&self, id: &str, ttl: Duration) -> Result<(), StoreError> {
        let (mut connection, key) = (self.connection.clone(), self.key(id));
        let ttl = i64::try_from(millis(ttl)).unwrap_or(i64::MAX);
        bounded(async move { connection.pexpire::<_, ()>(key, ttl).await }).await
    }

    pub(super) async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let (mut connection, key) = (self.connection.clone(), self.key(id));
        let (script, prefix, id) = (self.delete.clone(), self.prefix.clone(), id.to_owned());
        bounded(async move {
            script
                .key(key)
                .arg(&*prefix)
                .arg(id)
                .invoke_async::<()>(&mut connection)
                .await
        })
        .await
    }

    pub(super) async fn end_user(&self, user: &str) -> Result<Vec<SessionId>, StoreError> {
        let (mut connection, index) = (self.connection.clone(), self.user_key(user));
        let (script, prefix) = (self.end_user.clone(), self.prefix.clone());
        let keys: Vec<String> = bounded(async move {
            script
                .key(index)
                .arg(&*prefix)
                .invoke_async(&mut connection)
                .await
        })
        .await?;
        Ok(keys.into_iter().map(SessionId::from_stored).collect())
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}user:{user}", self.prefix)
    }

    /// `SET key value PX ttl` with `NX` or `XX`; whether it was set.
    async fn set(
        &self,
        id: &str,
        value: &str,
        ttl: Duration,
        only: SetOnly,
    ) -> Result<bool, StoreError> {
        let (mut connection, key) = (self.connection.clone(), self.key(id));
        let options = SetOptions::default()
            .conditional_set(match only {
                SetOnly::New => redis::ExistenceCheck::NX,
                SetOnly::Existing => redis::ExistenceCheck::XX,
            })
            .with_expiration(SetExpiry::PX(millis(ttl)));
        let value = value.to_owned();
        let reply: Option<String> =
            bounded(async move { connection.set_options(key, value, options).await }).await?;
        Ok(reply.is_some())
    }
}

enum SetOnly {
    New,
    Existing,
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

/// Runs one Redis call within [`CALL_TIMEOUT`]. Every store call goes
/// through here, so this is where failed and timed-out calls are counted.
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
