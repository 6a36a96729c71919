--- Deterministic data generator for the sandbox.
--
-- A dataset is a pure function of the normalised options (seed, sizes, id style) plus
-- the list of mutations made since (drift: rows added, rows removed, values changed).
-- Rows are produced by index on demand, so serving a page of a 1,000,000-row inventory
-- costs the same as serving a page of a 40-row one.
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
-- or lo down (whole devices prepended), removals move hi down or lo up, and all
-- operations follow consistently. Contracts and the bulletin catalogues are index
-- ranges [lo, hi) of their own.
--
-- Changes alter field values, never identities: a row is the k-th entry of its
-- operation (an absolute index, unmoved by additions and removals), and a change raises
-- that entry's generation g; the builder derives the changed values from g. Changes of a
-- device (its software version, its host name) are kept per device `j`, so every row
-- derived from the device follows. What changes, per operation (`Dataset:change`):
--
--   customers                   customerName
--   hardware                    swVersion of chassis rows (a device upgrade: the
--                               network element's swVersion, sysDescr and imageName,
--                               its software_eol swVersion and its security advisories'
--                               vulnerabilityReason follow)
--   network_elements            hostname and sysName (a rename: the hidden `hostname`
--                               filter attribute of the device's alert rows follows)
--   software_eol                swVersion (a device upgrade, as for hardware)
--   contracts                   contractEndDate (a renewal; coverage rows keep theirs)
--   coverage                    coverageEndDate
--   not_covered                 warrantyEndDate
--   field_notices               vulnerabilityStatus and vulnerabilityReason
--   security_advisories         vulnerabilityStatus and vulnerabilityReason
--   hardware_eol                nextHwEolMilestoneDate (currentHwEolMilestoneDate when
--                               there is no next milestone)
--   field_notice_bulletins      bulletinLastUpdated
--   security_advisory_bulletins bulletinVersion and bulletinLastUpdated
--   hardware_eol_bulletins      bulletinTitle
--   software_eol_bulletins      bulletinTitle
--
-- Customer names elsewhere (bill-to names on contracts and coverage) keep the original.
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
local S_CHANGE = 111

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
  c.contract_lo, c.contract_hi = 0, c.base_contracts
  build_templates(ds, c)
  build_cycle(ds, c)
  c.lo, c.hi = 0, config.size(ds.cfg, "hardware", ci)
  c.version = 0
  -- changes: generations per operation and entry index, per device, and their counter
  c.changed, c.upgraded, c.renamed, c.changes = {}, {}, {}, 0
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

-- a device's host name, and its software version, after the changes made to it
local function hostname(c, t, j)
  local name = fmt("%s-%s%s", t.site.code, t.fam.role, j >= 0 and fmt("%04d", j + 1) or fmt("x%04d", -j))
  local g = c.renamed[j]
  return g and fmt("%s-r%d", name, g) or name
end

local function sw_version(c, t, j)
  local g = c.upgraded[j]
  return g and fmt("%s.%d", t.version, g) or t.version
end

-- an entry's change generation (0: unchanged)
local function generation(c, opname, k)
  local m = c.changed[opname]
  return m and m[k] or 0
end

local function shift_date(s, days)
  return rng.date(rng.days(s) + days)
end

-- a copy of a row with every value its own, for a change that overrides a static field:
-- the JSON encoder plans a row's output once per static table, from the fields the first
-- such row holds itself, so rows sharing a static table must hold the same fields
local function detach(row)
  local t = {}
  for k, v in pairs(getmetatable(row).__index) do t[k] = v end
  for k, v in pairs(row) do t[k] = v end
  return t
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
  if at.comp.chassis and c.upgraded[j] then
    row = detach(row)
    row.swVersion = sw_version(c, t, j)
  end
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
  local name = hostname(c, t, j)
  local addr = ip(j, ds.cfg.ip_net)
  row.hostname = name
  if c.upgraded[j] then
    row = detach(row)
    local v = sw_version(c, t, j)
    row.swVersion, row.imageName = v, fmt(t.fam.image, v)
    row.sysDescr = t.ne.sysDescr:sub(1, #t.ne.sysDescr - #t.version) .. v
  end
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
-- the statuses a changed field notice row takes (each differs from the one before)
local VUL_NEXT = { VUL = { "POTVUL", "VUL" }, POTVUL = { "NOTVUL", "POTVUL" },
  NOTVUL = { "VUL", "NOTVUL" } }
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
  local row = setmetatable({
    serialNumber = serial(c, i, t.fam), orderShipDate = shipped, warrantyStartDate = shipped,
    warrantyEndDate = rng.date(ship + 364), neInstanceId = ne,
    serviceLineId = tostring(990000000 + i % 9999999),
  }, mt)
  local g = generation(c, "coverage", k)
  if g > 0 then
    row = detach(row)
    row.coverageEndDate = shift_date(row.coverageEndDate, 365 * g)
  end
  return row
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
  local g = generation(c, "not_covered", k)
  return setmetatable({
    serialNumber = serial(c, i, t.fam), orderShipDate = shipped, warrantyStartDate = shipped,
    warrantyEndDate = rng.date(ship + (e.lifetime and 365 * 5 or 364) + 365 * g),
    neInstanceId = ne,
  }, mt)
end

function builders.field_notices(ds, c, k)
  local cyc, e = entry_at(c, "field_notices", k)
  local i = cyc * c.Q + e.off
  local j, t, ne = device_ref(ds, c, cyc, e)
  local status = pick(h(ds.seed, S_ROW + 1, c.index, k), VUL)
  local g = generation(c, "field_notices", k)
  if g > 0 then status = VUL_NEXT[status][(g - 1) % 2 + 1] end
  return {
    neInstanceId = ne, managedNeInstanceId = ne, vulnerabilityStatus = status,
    vulnerabilityReason = VUL_REASON[status], hwInstanceId = ds.ids.hw(c.index, i),
    bulletinNumber = ds:fn_number(e.k),
    hostname = hostname(c, t, j), swType = t.fam.sw,
  }
end

function builders.hardware_eol(ds, c, k)
  local cyc, e = entry_at(c, "hardware_eol", k)
  local i = cyc * c.Q + e.off
  local j, t, ne = device_ref(ds, c, cyc, e)
  local b = ds.hweol[e.b + 1]
  local row = {
    neInstanceId = ne, managedNeInstanceId = ne, hwType = e.comp.hwType,
    currentHwEolMilestone = b.current, nextHwEolMilestone = b.next,
    hwInstanceId = ds.ids.hw(c.index, i), productId = e.comp.static.productId,
    currentHwEolMilestoneDate = b.current_date, nextHwEolMilestoneDate = b.next_date,
    hwEolInstanceId = ds.ids.hweol(e.b),
    hostname = hostname(c, t, j),
  }
  local g = generation(c, "hardware_eol", k)
  if g > 0 then
    local f = b.next_date ~= NULL and "nextHwEolMilestoneDate" or "currentHwEolMilestoneDate"
    row[f] = shift_date(row[f], 30 * g)
  end
  return row
end

function builders.software_eol(ds, c, k)
  local cyc, e = entry_at(c, "software_eol", k)
  local j, t, ne = device_ref(ds, c, cyc, e)
  local b = ds.sweol[e.b + 1]
  return {
    neInstanceId = ne, managedNeInstanceId = ne, swType = t.fam.sw,
    currentSwEolMilestone = b.current, nextSwEolMilestone = b.next, swVersion = sw_version(c, t, j),
    currentSwEolMilestoneDate = b.current_date, nextSwEolMilestoneDate = b.next_date,
    swEolInstanceId = ds.ids.sweol(e.b),
    hostname = hostname(c, t, j),
  }
end

function builders.security_advisories(ds, c, k)
  local cyc, e = entry_at(c, "security_advisories", k)
  local i = cyc * c.Q + e.off
  local j, t, ne = device_ref(ds, c, cyc, e)
  local status = below(h(ds.seed, S_ROW + 2, c.index, k), 3) == 0 and "POTVUL" or "VUL"
  if generation(c, "security_advisories", k) % 2 == 1 then
    status = status == "VUL" and "POTVUL" or "VUL"
  end
  return {
    neInstanceId = ne, managedNeInstanceId = ne, hwInstanceId = ds.ids.hw(c.index, i),
    vulnerabilityStatus = status, vulnerabilityReason = fmt(SA_REASON[status], sw_version(c, t, j)),
    securityAdvisoryInstanceId = ds.ids.sa(e.k),
    hostname = hostname(c, t, j), swType = t.fam.sw,
  }
end

function builders.contracts(ds, c, m)
  local k = contract(ds, c, m)
  local row = {}
  for _, f in ipairs(ops.by_name.contracts.fields) do row[f[1]] = k[f[1]] end
  local g = generation(c, "contracts", m)
  if g > 0 then row.contractEndDate = shift_date(row.contractEndDate, 365 * g) end
  return row
end

local function customer_row(ds, ci)
  local c = customer(ds, ci)
  local g = ds.renamed[ci]
  return {
    customerId = c.id,
    customerName = g and fmt("%s Group%s", c.name, g > 1 and " " .. g or "") or c.name,
    streetAddress1 = c.street, streetAddress2 = c.street2,
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
    custs = {}, cat = {}, additions = {}, mutations = {}, renamed = {}, changes = 0,
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

-- a bulletin catalogue's range of indexes [lo, hi), its version (for the query cache) and
-- its changes (generation per index, and their counter)
local function catalogue(ds, opname)
  local r = ds.cat[opname]
  if not r then
    r = { lo = 0, hi = catalogue_base[opname](ds), version = 0, changed = {}, changes = 0 }
    ds.cat[opname] = r
  end
  return r
end

local CATALOGUE_CHANGE = {
  field_notice_bulletins = function(row, g)
    row.bulletinLastUpdated = shift_date(row.bulletinLastUpdated, 30 * g)
  end,
  security_advisory_bulletins = function(row, g)
    row.bulletinVersion = fmt("%d.0", math.tointeger(tonumber(row.bulletinVersion:match("^%d+"))) + g)
    local d = row.bulletinLastUpdated
    row.bulletinLastUpdated = shift_date(d:sub(1, 10), 30 * g) .. d:sub(11)
  end,
}
local function revised_title(row, g) row.bulletinTitle = fmt("%s (revision %d)", row.bulletinTitle, g) end
CATALOGUE_CHANGE.hardware_eol_bulletins = revised_title
CATALOGUE_CHANGE.software_eol_bulletins = revised_title

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
    local r = catalogue(self, opname)
    local f, patch, lo = catalogue_row[opname], CATALOGUE_CHANGE[opname], r.lo
    return { count = r.hi - r.lo, version = r.version, row = function(p)
      local row = f(self, lo + p)
      local g = r.changed[lo + p]
      if g then patch(row, g) end
      return row
    end }
  end
  local c = customer(self, ci)
  if opname == "contracts" then
    local lo = c.contract_lo
    return { count = c.contract_hi - lo, version = c.version,
      row = function(p) return builders.contracts(self, c, lo + p) end }
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

-- checks a mutation's arguments (raising with the control request's name) and records it
local function record(ds, kind, opname, ci, count, at)
  local req = kind .. "_rows"
  if not ops.by_name[opname] then
    error(req .. ": unknown operation '" .. tostring(opname) .. "'; valid: " .. ops.names(), 0)
  end
  if math.type(count) ~= "integer" or count < 0 then
    error(req .. ": count must be a non-negative integer", 0)
  end
  if at ~= nil and at ~= "end" and at ~= "start" then
    error(req .. ': at must be "end" or "start"', 0)
  end
  if opname == "customers" and kind ~= "change" then
    error(req .. ": customers are neither added nor removed", 0)
  end
  local m = { kind = kind, op = opname, count = count, at = kind ~= "change" and (at or "end") or nil }
  if ops.by_name[opname].scope == "customer" then
    if type(ci) ~= "number" then error(req .. ": customerId is required for " .. opname, 0) end
    local c = customer(ds, ci)
    m.customerId = c.id
    -- refused before it is recorded: a restart replays what was recorded
    if kind == "add" and count > 0 and c.E[opname] and c.E[opname].A == 0 then
      error("add_rows: this customer's devices never produce " .. opname .. " rows", 0)
    end
  end
  ds.mutations[#ds.mutations + 1] = m
  if kind == "add" then
    ds.additions[#ds.additions + 1] = { op = m.op, customerId = m.customerId, count = count, at = m.at }
  end
  return m
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
  at = record(self, "add", opname, ci, count, at).at
  if catalogue_base[opname] then
    local r = catalogue(self, opname)
    r.hi, r.version = r.hi + count, r.version + 1
    return count
  end
  local c = customer(self, ci)
  if count == 0 then return 0 end
  c.version = c.version + 1
  if opname == "contracts" then
    c.contract_hi = c.contract_hi + count
    return count
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

-- smallest device boundary above hardware index x
local function device_next(c, x)
  local cyc, off = x // c.Q, x % c.Q
  for d = 0, c.D - 1 do
    if c.prefix[d] > off then return cyc * c.Q + c.prefix[d] end
  end
  return (cyc + 1) * c.Q
end

--- Removes rows (drift), mirroring `add`. For `hardware`, exactly `count` rows (fewer
-- when fewer are left); for other per-customer operations, the hardware inventory loses
-- the fewest whole devices that take at least `count` rows of that operation with them,
-- so every operation stays consistent; `contracts` and the bulletin catalogues shrink by
-- exactly `count` (never below 0). `at = "end"` (default) takes the last rows, `"start"`
-- the first ones (shifting every later row: pages already read move).
-- @tparam string opname
-- @tparam[opt] integer ci customer index (per-customer operations)
-- @tparam integer count
-- @tparam[opt] string at "end" (default) or "start"
-- @treturn integer rows actually removed from that operation
function Dataset:remove(opname, ci, count, at)
  at = record(self, "remove", opname, ci, count, at).at
  local r = catalogue_base[opname] and catalogue(self, opname)
  if opname == "contracts" then
    local c = customer(self, ci)
    r = { lo = c.contract_lo, hi = c.contract_hi }
    local n = math.min(count, r.hi - r.lo)
    if at == "start" then c.contract_lo = r.lo + n else c.contract_hi = r.hi - n end
    if n > 0 then c.version = c.version + 1 end
    return n
  end
  if r then
    local n = math.min(count, r.hi - r.lo)
    if at == "start" then r.lo = r.lo + n else r.hi = r.hi - n end
    if n > 0 then r.version = r.version + 1 end
    return n
  end
  local c = customer(self, ci)
  local before = count_upto(c, opname, c.hi) - count_upto(c, opname, c.lo)
  if count == 0 or before == 0 then return 0 end
  c.version = c.version + 1
  if count >= before then
    if at == "end" then c.hi = c.lo else c.lo = c.hi end
  elseif opname == "hardware" then
    if at == "end" then c.hi = c.hi - count else c.lo = c.lo + count end
  elseif at == "end" then
    -- the largest device boundary x > lo with at most before - count rows in [lo, x)
    local target = count_upto(c, opname, c.hi) - count
    local A = c.E[opname].A
    local x = device_floor(c, c.hi)
    while x > c.lo and count_upto(c, opname, x) > target do
      local cycles = (count_upto(c, opname, x) - target) // A - 1
      if cycles > 0 then x = x - cycles * c.Q else x = device_floor(c, x - 1) end
    end
    c.hi = math.max(x, c.lo)
  else
    -- the smallest device boundary x >= lo with at least `count` rows in [lo, x)
    local target = count_upto(c, opname, c.lo) + count
    local A = c.E[opname].A
    local x = device_floor(c, c.lo) == c.lo and c.lo or device_next(c, c.lo)
    while x < c.hi and count_upto(c, opname, x) < target do
      local cycles = (target - count_upto(c, opname, x)) // A - 1
      if cycles > 0 then x = x + cycles * c.Q else x = device_next(c, x) end
    end
    c.lo = math.min(x, c.hi)
  end
  return before - (count_upto(c, opname, c.hi) - count_upto(c, opname, c.lo))
end

-- The fields that `change` alters, per operation (see the module description).
local CHANGED_FIELDS = {
  customers = { "customerName" }, hardware = { "swVersion" },
  network_elements = { "hostname", "sysName" }, software_eol = { "swVersion" },
  contracts = { "contractEndDate" }, coverage = { "coverageEndDate" },
  not_covered = { "warrantyEndDate" },
  field_notices = { "vulnerabilityStatus", "vulnerabilityReason" },
  security_advisories = { "vulnerabilityStatus", "vulnerabilityReason" },
  hardware_eol = { "nextHwEolMilestoneDate", "currentHwEolMilestoneDate" },
  field_notice_bulletins = { "bulletinLastUpdated" },
  security_advisory_bulletins = { "bulletinVersion", "bulletinLastUpdated" },
  hardware_eol_bulletins = { "bulletinTitle" }, software_eol_bulletins = { "bulletinTitle" },
}
data.CHANGED_FIELDS = CHANGED_FIELDS

-- `count` distinct positions of 0..n-1 spread evenly from a start drawn from the seed,
-- the customer and its change counter
local function spread(ds, ci, counter, n, count)
  local out = {}
  count = math.min(count, n)
  if count == 0 then return out end
  local start = below(h(ds.seed, S_CHANGE, ci, counter), n)
  for q = 0, count - 1 do out[q + 1] = (start + q * n // count) % n end
  return out
end

-- a row's natural key, values as strings
local function key_of(opname, row)
  local t = {}
  for _, f in ipairs(ops.by_name[opname].key) do t[f] = tostring(row[f]) end
  return t
end

local function bump(map, k)
  local g = (map[k] or 0) + 1
  map[k] = g
  return g
end

--- Changes field values of `count` rows of an operation (fewer when it has fewer),
-- chosen deterministically, spread over its rows; identities (keys and ID fields) never
-- change. `hardware` changes chassis rows only (device upgrades), `software_eol` upgrades
-- the rows' devices, `network_elements` renames devices: rows of other operations
-- derived from a changed device follow (see the module description). `customers`
-- chooses among all customers, entitled or not.
-- @tparam string opname
-- @tparam[opt] integer ci customer index (per-customer operations)
-- @tparam integer count
-- @treturn table the changed rows' keys (`{field = value as a string}`), in row order
-- @treturn table the fields that change (`data.CHANGED_FIELDS[opname]`)
function Dataset:change(opname, ci, count)
  record(self, "change", opname, ci, count)
  local keys = {}
  if opname == "customers" then
    self.changes = self.changes + 1
    for _, p in ipairs(spread(self, 0, self.changes, self.cfg.customers, count)) do
      bump(self.renamed, p + 1)
      keys[#keys + 1] = { customerId = customer(self, p + 1).id }
    end
  elseif catalogue_base[opname] then
    local r = catalogue(self, opname)
    r.changes = r.changes + 1
    local ps = spread(self, rng.hash_string(opname), r.changes, r.hi - r.lo, count)
    if #ps > 0 then r.version = r.version + 1 end
    table.sort(ps)
    for _, p in ipairs(ps) do
      bump(r.changed, r.lo + p)
      keys[#keys + 1] = key_of(opname, catalogue_row[opname](self, r.lo + p))
    end
  else
    local c = customer(self, ci)
    c.changes = c.changes + 1
    -- hardware changes chassis rows: choose among devices (network elements)
    local among = opname == "hardware" and "network_elements" or opname
    local src = self:source(among, ci)
    local first = opname == "contracts" and c.contract_lo or count_upto(c, among, c.lo)
    local ps = spread(self, ci, c.changes, src.count, count)
    table.sort(ps)
    if #ps > 0 then c.version = c.version + 1 end
    c.changed[opname] = c.changed[opname] or {}
    for _, p in ipairs(ps) do
      local k = first + p
      if opname == "hardware" then
        bump(c.upgraded, k)
        keys[#keys + 1] = { hwInstanceId = tostring(self.ids.hw(ci, chassis_index(c, k))) }
      elseif opname == "network_elements" then
        bump(c.renamed, k)
      elseif opname == "software_eol" then
        local cyc, e = entry_at(c, opname, k)
        bump(c.upgraded, cyc * c.D + e.d)
      else
        bump(c.changed[opname], k)
      end
      if opname ~= "hardware" then keys[#keys + 1] = key_of(opname, builders[opname](self, c, k)) end
    end
  end
  return keys, CHANGED_FIELDS[opname]
end

--- Replays a list of mutations (as recorded in `ds.mutations` or given in the option
-- `mutations`); an entry without `kind` is an addition (the option `additions`).
-- @tparam table list array of `{kind = "add"|"remove"|"change", op=, customerId=, count=, at=}`
function Dataset:replay(list)
  for _, a in ipairs(list or {}) do
    local ci = a.customerId and (type(a.customerId) == "number" and a.customerId
      or self:customer_index(a.customerId))
    local count = math.tointeger(a.count) or a.count
    local kind = a.kind or "add"
    if kind == "add" then
      self:add(a.op, ci, count, a.at)
    elseif kind == "remove" then
      self:remove(a.op, ci, count, a.at)
    elseif kind == "change" then
      self:change(a.op, ci, count)
    else
      error("unknown mutation kind '" .. tostring(kind) .. '\'; valid: "add", "remove", "change"', 0)
    end
  end
end

--- The customer table for index `ci` (internal structures; for tests and tools).
-- @tparam integer ci
-- @treturn table
function Dataset:customer(ci)
  return customer(self, ci)
end

return data
