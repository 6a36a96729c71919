--- OAuth2 client-credentials emulation: credential checks and opaque bearer tokens.
--
-- Tokens are random, tracked server side with their expiry, and can be expired or
-- revoked on demand. Credentials are accepted as form fields or HTTP Basic.
-- @module cxcloud.sandbox.auth

local rand = require "openssl.rand"
local basexx = require "basexx"
local http_util = require "http.util"

local auth = {}

--- Percent-decoding; `plus` also turns "+" into a space (form encoding).
-- @tparam string s
-- @tparam[opt] boolean plus
-- @treturn string
function auth.url_decode(s, plus)
  if plus then s = s:gsub("+", " ") end
  return http_util.decodeURIComponent(s)
end

--- Parses `application/x-www-form-urlencoded` text (or a query string).
-- Returns the table of values and the list of names given more than once.
-- @tparam string s
-- @treturn table name -> value
-- @treturn table duplicate names
function auth.parse_form(s)
  local t, dup = {}, {}
  local text = (s or ""):gsub("+", " ")
  for k, v in http_util.query_args(text) do
    if t[k] ~= nil then dup[#dup + 1] = k end
    t[k] = v or ""
  end
  return t, dup
end

--- Decodes an `Authorization: Basic` header value into id and secret.
-- @tparam string header
-- @treturn string|nil id
-- @treturn string|nil secret
function auth.parse_basic(header)
  local b = header and header:match("^%s*[Bb][Aa][Ss][Ii][Cc]%s+(%S+)%s*$")
  if not b then return nil end
  local plain = basexx.from_base64(b)
  if not plain then return nil end
  local id, secret = plain:match("^([^:]*):(.*)$")
  return id, secret
end

--- A fresh random value for tokens and keys (URL-safe base64 of `n` random bytes).
-- @tparam[opt] integer n bytes, default 32
-- @treturn string
function auth.random(n)
  return basexx.to_url64(rand.bytes(n or 32))
end

local Store = {}
Store.__index = Store

--- A token store.
-- @tparam function now clock in seconds
-- @treturn table
function auth.store(now)
  return setmetatable({ now = now, tokens = {}, count = 0 }, Store)
end

--- Issues a token for `client_id`, valid `lifetime` seconds.
-- @tparam string client_id
-- @tparam number lifetime
-- @treturn string token
function Store:issue(client_id, lifetime)
  local tok = auth.random(32)
  local t = self.now()
  self.tokens[tok] = { client_id = client_id, issued = t, expires = t + lifetime, uses = 0 }
  self.count = self.count + 1
  if self.count > 20000 then self:prune() end
  return tok
end

--- Drops expired and revoked tokens.
function Store:prune()
  local t, n = self.now(), 0
  for k, rec in pairs(self.tokens) do
    if rec.revoked or rec.expires <= t then
      self.tokens[k] = nil
    else
      n = n + 1
    end
  end
  self.count = n
end

--- Checks a presented token. Returns the record, or nil and "unknown" | "expired" | "revoked".
-- @tparam string tok
-- @treturn table|nil
-- @treturn string|nil reason
function Store:check(tok)
  local rec = tok and self.tokens[tok]
  if not rec then return nil, "unknown" end
  if rec.revoked then return nil, "revoked" end
  if rec.expires <= self.now() then return nil, "expired" end
  rec.uses = rec.uses + 1
  return rec
end

--- Expires one token (or all when `tok` is nil). Returns how many.
-- @tparam[opt] string tok
-- @treturn integer
function Store:expire(tok)
  local n, t = 0, self.now()
  for k, rec in pairs(self.tokens) do
    if (tok == nil or k == tok) and rec.expires > t then
      rec.expires = t
      n = n + 1
    end
  end
  return n
end

--- Revokes one token (or all when `tok` is nil). Returns how many.
-- @tparam[opt] string tok
-- @treturn integer
function Store:revoke(tok)
  local n = 0
  for k, rec in pairs(self.tokens) do
    if (tok == nil or k == tok) and not rec.revoked then
      rec.revoked = true
      n = n + 1
    end
  end
  return n
end

--- Every token with its state (for the control endpoint).
-- @treturn table array of `{access_token, client_id, issued, expires_in, revoked, uses}`
function Store:list()
  local t, out = self.now(), {}
  for k, rec in pairs(self.tokens) do
    out[#out + 1] = { access_token = k, client_id = rec.client_id, issued = rec.issued,
      expires_in = rec.expires - t, revoked = rec.revoked or false, uses = rec.uses }
  end
  table.sort(out, function(a, b) return a.issued < b.issued end)
  return out
end

return auth
