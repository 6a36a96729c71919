-- The JSON decoder alone, per 10,000 rows: cxcloud's decoder (identifier fields as strings,
-- as a client decodes pages) against lua-cjson's decode and, when python3 is there,
-- Python's json.loads, over the same page of hardware rows written exactly as the sandbox
-- writes it (ID fields as number literals). Best of N runs, CPU time (os.clock).
--
--   make && lua5.4 bench/decode.lua [rows [runs]]    (LUA_PATH/LUA_CPATH as for the specs)
--   BENCH_DECODE_FILE=page.json: also write the page there (for perf or callgrind)

local core = require "cxcloud.core"
local cjson = require "cjson"
local operations = require "cxcloud.operations"
local config = require "cxcloud.sandbox.config"
local data = require "cxcloud.sandbox.data"
local ops = require "cxcloud.sandbox.ops"
local query = require "cxcloud.sandbox.query"
local json = require "cxcloud.sandbox.json"

local format = string.format
local rows = math.tointeger(tonumber(arg[1] or "")) or 10000
local runs = math.tointeger(tonumber(arg[2] or "")) or 15

-- one page of the first customer's hardware, as the sandbox's server writes it
local function page(n)
  local ds = data.new(config.normalize { seed = 5, customers = 1, hardware = n })
  local op = ops.by_name.hardware
  local q = assert(query.parse(ds, op, { customerId = ds:customer_ids()[1], page = 1, rows = n }))
  local res = query.result(ds, op, q)
  local enc = json.row_encoder(op, q.fields)
  local buf = {}
  for p = 0, math.min(res.total, n) - 1 do buf[#buf + 1] = enc(res.row(p)) end
  return '{"data":[' .. table.concat(buf, ",") .. "]," .. json.pagination(1, 1, n, res.total) .. "}",
    #buf
end

-- best CPU seconds of one call of f over `runs` runs (a full collection before each)
local function best(f)
  local b = math.huge
  f()
  for _ = 1, runs do
    collectgarbage()
    local t0 = os.clock()
    f()
    b = math.min(b, os.clock() - t0)
  end
  return b
end

local body, n = page(rows)
local per = 10000 / n
local decode = core.decoder(operations.identifiers)
local check = assert(decode(body, 64, math.huge))
assert(#check.data == n and type(check.data[1].customerId) ~= "number", "decoded page")
print(format("page: %d rows, %.2f MiB of JSON; best of %d, CPU s per 10,000 rows", n, #body / 1048576, runs))
local t_cx = best(function() return decode(body, 64, math.huge) end)
local t_cj = best(function() return cjson.decode(body) end)
print(format("  cxcloud decoder  %.4f", t_cx * per))
print(format("  lua-cjson decode %.4f  (cxcloud / cjson %.2f)", t_cj * per, t_cx / t_cj))

local path = os.getenv("BENCH_DECODE_FILE")
local keep = path ~= nil
path = path or os.tmpname()
local f = assert(io.open(path, "wb"))
f:write(body)
f:close()
local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local py = io.popen(format("python3 -c %s %s 2>/dev/null", sh_quote("import json, sys, time\n"
  .. "b = open(sys.argv[1], 'rb').read()\n"
  .. "json.loads(b)\n"
  .. "best = 1e9\n"
  .. "for _ in range(" .. runs .. "):\n"
  .. "    t = time.process_time(); json.loads(b); best = min(best, time.process_time() - t)\n"
  .. "print(best)"), sh_quote(path)))
local t_py = py and tonumber(py:read("a"))
if py then py:close() end
if not keep then os.remove(path) end
if t_py then
  print(format("  Python json.loads %.4f  (cxcloud / Python %.2f)", t_py * per, t_cx / t_py))
end
