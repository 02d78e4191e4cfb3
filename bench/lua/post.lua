-- POST one new item.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")
local headers = {["Content-Type"] = "application/json"}
local n = 0

function request()
  n = n + 1
  local body = string.format(
    '{"name": "Zulu bench %d", "description": "posted by wrk", "price": %s}', n, common.price())
  return wrk.format("POST", "/items", headers, body)
end
