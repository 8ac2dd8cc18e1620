-- Restarts the lifetime of an existing session.
-- KEYS[1] session; ARGV[1] ttl in ms, ARGV[2] prefix, ARGV[3] room.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local ok, state = pcall(cjson.decode, raw)
if ok then
  local user = user_of(state)
  if user then keep_indexed(ARGV[2], user, ARGV[3], tonumber(ARGV[1])) end
end
return 1
