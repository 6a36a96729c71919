--- `cxcloud sandbox`: run a local fake of CX Cloud in the foreground until Ctrl-C.
-- Its options are parsed here (they map one to one onto `cxcloud.sandbox` options);
-- specs and the benchmark start it with them.
-- @module cxcloud.cli.sandbox

local common = require "cxcloud.cli.common"

local M = {}

local function die(msg, code)
  if code == 1 then common.fail(msg) end
  common.usage(msg)
end

local shell_quote = common.shell_quote

local SANDBOX_USAGE = [[
usage: cxcloud sandbox [options]

Starts a local fake of the Cisco CX Cloud API v2 (HTTPS on 127.0.0.1) in the
foreground, prints its URLs, CA file and credentials, and serves until Ctrl-C
(SIGINT) or SIGTERM. Data is generated from the seed: same options, same data.

Server:
  --port N                  API port (default 0: any free port)
  --control-port N          control endpoint port (default 0: any free port)
  --dir DIR                 directory for ca.pem (default: a temporary directory,
                            removed on exit)
  --http2                   offer HTTP/2 through ALPN (default: HTTP/1.1 only)
  --keepalive S             seconds an idle connection stays open (default 60)
  --quiet                   do not report internal errors on stderr
  --json                    print the connection details as one JSON line instead
                            of the text summary

Credentials and tokens:
  --client-id ID            client id (default: generated)
  --client-secret SECRET    client secret (default: generated, with characters that
                            need URL encoding)
  --token-lifetime S        access token lifetime in seconds (default 3600)
  --unauthenticated-status N  401 (default) or 403 (gateway style) without a token

Data:
  --seed N                  data seed (default 1)
  --customers N             customers that exist (default 3)
  --entitled LIST           customer indexes the credentials see, e.g. 1,3 (default all)
  --hardware N|LIST         hardware rows per customer, or a list per customer
                            (e.g. 100000 or 40,1000,5) (default 40)
  --contracts N|LIST        contracts per customer (default 4)
  --bulletins N             field notice and advisory bulletins (default 40)
  --models N                device models per customer (default 24)
  --coverage F              share of hardware under contract, 0..1 (default 0.8)
  --id-type number|string   how ID fields are sent (default number)
  --big-ids [true|int64]    20-22 digit instance IDs (true), or 17-19 digits (int64)
  --today YYYY-MM-DD        reference date for EoL milestones (default 2025-10-01)
  --bulletins-require-customer  make customerId mandatory on the bulletin operations
  --max-rows N              largest accepted rows parameter (default 1000)

Gateway emulation:
  --latency MS|MIN-MAX      added latency per API response in milliseconds, fixed or
                            random in a range (e.g. 200 or 200-1000) (default 0)
  --token-latency MS|MIN-MAX  the same for the token endpoint (default 0)
  --rate-limit N            API requests per second per client, 0 = off (default 0)
  --rate-burst N            token bucket size (default 2)
  --throttle-status 403|429 status of a throttled request (default 403, with
                            X-Mashery-Error-Code: ERR_403_DEVELOPER_OVER_QPS)
  --retry-after S           Retry-After value on 429 (default: the wait, rounded up)
  --daily-quota N           requests per client, then 403 ERR_403_DEVELOPER_OVER_RATE

  -h, --help                this help
]]

-- option name -> { option key, kind }
local SANDBOX_FLAGS = {
  ["--port"] = { "port", "int" }, ["--control-port"] = { "control_port", "int" },
  ["--dir"] = { "dir", "string" }, ["--http2"] = { "http2", "flag" },
  ["--keepalive"] = { "keepalive", "number" }, ["--quiet"] = { "quiet", "flag" },
  ["--json"] = { "_json", "flag" },
  ["--client-id"] = { "client_id", "string" }, ["--client-secret"] = { "client_secret", "string" },
  ["--token-lifetime"] = { "token_lifetime", "number" },
  ["--unauthenticated-status"] = { "unauthenticated_status", "int" },
  ["--seed"] = { "seed", "int" }, ["--customers"] = { "customers", "int" },
  ["--entitled"] = { "entitled", "list" }, ["--hardware"] = { "hardware", "intlist" },
  ["--contracts"] = { "contracts", "intlist" }, ["--bulletins"] = { "bulletins", "int" },
  ["--models"] = { "models", "int" }, ["--coverage"] = { "coverage", "number" },
  ["--id-type"] = { "id_type", "string" }, ["--big-ids"] = { "big_ids", "bigids" },
  ["--today"] = { "today", "string" },
  ["--bulletins-require-customer"] = { "bulletins_require_customer", "flag" },
  ["--max-rows"] = { "max_rows", "int" },
  ["--latency"] = { "latency", "ms" }, ["--token-latency"] = { "token_latency", "ms" },
  ["--rate-limit"] = { "rate_limit", "number" }, ["--rate-burst"] = { "rate_burst", "number" },
  ["--throttle-status"] = { "throttle_status", "int" }, ["--retry-after"] = { "retry_after", "string" },
  ["--daily-quota"] = { "daily_quota", "int" },
}

local function convert(flag, kind, v)
  local function num(x)
    local n = tonumber(x)
    if not n then die(("%s expects a number, got %q"):format(flag, tostring(x))) end
    return n
  end
  if kind == "string" then return v end
  if kind == "number" then return num(v) end
  if kind == "int" then
    local n = math.tointeger(num(v))
    if not n then die(("%s expects an integer, got %q"):format(flag, v)) end
    return n
  end
  if kind == "list" or kind == "intlist" then
    local t = {}
    for item in v:gmatch("[^,]+") do t[#t + 1] = convert(flag, "int", item) end
    if kind == "intlist" and #t == 1 and not v:find(",") then return t[1] end
    return t
  end
  if kind == "ms" then
    local a, b = v:match("^%s*([%d%.]+)%s*%-%s*([%d%.]+)%s*$")
    if a then return { num(a) / 1000, num(b) / 1000 } end
    return num(v) / 1000
  end
  if kind == "bigids" then
    if v == "true" then return true elseif v == "false" then return false end
    return v
  end
  error("unknown kind " .. kind)
end

local function parse_sandbox_args(args)
  local opts = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.write(SANDBOX_USAGE)
      os.exit(0)
    end
    local flag, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    flag = flag or a
    local spec = SANDBOX_FLAGS[flag]
    if not spec then die(("unknown option %q for 'sandbox' (see cxcloud sandbox --help)"):format(a)) end
    local key, kind = spec[1], spec[2]
    if kind == "flag" then
      if inline then die(flag .. " takes no value") end
      opts[key] = true
    elseif kind == "bigids" and inline == nil and (args[i + 1] == nil or args[i + 1]:sub(1, 2) == "--") then
      opts[key] = true
    else
      local v = inline
      if v == nil then
        i = i + 1
        v = args[i]
        if v == nil then die(flag .. " needs a value") end
      end
      opts[key] = convert(flag, kind, v)
    end
    i = i + 1
  end
  return opts
end

--- Run the sandbox command with its arguments; returns the exit status.
-- @tparam {string,...} args
-- @treturn integer
function M.run(args)
  local opts = parse_sandbox_args(args)
  local as_json = opts._json
  opts._json = nil
  if opts.quiet == nil then opts.quiet = false end
  local sandbox = require "cxcloud.sandbox"
  local config = require "cxcloud.sandbox.config"
  local server = require "cxcloud.sandbox.server"
  local data = require "cxcloud.sandbox.data"
  local auth = require "cxcloud.sandbox.auth"
  if not opts.client_id or not opts.client_secret then
    local id, secret = sandbox.credentials()
    opts.client_id = opts.client_id or id
    opts.client_secret = opts.client_secret or secret
  end
  opts.admin_key = auth.random(24)
  local ok, cfg = pcall(config.normalize, opts)
  if not ok then die(tostring(cfg):gsub("^cxcloud%.sandbox: ", ""):gsub("option '([%w_]+)'", function(k)
    return "option --" .. k:gsub("_", "-")
  end)) end
  local own_dir = false
  if not cfg.dir then
    local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/cxcloud-sandbox.XXXXXX\"")
    cfg.dir = p and p:read("l")
    if p then p:close() end
    if not cfg.dir or cfg.dir == "" then die("cannot create a temporary directory", 1) end
    own_dir = true
  else
    os.execute("mkdir -p " .. shell_quote(cfg.dir) .. " 2>/dev/null")
  end
  local srv
  ok, srv = pcall(server.new, cfg)
  if not ok then die(tostring(srv), 1) end
  local lok, lerr = pcall(srv.listen, srv)
  if not lok then die(tostring(lerr), 1) end
  local ca = srv:write_ca(cfg.dir)
  local port = srv.port
  local base = "https://localhost:" .. port .. sandbox.API_PREFIX
  local token = "https://localhost:" .. port .. sandbox.TOKEN_PATH
  local ds = data.new(cfg)
  local ids = ds:customer_ids()
  local entitled = {}
  for _, ci in ipairs(ds:entitled()) do entitled[#entitled + 1] = ids[ci] end
  local env = {
    { "CXCLOUD_CLIENT_ID", cfg.client_id }, { "CXCLOUD_CLIENT_SECRET", cfg.client_secret },
    { "CXCLOUD_BASE_URL", base }, { "CXCLOUD_TOKEN_URL", token }, { "CXCLOUD_CA_FILE", ca },
  }
  if as_json then
    local json = require "cxcloud.sandbox.json"
    io.write(json.encode_plain {
      pid = server.pid(), port = port, control_port = srv.control_port, admin_key = cfg.admin_key,
      base_url = base, token_url = token, ca_file = ca, client_id = cfg.client_id,
      client_secret = cfg.client_secret, customers = entitled, all_customers = ids,
      connect_to = { "apix.cisco.com:443:127.0.0.1:" .. port, "id.cisco.com:443:127.0.0.1:" .. port },
    }, "\n")
  else
    local w = io.write
    w(("cxcloud sandbox: fake CX Cloud API v2 on 127.0.0.1:%d (pid %s)\n\n"):format(port,
      tostring(server.pid())))
    w("  API base URL   ", base, "\n")
    w("  token URL      ", token, "\n")
    w("  CA file        ", ca, "\n")
    w("  client id      ", cfg.client_id, "\n")
    w("  client secret  ", cfg.client_secret, "\n")
    w("  real URLs      https://apix.cisco.com/cs/api/v2 and https://id.cisco.com/oauth2/default/v1/token\n")
    w(("                 with curl --connect-to apix.cisco.com:443:127.0.0.1:%d "
      .. "--connect-to id.cisco.com:443:127.0.0.1:%d\n"):format(port, port))
    w(("  control        https://127.0.0.1:%d/_sandbox/stats  (header X-Sandbox-Key: %s)\n"):format(
      srv.control_port, cfg.admin_key))
    w("  customers      ")
    for i, id in ipairs(entitled) do
      w(i > 1 and ", " or "", id, " (", ds:customer(ds:customer_index(id)).name, ")")
    end
    w("\n\n# for a shell:\n")
    for _, kv in ipairs(env) do w("export ", kv[1], "=", shell_quote(kv[2]), "\n") end
    w("\nPress Ctrl-C to stop.\n")
  end
  io.stdout:flush()
  srv:watch_signals(function(name)
    if not as_json then io.stderr:write("\ncxcloud sandbox: ", name, ", stopping\n") end
  end)
  srv:loop()
  if own_dir then
    os.remove(cfg.dir .. "/ca.pem")
    os.remove(cfg.dir)
  end
  return 0
end

return M
