--- `cxcloud sandbox`: run a local fake of CX Cloud in the foreground until Ctrl-C.
-- The library's command line (`cxcloud.cli`) finds this module when the sandbox's rock is
-- installed and hands the command to it. Its options (declared here for lua-argparse) map
-- one to one onto `cxcloud.sandbox` options; the specs start it with them.
-- @module cxcloud.sandbox.cli

local common = require "cxcloud.cli.common"

local M = {}

local function die(msg, code)
  if code == 1 then common.fail(msg) end
  common.usage(msg)
end

local shell_quote = common.shell_quote

-- the options, by help group: flag, option key, kind, argument name, help
local GROUPS = {
  { "Server", {
    { "--port", "port", "int", "N", "API port (default 0: any free port)" },
    { "--control-port", "control_port", "int", "N", "control endpoint port (default 0: any free port)" },
    { "--dir", "dir", "string", "DIR",
      "directory for ca.pem (default: a temporary directory, removed on exit)" },
    { "--http2", "http2", "flag", nil, "offer HTTP/2 through ALPN (default: HTTP/1.1 only)" },
    { "--keepalive", "keepalive", "number", "S", "seconds an idle connection stays open (default 60)" },
    { "--quiet", "quiet", "flag", nil, "do not report internal errors on stderr" },
    { "--json", "_json", "flag", nil,
      "print the connection details as one JSON line instead of the text summary" },
  } },
  { "Credentials and tokens", {
    { "--client-id", "client_id", "string", "ID", "client id (default: generated)" },
    { "--client-secret", "client_secret", "string", "SECRET",
      "client secret (default: generated, with characters that need URL encoding)" },
    { "--token-lifetime", "token_lifetime", "number", "S",
      "access token lifetime in seconds (default 3600)" },
    { "--unauthenticated-status", "unauthenticated_status", "int", "N",
      "401 (default) or 403 (gateway style) without a token" },
  } },
  { "Data", {
    { "--seed", "seed", "int", "N", "data seed (default 1)" },
    { "--customers", "customers", "int", "N", "customers that exist (default 3)" },
    { "--entitled", "entitled", "list", "LIST",
      "customer indexes the credentials see, e.g. 1,3 (default all)" },
    { "--hardware", "hardware", "intlist", "N|LIST",
      "hardware rows per customer, or a list per customer (e.g. 100000 or 40,1000,5) (default 40)" },
    { "--contracts", "contracts", "intlist", "N|LIST", "contracts per customer (default 4)" },
    { "--bulletins", "bulletins", "int", "N", "field notice and advisory bulletins (default 40)" },
    { "--models", "models", "int", "N", "device models per customer (default 24)" },
    { "--coverage", "coverage", "number", "F", "share of hardware under contract, 0..1 (default 0.8)" },
    { "--id-type", "id_type", "string", "number|string", "how ID fields are sent (default number)" },
    { "--big-ids", "big_ids", "bigids", "true|int64",
      "20-22 digit instance IDs (true, or no value), or 17-19 digits (int64)" },
    { "--today", "today", "string", "YYYY-MM-DD", "reference date for EoL milestones (default 2025-10-01)" },
    { "--bulletins-require-customer", "bulletins_require_customer", "flag", nil,
      "make customerId mandatory on the bulletin operations" },
    { "--max-rows", "max_rows", "int", "N",
      "largest page served, 1..10000 (default 10000); a larger rows is refused or capped (--rows-over-max)" },
    { "--rows-over-max", "rows_over_max", "string", "refuse|cap",
      "rows above --max-rows: refuse (400, the default) or cap (served as pages of --max-rows rows);"
        .. " rows above 10000 are refused either way" },
    { "--mutations", "mutations", "jsonfile", "FILE",
      "drift to replay at start: a JSON file with the answer of GET /_sandbox/state (or its"
        .. " 'mutations' array), to restart with the same data" },
  } },
  { "Gateway emulation", {
    { "--latency", "latency", "ms", "MS|MIN-MAX",
      "added latency per API response in milliseconds, fixed or random in a range (e.g. 200 or 200-1000)" },
    { "--token-latency", "token_latency", "ms", "MS|MIN-MAX", "the same for the token endpoint (default 0)" },
    { "--rate-limit", "rate_limit", "number", "N",
      "API requests per second per client, 0 = off (default 0)" },
    { "--rate-burst", "rate_burst", "number", "N", "token bucket size (default 2)" },
    { "--throttle-status", "throttle_status", "int", "403|429",
      "status of a throttled request (default 403, with X-Mashery-Error-Code: ERR_403_DEVELOPER_OVER_QPS)" },
    { "--retry-after", "retry_after", "string", "S",
      "Retry-After value on 429 (default: the wait, rounded up)" },
    { "--daily-quota", "daily_quota", "int", "N",
      "requests per client, then 403 ERR_403_DEVELOPER_OVER_RATE" },
  } },
}

local function converter(flag, kind)
  local function num(x)
    local n = tonumber(x)
    if not n then return nil, ("%s expects a number, got '%s'"):format(flag, tostring(x)) end
    return n
  end
  local function int(x)
    local n = math.tointeger(tonumber(x))
    if not n then return nil, ("%s expects an integer, got '%s'"):format(flag, tostring(x)) end
    return n
  end
  if kind == "number" then return num end
  if kind == "int" then return int end
  if kind == "list" or kind == "intlist" then
    return function(v)
      local t = {}
      for item in v:gmatch("[^,]+") do
        local n, err = int(item)
        if not n then return nil, err end
        t[#t + 1] = n
      end
      if kind == "intlist" and #t == 1 and not v:find(",") then return t[1] end
      return t
    end
  end
  if kind == "ms" then
    return function(v)
      local a, b = v:match("^%s*([%d%.]+)%s*%-%s*([%d%.]+)%s*$")
      if a then
        local lo, hi = num(a), num(b)
        if lo and hi then return { lo / 1000, hi / 1000 } end
      end
      local n, err = num(v)
      if not n then return nil, err end
      return n / 1000
    end
  end
  if kind == "jsonfile" then
    return function(path)
      local f, err = io.open(path, "rb")
      if not f then return nil, ("%s: cannot read %s"):format(flag, tostring(err)) end
      local text = f:read("a")
      f:close()
      local v = require("cxcloud.sandbox.json").decode_plain(text)
      if type(v) == "table" and type(v.mutations) == "table" then v = v.mutations end
      if type(v) ~= "table" then
        return nil, ("%s: %s holds no JSON array of mutations"):format(flag, path)
      end
      return v
    end
  end
  if kind == "bigids" then
    return function(v)
      if v == "true" then return true elseif v == "false" then return false end
      return v
    end
  end
  return nil
end

--- Declare the sandbox's options on an argparse command.
-- @tparam table cmd
function M.add_options(cmd)
  cmd:description("Starts a local fake of the Cisco CX Cloud API v2 (HTTPS on 127.0.0.1) in the"
    .. " foreground, prints its URLs, CA file and credentials, and serves until Ctrl-C (SIGINT) or"
    .. " SIGTERM. Data is generated from the seed: same options, same data."
    .. "\n\nThe control port (header X-Sandbox-Key) also changes the data while it runs, as a"
    .. " store meets it between syncs: POST /_sandbox/rows/add, /_sandbox/rows/remove"
    .. ' ({"op", "customerId", "count", "at": "end"|"start"}) and /_sandbox/rows/change'
    .. ' ({"op", "customerId", "count"}; answers the changed rows\' keys and fields).'
    .. " GET /_sandbox/state lists every change in order: save it and pass it to --mutations"
    .. " to start again with the same data.")
  for _, group in ipairs(GROUPS) do
    local elements = {}
    for _, o in ipairs(group[2]) do
      local flag, key, kind, argname, help = o[1], o[2], o[3], o[4], o[5]
      local e
      if kind == "flag" then
        e = cmd:flag(flag, help):target(key)
      else
        e = cmd:option(flag, help):target(key):argname("<" .. argname .. ">")
        local conv = converter(flag, kind)
        if conv then e:convert(conv) end
        if kind == "bigids" then e:args("?") end
      end
      elements[#elements + 1] = e
    end
    cmd:group(group[1], table.unpack(elements))
  end
end

--- Run the sandbox command with its parsed options; returns the exit status.
-- @tparam table args parsed options (keys as in `cxcloud.sandbox.start`)
-- @treturn integer
function M.run(args)
  local opts = {}
  for _, group in ipairs(GROUPS) do
    for _, o in ipairs(group[2]) do
      local v = args[o[2]]
      if o[3] == "flag" and v == false then v = nil end
      if o[3] == "bigids" and type(v) == "table" then v = v[1] == nil and true or v[1] end
      opts[o[2]] = v
    end
  end
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
  if not ok then
    die((tostring(cfg):gsub("^cxcloud%.sandbox: ", ""):gsub("option '([%w_]+)'", function(k)
      return "option --" .. k:gsub("_", "-")
    end)))
  end
  local dok, dir, own_dir = pcall(sandbox.directory, cfg.dir)
  if not dok then die((tostring(dir):gsub("^cxcloud%.sandbox: ", "")), 1) end
  cfg.dir = dir
  local srv
  ok, srv = pcall(server.new, cfg)
  if not ok then die(tostring(srv), 1) end
  local lok, lerr = pcall(function() srv:listen() srv:listen_control() end)
  if not lok then die(tostring(lerr), 1) end
  local ca = srv:write_ca(cfg.dir)
  local port = srv.port
  local base = "https://localhost:" .. port .. sandbox.API_PREFIX
  local token = "https://localhost:" .. port .. sandbox.TOKEN_PATH
  local connect_to = { sandbox.API_HOST .. ":443:127.0.0.1:" .. port,
    sandbox.TOKEN_HOST .. ":443:127.0.0.1:" .. port }
  local ds = data.new(cfg)
  local ids = ds:customer_ids()
  local entitled = {}
  for _, ci in ipairs(ds:entitled()) do entitled[#entitled + 1] = ids[ci] end
  local env = {
    { "CXCLOUD_CLIENT_ID", cfg.client_id }, { "CXCLOUD_CLIENT_SECRET", cfg.client_secret },
    { "CXCLOUD_BASE_URL", base }, { "CXCLOUD_TOKEN_URL", token }, { "CXCLOUD_CA_FILE", ca },
    -- the data's reference date, for `cxcloud report` (past last date of support)
    { "CXCLOUD_TODAY", cfg.today },
  }
  if as_json then
    local json = require "cxcloud.sandbox.json"
    io.write(json.encode_plain {
      pid = server.pid(), port = port, control_port = srv.control_port, admin_key = cfg.admin_key,
      base_url = base, token_url = token, ca_file = ca, client_id = cfg.client_id,
      client_secret = cfg.client_secret, customers = entitled, all_customers = ids,
      connect_to = connect_to, today = cfg.today,
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
    w("  real URLs      ", sandbox.BASE_URL, " and ", sandbox.TOKEN_URL, "\n")
    w("                 with curl --connect-to ", connect_to[1], " --connect-to ", connect_to[2], "\n")
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
