-- Intake: idempotency key + message record + indexes + its first events in one atomic call (DESIGN §7).
-- KEYS: 1 message, 2 idempotency (unused when ARGV[3] == ''), 3 accepted index, 4 key index, 5 all index, 6 outbox
-- ARGV: 1 document, 2 retention seconds, 3 idempotency record ('' for none), 4 idempotency TTL seconds,
--       5 created-at ms, 6 message id, 7 ids below this one are past retention and leave the indexes,
--       8.. outbox items (webhook events, JSON)
-- Returns {1, ''} when created, {0, existing idempotency record} on a replay.
if ARGV[3] ~= '' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {0, existing} end
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
end
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[4], 0, ARGV[6])
redis.call('ZADD', KEYS[5], 0, ARGV[6])
redis.call('ZREMRANGEBYLEX', KEYS[4], '-', '(' .. ARGV[7])
redis.call('ZREMRANGEBYLEX', KEYS[5], '-', '(' .. ARGV[7])
for i = 8, #ARGV do redis.call('RPUSH', KEYS[6], ARGV[i]) end
return {1, ''}
