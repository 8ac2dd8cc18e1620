-- Applies a reconcile of one user's sockets on one instance: removes and
-- adds socket ids (idempotent), then decides the user's transition.
-- KEYS: 1 sockets:{instance}:{user}, 2 at:{user}, 3 online, 4 pending,
-- 5 version, 6 instance:{instance}. ARGV: 1 user, 2 instance, 3 grace in ms,
-- 4 how long the keys of 1, 2 and 6 live without a reconcile, in ms, 5 how
-- many ids to remove, then those ids, then the ids to add.
-- Returns {version, online}: version 0 when no transition.
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
