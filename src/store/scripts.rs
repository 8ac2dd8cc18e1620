//! The Lua scripts of the Redis session store, each one atomic inside Redis
//! and each one bounded: none loops over a user's sessions, so no request's
//! work grows with the number of sessions logged in under one name (Redis
//! runs one script at a time: a long one stalls every instance).
//!
//! Keys (the prefix omitted; `{room}` is the keyed hash of a session key, its
//! room id, so nothing in Redis is usable as a cookie):
//!
//! - `session:{room}`: the state (JSON), expiring after the idle lifetime;
//! - `user-sessions:{name}`: a sorted set of the rooms of the sessions logged
//!   in as `name`, scored by when each expires (ms since the epoch). Every
//!   write of a member also keeps the set's own expiry at least as far out as
//!   the member's, so the set expires by itself with its last session;
//!   members that expired are pruned a few at a time, and skipped anyway;
//! - `gone:{room}`: how a session ended (`logged_out`, `renewed`).

use std::sync::LazyLock;

use redis::Script;

/// Shared helpers: the user a state is logged in as, Redis's clock, and
/// keeping a session in its user's index.
const HELPERS: &str = r"
local function user_of(state)
  if state.authenticated ~= 'true' or type(state.name) ~= 'string' then return nil end
  local ok, name = pcall(cjson.decode, state.name)
  if ok and type(name) == 'string' then return name end
  return nil
end
local function now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
local function index_of(prefix, user)
  return prefix .. 'user-sessions:' .. user
end
-- Scores `room` by its expiry, keeps the index alive at least as long, and
-- prunes a bounded number of members that expired.
local function keep_indexed(prefix, user, room, ttl)
  local index = index_of(prefix, user)
  local now = now_ms()
  local stale = redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, 8)
  if #stale > 0 then redis.call('ZREM', index, unpack(stale)) end
  redis.call('ZADD', index, now + ttl, room)
  if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
end
-- Re-indexes a session whose state went from `before` to `state`.
local function reindex(prefix, before, state, room, ttl)
  local user = user_of(state)
  if before and before ~= user then redis.call('ZREM', index_of(prefix, before), room) end
  if user then keep_indexed(prefix, user, room, ttl) end
end
";

fn with_helpers(body: &str) -> Script {
    Script::new(&format!("{HELPERS}{body}"))
}

/// Stores a new session if its key is free. KEYS[1] session; ARGV[1] state,
/// ARGV[2] ttl in ms, ARGV[3] prefix, ARGV[4] room. Returns 1, or 0 when taken.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
reindex(ARGV[3], nil, cjson.decode(ARGV[1]), ARGV[4], tonumber(ARGV[2]))
return 1
",
    )
});

/// Replaces the state of an existing session. KEYS[1] session; ARGV as for
/// CREATE. Returns 1, or 0 when the session does not exist.
pub(super) static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, old = pcall(cjson.decode, raw)
local before = nil
if ok then before = user_of(old) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
reindex(ARGV[3], before, cjson.decode(ARGV[1]), ARGV[4], tonumber(ARGV[2]))
return 1
",
    )
});

/// Restarts the lifetime of an existing session. KEYS[1] session; ARGV[1]
/// ttl in ms, ARGV[2] prefix, ARGV[3] room.
pub(super) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local ok, state = pcall(cjson.decode, raw)
if ok then
  local user = user_of(state)
  if user then keep_indexed(ARGV[2], user, ARGV[3], tonumber(ARGV[1])) end
end
return 1
",
    )
});

/// Adds 1 to a field of an existing session and restarts its expiry.
/// KEYS[1] session; ARGV[1] field, ARGV[2] ttl in ms, ARGV[3] prefix,
/// ARGV[4] room. Returns the new value, or nil when the session does not exist.
pub(super) static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
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
local user = user_of(state)
if user then keep_indexed(ARGV[3], user, ARGV[4], tonumber(ARGV[2])) end
return next
",
    )
});

/// Moves an existing session to a new key with changes merged in, keeps the
/// user index in step and remembers the old key as renewed, all in one step:
/// no request with the old key can find it neither live nor renewed.
/// KEYS[1] old session, KEYS[2] new session, KEYS[3] the old room's `gone`
/// key; ARGV[1] changes (JSON object), ARGV[2] ttl in ms, ARGV[3] prefix,
/// ARGV[4] old room, ARGV[5] new room, ARGV[6] how long to remember, in ms.
/// Returns 1 when moved, 0 when the old session does not exist, -1 when the
/// new key is taken.
pub(super) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local state = cjson.decode(raw)
local before = user_of(state)
if before then redis.call('ZREM', index_of(ARGV[3], before), ARGV[4]) end
for field, value in pairs(cjson.decode(ARGV[1])) do state[field] = value end
redis.call('SET', KEYS[2], cjson.encode(state), 'PX', ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], 'renewed', 'PX', ARGV[6])
reindex(ARGV[3], nil, state, ARGV[5], tonumber(ARGV[2]))
return 1
",
    )
});

/// Deletes a session and its entry in the user index. KEYS[1] the session;
/// ARGV[1] prefix, ARGV[2] room.
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, state = pcall(cjson.decode, raw)
if ok then
  local user = user_of(state)
  if user then redis.call('ZREM', index_of(ARGV[1], user), ARGV[2]) end
end
return redis.call('DEL', KEYS[1])
",
    )
});

/// One bounded step of ending a user's sessions: the first ARGV[2] members
/// of the index, but the one spared, are deleted, remembered as logged out
/// and dropped from it. Repeating it until nothing but the spared one
/// remains ends them all; a step that failed is simply repeated. KEYS[1] the
/// index; ARGV[1] prefix, ARGV[2] batch size, ARGV[3] how long to remember,
/// in ms, ARGV[4] the room to spare (empty: none). Returns {ended, members
/// left besides the spared one}.
pub(super) static END_USER_STEP: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local rooms = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local ended, done = 0, {}
for _, room in ipairs(rooms) do
  if room ~= ARGV[4] then
    if redis.call('DEL', ARGV[1] .. 'session:' .. room) == 1 then
      redis.call('SET', ARGV[1] .. 'gone:' .. room, 'logged_out', 'PX', ARGV[3])
      ended = ended + 1
    end
    table.insert(done, room)
  end
end
if #done > 0 then redis.call('ZREM', KEYS[1], unpack(done)) end
local left = redis.call('ZCARD', KEYS[1])
if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[4]) then left = left - 1 end
return {ended, left}
",
    )
});
