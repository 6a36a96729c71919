--- cxcloud benchmark: cxcloud against the tools people use today, on one sandbox.
--
--    lua5.4 bench/run.lua [--quick] [--memory] [options]      (`make bench`)
--
-- Starts one sandbox (the bundled fake CX Cloud, HTTPS on loopback) and runs every
-- client as a separate process under /usr/bin/time (wall time, user+sys CPU, peak RSS):
--
-- 1. Throughput: one customer of 10,000 hardware rows pulled in 100 pages of 100 rows,
--    the sandbox enforcing 10 requests/s the way the API gateway does (403 +
--    X-Mashery-Error-Code ERR_403_DEVELOPER_OVER_QPS), with 200 ms and then 1,000 ms
--    latency per API response. Clients: cxcloud with its defaults (automatic
--    concurrency), cxcloud with concurrency = 1, a sequential Python `requests` script,
--    a sequential Node.js axios script (when axios can be installed) and a bash loop with
--    one curl process per page. Each verifies its row count and that no row came twice;
--    the sandbox's counters tell how many responses were throttled.
-- 2. CPU: no latency, no rate limit; client CPU per 10,000 rows (JSON decode included)
--    from pulls of 10,000 and 100,000 rows, for cxcloud, Python and Node.
-- 3. Memory: cxcloud pulls 1,000,000 rows in pages of 1,000 (no latency, no limit);
--    its peak RSS against pulls of one page, 10,000 and 100,000 rows, and its RSS
--    along the pull (every 100,000 rows).
-- 4. Partner scale: 50 customers x 3 pages of 100 rows on a second sandbox
--    enforcing 10 requests/s, at each latency: cxcloud `cx:map` over the customers
--    (defaults), the same pulls in a plain sequential loop, the sequential Python pager and
--    Python with ThreadPoolExecutor(max_workers=6) over customers. Each client lists the
--    rows it read; they are compared with the sandbox's truth (every row exactly once).
--    Bound = max(requests / rate, 2 x latency).
-- 5. Overload: 100 pages behind a real nginx (spec/support/nginx.lua: Debian
--    nginx-light, TLS, HTTP/2, limit_req 8 r/s shedding with 503) with cxcloud's
--    defaults, one client and then two processes at once sharing the gateway's limit;
--    bound = pages / 8 s.
-- 6. Store (bench/store.lua): `cxcloud sync` of 50 customers x every operation at 10
--    requests/s into SQLite and PostgreSQL, a first and a second (unchanged) sync; apply
--    speed of 100,000 hardware rows without a network bound; peak RSS of a 300,000-row
--    sync; a Python requests + sqlite3 script as the peer.
-- 7. Fewest calls (bench/pages.lua): API calls and wall time of one customer of 10,000
--    hardware rows and of the store's partner workload (50 customers x every operation) at
--    10 requests/s and 1,000 ms latency, with the sandbox's pages limited to 1,000 rows
--    (refusing more with a 400, or serving shorter pages) and to 10,000 rows: cxcloud
--    page_size = "auto" and 100, the Python scripts (rows = 100), and the bound (the fewest
--    calls the limit allows, from the sandbox's truth, at the rate); CPU per 10,000 rows in
--    pages of 10,000 rows, cxcloud against Python.
--
-- Options:
--   --quick            short smoke run: 2,000 rows, 200 ms only, one CPU repeat, no memory,
--                      10 partner customers, 20 overload pages, fewest calls at 200 ms
--   --throughput, --cpu, --memory, --partner, --overload, --store, --pages
--                      run only these parts (any combination; default: all seven)
--   --no-memory        skip the memory check
--   --latencies=MS,..  latencies of the throughput and partner runs (default 200,1000)
--   --rows=N           rows of the throughput customer (default 10000)
--   --rate-limit=N     requests/s the sandbox enforces (default 10)
--   --rate-burst=N     the sandbox's token bucket size (default 2)
--   --token-latency=MS latency of the token endpoint (default 0: it is another service)
--   --clients=a,b      only these clients (cxcloud, cxcloud-c1, python, node, curl)
--   --http2            the sandbox offers HTTP/2 (default: HTTP/1.1 only)
--   --prefetch=N       add a throughput row: cxcloud defaults with the option prefetch = N
--   --out=FILE         Markdown report (default bench/results/latest.md)
--   --no-install       do not apt-get / npm install what is missing
--   --partner-customers=N, --partner-pages=N   partner scale (default 50 x 3)
--   --overload-pages=N, --overload-rate=N, --overload-burst=N, --overload-latency=MS
--                      overload rows (default 100 pages, 8 r/s, burst 4, 200 ms)
--   --store-customers=N, --store-hw=MIN,MAX, --store-latency=MS
--                      store partner sync (default 50 customers, hardware 20..1000 rows
--                      spread quadratically, 200 ms)
--   --store-apply-rows=N, --store-mem-rows=N   store apply-speed and memory rows (default
--                      100,000 and 300,000)
--   --store-parts=a,b  only these store parts: partner (1 and 4), apply (2 and 3)
--   --pages-latency=MS, --pages-rows=N, --pages-customers=N
--                      fewest calls: latency (default 1000), rows of the one customer
--                      (default 10000), partner customers (default 50; hardware as
--                      --store-hw)
--   --pages-limits=L,..  the sandbox's page limits: N (a 400 above N rows) or Ncap (shorter
--                      pages above N) (default 1000,1000cap,10000)
--   --pages-cpu-rows=N,N  rows of the two CPU pulls (default 10000,100000)
--   --pages-parts=a,b  only these fewest-calls parts: single, partner, cpu
--
-- Exit status: 0 when every run succeeded (the goals are reported, not enforced),
-- 1 when a run failed (wrong row count, duplicates, a client error).

-------------------------------------------------------------------------------
-- paths: run from anywhere, with or without LUA_PATH set by the Makefile

local function script_dir()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    local p = io.popen("pwd")
    local cwd = p:read("l")
    p:close()
    dir = cwd .. "/" .. dir
  end
  return (dir:gsub("/%./", "/"):gsub("/%.$", ""))
end

local BENCH = script_dir()
local ROOT = BENCH:match("^(.*)/bench$") or (BENCH .. "/..")
local LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;"
  .. "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;"
local LUA_CPATH = ROOT .. "/?.so;;"
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
  .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
package.cpath = ROOT .. "/?.so;" .. package.cpath

local have_core, core = pcall(require, "cxcloud.core")
if not have_core then
  io.stderr:write("bench: cannot load the C core (cxcloud/core.so): run `make` first\n", tostring(core), "\n")
  os.exit(2)
end
local cxcloud = require "cxcloud"
local sandbox = require "cxcloud.sandbox"
-- the engine developer's nginx harness of the overload specs, used as it is
package.path = ROOT .. "/?.lua;" .. package.path
local nginx = require "spec.support.nginx"
local workload = dofile(BENCH .. "/workload.lua")

local format, concat = string.format, table.concat

-------------------------------------------------------------------------------
-- options

local opt = {
  quick = false, phases = nil, memory = true, latencies = { 200, 1000 }, rows = 10000,
  page_size = 100, rate_limit = 10, token_latency = 0, clients = nil, http2 = false,
  out = BENCH .. "/results/latest.md", install = true,
  cpu_rows = { 10000, 100000 }, cpu_repeat = 3, mem_rows = 1000000, mem_small = 10000,
  mem_page_size = 1000, timeout = 900,
  partner_customers = 50, partner_pages = 3,
  overload_pages = 100, overload_rate = 8, overload_burst = 4, overload_latency = 200,
  store_customers = 50, store_hw_min = 20, store_hw_max = 1000, store_latency = 200,
  store_apply_rows = 100000, store_mem_rows = 300000, store_parts = { partner = true, apply = true },
  pages_latency = 1000, pages_rows = 10000, pages_customers = 50, pages_cpu_rows = { 10000, 100000 },
  pages_limits = { { rows = 1000, mode = "refuse" }, { rows = 1000, mode = "cap" },
    { rows = 10000, mode = "refuse" } },
  pages_parts = { single = true, partner = true, cpu = true },
}

local function usage(msg)
  if msg then io.stderr:write("bench: ", msg, "\n") end
  local f = assert(io.open(BENCH .. "/run.lua", "r"))
  for line in f:lines() do
    if not line:match("^%-%-") then break end
    io.stderr:write((line:gsub("^%-%-%-? ?", "")), "\n")
  end
  f:close()
  os.exit(msg and 2 or 0)
end

local function numbers(s)
  local t = {}
  for x in s:gmatch("[^,]+") do
    local n = tonumber(x)
    if not n or n < 0 then usage("not a number: " .. x) end
    t[#t + 1] = n
  end
  return t
end

local explicit = {}
for _, a in ipairs(arg) do
  local k, v = a:match("^%-%-([%w-]+)=(.*)$")
  k = k or a:match("^%-%-([%w-]+)$")
  if not k then usage("unknown argument " .. a) end
  explicit[k] = true
  if k == "quick" then opt.quick = true
  elseif k == "memory" or k == "cpu" or k == "throughput" or k == "partner" or k == "overload"
    or k == "store" or k == "pages" then
    opt.phases = opt.phases or {}
    opt.phases[k] = true
  elseif k == "no-memory" then opt.memory = false
  elseif k == "latencies" and v then opt.latencies = numbers(v)
  elseif k == "rows" and v then opt.rows = math.tointeger(numbers(v)[1]) or usage("--rows: an integer")
  elseif k == "rate-limit" and v then opt.rate_limit = numbers(v)[1]
  elseif k == "rate-burst" and v then opt.rate_burst = numbers(v)[1]
  elseif k == "token-latency" and v then opt.token_latency = numbers(v)[1]
  elseif k == "clients" and v then
    opt.clients = {}
    for c in v:gmatch("[^,]+") do opt.clients[c] = true end
  elseif k == "http2" then opt.http2 = true
  elseif k == "prefetch" and v then
    opt.prefetch = math.tointeger(numbers(v)[1]) or usage("--prefetch: an integer")
  elseif k == "out" and v then opt.out = v
  elseif k == "no-install" then opt.install = false
  elseif k == "partner-customers" and v then
    opt.partner_customers = math.tointeger(numbers(v)[1]) or usage("--partner-customers: an integer")
  elseif k == "partner-pages" and v then
    opt.partner_pages = math.tointeger(numbers(v)[1]) or usage("--partner-pages: an integer")
  elseif k == "overload-pages" and v then
    opt.overload_pages = math.tointeger(numbers(v)[1]) or usage("--overload-pages: an integer")
  elseif k == "overload-rate" and v then
    opt.overload_rate = math.tointeger(numbers(v)[1]) or usage("--overload-rate: an integer")
  elseif k == "overload-burst" and v then
    opt.overload_burst = math.tointeger(numbers(v)[1]) or usage("--overload-burst: an integer")
  elseif k == "overload-latency" and v then opt.overload_latency = numbers(v)[1]
  elseif k == "store-customers" and v then
    opt.store_customers = math.tointeger(numbers(v)[1]) or usage("--store-customers: an integer")
  elseif k == "store-hw" and v then
    local t = numbers(v)
    opt.store_hw_min, opt.store_hw_max = t[1], t[2] or t[1]
  elseif k == "store-latency" and v then opt.store_latency = numbers(v)[1]
  elseif k == "store-apply-rows" and v then
    opt.store_apply_rows = math.tointeger(numbers(v)[1]) or usage("--store-apply-rows: an integer")
  elseif k == "store-mem-rows" and v then
    opt.store_mem_rows = math.tointeger(numbers(v)[1]) or usage("--store-mem-rows: an integer")
  elseif k == "store-parts" and v then
    opt.store_parts = {}
    for x in v:gmatch("[^,]+") do opt.store_parts[x] = true end
  elseif k == "pages-latency" and v then opt.pages_latency = numbers(v)[1]
  elseif k == "pages-rows" and v then
    opt.pages_rows = math.tointeger(numbers(v)[1]) or usage("--pages-rows: an integer")
  elseif k == "pages-customers" and v then
    opt.pages_customers = math.tointeger(numbers(v)[1]) or usage("--pages-customers: an integer")
  elseif k == "pages-cpu-rows" and v then
    local t = numbers(v)
    opt.pages_cpu_rows = { math.tointeger(t[1]), math.tointeger(t[2] or t[1] * 10) }
    if not opt.pages_cpu_rows[1] or not opt.pages_cpu_rows[2] then usage("--pages-cpu-rows: integers") end
  elseif k == "pages-limits" and v then
    opt.pages_limits = {}
    for x in v:gmatch("[^,]+") do
      local n, cap = x:match("^(%d+)(c?a?p?)$")
      if not n or (cap ~= "" and cap ~= "cap") or tonumber(n) < 1 then
        usage("--pages-limits: N or Ncap, got " .. x)
      end
      opt.pages_limits[#opt.pages_limits + 1] = { rows = math.tointeger(tonumber(n)),
        mode = cap == "cap" and "cap" or "refuse" }
    end
  elseif k == "pages-parts" and v then
    opt.pages_parts = {}
    for x in v:gmatch("[^,]+") do
      if x ~= "single" and x ~= "partner" and x ~= "cpu" then usage("--pages-parts: single, partner, cpu") end
      opt.pages_parts[x] = true
    end
  elseif k == "help" then usage()
  else usage("unknown option --" .. k .. (v and "=" .. v or "")) end
end
if opt.quick then
  if not explicit.rows then opt.rows = 2000 end
  if not explicit.latencies then opt.latencies = { 200 } end
  opt.cpu_rows = { 2000, 20000 }
  opt.cpu_repeat = 1
  opt.memory = false
  if not explicit["partner-customers"] then opt.partner_customers = 10 end
  if not explicit["overload-pages"] then opt.overload_pages = 20 end
  if not explicit["store-customers"] then opt.store_customers = 10 end
  if not explicit["store-apply-rows"] then opt.store_apply_rows = 20000 end
  if not explicit["store-mem-rows"] then opt.store_mem_rows = 50000 end
  if not explicit["pages-latency"] then opt.pages_latency = 200 end
  if not explicit["pages-rows"] then opt.pages_rows = 2000 end
  if not explicit["pages-customers"] then opt.pages_customers = 10 end
  if not explicit["pages-cpu-rows"] then opt.pages_cpu_rows = { 2000, 20000 } end
end
local function phase(name)
  if opt.phases then return opt.phases[name] == true end
  return name ~= "memory" or opt.memory
end

-------------------------------------------------------------------------------
-- small helpers

local sh_quote = require("cxcloud.shell").quote

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function capture(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return nil end
  local s = p:read("a")
  p:close()
  s = s and s:gsub("%s+$", "")
  if s == "" then return nil end
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function say(...)
  io.stdout:write(...)
  io.stdout:write("\n")
  io.stdout:flush()
end

local function is_root()
  return capture("id -u") == "0"
end

local apt_updated = false
local function apt_install(pkg)
  if not opt.install then return false end
  local sudo = is_root() and "" or "sudo "
  say(format("bench: installing the Debian package %s", pkg))
  if not apt_updated then
    os.execute(sudo .. "env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1")
    apt_updated = true
  end
  local ok = os.execute(sudo .. "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
    .. "--no-install-recommends " .. pkg .. " >/dev/null 2>&1")
  return ok == true
end

local TMP = capture("mktemp -d \"${TMPDIR:-/tmp}/cxcloud-bench.XXXXXX\"") or error("mktemp failed")

-------------------------------------------------------------------------------
-- tools and clients

local notes = {}   -- lines for the report
local function note(s)
  notes[#notes + 1] = s
  say("bench: note: ", s)
end

local TIME = "/usr/bin/time"
if not exists(TIME) and not apt_install("time") then
  io.stderr:write("bench: /usr/bin/time is missing (Debian package `time`)\n")
  os.exit(2)
end
local LUA = "lua5.4"
do
  local i = -1
  while arg[i - 1] do i = i - 1 end
  if arg[i] and arg[i]:match("lua") then LUA = arg[i] end
end
local PY = "/usr/bin/python3"

local CLIENTS = {
  { id = "cxcloud", name = "cxcloud (defaults)", kind = "lua" },
  { id = "cxcloud-c1", name = "cxcloud concurrency=1", kind = "lua", concurrency = 1 },
  { id = "python", name = "Python requests (sequential)", kind = "python" },
  { id = "node", name = "Node.js axios (sequential)", kind = "node" },
  { id = "curl", name = "bash + curl per page", kind = "curl" },
}
if opt.prefetch then
  table.insert(CLIENTS, 2, { id = "cxcloud-prefetch", name = format("cxcloud prefetch=%d", opt.prefetch),
    kind = "lua", prefetch = opt.prefetch })
end
local BY_ID = {}
for _, c in ipairs(CLIENTS) do BY_ID[c.id] = c end

local function wanted(id)
  return not opt.clients or opt.clients[id]
end

local available = {}
local versions = {}

local function check_python()
  local v = capture(PY .. " -c 'import sys, requests; print(sys.version.split()[0], requests.__version__)'")
  if not v and exists(PY) and apt_install("python3-requests") then
    v = capture(PY .. " -c 'import sys, requests; print(sys.version.split()[0], requests.__version__)'")
  end
  if not v then
    note("Python client skipped: " .. PY .. " with python3-requests is not available")
    return false
  end
  local py, rq = v:match("^(%S+) (%S+)$")
  versions.python = format("Python %s, requests %s (Debian)", py, rq)
  return true
end

local function check_node()
  if not capture("command -v node") then
    note("Node.js client skipped: node is not installed")
    return false
  end
  local pj = BENCH .. "/node_modules/axios/package.json"
  if not exists(pj) then
    if not opt.install then
      note("Node.js client skipped: axios is not installed in bench/node_modules (--no-install)")
      return false
    end
    say("bench: installing axios into bench/node_modules (npm)")
    os.execute("cd " .. sh_quote(BENCH) .. " && npm install --no-package-lock --no-audit --no-fund "
      .. "--loglevel=error >" .. sh_quote(TMP .. "/npm.log") .. " 2>&1")
    if not exists(pj) then
      note("Node.js client skipped: `npm install` of axios failed: "
        .. ((read_file(TMP .. "/npm.log") or ""):gsub("%s+", " "):sub(1, 200)))
      return false
    end
  end
  local av = (read_file(pj) or ""):match('"version"%s*:%s*"([^"]+)"') or "?"
  versions.node = format("Node.js %s, axios %s", capture("node --version") or "?", av)
  return true
end

local function check_curl()
  if not capture("command -v curl") then
    note("curl client skipped: curl is not installed")
    return false
  end
  if not capture("command -v jq") and not apt_install("jq") then
    note("curl client skipped: jq is not installed")
    return false
  end
  versions.curl = (capture("curl --version") or "curl ?"):match("^[^\n]*"):match("^(curl %S+)")
    .. ", " .. (capture("jq --version") or "jq ?")
  return true
end

if phase("throughput") or phase("cpu") or phase("partner") or phase("store") or phase("pages") then
  if wanted("python") then available.python = check_python() end
  if wanted("node") then available.node = check_node() end
  if wanted("curl") then available.curl = check_curl() end
end
available.cxcloud, available["cxcloud-c1"], available["cxcloud-prefetch"] = true, true, true
versions.cxcloud = format("%s, %s, %s", cxcloud._VERSION, core.curl_version(), _VERSION)

-------------------------------------------------------------------------------
-- machine

local function machine()
  local cpu = (read_file("/proc/cpuinfo") or ""):match("model name%s*:%s*([^\n]+)") or "?"
  local mem = tonumber((read_file("/proc/meminfo") or ""):match("MemTotal:%s*(%d+)"))
  local os_name = (read_file("/etc/os-release") or ""):match('PRETTY_NAME="([^"]+)"') or "?"
  return {
    nproc = capture("nproc") or "?",
    cpu = cpu,
    ram = mem and format("%.1f GiB", mem / 1048576) or "?",
    os = os_name,
    kernel = capture("uname -r") or "?",
  }
end

-------------------------------------------------------------------------------
-- running one client

local sb -- the sandbox
local run_seq = 0

local function client_command(c, env, outdir)
  for k, v in pairs(c.env or {}) do env[k] = v end
  if c.kind == "lua" then
    env.LUA_PATH, env.LUA_CPATH = LUA_PATH, LUA_CPATH
    if c.concurrency then env.BENCH_CONCURRENCY = c.concurrency end
    if c.prefetch then env.BENCH_PREFETCH = c.prefetch end
    return sh_quote(LUA) .. " " .. sh_quote(BENCH .. "/clients/" .. (c.script or "cxcloud_pull.lua"))
  elseif c.kind == "python" then
    return sh_quote(PY) .. " " .. sh_quote(BENCH .. "/clients/" .. (c.script or "requests_pull.py"))
  elseif c.kind == "node" then
    env.NODE_PATH = BENCH .. "/node_modules"
    return "node " .. sh_quote(BENCH .. "/clients/axios_pull.js")
  elseif c.kind == "curl" then
    env.BENCH_OUTDIR = outdir
    return "bash " .. sh_quote(BENCH .. "/clients/curl_pull.sh")
  end
  error("unknown client kind " .. tostring(c.kind))
end

--- The shell command that runs client `c` under /usr/bin/time, its output in files named
-- after job.base. env: the connection (CXCLOUD_*), extra: BENCH_* variables.
local function client_job(c, env0, extra)
  run_seq = run_seq + 1
  local base = format("%s/run-%03d", TMP, run_seq)
  local job = { client = c, base = base, outdir = base .. "-pages", ids_file = base .. ".ids" }
  local env = {}
  for k, v in pairs(env0) do env[k] = v end
  for k, v in pairs(extra or {}) do env[k] = v end
  env.BENCH_IDS_FILE = job.ids_file -- the partner clients list the rows they read there
  local cmd = client_command(c, env, job.outdir)
  -- REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on some machines) would override the
  -- Python script's Session.verify (a known requests behaviour): not what a user has
  local parts = { "cd", sh_quote(TMP), "&&", "env", "-u", "REQUESTS_CA_BUNDLE", "-u", "CURL_CA_BUNDLE" }
  local keys = {}
  for k in pairs(env) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = sh_quote(k .. "=" .. tostring(env[k])) end
  parts[#parts + 1] = format("timeout -k 10 %d %s -f '%%e %%U %%S %%M' -o %s %s >%s 2>%s", opt.timeout,
    TIME, sh_quote(base .. ".time"), cmd, sh_quote(base .. ".out"), sh_quote(base .. ".err"))
  job.shell = concat(parts, " ")
  return job
end

--- What a finished job measured and printed; r.ok false (and r.why) when it failed or its
-- RESULT line does not show `expect` rows without duplicates.
local function job_result(job, expect, ok, code)
  local c = job.client
  local r = { client = c, ok = ok == true, exit = code }
  local tl = (read_file(job.base .. ".time") or ""):match("([%d.]+ [%d.]+ [%d.]+ %d+)%s*$")
  if tl then
    local e, u, s, m = tl:match("(%S+) (%S+) (%S+) (%S+)")
    r.wall, r.user, r.sys, r.rss = tonumber(e), tonumber(u), tonumber(s), tonumber(m) / 1024
    r.cpu = r.user + r.sys
  else
    r.ok = false
  end
  local outs = read_file(job.base .. ".out") or ""
  local line = outs:match("RESULT ([^\n]*)")
  r.fields = {}
  if line then
    for k, v in line:gmatch("(%w+)=(%S+)") do r.fields[k] = tonumber(v) or v end
  end
  r.rows, r.dups = r.fields.rows, r.fields.dups
  r.err = (read_file(job.base .. ".err") or ""):gsub("%s+$", "")
  r.rss_samples = {}
  for rows, kib in r.err:gmatch("RSS rows=(%d+) kib=(%d+)") do
    r.rss_samples[#r.rss_samples + 1] = { rows = tonumber(rows), mib = tonumber(kib) / 1024 }
  end
  if not r.ok then
    r.why = format("exit status %s", tostring(code))
  elseif r.rows ~= expect then
    r.why = format("%s rows, expected %d", tostring(r.rows), expect)
  elseif r.dups ~= 0 then
    r.why = format("%s duplicate rows", tostring(r.dups))
  end
  os.execute("rm -rf " .. sh_quote(job.outdir))
  return r
end

local function report_failure(r)
  if r.why then
    r.ok = false
    local tail = r.err:gsub("RSS rows=%d+ kib=%d+\n?", ""):sub(-400)
    say(format("bench: %s FAILED: %s%s", r.client.name, r.why, tail ~= "" and ("\n  " .. tail) or ""))
  end
end

-- the sandbox's view of the run: its counters and the throttled records of its log
local function sandbox_view(box, r)
  local st = box:stats()
  r.api_requests = st.api_requests
  r.throttled = st.throttled
  r.handshakes = st.handshakes
  r.peak_inflight = st.peak_inflight
  r.refused = st.by_status["400"] or 0 -- a rows above the service's page limit, in these runs
  local nthrottled = 0
  for _, rec in ipairs(box:log()) do
    if rec.throttled then nthrottled = nthrottled + 1 end
  end
  r.log_throttled = nthrottled
end

--- Runs client `c` against customer index `ci` of the sandbox `box` (default: the main one),
-- expecting `expect` rows. extra: BENCH_* variables. Returns a result table.
local function run_client(c, ci, expect, extra, box)
  box = box or sb
  local e = { BENCH_CUSTOMER = box.all_customers[ci] }
  for k, v in pairs(extra or {}) do e[k] = v end
  local job = client_job(c, box:env(), e)
  box:reset_stats()
  box:clear_log()
  local t0 = core.now()
  local ok, _, code = os.execute(job.shell)
  local elapsed = core.now() - t0
  local r = job_result(job, expect, ok, code)
  r.elapsed = elapsed
  r.wall = r.wall or elapsed
  sandbox_view(box, r)
  report_failure(r)
  return r, job
end

--- Runs client `c` (a partner client: it lists the rows it read in BENCH_IDS_FILE) against
-- the sandbox `box` with the BENCH_* variables `extra`, and checks its rows against the truth
-- (`want`, `n`: bench/workload.lua `truth`). Returns a result table.
local function run_checked(c, box, extra, want, n)
  box:reset_stats()
  box:clear_log()
  local job = client_job(c, box:env(), extra)
  local ok, _, code = os.execute(job.shell)
  local r = job_result(job, n, ok, code)
  workload.check_ids(r, job.ids_file, want, n)
  sandbox_view(box, r)
  report_failure(r)
  return r
end

-------------------------------------------------------------------------------
-- formatting

local function fmt_num(v, pat)
  if v == nil then return "-" end
  return format(pat or "%.2f", v)
end

local function md_table(head, rows, align)
  local w = {}
  for i, h in ipairs(head) do w[i] = #h end
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do w[i] = math.max(w[i], #cell) end
  end
  local function line(cells)
    local out = {}
    for i, cell in ipairs(cells) do
      local pad = string.rep(" ", w[i] - #cell)
      out[i] = (align and align:sub(i, i) == "r") and (pad .. cell) or (cell .. pad)
    end
    return "| " .. concat(out, " | ") .. " |"
  end
  local lines = { line(head) }
  local sep = {}
  for i = 1, #head do
    local right = align and align:sub(i, i) == "r"
    sep[i] = right and (string.rep("-", w[i] - 1) .. ":") or string.rep("-", w[i])
  end
  lines[2] = "| " .. concat(sep, " | ") .. " |"
  for _, row in ipairs(rows) do lines[#lines + 1] = line(row) end
  return concat(lines, "\n")
end

-------------------------------------------------------------------------------
-- the phases

local report = {}
local function out(s) report[#report + 1] = s end
local failures = 0

local function pause(s) core.sleep(s) end

local function throughput()
  local pages = math.ceil(opt.rows / opt.page_size)
  local results = {}
  for _, ms in ipairs(opt.latencies) do
    local lat = ms / 1000
    sb:set { latency = lat, token_latency = opt.token_latency / 1000, rate_limit = opt.rate_limit }
    say(format("\n== throughput: %d rows in %d pages of %d, %g ms latency, %g requests/s enforced",
      opt.rows, pages, opt.page_size, ms, opt.rate_limit))
    local by = {}
    for _, c in ipairs(CLIENTS) do
      if wanted(c.id) and available[c.id] then
        pause(1.5) -- the sandbox's bucket refills; connections of the last run are gone
        io.stdout:write(format("  %-30s ", c.name))
        io.stdout:flush()
        local r = run_client(c, 1, opt.rows, { BENCH_PAGE_SIZE = opt.page_size })
        r.latency, r.pages = lat, pages
        local conc = 1
        if c.kind == "lua" then conc = c.concurrency or r.fields.concurrency or 10 end
        r.concurrency = conc
        local rl = opt.rate_limit > 0 and pages / opt.rate_limit or 0
        r.bound = math.max(rl, pages * lat / conc)
        if not r.ok then failures = failures + 1 end
        say(format("%s wall %6.2f s  cpu %5.2f s  rss %6.1f MiB  throttled %d  requests %d  handshakes %d",
          r.ok and "ok    " or "FAILED", r.wall or -1, r.cpu or -1, r.rss or -1, r.throttled or -1,
          r.api_requests or -1, r.handshakes or -1))
        by[c.id] = r
        results[#results + 1] = r
      end
    end
    local ref = by.cxcloud
    for _, r in pairs(by) do
      r.ratio = (ref and ref.ok and r.ok and r.wall) and r.wall / ref.wall or nil
    end
  end
  return results
end

-- one raw page (`rows` rows, default page_size) of customer `ci` (default 1) of the sandbox `box`
-- (default the main one), through the C core
local function raw_page(box, ci, rows)
  box = box or sb
  local options = require "cxcloud.options"
  local cfg, secret = options.validate({ client_id = box.client_id, client_secret = box.client_secret,
    token_url = box.local_token_url, ca_file = box.ca_file, timeout = 30, connect_timeout = 10,
    max_body_size = 1024 * 1024 * 1024 }, function() end)
  local c <close> = core.new(options.core(cfg, secret, nil, "cxcloud-bench"))
  local function fetch(t)
    c:submit(t)
    while true do
      local res = c:poll(1)
      if res[1] then return res[1] end
    end
  end
  local tr = fetch { token = true }
  local tok = tr.status == 200 and core.decode(tr.body)
  if not tok then return nil end
  c:set_token(tok.access_token, "Bearer")
  local r = fetch { url = format("%s/inventory/hardware?customerId=%s&page=1&rows=%d", box.local_base_url,
    box.all_customers[ci or 1], rows or opt.page_size) }
  return r.status == 200 and r.body or nil
end

-- JSON decode alone, per 10,000 rows: cxcloud's core.decode (in this process) and
-- Python's json.loads, on the same page (raw_page's arguments; `decode` replaces core.decode)
local function decode_costs(box, ci, rows, decode)
  rows = rows or opt.page_size
  decode = decode or core.decode
  local body = raw_page(box, ci, rows)
  if not body then return nil end
  local path = TMP .. "/page.json"
  write_file(path, body)
  local n = math.max(3, 30000 // rows)
  for _ = 1, math.max(1, n // 15) do decode(body) end
  collectgarbage()
  local t0 = os.clock()
  for _ = 1, n do decode(body) end
  local lua_s = (os.clock() - t0) / n
  local py = capture(PY .. " -c " .. sh_quote("import json, sys, time\n"
    .. "b = open(sys.argv[1], 'rb').read()\n"
    .. "for _ in range(" .. math.max(1, n // 15) .. "): json.loads(b)\n"
    .. "t = time.process_time()\n"
    .. "for _ in range(" .. n .. "): json.loads(b)\n"
    .. "print((time.process_time() - t) / " .. n .. ")") .. " " .. sh_quote(path))
  os.remove(path)
  local per = 10000 / rows
  return { bytes = #body, cxcloud = lua_s * per, python = tonumber(py) and tonumber(py) * per }
end

local function cpu_phase()
  -- no latency, no limit; the client-side limit is turned off for cxcloud too
  sb:set { latency = 0, token_latency = 0, rate_limit = 0 }
  local clients = {}
  for _, id in ipairs { "cxcloud", "cxcloud-c1", "python", "node" } do
    if wanted(id) and available[id] then clients[#clients + 1] = BY_ID[id] end
  end
  local small, large = opt.cpu_rows[1], opt.cpu_rows[2]
  say(format("\n== CPU: no latency, no rate limit; pulls of %d and %d rows in pages of %d, best of %d",
    small, large, opt.page_size, opt.cpu_repeat))
  local res = {}
  for _, c in ipairs(clients) do
    local row = { client = c }
    for k, n in ipairs { small, large } do
      local best
      for _ = 1, opt.cpu_repeat do
        pause(0.5)
        local r = run_client(c, k == 1 and 1 or 2, n,
          { BENCH_PAGE_SIZE = opt.page_size, BENCH_RATE_LIMIT = 0 })
        if not r.ok then failures = failures + 1 end
        if r.ok and (not best or r.cpu < best.cpu) then best = r end
      end
      row[k] = best
    end
    local a, b = row[1], row[2]
    if a and b then
      row.per10k = b.cpu / (large / 10000)
      row.marginal = (b.cpu - a.cpu) / ((large - small) / 10000)
      row.fixed = a.cpu - row.marginal * small / 10000
    end
    say(format("  %-30s cpu %s s / %s s  -> %s s per 10,000 rows (marginal %s s)", c.name,
      fmt_num(a and a.cpu), fmt_num(b and b.cpu), fmt_num(row.per10k, "%.3f"), fmt_num(row.marginal, "%.3f")))
    res[#res + 1] = row
  end
  local dc = decode_costs()
  if dc then
    say(format("  JSON decode alone per 10,000 rows: cxcloud core.decode %.3f s, Python json.loads %s s",
      dc.cxcloud, fmt_num(dc.python, "%.3f")))
  end
  res.decode = dc
  return res, small, large
end

local function memory_phase()
  sb:set { latency = 0, token_latency = 0, rate_limit = 0, max_rows = math.max(opt.mem_page_size, 1000) }
  local c = BY_ID.cxcloud
  local ps = opt.mem_page_size
  say(format("\n== memory: cxcloud (defaults, no rate limit), pages of %d rows", ps))
  local base = { BENCH_PAGE_SIZE = ps, BENCH_RATE_LIMIT = 0, BENCH_CHECK = "order" }
  local function with(t)
    local e = {}
    for k, v in pairs(base) do e[k] = v end
    for k, v in pairs(t) do e[k] = v end
    return e
  end
  -- customer 1 holds opt.rows rows, 2 holds opt.cpu_rows[2], 3 holds opt.mem_rows
  local runs = {
    { label = "one page", ci = 1, rows = math.min(ps, opt.rows), env = with { BENCH_MAX_ITEMS = ps } },
    { label = "all", ci = 1, rows = opt.rows, env = base },
    { label = "all", ci = 2, rows = opt.cpu_rows[2], env = base },
    { label = "all", ci = 3, rows = opt.mem_rows, big = true,
      env = with { BENCH_RSS_EVERY = math.max(1, opt.mem_rows // 10) } },
  }
  local mem = { runs = runs, page_size = ps }
  for _, m in ipairs(runs) do
    pause(0.5)
    local r = run_client(c, m.ci, m.rows, m.env)
    m.r = r
    if not r.ok then failures = failures + 1 end
    if m.big then mem.big = m end
    say(format("  %-9s %8d rows: peak RSS %6.1f MiB, wall %6.2f s, cpu %5.2f s  %s", m.label, m.rows,
      r.rss or -1, r.wall or -1, r.cpu or -1, r.ok and "ok" or "FAILED"))
  end
  return mem
end

local PARTNER_CLIENTS = {
  { id = "map", name = "cxcloud cx:map (defaults)", kind = "lua", script = "cxcloud_partner.lua",
    env = { BENCH_MODE = "map" } },
  { id = "loop", name = "cxcloud sequential loop", kind = "lua", script = "cxcloud_partner.lua",
    env = { BENCH_MODE = "loop" } },
  { id = "python", name = "Python requests (sequential)", kind = "python", script = "requests_partner.py",
    env = { BENCH_WORKERS = 0 } },
  { id = "python-threads", name = "Python ThreadPoolExecutor(6)", kind = "python",
    script = "requests_partner.py", env = { BENCH_WORKERS = 6 } },
}

local function partner_phase(box)
  local customers = {}
  for i = 1, opt.partner_customers do customers[i] = box.all_customers[i] end
  local want, n = workload.truth(box, customers, { "hardware" })
  local requests = opt.partner_customers * opt.partner_pages
  local res = {}
  for _, ms in ipairs(opt.latencies) do
    local lat = ms / 1000
    box:set { latency = lat, token_latency = opt.token_latency / 1000, rate_limit = opt.rate_limit }
    say(format("\n== partner scale: %d customers x %d pages of %d rows, %g ms latency, %g requests/s"
      .. " enforced", opt.partner_customers, opt.partner_pages, opt.page_size, ms, opt.rate_limit))
    for _, c in ipairs(PARTNER_CLIENTS) do
      if c.kind ~= "python" or available.python then
        pause(1.5) -- the sandbox's bucket refills; connections of the last run are gone
        io.stdout:write(format("  %-30s ", c.name))
        io.stdout:flush()
        local r = run_checked(c, box, { BENCH_CUSTOMERS = concat(customers, ","),
          BENCH_PAGE_SIZE = opt.page_size }, want, n)
        r.latency, r.requests = lat, requests
        r.bound = math.max(opt.rate_limit > 0 and requests / opt.rate_limit or 0, 2 * lat)
        if not r.ok then failures = failures + 1 end
        say(format("%s wall %6.2f s  cpu %5.2f s  rss %6.1f MiB  throttled %d  requests %d  bound %.1f s"
          .. "  (%.2fx)", r.ok and "ok    " or "FAILED", r.wall or -1, r.cpu or -1, r.rss or -1,
          r.log_throttled or -1, r.api_requests or -1, r.bound, (r.wall or 0) / r.bound))
        res[#res + 1] = r
      end
    end
  end
  return res, n
end

-- client defaults through nginx: `count` processes at once, each pulling its own customer
-- of opt.overload_pages pages
local function overload_run(box, count, want_rows)
  local gw = nginx.start(box, { rate = opt.overload_rate, burst = opt.overload_burst, limit_status = 503 })
  local env = box:env()
  local port = ":" .. gw.port .. "/"
  env.CXCLOUD_BASE_URL = box.local_base_url:gsub(":%d+/", port, 1)
  env.CXCLOUD_TOKEN_URL = box.local_token_url:gsub(":%d+/", port, 1)
  env.CXCLOUD_CA_FILE = gw.ca_file
  local jobs, shells = {}, {}
  for k = 1, count do
    local ci = opt.partner_customers + k
    jobs[k] = client_job(BY_ID.cxcloud, env, { BENCH_CUSTOMER = box.all_customers[ci],
      BENCH_PAGE_SIZE = opt.page_size })
    shells[k] = "( " .. jobs[k].shell .. "; echo $? >" .. sh_quote(jobs[k].base .. ".rc") .. " ) &"
  end
  box:reset_stats()
  box:clear_log()
  local t0 = core.now()
  os.execute(concat(shells, " ") .. " wait")
  local elapsed = core.now() - t0
  local log = gw:log()
  gw:stop()
  local run = { count = count, elapsed = elapsed, gateway_requests = #log, shed = 0, clients = {} }
  for _, rec in ipairs(log) do
    if rec.status == 503 then run.shed = run.shed + 1 end
  end
  for k, job in ipairs(jobs) do
    local rc = tonumber(((read_file(job.base .. ".rc") or ""):match("%d+")))
    local r = job_result(job, want_rows, rc == 0, rc)
    report_failure(r)
    if not r.ok then failures = failures + 1 end
    run.clients[k] = r
  end
  run.api_requests = box:stats().api_requests
  run.bound = count * opt.overload_pages / opt.overload_rate
  if count == 2 then
    -- the client left alone once the other has its last page: how fast it went on
    local first, last = {}, {}
    for _, rec in ipairs(box:log()) do
      if rec.op == "hardware" and rec.t then
        local k = rec.customerId
        first[k] = math.min(first[k] or math.huge, rec.t)
        last[k] = math.max(last[k] or -math.huge, rec.t)
      end
    end
    local a, b = box.all_customers[opt.partner_customers + 1], box.all_customers[opt.partner_customers + 2]
    if last[a] and last[b] then
      local early, late = a, b
      if last[a] > last[b] then early, late = b, a end
      local n = 0
      for _, rec in ipairs(box:log()) do
        if rec.op == "hardware" and rec.customerId == late and rec.t and rec.t > last[early] then
          n = n + 1
        end
      end
      local span = last[late] - last[early]
      run.alone = { requests = n, seconds = span, rate = span > 0 and n / span or nil }
    end
  end
  return run
end

local function overload_phase(box)
  local lat = opt.overload_latency / 1000
  box:set { latency = lat, token_latency = 0, rate_limit = 0 }
  local want_rows = opt.overload_pages * opt.page_size
  say(format("\n== overload: %d pages of %d rows behind nginx (TLS, HTTP/2, limit_req %g r/s burst %d,"
    .. " 503), %g ms latency, cxcloud defaults", opt.overload_pages, opt.page_size, opt.overload_rate,
    opt.overload_burst, opt.overload_latency))
  local runs = {}
  for _, count in ipairs { 1, 2 } do
    pause(1.5)
    io.stdout:write(format("  %-30s ", count == 1 and "one client" or "two clients at once"))
    io.stdout:flush()
    local run = overload_run(box, count, want_rows)
    local walls = {}
    for _, r in ipairs(run.clients) do walls[#walls + 1] = fmt_num(r.wall) end
    run.wall = 0
    for _, r in ipairs(run.clients) do run.wall = math.max(run.wall, r.wall or run.elapsed) end
    say(format("wall %s s  (bound %.1f s, %.2fx)  gateway requests %d  shed 503 %d%s", concat(walls, " / "),
      run.bound, run.wall / run.bound, run.gateway_requests, run.shed, run.alone
        and format("  alone: %d requests in %.1f s", run.alone.requests, run.alone.seconds) or ""))
    runs[#runs + 1] = run
  end
  return runs
end

-------------------------------------------------------------------------------
-- main

local mach = machine()
say(format("bench: %s CPUs (%s), %s RAM, %s", mach.nproc, mach.cpu, mach.ram, mach.os))
local hardware = { opt.rows, opt.cpu_rows[2], phase("memory") and opt.mem_rows or 10 }
local sb_opts = {
  seed = 1, customers = 3, hardware = hardware, rate_limit = opt.rate_limit,
  throttle_status = 403, http2 = opt.http2, rate_burst = opt.rate_burst, max_rows = 1000, log_limit = 200000,
}
if phase("throughput") or phase("cpu") or phase("memory") then
  sb = sandbox.start(sb_opts)
  say(format("bench: sandbox on port %s (HTTP/%s)", tostring(sb.port),
    opt.http2 and "2 offered" or "1.1"))
end
-- partner scale and overload: customers 1..P of P pages each, then two of the overload size
local scale_sb
if phase("partner") or phase("overload") then
  local hw = {}
  for i = 1, opt.partner_customers do hw[i] = opt.partner_pages * opt.page_size end
  hw[opt.partner_customers + 1] = opt.overload_pages * opt.page_size
  hw[opt.partner_customers + 2] = opt.overload_pages * opt.page_size
  scale_sb = sandbox.start { seed = 2, customers = opt.partner_customers + 2, hardware = hw,
    rate_limit = opt.rate_limit, throttle_status = 403, http2 = opt.http2, rate_burst = opt.rate_burst,
    max_rows = 1000, log_limit = 200000 }
  say(format("bench: partner/overload sandbox on port %s", tostring(scale_sb.port)))
end
local have_nginx = true
if phase("overload") and not nginx.available() then
  have_nginx = apt_install("nginx-light") and nginx.available()
  if not have_nginx then note("overload rows skipped: nginx (Debian nginx-light) is not available") end
end

local ok_run, perr = pcall(function()
  local started = os.date("!%Y-%m-%d %H:%M UTC")
  local tp, cpu, cpu_small, cpu_large, mem
  if phase("throughput") then tp = throughput() end
  if phase("cpu") then cpu, cpu_small, cpu_large = cpu_phase() end
  if phase("memory") then mem = memory_phase() end
  local partner, partner_rows, overload
  if phase("partner") then partner, partner_rows = partner_phase(scale_sb) end
  if phase("overload") and have_nginx then overload = overload_phase(scale_sb) end
  -- what bench/store.lua and bench/pages.lua borrow
  local B = {
    opt = opt, say = say, note = note, out = out, md_table = md_table, fmt_num = fmt_num,
    sh_quote = sh_quote, read_file = read_file, capture = capture, apt_install = apt_install, TMP = TMP,
    TIME = TIME, LUA = LUA, PY = PY, ROOT = ROOT, BENCH = BENCH, LUA_PATH = LUA_PATH, LUA_CPATH = LUA_CPATH,
    sandbox = sandbox, core = core, available = available, workload = workload, run_client = run_client,
    run_checked = run_checked, decode_costs = decode_costs, client_job = client_job,
    job_result = job_result, sandbox_view = sandbox_view, report_failure = report_failure,
    fail = function() failures = failures + 1 end,
  }
  local store_report, pages_report
  if phase("store") then store_report = dofile(BENCH .. "/store.lua")(B)() end
  if phase("pages") then pages_report = dofile(BENCH .. "/pages.lua")(B)() end

  -- report
  out("# cxcloud benchmark")
  out("")
  out(format("Run %s with `lua5.4 bench/run.lua%s%s`.", started, #arg > 0 and " " or "", concat(arg, " ")))
  out("")
  out(format("- Machine: %s CPUs, %s, %s RAM; %s, Linux %s", mach.nproc, mach.cpu, mach.ram, mach.os,
    mach.kernel))
  out(format("- cxcloud: %s", versions.cxcloud))
  for _, k in ipairs { "python", "node", "curl" } do
    if versions[k] then out(format("- %s", versions[k])) end
  end
  out(format("- Sandbox: `cxcloud.sandbox` in a thread of the benchmark's process, HTTP/%s, gateway-style"
    .. " throttling (403 + `X-Mashery-Error-Code: ERR_403_DEVELOPER_OVER_QPS`, bucket of %g),"
    .. " token endpoint latency %g ms", opt.http2 and "2 offered" or "1.1", opt.rate_burst or 2,
    opt.token_latency))
  out("- Each client is a separate process; wall, CPU (user+sys) and peak RSS from `/usr/bin/time`;"
    .. " throttled responses and handshakes from the sandbox's counters for that run.")
  out("")
  if tp then
    local pages = math.ceil(opt.rows / opt.page_size)
    out(format("## Pulling %d hardware rows (%d pages of %d) at %g requests/s", opt.rows, pages,
      opt.page_size, opt.rate_limit))
    out("")
    out("Lower bound = max(pages / rate_limit, pages x latency / concurrency), with the concurrency"
      .. " the client used (1 for the sequential clients).")
    out("")
    local rows = {}
    for _, r in ipairs(tp) do
      rows[#rows + 1] = {
        r.client.name, format("%d ms", math.floor(r.latency * 1000 + 0.5)),
        r.ok and fmt_num(r.wall) or ("FAILED: " .. (r.why or "?")), fmt_num(r.cpu), fmt_num(r.rss, "%.1f"),
        tostring(r.throttled or "-"), tostring(r.api_requests or "-"), tostring(r.handshakes or "-"),
        tostring(r.concurrency), fmt_num(r.ratio, "%.2fx"), fmt_num(r.bound, "%.1f"),
        r.ok and fmt_num(r.wall / r.bound, "%.2fx") or "-",
      }
    end
    out(md_table({ "client", "latency", "wall s", "CPU s", "peak RSS MiB", "throttled", "requests",
      "TLS handshakes", "concurrency", "wall / cxcloud", "lower bound s", "wall / bound" }, rows,
      "lrrrrrrrrrrr"))
    out("")
  end
  if cpu then
    out(format("## Client CPU per 10,000 rows (no latency, no rate limit, pages of %d)", opt.page_size))
    out("")
    out(format("CPU (user+sys) of the client process only, best of %d. Per 10,000 rows = CPU of the %d-row"
      .. " pull / %g; marginal = (CPU(%d rows) - CPU(%d rows)) / %g, i.e. without start-up.",
      opt.cpu_repeat, cpu_large, cpu_large / 10000, cpu_large, cpu_small, (cpu_large - cpu_small) / 10000))
    out("")
    local rows = {}
    local py
    for _, row in ipairs(cpu) do
      if row.client.id == "python" then py = row end
    end
    for _, row in ipairs(cpu) do
      local a, b = row[1], row[2]
      rows[#rows + 1] = {
        row.client.name, fmt_num(a and a.cpu), fmt_num(b and b.cpu), fmt_num(b and b.wall),
        fmt_num(b and b.rss, "%.1f"), fmt_num(row.per10k, "%.3f"), fmt_num(row.marginal, "%.3f"),
        fmt_num(row.fixed, "%.3f"),
        (py and py.per10k and row.per10k) and format("%.2fx", row.per10k / py.per10k) or "-",
      }
    end
    out(md_table({ "client", format("CPU s, %d rows", cpu_small), format("CPU s, %d rows", cpu_large),
      format("wall s, %d rows", cpu_large), "peak RSS MiB", "CPU s / 10,000 rows", "marginal s / 10,000 rows",
      "start-up CPU s", "vs Python" }, rows, "lrrrrrrrr"))
    out("")
    local dc = cpu.decode
    if dc then
      out(format("JSON decode alone, same %d-row page (%.0f KiB) decoded over and over, per 10,000 rows:"
        .. " cxcloud `core.decode` %.3f s, Python `json.loads` %s s.", opt.page_size, dc.bytes / 1024,
        dc.cxcloud, fmt_num(dc.python, "%.3f")))
      out("")
    end
  end
  if mem then
    out(format("## Memory: cxcloud pulling up to %d rows (pages of %d, defaults, no rate limit)",
      opt.mem_rows, mem.page_size))
    out("")
    out("The client only counts the rows and checks that `hwInstanceId` strictly increases (no duplicates"
      .. " without keeping a set). A window is the pages a query holds at once: up to `concurrency` (10)"
      .. " pages in flight or received, each decoded as soon as it arrives.")
    out("")
    local rows = {}
    for _, m in ipairs(mem.runs) do
      local r = m.r
      rows[#rows + 1] = { format("%d rows (%s)", m.rows, m.label), fmt_num(r.rss, "%.1f"),
        fmt_num(r.wall), fmt_num(r.cpu), r.ok and "ok" or ("FAILED: " .. (r.why or "?")) }
    end
    out(md_table({ "pull", "peak RSS MiB", "wall s", "CPU s", "check" }, rows, "lrrrl"))
    out("")
    local big = mem.big and mem.big.r
    if big and #big.rss_samples > 0 then
      local t = {}
      for _, x in ipairs(big.rss_samples) do t[#t + 1] = format("%dk: %.1f", x.rows // 1000, x.mib) end
      out("RSS (MiB) along the largest pull, by rows read: " .. concat(t, ", ") .. ".")
      out("")
    end
  end

  if partner then
    out(format("## Partner scale: %d customers x %d pages of %d rows at %g requests/s",
      opt.partner_customers, opt.partner_pages, opt.page_size, opt.rate_limit))
    out("")
    out(format("Every customer's whole hardware list (%d rows, %d API requests). cxcloud: `cx:map(customers,"
      .. " function(id) return cx:customer(id):hardware():all() end)` with the client's defaults, and the"
      .. " same calls one customer after the other; Python: the `requests` pager, sequential and in a"
      .. " `ThreadPoolExecutor(max_workers=6)` over customers. Bound = max(requests / rate, 2 x latency)"
      .. " (a customer's first page tells how many pages follow). Rows: each client's rows compared with"
      .. " the sandbox's truth (every row exactly once). Throttled: the sandbox log's throttled answers.",
      partner_rows, opt.partner_customers * opt.partner_pages))
    out("")
    local rows = {}
    for _, r in ipairs(partner) do
      rows[#rows + 1] = {
        r.client.name, format("%d ms", math.floor(r.latency * 1000 + 0.5)),
        r.ok and fmt_num(r.wall) or ("FAILED: " .. (r.why or "?")), fmt_num(r.cpu), fmt_num(r.rss, "%.1f"),
        tostring(r.log_throttled or "-"), tostring(r.api_requests or "-"),
        r.check and r.check.missing == 0 and r.check.extra == 0 and r.check.dups == 0 and "all, once"
          or "WRONG",
        fmt_num(r.bound, "%.1f"), r.wall and fmt_num(r.wall / r.bound, "%.2fx") or "-",
      }
    end
    out(md_table({ "client", "latency", "wall s", "CPU s", "peak RSS MiB", "throttled", "requests", "rows",
      "bound s", "wall / bound" }, rows, "lrrrrrrlrr"))
    out("")
  end
  if overload then
    out(format("## Overload: %d pages behind nginx shedding with 503 at %g requests/s", opt.overload_pages,
      opt.overload_rate))
    out("")
    out(format("Debian nginx-light in front of the sandbox on loopback: TLS, HTTP/2, `limit_req` %g r/s"
      .. " (burst %d) answering 503, %g ms API latency behind it, no limit in the sandbox. Each client:"
      .. " cxcloud defaults pulling one customer of %d pages of %d rows (`bench/clients/cxcloud_pull.lua`);"
      .. " two clients: two processes at once, each its own customer, sharing the gateway's limit. Bound ="
      .. " pages through the gateway / rate. Shed: the 503s in nginx's access log; requests: what reached"
      .. " nginx (API only); per client: the 503s each client saw and how often it slowed its rate"
      .. " (`cx:stats()`); last client alone: the requests of the client that finished last after the"
      .. " other's last request, in the sandbox's log, and how long they took (the gateway allows %g/s).",
      opt.overload_rate, opt.overload_burst, opt.overload_latency,
      opt.overload_pages, opt.page_size, opt.overload_rate))
    out("")
    local rows = {}
    for _, run in ipairs(overload) do
      local walls, cpus, rsss, seen, slows, ok = {}, {}, {}, {}, {}, true
      for _, r in ipairs(run.clients) do
        seen[#seen + 1] = tostring(r.fields.overloaded or "-")
        slows[#slows + 1] = tostring(r.fields.slowdowns or "-")
        walls[#walls + 1] = r.ok and fmt_num(r.wall) or ("FAILED: " .. (r.why or "?"))
        cpus[#cpus + 1] = fmt_num(r.cpu)
        rsss[#rsss + 1] = fmt_num(r.rss, "%.1f")
        ok = ok and r.ok
      end
      rows[#rows + 1] = { run.count == 1 and "one client" or "two clients at once", concat(walls, " / "),
        concat(cpus, " / "), concat(rsss, " / "), tostring(run.gateway_requests), tostring(run.shed),
        concat(seen, " / "), concat(slows, " / "),
        run.alone and format("%d in %.1f s (%s/s)", run.alone.requests, run.alone.seconds,
          fmt_num(run.alone.rate, "%.1f")) or "-",
        fmt_num(run.bound, "%.1f"), ok and fmt_num(run.wall / run.bound, "%.2fx") or "-" }
    end
    out(md_table({ "run", "wall s", "CPU s", "peak RSS MiB", "requests", "shed (503)", "503 per client",
      "slowdowns", "last client alone", "bound s", "wall / bound" }, rows, "lrrrrrrrrrr"))
    out("")
  end

  local store_goals = store_report and store_report() or {}
  local pages_goals = pages_report and pages_report() or {}

  -- goals
  out("## Goals")
  out("")
  local function verdict(b) return b and "**met**" or "**missed**" end
  if tp then
    for _, ms in ipairs(opt.latencies) do
      local ref, py
      for _, r in ipairs(tp) do
        if math.floor(r.latency * 1000 + 0.5) == ms then
          if r.client.id == "cxcloud" then ref = r elseif r.client.id == "python" then py = r end
        end
      end
      if ref and ref.ok then
        local q = ref.wall / ref.bound
        out(format("- %g ms: cxcloud defaults %.2f s vs lower bound %.1f s = %.2fx (goal <= 1.2x): %s", ms,
          ref.wall, ref.bound, q, verdict(q <= 1.2)))
        out(format("- %g ms: throttled responses at default settings: %d (goal 0): %s", ms, ref.throttled,
          verdict(ref.throttled == 0)))
        if py and py.ok then
          out(format("- %g ms: Python requests / cxcloud = %.2fx (expected about %s)", ms, py.wall / ref.wall,
            ms == 200 and "2x" or ms == 1000 and "8x" or format("%gx", py.bound / ref.bound)))
        end
      else
        out(format("- %g ms: the cxcloud defaults run failed", ms))
      end
    end
  end
  if cpu then
    local cx, py
    for _, row in ipairs(cpu) do
      if row.client.id == "cxcloud" then cx = row elseif row.client.id == "python" then py = row end
    end
    if cx and py and cx.per10k and py.per10k then
      out(format("- CPU per 10,000 rows: cxcloud %.3f s vs Python %.3f s = %.2fx (goal <= 0.5x): %s;"
        .. " marginal %.3f s vs %.3f s = %.2fx", cx.per10k, py.per10k, cx.per10k / py.per10k,
        verdict(cx.per10k <= 0.5 * py.per10k), cx.marginal, py.marginal, cx.marginal / py.marginal))
    end
  end
  if mem and mem.big and mem.big.r.rss then
    local runs = mem.runs
    local one, small, mid, big = runs[1].r, runs[2].r, runs[3].r, runs[4].r
    if mid.rss then
      local g = big.rss - mid.rss
      out(format("- Memory: peak RSS %.1f MiB for %d rows vs %.1f MiB for %d rows (both past one window):"
        .. " growth %.1f MiB (goal: a few MiB, taken as <= 5 MiB): %s", big.rss, runs[4].rows, mid.rss,
        runs[3].rows, g, verdict(g <= 5)))
    end
    if small.rss and one.rss then
      out(format("- Memory against small pulls: %d rows %.1f MiB, one page %.1f MiB; %d rows is %.1f MiB"
        .. " above the %d-row pull", runs[2].rows, small.rss, one.rss, runs[4].rows, big.rss - small.rss,
        runs[2].rows))
    end
  end
  if partner then
    for _, ms in ipairs(opt.latencies) do
      local m
      for _, r in ipairs(partner) do
        if r.client.id == "map" and math.floor(r.latency * 1000 + 0.5) == ms then m = r end
      end
      if m and m.ok then
        local q = m.wall / m.bound
        out(format("- Partner scale, %g ms: cx:map %.2f s vs bound %.1f s = %.2fx (goal <= 1.2x): %s;"
          .. " throttled %d (goal 0): %s", ms, m.wall, m.bound, q, verdict(q <= 1.2), m.log_throttled,
          verdict(m.log_throttled == 0)))
      elseif m then
        out(format("- Partner scale, %g ms: the cx:map run failed (%s)", ms, m.why or "?"))
      end
    end
  end
  if overload then
    for _, run in ipairs(overload) do
      local ok = true
      for _, r in ipairs(run.clients) do ok = ok and r.ok end
      if ok then
        local q = run.wall / run.bound
        out(format("- Overload, %s: %.2f s vs bound %.1f s = %.2fx (goal <= 1.3x): %s; %d of %d answers shed",
          run.count == 1 and "one client" or "two clients at once", run.wall, run.bound, q,
          verdict(q <= 1.3), run.shed, run.gateway_requests))
      else
        out(format("- Overload, %d clients: a client failed", run.count))
      end
    end
  end
  for _, g in ipairs(store_goals) do out(g) end
  for _, g in ipairs(pages_goals) do out(g) end
  if #notes > 0 then
    out("")
    out("## Notes")
    out("")
    for _, n in ipairs(notes) do out("- " .. n) end
  end
end)

if sb then sb:stop() end
if scale_sb then scale_sb:stop() end
os.execute("rm -rf " .. sh_quote(TMP))
if not ok_run then
  io.stderr:write("bench: ", tostring(perr), "\n")
  os.exit(1)
end
local text = concat(report, "\n") .. "\n"
say("\n" .. text)
os.execute("mkdir -p " .. sh_quote((opt.out:match("^(.*)/[^/]*$") or ".")))
write_file(opt.out, text)
say("bench: report written to " .. opt.out)
os.exit(failures == 0 and 0 or 1)
