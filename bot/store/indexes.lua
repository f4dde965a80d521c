-- The listing and re-check indexes of one connection, kept in step with its hash, its audit index and
-- its member accounts.
-- Prepended (by bot.store.connections) to every script that changes a connection's state, status,
-- org_id or decided_at, or appends to ce:audit, so an index changes in the same atomic script as what
-- it indexes.
--
-- idx = {orgs, in_flight, recheck, listings, health_suffix, audit_suffix, audit_keep} (from the request JSON):
--   orgs       connected organizations, score 0, member "org_id conn_id": ZRANGE by rank is by org ID
--   in_flight  open connections (claimed, not yet connected), scored by created_at
--   recheck    connected, active organizations, scored by max(decided_at, health claimed_at): the time
--              their re-check interval counts from (its ZCARD is the number of active organizations)
--   {conn key}{audit_suffix}  a list: the IDs of the connection's last audit_keep entries in ce:audit,
--              oldest first, so its history is read without scanning ce:audit (ce_audit)
--   listings   the pages organizations.lua answered, kept until the next write (ce_listings_changed)
-- Final states leave every index but the audit index (the history is kept).

-- Every script that can change what a listing shows (a connection's listed fields, its health's
-- checked_at and problems, an index) calls this as it writes: the pages organizations.lua kept are
-- dropped, and the next listing reads its rows again. (recheck.lua, revalidate.lua and notified.lua
-- write only claimed_at, validate_claimed_at and notified, which no listing shows.)
local function ce_listings_changed(idx)
  redis.call('DEL', idx.listings)
end

local function ce_org_member(org, id)
  return (org or '') .. ' ' .. id
end

local function ce_reindex(idx, key, id, final)
  local c = redis.call('HMGET', key, 'state', 'status', 'org_id', 'decided_at', 'created_at')
  local state, status, org, decided_at, created_at = c[1], c[2], c[3], c[4], c[5]
  if not state then
    return
  end
  if state == 'connected' then
    redis.call('ZREM', idx.in_flight, id)
    redis.call('ZADD', idx.orgs, 0, ce_org_member(org, id))
    if status == 'active' then
      -- the score is one of the stored strings (a Lua number would be cut to 14 digits)
      local claimed = redis.call('HGET', key .. idx.health_suffix, 'claimed_at')
      local since = decided_at
      if not tonumber(since or '') then
        since = '0'
      end
      if claimed and (tonumber(claimed) or 0) > (tonumber(since) or 0) then
        since = claimed
      end
      redis.call('ZADD', idx.recheck, since, id)
    else
      redis.call('ZREM', idx.recheck, id)
    end
  elseif final[state] then
    redis.call('ZREM', idx.in_flight, id)
    redis.call('ZREM', idx.orgs, ce_org_member(org, id))
    redis.call('ZREM', idx.recheck, id)
  else
    redis.call('ZADD', idx.in_flight, created_at or '0', id)
  end
end

-- Append one audit entry (fields: [field, value, ...]) to ce:audit, trimmed to about maxlen, and its ID
-- to the connection's audit index. Returns the entry ID.
local function ce_audit(idx, audit_key, conn_key, maxlen, fields)
  local entry_id = redis.call('XADD', audit_key, 'MAXLEN', '~', maxlen, '*', unpack(fields))
  local list = conn_key .. idx.audit_suffix
  redis.call('RPUSH', list, entry_id)
  redis.call('LTRIM', list, -tonumber(idx.audit_keep), -1)
  return entry_id
end

-- Replace the connection's member accounts (accounts: [id, json, ...]); returns their count, as the
-- string its hash's account_count takes.
local function ce_replace_accounts(accounts_key, accounts)
  redis.call('DEL', accounts_key)
  local chunk = 400 -- pairs per HSET: unpack has a stack limit
  for i = 1, #accounts, 2 * chunk do
    redis.call('HSET', accounts_key, unpack(accounts, i, math.min(i + 2 * chunk - 1, #accounts)))
  end
  return tostring(math.floor(#accounts / 2))
end
