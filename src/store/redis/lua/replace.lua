-- Replaces the state of an existing session.
-- KEYS[1] session; ARGV as for create.lua. Returns 1, or 0 when the session
-- does not exist.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, old = pcall(cjson.decode, raw)
local before = nil
if ok then before = user_of(old) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
reindex(ARGV[3], before, cjson.decode(ARGV[1]), ARGV[4], tonumber(ARGV[2]))
return 1
