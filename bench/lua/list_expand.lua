-- GET 50 posts by id from a random start, each with its owner embedded (expand=owner).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")

function request()
  local after = math.random(0, 1950)
  return wrk.format("GET", "/posts?id__gt=" .. after .. "&limit=50&expand=owner")
end
