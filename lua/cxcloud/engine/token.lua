--- The access token's lifecycle, with one owner (part of `cxcloud.engine`).
--
-- This module holds the token's state: its value (for `cx:token()`), type, generation,
-- expiry and refresh time, and the one token request in progress. The C core holds only
-- what it needs to send and redact: the Authorization header and the copies it scrubs
-- from late responses and traces; it learns the token from `set_token` and nothing else.
--
-- Policy: fetched lazily when the first API request needs it; one token request at a
-- time however many API requests wait; refreshed `refresh_margin` (default min(60 s,
-- 10% of the lifetime)) before expiry while requests go on with the still-valid old
-- token; a failed refresh is not retried until the old token expires.
-- @module cxcloud.engine.token

local errors = require "cxcloud.errors"

local M = {}

local find, min, huge = string.find, math.min, math.huge

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
  }, Token)
end

--- "ok": usable, no refresh due; "refresh": usable, due for refresh; nil: unusable.
function Token:state(now)
  if not self.value then return nil end
  if not self.exp_mono then return "ok" end
  if now >= self.exp_mono then return nil end
  if now >= self.refresh_at then return "refresh" end
  return "ok"
end

--- Should a token request start now (given `state(now)`)?
function Token:due(st)
  return not self.req and (st == nil or (st == "refresh" and not self.refresh_failed))
end

--- Start the token request (the engine queues and sends it).
function Token:start(now)
  local req = { token = true, url = self.cfg.token_url, attempts = 0, not_before = now,
    state = "queued", done = false }
  req.group = req
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
  if not find(tok, "^[!-~]+$") then
    -- it goes into a header: no spaces, control or non-ASCII characters
    return errors.new("auth", "token response has an access_token with characters a bearer"
      .. " token cannot hold", { method = "POST", url = req.url, status = 200 })
  end
  local ttype = body.token_type
  if type(ttype) ~= "string" or ttype == "" or find(ttype, "[%s%c]") then ttype = "Bearer" end
  local life = tonumber(body.expires_in)
  self.c:set_token(tok, ttype)
  self.value, self.type = tok, ttype
  self.gen = self.gen + 1
  self.refresh_failed = false
  if life and life > 0 and life < huge then
    local margin = self.cfg.refresh_margin or min(60, life * 0.1)
    self.exp_mono = req.sent_mono + life
    self.exp_epoch = math.floor(req.sent_wall + life) -- an integer: os.date accepts it
    self.refresh_at = self.exp_mono - min(margin, life)
  else
    -- lifetime unknown: use the token until the API rejects it (401 -> refresh)
    self.exp_mono, self.exp_epoch, self.refresh_at = nil, nil, nil
  end
  return nil
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
