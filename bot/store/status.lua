-- The Status toggle of a connected organization (active <-> inactive), atomically, with its audit
-- entry and the job that announces it. Member accounts follow the organization: nothing per account.
-- Called by bot.store.connections.ConnectionStore.set_status.
--
-- KEYS[1] ce:audit   KEYS[2] ce:jobs:{queue} of the announcement
-- ARGV[1] JSON: {conn_id, org_id, org_prefix, conn_prefix, status, event, actor, actor_is_approver (bool),
--                now, audit_maxlen, job_kind, final, index (indexes.lua: the re-check index follows the status;
--                the audit entry goes to the connection's audit index)}
--   The connection is conn_id, or (when org_id is set) the one holding org_id.
-- Returns {outcome, connection hash (flat), status before ('' but when ok)}: outcome is
-- ok | unchanged | not_found | not_allowed | wrong_state.
-- Every outcome but ok returns before the first write.

local req = cjson.decode(ARGV[1])
local id = req.conn_id
if req.org_id ~= '' then
  id = redis.call('GET', req.org_prefix .. req.org_id)
  if not id then
    return {'not_found', {}, ''}
  end
end
local key = req.conn_prefix .. id
local state = redis.call('HGET', key, 'state')
if not state then
  return {'not_found', {}, ''}
end
if req.org_id ~= '' and redis.call('HGET', key, 'org_id') ~= req.org_id then
  return {'not_found', {}, ''}
end
if not req.actor_is_approver then
  return {'not_allowed', redis.call('HGETALL', key), ''}
end
if state ~= 'connected' then
  return {'wrong_state', redis.call('HGETALL', key), ''}
end
local current = redis.call('HGET', key, 'status') or ''
if current == req.status then
  return {'unchanged', redis.call('HGETALL', key), ''}
end

redis.call('HSET', key, 'status', req.status, 'updated_at', req.now)
ce_listings_changed(req.index)
ce_reindex(req.index, key, id, req.final)
local org = redis.call('HGET', key, 'org_id') or ''
ce_audit(req.index, KEYS[1], key, req.audit_maxlen, {
  'conn', id, 'org', org, 'actor', req.actor, 'event', req.event,
  'from', current, 'to', req.status, 'at', req.now, 'detail', 'member accounts follow'})
redis.call('XADD', KEYS[2], '*', 'kind', req.job_kind, 'conn', id, 'actor', req.actor, 'status', req.status)
return {'ok', redis.call('HGETALL', key), current}
