#!/usr/bin/env lua5.4
--- A pull inside a libuv loop (luv, as in Neovim), next to a 20 ms timer that keeps ticking.
-- The pull runs in a coroutine; the client's `wait` option arms a uv poll handle on
-- cx:pollfd() and a timer for the seconds asked, and yields; whichever fires first
-- resumes the coroutine. Nothing blocks the loop.
-- Credentials and endpoints come from CXCLOUD_* (see quickstart.lua).
-- Usage: lua5.4 examples/luv.lua CUSTOMER_ID
local uv = require "luv"
local cxcloud = require "cxcloud"

local customer_id = assert(arg[1], "usage: luv.lua CUSTOMER_ID")

local readable, alarm, waiter -- the poll handle, its timer, the coroutine waiting

local function wake()
  local co = waiter
  if not co then return end
  waiter = nil
  readable:stop()
  alarm:stop()
  local ok, err = coroutine.resume(co)
  if not ok then error(err, 0) end
end

local cx <close> = cxcloud.new {
  wait = function(_, seconds)
    waiter = coroutine.running()
    readable:start("r", wake)
    if seconds then alarm:start(math.ceil(seconds * 1000), 0, wake) end
    coroutine.yield()
  end,
}
readable, alarm = uv.new_poll(cx:pollfd()), uv.new_timer()

local pulling, rows, ticks, longest = true, 0, 0, 0
local last = uv.hrtime()
local timer = uv.new_timer()
timer:start(20, 20, function() -- the timer: every 20 ms, measures how late it runs
  local now = uv.hrtime()
  if (now - last) / 1e9 > longest then longest = (now - last) / 1e9 end
  last, ticks = now, ticks + 1
  if not pulling then timer:close() end
end)

local pull = coroutine.create(function() -- the pull: ordinary sequential code
  for item in cx:customer(customer_id):hardware() do
    rows = rows + 1
    print(item.hwInstanceId)
  end
  pulling = false
  readable:close()
  alarm:close()
end)
local ok, err = coroutine.resume(pull)
if not ok then error(err, 0) end

uv.run()
if coroutine.status(pull) ~= "dead" then error("the loop ended before the pull", 0) end
print(("rows %d, timer ticks %d, longest gap between ticks %.1f ms"):format(rows, ticks,
  longest * 1000))
