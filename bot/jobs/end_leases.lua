-- Ends the leases of a consumer known to be dead: its pending entries pass to another consumer as if their
-- lease had run out (idle for a lease), so the next XAUTOCLAIM runs them again and counts the delivery.
-- The dead consumer is forgotten once it holds nothing. Several workers may do this at once: the entries
-- are read and moved in one script, so each passes once.
-- KEYS[1]: the stream. ARGV: group, dead consumer, new owner, lease in ms. Returns how many entries passed.
local group, dead, owner, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local batch = 100
local rows = redis.call('XPENDING', KEYS[1], group, '-', '+', batch, dead)
if #rows > 0 then
  local claim = {'XCLAIM', KEYS[1], group, owner, 0}
  for _, row in ipairs(rows) do claim[#claim + 1] = row[1] end
  claim[#claim + 1] = 'IDLE'
  claim[#claim + 1] = lease
  claim[#claim + 1] = 'JUSTID'
  redis.call(unpack(claim))
end
if #rows < batch then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, dead)
end
return #rows
