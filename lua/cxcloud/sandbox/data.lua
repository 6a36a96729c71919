--- Deterministic data generator for the sandbox.
--
-- A dataset is a pure function of the normalised options (seed, sizes, id style) plus
-- the list of additions made since (drift). Rows are produced by index on demand, so
-- serving a page of a 1,000,000-row inventory costs the same as serving a page of a
-- 40-row one.
--
-- Model. Each customer has `models` device templates (a product family, a chassis
-- PID with modules, power supplies and fans, a software version, a site). Device `j`
-- uses template `j % models`; its components are consecutive hardware rows. One pass
-- over the templates (a "cycle" of `Q` hardware rows) therefore repeats with new
-- serial numbers, IDs, host names and addresses. Every other per-customer operation is
-- a list of "entries" anchored on a hardware row of the cycle:
--
--   network_elements     one per device (anchored on its chassis)
--   coverage/not_covered each hardware row is in exactly one of them (by serialNumber)
--   field_notices        per component and field notice of its PID
--   hardware_eol         per component whose PID has an EoL bulletin
--   software_eol         per device whose software train has an EoL bulletin
--   security_advisories  per device and advisory affecting its software version
--
-- so an operation's row count up to hardware index x is `(x // Q) * A + cum[x % Q]`
-- and its k-th row is found in O(1). A customer's hardware spans the indexes
-- [lo, hi) (lo = 0 and hi = `hardware` at start); additions move hi up (rows appended)
-- or lo down (whole devices prepended), and all operations follow consistently.
-- @module cxcloud.sandbox.data

local rng = require "cxcloud.sandbox.rng"
local catalog = require "cxcloud.sandbox.catalog"
local ops = require "cxcloud.sandbox.ops"
local config = require "cxcloud.sandbox.config"

local h, below, pick, unit, chars = rng.h, rng.below, rng.pick, rng.unit, rng.chars
local fmt, concat = string.format, table.concat

local data = {}

--- Sentinel for a JSON null value in a generated row.
local NULL = setmetatable({}, {
  __name = "cxcloud.sandbox.null",
  __tostring = function() return "null" end,
})
data.NULL = NULL

-- hash salts, one per purpose
local S_CUST, S_TPL, S_COV, S_SERIAL, S_DEV, S_ROW, S_CONTRACT, S_FN, S_SA, S_PID =
  101, 102, 103, 104, 105, 106, 107, 108, 109, 110

local M_SERIAL = 36 * 36 * 36 * 36 * 416 -- serial bijection modulus: 4 base-36 chars, 8 years x 52 weeks

-------------------------------------------------------------------------------
-- IDs

-- index from the last 15 digits of a big ID ("...%015d" of index + 500000000)
local function big_inv(prefix)
  return function(ci, v)
    local tail = v:match("^" .. prefix .. fmt("%04d", ci) .. "(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d)$")
    return tail and math.tointeger(tonumber(tail)) - 500000000 or nil
  end
end

-- index from an integer ID: value - base(ci)
local function int_inv(base)
  return function(ci, v)
    local n = v:match("^%d+$") and #v <= 19 and math.tointeger(tonumber(v))
    return n and n - base(ci) or nil
  end
end

local function id_makers(big)
  if big == true then -- 20 to 22 digits: beyond int64, exact digits in JSON
    return {
      ne_inv = big_inv("1"), hw_inv = big_inv("27"),
      ne = function(ci, j) return fmt("1%04d%015d", ci, j + 500000000) end,
      hw = function(ci, i) return fmt("27%04d%015d", ci, i + 500000000) end,
      hweol = function(b) return fmt("31%020d", b + 1) end,
      sweol = function(b) return fmt("32%019d", b + 1) end,
      sa = function(k) return fmt("4%019d", k + 104000) end,
    }
  elseif big == "int64" then -- 17 to 19 digits: exact in int64, not in a double
    return {
      ne_inv = int_inv(function(ci) return 1000000000000000000 + ci * 1000000000000 + 500000000 end),
      hw_inv = int_inv(function(ci) return 2000000000000000000 + ci * 1000000000000 + 500000000 end),
      ne = function(ci, j) return 1000000000000000000 + ci * 1000000000000 + 500000000 + j end,
      hw = function(ci, i) return 2000000000000000000 + ci * 1000000000000 + 500000000 + i end,
      hweol = function(b) return 300000000000000001 + b end,
      sweol = function(b) return 40000000000000001 + b end,
      sa = function(k) return 9000000000000104000 + k end,
    }
  end
  return {
    ne_inv = int_inv(function(ci) return 200000000000 + ci * 1000000000 + 500000000 end),
    hw_inv = int_inv(function(ci) return 300000000000 + ci * 1000000000 + 500000000 end),
    ne = function(ci, j) return 200000000000 + ci * 1000000000 + 500000000 + j end,
    hw = function(ci, i) return 300000000000 + ci * 1000000000 + 500000000 + i end,
    hweol = function(b) return 40001 + b end,
    sweol = function(b) return 33001 + b end,
    sa = function(k) return 104001 + k end,
  }
end

-------------------------------------------------------------------------------
-- Global catalogue: PIDs, EoL bulletins, field notices, advisories

local function word_title(name) -- "Cisco Catalyst 9300 Series Switches" -> "Catalyst 9300"
  return (name:gsub("^Cisco ", ""):gsub(" Series.*$", ""))
end

local HW_MILESTONES = {
  { "EoSale", "eoSaleDate" }, { "LastShip", "lastShipDate" },
  { "EoSWM", "eoSwMaintenanceReleasesDate" }, { "EoRFA", "eoRoutineFailureAnalysisDate" },
  { "EoNSA", "eoNewServiceAttachmentDate" }, { "EoVSS", "eoVulnerabilitySecuritySupport" },
  { "EoSCR", "eoServiceContractRenewalDate" }, { "LDoS", "lastDateOfSupport" },
}
local SW_MILESTONES = {
  { "EoSale", "eoSaleDate" }, { "EoSWM", "eoSwMaintenanceReleasesDate" },
  { "EoVSS", "eoVulnerabilitySecuritySupport" }, { "LDoS", "lastDateOfSupport" },
}

-- current (latest passed) and next milestones of a bulletin, comma-joined when several
-- fall on the same date; absent ones are JSON null
local function milestones(b, list, today)
  local cur_d, nxt_d
  for _, m in ipairs(list) do
    local d = rng.days(b[m[2]])
    if d <= today then
      if not cur_d or d > cur_d then cur_d = d end
    elseif not nxt_d or d < nxt_d then
      nxt_d = d
    end
  end
  local cur, nxt = {}, {}
  for _, m in ipairs(list) do
    local d = rng.days(b[m[2]])
    if d == cur_d then cur[#cur + 1] = m[1] end
    if d == nxt_d then nxt[#nxt + 1] = m[1] end
  end
  b.current = cur[1] and concat(cur, ",") or NULL
  b.current_date = cur_d and rng.date(cur_d) or NULL
  b.next = nxt[1] and concat(nxt, ",") or NULL
  b.next_date = nxt_d and rng.date(nxt_d) or NULL
end

local function hw_eol_dates(b, announce)
  local a = rng.days(announce)
  local eos = a + 180
  local ldos = eos + 5 * 365
  b.eoLifeAnnouncementDate = rng.date(a)
  b.eoSaleDate = rng.date(eos)
  b.lastShipDate = rng.date(eos + 90)
  b.eoSwMaintenanceReleasesDate = rng.date(eos + 365)
  b.eoRoutineFailureAnalysisDate = rng.date(eos + 365)
  b.eoNewServiceAttachmentDate = rng.date(eos + 365)
  b.eoServiceContractRenewalDate = rng.date(ldos - 90)
  b.lastDateOfSupport = rng.date(ldos)
  b.eoVulnerabilitySecuritySupport = rng.date(eos + 3 * 365)
end

local function sw_eol_dates(b, announce)
  local a = rng.days(announce)
  local eos = a + 180
  b.eoLifeAnnouncementDate = rng.date(a)
  b.eoSaleDate = rng.date(eos)
  b.eoSwMaintenanceReleasesDate = rng.date(eos + 2 * 365)
  b.eoVulnerabilitySecuritySupport = rng.date(eos + 3 * 365)
  b.lastDateOfSupport = rng.date(eos + 4 * 365)
end

local function pid_static(ds, fam, pid, hwType)
  local x = h(ds.seed, S_PID, rng.hash_string(pid))
  local chassis = hwType == "Chassis"
  local lower = pid:lower():gsub("[^%w%-]", "")
  local rel = rng.days(fam.eol or "2021-06-01") - 2000 - below(x, 900)
  local s = {
    productFamily = fam.name, productId = pid, productType = fam.type, hwType = hwType,
    productSubtype = chassis and fam.subtype or NULL,
    productName = word_title(fam.name) .. " " .. pid,
    dimensionsFormat = "Dimensions (H x W x D)",
    dimensions = chassis and fmt("%.2f x 17.5 x %.1f in.", fam.ru == "2 RU" and 3.45 or 1.73,
      12 + below(x, 80) / 10) or fmt("%.1f x %.1f x %.1f in.", 1 + below(x, 20) / 10,
      3 + below(x >> 8, 50) / 10, 5 + below(x >> 16, 60) / 10),
    weight = fmt("%.1f lb", chassis and 8 + below(x, 200) / 10 or 0.5 + below(x, 40) / 10),
    formFactor = chassis and fam.ru or "Field Replaceable Unit",
    supportPage = "https://www.cisco.com/c/en/us/support/" .. fam.slug .. "/series.html",
    visioStencilUrl = chassis and "" or NULL,
    smallImageUrl = "https://www.cisco.com/c/dam/assets/prod/" .. lower .. "-small.jpg",
    largeImageUrl = "https://www.cisco.com/c/dam/assets/prod/" .. lower .. "-large.jpg",
    baseProductId = (pid:gsub("/K9$", ""):gsub("%-[AEB]$", "")),
    productReleaseDate = rng.date(rel),
    hwRevision = fmt("V%02d", 1 + below(x >> 3, 6)),
    tan = fmt("%d-%06d-%02d", chassis and 68 or 73, 100000 + below(x >> 5, 900000), 1 + below(x, 9)),
    tanRevision = fmt("%s%d", pick(x >> 9, { "A", "B", "C" }), below(x >> 13, 3)),
    installedMemory = chassis and fam.memory or "",
    installedFlash = chassis and fam.flash or "",
    inventoryName = "null",
    serialNumberStatus = "VALID",
    collectedProductId = pid,
  }
  local kind = chassis and "chassis" or hwType == "Module" and "network module"
    or hwType == "Power Supply" and "AC power supply" or "fan tray"
  s.productDescription = s.productName .. ", " .. kind
  return s
end

local function build_catalogue(ds)
  local seed = ds.seed
  local pids, hweol = {}, {}
  for _, fam in ipairs(catalog.families) do
    local function add(list, hwType)
      for _, pid in ipairs(list) do
        if not pids[pid] then
          local p = { pid = pid, fam = fam, hwType = hwType, static = pid_static(ds, fam, pid, hwType) }
          pids[pid] = p
          -- field notices affecting this PID: 0, 1 or 2
          local x = h(seed, S_FN, rng.hash_string(pid))
          local n = below(x, 10)
          p.fns = {}
          n = n < 6 and 0 or n < 9 and 1 or 2
          for q = 1, n do
            local k = below(rng.mix(x + q), ds.bulletins)
            if k ~= p.fns[1] then p.fns[#p.fns + 1] = k end
          end
        end
      end
    end
    add(fam.chassis, "Chassis")
    add(fam.modules, "Module")
    add(fam.psus, "Power Supply")
    add(fam.fans, "Fan")
  end
  -- hardware EoL bulletins: one per end-of-life PID
  local today = ds.today
  for _, fam in ipairs(catalog.families) do
    if fam.eol then
      for _, pid in ipairs(fam.eol_pids or fam.chassis) do
        local b = { pid = pid, fam = fam }
        hw_eol_dates(b, fam.eol)
        milestones(b, HW_MILESTONES, today)
        b.index = #hweol
        b.number = fmt("EOL%d", 10000 + rng.below(h(seed, S_PID, b.index), 5000) * 2 + b.index % 2)
        b.title = "End-of-Sale and End-of-Life Announcement for the " .. fam.name .. " (" .. pid .. ")"
        b.url = "https://www.cisco.com/c/en/us/products/collateral/" .. fam.slug
          .. "/eos-eol-notice-c51-" .. (740000 + b.index * 37) .. ".html"
        hweol[#hweol + 1] = b
        pids[pid].eol = b.index
      end
    end
  end
  -- software EoL bulletins
  local sweol = {}
  for i, e in ipairs(catalog.sw_eol) do
    local b = { sw = e.sw, train = e.train, title = e.title, index = i - 1 }
    sw_eol_dates(b, e.announce)
    milestones(b, SW_MILESTONES, today)
    b.number = fmt("EOL%d", 14000 + i * 17)
    local latest = e.train
    for _, fam in ipairs(catalog.families) do
      if fam.sw == e.sw then
        for _, v in ipairs(fam.versions) do
          if v:sub(1, #e.train) == e.train and v > latest then latest = v end
        end
      end
    end
    b.maintenance = latest
    sweol[i] = b
  end
  ds.pids, ds.hweol, ds.sweol = pids, hweol, sweol
  ds.sa_memo = {}
end

local function sweol_of(ds, sw, version)
  for _, b in ipairs(ds.sweol) do
    if b.sw == sw and version:sub(1, #b.train) == b.train then
      local nxt = version:sub(#b.train + 1, #b.train + 1)
      if nxt == "" or nxt == "." or nxt == "(" or b.train:sub(-1) == "E" then return b.index end
    end
  end
  return nil
end

-- advisory k affects software type sw_types[k % #sw_types + 1]
local function advisories_of(ds, sw, version)
  local key = sw .. " " .. version
  local memo = ds.sa_memo[key]
  if memo then return memo end
  local m, S = #catalog.sw_types, ds.bulletins
  local residues = {}
  for r, t in ipairs(catalog.sw_types) do
    if t == sw and r - 1 < S then residues[#residues + 1] = r - 1 end
  end
  local list, seen = {}, {}
  if #residues > 0 then
    local x = h(ds.seed, S_SA, rng.hash_string(key))
    local n = below(x, 5)
    for q = 1, n do
      local y = rng.mix(x + q * 7919)
      local res = residues[below(y, #residues) + 1]
      local span = (S - 1 - res) // m + 1
      local k = res + m * below(y >> 7, span)
      if not seen[k] then
        seen[k] = true
        list[#list + 1] = k
      end
    end
    table.sort(list)
  end
  ds.sa_memo[key] = list
  return list
end

-------------------------------------------------------------------------------
-- Customers

local function customer_static(ds, ci)
  local seed = ds.seed
  local r = rng.stream(h(seed, S_CUST, ci))
  local c = { index = ci }
  c.id = chars(r(), 15)
  local names = catalog.companies
  local ni = (ci - 1 + below(h(seed, S_CUST, 0), #names)) % #names + 1
  c.name = names[ni]
  if ci > #names then
    c.name = c.name .. " " .. catalog.suffixes[(ci - 1) // #names % #catalog.suffixes + 1]
      .. ((ci - 1) // (#names * #catalog.suffixes) > 0 and (" " .. ci) or "")
  end
  local place = pick(r(), catalog.places)
  c.place = place
  c.street = fmt("%d %s", 10 + below(r(), 9000), pick(r(), catalog.streets))
  c.street2 = below(r(), 3) == 0 and fmt("SUITE %d", 100 * (1 + below(r(), 20))) or "null"
  c.city = below(r(), 6) == 0 and "null" or place[1]
  c.domain = ((c.name:lower():gsub("[^a-z]", "")):sub(1, 12)) .. ".example"
  c.billto_site = tostring(400000 + below(r(), 599999))
  c.billto_party = tostring(30000000 + below(r(), 69999999))
  c.gu_party = tostring(3000000 + below(r(), 6999999))
  local ns = 2 + below(r(), 4)
  c.sites = {}
  for s = 1, ns do
    local pl = s == 1 and place or pick(r(), catalog.places)
    c.sites[s] = {
      id = tostring(400000 + below(r(), 599999)),
      name = c.name .. " " .. catalog.site_kinds[(s - 1) % #catalog.site_kinds + 1],
      addr = fmt("%d %s", 10 + below(r(), 9000), pick(r(), catalog.streets)),
      city = pl[1], state = pl[2], country = pl[3], postal = pl[4], code = pl[6] .. s,
      collector = "CX-COLLECTOR-" .. chars(r(), 6, "0123456789ABCDEF"),
      contact = "noc@" .. c.domain,
    }
  end
  return c
end

local CONTRACT_STATUS = { "Active", "Active", "Active", "Active", "Active", "Active", "Signed",
  "Expired", "Expired", "QA Hold", "Terminated" }

local function contract(ds, c, m)
  local memo = c.contract_memo[m]
  if memo then return memo end
  local x = h(ds.seed, S_CONTRACT, c.index, m)
  local status = m == 0 and "Active" or pick(x, CONTRACT_STATUS)
  local years = 1 + below(x >> 5, 5)
  local start
  if status == "Expired" or status == "Terminated" then
    start = ds.today - years * 365 - 30 - below(x >> 9, 600)
  elseif status == "Signed" then
    start = ds.today + 10 + below(x >> 9, 60)
  else
    start = ds.today - below(x >> 9, years * 365 - 30)
  end
  local level = pick(x >> 13, catalog.service_levels)
  local site = c.sites[below(x >> 17, #c.sites) + 1]
  local k = {
    contractNumber = tostring(200000000 + (c.index % 1000) * 100000 + m * 7 + below(x >> 21, 7)),
    contractStatus = status,
    contractStartDate = rng.date(start),
    contractEndDate = rng.date(start + years * 365 - 1),
    serviceProgram = level == "ECMU" and "SWSS" or level:match("^S") and "SNTC" or "PSS",
    serviceLevel = level,
    billtoSiteId = c.billto_site, billtoSiteName = c.name,
    billtoAddressLine1 = c.street, billtoAddressLine2 = c.street2 == "null" and "" or c.street2,
    billtoAddressLine3 = "", billtoAddressLine4 = "",
    billtoCity = c.place[1], billtoState = c.place[2], billtoPostalCode = c.place[4],
    billtoProvince = "", billtoCountry = c.place[3], billtoGuName = c.name,
    siteUseName = site.name, siteUseId = tostring(70000 + below(x >> 25, 29999)),
    siteAddress1 = site.addr, siteCity = site.city, siteStateProvince = site.state,
    sitePostalCode = site.postal, siteCountry = site.country,
    baseProductId = c.templates[below(x >> 29, #c.templates) + 1].comps[1].static.baseProductId,
    instance = tostring(880000000 + (c.index % 1000) * 10000 + m * 3),
  }
  c.contract_memo[m] = k
  return k
end

local function comp_name(hwType, n, fam)
  if hwType == "Chassis" then
    return fam.role:match("sw$") and "Switch 1 Chassis" or "Chassis"
  elseif hwType == "Module" then
    return fmt("Network Module %d", n)
  elseif hwType == "Power Supply" then
    return fmt("Power Supply %d", n)
  end
  return fmt("Fan Tray %d", n)
end

local function comp_slot(hwType, n)
  if hwType == "Chassis" then return "0" end
  if hwType == "Module" then return tostring(n) end
  if hwType == "Power Supply" then return "PS" .. n end
  return "FAN" .. n
end

local function build_templates(ds, c)
  local seed, ci = ds.seed, c.index
  local r = rng.stream(h(seed, S_TPL, ci))
  local fams = catalog.families
  local total = 0
  for _, f in ipairs(fams) do total = total + f.weight end
  local T = {}
  for d = 0, ds.models - 1 do
    local w = below(r(), total)
    local fam
    for _, f in ipairs(fams) do
      if w < f.weight then fam = f break end
      w = w - f.weight
    end
    local t = { d = d, fam = fam, version = pick(r(), fam.versions), site = pick(r(), c.sites) }
    local comps = {}
    local function add(pid, hwType, n)
      local p = ds.pids[pid]
      local st = {}
      for k, v in pairs(p.static) do st[k] = v end
      st.hwName = comp_name(hwType, n, fam)
      st.slot = comp_slot(hwType, n)
      st.swVersion = hwType == "Chassis" and t.version or "null"
      comps[#comps + 1] = { pid = p, static = st, mt = { __index = st }, hwType = hwType,
        chassis = hwType == "Chassis" }
    end
    add(pick(r(), fam.chassis), "Chassis", 1)
    if #fam.modules > 0 then
      for n = 1, below(r(), 4) do add(pick(r(), fam.modules), "Module", n) end
    end
    if #fam.psus > 0 then
      for n = 1, 1 + below(r(), 2) do add(pick(r(), fam.psus), "Power Supply", n) end
    end
    if #fam.fans > 0 then
      for n = 1, below(r(), 3) do add(pick(r(), fam.fans), "Fan", n) end
    end
    t.comps = comps
    t.sweol = sweol_of(ds, fam.sw, t.version)
    t.advisories = advisories_of(ds, fam.sw, t.version)
    local chassis = comps[1].pid.pid
    t.ne = {
      productFamily = fam.name, productId = chassis, productType = fam.type,
      swType = fam.sw, swVersion = t.version, inventoryName = "null", neSubtype = "",
      inventoryAvailability = "Yes", featureSet = pick(r(), catalog.feature_sets),
      neType = fam.role == "ap" and "COMPOSED" or #comps > 3 and "COMPOSITE" or "STANDALONE",
      sysDescr = fmt("Cisco %s Software, %s, Version %s", fam.sw, word_title(fam.name), t.version),
      sysLocation = t.site.name, sysContact = t.site.contact, sysObjectId = fam.oid,
      configRegister = "0x2102", lastConfigRegister = "0x2102",
      imageName = fmt(fam.image, t.version), bootstrapVersion = t.version:match("^[%d%.]+") .. "r",
      isManagedNe = "Y", userField1 = "", userField2 = "null", userField3 = "", userField4 = "",
      collectorId = t.site.collector,
    }
    t.ne_mt = { __index = t.ne }
    T[d] = t
  end
  c.templates_by_d = T
  c.templates = {}
  for d = 0, ds.models - 1 do c.templates[d + 1] = T[d] end
end

local function entries(list, Q)
  -- list sorted by off; cum[o] = number of entries with off < o, o in 0..Q
  local cum, n = {}, 1
  for o = 0, Q do
    while list[n] and list[n].off < o do n = n + 1 end
    cum[o] = n - 1
  end
  return { list = list, A = #list, cum = cum }
end

local function build_cycle(ds, c)
  local T = c.templates_by_d
  local D = ds.models
  local prefix, comp_at = {}, {}
  local Q = 0
  for d = 0, D - 1 do
    prefix[d] = Q
    for ci_, comp in ipairs(T[d].comps) do
      comp_at[Q] = { d = d, comp = comp, n = ci_ }
      Q = Q + 1
    end
  end
  c.Q, c.D, c.prefix, c.comp_at = Q, D, prefix, comp_at
  -- covering contracts: Active/Signed among the first ones
  local covering = {}
  for m = 0, math.min(c.base_contracts, 1000) - 1 do
    local k = contract(ds, c, m)
    if k.contractStatus == "Active" or k.contractStatus == "Signed" then covering[#covering + 1] = m end
  end
  c.covering = covering
  local E = {}
  local ne, cov, unc, fn, hweol, sweol, sa = {}, {}, {}, {}, {}, {}, {}
  for d = 0, D - 1 do
    local t = T[d]
    local off0 = prefix[d]
    ne[#ne + 1] = { off = off0, d = d }
    if t.sweol then sweol[#sweol + 1] = { off = off0, d = d, b = t.sweol } end
    for _, k in ipairs(t.advisories) do sa[#sa + 1] = { off = off0, d = d, k = k } end
    for n, comp in ipairs(t.comps) do
      local off = off0 + n - 1
      local e = { off = off, d = d, comp = comp }
      if #covering > 0 and unit(h(ds.seed, S_COV, c.index, off)) < ds.coverage then
        e.contract = covering[below(h(ds.seed, S_COV, c.index, off + 7), #covering) + 1]
        cov[#cov + 1] = e
      else
        unc[#unc + 1] = e
      end
      for _, k in ipairs(comp.pid.fns) do fn[#fn + 1] = { off = off, d = d, comp = comp, k = k } end
      if comp.pid.eol then hweol[#hweol + 1] = { off = off, d = d, comp = comp, b = comp.pid.eol } end
    end
  end
  E.network_elements = entries(ne, Q)
  E.coverage = entries(cov, Q)
  E.not_covered = entries(unc, Q)
  E.field_notices = entries(fn, Q)
  E.hardware_eol = entries(hweol, Q)
  E.software_eol = entries(sweol, Q)
  E.security_advisories = entries(sa, Q)
  c.E = E
end

local function customer(ds, ci)
  local c = ds.custs[ci]
  if c then return c end
  c = customer_static(ds, ci)
  c.contract_memo = {}
  c.base_contracts = config.size(ds.cfg, "contracts", ci)
  c.extra_contracts = 0
  build_templates(ds, c)
  build_cycle(ds, c)
  c.lo, c.hi = 0, config.size(ds.cfg, "hardware", ci)
  c.version = 0
  c.serial_b = h(ds.seed, S_SERIAL, ci) % M_SERIAL
  ds.custs[ci] = c
  return c
end

-------------------------------------------------------------------------------
-- Rows

-- modular inverse of the serial multiplier
local SERIAL_A = 1000003
local SERIAL_AINV
do
  local t, newt, r, newr = 0, 1, M_SERIAL, SERIAL_A
  while newr ~= 0 do
    local q = r // newr
    t, newt = newt, t - q * newt
    r, newr = newr, r - q * newr
  end
  SERIAL_AINV = t % M_SERIAL
end

local function serial(c, i, fam)
  local x = (i + 268435456) % M_SERIAL
  local s = (x * SERIAL_A + c.serial_b) % M_SERIAL
  local week = s % 52 + 1
  local year = s // 52 % 8 + 17
  local prefix = fam.serials[(i % #fam.serials) + 1]
  return fmt("%s%02d%02d%s", prefix, year, week, rng.base36(s // 416, 4))
end

-- hardware index of a serial number (the candidate: the caller checks the row)
local function serial_index(c, sn)
  local yy, ww, b36 = sn:match("^%u%u%u(%d%d)(%d%d)([%dA-Z][%dA-Z][%dA-Z][%dA-Z])$")
  if not yy then return nil end
  local year, week = tonumber(yy) - 17, tonumber(ww) - 1
  if year < 0 or year > 7 or week < 0 or week > 51 then return nil end
  local s = math.tointeger(tonumber(b36, 36) * 416 + year * 52 + week)
  local x = ((s - c.serial_b) % M_SERIAL) * SERIAL_AINV % M_SERIAL
  return x - 268435456
end

local function hostname(t, j)
  return fmt("%s-%s%s", t.site.code, t.fam.role, j >= 0 and fmt("%04d", j + 1) or fmt("x%04d", -j))
end

local function ip(j)
  local n = j % 16000000
  return fmt("10.%d.%d.%d", n // 64000 % 256, n // 250 % 256, n % 250 + 2)
end

local function hardware_row(ds, c, i)
  local Q = c.Q
  local cyc, off = i // Q, i % Q
  local at = c.comp_at[off]
  local t = c.templates_by_d[at.d]
  local j = cyc * c.D + at.d
  local row = setmetatable({}, at.comp.mt) -- static fields through __index, no copy
  local ne = ds.ids.ne(c.index, j)
  row.neInstanceId, row.managedNeInstanceId = ne, ne
  row.hwInstanceId = ds.ids.hw(c.index, i)
  local sn = serial(c, i, t.fam)
  row.serialNumber, row.collectedSerialNumber = sn, sn
  row.pcbNumber = at.comp.chassis and sn:sub(1, 3) .. rng.base36((i * 7919 + c.index) % 1679616, 4)
    .. sn:sub(-4) or ""
  return row
end

local function device_row(ds, c, j)
  local D = c.D
  local d = j % D
  local t = c.templates_by_d[d]
  local x = h(ds.seed, S_DEV, c.index, j)
  local row = setmetatable({}, t.ne_mt)
  local ne = ds.ids.ne(c.index, j)
  row.neInstanceId, row.managedNeInstanceId = ne, ne
  local name = hostname(t, j)
  local addr = ip(j)
  row.hostname = name
  row.sysName = name .. "." .. c.domain
  row.ipAddress, row.managementAddress = addr, addr
  local collected = ds.today - 1 - below(x, 14)
  row.inventoryCollectionDate = rng.datetime(collected, below(x >> 4, 86400))
  row.configCollectionDate = rng.datetime(collected, below(x >> 6, 86400))
  row.createDate = rng.datetime(ds.today - 60 - below(x >> 8, 1500), below(x >> 10, 86400))
  row.lastReset = rng.datetime(ds.today - 2 - below(x >> 12, 400), below(x >> 14, 86400))
  row.resetReason = pick(x >> 16, catalog.reset_reasons)
  row.reachabilityStatus = below(x >> 20, 25) == 0 and "Unreachable" or "Reachable"
  row.macAddress = fmt("00:%02x:%02x:%02x:%02x:%02x", below(x >> 24, 256), below(x >> 32, 256),
    (j >> 16) & 255, (j >> 8) & 255, j & 255)
  return row
end

local VUL = { "VUL", "VUL", "VUL", "POTVUL", "POTVUL", "POTVUL", "POTVUL", "NOTVUL" }
local VUL_REASON = {
  VUL = "Product ID and software version matched the affected list",
  POTVUL = "Product ID matched; serial number range could not be verified",
  NOTVUL = "Serial number is outside the affected range",
}
local SA_REASON = {
  VUL = "Software version %s is in the affected release list",
  POTVUL = "Software version %s is affected; vulnerable feature configuration not verified",
}

local function device_ref(ds, c, cyc, e)
  local j = cyc * c.D + e.d
  local t = c.templates_by_d[e.d]
  local ne = ds.ids.ne(c.index, j)
  return j, t, ne
end

local builders = {}

function builders.hardware(ds, c, k)
  return hardware_row(ds, c, k)
end

function builders.network_elements(ds, c, k)
  return device_row(ds, c, k)
end

local function entry_at(c, opname, k)
  local E = c.E[opname]
  local cyc = k // E.A
  return cyc, E.list[k % E.A + 1]
end

-- static part of the coverage rows of one entry (same component, site and contract)
local function coverage_static(ds, c, e, t)
  local st = e.comp.static
  local k_ = contract(ds, c, e.contract)
  local site = t.site
  local s = {
    productId = st.productId, productFamily = t.fam.short,
    coverageStatus = k_.contractStatus == "Active" and "ACTIVE" or "SIGNED",
    contractInstanceNumber = k_.instance, parentContractInstanceId = k_.instance:sub(1, 6) .. "000",
    serviceable = "Y", coverageStartDate = k_.contractStartDate, coverageEndDate = k_.contractEndDate,
    warrantyType = "WARR-1YR-LTD-HW", contractNumber = k_.contractNumber,
    serviceLevel = k_.serviceLevel, slaType = catalog.sla[k_.serviceLevel] or "8x5xNBD",
    serviceProgram = k_.serviceProgram, contractStartDate = k_.contractStartDate,
    contractEndDate = k_.contractEndDate, contractStatus = k_.contractStatus,
    shiptoSiteId = site.id, shiptoSiteName = site.name, shiptoAddressLine1 = site.addr,
    shiptoAddressLine2 = "", shiptoAddressLine3 = "", shiptoAddressLine4 = "",
    shiptoCity = site.city, shiptoState = site.state, shiptoPostalCode = site.postal,
    shiptoProvince = "", shiptoCountry = site.country,
    installedatSiteId = site.id, installedatSiteName = site.name, installedatAddressLine1 = site.addr,
    installedatAddressLine2 = "", installedatAddressLine3 = "", installedatAddressLine4 = "",
    installedatCity = site.city, installedatState = site.state, installedatPostalCode = site.postal,
    installedatProvince = "", installedatCountry = site.country,
    billtoSiteId = k_.billtoSiteId, billtoSiteName = c.name, billtoAddressLine1 = c.street,
    billtoAddressLine2 = k_.billtoAddressLine2, billtoAddressLine3 = "", billtoAddressLine4 = "",
    billtoCity = c.place[1], billtoState = c.place[2], billtoPostalCode = c.place[4],
    billtoProvince = "", billtoCountry = c.place[3],
    billtoPartyId = c.billto_party, installAtGuPartyId = c.gu_party, contractInstanceId = k_.instance,
    serviceLineStatus = k_.contractStatus == "Active" and "ACTIVE" or "SIGNED",
    lineCustomerName = c.name, businessProcessName = "Service Contract",
    entitledParty = c.name, installGUName = c.name,
  }
  e.mt = { __index = s }
  e.contract_start = rng.days(k_.contractStartDate)
  return e.mt
end

function builders.coverage(ds, c, k)
  local cyc, e = entry_at(c, "coverage", k)
  local i = cyc * c.Q + e.off
  local _, t, ne = device_ref(ds, c, cyc, e)
  local mt = e.mt or coverage_static(ds, c, e, t)
  local x = h(ds.seed, S_ROW, c.index, i)
  local ship = e.contract_start - 20 - below(x, 700)
  local shipped = rng.date(ship)
  return setmetatable({
    serialNumber = serial(c, i, t.fam), orderShipDate = shipped, warrantyStartDate = shipped,
    warrantyEndDate = rng.date(ship + 364), neInstanceId = ne,
    serviceLineId = tostring(990000000 + i % 9999999),
  }, mt)
end

local function uncovered_static(e, t)
  local site = t.site
  local s = {
    contractInstanceNumber = "", productId = e.comp.static.productId, hwType = e.comp.hwType,
    installedatSiteId = site.id, installedatSiteName = site.name, installedatAddressLine1 = site.addr,
    installedatAddressLine2 = "", installedatAddressLine3 = "", installedatAddressLine4 = "",
    installedatCity = site.city, installedatState = site.state, installedatPostalCode = site.postal,
    installedatProvince = "", installedatCountry = site.country, billtoPartyId = "",
  }
  e.lifetime = e.comp.chassis and t.fam.role:match("sw$") and true or false
  s.warrantyType = e.lifetime and "WARR-LTD-LIFE-HW" or "WARR-1YR-LTD-HW"
  e.mt = { __index = s }
  return e.mt
end

function builders.not_covered(ds, c, k)
  local cyc, e = entry_at(c, "not_covered", k)
  local i = cyc * c.Q + e.off
  local _, t, ne = device_ref(ds, c, cyc, e)
  local mt = e.mt or uncovered_static(e, t)
  local x = h(ds.seed, S_ROW, c.index, i)
  local ship = ds.today - 200 - below(x, 3000)
  local shipped = rng.date(ship)
  return setmetatable({
    serialNumber = serial(c, i, t.fam), orderShipDate = shipped, warrantyStartDate = shipped,
    warrantyEndDate = e.lifetime and rng.date(ship + 365 * 5) or rng.date(ship + 364),
    neInstanceId = ne,
  }, mt)
end

function builders.field_notices(ds, c, k)
  local cyc, e = entry_at(c, "field_notices", k)
  local i = cyc * c.Q + e.off
  local j, t, ne = device_ref(ds, c, cyc, e)
  local status = pick(h(ds.seed, S_ROW + 1, c.index, k), VUL)
  return {
    neInstanceId = ne, managedNeInstanceId = ne, vulnerabilityStatus = status,
    vulnerabilityReason = VUL_REASON[status], hwInstanceId = ds.ids.hw(c.index, i),
    bulletinNumber = ds:fn_number(e.k),
    hostname = hostname(t, j), swType = t.fam.sw,
  }
end

function builders.hardware_eol(ds, c, k)
  local cyc, e = entry_at(c, "hardware_eol", k)
  local i = cyc * c.Q + e.off
  local j, t, ne = device_ref(ds, c, cyc, e)
  local b = ds.hweol[e.b + 1]
  return {
    neInstanceId = ne, managedNeInstanceId = ne, hwType = e.comp.hwType,
    currentHwEolMilestone = b.current, nextHwEolMilestone = b.next,
    hwInstanceId = ds.ids.hw(c.index, i), productId = e.comp.static.productId,
    currentHwEolMilestoneDate = b.current_date, nextHwEolMilestoneDate = b.next_date,
    hwEolInstanceId = ds.ids.hweol(e.b),
    hostname = hostname(t, j),
  }
end

function builders.software_eol(ds, c, k)
  local cyc, e = entry_at(c, "software_eol", k)
  local j, t, ne = device_ref(ds, c, cyc, e)
  local b = ds.sweol[e.b + 1]
  return {
    neInstanceId = ne, managedNeInstanceId = ne, swType = t.fam.sw,
    currentSwEolMilestone = b.current, nextSwEolMilestone = b.next, swVersion = t.version,
    currentSwEolMilestoneDate = b.current_date, nextSwEolMilestoneDate = b.next_date,
    swEolInstanceId = ds.ids.sweol(e.b),
    hostname = hostname(t, j),
  }
end

function builders.security_advisories(ds, c, k)
  local cyc, e = entry_at(c, "security_advisories", k)
  local i = cyc * c.Q + e.off
  local j, t, ne = device_ref(ds, c, cyc, e)
  local status = below(h(ds.seed, S_ROW + 2, c.index, k), 3) == 0 and "POTVUL" or "VUL"
  return {
    neInstanceId = ne, managedNeInstanceId = ne, hwInstanceId = ds.ids.hw(c.index, i),
    vulnerabilityStatus = status, vulnerabilityReason = fmt(SA_REASON[status], t.version),
    securityAdvisoryInstanceId = ds.ids.sa(e.k),
    hostname = hostname(t, j), swType = t.fam.sw,
  }
end

function builders.contracts(ds, c, m)
  local k = contract(ds, c, m)
  local row = {}
  for _, f in ipairs(ops.by_name.contracts.fields) do row[f[1]] = k[f[1]] end
  return row
end

-- catalogue rows -------------------------------------------------------------

local function fn_number(_, k)
  return 70000 + k * 5 + (k * 7 + 3) % 5
end

local FN_CAVEAT = {
  "Serial number ranges are checked automatically where available.",
  "Automated detection is based on the product ID only; verify the affected serial numbers.",
  "This field notice is not checked automatically; review the conditions manually.",
}

local function fn_row(ds, k)
  local x = h(ds.seed, S_FN, k, 1)
  local fam = catalog.families[below(x, #catalog.families) + 1]
  local issue = pick(x >> 7, catalog.fn_issues)
  local first = ds.today - 30 - below(x >> 12, 2500)
  local num = fn_number(ds, k)
  return {
    bulletinFirstPublished = rng.date(first), bulletinNumber = num, fieldNoticeType = issue[1],
    bulletinTitle = fmt("FN%d - %s: %s", num, word_title(fam.name), issue[2]),
    bulletinLastUpdated = rng.date(first + below(x >> 20, 400)),
    alertAutomationCaveat = pick(x >> 24, FN_CAVEAT),
    url = fmt("https://www.cisco.com/c/en/us/support/docs/field-notices/%d/fn%d.html", num // 100, num),
    bulletinSummary = fmt("A limited number of %s products are affected: %s.", word_title(fam.name),
      issue[2]:lower()),
  }
end

local function sa_row(ds, k)
  local x = h(ds.seed, S_SA, k, 1)
  local sw = catalog.sw_types[k % #catalog.sw_types + 1]
  local prod = catalog.psirt_products[sw]
  local vuln = pick(x, catalog.vulns)
  local imp = pick(x >> 5, catalog.impact)
  local first = ds.today - 20 - below(x >> 10, 2200)
  local score = imp[2] + below(x >> 16, imp[3] - imp[2] + 1)
  local year = rng.date(first):sub(1, 4)
  local adv = fmt("cisco-sa-%s-%s-%s", prod.slug, vuln[1], chars(x >> 3, 8))
  local ncve = 1 + below(x >> 22, 3) // 2
  local cves, bugs = {}, {}
  for q = 1, ncve do
    cves[q] = fmt("CVE-%s-%d", year, 20000 + below(rng.mix(x + q), 9000))
    bugs[q] = "CSCw" .. chars(rng.mix(x - q), 1, "abcdefghijklmnopqrstuvwxyz")
      .. fmt("%05d", below(rng.mix(x + 31 * q), 100000))
  end
  local version = 1 + below(x >> 26, 3)
  return {
    securityAdvisoryInstanceId = ds.ids.sa(k),
    url = "https://sec.cloudapps.cisco.com/security/center/content/CiscoSecurityAdvisory/" .. adv,
    bulletinVersion = fmt("%d.%d", version, below(x >> 28, 4)),
    advisoryId = adv, bulletinTitle = prod.name .. " " .. vuln[2],
    bulletinFirstPublished = rng.datetime(first, 16 * 3600),
    bulletinLastUpdated = rng.datetime(first + (version - 1) * below(x >> 30, 60), 17 * 3600),
    securityImpactRating = imp[1],
    bulletinSummary = fmt("A vulnerability in %s could allow an attacker to cause harm (%s).",
      prod.name, vuln[2]:lower()),
    alertAutomationCaveat = below(x >> 33, 2) == 0 and ""
      or "Configuration-dependent; verify whether the affected feature is enabled.",
    cveId = concat(cves, ","),
    cvssBaseScore = imp[1] == "Informational" and "0.0" or fmt("%.1f", score / 10),
    cvssTemporalScore = below(x >> 35, 2) == 0 and "" or fmt("%.1f", math.max(0, score - 5) / 10),
    ciscoBugIds = concat(bugs, ","),
  }
end

local function hweol_row(ds, b)
  local e = ds.hweol[b + 1]
  local row = {}
  if not e then -- an added bulletin: a retired PID nobody owns
    e = { pid = fmt("RETIRED-%d", b), fam = catalog.families[b % #catalog.families + 1] }
    hw_eol_dates(e, rng.date(rng.days("2015-01-15") + (b * 37) % 2500))
    e.number = fmt("EOL%d", 20000 + b)
    e.title = "End-of-Sale and End-of-Life Announcement for the " .. e.fam.name .. " (" .. e.pid .. ")"
    e.url = "https://www.cisco.com/c/en/us/products/collateral/" .. e.fam.slug
      .. "/eos-eol-notice-c51-" .. (760000 + b) .. ".html"
  end
  for _, m in ipairs(HW_MILESTONES) do row[m[2]] = e[m[2]] end
  row.hwEolInstanceId = ds.ids.hweol(b)
  row.bulletinProductId = e.pid
  row.bulletinNumber = e.number
  row.bulletinTitle = e.title
  row.eoLifeAnnouncementDate = e.eoLifeAnnouncementDate
  row.url = e.url
  return row
end

local function sweol_row(ds, b)
  local e = ds.sweol[b + 1]
  if not e then
    local base = catalog.sw_eol[b % #catalog.sw_eol + 1]
    e = { sw = base.sw, train = base.train .. "." .. b, title = base.title .. " (" .. b .. ")",
      maintenance = base.train .. "." .. b .. ".1", number = fmt("EOL%d", 30000 + b) }
    sw_eol_dates(e, rng.date(rng.days("2014-03-01") + (b * 41) % 2800))
  end
  return {
    swEolInstanceId = ds.ids.sweol(b), bulletinNumber = e.number,
    bulletinTitle = "End-of-Sale and End-of-Life Announcement for " .. e.title,
    swMajorVersion = e.train:match("^[%d%.]+"):gsub("%.$", ""), swMaintenanceVersion = e.maintenance,
    swTrain = e.train, swType = e.sw,
    eoLifeAnnouncementDate = e.eoLifeAnnouncementDate, eoSaleDate = e.eoSaleDate,
    eoSwMaintenanceReleasesDate = e.eoSwMaintenanceReleasesDate,
    eoVulnerabilitySecuritySupport = e.eoVulnerabilitySecuritySupport,
    lastDateOfSupport = e.lastDateOfSupport,
    url = fmt("https://www.cisco.com/c/en/us/products/collateral/ios-nx-os-software/"
      .. "eos-eol-notice-c51-%d.html", 750000 + b),
  }
end

local function customer_row(ds, ci)
  local c = customer(ds, ci)
  return {
    customerId = c.id, customerName = c.name, streetAddress1 = c.street, streetAddress2 = c.street2,
    streetAddress3 = "null", streetAddress4 = "null", city = c.city, state = c.place[2],
    country = c.place[3], zipCode = c.place[4], theaterCode = c.place[5],
  }
end

-------------------------------------------------------------------------------
-- Dataset object

local Dataset = {}
Dataset.__index = Dataset

--- Creates a dataset from normalised options (see `cxcloud.sandbox.config`).
-- @tparam table cfg
-- @treturn table dataset
function data.new(cfg)
  local ds = setmetatable({
    cfg = cfg, seed = cfg.seed, bulletins = cfg.bulletins, models = cfg.models,
    coverage = cfg.coverage, today = rng.days(cfg.today), ids = id_makers(cfg.big_ids),
    custs = {}, extra = {}, additions = {},
  }, Dataset)
  build_catalogue(ds)
  return ds
end

Dataset.fn_number = fn_number

--- Customer ids of every customer, in index order.
-- @treturn table array of strings
function Dataset:customer_ids()
  local t = {}
  for ci = 1, self.cfg.customers do t[ci] = customer(self, ci).id end
  return t
end

--- Indexes of the entitled customers, in order.
-- @treturn table
function Dataset:entitled()
  local e = self.cfg.entitled
  if e then return e end
  local t = {}
  for ci = 1, self.cfg.customers do t[ci] = ci end
  return t
end

--- Customer index of a customer id (or nil).
-- @tparam string id
-- @treturn integer|nil
function Dataset:customer_index(id)
  if not self.id_index then
    self.id_index = {}
    for ci, cid in ipairs(self:customer_ids()) do self.id_index[cid] = ci end
  end
  return self.id_index[id]
end

--- Whether customer index `ci` is entitled.
-- @tparam integer ci
-- @treturn boolean
function Dataset:is_entitled(ci)
  for _, x in ipairs(self:entitled()) do if x == ci then return true end end
  return false
end

local function count_upto(c, opname, x)
  if opname == "hardware" then return x end
  local E = c.E[opname]
  return (x // c.Q) * E.A + E.cum[x % c.Q]
end

local catalogue_base = {
  field_notice_bulletins = function(ds) return ds.bulletins end,
  security_advisory_bulletins = function(ds) return ds.bulletins end,
  hardware_eol_bulletins = function(ds) return #ds.hweol end,
  software_eol_bulletins = function(ds) return #ds.sweol end,
}
local catalogue_row = {
  field_notice_bulletins = fn_row, security_advisory_bulletins = sa_row,
  hardware_eol_bulletins = hweol_row, software_eol_bulletins = sweol_row,
}

--- A row source for an operation: `{count = n, version = v, row = function(p)}` where
-- `p` is a 0-based position and rows are tables keyed by field name (hidden filter
-- attributes such as `hostname` included; JSON null is `data.NULL`; IDs in canonical
-- form: an integer, or a string of digits when beyond int64).
-- @tparam string opname
-- @tparam[opt] integer ci customer index (per-customer operations)
-- @treturn table
function Dataset:source(opname, ci)
  if opname == "customers" then
    local list = self:entitled()
    return { count = #list, version = 0, row = function(p) return customer_row(self, list[p + 1]) end }
  end
  if catalogue_base[opname] then
    local n = catalogue_base[opname](self) + (self.extra[opname] or 0)
    local f = catalogue_row[opname]
    return { count = n, version = self.extra[opname] or 0, row = function(p) return f(self, p) end }
  end
  local c = customer(self, ci)
  if opname == "contracts" then
    return { count = c.base_contracts + c.extra_contracts, version = c.version,
      row = function(p) return builders.contracts(self, c, p) end }
  end
  local b = builders[opname]
  local first = count_upto(c, opname, c.lo)
  local n = count_upto(c, opname, c.hi) - first
  if opname ~= "hardware" and c.E[opname].A == 0 then n = 0 end
  return { count = n, version = c.version, row = function(p) return b(self, c, first + p) end }
end

local function chassis_index(c, j)
  return (j // c.D) * c.Q + c.prefix[j % c.D]
end

local ANCHORED = { hardware = true, network_elements = true, coverage = true, not_covered = true,
  field_notices = true, hardware_eol = true, software_eol = true, security_advisories = true }
local BY_SERIAL = { hardware = true, coverage = true, not_covered = true }

--- Positions that may match an equality filter, found without a scan, or nil when
-- there is no shortcut for that parameter. Every row is anchored on a hardware index,
-- so a device (neInstanceId), a component (hwInstanceId) or a serial number maps to a
-- range of rows. The caller still applies the filters to these candidates.
-- @tparam string opname
-- @tparam integer ci customer index
-- @tparam string name parameter
-- @tparam string value
-- @treturn table|nil ascending positions
function Dataset:candidates(opname, ci, name, value)
  if not ANCHORED[opname] or type(ci) ~= "number" then return nil end
  local c = customer(self, ci)
  local a, b
  if name == "neInstanceId" or name == "managedNeInstanceId" then
    local j = self.ids.ne_inv(ci, value)
    if not j then return {} end
    a, b = chassis_index(c, j), chassis_index(c, j + 1)
  elseif name == "hwInstanceId" then
    local i = self.ids.hw_inv(ci, value)
    if not i then return {} end
    a, b = i, i + 1
  elseif name == "serialNumber" and BY_SERIAL[opname] then
    local i = serial_index(c, value)
    if not i then return {} end
    a, b = i, i + 1
  else
    return nil
  end
  a, b = math.max(a, c.lo), math.min(b, c.hi)
  local out = {}
  if a >= b then return out end
  if opname ~= "hardware" and c.E[opname].A == 0 then return out end
  local first = count_upto(c, opname, c.lo)
  for k = count_upto(c, opname, a), count_upto(c, opname, b) - 1 do out[#out + 1] = k - first end
  return out
end

-- device boundary at or below hardware index x
local function device_floor(c, x)
  local cyc, off = x // c.Q, x % c.Q
  local best = 0
  for d = 0, c.D - 1 do
    if c.prefix[d] <= off then best = c.prefix[d] end
  end
  return cyc * c.Q + best
end

--- Adds rows (drift). For `hardware`, exactly `count` rows; for other per-customer
-- operations, the hardware inventory grows by the fewest rows that add at least `count`
-- rows to that operation, so every operation stays consistent; `contracts` and the
-- bulletin catalogues grow by exactly `count`. `at = "start"` prepends whole devices
-- instead (shifting every later row: pages already read move).
-- @tparam string opname
-- @tparam[opt] integer ci customer index (per-customer operations)
-- @tparam integer count
-- @tparam[opt] string at "end" (default) or "start"
-- @treturn integer rows actually added to that operation
function Dataset:add(opname, ci, count, at)
  if not ops.by_name[opname] then
    error("unknown operation '" .. tostring(opname) .. "'; valid: " .. ops.names(), 0)
  end
  if math.type(count) ~= "integer" or count < 0 then
    error("add_rows: count must be a non-negative integer", 0)
  end
  if at ~= nil and at ~= "end" and at ~= "start" then
    error('add_rows: at must be "end" or "start"', 0)
  end
  at = at or "end"
  if opname == "customers" then error("add_rows: cannot add customers", 0) end
  if catalogue_base[opname] then
    self.extra[opname] = (self.extra[opname] or 0) + count
    self.additions[#self.additions + 1] = { op = opname, count = count, at = at }
    return count
  end
  if type(ci) ~= "number" then error("add_rows: customerId is required for " .. opname, 0) end
  local c = customer(self, ci)
  self.additions[#self.additions + 1] = { op = opname, customerId = c.id, count = count, at = at }
  if count == 0 then return 0 end
  c.version = c.version + 1
  if opname == "contracts" then
    c.extra_contracts = c.extra_contracts + count
    return count
  end
  if opname ~= "hardware" and c.E[opname].A == 0 then
    error("add_rows: this customer's devices never produce " .. opname .. " rows", 0)
  end
  local before = count_upto(c, opname, c.hi) - count_upto(c, opname, c.lo)
  if at == "end" then
    if opname == "hardware" then
      c.hi = c.hi + count
    else
      -- anchor of the (n + count - 1)-th row, +1
      local k = count_upto(c, opname, c.hi) + count - 1
      local E = c.E[opname]
      local anchor = (k // E.A) * c.Q + E.list[k % E.A + 1].off
      c.hi = math.max(c.hi, anchor + 1)
    end
  else
    -- the largest device boundary x < lo with at least `count` rows in [x, lo)
    local target = count_upto(c, opname, c.lo) - count
    local A = opname == "hardware" and c.Q or c.E[opname].A
    local x = device_floor(c, c.lo - 1)
    while count_upto(c, opname, x) > target do
      local cycles = (count_upto(c, opname, x) - target) // A - 1
      if cycles > 0 then
        x = x - cycles * c.Q
      else
        x = device_floor(c, x - 1)
      end
    end
    c.lo = x
  end
  return count_upto(c, opname, c.hi) - count_upto(c, opname, c.lo) - before
end

--- Replays a list of additions (as recorded in `ds.additions` or given in the option
-- `additions`).
-- @tparam table list array of `{op=, customerId=, count=, at=}`
function Dataset:replay(list)
  for _, a in ipairs(list or {}) do
    local ci = a.customerId and (type(a.customerId) == "number" and a.customerId
      or self:customer_index(a.customerId))
    self:add(a.op, ci, math.tointeger(a.count) or a.count, a.at)
  end
end

--- The customer table for index `ci` (internal structures; for tests and tools).
-- @tparam integer ci
-- @treturn table
function Dataset:customer(ci)
  return customer(self, ci)
end

return data
