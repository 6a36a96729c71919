--- Error objects.
--
-- Every failure cxcloud reports is a table with this module's metatable:
--
--    kind        "config", "auth", "http", "throttled", "network", "timeout", "tls",
--                "decode", "usage", or "drift" (the result set changed during a pull)
--    status      HTTP status or nil
--    message     what happened, one line, server text escaped
--    method      "GET" / "POST" or nil
--    url         the request URL, credential-looking query values replaced
--    retryable   true when trying again later may succeed
--    retry_after seconds the server asked to wait, or nil
--    request_id  the gateway's request id (X-Mashery-Message-ID, X-Request-ID), or nil
--    body        start of the response body (escaped, redacted), or nil
--    attempts    how many attempts were made, or nil
--    page        for a query: the page it stopped at (pass it as `start_page` to resume)
--    operation   for a query: the operation name ("hardware", ...)
--    where       for an error raised by a call (a bad argument, a closed client...):
--                "file.lua:12", the caller's line that made the call, or nil
--
-- `tostring(err)` gives a one-line message such as
--
--    cxcloud: http 503 GET https://apix.cisco.com/cs/api/v2/inventory/hardware?customerId=abc&page=3&rows=100
--      (after 6 attempts): Service Unavailable
--
-- (on one line).
-- @module cxcloud.errors

local M = {}

local format, gsub, sub, find, lower = string.format, string.gsub, string.sub, string.find, string.lower
local concat = table.concat

local Error = {}
Error.__index = Error
Error.__name = "cxcloud.error"
M.Error = Error

local ESC = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\27"] = "\\x1b" }
local function esc_ctl(c)
  return ESC[c] or format("\\x%02x", c:byte())
end
local function esc_c1(c)
  return format("\\u{%04x}", c:byte(2))
end

--- Escape control characters (C0, DEL and UTF-8 encoded C1) so that text from a
-- server cannot forge output lines or terminal escape sequences:
-- "\r\n" becomes `\r\n` literally, ESC becomes `\x1b`.
-- @tparam string s
-- @treturn string
function M.escape(s)
  if type(s) ~= "string" then return s end
  s = gsub(s, "[%c\127]", esc_ctl)
  s = gsub(s, "\194[\128-\159]", esc_c1)
  return s
end

-- query keys whose values are never shown (compared lower-case, without '_' and '-')
local SECRET_KEYS = {
  token = true, secret = true, password = true, passwd = true, pwd = true, key = true,
  signature = true, sig = true, auth = true, authorization = true, credential = true,
  credentials = true, code = true, assertion = true, session = true, sessionid = true,
}
local SECRET_SUFFIXES = { "token$", "secret$", "password$", "apikey$", "assertion$" }

local function secret_key(k)
  k = gsub(lower(k), "[_%-]", "")
  if SECRET_KEYS[k] then return true end
  for i = 1, #SECRET_SUFFIXES do
    if find(k, SECRET_SUFFIXES[i]) then return true end
  end
  return false
end

--- A URL safe to show: user-info removed, values of credential-looking query
-- parameters (token, secret, password, key, signature, ...) replaced by
-- `[REDACTED]`, control characters escaped.
-- @tparam string url
-- @treturn string
function M.safe_url(url)
  if type(url) ~= "string" then return url end
  url = gsub(url, "^(%a[%w+.-]*://)[^/?#@]*@", "%1")
  local q = find(url, "?", 1, true)
  if q then
    local head, query = sub(url, 1, q), sub(url, q + 1)
    query = gsub(query, "([^&=]+)=([^&]*)", function(k, v)
      if v ~= "" and secret_key(k) then return k .. "=[REDACTED]" end
      return nil
    end)
    url = head .. query
  end
  return M.escape(url)
end

--- The start of a response body for an error: at most `max` bytes, passed
-- through `redact` (the core's secret/token scrubber), control characters escaped.
-- Only what is shown is redacted, however long the body (a needle that starts in the
-- shown part is masked whole, so none of it shows across the cut).
-- @tparam string|nil body
-- @tparam[opt] function redact `redact(s, max) -> text, cut`: the redacted image of s's
--   first max bytes, at most max bytes long; cut is true when s had more
-- @tparam[opt=512] integer max
-- @treturn string|nil
function M.snippet(body, redact, max)
  if type(body) ~= "string" or body == "" then return nil end
  max = max or 512
  local shown, cut
  if redact then
    shown, cut = redact(body, max)
  else
    shown, cut = sub(body, 1, max), #body > max
  end
  shown = M.escape(shown)
  if cut then shown = shown .. "..." end
  return shown
end

--- Make an error object. `fields.message` is escaped, `fields.url` made safe.
-- @tparam string kind one of the kinds listed above
-- @tparam string message
-- @tparam[opt] table fields other fields (status, url, ...); this table is reused
-- @treturn table the error object
function M.new(kind, message, fields)
  local e = fields or {}
  e.kind = kind
  e.message = M.escape(message or kind)
  if e.url then e.url = M.safe_url(e.url) end
  if e.request_id then e.request_id = M.escape(e.request_id) end
  if e.retryable == nil then e.retryable = false end
  return setmetatable(e, Error)
end

-- the directory of the library's Lua modules: frames there are not the caller's
local LIBRARY_DIR = (debug.getinfo(1, "S").source:match("^@(.*[/\\])[^/\\]*$"))

-- "file:line" of the first frame from `level` up (as `debug.getinfo` counts from the
-- function that calls this) that is Lua code outside the library, or nil
local function caller_position(level)
  while true do
    local frame = debug.getinfo(level + 1, "Sl")
    if not frame then return nil end
    local src = frame.source
    if frame.currentline > 0 and sub(src, 1, 1) == "@"
      and not (LIBRARY_DIR and sub(src, 2, #LIBRARY_DIR + 1) == LIBRARY_DIR) then
      return frame.short_src .. ":" .. frame.currentline
    end
    level = level + 1
  end
end

--- Raise an error object (never returns). Lua adds no position to an error that is a
-- table, so the object records it as `where`: the first line of Lua code outside the
-- library at or above `level` (counted as for `error`), that is, the caller's call.
-- @tparam string kind
-- @tparam string message
-- @tparam[opt] table fields
-- @tparam[opt=2] integer level
function M.raise(kind, message, fields, level)
  local e = M.new(kind, message, fields)
  if e.where == nil then e.where = caller_position(level or 2) end
  error(e, level or 2)
end

--- Is `v` a cxcloud error object?
-- @param v any value
-- @treturn boolean
function M.is_error(v)
  return getmetatable(v) == Error
end

--- One-line message.
-- @function Error:__tostring
function Error.__tostring(e)
  local b = { "cxcloud: ", e.kind or "error" }
  if e.status then b[#b + 1] = " " .. e.status end
  if e.method and e.url then b[#b + 1] = " " .. e.method .. " " .. e.url
  elseif e.url then b[#b + 1] = " " .. e.url end
  if e.attempts and e.attempts > 1 then b[#b + 1] = format(" (after %d attempts)", e.attempts) end
  b[#b + 1] = ": "
  b[#b + 1] = e.message or "?"
  if e.request_id then b[#b + 1] = " [request id " .. e.request_id .. "]" end
  return concat(b)
end

return M
