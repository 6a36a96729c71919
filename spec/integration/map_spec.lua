-- cx:map against the sandbox over TLS: many customers at once under one rate
-- limit, results in order, a failing element isolated, n respected, nested queries,
-- break and errors inside fn, faults with several queries in flight.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local helper = require "spec.support.helper"
local compat = require "cxcloud.compat"

-- a query's items, or raise its error object (busted's assert would wrap it)
local function all(q)
  local items, err = q:all()
  if not items then error(err, 0) end
  return items
end

local function ids(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = tostring(item.hwInstanceId) end
  return out
end

describe("cx:map", function()
  local sb

  setup(function()
    -- 8 customers; the credentials are entitled to the first 7 only
    sb = helper.sandbox { seed = 11, customers = 8, entitled = { 1, 2, 3, 4, 5, 6, 7 },
      hardware = { 30, 12, 25, 7, 30, 18, 22, 10 }, latency = 0.1 }
  end)

  teardown(function() sb:stop() end)

  it("pulls every customer, results in input order, a not entitled customer isolated", function()
    local cx = helper.client(sb, { page_size = 10, rate_limit = 20 })
    finally(function() cx:close() end)
    local list = {}
    list[1] = sb.all_customers[8] -- not entitled: first
    for i = 7, 1, -1 do list[#list + 1] = sb.customers[i] end
    local results, errs = cx:map(list, function(id)
      return all(cx:customer(id):hardware())
    end)
    assert.is_table(errs)
    assert.is_true(cxcloud.is_error(errs[1]), tostring(errs[1]))
    assert.equal(403, errs[1].status)
    helper.show(errs[1])
    for k = 2, 8 do
      assert.is_nil(errs[k])
      assert.same(ids(sb:truth("hardware", list[k])), ids(results[k]))
    end
  end)

  it("runs the pulls concurrently within the rate limit, at most n at once #yields", function()
    sb:set { latency = 0.4 }
    local cx = helper.client(sb, { page_size = 10, rate_limit = 10 })
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    local mark = helper.mark(sb)
    local running, most = 0, 0
    local t0 = core.now()
    local results, errs = cx:map({ compat.unpack(sb.customers, 1, 7) }, function(id)
      running = running + 1
      if running > most then most = running end
      local rows = all(cx:customer(id):hardware())
      running = running - 1
      return #rows
    end, 4)
    local took = core.now() - t0
    sb:set { latency = 0.1 }
    assert.is_nil(errs)
    assert.same({ 30, 12, 25, 7, 30, 18, 22 }, results)
    assert.equal(4, most)
    local log = {}
    for _, r in ipairs(helper.since(sb, mark)) do if helper.is_api(r) then log[#log + 1] = r end end
    -- 7 pulls, 17 pages; sequentially at 0.4 s per page (the first page of each pull
    -- alone) at least 7 x 0.8 s; four at once under 10 requests/s: well under that
    assert.equal(17, #log)
    assert.is_true(took < 4, took)
    -- the client's rate limit holds across all pulls: any second holds at most 10 + 1
    for i = 1, #log do
      local n = 0
      for j = i, #log do if log[j].t - log[i].t < 1 then n = n + 1 end end
      assert.is_true(n <= 11, n)
    end
  end)

  it("nested queries, break and errors inside fn cost nothing more afterwards", function()
    local cx = helper.client(sb, { page_size = 5, rate_limit = 0, concurrency = 4 })
    finally(function() cx:close() end)
    local results, errs = cx:map({ compat.unpack(sb.customers, 1, 4) }, function(id, i)
      local view = cx:customer(id)
      local n = assert(view:hardware():count())
      local seen = 0
      for _ in view:hardware() do
        seen = seen + 1
        if seen == 3 then break end
      end
      if i == 2 then
        for _ in view:hardware():items() do error("stop in " .. i, 0) end
      end
      return n * 100 + seen
    end)
    assert.same({ 3003, nil, 2503, 703 }, { results[1], results[2], results[3], results[4] })
    assert.equal("stop in 2", errs[2])
    core.sleep(0.3)
    local mark = helper.mark(sb)
    assert.equal(30, (cx:customer(sb.customers[1]):hardware():count()))
    local after = helper.since(sb, mark)
    assert.equal(1, #after)
    assert.equal("1", tostring(after[1].rows))
  end)

  it("a 429 and a token expiry with several pulls in flight: every row once", function()
    local cx = helper.client(sb, { page_size = 5, rate_limit = 20 })
    finally(function() cx:close() end)
    assert.is_string((cx:token()))
    sb:faults {
      { op = "hardware", page = 3, action = "throttle", status = 429, retry_after = "1", times = 1 },
      { op = "hardware", page = 5, action = "expire_token", times = 1 },
    }
    local list = { compat.unpack(sb.customers, 1, 5) }
    local results, errs = cx:map(list, function(id) return all(cx:customer(id):hardware()) end)
    sb:faults {}
    assert.is_nil(errs and tostring(errs[1] or errs[2] or errs[3] or errs[4] or errs[5]))
    for k = 1, 5 do assert.same(ids(sb:truth("hardware", list[k])), ids(results[k])) end
    local s = cx:stats()
    assert.is_true(s.throttled >= 1)
    assert.is_true(s.auth_retries >= 1)
  end)
end)
