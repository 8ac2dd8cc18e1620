-- Appends a message to the lobby, keeps the last few and publishes it, in
-- one step, so the order of the history is the order every instance
-- delivers in.
-- KEYS[1] sequence counter, KEYS[2] history list; ARGV[1] the message (JSON),
-- ARGV[2] how many to keep, ARGV[3] the channel, ARGV[4] and ARGV[5] what to
-- publish before and after the message's position (the events module's
-- business: this script only puts the position between them).
-- Returns the message's position.
local seq = redis.call('INCR', KEYS[1])
local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('RPUSH', KEYS[2], '{"seq":' .. seq .. ',"message":' .. ARGV[1] .. '}')
  redis.call('LTRIM', KEYS[2], -keep, -1)
else
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4] .. seq .. ARGV[5])
return seq
