-- The roster and its version, read together.
-- KEYS: 1 online, 2 version. Returns {version, {user, ...}}.
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('SMEMBERS', KEYS[1])}
