-- One page of the organizations (connected ones by organization ID, then the connections in flight,
-- oldest first) with the counts the list shows, in one round trip. Reads the indexes of indexes.lua
-- and the page's rows only: the cost grows with the page, not with the number of connections.
-- Called by bot.store.connections.ConnectionStore.listing.
--
-- KEYS[1] ce:orgs   KEYS[2] ce:in_flight   KEYS[3] ce:recheck (its size: the active organizations)
-- KEYS[4] ce:listings: the pages answered since the last write (indexes.lua's ce_listings_changed
--         drops them), by request, so the same page asked again is one HGET, not 40 HMGETs
-- ARGV[1] JSON: {conn_prefix, health_suffix, fields: [name, ...], page, page_size (<= 0: everything),
--                around (a connection ID whose page to show, or ""), in_flight_all (bool),
--                keep_for (seconds the kept pages live at most: a ce-bot older than this script, in a
--                rolling deploy, writes without dropping them)}
-- A page is kept unless it is asked `around` a connection (one per connection) or with every
-- connection in flight (the App Home's, which can be megabytes).
-- Returns, as JSON, [page (clamped to the last), connected, active, in_flight, rows, in_flight_rows],
-- each row [[field values in the order of `fields`, false where missing], [health checked_at,
-- health problems]]; in_flight_rows holds every connection in flight when in_flight_all, else
-- nothing. One string, not nested arrays: Redis 6 writes a script's every nested array as a write of
-- its own (a page of 20 rows took 52 writes, each waking the reader), a string in one.

local req = cjson.decode(ARGV[1])
local keep = req.around == '' and not req.in_flight_all
if keep then
  local kept = redis.call('HGET', KEYS[4], ARGV[1])
  if kept then
    return kept
  end
end
local connected = redis.call('ZCARD', KEYS[1])
local active = redis.call('ZCARD', KEYS[3])
local in_flight = redis.call('ZCARD', KEYS[2])
local total = connected + in_flight

local function row(id)
  local key = req.conn_prefix .. id
  return {redis.call('HMGET', key, unpack(req.fields)), redis.call('HMGET', key .. req.health_suffix, 'checked_at', 'problems')}
end

local page, size = tonumber(req.page) or 0, tonumber(req.page_size) or 0
if size <= 0 then
  size, page = math.max(total, 1), 0
end
if req.around ~= '' then
  local rank = nil
  local org = redis.call('HGET', req.conn_prefix .. req.around, 'org_id')
  if org then
    rank = redis.call('ZRANK', KEYS[1], org .. ' ' .. req.around)
  end
  if not rank then
    rank = redis.call('ZRANK', KEYS[2], req.around)
    if rank then
      rank = connected + rank
    end
  end
  page = rank and math.floor(rank / size) or 0
end
local pages = math.max(1, math.ceil(total / size))
page = math.min(math.max(0, page), pages - 1)

local rows = {}
local first, last = page * size, page * size + size - 1
if first < connected then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], first, math.min(last, connected - 1))) do
    rows[#rows + 1] = row(string.sub(member, string.find(member, ' ', 1, true) + 1))
  end
end
if last >= connected and in_flight > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], math.max(0, first - connected), last - connected)) do
    rows[#rows + 1] = row(id)
  end
end

local all = {}
if req.in_flight_all then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    all[#all + 1] = row(id)
  end
end
local reply = cjson.encode({page, connected, active, in_flight, rows, all})
if keep then
  redis.call('HSET', KEYS[4], ARGV[1], reply)
  if redis.call('TTL', KEYS[4]) < 0 then
    redis.call('EXPIRE', KEYS[4], req.keep_for)
  end
end
return reply
