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
local values = require "cxcloud.sandbox.values"
local bulletins = require "cxcloud.sandbox.bulletins"

local h, below, pick, unit, chars = rng.h, rng.below, rng.pick, rng.unit, rng.chars
local fmt = string.format

local data = {}

--- Sentinel for a JSON null value in a generated row (`cxcloud.sandbox.values.NULL`).
local NULL = values.NULL
data.NULL = NULL

local word_title, sweol_of, advisories_of = bulletins.word_title, bulletins.sweol_of,
  bulletins.advisories_of

-- hash salts, one per purpose
local S_CUST, S_TPL, S_COV, S_SERIAL, S_DEV, S_ROW, S_CONTRACT = 101, 102, 103, 104, 105, 106, 107

local M_SERIAL = 36 * 36 * 36 * 36 * 416 -- serial bijection modulus: 4 base-36 chars, 8 years x 52 weeks

-- -----------------------------------------------------------------------------
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
      configRegister = "0x2102", lastConfigRegister = "0x2102", configAvailability = "Yes",
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

-- -----------------------------------------------------------------------------
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

local function ip(j, net)
  local n = j % 16000000
  return fmt("%d.%d.%d.%d", net, n // 64000 % 256, n // 250 % 256, n % 250 + 2)
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
  local addr = ip(j, ds.cfg.ip_net)
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

local function customer_row(ds, ci)
  local c = customer(ds, ci)
  return {
    customerId = c.id, customerName = c.name, streetAddress1 = c.street, streetAddress2 = c.street2,
    streetAddress3 = "null", streetAddress4 = "null", city = c.city, state = c.place[2],
    country = c.place[3], zipCode = c.place[4], theaterCode = c.place[5],
  }
end

-- -----------------------------------------------------------------------------
-- Dataset object

local Dataset = {}
Dataset.__index = Dataset

--- Creates a dataset from normalised options (see `cxcloud.sandbox.config`).
-- @tparam table cfg
-- @treturn table dataset
function data.new(cfg)
  local ds = setmetatable({
    cfg = cfg, seed = cfg.seed, bulletins = cfg.bulletins, models = cfg.models,
    coverage = cfg.coverage, today = rng.days(cfg.today), ids = values.ids(cfg.big_ids),
    custs = {}, extra = {}, additions = {},
  }, Dataset)
  bulletins.build(ds)
  return ds
end

Dataset.fn_number = bulletins.fn_number

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

local catalogue_base, catalogue_row = bulletins.base, bulletins.rows

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
