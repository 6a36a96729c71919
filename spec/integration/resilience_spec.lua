-- Resilience: every scripted fault either heals with every row exactly once, or
-- fails with the right kind, in bounded time; throttling, rate limit, retry budget, limits.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local helper = require "spec.support.helper"

local FIELDS = { "serialNumber", "hwInstanceId" }

local function serials(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = item.serialNumber end
  return out
end

-- Pulls `customer_id`'s hardware and checks it against the truth: every row, once, in order.
local function pull_exact(sb, cx, customer_id)
  local got = {}
  for item in cx:hardware { customerId = customer_id, fields = FIELDS } do got[#got + 1] = item end
  local truth = sb:truth("hardware", customer_id, { fields = table.concat(FIELDS, ",") })
  assert.equal(#truth, #got)
  assert.same(serials(truth), serials(got))
  return got
end

describe("resilience", function()
  local sb, customer_id, clock

  setup(function()
    sb = helper.sandbox { seed = 4, customers = 2, hardware = 120 }
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

  local function fires()
    local n = 0
    for _, f in ipairs(sb:fault_state()) do n = n + (f.fired or 0) end
    return n
  end

  describe("a pull survives, with every row exactly once,", function()
    local cases = {
      { "a 429 with Retry-After in seconds",
        { action = "throttle", status = 429, retry_after = "2", page = 3 } },
      { "a 429 with Retry-After as an HTTP-date",
        { action = "throttle", status = 429, page = 3,
          retry_after = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 3) } },
      { "the gateway's 403 ERR_403_DEVELOPER_OVER_QPS",
        { action = "throttle", status = 403, code = "ERR_403_DEVELOPER_OVER_QPS", page = 2, times = 2 } },
      { "a burst of 500s", { status = 500, page = 5, times = 3 } },
      { "a burst of 502s", { status = 502, page = 6, times = 2 } },
      { "a burst of 503s", { status = 503, times = 4 } },
      { "a connection reset mid-body", { action = "reset", bytes = 300, page = 4 } },
      { "a truncated body", { action = "truncate", bytes = 200, page = 7 } },
      { "invalid JSON with a 200", { action = "invalid_json", page = 8 } },
      { "an HTML error page", { action = "html", page = 9 } },
      { "an HTML page with a 200", { action = "html", status = 200, page = 10 } },
      { "a token expired mid-pull", { action = "expire_token", page = 6 } },
      { "a token revoked mid-pull", { action = "revoke_token", page = 11 } },
      { "a stall shorter than the timeout", { action = "stall", before = 0.5, page = 2 } },
      { "a stall mid-body shorter than the timeout",
        { action = "stall", during = 0.5, bytes = 100, page = 3 } },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local fault = case[2]
        fault.op = fault.op or "hardware"
        sb:faults { fault }
        local cx = client { concurrency = 3 }
        finally(function() cx:close() end)
        pull_exact(sb, cx, customer_id)
        assert.is_true(fires() >= 1, "the fault did not fire")
      end)
    end

    it("faults on the token endpoint (503, then a reset)", function()
      sb:faults { { token = true, status = 503 }, { token = true, action = "reset", bytes = 5 } }
      local cx = client()
      finally(function() cx:close() end)
      pull_exact(sb, cx, customer_id)
      assert.equal(2, fires())
    end)

    it("a 100,000-row pull with faults on several pages in flight", function()
      local rows = helper.memcheck and 5000 or 100000
      local big = helper.sandbox { seed = 8, customers = 1, hardware = rows }
      big:faults {
        { op = "hardware", page = 3, status = 503, times = 2 },
        { op = "hardware", page = 4, action = "reset", bytes = 1000 },
        { op = "hardware", page = 5, action = "throttle", status = 429, retry_after = "1" },
        { op = "hardware", page = 6, action = "expire_token" },
        { op = "hardware", page = 7, action = "invalid_json" },
      }
      local cx = cxcloud.new(big:client_options { page_size = 1000, rate_limit = 0,
        clock = clock.clock, sleep = clock.sleep })
      finally(function() cx:close() end)
      local got, seen = 0, {}
      local id = big.customers[1]
      for item in cx:hardware { customerId = id, fields = FIELDS } do
        got = got + 1
        assert.is_nil(seen[item.serialNumber], "duplicate " .. tostring(item.serialNumber))
        seen[item.serialNumber] = true
      end
      local truth = big:truth("hardware", id, { fields = "serialNumber" })
      big:stop()
      assert.equal(rows, got)
      for _, item in ipairs(truth) do assert.is_true(seen[item.serialNumber]) end
    end)
  end)

  describe("fails with the right kind, in bounded time,", function()
    it("when a 5xx outlasts max_retries (http, retryable, attempts, page)", function()
      sb:faults { { op = "hardware", page = 2, status = 503, times = -1 } }
      local cx = client { max_retries = 3, concurrency = 1 }
      finally(function() cx:close() end)
      local err = helper.raised(function() for _ in cx:hardware { customerId = customer_id } do end end)
      assert.equal("http", err.kind)
      assert.equal(503, err.status)
      assert.is_true(err.retryable)
      assert.equal(4, err.attempts)
      assert.equal(2, err.page)
      assert.is_string(err.request_id)
      assert.truthy(err.url:find("page=2", 1, true))
      helper.show(err)
    end)

    it("when throttling outlasts max_retries (throttled)", function()
      sb:faults { { op = "hardware", action = "throttle", status = 429, retry_after = "1", times = -1 } }
      local cx = client { max_retries = 2 }
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.equal("throttled", err.kind)
      assert.equal(429, err.status)
      assert.equal(1, err.retry_after)
      assert.equal(3, err.attempts)
    end)

    it("on the daily quota (403 ERR_403_DEVELOPER_OVER_RATE) at once", function()
      sb:faults { { op = "hardware", action = "throttle", status = 403,
                    code = "ERR_403_DEVELOPER_OVER_RATE", times = -1 } }
      local cx = client()
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.equal("throttled", err.kind)
      assert.equal(1, err.attempts)
    end)

    it("when Retry-After is longer than retry_after_cap, at once", function()
      sb:faults { { op = "hardware", action = "throttle", status = 429, retry_after = "3600" } }
      local cx = client()
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.equal("throttled", err.kind)
      assert.equal(3600, err.retry_after)
    end)

    it("never retrying other 4xx", function()
      sb:faults { { op = "hardware", status = 400, body = '{"status":400,"message":"bad"}' } }
      local cx = client()
      finally(function() cx:close() end)
      assert.is_string((cx:token()))
      local mark = helper.mark(sb)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.equal("http", err.kind)
      assert.is_false(err.retryable)
      assert.equal(1, #helper.since(sb, mark))
    end)

    it("on a stall longer than the timeout (timeout)", function()
      sb:faults { { op = "hardware", action = "stall", before = 5, times = -1 } }
      local cx = helper.client(sb, { timeout = 0.5, max_retries = 1 })
      finally(function() cx:close() end)
      local t0 = core.now()
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.equal("timeout", err.kind)
      assert.is_true(core.now() - t0 < 4)
    end)

    it("on a body over max_body_size (not retried)", function()
      local cx = client { max_body_size = 2000 }
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.truthy(tostring(err):find("max_body_size", 1, true))
      assert.equal(1, err.attempts)
    end)

    it("on a gzip bomb, fast and within bounded memory (decode, naming the limit)", function()
      -- peak resident memory of this process, in KiB, since the last reset
      local function peak_kib()
        for line in io.lines("/proc/self/status") do
          local v = line:match("^VmHWM:%s*(%d+)")
          if v then return tonumber(v) end
        end
      end
      local function reset_peak()
        local f = assert(io.open("/proc/self/clear_refs", "w"))
        f:write("5")
        f:close()
      end
      sb:faults { { op = "hardware", action = "gzip_bomb", times = -1 } }
      local cx = helper.client(sb) -- the default max_body_size
      finally(function() cx:close() end)
      cx:token()
      collectgarbage()
      collectgarbage()
      reset_peak()
      local base, t0 = peak_kib(), core.now()
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      local grown = peak_kib() - base
      assert.is_nil(body)
      assert.equal("decode", err.kind)
      assert.truthy(err.message:find("too large", 1, true))
      assert.truthy(err.message:find("max_body_size = 8388608 bytes", 1, true))
      assert.equal(1, err.attempts)
      assert.is_true(grown < 40 * 1024, "the process grew by " .. grown .. " KiB")
      assert.is_true(core.now() - t0 < (helper.memcheck and 60 or 5))
    end)

    it("on headers over max_header_size (not retried)", function()
      sb:faults { { op = "hardware", status = 200, headers = { ["x-padding"] = string.rep("a", 8000) },
                    body = '{"data":[]}', times = -1 } }
      local cx = client { max_header_size = 4096 }
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.truthy(tostring(err):find("max_header_size", 1, true))
      assert.equal(1, err.attempts)
    end)

    it("on JSON nested deeper than max_json_depth (decode)", function()
      local deep = string.rep("[", 100) .. string.rep("]", 100)
      sb:faults { { op = "hardware", status = 200, body = '{"data":' .. deep .. '}', times = -1 } }
      local cx = client { max_retries = 1 }
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      assert.equal("decode", err.kind)
    end)
  end)

  describe("limits", function()
    it("the retry budget stops a storm", function()
      sb:faults { { op = "hardware", status = 503, times = -1 } }
      local cx = client { max_retries = 5, retry_budget = 20 }
      finally(function() cx:close() end)
      assert.is_string((cx:token()))
      local mark = helper.mark(sb)
      for _ = 1, 5 do
        local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
        assert.is_nil(body)
        assert.equal(503, err.status)
      end
      local sent = #helper.since(sb, mark)
      -- 20 tokens pay for 4 retries in all: 5 first attempts + 4 retries, not 5 x 6 = 30
      assert.equal(9, sent)
      local _, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.truthy(tostring(err):find("budget", 1, true))
    end)

    it("the rate limiter keeps a burst within its rate (from the sandbox's log)", function()
      local cx = helper.client(sb, { rate_limit = 5, page_size = 5, concurrency = 8 })
      finally(function() cx:close() end)
      assert.is_string((cx:token()))
      local mark = helper.mark(sb)
      local list = assert(cx:hardware { customerId = customer_id }:all())
      assert.equal(120, #list)
      local log = {}
      -- (late records of earlier specs' abandoned requests may arrive meanwhile)
      for _, r in ipairs(helper.since(sb, mark)) do
        if tonumber(r.rows) == 5 then log[#log + 1] = r end
      end
      assert.equal(24, #log)
      -- any window of one second holds at most rate + 1 request starts
      for i = 1, #log do
        local n = 0
        for j = i, #log do if log[j].t - log[i].t < 1 then n = n + 1 end end
        assert.is_true(n <= 6, ("%d requests within 1 s from #%d"):format(n, i))
      end
      local span = log[#log].t - log[1].t
      assert.is_true(span >= (24 - 1) / 5 * 0.9, "span " .. span)
    end)

    it("backoff waits on the injected clock, with full jitter", function()
      sb:faults { { op = "hardware", status = 503, times = 3 } }
      local cx = client { retry_base = 1, retry_cap = 30 }
      finally(function() cx:close() end)
      assert.is_table((cx:get("/inventory/hardware", { customerId = customer_id })))
      -- random() = 0.5: waits of 0.5 * 1, 0.5 * 2, 0.5 * 4 seconds
      local waits = {}
      for _, s in ipairs(clock.slept) do if s >= 0.4 then waits[#waits + 1] = s end end
      assert.same({ 0.5, 1, 2 }, waits)
    end)
  end)

  describe("security", function()
    it("escapes control characters from the server in errors", function()
      sb:faults { { op = "hardware", action = "control_chars" } }
      local cx = client { max_retries = 0 }
      finally(function() cx:close() end)
      local body, err = cx:get("/inventory/hardware", { customerId = customer_id })
      assert.is_nil(body)
      local text = helper.show(err)
      assert.is_nil(text:find("[%c]"), "control character in: " .. text)
      for _, v in pairs(err) do
        if type(v) == "string" then assert.is_nil(v:find("\27", 1, true)) end
      end
    end)

    it("offers no way to turn TLS verification off", function()
      for _, name in ipairs { "ssl_verify", "verify", "insecure", "ssl_verifypeer" } do
        local err = helper.raised(cxcloud.new, sb:client_options { [name] = false })
        assert.equal("config", err.kind)
      end
    end)

    it("redacts the secret and the token from libcurl's trace", function()
      local trace = {}
      local cx = helper.client(sb, { verbose = function(line) trace[#trace + 1] = line end })
      finally(function() cx:close() end)
      local token = assert(cx:token())
      assert.is_table(cx:get("/customer-info/customer-details"))
      local text = table.concat(trace, "\n")
      helper.show(text)
      assert.truthy(text:find("Authorization: [REDACTED]", 1, true))
      assert.is_nil(text:find(token, 1, true))
      assert.is_nil(text:find(sb.client_secret, 1, true))
      assert.is_nil(text:find(core.urlencode(sb.client_secret), 1, true))
    end)

    it("an error of the verbose function reaches the caller; no result is lost", function()
      local calls = 0
      local cx = helper.client(sb, { verbose = function()
        calls = calls + 1
        if calls == 1 then error("verbose function failed") end
      end })
      finally(function() cx:close() end)
      local token, err = cx:token()
      assert.is_nil(token)
      assert.truthy(tostring(err):find("verbose function failed", 1, true))
      -- the token response was processed before the function ran: no second token request
      local mark = helper.mark(sb)
      assert.is_table(cx:get("/customer-info/customer-details"))
      assert.equal(0, helper.count(helper.since(sb, mark), helper.is_token))
      assert.is_true(calls > 1)
    end)
  end)
end)
