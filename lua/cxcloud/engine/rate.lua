--- The client-side rate limiter (part of `cxcloud.engine`).
--
-- API requests are spaced 1/rate_limit seconds apart (a token bucket of one), shared by
-- every request of the client, retries included. A throttled or overloaded answer
-- (429, 403 QPS, 502/503/504) stretches the spacing by 1.5x (multiplicative decrease; at
-- most once a second, up to 8x) and holds every request of the client for the retry's
-- delay (a Retry-After, or the backoff; at most OVERLOAD_HOLD for an overload answer
-- without Retry-After, so that other requests are not queued behind one backoff). The
-- spacing recovers gradually: each success shrinks it by 3%, and time without a throttled
-- answer halves what is left of the slowdown every RECOVERY_HALF_LIFE seconds, so that a
-- client slowed to a crawl (a gateway shared with another client that has since finished)
-- gets back to its rate within seconds instead of after dozens of slow requests. A gateway
-- whose limit is lower than `rate_limit` is matched instead of hit again and again.
-- Token requests go to the identity provider and are not counted.
-- @module cxcloud.engine.rate

local M = {}

local min, max, huge = math.min, math.max, math.huge

--- Slowdown factor per throttled answer, its ceiling, and the recovery per success.
M.DECREASE, M.MAX_SLOW, M.RECOVERY = 1.5, 8, 0.97

--- Seconds without a throttled answer that halve the slowdown left.
M.RECOVERY_HALF_LIFE = 4

--- Longest hold after an overload answer without Retry-After (seconds).
M.OVERLOAD_HOLD = 1

local Limiter = {}
Limiter.__index = Limiter

--- A limiter for `cfg.rate_limit` requests/s (0: off; holds still apply).
-- @tparam table cfg validated options
-- @tparam table stats the client's counters (slowdowns)
-- @treturn table
function M.new(cfg, stats)
  return setmetatable({
    interval = (cfg.rate_limit and cfg.rate_limit > 0) and 1 / cfg.rate_limit or 0,
    next_at = -huge,   -- earliest time of the next API request
    slow = 1,          -- spacing factor (1 = none)
    slowed_at = -huge,
    recovered_at = -huge, -- when the slowdown was last recomputed
    hold_until = -huge,
    stats = stats,
  }, Limiter)
end

--- nil when a request may go at `now`, else the time it may.
function Limiter:slot(now)
  if now < self.hold_until then return self.hold_until end
  if self.interval > 0 and now < self.next_at then return self.next_at end
  return nil
end

--- A request went out at `now`.
function Limiter:take(now)
  if self.interval > 0 then self.next_at = now + self.interval * self.slow end
end

--- Hold every request until `t`.
function Limiter:hold(t)
  if t > self.hold_until then self.hold_until = t end
end

--- A throttled or overloaded answer at `now`: multiplicative decrease.
function Limiter:slowdown(now)
  if self.interval > 0 and now - self.slowed_at >= 1 then
    self.slow = min(M.MAX_SLOW, self.slow * M.DECREASE)
    self.slowed_at, self.recovered_at = now, now
    self.stats.slowdowns = self.stats.slowdowns + 1
  end
end

--- A success at `now`: gradual recovery, per success and with time.
function Limiter:success(now)
  if self.slow <= 1 then return end
  local quiet = now - self.recovered_at
  local excess = (self.slow - 1) * 0.5 ^ (quiet > 0 and quiet / M.RECOVERY_HALF_LIFE or 0)
  self.slow = max(1, (1 + excess) * M.RECOVERY)
  self.recovered_at = now
end

--- The rate in force, requests/s, or nil when off.
function Limiter:rate()
  return self.interval > 0 and 1 / (self.interval * self.slow) or nil
end

return M
