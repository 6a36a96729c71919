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
-- Seven of the operations are per customer; the three bulletin catalogues are the same for
-- every customer, so `build_many` pulls them once for all customers: a report costs, per
-- customer, one call per operation and page (7 while each holds at most a page of rows),
-- plus the catalogues once (3, one page each).
--
-- `sort_attention` orders records so that what needs attention comes first; `totals` sums
-- them per customer; `today` is the date "past last date of support" compares with.
-- @module cxcloud.report

local M = {}

--- The report's columns, in order.
M.COLUMNS = { "neInstanceId", "hostname", "ipAddress", "productId", "swVersion", "covered",
  "hwLastDateOfSupport", "swLastDateOfSupport", "advisories", "criticalAdvisories", "fieldNotices" }

--- The totals' columns, in order.
M.TOTAL_COLUMNS = { "customerId", "customerName", "devices", "notCovered", "partiallyCovered",
  "pastLastDateOfSupport", "advisories", "criticalAdvisories", "fieldNotices" }

--- The operations pulled per customer: operation and the fields the join needs.
M.PER_CUSTOMER = {
  { "network_elements", { "neInstanceId", "hostname", "ipAddress", "productId", "swVersion" } },
  { "hardware", { "neInstanceId", "hwInstanceId", "serialNumber" } },
  { "coverage", { "serialNumber" } },
  { "hardware_eol", { "neInstanceId", "hwInstanceId", "hwEolInstanceId" } },
  { "software_eol", { "neInstanceId", "swEolInstanceId" } },
  { "security_advisories", { "neInstanceId", "securityAdvisoryInstanceId" } },
  { "field_notices", { "neInstanceId" } },
}

--- The bulletin catalogues: the same for every customer, pulled once.
M.CATALOGUES = {
  { "hardware_eol_bulletins", { "hwEolInstanceId", "lastDateOfSupport" } },
  { "software_eol_bulletins", { "swEolInstanceId", "lastDateOfSupport" } },
  { "security_advisory_bulletins", { "securityAdvisoryInstanceId", "securityImpactRating" } },
}

--- Every pull of the join (per customer, then the catalogues).
M.PULLS = {}
for _, list in ipairs { M.PER_CUSTOMER, M.CATALOGUES } do
  for _, pull in ipairs(list) do M.PULLS[#M.PULLS + 1] = pull end
end

local function is_400(err)
  return type(err) == "table" and err.kind == "http" and err.status == 400
end

--- Every item of operation `op` on `target` (a client or a customer view), asking only for
-- `fields`; when the API refuses them (a 400: v2 may name a field differently than v1
-- did), the whole items.
-- @param target client or customer view
-- @tparam string op
-- @tparam[opt] {string,...} fields
-- @tparam[opt] table params filters
-- @treturn table|nil items
-- @return err
function M.pull(target, op, fields, params)
  local p = {}
  for k, v in pairs(params or {}) do p[k] = v end
  p.fields = fields
  local list, err = target[op](target, p):all()
  if not list and fields and is_400(err) then
    p.fields = nil
    list, err = target[op](target, p):all()
  end
  return list, err
end

--- Every item of a bulletin catalogue, pulled once for every customer: without a
-- customerId (the catalogues are global, as the store keeps them), or, when the service
-- refuses that (a 400: v2 may require customerId there), through the view of `customer`.
-- @param cx client
-- @tparam string op
-- @tparam[opt] {string,...} fields
-- @tparam[opt] string customer a customerId for the second try
-- @tparam[opt] table params filters
-- @treturn table|nil items
-- @return err
function M.pull_catalogue(cx, op, fields, customer, params)
  local list, err = M.pull(cx, op, fields, params)
  if not list and customer and is_400(err) then
    list, err = M.pull(cx:customer(customer), op, fields, params)
  end
  return list, err
end

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

-- the report's lists of one customer: its own pulls plus the shared catalogues
local function lists_of(per_customer, catalogues)
  local lists = {}
  for k, v in pairs(per_customer) do lists[k] = v end
  for k, v in pairs(catalogues) do lists[k] = v end
  return lists
end

--- Pull what the report needs for several customers, concurrently (`cx:map`), the
-- catalogues once for all of them, and join it per customer.
-- @param cx client
-- @tparam {string,...} ids customerIds
-- @tparam[opt] boolean partial a customer whose own pull failed is left out (its entry nil)
--   instead of failing the whole; a catalogue's failure still fails it
-- @treturn {{table,...},...}|nil the records of each customer, in the order of `ids`
-- @return err (an error object) when a pull failed, with `customerId` set for a
--   customer's own pull; with `partial`, the list of `{customerId, err}` that failed
function M.build_many(cx, ids, partial)
  local tasks = {}
  for _, pull in ipairs(M.CATALOGUES) do tasks[#tasks + 1] = { pull = pull } end
  for _, id in ipairs(ids) do
    for _, pull in ipairs(M.PER_CUSTOMER) do tasks[#tasks + 1] = { pull = pull, id = id } end
  end
  local results, errs = cx:map(tasks, function(t)
    local list, err
    if t.id then
      list, err = M.pull(cx:customer(t.id), t.pull[1], t.pull[2])
    else
      list, err = M.pull_catalogue(cx, t.pull[1], t.pull[2], ids[1])
    end
    if not list then error(err, 0) end
    return list
  end)
  local failed, lost = {}, {}
  if errs then
    for i = 1, #tasks do
      local err, id = errs[i], tasks[i].id
      if err ~= nil then
        if type(err) == "table" and id then err.customerId = id end
        if not (partial and id) then return nil, err end
        if not lost[id] then
          lost[id] = true
          failed[#failed + 1] = { id, err }
        end
      end
    end
  end
  local catalogues, own = {}, {}
  for i, t in ipairs(tasks) do
    if t.id then
      own[t.id] = own[t.id] or {}
      own[t.id][t.pull[1]] = results[i]
    else
      catalogues[t.pull[1]] = results[i]
    end
  end
  local out = {}
  for i, id in ipairs(ids) do
    if not lost[id] then out[i] = M.join(lists_of(own[id], catalogues)) end
  end
  return out, partial and failed or nil
end

--- Pull what the report needs for one customer (concurrently) and join it.
-- @param cx client
-- @tparam string customer_id
-- @treturn {table,...}|nil records
-- @return err (an error object) when a pull failed
function M.build(cx, customer_id)
  local all, err = M.build_many(cx, { customer_id })
  if not all then return nil, err end
  return all[1]
end

--- The date "past last date of support" compares with by default: `CXCLOUD_TODAY` when
-- set (a sandbox's environment sets it to the sandbox's own `today`, so that its data and
-- the report agree on any date), else today in UTC.
-- @treturn string|nil "YYYY-MM-DD"
-- @treturn string|nil why not (CXCLOUD_TODAY is not a date)
function M.today()
  local env = os.getenv("CXCLOUD_TODAY")
  if env and env ~= "" then
    if not M.is_date(env) then
      return nil, string.format("CXCLOUD_TODAY expects a date YYYY-MM-DD, got '%s'", env)
    end
    return env
  end
  return os.date("!%Y-%m-%d")
end

--- Is `s` a date "YYYY-MM-DD" (a real one: month 1-12, day within the month)?
-- @param s
-- @treturn boolean
function M.is_date(s)
  if type(s) ~= "string" then return false end
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 then return false end
  local days = { 31, (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28,
    31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  return d <= days[m]
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
-- @tparam[opt] string customer_name
-- @treturn table
function M.totals(customer_id, records, today, customer_name)
  local t = { customerId = customer_id, customerName = customer_name, devices = #records,
    notCovered = 0, partiallyCovered = 0,
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
