--- The report: one record per network element of a customer, joined from ten
-- operations (pulled concurrently with `cx:map`, or read from a store):
--
--    neInstanceId, hostname, ipAddress, productId, swVersion   network_elements
--    covered              "yes" / "no" / "partial": of the element's hardware rows
--                         (hardware.neInstanceId), how many have their serialNumber in
--                         coverage; none under contract ("no" too for an element without
--                         hardware rows), all, or some
--    hwLastDateOfSupport  the earliest lastDateOfSupport of the hardware_eol_bulletins that
--                         the element's hardware_eol rows name (hwEolInstanceId)
--    swLastDateOfSupport  the same for software_eol / software_eol_bulletins (swEolInstanceId)
--    advisories           security_advisories rows naming the element (neInstanceId)
--    criticalAdvisories   those whose bulletin (securityAdvisoryInstanceId) is rated Critical
--    fieldNotices         field_notices rows naming the element
--
-- `sort_attention` orders records so that what needs attention comes first; `totals` sums
-- them per customer.
-- @module cxcloud.report

local M = {}

--- The report's columns, in order.
M.COLUMNS = { "neInstanceId", "hostname", "ipAddress", "productId", "swVersion", "covered",
  "hwLastDateOfSupport", "swLastDateOfSupport", "advisories", "criticalAdvisories", "fieldNotices" }

--- The totals' columns, in order.
M.TOTAL_COLUMNS = { "customerId", "devices", "notCovered", "partiallyCovered",
  "pastLastDateOfSupport", "advisories", "criticalAdvisories", "fieldNotices" }

-- what each join pulls: operation and the fields it needs
local PULLS = {
  { "network_elements", { "neInstanceId", "hostname", "ipAddress", "productId", "swVersion" } },
  { "hardware", { "neInstanceId", "hwInstanceId", "serialNumber" } },
  { "coverage", { "serialNumber" } },
  { "hardware_eol", { "neInstanceId", "hwInstanceId", "hwEolInstanceId" } },
  { "hardware_eol_bulletins", { "hwEolInstanceId", "lastDateOfSupport" } },
  { "software_eol", { "neInstanceId", "swEolInstanceId" } },
  { "software_eol_bulletins", { "swEolInstanceId", "lastDateOfSupport" } },
  { "security_advisories", { "neInstanceId", "securityAdvisoryInstanceId" } },
  { "security_advisory_bulletins", { "securityAdvisoryInstanceId", "securityImpactRating" } },
  { "field_notices", { "neInstanceId" } },
}
M.PULLS = PULLS

local function key(v)
  if v == nil then return nil end
  return tostring(v)
end

local function earliest(a, b)
  if type(b) ~= "string" or b == "" then return a end
  if a == nil or b < a then return b end
  return a
end

--- Join the pulled lists (name -> items) into report records, in network-element order.
-- @tparam table lists operation name -> array of items
-- @treturn {table,...} records
function M.join(lists)
  local by_ne, records = {}, {}
  for i, ne in ipairs(lists.network_elements) do
    local r = {
      neInstanceId = key(ne.neInstanceId), hostname = ne.hostname, ipAddress = ne.ipAddress,
      productId = ne.productId, swVersion = ne.swVersion,
      advisories = 0, criticalAdvisories = 0, fieldNotices = 0, _hw = 0, _covered = 0,
    }
    records[i] = r
    if r.neInstanceId then by_ne[r.neInstanceId] = r end
  end
  local covered = {}
  for _, c in ipairs(lists.coverage) do
    if c.serialNumber then covered[c.serialNumber] = true end
  end
  local ne_of_hw = {}
  for _, hw in ipairs(lists.hardware) do
    local r = by_ne[key(hw.neInstanceId)]
    if hw.hwInstanceId then ne_of_hw[key(hw.hwInstanceId)] = r end
    if r then
      r._hw = r._hw + 1
      if hw.serialNumber and covered[hw.serialNumber] then r._covered = r._covered + 1 end
    end
  end
  local function dates(bulletins, id_field)
    local t = {}
    for _, b in ipairs(bulletins) do
      local id = key(b[id_field])
      if id then t[id] = earliest(t[id], b.lastDateOfSupport) end
    end
    return t
  end
  local hw_ldos = dates(lists.hardware_eol_bulletins, "hwEolInstanceId")
  for _, e in ipairs(lists.hardware_eol) do
    local r = by_ne[key(e.neInstanceId)] or ne_of_hw[key(e.hwInstanceId)]
    if r then
      r.hwLastDateOfSupport = earliest(r.hwLastDateOfSupport, hw_ldos[key(e.hwEolInstanceId)])
    end
  end
  local sw_ldos = dates(lists.software_eol_bulletins, "swEolInstanceId")
  for _, e in ipairs(lists.software_eol) do
    local r = by_ne[key(e.neInstanceId)]
    if r then
      r.swLastDateOfSupport = earliest(r.swLastDateOfSupport, sw_ldos[key(e.swEolInstanceId)])
    end
  end
  local rating = {}
  for _, b in ipairs(lists.security_advisory_bulletins) do
    local id = key(b.securityAdvisoryInstanceId)
    if id then rating[id] = b.securityImpactRating end
  end
  for _, a in ipairs(lists.security_advisories) do
    local r = by_ne[key(a.neInstanceId)]
    if r then
      r.advisories = r.advisories + 1
      if rating[key(a.securityAdvisoryInstanceId)] == "Critical" then
        r.criticalAdvisories = r.criticalAdvisories + 1
      end
    end
  end
  for _, f in ipairs(lists.field_notices) do
    local r = by_ne[key(f.neInstanceId)]
    if r then r.fieldNotices = r.fieldNotices + 1 end
  end
  for _, r in ipairs(records) do
    r.covered = (r._covered == 0 and "no") or (r._covered == r._hw and "yes") or "partial"
    r._hw, r._covered = nil, nil
  end
  return records
end

--- Pull what the report needs for one customer (concurrently) and join it.
-- @param cx client
-- @tparam string customer_id
-- @treturn {table,...}|nil records
-- @return err (an error object) when a pull failed
function M.build(cx, customer_id)
  local view = cx:customer(customer_id)
  local results, errs = cx:map(PULLS, function(pull)
    local list, err = view[pull[1]](view, { fields = pull[2] }):all()
    if not list and err.kind == "http" and err.status == 400 then
      -- v2 may name a field differently than v1 did: the whole items then
      list, err = view[pull[1]](view):all()
    end
    if not list then error(err, 0) end
    return list
  end)
  if errs then
    for i = 1, #PULLS do
      if errs[i] ~= nil then return nil, errs[i] end
    end
  end
  local lists = {}
  for i, pull in ipairs(PULLS) do lists[pull[1]] = results[i] end
  return M.join(lists)
end

--- Is a record past a last date of support (hardware or software) on `today`?
-- @tparam table r
-- @tparam string today "YYYY-MM-DD"
-- @treturn boolean
function M.past(r, today)
  return (r.hwLastDateOfSupport ~= nil and r.hwLastDateOfSupport < today)
    or (r.swLastDateOfSupport ~= nil and r.swLastDateOfSupport < today)
end

local COVER_RANK = { no = 0, partial = 1, yes = 2 }

--- Sort records so that what needs attention comes first: past last date of support,
-- then not covered (no, partial, yes), then most critical advisories, most advisories,
-- the earliest last date of support, most field notices, and host name.
-- @tparam {table,...} records
-- @tparam string today
function M.sort_attention(records, today)
  local function soonest(r)
    return earliest(earliest(nil, r.hwLastDateOfSupport), r.swLastDateOfSupport) or "9999"
  end
  table.sort(records, function(a, b)
    local pa, pb = M.past(a, today), M.past(b, today)
    if pa ~= pb then return pa end
    local ca, cb = COVER_RANK[a.covered] or 3, COVER_RANK[b.covered] or 3
    if ca ~= cb then return ca < cb end
    if a.criticalAdvisories ~= b.criticalAdvisories then
      return a.criticalAdvisories > b.criticalAdvisories
    end
    if a.advisories ~= b.advisories then return a.advisories > b.advisories end
    local sa, sb = soonest(a), soonest(b)
    if sa ~= sb then return sa < sb end
    if a.fieldNotices ~= b.fieldNotices then return a.fieldNotices > b.fieldNotices end
    local ha, hb = a.hostname or "", b.hostname or ""
    if ha ~= hb then return ha < hb end
    return (a.neInstanceId or "") < (b.neInstanceId or "")
  end)
end

--- Totals of one customer's records.
-- @tparam string customer_id
-- @tparam {table,...} records
-- @tparam string today
-- @treturn table
function M.totals(customer_id, records, today)
  local t = { customerId = customer_id, devices = #records, notCovered = 0, partiallyCovered = 0,
    pastLastDateOfSupport = 0, advisories = 0, criticalAdvisories = 0, fieldNotices = 0 }
  for _, r in ipairs(records) do
    if r.covered == "no" then t.notCovered = t.notCovered + 1 end
    if r.covered == "partial" then t.partiallyCovered = t.partiallyCovered + 1 end
    if M.past(r, today) then t.pastLastDateOfSupport = t.pastLastDateOfSupport + 1 end
    t.advisories = t.advisories + r.advisories
    t.criticalAdvisories = t.criticalAdvisories + r.criticalAdvisories
    t.fieldNotices = t.fieldNotices + r.fieldNotices
  end
  return t
end

return M
