-- Drops a batch of the users of silent instances, then announces offline a
-- batch of the pending users whose grace has passed and who still have no
-- socket.
-- KEYS: 1 online, 2 pending, 3 version, 4 instances. ARGV: 1 key prefix,
-- 2 grace in ms, 3 batch. Returns {user, version, user, version, ...}.
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
