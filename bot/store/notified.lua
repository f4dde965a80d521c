-- Remember that health version ARGV[1] of a connection was announced, unless it (or a later one)
-- already was: one round trip, however many workers announce at once.
-- Called by bot.store.connections.ConnectionStore.mark_notified.
--
-- KEYS[1] ce:conn:{id}:health   ARGV[1] the announced version
-- Returns 1 when marked now, 0 when it already was.

if (tonumber(redis.call('HGET', KEYS[1], 'notified') or '0') or 0) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'notified', ARGV[1])
return 1
