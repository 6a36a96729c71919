--- Canonical JSON of an item, and what a field's value becomes in its SQL column.
--
-- Two decodes of the same answer must give the same text, whatever order Lua's tables keep
-- their keys in: object keys are sorted, numbers written in one way. The store keeps this
-- text (`_row`), hashes it (`_hash`) to tell changed rows from unchanged ones, and shows it
-- as the old and new values of a change. The encoder is `core.canonical` (src/canonical.c);
-- its specification, the pure-Lua encoder, is spec/support/canon_reference.lua.
-- @module cxcloud.store.canon

local core = require "cxcloud.core"

local M = {}

local canonical = core.canonical

--- A number as JSON text: integers in full, others in the fewest digits that read back
-- equal. Infinity and NaN (never in JSON) become null.
-- @tparam number n
-- @treturn string
function M.number(n)
  return canonical(n)
end

--- Canonical JSON text of a value (sorted object keys).
-- @function encode
-- @param v
-- @treturn string
M.encode = canonical

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
    return canonical(v), "number"
  end
  if tv == "boolean" then return v and "true" or "false", "text" end
  if tv == "table" then return canonical(v), "text" end
  return nil, "text"
end

return M
