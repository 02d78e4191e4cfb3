-- GET a list: one filter (name prefix, ~1/20 of the rows) + sort + limit 50.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")
local words = {"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
  "India", "Juliet", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo",
  "Sierra", "Tango"}
local extra = os.getenv("BENCH_LIST_QUERY") or "sort=-price&limit=50"

function request()
  local word = words[math.random(1, #words)]
  return wrk.format("GET", "/items?name__startswith=" .. word .. "&" .. extra)
end
