--- Benchmark client: one `db:sync` into a store, with the client options the command line
-- cannot set (the apply-speed and memory rows of `bench/run.lua --store` turn the client's
-- rate limit off). Connection details come from CXCLOUD_* (`sb:env()`), the rest from BENCH_*:
--
--   BENCH_DB           the store: a file path (SQLite) or a postgresql:// URI (required)
--   BENCH_CUSTOMERS    customerIds, comma-separated (default: every customer)
--   BENCH_OPERATIONS   method names, comma-separated (default: every operation)
--   BENCH_RATE_LIMIT   the client's rate_limit (default: the client's, 10)
--
-- Prints one line: `RESULT run=N status=S calls=C rows=R added=A changed=C removed=R
-- baseline=B sync_s=T` (sync_s: db:sync alone, without start-up and open).

local cxcloud = require "cxcloud"
local store = require "cxcloud.store"
local core = require "cxcloud.core"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function list(name)
  local v = env(name)
  if not v then return nil end
  local t = {}
  for x in v:gmatch("[^,]+") do t[#t + 1] = x end
  return t
end

local opts = {}
if env("BENCH_RATE_LIMIT") then opts.rate_limit = tonumber(env("BENCH_RATE_LIMIT")) end
local cx = cxcloud.new(opts)
local db = assert(store.open(assert(env("BENCH_DB"), "BENCH_DB is not set")))
local t0 = core.now()
local run, err = db:sync(cx, { customers = list("BENCH_CUSTOMERS"), operations = list("BENCH_OPERATIONS") })
local dt = core.now() - t0
cx:close()
db:close()
if not run then
  io.stderr:write("sync failed: ", tostring(err), "\n")
  os.exit(1)
end
print(string.format("RESULT run=%d status=%s calls=%d rows=%d added=%d changed=%d removed=%d baseline=%d"
  .. " sync_s=%.3f", run.run, run.status, run.calls, run.rows, run.added, run.changed, run.removed,
  run.baseline, dt))
io.stdout:flush()
os.exit(run.status == "complete" and 0 or 1)
