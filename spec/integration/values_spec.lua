-- Values (the contract's "Values"): nulls, one Lua type per identifier field,
-- invalid JSON refused, non-object `data` elements refused with the page named.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local cjson = require "cjson"
local operations = require "cxcloud.operations"
local helper = require "spec.support.helper"
local compat = require "cxcloud.compat"

local decode = core.decoder(operations.identifiers) -- the client's decoder

local function page(data)
  return '{"data":' .. data .. ',"pagination":{"page":1,"pages":1,"rows":100,"total":3}}'
end

describe("values", function()
  describe("JSON null", function()
    it("inside an array is cxcloud.null: arrays keep their length and order", function()
      local v = assert(decode('[{"a":1},null,{"a":2},null]'))
      assert.equal(4, #v)
      assert.equal(cxcloud.null, v[2])
      assert.equal(cxcloud.null, v[4])
      assert.equal(2, v[3].a)
      local n = 0
      for _ in ipairs(v) do n = n + 1 end
      assert.equal(4, n)
      local nested = assert(decode('{"tags":["x",null,"y"],"m":[[null]]}'))
      assert.same({ "x", cxcloud.null, "y" }, nested.tags)
      assert.equal(cxcloud.null, nested.m[1][1])
    end)

    it("is cjson.null, a light userdata", function()
      assert.equal(cjson.null, cxcloud.null)
      assert.equal("userdata", type(cxcloud.null))
    end)

    it("as an object field leaves the field absent", function()
      local v = assert(decode('{"a":null,"b":1,"c":{"d":null}}'))
      assert.is_nil(v.a)
      assert.is_nil(next(v.c))
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.same({ "b", "c" }, keys)
    end)
  end)

  describe("invalid JSON", function()
    for _, text in ipairs { "00000000000000001", '{"a":00000000000000001}', "[-00000000000000001]",
      "01", "1.", "[1.e5]", "-", '{"neInstanceId":01}', '{"neInstanceId":1.}', "[1]x" } do
      it("refuses " .. text, function()
        local v, err = decode(text)
        assert.is_nil(v)
        assert.is_string(err)
      end)
    end

    it("names the bad number and its position", function()
      local _, err = decode('{"a":00000000000000001}')
      assert.truthy(err:find("'00000000000000001' at character 6", 1, true), err)
    end)

    it("in a page is a decode error", function()
      local sb = helper.sandbox { seed = 5, customers = 1, hardware = 3 }
      sb:faults { { op = "hardware", status = 200, times = -1,
        body = page('[{"neInstanceId":00000000000000001}]') } }
      local cx = helper.client(sb, { max_retries = 0 })
      finally(function() cx:close() end)
      local list, err = cx:hardware { customerId = sb.customers[1] }:all()
      sb:stop()
      assert.is_nil(list)
      assert.equal("decode", err.kind)
    end)
  end)

  describe("an element of data that is not an object", function()
    local sb, customer_id
    setup(function()
      sb = helper.sandbox { seed = 5, customers = 1, hardware = 3 }
      customer_id = sb.customers[1]
    end)
    teardown(function() sb:stop() end)

    for _, case in ipairs {
      { '[{"a":1},null,{"a":2}]', "element 2 is null" },
      { '[{"a":1},{"a":2},7]', "element 3 is a number (7)" },
      { '["x"]', "element 1 is a string (x)" },
      { '[{"a":1},[1,2]]', "element 2 is an array" },
    } do
      it("is a decode error naming the page: " .. case[1], function()
        sb:faults { { op = "hardware", status = 200, times = -1, body = page(case[1]) } }
        local cx = helper.client(sb, { max_retries = 0 })
        finally(function() cx:close() end)
        local list, err = cx:hardware { customerId = customer_id }:all()
        local first, err2 = cx:hardware { customerId = customer_id }:first()
        sb:faults {}
        assert.is_nil(list)
        assert.equal("decode", err.kind)
        assert.equal(1, err.page)
        assert.truthy(err.message:find(case[2], 1, true), err.message)
        assert.is_nil(first)
        assert.equal("decode", err2.kind)
      end)
    end
  end)

  describe("identifier fields", function()
    it("are listed in the operations table", function()
      for _, f in ipairs { "customerId", "neInstanceId", "managedNeInstanceId", "hwInstanceId",
        "contractNumber", "hwEolInstanceId", "swEolInstanceId", "securityAdvisoryInstanceId" } do
        local found = false
        for _, g in ipairs(operations.identifiers) do found = found or g == f end
        assert.is_true(found, f)
      end
      assert.same({ "customerId", "hwInstanceId", "managedNeInstanceId", "neInstanceId" },
        operations.hardware.identifiers)
    end)

    it("are strings of the exact digits or text, as a JSON number or a string", function()
      local v = assert(decode('{"neInstanceId":212334455,"hwInstanceId":"90876512345",'
        .. '"managedNeInstanceId":1234567890123456789,"contractNumber":12345678901234567890123,'
        .. '"customerId":-5,"bulletinNumber":1.50e2,"count":7,"big":1234567890123456789,'
        .. '"nested":[{"neInstanceId":0}]}'))
      assert.equal("212334455", v.neInstanceId)
      assert.equal("90876512345", v.hwInstanceId)
      assert.equal("1234567890123456789", v.managedNeInstanceId)
      assert.equal("12345678901234567890123", v.contractNumber)
      assert.equal("-5", v.customerId)
      assert.equal("1.50e2", v.bulletinNumber)
      assert.equal("0", v.nested[1].neInstanceId)
      -- other numbers stay numbers
      assert.equal("integer", compat.mtype(v.count))
      -- beyond 2^53 a Lua without 64-bit integers keeps the digits
      assert.equal(compat.int64 and 1234567890123456789 or "1234567890123456789", v.big)
    end)

    it("have one type on every row: a 19-digit and a 20-digit ID sort together", function()
      local v = assert(decode('[{"neInstanceId":9223372036854775807},'
        .. '{"neInstanceId":12345678901234567890},{"neInstanceId":5}]'))
      for _, item in ipairs(v) do assert.equal("string", type(item.neInstanceId)) end
      table.sort(v, function(a, b) return a.neInstanceId < b.neInstanceId end)
      assert.equal("12345678901234567890", v[1].neInstanceId)
    end)

    it("are the same Lua values whether the API sends numbers or strings", function()
      local items = {}
      for _, id_type in ipairs { "number", "string" } do
        local sb = helper.sandbox { seed = 9, customers = 1, hardware = 12, id_type = id_type }
        local cx = helper.client(sb, { page_size = 5 })
        finally(function() cx:close() end)
        items[id_type] = assert(cx:hardware { customerId = sb.customers[1] }:all())
        assert.same(sb:truth("hardware", sb.customers[1]), items[id_type])
        sb:stop()
      end
      assert.equal(12, #items.number)
      assert.same(items.number, items.string)
    end)

    for _, big in ipairs { false, "int64", true } do
      it("are strings on every operation (big_ids = " .. tostring(big) .. ")", function()
        local sb = helper.sandbox { seed = 9, customers = 1, hardware = 12, bulletins = 6,
          big_ids = big }
        local cx = helper.client(sb, { page_size = 5 })
        finally(function() cx:close() end)
        for _, op in ipairs(operations) do
          local p = op.name ~= "customers" and { customerId = sb.customers[1] } or {}
          local got = assert(cx[op.name](cx, p):all())
          assert.is_true(#got > 0, op.name)
          for _, item in ipairs(got) do
            for _, f in ipairs(op.identifiers) do
              local x = item[f]
              assert.is_true(x == nil or type(x) == "string", op.name .. "." .. f .. ": " .. type(x))
            end
          end
        end
        sb:stop()
      end)
    end

    it("are accepted as filters as strings or integers", function()
      local sb = helper.sandbox { seed = 9, customers = 1, hardware = 12 }
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      local customer_id = sb.customers[1]
      local target = sb:truth("hardware", customer_id)[7]
      local by_string = assert(cx:hardware { customerId = customer_id,
        hwInstanceId = target.hwInstanceId }:all())
      local by_integer = assert(cx:hardware { customerId = customer_id,
        hwInstanceId = compat.tointeger(tonumber(target.hwInstanceId)) }:all())
      sb:stop()
      assert.equal(1, #by_string)
      assert.same(target, by_string[1])
      assert.same(by_string, by_integer)
    end)
  end)

  it("max_depth applies per call, whatever the previous call set", function()
    local text = "[[[1]]]"
    for _ = 1, 2 do
      assert.is_nil((decode(text, 2)))
      assert.equal(1, decode(text, 3)[1][1][1])
      assert.equal(1, decode(text)[1][1][1])
      assert.is_nil((core.decode(text, 2)))
    end
  end)

  describe("strings the pre-scan could mistake for its own", function()
    it("come through unchanged", function()
      local v = assert(decode('["\\u0000#12","\\u0000$x","\\u0000","\\u0000\\u0000a",'
        .. '{"\\u0000#1":"\\u0000#2"}]'))
      assert.equal("\0#12", v[1])
      assert.equal("\0$x", v[2])
      assert.equal("\0", v[3])
      assert.equal("\0\0a", v[4])
      assert.equal("\0#2", v[5]["\0#1"])
    end)

    it("a number in key position stays invalid", function()
      assert.is_nil((decode('{12345678901234567890:1}')))
      assert.is_nil((decode('{"a":1,12345678901234567890:1}')))
    end)
  end)

  -- the fix-up pass visits only the fields of the keys the pre-scan listed (numbers, nulls,
  -- objects, arrays), and walks every field when there are too many keys or an escaped one
  describe("the fix-up pass", function()
    it("matches identifier fields on the decoded key: an escaped key is one too", function()
      -- "hw\u0049nstanceId" decodes to "hwInstanceId"
      local v = assert(decode('{"hw\\u0049nstanceId":5,"x\\u0041":[7,null],"n\\u0041":null,'
        .. '"\\u0041":{"neInstanceId":1.0,"b":1.0}}'))
      assert.equal("5", v.hwInstanceId)
      assert.same({ 7, core.null }, v.xA)
      assert.is_nil(v.nA)
      assert.equal("1.0", v.A.neInstanceId)
      assert.equal("integer", compat.mtype(v.A.b))
      assert.equal("6", decode('{"hwInstanceId":6}').hwInstanceId)
    end)

    it("fixes the listed keys in every object, at any depth", function()
      local v = assert(decode('{"data":[{"a":null,"b":1,"c":"x"},{"a":"y","b":null,"c":[{"a":2.0}]},'
        .. '{"d":{"b":3,"a":null,"z":null}}],"pagination":{"page":1}}'))
      assert.same({ { b = 1, c = "x" }, { a = "y", c = { { a = 2 } } }, { d = { b = 3 } } }, v.data)
      assert.equal("integer", compat.mtype(v.data[2].c[1].a))
      assert.equal("integer", compat.mtype(v.pagination.page))
    end)

    it("fixes every field of objects with many keys", function()
      local parts = {}
      for i = 1, 40 do
        parts[#parts + 1] = string.format('"k%d":%d,"z%d":null,"neInstanceId":%d', i, i, i, i)
      end
      local text = "[{" .. table.concat(parts, ",") .. "},{\"o\":{" .. table.concat(parts, ",") .. "}}]"
      for _, v in ipairs(assert(decode(text))) do
        local t = v.o or v
        for i = 1, 40 do
          assert.equal("integer", compat.mtype(t["k" .. i]))
          assert.equal(i, t["k" .. i])
          assert.is_nil(t["z" .. i])
        end
        assert.equal("40", t.neInstanceId)
      end
    end)
  end)
end)
