-- Optimistic update of one message document, with the events it causes (the outbox): applies
-- only if nobody wrote since we read it, so an event is never written without its change.
-- KEYS: 1 message, 2 accepted index, 3 outbox
-- ARGV: 1 expected version, 2 new document, 3 message id, 4 '1' while the message is still accepted,
--       5.. outbox items (webhook events, JSON)
-- Returns 1 applied, 0 version conflict (read again), -1 missing (expired or never existed).
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tonumber(v) + 1, 'doc', ARGV[2])
if ARGV[4] ~= '1' then redis.call('ZREM', KEYS[2], ARGV[3]) end
for i = 5, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
return 1
