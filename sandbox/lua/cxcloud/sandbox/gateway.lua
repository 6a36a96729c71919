--- Gateway emulation: per-client rate limit (token bucket), daily quota, latency.
--
-- The limits apply per client credential (the client id behind the bearer token),
-- across all connections, as the API gateway does.
-- @module cxcloud.sandbox.gateway

local gateway = {}

local Gate = {}
Gate.__index = Gate

--- A gateway state.
-- @tparam table cfg live options (rate_limit, rate_burst, daily_quota, latency...)
-- @tparam function now clock in seconds
-- @tparam[opt] integer seed for the latency draws
-- @treturn table
function gateway.new(cfg, now, seed)
  if seed then math.randomseed(seed) end
  return setmetatable({ cfg = cfg, now = now, buckets = {}, used = {}, random = math.random }, Gate)
end

--- Takes one request from the client's bucket. Returns true, or false and the
-- seconds until a request would be accepted.
-- @tparam string client
-- @treturn boolean
-- @treturn number|nil wait
function Gate:allow(client)
  local rate = self.cfg.rate_limit
  if not rate or rate <= 0 then return true end
  local burst = math.max(1, self.cfg.rate_burst or 1)
  local t = self.now()
  local b = self.buckets[client]
  if not b then
    b = { tokens = burst, last = t }
    self.buckets[client] = b
  end
  b.tokens = math.min(burst, b.tokens + (t - b.last) * rate)
  b.last = t
  if b.tokens >= 1 then
    b.tokens = b.tokens - 1
    return true
  end
  return false, (1 - b.tokens) / rate
end

--- Counts one request against the client's quota; false when over it.
-- @tparam string client
-- @treturn boolean
function Gate:quota(client)
  local q = self.cfg.daily_quota
  if not q or q <= 0 then return true end
  local n = (self.used[client] or 0) + 1
  if n > q then return false end
  self.used[client] = n
  return true
end

--- A latency draw in seconds for the option value `spec` (a number or {min, max}).
-- @param spec
-- @treturn number
function Gate:delay(spec)
  if type(spec) == "number" then return spec end
  if type(spec) == "table" then
    local a, b = spec[1] or spec.min, spec[2] or spec.max
    return a + (b - a) * self.random()
  end
  return 0
end

--- Forgets buckets and quota counts (after `set{}` changes the limits).
function Gate:reset()
  self.buckets, self.used = {}, {}
end

return gateway
