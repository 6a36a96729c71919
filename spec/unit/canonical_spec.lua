-- core.canonical (src/canonical.c) against its specification, the pure-Lua encoder in
-- spec/support/canon_reference.lua: the same text for every value, on every Lua version
-- (before 5.3 there is no integer subtype, and both write integral numbers within 2^53 as
-- integers). The store hashes this text: a byte of difference would mark every row changed.
local core = require "cxcloud.core"
local compat = require "cxcloud.compat"
local ref = require "spec.support.canon_reference"

-- under valgrind (make test-memcheck) a tenth of the random values: the C is the same
local RANDOM = os.getenv("CXCLOUD_MEMCHECK") == "1" and 0.1 or 1

local canonical, null = core.canonical, core.null

local function same(v, label)
  local want = ref.encode(v)
  local got = core.canonical(v)
  if got ~= want then
    error(("%s:\n  reference %q\n  core      %q"):format(label or "value", want, got), 2)
  end
end

-- Numbers at the edges: integers and floats, zeros, the 2^53 border, ±2^63, infinities.
local NUMBERS = { 0, 1, -1, 0.1, 0.5, -2.5, 1 / 3, 0.1 + 0.2, 1e300, -1e300, 1e-300, 5e-324,
  1e15, 1e16, 1e17, 123456789012345678, 2 ^ 52, 2 ^ 53, -2 ^ 53, 2 ^ 53 + 2, -(2 ^ 53 + 2),
  2 ^ 63, -2 ^ 63, 2 ^ 64, 12.0, -0.0, 0.0, math.huge, -math.huge, 0 / 0, 3.14159265358979,
  100.25, 1e21, 1e22, 2 ^ -1074, 1.7976931348623157e308 }
if compat.int64 then
  for _, src in ipairs { "math.maxinteger", "math.mininteger", "math.maxinteger - 1",
    "math.mininteger + 1", "2^53 | 1", "-(2^53 | 1)", "1 << 62", "0", "-7" } do
    NUMBERS[#NUMBERS + 1] = assert(load("return " .. src))()
  end
end

local function random_string(max)
  local b = {}
  for i = 1, math.random(0, max) do
    local r = math.random()
    -- mostly text, some control bytes, quotes, backslashes and high bytes
    if r < 0.6 then b[i] = string.char(math.random(32, 126))
    elseif r < 0.75 then b[i] = string.char(math.random(0, 31))
    elseif r < 0.85 then b[i] = ('"\\/'):sub(math.random(3), math.random(3))
    else b[i] = string.char(math.random(127, 255)) end
  end
  return table.concat(b)
end

local function random_key()
  local r = math.random()
  if r < 0.7 then
    local id = {}
    for i = 1, math.random(1, 12) do
      id[i] = string.char(({ math.random(97, 122), math.random(65, 90), 95,
        math.random(48, 57) })[math.random(4)])
    end
    return table.concat(id)
  elseif r < 0.8 then return random_string(6)
  elseif r < 0.9 then return math.random(-5, 40)
  elseif r < 0.95 then return math.random() * 100
  else return math.random() < 0.5 end
end

local random_value
local function random_table(depth)
  local t, r = {}, math.random()
  if r < 0.35 then -- an array, with holes sometimes
    for i = 1, math.random(0, 6) do
      if math.random() < 0.9 then t[i] = random_value(depth + 1) end
    end
  elseif r < 0.85 then -- an object
    for _ = 1, math.random(0, 8) do
      local k = random_key()
      if k == k then t[k] = random_value(depth + 1) end
    end
  else -- mixed: an array part and a hash part
    for i = 1, math.random(1, 4) do t[i] = random_value(depth + 1) end
    t[random_key()] = random_value(depth + 1)
  end
  if next(t) == nil and math.random() < 0.5 then setmetatable(t, {}) end
  return t
end

function random_value(depth)
  local r = math.random()
  if depth < 5 and r < 0.3 then return random_table(depth) end
  r = math.random()
  if r < 0.4 then return random_string(20)
  elseif r < 0.6 then return NUMBERS[math.random(#NUMBERS)]
  elseif r < 0.7 then return math.random(-1e6, 1e6)
  elseif r < 0.75 then return (math.random() - 0.5) * 10 ^ math.random(-20, 20)
  elseif r < 0.85 then return math.random() < 0.5
  elseif r < 0.95 then return null
  else return print end
end

describe("core.canonical", function()
  it("writes exactly these texts", function()
    assert.equal('{"a":{"y":[3,2.5,null],"z":true},"b":1,"c":"x\\"\\n\\u0001"}',
      canonical { b = 1, a = { z = true, y = { 3, 2.5, null } }, c = "x\"\n\1" })
    assert.equal('"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\\u000b/\127\255"',
      canonical "\"\\\b\f\n\r\t\0\31\11/\127\255")
    assert.equal("[]", canonical(setmetatable({}, {})))
    assert.equal("{}", canonical {})
    assert.equal("[1,2]", canonical { 1, 2, x = 3 })
    assert.equal('{"1.5":"a","true":null}', canonical { [1.5] = "a", [true] = 1 })
    assert.equal("null", canonical(nil))
    assert.equal("null", canonical(null))
    assert.equal("null", canonical(print))
    assert.equal("false", canonical(false))
    assert.equal("0.1", canonical(0.1))
    assert.equal("1e+300", canonical(1e300))
    assert.equal("12", canonical(12.0))
    assert.equal("9007199254740992", canonical(2 ^ 53))
    assert.equal("9007199254740994", canonical(2 ^ 53 + 2))
    assert.equal("0.30000000000000004", canonical(0.1 + 0.2))
    assert.equal("null", canonical(0 / 0))
    assert.equal("null", canonical(-math.huge))
    assert.equal('{"A":1,"B":2,"_":3,"a":4,"a1":5,"b":6}',
      canonical { b = 6, a1 = 5, a = 4, _ = 3, B = 2, A = 1 })
    if compat.int64 then
      assert.equal("-0", canonical(-0.0))
      assert.equal("9223372036854775807", canonical(math.maxinteger))
      assert.equal("-9223372036854775808", canonical(math.mininteger))
    else
      assert.equal("0", canonical(-0.0))
      assert.equal("9.2233720368547758e+18", canonical(2 ^ 63))
    end
  end)

  it("gives the reference's text for numbers at the edges", function()
    for _, n in ipairs(NUMBERS) do same(n, tostring(n)) end
    for _, n in ipairs(NUMBERS) do same({ n, { x = n } }, tostring(n)) end
    for _ = 1, 2000 * RANDOM do
      local n = (math.random() - 0.5) * 10 ^ math.random(-30, 30)
      same(n, ("%.17g"):format(n))
      same(math.floor(n), ("%.17g"):format(n))
    end
  end)

  it("gives the reference's text for every byte in a string, and for random strings", function()
    for c = 0, 255 do same(string.char(c) .. "x" .. string.char(c), "byte " .. c) end
    for _ = 1, 500 * RANDOM do same(random_string(200)) end
    same(("é\"\0"):rep(5000), "a long string")
  end)

  it("gives the reference's text for random nested tables", function()
    math.randomseed(20240601)
    for i = 1, 3000 * RANDOM do same(random_table(0), "table " .. i) end
  end)

  it("gives the reference's text for a large object and a long array", function()
    local obj, arr = {}, {}
    for i = 1, 3000 do
      obj["k" .. (i * 7919) % 3001] = i
      arr[i] = { id = i, name = "n" .. i }
    end
    same(obj, "3000 keys")
    same(arr, "3000 objects")
  end)

  it("reads tables with metatables through their metamethods, as the reference does", function()
    local base = { x = 1, y = { 2 } }
    same(setmetatable({ a = 1 }, { __index = base }), "__index, object")
    same(setmetatable({}, { __index = function(_, i) return i == 1 and "one" or nil end }),
      "__index, empty")
    same(setmetatable({ 1, 2, 3, k = "v" }, { __index = base }), "__index, array")
    same(setmetatable({ a = 1, b = 2 }, { __len = function() return 2 end,
      __index = function(_, i) return i * 10 end }), "__len")
    same(setmetatable({ z = 1 }, { __pairs = function(t)
      return function(_, k)
        if k == nil then return "a" elseif k == "a" then return 7 end
      end, t, nil
    end, __index = function(_, k) return k == "a" and "A" or k == 7 and "seven" or nil end }),
      "__pairs")
    same(setmetatable({ [{}] = 1, [print] = 2 }, {}), "odd keys")
  end)

  it("orders keys as Lua's < does in another collation", function()
    local old = os.setlocale(nil, "collate")
    if not os.setlocale("C.utf8", "collate") then return pending("no C.utf8 locale") end
    local ok, err = pcall(function()
      local t = {}
      for i = 1, 200 do t[random_key()] = i end
      t["é"], t["e"], t["E"], t["a\0b"], t["a"], t["a\0"] = 1, 2, 3, 4, 5, 6
      same(t, "C.utf8")
    end)
    os.setlocale(old, "collate")
    assert(ok, err)
  end)

  it("raises an error on a table nested too deep or containing itself", function()
    local t = {}
    t.self = t
    local ok, err = pcall(canonical, t)
    assert.is_false(ok)
    assert.matches("nested deeper than 1000", err)
    local a = { 1 }
    t = a
    for _ = 1, 999 do t[1] = { 1 }; t = t[1] end -- 1000 levels: still written
    same(a, "1000 levels")
    t[1] = { 1 }
    assert.is_false(pcall(canonical, a))
  end)

  it("returns the digest of the text with a second argument true", function()
    local item = { serialNumber = "FOC1234X0AB", customerId = "1", n = 3 }
    local text, digest = canonical(item, true)
    assert.equal(ref.encode(item), text)
    assert.equal(core.digest(text), digest)
    assert.equal(1, select("#", canonical(item)))
  end)
end)
