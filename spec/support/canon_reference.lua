--- The specification of the store's canonical JSON: the pure-Lua encoder that
-- `cxcloud.store.canon` used before `core.canonical` (src/canonical.c) replaced it.
-- spec/unit/canonical_spec.lua checks that the C gives exactly this text for every value.
--
-- Two decodes of the same answer must give the same text, whatever order Lua's tables keep
-- their keys in: object keys are sorted, numbers written in one way.

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

local function encode_into(v, out)
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
        encode_into(v[i], out)
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
        encode_into(x, out)
      end
      out[#out + 1] = "}"
    end
  else
    -- cxcloud.null (JSON null in an array), or anything JSON cannot hold
    out[#out + 1] = "null"
  end
end

--- Canonical JSON text of a value (sorted object keys).
function M.encode(v)
  local out = {}
  encode_into(v, out)
  return concat(out)
end

return M
