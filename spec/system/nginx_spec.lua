-- Overload behind a real nginx: nginx-light terminating TLS with HTTP/2 in
-- front of the sandbox, started on a free loopback port with a config written here.
-- limit_req at 8 requests/s (burst 4) answering 429 or 503 to a client at 20/s; GOAWAY
-- mid-pull with gzip; an outage (502 for everything); two processes sharing a key.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local helper = require "spec.support.helper"
local nginx = require "spec.support.nginx"

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"

local ROWS = 600 -- per customer: 60 pages of 10 (the issue's pull)

local function ids(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = tostring(item.hwInstanceId) end
  return out
end

local describe_nginx = nginx.available() and describe or pending

describe_nginx("behind nginx", function()
  local sb, gw

  setup(function()
    sb = helper.sandbox { seed = 21, customers = 3, hardware = ROWS }
  end)

  teardown(function() sb:stop() end)

  after_each(function()
    if gw then gw:stop() end
    gw = nil
  end)

  local function pull(cx, id)
    local t0 = core.now()
    local items, err = cx:customer(id or sb.customers[1]):hardware():all()
    return items, err, core.now() - t0
  end

  for _, status in ipairs { 429, 503 } do
    it("limit_req answering " .. status .. ": the pull completes, every row once, few throttled",
      function()
        gw = nginx.start(sb, { rate = 8, burst = 4, limit_status = status })
        local cx = cxcloud.new(gw:client_options { rate_limit = 20, page_size = 10 })
        finally(function() cx:close() end)
        local items, err, took = pull(cx)
        assert.is_nil(err and helper.show(err))
        assert.same(ids(sb:truth("hardware", sb.customers[1])), ids(items))
        local s = cx:stats()
        local shed = s.throttled + s.overloaded
        -- measured: 7 to 13 of 67-73 answers; 60 pages at 8/s take about 7.5 s. Without the
        -- overload handling a 503 pull failed at page 34 ("retry budget exhausted")
        assert.is_true(shed <= 20, shed)
        assert.is_true(took < 15, took)
        assert.equal(0, s.budget_exhausted)
      end)
  end

  it("HTTP/2 connections ended by GOAWAY mid-pull, gzip on: every row once", function()
    gw = nginx.start(sb, { keepalive_requests = 5, gzip = true })
    local cx = cxcloud.new(gw:client_options { rate_limit = 0, page_size = 10 })
    finally(function() cx:close() end)
    local items, err = pull(cx)
    assert.is_nil(err and helper.show(err))
    assert.same(ids(sb:truth("hardware", sb.customers[1])), ids(items))
    -- 61 requests, 5 per connection
    assert.is_true(cx:stats().connects >= 12, cx:stats().connects)
  end)

  it("an outage (502 for everything) fails with a clear http error, fast, no retry storm",
    function()
      gw = nginx.start(sb, { upstream_down = true })
      local cx = cxcloud.new(gw:client_options { page_size = 10 })
      finally(function() cx:close() end)
      local items, err, took = pull(cx)
      assert.is_nil(items)
      assert.equal("http", err.kind)
      assert.equal(502, err.status)
      assert.truthy(helper.show(err):find("Bad Gateway", 1, true))
      assert.is_true(took < 20, took) -- measured: about 10 s (1 + 5 retries, backoff, slowdown)
      assert.equal(6, cx:stats().requests)
      -- many pulls at once: the retry budget ends the retries for all of them
      local list = {}
      for i = 1, 12 do list[i] = sb.customers[(i - 1) % 3 + 1] end
      local t0 = core.now()
      local _, errs = cx:map(list, function(id) return select(2, pull(cx, id)) end)
      for i = 1, 12 do assert.is_nil(errs and errs[i]) end
      local s = cx:stats()
      assert.is_true(s.budget_exhausted > 0)
      assert.is_true(s.requests - 6 <= 12 + 20, s.requests) -- each first attempt + the budget
      -- measured: about 15-20 s for 12 pulls, paced by the slowed-down rate (1.25/s)
      assert.is_true(core.now() - t0 < 45, core.now() - t0)
    end)

  -- Two clients on one key do not share the gateway evenly: the one that keeps nginx's queue
  -- full gets most of it, the other has most of its requests turned away, one of them
  -- several times in a row, while its other requests get through. With the default
  -- max_retries (5) a request turned away 6 times failed a pull about once in a dozen runs.
  -- With max_retries = 1 every run failed (12 of 12) until such answers paced the request
  -- instead of counting (`cxcloud.engine.retry`): three short runs catch that coming back.
  for run = 1, 3 do
    it(("two processes sharing a key, at 10/s each, behind a gateway allowing 8/s: both"
      .. " complete, even with max_retries = 1 (run %d of 3)"):format(run), function()
      gw = nginx.start(sb, { rate = 8, burst = 4, limit_status = 503 })
      -- 20 pages each: both start at once, and the gateway sheds within the first second
      local opts = gw:client_options { page_size = 30, max_retries = 1 }
      local script = gw.dir .. "/child.lua"
      local f = assert(io.open(script, "wb"))
      f:write(string.format([[
local cxcloud = require "cxcloud"
local cx = cxcloud.new { client_id = %q, client_secret = %q, base_url = %q, token_url = %q,
  ca_file = %q, connect_to = { %q, %q }, page_size = %d, max_retries = %d }
local items, err = cx:customer(%q):hardware():all()
if not items then print("ERR " .. tostring(err)) os.exit(1) end
local out = {}
for i, item in ipairs(items) do out[i] = tostring(item.hwInstanceId) end
print(table.concat(out, ","))
]], opts.client_id, opts.client_secret, opts.base_url, opts.token_url, opts.ca_file,
        opts.connect_to[1], opts.connect_to[2], opts.page_size, opts.max_retries,
        sb.customers[2]))
      f:close()
      local child = assert(io.popen(LUA .. " " .. script .. " 2>&1"))
      local cx = cxcloud.new(opts)
      finally(function() cx:close() end)
      local items, err = pull(cx)
      local out = child:read("*a")
      child:close()
      assert.is_nil(err and helper.show(err))
      assert.same(ids(sb:truth("hardware", sb.customers[1])), ids(items))
      assert.equal(table.concat(ids(sb:truth("hardware", sb.customers[2])), ","),
        (out:gsub("%s+$", "")))
    end)
  end
end)
