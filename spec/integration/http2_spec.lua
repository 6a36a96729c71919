-- HTTP/2: where the server offers h2, the client multiplexes its requests over one
-- connection per host, and faults on that shared connection neither lose nor duplicate rows.
--
-- Connections: the token (id.cisco.com) and the API (apix.cisco.com) are different hosts,
-- so libcurl keeps one connection for each even though `connect_to` sends both to the same
-- sandbox port: a pull makes 2 TLS connections over HTTP/2, where HTTP/1.1 keep-alive needs
-- one per request in flight (1 + concurrency).
local core = require "cxcloud.core"
local helper = require "spec.support.helper"
local rawcore = require "spec.support.rawcore"

local FIELDS = { "serialNumber", "hwInstanceId" }
local PAGES, PAGE_SIZE, CONCURRENCY = 40, 10, 8
-- server latency: the requests of a window are in progress together on the server (longer
-- under valgrind, which slows the client down)
local LATENCY = helper.memcheck and 0.2 or 0.02

local function serials(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = item.serialNumber end
  return out
end

-- API request records of the sandbox's log, by page
local function by_page(records)
  local pages = {}
  for _, r in ipairs(records) do
    if helper.is_api(r) and r.page then
      pages[r.page] = pages[r.page] or {}
      table.insert(pages[r.page], r)
    end
  end
  return pages
end

-- the record of a response that went out whole: no fault fired on it, no error
local function delivered(r)
  return r.status == 200 and r.fault == nil and r.error == nil
end

describe("HTTP/2", function()
  local sb, customer_id

  setup(function()
    sb = helper.sandbox { seed = 12, customers = 1, hardware = PAGES * PAGE_SIZE, http2 = true,
      latency = LATENCY }
    customer_id = sb.customers[1]
  end)

  teardown(function() sb:stop() end)

  before_each(function()
    sb:faults {}
    sb:set { latency = LATENCY }
    sb:clear_log()
    sb:reset_stats()
  end)

  -- a client that collects libcurl's trace
  local function client(extra)
    local trace = {}
    local opts = { page_size = PAGE_SIZE, concurrency = CONCURRENCY, rate_limit = 0,
      retry_base = 0.01, random = function() return 0.5 end,
      verbose = function(text) trace[#trace + 1] = text end }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return helper.client(sb, opts), trace
  end

  local function count_lines(trace, pattern)
    local n = 0
    for _, text in ipairs(trace) do
      for line in text:gmatch("[^\n]+") do
        if line:find(pattern) then n = n + 1 end
      end
    end
    return n
  end

  -- pulls the customer's hardware and checks every row, once, in order
  local function pull_exact(cx)
    local got = {}
    for item in cx:hardware { customerId = customer_id, fields = FIELDS } do got[#got + 1] = item end
    local truth = sb:truth("hardware", customer_id, { fields = table.concat(FIELDS, ",") })
    assert.equal(PAGES * PAGE_SIZE, #truth)
    assert.equal(#truth, #got)
    assert.same(serials(truth), serials(got))
  end

  it("the core reports HTTP/2 for every transfer, all on one connection per host", function()
    local c = rawcore.new(sb:client_options { http2 = true })
    finally(function() c:close() end)
    local function wait_all(n)
      local out = {}
      while #out < n do
        for _, r in ipairs(c:poll(5)) do out[#out + 1] = r end
      end
      return out
    end
    c:submit { token = true }
    local tr = wait_all(1)[1]
    assert.equal(200, tr.status)
    assert.equal("2", tr.http_version)
    c:set_token(core.decode(tr.body, 8).access_token, "Bearer")
    local url = sb.base_url .. "/inventory/hardware?customerId=" .. core.urlencode(customer_id)
    c:submit { url = url .. "&page=1&rows=1" }
    local first = wait_all(1)[1]
    assert.equal(200, first.status)
    for page = 2, 7 do c:submit { url = url .. "&page=" .. page .. "&rows=1" } end
    local results = wait_all(6)
    for _, r in ipairs(results) do
      assert.equal(200, r.status)
      assert.equal("2", r.http_version)
      assert.equal(0, r.connects) -- multiplexed on the API connection of the first page
    end
    assert.equal(2, c:stats().connects)
    assert.equal(2, sb:stats().connections)
    assert.equal(2, sb:stats().handshakes)
  end)

  it("a pull multiplexes its requests: every row, 2 connections (token host + API host)", function()
    local cx, trace = client()
    pull_exact(cx)
    local st, cs = sb:stats(), cx:stats()
    cx:close()
    assert.equal(PAGES, st.api_requests) -- nothing re-sent
    assert.equal(1, st.token_requests)
    assert.equal(2, st.connections)
    assert.equal(2, st.handshakes)
    assert.equal(2, cs.connects)
    assert.equal(0, cs.retries)
    -- several streams in progress at once on the one API connection
    assert.truthy(st.peak_inflight > 1 and st.peak_inflight <= CONCURRENCY, st.peak_inflight)
    for _, r in ipairs(sb:log()) do assert.equal("2", r.http_version) end
    assert.equal(2, count_lines(trace, "ALPN.*accepted.*h2"))
    assert.equal(0, count_lines(trace, "Connection died"))
    -- every API request after the first page's went on the first page's connection
    assert.equal(PAGES - 1, count_lines(trace, "Re%-using existing connection"))
  end)

  it("for contrast, HTTP/1.1 keep-alive needs a connection per request in flight", function()
    local cx = client { http2 = false }
    pull_exact(cx)
    local st = sb:stats()
    cx:close()
    assert.equal(PAGES, st.api_requests)
    for _, r in ipairs(sb:log()) do assert.equal("1.1", r.http_version) end
    -- 1 token + up to CONCURRENCY API connections, then reused
    assert.truthy(st.connections > 2 and st.connections <= 1 + CONCURRENCY, st.connections)
  end)

  it("a burst of 503s on streams in flight: retried on the same connection, every row once", function()
    sb:faults { { op = "hardware", status = 503, nth = 3, times = 4 } }
    local cx = client()
    pull_exact(cx)
    local st, cs = sb:stats(), cx:stats()
    cx:close()
    assert.equal(4, st.by_status["503"])
    assert.equal(4, cs.retries)
    assert.equal(2, st.connections) -- a 503 is a response: the connection stays up
    local log = sb:log()
    assert.equal(PAGES + 4, helper.count(log, helper.is_api))
    local pages = by_page(log)
    for page = 1, PAGES do
      assert.equal(1, helper.count(pages[page], delivered), page)
    end
  end)

  it("a reset that kills the connection with streams in flight: they are all sent again, "
    .. "every row once", function()
    -- page 2 resets the connection (headers and 300 bytes, then close) while pages 3..9,
    -- sent in the same window on the same connection, are held on the server
    sb:set { latency = 10 * LATENCY } -- the others arrive before page 2 resets
    local script = { { op = "hardware", page = 2, action = "reset", bytes = 300 } }
    for page = 3, 1 + CONCURRENCY do
      script[#script + 1] = { op = "hardware", page = page, action = "stall", before = 50 * LATENCY }
    end
    sb:faults(script)
    local cx, trace = client()
    pull_exact(cx)
    local st, cs = sb:stats(), cx:stats()
    cx:close()
    local pages = by_page(sb:log())
    local killed = 0
    for page = 1, PAGES do
      -- exactly one whole response per page; the pages of the killed connection twice
      assert.equal(1, helper.count(pages[page], delivered), page)
      for _, r in ipairs(pages[page]) do
        assert.equal("2", r.http_version)
        if r.fault and r.fault:find("stall", 1, true) and r.error then killed = killed + 1 end
      end
    end
    assert.equal(2, #pages[2])
    -- the held streams died with the connection (their late answers found it closed) and
    -- were all sent again, together
    assert.equal(CONCURRENCY - 1, killed)
    for page = 3, 1 + CONCURRENCY do assert.equal(2, #pages[page], page) end
    assert.equal(PAGES + CONCURRENCY, st.api_requests)
    -- re-sent either by libcurl (a reused connection that died before any response) or by
    -- the client's retry (an error on the stream): CONCURRENCY in all. With libcurl 7.88
    -- every stream fails ("not closed cleanly") and the client retries all of them.
    local libcurl_resent = count_lines(trace, "Connection died, retrying")
    assert.equal(CONCURRENCY, cs.retries + libcurl_resent)
    -- Connections: token host + API host, then new API connections for the re-sent
    -- requests. The retries start together (the same backoff here) while no connection to
    -- the API host is up, and libcurl 7.88 opens one for each of them instead of waiting for
    -- the first (its trace: "Found bundle for host [can multiplex]", then a connect per
    -- transfer), so 2 + CONCURRENCY = 10 here; with jittered backoff fewer. The pages after
    -- them are requested once each.
    assert.truthy(st.connections >= 3 and st.connections <= 2 + CONCURRENCY, st.connections)
    assert.equal(st.connections, cs.connects)
    local after = 0
    for page = 2 + CONCURRENCY, PAGES do after = after + #pages[page] end
    assert.equal(PAGES - 1 - CONCURRENCY, after)
  end)
end)
