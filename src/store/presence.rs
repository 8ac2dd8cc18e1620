//! Presence, kept where sessions are: how many sockets each user has on each
//! instance, who is online, and who has had no socket since when.
//!
//! Every change is one atomic step that returns the transition it caused, if
//! any, with a version that increases with every transition of every user, so
//! exactly one caller (on one instance) announces each change and sockets can
//! tell a late announcement from a new one. A user whose last socket closes is
//! only marked; [`Store::presence_sweep`] later announces offline those
//! still without a socket after the grace, re-checking in the same step.
//!
//! With Redis each instance also refreshes a key with a TTL; the sweep treats
//! an instance whose key has expired (crashed, cut off) as having no sockets,
//! so its users go offline after the grace too. The embedded store has one
//! instance and needs none of that.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{LazyLock, Mutex, PoisonError},
    time::{Duration, Instant},
};

use redis::Script;

use super::{
    redis::{bounded, RedisStore},
    Store, StoreError,
};

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

/// Counts sockets. KEYS: 1 the user's counts, 2 online, 3 pending, 4 version,
/// 5 the instance's users. ARGV: 1 user, 2 instance, 3 how many sockets,
/// 4 `add` or `set`. Returns the new version when the user came online, else
/// 0. (Only the heartbeat lists an instance among those the sweep checks, so
/// an instance is never swept before its first heartbeat.)
static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
else
  redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[3])
end
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then return redis.call('INCR', KEYS[4]) end
return 0
",
    )
});

/// Uncounts a socket. KEYS as for JOIN; ARGV: 1 user, 2 instance, 3 grace in
/// ms. Returns the new version when the user went offline at once (no
/// grace), else 0 (a user left without sockets is marked pending).
static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HINCRBY', KEYS[1], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('SREM', KEYS[5], ARGV[1])
end
if redis.call('HLEN', KEYS[1]) > 0 or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  return 0
end
if tonumber(ARGV[3]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return redis.call('INCR', KEYS[4])
end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[3], now[1] * 1000 + math.floor(now[2] / 1000), ARGV[1])
return 0
",
    )
});

/// Drops the counts of silent instances, then announces offline the pending
/// users whose grace has passed and who still have no socket. KEYS: 1 online,
/// 2 pending, 3 version, 4 instances. ARGV: 1 key prefix, 2 grace in ms.
/// Returns `user, version, user, version, ...`.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local prefix = ARGV[1] .. 'presence:'
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if redis.call('EXISTS', prefix .. 'alive:' .. id) == 0 then
    local users = prefix .. 'instance:' .. id
    for _, user in ipairs(redis.call('SMEMBERS', users)) do
      local counts = prefix .. 'user:' .. user
      redis.call('HDEL', counts, id)
      if redis.call('HLEN', counts) == 0 and redis.call('SISMEMBER', KEYS[1], user) == 1 then
        redis.call('ZADD', KEYS[2], 'NX', now, user)
      end
    end
    redis.call('DEL', users)
    redis.call('SREM', KEYS[4], id)
  end
end
local out = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))) do
  redis.call('ZREM', KEYS[2], user)
  if redis.call('HLEN', prefix .. 'user:' .. user) == 0 and redis.call('SREM', KEYS[1], user) == 1 then
    table.insert(out, user)
    table.insert(out, redis.call('INCR', KEYS[3]))
  end
end
return out
",
    )
});

/// Refreshes an instance's liveness key. KEYS: 1 the key, 2 instances.
/// ARGV: 1 instance, 2 TTL in ms. Returns 1 when the key had lapsed (the
/// others may have dropped this instance's counts), else 0.
static BEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local lapsed = 1 - redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return lapsed
",
    )
});

/// The roster and its version, read together. KEYS: 1 online, 2 version.
static ROSTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('SMEMBERS', KEYS[1])}
",
    )
});

/// The embedded store's presence.
#[derive(Default)]
pub(super) struct MemoryPresence {
    sockets: HashMap<String, usize>,
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
    /// Counts `sockets` more sockets of `user` on `instance`, or, with
    /// `replace`, sets the count (re-registering after the store lost it).
    /// The transition when the user came online.
    pub async fn presence_join(
        &self,
        user: &str,
        instance: &str,
        sockets: usize,
        replace: bool,
    ) -> Result<Option<Transition>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_join(user, sockets, replace)),
            Self::Redis(store) => store.presence_join(user, instance, sockets, replace).await,
        }
    }

    /// Uncounts one socket of `user` on `instance`. A user left without any
    /// socket goes offline at once when `grace` is zero (the transition is
    /// returned), else at the first sweep after `grace`.
    pub async fn presence_leave(
        &self,
        user: &str,
        instance: &str,
        grace: Duration,
    ) -> Result<Option<Transition>, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.presence_leave(user, grace)),
            Self::Redis(store) => store.presence_leave(user, instance, grace).await,
        }
    }

    /// Takes offline the users without a socket for `grace` (with Redis,
    /// counting silent instances as having none); their transitions.
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
    /// for longer (its counts may have been dropped). Always `false` for the
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

    fn presence_join(&self, user: &str, sockets: usize, replace: bool) -> Option<Transition> {
        let mut book = self.presence();
        let count = book.sockets.entry(user.to_owned()).or_default();
        *count = if replace { sockets } else { *count + sockets };
        book.since.remove(user);
        book.online
            .insert(user.to_owned())
            .then(|| book.transition(user, true))
    }

    fn presence_leave(&self, user: &str, grace: Duration) -> Option<Transition> {
        let mut book = self.presence();
        let count = book.sockets.entry(user.to_owned()).or_default();
        *count = count.saturating_sub(1);
        if *count > 0 {
            return None;
        }
        book.sockets.remove(user);
        if !book.online.contains(user) {
            return None;
        }
        if grace.is_zero() {
            book.online.remove(user);
            return Some(book.transition(user, false));
        }
        book.since.insert(user.to_owned(), Instant::now());
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
        let mut gone = Vec::new();
        for user in due {
            book.since.remove(&user);
            if !book.sockets.contains_key(&user) && book.online.remove(&user) {
                gone.push(book.transition(&user, false));
            }
        }
        gone
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

    /// The keys JOIN and LEAVE take, in their order.
    fn counting_keys(&self, user: &str, instance: &str) -> [String; 5] {
        [
            self.presence_key(&format!("user:{user}")),
            self.presence_key("online"),
            self.presence_key("pending"),
            self.presence_key("version"),
            self.presence_key(&format!("instance:{instance}")),
        ]
    }

    async fn presence_join(
        &self,
        user: &str,
        instance: &str,
        sockets: usize,
        replace: bool,
    ) -> Result<Option<Transition>, StoreError> {
        let mut call = JOIN.prepare_invoke();
        call.key(&self.counting_keys(user, instance))
            .arg(user)
            .arg(instance)
            .arg(sockets)
            .arg(if replace { "set" } else { "add" });
        let mut connection = self.connection();
        let version: u64 = bounded(async move { call.invoke_async(&mut connection).await }).await?;
        Ok(came(user, true, version))
    }

    async fn presence_leave(
        &self,
        user: &str,
        instance: &str,
        grace: Duration,
    ) -> Result<Option<Transition>, StoreError> {
        let mut call = LEAVE.prepare_invoke();
        call.key(&self.counting_keys(user, instance))
            .arg(user)
            .arg(instance)
            .arg(grace.as_millis().to_string());
        let mut connection = self.connection();
        let version: u64 = bounded(async move { call.invoke_async(&mut connection).await }).await?;
        Ok(came(user, false, version))
    }

    async fn presence_sweep(&self, grace: Duration) -> Result<Vec<Transition>, StoreError> {
        let mut call = SWEEP.prepare_invoke();
        call.key(self.presence_key("online"))
            .key(self.presence_key("pending"))
            .key(self.presence_key("version"))
            .key(self.presence_key("instances"))
            .arg(self.prefix())
            .arg(grace.as_millis().to_string());
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
