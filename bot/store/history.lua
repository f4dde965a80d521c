-- One connection's audit entries, read through its audit index (indexes.lua), never by scanning ce:audit.
-- Called by bot.store.connections.ConnectionStore.history.
--
-- KEYS[1] ce:conn:{id}:audit (the connection's audit entry IDs, oldest first)   KEYS[2] ce:audit
-- Returns false when the index does not exist (a connection recorded before it: the caller scans),
-- else {{entry_id, {field, value, ...}}, ...} oldest first; entries trimmed from ce:audit are skipped.

local ids = redis.call('LRANGE', KEYS[1], 0, -1)
if #ids == 0 then
  return false -- a list is never empty: every connection has its start entry once the index exists
end
local entries = {}
for _, entry_id in ipairs(ids) do
  local found = redis.call('XRANGE', KEYS[2], entry_id, entry_id)
  if #found > 0 then
    entries[#entries + 1] = found[1]
  end
end
return entries
