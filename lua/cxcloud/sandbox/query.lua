--- Query semantics of the sandbox: parameter validation, equality filters, `sort`,
-- `fields`, `page`/`rows`, and the cache of filtered/sorted results.
--
-- Shared by the server and by `sandbox.truth`, so both answer the same way.
-- @module cxcloud.sandbox.query

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

local function positive(name, v, max)
  if type(v) == "number" and math.type(v) == "integer" and v >= 1 then v = tostring(v) end
  if type(v) ~= "string" or not v:match("^[1-9]%d*$") or #v > 10 or tonumber(v) > 2147483647 then
    return nil, string.format("%s must be a positive integer, got '%s'", name, tostring(v))
  end
  local n = math.tointeger(tonumber(v))
  if max and n > max then
    return nil, string.format("%s must not exceed %d, got %d", name, max, n)
  end
  return n
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
    local rows, err2 = positive("rows", params.rows, cfg.max_rows)
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

-- comparison of two sort keys of one kind; nil/NULL first
local function less(a, b)
  if a == nil or a == NULL then return not (b == nil or b == NULL) end
  if b == nil or b == NULL then return false end
  local ta, tb = type(a), type(b)
  if ta == "number" and tb == "number" then return a < b end
  if ta == "string" and tb == "string" then
    if a:match("^%d+$") and b:match("^%d+$") and #a ~= #b then return #a < #b end
    return a < b
  end
  return tostring(a) < tostring(b)
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
    for p = 0, src.count - 1 do
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
        if sf then keys[n] = row[sf] end
      end
      if yield and p % 2000 == 1999 then yield() end
    end
    if sf then
      local desc = q.sort[2]
      local perm = {}
      for i = 1, #idx do perm[i] = i end
      sort(perm, function(a, b)
        local ka, kb = keys[a], keys[b]
        if desc then
          if less(kb, ka) then return true end
          if less(ka, kb) then return false end
        else
          if less(ka, kb) then return true end
          if less(kb, ka) then return false end
        end
        return a < b
      end)
      local sorted = {}
      for i = 1, #perm do sorted[i] = idx[perm[i]] end
      idx = sorted
    end
    if op.name ~= "customers" then cache_put(ds, key, idx) end
  end
  return { total = #idx, row = function(p) return src.row(idx[p + 1]) end }
end

--- A row as the client sees it after JSON decoding: JSON null fields absent, hidden
-- filter attributes dropped, `fields` applied, IDs as strings when `id_type = "string"`.
-- @tparam table op
-- @tparam table row
-- @tparam[opt] table fields
-- @tparam string id_type
-- @treturn table
function query.plain(op, row, fields, id_type)
  local out = {}
  local list = fields or op.field_names
  for _, f in ipairs(list) do
    local v = row[f]
    if v ~= nil and v ~= NULL then
      if op.kind[f] == "id" and id_type == "string" then v = tostring(v) end
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
    out[#out + 1] = query.plain(op, res.row(p), q.fields, ds.cfg.id_type)
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
