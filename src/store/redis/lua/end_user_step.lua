-- One bounded step of ending a user's sessions: the first ARGV[2] members of
-- the index, but the one spared, are deleted, remembered as logged out and
-- dropped from it. Repeating it until nothing but the spared one remains
-- ends them all; a step that failed is simply repeated.
-- KEYS[1] the index; ARGV[1] prefix, ARGV[2] batch size, ARGV[3] how long to
-- remember, in ms, ARGV[4] the room to spare (empty: none).
-- Returns {ended, members left besides the spared one}.
local rooms = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local ended, done = 0, {}
for _, room in ipairs(rooms) do
  if room ~= ARGV[4] then
    if redis.call('DEL', ARGV[1] .. 'session:' .. room) == 1 then
      redis.call('SET', ARGV[1] .. 'gone:' .. room, 'logged_out', 'PX', ARGV[3])
      ended = ended + 1
    end
    table.insert(done, room)
  end
end
if #done > 0 then redis.call('ZREM', KEYS[1], unpack(done)) end
local left = redis.call('ZCARD', KEYS[1])
if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[4]) then left = left - 1 end
return {ended, left}
