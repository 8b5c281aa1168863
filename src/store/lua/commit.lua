-- One commit of a message document (DESIGN §6, "one unit of work per job"): an optimistic
-- compare-and-set of the document plus everything that must be written with it, or not at all —
-- the webhook events it causes (outbox), its audit-stream entries and its send-ledger entries. A
-- lost race writes nothing, so an event, an audit line or a ledger mark never exists without the
-- change it describes.
-- KEYS: 1 message, 2 accepted index, 3 outbox, 4 audit stream, 5 watch schedule, 6 watch states,
--       7 stuck index, 8.. ledger keys to SET
-- ARGV: 1 expected version, 2 new document, 3 message id, 4 '1' while the message is still accepted,
--       5 outbox items O, 6 audit entries A, 7 audit MAXLEN, 8 ledger TTL seconds, 9 '1' when the
--       message is now terminal (its watch ends and it leaves the stuck index, in the same step),
--       then O outbox items (JSON), A audit entries (JSON arrays of field, value, …),
--       then one value per ledger key ('' deletes it)
-- Returns the new version (>= 2) when applied, 0 on a version conflict (read again), -1 when the
-- message is missing (expired or never existed).
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
local nv = tonumber(v) + 1
redis.call('HSET', KEYS[1], 'v', nv, 'doc', ARGV[2])
if ARGV[4] ~= '1' then redis.call('ZREM', KEYS[2], ARGV[3]) end
if ARGV[9] == '1' then
  redis.call('ZREM', KEYS[5], ARGV[3])
  redis.call('HDEL', KEYS[6], ARGV[3])
  redis.call('ZREM', KEYS[7], ARGV[3])
end
local O = tonumber(ARGV[5])
local A = tonumber(ARGV[6])
local i = 10
for _ = 1, O do
  redis.call('RPUSH', KEYS[3], ARGV[i])
  i = i + 1
end
for _ = 1, A do
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', unpack(cjson.decode(ARGV[i])))
  i = i + 1
end
for k = 8, #KEYS do
  if ARGV[i] == '' then
    redis.call('DEL', KEYS[k])
  else
    redis.call('SET', KEYS[k], ARGV[i], 'EX', ARGV[8])
  end
  i = i + 1
end
return nv
