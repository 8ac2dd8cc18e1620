-- Deletes a session and its entry in the user index.
-- KEYS[1] the session; ARGV[1] prefix, ARGV[2] room.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, state = pcall(cjson.decode, raw)
if ok then
  local user = user_of(state)
  if user then redis.call('ZREM', index_of(ARGV[1], user), ARGV[2]) end
end
return redis.call('DEL', KEYS[1])
