-- The connection holding an organization, in one round trip; with ARGV[2] = '1', when none holds it, the
-- last one that did (now in a final state).
-- KEYS[1] ce:org:{org_id}   KEYS[2] ce:org:{org_id}:connections (every connection that claimed it, by when)
-- ARGV[1] the connection key prefix (ce:conn:)
-- Returns the connection's hash (flat), or an empty list.

local id = redis.call('GET', KEYS[1])
if not id and ARGV[2] == '1' then
  id = redis.call('ZREVRANGE', KEYS[2], 0, 0)[1]
end
if not id then
  return {}
end
return redis.call('HGETALL', ARGV[1] .. id)
