-- The core client as a pollable object: an outside loop (here cqueues.poll) waits on
-- c:pollfd() and c:timeout() and calls c:poll(0), which never blocks.
local core = require "cxcloud.core"
local cqueues = require "cqueues"
local helper = require "spec.support.helper"
local rawcore = require "spec.support.rawcore"
local compat = require "cxcloud.compat"

local LATENCY = 0.3

describe("the core client driven by an outside poll loop", function()
  local sb, customer_id

  setup(function()
    sb = helper.sandbox { seed = 9, customers = 2, hardware = 40, latency = LATENCY }
    customer_id = sb.customers[1]
  end)

  teardown(function() sb:stop() end)

  local function new_client()
    return rawcore.new(sb:client_options())
  end

  -- Runs c until `n` results arrived, waiting only in cqueues.poll; returns the results and
  -- what the loop saw.
  local function drive(c, n)
    local fd = c:pollfd()
    local pollable = {
      pollfd = function() return fd end,
      events = function() return "r" end,
      timeout = function() return c:timeout() end,
    }
    local out, seen = {}, { rounds = 0, longest_poll = 0, in_poll = 0 }
    local t0 = core.now()
    while #out < n do
      assert(core.now() - t0 < 10, "the loop made no progress")
      cqueues.poll(pollable)
      seen.rounds = seen.rounds + 1
      local p0 = core.now()
      local results, trace = c:poll(0)
      local took = core.now() - p0
      seen.longest_poll = math.max(seen.longest_poll, took)
      seen.in_poll = seen.in_poll + took
      assert.is_nil(trace)
      for _, r in ipairs(results) do out[#out + 1] = r end
      assert.equal(fd, c:pollfd())
    end
    seen.elapsed = core.now() - t0
    return out, seen
  end

  it("has a descriptor for its whole life, and no timeout while idle", function()
    local c = new_client()
    finally(function() c:close() end)
    local fd = c:pollfd()
    assert.equal("integer", compat.mtype(fd))
    assert.is_true(fd >= 0)
    assert.is_nil(c:timeout())
    c:submit { token = true }
    local t = c:timeout()
    assert.is_number(t)
    assert.is_true(t >= 0 and t <= 1)
    local results = drive(c, 1)
    assert.equal(200, results[1].status)
    assert.is_nil(c:timeout())
    assert.equal(fd, c:pollfd())
    assert.same({}, (c:poll(0)))
  end)

  it("pulls pages while only the outside loop waits: poll(0) returns at once", function()
    local c = new_client()
    finally(function() c:close() end)
    c:submit { token = true }
    local token = drive(c, 1)[1]
    c:set_token(core.decode(token.body, 8).access_token, "Bearer")
    local url = sb.base_url .. "/inventory/hardware?customerId=" .. core.urlencode(customer_id)
    for page = 1, 4 do c:submit { url = url .. "&page=" .. page .. "&rows=10" } end
    local results, seen = drive(c, 4)
    local rows = 0
    for _, r in ipairs(results) do
      assert.equal(200, r.status)
      rows = rows + #core.decode(r.body, 8).data
    end
    assert.equal(#sb:truth("hardware", customer_id), rows)
    -- each page takes LATENCY at the server; poll(0) waits for none of it (what it takes is
    -- CPU: TLS handshakes, decompression, which valgrind slows 50-fold)
    if not helper.memcheck then
      assert.is_true(seen.longest_poll < LATENCY / 2, "a poll(0) took " .. seen.longest_poll .. " s")
      assert.is_true(seen.in_poll < LATENCY, "poll(0) calls took " .. seen.in_poll .. " s in all")
      assert.is_true(seen.elapsed < 4 * LATENCY + 1, "elapsed " .. seen.elapsed)
    end
    assert.is_true(seen.elapsed >= LATENCY, "elapsed " .. seen.elapsed)
    -- woken by the descriptor and libcurl's deadlines, not spinning
    assert.is_true(seen.rounds < 300, seen.rounds .. " rounds")
  end)

  it("poll(max_wait) blocks until a request ends, not for max_wait", function()
    local c = new_client()
    finally(function() c:close() end)
    c:submit { token = true }
    local t0 = core.now()
    local results = {}
    while #results == 0 do results = c:poll(5) end
    local elapsed = core.now() - t0
    assert.equal(200, results[1].status)
    assert.is_true(elapsed < (helper.memcheck and 10 or 2), "took " .. elapsed)
    t0 = core.now()
    assert.same({}, (c:poll(2))) -- nothing pending: returns at once
    assert.is_true(core.now() - t0 < 0.5)
  end)
end)
