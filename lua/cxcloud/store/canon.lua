--- Canonical JSON of an item, and what a field's value becomes in its SQL column.
--
-- Two decodes of the same answer must give the same text, whatever order Lua's tables keep
-- their keys in: object keys are sorted, numbers written in one way. The store keeps this
-- text (`_row`), hashes it (`_hash`) to tell changed rows from unchanged ones, and shows it
-- as the old and new values of a change.
-- @module cxcloud.store.canon

local compat = require "cxcloud.compat"

local M = {}

local format, concat, sort = string.format, table.concat, table.sort
local mtype = compat.mtype

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t" }
local function esc(c)
  return ESC[c] or format("\\u%04x", c:byte())
end

local function str(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', esc) .. '"'
end

--- A number as JSON text: integers in full, others in the fewest digits that read back
-- equal. Infinity and NaN (never in JSON) become null.
-- @tparam number n
-- @treturn string
function M.number(n)
  if n ~= n or n == math.huge or n == -math.huge then return "null" end
  if mtype(n) == "integer" then return format("%d", n) end
  if n == math.floor(n) and n >= -2 ^ 53 and n <= 2 ^ 53 then return format("%.0f", n) end
  local s = format("%.14g", n)
  if tonumber(s) ~= n then s = format("%.17g", n) end
  return s
end

local function is_array(t)
  local n = #t
  if n > 0 then return true, n end
  return next(t) == nil and getmetatable(t) ~= nil, 0
end

local encode
local function encode_into(v, out, null)
  local tv = type(v)
  if tv == "string" then out[#out + 1] = str(v)
  elseif tv == "number" then out[#out + 1] = M.number(v)
  elseif tv == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif tv == "table" then
    local arr, n = is_array(v)
    if arr then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode_into(v[i], out, null)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = str(k)
        out[#out + 1] = ":"
        local x = v[k]
        if x == nil then x = v[tonumber(k)] end
        encode_into(x, out, null)
      end
      out[#out + 1] = "}"
    end
  else
    -- cxcloud.null (JSON null in an array), or anything JSON cannot hold
    out[#out + 1] = "null"
  end
end

--- Canonical JSON text of a value (sorted object keys).
-- @param v
-- @treturn string
function encode(v)
  local out = {}
  encode_into(v, out)
  return concat(out)
end
M.encode = encode

--- What a field's value is bound as in its column: text for strings, the exact digits for
-- numbers, "true"/"false" for booleans, JSON text for tables; nil for JSON null.
-- @param v
-- @treturn string|nil
-- @treturn string "number" or "text": the column type this value asks for
function M.column_value(v)
  local tv = type(v)
  if tv == "string" then return v, "text" end
  if tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil, "number" end
    return M.number(v), "number"
  end
  if tv == "boolean" then return v and "true" or "false", "text" end
  if tv == "table" then return encode(v), "text" end
  return nil, "text"
end

return M
