-- Unit tests of the engine over a fake core (spec/support/fakecore.lua): scheduling on a fake
-- clock, failures while a request is submitted or processed,
-- retry classification and budget, token refresh.
local cxcloud = require "cxcloud"
local fakecore = require "spec.support.fakecore"
local rawcore = require "spec.support.rawcore"

local URL = "https://api.test/cs/api/v2/x"

local function api_times(fake)
  local t = {}
  for i, r in ipairs(fake:api()) do t[i] = r.t end
  return t
end

describe("engine (fake core)", function()
  describe("scheduling", function()
    it("spaces API requests 1/rate_limit apart; the token request is not counted", function()
      local fake = fakecore.new { latency = 0.01 }
      local eng = fake:engine { rate_limit = 4, concurrency = 8 }
      local reqs = {}
      for i = 1, 6 do reqs[i] = eng:start(URL .. "?i=" .. i, nil, reqs) end
      for i = 1, 6 do eng:wait(reqs[i]) end
      local t = api_times(fake)
      assert.equal(6, #t)
      for i = 2, 6 do assert.near(0.25, t[i] - t[i - 1], 1e-9) end
      assert.is_true(fake.log[1].token)
    end)

    it("keeps at most `concurrency` transfers in flight, sent in start order", function()
      local fake = fakecore.new()
      local eng = fake:engine { rate_limit = 0, concurrency = 3 }
      local most = 0
      fake.respond = function()
        local n = fake.client:pending() + 1
        if n > most then most = n end
      end
      local group, reqs = {}, {}
      for i = 1, 10 do reqs[i] = eng:start(URL .. "?i=" .. i, nil, group) end
      eng:wait(reqs[10])
      assert.equal(3, most)
      local order = {}
      for i, r in ipairs(fake:api()) do order[i] = tonumber(r.url:match("i=(%d+)")) end
      assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, order)
    end)

    it("sends only requests someone waits on", function()
      local fake = fakecore.new()
      local eng = fake:engine { rate_limit = 0 }
      local left = eng:start(URL .. "?left")
      assert.is_table(eng:get(URL .. "?mine"))
      for _, r in ipairs(fake:api()) do assert.equal(URL .. "?mine", r.url) end
      assert.equal("queued", left.state)
    end)
  end)

  describe("failures while submitting or processing", function()
    it("max_body_size = math.maxinteger is refused when the client is made", function()
      local huge = math.maxinteger or 2 ^ 63 -- before 5.3: beyond the exact integers
      local err = select(2, pcall(cxcloud.new, { client_id = "a", client_secret = "b",
        max_body_size = huge }))
      assert.is_true(cxcloud.is_error(err))
      assert.equal("config", err.kind)
      assert.truthy(err.message:find("max_body_size", 1, true))
      -- and the C core reads integers as integers: a float is an error, never cast (UB)
      local ok, cerr = pcall(rawcore.new, { client_id = "a", client_secret = "b" },
        { max_body_size = 2 ^ 70 })
      assert.is_false(ok)
      assert.truthy(tostring(cerr):find("'max_body_size' must be an integer", 1, true), cerr)
    end)

    it("a C error in submit ends the request with an error object; the client stays usable",
      function()
        local fake = fakecore.new()
        local eng = fake:engine()
        fake.fail_submit, fake.fail_submit_once = "engine.c: cannot configure the request", true
        local body, err = eng:get(URL)
        assert.is_nil(body)
        assert.is_true(cxcloud.is_error(err))
        assert.truthy(err.message:find("cannot configure the request", 1, true))
        -- the next call completes, in a bounded number of polls (no spin)
        assert.is_table(eng:get(URL))
        assert.is_true(fake.polls < 10, fake.polls)
        -- and the same with an API request (the token is there now)
        fake.fail_submit, fake.fail_submit_once = "no memory", true
        assert.is_nil((eng:get(URL)))
        assert.is_table(eng:get(URL))
        assert.equal(0, eng.ninflight)
      end)

    it("an error raised inside the core's poll (an interrupt) leaves the client usable",
      function()
        local fake = fakecore.new { latency = 0.5 }
        local eng = fake:engine { rate_limit = 0 }
        assert(eng:token())
        local group = {}
        local a = eng:start(URL .. "?a", nil, group)
        local b = eng:start(URL .. "?b", nil, group)
        local poll, interrupted = fake.client.poll, false
        fake.client.poll = function(c, w)
          if not interrupted then
            interrupted = true
            error("interrupted!", 0)
          end
          return poll(c, w)
        end
        eng:wait(a)
        assert.is_true(cxcloud.is_error(a.err))
        assert.equal("usage", a.err.kind)
        assert.truthy(a.err.message:find("interrupted!", 1, true))
        -- b was in flight: cancelled in the core and queued again, then sent when waited on
        assert.equal("queued", b.state)
        eng:wait(b)
        assert.is_table(b.body)
        assert.is_table(eng:get(URL))
      end)

    it("an error in the user's verbose function surfaces as an error object", function()
      local fake = fakecore.new()
      local eng = fake:engine { verbose = function() error("my logger broke") end }
      fake.trace = "* trace line\n"
      local body, err = eng:get(URL)
      assert.is_nil(body)
      assert.equal("usage", err.kind)
      assert.truthy(err.message:find("my logger broke", 1, true))
      fake.trace = nil
      assert.is_table(eng:get(URL))
    end)

    it("an error in the user's clock surfaces as an error object", function()
      local fake = fakecore.new()
      local broken = false
      local eng = fake:engine { clock = function()
        if broken then error("clock broke") end
        return fake.now
      end }
      broken = true
      local _, err = eng:get(URL)
      assert.is_true(cxcloud.is_error(err))
      broken = false
      assert.is_table(eng:get(URL))
    end)
  end)

  describe("retry classification", function()
    local function one(result, extra)
      local fake = fakecore.new()
      local opts = { max_retries = 2, rate_limit = 0 }
      for k, v in pairs(extra or {}) do opts[k] = v end
      local eng = fake:engine(opts)
      fake.respond = function(rec) if not rec.token then return result end end
      local _, err = eng:get(URL)
      return err, #fake:api(), eng, fake
    end

    it("retries network errors, timeouts, 5xx, 429 and a cut TLS handshake (code 35)", function()
      for _, r in ipairs {
        { error = { code = 56, message = "recv failure" } },
        { error = { code = 28, message = "timed out" } },
        { error = { code = 35, message = "handshake cut" } },
        { status = 500, body = "" },
        { status = 502, body = "" },
        { status = 429, body = "" },
        { status = 403, body = "", headers = { ["x-mashery-error-code"] = "ERR_403_DEVELOPER_OVER_QPS" } },
        { status = 200, body = "<html>" },
      } do
        local err, sent = one(r)
        assert.equal(3, sent, r.status or r.error.message)
        assert.is_true(err.retryable)
        if r.error and r.error.code == 35 then assert.equal("network", err.kind) end
      end
    end)

    it("never retries certificate failures, other 4xx, the daily quota, too large", function()
      for _, r in ipairs {
        { error = { code = 60, message = "certificate verify failed" }, kind = "tls" },
        { error = { code = 77, message = "bad CA file" }, kind = "tls" },
        { error = { code = 63, message = "too big" }, kind = "decode" },
        { error = { code = 23, message = "write error", limit = "body" }, kind = "decode" },
        { status = 400, body = "", kind = "http" },
        { status = 404, body = "", kind = "http" },
        { status = 403, body = "", headers = { ["x-mashery-error-code"] = "ERR_403_DEVELOPER_OVER_RATE" },
          kind = "throttled" },
      } do
        local err, sent = one(r)
        assert.equal(1, sent, r.status or r.error.message)
        assert.equal(r.kind, err.kind)
      end
    end)

    it("the retry budget fails fast when exhausted; successes refill it", function()
      local fake = fakecore.new()
      local eng = fake:engine { max_retries = 5, retry_budget = 10, rate_limit = 0 }
      local failing = true
      fake.respond = function(rec)
        if not rec.token and failing then return { status = 503, body = "" } end
      end
      local _, err = eng:get(URL)
      assert.truthy(err.message:find("retry budget exhausted", 1, true))
      assert.equal(3, #fake:api()) -- two retries of cost 5, then none
      failing = false
      for _ = 1, 5 do assert.is_table(eng:get(URL)) end
      assert.equal(5, eng:get_stats().retry_budget)
    end)

    it("a 429 holds every other request for Retry-After and slows the rate", function()
      local fake = fakecore.new { latency = 0.01 }
      local eng = fake:engine { rate_limit = 10, concurrency = 4 }
      local first = true
      fake.respond = function(rec)
        if not rec.token and first then
          first = false
          return { status = 429, body = "", headers = { ["retry-after"] = "2" } }
        end
      end
      local group, reqs = {}, {}
      for i = 1, 4 do reqs[i] = eng:start(URL .. "?i=" .. i, nil, group) end
      for i = 1, 4 do eng:wait(reqs[i]) assert.is_table(reqs[i].body) end
      local t = api_times(fake)
      assert.equal(5, #t)
      -- the 429 came back at t[1] + 0.01; nothing else was sent for 2 s after it
      for i = 2, 5 do
        if t[i] > t[1] + 0.01 then assert.is_true(t[i] >= t[1] + 2.01 - 1e-9, i) end
      end
      assert.is_true(eng:get_stats().rate < 10)
    end)
  end)

  describe("shedding with progress (a gateway shared with another client)", function()
    local retry = require "cxcloud.engine.retry"

    -- `n` requests in one group; `shed(rec, k)` (k: that URL's attempt) says which answers
    -- are 503. Returns the requests and the fake.
    local function run(n, shed, extra)
      local fake = fakecore.new { latency = 0.1 }
      local opts = { max_retries = 1, rate_limit = 0, concurrency = 4 }
      for k, v in pairs(extra or {}) do opts[k] = v end
      local eng = fake:engine(opts)
      local seen = {}
      fake.respond = function(rec)
        if rec.token then return end
        seen[rec.url] = (seen[rec.url] or 0) + 1
        if shed(rec, seen[rec.url]) then return { status = 503, body = "" } end
      end
      local group, reqs = {}, {}
      for i = 1, n do reqs[i] = eng:start(URL .. "?i=" .. i, nil, group) end
      for i = 1, n do eng:wait(reqs[i]) end
      return reqs, fake, eng
    end

    it("a request turned away again and again while others get through completes", function()
      -- max_retries = 1, yet request 1 is turned away 4 times: its client kept getting
      -- other requests through, so only its first answer counts
      local reqs, _, eng = run(8, function(rec, k) return rec.url:find("i=1$") and k <= 4 end)
      for i = 1, 8 do assert.equal("ok", reqs[i].state, i) end
      assert.equal(5, reqs[1].attempts)
      local s = eng:get_stats()
      assert.equal(4, s.retries)
      assert.equal(100, s.retry_budget)
    end)

    it("a request turned away alone after an earlier success counts every answer", function()
      local fake = fakecore.new()
      local eng = fake:engine { max_retries = 2, rate_limit = 0 }
      fake.respond = function(rec)
        if not rec.token and rec.url:find("stuck") then return { status = 503, body = "" } end
      end
      assert.is_table(eng:get(URL .. "?fine"))
      local _, err = eng:get(URL .. "?stuck")
      assert.equal(503, err.status)
      assert.equal(3, err.attempts)
      assert.truthy(err.message:find("(gave up after 2 retries)", 1, true))
    end)

    it("an outage after progress: the answers count once PROGRESS_WINDOW has passed", function()
      -- request 1 succeeds; then every answer is 503 and nothing gets through
      local reqs, fake = run(3, function(rec) return not rec.url:find("i=1$") end)
      assert.equal("ok", reqs[1].state)
      local last_ok = fake:api()[1].t + 0.1
      for i = 2, 3 do
        local err = reqs[i].err
        assert.equal(503, err.status, i)
        assert.truthy(err.message:find("more while other requests of this client got through",
          1, true), err.message)
        assert.is_true(err.attempts > 2 and err.attempts <= 2 + retry.MAX_PACED, err.attempts)
      end
      local api = fake:api()
      assert.is_true(api[#api].t > last_ok + retry.PROGRESS_WINDOW)
    end)

    it("at most MAX_PACED retries of one request are paced", function()
      -- request 5 is always turned away while 40 others keep getting through
      local reqs = run(41, function(rec) return rec.url:find("i=5$") end,
        { retry_cap = 0.5 })
      local err = reqs[5].err
      assert.equal(503, err.status)
      assert.equal(2 + retry.MAX_PACED, err.attempts)
      assert.truthy(err.message:find(("(gave up after 1 retry, and %d more while other requests"
        .. " of this client got through)"):format(retry.MAX_PACED), 1, true), err.message)
      for i = 1, 41 do
        if i ~= 5 then assert.equal("ok", reqs[i].state, i) end
      end
    end)
  end)

  describe("token", function()
    it("is fetched once however many requests wait, and refreshed before expiry", function()
      local fake = fakecore.new { token_life = 100, latency = 0.01 }
      local eng = fake:engine { rate_limit = 0 }
      local group, reqs = {}, {}
      for i = 1, 5 do reqs[i] = eng:start(URL .. "?i=" .. i, nil, group) end
      for i = 1, 5 do eng:wait(reqs[i]) end
      assert.equal(1, fake.tokens)
      -- 90 s later (refresh margin: 10% of 100 s) a refresh goes out, and the request
      -- that triggered it goes on with the still-valid old token
      fake.now = fake.now + 91
      assert.is_table(eng:get(URL))
      assert.equal(2, fake.tokens)
      local api = fake:api()
      assert.equal("tok1", api[#api].bearer)
      assert.is_table(eng:get(URL))
      api = fake:api()
      assert.equal("tok2", api[#api].bearer)
    end)

    it("a 401 drops the token, fetches another and sends the request once more", function()
      local fake = fakecore.new()
      local eng = fake:engine()
      fake.respond = function(rec)
        if not rec.token and rec.bearer == "tok1" then return { status = 401, body = "" } end
      end
      assert.is_table(eng:get(URL))
      assert.equal(2, fake.tokens)
      assert.equal(2, #fake:api())
    end)

    it("a rejected token request fails every waiting request with an auth error", function()
      local fake = fakecore.new()
      local eng = fake:engine()
      fake.respond = function(rec) if rec.token then return { status = 401, body = "" } end end
      local group = {}
      local a, b = eng:start(URL, nil, group), eng:start(URL, nil, group)
      eng:wait(a)
      assert.equal("auth", a.err.kind)
      assert.equal("auth", b.err.kind)
      assert.equal(0, #fake:api())
    end)
  end)
end)
