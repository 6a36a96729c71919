#!/usr/bin/env lua5.4
--- Partner-scale benchmark (issues 9 and 12; not a timed test):
--
-- 1. 50 customers x 3 pages of 100 rows, the sandbox enforcing 10 requests/s, at 200 ms
--    and 1,000 ms latency: `cx:map` (defaults) against the plain sequential loop, the
--    sequential Python pager and Python with ThreadPoolExecutor(max_workers=6). Prints
--    wall time, CPU, peak RSS, throttled answers and the bound
--    max(requests / rate, 2 x latency).
-- 2. 100 pages behind nginx shedding with 503 at 8 requests/s (burst 4), client defaults:
--    wall time against the bound 100/8 s, shed answers; then two clients (two
--    processes) at once, each against the bound of both (200/8 s).
--
-- Usage (from the repository root, after `make`):
--    make bench-partner [BENCH_ARGS="--no-sequential --latency=0.2"]
local core = require "cxcloud.core"
local cxcloud = require "cxcloud"
local sandbox = require "cxcloud.sandbox"

local opts = { sequential = true, nginx = true, python = true, latencies = { 0.2, 1.0 },
  customers = 50 }
for _, a in ipairs(arg) do
  if a == "--no-sequential" then opts.sequential = false
  elseif a == "--no-nginx" then opts.nginx = false
  elseif a == "--no-python" then opts.python = false
  elseif a:match("^%-%-latency=") then opts.latencies = { tonumber(a:match("=(.*)")) }
  elseif a:match("^%-%-customers=") then opts.customers = tonumber(a:match("=(.*)"))
  else error("unknown argument " .. a .. " (--no-sequential, --no-nginx, --no-python, --latency=S,"
    .. " --customers=N)", 0) end
end

local function peak_rss_mib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kb = f:read("a"):match("VmHWM:%s*(%d+)")
  f:close()
  return (tonumber(kb) or 0) / 1024
end

local function all(q)
  local items, err = q:all()
  if not items then error(err, 0) end
  return items
end

local function row(fmt, ...) io.write(string.format(fmt, ...), "\n") io.stdout:flush() end

row("%-34s %8s %8s %7s %9s %8s %8s", "run", "wall s", "CPU s", "RSS MiB", "throttled", "bound s",
  "x bound")

for _, latency in ipairs(opts.latencies) do
  local sb = sandbox.start { seed = 5, customers = opts.customers, hardware = 300,
    latency = latency, rate_limit = 10, rate_burst = 2 }
  local requests = opts.customers * 3
  local bound = math.max(requests / 10, 2 * latency)
  local function run(name, pull)
    local cx <close> = cxcloud.new(sb:client_options())
    assert(cx:token())
    local t0, c0 = core.now(), os.clock()
    local rows = pull(cx)
    local wall = core.now() - t0
    assert(rows == opts.customers * 300, "rows: " .. rows)
    local s = cx:stats()
    row("%-34s %8.2f %8.2f %7.1f %9d %8.1f %8.2f", string.format("%s, %d ms", name, latency * 1000),
      wall, os.clock() - c0, peak_rss_mib(), s.throttled, bound, wall / bound)
  end
  run("cx:map", function(cx)
    local counts, errs = cx:map(sb.customers, function(id) return #all(cx:customer(id):hardware()) end)
    assert(not errs, "a pull failed")
    local n = 0
    for _, k in ipairs(counts) do n = n + k end
    return n
  end)
  local shell_quote = require("cxcloud.sandbox.shell").quote
  for _, mode in ipairs(opts.python and { "pool", "seq" } or {}) do
    if mode == "pool" or opts.sequential then
      local env = { "BENCH_MODE=" .. mode, "BENCH_CUSTOMERS=" .. table.concat(sb.customers, ",") }
      for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
      local t0 = core.now()
      local p = assert(io.popen("env " .. table.concat(env, " ")
        .. " /usr/bin/python3 bench/clients/requests_partner.py 2>&1"))
      local out = p:read("a")
      p:close()
      local wall = core.now() - t0
      local rows, _, throttled, cpu, rss = out:match("RESULT rows=(%d+) requests=(%d+)"
        .. " throttled=(%d+) cpu=([%d.]+) rss_mib=([%d.]+)")
      assert(tonumber(rows) == opts.customers * 300, "python: " .. out)
      row("%-34s %8.2f %8.2f %7.1f %9d %8.1f %8.2f", string.format("%s, %d ms",
        mode == "pool" and "Python ThreadPoolExecutor(6)" or "Python sequential", latency * 1000),
        wall, tonumber(cpu), tonumber(rss), tonumber(throttled), bound, wall / bound)
    end
  end
  if opts.sequential then
    run("sequential loop", function(cx)
      local n = 0
      for _, id in ipairs(sb.customers) do n = n + #all(cx:customer(id):hardware()) end
      return n
    end)
  end
  sb:stop()
end

if opts.nginx then
  package.path = "./?.lua;" .. package.path
  local nginx = require "spec.nginx"
  local sb = sandbox.start { seed = 6, customers = 2, hardware = 1000 }
  local gw = nginx.start(sb, { rate = 8, burst = 4, limit_status = 503 })
  local bound = 100 / 8
  local function one(name, id, b)
    b = b or bound
    local cx <close> = cxcloud.new(gw:client_options { page_size = 10 })
    local t0, c0 = core.now(), os.clock()
    local items = all(cx:customer(id):hardware())
    local wall = core.now() - t0
    local s = cx:stats()
    row("%-34s %8.2f %8.2f %7.1f %9d %8.1f %8.2f", name, wall, os.clock() - c0, peak_rss_mib(),
      s.throttled + s.overloaded, b, wall / b)
    return #items
  end
  one("nginx 503 at 8/s, 100 pages", sb.customers[1])
  -- two processes sharing the key: the second one runs this script's pull in a child
  local o = gw:client_options { page_size = 10 }
  local script = gw.dir .. "/child.lua"
  local f = assert(io.open(script, "wb"))
  f:write(string.format([[
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local cx = cxcloud.new { client_id = %q, client_secret = %q, base_url = %q, token_url = %q,
  ca_file = %q, connect_to = { %q, %q }, page_size = 10 }
local t0 = core.now()
local items = assert(cx:customer(%q):hardware():all())
local s = cx:stats()
print(#items, core.now() - t0, s.throttled + s.overloaded)
]], o.client_id, o.client_secret, o.base_url, o.token_url, o.ca_file, o.connect_to[1],
    o.connect_to[2], sb.customers[2]))
  f:close()
  local child = assert(io.popen("lua5.4 " .. script))
  one("two clients at once: first", sb.customers[1], 2 * bound)
  local n, wall, shed = child:read("n", "n", "n")
  child:close()
  row("%-34s %8.2f %8s %7s %9d %8.1f %8.2f", "two clients at once: second", wall, "-", "-", shed,
    2 * bound, wall / (2 * bound))
  assert(n == 1000, "the second client's pull did not complete")
  gw:stop()
  sb:stop()
end
