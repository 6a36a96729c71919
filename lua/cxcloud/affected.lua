--- Which devices a bulletin names: a security advisory, a field notice or an end-of-life
-- bulletin, over one, several or every customer, in one call.
--
--    local affected = require "cxcloud.affected"
--    local records, info = affected.build(cx, { advisory = "cisco-sa-...", customers = { id } })
--
-- The bulletin is looked up once (its catalogue, filtered on the ID); then, for each
-- customer (concurrently, `cx:map`): the alert rows that name it (security advisories and
-- field notices filtered on its ID; the end-of-life rows whole, as the API has no filter on
-- their bulletin), and, when some do, the customer's network elements for hostname, IP
-- address, product and software version. A customer that no row names costs one call;
-- one with devices, two (one per page while the rows fit in a page). The customers list
-- (for their names, and for the customers when none are given) is one more call.
--
-- An ID that no bulletin has is a `usage` error whose message suggests the closest ID of
-- the catalogue (`err.suggestion`); the catalogue is pulled whole (IDs only) for that.
-- @module cxcloud.affected

local compat = require "cxcloud.compat"
local errors = require "cxcloud.errors"
local util = require "cxcloud.util"
local report = require "cxcloud.report"

local M = {}

local format, concat = string.format, table.concat

local DEVICE = { "customerId", "customerName", "neInstanceId", "hostname", "ipAddress",
  "productId", "swVersion" }

local function with_device(list)
  local out = {}
  for _, c in ipairs(DEVICE) do out[#out + 1] = c end
  for _, c in ipairs(list) do out[#out + 1] = c end
  return out
end

--- The default columns of a record, per kind ("advisory", "field_notice", "eol").
M.COLUMNS = {
  advisory = with_device { "vulnerabilityStatus", "advisoryId", "bulletinTitle",
    "securityImpactRating" },
  field_notice = with_device { "vulnerabilityStatus", "bulletinNumber", "bulletinTitle",
    "fieldNoticeType" },
  eol = with_device { "eolType", "bulletinNumber", "bulletinTitle", "lastDateOfSupport" },
}

--- Every field a record may have, per kind (the default columns first).
M.FIELDS = {
  advisory = with_device { "vulnerabilityStatus", "advisoryId", "bulletinTitle",
    "securityImpactRating", "vulnerabilityReason", "securityAdvisoryInstanceId", "cveId",
    "cvssBaseScore", "url" },
  field_notice = with_device { "vulnerabilityStatus", "bulletinNumber", "bulletinTitle",
    "fieldNoticeType", "vulnerabilityReason", "url" },
  eol = with_device { "eolType", "bulletinNumber", "bulletinTitle", "lastDateOfSupport",
    "eoSaleDate", "bulletinProductId", "hwEolInstanceId", "swEolInstanceId", "url" },
}

local NE_FIELDS = { "neInstanceId", "hostname", "ipAddress", "productId", "swVersion" }
local STATUS_RANK = { VUL = 3, POTVUL = 2, NOTVUL = 1 }

local function key(v)
  if v == nil then return nil end
  return tostring(v)
end

local function usage(message, fields)
  return errors.new("usage", message, fields)
end

-- What each kind looks up: the catalogues (operation, ID field, the filter an ID gives),
-- the per-customer operation, its fields, and the bulletin's fields copied to a record.
local KINDS = {
  advisory = {
    what = "security advisory", option = "advisory",
    catalogues = { { op = "security_advisory_bulletins", id = "securityAdvisoryInstanceId",
      name = "advisoryId" } },
    rows = { op = "security_advisories", id = "securityAdvisoryInstanceId", filter = true,
      fields = { "neInstanceId", "hwInstanceId", "vulnerabilityStatus", "vulnerabilityReason",
        "securityAdvisoryInstanceId" } },
    copy = { "advisoryId", "securityAdvisoryInstanceId", "bulletinTitle", "securityImpactRating",
      "cveId", "cvssBaseScore", "url" },
  },
  field_notice = {
    what = "field notice", option = "field_notice",
    catalogues = { { op = "field_notice_bulletins", id = "bulletinNumber" } },
    rows = { op = "field_notices", id = "bulletinNumber", filter = true,
      fields = { "neInstanceId", "hwInstanceId", "vulnerabilityStatus", "vulnerabilityReason",
        "bulletinNumber" } },
    copy = { "bulletinNumber", "bulletinTitle", "fieldNoticeType", "url" },
  },
  eol = {
    what = "end-of-life bulletin", option = "eol",
    catalogues = {
      { op = "hardware_eol_bulletins", id = "hwEolInstanceId", name = "bulletinNumber",
        eolType = "hardware",
        rows = { op = "hardware_eol", id = "hwEolInstanceId",
          fields = { "neInstanceId", "hwInstanceId", "hwEolInstanceId" } } },
      { op = "software_eol_bulletins", id = "swEolInstanceId", name = "bulletinNumber",
        eolType = "software",
        rows = { op = "software_eol", id = "swEolInstanceId",
          fields = { "neInstanceId", "swEolInstanceId" } } },
    },
    copy = { "bulletinNumber", "bulletinTitle", "lastDateOfSupport", "eoSaleDate",
      "bulletinProductId", "hwEolInstanceId", "swEolInstanceId", "url" },
  },
}

local OPTIONS = { advisory = true, field_notice = true, eol = true, customers = true, partial = true }

-- the options checked (misuse raises); returns the kind and the ID as a string
local function check(opts)
  if type(opts) ~= "table" then
    errors.raise("usage", "affected.build: expected a table of options {advisory = ID, ...}", nil, 3)
  end
  local names = {}
  for k in pairs(opts) do names[#names + 1] = tostring(k) end
  table.sort(names)
  for _, k in ipairs(names) do
    if not OPTIONS[k] then
      local s = util.suggest(k, util.sorted_keys(OPTIONS))
      errors.raise("usage", format("affected.build: unknown option '%s'%s; valid: %s", k,
        s and format(" (did you mean '%s'?)", s) or "", util.list(util.sorted_keys(OPTIONS))), nil, 3)
    end
  end
  local kind
  for _, k in ipairs { "advisory", "field_notice", "eol" } do
    if opts[k] ~= nil then
      if kind then
        errors.raise("usage", format("affected.build: give one of advisory, field_notice, eol"
          .. " (got %s and %s)", kind, k), nil, 3)
      end
      kind = k
    end
  end
  if not kind then
    errors.raise("usage", "affected.build: give advisory, field_notice or eol (the bulletin's ID)",
      nil, 3)
  end
  local id = opts[kind]
  if type(id) == "number" and compat.tointeger(id) and id >= 0 then
    id = format("%d", compat.tointeger(id))
  end
  if type(id) ~= "string" or not id:find("%S") then
    errors.raise("usage", format("affected.build: %s expects a bulletin ID (a string or an integer),"
      .. " got %s", kind, util.describe(opts[kind], true)), nil, 3)
  end
  id = id:match("^%s*(.-)%s*$")
  if kind == "field_notice" then
    local digits = id:match("^[Ff][Nn]%-?(%d+)$") or id:match("^%d+$")
    if not digits then
      errors.raise("usage", format("affected.build: field_notice expects a field notice number"
        .. " (72510 or FN72510), got '%s'", id), nil, 3)
    end
    id = digits
  end
  local customers = opts.customers
  if customers ~= nil then
    if type(customers) == "string" then customers = { customers } end
    if type(customers) ~= "table" or #customers == 0 then
      errors.raise("usage", "affected.build: customers expects a list of customerIds", nil, 3)
    end
    local list = {}
    for i, c in ipairs(customers) do
      if type(c) ~= "string" and compat.mtype(c) ~= "integer" then
        errors.raise("usage", format("affected.build: customers[%d] is not a customerId (%s)", i,
          util.describe(c, true)), nil, 3)
      end
      list[i] = type(c) == "string" and c or format("%d", c)
    end
    customers = list
  end
  if opts.partial ~= nil and type(opts.partial) ~= "boolean" then
    errors.raise("usage", "affected.build: partial expects a boolean", nil, 3)
  end
  return kind, id, customers
end

-- the filter an ID gives on a catalogue: its numeric ID field, or its name field
local function catalogue_filter(cat, id)
  if id:match("^%d+$") then return { [cat.id] = id } end
  if cat.name then return { [cat.name] = id } end
  return nil
end

-- the catalogue rows that the ID names (each row with `_cat`, its catalogue entry)
local function lookup(cx, spec, id, first_customer)
  local found = {}
  for _, cat in ipairs(spec.catalogues) do
    local filter = catalogue_filter(cat, id)
    if filter then
      local rows, err = report.pull_catalogue(cx, cat.op, nil, first_customer, filter)
      if not rows then return nil, err end
      local field, want = next(filter)
      for _, b in ipairs(rows) do
        -- the filter is checked here too: a service that ignored it gives the whole catalogue
        if key(b[field]) == want then
          b._cat = cat
          found[#found + 1] = b
        end
      end
    end
  end
  return found
end

-- the error for an ID no catalogue has, with the closest ID as a suggestion
local function unknown(cx, spec, id, first_customer)
  local names, count = {}, 0
  for _, cat in ipairs(spec.catalogues) do
    local rows, err = report.pull_catalogue(cx, cat.op, { cat.id, cat.name }, first_customer)
    if not rows then return err end
    count = count + #rows
    for _, b in ipairs(rows) do
      local v = key(b[cat.name or cat.id])
      if v then names[#names + 1] = v end
      if cat.name and b[cat.id] ~= nil then names[#names + 1] = key(b[cat.id]) end
    end
  end
  local suggestion = util.suggest(id, names)
  if not suggestion then
    -- the start of a name ("cisco-sa-iosxe-webui") names it when only one begins so
    local lid, hit = id:lower(), nil
    for _, n in ipairs(names) do
      if #lid >= 6 and n:lower():sub(1, #lid) == lid then
        if hit and hit ~= n then hit = nil break end
        hit = n
      end
    end
    suggestion = hit
  end
  local ops = {}
  for _, cat in ipairs(spec.catalogues) do ops[#ops + 1] = cat.op end
  local shown = spec.option == "field_notice" and ("FN" .. id) or id
  return usage(format("no %s '%s' in %s (%d bulletins)%s", spec.what, shown, concat(ops, " or "),
    count, suggestion and format("; did you mean '%s'?", suggestion) or ""),
    { suggestion = suggestion })
end

-- customerId -> customerName, and the customers in order
local function customer_list(cx)
  local list, err = report.pull(cx, "customers", { "customerId", "customerName" })
  if not list then return nil, err end
  local names, ids = {}, {}
  for _, c in ipairs(list) do
    local id = key(c.customerId)
    if id then
      names[id] = c.customerName
      ids[#ids + 1] = id
    end
  end
  return names, ids
end

-- the alert rows of one customer that name a bulletin: `wanted[op]` = {id field, set of
-- IDs, filter?, fields, catalogue rows by ID}
local function rows_of(view, wanted)
  local out = {}
  for _, w in ipairs(wanted) do
    local ids = {}
    for id in pairs(w.ids) do ids[#ids + 1] = id end
    table.sort(ids)
    -- a filter per ID where the API has one (usually one ID: one small answer), else whole
    local queries = w.filter and ids or { false }
    for _, qid in ipairs(queries) do
      local rows, err = report.pull(view, w.op, w.fields, qid and { [w.id] = qid } or nil)
      if not rows then return nil, err end
      for _, r in ipairs(rows) do
        local b = w.ids[key(r[w.id])]
        if b then out[#out + 1] = { row = r, bulletins = b, cat = w.cat } end
      end
    end
  end
  return out
end

local function copy_bulletin(rec, b, fields)
  for _, f in ipairs(fields) do
    local v = b[f]
    if v ~= nil and rec[f] == nil then rec[f] = v end
  end
end

-- one customer's records: its matching rows joined with its network elements
local function customer_records(cx, id, name, wanted, spec)
  local view = cx:customer(id)
  local hits, err = rows_of(view, wanted)
  if not hits then return nil, err end
  if #hits == 0 then return {} end
  local nes
  nes, err = report.pull(view, "network_elements", NE_FIELDS)
  if not nes then return nil, err end
  -- rows that name only a hardware instance reach their element through hardware
  local ne_of_hw
  for _, h in ipairs(hits) do
    if h.row.neInstanceId == nil and h.row.hwInstanceId ~= nil then ne_of_hw = {} break end
  end
  if ne_of_hw then
    local hw
    hw, err = report.pull(view, "hardware", { "neInstanceId", "hwInstanceId" })
    if not hw then return nil, err end
    for _, x in ipairs(hw) do
      if x.hwInstanceId ~= nil then ne_of_hw[key(x.hwInstanceId)] = key(x.neInstanceId) end
    end
  end
  local by_device, order = {}, {}
  for _, h in ipairs(hits) do
    local ne = key(h.row.neInstanceId) or (ne_of_hw and ne_of_hw[key(h.row.hwInstanceId)])
      or "?"
    local k = ne .. "\0" .. (h.cat.eolType or "")
    local d = by_device[k]
    if not d then
      d = { ne = ne, hits = {} }
      by_device[k] = d
      order[#order + 1] = k
    end
    d.hits[#d.hits + 1] = h
  end
  local ne_rank = {}
  for i, e in ipairs(nes) do
    local k = key(e.neInstanceId)
    if k and not ne_rank[k] then ne_rank[k] = { i, e } end
  end
  -- network elements' order; rows naming an element the inventory lacks come last
  table.sort(order, function(a, b)
    local ra, rb = ne_rank[by_device[a].ne], ne_rank[by_device[b].ne]
    local ia, ib = ra and ra[1] or math.huge, rb and rb[1] or math.huge
    if ia ~= ib then return ia < ib end
    return a < b
  end)
  local out = {}
  for _, k in ipairs(order) do
    local d = by_device[k]
    local e = ne_rank[d.ne] and ne_rank[d.ne][2] or {}
    local first = d.hits[1].row
    local rec = {
      customerId = id, customerName = name, neInstanceId = d.ne ~= "?" and d.ne or nil,
      hostname = e.hostname or first.hostname, ipAddress = e.ipAddress,
      productId = e.productId, swVersion = e.swVersion or first.swVersion,
      eolType = d.hits[1].cat.eolType,
    }
    -- the most severe status of the element's rows (several hardware rows may be named)
    local worst, worst_rank
    for _, h in ipairs(d.hits) do
      local s = h.row.vulnerabilityStatus
      local rank = STATUS_RANK[s] or 0
      if s ~= nil and (not worst or rank > worst_rank) then worst, worst_rank = h.row, rank end
    end
    if worst then
      rec.vulnerabilityStatus, rec.vulnerabilityReason = worst.vulnerabilityStatus,
        worst.vulnerabilityReason
    end
    -- the bulletin's fields; several bulletin rows (one per product of an EoL
    -- announcement) give the earliest last date of support and every product
    local products, seen = {}, {}
    for _, h in ipairs(d.hits) do
      for _, b in ipairs(h.bulletins) do
        copy_bulletin(rec, b, spec.copy)
        if b.lastDateOfSupport and b.lastDateOfSupport < rec.lastDateOfSupport then
          rec.lastDateOfSupport = b.lastDateOfSupport
        end
        local p = b.bulletinProductId
        if p ~= nil and not seen[p] then
          seen[p] = true
          products[#products + 1] = tostring(p)
        end
      end
    end
    if #products > 1 then rec.bulletinProductId = concat(products, ",") end
    out[#out + 1] = rec
  end
  return out
end

--- The devices a bulletin names, over one, several or every customer.
--
-- `opts`: exactly one of `advisory` (a security advisory's `advisoryId`, the `cisco-sa-...`
-- name, or its `securityAdvisoryInstanceId`), `field_notice` (its `bulletinNumber`: 72510 or
-- "FN72510") or `eol` (a hardware or software end-of-life bulletin's `bulletinNumber`, such
-- as "EOL11503", or its `hwEolInstanceId` / `swEolInstanceId`: both catalogues are searched);
-- `customers` (a list of customerIds; default: every customer the client sees); `partial`
-- (true: when some customers fail, the records of the others, with the failures in
-- `info.failed`; default false: any failure is the answer's error).
--
-- Each record is one device (one per device and type for an EoL bulletin that is both):
-- `customerId`, `customerName`, `neInstanceId`, `hostname`, `ipAddress`, `productId`,
-- `swVersion`, and the bulletin's fields (`M.FIELDS[kind]`): for an advisory
-- `vulnerabilityStatus` (the most severe of the device's rows), `advisoryId`,
-- `bulletinTitle`, `securityImpactRating`, ...; for a field notice `bulletinNumber`,
-- `fieldNoticeType`, ...; for an EoL bulletin `eolType` ("hardware" or "software"),
-- `bulletinNumber`, `lastDateOfSupport`, .... Records come by customer, then in the
-- customer's network-element order.
--
-- Misuse (no ID, two IDs, an unknown option) raises a `usage` error.
-- @param cx client
-- @tparam table opts
-- @treturn {table,...}|nil records
-- @treturn table info `{kind, id, bulletins (the catalogue rows), customers (the customerIds
--   searched), names (customerId -> customerName), failed = {{customerId, error}, ...},
--   columns (the default columns), calls (API requests made)}`; or, instead, the error:
--   an unknown ID (`kind` "usage", message with the closest ID, `suggestion`), or a failed
--   pull (with `customerId` for a customer's own)
function M.build(cx, opts)
  local kind, id, given = check(opts)
  local spec = KINDS[kind]
  local calls0 = cx:stats().requests
  local names, all_ids = customer_list(cx)
  if not names then return nil, all_ids end
  local customers = given or all_ids
  if #customers == 0 then
    return nil, errors.new("usage", "the credentials see no customer (customer-details is empty)")
  end
  local found, err = lookup(cx, spec, id, customers[1])
  if not found then return nil, err end
  if #found == 0 then return nil, unknown(cx, spec, id, customers[1]) end
  -- what to look for in each customer's rows: per catalogue, its IDs and their rows
  local wanted, by_cat = {}, {}
  for _, b in ipairs(found) do
    local cat = b._cat
    local w = by_cat[cat]
    if not w then
      local r = cat.rows or spec.rows
      w = { op = r.op, id = r.id, fields = r.fields, filter = r.filter, cat = cat, ids = {} }
      by_cat[cat] = w
      wanted[#wanted + 1] = w
    end
    local bid = key(b[cat.id])
    if bid then
      w.ids[bid] = w.ids[bid] or {}
      table.insert(w.ids[bid], b)
    end
  end
  local results, errs = cx:map(customers, function(cid)
    local recs, e = customer_records(cx, cid, names[cid], wanted, spec)
    if not recs then error(e, 0) end
    return recs
  end)
  local records, failed = {}, {}
  for i, cid in ipairs(customers) do
    local e = errs and errs[i]
    if e ~= nil then
      if not errors.is_error(e) then error(e, 0) end
      e.customerId = cid
      if not opts.partial then return nil, e end
      failed[#failed + 1] = { customerId = cid, error = e }
    else
      for _, r in ipairs(results[i]) do records[#records + 1] = r end
    end
  end
  for _, b in ipairs(found) do b._cat = nil end
  return records, {
    kind = kind, id = id, bulletins = found, customers = customers, names = names,
    failed = failed, columns = M.COLUMNS[kind], calls = cx:stats().requests - calls0,
  }
end

return M
