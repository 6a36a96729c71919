--- HTTP proxies: the proxy URL, the `no_proxy` list, and what to say when a proxy fails.
--
-- The client decides here, once, which of its two hosts (the API's and the token
-- endpoint's) go through the proxy; the C core then sets libcurl's proxy per request and
-- keeps libcurl from reading the environment by itself. The password is percent-decoded
-- here and handed to the C core, never kept in a Lua value the library holds.
-- @module cxcloud.proxy

local M = {}

local format, match, find, gsub, lower, sub, char =
  string.format, string.match, string.find, string.gsub, string.lower, string.sub, string.char
local floor = math.floor

--- libcurl's (and curl's) port when a proxy URL names none.
M.DEFAULT_PORT = 1080

local function decode(s)
  if find(s, "%%%X") or find(s, "%%.%X") or find(s, "%%.?$") then return nil end
  return (gsub(s, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

--- Parse a proxy URL "http://[user:password@]host[:port][/]" (the scheme may be left
-- out, as curl allows). The user and password are percent-decoded.
-- @tparam string url
-- @treturn table|nil `{ url = "http://host:port", name = "host:port", host, port, user,
-- password }` (user and password nil without credentials)
-- @treturn string why it was refused (never holds the password)
function M.parse(url)
  local rest = url
  local scheme, after = match(url, "^(%a[%w+.-]*)://(.*)$")
  if scheme then
    scheme = lower(scheme)
    if scheme ~= "http" then
      return nil, format("the scheme '%s' is not supported: use an http:// proxy (it relays the TLS"
        .. " connection to the API with CONNECT; TLS stays end to end)", scheme)
    end
    rest = after
  end
  if find(rest, "[%s%c]") then return nil, "it contains spaces or control characters" end
  -- the credentials end at the last '@' before the host (a password may hold '/' or '@')
  local userinfo, hostpart = match(rest, "^(.*)@([^@]*)$")
  if not userinfo then hostpart = rest end
  local hostport, tail = match(hostpart, "^([^/?#]*)(.*)$")
  if tail ~= "" and tail ~= "/" then
    return nil, "a proxy URL has no path, query or fragment: \"http://[user:password@]host:port\""
  end
  local host, port = match(hostport, "^(%[[%x:.]+%])(.*)$")
  if not host then host, port = match(hostport, "^([%w.-]+)(.*)$") end
  if not host then
    return nil, "it names no host: \"http://[user:password@]host:port\" is accepted"
  end
  if port == "" then
    port = M.DEFAULT_PORT
  else
    port = tonumber(match(port, "^:(%d+)$"))
    if not port or port < 1 or port > 65535 then
      return nil, format("the port after %s must be a number from 1 to 65535", host)
    end
  end
  local p = { host = lower(host), port = port }
  p.name = p.host .. ":" .. port
  p.url = "http://" .. p.name
  if userinfo then
    local user, password = match(userinfo, "^([^:]*):(.*)$")
    if not user then user = userinfo end
    p.user, p.password = decode(user), decode(password or "")
    if not p.user or not p.password then
      return nil, "the user or password has a '%' that is not followed by two hex digits"
        .. " (write '%' as %25)"
    end
    if p.user == "" then return nil, "it has credentials but no user name before ':'" end
    if find(p.user, ":", 1, true) then
      return nil, "the user name holds ':' (Basic authentication cannot carry it)"
    end
  end
  return p
end

--- Normalize a `no_proxy` value: a comma- (or space-) separated string, or a list of
-- strings, to the list of its entries (lower case, without a leading or trailing dot).
-- @tparam string|table v
-- @treturn table|nil list
-- @treturn string why it was refused
function M.no_proxy_list(v)
  local items = {}
  if type(v) == "string" then
    for item in v:gmatch("[^,%s]+") do items[#items + 1] = item end
  elseif type(v) == "table" then
    for i = 1, #v do
      if type(v[i]) ~= "string" then return nil, format("entry %d is not a string", i) end
      for item in v[i]:gmatch("[^,%s]+") do items[#items + 1] = item end
    end
  else
    return nil, "it must be a string of comma-separated hosts or a list of strings"
  end
  local out = {}
  for _, item in ipairs(items) do
    item = lower(item)
    if item ~= "*" then item = gsub(gsub(item, "^%.", ""), "%.$", "") end
    if item ~= "" then out[#out + 1] = item end
  end
  return out
end

local function ipv4(s)
  local a, b, c, d = match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local n = 0
  for _, x in ipairs { a, b, c, d } do
    x = tonumber(x)
    if x > 255 then return nil end
    n = n * 256 + x
  end
  return n
end

local function in_cidr(addr, entry)
  local net, bits = match(entry, "^([%d.]+)/(%d+)$")
  net, bits = net and ipv4(net), tonumber(bits)
  if not net or bits > 32 then return false end
  local size = 2 ^ (32 - bits)
  return floor(addr / size) == floor(net / size)
end

--- Does `no_proxy` send `host` direct? The rules of curl's NO_PROXY: `*` matches every
-- host; a name matches itself and every name under it ("cisco.com" matches
-- "apix.cisco.com"); an IP address matches itself, an IPv4 address also an "a.b.c.d/n"
-- range. Case does not matter; a leading dot is ignored.
-- @tparam table list from `no_proxy_list`
-- @tparam string host a URL's host (brackets around an IPv6 address allowed)
-- @treturn boolean
function M.bypass(list, host)
  host = gsub(gsub(lower(host), "^%[(.*)%]$", "%1"), "%.$", "")
  local addr = ipv4(host)
  local is_ip = addr ~= nil or find(host, ":", 1, true) ~= nil
  for _, entry in ipairs(list) do
    if entry == "*" or entry == host or gsub(entry, "^%[(.*)%]$", "%1") == host then return true end
    if addr and find(entry, "/", 1, true) and in_cidr(addr, entry) then return true end
    if not is_ip and #host > #entry and sub(host, -#entry - 1) == "." .. entry then return true end
  end
  return false
end

--- The host of an absolute URL (without port or brackets' content changed).
-- @tparam string url
-- @treturn string|nil
function M.url_host(url)
  local hostport = match(url, "^%a[%w+.-]*://([^/?#]+)")
  if not hostport then return nil end
  hostport = gsub(hostport, "^.*@", "")
  return match(hostport, "^(%[[^%]]*%])") or match(hostport, "^([^:]+)")
end

local HINTS = {
  [401] = "; check the user name and password in the proxy URL",
  [407] = "; check the user name and password in the proxy URL",
  [403] = "; the proxy does not allow this destination (or this client)",
}
local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [407] = "Proxy Authentication Required",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

--- The message for a proxy that answered CONNECT with a refusal.
-- @tparam string name the proxy's "host:port"
-- @tparam integer status what it answered
-- @tparam string url the request's URL (its host names the tunnel's destination)
-- @treturn string
function M.refused_message(name, status, url)
  local hint = HINTS[status] or (status >= 500 and "; the proxy could not reach (or will not"
    .. " reach) the destination") or ""
  local dest = match(url or "", "^%a[%w+.-]*://([^/?#]+)")
  return format("the proxy %s refused the tunnel%s: it answered CONNECT with %d%s%s; not retried",
    name, dest and (" to " .. gsub(dest, "^.*@", "")) or "", status,
    REASONS[status] and (" " .. REASONS[status]) or "", hint)
end

--- The message for a proxy that could not be reached ("unreachable") or did not answer
-- CONNECT in time ("silent").
-- @tparam string what "unreachable" or "silent"
-- @tparam string name the proxy's "host:port"
-- @tparam string message libcurl's
-- @treturn string
function M.failure_message(what, name, message)
  if what == "silent" then
    return format("the proxy %s did not answer CONNECT in time: %s", name, message)
  end
  return format("cannot reach the proxy %s: %s", name, message)
end

return M
