--- What a failed transfer was. The C core reports what libcurl said and what its transport
-- saw, and names no failure: `{ code, message, limit, via_proxy, proxy_status }` (`code`:
-- libcurl's CURLcode; `limit`: "body" or "header" when that size limit stopped the transfer;
-- `via_proxy`: it went through the proxy; `proxy_status`: the proxy's answer to CONNECT).
-- These functions name it, for `cxcloud.engine.classify`, which turns it into an error.
-- @module cxcloud.curl

local M = {}

--- libcurl's result codes (curl.h, CURLcode) that the client tells apart.
M.CURLE = {
  UNSUPPORTED_PROTOCOL = 1,
  COULDNT_RESOLVE_PROXY = 5,
  COULDNT_CONNECT = 7,
  WRITE_ERROR = 23,
  OPERATION_TIMEDOUT = 28,
  SSL_CONNECT_ERROR = 35,
  FILESIZE_EXCEEDED = 63,
}
local CURLE = M.CURLE

-- Certificate and TLS set-up failures: the same answer would come again. A handshake cut by
-- the network (CURLE_SSL_CONNECT_ERROR, 35) is not one: transient, a network failure.
local TLS = {
  [53] = true, -- SSL_ENGINE_NOTFOUND
  [54] = true, -- SSL_ENGINE_SETFAILED
  [58] = true, -- SSL_CERTPROBLEM
  [59] = true, -- SSL_CIPHER
  [60] = true, -- PEER_FAILED_VERIFICATION
  [64] = true, -- USE_SSL_FAILED
  [66] = true, -- SSL_ENGINE_INITFAILED
  [77] = true, -- SSL_CACERT_BADFILE
  [82] = true, -- SSL_CRL_BADFILE
  [83] = true, -- SSL_ISSUER_ERROR
  [90] = true, -- SSL_PINNEDPUBKEYNOTMATCH
  [91] = true, -- SSL_INVALIDCERTSTATUS
}

--- The kind of a failed transfer: "timeout", "tls" (a certificate or TLS set-up failure),
-- "too_large" (a size limit: libcurl's for an announced body, the transport's otherwise) or
-- "network" (everything else, a URL libcurl refuses included).
-- @tparam table e the core's error table
-- @treturn string
function M.kind(e)
  local code = e.code
  if code == CURLE.OPERATION_TIMEDOUT then return "timeout" end
  if TLS[code] then return "tls" end
  if code == CURLE.FILESIZE_EXCEEDED or (code == CURLE.WRITE_ERROR and e.limit) then
    return "too_large"
  end
  return "network"
end

--- Whether a failed transfer through the proxy failed at the proxy: "refused" (it answered
-- CONNECT with a status >= 300), "unreachable" (no connection to it), "silent" (a new
-- connection whose CONNECT got no answer in time), or nil.
-- @tparam table e the core's error table
-- @tparam[opt] number connects the new connections the transfer made (the result's `connects`)
-- @treturn string|nil
function M.proxy_failure(e, connects)
  if not e.via_proxy then return nil end
  local status, code = e.proxy_status or 0, e.code
  if status >= 300 then return "refused" end
  if status ~= 0 then return nil end
  if code == CURLE.COULDNT_CONNECT or code == CURLE.COULDNT_RESOLVE_PROXY then
    return "unreachable"
  end
  if code == CURLE.OPERATION_TIMEDOUT and (connects or 0) > 0 then return "silent" end
  return nil
end

return M
