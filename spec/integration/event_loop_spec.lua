-- Inside an event loop: the cqueues and luv examples run a pull and a 20 ms
-- timer in one loop; with 300 ms of latency per response the timer's longest gap stays
-- under 60 ms, and the rows equal the sandbox's truth. Then cx:map inside a cqueues loop.
local cqueues = require "cqueues"
local cxcloud = require "cxcloud"
local helper = require "spec.support.helper"

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"
local compat = require "cxcloud.compat"

local shell_quote = require("cxcloud.shell").quote

local LATENCY = 0.3

local function run(sb, script, ...)
  local env = {}
  for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
  local args = {}
  for i, a in ipairs { ... } do args[i] = shell_quote(a) end
  local cmd = ("env %s %s examples/%s %s 2>&1"):format(table.concat(env, " "),
    shell_quote(LUA), script, table.concat(args, " "))
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  helper.show(out)
  return out, ok and 0 or code
end

describe("inside an event loop", function()
  local sb, customer_id

  setup(function()
    sb = helper.sandbox { seed = 31, customers = 2, hardware = 250, latency = LATENCY }
    customer_id = sb.customers[1]
  end)

  teardown(function() sb:stop() end)

  for _, example in ipairs { "cqueues.lua", "luv.lua" } do
    it(example .. ": the timer keeps ticking during the pull, and every row comes #yields", function()
      local out, code = run(sb, example, customer_id)
      assert.equal(0, code, out)
      local got = {}
      for line in out:gmatch("[^\n]+") do
        if line:match("^%d+$") then got[#got + 1] = line end
      end
      local truth = {}
      for i, item in ipairs(sb:truth("hardware", customer_id)) do
        truth[i] = tostring(item.hwInstanceId)
      end
      assert.same(truth, got)
      local rows, ticks, gap = out:match("rows (%d+), timer ticks (%d+), longest gap between"
        .. " ticks ([%d.]+) ms")
      assert.equal(250, tonumber(rows))
      -- one page (page_size "auto"): at least 300 ms of waiting, 20 ms per tick
      assert.is_true(tonumber(ticks) >= 12, ticks)
      assert.is_true(tonumber(gap) < 60, gap)
    end)
  end

  it("a host drives the client with pollfd, events, timeout and step #yields", function()
    -- the pull runs in a coroutine whose `wait` yields to the host; the host waits on the
    -- descriptor and the timeout with cqueues.poll, then resumes it (like the luv example)
    local cx = helper.client(sb, { page_size = 100,
      wait = function() coroutine.yield() end })
    finally(function() cx:close() end)
    local fd = cx:pollfd()
    assert.equal("integer", compat.mtype(fd))
    assert.equal("r", cx:events())
    assert.is_nil(cx:timeout()) -- idle
    assert.is_false(cx:step(0))
    local rows = 0
    local pull = coroutine.create(function()
      for _ in cx:customer(customer_id):hardware() do rows = rows + 1 end
    end)
    local rounds = 0
    assert(coroutine.resume(pull))
    while coroutine.status(pull) ~= "dead" do
      local t = cx:timeout()
      assert.is_true(t == nil or t >= 0)
      local ready = cqueues.poll(cx, t or 1)
      assert.is_true(ready == cx or ready == nil or type(ready) == "number")
      rounds = rounds + 1
      assert(coroutine.resume(pull))
      assert.equal(fd, cx:pollfd())
    end
    assert.equal(250, rows)
    assert.is_true(rounds >= 3, rounds)
    assert.is_false(cx:step(0))
    assert.is_nil(cx:timeout())
  end)

  it("cx:map runs inside a cqueues loop: the pulls share it with a timer #yields", function()
    local cx = helper.client(sb, { page_size = 50,
      wait = function(client, s)
        if s then cqueues.poll(client, s) else cqueues.poll(client) end
      end })
    finally(function() cx:close() end)
    local loop = cqueues.new()
    local pulling, longest, results, errs = true, 0, nil, nil
    loop:wrap(function()
      local last = cqueues.monotime()
      while pulling do
        cqueues.sleep(0.02)
        local now = cqueues.monotime()
        if now - last > longest then longest = now - last end
        last = now
      end
    end)
    local t0 = cqueues.monotime()
    loop:wrap(function()
      results, errs = cx:map(sb.customers, function(id)
        local items, err = cx:customer(id):hardware():all()
        if not items then error(err, 0) end
        return #items
      end)
      pulling = false
    end)
    assert(loop:loop())
    assert.is_nil(errs)
    assert.same({ 250, 250 }, results)
    -- valgrind slows the client in this process some 50-fold: only the order of magnitude holds
    assert.is_true(longest < (helper.memcheck and 1 or 0.06), longest)
    -- 2 x 5 pages at 300 ms, concurrently: far less than the 3 s one after the other
    assert.is_true(cqueues.monotime() - t0 < (helper.memcheck and 30 or 2.5), cqueues.monotime() - t0)
    assert.is_true(cxcloud.is_error(select(2, pcall(cx.step, cx, -1))))
  end)
end)
