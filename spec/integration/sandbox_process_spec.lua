-- The sandbox of the specs on a Lua other than 5.4 (spec/support/sandbox.lua): a lua5.4
-- process runs it, and a stand-in handle forwards every method there. Checked on every Lua,
-- 5.4 included: the stand-in answers as the handle does, the process goes when the spec's
-- process goes (even by SIGKILL), and its failures are clear.
local helper = require "spec.support.helper"
local sandbox = require "spec.support.sandbox"
local cqueues = require "cqueues"
local quote = require("cxcloud.shell").quote

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"

local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  local state = f and f:read("*a"):match("%) (%a)")
  if f then f:close() end
  return state ~= nil and state ~= "Z"
end

local function gone(pid, seconds)
  local deadline = cqueues.monotime() + seconds
  repeat
    if not alive(pid) then return true end
    cqueues.sleep(0.05)
  until cqueues.monotime() > deadline
  return false
end

describe("the specs' sandbox process", function()
  it("answers as the handle does: fields, methods, several results, nil arguments", function()
    local sb = sandbox.process.start { seed = 5, customers = 2, hardware = 12 }
    finally(function() sb:stop() end)
    assert.equal(2, #sb.customers)
    assert.equal(12, sb.config.hardware)
    assert.truthy(sb.ca_file:find("ca.pem", 1, true))
    local marker = function() end
    local opts = sb:client_options { on_retry = marker }
    assert.equal(marker, opts.on_retry)
    assert.equal(sb.client_secret, opts.client_secret)
    assert.equal(sb.local_base_url, sb:env().CXCLOUD_BASE_URL)
    local cx = helper.client(sb)
    local rows = assert(cx:hardware { customerId = sb.customers[1] }:all())
    assert.same(sb:truth("hardware", sb.customers[1]), rows)
    assert.equal(5, #sb:truth("hardware", 1, { page = 1, rows = 5 }))
    assert.equal(#sb:log(), #sb:log(nil))
    local added, total = sb:add_rows { op = "hardware", customerId = 1, count = 3 }
    assert.equal(3, added)
    assert.equal(15, total)
    sb:set { entitled = { 2 } }
    assert.same({ sb.all_customers[2] }, sb.customers)
    local ok, err = pcall(sb.faults, sb, { { action = "explode" } })
    assert.is_false(ok)
    assert.truthy(err:find("unknown action 'explode'", 1, true), err)
    cx:close()
  end)

  it("reports a process that cannot start, and the sandbox's own errors", function()
    local ok, err = pcall(sandbox.process.start, { customers = 1 }, "/nonexistent/lua5.4")
    assert.is_false(ok)
    assert.truthy(err:find("the sandbox process did not start", 1, true), err)
    ok, err = pcall(sandbox.process.start, { customers = 0 })
    assert.is_false(ok)
    assert.truthy(err:find("bad option 'customers' (0)", 1, true), err)
  end)

  it("raises a clear error when its process died, and still stops", function()
    local sb = sandbox.process.start { customers = 1, hardware = 1 }
    os.execute("kill -KILL " .. sb._pid)
    local ok, err = pcall(sb.stats, sb)
    assert.is_false(ok)
    assert.truthy(err:find("the sandbox process is gone", 1, true), err)
    assert.has_error(function() sb:log() end)
    assert.is_true(sb:stop())
  end)

  it("exits by itself when the spec's process is killed, though its children live on", function()
    -- the spec's process blocks in os.execute: its child (sleep) inherits what is not close-on-exec
    local script = "package.path = " .. string.format("%q", package.path) .. [[
      local sb = require("spec.support.sandbox").process.start { customers = 1, hardware = 1 }
      print(sb._pid, sb.dir)
      io.stdout:flush()
      os.execute("echo $$; exec sleep 20")
    ]]
    local p = io.popen(quote(LUA) .. " -e " .. quote(script) .. " & echo $!; wait")
    local parent = math.floor(tonumber(p:read("*l")))
    local pid, dir = p:read("*l"):match("^(%d+)%s+(%S+)$")
    assert.truthy(pid, "no sandbox process from the spec's process")
    local sleeper = math.floor(tonumber(p:read("*l")))
    assert.is_false(gone(pid, 0.3))
    os.execute("kill -KILL " .. parent)
    local ok = gone(pid, 3)
    os.execute("kill -KILL " .. sleeper .. " " .. pid .. " 2>/dev/null")
    p:close()
    assert.is_true(ok, "the sandbox process outlived the spec's process")
    assert.is_nil(io.open(dir .. "/ca.pem"))
  end)
end)
