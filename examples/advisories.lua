#!/usr/bin/env lua5.4
--- Security advisories per device, with each bulletin's impact rating (Critical first).
-- Joins security_advisories (one row per device x advisory) with security_advisory_bulletins.
-- Usage: lua5.4 examples/advisories.lua CUSTOMER_ID
-- Credentials and endpoints: see examples/quickstart.lua.
local cxcloud = require "cxcloud"

local customer_id = arg[1]
if not customer_id then
  io.stderr:write("usage: advisories.lua CUSTOMER_ID\n")
  os.exit(2)
end

local cx = cxcloud.new {} -- closed by the garbage collector at exit (or cx:close())
local customer = cx:customer(customer_id)

local bulletins = {}
for b in customer:security_advisory_bulletins {
  fields = { "securityAdvisoryInstanceId", "advisoryId", "securityImpactRating", "cveId" } } do
  bulletins[tostring(b.securityAdvisoryInstanceId)] = b
end

local rank = { Critical = 1, High = 2, Medium = 3, Low = 4, Informational = 5 }
local devices, order = {}, {}
for row in customer:security_advisories() do
  local key = tostring(row.neInstanceId)
  if not devices[key] then
    devices[key] = { ne = key, advisories = {}, worst = 6 }
    order[#order + 1] = key
  end
  local d = devices[key]
  local b = bulletins[tostring(row.securityAdvisoryInstanceId)] or {}
  local rating = b.securityImpactRating or "unknown"
  d.advisories[#d.advisories + 1] = { id = b.advisoryId or tostring(row.securityAdvisoryInstanceId),
                                      rating = rating, status = row.vulnerabilityStatus or "" }
  d.worst = math.min(d.worst, rank[rating] or 6)
end
table.sort(order, function(a, b)
  if devices[a].worst ~= devices[b].worst then return devices[a].worst < devices[b].worst end
  return a < b
end)

for _, key in ipairs(order) do
  local d = devices[key]
  table.sort(d.advisories, function(a, b) return (rank[a.rating] or 6) < (rank[b.rating] or 6) end)
  print(("device neInstanceId=%s: %d advisory(ies)"):format(key, #d.advisories))
  for _, a in ipairs(d.advisories) do
    print(("  %-14s %-8s %s"):format(a.rating, a.status, a.id))
  end
end
print(("%d device(s) affected"):format(#order))
