-- Adds 1 to a field of an existing session and restarts its expiry.
-- KEYS[1] session; ARGV[1] field, ARGV[2] ttl in ms, ARGV[3] prefix,
-- ARGV[4] room. Returns the new value, or nil when the session does not exist.
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
