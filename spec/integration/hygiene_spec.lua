-- Host hygiene: what an application that embeds cxcloud (nmap, a C host, an editor) may
-- rely on. The library writes nothing to stdout or stderr, installs no signal handler,
-- never exits or aborts, and keeps no Lua state in C globals.
local helper = require "spec.support.helper"

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"

local shell_quote = require("cxcloud.shell").quote

local slurp = helper.read_file

-- the core.so that require loads (package.searchpath: 5.2+)
local CORE = package.searchpath and package.searchpath("cxcloud.core", package.cpath) or "cxcloud/core.so"

local function command_output(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

-- The work of a typical embedding, in a child process of the interpreter under test:
-- a pull, a 404, bad credentials, a refused connection, close and collection.
local CHILD = [[
local function signals()
  local s = io.open("/proc/self/status"):read("*a")
  return (s:match("SigCgt:%s*(%x+)") or "?") .. "/" .. (s:match("SigIgn:%s*(%x+)") or "?")
end
local before = signals()
local cxcloud = require "cxcloud"
local customer = os.getenv("SPEC_CUSTOMER")
local cx = cxcloud.new {}
assert(#assert(cx:network_elements { customerId = customer }:all()) > 0)
assert(not cx:get("/no/such/path"))
cx:close()
local bad = cxcloud.new { client_secret = "not-the-secret-0123456789", max_retries = 0 }
assert(not bad:get("/customer-info/customer-details"))
bad = nil -- luacheck: ignore 311
local refused = cxcloud.new { base_url = "https://localhost:1/cs/api/v2",
  token_url = "https://localhost:1/oauth2/default/v1/token", max_retries = 0, connect_timeout = 2 }
assert(not refused:token())
refused = nil -- luacheck: ignore 311
collectgarbage()
collectgarbage()
local f = assert(io.open(arg[1], "w"))
f:write(before, " ", signals())
f:close()
]]

describe("host hygiene", function()
  local sb

  setup(function() sb = helper.sandbox { customers = 1, hardware = 6 } end)
  teardown(function() sb:stop() end)

  it("writes nothing to stdout or stderr and installs no signal handler", function()
    local script, result = os.tmpname(), os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(CHILD)
    f:close()
    local env = { "SPEC_CUSTOMER=" .. shell_quote(sb.customers[1]) }
    for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
    local out = command_output(("env %s %s %s %s 2>&1"):format(table.concat(env, " "),
      shell_quote(LUA), shell_quote(script), shell_quote(result)))
    local sigs = slurp(result) or ""
    os.remove(script)
    os.remove(result)
    assert.equal("", out)
    local before, after = sigs:match("^(%S+) (%S+)$")
    assert.truthy(before, "the child did not finish: " .. sigs)
    assert.equal(before, after, "caught/ignored signal masks (SigCgt/SigIgn) changed")
  end)

  it("imports no exit, abort, signal or standard-stream function (the C core)", function()
    local imports = command_output("nm -D --undefined-only " .. shell_quote(CORE))
    local forbidden = {}
    for name in imports:gmatch("U ([%w_]+)") do
      -- a sanitizer build (make test-asan) imports its runtime's handlers: not the library's
      if not name:match("^__ubsan_") and not name:match("^__asan_") and (name:match("^_?exit$")
        or name:match("^_Exit$") or name:match("abort$") or name:match("^signal$")
        or name:match("^sigaction$") or name:match("^raise$") or name:match("^printf$")
        or name:match("^fprintf$") or name:match("^vfprintf$") or name:match("^puts$")
        or name:match("^fputs$") or name:match("^fwrite$") or name:match("^perror$")
        or name:match("^putchar$") or name:match("^stdout$") or name:match("^stderr$")) then
        forbidden[#forbidden + 1] = name
      end
    end
    assert.truthy(imports:find("curl_easy_init", 1, true), "nm did not list core.so's imports")
    assert.same({}, forbidden)
  end)

  it("names no path of a distribution's Lua layout in its modules (the tooling sets LUA_PATH)", function()
    local hits = command_output("grep -rln '/usr/share/lua\\|/usr/lib/x86_64-linux-gnu/lua' lua/ 2>/dev/null")
    assert.equal("", hits)
  end)

  it("keeps no Lua state in C globals: its only writable statics are one-time inits", function()
    local toolchain = { ["completed.0"] = true, __dso_handle = true, __TMC_END__ = true }
    local found = {}
    local writable = { [".data"] = true, [".bss"] = true, [".tdata"] = true, [".tbss"] = true }
    local symbols = command_output("objdump -t " .. shell_quote(CORE))
    for section, name in symbols:gmatch(" O (%.[%w._]+)\t%x+%s+([%w_.]+)") do
      if writable[section] and not toolchain[name] then found[#found + 1] = name end
    end
    table.sort(found)
    assert.same({ "curl_init_lock", "curl_ready", "curl_version_string" }, found)
  end)
end)
