--- Checking an operation's parameters before any request is sent, and building
-- its query string.
--
-- A params table holds the API's own query parameters (as the API names them,
-- `customerId`, `serialNumber`, ...) plus:
--
--    fields      list of field names, or a comma-separated string
--    sort        "field:ASC" or "field:DESC" (direction case-insensitive; one field)
--    page_size   rows per page (integer 1..1000; default: the client's page_size)
--    max_items   stop after this many items (integer >= 0)
--    start_page  first page to fetch (integer >= 1; resume with `err.page`)
--
-- `page` and `rows` are managed by the query and refused. Enumerated values
-- documented for v1 are not enforced (the v2 values are unverified), and unknown
-- names in `fields`/`sort` are sent as given (the v2 field lists are uncertain).
-- Failures raise error objects of kind "usage".
-- @module cxcloud.params

local errors = require "cxcloud.errors"
local util = require "cxcloud.util"

local M = {}

local format, match, gsub, sub, byte, upper = string.format, string.match,
  string.gsub, string.sub, string.byte, string.upper
local concat, sort = table.concat, table.sort
local mtype, tointeger = math.type, math.tointeger

--- The query options every operation takes besides its API parameters.
M.OPTIONS = { "fields", "sort", "page_size", "max_items", "start_page" }

local PAGE_SIZE_MAX = 1000
M.PAGE_SIZE_MAX = PAGE_SIZE_MAX

local function lua_urlencode(s)
  return (gsub(s, "[^A-Za-z0-9%-._~]", function(c) return format("%%%02X", byte(c)) end))
end

local urlencode = lua_urlencode
do
  local ok, core = pcall(require, "cxcloud.core")
  if ok and type(core) == "table" and core.urlencode then urlencode = core.urlencode end
end
M.urlencode = urlencode

local function usage(msg)
  errors.raise("usage", msg, nil, 4)
end

-- a value shown in a message: strings quoted, escaped and shortened
local function show(v)
  if type(v) == "string" then
    if #v > 60 then v = sub(v, 1, 57) .. "..." end
    return "'" .. errors.escape(v) .. "'"
  end
  return util.describe(v, true)
end

-- per-operation lookup tables, built once
local cache = setmetatable({}, { __mode = "k" })

local function info(op)
  local i = cache[op]
  if i then return i end
  i = { by_name = {}, names = {}, api_names = {} }
  for _, p in ipairs(op.params) do
    i.by_name[p[1]] = p
    i.api_names[#i.api_names + 1] = p[1]
  end
  for k, v in ipairs(i.api_names) do i.names[k] = v end
  for _, o in ipairs(M.OPTIONS) do i.names[#i.names + 1] = o end
  cache[op] = i
  return i
end

local function string_value(opname, name, v)
  local t = type(v)
  if t == "string" then
    if v == "" then usage(format("%s: parameter '%s' must be a non-empty string", opname, name)) end
    return v
  end
  if mtype(v) == "integer" then return format("%d", v) end
  usage(format("%s: parameter '%s' must be a string (got %s)", opname, name, show(v)))
end

local function id_value(opname, name, v)
  if type(v) == "string" then
    if match(v, "^%d+$") then return v end
  elseif type(v) == "number" then
    local i = tointeger(v)
    if i and i >= 0 then return format("%d", i) end
  end
  usage(format("%s: parameter '%s' must be an integer ID: a non-negative integer or a string of "
    .. "digits, e.g. 212334455 or \"212334455\" (got %s)", opname, name, show(v)))
end

local FIELD_NAME = "^[%a_][%w_.%-]*$"

local function fields_value(opname, v)
  local list
  if type(v) == "string" then
    list = {}
    for part in (v .. ","):gmatch("([^,]*),") do list[#list + 1] = part end
  elseif type(v) == "table" then
    list = {}
    for k in pairs(v) do
      if mtype(k) ~= "integer" or k < 1 or k > #v then
        usage(format("%s: 'fields' must be a list of field names or a comma-separated string"
          .. " (the table has a non-list key %s)", opname, show(k)))
      end
    end
    for k = 1, #v do
      if type(v[k]) ~= "string" then
        usage(format("%s: 'fields'[%d] must be a field name string (got %s)", opname, k, show(v[k])))
      end
      list[k] = v[k]
    end
  else
    usage(format("%s: 'fields' must be a list of field names or a comma-separated string"
      .. " such as \"serialNumber,productId\" (got %s)", opname, show(v)))
  end
  local out, seen = {}, {}
  for k = 1, #list do
    local f = match(list[k], "^%s*(.-)%s*$")
    if f == "" then
      usage(format("%s: 'fields' has an empty name (in %s)", opname, show(v)))
    end
    if not match(f, FIELD_NAME) then
      usage(format("%s: 'fields' entry %s is not a field name (letters, digits, '_', '.', '-';"
        .. " no spaces)", opname, show(f)))
    end
    if not seen[f] then
      seen[f] = true
      out[#out + 1] = f
    end
  end
  if #out == 0 then usage(format("%s: 'fields' must name at least one field", opname)) end
  return concat(out, ",")
end

local function sort_value(opname, v)
  if type(v) ~= "string" then
    usage(format("%s: 'sort' must be a string \"field:ASC\" or \"field:DESC\" (got %s)", opname, show(v)))
  end
  local field, dir = match(v, "^%s*([^:%s,]+)%s*:%s*(%a+)%s*$")
  dir = dir and upper(dir)
  if not field or (dir ~= "ASC" and dir ~= "DESC") or not match(field, FIELD_NAME) then
    usage(format("%s: 'sort' must be \"field:ASC\" or \"field:DESC\", on exactly one field,"
      .. " e.g. \"serialNumber:ASC\" (got %s)", opname, show(v)))
  end
  return field .. ":" .. dir
end

local function int_option(opname, name, v, lo, hi)
  local i = mtype(v) == "integer" and v or (type(v) == "number" and tointeger(v))
  if not i or i < lo or (hi and i > hi) then
    usage(format("%s: '%s' must be an integer %s (got %s)", opname, name,
      hi and format("from %d to %d", lo, hi) or format(">= %d", lo), show(v)))
  end
  return i
end

--- Check `p` for operation `op` and build the request plan.
-- @tparam table op an entry of `cxcloud.operations`
-- @tparam table|nil p the user's params
-- @tparam table defaults `{ page_size = n }` (the client's settings)
-- @tparam[opt] string customer customerId fixed by a customer view
-- @treturn table plan `{ op, query (encoded, sorted, no page/rows), page_size,
--   max_items, start_page, customer_id }`
function M.check(op, p, defaults, customer)
  local opname = op.name
  if p == nil then p = {} end
  if type(p) ~= "table" then
    usage(format("%s expects a table of parameters, e.g. cx:%s{ customerId = \"abc123def\" } (got %s)",
      opname, opname, show(p)))
  end
  local i = info(op)
  local plan = { op = op, page_size = defaults and defaults.page_size or 100, start_page = 1 }
  local q = {}
  for k, v in pairs(p) do
    if type(k) ~= "string" then
      usage(format("%s: parameter names must be strings (got %s key); valid: %s",
        opname, util.describe(k, true), util.list(i.names)))
    end
    local spec = i.by_name[k]
    if spec then
      if spec[2] == "id" then q[k] = id_value(opname, k, v)
      else q[k] = string_value(opname, k, v) end
    elseif k == "fields" then q.fields = fields_value(opname, v)
    elseif k == "sort" then q.sort = sort_value(opname, v)
    elseif k == "page_size" then plan.page_size = int_option(opname, k, v, 1, PAGE_SIZE_MAX)
    elseif k == "max_items" then plan.max_items = int_option(opname, k, v, 0)
    elseif k == "start_page" then plan.start_page = int_option(opname, k, v, 1)
    elseif k == "page" or k == "rows" then
      usage(format("%s: '%s' is managed by the query; use start_page (first page to fetch) and"
        .. " page_size (rows per page) instead", opname, k))
    else
      local s = util.suggest(k, i.names)
      usage(format("unknown parameter '%s' for %s%s; valid: %s", errors.escape(k), opname,
        s and format(" (did you mean '%s'?)", s) or "", util.list(i.names)))
    end
  end
  if customer ~= nil then
    if q.customerId and q.customerId ~= customer then
      usage(format("%s: this customer view is for customerId %s; do not pass another customerId (%s)",
        opname, show(customer), show(p.customerId)))
    end
    if not i.by_name.customerId then
      usage(format("%s does not take a customerId; call it on the client, not on a customer view",
        opname))
    end
    q.customerId = customer
  end
  if op.customer_id == "required" and not q.customerId then
    usage(format("%s requires customerId (a CX Cloud customer identifier), e.g."
      .. " cx:%s{ customerId = \"abc123def\" } or cx:customer(\"abc123def\"):%s()",
      opname, opname, opname))
  end
  plan.customer_id = q.customerId
  plan.query = M.encode(q)
  return plan
end

--- Encode a table of parameters as a query string: keys sorted, values
-- percent-encoded. Values may be strings, numbers, booleans, or lists of them
-- (joined with commas).
-- @tparam table|nil t
-- @treturn string "a=1&b=x%20y" (empty string for no parameters)
function M.encode(t)
  if t == nil then return "" end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      usage(format("query parameter names must be strings (got %s key)", util.describe(k, true)))
    end
    keys[#keys + 1] = k
  end
  sort(keys)
  local b = {}
  for n = 1, #keys do
    local k = keys[n]
    local v = t[k]
    local tv = type(v)
    if tv == "table" then
      local parts = {}
      for j = 1, #v do
        if type(v[j]) ~= "string" and type(v[j]) ~= "number" then
          usage(format("query parameter '%s'[%d] must be a string or a number (got %s)",
            errors.escape(k), j, show(v[j])))
        end
        parts[j] = tostring(v[j])
      end
      v = concat(parts, ",")
    elseif mtype(v) == "float" and tointeger(v) then
      v = format("%d", tointeger(v))
    elseif tv == "number" or tv == "boolean" then
      v = tostring(v)
    elseif tv ~= "string" then
      usage(format("query parameter '%s' must be a string, number, boolean or list (got %s)",
        errors.escape(k), show(v)))
    end
    v = urlencode(v)
    if k == "fields" or k == "sort" then
      -- keep the separators literal, as the API documents them ("fields=a,b", "sort=f:ASC");
      -- the names themselves were checked to need no encoding
      v = gsub(gsub(v, "%%2C", ","), "%%3A", ":")
    end
    b[n] = urlencode(k) .. "=" .. v
  end
  return concat(b, "&")
end

return M
