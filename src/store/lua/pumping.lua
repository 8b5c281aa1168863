-- SMS-pumping guard counters (DESIGN §6), one atomic call per message, so concurrent workers see
-- one consistent count per dimension and the decision is taken on it.
-- KEYS: 1 the message's "counted" marker (a retried job never counts twice); per burst dimension i
--       (ARGV[12] of them): 1+i one HASH {e = decayed average sends per window over closed windows,
--       n = closed windows since first seen, bucket = index of the open window, cur = allowed sends in
--       it, first = ms first seen, s0..s(S-1) = the sliding window's slots, each "slot index:sends"};
--       then per tripwire dimension j (ARGV[13] of them): one HASH of sends per UTC hour (keys that
--       report conversions only).
-- ARGV: 1 now ms, 2 message id, 3 window ms, 4 minSends, 5 baseline multiplier, 6 baseline half-life ms,
--       7 warm-up ms, 8 '1' never block (safe list), 9 '1' count this message for the tripwire, 10 hour field
--       (YYYYMMDDHH) it is counted in, 11 tripwire TTL seconds, 12 burst dimensions D, 13 tripwire dimensions T,
--       14 slots S of the sliding window, 15.. the hour fields of the tripwire window (summed for each
--       tripwire dimension)
-- Returns {over, then per burst dimension: count, threshold, age ms, '1' when over, then per tripwire
-- dimension: its sends over the window's hours, this message included when counted} (numbers as strings).
-- The tripwire dimensions are read whether or not the message is counted in them (a key that does not
-- report conversions is still guarded by the traffic of those that do), so the guard needs no second
-- round trip for them.
--
-- The sliding window is S counters of window/S each (a ring of fields in the dimension's hash, each
-- tagged with its slot index so a stale one reads as zero): the count is the sends of the last S
-- slots, the open one included, so it spans between (S-1)/S of the window and the whole window. One
-- HMGET and one HSET a dimension, where a ZSET of message ids took seven commands and a member per send.
--
-- The baseline is an exponentially weighted average of the send counts of past (closed) windows,
-- weighted so that its half-life is `halfLife`, and corrected for a short history (divided by
-- 1 - f^n, like Adam's bias correction) so it is unbiased from the first closed window on. The open
-- window never feeds its own threshold: a burst cannot raise the bar it is measured against.
-- Sends over a threshold stay in the sliding window (the attack keeps the door shut) but never feed
-- the baseline, so a long attack cannot become the new normal.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local minSends = tonumber(ARGV[4])
local multiplier = tonumber(ARGV[5])
local halfLife = tonumber(ARGV[6])
local warmup = tonumber(ARGV[7])
local neverBlock = ARGV[8] == '1'
local D = tonumber(ARGV[12])
local T = tonumber(ARGV[13])
local S = tonumber(ARGV[14])
-- Weight of one window's age in the average: f^k after k windows, half-life = halfLife.
local f = math.pow(2, -window / halfLife)
local idx = math.floor(now / window)
local slotMs = window / S
local slot = math.floor(now / slotMs)
local ring = slot % S

-- Counted once per message: the marker outlives the window, so a retry within it finds it.
local added = redis.call('SET', KEYS[1], '1', 'NX', 'PX', math.floor(window * 2)) and 1 or 0

local fields = {'e', 'n', 'bucket', 'cur', 'first'}
for k = 0, S - 1 do fields[#fields + 1] = 's' .. k end

local out = {'0'}
local anyOver = false
local states = {}
for i = 1, D do
  local b = KEYS[1 + i]
  local state = redis.call('HMGET', b, unpack(fields))
  local e = tonumber(state[1]) or 0
  local n = tonumber(state[2]) or 0
  local bucket = tonumber(state[3]) or idx
  local cur = tonumber(state[4]) or 0
  local first = tonumber(state[5]) or now
  local count = added
  local mine = 0
  for k = 0, S - 1 do
    local v = state[6 + k]
    if v then
      local colon = string.find(v, ':', 1, true)
      local at = tonumber(string.sub(v, 1, colon - 1))
      local sends = tonumber(string.sub(v, colon + 1))
      if at > slot - S then
        count = count + sends
        if at == slot then mine = sends end
      end
    end
  end
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
  states[i] = {e, n, bucket, cur, first, mine}
end
if anyOver then out[1] = '1' end
-- One write per dimension, once the verdict is known: a newly counted send enters its slot; an
-- allowed one also feeds the open window of the baseline.
for i = 1, D do
  local st = states[i]
  local cur = st[4]
  if not anyOver and added == 1 then cur = cur + 1 end
  local b = KEYS[1 + i]
  if added == 1 then
    redis.call('HSET', b, 'e', tostring(st[1]), 'n', tostring(st[2]), 'bucket', tostring(st[3]), 'cur', tostring(cur), 'first', tostring(st[5]),
      's' .. ring, slot .. ':' .. (st[6] + 1))
  else
    redis.call('HSET', b, 'e', tostring(st[1]), 'n', tostring(st[2]), 'bucket', tostring(st[3]), 'cur', tostring(cur), 'first', tostring(st[5]))
  end
  redis.call('PEXPIRE', b, math.floor(math.max(halfLife * 20, window * 2)))
end
if ARGV[9] == '1' and added == 1 then
  for j = 1, T do
    local t = KEYS[1 + D + j]
    redis.call('HINCRBY', t, ARGV[10], 1)
    redis.call('EXPIRE', t, tonumber(ARGV[11]))
  end
end
local hours = {}
for h = 15, #ARGV do hours[#hours + 1] = ARGV[h] end
for j = 1, T do
  local sends = 0
  if #hours > 0 then
    for _, v in ipairs(redis.call('HMGET', KEYS[1 + D + j], unpack(hours))) do
      if v then sends = sends + tonumber(v) end
    end
  end
  out[#out + 1] = tostring(sends)
end
return out
