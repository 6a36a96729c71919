-- Query objects: lazy order, early break, resume, drift, max_items, count, and
-- exact IDs of up to 22 digits.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local cjson = require "cjson"
local helper = require "spec.support.helper"
local compat = require "cxcloud.compat"

local function ids(items, field)
  local out = {}
  for i, item in ipairs(items) do out[i] = tostring(item[field or "hwInstanceId"]) end
  return out
end

describe("queries", function()
  local sb, customer_id

  setup(function()
    sb = helper.sandbox { seed = 3, customers = 2, hardware = 95 }
    customer_id = sb.customers[1]
  end)

  teardown(function() sb:stop() end)

  it("give the same items in the same order at any concurrency", function()
    local truth = sb:truth("hardware", customer_id)
    for _, concurrency in ipairs { 1, 3, 10 } do
      local cx = helper.client(sb, { page_size = 10, concurrency = concurrency })
      finally(function() cx:close() end)
      local got = {}
      for item in cx:hardware { customerId = customer_id } do got[#got + 1] = item end
      assert.same(ids(truth), ids(got))
    end
  end)

  it("pages() gives each page with its pagination info", function()
    local cx = helper.client(sb, { page_size = 10 })
    finally(function() cx:close() end)
    local seen = {}
    for page, info in cx:hardware { customerId = customer_id }:pages() do
      seen[#seen + 1] = info.page
      assert.equal(10, info.pages)
      assert.equal(95, info.total)
      assert.equal(info.page < 10 and 10 or 5, #page)
    end
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, seen)
  end)

  it("count() is one request with a single row", function()
    local cx = helper.client(sb)
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    local mark = helper.mark(sb)
    assert.equal(95, (cx:hardware { customerId = customer_id }:count()))
    local log = helper.since(sb, mark)
    assert.equal(1, #log)
    assert.equal(1, tonumber(log[1].rows))
  end)

  -- Leaving a loop early, by every idiom, costs nothing more, with the query still
  -- referenced and no garbage collection: the next call sends exactly its own request
  -- (the engine's count), and the sandbox sees only pages of the window the loop had in
  -- flight when it was left (transfers already handed to libcurl may reach the server
  -- during the next call: they were sent, not queued), plus that one request.
  it("an early break sends nothing more, by every idiom", function()
    collectgarbage("stop")
    for _, idiom in ipairs { "call", "items", "pages", "error", "return" } do
      local cx = helper.client(sb, { page_size = 5, concurrency = 4, rate_limit = 0 })
      finally(function() cx:close() end)
      assert.is_string((cx:token()))
      local mark = helper.mark(sb)
      local q = cx:hardware { customerId = customer_id }
      local n = 0
      local function loop()
        local iter, s, c, close = q, nil, nil, nil
        if idiom == "items" or idiom == "pages" then iter, s, c, close = q[idiom](q) end
        for _ in iter, s, c, close do -- Lua 5.4 closes `close` on break, error and return
          n = n + (idiom == "pages" and 5 or 1)
          if n >= 7 then
            if idiom == "error" then error("stop here", 0) end
            if idiom == "return" then return end
            break
          end
        end
      end
      pcall(loop)
      assert.equal(idiom == "pages" and 10 or 7, n, idiom)
      local sent = cx:stats().requests
      assert.equal(95, (cx:hardware { customerId = customer_id }:count()))
      assert.equal(sent + 1, cx:stats().requests, idiom)
      core.sleep(0.2) -- let the sandbox log what reached it
      local pages, counts = {}, 0
      for _, r in ipairs(helper.since(sb, mark)) do
        if tostring(r.rows) == "1" then
          counts = counts + 1
        else
          local p = tonumber(r.page)
          assert.is_nil(pages[p], idiom .. ": page " .. p .. " twice")
          pages[p] = true
          assert.is_true(p <= 1 + 4, idiom .. ": page " .. p .. " is beyond the window")
        end
      end
      assert.equal(1, counts, idiom)
      assert.is_table(q) -- still referenced
    end
    collectgarbage("restart")
  end)

  it("max_items stops the pull", function()
    local cx = helper.client(sb, { page_size = 10 })
    finally(function() cx:close() end)
    local got = assert(cx:hardware { customerId = customer_id, max_items = 23 }:all())
    assert.equal(23, #got)
    local truth = ids((sb:truth("hardware", customer_id)))
    assert.same({ compat.unpack(truth, 1, 23) }, ids(got))
  end)

  it("start_page resumes a pull where an error stopped it", function()
    local cx = helper.client(sb, { page_size = 10, max_retries = 0, concurrency = 1 })
    finally(function() cx:close() end)
    sb:faults { { op = "hardware", page = 4, status = 400, body = '{"status":400,"message":"bad"}' } }
    local got = {}
    local ok, err = pcall(function()
      for item in cx:hardware { customerId = customer_id } do got[#got + 1] = item end
    end)
    sb:faults {}
    assert.is_false(ok)
    assert.equal(4, err.page)
    assert.equal(30, #got)
    for item in cx:hardware { customerId = customer_id, start_page = err.page } do got[#got + 1] = item end
    assert.same(ids((sb:truth("hardware", customer_id))), ids(got))
  end)

  describe("drift", function()
    it("raises a drift error when rows are added between pages", function()
      local other = helper.sandbox { seed = 5, customers = 1, hardware = 40 }
      local cx = helper.client(other, { page_size = 10, concurrency = 1 })
      finally(function() cx:close() end)
      local id = other.customers[1]
      other:faults { { op = "hardware", page = 3, action = "add_rows", count = 4 } }
      local ok, err = pcall(function() for _ in cx:hardware { customerId = id } do end end)
      other:stop()
      assert.is_false(ok)
      assert.equal("drift", err.kind)
      assert.truthy(tostring(err):find("44", 1, true))
    end)

    it("with drift = \"record\" goes on and records what changed", function()
      local other = helper.sandbox { seed = 5, customers = 1, hardware = 40 }
      local cx = helper.client(other, { page_size = 10, concurrency = 1, drift = "record" })
      finally(function() cx:close() end)
      local id = other.customers[1]
      other:faults { { op = "hardware", page = 3, action = "add_rows", count = 4 } }
      local q = cx:hardware { customerId = id }
      local n = 0
      for _ in q do n = n + 1 end
      other:stop()
      assert.equal(1, #q.drift >= 1 and 1 or 0)
      assert.equal(40, q.drift[1].expected_total)
      assert.equal(44, q.drift[1].total)
      assert.is_true(n >= 40)
    end)
  end)

  describe("IDs", function()
    it("keep every digit of IDs up to 22 digits (numbers beyond int64 as digit strings)", function()
      local other = helper.sandbox { seed = 9, customers = 1, hardware = 12, big_ids = true }
      local cx = helper.client(other, { page_size = 5 })
      finally(function() cx:close() end)
      local id = other.customers[1]
      local got = assert(cx:hardware { customerId = id }:all())
      local truth = other:truth("hardware", id)
      other:stop()
      assert.same(ids(truth), ids(got))
      for _, item in ipairs(got) do
        local digits = item.hwInstanceId
        assert.equal("string", type(digits))
        assert.truthy(digits:match("^%d+$"), digits)
        assert.is_true(#digits >= 20 and #digits <= 22, digits)
      end
    end)

    it("keep 17-19 digit IDs exact as strings of their digits", function()
      local other = helper.sandbox { seed = 9, customers = 1, hardware = 12, big_ids = "int64" }
      local cx = helper.client(other, { page_size = 5 })
      finally(function() cx:close() end)
      local id = other.customers[1]
      local got = assert(cx:hardware { customerId = id }:all())
      local truth = other:truth("hardware", id)
      other:stop()
      for i, item in ipairs(got) do
        assert.equal("string", type(item.hwInstanceId))
        assert.equal(truth[i].hwInstanceId, item.hwInstanceId)
        assert.is_true(tonumber(item.hwInstanceId) > 2 ^ 53)
      end
    end)

    it("keep IDs the API sends as strings as strings", function()
      local other = helper.sandbox { seed = 9, customers = 1, hardware = 6, id_type = "string" }
      local cx = helper.client(other)
      finally(function() cx:close() end)
      local got = assert(cx:hardware { customerId = other.customers[1] }:all())
      other:stop()
      for _, item in ipairs(got) do assert.equal("string", type(item.hwInstanceId)) end
    end)

    it("round-trip: decode then encode gives the same digits", function()
      local text = '{"a":1234567890123456789012,"b":-9223372036854775808,"c":90876512345,"d":null}'
      local v = assert(core.decode(text))
      assert.equal("1234567890123456789012", v.a)
      if compat.int64 then
        assert.equal(math.mininteger, v.b)
        assert.equal("9223372036854775807", string.format("%d", math.maxinteger))
      else -- beyond 2^53 a Lua without 64-bit integers keeps the digits
        assert.equal("-9223372036854775808", v.b)
      end
      assert.equal(90876512345, v.c)
      assert.equal("integer", compat.mtype(v.c))
      assert.is_nil(v.d)
      assert.truthy(cjson.encode { c = v.c }:find("90876512345", 1, true))
    end)
  end)

  it("all/first/count return nil, err; iteration raises the error object", function()
    local cx = helper.client(sb, { max_retries = 0, page_size = 100 })
    finally(function() cx:close() end)
    sb:faults { { op = "hardware", status = 400, times = 4, body = '{"status":400,"message":"no"}' } }
    local list, err = cx:hardware { customerId = customer_id }:all()
    assert.is_nil(list)
    assert.is_true(cxcloud.is_error(err))
    assert.equal(400, err.status)
    local item, err2 = cx:hardware { customerId = customer_id }:first()
    assert.is_nil(item)
    assert.equal(400, err2.status)
    local n, err3 = cx:hardware { customerId = customer_id }:count()
    assert.is_nil(n)
    assert.equal(400, err3.status)
    local raised = helper.raised(function() for _ in cx:hardware { customerId = customer_id } do end end)
    sb:faults {}
    assert.is_true(cxcloud.is_error(raised))
    helper.show(raised)
  end)
end)
