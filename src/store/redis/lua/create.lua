-- Stores a new session if its key is free.
-- KEYS[1] session; ARGV[1] state, ARGV[2] ttl in ms, ARGV[3] prefix,
-- ARGV[4] room. Returns 1, or 0 when the key is taken.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
reindex(ARGV[3], nil, cjson.decode(ARGV[1]), ARGV[4], tonumber(ARGV[2]))
return 1
