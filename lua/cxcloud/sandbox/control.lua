--- The control endpoint of the sandbox (second HTTPS listener, `/_sandbox/...`).
--
-- Every request must carry the header `X-Sandbox-Key: <admin key>` (403 otherwise).
-- Bodies and answers are JSON.
--
--   GET  /_sandbox/ping              {"ok":true,"pid":...}
--   GET  /_sandbox/log?since=N       request records after sequence number N
--   POST /_sandbox/log/clear         drop the records
--   GET  /_sandbox/faults            the fault script with its counters
--   PUT  /_sandbox/faults            replace the fault script (JSON array)
--   POST /_sandbox/set               change run-time options (JSON object)
--   GET  /_sandbox/tokens            issued tokens (values included: admin only)
--   POST /_sandbox/tokens/expire     expire every token (or {"access_token": "..."})
--   POST /_sandbox/tokens/revoke     revoke every token (or {"access_token": "..."})
--   POST /_sandbox/rows              add rows: {"op","customerId","count","at"}
--   GET  /_sandbox/stats             counters
--   POST /_sandbox/stats/reset       zero the counters
--   GET  /_sandbox/state             {"additions": [...], "options": {...}}
--   POST /_sandbox/stop              stop the server
-- @module cxcloud.sandbox.control

local cjson = require "cjson.safe"
local http_headers = require "http.headers"

local config = require "cxcloud.sandbox.config"
local faults = require "cxcloud.sandbox.faults"
local auth = require "cxcloud.sandbox.auth"
local json = require "cxcloud.sandbox.json"

local control = {}

local function reply(stream, status, value)
  local body, err = cjson.encode(value)
  if not body then
    status, body = 500, cjson.encode { error = "cannot encode the answer: " .. tostring(err) }
  end
  local h = http_headers.new()
  h:append(":status", tostring(status))
  h:append("content-type", "application/json")
  h:append("content-length", tostring(#body))
  stream:write_headers(h, false)
  stream:write_chunk(body, true)
end

local function read_json(stream)
  local body = stream:get_body_as_string(30)
  if body == nil or body == "" then return {} end
  local v, err = json.decode_plain(body)
  if v == nil and err then error({ status = 400, message = "bad JSON body: " .. tostring(err) }, 0) end
  return v or {}
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

local handlers = {}

handlers["GET /_sandbox/ping"] = function(srv)
  return 200, { ok = true, pid = require("cxcloud.sandbox.server").pid(), port = srv.port }
end

handlers["GET /_sandbox/log"] = function(srv, _, params)
  return 200, srv:records(math.tointeger(tonumber(params.since or "0")) or 0)
end

handlers["POST /_sandbox/log/clear"] = function(srv)
  srv:clear_log()
  return 200, { ok = true }
end

handlers["GET /_sandbox/faults"] = function(srv)
  return 200, faults.describe(srv.script)
end

handlers["PUT /_sandbox/faults"] = function(srv, stream)
  local list = read_json(stream)
  local ok, res = pcall(faults.validate, list)
  if not ok then return 400, { error = tostring(res) } end
  srv.script = res
  return 200, { ok = true, count = #res }
end

handlers["POST /_sandbox/set"] = function(srv, stream)
  local changes = read_json(stream)
  local ok, res = pcall(config.runtime, changes, srv.cfg)
  if not ok then return 400, { error = tostring(res) } end
  for k, v in pairs(res) do srv.cfg[k] = v end
  if res.rate_limit or res.rate_burst or res.daily_quota then srv.gate:reset() end
  return 200, runtime_options(srv)
end

handlers["GET /_sandbox/tokens"] = function(srv)
  return 200, srv.tokens:list()
end

handlers["POST /_sandbox/tokens/expire"] = function(srv, stream)
  local b = read_json(stream)
  return 200, { count = srv.tokens:expire(type(b.access_token) == "string" and b.access_token or nil) }
end

handlers["POST /_sandbox/tokens/revoke"] = function(srv, stream)
  local b = read_json(stream)
  return 200, { count = srv.tokens:revoke(type(b.access_token) == "string" and b.access_token or nil) }
end

handlers["POST /_sandbox/rows"] = function(srv, stream)
  local b = read_json(stream)
  local ci
  if b.customerId ~= nil then
    ci = type(b.customerId) == "number" and math.tointeger(b.customerId)
      or srv.ds:customer_index(tostring(b.customerId))
    if not ci then return 400, { error = "unknown customerId " .. tostring(b.customerId) } end
  end
  local ok, added = pcall(srv.ds.add, srv.ds, b.op, ci, math.tointeger(b.count or 1), b.at)
  if not ok then return 400, { error = tostring(added) } end
  local src = srv.ds:source(b.op, ci)
  return 200, { added = added, total = src.count }
end

handlers["GET /_sandbox/stats"] = function(srv)
  local s = json_safe(srv.stats)
  s.uptime = srv:now()
  s.tokens_issued = srv.tokens.count
  return 200, s
end

handlers["POST /_sandbox/stats/reset"] = function(srv)
  srv:reset_stats()
  return 200, { ok = true }
end

handlers["GET /_sandbox/state"] = function(srv)
  return 200, { additions = json_safe(srv.ds.additions), options = runtime_options(srv) }
end

handlers["POST /_sandbox/stop"] = function(srv)
  srv:stop()
  return 200, { ok = true }
end

--- Handles one request on the control listener.
-- @tparam table srv the server
-- @param stream lua-http server stream
function control.on_stream(srv, stream)
  local headers = stream:get_headers(30)
  if not headers then return end
  if headers:get("x-sandbox-key") ~= srv.cfg.admin_key then
    return reply(stream, 403, { error = "missing or wrong X-Sandbox-Key" })
  end
  local raw = headers:get(":path") or "/"
  local path, qs = raw:match("^([^?]*)%??(.*)$")
  local h = handlers[(headers:get(":method") or "") .. " " .. path]
  if not h then return reply(stream, 404, { error = "unknown control request " .. path }) end
  local ok, status, value = pcall(h, srv, stream, auth.parse_form(qs))
  if not ok then
    local e = status
    if type(e) == "table" then return reply(stream, e.status or 500, { error = e.message }) end
    return reply(stream, 500, { error = tostring(e) })
  end
  return reply(stream, status, value)
end

return control
