-- Record a health re-check of a connected organization, atomically: the health hash, the member
-- accounts (when they were listed), an audit entry and the announcement job (when something is new).
-- Never touches state or status. Called by bot.store.connections.ConnectionStore.record_health.
--
-- KEYS[1] ce:conn:{id}  KEYS[2] ce:conn:{id}:accounts  KEYS[3] ce:conn:{id}:health  KEYS[4] ce:audit
-- KEYS[5] ce:jobs:{queue} (only with a job)
-- ARGV[1] JSON: {expected_version, fields: [name, value, ...], accounts: false | [id, json, ...],
--                audit: false | [field, value, ...], audit_maxlen, job: false | [field, value, ...],
--                index (indexes.lua: the audit entry goes to the connection's audit index)}
-- Returns {outcome, version}: ok (version is the new one), conflict (another re-check wrote first:
-- version is the current one) or wrong_state (no longer connected). Refusals write nothing.

local req = cjson.decode(ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'connected' then
  return {'wrong_state', 0}
end
local version = tonumber(redis.call('HGET', KEYS[3], 'version') or '0')
if version ~= tonumber(req.expected_version) then
  return {'conflict', version}
end
version = version + 1
redis.call('HSET', KEYS[3], 'version', tostring(version), unpack(req.fields))
ce_listings_changed(req.index)

if type(req.accounts) == 'table' then
  redis.call('HSET', KEYS[1], 'account_count', ce_replace_accounts(KEYS[2], req.accounts))
end
if type(req.audit) == 'table' then
  ce_audit(req.index, KEYS[4], KEYS[1], req.audit_maxlen, req.audit)
end
if type(req.job) == 'table' and KEYS[5] then
  redis.call('XADD', KEYS[5], '*', 'version', tostring(version), unpack(req.job))
end
return {'ok', version}
