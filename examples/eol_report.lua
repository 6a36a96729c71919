#!/usr/bin/env lua5.4
--- End-of-life report: joins hardware_eol with hardware_eol_bulletins to list, for each device,
-- its product, current and next milestone, and its last date of support, soonest first.
-- Usage: lua5.4 examples/eol_report.lua CUSTOMER_ID
-- Credentials and endpoints: see examples/quickstart.lua.
local cxcloud = require "cxcloud"

local customer_id = arg[1]
if not customer_id then
  io.stderr:write("usage: eol_report.lua CUSTOMER_ID\n")
  os.exit(2)
end

local cx = cxcloud.new {} -- closed by the garbage collector at exit (or cx:close())
local customer = cx:customer(customer_id)

-- Bulletins are a catalogue: fetch each one that the customer's devices reference, once.
local bulletins = {}
local wanted = { "hwEolInstanceId", "bulletinNumber", "lastDateOfSupport" }
for b in customer:hardware_eol_bulletins { fields = wanted } do
  bulletins[tostring(b.hwEolInstanceId)] = b
end

local rows = {}
for device in customer:hardware_eol() do
  local b = bulletins[tostring(device.hwEolInstanceId)] or {}
  rows[#rows + 1] = {
    hw = tostring(device.hwInstanceId), product = device.productId or "?",
    current = device.currentHwEolMilestone or "", next = device.nextHwEolMilestone or "",
    bulletin = b.bulletinNumber or "(no bulletin)", ldos = b.lastDateOfSupport or "unknown",
  }
end
-- ISO dates sort as text; devices whose date is unknown go last.
table.sort(rows, function(a, b)
  if a.ldos ~= b.ldos then
    if a.ldos == "unknown" then return false elseif b.ldos == "unknown" then return true end
    return a.ldos < b.ldos
  end
  return a.hw < b.hw
end)

local fmt = "%-22s %-20s %-14s %-14s %-12s %s"
print(fmt:format("hwInstanceId", "productId", "current", "next", "bulletin", "lastDateOfSupport"))
for _, r in ipairs(rows) do
  print(fmt:format(r.hw, r.product, r.current, r.next, r.bulletin, r.ldos))
end
print(("%d device(s) with end-of-life milestones"):format(#rows))
