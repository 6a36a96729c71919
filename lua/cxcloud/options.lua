--- Validation of `cxcloud.new{...}` options.
--
-- Every option is one row of `SPEC` below, the one place its name, what it accepts (its
-- checker), its default and its environment variables are stated; the C core receives only
-- validated values, complete (`M.core` builds its table: it has no default or range of its
-- own). The table of options in doc/library.md describes each for users and
-- spec/unit/docs_spec.lua checks it against `SPEC`.
--
-- Errors are raised as error objects of kind "config"; they name the option, say what
-- was given (its type, never a string's value: it could be a secret) and what is accepted.
-- @module cxcloud.options

local compat = require "cxcloud.compat"
local errors = require "cxcloud.errors"
local operations = require "cxcloud.operations"
local proxy_mod = require "cxcloud.proxy"
local util = require "cxcloud.util"

local M = {}

local format, find, match, sub, gsub = string.format, string.find, string.match, string.sub,
  string.gsub
local mtype, tointeger = compat.mtype, compat.tointeger

M.DEFAULT_BASE_URL = operations.BASE_URL
M.DEFAULT_TOKEN_URL = operations.TOKEN_URL

--- The largest `max_body_size` accepted (4 GiB).
M.MAX_BODY_SIZE = 4 * 1024 * 1024 * 1024
--- The largest `max_buffered` accepted (64 GiB).
M.MAX_BUFFERED = 64 * 1024 * 1024 * 1024

--- The longest `timeout` and `connect_timeout` accepted, in seconds.
M.MAX_TIMEOUT = 86400
M.MAX_CONNECT_TIMEOUT = 3600

--- The largest `max_decoded_size` accepted (16 GiB).
M.MAX_DECODED_SIZE = 16 * 1024 * 1024 * 1024

--- Retry budget constants (see `retry_budget`).
M.RETRY_COST = 5
M.RETRY_REFUND = 1

local function fail(msg)
  errors.raise("config", msg, nil, 4)
end

local function got(v)
  return util.describe(v, true)
end

-- checkers: function(name, value, cfg) -> normalized value (or raise)
local function number_check(lo, hi, unit, allow_inf)
  return function(name, v)
    if type(v) ~= "number" or v ~= v or (not allow_inf and (v == math.huge or v == -math.huge))
        or v < lo or (hi and v > hi) then
      fail(format("option '%s' must be a number%s %s (got %s)", name, unit or "",
        hi and format("from %g to %g", lo, hi) or format(">= %g", lo), got(v)))
    end
    return v
  end
end

local function positive(unit, hi)
  return function(name, v)
    if type(v) ~= "number" or v ~= v or v <= 0 or v > hi then
      fail(format("option '%s' must be a number of %s > 0 and <= %g (got %s)", name, unit, hi, got(v)))
    end
    return v
  end
end

-- Seconds that reach libcurl as whole milliseconds (`M.core`): at least 1 ms, as libcurl
-- takes 0 for "no timeout".
local function seconds_check(hi)
  return function(name, v)
    if type(v) ~= "number" or v ~= v or v < 0.001 or v > hi then
      fail(format("option '%s' must be a number of seconds from 0.001 to %g (got %s)", name, hi,
        got(v)))
    end
    return v
  end
end

local function integer_check(lo, hi)
  return function(name, v)
    local i = mtype(v) == "integer" and v or (type(v) == "number" and tointeger(v))
    if not i or i < lo or (hi and i > hi) then
      fail(format("option '%s' must be an integer %s (got %s)", name,
        hi and format("from %d to %d", lo, hi) or format(">= %d", lo), got(v)))
    end
    return i
  end
end

local function boolean_check(name, v)
  if type(v) ~= "boolean" then
    fail(format("option '%s' must be true or false (got %s)", name, got(v)))
  end
  return v
end

local function function_check(name, v)
  if type(v) ~= "function" then
    fail(format("option '%s' must be a function (got %s)", name, got(v)))
  end
  return v
end

local function string_check(name, v)
  if type(v) ~= "string" or v == "" then
    -- never show the value: this checks client_id and client_secret too
    fail(format("option '%s' must be a non-empty string (got %s)", name,
      v == "" and "an empty string" or util.describe(v)))
  end
  return v
end

local function url_check(name, v, cfg)
  if type(v) ~= "string" or v == "" then
    fail(format("option '%s' must be an https:// URL string (got %s)", name,
      v == "" and "an empty string" or got(v)))
  end
  local scheme, host = match(v, "^(%a[%w+.-]*)://([^/?#]+)")
  if not scheme then
    fail(format("option '%s' must be an absolute https:// URL (got '%s')", name, errors.safe_url(v)))
  end
  scheme = scheme:lower()
  if scheme == "http" then
    if not cfg.allow_http then
      fail(format("option '%s' is a plain http:// URL ('%s'); use https://, or set allow_http = true"
        .. " to send credentials and data unencrypted", name, errors.safe_url(v)))
    end
  elseif scheme ~= "https" then
    fail(format("option '%s' must be an https:// URL (got scheme '%s')", name, errors.escape(scheme)))
  end
  if find(host, "@", 1, true) then
    fail(format("option '%s' must not contain user:password@ (credentials go in client_id / "
      .. "client_secret)", name))
  end
  if find(v, "[%s%c]") then
    fail(format("option '%s' must not contain spaces or control characters", name))
  end
  return v
end

local function base_url_check(name, v, cfg)
  v = url_check(name, v, cfg)
  if find(v, "[?#]") then
    fail(format("option '%s' must not contain a query or fragment (got '%s')", name, errors.safe_url(v)))
  end
  return (v:gsub("/+$", ""))
end

local function ca_file_check(name, v)
  string_check(name, v)
  local f, err = io.open(v, "rb")
  if not f then
    fail(format("option '%s': cannot read the CA bundle (%s)", name, errors.escape(err)))
  end
  f:close()
  return v
end

local function connect_to_check(name, v)
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then
    fail(format("option '%s' must be a list of \"HOST:PORT:CONNECT-HOST:CONNECT-PORT\" strings (got %s)",
      name, got(v)))
  end
  local out = {}
  for i = 1, #v do
    local s = v[i]
    if type(s) ~= "string" or not match(s, "^[^:]*:%d*:.+:%d*$") then
      fail(format("option '%s'[%d] must be a \"HOST:PORT:CONNECT-HOST:CONNECT-PORT\" string, e.g. "
        .. "\"apix.cisco.com:443:127.0.0.1:8443\" (got %s)", name, i,
        type(s) == "string" and ("'" .. errors.escape(s) .. "'") or got(s)))
    end
    out[i] = s
  end
  for k in pairs(v) do
    if mtype(k) ~= "integer" or k < 1 or k > #v then
      fail(format("option '%s' must be a list (array) of strings", name))
    end
  end
  return out
end

-- returns the parsed proxy (with the credentials: validate keeps them out of cfg), or false
local function proxy_check(name, v, _, env)
  if v == false or v == "" then return false end
  local from = env and format("environment variable %s (used for option '%s')", env, name)
    or format("option '%s'", name)
  if type(v) ~= "string" then
    fail(format("%s must be a proxy URL string \"http://[user:password@]host:port\", or false for"
      .. " none (got %s)", from, got(v)))
  end
  local p, why = proxy_mod.parse(v)
  -- the value is never shown: it may hold the proxy password
  if not p then fail(format("%s is not a usable proxy URL: %s", from, why)) end
  return p
end

local function no_proxy_check(name, v, _, env)
  local list, why = proxy_mod.no_proxy_list(v)
  if not list then
    fail(format("%s: %s (got %s)", env and format("environment variable %s (used for option '%s')",
      env, name) or format("option '%s'", name), why, got(v)))
  end
  return list
end

local function drift_check(name, v)
  if v ~= "error" and v ~= "record" then
    fail(format("option '%s' must be \"error\" or \"record\" (got %s)", name,
      type(v) == "string" and ("'" .. errors.escape(v) .. "'") or got(v)))
  end
  return v
end

-- libcurl's trace holds server text: escape control characters (newlines kept)
local function clean_trace(s)
  s = gsub(s, "\r\n", "\n")
  return (gsub(s, "[^\n]+", errors.escape))
end

local function verbose_check(name, v)
  if v == true then
    return function(text)
      text = clean_trace(text)
      io.stderr:write(text, sub(text, -1) == "\n" and "" or "\n")
    end
  end
  if v == false then return nil end
  local f = function_check(name, v)
  return function(text) return f(clean_trace(text)) end
end

local function user_agent_check(name, v)
  string_check(name, v)
  if find(v, "[%c]") then fail(format("option '%s' must not contain control characters", name)) end
  return v
end

local function page_size_check(name, v)
  if v == "auto" then return v end
  local i = mtype(v) == "integer" and v or (type(v) == "number" and tointeger(v))
  if not i or i < 1 or i > 10000 then
    fail(format("option '%s' must be \"auto\" or an integer from 1 to 10000 (got %s)", name,
      got(v)))
  end
  return i
end

-- The option table: name, checker, default, env
local SPEC = {
  { "client_id", string_check, nil, "CXCLOUD_CLIENT_ID" },
  { "client_secret", string_check, nil, "CXCLOUD_CLIENT_SECRET" },
  { "allow_http", boolean_check, false },            -- before the URLs: they depend on it
  { "base_url", base_url_check, M.DEFAULT_BASE_URL, "CXCLOUD_BASE_URL" },
  { "token_url", url_check, M.DEFAULT_TOKEN_URL, "CXCLOUD_TOKEN_URL" },
  { "ca_file", ca_file_check, nil, "CXCLOUD_CA_FILE" },
  { "connect_to", connect_to_check },
  { "proxy", proxy_check, nil, { "CXCLOUD_PROXY", "https_proxy", "HTTPS_PROXY" } },
  { "no_proxy", no_proxy_check, nil, { "no_proxy", "NO_PROXY" } },
  { "timeout", seconds_check(M.MAX_TIMEOUT), 60 },
  { "connect_timeout", seconds_check(M.MAX_CONNECT_TIMEOUT), 10 },
  { "max_retries", integer_check(0, 100), 5 },
  { "retry_base", positive("seconds", 60), 0.5 },
  { "retry_cap", positive("seconds", 3600), 30 },
  { "retry_after_cap", number_check(0, 86400, " of seconds"), 120 },
  { "retry_budget", number_check(0, nil, "", true), 100 },
  { "rate_limit", number_check(0, 10000, " of requests per second"), 10 },
  { "concurrency", integer_check(1, 100) },
  { "page_size", page_size_check, "auto" },
  { "prefetch", integer_check(0, 32), 0 },
  { "daily_quota", integer_check(0, 1000000000), 5000 },
  { "max_body_size", integer_check(1024, M.MAX_BODY_SIZE), 8 * 1024 * 1024 },
  { "max_buffered", integer_check(1024 * 1024, M.MAX_BUFFERED), 128 * 1024 * 1024 },
  { "max_header_size", integer_check(1024, 16 * 1024 * 1024), 64 * 1024 },
  { "max_decoded_size", integer_check(1024 * 1024, M.MAX_DECODED_SIZE), 64 * 1024 * 1024 },
  { "max_json_depth", integer_check(2, 1000), 64 },
  { "drift", drift_check, "error" },
  { "http2", boolean_check, true },
  { "refresh_margin", number_check(0, 86400, " of seconds") },
  { "user_agent", user_agent_check },
  { "verbose", verbose_check },
  { "clock", function_check },
  { "wall_clock", function_check },
  { "sleep", function_check },
  { "random", function_check },
  { "wait", function_check },
}

local NAMES = {}
local KNOWN = {}
for i, s in ipairs(SPEC) do
  NAMES[i] = s[1]
  KNOWN[s[1]] = s
end
table.sort(NAMES)

--- Sorted list of every option name.
M.NAMES = NAMES

--- Validate user options, apply environment variables and defaults.
-- @tparam table|nil opts as given to `cxcloud.new`
-- @tparam[opt] function getenv replaces `os.getenv` (tests)
-- @treturn table cfg: every option resolved, WITHOUT the client secret
-- @treturn string the client secret (hand it to the C core and drop it)
-- @treturn table|nil the proxy for the C core, nil for none: `{ url = "http://host:port",
-- user, password, api = bool, token = bool }` (api/token: whether requests to base_url /
-- token_url go through it, after `no_proxy`); drop it like the secret
function M.validate(opts, getenv)
  getenv = getenv or os.getenv
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    fail(format("cxcloud.new expects a table of options (got %s)", got(opts)))
  end
  for k in pairs(opts) do
    if type(k) ~= "string" then
      fail(format("option names must be strings (got %s key)", util.describe(k, true)))
    end
    if not KNOWN[k] then
      local s = util.suggest(k, NAMES)
      fail(format("unknown option '%s'%s; valid options: %s", errors.escape(k),
        s and format(" (did you mean '%s'?)", s) or "", util.list(NAMES)))
    end
  end
  local cfg, secret, proxy = {}, nil, nil
  local missing = {}
  for _, s in ipairs(SPEC) do
    local name, check, default, envs = s[1], s[2], s[3], s[4]
    local v, from = opts[name], nil
    if type(envs) == "string" then envs = { envs } end
    for i = 1, (v == nil and envs) and #envs or 0 do
      v = getenv(envs[i])
      if v == "" then v = nil end
      if v ~= nil then from = envs[i] break end
    end
    if v == nil then
      v = default
      if name == "client_id" or name == "client_secret" then missing[#missing + 1] = name end
    elseif check then
      v = check(name, v, cfg, from)
    end
    if name == "client_secret" then
      secret = v
    elseif name == "proxy" then
      proxy = v or nil
      cfg.proxy = proxy and proxy.url -- without the credentials
    else
      cfg[name] = v
    end
  end
  if #missing > 0 then
    fail(format("missing credentials: %s not set; pass client_id and client_secret to cxcloud.new{...}"
      .. " or set the environment variables CXCLOUD_CLIENT_ID and CXCLOUD_CLIENT_SECRET",
      table.concat(missing, " and ")))
  end
  if cfg.retry_cap < cfg.retry_base then
    fail(format("option 'retry_cap' (%g) must be >= retry_base (%g)", cfg.retry_cap, cfg.retry_base))
  end
  if proxy then
    local list = cfg.no_proxy or {}
    proxy.api = not proxy_mod.bypass(list, proxy_mod.url_host(cfg.base_url))
    proxy.token = not proxy_mod.bypass(list, proxy_mod.url_host(cfg.token_url))
  end
  return cfg, secret, proxy
end

-- Whole milliseconds, rounded up: a positive value never becomes 0 (libcurl's "no
-- timeout"); a value within a rounding error of a whole millisecond stays that millisecond.
local function milliseconds(seconds)
  local ms = math.ceil(seconds * 1000 - 1e-6)
  return tointeger(ms < 1 and 1 or ms)
end

--- The table `cxcloud.core.new` takes, from what `validate` returned: every field the C core
-- requires (it has no defaults and checks no range: the values here are validated), the
-- timeouts in whole milliseconds.
-- @tparam table cfg
-- @tparam string secret
-- @tparam table|nil proxy
-- @tparam string user_agent the whole User-Agent header value
-- @treturn table
function M.core(cfg, secret, proxy, user_agent)
  return {
    client_id = cfg.client_id,
    client_secret = secret,
    token_url = cfg.token_url,
    ca_file = cfg.ca_file,            -- nil: the system store
    connect_to = cfg.connect_to,      -- nil: none
    proxy = proxy,                    -- nil: none
    timeout_ms = milliseconds(cfg.timeout),
    connect_timeout_ms = milliseconds(cfg.connect_timeout),
    max_body_size = cfg.max_body_size,
    max_header_size = cfg.max_header_size,
    user_agent = user_agent,
    http2 = cfg.http2,
    allow_http = cfg.allow_http,
    verbose = cfg.verbose ~= nil,     -- the trace is gathered; Lua hands it to the function
  }
end

return M
