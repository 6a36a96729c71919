--- The access token's lifecycle, with one owner (part of `cxcloud.engine`).
--
-- This module holds the token's state: its value (for `cx:token()`), type, generation,
-- expiry and refresh time, and the one token request in progress. The C core holds only
-- what it needs to send and redact: the Authorization header and the copies it scrubs
-- from late responses and traces; it learns the token from `set_token` and nothing else.
--
-- Policy: fetched lazily when the first API request needs it; one token request at a
-- time however many API requests wait; refreshed `refresh_margin` (default min(60 s,
-- 10% of the lifetime), at most half the lifetime) before expiry while requests go on
-- with the still-valid old token; a failed refresh is not retried until the old token
-- expires.
--
-- Never a storm: a new token is sent with at least one API request before it may be
-- refreshed or dropped as expired (a lifetime shorter than a round trip still makes
-- progress), and after MAX_IDLE_FETCHES tokens in a row with which no API request got an
-- answer other than a rejection, the requests waiting for a token fail with an `auth`
-- error instead of a fourth fetch, for IDLE_PAUSE seconds. What the identity provider
-- sends is checked before it is used: a token_type other than Bearer (RFC 6749 section
-- 7.1: a client must not use a token whose type it does not understand), a token longer
-- than a header can carry (MAX_TOKEN_SIZE), and a lifetime beyond MAX_LIFETIME (taken as
-- MAX_LIFETIME).
-- @module cxcloud.engine.token

local errors = require "cxcloud.errors"
local request = require "cxcloud.engine.request"

local M = {}

local find, format, lower, min = string.find, string.format, string.lower, math.min

--- Tokens fetched in a row without an API answer that was not a rejection, before the
-- waiting requests fail.
M.MAX_IDLE_FETCHES = 3
--- Seconds without a token fetch after MAX_IDLE_FETCHES (a key that is being locked out
-- at the identity provider gets no more attempts meanwhile).
M.IDLE_PAUSE = 60
--- The longest access token accepted (bytes): servers refuse request headers far smaller
-- (8 to 16 KiB is common), and libcurl refuses to send much larger ones.
M.MAX_TOKEN_SIZE = 16384
--- The longest lifetime taken from `expires_in` (seconds): one year.
M.MAX_LIFETIME = 366 * 86400

local Token = {}
Token.__index = Token

--- Token state for one client.
-- @param core_client the core client (`set_token`)
-- @tparam table cfg validated options (token_url, refresh_margin)
-- @treturn table
function M.new(core_client, cfg)
  return setmetatable({
    c = core_client, cfg = cfg,
    value = nil, type = nil, gen = 0,
    exp_mono = nil, exp_epoch = nil, refresh_at = nil,
    req = nil,              -- the one token request in progress
    refresh_failed = false,
    used = false,           -- an API request was sent with the current token
    idle_fetches = 0,       -- tokens fetched since an API request last got an answer
  }, Token)
end

--- "ok": usable, no refresh due; "refresh": usable, due for refresh; nil: unusable.
function Token:state(now)
  if not self.value then return nil end
  if not self.exp_mono or not self.used then return "ok" end
  if now >= self.exp_mono then return nil end
  if now >= self.refresh_at then return "refresh" end
  return "ok"
end

--- Should a token request start now (given `state(now)`)?
function Token:due(st)
  return not self.req and (st == nil or (st == "refresh" and not self.refresh_failed))
end

--- Start the token request (the engine queues and sends it); or nil and an `auth`
-- error when the last tokens were fetched without any API progress.
function Token:start(now)
  if self.idle_fetches >= M.MAX_IDLE_FETCHES then
    self.idle_fetches = 0
    self.locked_until = now + M.IDLE_PAUSE
    self.lock_err = errors.new("auth", format("%d access tokens in a row were fetched without an"
      .. " API request getting an answer with them (the token expires before it can be used%s,"
      .. " or the API rejects it); no token is fetched for %d s", M.MAX_IDLE_FETCHES,
      self.life and format(": it lives %g s, refresh_margin %s", self.life,
        self.cfg.refresh_margin and format("%g s", self.cfg.refresh_margin) or "default") or "",
      M.IDLE_PAUSE), { method = "POST", url = self.cfg.token_url, retryable = false })
  end
  if self.locked_until and now < self.locked_until then return nil, self.lock_err end
  local req = request.new_token(self.cfg.token_url, now)
  self.req = req
  return req
end

--- Take a token response; returns nil, or an error object.
function Token:accept(req, body)
  local tok = type(body) == "table" and body.access_token
  if type(tok) ~= "string" or tok == "" then
    return errors.new("auth", "token response has no access_token", { method = "POST",
      url = req.url, status = 200 })
  end
  if #tok > M.MAX_TOKEN_SIZE then
    return errors.new("auth", format("token response has an access_token of %d bytes, more than"
      .. " an HTTP header can carry (at most %d)", #tok, M.MAX_TOKEN_SIZE), { method = "POST",
      url = req.url, status = 200 })
  end
  if not find(tok, "^[!-~]+$") then
    -- it goes into a header: no spaces, control or non-ASCII characters
    return errors.new("auth", "token response has an access_token with characters a bearer"
      .. " token cannot hold", { method = "POST", url = req.url, status = 200 })
  end
  local ttype = body.token_type
  if ttype ~= nil and (type(ttype) ~= "string" or lower(ttype) ~= "bearer") then
    return errors.new("auth", format("token response has token_type %s; cxcloud sends Bearer"
      .. " tokens only", type(ttype) == "string" and ("'" .. errors.escape(ttype:sub(1, 40)) .. "'")
      or ("of type " .. type(ttype))), { method = "POST", url = req.url, status = 200 })
  end
  local life = tonumber(body.expires_in)
  self.c:set_token(tok, "Bearer")
  self.value, self.type = tok, "Bearer"
  self.gen = self.gen + 1
  self.refresh_failed = false
  self.used = false
  self.idle_fetches = self.idle_fetches + 1
  if life and life > 0 and life == life then
    life = min(life, M.MAX_LIFETIME)
    self.life = life
    -- the margin leaves the token at least half its life: a margin as long as the
    -- lifetime would make every new token due for refresh at once
    local margin = min(self.cfg.refresh_margin or min(60, life * 0.1), life / 2)
    self.exp_mono = req.sent_mono + life
    self.exp_epoch = math.floor(req.sent_wall + life) -- an integer: os.date accepts it
    self.refresh_at = self.exp_mono - margin
  else
    -- lifetime unknown: use the token until the API rejects it (401 -> refresh)
    self.life = nil
    self.exp_mono, self.exp_epoch, self.refresh_at = nil, nil, nil
  end
  return nil
end

--- The current token is used: an API request is sent with it, or `cx:token()` hands it out.
function Token:use()
  self.used = true
end

--- An API request got an answer other than a rejection of its token: tokens serve.
function Token:progress()
  self.idle_fetches = 0
end

--- The token request failed for good: true when the old token is still usable (no
-- new attempt until it expires), false when requests waiting for a token must fail.
function Token:failed(now)
  if self:state(now) then
    self.refresh_failed = true
    return true
  end
  return false
end

--- The API rejected the token of generation `gen`: drop it if it is still the current one.
function Token:rejected(gen)
  if gen == self.gen then self.value = nil end
end

--- Forget everything (the client closes).
function Token:clear()
  self.value, self.type, self.req = nil, nil, nil
end

return M
