--- How many API transfers may be in flight (part of `cxcloud.engine`).
--
-- `eng.max_inflight` is the option `concurrency` when it is set. Otherwise it is automatic:
-- MIN at first, then enough requests in flight to keep the rate limit busy: the moving
-- average of the API transfers' times (each new one weighs 0.3) divided by the rate
-- limiter's spacing, plus a fifth and one more, between MIN and MAX. Without a rate limit
-- it stays at MIN. The query cursor keeps as many pages requested (its window), and
-- `cx:map` as many calls running unless told otherwise.
-- @module cxcloud.engine.concurrency

local M = {}

local ceil, min, max = math.ceil, math.min, math.max

--- The automatic concurrency's lower bound (and starting value).
M.MIN = 10
--- The automatic concurrency's upper bound.
M.MAX = 32

--- Set the engine's starting concurrency from the validated options.
-- @tparam table eng
-- @tparam table cfg
function M.init(eng, cfg)
  eng.max_inflight = cfg.concurrency or M.MIN
  eng.auto = cfg.concurrency == nil
  eng.latency = nil -- moving average of API transfer times (automatic concurrency)
end

--- An API transfer took `t` seconds (nil when the core did not say).
-- @tparam table eng
-- @tparam[opt] number t
function M.observe(eng, t)
  local interval = eng.rate.interval
  if not eng.auto or not t or interval <= 0 then return end
  local lat = eng.latency
  lat = lat and (lat * 0.7 + t * 0.3) or t
  eng.latency = lat
  eng.max_inflight = min(M.MAX, max(M.MIN, ceil(lat / interval * 1.2) + 1))
end

return M
