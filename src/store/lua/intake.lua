-- Intake: idempotency key + admission rate limits + message record + indexes + its first events,
-- in one atomic call (DESIGN §7, CONTRACTS §3), so a refused request creates nothing and a replay
-- never counts against a limit.
-- KEYS: 1 message, 2 idempotency (unused when ARGV[3] == ''), 3 accepted index, 4 key index, 5 all index, 6 outbox,
--       7.. one sliding-window ZSET per rate limit (ARGV[8] of them),
--       then one key per block (ARGV[9 + 3n] of them: refuse when it exists, e.g. the number's opt-out),
--       then the audit stream (only when ARGV[10 + 3n] ~= ''), then the watch schedule (last)
-- ARGV: 1 document, 2 retention seconds, 3 idempotency record ('' for none), 4 idempotency TTL seconds,
--       5 created-at ms (the limits' clock), 6 message id, 7 ids below this one are past retention and leave the indexes ('' to leave them as they are),
--       8 number of limits n; then per limit i: max count, window ms, '1' enforce | '0' shadow (count, never refuse);
--       9+3n number of blocks m, 10+3n audit MAXLEN ('' for no audit entry), 11+3n audit fields (JSON array of
--       field, value, ...), 12+3n when the message's watch is first due (ms; '' for none); then outbox items (webhook events, JSON)
-- Returns {1, '', shadowed limit indexes...} when created, {0, existing idempotency record} on a replay,
-- {2, retry-after ms, limit index} when an enforced limit refuses, {3, 0, block index} when a block key
-- exists (nothing written in either case).
if ARGV[3] ~= '' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {0, existing} end
end

local now = tonumber(ARGV[5])
local n = tonumber(ARGV[8])
local m = tonumber(ARGV[9 + 3 * n])
-- Policy blocks (opt-out) before the limits: a refused request never counts against a limit.
for j = 1, m do
  if redis.call('EXISTS', KEYS[6 + n + j]) == 1 then return {3, 0, j} end
end
local shadowed = {}
for i = 1, n do
  local key = KEYS[6 + i]
  local max = tonumber(ARGV[6 + 3 * i])
  local window = tonumber(ARGV[7 + 3 * i])
  -- Trimming entries older than the window creates nothing (it may delete an emptied key).
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= max then
    if ARGV[8 + 3 * i] == '1' then
      -- The request fits once the (count - max + 1)-th oldest entry leaves the window.
      local edge = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
      local retry = window
      if edge[2] then retry = tonumber(edge[2]) + window - now end
      if retry < 1 then retry = 1 end
      return {2, retry, i}
    end
    shadowed[#shadowed + 1] = i
  end
end

if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end
for i = 1, n do
  local key = KEYS[6 + i]
  redis.call('ZADD', key, now, ARGV[6])
  redis.call('PEXPIRE', key, ARGV[7 + 3 * i])
end
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[4], 0, ARGV[6])
redis.call('ZADD', KEYS[5], 0, ARGV[6])
if ARGV[7] ~= '' then
  redis.call('ZREMRANGEBYLEX', KEYS[4], '-', '(' .. ARGV[7])
  redis.call('ZREMRANGEBYLEX', KEYS[5], '-', '(' .. ARGV[7])
end
if ARGV[12 + 3 * n] ~= '' then redis.call('ZADD', KEYS[#KEYS], ARGV[12 + 3 * n], ARGV[6]) end
for i = 13 + 3 * n, #ARGV do redis.call('RPUSH', KEYS[6], ARGV[i]) end
if ARGV[10 + 3 * n] ~= '' then
  local fields = cjson.decode(ARGV[11 + 3 * n])
  redis.call('XADD', KEYS[7 + n + m], 'MAXLEN', '~', ARGV[10 + 3 * n], '*', unpack(fields))
end
local out = {1, ''}
for _, i in ipairs(shadowed) do out[#out + 1] = i end
return out
