--- Benchmark client: pulls one customer's whole hardware list with cxcloud.
--
-- Run as its own process by bench/run.lua. Connection details come from the
-- CXCLOUD_* environment variables (`sb:env()`), the rest from BENCH_*:
--
--   BENCH_CUSTOMER     customerId (required)
--   BENCH_PAGE_SIZE    rows per page, the query option page_size (default: the client's);
--                      "auto": the client option page_size = "auto" instead
--   BENCH_MAX_BODY_SIZE, BENCH_MAX_DECODED_SIZE  the client options max_body_size and
--                      max_decoded_size (default: the client's)
--   BENCH_CONCURRENCY  fixed concurrency (default: automatic)
--   BENCH_RATE_LIMIT   client-side rate limit in requests/s (default: the client's, 10)
--   BENCH_CHECK        "set" (default): count distinct hwInstanceId values in a table;
--                      "order": check that hwInstanceId strictly increases (O(1) memory,
--                      for the memory check, where a set would be what is measured)
--   BENCH_RSS_EVERY    print VmRSS every N rows on stderr (0 = never)
--   BENCH_MAX_ITEMS    stop after N rows (the query option max_items)
--   BENCH_PREFETCH     the client option prefetch (default: the client's, 0)
--   BENCH_GC           "generational" or "incremental": this process's GC mode (experiments)
--
-- Prints one line: `RESULT rows=N dups=D concurrency=C requests=R calls=Q throttled=T overloaded=O
-- slowdowns=S ...` (calls: `cx:quota().calls`, the API calls the client counted).

local cxcloud = require "cxcloud"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function vmrss_kib()
  local f = io.open("/proc/self/status", "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local opts = {}
local conc = env("BENCH_CONCURRENCY")
if conc then opts.concurrency = math.tointeger(tonumber(conc)) end
local rate = env("BENCH_RATE_LIMIT")
if rate then opts.rate_limit = tonumber(rate) end
local prefetch = env("BENCH_PREFETCH")
if prefetch then opts.prefetch = math.tointeger(tonumber(prefetch)) end
local gc = env("BENCH_GC")
if gc then collectgarbage(gc) end
local max_items = env("BENCH_MAX_ITEMS")
local page_size = env("BENCH_PAGE_SIZE")
if page_size == "auto" then
  opts.page_size, page_size = "auto", nil
end
local max_body = env("BENCH_MAX_BODY_SIZE")
if max_body then opts.max_body_size = math.tointeger(tonumber(max_body)) end
local max_decoded = env("BENCH_MAX_DECODED_SIZE")
if max_decoded then opts.max_decoded_size = math.tointeger(tonumber(max_decoded)) end
local customer = assert(env("BENCH_CUSTOMER"), "BENCH_CUSTOMER is not set")
local check = env("BENCH_CHECK", "set")
local rss_every = math.tointeger(tonumber(env("BENCH_RSS_EVERY", "0"))) or 0

local cx <close> = cxcloud.new(opts)
local q = cx:hardware { customerId = customer, page_size = page_size and math.tointeger(tonumber(page_size)),
  max_items = max_items and math.tointeger(tonumber(max_items)) }

local rows, dups, last = 0, 0, nil
local seen = {}
local ok, err = pcall(function()
  for item in q do
    rows = rows + 1
    local id = item.hwInstanceId
    if check == "order" then
      if last and id <= last then dups = dups + 1 end
      last = id
    else
      if seen[id] then dups = dups + 1 else seen[id] = true end
    end
    if rss_every > 0 and rows % rss_every == 0 then
      io.stderr:write(string.format("RSS rows=%d kib=%d\n", rows, vmrss_kib() or -1))
    end
  end
end)
local st = cx:stats()
if not ok then
  io.stderr:write("cxcloud pull failed: ", tostring(err), "\n")
end
print(string.format("RESULT rows=%d dups=%d concurrency=%d requests=%d calls=%d throttled=%d overloaded=%d"
  .. " slowdowns=%d retries=%d connects=%d ok=%s", rows, dups, st.concurrency or 0, st.requests or 0,
  cx:quota().calls, st.throttled or 0, st.overloaded or 0, st.slowdowns or 0, st.retries or 0,
  st.connects or 0,
  tostring(ok)))
os.exit(ok and 0 or 1)
