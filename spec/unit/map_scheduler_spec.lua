-- Unit tests over a fake core (spec/support/fakecore.lua): cx:map's scheduler, the one wait path
-- (the `wait` option), timeout/step, and faults with several queries in flight.
local cxcloud = require "cxcloud"
local fakecore = require "spec.support.fakecore"
local request = require "cxcloud.engine.request"

local function customer_of(rec) return rec.url and rec.url:match("customerId=([^&]+)") end

-- every item of a query on customer `id`, as numbers
local function pull(fake, eng, cfg, id)
  local got = {}
  for item in fake:query(eng, cfg, { customerId = id }) do got[#got + 1] = item.n end
  return got
end

local function range(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

describe("cx:map (fake core)", function()
  it("returns results in input order, at most n calls at once #yields", function()
    local fake = fakecore.new { total = 30 }
    -- customer k answers in (6 - k) * 0.1 s: later elements finish first
    fake.respond = function(rec)
      local k = tonumber((customer_of(rec) or "c0"):match("%d+"))
      if k then return nil, (6 - k) * 0.1 end
    end
    local eng, cfg = fake:engine { page_size = 10, rate_limit = 0 }
    local running, most = 0, 0
    local list = { "c1", "c2", "c3", "c4", "c5" }
    local results, errs = eng:map(list, function(id, i)
      running = running + 1
      if running > most then most = running end
      local rows = pull(fake, eng, cfg, id)
      running = running - 1
      return #rows .. ":" .. id .. ":" .. i
    end, 3)
    assert.is_nil(errs)
    assert.same({ "30:c1:1", "30:c2:2", "30:c3:3", "30:c4:4", "30:c5:5" }, results)
    assert.equal(3, most)
  end)

  it("runs the calls concurrently: the pages of all calls share one rate limit #yields", function()
    local fake = fakecore.new { total = 20, latency = 1 }
    local eng, cfg = fake:engine { page_size = 10, rate_limit = 10 }
    local start = fake.now
    local list = {}
    for i = 1, 10 do list[i] = "c" .. i end
    local results = eng:map(list, function(id) return #pull(fake, eng, cfg, id) end)
    for i = 1, 10 do assert.equal(20, results[i]) end
    local api = fake:api()
    assert.equal(20, #api)
    table.sort(api, function(a, b) return a.t < b.t end)
    for i = 2, #api do assert.is_true(api[i].t - api[i - 1].t >= 0.1 - 1e-9) end
    -- sequentially: 10 x (2 pages one after the other at 1 s) = 20 s; at the rate: ~3-4 s
    assert.is_true(fake.now - start < 5, fake.now - start)
  end)

  it("isolates a failing call: errs[i] is what it raised, the others complete", function()
    local fake = fakecore.new { total = 15 }
    fake.respond = function(rec)
      if customer_of(rec) == "bad" then return { status = 403, body = '{"message":"not entitled"}' } end
    end
    local eng, cfg = fake:engine { page_size = 10, rate_limit = 0 }
    local results, errs = eng:map({ "a", "bad", "c", "boom" }, function(id)
      if id == "boom" then error("my own error", 0) end
      return #pull(fake, eng, cfg, id)
    end)
    assert.same({ 15, nil, 15 }, { results[1], results[2], results[3] })
    assert.is_true(cxcloud.is_error(errs[2]))
    assert.equal(403, errs[2].status)
    assert.equal("my own error", errs[4])
    assert.is_nil(errs[1])
    assert.is_nil(errs[3])
  end)

  it("runs nested queries inside fn, and a break or an error inside fn costs nothing more",
    function()
      local fake = fakecore.new { total = 50 }
      local eng, cfg = fake:engine { page_size = 5, rate_limit = 0, concurrency = 4 }
      local results, errs = eng:map({ "a", "b", "c" }, function(id)
        local n = assert(fake:query(eng, cfg, { customerId = id }):count())
        local seen = 0
        for _ in fake:query(eng, cfg, { customerId = id }) do
          seen = seen + 1
          if seen == 7 then break end
        end
        if id == "c" then
          for _ in fake:query(eng, cfg, { customerId = id }):items() do error("stop", 0) end
        end
        return n + seen
      end)
      assert.same({ 57, 57 }, { results[1], results[2] })
      assert.equal("stop", errs[3])
      -- after the map, the next call sends exactly its own request
      local mark = fake:mark()
      assert.equal(50, fake:query(eng, cfg):count())
      assert.equal(1, #fake:api(mark + 1))
      -- each broken pull sent at most its first page and a window of 4
      local per = {}
      for _, r in ipairs(fake:api()) do
        if r.rows == 5 then per[customer_of(r)] = (per[customer_of(r)] or 0) + 1 end
      end
      for id, k in pairs(per) do assert.is_true(k <= (id == "c" and 10 or 5), id .. " " .. k) end
    end)

  it("a map inside a call of a map runs under the outer one's rounds #yields", function()
    local fake = fakecore.new { total = 20, latency = 1 }
    local eng, cfg = fake:engine { page_size = 10, rate_limit = 0 }
    local start = fake.now
    local results, errs = eng:map({ "a", "b" }, function(outer)
      local inner = eng:map({ 1, 2, 3 }, function(k)
        return #pull(fake, eng, cfg, outer .. k)
      end)
      return table.concat(inner, ",")
    end)
    assert.is_nil(errs)
    assert.same({ "20,20,20", "20,20,20" }, results)
    -- the token (1 s), then six pulls of two pages at 1 s each, all at once: 3 s, not 13
    assert.is_true(fake.now - start <= 3 + 1e-9, fake.now - start)
  end)

  it("checks its arguments", function()
    local fake = fakecore.new()
    local eng = fake:engine()
    assert.equal("usage", select(2, pcall(eng.map, eng, "x", print)).kind)
    assert.equal("usage", select(2, pcall(eng.map, eng, {}, "f")).kind)
    assert.equal("usage", select(2, pcall(eng.map, eng, {}, print, 0)).kind)
    assert.same({}, (eng:map({}, print)))
  end)

  describe("faults with several queries in flight", function()
    it("a 429 on one query holds every query, and every row comes once", function()
      local fake = fakecore.new { total = 40, latency = 0.05 }
      local hit = false
      fake.respond = function(rec)
        if not hit and customer_of(rec) == "c2" and rec.page == 3 then
          hit = true
          return { status = 429, body = "", headers = { ["retry-after"] = "3" } }
        end
      end
      local eng, cfg = fake:engine { page_size = 5, rate_limit = 20 }
      local results = eng:map({ "c1", "c2", "c3" }, function(id) return pull(fake, eng, cfg, id) end)
      for i = 1, 3 do assert.same(range(40), results[i]) end
      local throttled_at
      for _, r in ipairs(fake:api()) do
        if r.result.status == 429 then throttled_at = r.t + 0.05 end
      end
      assert.is_number(throttled_at)
      -- nothing was sent during the 3 s hold, for any query
      for _, r in ipairs(fake:api()) do
        assert.is_false(r.t > throttled_at and r.t < throttled_at + 3 - 1e-9, r.t - throttled_at)
      end
      assert.equal(1, eng:get_stats().throttled)
    end)

    it("a token expiry seen by one query refreshes once, for all; every row once", function()
      local fake = fakecore.new { total = 40, latency = 0.05 }
      local revoked = false
      fake.respond = function(rec)
        if rec.page == 4 and customer_of(rec) == "c1" then revoked = true end
        if revoked and not rec.token and rec.bearer == "tok1" then return { status = 401, body = "" } end
      end
      local eng, cfg = fake:engine { page_size = 5, rate_limit = 0 }
      local results, errs = eng:map({ "c1", "c2", "c3" }, function(id) return pull(fake, eng, cfg, id) end)
      assert.is_nil(errs and tostring(errs[1] or errs[2] or errs[3]))
      for i = 1, 3 do assert.same(range(40), results[i]) end
      assert.equal(2, fake.tokens)
    end)

    it("a 503 burst slows the client and holds the others; the budget refills with progress",
      function()
        local fake = fakecore.new { total = 100, latency = 0.05 }
        local n = 0
        fake.respond = function(rec)
          if rec.token then return end
          n = n + 1
          -- a gateway shedding one request in two
          if n % 2 == 0 then return { status = 503, body = "" } end
        end
        local eng, cfg = fake:engine { page_size = 5, rate_limit = 20, retry_budget = 30 }
        local results, errs = eng:map({ "c1", "c2" }, function(id) return pull(fake, eng, cfg, id) end)
        assert.is_nil(errs)
        for i = 1, 2 do assert.same(range(100), results[i]) end
        local s = eng:get_stats()
        assert.is_true(s.overloaded >= 20)
        assert.is_true(s.slowdowns >= 1)
        assert.is_true(s.rate < 20)
      end)

    it("an outage (502 for everything) fails fast once the budget is empty", function()
      local fake = fakecore.new { total = 100, latency = 0.05 }
      fake.respond = function(rec) if not rec.token then return { status = 502, body = "" } end end
      local eng, cfg = fake:engine { page_size = 5, rate_limit = 10 }
      local list = {}
      for i = 1, 20 do list[i] = "c" .. i end
      local start = fake.now
      local _, errs = eng:map(list, function(id) return pull(fake, eng, cfg, id) end)
      for i = 1, 20 do assert.equal(502, errs[i].status) end
      -- budget 100, 5 per retry: 20 retries, not 20 x 5
      assert.is_true(#fake:api() <= 20 + 21, #fake:api())
      assert.is_true(fake.now - start < 60, fake.now - start)
    end)
  end)
end)

describe("the wait option and the pollable interface (fake core)", function()
  local function waiting_client(extra)
    local fake = fakecore.new { total = 30, latency = 0.2 }
    local waits = {}
    local opts = { page_size = 10, rate_limit = 5 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    opts.wait = function(cx, s)
      waits[#waits + 1] = { cx = cx, s = s }
      fake.now = fake.now + (s or 0)
    end
    local eng, cfg = fake:engine(opts)
    eng.owner = "the client"
    return fake, eng, cfg, waits
  end

  it("calls wait(cx, timeout) wherever it would block, and never blocks itself", function()
    local fake, eng, cfg, waits = waiting_client()
    local polls = {}
    local poll = fake.client.poll
    fake.client.poll = function(c, w)
      polls[#polls + 1] = w
      return poll(c, w)
    end
    assert.same(range(30), pull(fake, eng, cfg, "c1"))
    assert.is_true(#waits > 3)
    for _, w in ipairs(waits) do
      assert.equal("the client", w.cx)
      assert.is_number(w.s)
    end
    for _, w in ipairs(polls) do assert.equal(0, w) end
    assert.same({}, fake.slept)
  end)

  it("waits for the rate limiter's slot and a Retry-After through wait", function()
    local fake, eng, _, waits = waiting_client()
    local first = true
    fake.respond = function(rec)
      if not rec.token and first then
        first = false
        return { status = 503, body = "", headers = { ["retry-after"] = "7" } }
      end
    end
    assert.is_table(eng:get("https://api.test/cs/api/v2/x"))
    local longest = 0
    for _, w in ipairs(waits) do if w.s > longest then longest = w.s end end
    assert.near(7, longest, 1e-6)
    assert.same({}, fake.slept)
  end)

  it("map runs inside the host's loop: one wait for all calls", function()
    local fake, eng, cfg, waits = waiting_client { rate_limit = 0 }
    local results = eng:map({ "a", "b", "c" }, function(id) return #pull(fake, eng, cfg, id) end)
    assert.same({ 30, 30, 30 }, results)
    -- three pulls of 3 pages at 0.2 s each, concurrently: a handful of waits, not 3 x 3
    assert.is_true(#waits <= 8, #waits)
    assert.same({}, fake.slept)
  end)

  it("timeout() is nil when idle, 0 when something can be sent, else the next event", function()
    local fake = fakecore.new { latency = 0.5 }
    local eng = fake:engine { rate_limit = 2 }
    assert.is_nil(eng:timeout())
    assert.is_false(eng:step(0))
    local group = {}
    local a = eng:start("https://api.test/a", nil, group)
    assert.is_nil(eng:timeout()) -- nobody waits on it: nothing to do
    eng.waiting[group] = 1       -- as a wait does
    assert.equal(0, eng:timeout())
    assert.is_true(eng:step(0))  -- the token request went out
    assert.near(0.5, eng:timeout(), 1e-9)
    fake.now = fake.now + 0.5
    assert.is_true(eng:step(0))  -- token in; the request goes out
    assert.equal("inflight", a.state)
    local b = eng:start("https://api.test/b", nil, group)
    -- b waits for the rate limiter's slot (0.5 s) or a's answer (0.5 s)
    assert.near(0.5, eng:timeout(), 1e-9)
    fake.now = fake.now + 0.5
    eng:step(0)
    assert.is_true(request.done(a))
    eng:step(0)
    assert.equal("inflight", b.state)
    fake.now = fake.now + 0.5
    assert.is_false(eng:step(0))
    assert.is_true(request.done(b))
    eng.waiting[group] = nil
    assert.is_nil(eng:timeout())
  end)
end)
