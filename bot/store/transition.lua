-- The only writer of a connection's state: one atomic step, one round trip.
-- Called by bot.store.connections.ConnectionStore.transition, which checks the
-- arguments and passes the event's rules (from bot.connection.states) as JSON.
--
-- KEYS[1] ce:conn:{id}            the connection hash
-- KEYS[2] ce:conn:{id}:accounts   member accounts (account ID -> JSON)
-- KEYS[3] ce:expiry               open connections by expires_at
-- KEYS[4] ce:audit                the audit stream
-- KEYS[5] ce:jobs:{queue}         only when a job is to be enqueued
-- ARGV[1] JSON request, every value a string unless noted:
--   id, event, actor, system_actor, now, detail,
--   actor_is_approver (bool), allow_self_approval (bool),
--   rules: {from_state: [to_state, role, keeps_expiry (bool), releases_org (bool)]},
--   fields: [name, value, ...]            already checked against model.FIELDS
--   claims_org (bool), org_id             the organization the event claims
--   expires_at: "" (no ttl given) or now + ttl
--   accounts: false (leave as is) or [account_id, json, ...]
--   job: [field, value, ...]              with KEYS[5]
--   view_seen: "" or ce:seen:view:{view_id}, view_ttl (seconds, a number)   the modal submitted, if any
--   org_prefix, org_connections_suffix, conn_prefix, final: {state: true}, audit_maxlen
--   index: {orgs, in_flight, recheck, health_suffix, audit_suffix, audit_keep}   the listing, re-check
--          and audit indexes (indexes.lua)
-- Returns {status, connection hash (flat), holder hash (flat, org_taken only), state before (ok only)}
-- where status is ok | not_found | wrong_state | not_allowed | replayed | org_taken.
-- Every refusal returns before the first write: a refusal changes nothing.

local req = cjson.decode(ARGV[1])
local conn_key = KEYS[1]
local none = {}
local no_state = ''

local function field_of(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end

-- 1. the connection
local current = redis.call('HMGET', conn_key, 'state', 'requester')
local state, requester = current[1], current[2]
if not state then
  return {'not_found', none, none, no_state}
end

-- 2. the rule for (state, event)
local rule = req.rules[state]
if rule == nil then
  return {'wrong_state', redis.call('HGETALL', conn_key), none, no_state}
end
local to_state, role, keeps_expiry, releases_org = rule[1], rule[2], rule[3], rule[4]

-- 3. who may do it
local actor = req.actor
local is_requester = actor == requester
local allowed = false
if role == 'requester' then
  allowed = is_requester
elseif role == 'approver' then
  allowed = req.actor_is_approver and (req.allow_self_approval or not is_requester)
elseif role == 'requester_or_approver' then
  allowed = is_requester or req.actor_is_approver
elseif role == 'system' then
  allowed = actor == req.system_actor
end
if not allowed then
  return {'not_allowed', redis.call('HGETALL', conn_key), none, no_state}
end

-- 4. the modal: a view whose submission a transition already took is a replay (Slack sends a view
-- corrected after a field error with the same ID: a refused submission does not use it up)
if req.view_seen ~= '' and redis.call('EXISTS', req.view_seen) == 1 then
  return {'replayed', redis.call('HGETALL', conn_key), none, no_state}
end

-- 5. the organization: free, held by this connection, or held by a connection that is over
local claim_key = nil
if req.claims_org then
  claim_key = req.org_prefix .. req.org_id
  local holder_id = redis.call('GET', claim_key)
  if holder_id and holder_id ~= req.id then
    local holder = redis.call('HGETALL', req.conn_prefix .. holder_id)
    local holder_state = field_of(holder, 'state')
    if holder_state and not req.final[holder_state] then
      return {'org_taken', redis.call('HGETALL', conn_key), holder, no_state}
    end
    -- a stale claim (holder gone or final): taken over below
  end
end

-- 6. the writes
if req.view_seen ~= '' then
  redis.call('SET', req.view_seen, req.id, 'EX', req.view_ttl)
end
if claim_key then
  redis.call('SET', claim_key, req.id)
  redis.call('ZADD', claim_key .. req.org_connections_suffix, req.now, req.id) -- every connection it had, kept
end

local sets = {'state', to_state, 'updated_at', req.now}
for i = 1, #req.fields do
  sets[#sets + 1] = req.fields[i]
end

if keeps_expiry then
  if req.expires_at ~= '' then
    sets[#sets + 1] = 'expires_at'
    sets[#sets + 1] = req.expires_at
    redis.call('ZADD', KEYS[3], req.expires_at, req.id)
  end
else
  sets[#sets + 1] = 'expires_at'
  sets[#sets + 1] = '0'
  redis.call('ZREM', KEYS[3], req.id)
end

if type(req.accounts) == 'table' then
  sets[#sets + 1] = 'account_count'
  sets[#sets + 1] = ce_replace_accounts(KEYS[2], req.accounts)
end

redis.call('HSET', conn_key, unpack(sets))
ce_listings_changed(req.index)

local org = redis.call('HGET', conn_key, 'org_id') or ''
if releases_org and org ~= '' then
  local org_key = req.org_prefix .. org
  if redis.call('GET', org_key) == req.id then
    redis.call('DEL', org_key)
  end
end
ce_reindex(req.index, conn_key, req.id, req.final)

ce_audit(req.index, KEYS[4], conn_key, req.audit_maxlen, {
  'conn', req.id, 'org', org, 'actor', actor, 'event', req.event,
  'from', state, 'to', to_state, 'at', req.now, 'detail', req.detail})

if KEYS[5] then
  redis.call('XADD', KEYS[5], '*', unpack(req.job))
end

return {'ok', redis.call('HGETALL', conn_key), none, state}
