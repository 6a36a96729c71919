--- Sandbox options: defaults, validation and normalisation.
--
-- The same normalisation runs in `sandbox.start` (the caller's thread), in the server (its
-- own thread) and in `sandbox.truth`, so that all three agree on the generated data. A bad option
-- raises an error naming the option and what is accepted.
-- @module cxcloud.sandbox.config

local config = {}

--- The largest `rows` the sandbox ever serves: the API's hard cap as we model it (a 400 above
-- it whatever `max_rows` and `rows_over_max` say).
config.ROWS_LIMIT = 10000

--- Option descriptions: default, check, and whether `set{}` may change it at run time.
-- `runtime = true` options can be changed with `sb:set{...}`.
local spec = {
  port = { default = 0, desc = "an integer 0..65535 (0 = any free port)" },
  control_port = { default = 0, desc = "an integer 0..65535 (0 = any free port)" },
  dir = { desc = "a directory path (default: a new temporary directory)" },
  seed = { default = 1, desc = "an integer" },
  customers = { default = 3, desc = "an integer 1..1000" },
  entitled = { desc = "an array of customer indexes (1..customers), default all", runtime = true },
  hardware = { default = 40, desc = "a non-negative integer, or an array of them (per customer)" },
  contracts = { default = 4, desc = "a non-negative integer, or an array of them (per customer)" },
  bulletins = { default = 40, desc = "an integer 1..10000000 (field notice and advisory bulletins)" },
  models = { default = 24, desc = "an integer 1..1000 (device models per customer)" },
  coverage = { default = 0.8, desc = "a number 0..1 (share of hardware covered by a contract)" },
  id_type = { default = "number", desc = '"number" or "string"' },
  big_ids = { default = false, desc = 'false, true (20-22 digit IDs) or "int64" (17-19 digits)' },
  ip_net = { default = 10, desc = "an integer 1..223 (first octet of device addresses; 127: loopback)" },
  today = { default = "2025-10-01", desc = 'a date "YYYY-MM-DD" (reference for EoL milestones)' },
  client_id = { desc = "a non-empty string" },
  client_secret = { desc = "a non-empty string" },
  admin_key = { desc = "a non-empty string" },
  token_lifetime = { default = 3600, desc = "a positive number of seconds", runtime = true },
  latency = { default = 0, desc = "seconds: a number >= 0 or {min, max}", runtime = true },
  token_latency = { default = 0, desc = "seconds: a number >= 0 or {min, max}", runtime = true },
  rate_limit = { default = 0, desc = "requests per second per client, >= 0 (0 = off)", runtime = true },
  rate_burst = { default = 2, desc = "a number >= 1 (token bucket size)", runtime = true },
  throttle_status = { default = 403, desc = "403 or 429", runtime = true },
  retry_after = { desc = "a string or number for Retry-After on 429 throttling", runtime = true },
  daily_quota = { default = 0, desc = "requests per client since start, >= 0 (0 = off)", runtime = true },
  max_rows = { default = config.ROWS_LIMIT, desc = "an integer 1.." .. config.ROWS_LIMIT
    .. " (the largest page served)", runtime = true },
  rows_over_max = { default = "refuse", desc = '"refuse" (400 when rows > max_rows) or "cap"'
    .. " (rows > max_rows served as rows = max_rows)", runtime = true },
  bulletins_require_customer = { default = false, desc = "a boolean", runtime = true },
  unauthenticated_status = { default = 401, desc = "401 or 403", runtime = true },
  http2 = { default = false, desc = "a boolean (offer h2 through ALPN)" },
  keepalive = { default = 60, desc = "seconds an idle connection is kept open, > 0" },
  log_limit = { default = 100000, desc = "a positive integer (request records kept)", runtime = true },
  chunk_rows = { default = 250, desc = "a positive integer (rows per chunk of an unpaged response)",
    runtime = true },
  faults = { desc = "an array of fault tables (see cxcloud.sandbox.faults)" },
  additions = { desc = "an array of {op=, customerId=, count=, at=} (drift already applied)" },
  mutations = { desc = 'an array of {kind = "add"|"remove"|"change", op=, customerId=, count=, at=}'
    .. " (drift already applied, after additions)" },
  startup_timeout = { default = 30, desc = "seconds to wait for the server to start, > 0" },
  quiet = { default = true, desc = "a boolean" },
}
config.spec = spec

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do
    parts[#parts + 1] = (math.type(k) == "integer" and "" or tostring(k) .. " = ") .. show(x)
    if #parts >= 8 then parts[#parts + 1] = "..." break end
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function fail(name, value, msg)
  error(string.format("cxcloud.sandbox: bad option '%s' (%s): expected %s", name, show(value),
    msg or spec[name].desc), 0)
end

--- Whether `v` is a whole number (an integer, or a float without fraction; not inf or NaN).
-- @param v
-- @treturn boolean
local function is_int(v)
  return math.type(v) == "integer" or (type(v) == "number" and v % 1 == 0)
end
config.is_int = is_int

local function check_range(v)
  if type(v) == "number" then return v >= 0 end
  if type(v) == "table" then
    local a, b = v[1] or v.min, v[2] or v.max
    return type(a) == "number" and type(b) == "number" and a >= 0 and b >= a
  end
  return false
end

local function size_list(name, v, max)
  if is_int(v) and v >= 0 and v <= max then return math.tointeger(v) end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      if not (is_int(k) and k >= 1) or not (is_int(x) and x >= 0 and x <= max) then fail(name, v) end
      out[math.tointeger(k)] = math.tointeger(x)
    end
    return out
  end
  fail(name, v)
end

-- options whose value is an integer (JSON decoding gives floats such as 3.0)
local INTEGERS = { port = true, control_port = true, seed = true, customers = true, bulletins = true,
  models = true, throttle_status = true, daily_quota = true, max_rows = true,
  unauthenticated_status = true, log_limit = true, chunk_rows = true }

local checks = {
  port = function(v) return is_int(v) and v >= 0 and v <= 65535 end,
  control_port = function(v) return is_int(v) and v >= 0 and v <= 65535 end,
  dir = function(v) return type(v) == "string" and v ~= "" end,
  seed = function(v) return is_int(v) end,
  customers = function(v) return is_int(v) and v >= 1 and v <= 1000 end,
  bulletins = function(v) return is_int(v) and v >= 1 and v <= 10000000 end,
  models = function(v) return is_int(v) and v >= 1 and v <= 1000 end,
  coverage = function(v) return type(v) == "number" and v >= 0 and v <= 1 end,
  id_type = function(v) return v == "number" or v == "string" end,
  big_ids = function(v) return v == false or v == true or v == "int64" end,
  ip_net = function(v) return is_int(v) and v >= 1 and v <= 223 end,
  today = function(v) return type(v) == "string" and v:match("^%d%d%d%d%-%d%d%-%d%d$") ~= nil end,
  client_id = function(v) return type(v) == "string" and v ~= "" end,
  client_secret = function(v) return type(v) == "string" and v ~= "" end,
  admin_key = function(v) return type(v) == "string" and v ~= "" end,
  token_lifetime = function(v) return type(v) == "number" and v > 0 end,
  latency = check_range,
  token_latency = check_range,
  rate_limit = function(v) return type(v) == "number" and v >= 0 end,
  rate_burst = function(v) return type(v) == "number" and v >= 1 end,
  throttle_status = function(v) return v == 403 or v == 429 end,
  retry_after = function(v) return type(v) == "string" or type(v) == "number" end,
  daily_quota = function(v) return is_int(v) and v >= 0 end,
  max_rows = function(v) return is_int(v) and v >= 1 and v <= config.ROWS_LIMIT end,
  rows_over_max = function(v) return v == "refuse" or v == "cap" end,
  bulletins_require_customer = function(v) return type(v) == "boolean" end,
  unauthenticated_status = function(v) return v == 401 or v == 403 end,
  http2 = function(v) return type(v) == "boolean" end,
  keepalive = function(v) return type(v) == "number" and v > 0 end,
  log_limit = function(v) return is_int(v) and v >= 1 end,
  chunk_rows = function(v) return is_int(v) and v >= 1 end,
  faults = function(v) return type(v) == "table" end,
  additions = function(v) return type(v) == "table" end,
  mutations = function(v) return type(v) == "table" end,
  startup_timeout = function(v) return type(v) == "number" and v > 0 end,
  quiet = function(v) return type(v) == "boolean" end,
}

local function names()
  local t = {}
  for k in pairs(spec) do t[#t + 1] = k end
  table.sort(t)
  return table.concat(t, ", ")
end

--- Validates one option value; raises on a bad value.
-- @tparam string name
-- @param value
-- @treturn any the normalised value
function config.check(name, value)
  if not spec[name] then
    error(string.format("cxcloud.sandbox: unknown option '%s'; valid options: %s", tostring(name),
      names()), 0)
  end
  if name == "hardware" then return size_list(name, value, 100000000) end
  if name == "contracts" then return size_list(name, value, 1000000) end
  if name == "entitled" then
    if type(value) ~= "table" then fail(name, value) end
    local out = {}
    for i, x in ipairs(value) do
      if not is_int(x) or x < 1 then fail(name, value) end
      out[i] = math.tointeger(x)
    end
    return out
  end
  if not checks[name](value) then fail(name, value) end
  if INTEGERS[name] then value = math.tointeger(value) end
  return value
end

--- Returns a complete, validated copy of the options with defaults filled in.
-- Credentials are not generated here (see `cxcloud.sandbox.start`).
-- @tparam[opt] table opts
-- @treturn table
function config.normalize(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("cxcloud.sandbox: options must be a table, got " .. type(opts), 0)
  end
  opts = opts or {}
  local out = {}
  for k, v in pairs(opts) do
    out[k] = config.check(k, v)
  end
  for k, s in pairs(spec) do
    if out[k] == nil and s.default ~= nil then out[k] = s.default end
  end
  local n = out.customers
  if out.entitled then
    for _, x in ipairs(out.entitled) do
      if x > n then fail("entitled", x, "customer indexes within 1.." .. n) end
    end
  end
  return out
end

--- Size of an option that is a number or a per-customer array, for customer `ci`.
-- @tparam table cfg normalised options
-- @tparam string name "hardware" or "contracts"
-- @tparam integer ci customer index
-- @treturn integer
function config.size(cfg, name, ci)
  local v = cfg[name]
  if type(v) == "table" then return v[ci] or spec[name].default end
  return v
end

--- Checks the options that `set{}` may change and returns them normalised.
-- @tparam table changes
-- @tparam table cfg current (normalised) options, for cross-checks
-- @treturn table
function config.runtime(changes, cfg)
  if type(changes) ~= "table" then error("cxcloud.sandbox: set{} expects a table", 0) end
  local out = {}
  for k, v in pairs(changes) do
    if spec[k] and not spec[k].runtime then
      error(string.format("cxcloud.sandbox: option '%s' cannot be changed at run time", k), 0)
    end
    out[k] = config.check(k, v)
    if k == "entitled" then
      for _, x in ipairs(out[k]) do
        if x > cfg.customers then fail("entitled", x, "customer indexes within 1.." .. cfg.customers) end
      end
    end
  end
  return out
end

return config
