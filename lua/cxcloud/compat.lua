--- What differs between Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1, in one place: the
-- library's modules use these instead of `math.type`, `math.tointeger`, `table.move`,
-- `table.unpack` and `//`, so that every version loads them.
--
-- Before 5.3 every number is a double: a number counts as an integer when it is
-- integral and a double holds it exactly (|n| <= 2^53), which is what these helpers
-- report there.
-- @module cxcloud.compat

local M = {}

local floor, huge = math.floor, math.huge
local math_type, math_tointeger = math.type, math.tointeger

--- True on Lua 5.4 (to-be-closed variables, `__close` honoured by the generic `for`).
M.lua54 = _VERSION == "Lua 5.4"

--- Integers beyond 2^53 exist (Lua 5.3 and later).
M.int64 = math_type ~= nil

--- A coroutine may yield across `pcall` and from inside a `for` iterator: Lua 5.2+ and
-- LuaJIT; not PUC Lua 5.1 ("attempt to yield across metamethod/C-call boundary").
M.yields = _VERSION ~= "Lua 5.1" or type(rawget(_G, "jit")) == "table"

local EXACT = 2 ^ 53

--- `math.type`: "integer", "float", or nil for a value that is not a number.
-- @param v any value
-- @treturn string|nil
function M.mtype(v)
  if math_type then return math_type(v) end
  if type(v) ~= "number" then return nil end
  if v == floor(v) and v >= -EXACT and v <= EXACT then return "integer" end
  return "float"
end

--- `math.tointeger` for numbers: the integer equal to `v`, or nil (also for non-numbers).
-- @param v any value
-- @treturn integer|nil
function M.tointeger(v)
  if type(v) ~= "number" then return nil end
  if math_tointeger then return math_tointeger(v) end
  if v == floor(v) and v > -huge and v < huge and v >= -EXACT and v <= EXACT then return v end
  return nil
end

--- `table.move(a1, f, e, t [, a2])`.
M.move = table.move or function(a1, f, e, t, a2)
  a2 = a2 or a1
  if e >= f then
    if t > e or t <= f or a1 ~= a2 then
      for i = 0, e - f do a2[t + i] = a1[f + i] end
    else
      for i = e - f, 0, -1 do a2[t + i] = a1[f + i] end
    end
  end
  return a2
end

local newproxy = rawget(_G, "newproxy") -- 5.1 and LuaJIT only

--- Makes `gc(t)` run when table `t` is collected. Lua 5.2+ honours a table's `__gc`
-- metamethod; 5.1 and LuaJIT run `__gc` only for userdata, so there `t` gets one (in its
-- field `_gc`) whose collection calls `gc(t)`.
-- @tparam table t
-- @tparam function gc
-- @treturn table t
function M.on_collect(t, gc)
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = function() gc(t) end
    rawset(t, "_gc", proxy)
  end
  return t
end

--- `table.unpack` (`unpack` on 5.1 and LuaJIT).
M.unpack = table.unpack or rawget(_G, "unpack")

return M
