-- `make test-embed`: the example host (examples/embed/host.c, linked with libcxcloud.a)
-- in its three modes against a sandbox, run with no cxcloud file on LUA_PATH/LUA_CPATH;
-- then the threaded mode under valgrind memcheck (no error, no definite leak) and
-- Helgrind (no race). Exits non-zero at the first failed check.
--
-- Usage: lua5.4 examples/embed/test.lua HOST_BINARY

local sandbox = require "cxcloud.sandbox"

local host = assert(arg[1], "usage: test.lua HOST_BINARY")
local failures, checks = 0, 0

local shell_quote = require("cxcloud.shell").quote

local function check(ok, what, detail)
  checks = checks + 1
  if ok then
    print("ok     " .. what)
  else
    failures = failures + 1
    print("FAILED " .. what .. (detail and ("\n" .. detail) or ""))
  end
end

-- latency: every response takes 0.2 s, so the threads' pulls overlap for certain
local sb = sandbox.start { seed = 10, customers = 3, hardware = 30, latency = 0.2 }

local function run(prefix, ...)
  local env = { "env", "-u", "LUA_PATH", "-u", "LUA_CPATH", "-u", "LUA_PATH_5_4", "-u", "LUA_CPATH_5_4" }
  for k, v in pairs(sb:env()) do env[#env + 1] = shell_quote(k .. "=" .. v) end
  local args = {}
  for i, a in ipairs { ... } do args[i] = shell_quote(a) end
  local err_file = os.tmpname()
  local cmd = table.concat(env, " ") .. " " .. prefix .. " " .. shell_quote(host) .. " "
    .. table.concat(args, " ") .. " 2>" .. shell_quote(err_file)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  local f = io.open(err_file, "rb")
  local err = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(err_file)
  return out, err, ok and 0 or code
end

local c1, c2, c3 = sb.customers[1], sb.customers[2], sb.customers[3]
local function total(c) return #sb:truth("network_elements", c) end

-- mode 1
local out, err, code = run("", "pull", c1)
check(code == 0 and err == "", "pull: exit 0, nothing on stderr", out .. err)
check(out:find("customer " .. c1 .. ": " .. total(c1) .. " network elements", 1, true),
  "pull: every row reached C (" .. total(c1) .. ")", out)
local first = sb:truth("network_elements", c1)[1]
check(out:find(first.hostname, 1, true) and out:find(first.ipAddress, 1, true),
  "pull: the first row's hostname and address", out)

-- mode 2
out, err, code = run("", "poll", c2)
check(code == 0 and err == "", "poll: exit 0, nothing on stderr", out .. err)
check(out:find("customer " .. c2 .. ": " .. total(c2) .. " network elements", 1, true),
  "poll: every row through the host's poll() loop", out)
local waits = tonumber(out:match("host loop: (%d+) waits"))
check(waits and waits >= 2, "poll: the client waited in the host's loop (" .. tostring(waits) .. " times)",
  out)

-- mode 3
out, err, code = run("", "threads", "6", c1, c2, c3)
check(code == 0 and err == "", "threads: exit 0, nothing on stderr", out .. err)
check(out:find("threads: 6 of 6 ok; all running at once: yes", 1, true), "threads: 6 at once", out)
for k, c in ipairs { c1, c2, c3, c1, c2, c3 } do
  local line = ("thread %d: customer %s: ok %d network elements"):format(k, c, total(c))
  check(out:find(line, 1, true),
    ("threads: thread %d got its customer's %d rows"):format(k, total(c)), out)
end

-- valgrind memcheck: exit 99 on any error or definite leak
out, err, code = run("valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99",
  "threads", "3", c1, c2, c3)
check(code == 0 and out:find("threads: 3 of 3 ok", 1, true), "memcheck: threads, no error, no definite leak",
  out .. err)

-- Helgrind: exit 99 on any race (libcurl's and OpenSSL's atomics suppressed, see helgrind.supp)
local supp = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".") .. "/helgrind.supp"
out, err, code = run("valgrind -q --tool=helgrind --error-exitcode=99 --suppressions=" .. shell_quote(supp),
  "threads", "3", c1, c2, c3)
check(code == 0 and out:find("threads: 3 of 3 ok", 1, true), "helgrind: threads, no race", out .. err)

sb:stop()
-- the summary line .ci/run counts, in busted's words
print(("%d successes / %d failures / 0 errors / 0 pending"):format(checks - failures, failures))
os.exit(failures == 0 and 0 or 1)
