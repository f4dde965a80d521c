-- Claim the health re-checks that are due, atomically: each claimed organization gets claimed_at = now
-- and one job, so two bot processes running the scheduler never re-check the same organization twice.
-- Called by bot.store.connections.ConnectionStore.claim_rechecks.
--
-- KEYS[1] ce:recheck (connected, active organizations by max(decided_at, claimed_at): indexes.lua)
-- KEYS[2] ce:jobs:{queue} of the re-check jobs
-- ARGV[1] JSON: {now, due (now - interval), limit, conn_prefix, health_suffix, job_kind}
-- Due: a score <= due. Reads only the organizations claimed (O(log n + limit)), never the history.
-- Returns the claimed connection IDs, the longest due first.

local req = cjson.decode(ARGV[1])
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', req.due, 'LIMIT', 0, tonumber(req.limit))) do
  redis.call('HSET', req.conn_prefix .. id .. req.health_suffix, 'claimed_at', req.now)
  redis.call('ZADD', KEYS[1], req.now, id)
  redis.call('XADD', KEYS[2], '*', 'kind', req.job_kind, 'conn', id, 'requested_by', 'system')
  claimed[#claimed + 1] = id
end
return claimed
