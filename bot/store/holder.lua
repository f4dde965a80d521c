-- The connection holding an organization, in one round trip.
-- KEYS[1] ce:org:{org_id}; ARGV[1] the connection key prefix (ce:conn:)
-- Returns the holder's hash (flat), or an empty list.

local id = redis.call('GET', KEYS[1])
if not id then
  return {}
end
return redis.call('HGETALL', ARGV[1] .. id)
