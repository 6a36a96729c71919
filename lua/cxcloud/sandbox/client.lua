--- A tiny HTTPS client for the sandbox's control endpoint (lua-http, verification
-- on, trusting only the sandbox CA). Used by the handle that `sandbox.start` returns.
-- Works outside a cqueues event loop (lua-http then blocks).
-- @module cxcloud.sandbox.client

local http_client = require "http.client"
local http_headers = require "http.headers"

local json = require "cxcloud.sandbox.json"
local tls = require "cxcloud.sandbox.tls"

local client = {}

--- Performs one request and returns the decoded JSON answer, or raises.
-- @tparam table opts `{port=, ca_pem=, key=, timeout=}`
-- @tparam string method
-- @tparam string path
-- @param[opt] body Lua value sent as JSON
-- @treturn any decoded answer
-- @treturn integer status
function client.call(opts, method, path, body)
  local timeout = opts.timeout or 30
  opts.ctx = opts.ctx or tls.client_context(opts.ca_pem)
  local conn, err = http_client.connect({
    host = "127.0.0.1", port = opts.port, tls = true, ctx = opts.ctx, version = 1.1,
  }, timeout)
  if not conn then
    error(string.format("cxcloud.sandbox: cannot reach the control endpoint on port %d: %s",
      opts.port, tostring(err)), 0)
  end
  local ok, res, status = pcall(function()
    local stream = assert(conn:new_stream())
    local h = http_headers.new()
    h:append(":method", method)
    h:append(":scheme", "https")
    h:append(":authority", "127.0.0.1:" .. opts.port)
    h:append(":path", path)
    h:append("x-sandbox-key", opts.key)
    local payload = body ~= nil and json.encode_plain(body) or nil
    if payload then
      h:append("content-type", "application/json")
      h:append("content-length", tostring(#payload))
    end
    assert(stream:write_headers(h, payload == nil, timeout))
    if payload then assert(stream:write_chunk(payload, true, timeout)) end
    local rh = assert(stream:get_headers(timeout))
    local text = assert(stream:get_body_as_string(timeout))
    local st = math.tointeger(tonumber(rh:get(":status")))
    local v, derr = json.decode_plain(text)
    if v == nil and derr then error("bad JSON from the control endpoint: " .. tostring(derr), 0) end
    return v, st
  end)
  conn:close()
  if not ok then error("cxcloud.sandbox: control request " .. path .. " failed: " .. tostring(res), 0) end
  if status ~= 200 then
    local msg = type(res) == "table" and tostring(res.error) or tostring(res)
    error("cxcloud.sandbox: " .. msg, 0)
  end
  return res, status
end

return client
