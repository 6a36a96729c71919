--- Benchmark client: a partner's pull, every customer's whole hardware list, with cxcloud.
--
-- Run as its own process by bench/run.lua (`--partner`). Connection details come from the
-- CXCLOUD_* environment variables (`sb:env()`), the rest from BENCH_*:
--
--   BENCH_CUSTOMERS    customerIds, comma-separated (required)
--   BENCH_MODE         "map" (default): `cx:map` over the customers, client defaults;
--                      "loop": one customer after the other in a plain `for` loop
--   BENCH_IDS_FILE     where to write one `customerId<TAB>hwInstanceId` line per row read
--                      (run.lua compares them with the sandbox's truth)
--
-- Prints one line: `RESULT rows=N dups=D requests=R throttled=T ...`.

local cxcloud = require "cxcloud"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local customers = {}
for id in assert(env("BENCH_CUSTOMERS"), "BENCH_CUSTOMERS is not set"):gmatch("[^,]+") do
  customers[#customers + 1] = id
end
local mode = env("BENCH_MODE", "map")
assert(mode == "map" or mode == "loop", "BENCH_MODE: map or loop, got " .. mode)
local ids_file = env("BENCH_IDS_FILE")

local cx <close> = cxcloud.new()

local function pull(id)
  return cx:customer(id):hardware():all()
end

local results, errs = {}, nil
local ok, err = pcall(function()
  if mode == "map" then
    results, errs = cx:map(customers, pull)
  else
    for i, id in ipairs(customers) do
      local items, e = pull(id)
      results[i] = items
      if not items then
        errs = errs or {}
        errs[i] = e
      end
    end
  end
end)

local rows, dups, failed = 0, 0, 0
local seen = {}
local out = ids_file and assert(io.open(ids_file, "wb"))
for i, id in ipairs(customers) do
  local items = results[i]
  if type(items) ~= "table" then
    failed = failed + 1
    io.stderr:write("customer ", id, " failed: ", tostring(errs and errs[i] or "no result"), "\n")
  else
    for _, item in ipairs(items) do
      rows = rows + 1
      local key = id .. "\t" .. tostring(item.hwInstanceId)
      if seen[key] then dups = dups + 1 else seen[key] = true end
      if out then out:write(key, "\n") end
    end
  end
end
if out then out:close() end
if not ok then io.stderr:write("cxcloud pull failed: ", tostring(err), "\n") end
local st = cx:stats()
print(string.format("RESULT rows=%d dups=%d failed=%d requests=%d throttled=%d overloaded=%d"
  .. " retries=%d connects=%d concurrency=%d", rows, dups, failed, st.requests or 0,
  st.throttled or 0, st.overloaded or 0, st.retries or 0, st.connects or 0, st.concurrency or 0))
os.exit((ok and failed == 0) and 0 or 1)
