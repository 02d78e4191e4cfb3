-- GET one item by a random id in 1..BENCH_ROWS.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")
local rows = tonumber(os.getenv("BENCH_ROWS") or "10000")
-- The authenticated configs (omnicrud-jwt, omnicrud-key) send a bearer credential.
local auth = os.getenv("BENCH_AUTHORIZATION")
local headers = auth and { ["Authorization"] = auth } or nil

function request()
  return wrk.format("GET", "/items/" .. math.random(1, rows), headers)
end
