#!/usr/bin/env lua5.4
--- A pull inside a cqueues event loop, next to a 20 ms timer that keeps ticking.
-- The client's `wait` option hands every wait to `cqueues.poll(cx, seconds)`: the client
-- is a pollable object (pollfd, events, timeout), so the loop sleeps on its descriptor
-- and runs the other coroutines meanwhile. Nothing blocks the loop.
-- Credentials and endpoints come from CXCLOUD_* (see quickstart.lua).
-- Usage: lua5.4 examples/cqueues.lua CUSTOMER_ID
local cqueues = require "cqueues"
local cxcloud = require "cxcloud"

local customer_id = assert(arg[1], "usage: cqueues.lua CUSTOMER_ID")

local cx <close> = cxcloud.new {
  wait = function(client, seconds)
    if seconds then cqueues.poll(client, seconds) else cqueues.poll(client) end
  end,
}

local loop = cqueues.new()
local pulling, rows, ticks, longest = true, 0, 0, 0

loop:wrap(function() -- the timer: every 20 ms, measures how late it runs
  local last = cqueues.monotime()
  while pulling do
    cqueues.sleep(0.02)
    local now = cqueues.monotime()
    if now - last > longest then longest = now - last end
    last, ticks = now, ticks + 1
  end
end)

loop:wrap(function() -- the pull: ordinary sequential code
  for item in cx:customer(customer_id):hardware() do
    rows = rows + 1
    print(item.hwInstanceId)
  end
  pulling = false
end)

local ok, err = loop:loop()
if not ok then error(err, 0) end
print(("rows %d, timer ticks %d, longest gap between ticks %.1f ms"):format(rows, ticks,
  longest * 1000))
