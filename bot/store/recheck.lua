-- Claim the health re-checks that are due, atomically: each claimed organization gets claimed_at = now
-- and one job, so two bot processes running the scheduler never re-check the same organization twice.
-- Called by bot.store.connections.ConnectionStore.claim_rechecks.
--
-- KEYS[1] ce:connections   KEYS[2] ce:jobs:{queue} of the re-check jobs
-- ARGV[1] JSON: {now, interval, limit, conn_prefix, health_suffix, job_kind}
-- Due: state connected, status active, and max(decided_at, claimed_at) + interval <= now.
-- Returns the claimed connection IDs.

local req = cjson.decode(ARGV[1])
local now, interval = tonumber(req.now), tonumber(req.interval)
local claimed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = req.conn_prefix .. id
  local conn = redis.call('HMGET', key, 'state', 'status', 'decided_at')
  if conn[1] == 'connected' and conn[2] == 'active' then
    local health = key .. req.health_suffix
    local since = math.max(tonumber(conn[3] or '0') or 0, tonumber(redis.call('HGET', health, 'claimed_at') or '0') or 0)
    if since + interval <= now then
      redis.call('HSET', health, 'claimed_at', req.now)
      redis.call('XADD', KEYS[2], '*', 'kind', req.job_kind, 'conn', id, 'requested_by', 'system')
      claimed[#claimed + 1] = id
      if #claimed >= tonumber(req.limit) then
        break
      end
    end
  end
end
return claimed
