--- cxcloud.sandbox: a local fake of Cisco CX Cloud API v2 over real HTTPS on loopback.
--
--    local sandbox = require "cxcloud.sandbox"
--    local sb <close> = sandbox.start { seed = 1, customers = 3, hardware = 40 }
--    local cx = cxcloud.new(sb:client_options())
--    ...
--    sb:stop()
--
-- The server runs in a thread of the calling process (`cqueues.thread`: an OS thread with
-- a Lua state of its own), so a caller that blocks (every spec, a plain script, a client
-- without `wait`) is still answered, and the server's work (rows, TLS, JSON) never runs on
-- the caller's thread, whose timings the event-loop specs measure. `start` waits until it
-- listens and returns a handle with the URLs, the CA file, the credentials and control
-- methods; `sandbox.truth` computes, in the calling thread, exactly the items the server
-- serves for a query.
--
-- The handle and its server hold together by the socket pair of `cqueues.thread`: the
-- thread reports that it listens (or why not), then takes the control requests of
-- `cxcloud.sandbox.control` on it, one JSON line each way (inside a cqueues controller the
-- handle's waits yield to it). The end of that socket (`stop`, `<close>`, the handle
-- collected) stops the server; the end of the process ends it with everything else. The
-- command line (`cxcloud sandbox`) serves in the foreground instead, with an HTTPS control
-- listener for other processes.
--
-- Options (all optional; defaults in brackets):
--
--   port [0 = any free]          API port (127.0.0.1 only)
--   dir [new temporary dir]      where ca.pem goes (one sandbox per directory)
--   seed [1]                     data seed: same seed, same data
--   customers [3]                customers that exist; entitled [all] = indexes the
--                                credentials may see (customer-details lists those)
--   hardware [40]                hardware rows per customer: a number, or an array
--                                per customer index (missing entries: 40)
--   contracts [4]                contracts per customer (number or array)
--   bulletins [40]               field notice and security advisory bulletins
--   models [24]                  device models per customer (data variety)
--   coverage [0.8]               share of hardware covered by a contract
--   id_type ["number"]           "string": ID fields sent as JSON strings
--   big_ids [false]              true: instance IDs of 20-22 digits (exact JSON
--                                literals); "int64": 17-19 digits (beyond 2^53)
--   ip_net [10]                  first octet of the network elements' addresses (127:
--                                loopback addresses, e.g. for an nmap scan of them)
--   today ["2025-10-01"]         reference date of the EoL milestones
--   client_id, client_secret     [generated; the secret contains "&=+% ", "/" and a
--                                non-ASCII character to exercise URL encoding]
--   token_lifetime [3600]        seconds (expires_in)
--   latency [0], token_latency [0]  seconds per response: a number or {min, max}
--   rate_limit [0 = off]         API requests per second per client (token bucket)
--   rate_burst [2]               bucket size
--   throttle_status [403]        403 (+ X-Mashery-Error-Code) or 429 (+ Retry-After)
--   retry_after [nil]            Retry-After value for 429 throttling (default: the wait)
--   daily_quota [0 = off]        requests per client; then 403 ERR_403_DEVELOPER_OVER_RATE
--   max_rows [10000]             largest page served, 1..10000; a `rows` above it is
--                                handled as rows_over_max says
--   rows_over_max ["refuse"]     "refuse": a 400 for rows > max_rows; "cap": such a request
--                                is served as if rows = max_rows had been asked
--                                (pagination.rows = max_rows, pages = ceil(total /
--                                max_rows), pages numbered by max_rows). Whatever both
--                                say, rows > 10000 is a 400 (the API's hard cap as
--                                modelled), so by default any rows 1..10000 is served
--   bulletins_require_customer [false]  customerId required on the bulletin operations
--   unauthenticated_status [401] status for a request without Authorization (401 with
--                                WWW-Authenticate, or 403 with ERR_403_NOT_AUTHORIZED)
--   http2 [false]                offer HTTP/2 through ALPN
--   keepalive [60]               seconds an idle connection stays open
--   faults [{}]                  initial fault script (see `cxcloud.sandbox.faults`)
--   additions [{}]               drift applied at start ({op=, customerId=, count=, at=})
--   mutations [{}]               drift applied at start, after additions: {kind = "add"|
--                                "remove"|"change", op=, customerId=, count=, at=}, as
--                                `sb:state().mutations` returns it (restart with the data)
--   chunk_rows [250]             rows per chunk of an unpaged (streamed) response
--   log_limit [100000]           request records kept
--   startup_timeout [30]         seconds `start` waits for the server
--   quiet [true]                 false: the server reports internal errors on stderr
--
-- Runtime-changeable with `sb:set{}`: entitled, token_lifetime, latency, token_latency,
-- rate_limit, rate_burst, throttle_status, retry_after, daily_quota, max_rows, rows_over_max,
-- bulletins_require_customer, unauthenticated_status, log_limit, chunk_rows.
--
-- Behaviour (where the real API is unknown, the choice made is stated):
--
--   * POST /oauth2/default/v1/token: form fields or HTTP Basic; 401 invalid_client,
--     400 unsupported_grant_type / invalid_request / invalid_scope; 200 with
--     access_token (opaque), token_type "Bearer", expires_in, scope "apis:read".
--   * GET /cs/api/v2/<operation>: 401 + WWW-Authenticate for a missing (default),
--     unknown, expired or revoked token; 400 for a missing customerId, an unknown
--     parameter, `page` without `rows` or the reverse, a non-positive page/rows, rows >
--     10000, rows > max_rows unless rows_over_max = "cap", an unknown `fields` name, a
--     bad `sort`; 403 for a customer the credentials are not entitled to; 404 for an
--     unknown path; 405 for a method other than GET. Errors are `{"status": n,
--     "message": "..."}`; every response has X-Mashery-Message-ID and Content-Type
--     application/json.
--   * Filters are exact, case-sensitive equality on every documented parameter
--     (no wildcards); an ID matches its decimal digits. `sort` takes one field,
--     ASC/DESC in any case, is stable, and puts JSON nulls first (ASC). `fields`
--     keeps the documented field order.
--   * With page and rows: `{"data": [...], "pagination": {page, pages = ceil(total /
--     rows), rows, total}}` (Content-Length); a page past the end has empty data and the
--     same pagination. Without them: the whole result streamed with chunked transfer
--     encoding and `pagination = {page = 1, pages = 1 (0 when empty), rows = total,
--     total}`.
--   * Bulletin operations serve a global catalogue; customerId is optional there (when
--     given it must be entitled) unless `bulletins_require_customer`.
-- @module cxcloud.sandbox

local cqueues = require "cqueues"
local thread = require "cqueues.thread"
local operations = require "cxcloud.operations"
local shell_quote = require("cxcloud.shell").quote

local config = require "cxcloud.sandbox.config"
local ops = require "cxcloud.sandbox.ops"
local data = require "cxcloud.sandbox.data"
local query = require "cxcloud.sandbox.query"
local faults = require "cxcloud.sandbox.faults"
local control = require "cxcloud.sandbox.control"
local json = require "cxcloud.sandbox.json"
local auth = require "cxcloud.sandbox.auth"

local sandbox = {}

-- the real API's URLs (the library's), which clients keep: `connect_to` sends both hosts here
sandbox.BASE_URL, sandbox.TOKEN_URL = operations.BASE_URL, operations.TOKEN_URL
sandbox.API_HOST, sandbox.API_PREFIX = ops.API_HOST, ops.API_PREFIX
sandbox.TOKEN_HOST, sandbox.TOKEN_PATH = ops.TOKEN_HOST, ops.TOKEN_PATH

local function random_chars(n)
  return (auth.random(n * 2):gsub("[^%w]", ""):sub(1, n))
end

--- Generates credentials for a sandbox: a client id and a secret that contains
-- characters needing URL encoding (`& = + %`, space, `/`, `?`, `#`) and a non-ASCII one.
-- @treturn string client_id
-- @treturn string client_secret
function sandbox.credentials()
  return "sbx-" .. random_chars(24), random_chars(14) .. "&=+% /?#\195\169" .. random_chars(10)
end

-- items for a query on a dataset; `customerId` may be a customer index
local function items(ds, op, customerId, params)
  local p = {}
  for k, v in pairs(params or {}) do p[k] = v end
  if customerId ~= nil then
    if type(customerId) == "number" then
      customerId = ds:customer_ids()[customerId]
        or error("cxcloud.sandbox: no customer with index " .. tostring(customerId), 3)
    end
    p.customerId = customerId
  end
  return query.items(ds, op, p)
end

-- -----------------------------------------------------------------------------
-- Handle

local Handle = {}
Handle.__index = Handle
Handle.__name = "cxcloud.sandbox"

function Handle:__tostring()
  return string.format("cxcloud.sandbox: https://localhost:%s (%s)", tostring(self.port),
    self._stopped and "stopped" or "running")
end

-- why the server is gone: what its thread raised, else what the socket said
local function gone(self, err)
  local ended, raised = self._thread:join(5)
  return (tostring(ended and raised or err):gsub("^cxcloud%.sandbox: ", ""))
end

function Handle:_call(name, arg)
  if self._stopped then error("cxcloud.sandbox: the sandbox is stopped", 0) end
  if self._lost then error("cxcloud.sandbox: " .. self._lost, 0) end
  -- one exchange at a time on the socket: inside a controller, another coroutine's call may
  -- be waiting for its answer
  while self._busy do
    self._idle = self._idle or require("cqueues.condition").new()
    self._idle:wait()
  end
  self._busy = true
  local answer, err = control.send(self._conn, { name, arg })
  if answer then answer, err = control.receive(self._conn, 30) end
  self._busy = false
  if self._idle then self._idle:signal() end
  if type(answer) ~= "table" then
    -- a failed exchange leaves the socket out of step: close it (the server stops)
    pcall(self._conn.close, self._conn)
    self._lost = "the server is gone (" .. gone(self, err) .. ")"
    error("cxcloud.sandbox: " .. self._lost, 0)
  end
  if answer.error then error("cxcloud.sandbox: " .. tostring(answer.error), 0) end
  return answer.value
end

--- Options for `cxcloud.new`: credentials, the real base and token URLs, the CA
-- file and `connect_to` entries that send both hosts to the sandbox; merged with extra.
-- @tparam[opt] table extra
-- @treturn table
function Handle:client_options(extra)
  local t = {
    client_id = self.client_id, client_secret = self.client_secret,
    base_url = self.base_url, token_url = self.token_url, ca_file = self.ca_file,
    connect_to = { self.connect_to[1], self.connect_to[2] },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

--- Environment variables for a program that reads CXCLOUD_* (localhost URLs), and
-- CXCLOUD_TODAY, the sandbox's `today`: the date `cxcloud report` compares last dates of
-- support with, so that its counts agree with the data's milestones on any date.
-- @treturn table name -> value
function Handle:env()
  return {
    CXCLOUD_CLIENT_ID = self.client_id, CXCLOUD_CLIENT_SECRET = self.client_secret,
    CXCLOUD_BASE_URL = self.local_base_url, CXCLOUD_TOKEN_URL = self.local_token_url,
    CXCLOUD_CA_FILE = self.ca_file, CXCLOUD_TODAY = self.config.today,
  }
end

--- Replaces the fault script (see `cxcloud.sandbox.faults`). Returns the number of faults.
-- @tparam table list
-- @treturn integer
function Handle:faults(list)
  faults.validate(list or {})
  return self:_call("faults", list or {}).count
end

--- The fault script with its counters (`seen`, `fired`).
-- @treturn table
function Handle:fault_state()
  return self:_call("fault_state")
end

--- Request records in arrival order: `{seq, t, method, path, query, status, op,
-- customerId, page, rows, token_ok, throttled, fault, request_id, bytes, duration, total,
-- returned, client_auth, user_agent, accept_encoding, http_version ("1.1" or "2"), error}`.
-- `t` is the arrival time in seconds since the server started; a request still in
-- progress has no `status`/`duration` yet. No credential or token values.
-- @tparam[opt] integer since only records with seq > since
-- @treturn table
function Handle:log(since)
  local recs = self:_call("log", { since = since and math.tointeger(since) })
  if type(recs) ~= "table" then return {} end
  for _, r in ipairs(recs) do r.query = r.query or {} end
  return recs
end

--- Drops the request log.
function Handle:clear_log()
  self:_call("clear_log")
end

--- Changes run-time options; returns the run-time options now in force.
-- @tparam table changes
-- @treturn table
function Handle:set(changes)
  config.runtime(changes, self.config)
  local res = self:_call("set", changes)
  for k, v in pairs(changes) do self.config[k] = v end
  if changes.entitled then
    self.customers = {}
    for i, ci in ipairs(changes.entitled) do self.customers[i] = self.all_customers[ci] end
  end
  return res
end

--- Expires every issued token (or the one given). Returns how many.
-- @tparam[opt] string token
-- @treturn integer
function Handle:expire_tokens(token)
  return self:_call("expire_tokens", { access_token = token }).count
end

--- Revokes every issued token (or the one given). Returns how many.
-- @tparam[opt] string token
-- @treturn integer
function Handle:revoke_tokens(token)
  return self:_call("revoke_tokens", { access_token = token }).count
end

--- Issued tokens `{access_token, client_id, issued, expires_in, revoked, uses}`
-- (values included, e.g. to check that they leak nowhere).
-- @treturn table
function Handle:tokens()
  return self:_call("tokens")
end

--- Adds rows (drift): `{op = "hardware", customerId = id or index, count = n, at = "end"|"start"}`.
-- See `cxcloud.sandbox.data` for how other operations grow. Returns the rows added to
-- that operation and its new total.
-- @tparam table spec
-- @treturn integer added
-- @treturn integer total
function Handle:add_rows(spec)
  local r = self:_call("add_rows", spec)
  return r.added, r.total
end

--- Removes rows (drift): `{op = "hardware", customerId = id or index, count = n, at =
-- "end"|"start"}`. For hardware exactly n rows; other per-customer operations lose whole
-- devices, at least n of their rows; contracts and catalogues exactly n (see
-- `cxcloud.sandbox.data`). Returns the rows removed from that operation and its new total.
-- @tparam table spec
-- @treturn integer removed
-- @treturn integer total
function Handle:remove_rows(spec)
  local r = self:_call("remove_rows", spec)
  return r.removed, r.total
end

--- Changes field values of rows (drift): `{op = "network_elements", customerId = id or
-- index, count = n}` (no customerId for customers and the catalogues). Identities never
-- change; which fields do, per operation, is in `cxcloud.sandbox.data`. Returns the keys
-- of the changed rows (`{field = value as a string}` over the operation's natural key,
-- in row order; fewer than n when the operation has fewer rows) and the names of the
-- fields that change.
-- @tparam table spec
-- @treturn table keys
-- @treturn table fields
function Handle:change_rows(spec)
  local r = self:_call("change_rows", spec)
  return r.keys or {}, r.fields or {}
end

--- Counters: `{token_requests, api_requests, other_requests, by_status = {["200"] = n},
-- connections, handshakes, throttled, faults_fired, inflight, peak_inflight,
-- bytes_sent, tokens_issued, uptime}`. `connections` counts TCP connections accepted
-- on the API port, `handshakes` TLS handshakes on it (control requests never use it).
-- @treturn table
function Handle:stats()
  local s = self:_call("stats")
  s.by_status = s.by_status or {}
  return s
end

--- Zeroes the counters.
function Handle:reset_stats()
  self:_call("reset_stats")
end

--- Server state: `{mutations = {...}, additions = {...}, options = {...}}`: every
-- mutation in order (`{kind = "add"|"remove"|"change", op, customerId, count, at}`; start
-- a sandbox with the same options and `mutations` to get the same data), and the
-- additions alone (the older form).
-- @treturn table
function Handle:state()
  local s = self:_call("state")
  s.mutations = s.mutations or {}
  s.additions = s.additions or {}
  return s
end

--- The items the server returns now for a query (drift included), computed in this
-- thread. See `sandbox.truth`.
-- @tparam string op
-- @param[opt] customerId id string or customer index
-- @tparam[opt] table params
-- @treturn table items
-- @treturn table pagination
function Handle:truth(op, customerId, params)
  -- the server's mutations include those of the options `additions` and `mutations`
  local mutations = self:state().mutations
  local cache = self._truth
  if not cache or #mutations < cache.n then
    cache = { ds = data.new(self.config), n = 0 }
    self._truth = cache
  end
  for i = cache.n + 1, #mutations do cache.ds:replay { mutations[i] } end
  cache.n = #mutations
  return items(cache.ds, op, customerId, params)
end

--- Stops the server and waits for its thread; removes the directory if `start` created
-- it. Idempotent; also called on `<close>` and, without the wait inside a cqueues
-- controller, on garbage collection.
function Handle:stop()
  if self._stopped then return true end
  self._stopped = true
  -- the end of its socket is what stops the server
  pcall(self._conn.close, self._conn)
  if not cqueues.running() or coroutine.isyieldable() then self._thread:join(5) end
  if self._own_dir then
    os.remove(self.dir .. "/ca.pem")
    os.remove(self.dir)
  end
  return true
end

Handle.__gc = Handle.stop
Handle.__close = Handle.stop

-- -----------------------------------------------------------------------------
-- start

--- The directory for ca.pem: `dir`, made when missing, else a new temporary one.
-- @tparam[opt] string dir
-- @treturn string the directory
-- @treturn boolean whether it is a new temporary one (for its owner to remove)
function sandbox.directory(dir)
  if dir then
    os.execute("mkdir -p " .. shell_quote(dir) .. " 2>/dev/null")
    return dir, false
  end
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/cxcloud-sandbox.XXXXXX\"")
  local d = p and p:read("l")
  if p then p:close() end
  if not d or d == "" then error("cxcloud.sandbox: cannot create a temporary directory", 0) end
  return d, true
end

-- The server thread's function: a fresh Lua state, which gets the caller's module paths.
-- (Dumped to bytecode by cqueues.thread: no upvalues but _ENV.)
local function server_thread(sock, path, cpath, options)
  package.path, package.cpath = path, cpath
  require("cxcloud.sandbox.control").run(sock, options)
end

--- Starts a sandbox server in a thread of this process and waits until it listens.
-- Raises on a bad option (naming it) or when the server does not start within
-- `startup_timeout` seconds (with its reason).
-- @tparam[opt] table opts options (see the module description)
-- @treturn table handle: `port, dir, ca_file, client_id, client_secret, base_url,
--   token_url, connect_to, local_base_url, local_token_url, customers, all_customers,
--   config` and the methods above
function sandbox.start(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("cxcloud.sandbox.start: options must be a table", 2)
  end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.control_port ~= nil then
    error("cxcloud.sandbox.start: option 'control_port' is not accepted here: the handle reaches"
      .. " its server over a private socket (the command line's --control-port opens an"
      .. " HTTPS control port)", 2)
  end
  if o.client_id == nil or o.client_secret == nil then
    local id, secret = sandbox.credentials()
    o.client_id = o.client_id or id
    o.client_secret = o.client_secret or secret
  end
  if o.faults then faults.validate(o.faults) end
  local cfg = config.normalize(o)
  local dir, own_dir = sandbox.directory(cfg.dir)
  cfg.dir = dir
  local probe = io.open(dir .. "/ca.pem", "ab")
  if not probe then
    error("cxcloud.sandbox.start: bad option 'dir' (" .. dir .. "): expected a writable directory", 2)
  end
  probe:close()
  local th, sock = thread.start(server_thread, package.path, package.cpath, json.encode_plain(cfg))
  local sb = setmetatable({
    dir = dir, _conn = control.channel(sock), _thread = th, _own_dir = own_dir,
    client_id = cfg.client_id, client_secret = cfg.client_secret,
    base_url = sandbox.BASE_URL, token_url = sandbox.TOKEN_URL,
  }, Handle)
  local state, err = control.receive(sock, cfg.startup_timeout)
  if type(state) ~= "table" or state.error then
    err = state and state.error or gone(sb, err)
    sb:stop()
    error("cxcloud.sandbox.start: " .. tostring(err):gsub("^cxcloud%.sandbox: ", ""), 2)
  end
  sb.port = state.port
  sb.ca_file = dir .. "/ca.pem"
  local p = tostring(sb.port)
  sb.connect_to = { sandbox.API_HOST .. ":443:127.0.0.1:" .. p, sandbox.TOKEN_HOST .. ":443:127.0.0.1:" .. p }
  sb.local_base_url = "https://localhost:" .. p .. sandbox.API_PREFIX
  sb.local_token_url = "https://localhost:" .. p .. sandbox.TOKEN_PATH
  sb.config = cfg
  local ds = data.new(cfg)
  sb.all_customers = ds:customer_ids()
  sb.customers = {}
  for i, ci in ipairs(ds:entitled()) do sb.customers[i] = sb.all_customers[ci] end
  return sb
end

-- -----------------------------------------------------------------------------
-- truth

local truth_cache = setmetatable({}, { __mode = "k" })

--- The exact items the server would return for a query, computed in this thread by
-- the same generator: `op` is the contract method name ("hardware", ...),
-- `customerId` an id string or a customer index (nil for customer-details and the
-- bulletins), `params` the API's query parameters (filters, `sort`, `fields`; with
-- `page` and `rows` only that page). JSON nulls are absent; IDs as a client decodes
-- them (strings of their digits).
-- The drift listed in `config.additions`, then in `config.mutations`, is applied; for a
-- running sandbox use `sb:truth(...)`, which includes the drift made since start.
-- @tparam table cfg options as given to `start` (or `sb.config`)
-- @tparam string op
-- @param[opt] customerId
-- @tparam[opt] table params
-- @treturn table items
-- @treturn table pagination `{page, pages, rows, total}`
function sandbox.truth(cfg, op, customerId, params)
  local entry = truth_cache[cfg]
  local adds, muts = cfg.additions or {}, cfg.mutations or {}
  -- replayed incrementally while the lists only grow, additions first
  if not entry or #adds < entry.na or #muts < entry.nm or (#adds > entry.na and entry.nm > 0) then
    entry = { ds = data.new(config.normalize(cfg)), na = 0, nm = 0 }
    truth_cache[cfg] = entry
  end
  for i = entry.na + 1, #adds do entry.ds:replay { adds[i] } end
  for i = entry.nm + 1, #muts do entry.ds:replay { muts[i] } end
  entry.na, entry.nm = #adds, #muts
  return items(entry.ds, op, customerId, params)
end

return sandbox
