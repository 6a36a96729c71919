--- Benchmark client: a partner's pull, every customer's whole list of one or more operations,
-- with cxcloud.
--
-- Run as its own process by bench/run.lua (`--partner`, `--pages`). Connection details come
-- from the CXCLOUD_* environment variables (`sb:env()`), the rest from BENCH_*:
--
--   BENCH_CUSTOMERS    customerIds, comma-separated (required)
--   BENCH_OPERATIONS   operation names, comma-separated (default "hardware"); an operation
--                      without a required customerId (customers, the bulletins) is pulled
--                      once, for all customers
--   BENCH_MODE         "map" (default): `cx:map` over the pairs (operation, customer), the
--                      operations pulled once first, then customer after customer, client
--                      defaults; "loop": the same pairs one after the other in a `for` loop
--   BENCH_PAGE_SIZE    the client option page_size (a number, or "auto"; default: the
--                      client's)
--   BENCH_MAX_BODY_SIZE  the client option max_body_size (default: the client's)
--   BENCH_KEEP         "1" (default): keep every pair's rows until the end (what `all()`
--                      returns, as a partner's script holds them); "0": drop each pair's rows
--                      once listed (peak RSS is then the pull's, not the rows')
--   BENCH_IDS_FILE     where to write one `operation<TAB>customerId<TAB>key` line per row read
--                      (bench/workload.lua compares them with the sandbox's truth)
--
-- Prints one line: `RESULT rows=N dups=0 failed=F requests=R calls=C throttled=T ...`
-- (calls: `cx:quota().calls`, the API calls this client counted; duplicates are found by
-- the check of the ids file).

local cxcloud = require "cxcloud"
local operations = require "cxcloud.operations"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function list(s)
  local t = {}
  for x in s:gmatch("[^,]+") do t[#t + 1] = x end
  return t
end

local customers = list(assert(env("BENCH_CUSTOMERS"), "BENCH_CUSTOMERS is not set"))
local op_names = list(env("BENCH_OPERATIONS", "hardware"))
local mode = env("BENCH_MODE", "map")
assert(mode == "map" or mode == "loop", "BENCH_MODE: map or loop, got " .. mode)
local keep = env("BENCH_KEEP", "1") ~= "0"
local ids_file = env("BENCH_IDS_FILE")

local opts = {}
local page_size = env("BENCH_PAGE_SIZE")
if page_size then opts.page_size = math.tointeger(tonumber(page_size)) or page_size end
local max_body = env("BENCH_MAX_BODY_SIZE")
if max_body then opts.max_body_size = math.tointeger(tonumber(max_body)) end

-- the pairs, as bench/workload.lua lists them (its truth is what the rows are checked against)
local by_name = {}
for _, op in ipairs(operations) do by_name[op.name] = op end
local ops = {}
for _, op in ipairs(operations) do
  for _, n in ipairs(op_names) do
    if n == op.name then ops[#ops + 1] = op end
  end
end
for _, n in ipairs(op_names) do assert(by_name[n], "no operation " .. n) end
local pairs_list = {}
for _, op in ipairs(ops) do
  if op.customer_id ~= "required" then pairs_list[#pairs_list + 1] = { op = op, customer = "" } end
end
for _, id in ipairs(customers) do
  for _, op in ipairs(ops) do
    if op.customer_id == "required" then pairs_list[#pairs_list + 1] = { op = op, customer = id } end
  end
end

local function key(op, item)
  local parts = {}
  for i, f in ipairs(op.key) do
    local v = item[f]
    parts[i] = v == nil and "" or tostring(v)
  end
  return table.concat(parts, "|")
end

local cx <close> = cxcloud.new(opts)
local out = ids_file and assert(io.open(ids_file, "wb"))
local rows = 0

-- lists a pair's rows in the ids file as soon as it is read
local function account(p, items)
  local prefix = p.op.name .. "\t" .. p.customer .. "\t"
  rows = rows + #items
  if out then
    for _, item in ipairs(items) do out:write(prefix, key(p.op, item), "\n") end
  end
end

local function pull(p)
  local q
  if p.customer == "" then
    q = cx[p.op.name](cx)
  else
    local v = cx:customer(p.customer)
    q = v[p.op.name](v)
  end
  local items, err = q:all()
  if not items then error(err, 0) end
  account(p, items)
  return keep and items or true
end

local results, errs = {}, nil
local ok, err = pcall(function()
  if mode == "map" then
    results, errs = cx:map(pairs_list, pull)
  else
    for i, p in ipairs(pairs_list) do
      local fine, res = pcall(pull, p)
      if fine then results[i] = res
      else
        errs = errs or {}
        errs[i] = res
      end
    end
  end
end)

local failed = 0
for i, p in ipairs(pairs_list) do
  if not results[i] then
    failed = failed + 1
    io.stderr:write(p.op.name, " of ", p.customer, " failed: ", tostring(errs and errs[i] or "no result"),
      "\n")
  end
end
if out then out:close() end
if not ok then io.stderr:write("cxcloud pull failed: ", tostring(err), "\n") end
local st = cx:stats()
print(string.format("RESULT rows=%d dups=0 failed=%d requests=%d calls=%d throttled=%d overloaded=%d"
  .. " retries=%d connects=%d concurrency=%d", rows, failed, st.requests or 0, cx:quota().calls,
  st.throttled or 0, st.overloaded or 0, st.retries or 0, st.connects or 0, st.concurrency or 0))
os.exit((ok and failed == 0) and 0 or 1)
