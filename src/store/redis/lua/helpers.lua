-- Shared by the session scripts (prepended to each): the user a state is
-- logged in as, Redis's clock, and keeping a session in its user's index.
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
