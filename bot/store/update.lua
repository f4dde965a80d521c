-- Bookkeeping fields of an existing connection (never state or org_id: checked by the caller).
-- KEYS[1] ce:conn:{id}; ARGV[1] JSON {id, final, index} (indexes.lua: status and decided_at move the
-- re-check index); ARGV[2..]: name, value, ...
-- Returns the whole hash after the update, or an empty list when the connection does not exist.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local req = cjson.decode(ARGV[1])
local sets = {unpack(ARGV, 2)}
redis.call('HSET', KEYS[1], unpack(sets))
ce_listings_changed(req.index)
for i = 1, #sets, 2 do
  if sets[i] == 'status' or sets[i] == 'decided_at' then
    ce_reindex(req.index, KEYS[1], req.id, req.final)
    break
  end
end
return redis.call('HGETALL', KEYS[1])
