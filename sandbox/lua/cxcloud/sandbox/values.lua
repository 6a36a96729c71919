--- Value conventions of the generated data: the JSON null sentinel and the ID styles.
--
-- IDs are canonical Lua values: integers, or strings of digits when they do not fit
-- in int64 (`big_ids = true`). Each style also has inverse functions (value -> index)
-- used for fast lookups by ID.
-- @module cxcloud.sandbox.values

local values = {}
local fmt = string.format

--- Sentinel for a JSON null value in a generated row.
values.NULL = setmetatable({}, {
  __name = "cxcloud.sandbox.null",
  __tostring = function() return "null" end,
})

-- index from the last 15 digits of a big ID ("...%015d" of index + 500000000)
local function big_inv(prefix)
  return function(ci, v)
    local tail = v:match("^" .. prefix .. fmt("%04d", ci) .. "(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d)$")
    return tail and math.tointeger(tonumber(tail)) - 500000000 or nil
  end
end

-- index from an integer ID: value - base(ci)
local function int_inv(base)
  return function(ci, v)
    local n = v:match("^%d+$") and #v <= 19 and math.tointeger(tonumber(v))
    return n and n - base(ci) or nil
  end
end

--- ID makers for a style: `ne(ci, j)`, `hw(ci, i)`, `hweol(b)`, `sweol(b)`, `sa(k)` and the
-- inverses `ne_inv(ci, s)`, `hw_inv(ci, s)` (nil when `s` cannot be such an ID).
-- @param big option `big_ids`: false, true or "int64"
-- @treturn table
function values.ids(big)
  if big == true then -- 20 to 22 digits: beyond int64, exact digits in JSON
    return {
      ne_inv = big_inv("1"), hw_inv = big_inv("27"),
      ne = function(ci, j) return fmt("1%04d%015d", ci, j + 500000000) end,
      hw = function(ci, i) return fmt("27%04d%015d", ci, i + 500000000) end,
      hweol = function(b) return fmt("31%020d", b + 1) end,
      sweol = function(b) return fmt("32%019d", b + 1) end,
      sa = function(k) return fmt("4%019d", k + 104000) end,
    }
  elseif big == "int64" then -- 17 to 19 digits: exact in int64, not in a double
    return {
      ne_inv = int_inv(function(ci) return 1000000000000000000 + ci * 1000000000000 + 500000000 end),
      hw_inv = int_inv(function(ci) return 2000000000000000000 + ci * 1000000000000 + 500000000 end),
      ne = function(ci, j) return 1000000000000000000 + ci * 1000000000000 + 500000000 + j end,
      hw = function(ci, i) return 2000000000000000000 + ci * 1000000000000 + 500000000 + i end,
      hweol = function(b) return 300000000000000001 + b end,
      sweol = function(b) return 40000000000000001 + b end,
      sa = function(k) return 9000000000000104000 + k end,
    }
  end
  return {
    ne_inv = int_inv(function(ci) return 200000000000 + ci * 1000000000 + 500000000 end),
    hw_inv = int_inv(function(ci) return 300000000000 + ci * 1000000000 + 500000000 end),
    ne = function(ci, j) return 200000000000 + ci * 1000000000 + 500000000 + j end,
    hw = function(ci, i) return 300000000000 + ci * 1000000000 + 500000000 + i end,
    hweol = function(b) return 40001 + b end,
    sweol = function(b) return 33001 + b end,
    sa = function(k) return 104001 + k end,
  }
end


return values
