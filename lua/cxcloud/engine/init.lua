--- The request scheduler: runs many logical GET requests through one C core client.
--
-- A logical request (`req`) is one GET of one URL that the engine drives to a final
-- answer: it fetches or refreshes the access token, waits for the rate limiter and a
-- free slot, submits the transfer, retries what is retryable with backoff, and ends
-- with `req.body` (the decoded JSON) or `req.err` (an error object).
--
--    local req = engine:start(url, meta, group) -- queue a GET (meta: caller's data, e.g. a
--                                          -- page number; group: a table shared by the
--                                          -- requests of one cursor, default the request)
--    engine:wait(req)                      -- run until req is done (the one wait path)
--    engine:step(s)                        -- one round, waiting at most s seconds
--    engine:timeout()                      -- seconds until the engine must run; nil: idle
--    engine:cancel(req)                    -- abandon (cancels the transfer if in flight)
--    engine:get(url)  -> body | nil, err   -- start + wait
--    engine:token()   -> token, expires_at | nil, err
--    engine:map(list, fn, n)               -- fn(value, i) in coroutines (cx:map)
--
-- The concerns live in their own modules: `cxcloud.engine.token` (the token's
-- lifecycle, its one owner), `cxcloud.engine.retry` (what is retried, backoff, budget),
-- `cxcloud.engine.rate` (rate limit, slowdown, holds), `cxcloud.engine.classify` (HTTP
-- and transfer results to error kinds), `cxcloud.engine.stats`, `cxcloud.engine.map`.
-- This file schedules:
--
-- * At most `max_inflight` API transfers in flight; requests are sent in the order they
--   were started (a retried request keeps its place), so pages go out in page order.
--   Concurrency: a fixed `concurrency`, or (option not set) automatic: 10, raised up to
--   32 when the observed latency times `rate_limit` needs more requests in flight.
-- * Only wanted requests are sent: a queued request goes out only while someone waits
--   (`wait`) on a request of its group. A loop left early (`break`, an error, `return`,
--   even `for item in q`, which has no closing value) waits no more, so its queued pages
--   are never sent; they are dropped when the cursor is closed, restarted or collected
--   (`group.dead`). The next call sends exactly its own requests.
-- * One wait path: wherever the engine would block, it calls the option `wait(cx,
--   seconds)` when set (seconds = `timeout()`; an event loop yields there), inside
--   `cx:map` it yields to the map's scheduler, else it blocks in the core's poll (at
--   most 1 s at a time, so Ctrl-C is seen) or, with nothing in flight, in `sleep`.
-- * A 401 from the API (or 403 NOT_AUTHORIZED): the token that request used is
--   dropped, a new one fetched, the request sent once more; a second rejection is an
--   `auth` error. This does not use `max_retries` or the retry budget.
-- * A failure while a request is submitted or its result processed (a C error, an
--   interrupt, an error in the user's `verbose`, `clock` or `sleep`) ends the waited
--   request with an error object; transfers whose results may be lost are cancelled and
--   queued again (the attempt not counted), so the client stays usable.
-- @module cxcloud.engine

local errors = require "cxcloud.errors"
local classify_mod = require "cxcloud.engine.classify"
local map_mod = require "cxcloud.engine.map"
local rate_mod = require "cxcloud.engine.rate"
local request = require "cxcloud.engine.request"
local retry_mod = require "cxcloud.engine.retry"
local stats_mod = require "cxcloud.engine.stats"
local token_mod = require "cxcloud.engine.token"

local M = {}

local tremove, tinsert = table.remove, table.insert
local min, max, huge = math.min, math.max, math.huge
local running, yield = coroutine.running, coroutine.yield
local method_of = classify_mod.method_of

local Engine = {}
Engine.__index = Engine

--- Estimated decoded size (bytes) of a page after which a full garbage collection runs
-- before the next page is decoded.
M.BIG_DECODED = 32 * 1024 * 1024

-- Automatic concurrency bounds.
M.AUTO_MIN, M.AUTO_MAX = 10, 32

-- What an engine wait inside a `cx:map` coroutine yields to the map's scheduler.
M.WAIT = map_mod.WAIT

--- Create an engine.
-- @param core_client a `cxcloud.core` client
-- @tparam table cfg validated options (see `cxcloud.options`)
-- @tparam table core the `cxcloud.core` module (decoder, now, time, sleep, parse_retry_after)
-- @tparam table deps what the layers above know and the engine needs: `identifiers` (the
--   fields decoded as strings, `cxcloud.operations.identifiers`), `retry_cost` and
--   `retry_refund` (the retry budget's constants, `cxcloud.options`)
-- @treturn table engine
function M.new(core_client, cfg, core, deps)
  local stats = stats_mod.new()
  local self = setmetatable({
    c = core_client,
    cfg = cfg,
    clock = cfg.clock or core.now,
    wall = cfg.wall_clock or core.time,
    -- the default sleep naps at most 1 s at a time (Ctrl-C is seen between naps)
    sleep = cfg.sleep or function(s) core.sleep(s > 1 and 1 or s) end,
    user_wait = cfg.wait,
    owner = nil,        -- the public client, handed to `wait` (set by cxcloud.new)
    max_inflight = cfg.concurrency or M.AUTO_MIN,
    auto = cfg.concurrency == nil,
    latency = nil,      -- moving average of API transfer times (auto concurrency)
    queue = {},         -- API reqs waiting to be sent, ordered by seq
    waiting = {},       -- group -> number of waits on it: only their requests are sent
    threads = {},       -- cx:map coroutine -> { waits = { group -> n }, req } (engine.map)
    inflight = {},      -- transfer id -> req (API and token)
    ninflight = 0,      -- API transfers in flight
    seq = 0,
    closed = false,
    stats = stats,
  }, Engine)
  self.redact = function(s, limit) return core_client:redact(s, limit) end
  self.tok = token_mod.new(core_client, cfg)
  self.rate = rate_mod.new(cfg, stats)
  self.retry = retry_mod.new(cfg, cfg.random or math.random, stats, deps.retry_cost,
    deps.retry_refund)
  self.classify, self.decode = classify_mod.new {
    decode = core.decoder(deps.identifiers), -- identifier fields come out as strings
    depth = cfg.max_json_depth,
    redact = self.redact, wall = self.wall, parse_retry_after = core.parse_retry_after,
    cfg = cfg }
  return self
end

local copy_error, done = request.copy_error, request.done

local function earliest(a, b)
  if a == nil or (b ~= nil and b < a) then return b end
  return a
end

-- an error value as safe text (it may come from C or from user code)
function Engine:_text(e)
  if errors.is_error(e) then return e.message end
  local s = tostring(e)
  if self.closed then return s end
  local ok, r = pcall(self.redact, s)
  return ok and r or "(error text not shown)"
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
-- @treturn table req with fields state, body, err, meta, attempts (`cxcloud.engine.request`)
function Engine:start(url, meta, group)
  if self.closed then errors.raise("usage", "the client is closed") end
  self.seq = self.seq + 1
  local req = request.new(url, meta, group, self.seq)
  self.queue[#self.queue + 1] = req
  return req
end

--- Abandon a request: a queued one is dropped, one in flight is cancelled in the
-- core (no result will be delivered for it). Idempotent.
-- @tparam table req
-- @tparam[opt] string why what a wait on it will say ("the request was cancelled: WHY")
function Engine:cancel(req, why)
  if done(req) then return end
  self:_withdraw(req)
  request.cancel(req, why)
end

-- Take `req` out of the queue, the in-flight set (cancelling its transfer) or the token's
-- slot.
function Engine:_withdraw(req)
  if req.state == "inflight" then
    if self.inflight[req.id] == req then
      self.inflight[req.id] = nil
      if not req.token then self.ninflight = self.ninflight - 1 end
      if not self.closed then pcall(self.c.cancel, self.c, req.id) end
    end
  else
    local q = self.queue
    for i = 1, #q do
      if q[i] == req then tremove(q, i) break end
    end
  end
  if self.tok.req == req then self.tok.req = nil end
end

------------------------------------------------------------------------------
-- dispatch

local TOKEN_SUBMIT = { token = true }

-- The token could not be had: unless the old one is still usable, every queued API
-- request fails with `err`.
function Engine:_token_failed(err, now)
  if self.tok:failed(now) then return end
  local q = self.queue
  self.queue = {}
  for i = 1, #q do request.fail(q[i], copy_error(err), true) end
end

-- Hand `req` to the core. The C call comes first: if it fails, nothing is marked in
-- flight; the request ends with an error object (and, for the token, so do the API
-- requests waiting for it). Returns true when submitted.
function Engine:_submit(req, now)
  local c = self.c
  local ok, id = pcall(c.submit, c, req.token and TOKEN_SUBMIT or { url = req.url })
  if not ok then
    local err = errors.new("config", "cannot send the request: " .. self:_text(id), {
      method = method_of(req), url = req.url })
    request.fail(req, err)
    if req.token then
      self.tok.req = nil
      self:_token_failed(err, now)
    end
    return false
  end
  request.sent(req, id, now)
  self.inflight[id] = req
  local stats = self.stats
  if req.token then
    req.sent_wall = self.wall()
    stats.token_requests = stats.token_requests + 1
  else
    req.token_gen = self.tok.gen
    self.tok:use()
    self.ninflight = self.ninflight + 1
    stats.requests = stats.requests + 1
  end
  return true
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
      request.cancel(req, "its query pass was closed")
    else
      if waiting[g] then wanted = true end
      i = i + 1
    end
  end
  return wanted
end

-- Send what may be sent now; returns the earliest future time something could be sent
-- (nil when only a completion can unblock the queue, or nothing is wanted). With `dry`,
-- sends nothing and returns `now` when something could be sent at once.
function Engine:_dispatch(now, dry)
  local wake = nil
  local q, waiting, tok = self.queue, self.waiting, self.tok
  local tstate = tok:state(now)
  local wanted = self:_sweep()
  if wanted and tok:due(tstate) then
    if dry then return now end
    local _, err = tok:start(now)
    if err then self:_token_failed(err, now) end
  end
  local treq = tok.req
  if treq and treq.state == "queued" and (wanted or waiting[treq]) then
    if treq.not_before > now then
      wake = treq.not_before
    elseif dry then
      return now
    else
      self:_submit(treq, now)
    end
  end
  if tstate == nil or not wanted then return wake end
  local rate = self.rate
  local i = 1
  while self.ninflight < self.max_inflight and i <= #q do
    local req = q[i]
    if not waiting[req.group] then
      i = i + 1
    elseif req.not_before <= now then
      local slot = rate:slot(now)
      if slot then return earliest(wake, slot) end
      if dry then return now end
      tremove(q, i)
      if self:_submit(req, now) then rate:take(now) end
    else
      wake = earliest(wake, req.not_before)
      i = i + 1
    end
  end
  return wake
end

------------------------------------------------------------------------------
-- results

-- a retryable failure: schedule a retry or give up; returns true when retried
function Engine:_retry(req, err, retry_after, now, signal)
  local delay, exhausted = self.retry:delay(req, err, retry_after)
  if exhausted then self:_drop_retries() end
  if not delay then return false end
  req.not_before = now + delay
  if signal == "throttle" or (signal == "overload" and retry_after) then
    self.rate:hold(now + delay)
  elseif signal == "overload" then
    -- briefly: a longer hold would queue every other request behind this one's backoff
    self.rate:hold(now + min(delay, rate_mod.OVERLOAD_HOLD))
  end
  req.last_err = err
  self:_requeue(req)
  return true
end

-- Back in line: the queue, by seq (a retried request keeps its place), or the token's slot.
function Engine:_requeue(req, uncount)
  request.requeue(req, uncount)
  if req.token then
    self.tok.req = req
  else
    insert_by_seq(self.queue, req)
  end
end

-- The retry budget ran out (an outage: nothing succeeds): the retries already
-- scheduled fail now with their last error instead of waiting out their backoff.
function Engine:_drop_retries()
  local q, keep = self.queue, {}
  for i = 1, #q do
    local req = q[i]
    local err = req.last_err
    if err and err.kind ~= "throttled" then
      err.message = err.message .. "; retry budget exhausted (no request of this client"
        .. " succeeded for a while: an outage?), not retrying"
      request.fail(req, err)
    else
      keep[#keep + 1] = req
    end
  end
  self.queue = keep
end

function Engine:_complete_token(req, r, now)
  local tok = self.tok
  tok.req = nil
  local body, err, retry_after = self.classify(req, r)
  if body ~= nil then
    err = tok:accept(req, body)
    if not err then
      request.ok(req, true) -- the response (with the token) is not kept
      return
    end
  end
  if err.retryable and self:_retry(req, err, retry_after, now) then return end
  request.fail(req, err)
  self:_token_failed(err, now)
end

function Engine:_complete(req, r, now)
  if req.token then return self:_complete_token(req, r, now) end
  self.ninflight = self.ninflight - 1
  if self.auto and r.time and self.rate.interval > 0 then self:_adapt(r.time) end
  local text, err, retry_after, signal = self.classify(req, r)
  if signal ~= "auth" and (r.status or 0) > 0 then self.tok:progress() end
  if err == nil then
    self.retry:success(req)
    self.rate:success(now)
    -- decoded when the caller takes it (Engine:wait): a page waiting its turn holds
    -- its wire bytes, never its decoded size
    request.answered(req, text, r.status, r.headers and r.headers["content-type"])
    return
  end
  local stats = self.stats
  if signal == "throttle" or signal == "overload" then
    if signal == "throttle" then stats.throttled = stats.throttled + 1
    else stats.overloaded = stats.overloaded + 1 end
    self.rate:slowdown(now)
  end
  if signal == "auth" then
    if not req.auth_retried then
      req.auth_retried = true
      stats.auth_retries = stats.auth_retries + 1
      self.tok:rejected(req.token_gen) -- fetch another before sending more
      self:_requeue(req)
      return
    end
    err.message = err.message .. "; the API rejected a freshly fetched token too (is the app"
      .. " registered for the CX Cloud APIs? a new registration can take 10 minutes)"
  elseif err.retryable and self:_retry(req, err, retry_after, now, signal) then
    return
  end
  request.fail(req, err)
end

-- automatic concurrency: enough requests in flight to keep the rate limit busy
function Engine:_adapt(t)
  local lat = self.latency
  lat = lat and (lat * 0.7 + t * 0.3) or t
  self.latency = lat
  local want = math.ceil(lat / self.rate.interval * 1.2) + 1
  self.max_inflight = min(M.AUTO_MAX, max(M.AUTO_MIN, want))
end

-- An error inside result processing must not lose the other results of the batch:
-- the request it struck ends with an error object.
function Engine:_complete_safely(req, r, now)
  local ok, e = pcall(self._complete, self, req, r, now)
  if ok or done(req) then return end
  local err = errors.new("usage", "internal error while processing a response: "
    .. self:_text(e), { method = method_of(req), url = req.url, status = r.status })
  if req.state == "queued" then self:_withdraw(req) end
  request.fail(req, err)
  if req.token then
    if self.tok.req == req then self.tok.req = nil end
    self:_token_failed(err, now)
  end
end

-- Transfers whose results may have been lost (the core's poll raised): cancel them in
-- the core and queue them again, the attempt not counted.
function Engine:_requeue_inflight()
  local c = self.c
  for id, req in pairs(self.inflight) do
    self.inflight[id] = nil
    if not self.closed then pcall(c.cancel, c, id) end
    if not req.token then self.ninflight = self.ninflight - 1 end
    self:_requeue(req, true)
  end
end

-- the trace to the user's verbose function; its error reaches the caller as an error object
function Engine:_deliver_trace(trace)
  local ok, e = pcall(self.cfg.verbose, trace)
  if not ok then
    error(errors.new("usage", "the verbose function raised an error: " .. self:_text(e)), 0)
  end
end

-- Collect what the core has, waiting there at most `w` seconds; process it. Returns
-- true when something completed.
function Engine:_collect(w)
  local c = self.c
  local ok, results, trace = pcall(c.poll, c, w)
  if not ok then
    self:_requeue_inflight()
    error(results, 0)
  end
  if #results > 0 then
    local now = self.clock()
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
  -- the trace after the results, so that an error of the user's function loses none
  if trace and self.cfg.verbose then self:_deliver_trace(trace) end
  return #results > 0
end

------------------------------------------------------------------------------
-- the loop

-- One round without the wait option: send what can be sent, collect what completed,
-- waiting at most `w` seconds in the core (or in `sleep` when nothing is in flight).
-- Returns true while work is pending.
function Engine:_turn(w)
  if self.closed then errors.raise("usage", "the client is closed") end
  local now = self.clock()
  local wake = self:_dispatch(now)
  if next(self.inflight) ~= nil then
    if wake then w = min(w, max(0, wake - now)) end
    -- at most 1 s inside C at a time, so that Ctrl-C at the REPL is seen soon
    if self:_collect(w > 1 and 1 or w) then
      self:_dispatch(self.clock()) -- what the answers made ready (the token, a slot)
    end
    return true
  end
  if not wake then return false end
  w = min(w, wake - now)
  if w > 0 then self.sleep(w) end
  return true
end

--- True while something is in flight or queued and wanted.
function Engine:pending()
  if self.closed then return false end
  return next(self.inflight) ~= nil or self:_dispatch(self.clock(), true) ~= nil
end

--- Seconds until the engine must run even if the core's descriptor stays quiet: the
-- earliest of the core's own deadline (libcurl's timer) and the engine's (the next
-- rate-limit slot, a backoff, a Retry-After, a hold, a token request); 0 when something
-- can be done now; nil when idle (or only the descriptor can end the wait).
-- @treturn number|nil
function Engine:timeout()
  if self.closed then return nil end
  local now = self.clock()
  local wake = self:_dispatch(now, true)
  local t = wake and max(0, wake - now) or nil
  if next(self.inflight) ~= nil then
    t = earliest(t, self.c:timeout())
  end
  return t
end

--- One round: send what is ready, collect what completed, waiting at most `s` seconds
-- (default: until the next event; 0: not at all). Never calls the `wait` option.
-- @tparam[opt] number s
-- @treturn boolean true while work is pending
function Engine:step(s)
  if s == nil then s = self:timeout() or 1 end
  self:_turn(s)
  return self:pending()
end

--- The core's descriptor (readable when the core has work), for event loops.
-- @treturn integer
function Engine:pollfd()
  if self.closed then errors.raise("usage", "pollfd: the client is closed") end
  return self.c:pollfd()
end

-- the map thread running now, if any (see cxcloud.engine.map)
function Engine:_thread()
  local co = running()
  return co and self.threads[co] and co or nil
end

-- The one wait path for a wait that cannot block here: inside cx:map, yield to its
-- scheduler; else the `wait` option. Returns once the wait is over.
function Engine:_block()
  if self:_thread() then
    yield(M.WAIT)
  else
    self.user_wait(self.owner, self:timeout())
  end
end

local function stuck(req)
  -- cannot happen unless the request was never queued; never spin
  request.fail(req, errors.new("usage", "internal: request is not queued"))
end

local function run_until_done(self, req)
  if self:_thread() then
    -- the map's scheduler runs the rounds for every coroutine
    while not done(req) do yield(M.WAIT) end
  elseif self.user_wait then
    while true do
      local busy = self:_turn(0)
      if done(req) then return end
      if not busy and not self:pending() then return stuck(req) end
      self:_block()
    end
  else
    while not done(req) do
      if not self:_turn(huge) and not done(req) then return stuck(req) end
    end
  end
end

-- an error raised while waiting, as an error object
local function as_error(self, e, req)
  if errors.is_error(e) then return copy_error(e) end
  return errors.new("usage", "interrupted while the request was in progress (the client stays"
    .. " usable): " .. self:_text(e), { method = method_of(req), url = req.url })
end

--- Run until `req` is done. While it runs, the queued requests of `req`'s group are
-- sent (and those of every group another wait is on); when it ends, by an answer or an
-- error, they are not sent any more. An error raised meanwhile (an interrupt, a C error,
-- the user's verbose function) ends `req` with an error object, even when its answer
-- had come (state "interrupted"); the other results are kept.
-- @tparam table req
-- @treturn table req
-- Runs until `req` is done (see Engine:wait).
function Engine:_run(req)
  local waiting, g = self.waiting, req.group
  local co = self:_thread()
  local mine = co and self.threads[co] -- a cx:map call: its waits and the request
  local outer
  waiting[g] = (waiting[g] or 0) + 1
  if mine then
    mine.waits[g] = (mine.waits[g] or 0) + 1
    outer, mine.req = mine.req, req
  end
  local ok, e = pcall(run_until_done, self, req)
  local n = waiting[g] - 1
  waiting[g] = n > 0 and n or nil
  if mine then
    n = mine.waits[g] - 1
    mine.waits[g] = n > 0 and n or nil
    mine.req = outer
  end
  if not ok then
    -- even when the request had its answer when the error struck (e.g. the user's
    -- verbose function, called after the results): the caller sees the error
    if not done(req) then self:_withdraw(req) end
    request.interrupt(req, as_error(self, e, req))
  end
end

--- Run until `req` is done, its answer decoded. While it runs, the queued requests of
-- `req`'s group are sent (and those of every group another wait is on); when it ends, by an
-- answer or an error, they are not sent any more. An error raised meanwhile (an interrupt,
-- a C error, the user's verbose function) ends `req` with an error object, even when its
-- answer had come (state "interrupted"); the other results are kept. A 2xx answer is decoded
-- here, when it is taken, not when it arrives: answers waiting their turn hold their wire
-- bytes only. One that is not valid JSON is asked again like any retryable failure.
-- @tparam table req
-- @treturn table req
function Engine:wait(req)
  while true do
    if not done(req) then self:_run(req) end
    if req.state ~= "answered" then break end
    -- the page decoded before was large: collect it (dropped by now, as a rule) before
    -- this one decodes, so that one such page never waits for the collector beside the next
    if self.big_decoded then
      self.big_decoded = false
      collectgarbage()
    end
    local body, err, size = self.decode(req)
    if size and size >= M.BIG_DECODED then self.big_decoded = true end
    if not err then
      request.ok(req, body)
      break
    end
    if not self:again(req, err) then break end
  end
  return req
end

--- A 2xx answer that its taker refused (invalid JSON, a page that is not what was asked):
-- `req` is sent again when `err` is retryable and the retry policy allows it (true: wait
-- on it again); otherwise it ends with `err` (false).
-- @tparam table req a done request
-- @tparam table err an error object (kind "decode")
-- @treturn boolean
function Engine:again(req, err)
  req.body = nil
  if err.retryable and not self.closed and self:_retry(req, err, nil, self.clock()) then
    return true
  end
  request.fail(req, err)
  return false
end

--- One GET.
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
  local tok = self.tok
  if tok:state(self.clock()) == "ok" then
    tok:use()
    return tok.value, tok.exp_epoch
  end
  local req = tok.req
  if not req then
    local err
    req, err = tok:start(self.clock())
    if not req then return nil, err end
  end
  self:wait(req)
  if req.err then
    -- a failed refresh leaves the old token usable until it expires
    if req.state ~= "interrupted" and tok:state(self.clock()) then
      tok:use()
      return tok.value, tok.exp_epoch
    end
    return nil, req.err
  end
  tok:use()
  return tok.value, tok.exp_epoch
end

--- `fn(list[i], i)` for every element, each in its own coroutine, at most `n` at once.
-- @see cxcloud.engine.map
function Engine:map(list, fn, n)
  return map_mod.run(self, list, fn, n)
end

--- Counters: requests, retries, throttled, overloaded, token_requests, auth_retries,
-- budget_exhausted, slowdowns, plus the core's connects and transfers, the retry
-- budget left, the rate in force (`rate`, requests/s; nil when off) and `concurrency`.
-- @treturn table
function Engine:get_stats()
  local s = stats_mod.snapshot(self.stats, { retry_budget = self.retry.budget,
    rate = self.rate:rate(), concurrency = self.max_inflight })
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
    pcall(self.c.cancel, self.c, id)
    request.cancel(req, "the client was closed")
  end
  self.inflight, self.queue, self.ninflight = {}, {}, 0
  self.tok:clear()
  self.closed = true
  self.c:close()
end

return M
