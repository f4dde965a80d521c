-- Bookkeeping fields of an existing connection (never state or org_id: checked by the caller).
-- KEYS[1] ce:conn:{id}; ARGV: name, value, ...
-- Returns the whole hash after the update, or an empty list when the connection does not exist.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return redis.call('HGETALL', KEYS[1])
