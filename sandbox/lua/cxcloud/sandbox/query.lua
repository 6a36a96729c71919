--- Query semantics of the sandbox: parameter validation, equality filters, `sort`,
-- `fields`, `page`/`rows` (within `max_rows` and `rows_over_max`), and the cache of
-- filtered/sorted results.
--
-- Shared by the server and by `sandbox.truth`, so both answer the same way.
-- @module cxcloud.sandbox.query

local config = require "cxcloud.sandbox.config"
local ops = require "cxcloud.sandbox.ops"
local data = require "cxcloud.sandbox.data"

local NULL = data.NULL
local concat, sort = table.concat, table.sort

local query = {}

local PAGING = { page = true, rows = true, sort = true, fields = true }

local function sorted_keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  sort(k)
  return k
end

local function valid_params(op)
  local k = sorted_keys(op.params)
  if not op.params.customerId then table.insert(k, 1, "customerId") end
  for _, p in ipairs({ "page", "rows", "sort", "fields" }) do k[#k + 1] = p end
  return concat(k, ", ")
end

local function fail(status, message)
  return nil, status, message
end

local function positive(name, v)
  if type(v) == "number" and math.type(v) == "integer" and v >= 1 then v = tostring(v) end
  if type(v) ~= "string" or not v:match("^[1-9]%d*$") or #v > 10 or tonumber(v) > 2147483647 then
    return nil, string.format("%s must be a positive integer, got '%s'", name, tostring(v))
  end
  return math.tointeger(tonumber(v))
end

-- The rows a page is served with: `rows` itself up to `max_rows`; above it a 400, or with
-- `rows_over_max = "cap"` `max_rows` (what a service that caps silently sends) up to
-- config.ROWS_LIMIT, the hard cap of every mode.
local function page_rows(cfg, rows)
  local max, cap = cfg.max_rows, cfg.rows_over_max == "cap"
  local limit = cap and config.ROWS_LIMIT or max
  if rows > limit then
    return nil, string.format("rows must be between 1 and %d, got %d%s", limit, rows,
      cap and limit > max and string.format(" (rows above %d are served as pages of %d)", max, max) or "")
  end
  return math.min(rows, max)
end

--- Parses and validates the query parameters of a request.
-- `params` maps names to values (strings from a query string; `fields` may also be a
-- list, numbers are accepted). Returns a query description, or nil, status, message.
-- @tparam table ds dataset
-- @tparam table op operation entry
-- @tparam table params
-- @treturn table|nil `{customer=ci, filters={{name,value}...}, sort={field,desc},
--   fields={...}, page=, rows=, key=}`
-- @treturn integer status (400, 403) on error
-- @treturn string message on error
function query.parse(ds, op, params)
  local cfg = ds.cfg
  local unknown = {}
  for name in pairs(params) do
    if not (op.params[name] or PAGING[name] or name == "customerId") then
      unknown[#unknown + 1] = tostring(name)
    end
  end
  if #unknown > 0 then
    sort(unknown)
    return fail(400, string.format("unknown parameter%s %s for %s; valid parameters: %s",
      #unknown > 1 and "s" or "", "'" .. concat(unknown, "', '") .. "'", op.path, valid_params(op)))
  end
  local q = { filters = {} }
  -- customer scope
  local cid = params.customerId
  if cid ~= nil then cid = tostring(cid) end
  if op.scope == "customer" or (op.scope == "catalogue" and cfg.bulletins_require_customer) then
    if cid == nil or cid == "" then
      return fail(400, "customerId is required for " .. op.path)
    end
  end
  if op.scope ~= "list" and cid ~= nil then
    local ci = ds:customer_index(cid)
    if not ci or not ds:is_entitled(ci) then
      return fail(403, "Customer Id is not associated with the caller: " .. cid)
    end
    q.customer = ci
  end
  -- paging
  if (params.page == nil) ~= (params.rows == nil) then
    return fail(400, "page and rows must be given together")
  end
  if params.page ~= nil then
    local page, err = positive("page", params.page)
    if not page then return fail(400, err) end
    local rows, err2 = positive("rows", params.rows)
    if rows then rows, err2 = page_rows(cfg, rows) end
    if not rows then return fail(400, err2) end
    q.page, q.rows = page, rows
  end
  -- fields
  if params.fields ~= nil then
    local list = params.fields
    if type(list) == "string" then
      local t = {}
      for item in (list .. ","):gmatch("([^,]*),") do t[#t + 1] = item:match("^%s*(.-)%s*$") end
      list = t
    end
    if type(list) ~= "table" or #list == 0 then
      return fail(400, "fields must be a comma-separated list of field names")
    end
    local bad = {}
    for _, f in ipairs(list) do
      if not op.kind[f] then bad[#bad + 1] = "'" .. tostring(f) .. "'" end
    end
    if #bad > 0 then
      return fail(400, string.format("unknown field%s %s in fields for %s; valid fields: %s",
        #bad > 1 and "s" or "", concat(bad, ", "), op.path, concat(op.field_names, ", ")))
    end
    q.fields = list
  end
  -- sort
  if params.sort ~= nil then
    local s = tostring(params.sort)
    if s:find(",") then
      return fail(400, "sort accepts one field only, got '" .. s .. "'")
    end
    local field, dir = s:match("^%s*([%w_]+)%s*:%s*(%a+)%s*$")
    if not field or not (dir:upper() == "ASC" or dir:upper() == "DESC") then
      return fail(400, "sort must be '<field>:ASC' or '<field>:DESC', got '" .. s .. "'")
    end
    if not op.kind[field] then
      return fail(400, string.format("unknown sort field '%s' for %s; valid fields: %s", field,
        op.path, concat(op.field_names, ", ")))
    end
    q.sort = { field, dir:upper() == "DESC" }
  end
  -- filters
  local keys = {}
  for _, name in ipairs(sorted_keys(params)) do
    if op.params[name] then
      local v = params[name]
      q.filters[#q.filters + 1] = { name, tostring(v) }
      keys[#keys + 1] = name .. "=" .. tostring(v)
    end
  end
  q.key = concat(keys, "\0") .. "\1" .. (q.sort and (q.sort[1] .. (q.sort[2] and "-" or "+")) or "")
  return q
end

-- Sort keys as strings whose byte order is the wanted order, so that table.sort runs
-- without a Lua comparator: "\0" for null (first), else "\1" and the value (integers
-- as big-endian bytes with the sign flipped, strings of digits left-padded to 40).
local pack, unpack = string.pack, string.unpack
local MIN = math.mininteger

local function sort_key(v)
  if v == nil or v == NULL then return "\0" end
  if math.type(v) == "integer" then return "\1" .. pack(">I8", v ~ MIN) end
  if type(v) == "number" then return "\1" .. pack(">d", v) end
  v = tostring(v)
  if #v <= 40 and v:find("^%d+$") then return "\2" .. string.rep("0", 40 - #v) .. v end
  return "\3" .. v
end
query.sort_key = sort_key

-- sorts positions by key, stable; desc: keys descending, positions ascending among equals
local function sort_positions(idx, raw, desc)
  local n = #idx
  -- integer keys (IDs) sort as numbers, anything else through sort_key strings; keys are
  -- converted only now: keeping a million fresh strings alive during the scan is slow
  local numeric = true
  for i = 1, n do
    local v = raw[i]
    if v ~= NULL and math.type(v) ~= "integer" then numeric = false break end
  end
  local keys = {}
  if numeric then
    for i = 1, n do
      local v = raw[i]
      keys[i] = v == NULL and MIN or v
    end
  else
    for i = 1, n do keys[i] = sort_key(raw[i]) end
  end
  -- already in key order (IDs grow with the position): no sort
  local ordered = true
  for i = 2, n do
    if keys[i - 1] > keys[i] then ordered = false break end
  end
  if ordered then
    if not desc then return idx end
    local out, i = {}, n
    while i >= 1 do -- groups of equal keys from the end, each in position order
      local j = i
      while j > 1 and keys[j - 1] == keys[i] do j = j - 1 end
      for k = j, i do out[#out + 1] = idx[k] end
      i = j - 1
    end
    return out
  end
  -- few distinct keys (types, families...): buckets
  local buckets, distinct = {}, {}
  for i = 1, n do
    local k = keys[i]
    local b = buckets[k]
    if not b then
      if #distinct >= 4096 then distinct = nil break end
      b = {}
      buckets[k] = b
      distinct[#distinct + 1] = k
    end
    b[#b + 1] = idx[i]
  end
  if distinct then
    sort(distinct)
    local out = {}
    for d = desc and #distinct or 1, desc and 1 or #distinct, desc and -1 or 1 do
      for _, p in ipairs(buckets[distinct[d]]) do out[#out + 1] = p end
    end
    return out
  end
  -- general case: decorated keys sorted by the C comparison of strings
  local dec = {}
  for i = 1, n do
    local k = numeric and pack(">I8", keys[i] ~ MIN) or keys[i]
    dec[i] = k .. pack(">I4", desc and (0xffffffff - idx[i]) or idx[i])
  end
  sort(dec)
  local out = {}
  if desc then
    for i = 1, n do out[i] = 0xffffffff - unpack(">I4", dec[n + 1 - i], -4) end
  else
    for i = 1, n do out[i] = unpack(">I4", dec[i], -4) end
  end
  return out
end

local CACHE_ENTRIES, CACHE_ROWS = 8, 4000000

local function cache_get(ds, key)
  local c = ds.qcache
  if not c then return nil end
  for i, e in ipairs(c) do
    if e.key == key then
      table.remove(c, i)
      table.insert(c, 1, e)
      return e.idx
    end
  end
end

local function cache_put(ds, key, idx)
  local c = ds.qcache or {}
  ds.qcache = c
  table.insert(c, 1, { key = key, idx = idx })
  local total = 0
  for i, e in ipairs(c) do
    total = total + #e.idx
    if i > CACHE_ENTRIES or (i > 1 and total > CACHE_ROWS) then
      for j = #c, i, -1 do c[j] = nil end
      break
    end
  end
end

--- The result of a parsed query: `{total = n, row = function(p)}` over the filtered,
-- sorted rows (0-based positions). Filters and sorts scan the whole source once; the
-- index list is cached (LRU) until the data changes.
-- @tparam table ds dataset
-- @tparam table op operation entry
-- @tparam table q parsed query
-- @tparam[opt] function yield called every few thousand rows of a scan
-- @treturn table
function query.result(ds, op, q, yield)
  local src = ds:source(op.name, q.customer)
  if #q.filters == 0 and not q.sort then
    return { total = src.count, row = src.row }
  end
  local key = table.concat({ op.name, tostring(q.customer), tostring(src.version), tostring(src.count),
    q.key }, "|")
  local idx = op.name ~= "customers" and cache_get(ds, key)
  if not idx then
    idx = {}
    local keys = {}
    local filters, nf = q.filters, #q.filters
    local sf = q.sort and q.sort[1]
    -- a filter on an ID or a serial number narrows the scan to a few candidates
    local cand
    for f = 1, nf do
      local c = ds:candidates(op.name, q.customer, filters[f][1], filters[f][2])
      if c and (not cand or #c < #cand) then cand = c end
    end
    for s = 0, (cand and #cand or src.count) - 1 do
      local p = cand and cand[s + 1] or s
      local row = src.row(p)
      local ok = true
      for f = 1, nf do
        local v = row[filters[f][1]]
        if v == nil or v == NULL or tostring(v) ~= filters[f][2] then
          ok = false
          break
        end
      end
      if ok then
        local n = #idx + 1
        idx[n] = p
        if sf then
          local v = row[sf]
          keys[n] = v == nil and NULL or v
        end
      end
      if yield and s % 2000 == 1999 then yield() end
    end
    if sf then idx = sort_positions(idx, keys, q.sort[2]) end
    if op.name ~= "customers" then cache_put(ds, key, idx) end
  end
  return { total = #idx, row = function(p) return src.row(idx[p + 1]) end }
end

--- A row as the client sees it after JSON decoding: JSON null fields absent, hidden
-- filter attributes dropped, `fields` applied, IDs as strings of their digits (whether
-- the server sends them as JSON numbers or strings).
-- @tparam table op
-- @tparam table row
-- @tparam[opt] table fields
-- @treturn table
function query.plain(op, row, fields)
  local out = {}
  local list = fields or op.field_names
  for _, f in ipairs(list) do
    local v = row[f]
    if v ~= nil and v ~= NULL then
      if op.kind[f] == "id" then v = tostring(v) end
      out[f] = v
    end
  end
  return out
end

--- Items the server would return for a query (all of them, or one page when `page`
-- and `rows` are given), as plain Lua tables. Raises on a bad query, with the message
-- the server would send.
-- @tparam table ds dataset
-- @tparam string opname
-- @tparam table params
-- @treturn table array of items
-- @treturn table pagination `{page, pages, rows, total}`
function query.items(ds, opname, params)
  local op = ops.by_name[opname]
  if not op then
    error("cxcloud.sandbox: unknown operation '" .. tostring(opname) .. "'; valid: " .. ops.names(), 2)
  end
  local q, status, message = query.parse(ds, op, params)
  if not q then error(string.format("cxcloud.sandbox: %d %s", status, message), 2) end
  local res = query.result(ds, op, q)
  local first, last, pag = 0, res.total - 1
  if q.page then
    first = (q.page - 1) * q.rows
    last = math.min(res.total, first + q.rows) - 1
    pag = { page = q.page, pages = (res.total + q.rows - 1) // q.rows, rows = q.rows, total = res.total }
  else
    pag = query.unpaged(res.total)
  end
  local out = {}
  for p = first, last do
    out[#out + 1] = query.plain(op, res.row(p), q.fields)
  end
  return out, pag
end

--- The pagination object of an unpaged (whole result) response:
-- `{page = 1, pages = 1, rows = total, total = total}` (`pages = 0` when empty).
-- @tparam integer total
-- @treturn table
function query.unpaged(total)
  return { page = 1, pages = total > 0 and 1 or 0, rows = total, total = total }
end

return query
