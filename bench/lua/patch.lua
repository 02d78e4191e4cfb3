-- PATCH the price of a random item (JSON Merge Patch). BENCH_UPDATE=put sends a full PUT
-- instead, for routers without PATCH (keeping the loaded name, see harness/load.py).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local words = {"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
  "India", "Juliet", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo",
  "Sierra", "Tango"}
local rows = tonumber(os.getenv("BENCH_ROWS") or "10000")
local put = os.getenv("BENCH_UPDATE") == "put"
local headers = {["Content-Type"] = put and "application/json" or "application/merge-patch+json"}

function request()
  local id = math.random(1, rows)
  if put then
    local body = string.format(
      '{"name": "%s item %d", "description": "put by wrk", "price": %s}',
      words[id % #words + 1], id, common.price())
    return wrk.format("PUT", "/items/" .. id, headers, body)
  end
  return wrk.format("PATCH", "/items/" .. id, headers, '{"price": ' .. common.price() .. '}')
end
