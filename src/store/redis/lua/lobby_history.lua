-- The lobby's last position and its kept messages, read together.
-- KEYS[1] sequence counter, KEYS[2] history list.
-- Returns {position, {entry, ...}}.
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('LRANGE', KEYS[2], 0, -1)}
