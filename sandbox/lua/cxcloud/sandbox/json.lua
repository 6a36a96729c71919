--- JSON output for the sandbox.
--
-- Rows are written field by field in the operation's documented order (cjson would
-- use hash order and cannot write integers beyond 2^53 exactly). ID fields are raw
-- number literals (any number of digits) or, with `id_type = "string"`, JSON strings.
-- Everything else goes through lua-cjson.
-- @module cxcloud.sandbox.json

local cjson = require "cjson.safe"
local data = require "cxcloud.sandbox.data"

local NULL = data.NULL
local concat, find, gsub, format = table.concat, string.find, string.gsub, string.format

local json = {}

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t" }
local function esc(c)
  return ESC[c] or format("\\u%04x", c:byte())
end

-- a JSON string literal for s (UTF-8 bytes are kept as they are)
local function quote(s)
  if find(s, '[%z\1-\31"\\\127]') then
    return '"' .. gsub(s, '[%z\1-\31"\\\127]', esc) .. '"'
  end
  return '"' .. s .. '"'
end

--- Encodes a flat object with keys in the given order (strings, integers, numbers,
-- booleans): `json.object("status", 400, "message", "...")`. Unlike cjson, "/" is
-- not escaped.
-- @treturn string
function json.object(...)
  local n = select("#", ...)
  local buf = {}
  for i = 1, n, 2 do
    local k, v = select(i, ...)
    local s
    if type(v) == "string" then
      s = quote(v)
    elseif math.type(v) == "integer" or type(v) == "boolean" then
      s = tostring(v)
    elseif type(v) == "number" then
      s = string.format("%.17g", v)
    else
      s = "null"
    end
    buf[#buf + 1] = quote(k) .. ":" .. s
  end
  return "{" .. concat(buf, ",") .. "}"
end

local function plain(v)
  if v == cjson.null then return nil end
  local t = type(v)
  if t == "number" then return math.tointeger(v) or v end
  if t ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = plain(x) end
  return out
end

--- Decodes JSON text into plain Lua values: JSON null becomes nil and integral
-- numbers become Lua integers (lua-cjson 2.1 decodes every number as a float).
-- Returns nil, message on error.
-- @tparam string s
-- @return value
function json.decode_plain(s)
  local v, err = cjson.decode(s)
  if v == nil then return nil, err end
  return plain(v)
end

--- Encodes a plain Lua value, turning infinities into -1 first (fault `times`).
-- @param v
-- @treturn string
function json.encode_plain(v)
  local function fix(x)
    if x == math.huge then return -1 end
    if type(x) ~= "table" then return x end
    local out = {}
    for k, y in pairs(x) do out[k] = fix(y) end
    return out
  end
  return assert(cjson.encode(fix(v)))
end

local encoders, n_encoders = {}, 0

--- Returns a function that encodes one row of `op` as a JSON object (cached per
-- operation, field list and ID style).
-- @tparam table op entry of `cxcloud.sandbox.ops`
-- @tparam[opt] table fields list of field names to keep (documented order is kept)
-- @tparam[opt] string id_type "number" (default) or "string"
-- @treturn function(row) -> string
function json.row_encoder(op, fields, id_type)
  -- encoders are cached: their memo and plans are what makes them fast
  local key = op.name .. "|" .. (fields and concat(fields, ",") or "*") .. "|" .. tostring(id_type)
  local enc = encoders[key]
  if enc then return enc end
  if n_encoders >= 64 then encoders, n_encoders = {}, 0 end
  enc = json.new_row_encoder(op, fields, id_type)
  encoders[key] = enc
  n_encoders = n_encoders + 1
  return enc
end

--- Like `row_encoder`, without the cache.
-- @tparam table op
-- @tparam[opt] table fields
-- @tparam[opt] string id_type
-- @treturn function
function json.new_row_encoder(op, fields, id_type)
  local keep
  if fields then
    keep = {}
    for _, f in ipairs(fields) do keep[f] = true end
  end
  local names, kinds, prefix = {}, {}, {}
  for _, f in ipairs(op.fields) do
    if not keep or keep[f[1]] then
      local n = #names + 1
      names[n], kinds[n] = f[1], f[2]
      prefix[n] = (n == 1 and "{" or ",") .. quote(f[1]) .. ":"
    end
  end
  local n = #names
  local id_string = id_type == "string"
  -- quoted strings are memoised: most values of a row are the same few hundred strings
  local memo, memo_n = {}, 0
  local function value(v, kind)
    if v == nil or v == NULL then return "null" end
    if kind == "id" then
      if id_string then return '"' .. tostring(v) .. '"' end
      return tostring(v)
    end
    if type(v) == "string" then
      local s = memo[v]
      if not s then
        s = quote(v)
        if memo_n >= 20000 then memo, memo_n = {}, 0 end
        memo[v] = s
        memo_n = memo_n + 1
      end
      return s
    end
    return tostring(v)
  end
  -- Rows built as setmetatable(dynamic, {__index = static}) (see cxcloud.sandbox.data)
  -- share their static fields: the runs of static fields between dynamic ones are
  -- encoded once per static table ("plan": strings, or field indexes to encode).
  local plans = setmetatable({}, { __mode = "k" })
  local function plan_for(row, st)
    local plan, run = {}, nil
    for i = 1, n do
      if rawget(row, names[i]) ~= nil then
        if run then plan[#plan + 1] = table.concat(run) run = nil end
        plan[#plan + 1] = i
      else
        run = run or {}
        run[#run + 1] = prefix[i] .. value(st[names[i]], kinds[i])
      end
    end
    if run then plan[#plan + 1] = table.concat(run) end
    plan[#plan + 1] = "}"
    plans[st] = plan
    return plan
  end
  local buf = {}
  return function(row)
    if n == 0 then return "{}" end
    local mt = getmetatable(row)
    local st = mt and mt.__index
    if type(st) == "table" then
      local plan = plans[st] or plan_for(row, st)
      local j = 0
      for k = 1, #plan do
        local p = plan[k]
        if type(p) == "string" then
          j = j + 1
          buf[j] = p
        else
          buf[j + 1] = prefix[p]
          local v = rawget(row, names[p])
          -- dynamic values rarely repeat: quote them without the memo
          buf[j + 2] = type(v) == "string" and kinds[p] ~= "id" and quote(v) or value(v, kinds[p])
          j = j + 2
        end
      end
      return concat(buf, "", 1, j)
    end
    local j = 0
    for i = 1, n do
      buf[j + 1] = prefix[i]
      buf[j + 2] = value(row[names[i]], kinds[i])
      j = j + 2
    end
    buf[j + 1] = "}"
    return concat(buf, "", 1, j + 1)
  end
end

--- The pagination object as JSON.
-- @tparam integer page
-- @tparam integer pages
-- @tparam integer rows
-- @tparam integer total
-- @treturn string
function json.pagination(page, pages, rows, total)
  return format('"pagination":{"page":%d,"pages":%d,"rows":%d,"total":%d}', page, pages, rows, total)
end

return json
