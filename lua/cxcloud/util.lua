--- Small helpers shared by the Lua layer: close-match suggestions, name lists,
-- read-only views. Nothing here touches the network or the C core.
-- @module cxcloud.util

local compat = require "cxcloud.compat"

local M = {}

local byte, lower, gsub, concat, sort = string.byte, string.lower, string.gsub, table.concat, table.sort
local min = math.min

--- Optimal string alignment distance (Damerau-Levenshtein with adjacent
-- transpositions), case-sensitive.
-- @tparam string a
-- @tparam string b
-- @treturn integer the number of edits
function M.distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = byte(a, i)
    for j = 1, lb do
      local cb = byte(b, j)
      local cost = (ca == cb) and 0 or 1
      local v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if i > 1 and j > 1 and ca == byte(b, j - 1) and byte(a, i - 1) == cb then
        v = min(v, prev2[j - 2] + 1)
      end
      cur[j] = v
    end
    prev2, prev, cur = prev, cur, prev2
  end
  return prev[lb]
end

-- "customer_id", "Customer-ID", "customerid" all fold to "customerid".
local function fold(s)
  return (gsub(lower(s), "[_%-%s]", ""))
end

--- The closest name to `word` among `names`, or nil when nothing is close.
-- Case, `_` and `-` differences count as a perfect match (customer_id -> customerId);
-- otherwise up to max(1, #word // 3) edits (at most 3) are allowed.
-- @tparam string word
-- @tparam {string,...} names
-- @treturn string|nil
function M.suggest(word, names)
  if type(word) ~= "string" or word == "" then return nil end
  local fw = fold(word)
  local best, best_d
  for i = 1, #names do
    local n = names[i]
    local d = (fold(n) == fw) and 0 or M.distance(fw, fold(n))
    if not best_d or d < best_d then best, best_d = n, d end
  end
  local limit = min(3, math.max(1, math.floor(#fw / 3)))
  if best_d and best_d <= limit then return best end
  return nil
end

--- Sorted copy of the keys of `t` that are strings.
-- @tparam table t
-- @treturn {string,...}
function M.sorted_keys(t)
  local ks = {}
  for k in pairs(t) do
    if type(k) == "string" then ks[#ks + 1] = k end
  end
  sort(ks)
  return ks
end

--- Join names as "a, b, c".
-- @tparam {string,...} names
-- @treturn string
function M.list(names)
  return concat(names, ", ")
end

--- A short, safe description of a value for messages, never the value of a
-- string itself (it may be a secret): "string", "number 3", "boolean", "table".
-- @param v any value
-- @tparam[opt] boolean show_value when true, numbers and booleans are shown
-- @treturn string
function M.describe(v, show_value)
  local t = type(v)
  if show_value and (t == "number" or t == "boolean") then
    return t .. " " .. tostring(v)
  end
  if t == "number" then return compat.mtype(v) == "integer" and "integer" or "number" end
  return t
end

--- A read-only view of a table (recursively for nested tables). `pairs`,
-- `ipairs` and `#` work on the view; assignments raise.
-- @tparam table t
-- @treturn table
function M.readonly(t)
  local cache = {}
  local function view(src)
    if cache[src] then return cache[src] end
    local proxy = setmetatable({}, {
      __index = function(_, k)
        local v = src[k]
        if type(v) == "table" then return view(v) end
        return v
      end,
      __newindex = function()
        error("cxcloud: this table is read-only", 2)
      end,
      __len = function() return #src end,
      __pairs = function()
        return function(_, k)
          local nk, nv = next(src, k)
          if type(nv) == "table" then nv = view(nv) end
          return nk, nv
        end, nil, nil
      end,
    })
    cache[src] = proxy
    return proxy
  end
  return view(t)
end

return M
