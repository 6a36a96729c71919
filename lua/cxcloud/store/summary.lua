--- What changed, per customer, in the terms an operations engineer asks about: devices
-- added and removed, advisories that newly affect devices (and how many of them are
-- rated Critical), coverage gained and lost, devices whose last date of support passed.
-- @module cxcloud.store.summary

local M = {}

--- The summary's columns, in order.
M.COLUMNS = { "customerId", "customerName", "devicesAdded", "devicesRemoved", "advisoriesNew",
  "criticalAdvisoriesNew", "coverageGained", "coverageLost", "pastSupportSince", "changes" }

local function map_of(items, key, value)
  local t = {}
  for _, it in ipairs(items) do
    local k = it[key]
    if k ~= nil then t[tostring(k)] = it[value] end
  end
  return t
end

-- the earliest last date of support of each bulletin
local function ldos_of(items, key)
  local t = {}
  for _, it in ipairs(items) do
    local k, d = it[key], it.lastDateOfSupport
    if k ~= nil and type(d) == "string" and d ~= "" then
      k = tostring(k)
      if t[k] == nil or d < t[k] then t[k] = d end
    end
  end
  return t
end

--- The summary per customer of the changes since `since`.
-- @param db the store
-- @param since a run number or a date `YYYY-MM-DD` (as `db:changes`)
-- @tparam string from the date since which a passed last date of support counts
-- @tparam string today `YYYY-MM-DD`
-- @treturn table array of records (columns `M.COLUMNS`), by customer
function M.build(db, since, from, today)
  local per = {}
  local function rec(cid)
    local r = per[cid]
    if not r then
      r = { customerId = cid, devicesAdded = 0, devicesRemoved = 0, advisoriesNew = 0,
        criticalAdvisoriesNew = 0, coverageGained = 0, coverageLost = 0, pastSupportSince = 0, changes = 0 }
      per[cid] = r
    end
    return r
  end
  local rating = map_of(db:items("security_advisory_bulletins"), "securityAdvisoryInstanceId",
    "securityImpactRating")
  for ch in db:changes { since = since } do
    if ch.customerId ~= "" then
      local r = rec(ch.customerId)
      r.changes = r.changes + 1
      local op, c = ch.operation, ch.change
      if op == "network_elements" then
        if c == "added" then r.devicesAdded = r.devicesAdded + 1 end
        if c == "removed" then r.devicesRemoved = r.devicesRemoved + 1 end
      elseif op == "security_advisories" and c == "added" then
        r.advisoriesNew = r.advisoriesNew + 1
        local id = ch.new and ch.new.securityAdvisoryInstanceId
        if id ~= nil and rating[tostring(id)] == "Critical" then
          r.criticalAdvisoriesNew = r.criticalAdvisoriesNew + 1
        end
      elseif op == "coverage" then
        if c == "added" then r.coverageGained = r.coverageGained + 1 end
        if c == "removed" then r.coverageLost = r.coverageLost + 1 end
      end
    end
  end
  -- devices whose hardware or software passed its last date of support in [from, today)
  local hw = ldos_of(db:items("hardware_eol_bulletins"), "hwEolInstanceId")
  local sw = ldos_of(db:items("software_eol_bulletins"), "swEolInstanceId")
  local customers = {}
  for _, c in ipairs(db:items("customers")) do customers[tostring(c.customerId)] = c.customerName end
  for _, cid in ipairs(db:synced_customers()) do
    local devices = {}
    local function check(items, key, dates)
      for _, it in ipairs(items) do
        local d = dates[tostring(it[key])]
        if d and d >= from and d < today
          and it.neInstanceId ~= nil then devices[tostring(it.neInstanceId)] = true end
      end
    end
    check(db:items("hardware_eol", cid), "hwEolInstanceId", hw)
    check(db:items("software_eol", cid), "swEolInstanceId", sw)
    local n = 0
    for _ in pairs(devices) do n = n + 1 end
    if n > 0 then rec(cid).pastSupportSince = n end
  end
  local out = {}
  for cid, r in pairs(per) do
    r.customerName = customers[cid]
    out[#out + 1] = r
  end
  table.sort(out, function(a, b) return a.customerId < b.customerId end)
  return out
end

return M
