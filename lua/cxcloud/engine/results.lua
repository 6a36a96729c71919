--- What becomes of a transfer's result, and of an answer when it is taken (part of
-- `cxcloud.engine`).
--
-- `complete` turns one result of the core's poll into the request's next state
-- (`cxcloud.engine.request`), after `cxcloud.engine.classify` has told what it is:
--
-- * A 2xx answer to an API request: "answered", its wire text kept; `take` decodes it when
--   the caller takes it (`engine:wait`), so that a page waiting its turn holds its bytes,
--   never its decoded size. When the page decoded before was large (BIG_DECODED), a full
--   garbage collection runs first, so that one such page never waits for the collector
--   beside the next. A 2xx that is not valid JSON, or that its taker refuses (`again`), is
--   asked again like any retryable failure.
-- * A retryable failure: queued again after the retry policy's delay
--   (`cxcloud.engine.retry`); a throttled or overloaded answer also slows the rate limiter
--   down and holds every request (`cxcloud.engine.rate`); while other requests of the
--   client get through, it paces the request instead of counting as a failure. When the
--   retry budget runs out, the retries already waiting fail at once.
-- * A 401 from the API (or 403 NOT_AUTHORIZED): the token that request used is dropped,
--   another fetched, the request sent once more; a second rejection is an `auth` error.
--   This does not use `max_retries` or the retry budget.
-- * The token request's answer goes to `cxcloud.engine.token`; when it fails for good, so
--   do the API requests waiting for a token (unless the old one is still usable).
-- * An error inside this processing ends only the request it struck, with an error object;
--   the other results of the same poll are processed.
-- @module cxcloud.engine.results

local errors = require "cxcloud.errors"
local concurrency = require "cxcloud.engine.concurrency"
local dispatch = require "cxcloud.engine.dispatch"
local rate_mod = require "cxcloud.engine.rate"
local request = require "cxcloud.engine.request"

local M = {}

local min = math.min
local method_of = request.method

--- Estimated decoded size (bytes) of a page after which a full garbage collection runs
-- before the next page is decoded.
M.BIG_DECODED = 32 * 1024 * 1024

-- The retry budget ran out (an outage: nothing succeeds): the retries already
-- scheduled fail now with their last error instead of waiting out their backoff.
local function drop_retries(eng)
  local q, keep = eng.queue, {}
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
  eng.queue = keep
end

--- A retryable failure of `req`: queue it again after the policy's delay, or give up
-- (`err.message` then says why). `signal` ("throttle", "overload") holds every request.
-- @treturn boolean true when retried
function M.retry(eng, req, err, retry_after, now, signal)
  -- `req` has left the in-flight set and is not queued: what is there is other requests
  local others = eng.ninflight > 0 or #eng.queue > 0
  local delay, exhausted = eng.retry:delay(req, err, retry_after, signal, now, others)
  if exhausted then drop_retries(eng) end
  if not delay then return false end
  req.not_before = now + delay
  if signal == "throttle" or (signal == "overload" and retry_after) then
    eng.rate:hold(now + delay)
  elseif signal == "overload" then
    -- briefly: a longer hold would queue every other request behind this one's backoff
    eng.rate:hold(now + min(delay, rate_mod.OVERLOAD_HOLD))
  end
  req.last_err = err
  dispatch.requeue(eng, req)
  return true
end

local function complete_token(eng, req, r, now)
  local tok = eng.tok
  tok.req = nil
  local body, err, retry_after = eng.classify(req, r)
  if body ~= nil then
    err = tok:accept(req, body)
    if not err then
      request.ok(req, true) -- the response (with the token) is not kept
      return
    end
  end
  if err.retryable and M.retry(eng, req, err, retry_after, now) then return end
  request.fail(req, err)
  dispatch.token_failed(eng, err, now)
end

local function complete_api(eng, req, r, now)
  concurrency.observe(eng, r.time)
  local text, err, retry_after, signal = eng.classify(req, r)
  if signal ~= "auth" and (r.status or 0) > 0 then eng.tok:progress() end
  if err == nil then
    eng.retry:success(req, now)
    eng.rate:success(now)
    request.answered(req, text, r.status, r.headers and r.headers["content-type"])
    eng.held[req] = true
    return
  end
  local stats = eng.stats
  if signal == "throttle" or signal == "overload" then
    if signal == "throttle" then stats.throttled = stats.throttled + 1
    else stats.overloaded = stats.overloaded + 1 end
    eng.rate:slowdown(now)
  end
  if signal == "quota" then
    local q = eng.quota
    if q.day ~= eng:today() then q.day, q.calls, q.stored = eng:today(), 0, 0 end
    q.spent = err -- later requests today fail unsent (`cxcloud.engine.dispatch`)
  elseif signal == "auth" then
    if not req.auth_retried then
      req.auth_retried = true
      stats.auth_retries = stats.auth_retries + 1
      eng.tok:rejected(req.token_gen) -- fetch another before sending more
      dispatch.requeue(eng, req)
      return
    end
    err.message = err.message .. "; the API rejected a freshly fetched token too (is the app"
      .. " registered for the CX Cloud APIs? a new registration can take 10 minutes)"
  elseif err.retryable and M.retry(eng, req, err, retry_after, now, signal) then
    return
  end
  request.fail(req, err)
end

--- The result `r` of the core's poll for `req` (whose transfer has left the in-flight
-- set), at `now`. An error raised here ends `req` with an error object instead of
-- reaching the caller, so that the other results of the batch are not lost.
function M.complete(eng, req, r, now)
  local ok, e = pcall(req.token and complete_token or complete_api, eng, req, r, now)
  if ok or request.done(req) then return end
  local err = errors.new("usage", "internal error while processing a response: "
    .. eng:_text(e), { method = method_of(req), url = req.url, status = r.status })
  if req.state == "queued" then dispatch.withdraw(eng, req) end
  request.fail(req, err)
  if req.token then
    if eng.tok.req == req then eng.tok.req = nil end
    dispatch.token_failed(eng, err, now)
  end
end

--- A done request's 2xx answer refused by its taker (invalid JSON, a page that is not what
-- was asked): `req` is queued again when `err` is retryable and the retry policy allows it
-- (true: wait on it again); otherwise it fails with `err` (false).
-- @tparam table eng
-- @tparam table req an answered or ok request
-- @tparam table err an error object (kind "decode")
-- @treturn boolean
function M.again(eng, req, err)
  req.body = nil -- not kept while it waits for the retry
  if err.retryable and not eng.closed and M.retry(eng, req, err, nil, eng.clock()) then
    return true
  end
  request.fail(req, err)
  return false
end

--- Take `req`'s answer: an answered request is decoded now (state "ok", or `again`).
-- @treturn boolean true when `req` was queued again (the caller waits on it again)
function M.take(eng, req)
  if req.state ~= "answered" then return false end
  if eng.big_decoded then
    -- the page decoded before was large: collect it (dropped by now, as a rule) before
    -- this one decodes
    eng.big_decoded = false
    collectgarbage()
  end
  local body, err, size = eng.decode(req)
  if size and size >= M.BIG_DECODED then eng.big_decoded = true end
  if not err then
    request.ok(req, body)
    return false
  end
  return M.again(eng, req, err)
end

return M
