-- Claim the validations that look lost, atomically: a connection in validating since (updated_at, or the
-- last claim) at least `stuck_after` ago, whose `validate` job died (dead-lettered after its attempts), gets
-- validate_claimed_at = now and one new job, so two bot processes running the scheduler never re-enqueue
-- the same connection twice in one period. The handler checks the state first: a late job does nothing.
-- Called by bot.store.connections.ConnectionStore.claim_stuck_validations.
--
-- KEYS[1] ce:in_flight (open connections by created_at: indexes.lua)   KEYS[2] ce:jobs:{queue} (validate)
-- ARGV[1] JSON: {now, due (now - stuck_after), limit, conn_prefix, job_kind}
-- Reads only the connections in flight created by `due` (created_at <= updated_at), never the history.
-- Returns the claimed connection IDs, the oldest first.

local req = cjson.decode(ARGV[1])
local due, limit = tonumber(req.due), tonumber(req.limit)
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', req.due)) do
  if #claimed >= limit then
    break
  end
  local key = req.conn_prefix .. id
  local c = redis.call('HMGET', key, 'state', 'updated_at', 'validate_claimed_at')
  if c[1] == 'validating' and math.max(tonumber(c[2] or '') or 0, tonumber(c[3] or '') or 0) <= due then
    redis.call('HSET', key, 'validate_claimed_at', req.now)
    redis.call('XADD', KEYS[2], '*', 'kind', req.job_kind, 'conn', id, 'requested_by', 'system')
    claimed[#claimed + 1] = id
  end
end
return claimed
