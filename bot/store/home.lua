-- Who needs their App Home refreshed: once per change of the audit log, for one process only.
-- Called by bot.store.connections.ConnectionStore.claim_home_refresh.
--
-- KEYS[1] ce:audit   KEYS[2] ce:home:refreshed (the audit entry the Homes last showed)   KEYS[3] ce:home:viewers
-- ARGV[1] forget viewers who last opened the Home before this time
-- Returns the viewers' user IDs when the log moved on since the last refresh (and marks it refreshed),
-- else an empty list. Writes nothing when nobody has opened the Home.

local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #last > 0 then
  last_id = last[1][1]
end
if redis.call('GET', KEYS[2]) == last_id then
  return {}
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1])
local viewers = redis.call('ZRANGE', KEYS[3], 0, -1)
redis.call('SET', KEYS[2], last_id)
return viewers
