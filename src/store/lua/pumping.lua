-- SMS-pumping guard counters, one atomic call per message, so concurrent workers see
-- one consistent count per dimension and the decision is taken on it.
-- KEYS: per burst dimension i (ARGV[12] of them): 2i-1 window ZSET (member = message id, score = ms),
--       2i baseline HASH {e = decayed average sends per window over closed windows, n = closed windows
--       since first seen, bucket = index of the open window, cur = allowed sends in it, first = ms first seen};
--       then per tripwire dimension j (ARGV[13] of them): one HASH of sends per UTC hour (keys that
--       report conversions only).
-- ARGV: 1 now ms, 2 message id, 3 window ms, 4 minSends, 5 baseline multiplier, 6 baseline half-life ms,
--       7 warm-up ms, 8 '1' never block (safe list), 9 '1' count this message for the tripwire, 10 hour field
--       (YYYYMMDDHH) it is counted in, 11 tripwire TTL seconds, 12 burst dimensions D, 13 tripwire dimensions T,
--       14.. the hour fields of the tripwire window (summed for each tripwire dimension)
-- Returns {over, then per burst dimension: count, threshold, age ms, '1' when over, then per tripwire
-- dimension: its sends over the window's hours, this message included when counted} (numbers as strings).
-- The tripwire dimensions are read whether or not the message is counted in them (a key that does not
-- report conversions is still guarded by the traffic of those that do), so the guard needs no second
-- round trip for them.
--
-- The baseline is an exponentially weighted average of the send counts of past (closed) windows,
-- weighted so that its half-life is `halfLife`, and corrected for a short history (divided by
-- 1 - f^n, like Adam's bias correction) so it is unbiased from the first closed window on. The open
-- window never feeds its own threshold: a burst cannot raise the bar it is measured against.
-- A message id counts once per window (ZADD NX), so a retried job never counts twice. Sends over a
-- threshold stay in the sliding window (the attack keeps the door shut) but never feed the baseline,
-- so a long attack cannot become the new normal.
local now = tonumber(ARGV[1])
local id = ARGV[2]
local window = tonumber(ARGV[3])
local minSends = tonumber(ARGV[4])
local multiplier = tonumber(ARGV[5])
local halfLife = tonumber(ARGV[6])
local warmup = tonumber(ARGV[7])
local neverBlock = ARGV[8] == '1'
local D = tonumber(ARGV[12])
local T = tonumber(ARGV[13])
-- Weight of one window's age in the average: f^k after k windows, half-life = halfLife.
local f = math.pow(2, -window / halfLife)
local idx = math.floor(now / window)

local out = {'0'}
local anyOver = false
local added = {}
local states = {}
for i = 1, D do
  local w = KEYS[2 * i - 1]
  local b = KEYS[2 * i]
  redis.call('ZREMRANGEBYSCORE', w, '-inf', now - window)
  added[i] = redis.call('ZADD', w, 'NX', now, id)
  redis.call('PEXPIRE', w, window * 2)
  local count = redis.call('ZCARD', w)
  local state = redis.call('HMGET', b, 'e', 'n', 'bucket', 'cur', 'first')
  local e = tonumber(state[1]) or 0
  local n = tonumber(state[2]) or 0
  local bucket = tonumber(state[3]) or idx
  local cur = tonumber(state[4]) or 0
  local first = tonumber(state[5]) or now
  if idx > bucket then
    -- Close the open window, then the empty ones up to now.
    local k = idx - bucket
    e = e * math.pow(f, k) + (1 - f) * cur * math.pow(f, k - 1)
    n = n + k
    cur = 0
    bucket = idx
  end
  local baseline = 0
  if n > 0 then baseline = e / (1 - math.pow(f, n)) end
  local threshold = math.max(minSends, multiplier * baseline)
  local age = now - first
  local over = (not neverBlock) and age >= warmup and count > threshold
  if over then anyOver = true end
  out[#out + 1] = tostring(count)
  out[#out + 1] = tostring(threshold)
  out[#out + 1] = tostring(age)
  out[#out + 1] = over and '1' or '0'
  states[i] = {e, n, bucket, cur, first}
end
if anyOver then out[1] = '1' end
-- One write per baseline, once the verdict is known: an allowed, newly counted send feeds the open window.
for i = 1, D do
  local st = states[i]
  local cur = st[4]
  if not anyOver and added[i] == 1 then cur = cur + 1 end
  local b = KEYS[2 * i]
  redis.call('HSET', b, 'e', tostring(st[1]), 'n', tostring(st[2]), 'bucket', tostring(st[3]), 'cur', tostring(cur), 'first', tostring(st[5]))
  redis.call('PEXPIRE', b, math.floor(halfLife * 20))
end
if ARGV[9] == '1' and added[1] == 1 then
  for j = 1, T do
    local t = KEYS[2 * D + j]
    redis.call('HINCRBY', t, ARGV[10], 1)
    redis.call('EXPIRE', t, tonumber(ARGV[11]))
  end
end
local hours = {}
for h = 14, #ARGV do hours[#hours + 1] = ARGV[h] end
for j = 1, T do
  local sends = 0
  if #hours > 0 then
    for _, v in ipairs(redis.call('HMGET', KEYS[2 * D + j], unpack(hours))) do
      if v then sends = sends + tonumber(v) end
    end
  end
  out[#out + 1] = tostring(sends)
end
return out
