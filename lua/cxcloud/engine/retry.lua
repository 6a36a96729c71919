--- Retry policy: which failures are retried, when, and the retry budget (part of
-- `cxcloud.engine`).
--
-- * Retried, up to `max_retries` times per request: network errors (connect, reset,
--   truncated body, a cut TLS handshake), timeouts, 5xx, 429, 403
--   ERR_403_DEVELOPER_OVER_QPS, and a 2xx whose body is not valid JSON. Never retried:
--   other 4xx, certificate failures, responses over the size limits, and 403
--   ERR_403_DEVELOPER_OVER_RATE (the daily quota).
-- * Delay before retry n (n = 1, 2, ...): full jitter, random() * min(retry_cap,
--   retry_base * 2^(n-1)); a Retry-After header (seconds or HTTP-date) replaces it; a
--   Retry-After above retry_after_cap ends the request at once with `retry_after` set.
-- * Retry budget (after AWS's retry quota): a per-client bucket of `retry_budget` (100)
--   tokens. A retry draws 5; a request that succeeds gives back what its retries drew
--   plus 1 (RETRY_COST and RETRY_REFUND of `cxcloud.options`, handed down by the
--   client). Overload with progress (some requests still succeed, as when a gateway
--   sheds load with 503) keeps the bucket up; an outage (nothing succeeds) empties it
--   after about 20 retries, and then retryable failures fail at once ("retry budget
--   exhausted") instead of becoming a retry storm. Retries of throttled answers (429,
--   403 QPS) do not draw on it: the hold and the slowdown pace them, `max_retries`
--   bounds them.
-- * Shedding with progress paces a request instead of failing it. A shedding answer
--   (overloaded: 502, 503, 504; throttled: 429, 403 QPS) to a request while the client
--   gets other requests through counts neither against `max_retries` nor on the budget (it
--   backs off like any retry); at most MAX_PACED such retries per request. Getting through:
--   another request of the client succeeded less than PROGRESS_WINDOW seconds ago, and
--   either after this one was first sent or while others are still pending (not this
--   request alone after the last success, as a single stuck request is). Two clients
--   sharing a gateway's limit do not share it evenly: the one that keeps the gateway's
--   queue full gets most of it, the other sees most of its requests turned away, one of
--   them several times in a row, while its other requests still get through; that client
--   is slower, not failing. Without progress (an outage; one request turned away while
--   nothing else of the client moves) every answer counts as before.
-- @module cxcloud.engine.retry

local M = {}

local format, min = string.format, math.min

--- Seconds a success counts as progress for the shedding answers after it.
M.PROGRESS_WINDOW = 5

--- Most retries of one request paced by the client's progress (not counted).
M.MAX_PACED = 10

-- the signals of shedding answers (`cxcloud.engine.classify`)
local SHED = { overload = true, throttle = true }

local Policy = {}
Policy.__index = Policy

--- The policy of one client.
-- @tparam table cfg validated options
-- @tparam function random () -> [0, 1)
-- @tparam table stats the client's counters
-- @tparam number cost what a retry draws from the budget
-- @tparam number refund what a success gives back besides what its retries drew
-- @treturn table
function M.new(cfg, random, stats, cost, refund)
  return setmetatable({ cfg = cfg, random = random, stats = stats, budget = cfg.retry_budget,
    max_retries = cfg.max_retries, cost = cost, refund = refund,
    last_success = nil }, Policy) -- when an API request of the client last succeeded
end

--- The backoff before retry number `attempts`.
function Policy:backoff(attempts)
  local cfg = self.cfg
  return self.random() * min(cfg.retry_cap, cfg.retry_base * 2 ^ (attempts - 1))
end

-- Is a shedding answer to `req` at `now` pacing rather than failure: does the client get
-- other requests through (`others`: some are pending besides `req`)?
function Policy:progress(req, now, others)
  local t = self.last_success
  return t ~= nil and now ~= nil and now - t <= M.PROGRESS_WINDOW
    and (others or t > req.first_sent) and (req.paced or 0) < M.MAX_PACED
end

--- A retryable failure of `req` (attempts made so far in `req.attempts`): the delay
-- before the retry, or nil when it is not retried (then `err.message` says why).
-- @tparam table req
-- @tparam table err
-- @tparam[opt] number retry_after seconds (a Retry-After)
-- @tparam[opt] string signal the classifier's: "overload" and "throttle" are shedding
-- @tparam[opt] number now the engine's clock (without it, no answer counts as pacing)
-- @tparam[opt] boolean others other API requests of the client are pending
-- @treturn number|nil seconds
-- @treturn boolean true when the budget is exhausted
function Policy:delay(req, err, retry_after, signal, now, others)
  if retry_after then err.retry_after = retry_after end
  local max_retries = self.max_retries
  req.first_sent = req.first_sent or req.sent_mono or now
  local paced = SHED[signal] and max_retries > 0 and self:progress(req, now, others)
  if paced then req.paced = (req.paced or 0) + 1 end
  local counted = req.attempts - (req.paced or 0) -- attempts that count against max_retries
  if counted > max_retries then
    if max_retries > 0 then
      err.message = err.message .. format(" (gave up after %d %s%s)", max_retries,
        max_retries == 1 and "retry" or "retries", req.paced and format(", and %d more while"
        .. " other requests of this client got through", req.paced) or "")
    end
    return nil
  end
  local cap = self.cfg.retry_after_cap
  if retry_after and retry_after > cap then
    err.message = err.message .. format("; the server asked to wait %g s, more than"
      .. " retry_after_cap (%g s): not waiting", retry_after, cap)
    return nil
  end
  if err.kind ~= "throttled" and not paced then
    local cost = self.cost
    if self.budget < cost then
      self.stats.budget_exhausted = self.stats.budget_exhausted + 1
      err.message = err.message .. "; retry budget exhausted (no request of this client"
        .. " succeeded for a while: an outage?), not retrying"
      return nil, true
    end
    self.budget = self.budget - cost
    req.drawn = (req.drawn or 0) + cost
  end
  self.stats.retries = self.stats.retries + 1
  return retry_after or self:backoff(req.attempts)
end

--- `req` succeeded (at `now`, the engine's clock): refill the budget.
function Policy:success(req, now)
  self.last_success = now or self.last_success
  local full = self.cfg.retry_budget
  if self.budget < full then
    self.budget = min(full, self.budget + self.refund + (req.drawn or 0))
  end
  req.drawn = nil
end

return M
