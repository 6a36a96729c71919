--- Deterministic hashing and small formatting helpers for the sandbox generator.
--
-- Everything the sandbox generates is a pure function of the seed and an index, so
-- that any row can be produced on demand, in any order, by the server and by
-- `sandbox.truth` alike. The mixer is SplitMix64's finaliser on Lua 5.4's 64-bit
-- integers (wrap-around arithmetic).
-- @module cxcloud.sandbox.rng

local rng = {}

local GOLDEN = -7046029254386353131 -- 0x9e3779b97f4a7c15

--- Mixes one 64-bit integer into a well-distributed 64-bit integer.
-- @tparam integer x
-- @treturn integer
local function mix(x)
  x = (x ~ (x >> 30)) * -4658895280553007687 -- 0xbf58476d1ce4e5b9
  x = (x ~ (x >> 27)) * -7723592293110705685 -- 0x94d049bb133111eb
  return x ~ (x >> 31)
end
rng.mix = mix

--- Hashes a string to a 64-bit integer (FNV-1a, then mixed).
-- @tparam string s
-- @treturn integer
function rng.hash_string(s)
  local h = -3750763034362895579 -- FNV offset basis 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return mix(h)
end

--- Hash of a seed and up to three integer keys.
-- @tparam integer seed
-- @tparam integer a
-- @tparam[opt] integer b
-- @tparam[opt] integer c
-- @treturn integer
local function h3(seed, a, b, c)
  local x = mix(seed + GOLDEN * (a + 1))
  if b then x = mix(x + GOLDEN * (b + 7)) end
  if c then x = mix(x + GOLDEN * (c + 13)) end
  return x
end
rng.h = h3

--- A non-negative integer in [0, n) from a hash value.
-- @tparam integer x hash value
-- @tparam integer n
-- @treturn integer
function rng.below(x, n)
  return (x >> 11) % n
end

--- A float in [0, 1) from a hash value.
-- @tparam integer x
-- @treturn number
function rng.unit(x)
  return (x >> 11) / 9007199254740992.0
end

--- Picks an element of an array from a hash value.
-- @tparam integer x
-- @tparam table list
function rng.pick(x, list)
  return list[(x >> 11) % #list + 1]
end

--- A small sequential generator (for set-up code that draws many values).
-- @tparam integer seed
-- @treturn function returning a new hash value at each call
function rng.stream(seed)
  local state = mix(seed)
  return function()
    state = state + GOLDEN
    return mix(state)
  end
end

local B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
local B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

--- Fixed-width base-36 (upper case) rendering of a non-negative integer.
-- @tparam integer n
-- @tparam integer width
-- @treturn string
function rng.base36(n, width)
  local t = {}
  for i = width, 1, -1 do
    local d = n % 36
    t[i] = B36:sub(d + 1, d + 1)
    n = n // 36
  end
  return table.concat(t)
end

--- A string of `len` characters from the alphabet, drawn from a hash value stream.
-- @tparam integer x hash value
-- @tparam integer len
-- @tparam[opt] string alphabet default base 62
-- @treturn string
function rng.chars(x, len, alphabet)
  alphabet = alphabet or B62
  local n = #alphabet
  local t = {}
  for i = 1, len do
    if i % 8 == 1 and i > 1 then x = mix(x + GOLDEN) end
    local d = (x >> 11) % n
    x = x ~ (x >> 7) ~ (d * 2654435761)
    x = mix(x)
    t[i] = alphabet:sub(d + 1, d + 1)
  end
  return table.concat(t)
end

-- Days since 1970-01-01 <-> civil date (proleptic Gregorian; H. Hinnant's algorithm).
local function civil(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local date_memo, date_n = {}, 0

--- "YYYY-MM-DD" for a day number (days since 1970-01-01).
-- @tparam integer days
-- @treturn string
local function date(days)
  local s = date_memo[days]
  if s then return s end
  local y, m, d = civil(days)
  s = string.format("%04d-%02d-%02d", y, m, d)
  if date_n >= 100000 then date_memo, date_n = {}, 0 end
  date_memo[days] = s
  date_n = date_n + 1
  return s
end
rng.date = date

--- "YYYY-MM-DDTHH:MM:SS" for a day number and a second of the day.
-- @tparam integer days
-- @tparam integer secs
-- @treturn string
function rng.datetime(days, secs)
  return string.format("%sT%02d:%02d:%02d", date(days), secs // 3600 % 24, secs // 60 % 60, secs % 60)
end

--- Day number of a "YYYY-MM-DD" string, or nil.
-- @tparam string s
-- @treturn integer|nil
function rng.days(s)
  local y, m, d = tostring(s):match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > 31 then return nil end
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

return rng
