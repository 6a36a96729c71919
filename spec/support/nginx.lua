--- A real nginx (Debian's nginx-light) in front of a sandbox, for the overload specs
--: TLS with HTTP/2 on a free loopback port (a certificate for the API's hosts from a
-- throw-away CA, both made with the openssl command), a config written at run time, started
-- as a daemon with its own pid file and stopped by that pid.
--
--    local gw = nginx.start(sb, { limit_status = 503, rate = 8, burst = 4,
--                                 keepalive_requests = 25, gzip = true, upstream_down = true })
--    local cx = cxcloud.new(gw:client_options { rate_limit = 20 })
--    gw:stop()
local socket = require "cqueues.socket"
local quote = require("cxcloud.shell").quote

local M = {}

local Gateway = {}
Gateway.__index = Gateway

--- Is nginx there?
function M.available()
  local ok = os.execute("command -v nginx >/dev/null 2>&1")
  return ok == true or ok == 0
end

local function free_port()
  local s = assert(socket.listen { host = "127.0.0.1", port = 0 })
  assert(s:listen())
  local _, _, port = s:localname()
  s:close()
  return port
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Start nginx in front of sandbox `sb`. opts: rate (requests/s on /cs/api/, nil = no
-- limit), burst (4), limit_status (429 or 503), keepalive_requests (1000), gzip (false),
-- upstream_down (true: the API's upstream is a closed port, 502 for every API request;
-- the token endpoint still answers).
function M.start(sb, opts)
  opts = opts or {}
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local function file(name) return quote(dir .. "/" .. name) end
  local new_cert = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
  local ca = os.execute(new_cert .. "-subj '/CN=cxcloud spec CA' -keyout " .. file("ca.key") .. " -out "
    .. file("ca.pem") .. " 2>/dev/null")
  assert(ca == true or ca == 0, "openssl could not make a CA")
  local cert = os.execute(new_cert .. "-subj /CN=apix.cisco.com -addext " .. quote("subjectAltName="
    .. "DNS:apix.cisco.com,DNS:id.cisco.com,DNS:localhost,IP:127.0.0.1") .. " -addext "
    .. quote("basicConstraints=critical,CA:FALSE") .. " -CA " .. file("ca.pem") .. " -CAkey "
    .. file("ca.key") .. " -keyout " .. file("key.pem") .. " -out " .. file("cert.pem") .. " 2>/dev/null")
  assert(cert == true or cert == 0, "openssl could not make the certificate")
  local port = free_port()
  local upstream = opts.upstream_down and free_port() or sb.port
  local limit_zone, limit = "", ""
  if opts.rate then
    limit_zone = string.format("limit_req_zone $binary_remote_addr zone=api:1m rate=%dr/s;\n"
      .. "  limit_req_status %d;", opts.rate, opts.limit_status or 503)
    limit = string.format("limit_req zone=api burst=%d;", opts.burst or 4)
  end
  local gzip = opts.gzip and "gzip on; gzip_types application/json; gzip_proxied any;"
    .. " gzip_min_length 0;" or "gzip off;"
  local function proxy(to)
    return string.format([[
      proxy_pass https://127.0.0.1:%d;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Accept-Encoding "";
      proxy_ssl_verify off;
      proxy_connect_timeout 2s;]], to)
  end
  write(dir .. "/nginx.conf", string.format([[
user root;
worker_processes 1;
daemon on;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 512; }
http {
  access_log %s/access.log;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  %s
  server {
    listen 127.0.0.1:%d ssl http2;
    ssl_certificate %s/cert.pem;
    ssl_certificate_key %s/key.pem;
    keepalive_requests %d;
    %s
    location /cs/api/ {
      %s
%s
    }
    location / {
%s
    }
  }
}
]], dir, dir, dir, dir, dir, dir, dir, dir, limit_zone, port, dir, dir,
    opts.keepalive_requests or 1000, gzip, limit, proxy(upstream), proxy(sb.port)))
  local cmd = string.format("nginx -p %s -c %s/nginx.conf -e %s/error.log 2>%s/start.log", dir,
    dir, dir, dir)
  local ok = os.execute(cmd)
  assert(ok == true or ok == 0, "nginx did not start: " .. (read(dir .. "/start.log") or "")
    .. (read(dir .. "/error.log") or ""))
  local pid
  for _ = 1, 100 do
    pid = tonumber((read(dir .. "/nginx.pid") or ""):match("%d+"))
    if pid then break end
    os.execute("sleep 0.05")
  end
  assert(pid, "nginx wrote no pid file")
  return setmetatable({ dir = dir, port = port, pid = pid, sb = sb, ca_file = dir .. "/ca.pem" },
    Gateway)
end

--- Client options for a client that goes through this gateway (API and token).
function Gateway:client_options(extra)
  local t = self.sb:client_options(extra)
  t.ca_file = self.ca_file
  t.connect_to = { "apix.cisco.com:443:127.0.0.1:" .. self.port,
    "id.cisco.com:443:127.0.0.1:" .. self.port }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

--- The access log's API lines: { status = n, path = "..." } in order.
function Gateway:log()
  local out = {}
  for line in (read(self.dir .. "/access.log") or ""):gmatch("[^\n]+") do
    local path, status = line:match('"GET (%S+) HTTP/[%d.]+" (%d+)')
    if path and path:find("/cs/api/", 1, true) then
      out[#out + 1] = { path = path, status = tonumber(status) }
    end
  end
  return out
end

--- Stop nginx (by its pid) and remove its directory.
function Gateway:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  for _ = 1, 100 do
    local alive = os.execute("kill -0 " .. self.pid .. " 2>/dev/null")
    if not (alive == true or alive == 0) then break end
    os.execute("sleep 0.05")
  end
  os.execute("rm -rf " .. self.dir)
end

return M
