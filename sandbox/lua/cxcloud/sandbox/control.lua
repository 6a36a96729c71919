--- The sandbox's control requests, and the two ways they arrive.
--
-- One table of requests (`control.call(srv, name, arg)`), reached:
--
-- * by the handle of `cxcloud.sandbox.start`, whose server runs in a thread of the same
--   process: `control.run` starts the server in that thread and takes the requests on the
--   socket pair of `cqueues.thread`, one JSON line each way (`control.send`,
--   `control.receive`): first `{"port": n}` or `{"error": "..."}` (the server listens, or why
--   not), then for each request `[name, arg]` an answer `{"value": ...}` or `{"error": "..."}`.
--   The end of that socket stops the server.
-- * over HTTPS, by anyone who holds the admin key, on the second listener that only the
--   command line opens (`cxcloud sandbox`: nothing else can reach a standalone server).
--   Every request carries `X-Sandbox-Key: <admin key>` (403 otherwise):
--
--   GET  /_sandbox/ping              {"ok":true,"pid":...}                      ping
--   GET  /_sandbox/log?since=N       request records after sequence number N   log
--   POST /_sandbox/log/clear         drop the records                          clear_log
--   GET  /_sandbox/faults            the fault script with its counters        fault_state
--   PUT  /_sandbox/faults            replace the fault script (JSON array)      faults
--   POST /_sandbox/set               change run-time options (JSON object)      set
--   GET  /_sandbox/tokens            issued tokens (values included)           tokens
--   POST /_sandbox/tokens/expire     expire every token (or {"access_token"})  expire_tokens
--   POST /_sandbox/tokens/revoke     revoke every token (or {"access_token"})  revoke_tokens
--   POST /_sandbox/rows              add rows: {"op","customerId","count","at"} add_rows
--   POST /_sandbox/rows/add          the same                                  add_rows
--   POST /_sandbox/rows/remove       remove rows: {"op","customerId","count","at"} remove_rows
--   POST /_sandbox/rows/change       change values: {"op","customerId","count"} change_rows
--   GET  /_sandbox/stats             counters                                  stats
--   POST /_sandbox/stats/reset       zero the counters                         reset_stats
--   GET  /_sandbox/state             {"mutations", "additions", "options"}     state
--   POST /_sandbox/stop              stop the server                           stop
-- @module cxcloud.sandbox.control

local cjson = require "cjson.safe"
local errno = require "cqueues.errno"

local config = require "cxcloud.sandbox.config"
local faults = require "cxcloud.sandbox.faults"
local auth = require "cxcloud.sandbox.auth"
local json = require "cxcloud.sandbox.json"

local control = {}

-- a request error the caller made (HTTP 400), as opposed to a server failure (500)
local function bad(message)
  error({ status = 400, message = message }, 0)
end

local function json_safe(v)
  if type(v) ~= "table" then
    if v == math.huge then return -1 end
    return v
  end
  local t = {}
  for k, x in pairs(v) do
    if type(x) ~= "function" and type(x) ~= "userdata" then t[k] = json_safe(x) end
  end
  return t
end

local function runtime_options(srv)
  local out = {}
  for k, s in pairs(config.spec) do
    if s.runtime then out[k] = srv.cfg[k] end
  end
  return out
end

local function checked(f, ...)
  local res = table.pack(pcall(f, ...))
  if not res[1] then bad(tostring(res[2])) end
  return table.unpack(res, 2, res.n)
end

local function token_arg(arg)
  return type(arg) == "table" and type(arg.access_token) == "string" and arg.access_token or nil
end

local requests = {}

function requests.ping(srv)
  return { ok = true, pid = require("cxcloud.sandbox.server").pid(), port = srv.port }
end

function requests.log(srv, arg)
  return srv:records(math.tointeger(tonumber(type(arg) == "table" and arg.since or 0)) or 0)
end

function requests.clear_log(srv)
  srv:clear_log()
  return { ok = true }
end

function requests.fault_state(srv)
  return faults.describe(srv.script)
end

function requests.faults(srv, list)
  srv.script = checked(faults.validate, list or {})
  return { ok = true, count = #srv.script }
end

function requests.set(srv, changes)
  local res = checked(config.runtime, changes or {}, srv.cfg)
  for k, v in pairs(res) do srv.cfg[k] = v end
  if res.rate_limit or res.rate_burst or res.daily_quota then srv.gate:reset() end
  return runtime_options(srv)
end

function requests.tokens(srv)
  return srv.tokens:list()
end

function requests.expire_tokens(srv, arg)
  return { count = srv.tokens:expire(token_arg(arg)) }
end

function requests.revoke_tokens(srv, arg)
  return { count = srv.tokens:revoke(token_arg(arg)) }
end

-- the customer index of a rows request (nil without customerId)
local function rows_customer(srv, name, b)
  if type(b) ~= "table" then bad(name .. " expects {op=, customerId=, count=, at=}") end
  if b.customerId == nil then return nil end
  local ci = type(b.customerId) == "number" and math.tointeger(b.customerId)
    or srv.ds:customer_index(tostring(b.customerId))
  if not ci then bad("unknown customerId " .. tostring(b.customerId)) end
  return ci
end

function requests.add_rows(srv, b)
  local ci = rows_customer(srv, "add_rows", b)
  local added = checked(srv.ds.add, srv.ds, b.op, ci, math.tointeger(b.count or 1), b.at)
  return { added = added, total = srv.ds:source(b.op, ci).count }
end

function requests.remove_rows(srv, b)
  local ci = rows_customer(srv, "remove_rows", b)
  local removed = checked(srv.ds.remove, srv.ds, b.op, ci, math.tointeger(b.count or 1), b.at)
  return { removed = removed, total = srv.ds:source(b.op, ci).count }
end

function requests.change_rows(srv, b)
  local ci = rows_customer(srv, "change_rows", b)
  local keys, fields = checked(function() return srv.ds:change(b.op, ci, math.tointeger(b.count or 1)) end)
  return { changed = #keys, keys = keys, fields = fields }
end

function requests.stats(srv)
  local s = json_safe(srv.stats)
  s.uptime = srv:now()
  s.tokens_issued = srv.tokens.count
  return s
end

function requests.reset_stats(srv)
  srv:reset_stats()
  return { ok = true }
end

function requests.state(srv)
  return { mutations = json_safe(srv.ds.mutations), additions = json_safe(srv.ds.additions),
    options = runtime_options(srv) }
end

function requests.stop(srv)
  srv:stop()
  return { ok = true }
end

--- Performs one control request. Raises `{status = 400, message = ...}` for a bad
-- request, or `{status = 404, ...}` for an unknown name.
-- @tparam table srv the server
-- @tparam string name a request name (see the module description)
-- @param[opt] arg its argument (a plain Lua value)
-- @return the answer, a plain Lua value
function control.call(srv, name, arg)
  local f = requests[name]
  if not f then error({ status = 404, message = "unknown control request " .. tostring(name) }, 0) end
  return f(srv, arg)
end

local function message(e)
  if type(e) == "table" then return tostring(e.message) end
  return tostring(e)
end

-- -----------------------------------------------------------------------------
-- The handle's socket

--- Prepares a cqueues socket for `send` and `receive`: errors (a reset, a timeout) are
-- returned, not raised, and a line may be as long as a whole request log (cqueues' limit is
-- 4 KiB).
-- @param sock cqueues socket
-- @return sock
function control.channel(sock)
  sock:onerror(function(_, _, why) return why end)
  sock:setmaxline(256 * 1024 * 1024)
  return sock
end

--- Writes `value` as one line of JSON.
-- @param sock cqueues socket from `control.channel`
-- @param value a plain Lua value
-- @treturn boolean|nil true, or nil and an error
function control.send(sock, value)
  local line = cjson.encode(value) or cjson.encode { error = "cannot encode the answer" }
  local ok, err = sock:xwrite(line .. "\n", "bn")
  if not ok then return nil, errno.strerror(err) or tostring(err) end
  return true
end

--- Reads one line of JSON; nil and an error at the end of the socket, on a timeout or bad JSON.
-- @param sock cqueues socket from `control.channel`
-- @tparam[opt] number timeout seconds
-- @return the value, a plain Lua value (JSON null: nil; integral numbers: integers)
-- @treturn string error
function control.receive(sock, timeout)
  local line, err = sock:xread("*l", timeout)
  if not line then return nil, err == nil and "end of file" or errno.strerror(err) or tostring(err) end
  return json.decode_plain(line)
end

--- The server thread of `cxcloud.sandbox.start`: starts a server with `options` (JSON),
-- reports its port (or why it cannot listen) on `sock`, serves control requests from it
-- until its end, then stops.
-- @param sock the thread's end of the socket pair
-- @tparam string options the normalised options, as JSON
function control.run(sock, options)
  collectgarbage("generational")
  control.channel(sock)
  local server = require "cxcloud.sandbox.server"
  local cfg = json.decode_plain(options)
  local ok, srv = pcall(function()
    local s = server.new(cfg)
    s:listen()
    s:write_ca(cfg.dir)
    return s
  end)
  if not ok then
    control.send(sock, { error = tostring(srv) })
    return
  end
  control.send(sock, { port = srv.port })
  srv.cq:wrap(function()
    while true do
      local req = control.receive(sock)
      if type(req) ~= "table" then break end
      local done, res = pcall(control.call, srv, req[1], req[2])
      if not control.send(sock, done and { value = res } or { error = message(res) }) then break end
    end
    srv:stop()
  end)
  srv:loop()
end

-- -----------------------------------------------------------------------------
-- HTTPS (the command line's control listener)

local ROUTES = {
  ["GET /_sandbox/ping"] = "ping", ["GET /_sandbox/log"] = "log",
  ["POST /_sandbox/log/clear"] = "clear_log", ["GET /_sandbox/faults"] = "fault_state",
  ["PUT /_sandbox/faults"] = "faults", ["POST /_sandbox/set"] = "set",
  ["GET /_sandbox/tokens"] = "tokens", ["POST /_sandbox/tokens/expire"] = "expire_tokens",
  ["POST /_sandbox/tokens/revoke"] = "revoke_tokens", ["POST /_sandbox/rows"] = "add_rows",
  ["POST /_sandbox/rows/add"] = "add_rows", ["POST /_sandbox/rows/remove"] = "remove_rows",
  ["POST /_sandbox/rows/change"] = "change_rows",
  ["GET /_sandbox/stats"] = "stats", ["POST /_sandbox/stats/reset"] = "reset_stats",
  ["GET /_sandbox/state"] = "state", ["POST /_sandbox/stop"] = "stop",
}

local function reply(stream, status, value)
  local http_headers = require "http.headers"
  local body = cjson.encode(value) or cjson.encode { error = "cannot encode the answer" }
  local h = http_headers.new()
  h:append(":status", tostring(status))
  h:append("content-type", "application/json")
  h:append("content-length", tostring(#body))
  stream:write_headers(h, false)
  stream:write_chunk(body, true)
end

local function read_json(stream)
  local body = stream:get_body_as_string(30)
  if body == nil or body == "" then return nil end
  local v, err = json.decode_plain(body)
  if v == nil and err then bad("bad JSON body: " .. tostring(err)) end
  return v
end

--- Handles one request on the HTTPS control listener.
-- @tparam table srv the server
-- @param stream lua-http server stream
function control.on_stream(srv, stream)
  local headers = stream:get_headers(30)
  if not headers then return end
  if headers:get("x-sandbox-key") ~= srv.cfg.admin_key then
    return reply(stream, 403, { error = "missing or wrong X-Sandbox-Key" })
  end
  local path, qs = (headers:get(":path") or "/"):match("^([^?]*)%??(.*)$")
  local name = ROUTES[(headers:get(":method") or "") .. " " .. path]
  if not name then return reply(stream, 404, { error = "unknown control request " .. path }) end
  local ok, res = pcall(function()
    local arg = name == "log" and auth.parse_form(qs) or read_json(stream)
    return control.call(srv, name, arg)
  end)
  if not ok then
    return reply(stream, type(res) == "table" and res.status or 500, { error = message(res) })
  end
  return reply(stream, 200, res)
end

return control
