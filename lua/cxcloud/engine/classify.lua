--- HTTP and transfer classification: one transfer result becomes a decoded body, or an
-- error object plus what the retry policy needs to know (part of `cxcloud.engine`).
--
--    local classify, decode = require("cxcloud.engine.classify").new(ctx)
--    local body, err, retry_after, signal = classify(req, result)
--    local value, err = decode(req) -- an API request's 2xx text (req.body), decoded
--
-- A 2xx answer to an API request comes back as its text (a string), decoded only when the
-- caller takes it; a token response comes back decoded.
-- `signal` is "auth" (401, or 403 NOT_AUTHORIZED from the API: drop the token, fetch
-- another, send once more), "throttle" (429, 403 ERR_403_DEVELOPER_OVER_QPS), "overload"
-- (502, 503, 504: the gateway sheds load or cannot reach its upstream; one answer cannot
-- tell which, the retry budget tells over time), "quota" (403 ERR_403_DEVELOPER_OVER_RATE:
-- the daily quota is spent, see `quota_error`), or nil. `err.retryable` says whether the
-- policy allows a retry.
-- @module cxcloud.engine.classify

local curl = require "cxcloud.curl"
local errors = require "cxcloud.errors"
local proxy = require "cxcloud.proxy"

local M = {}

local format, find, sub = string.format, string.find, string.sub

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [406] = "Not Acceptable", [408] = "Request Timeout",
  [409] = "Conflict", [410] = "Gone", [413] = "Payload Too Large", [414] = "URI Too Long",
  [415] = "Unsupported Media Type", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local MASHERY_QPS = "ERR_403_DEVELOPER_OVER_QPS"
local MASHERY_RATE = "ERR_403_DEVELOPER_OVER_RATE"

--- Statuses that mean "the service is overloaded" (slow down, like throttling).
M.OVERLOAD = { [502] = true, [503] = true, [504] = true }

local function method_of(req) return req.token and "POST" or "GET" end
M.method_of = method_of

local function header(h, name)
  local v = h and h[name]
  if v == nil or v == "" then return nil end
  return v
end

--- The gateway's daily-quota answer (403 ERR_403_DEVELOPER_OVER_RATE) as the error
-- programs see: kind "throttled", never retried, `quota_spent = true` (what `db:sync`
-- tests), `retry_after` = the seconds until the next UTC day; the message says so, with the
-- calls this client counted today.
-- @tparam table err the HTTP error object (its message gets the explanation)
-- @tparam number now wall-clock time (s)
-- @tparam integer calls the client's calls today (`cx:quota().calls`)
-- @treturn table err
function M.quota_error(err, now, calls)
  local next_day = (math.floor(now / 86400) + 1) * 86400
  local wait = math.ceil(next_day - now)
  err.retryable, err.quota_spent, err.retry_after = false, true, wait
  err.message = err.message .. format("; the daily quota is spent (%d calls counted today by this"
    .. " client); the next UTC day starts at %s, in %d s: no retry before then", calls,
    os.date("!%Y-%m-%dT%H:%M:%SZ", next_day), wait)
  return err
end

--- A classifier.
-- @tparam table ctx `{ decode, depth, redact, wall, parse_retry_after, cfg, quota_calls }`
--   (`quota_calls()`: the client's calls today)
-- @treturn function classify(req, result) -> body | nil, err, retry_after, signal
-- @treturn function decode(req) -> value, nil, estimated Lua bytes | nil, err
function M.new(ctx)
  local decode, depth, redact = ctx.decode, ctx.depth, ctx.redact
  local cfg = ctx.cfg

  -- a short message from an error body: JSON {error|error_description|message|detail|title}
  local function server_message(body)
    if type(body) ~= "string" or #body == 0 or #body > 65536 or not find(body, "^%s*{") then
      return nil
    end
    local ok, t = pcall(decode, body, 8)
    if not ok or type(t) ~= "table" then return nil end
    local parts = {}
    for _, k in ipairs { "error", "error_description", "message", "detail", "title" } do
      local v = t[k]
      if type(v) == "string" and v ~= "" then parts[#parts + 1] = v end
    end
    if #parts == 0 then return nil end
    local s = redact(table.concat(parts, ": "))
    if #s > 300 then s = sub(s, 1, 300) .. "..." end
    return s
  end

  local function http_error(req, r, kind, retryable)
    local status = r.status
    local h = r.headers
    local msg = REASONS[status] or ("HTTP " .. status)
    local code = header(h, "x-mashery-error-code")
    if code then msg = msg .. " (" .. code .. ")" end
    local smsg = server_message(r.body)
    if smsg then msg = msg .. ": " .. smsg end
    if status >= 300 and status < 400 then
      local loc = header(h, "location")
      msg = msg .. "; redirect" .. (loc and (" to " .. errors.safe_url(redact(loc))) or "")
        .. " not followed (check base_url / token_url)"
    end
    return errors.new(kind, msg, {
      status = status,
      method = method_of(req),
      url = req.url,
      retryable = retryable,
      request_id = header(h, "x-mashery-message-id") or header(h, "x-request-id")
        or header(h, "x-correlation-id"),
      body = errors.snippet(r.body, redact),
    })
  end

  local function retry_after_of(r)
    local v = header(r.headers, "retry-after")
    if not v then return nil end
    return ctx.parse_retry_after(v, ctx.wall())
  end

  local function transfer_error(req, r, e)
    local kind, retryable, msg = curl.kind(e), true, e.message or "transfer failed"
    local failure = curl.proxy_failure(e, r.connects)
    if failure == "refused" then -- no retry changes a proxy's mind (and retries feed lockouts)
      kind, retryable = "network", false
      msg = proxy.refused_message(proxy.parse(cfg.proxy).name, e.proxy_status, req.url)
    elseif failure then -- "unreachable", "silent": retried like any network failure
      msg = proxy.failure_message(failure, proxy.parse(cfg.proxy).name, msg)
    end
    if kind == "tls" then
      retryable = false
    elseif kind == "too_large" then
      kind, retryable = "decode", false
      msg = format("response too large (%s); limits: max_body_size = %d bytes, max_header_size"
        .. " = %d bytes", msg, cfg.max_body_size, cfg.max_header_size)
    end
    return nil, errors.new(kind, msg, { method = method_of(req), url = req.url,
      retryable = retryable, status = r.status, too_large = kind == "decode" or nil })
  end

  -- A 2xx body as a Lua value, or nil and an error object. Nesting beyond max_json_depth
  -- and a page whose decoded size would pass max_decoded_size are refused for good (the
  -- same answer would come again); other invalid JSON is retried. A token response is
  -- never quoted: it may hold a valid token the redactor does not know yet.
  local function decode_body(req, text, status, ctype)
    local body, derr, reason = decode(text, depth, cfg.max_decoded_size)
    if type(derr) ~= "string" then return body, nil, derr end -- derr: the estimated size
    local what = req.token and "the token response" or format("a %d response", status or 200)
    local msg
    if reason == "too_large" then
      msg = format("%s refused: %s", what, derr)
    elseif reason == "too_deep" then
      msg = format("JSON nested deeper than max_json_depth (%d) in %s (%s)", depth, what, derr)
    else
      msg = format("invalid JSON in %s (%s)", what, derr)
    end
    return nil, errors.new("decode", msg .. (ctype and (", content-type " .. ctype) or ""), {
        status = status, method = method_of(req), url = req.url,
        retryable = reason == nil,
        too_large = reason == "too_large" or nil,
        body = not req.token and errors.snippet(text, redact) or nil,
      })
  end

  local function classify(req, r)
    if r.error then return transfer_error(req, r, r.error) end
    local status = r.status or 0
    if status >= 200 and status < 300 then
      if req.token then
        return decode_body(req, r.body or "", status, header(r.headers, "content-type"))
      end
      return r.body or ""
    end
    local code = header(r.headers, "x-mashery-error-code")
    if req.token then
      if status == 429 or status >= 500 or (status == 403 and code == MASHERY_QPS) then
        local err = http_error(req, r, status >= 500 and "http" or "throttled", true)
        err.message = "token request: " .. err.message
        return nil, err, retry_after_of(r)
      end
      local err = http_error(req, r, "auth", false)
      err.message = "token request rejected: " .. err.message
        .. ((status == 400 or status == 401) and "; check client_id and client_secret" or "")
      return nil, err
    end
    if status == 401 or (status == 403 and code and find(code, "NOT_AUTHORIZED", 1, true)) then
      return nil, http_error(req, r, "auth", false), nil, "auth"
    end
    if status == 429 or (status == 403 and code == MASHERY_QPS) then
      return nil, http_error(req, r, "throttled", true), retry_after_of(r), "throttle"
    end
    if status == 403 and code == MASHERY_RATE then
      return nil, M.quota_error(http_error(req, r, "throttled", false), ctx.wall(), ctx.quota_calls()),
        nil, "quota"
    end
    if status >= 500 then
      return nil, http_error(req, r, "http", true), retry_after_of(r),
        M.OVERLOAD[status] and "overload" or nil
    end
    return nil, http_error(req, r, "http", false)
  end

  --- The decoded body of an API request's 2xx answer (`req.body` in state "answered", kept
  -- undecoded until the caller takes it, so that pages waiting in a window hold their wire
  -- bytes only).
  local function decode_text(req)
    return decode_body(req, req.body, req.status, req.ctype)
  end

  return classify, decode_text
end

return M
