//! The Lua scripts of presence in Redis, each atomic and each bounded (by
//! this instance's own sockets of one user, or by a fixed batch).
//!
//! Keys (the prefix and `presence:` omitted):
//!
//! - `sockets:{instance}:{user}`: set of the ids of the user's open sockets
//!   on that instance (idempotent adds and removes, never a count);
//! - `at:{user}`: set of the instances holding a socket of the user;
//! - `instance:{instance}`: set of the users that instance holds sockets of;
//! - `online`: set of the users online; `pending`: sorted set of the online
//!   users without a socket, scored by since when (ms); `version`: the
//!   counter of transitions; `instances`: set of the instances that beat;
//!   `alive:{instance}`: the liveness key, expiring after `INSTANCE_TTL_SECS`.
//!
//! The per-instance and per-user keys (`sockets:`, `at:`, `instance:`) are
//! removed by the others' sweep, a batch at a time, once their instance is
//! silent; each also expires by itself a while (three instance TTLs) after
//! its instance last reconciled it (every third of a TTL), so nothing is
//! left behind when every instance has stopped. The global keys (`online`,
//! `pending`, `version`, `instances`) have no TTL: they are few, bounded by
//! the users online, and `version` must never go back.

use std::sync::LazyLock;

use redis::Script;

/// How many users of a silent instance, and how many pending users, one
/// sweep handles: the rest wait for the next sweep (a fraction of a second).
pub(super) const SWEEP_BATCH: usize = 100;

/// Applies a reconcile of one user's sockets on one instance: removes and
/// adds socket ids (idempotent), then decides the user's transition. KEYS:
/// 1 sockets:{instance}:{user}, 2 at:{user}, 3 online, 4 pending, 5 version,
/// 6 instance:{instance}. ARGV: 1 user, 2 instance, 3 grace in ms, 4 how
/// long the keys of 1, 2 and 6 live without a reconcile, in ms, 5 how many
/// ids to remove, then those ids, then the ids to add. Returns `{version,
/// online}`: version 0 when no transition.
pub(super) static SYNC: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local removing = tonumber(ARGV[5])
local keep = tonumber(ARGV[4])
local function apply(command, first, last)
  for i = first, last, 500 do
    redis.call(command, KEYS[1], unpack(ARGV, i, math.min(i + 499, last)))
  end
end
local function keep_alive(key)
  if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
end
apply('SREM', 6, 5 + removing)
apply('SADD', 6 + removing, #ARGV)
if redis.call('SCARD', KEYS[1]) > 0 then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[6], ARGV[1])
  keep_alive(KEYS[1])
  keep_alive(KEYS[2])
  keep_alive(KEYS[6])
  redis.call('ZREM', KEYS[4], ARGV[1])
  if redis.call('SADD', KEYS[3], ARGV[1]) == 1 then return {redis.call('INCR', KEYS[5]), 1} end
  return {0, 1}
end
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[6], ARGV[1])
if redis.call('SCARD', KEYS[2]) > 0 or redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then
  return {0, 0}
end
if tonumber(ARGV[3]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  return {redis.call('INCR', KEYS[5]), 0}
end
local now = redis.call('TIME')
-- NX: a repeated or stray leave does not restart the grace.
redis.call('ZADD', KEYS[4], 'NX', now[1] * 1000 + math.floor(now[2] / 1000), ARGV[1])
return {0, 0}
",
    )
});

/// Drops a batch of the users of silent instances, then announces offline
/// a batch of the pending users whose grace has passed and who still have
/// no socket. KEYS: 1 online, 2 pending, 3 version, 4 instances. ARGV: 1 key
/// prefix, 2 grace in ms, 3 batch. Returns `user, version, user, version, ...`.
pub(super) static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local prefix = ARGV[1] .. 'presence:'
local batch = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if batch > 0 and redis.call('EXISTS', prefix .. 'alive:' .. id) == 0 then
    local users = prefix .. 'instance:' .. id
    for _, user in ipairs(redis.call('SPOP', users, batch)) do
      batch = batch - 1
      redis.call('DEL', prefix .. 'sockets:' .. id .. ':' .. user)
      local at = prefix .. 'at:' .. user
      redis.call('SREM', at, id)
      if redis.call('SCARD', at) == 0 and redis.call('SISMEMBER', KEYS[1], user) == 1 then
        redis.call('ZADD', KEYS[2], 'NX', now, user)
      end
    end
    if redis.call('SCARD', users) == 0 then redis.call('SREM', KEYS[4], id) end
  end
end
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, tonumber(ARGV[3]))
for _, user in ipairs(due) do
  redis.call('ZREM', KEYS[2], user)
  if redis.call('SCARD', prefix .. 'at:' .. user) == 0 and redis.call('SREM', KEYS[1], user) == 1 then
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
/// others may have dropped this instance's sockets), else 0.
pub(super) static BEAT: LazyLock<Script> = LazyLock::new(|| {
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
pub(super) static ROSTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('SMEMBERS', KEYS[1])}
",
    )
});
