-- Moves an existing session to a new key with changes merged in, keeps the
-- user index in step and remembers the old key as renewed, all in one step:
-- no request with the old key can find it neither live nor renewed.
-- KEYS[1] old session, KEYS[2] new session, KEYS[3] the old room's ended
-- key; ARGV[1] changes (JSON object), ARGV[2] ttl in ms, ARGV[3] prefix,
-- ARGV[4] old room, ARGV[5] new room, ARGV[6] how long to remember, in ms.
-- Returns 1 when moved, 0 when the old session does not exist, -1 when the
-- new key is taken.
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local state = cjson.decode(raw)
local before = user_of(state)
if before then redis.call('ZREM', index_of(ARGV[3], before), ARGV[4]) end
for field, value in pairs(cjson.decode(ARGV[1])) do state[field] = value end
redis.call('SET', KEYS[2], cjson.encode(state), 'PX', ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], 'renewed', 'PX', ARGV[6])
reindex(ARGV[3], nil, state, ARGV[5], tonumber(ARGV[2]))
return 1
