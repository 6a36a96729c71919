--- The queue and what is sent when (part of `cxcloud.engine`).
--
-- The engine holds its requests in three places: the queue (`eng.queue`, API requests by
-- `seq`, the order they were started: a retried request keeps its place, so pages go out
-- in page order), the token's slot (`eng.tok.req`, the one token request) and the
-- in-flight set (`eng.inflight`, transfer id -> request; `eng.ninflight` counts the API
-- ones). `dispatch` sends what may be sent now:
--
-- * Only wanted requests: a queued request goes out only while someone waits on a request
--   of its group (`eng.waiting`, group -> number of waits, kept by `cxcloud.engine.drivers`).
--   A loop left early waits no more, so its queued pages are never sent; they are dropped
--   (cancelled) once their group is dead (`group.dead`: the cursor closed, restarted or
--   collected).
-- * The token first: when a wanted request needs a token (`cxcloud.engine.token` says when),
--   the token request starts and goes out; the API requests wait until it is usable.
-- * At most `eng.max_inflight` API transfers (`cxcloud.engine.concurrency`), each when the
--   rate limiter gives a slot (`cxcloud.engine.rate`) and its backoff (`req.not_before`)
--   is over.
-- * Within the client's memory bound (`max_buffered`): the answers waiting to be taken hold
--   their bytes, and each transfer in flight may grow to `max_body_size`; a request goes out
--   only while both fit under the bound, or when nothing else is in flight. A bound reached
--   lowers what is in flight, never fails a request.
-- * None once the gateway has said that the daily quota is spent (`eng.quota.spent`): until
--   the next UTC day, a request that would go out fails at once with that error, "not sent".
-- * A C error while a request is handed to the core ends that request with an error object
--   (for the token request, the API requests waiting for it too); nothing is marked in
--   flight.
-- @module cxcloud.engine.dispatch

local errors = require "cxcloud.errors"
local request = require "cxcloud.engine.request"

local M = {}

local tremove, tinsert = table.remove, table.insert
local method_of = request.method

local TOKEN_SUBMIT = { token = true }

--- The earlier of two times, either of which may be nil.
function M.earliest(a, b)
  if a == nil or (b ~= nil and b < a) then return b end
  return a
end
local earliest = M.earliest

--- Queue a new request (at the end: it has the highest seq).
function M.enqueue(eng, req)
  eng.queue[#eng.queue + 1] = req
end

--- Back in line (queued again, see `request.requeue`): in the queue by seq, or in the
-- token's slot.
function M.requeue(eng, req, uncount)
  request.requeue(req, uncount)
  if req.token then
    eng.tok.req = req
    return
  end
  local q, s = eng.queue, req.seq
  local i = #q
  while i >= 1 and q[i].seq > s do i = i - 1 end
  tinsert(q, i + 1, req)
end

--- The transfer of `req` left the core (its result came, or it was cancelled or lost).
function M.landed(eng, req)
  eng.inflight[req.id] = nil
  if not req.token then eng.ninflight = eng.ninflight - 1 end
end

--- Take a pending `req` out of the queue, the in-flight set (cancelling its transfer in
-- the core) or the token's slot. Its state is the caller's to set.
function M.withdraw(eng, req)
  if req.state == "inflight" then
    if eng.inflight[req.id] == req then
      M.landed(eng, req)
      if not eng.closed then pcall(eng.c.cancel, eng.c, req.id) end
    end
  else
    local q = eng.queue
    for i = 1, #q do
      if q[i] == req then tremove(q, i) break end
    end
  end
  if eng.tok.req == req then eng.tok.req = nil end
end

--- The token could not be had: unless the old one is still usable, every queued API
-- request fails with `err`.
function M.token_failed(eng, err, now)
  if eng.tok:failed(now) then return end
  local q = eng.queue
  eng.queue = {}
  for i = 1, #q do request.fail(q[i], request.copy_error(err), true) end
end

-- Hand `req` to the core. The C call comes first: if it fails, nothing is marked in
-- flight; the request ends with an error object (and, for the token, so do the API
-- requests waiting for it). Returns true when submitted.
local function submit(eng, req, now)
  local c = eng.c
  local ok, id = pcall(c.submit, c, req.token and TOKEN_SUBMIT or { url = req.url })
  if not ok then
    local err = errors.new("config", "cannot send the request: " .. eng:_text(id), {
      method = method_of(req), url = req.url })
    request.fail(req, err)
    if req.token then
      eng.tok.req = nil
      M.token_failed(eng, err, now)
    end
    return false
  end
  request.sent(req, id, now)
  eng.inflight[id] = req
  local stats = eng.stats
  if req.token then
    req.sent_wall = eng.wall()
    stats.token_requests = stats.token_requests + 1
  else
    req.token_gen = eng.tok.gen
    eng.tok:use()
    eng.ninflight = eng.ninflight + 1
    stats.requests = stats.requests + 1
    local day = eng:today()
    local quota = eng.quota
    if quota.day ~= day then quota.day, quota.calls, quota.stored, quota.spent = day, 0, 0, nil end
    quota.calls = quota.calls + 1
  end
  return true
end

--- Bytes held by answers not taken yet (`eng.held`, weak: a dropped answer leaves it when
-- collected, as its text does).
function M.held(eng)
  local n = 0
  for req in pairs(eng.held) do
    if req.state == "answered" then n = n + req.bytes else eng.held[req] = nil end
  end
  return n
end

-- Does one more transfer fit in the memory bound?
local function room(eng)
  local cfg = eng.cfg
  if eng.ninflight == 0 or not cfg.max_buffered then return true end
  local fits = (eng.ninflight + 1) * cfg.max_body_size + M.held(eng) <= cfg.max_buffered
  if not fits then eng.stats.memory_waits = eng.stats.memory_waits + 1 end
  return fits
end

-- Drop queued requests of dead groups; true when a queued API request is wanted.
local function sweep(eng)
  local q, waiting = eng.queue, eng.waiting
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

--- Send what may be sent now; returns the earliest future time something could be sent
-- (nil when only a completion can unblock the queue, or nothing is wanted). With `dry`,
-- sends nothing and returns `now` when something could be sent at once.
-- @tparam table eng
-- @tparam number now
-- @tparam[opt] boolean dry
-- @treturn number|nil
function M.dispatch(eng, now, dry)
  local wake = nil
  local q, waiting, tok = eng.queue, eng.waiting, eng.tok
  local tstate = tok:state(now)
  local wanted = sweep(eng)
  if wanted and tok:due(tstate) then
    if dry then return now end
    local _, err = tok:start(now)
    if err then M.token_failed(eng, err, now) end
  end
  local treq = tok.req
  if treq and treq.state == "queued" and (wanted or waiting[treq]) then
    if treq.not_before > now then
      wake = treq.not_before
    elseif dry then
      return now
    else
      submit(eng, treq, now)
    end
  end
  if tstate == nil or not wanted then return wake end
  local rate = eng.rate
  local spent = eng.quota.spent
  if spent and eng.quota.day ~= eng:today() then spent, eng.quota.spent = nil, nil end
  local i = 1
  while eng.ninflight < eng.max_inflight and i <= #q do
    local req = q[i]
    if not waiting[req.group] then
      i = i + 1
    elseif spent then -- the gateway said the daily quota is spent: no more calls today
      if dry then return now end
      tremove(q, i)
      local err = request.copy_error(spent)
      err.message = "not sent: " .. spent.message
      request.fail(req, err)
    elseif req.not_before <= now then
      if not room(eng) then return wake end
      local slot = rate:slot(now)
      if slot then return earliest(wake, slot) end
      if dry then return now end
      tremove(q, i)
      if submit(eng, req, now) then rate:take(now) end
    else
      wake = earliest(wake, req.not_before)
      i = i + 1
    end
  end
  return wake
end

return M
