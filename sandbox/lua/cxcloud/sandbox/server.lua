--- The sandbox HTTPS server: token endpoint, the 14 API operations, gateway
-- emulation, fault injection, request log and statistics.
--
-- Runs on cqueues + lua-http, HTTP/1.1 over TLS (HTTP/2 offered through ALPN only
-- with `http2 = true`; HTTP/2 header blocks are encoded by `cxcloud.sandbox.hpack`, since
-- lua-http's encoder breaks connections), keep-alive, bound to 127.0.0.1. Control requests
-- (`cxcloud.sandbox.control`) never use the API port, so they never show in its statistics:
-- a server started by `cxcloud.sandbox.start` takes them on its thread's socket, the
-- command line's on a second HTTPS listener (`listen_control`).
-- @module cxcloud.sandbox.server

local cqueues = require "cqueues"
local http_server = require "http.server"
local http_headers = require "http.headers"
local http_util = require "http.util"

local config = require "cxcloud.sandbox.config"
local data = require "cxcloud.sandbox.data"
local ops = require "cxcloud.sandbox.ops"
local query = require "cxcloud.sandbox.query"
local json = require "cxcloud.sandbox.json"
local tls = require "cxcloud.sandbox.tls"
local auth = require "cxcloud.sandbox.auth"
local gateway = require "cxcloud.sandbox.gateway"
local faults = require "cxcloud.sandbox.faults"
local control = require "cxcloud.sandbox.control"
local hpack = require "cxcloud.sandbox.hpack"

local monotime = cqueues.monotime
local fmt, concat = string.format, table.concat

local server = {}

local API_PREFIX, TOKEN_PATH = ops.API_PREFIX, ops.TOKEN_PATH
local MAX_TOKEN_BODY = 65536

-- the fault actions that change the data before serving: dataset method, log record field
local MUTATIONS = { add_rows = { "add", "added" }, remove_rows = { "remove", "removed" },
  change_rows = { "change", "changed" } }

local Server = {}
Server.__index = Server

--- Creates a server (not yet listening) from options. `client_id` and `client_secret`
-- must be set (`cxcloud.sandbox.start` and the command line generate them).
-- @tparam table opts options (see `cxcloud.sandbox.config`)
-- @treturn table server
function server.new(opts)
  local cfg = config.normalize(opts)
  for _, k in ipairs({ "client_id", "client_secret" }) do
    if not cfg[k] then error("cxcloud.sandbox: option '" .. k .. "' is required by the server", 0) end
  end
  local self = setmetatable({ cfg = cfg }, Server)
  self.cq = cqueues.new()
  self.t0 = monotime()
  self.ds = data.new(cfg)
  self.ds:replay(cfg.additions)
  self.ds:replay(cfg.mutations)
  self.tokens = auth.store(monotime)
  self.gate = gateway.new(cfg, monotime, cfg.seed)
  self.script = faults.validate(cfg.faults or {})
  self.log, self.log_first, self.log_next = {}, 1, 1
  self.seq = 0
  self:reset_stats()
  self.certs = tls.generate()
  return self
end

--- Zeroes the statistics.
function Server:reset_stats()
  self.stats = { token_requests = 0, api_requests = 0, other_requests = 0, by_status = {},
    connections = 0, handshakes = 0, throttled = 0, faults_fired = 0, inflight = 0,
    peak_inflight = 0, bytes_sent = 0 }
end

local function onerror(self)
  return function(_, _, op, err)
    if not self.cfg.quiet then
      io.stderr:write(fmt("cxcloud sandbox: %s: %s\n", tostring(op), tostring(err)))
    end
  end
end

-- an HTTPS listener on 127.0.0.1:port (0 = any free port) in the server's controller
local function open(self, port, handler, context, version)
  local srv, err = http_server.listen {
    host = "127.0.0.1", port = port, tls = true, ctx = context, cq = self.cq, version = version,
    reuseaddr = true, intra_stream_timeout = self.cfg.keepalive, connection_setup_timeout = 10,
    onstream = function(_, stream) handler(self, stream) end,
    onerror = onerror(self),
  }
  local ok, lerr = false, err
  if srv then ok, lerr = srv:listen() end
  if not ok then
    error("cxcloud.sandbox: cannot listen on 127.0.0.1:" .. port .. ": " .. tostring(lerr), 0)
  end
  local _, _, bound = srv:localname()
  return srv, bound
end

--- Binds the API listener (option `port`; 0 = any free port).
-- @treturn integer API port
function Server:listen()
  local cfg = self.cfg
  -- lua-http's HPACK encoder breaks HTTP/2 connections (see cxcloud.sandbox.hpack)
  hpack.install()
  local ctx = tls.server_context(self.certs, cfg.http2, function()
    self.stats.handshakes = self.stats.handshakes + 1
  end)
  self.http, self.port = open(self, cfg.port, Server.on_stream, ctx, not cfg.http2 and 1.1 or nil)
  local add = self.http.add_socket
  self.http.add_socket = function(srv, sock)
    self.stats.connections = self.stats.connections + 1
    return add(srv, sock)
  end
  return self.port
end

--- Binds the HTTPS control listener (option `control_port`; option `admin_key` is the key
-- its requests must present), for a server that has no handle to take control requests
-- from (the command line's).
-- @treturn integer control port
function Server:listen_control()
  if not self.cfg.admin_key then
    error("cxcloud.sandbox: the control listener needs option 'admin_key'", 0)
  end
  self.ctl, self.control_port = open(self, self.cfg.control_port, control.on_stream,
    tls.server_context(self.certs, false), 1.1)
  return self.control_port
end

--- Seconds since the server started.
-- @treturn number
function Server:now()
  return monotime() - self.t0
end

-- -----------------------------------------------------------------------------
-- Log

local function redact_value(self, v)
  local secret = self.cfg.client_secret
  if type(v) ~= "string" then return v end
  if v:find(secret, 1, true) or self.tokens.tokens[v] then return "[REDACTED]" end
  for tok in v:gmatch("[%w%-_]+") do
    if #tok >= 20 and self.tokens.tokens[tok] then return "[REDACTED]" end
  end
  return v
end

local SECRET_NAMES = { client_secret = true, access_token = true, token = true, password = true,
  secret = true, authorization = true }

local function redact_query(self, params)
  local out = {}
  for k, v in pairs(params) do
    if SECRET_NAMES[tostring(k):lower()] then
      out[k] = "[REDACTED]"
    else
      out[k] = redact_value(self, v)
    end
  end
  return out
end

function Server:push_log(rec)
  self.log[self.log_next] = rec
  rec.seq = self.log_next
  self.log_next = self.log_next + 1
  while self.log_next - self.log_first > self.cfg.log_limit do
    self.log[self.log_first] = nil
    self.log_first = self.log_first + 1
  end
end

--- Log records with sequence number > since (all by default), oldest first.
-- @tparam[opt] integer since
-- @treturn table
function Server:records(since)
  local out = {}
  for i = math.max(self.log_first, (since or 0) + 1), self.log_next - 1 do
    local r = {}
    for k, v in pairs(self.log[i]) do
      if k:sub(1, 1) ~= "_" then r[k] = v end -- "_" fields are internal (fault, ...)
    end
    out[#out + 1] = r
  end
  return out
end

--- Drops every log record.
function Server:clear_log()
  self.log, self.log_first = {}, self.log_next
end

-- -----------------------------------------------------------------------------
-- Responses

-- unique per server (random prefix) and per request (counter)
local function request_id(self)
  self.seq = self.seq + 1
  if not self.rid_prefix then
    local b = require("openssl.rand").bytes(6)
    self.rid_prefix = fmt("%02x%02x%02x%02x-%02x%02x", b:byte(1, 6))
  end
  local r = math.random
  return fmt("%s-4%03x-%04x-%012x", self.rid_prefix, r(0, 0xfff), 0x8000 | r(0, 0x3fff), self.seq)
end

local function base_headers(status, rec, ctype)
  local h = http_headers.new()
  h:append(":status", tostring(status))
  h:append("content-type", ctype or "application/json")
  h:append("date", http_util.imf_date())
  h:append("server", "Mashery Proxy")
  h:append("x-mashery-message-id", rec.request_id)
  return h
end

local function add_headers(h, extra)
  if not extra then return end
  for k, v in pairs(extra) do
    if type(v) == "table" then
      for _, x in ipairs(v) do h:append(tostring(k):lower(), tostring(x)) end
    else
      h:upsert(tostring(k):lower(), tostring(v))
    end
  end
end

-- closes the TCP connection under a stream without a proper end of message
local function close_abruptly(stream)
  local conn = stream.connection
  local sock = conn and conn.socket
  if sock then
    pcall(sock.shutdown, sock, "rw")
    pcall(conn.close, conn)
  end
end

function Server:delay(rec)
  local spec = rec._token and self.cfg.token_latency or self.cfg.latency
  local d = self.gate:delay(spec)
  if d > 0 then cqueues.sleep(d) end
end

function Server:count_status(rec, status)
  rec.status = status
  local k = tostring(status)
  self.stats.by_status[k] = (self.stats.by_status[k] or 0) + 1
end

--- Sends a complete response, applying the body faults of the request
-- (reset, truncate, stall during, invalid_json).
function Server:send(stream, rec, status, body, extra, ctype)
  self:delay(rec)
  local f = rec._fault
  local a = f and f.action
  if a == "invalid_json" and status < 400 then
    local cut = math.max(1, #body // 2)
    body = body:sub(1, cut) .. '\n<!-- upstream error -->{"data": [,'
  end
  local h = base_headers(status, rec, ctype)
  add_headers(h, extra)
  self:count_status(rec, status)
  if a == "reset" or a == "truncate" or (a == "stall" and f.during) then
    local part = math.min(#body, f.bytes or #body // 2)
    if a ~= "reset" then h:upsert("content-length", tostring(#body)) end
    assert(stream:write_headers(h, false))
    if part > 0 then assert(stream:write_chunk(body:sub(1, part), false)) end
    rec.bytes = part
    if a == "stall" then
      cqueues.sleep(f.during)
      assert(stream:write_chunk(body:sub(part + 1), true))
      rec.bytes = #body
    else
      cqueues.sleep(0.01)
      close_abruptly(stream)
    end
    self.stats.bytes_sent = self.stats.bytes_sent + rec.bytes
    return
  end
  h:upsert("content-length", tostring(#body))
  if #body == 0 then
    assert(stream:write_headers(h, true))
  else
    assert(stream:write_headers(h, false))
    assert(stream:write_chunk(body, true))
  end
  rec.bytes = #body
  self.stats.bytes_sent = self.stats.bytes_sent + #body
end

--- An API-style error: `{"status": n, "message": "..."}`.
function Server:fail(stream, rec, status, message, extra)
  rec.error = message
  return self:send(stream, rec, status, json.object("status", status, "message", message), extra)
end

function Server:throttle(stream, rec, status, code, retry_after, message)
  rec.throttled = true
  self.stats.throttled = self.stats.throttled + 1
  local extra = {}
  if status == 429 then
    extra["retry-after"] = retry_after ~= nil and tostring(retry_after) or "1"
  else
    extra["x-mashery-error-code"] = code or "ERR_403_DEVELOPER_OVER_QPS"
    if retry_after ~= nil then extra["retry-after"] = tostring(retry_after) end
  end
  local msg = message or (code == "ERR_403_DEVELOPER_OVER_RATE" and "Account Over Rate Limit"
    or "Account Over Queries Per Second Limit")
  return self:fail(stream, rec, status, msg, extra)
end

-- -----------------------------------------------------------------------------
-- Fault actions that answer on their own

local HTML = [[<!DOCTYPE html>
<html><head><title>%d %s</title></head>
<body><h1>%d %s</h1><p>The upstream server is temporarily unavailable.</p>
<hr><address>Mashery Proxy</address></body></html>
]]

function Server:fault_response(stream, rec, f)
  local a = f.action
  if a == "status" then
    local body = f.body or json.object("status", f.status, "message", "injected fault: HTTP " .. f.status)
    local ctype = f.content_type
    if not ctype and f.headers then
      for k, v in pairs(f.headers) do
        if tostring(k):lower() == "content-type" then ctype = v end
      end
    end
    local extra = {}
    for k, v in pairs(f.headers or {}) do
      if tostring(k):lower() ~= "content-type" then extra[k] = v end
    end
    if f.status >= 400 then rec.error = "injected fault" end
    self:send(stream, rec, f.status, body, extra, ctype)
    return true
  elseif a == "throttle" then
    local status = f.status or self.cfg.throttle_status
    local ra = f.retry_after
    if ra == nil and status == 429 then ra = self.cfg.retry_after end
    self:throttle(stream, rec, status, f.code, ra)
    return true
  elseif a == "html" then
    local status = f.status or 502
    local reason = status == 200 and "OK" or status == 502 and "Bad Gateway" or "Error"
    local body = f.body or fmt(HTML, status, reason, status, reason)
    self:send(stream, rec, status, body, nil, "text/html; charset=UTF-8")
    return true
  elseif a == "control_chars" then
    local status = f.status or 500
    local msg = "upstream failure \27[31mERROR\27[0m\r\nX-Injected: forged line\r\n\27]0;title\7\27[2J"
    self:send(stream, rec, status, json.object("status", status, "message", msg),
      { ["x-mashery-error-code"] = "ERR_500_\27[1mINTERNAL\27[0m",
        ["x-error-detail"] = "bad\27[31mred\27[0m\tvalue" })
    return true
  elseif a == "gzip_bomb" then
    local head, unit, count, tail = faults.gzip_bomb(f.size or 1 << 30)
    local h = base_headers(200, rec)
    h:append("content-encoding", "gzip")
    self:delay(rec)
    self:count_status(rec, 200)
    assert(stream:write_headers(h, false))
    -- the client is expected to hang up: stop at the first failed write
    local batch, sent = 4096, #head
    local ok = stream:write_chunk(head, false)
    while ok and count > 0 do
      local k = math.min(count, batch)
      ok = stream:write_chunk(unit:rep(k), false)
      count, sent = count - k, sent + k * #unit
    end
    if ok then stream:write_chunk(tail, true) end
    rec.bytes = sent
    self.stats.bytes_sent = self.stats.bytes_sent + sent
    return true
  end
  return false
end

-- -----------------------------------------------------------------------------
-- Token endpoint

local function read_body(stream, limit)
  local parts, n = {}, 0
  while true do
    local chunk, err = stream:get_next_chunk(30)
    if chunk == nil then
      if err then return nil, err end
      break
    end
    n = n + #chunk
    if n > limit then return nil, "too large" end
    parts[#parts + 1] = chunk
  end
  return concat(parts)
end

function Server:oauth_error(stream, rec, status, err, desc, extra)
  rec.error = err
  return self:send(stream, rec, status, json.object("error", err, "error_description", desc), extra)
end

function Server:token_endpoint(stream, headers, method, rec)
  self.stats.token_requests = self.stats.token_requests + 1
  if method ~= "POST" then
    return self:oauth_error(stream, rec, 405, "invalid_request", "The token endpoint accepts POST only",
      { allow = "POST" })
  end
  local body, err = read_body(stream, MAX_TOKEN_BODY)
  if not body then
    if err == "too large" then
      return self:oauth_error(stream, rec, 413, "invalid_request", "request body too large")
    end
    return
  end
  local ctype = (headers:get("content-type") or ""):lower()
  if not ctype:match("^%s*application/x%-www%-form%-urlencoded") then
    return self:oauth_error(stream, rec, 400, "invalid_request",
      "Content-Type must be application/x-www-form-urlencoded")
  end
  local form = auth.parse_form(body)
  local cfg = self.cfg
  local bid, bsecret = auth.parse_basic(headers:get("authorization"))
  local id, secret
  if bid then
    rec.client_auth = "basic"
    id, secret = bid, bsecret
    if id ~= cfg.client_id or secret ~= cfg.client_secret then
      -- RFC 6749 2.3.1: the id and secret are form-encoded before Basic encoding
      id, secret = auth.url_decode(bid, true), auth.url_decode(bsecret, true)
    end
    if (form.client_id and form.client_id ~= id) or (form.client_secret and form.client_secret ~= secret) then
      return self:oauth_error(stream, rec, 400, "invalid_request",
        "Client credentials were given both in the Authorization header and the body, and differ")
    end
  else
    rec.client_auth = "form"
    id, secret = form.client_id, form.client_secret
  end
  if id == nil or secret == nil then
    return self:oauth_error(stream, rec, 401, "invalid_client",
      "Client authentication failed: no credentials",
      { ["www-authenticate"] = 'Basic realm="cxcloud sandbox"' })
  end
  if id ~= cfg.client_id or secret ~= cfg.client_secret then
    return self:oauth_error(stream, rec, 401, "invalid_client",
      "Client authentication failed. Either the client or the client credentials are invalid.")
  end
  local grant = form.grant_type
  if grant == nil or grant == "" then
    return self:oauth_error(stream, rec, 400, "invalid_request", "The grant_type parameter is required")
  end
  if grant ~= "client_credentials" then
    return self:oauth_error(stream, rec, 400, "unsupported_grant_type",
      "The authorization grant type is not supported by the authorization server.")
  end
  if form.scope ~= nil and form.scope ~= "apis:read" then
    return self:oauth_error(stream, rec, 400, "invalid_scope", "The requested scope is invalid or unknown.")
  end
  rec.token_ok = true
  local lifetime = cfg.token_lifetime
  local tok = self.tokens:issue(id, lifetime)
  local body_out = json.object("token_type", "Bearer", "expires_in", math.tointeger(lifetime) or lifetime,
    "access_token", tok, "scope", "apis:read")
  return self:send(stream, rec, 200, body_out, { ["cache-control"] = "no-store", pragma = "no-cache" })
end

-- -----------------------------------------------------------------------------
-- API

function Server:unauthenticated(stream, rec)
  local status = self.cfg.unauthenticated_status
  if status == 403 then
    return self:fail(stream, rec, 403, "Not Authorized",
      { ["x-mashery-error-code"] = "ERR_403_NOT_AUTHORIZED" })
  end
  return self:fail(stream, rec, 401, "Missing access token: send Authorization: Bearer <token>",
    { ["www-authenticate"] = 'Bearer realm="' .. ops.API_HOST .. '"' })
end

local TOKEN_REASON = {
  unknown = "The access token is invalid",
  expired = "The access token expired",
  revoked = "The access token was revoked",
}

-- writes a whole result, streaming pieces of `chunk_rows` rows (chunked encoding)
function Server:stream_all(stream, rec, res, enc)
  self:delay(rec)
  local h = base_headers(200, rec)
  self:count_status(rec, 200)
  assert(stream:write_headers(h, false))
  local total, step = res.total, self.cfg.chunk_rows
  local sent = 0
  local buf = { '{"data":[' }
  for p = 0, total - 1 do
    buf[#buf + 1] = (p > 0 and "," or "") .. enc(res.row(p))
    if #buf >= step then
      local piece = concat(buf)
      sent = sent + #piece
      local ok, err = stream:write_chunk(piece, false)
      if not ok then
        rec.bytes, rec.error = sent, "client went away: " .. tostring(err)
        return
      end
      buf = {}
    end
  end
  local pg = query.unpaged(total)
  buf[#buf + 1] = "]," .. json.pagination(pg.page, pg.pages, pg.rows, pg.total) .. "}"
  local piece = concat(buf)
  sent = sent + #piece
  assert(stream:write_chunk(piece, true))
  rec.bytes = sent
  self.stats.bytes_sent = self.stats.bytes_sent + sent
end

function Server:api(stream, headers, method, rec, op, params, dup)
  self.stats.api_requests = self.stats.api_requests + 1
  if not op then
    return self:fail(stream, rec, 404, "No resource found at " .. rec.path)
  end
  if method ~= "GET" then
    return self:fail(stream, rec, 405, "Method " .. tostring(method) .. " not allowed; use GET",
      { allow = "GET" })
  end
  local authz = headers:get("authorization")
  if not authz then return self:unauthenticated(stream, rec) end
  local tok = authz:match("^%s*[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  local f = rec._fault
  if tok and f and f.action == "expire_token" then self.tokens:expire(tok) end
  if tok and f and f.action == "revoke_token" then self.tokens:revoke(tok) end
  local trec, reason = self.tokens:check(tok)
  if not trec then
    reason = reason or "unknown"
    return self:fail(stream, rec, 401, TOKEN_REASON[reason], {
      ["www-authenticate"] = fmt('Bearer realm="%s", error="invalid_token", error_description="%s"',
        ops.API_HOST, TOKEN_REASON[reason]) })
  end
  rec.token_ok = true
  local client = trec.client_id
  local ok, wait = self.gate:allow(client)
  if not ok then
    local ts = self.cfg.throttle_status
    local ra = self.cfg.retry_after
    if ra == nil and ts == 429 then ra = math.max(1, math.ceil(wait)) end
    return self:throttle(stream, rec, ts, "ERR_403_DEVELOPER_OVER_QPS", ra)
  end
  if not self.gate:quota(client) then
    return self:throttle(stream, rec, 403, "ERR_403_DEVELOPER_OVER_RATE", nil)
  end
  if #dup > 0 then
    return self:fail(stream, rec, 400, "parameter '" .. dup[1] .. "' given more than once")
  end
  local mutate = f and MUTATIONS[f.action]
  if mutate then
    local target = ops.by_name[f.target or op.name]
    local ci = target.scope == "customer" and self.ds:customer_index(tostring(params.customerId or "")) or nil
    local okr, res = pcall(self.ds[mutate[1]], self.ds, target.name, ci, math.tointeger(f.count), f.at)
    if okr then
      rec[mutate[2]] = type(res) == "table" and #res or res
    else
      rec.fault_error = res
    end
  end
  local q, status, message = query.parse(self.ds, op, params)
  if not q then return self:fail(stream, rec, status, message) end
  local res = query.result(self.ds, op, q, function() cqueues.sleep(0) end)
  local enc = json.row_encoder(op, q.fields, self.cfg.id_type)
  rec.total = res.total
  if q.page and q.rows then
    local first = (q.page - 1) * q.rows
    local last = math.min(res.total, first + q.rows) - 1
    local buf = {}
    for p = first, last do buf[#buf + 1] = enc(res.row(p)) end
    local body = '{"data":[' .. concat(buf, ",") .. "]," ..
      json.pagination(q.page, (res.total + q.rows - 1) // q.rows, q.rows, res.total) .. "}"
    rec.returned = #buf
    return self:send(stream, rec, 200, body)
  end
  rec.returned = res.total
  local a = f and f.action
  if a == "reset" or a == "truncate" or a == "stall" or a == "invalid_json" then
    local buf = {}
    for p = 0, res.total - 1 do buf[#buf + 1] = enc(res.row(p)) end
    local pg = query.unpaged(res.total)
    return self:send(stream, rec, 200, '{"data":[' .. concat(buf, ",") .. "]," ..
      json.pagination(pg.page, pg.pages, pg.rows, pg.total) .. "}")
  end
  return self:stream_all(stream, rec, res, enc)
end

-- -----------------------------------------------------------------------------
-- Dispatch

--- Handles one request on the API listener.
-- @param stream lua-http server stream
function Server:on_stream(stream)
  local headers = stream:get_headers(30)
  if not headers then return end
  local stats = self.stats
  stats.inflight = stats.inflight + 1
  if stats.inflight > stats.peak_inflight then stats.peak_inflight = stats.inflight end
  local started = monotime()
  local method = headers:get(":method")
  local raw = headers:get(":path") or "/"
  local path, qs = raw:match("^([^?#]*)%??([^#]*)")
  local rec = { t = started - self.t0, method = method, path = redact_value(self, auth.url_decode(path)),
    token_ok = false, throttled = false, request_id = request_id(self),
    user_agent = headers:get("user-agent"), accept_encoding = headers:get("accept-encoding"),
    http_version = stream.connection and tostring(stream.connection.version) or nil }
  -- logged on arrival (sequence = arrival order); fields fill in as the request proceeds
  self:push_log(rec)
  local ok, err = pcall(function()
    local is_token = path == TOKEN_PATH
    rec._token = is_token or nil
    local op, params, dup
    if not is_token then
      params, dup = auth.parse_form(qs)
      rec.query = redact_query(self, params)
      if path:sub(1, #API_PREFIX + 1) == API_PREFIX .. "/" then
        op = ops.by_path[path:sub(#API_PREFIX + 1)]
      end
      rec.op = op and op.name or nil
      rec.customerId = params.customerId
      rec.page = math.tointeger(tonumber(params.page))
      rec.rows = math.tointeger(tonumber(params.rows))
    end
    local f = faults.match(self.script, { token = is_token, op = rec.op, path = path, page = rec.page,
      customerId = rec.customerId, method = method })
    if f then
      rec.fault = fmt("#%d %s", f.index, f.action)
      rec._fault = f
      stats.faults_fired = stats.faults_fired + 1
      if f.action == "stall" and f.before then cqueues.sleep(f.before) end
      if self:fault_response(stream, rec, f) then return end
    end
    if is_token then return self:token_endpoint(stream, headers, method, rec) end
    if path:sub(1, #API_PREFIX + 1) ~= API_PREFIX .. "/" then
      stats.other_requests = stats.other_requests + 1
      return self:fail(stream, rec, 404, "No resource found at " .. rec.path)
    end
    return self:api(stream, headers, method, rec, op, params, dup)
  end)
  if not ok then
    rec.error = tostring(err)
    if not self.cfg.quiet then io.stderr:write("cxcloud sandbox: request failed: ", tostring(err), "\n") end
    if not rec.status then
      pcall(function()
        self:count_status(rec, 500)
        local body = json.object("status", 500, "message", "sandbox internal error")
        local h = base_headers(500, rec)
        h:upsert("content-length", tostring(#body))
        stream:write_headers(h, false)
        stream:write_chunk(body, true)
      end)
    end
  end
  rec.duration = monotime() - started
  stats.inflight = stats.inflight - 1
end

-- -----------------------------------------------------------------------------
-- Main loop

--- Asks the main loop to stop.
function Server:stop()
  self.stopping = true
end

--- Runs the event loop until `stop` is called.
function Server:loop()
  while not self.stopping do
    local ok, err = self.cq:step(0.5)
    if not ok and not self.cfg.quiet then
      io.stderr:write("cxcloud sandbox: ", tostring(err), "\n")
    end
  end
  pcall(self.http.close, self.http)
  if self.ctl then pcall(self.ctl.close, self.ctl) end
end

--- Makes the server stop on SIGINT or SIGTERM; `on_signal(name)` is called first.
-- @tparam[opt] function on_signal
function Server:watch_signals(on_signal)
  local signal = require "cqueues.signal"
  signal.block(signal.SIGINT, signal.SIGTERM)
  local listener = signal.listen(signal.SIGINT, signal.SIGTERM)
  self.cq:wrap(function()
    local sig = listener:wait()
    if on_signal then on_signal(sig == signal.SIGINT and "SIGINT" or "SIGTERM") end
    self:stop()
  end)
end

--- Writes the CA certificate to `dir`/ca.pem and returns its path.
-- @tparam string dir
-- @treturn string
function Server:write_ca(dir)
  local path = dir .. "/ca.pem"
  tls.write_ca(self.certs, path)
  self.ca_file = path
  return path
end

--- The process id of this process (Linux /proc; nil elsewhere).
-- @treturn integer|nil
function server.pid()
  local f = io.open("/proc/self/stat", "r")
  if not f then return nil end
  local line = f:read("l")
  f:close()
  return math.tointeger(tonumber(line:match("^(%d+)")))
end

return server
