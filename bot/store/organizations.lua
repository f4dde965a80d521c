-- Every connection that is not over (open or connected), with its health summary, in one round trip.
-- Called by bot.store.connections.ConnectionStore.live_connections.
--
-- KEYS[1] ce:connections (every connection ID, by creation time)
-- ARGV[1] JSON: {conn_prefix, health_suffix, fields: [name, ...], final: {state: true}}
-- Returns [[field values in the order of `fields`], [health checked_at, health problems]] per connection,
-- oldest first. It walks the whole index (history included): fine for thousands of connections.

local req = cjson.decode(ARGV[1])
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = req.conn_prefix .. id
  local state = redis.call('HGET', key, 'state')
  if state and not req.final[state] then
    out[#out + 1] = {
      redis.call('HMGET', key, unpack(req.fields)),
      redis.call('HMGET', key .. req.health_suffix, 'checked_at', 'problems'),
    }
  end
end
return out
