-- Refreshes an instance's liveness key.
-- KEYS: 1 the key, 2 instances. ARGV: 1 instance, 2 TTL in ms.
-- Returns 1 when the key had lapsed (the others may have dropped this
-- instance's sockets), else 0.
local lapsed = 1 - redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return lapsed
