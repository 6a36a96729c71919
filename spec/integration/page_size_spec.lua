-- page_size = "auto" over TLS against the sandbox, in each of the page limits a service may
-- have (none up to 10,000; a 400 above N; at most N rows whatever was asked): the rows exact,
-- the calls counted from the sandbox's log, the size remembered per operation and across a
-- store's runs; bodies kept under max_body_size; the client-wide memory bound; every page
-- asked at once when the count is known.
local store = require "cxcloud.store"
local helper = require "spec.support.helper"

local ROWS = 2500
-- a latency long against the client's own time per request
local LATENCY = 0.3

describe("page_size = \"auto\" #lua_logic", function()
  local sb, cid
  setup(function()
    sb = helper.sandbox { seed = 41, customers = 2, hardware = { ROWS, 1500 } }
    cid = sb.customers[1]
  end)
  teardown(function() sb:stop() end)
  after_each(function()
    sb:faults {}
    sb:set { max_rows = 10000, rows_over_max = "refuse", latency = 0 }
  end)

  local function client(extra)
    extra = extra or {}
    if extra.rate_limit == nil then extra.rate_limit = 0 end
    return helper.client(sb, extra)
  end

  -- the API requests since `mark`: { rows asked, status } each, in arrival order
  local function calls(mark, op)
    local out = {}
    for _, r in ipairs(helper.since(sb, mark)) do
      if helper.is_api(r) and (not op or r.op == op) then
        out[#out + 1] = { rows = tonumber(r.query.rows), status = r.status, page = tonumber(r.query.page) }
      end
    end
    return out
  end

  local function asked(list)
    local out = {}
    for i, c in ipairs(list) do out[i] = c.rows .. ":" .. c.status end
    return table.concat(out, " ")
  end

  -- every row of the truth exactly once, in order
  local function exact(items, customer)
    local truth = sb:truth("hardware", customer or cid)
    assert.equal(#truth, #items)
    for i, t in ipairs(truth) do
      assert.equal(tostring(t.hwInstanceId), tostring(items[i].hwInstanceId), "row " .. i)
    end
  end

  it("asks 10,000 rows where the service takes them: one call for 2,500 rows", function()
    local cx = client()
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    assert.equal("10000:200", asked(calls(mark)))
  end)

  it("steps down where the service refuses the size with a 400, and remembers it per operation",
    function()
      sb:set { max_rows = 1000 }
      local cx = client()
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      exact(assert(cx:hardware { customerId = cid }:all()))
      assert.equal("10000:400 1000:200 1000:200 1000:200", asked(calls(mark)))
      -- the next pull of that operation starts where the service agreed
      mark = helper.mark(sb)
      exact(assert(cx:hardware { customerId = sb.customers[2] }:all()), sb.customers[2])
      assert.equal("1000:200 1000:200", asked(calls(mark)))
      -- another operation learns its own
      mark = helper.mark(sb)
      assert(cx:network_elements { customerId = cid }:all())
      assert.equal("10000:400", asked(calls(mark)):match("^%S+"))
    end)

  it("goes on with the service's size where it answers with fewer rows than asked", function()
    sb:set { max_rows = 1000, rows_over_max = "cap" }
    local cx = client()
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    assert.equal("10000:200 1000:200 1000:200", asked(calls(mark)))
    mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    assert.equal("1000:200 1000:200 1000:200", asked(calls(mark)))
  end)

  it("pulls of one operation side by side (cx:map) ask a refused size no more once it is"
    .. " refused: one refused call, not one per pull #yields", function()
      sb:set { max_rows = 1000, latency = 0.05 }
      -- pulls wait their turn at the rate limit: the first one's 400 comes while they wait
      local cx = client { rate_limit = 4 }
      finally(function() cx:close() end)
      local ids = { sb.customers[1], sb.customers[2], sb.customers[1], sb.customers[2] }
      local mark = helper.mark(sb)
      local lists = cx:map(ids, function(id) return assert(cx:hardware { customerId = id }:all()) end)
      for i, id in ipairs(ids) do exact(lists[i], id) end
      local refused = 0
      for _, c in ipairs(calls(mark)) do if c.status == 400 then refused = refused + 1 end end
      assert.equal(1, refused)
    end)

  it("takes a 400 at every size for the error it is, and learns nothing from it", function()
    local cx = client { max_retries = 0 }
    finally(function() cx:close() end)
    sb:faults { { op = "hardware", status = 400, times = -1, body = '{"message":"bad filter"}' } }
    local mark = helper.mark(sb)
    local list, err = cx:hardware { customerId = cid }:all()
    assert.is_nil(list)
    assert.equal(400, err.status)
    assert.equal("10000:400 1000:400 500:400 100:400", asked(calls(mark)))
    sb:faults {}
    mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    assert.equal("10000:200", asked(calls(mark)))
  end)

  it("keeps a fixed page_size exactly: rows is always that number", function()
    sb:set { max_rows = 1000, rows_over_max = "cap" }
    local cx = client { page_size = 700 }
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    assert.equal("700:200 700:200 700:200 700:200", asked(calls(mark)))
    sb:set { rows_over_max = "refuse" }
    local _, err = cx:hardware { customerId = cid, page_size = 2000 }:all()
    assert.equal(400, err.status)
  end)

  it("asks a body too large for max_body_size again in smaller pages, then plans under it",
    function()
      local limit = 1024 * 1024
      local cx = client { max_body_size = limit }
      finally(function() cx:close() end)
      local other = sb.customers[2] -- 1,500 rows of about 1.2 KB: 1.8 MB in one page
      local mark = helper.mark(sb)
      exact(assert(cx:hardware { customerId = other }:all()), other)
      local first = calls(mark)
      assert.is_true(#first > 1)
      assert.equal(10000, first[1].rows)
      -- the next pull's pages are planned to half the limit: no refused body
      mark = helper.mark(sb)
      exact(assert(cx:hardware { customerId = other }:all()), other)
      for _, c in ipairs(calls(mark)) do
        assert.equal(200, c.status)
        assert.is_true(c.rows * 1300 < limit, "rows " .. c.rows)
      end
    end)

  it("asks a later page too large again in pages of a divisor of its size: no row lost or"
    .. " repeated", function()
      local cx = client { max_body_size = 4 * 1024 * 1024, page_size = "auto" }
      finally(function() cx:close() end)
      sb:set { max_rows = 1000 }
      assert(cx:hardware { customerId = sb.customers[2] }:all()) -- learns 1000
      sb:faults { { op = "hardware", page = 2, action = "gzip_bomb", size = 6 * 1024 * 1024 } }
      local mark = helper.mark(sb)
      exact(assert(cx:hardware { customerId = cid }:all()))
      local seen = {}
      for _, c in ipairs(calls(mark)) do seen[c.page .. "x" .. c.rows] = c.status end
      -- page 2 of 1000 (rows 1001-2000) came again as pages 3 and 4 of 500, and the rest
      -- in pages of 500 (page 3 of 1000, asked beside page 2, was cancelled)
      assert.equal(200, seen["1x1000"])
      for _, p in ipairs { "3x500", "4x500", "5x500" } do assert.equal(200, seen[p], p) end
      assert.is_nil(seen["6x500"])
      assert.is_nil(seen["2x500"])
    end)

  it("ends a pull too large at one row with the error", function()
    local cx = client { max_body_size = 1024, max_retries = 0 }
    finally(function() cx:close() end)
    local _, err = cx:hardware { customerId = cid, max_items = 1 }:all()
    assert.equal("decode", err.kind)
    assert.matches("too large", err.message)
  end)

  it("asks for every page at once when count() told how many rows", function()
    sb:set { latency = LATENCY }
    local cx = client { page_size = 250, concurrency = 10 }
    finally(function() cx:close() end)
    local q = cx:hardware { customerId = cid }
    assert.equal(ROWS, assert(q:count()))
    local mark = helper.mark(sb)
    exact(assert(q:all()))
    local log = {}
    for _, r in ipairs(helper.since(sb, mark)) do if helper.is_api(r) then log[#log + 1] = r end end
    assert.equal(10, #log)
    -- all ten asked before the first answered
    assert.is_true(log[10].t - log[1].t < LATENCY * 0.8, "spread " .. (log[10].t - log[1].t))
    -- without the count, pages 2-10 wait for page 1
    mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    log = {}
    for _, r in ipairs(helper.since(sb, mark)) do if helper.is_api(r) then log[#log + 1] = r end end
    assert.is_true(log[2].t - log[1].t >= LATENCY * 0.8)
  end)

  it("holds what is buffered under max_buffered by sending fewer at once", function()
    sb:set { latency = 0.1 }
    local cx = client { page_size = 100, concurrency = 16, max_body_size = 1024 * 1024,
      max_buffered = 4 * 1024 * 1024 }
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    exact(assert(cx:hardware { customerId = cid }:all()))
    -- at most 4 (4 MiB / 1 MiB) transfers at once, by the sandbox's clock
    local log = {}
    for _, r in ipairs(helper.since(sb, mark)) do if helper.is_api(r) then log[#log + 1] = r end end
    local most = 0
    for _, a in ipairs(log) do
      local n = 0
      for _, b in ipairs(log) do
        if b.t <= a.t and b.t + b.duration > a.t then n = n + 1 end
      end
      if n > most then most = n end
    end
    assert.is_true(most <= 4, "in flight at once: " .. most)
    assert.is_true(cx:stats().memory_waits > 0)
  end)

  it("keeps the sizes in a store: the next run's client asks no refused size, and --plan"
    .. " counts its calls #store", function()
      sb:set { max_rows = 1000 }
      local path = os.tmpname()
      finally(function() os.remove(path); os.remove(path .. ".lock") end)
      local db = assert(store.open(path))
      finally(function() db:close() end)
      local cx1 = client { rate_limit = 4 }
      local first = helper.mark(sb)
      assert(db:sync(cx1, { operations = { "hardware" } }))
      cx1:close()
      -- the first run's other pairs of the operation, waiting their turn, ask no refused size
      local refused = 0
      for _, c in ipairs(calls(first, "hardware")) do if c.status == 400 then refused = refused + 1 end end
      assert.equal(1, refused)
      local cx2 = client()
      finally(function() cx2:close() end)
      local plan = assert(db:plan(cx2, { operations = { "hardware" } }))
      sb:set { latency = LATENCY }
      local mark = helper.mark(sb)
      local run = assert(db:sync(cx2, { operations = { "hardware" } }))
      local list = calls(mark, "hardware")
      for _, c in ipairs(list) do assert.equal(200, c.status) end
      assert.equal(#list, run.calls - #calls(mark, "customers"))
      assert.equal(plan.calls, #list)
      -- the last run's count: each customer's pages asked at once, not after its first page
      for _, customer in ipairs(sb.customers) do
        local t = {}
        for _, r in ipairs(helper.since(sb, mark)) do
          if r.op == "hardware" and r.customerId == customer then t[#t + 1] = r.t end
        end
        assert.is_true(#t >= 2 and t[#t] - t[1] < LATENCY * 0.8, customer)
      end
    end)
end)
