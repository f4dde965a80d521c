-- Renews a consumer's lease on the jobs it runs: resets each entry's idle time, without counting a delivery.
-- An entry another consumer took over meanwhile (its lease had lapsed) is left to it: one owner at a time.
-- KEYS[1]: the stream. ARGV: group, consumer, entry IDs. Returns the IDs now owned by another consumer.
local group, me = ARGV[1], ARGV[2]
local lost = {}
for i = 3, #ARGV do
  local row = redis.call('XPENDING', KEYS[1], group, ARGV[i], ARGV[i], 1)[1]
  if row and row[2] == me then
    redis.call('XCLAIM', KEYS[1], group, me, 0, ARGV[i], 'JUSTID')
  elseif row then
    lost[#lost + 1] = ARGV[i]
  end  -- not pending: acknowledged meanwhile
end
return lost
