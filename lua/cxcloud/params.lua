--- Checking a query's parameters before any request is sent, and building its
-- request plan (path and query string).
--
-- Two entries, one plan builder: `check` (a named operation: only the parameters its
-- table lists, typed) and `free` (`cx:query(path, params)`: any parameter, sent as
-- given, for an operation our table lacks or describes wrongly).
--
-- A params table holds the API's own query parameters (as the API names them,
-- `customerId`, `serialNumber`, ...) plus:
--
--    fields      list of field names, or a comma-separated string
--    sort        "field:ASC" or "field:DESC" (direction case-insensitive; one field)
--    page_size   rows per page (integer 1..10000, or "auto"; default: the client's page_size)
--    max_items   stop after this many items (integer >= 0)
--    start_page  first page to fetch (integer >= 1; resume with `err.page`)
--
-- `page` and `rows` are managed by the query and refused. Enumerated values
-- documented for v1 are not enforced (the v2 values are unverified), and unknown
-- names in `fields`/`sort` are sent as given (the v2 field lists are uncertain).
-- Failures raise error objects of kind "usage"; an unknown parameter's says how to
-- send it anyway with `cx:query`.
-- @module cxcloud.params

local compat = require "cxcloud.compat"
local errors = require "cxcloud.errors"
local util = require "cxcloud.util"

local M = {}

local format, match, gsub, sub, byte, upper, find = string.format, string.match,
  string.gsub, string.sub, string.byte, string.upper, string.find
local concat, sort = table.concat, table.sort
local mtype, tointeger = compat.mtype, compat.tointeger

--- The query options every operation takes besides its API parameters.
M.OPTIONS = { "fields", "sort", "page_size", "max_items", "start_page" }

local PAGE_SIZE_MAX = 10000
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

local function int_option(opname, name, v, lo, hi, also)
  local i = mtype(v) == "integer" and v or (type(v) == "number" and tointeger(v))
  if not i or i < lo or (hi and i > hi) then
    usage(format("%s: '%s' must be %san integer %s (got %s)", opname, name, also or "",
      hi and format("from %d to %d", lo, hi) or format(">= %d", lo), show(v)))
  end
  return i
end

-- the options every query takes, with the same checks on a named operation and on
-- cx:query: true when `k` is one (and it went into `plan` or `q`)
local function take_option(label, plan, q, k, v)
  if k == "fields" then q.fields = fields_value(label, v)
  elseif k == "sort" then q.sort = sort_value(label, v)
  elseif k == "page_size" then
    plan.page_size = v == "auto" and v or int_option(label, k, v, 1, PAGE_SIZE_MAX, '"auto" or ')
  elseif k == "max_items" then plan.max_items = int_option(label, k, v, 0)
  elseif k == "start_page" then plan.start_page = int_option(label, k, v, 1)
  elseif k == "page" or k == "rows" then
    usage(format("%s: '%s' is managed by the query; use start_page (first page to fetch) and"
      .. " page_size (rows per page) instead", label, k))
  else
    return false
  end
  return true
end

local function id_text(v)
  if mtype(v) == "integer" then return format("%d", v) end
  return v
end

-- The one way a plan is filled, for a named operation and for cx:query alike: the
-- options, then every other parameter through `param_value(k, v)` (the operation's
-- checks, or "as given"), then the view's customerId. Returns the parameters to encode.
local function build(label, plan, p, customer, param_value, names)
  local q = {}
  for k, v in pairs(p) do
    if type(k) ~= "string" or k == "" then
      usage(format("%s: parameter names must be non-empty strings (got %s)%s", label,
        type(k) == "string" and "''" or (util.describe(k, true) .. " key"),
        names and ("; valid: " .. util.list(names)) or ""))
    end
    if not take_option(label, plan, q, k, v) then q[k] = param_value(k, v) end
  end
  if customer ~= nil then
    if q.customerId ~= nil and id_text(q.customerId) ~= customer then
      usage(format("%s: this customer view is for customerId %s; do not pass another customerId (%s)",
        label, show(customer), show(p.customerId)))
    end
    q.customerId = customer
  end
  return q
end

local function new_plan(path, operation, defaults)
  return { path = path, operation = operation,
    page_size = defaults and defaults.page_size or "auto", start_page = 1 }
end

local function finish(label, plan, q)
  if plan.page_size == "auto" and plan.start_page ~= 1 then
    usage(format("%s: start_page %d needs a fixed page_size (the page_size of the pull it"
      .. " resumes: err.page_size), not \"auto\"", label, plan.start_page))
  end
  plan.customer_id = q.customerId and id_text(q.customerId)
  plan.query = M.encode(q)
  return plan
end

local function params_table(label, p, example)
  if p == nil then return {} end
  if type(p) ~= "table" then
    usage(format("%s expects a table of parameters, e.g. %s (got %s)", label, example, show(p)))
  end
  return p
end

--- Check `p` for operation `op` and build the request plan.
-- @tparam table op an entry of `cxcloud.operations`
-- @tparam table|nil p the user's params
-- @tparam table defaults `{ page_size = n }` (the client's settings)
-- @tparam[opt] string customer customerId fixed by a customer view
-- @treturn table plan `{ path, operation, op, query (encoded, sorted, no page/rows),
--   page_size, max_items, start_page, customer_id }`
function M.check(op, p, defaults, customer)
  local opname = op.name
  p = params_table(opname, p, format("cx:%s{ customerId = \"abc123def\" }", opname))
  local i = info(op)
  if customer ~= nil and not i.by_name.customerId then
    usage(format("%s does not take a customerId; call it on the client, not on a customer view",
      opname))
  end
  local plan = new_plan(op.path, opname, defaults)
  plan.op = op
  local q = build(opname, plan, p, customer, function(k, v)
    local spec = i.by_name[k]
    if spec then
      if spec[2] == "id" then return id_value(opname, k, v) end
      return string_value(opname, k, v)
    end
    local s = util.suggest(k, i.names)
    usage(format("unknown parameter '%s' for %s%s; valid: %s. If the API takes '%s' and this"
      .. " table lacks it, send it anyway with %s:query(\"%s\", { %s = ..., <the other"
      .. " parameters> })", errors.escape(k), opname,
      s and format(" (did you mean '%s'?)", s) or "", util.list(i.names), errors.escape(k),
      customer and format("cx:customer(\"%s\")", errors.escape(customer)) or "cx", op.path,
      match(k, "^[%a_][%w_]*$") and k or format("[\"%s\"]", errors.escape(k))))
  end, i.names)
  if op.customer_id == "required" and not q.customerId then
    usage(format("%s requires customerId (a CX Cloud customer identifier), e.g."
      .. " cx:%s{ customerId = \"abc123def\" } or cx:customer(\"abc123def\"):%s()",
      opname, opname, opname))
  end
  return finish(opname, plan, q)
end

local PATH_ACCEPTED = "a path under base_url, a string starting with '/', e.g."
  .. " \"/inventory/hardware\", of segments made of letters, digits, -._~!$&'()*+,;=:@ and %XX"
  .. " escapes, with no '.' or '..' segment, no '//', no scheme or host, no query string"
  .. " ('?': parameters go in params) and no fragment ('#')"

--- Check the path of `cx:query`: it must stay under base_url and carry no query
-- string or fragment of its own (the parameters go in params).
-- @param path the user's path
-- @treturn string path
function M.path(path)
  local why
  if type(path) ~= "string" then
    why = "got " .. show(path)
  elseif match(path, "^%a[%w+.%-]*:") then
    why = "got a URL with a scheme, " .. show(path) .. "; give only the part after base_url"
  elseif sub(path, 1, 1) ~= "/" then
    why = show(path) .. " does not start with '/'"
  elseif find(path, "?", 1, true) then
    why = show(path) .. " has a query string; put its parameters in params"
  elseif find(path, "#", 1, true) then
    why = show(path) .. " has a fragment"
  elseif find(path, "//", 1, true) then
    why = show(path) .. " has '//' (an empty segment, or a host)"
  elseif find(path, "[^%w%-._~!$&'()*+,;=:@/%%]") then
    why = show(path) .. " has a character a path cannot hold as is (spaces, control characters,"
      .. " non-ASCII...: percent-encode it)"
  elseif find(path, "%%%X") or find(path, "%%%x%X") or find(path, "%%.?$") then
    why = show(path) .. " has a '%' that does not start a %XX escape"
  else
    for seg in path:gmatch("/([^/]*)") do
      local plain = gsub(seg, "%%2[Ee]", ".")
      if plain == "." or plain == ".." then
        why = show(path) .. " has a '" .. plain .. "' segment"
        break
      end
    end
  end
  if why then usage(format("query: bad path: %s; accepted: %s", why, PATH_ACCEPTED)) end
  return path
end

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

-- a parameter of cx:query: a string, a finite number, a boolean, or a non-empty list
-- of strings and finite numbers; sent as given
local function free_value(label, k, v)
  local t = type(v)
  if t == "string" or t == "boolean" or finite(v) then return v end
  if t == "table" then
    local n = #v
    for key in pairs(v) do
      if mtype(key) ~= "integer" or key < 1 or key > n then n = 0 break end
    end
    for j = 1, n do
      if type(v[j]) ~= "string" and not finite(v[j]) then
        usage(format("%s: parameter '%s'[%d] must be a string or a finite number (got %s)", label,
          errors.escape(k), j, show(v[j])))
      end
    end
    if n > 0 then return v end
  end
  usage(format("%s: parameter '%s' must be a string, a finite number, a boolean or a non-empty"
    .. " list of strings and numbers (got %s)", label, errors.escape(k), show(v)))
end

--- The plan of `cx:query(path, p)`: the options checked as for a named operation,
-- every other parameter sent as given (lists joined with commas, as `encode` does).
-- @tparam string path checked with `M.path`
-- @tparam table|nil p the user's params
-- @tparam table defaults `{ page_size = n }`
-- @tparam[opt] string customer customerId fixed by a customer view
-- @tparam[opt] table op the named operation at this path, if any: it describes the
--   items (their identifier fields) as for that operation; the params stay unchecked
-- @treturn table plan, as `M.check` gives it
function M.free(path, p, defaults, customer, op)
  local label = "query " .. path
  p = params_table(label, p, format("cx:query(\"%s\", { customerId = \"abc123def\" })", path))
  local plan = new_plan(path, path, defaults)
  plan.op = op
  local q = build(label, plan, p, customer, function(k, v) return free_value(label, k, v) end)
  return finish(label, plan, q)
end

-- a value as the API receives it: integral numbers as digits on every Lua version
local function scalar_text(v)
  if mtype(v) == "float" and tointeger(v) then return format("%d", tointeger(v)) end
  return tostring(v)
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
    if type(v) == "table" then
      local parts = {}
      for j = 1, #v do
        if type(v[j]) ~= "string" and type(v[j]) ~= "number" then
          usage(format("query parameter '%s'[%d] must be a string or a number (got %s)",
            errors.escape(k), j, show(v[j])))
        end
        parts[j] = scalar_text(v[j])
      end
      v = concat(parts, ",")
    elseif type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
      v = scalar_text(v)
    else
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
