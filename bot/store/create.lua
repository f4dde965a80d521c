-- A new connection in state started: hash, indexes, audit entry and optional job, atomically.
-- Called by bot.store.connections.ConnectionStore.create.
--
-- KEYS[1] ce:conn:{id}  KEYS[2] ce:connections  KEYS[3] ce:expiry  KEYS[4] ce:audit
-- KEYS[5] ce:jobs:{queue} (only with a job)
-- ARGV[1] JSON: {id, hash: [name, value, ...], created_at, expires_at,
--                audit: [field, value, ...], audit_maxlen, job: [field, value, ...],
--                index: {in_flight, audit_suffix, audit_keep, ...} (indexes.lua: a new connection is
--                in flight; its audit entry goes to its audit index)}
-- Returns 1, or 0 (and writes nothing) when the ID is already taken.

local req = cjson.decode(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(req.hash))
ce_listings_changed(req.index)
redis.call('ZADD', KEYS[2], req.created_at, req.id)
redis.call('ZADD', KEYS[3], req.expires_at, req.id)
redis.call('ZADD', req.index.in_flight, req.created_at, req.id)
ce_audit(req.index, KEYS[4], KEYS[1], req.audit_maxlen, req.audit)
if KEYS[5] then
  redis.call('XADD', KEYS[5], '*', unpack(req.job))
end
return 1
