--- The request scheduler: runs many logical GET requests through one C core client.
--
-- A logical request (`req`) is one GET of one URL that the engine drives to a final
-- answer: it fetches or refreshes the access token, waits for the rate limiter and a
-- free slot, submits the transfer, retries what is retryable with backoff, and ends
-- with `req.body` (the decoded JSON) or `req.err` (an error object).
--
--    local req = engine:start(url, meta, group) -- queue a GET (meta: caller's data, e.g. a page
--                                          -- number; group: a table shared by the requests
--                                          -- of one cursor, default the request itself)
--    engine:wait(req)                      -- run the scheduler until req.done
--    engine:step(max_wait)                 -- one scheduling round; returns true if there was work
--    engine:cancel(req)                    -- abandon (cancels the transfer if in flight)
--    engine:get(url)  -> body | nil, err   -- start + wait
--    engine:token()   -> token, expires_at | nil, err
--
-- Policy (see the README's Reliability section):
--
-- * Token: fetched lazily when the first API request needs it; one token request at a
--   time however many API requests wait; refreshed `refresh_margin` (default min(60 s,
--   10% of the lifetime)) before expiry, while requests go on with the still-valid old
--   token; a failed refresh is not retried until the old token expires. The token request
--   is retried like any GET (network, timeout, 5xx, 429, throttling 403). A 400/401/403
--   from the token endpoint is an `auth` error. Token requests do not count against
--   `rate_limit` (they go to the identity provider, not to the API gateway).
-- * 401 from the API (or 403 with X-Mashery-Error-Code ERR_403_NOT_AUTHORIZED): the
--   token that request used is dropped, a new one fetched, and the request sent once
--   more; a second rejection is an `auth` error. This refresh-and-retry does not use
--   `max_retries` or the retry budget.
-- * Retried, up to `max_retries` times per request: network errors (connect, reset,
--   truncated body), timeouts, 5xx, 429, 403 ERR_403_DEVELOPER_OVER_QPS, and a 2xx whose
--   body is not valid JSON (a proxy's HTML page or a cut body is transient). Never
--   retried: other 4xx, TLS failures, responses over max_body_size/max_header_size, and
--   403 ERR_403_DEVELOPER_OVER_RATE (the daily quota: waiting seconds does not help).
-- * Delay before retry n (n = 1, 2, ...): full jitter, random() * min(retry_cap,
--   retry_base * 2^(n-1)); a Retry-After header (seconds or HTTP-date) replaces it; a
--   Retry-After above retry_after_cap ends the request at once with `retry_after` set.
--   A throttled answer (429/403 QPS) also holds every other request of the client for
--   that delay, and slows the client's rate down (see Rate limit).
-- * Retry budget: a per-client bucket of `retry_budget` (100) tokens; a retry costs 5,
--   a successful request returns 1. Empty bucket: retryable failures fail at once
--   ("retry budget exhausted"), so an outage does not become a retry storm. Retries of
--   throttled answers do not draw on it: they are paced by the hold and the slowdown,
--   and bounded by `max_retries`.
-- * Rate limit: API requests are spaced 1/rate_limit seconds apart (a token bucket of
--   one), shared by every request of the client, retries included. A throttled answer
--   stretches the spacing by 1.5x (at most once a second, up to 8x); each success
--   shrinks it back by 3%, so a gateway whose limit is lower than `rate_limit` is
--   matched instead of hit again and again.
-- * Concurrency: a fixed `concurrency`, or (option not set) automatic: 10, raised up to
--   32 when the observed latency (a moving average of transfer times) times
--   `rate_limit` needs more requests in flight to keep the rate limit busy.
-- * At most `max_inflight` API transfers in flight; requests are sent in the order they
--   were started (a retried request keeps its place), so pages go out in page order.
-- * Only wanted requests are sent: a queued request goes out only while someone waits
--   (`wait`) on a request of its group. A loop left early (`break`, an error, `return`,
--   even `for item in q`, which has no closing value) waits no more, so its queued pages
--   are never sent; they are dropped when the cursor is closed, restarted or collected
--   (`group.dead`). The next call sends exactly its own requests.
-- * A failure while a request is submitted or its result processed (a C error, an
--   interrupt, an error in the user's `verbose`, `clock` or `sleep`) ends the waited
--   request with an error object; transfers whose results may be lost are cancelled and
--   queued again (the attempt not counted), so the client stays usable.
-- * Waiting: with transfers in flight the engine waits in the core's poll (which returns
--   early when a transfer ends); with nothing in flight it calls the injectable `sleep`,
--   so tests with a fake clock never wait real time for backoff.
-- @module cxcloud.engine

local errors = require "cxcloud.errors"
local options = require "cxcloud.options"
local proxy = require "cxcloud.proxy"

local M = {}

local format, find, sub = string.format, string.find, string.sub
local tremove, tinsert = table.remove, table.insert
local min, max, huge = math.min, math.max, math.huge

local Engine = {}
Engine.__index = Engine

-- Automatic concurrency bounds.
M.AUTO_MIN, M.AUTO_MAX = 10, 32

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [406] = "Not Acceptable", [408] = "Request Timeout",
  [409] = "Conflict", [410] = "Gone", [413] = "Payload Too Large", [414] = "URI Too Long",
  [415] = "Unsupported Media Type", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local MASHERY_QPS = "ERR_403_DEVELOPER_OVER_QPS"
local MASHERY_RATE = "ERR_403_DEVELOPER_OVER_RATE"
local CURLE_SSL_CONNECT_ERROR = 35

--- Create an engine.
-- @param core_client a `cxcloud.core` client
-- @tparam table cfg validated options (see `cxcloud.options`)
-- @tparam table core the `cxcloud.core` module (decode, now, time, sleep, parse_retry_after)
-- @treturn table engine
function M.new(core_client, cfg, core)
  local clock = cfg.clock or core.now
  local self = setmetatable({
    c = core_client,
    core = core,
    cfg = cfg,
    clock = clock,
    wall = cfg.wall_clock or core.time,
    -- the default sleep naps at most 1 s at a time (Ctrl-C is seen between naps)
    sleep = cfg.sleep or function(s) core.sleep(s > 1 and 1 or s) end,
    random = cfg.random or math.random,
    decode = core.decode,
    max_inflight = cfg.concurrency or M.AUTO_MIN,
    auto = cfg.concurrency == nil,
    latency = nil,      -- moving average of API transfer times (auto concurrency)
    max_retries = cfg.max_retries,
    depth = cfg.max_json_depth,
    queue = {},         -- API reqs waiting to be sent, ordered by seq
    waiting = {},       -- group -> number of waits on it: only their requests are sent
    inflight = {},      -- transfer id -> req (API and token)
    ninflight = 0,      -- API transfers in flight
    seq = 0,
    -- token state
    access_token = nil, token_type = nil, token_gen = 0,
    exp_mono = nil, exp_epoch = nil, refresh_at = nil,
    token_req = nil,    -- the one token request in progress
    refresh_failed = false,
    -- limits
    interval = (cfg.rate_limit and cfg.rate_limit > 0) and 1 / cfg.rate_limit or 0,
    rl_next = -huge,
    slow = 1,           -- rate slowdown factor after throttling (1 = none)
    slowed_at = -huge,
    hold_until = -huge,
    budget = cfg.retry_budget,
    closed = false,
    stats = { requests = 0, retries = 0, throttled = 0, token_requests = 0, auth_retries = 0,
      budget_exhausted = 0, slowdowns = 0 },
  }, Engine)
  self.redact = function(s, limit) return core_client:redact(s, limit) end
  return self
end

-- ---------------------------------------------------------------------------
-- token state

-- "ok": usable, no refresh due; "refresh": usable but due for refresh; nil: unusable
function Engine:_token_state(now)
  if not self.access_token then return nil end
  if not self.exp_mono then return "ok" end
  if now >= self.exp_mono then return nil end
  if now >= self.refresh_at then return "refresh" end
  return "ok"
end

function Engine:_start_token(now)
  local req = { token = true, url = self.cfg.token_url, attempts = 0, not_before = now,
    state = "queued", done = false }
  req.group = req
  self.token_req = req
  return req
end

local function copy_error(e)
  local t = {}
  for k, v in pairs(e) do t[k] = v end
  return setmetatable(t, getmetatable(e))
end

function Engine:_token_done(req, body, sent_mono, sent_wall)
  local tok = type(body) == "table" and body.access_token
  if type(tok) ~= "string" or tok == "" then
    return errors.new("auth", "token response has no access_token", { method = "POST",
      url = req.url, status = 200 })
  end
  if not find(tok, "^[!-~]+$") then
    -- it goes into a header: no spaces, control or non-ASCII characters
    return errors.new("auth", "token response has an access_token with characters a bearer"
      .. " token cannot hold", { method = "POST", url = req.url, status = 200 })
  end
  local ttype = body.token_type
  if type(ttype) ~= "string" or ttype == "" or find(ttype, "[%s%c]") then ttype = "Bearer" end
  local life = tonumber(body.expires_in)
  self.c:set_token(tok, ttype)
  self.access_token, self.token_type = tok, ttype
  self.token_gen = self.token_gen + 1
  self.refresh_failed = false
  if life and life > 0 and life < huge then
    local margin = self.cfg.refresh_margin or min(60, life * 0.1)
    self.exp_mono = sent_mono + life
    self.exp_epoch = math.floor(sent_wall + life) -- an integer: os.date accepts it
    self.refresh_at = self.exp_mono - min(margin, life)
  else
    -- lifetime unknown: use the token until the API rejects it (401 -> refresh)
    self.exp_mono, self.exp_epoch, self.refresh_at = nil, nil, nil
  end
  return nil
end

------------------------------------------------------------------------------
-- queue

local function insert_by_seq(q, req)
  local s = req.seq
  local i = #q
  while i >= 1 and q[i].seq > s do i = i - 1 end
  tinsert(q, i + 1, req)
end

--- Queue a GET of `url`.
-- @tparam string url full URL (base_url .. path .. "?" .. query)
-- @param meta any value the caller wants back on the req (e.g. a page number)
-- @tparam[opt] table group requests sent only while one of the group is waited on
--   (default: the request alone); `group.dead = true` drops its queued requests
-- @treturn table req with fields done, body, err, meta, attempts
function Engine:start(url, meta, group)
  if self.closed then errors.raise("usage", "the client is closed") end
  self.seq = self.seq + 1
  local req = { url = url, meta = meta, attempts = 0, not_before = -huge, seq = self.seq,
    state = "queued", done = false }
  req.group = group or req
  self.queue[#self.queue + 1] = req
  return req
end

--- Abandon a request: a queued one is dropped, one in flight is cancelled in the
-- core (no result will be delivered for it). Idempotent.
-- @tparam table req
function Engine:cancel(req)
  if req.done then return end
  if req.state == "inflight" then
    if self.inflight[req.id] == req then
      self.inflight[req.id] = nil
      self.ninflight = self.ninflight - 1
      if not self.closed then pcall(self.c.cancel, self.c, req.id) end
    end
  else
    local q = self.queue
    for i = 1, #q do
      if q[i] == req then tremove(q, i) break end
    end
  end
  req.state, req.done, req.cancelled = "done", true, true
end

local function finish(req, body, err)
  req.state, req.done = "done", true
  req.body, req.err = body, err
  if err then err.attempts = req.attempts end
end

------------------------------------------------------------------------------
-- dispatch

local TOKEN_SUBMIT = { token = true }

local function method_of(req) return req.token and "POST" or "GET" end

-- Hand `req` to the core. The C call comes first: if it fails, nothing is marked in
-- flight; the request ends with an error object (and, for the token, so do the API
-- requests waiting for it). Returns true when submitted.
function Engine:_submit(req, now)
  local c = self.c
  local ok, id = pcall(c.submit, c, req.token and TOKEN_SUBMIT or { url = req.url })
  if not ok then
    local err = errors.new("config", "cannot send the request: " .. self:_text(id), {
      method = method_of(req), url = req.url })
    if req.token then
      self.token_req = nil
      finish(req, nil, err)
      self:_token_failed(err, now)
    else
      finish(req, nil, err)
    end
    return false
  end
  req.attempts = req.attempts + 1
  req.state = "inflight"
  req.sent_mono = now
  req.id = id
  self.inflight[id] = req
  if req.token then
    req.sent_wall = self.wall()
    self.stats.token_requests = self.stats.token_requests + 1
  else
    req.token_gen = self.token_gen
    self.ninflight = self.ninflight + 1
    self.stats.requests = self.stats.requests + 1
  end
  return true
end

-- an error value as safe text (it may come from C or from user code)
function Engine:_text(e)
  if errors.is_error(e) then return e.message end
  local s = tostring(e)
  if self.closed then return s end
  local ok, r = pcall(self.redact, s)
  return ok and r or "(error text not shown)"
end

-- Drop queued requests of dead groups; true when a queued API request is wanted.
function Engine:_sweep()
  local q, waiting = self.queue, self.waiting
  local wanted = false
  local i = 1
  while i <= #q do
    local req = q[i]
    local g = req.group
    if g.dead then
      tremove(q, i)
      req.state, req.done, req.cancelled = "done", true, true
    else
      if waiting[g] then wanted = true end
      i = i + 1
    end
  end
  return wanted
end

local function earliest(a, b)
  if a == nil or b < a then return b end
  return a
end

-- Send what may be sent now; returns the earliest future time something could be
-- sent (or nil when only a completion can unblock the queue).
function Engine:_dispatch(now)
  local wake = nil
  local q = self.queue
  local waiting = self.waiting
  local tstate = self:_token_state(now)
  local wanted = self:_sweep()
  -- the token
  if wanted and (tstate == nil or (tstate == "refresh" and not self.refresh_failed))
      and not self.token_req then
    self:_start_token(now)
  end
  local treq = self.token_req
  if treq and treq.state == "queued" and (wanted or waiting[treq]) then
    if treq.not_before <= now then
      self:_submit(treq, now)
    else
      wake = treq.not_before
    end
  end
  if tstate == nil or not wanted then return wake end
  -- API requests
  if now < self.hold_until then return earliest(wake, self.hold_until) end
  local i = 1
  while self.ninflight < self.max_inflight and i <= #q do
    local req = q[i]
    if not waiting[req.group] then
      i = i + 1
    elseif req.not_before <= now then
      if self.interval > 0 and now < self.rl_next then
        wake = earliest(wake, self.rl_next)
        break
      end
      tremove(q, i)
      if self:_submit(req, now) and self.interval > 0 then
        self.rl_next = now + self.interval * self.slow
      end
    else
      wake = earliest(wake, req.not_before)
      i = i + 1
    end
  end
  return wake
end

------------------------------------------------------------------------------
-- results

local function header(h, name)
  local v = h and h[name]
  if v == nil or v == "" then return nil end
  return v
end

-- a short message from an error body: JSON {message|error_description|error|detail|title}
-- or nothing (the body itself goes to err.body)
function Engine:_server_message(body)
  if type(body) ~= "string" or #body == 0 or #body > 65536 or not find(body, "^%s*{") then
    return nil
  end
  local ok, t = pcall(self.decode, body, 8)
  if not ok or type(t) ~= "table" then return nil end
  local parts = {}
  for _, k in ipairs { "error", "error_description", "message", "detail", "title" } do
    local v = t[k]
    if type(v) == "string" and v ~= "" then parts[#parts + 1] = v end
  end
  if #parts == 0 then return nil end
  local s = self.redact(table.concat(parts, ": "))
  if #s > 300 then s = sub(s, 1, 300) .. "..." end
  return s
end

function Engine:_http_error(req, r, kind, retryable)
  local status = r.status
  local h = r.headers
  local msg = REASONS[status] or ("HTTP " .. status)
  local code = header(h, "x-mashery-error-code")
  if code then msg = msg .. " (" .. code .. ")" end
  local smsg = self:_server_message(r.body)
  if smsg then msg = msg .. ": " .. smsg end
  if status >= 300 and status < 400 then
    local loc = header(h, "location")
    msg = msg .. "; redirect" .. (loc and (" to " .. errors.safe_url(self.redact(loc))) or "")
      .. " not followed (check base_url / token_url)"
  end
  return errors.new(kind, msg, {
    status = status,
    method = method_of(req),
    url = req.url,
    retryable = retryable,
    request_id = header(h, "x-mashery-message-id") or header(h, "x-request-id")
      or header(h, "x-correlation-id"),
    body = errors.snippet(r.body, self.redact),
  })
end

local function retry_after_of(self, r)
  local v = header(r.headers, "retry-after")
  if not v then return nil end
  return self.core.parse_retry_after(v, self.wall())
end

-- Classify one transfer result: returns body (decoded, success) or nil, err, retry_after.
-- err.retryable says whether the policy allows a retry; `auth_retry` true asks for the
-- one refresh-and-retry.
function Engine:_classify(req, r)
  local e = r.error
  if e then
    local kind, retryable, msg = e.kind, true, e.message or "transfer failed"
    if e.proxy == "refused" then -- no retry changes a proxy's mind (and retries feed lockouts)
      kind, retryable = "network", false
      msg = proxy.refused_message(proxy.parse(self.cfg.proxy).name, e.proxy_status, req.url)
    elseif e.proxy then -- "unreachable", "silent": retried like any network failure
      msg = proxy.failure_message(e.proxy, proxy.parse(self.cfg.proxy).name, msg)
    end
    if e.code == CURLE_SSL_CONNECT_ERROR then
      -- a handshake cut by the network is transient; certificate failures have codes
      -- of their own (60, 58, 77, ...) and stay "tls", never retried
      kind = "network"
    elseif kind == "tls" then
      retryable = false
    elseif kind == "too_large" then
      kind, retryable = "decode", false
      msg = format("response too large (%s); limits: max_body_size = %d bytes, max_header_size"
        .. " = %d bytes", msg, self.cfg.max_body_size, self.cfg.max_header_size)
    elseif kind ~= "timeout" then
      kind = "network"
    end
    return nil, errors.new(kind, msg, { method = method_of(req), url = req.url,
      retryable = retryable, status = r.status })
  end
  local status = r.status or 0
  if status >= 200 and status < 300 then
    local body, derr = self.decode(r.body or "", self.depth)
    if body == nil and derr then
      local ctype = header(r.headers, "content-type")
      return nil, errors.new("decode", format("invalid JSON in a %d response (%s)%s", status,
        derr, ctype and (", content-type " .. ctype) or ""), {
          status = status, method = method_of(req), url = req.url, retryable = true,
          body = errors.snippet(r.body, self.redact),
        })
    end
    return body
  end
  local code = header(r.headers, "x-mashery-error-code")
  if req.token then
    if status == 429 or status >= 500 or (status == 403 and code == MASHERY_QPS) then
      local err = self:_http_error(req, r, status >= 500 and "http" or "throttled", true)
      err.message = "token request: " .. err.message
      return nil, err, retry_after_of(self, r)
    end
    local err = self:_http_error(req, r, "auth", false)
    err.message = "token request rejected: " .. err.message
      .. ((status == 400 or status == 401) and "; check client_id and client_secret" or "")
    return nil, err
  end
  if status == 401 or (status == 403 and code and find(code, "NOT_AUTHORIZED", 1, true)) then
    local err = self:_http_error(req, r, "auth", false)
    return nil, err, nil, true
  end
  if status == 429 or (status == 403 and code == MASHERY_QPS) then
    return nil, self:_http_error(req, r, "throttled", true), retry_after_of(self, r)
  end
  if status == 403 and code == MASHERY_RATE then
    local err = self:_http_error(req, r, "throttled", false)
    err.message = err.message .. "; the daily quota is used up, retrying before it resets will not help"
    return nil, err, retry_after_of(self, r)
  end
  if status >= 500 then
    return nil, self:_http_error(req, r, "http", true), retry_after_of(self, r)
  end
  return nil, self:_http_error(req, r, "http", false)
end

function Engine:_backoff(attempts)
  local cfg = self.cfg
  return self.random() * min(cfg.retry_cap, cfg.retry_base * 2 ^ (attempts - 1))
end

-- a retryable failure: schedule a retry or give up; returns true when retried
function Engine:_retry(req, err, retry_after, now)
  if retry_after then err.retry_after = retry_after end
  if req.attempts > self.max_retries then
    if self.max_retries > 0 then
      err.message = err.message .. format(" (gave up after %d %s)", self.max_retries,
        self.max_retries == 1 and "retry" or "retries")
    end
    return false
  end
  if retry_after and retry_after > self.cfg.retry_after_cap then
    err.message = err.message .. format("; the server asked to wait %g s, more than retry_after_cap"
      .. " (%g s): not waiting", retry_after, self.cfg.retry_after_cap)
    return false
  end
  local throttled = err.kind == "throttled"
  if not throttled then
    if self.budget < options.RETRY_COST then
      self.stats.budget_exhausted = self.stats.budget_exhausted + 1
      err.message = err.message .. "; retry budget exhausted (too many failures on this client),"
        .. " not retrying"
      return false
    end
    self.budget = self.budget - options.RETRY_COST
  end
  self.stats.retries = self.stats.retries + 1
  local delay = retry_after or self:_backoff(req.attempts)
  req.not_before = now + delay
  if throttled and now + delay > self.hold_until then self.hold_until = now + delay end
  req.last_err = err
  req.state = "queued"
  if req.token then
    self.token_req = req
  else
    insert_by_seq(self.queue, req)
  end
  return true
end

-- The token request failed for good: with the old token still valid, go on with it
-- (no new attempt until it expires); else every queued API request fails with `err`.
function Engine:_token_failed(err, now)
  if self:_token_state(now) then
    self.refresh_failed = true
    return
  end
  local q = self.queue
  self.queue = {}
  for i = 1, #q do
    local e = copy_error(err)
    q[i].state, q[i].done, q[i].err = "done", true, e
  end
end

function Engine:_complete(req, r, now)
  if req.token then
    self.token_req = nil
    local body, err, retry_after = self:_classify(req, r)
    if body ~= nil then
      err = self:_token_done(req, body, req.sent_mono, req.sent_wall)
      if not err then
        finish(req, true, nil) -- the response (with the token) is not kept
        return
      end
    end
    if err.retryable and self:_retry(req, err, retry_after, now) then return end
    finish(req, nil, err)
    self:_token_failed(err, now)
    return
  end
  self.ninflight = self.ninflight - 1
  if self.auto and r.time and self.interval > 0 then self:_adapt(r.time) end
  local body, err, retry_after, auth_retry = self:_classify(req, r)
  if body ~= nil or err == nil then
    if self.budget < self.cfg.retry_budget then
      self.budget = min(self.cfg.retry_budget, self.budget + options.RETRY_REFUND)
    end
    if self.slow > 1 then self.slow = max(1, self.slow * 0.97) end
    finish(req, body, nil)
    return
  end
  if err.kind == "throttled" then
    self.stats.throttled = self.stats.throttled + 1
    if self.interval > 0 and now - self.slowed_at >= 1 then
      self.slow = min(8, self.slow * 1.5)
      self.slowed_at = now
      self.stats.slowdowns = self.stats.slowdowns + 1
    end
  end
  if auth_retry then
    if not req.auth_retried then
      req.auth_retried = true
      self.stats.auth_retries = self.stats.auth_retries + 1
      if req.token_gen == self.token_gen then
        self.access_token = nil -- the token was rejected: fetch another before sending more
      end
      req.state = "queued"
      insert_by_seq(self.queue, req)
      return
    end
    err.message = err.message .. "; the API rejected a freshly fetched token too (is the app"
      .. " registered for the CX Cloud APIs? a new registration can take 10 minutes)"
  elseif err.retryable and self:_retry(req, err, retry_after, now) then
    return
  end
  finish(req, nil, err)
end

-- automatic concurrency: enough requests in flight to keep the rate limit busy
function Engine:_adapt(t)
  local lat = self.latency
  lat = lat and (lat * 0.7 + t * 0.3) or t
  self.latency = lat
  local want = math.ceil(lat / self.interval * 1.2) + 1
  self.max_inflight = min(M.AUTO_MAX, max(M.AUTO_MIN, want))
end

------------------------------------------------------------------------------
-- the loop

-- Transfers whose results may have been lost (the core's poll raised): cancel them in
-- the core and queue them again, the attempt not counted.
function Engine:_requeue_inflight()
  local c = self.c
  for id, req in pairs(self.inflight) do
    self.inflight[id] = nil
    if not self.closed then pcall(c.cancel, c, id) end
    req.state, req.id = "queued", nil
    req.attempts = req.attempts - 1
    if req.token then
      self.token_req = req
    else
      self.ninflight = self.ninflight - 1
      insert_by_seq(self.queue, req)
    end
  end
end

-- An error inside result processing must not lose the other results of the batch:
-- the request it struck ends with an error object.
function Engine:_complete_safely(req, r, now)
  local ok, e = pcall(self._complete, self, req, r, now)
  if ok then return end
  if not req.done then
    local err = errors.new("usage", "internal error while processing a response: "
      .. self:_text(e), { method = method_of(req), url = req.url, status = r.status })
    if req.state == "queued" then self:cancel(req) end
    req.cancelled = nil
    finish(req, nil, err)
    if req.token then
      if self.token_req == req then self.token_req = nil end
      self:_token_failed(err, now)
    end
  end
end

-- the trace to the user's verbose function; its error reaches the caller as an error object
function Engine:_deliver_trace(trace)
  local ok, e = pcall(self.cfg.verbose, trace)
  if not ok then
    error(errors.new("usage", "the verbose function raised an error: " .. self:_text(e)), 0)
  end
end

--- One scheduling round: send what can be sent, then wait (at most `max_wait`
-- seconds) for a completion or the next timer, and process what completed. Only the
-- requests of groups someone waits on are sent (see `wait`).
-- @tparam[opt=math.huge] number max_wait
-- @treturn boolean false when there was nothing to do or wait for
function Engine:step(max_wait)
  if self.closed then errors.raise("usage", "the client is closed") end
  max_wait = max_wait or huge
  local now = self.clock()
  local wake = self:_dispatch(now)
  if next(self.inflight) ~= nil then
    local wait = max_wait
    if wake then wait = min(wait, max(0, wake - now)) end
    -- at most 1 s inside C at a time, so that Ctrl-C at the REPL is seen soon
    if wait > 1 then wait = 1 end
    local c = self.c
    local ok, results, trace = pcall(c.poll, c, wait)
    if not ok then
      self:_requeue_inflight()
      error(results, 0)
    end
    if #results > 0 then
      now = self.clock()
      for i = 1, #results do
        local r = results[i]
        local req = self.inflight[r.id]
        if req then
          self.inflight[r.id] = nil
          self:_complete_safely(req, r, now)
        end
      end
    elseif c:pending() == 0 and next(self.inflight) ~= nil then
      -- transfers we think are in flight but the core has none: send them again
      self:_requeue_inflight()
    end
    -- after the results, so that an error raised by the user's function loses none of them
    if trace and self.cfg.verbose then self:_deliver_trace(trace) end
    return true
  end
  if not wake then return false end
  local wait = min(max_wait, wake - now)
  if wait > 0 then self.sleep(wait) end
  return true
end

-- an error raised while waiting, as an error object
local function as_error(self, e, req)
  if errors.is_error(e) then return copy_error(e) end
  return errors.new("usage", "interrupted while the request was in progress (the client stays"
    .. " usable): " .. self:_text(e), { method = method_of(req), url = req.url })
end

local function run_until_done(self, req)
  while not req.done do
    if not self:step() and not req.done then
      -- cannot happen unless the request was never queued; never spin
      finish(req, nil, errors.new("usage", "internal: request is not queued"))
    end
  end
end

--- Run the scheduler until `req` is done. While it runs, the queued requests of
-- `req`'s group are sent (and those of every group another wait is on); when it ends,
-- by an answer or an error, they are not sent any more. An error raised meanwhile (an
-- interrupt, a failing user callback) ends `req` with an error object.
-- @tparam table req
-- @treturn table req
function Engine:wait(req)
  if not req.done then
    local waiting, g = self.waiting, req.group
    waiting[g] = (waiting[g] or 0) + 1
    local ok, e = pcall(run_until_done, self, req)
    local n = waiting[g] - 1
    waiting[g] = n > 0 and n or nil
    if not ok and not req.done then
      local err = as_error(self, e, req)
      self:cancel(req)
      req.cancelled = nil
      if req.token and self.token_req == req then self.token_req = nil end
      finish(req, nil, err)
      req.interrupted = true
    elseif not ok then
      -- the request had its answer when the error struck (e.g. the user's verbose
      -- function, called after the results): the caller sees the error, not the answer
      req.body, req.err, req.interrupted = nil, req.err or as_error(self, e, req), true
    end
  end
  if req.cancelled and not req.err then
    req.err = errors.new("usage", "the request was cancelled (the client was closed?)",
      { method = method_of(req), url = req.url })
  end
  return req
end

--- One GET, blocking.
-- @tparam string url
-- @return decoded body, or nil and an error object
function Engine:get(url)
  local req = self:wait(self:start(url))
  if req.err then return nil, req.err end
  return req.body
end

--- The current access token, fetching or refreshing it when needed.
-- @treturn string|nil token
-- @treturn integer|table expiry (epoch seconds, or nil when unknown), or the error
function Engine:token()
  if self.closed then return nil, errors.new("usage", "the client is closed") end
  local now = self.clock()
  local st = self:_token_state(now)
  if st == "ok" then return self.access_token, self.exp_epoch end
  local req = self.token_req or self:_start_token(now)
  self:wait(req)
  if req.err then
    -- a failed refresh leaves the old token usable until it expires
    if not req.interrupted and self:_token_state(self.clock()) then
      return self.access_token, self.exp_epoch
    end
    return nil, req.err
  end
  return self.access_token, self.exp_epoch
end

--- Counters: requests, retries, throttled, token_requests, auth_retries,
-- budget_exhausted, slowdowns, plus the core's connects and transfers, the retry
-- budget left and the rate in force (`rate`, requests/s; nil when off).
-- @treturn table
function Engine:get_stats()
  local s = {}
  for k, v in pairs(self.stats) do s[k] = v end
  s.retry_budget = self.budget
  s.rate = self.interval > 0 and 1 / (self.interval * self.slow) or nil
  s.concurrency = self.max_inflight
  if not self.closed then
    local cs = self.c:stats()
    s.connects, s.transfers = cs.connects, cs.requests
  end
  return s
end

--- Cancel everything and close the core client. Idempotent.
function Engine:close()
  if self.closed then return end
  for id, req in pairs(self.inflight) do
    self.c:cancel(id)
    req.state, req.done, req.cancelled = "done", true, true
  end
  self.inflight, self.queue, self.ninflight, self.token_req = {}, {}, 0, nil
  self.access_token = nil
  self.closed = true
  self.c:close()
end

return M
