--- One item as the store sees it: its natural key, its canonical text and digest, the
-- fields that differ between two versions of it.
-- @module cxcloud.store.item

local canon = require "cxcloud.store.canon"
local core = require "cxcloud.core"

local M = {}

local concat, sort = table.concat, table.sort
local canonical = core.canonical

local function part(v)
  if type(v) == "number" then return canon.number(v) end
  return (tostring(v):gsub("[\\|]", "\\%0"))
end

--- The natural key of an item: the values of the operation's key fields joined with `|`
-- (a `|` or `\` inside a value escaped with `\`), or nil when one of them is missing.
-- @tparam table item
-- @tparam table fields the operation's `key`
-- @treturn string|nil
function M.key(item, fields)
  local parts = {}
  for i, f in ipairs(fields) do
    local v = item[f]
    if v == nil or type(v) == "table" or type(v) == "userdata" then return nil end
    parts[i] = part(v)
  end
  if #parts == 0 then return nil end
  return concat(parts, "|")
end

--- The key of an item whose declared key is missing or repeats: its content.
-- @tparam string digest the item's digest
-- @tparam[opt] string declared the declared key that repeated
-- @treturn string
function M.content_key(digest, declared)
  return (declared and declared .. "#" or "#") .. digest
end

--- Canonical text and digest of an item (`core.digest` of the text), from one call.
-- @tparam table item
-- @treturn string text
-- @treturn string digest (32 hex characters)
function M.canonical(item)
  return canonical(item, true)
end

--- The top-level fields whose values differ between two versions of an item, sorted.
-- @tparam table old
-- @tparam table new
-- @treturn table array of field names
function M.changed_fields(old, new)
  local out, seen = {}, {}
  for k, v in pairs(old) do
    seen[k] = true
    local w = new[k]
    if w == nil or (v ~= w and canon.encode(v) ~= canon.encode(w)) then out[#out + 1] = tostring(k) end
  end
  for k in pairs(new) do
    if not seen[k] then out[#out + 1] = tostring(k) end
  end
  sort(out)
  return out
end

return M
