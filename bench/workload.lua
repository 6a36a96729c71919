--- Workloads shared by the parts of the benchmark (bench/run.lua, bench/store.lua,
-- bench/pages.lua): the partner sandbox of many customers x every operation, the pairs
-- (operation, customer) a partner pulls, what the sandbox holds for them (its truth), and the
-- check of what a client read against it.
--
-- A client that checks its rows writes one line per row read to BENCH_IDS_FILE:
-- `operation<TAB>customerId<TAB>key`, customerId "" for the operations pulled once for all
-- customers, key the operation's natural key (`cxcloud.operations` `key`) as its fields'
-- values joined with "|", an absent field as "" (bench/clients/cxcloud_partner.lua,
-- bench/clients/requests_partner.py).

local operations = require "cxcloud.operations"

local format, concat = string.format, table.concat

local M = {}

--- Hardware rows per customer: n customers spread quadratically over lo..hi rows (many small
-- customers, a few large). Returns the list and its sum.
function M.spread(n, lo, hi)
  local hw, total = {}, 0
  for i = 1, n do
    hw[i] = math.floor(lo + (hi - lo) * ((i - 1) / math.max(1, n - 1)) ^ 2 + 0.5)
    total = total + hw[i]
  end
  return hw, total
end

--- The sandbox options of a partner's account: `n` customers, hardware spread over lo..hi
-- rows (`spread`), every other operation following from the hardware (seed 3: the store's
-- partner sync and the fewest-calls part pull the same data). `extra` adds or overrides
-- options (rate limit, latency, max_rows...). Returns the options and the hardware rows in all.
function M.partner_sandbox(n, lo, hi, extra)
  local hw, total = M.spread(n, lo, hi)
  local o = { seed = 3, customers = n, hardware = hw, throttle_status = 403, log_limit = 200000 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o, total
end

local BY_NAME = {}
for _, op in ipairs(operations) do BY_NAME[op.name] = op end

--- The operations named in `names` (default: every operation), in the API's order.
function M.operations(names)
  if not names then return operations end
  local want = {}
  for _, n in ipairs(names) do
    want[assert(BY_NAME[n], "no operation " .. tostring(n))] = true
  end
  local list = {}
  for _, op in ipairs(operations) do
    if want[op] then list[#list + 1] = op end
  end
  return list
end

local function global(op) return op.customer_id ~= "required" end

--- BENCH_OPERATIONS for the Python scripts: `name:path:scope` per operation (scope "customer"
-- or "global"), `:key+key` appended when `keys` is true.
function M.python_operations(names, keys)
  local t = {}
  for _, op in ipairs(M.operations(names)) do
    t[#t + 1] = format("%s:%s:%s%s", op.name, op.path, global(op) and "global" or "customer",
      keys and ":" .. concat(op.key, "+") or "")
  end
  return concat(t, ",")
end

--- The pairs a partner pulls: every global operation once (customer ""), then every customer's
-- operations, customer after customer: `{op = <operation>, customer = id}`.
function M.pairs(customers, names)
  local ops, list = M.operations(names), {}
  for _, op in ipairs(ops) do
    if global(op) then list[#list + 1] = { op = op, customer = "" } end
  end
  for _, id in ipairs(customers) do
    for _, op in ipairs(ops) do
      if not global(op) then list[#list + 1] = { op = op, customer = id } end
    end
  end
  return list
end

--- An item's natural key as the ids files write it.
function M.key(op, item)
  local parts = {}
  for i, f in ipairs(op.key) do
    local v = item[f]
    parts[i] = v == nil and "" or tostring(v)
  end
  return concat(parts, "|")
end

--- What the sandbox `box` serves for the pairs of `customers` x `names` (default every
-- operation): `want` (ids-file line -> how many times), `n` (rows in all) and `pairs` (each
-- with `rows`, its row count).
function M.truth(box, customers, names)
  local want, n = {}, 0
  local list = M.pairs(customers, names)
  for _, p in ipairs(list) do
    local items = box:truth(p.op.name, p.customer ~= "" and p.customer or nil)
    p.rows = #items
    for _, item in ipairs(items) do
      local line = p.op.name .. "\t" .. p.customer .. "\t" .. M.key(p.op, item)
      want[line] = (want[line] or 0) + 1
      n = n + 1
    end
  end
  return want, n, list
end

--- The fewest calls that read `pairs` (from `truth`) when a page holds at most `largest` rows:
-- one call per page, and one for a pair with no rows (its answer tells it is empty).
function M.fewest_calls(pairs_list, largest)
  local calls = 0
  for _, p in ipairs(pairs_list) do calls = calls + math.max(1, math.ceil(p.rows / largest)) end
  return calls
end

--- Compares the ids file a client wrote with the truth (`want`, `n` from `truth`): every row
-- exactly once. Sets r.check = {lines, missing, extra, dups}, and r.why when they are not 0
-- (on a run that succeeded). Removes the file.
function M.check_ids(r, path, want, n)
  local seen, lines, extra, dups, matched = {}, 0, 0, 0, 0
  local f = io.open(path, "rb")
  if f then
    for line in f:lines() do
      lines = lines + 1
      local w = want[line]
      if not w then extra = extra + 1
      elseif (seen[line] or 0) >= w then dups = dups + 1
      else
        seen[line] = (seen[line] or 0) + 1
        matched = matched + 1
      end
    end
    f:close()
  end
  local missing = n - matched
  r.check = { lines = lines, missing = missing, extra = extra, dups = dups }
  if r.ok and not r.why and (missing ~= 0 or extra ~= 0 or dups ~= 0) then
    r.why = format("rows against the truth: %d missing, %d not served, %d twice", missing, extra, dups)
  end
  os.remove(path)
end

return M
