-- cx:query(path, params): any path under base_url as a query object, with the
-- named operations' pagination, idioms, retries, drift detection and resume; parameters
-- outside our table sent as given; bad paths refused before any request.
local operations = require "cxcloud.operations"
local helper = require "spec.support.helper"
local compat = require "cxcloud.compat"

local HW = "/inventory/hardware"

local function ids(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = tostring(item.hwInstanceId) end
  return out
end

-- every page of `q`, in order: { { info = ..., items = ... }, ... }
local function pages_of(q)
  local out = {}
  for page, info in q:pages() do out[#out + 1] = { info = info, items = page } end
  return out
end

local function api_requests(sb, mark)
  local out = {}
  for _, r in ipairs(helper.since(sb, mark)) do
    if helper.is_api(r) then out[#out + 1] = r end
  end
  return out
end

describe("cx:query(path, params)", function()
  local sb, customer_id, clock

  setup(function()
    sb = helper.sandbox { seed = 14, customers = 2, hardware = 47, bulletins = 23 }
    customer_id = sb.customers[1]
  end)

  teardown(function() sb:stop() end)

  before_each(function()
    sb:faults {}
    clock = helper.fake_clock()
  end)

  local function client(extra)
    local opts = { page_size = 10, clock = clock.clock, sleep = clock.sleep,
                   random = function() return 0.5 end }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return helper.client(sb, opts)
  end

  describe("on a named operation's path", function()
    for _, op in ipairs(operations) do
      it("equals " .. op.name .. ", page by page, and the sandbox's truth", function()
        local cx = client { page_size = 3 }
        finally(function() cx:close() end)
        local p = op.name ~= "customers" and { customerId = customer_id } or {}
        local named = pages_of(cx[op.name](cx, p))
        local free = pages_of(cx:query(op.path, p))
        assert.is_true(#named > 1 or op.name == "customers", "a single page proves little")
        assert.same(named, free)
        local all = {}
        for _, pg in ipairs(free) do
          for _, item in ipairs(pg.items) do all[#all + 1] = item end
        end
        assert.same(sb:truth(op.name, op.name ~= "customers" and customer_id or nil), all)
      end)
    end
  end)

  it("serves every idiom", function()
    local cx = client()
    finally(function() cx:close() end)
    local truth = sb:truth("hardware", customer_id)
    local q = cx:query(HW, { customerId = customer_id })
    local got = {}
    for item in q do got[#got + 1] = item end
    assert.same(ids(truth), ids(got))
    got = {}
    for item in q:items() do got[#got + 1] = item end
    assert.same(ids(truth), ids(got))
    local seen = {}
    for page, info in q:pages() do
      seen[#seen + 1] = info.page
      assert.equal(47, info.total)
      assert.equal(5, info.pages)
      assert.equal(info.page < 5 and 10 or 7, #page)
    end
    assert.same({ 1, 2, 3, 4, 5 }, seen)
    assert.same(ids(truth), ids(assert(q:all())))
    assert.equal(ids(truth)[1], ids({ assert(q:first()) })[1])
    assert.equal(47, (q:count()))
    assert.truthy(tostring(q):find(HW, 1, true))
  end)

  it("keeps the options' meaning: fields, sort, page_size, max_items, start_page", function()
    local cx = client()
    finally(function() cx:close() end)
    local p = { customerId = customer_id, fields = { "hwInstanceId", "serialNumber" },
                sort = "serialNumber:desc", page_size = 4, max_items = 9, start_page = 2 }
    local mark = helper.mark(sb)
    local got = assert(cx:query(HW, p):all())
    assert.same(assert(cx:hardware(p):all()), got)
    assert.equal(9, #got)
    local truth = sb:truth("hardware", customer_id,
      { fields = "hwInstanceId,serialNumber", sort = "serialNumber:DESC" })
    assert.same({ compat.unpack(truth, 5, 13) }, got)
    local first = api_requests(sb, mark)[1]
    assert.equal("hwInstanceId,serialNumber", first.query.fields)
    assert.equal("serialNumber:DESC", first.query.sort)
    assert.equal(2, first.page)
    assert.equal(4, first.rows)
  end)

  it("checks the options as the named operations do, before any request", function()
    local cx = client()
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    local mark = helper.mark(sb)
    local cases = {
      { { page_size = 0 }, "page_size" }, { { page_size = 10001 }, "page_size" },
      { { max_items = -1 }, "max_items" }, { { start_page = 0 }, "start_page" },
      { { sort = "a,b:ASC" }, "sort" }, { { fields = "" }, "fields" },
      { { page = 2 }, "start_page" }, { { rows = 5 }, "page_size" },
    }
    for _, case in ipairs(cases) do
      local err = helper.raised(cx.query, cx, HW, case[1])
      assert.equal("usage", err.kind)
      local msg = helper.show(err)
      assert.truthy(msg:find(case[2], 1, true), msg)
      local named = helper.raised(cx.hardware, cx, case[1])
      assert.truthy(helper.show(named):find(case[2], 1, true))
    end
    assert.equal(0, #helper.since(sb, mark))
  end)

  it("sends a parameter outside the table as given", function()
    local cx = client()
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    local list, err = cx:query(HW, { customerId = customer_id, colour = "blue & green",
      flag = true, n = 3, whole = 4.0, ratio = 1.5, list = { "a", 7, "b c" } }):all()
    -- the sandbox, like our table, does not know these: it answers 400, and says so
    assert.is_nil(list)
    assert.equal("http", err.kind)
    assert.equal(400, err.status)
    assert.equal(HW, err.operation)
    assert.equal(1, err.page)
    helper.show(err)
    local reqs = api_requests(sb, mark)
    assert.equal(1, #reqs)
    assert.same({ customerId = customer_id, colour = "blue & green", flag = "true", n = "3",
      whole = "4", ratio = "1.5", list = "a,7,b c", page = "1", rows = "10" }, reqs[1].query)
  end)

  it("refuses parameter values it cannot send as given, before any request", function()
    local cx = client()
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    local mark = helper.mark(sb)
    local cases = {
      { x = print }, { x = {} }, { x = { a = 1 } }, { x = { 1, { 2 } } }, { x = { true } },
      { x = 0 / 0 }, { x = math.huge }, { [1] = "positional" }, { [""] = "x" },
    }
    for _, p in ipairs(cases) do
      local err = helper.raised(cx.query, cx, HW, p)
      assert.equal("usage", err.kind)
      helper.show(err)
    end
    local err = helper.raised(cx.query, cx, HW, "customerId=abc")
    assert.truthy(helper.show(err):find("table of parameters", 1, true))
    assert.equal(0, #helper.since(sb, mark))
  end)

  it("refuses a path outside base_url, or with a query or fragment, before any request", function()
    local cx = client()
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    local mark = helper.mark(sb)
    local bad = {
      { nil, "got nil" }, { 42, "42" }, { "", "does not start with '/'" },
      { "inventory/hardware", "does not start with '/'" },
      { "https://evil.example/x", "scheme" }, { "//evil.example/x", "'//'" },
      { "/inventory//hardware", "'//'" }, { "/../token", "'..'" }, { "/inventory/../x", "'..'" },
      { "/inventory/%2e%2E/x", "'..'" }, { "/./inventory", "'.'" }, { "/inventory/..", "'..'" },
      { HW .. "?customerId=x", "query string" }, { HW .. "#frag", "fragment" },
      { "/inventory/hard ware", "character" }, { "/inventory/\r\nX: y", "character" },
      { "/inventory/%zz", "%XX" }, { "/inventory/%4", "%XX" }, { "/inventory\\..\\x", "character" },
    }
    for _, case in ipairs(bad) do
      local err = helper.raised(cx.query, cx, case[1], { customerId = customer_id })
      assert.equal("usage", err.kind)
      local msg = helper.show(err)
      local why = msg:match("bad path: (.-); accepted: a path under base_url")
      assert.truthy(why, msg)
      assert.truthy(why:find(case[2], 1, true), msg)
      assert.is_nil(msg:find("[\r\n]"), "the message is one line")
      local view = cx:customer(customer_id)
      assert.equal("usage", helper.raised(view.query, view, case[1]).kind)
    end
    assert.equal(0, #helper.since(sb, mark))
    -- percent-escapes and sub-delimiters are a path's own
    assert.is_table(cx:query("/inventory/hard%77are;v=2"))
  end)

  it("reports a path the API does not have as the http error of one request", function()
    local cx = client()
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    local q = cx:query("/inventory/no-such-thing", { customerId = customer_id })
    local err = helper.raised(function() for _ in q do end end)
    assert.equal("http", err.kind)
    assert.equal(404, err.status)
    assert.is_false(err.retryable)
    assert.equal("/inventory/no-such-thing", err.operation)
    assert.equal(1, err.page)
    helper.show(err)
    assert.equal(1, #api_requests(sb, mark))
    local n, err2 = q:count()
    assert.is_nil(n)
    assert.equal(404, err2.status)
  end)

  it("fails on a 403 as the named operation does", function()
    local cx = client { concurrency = 1 }
    finally(function() cx:close() end)
    local function fail(f)
      sb:faults { { path = HW, page = 2, status = 403, body = '{"message":"Forbidden"}' } }
      local err = helper.raised(f)
      helper.show(err)
      return err
    end
    local named = fail(function() for _ in cx:hardware { customerId = customer_id } do end end)
    local free = fail(function() for _ in cx:query(HW, { customerId = customer_id }) do end end)
    assert.equal(403, free.status)
    for _, k in ipairs { "kind", "status", "retryable", "attempts", "page", "message" } do
      assert.same(named[k], free[k], k)
    end
    assert.equal("hardware", named.operation)
    assert.equal(HW, free.operation)
  end)

  it("retries a 503 and still gives every row once, in order", function()
    sb:faults { { path = HW, page = 2, status = 503, times = 2 } }
    local cx = client { concurrency = 2 }
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    local got = assert(cx:query(HW, { customerId = customer_id }):all())
    assert.same(ids(sb:truth("hardware", customer_id)), ids(got))
    assert.equal(2, sb:fault_state()[1].fired)
    assert.equal(3, helper.count(api_requests(sb, mark), function(r) return r.page == 2 end))
    assert.equal(2, cx:stats().retries)
  end)

  it("stops at a failed page and resumes there with start_page", function()
    sb:faults { { path = HW, page = 3, status = 404 } }
    local cx = client { concurrency = 1 }
    finally(function() cx:close() end)
    local got = {}
    local err = helper.raised(function()
      for item in cx:query(HW, { customerId = customer_id }) do got[#got + 1] = item end
    end)
    assert.equal(3, err.page)
    assert.equal(HW, err.operation)
    helper.show(err)
    for item in cx:query(HW, { customerId = customer_id, start_page = err.page }) do
      got[#got + 1] = item
    end
    assert.same(ids(sb:truth("hardware", customer_id)), ids(got))
  end)

  it("detects drift as the named operations do", function()
    sb:faults { { path = HW, page = 2, action = "add_rows", count = 1, at = "start" } }
    local cx = client { concurrency = 1 }
    finally(function() cx:close() end)
    -- on the other customer: the rows added stay, and the other specs count the first's
    local list, err = cx:query(HW, { customerId = sb.customers[2] }):all()
    assert.is_nil(list)
    assert.equal("drift", err.kind)
    assert.equal(2, err.page)
    assert.equal(HW, err.operation)
    helper.show(err)
  end)

  it("sends nothing more after a break, by any idiom", function()
    -- rate-limited (on the fake clock): the window's requests wait in the client's queue,
    -- so only a break that cancels them keeps them from being sent later
    local cx = client { page_size = 3, concurrency = 4, rate_limit = 1 }
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    for _, idiom in ipairs { "call", "items", "pages" } do
      local mark = helper.mark(sb)
      local q = cx:query(HW, { customerId = customer_id })
      local n = 0
      if idiom == "call" then
        for _ in q do n = n + 1 if n == 4 then break end end -- into the second page of 3
        q:close()
      elseif idiom == "items" then
        for _ in q:items() do n = n + 1 if n == 4 then break end end
      else
        for _ in q:pages() do n = n + 1 if n == 2 then break end end
      end
      -- drive the client again: nothing of the loop beyond the two pages it read is sent
      assert.equal(47, (cx:query(HW, { customerId = customer_id }):count()))
      local loop = {}
      for _, r in ipairs(api_requests(sb, mark)) do
        if r.rows == 3 then loop[#loop + 1] = r.page end
      end
      table.sort(loop)
      assert.same({ 1, 2 }, loop, idiom)
    end
  end)

  describe("on a customer view", function()
    it("fills in customerId", function()
      local cx = client()
      finally(function() cx:close() end)
      local view = cx:customer(customer_id)
      local mark = helper.mark(sb)
      local got = assert(view:query(HW):all())
      assert.same(ids(sb:truth("hardware", customer_id)), ids(got))
      local reqs = api_requests(sb, mark)
      assert.is_true(#reqs > 1)
      for _, r in ipairs(reqs) do assert.equal(customer_id, r.customerId) end
      -- on the same path, the view's query and the view's operation agree
      assert.same(assert(view:hardware { fields = "hwInstanceId" }:all()),
        assert(view:query(HW, { fields = "hwInstanceId" }):all()))
      -- the same customerId again is fine, another is refused before any request
      assert.same(got, assert(view:query(HW, { customerId = customer_id }):all()))
      mark = helper.mark(sb)
      local err = helper.raised(view.query, view, HW, { customerId = sb.customers[2] })
      assert.equal("usage", err.kind)
      assert.truthy(helper.show(err):find("this customer view is for customerId", 1, true))
      assert.equal(0, #helper.since(sb, mark))
    end)
  end)

  describe("an unknown parameter of a named operation", function()
    it("says how to send it anyway with cx:query", function()
      local cx = client()
      finally(function() cx:close() end)
      local err = helper.raised(cx.hardware, cx, { customerId = customer_id, colour = "blue" })
      local msg = helper.show(err)
      assert.truthy(msg:find('cx:query("/inventory/hardware", { colour = ...', 1, true), msg)
      local view = cx:customer(customer_id)
      local verr = helper.raised(view.contracts, view, { ["odd-name"] = 1 })
      local vmsg = helper.show(verr)
      assert.truthy(vmsg:find(('cx:customer("%s"):query("/contracts/contract-details", '
        .. '{ ["odd-name"] = ...'):format(customer_id), 1, true), vmsg)
    end)
  end)
end)
