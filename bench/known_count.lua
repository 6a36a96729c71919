--- Every page at once when the count is known: one customer of 10,000 hardware rows in 100
-- pages of 100, the sandbox at 10 requests/s and 1,000 ms latency; the same pull without and
-- with `q:count()` first (the count's own call not timed).
--
--    lua5.4 bench/known_count.lua       (LUA_PATH / LUA_CPATH as `make bench` sets them)
--
-- Floor: the last of 100 requests leaves 9.9 s after the first at 10/s and answers 1 s later,
-- 10.9 s; pages / rate is 10 s.
local sandbox = require "cxcloud.sandbox"
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local sb = sandbox.start { hardware = 10000, customers = 1, rate_limit = 10, latency = 1.0 }
local cid = sb.customers[1]
local function pull(with_count)
  local cx = cxcloud.new(sb:client_options { page_size = 100 })
  assert(cx:token())
  local q = cx:hardware { customerId = cid }
  if with_count then assert(q:count()) end
  core.sleep(1.5) -- the gateway's bucket full again, as for a pull without the count
  local t0 = core.now()
  local n0 = cx:stats().requests
  local list = assert(q:all())
  local t = core.now() - t0
  print(with_count and "count known" or "count unknown", #list, "rows", cx:stats().requests - n0,
    "calls", string.format("%.2f s", t), string.format("%.3fx of pages/rate (10.0 s)", t / 10))
  cx:close()
end
pull(false)
pull(true)
sb:stop()
