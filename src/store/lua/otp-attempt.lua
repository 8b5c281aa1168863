-- One verification of a message's code, decided atomically so that concurrent guesses can never
-- evaluate more than `max` wrong codes, and a right code after the lock is still refused.
-- KEYS: 1 the message's verification hash (fields `fails`, `verified`)
-- ARGV: 1 '1' when the presented code matched, else '0'; 2 max wrong codes; 3 expire the hash at (ms)
-- Returns {'valid'|'invalid'|'locked'|'already', wrong codes still allowed}.
local max = tonumber(ARGV[2])
if redis.call('HGET', KEYS[1], 'verified') then return {'already', 0} end
local fails = tonumber(redis.call('HGET', KEYS[1], 'fails') or '0')
if fails >= max then return {'locked', 0} end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'verified', '1')
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  return {'valid', max - fails}
end
fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return {'invalid', max - fails}
