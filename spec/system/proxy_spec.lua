-- Behind a proxy: a real tinyproxy (Debian's) with Basic authentication, started on a free
-- loopback port with a configuration written here and stopped by its pid. The client
-- reaches the sandbox through it with CONNECT (TLS end to end); a proxy that refuses ends
-- the request at once; the proxy password never shows.
local cxcloud = require "cxcloud"
local options = require "cxcloud.options"
local proxy = require "cxcloud.proxy"
local helper = require "spec.support.helper"

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"

local USER = "cx-user"
local PASSWORD = "Pr0xy-pa55.w0rd_ok"
local WRONG = "Wr0ng-pa55.w0rd_no"
-- as a user may write it in a URL: percent-encoded where it need not be
local PASSWORD_IN_URL = (PASSWORD:gsub("%-", "%%2D"))

helper.record_secret(PASSWORD)
helper.record_secret(WRONG)

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

local function free_port()
  local socket = require "cqueues.socket"
  local s = socket.listen("127.0.0.1", 0)
  s:listen()
  local _, _, port = s:localname()
  s:close()
  return port
end

local sh_quote = require("cxcloud.shell").quote

--- Starts tinyproxy; returns a handle with port, log(), connects(), stop().
local function start_tinyproxy()
  assert(os.execute("command -v tinyproxy >/dev/null"),
    "tinyproxy is not installed (make deps installs it)")
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. sh_quote(dir)))
  local tp = { dir = dir, port = free_port() }
  local conf = dir .. "/tinyproxy.conf"
  local f = assert(io.open(conf, "w"))
  f:write(table.concat({
    "Port " .. tp.port, "Listen 127.0.0.1", "Timeout 30", "MaxClients 64",
    'LogFile "' .. dir .. '/tinyproxy.log"', "LogLevel Info",
    'PidFile "' .. dir .. '/tinyproxy.pid"', "Allow 127.0.0.1", "DisableViaHeader Yes",
    "BasicAuth " .. USER .. " " .. PASSWORD, "",
  }, "\n"))
  f:close()
  assert(os.execute("tinyproxy -c " .. sh_quote(conf)), "tinyproxy did not start")
  for _ = 1, 100 do
    tp.pid = tonumber(read(dir .. "/tinyproxy.pid"):match("%d+"))
    if tp.pid and read(dir .. "/tinyproxy.log"):find("Starting main loop", 1, true) then break end
    os.execute("sleep 0.05")
  end
  assert(tp.pid, "tinyproxy wrote no pid file; its log: " .. read(dir .. "/tinyproxy.log"))
  function tp.log() return read(dir .. "/tinyproxy.log") end
  -- CONNECT requests the proxy received (authorised or not)
  function tp.connects()
    local n = 0
    for _ in tp.log():gmatch("Request %(file descriptor %d+%): CONNECT ") do n = n + 1 end
    return n
  end
  function tp.stop()
    os.execute("kill " .. string.format("%d", tp.pid))
    for _ = 1, 100 do
      if not os.execute("kill -0 " .. string.format("%d", tp.pid) .. " 2>/dev/null") then break end
      os.execute("sleep 0.05")
    end
    helper.show(tp.log()) -- the leak check searches the proxy's log too
    for _, name in ipairs { "tinyproxy.conf", "tinyproxy.log", "tinyproxy.pid" } do
      os.remove(dir .. "/" .. name)
    end
    os.remove(dir)
  end
  return tp
end

local function proxy_url(tp, password)
  return ("http://%s:%s@127.0.0.1:%d"):format(USER, password or PASSWORD_IN_URL, tp.port)
end

-- every string a test may have shown, with the secrets it must not hold
local function assert_no_password(...)
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    for _, secret in ipairs { PASSWORD, PASSWORD_IN_URL, WRONG,
      require("cxcloud.core").urlencode(PASSWORD) } do
      assert.is_nil(s:find(secret, 1, true), "the proxy password shows in: " .. s:sub(1, 200))
    end
  end
end

local function shown(err)
  local parts = { helper.show(err) }
  for _, v in pairs(err) do if type(v) == "string" then parts[#parts + 1] = v end end
  return table.concat(parts, "\n")
end

-- everything the sandbox logged: its request records
local function sandbox_logs(sb)
  local parts = {}
  local function walk(v)
    if type(v) == "string" then parts[#parts + 1] = v
    elseif type(v) == "table" then for k, x in pairs(v) do walk(k) walk(x) end end
  end
  walk(sb:log())
  return table.concat(parts, "\n")
end

local function sandbox_port(sb)
  return tonumber(sb.connect_to[1]:match(":(%d+)$"))
end

describe("behind a proxy", function()
  local sb, tp, customer_id

  setup(function()
    sb = helper.sandbox { seed = 13, customers = 2, hardware = 45 }
    customer_id = sb.customers[1]
    tp = start_tinyproxy()
  end)

  teardown(function()
    tp.stop()
    helper.show(sandbox_logs(sb))
    sb:stop()
  end)

  local function client(extra)
    local opts = { proxy = proxy_url(tp), page_size = 20, rate_limit = 0, retry_base = 0.01 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return helper.client(sb, opts)
  end

  it("pulls through the proxy with Basic auth; the proxy's log shows the CONNECT", function()
    local before = tp.connects()
    local trace = {}
    local cx = client { verbose = function(text) trace[#trace + 1] = text end }
    finally(function() cx:close() end)
    local items = assert(cx:hardware { customerId = customer_id }:all())
    assert.same(sb:truth("hardware", customer_id), items)
    assert.truthy(tp.connects() > before)
    assert.truthy(tp.log():find("CONNECT 127.0.0.1:" .. sandbox_port(sb) .. " HTTP/1.1", 1, true))
    -- the API's certificate is verified as without a proxy
    local text = table.concat(trace)
    assert.truthy(text:find("Proxy%-Authorization: %[REDACTED%]"))
    assert.truthy(text:find("SSL certificate verify ok", 1, true))
    assert_no_password(text, tostring(cx), sandbox_logs(sb), tp.log())
    helper.show(text)
  end)

  it("runs every operation through it", function()
    local cx = client()
    finally(function() cx:close() end)
    local view = cx:customer(customer_id)
    for _, op in ipairs(cxcloud.operations) do
      local first, err = view[op.name](view):first()
      assert.is_nil(err, op.name)
      if op.name == "customers" then
        assert.equal(customer_id, first.customerId)
      else
        assert.same(sb:truth(op.name, customer_id)[1], first, op.name)
      end
    end
  end)

  it("fails at once, clearly, on a wrong password: one attempt, no password shown", function()
    local before, mark = tp.connects(), helper.mark(sb)
    local trace = {}
    local cx = client { proxy = proxy_url(tp, WRONG), max_retries = 5,
      verbose = function(text) trace[#trace + 1] = text end }
    finally(function() cx:close() end)
    local items, err = cx:hardware { customerId = customer_id }:all()
    assert.is_nil(items)
    assert.equal("network", err.kind)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.equal(1, tp.connects() - before)
    assert.equal(0, #helper.since(sb, mark)) -- nothing reached the sandbox
    local msg = shown(err)
    assert.truthy(msg:find("the proxy 127.0.0.1:" .. tp.port .. " refused the tunnel", 1, true), msg)
    assert.truthy(msg:find("401 Unauthorized", 1, true), msg)
    assert.truthy(msg:find("check the user name and password", 1, true), msg)
    assert_no_password(msg, table.concat(trace), tostring(cx), tp.log(), sandbox_logs(sb))
    helper.show(table.concat(trace))
  end)

  it("takes a 5xx answer to CONNECT as a refusal too: one attempt", function()
    local closed = free_port() -- the proxy cannot reach it and answers 500
    local before = tp.connects()
    local cx = client { max_retries = 5, connect_to = {
      "apix.cisco.com:443:127.0.0.1:" .. closed, "id.cisco.com:443:127.0.0.1:" .. closed } }
    finally(function() cx:close() end)
    local _, err = cx:get("/customer-info/customer-details")
    assert.equal("network", err.kind)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.equal(1, tp.connects() - before)
    local msg = helper.show(err)
    assert.truthy(msg:find("refused the tunnel to id.cisco.com: it answered CONNECT with 500", 1, true), msg)
  end)

  it("retries a proxy it cannot reach, and says it was the proxy", function()
    local port = free_port()
    local cx = helper.client(sb, { proxy = ("http://u:%s@127.0.0.1:%d"):format(PASSWORD, port),
      max_retries = 2, retry_base = 0.01 })
    finally(function() cx:close() end)
    local _, err = cx:get("/customer-info/customer-details")
    assert.equal("network", err.kind)
    assert.equal(3, err.attempts)
    local msg = shown(err)
    assert.truthy(msg:find("cannot reach the proxy 127.0.0.1:" .. port, 1, true), msg)
    assert_no_password(msg)
  end)

  it("says so when a proxy accepts the connection but never answers CONNECT", function()
    local socket = require "cqueues.socket"
    local silent = socket.listen("127.0.0.1", 0) -- the kernel accepts; nobody answers
    silent:listen()
    local _, _, port = silent:localname()
    local cx = helper.client(sb, { proxy = "http://127.0.0.1:" .. port, timeout = 0.3,
      max_retries = 1, retry_base = 0.01 })
    finally(function() cx:close() end)
    local _, err = cx:get("/customer-info/customer-details")
    silent:close()
    assert.equal("timeout", err.kind)
    assert.equal(2, err.attempts)
    local msg = helper.show(err)
    assert.truthy(msg:find("the proxy 127.0.0.1:" .. port .. " did not answer CONNECT in time", 1, true), msg)
  end)

  it("goes direct to the hosts of no_proxy", function()
    local before = tp.connects()
    local cx = client { no_proxy = "example.org, .cisco.com" }
    finally(function() cx:close() end)
    assert.same(sb:truth("hardware", customer_id), assert(cx:hardware { customerId = customer_id }:all()))
    assert.equal(before, tp.connects())
    -- only the token endpoint direct: the API still goes through the proxy
    local cx2 = client { no_proxy = { "id.cisco.com" } }
    finally(function() cx2:close() end)
    assert(cx2:get("/customer-info/customer-details"))
    assert.equal(before + 1, tp.connects())
  end)

  -- a program run with the sandbox's CXCLOUD_* and the given proxy variables
  local function run_with_env(env)
    local vars = sb:env()
    for k, v in pairs(env) do vars[k] = v end
    local cmd = { "env" }
    for k, v in pairs(vars) do cmd[#cmd + 1] = sh_quote(k .. "=" .. v) end
    cmd[#cmd + 1] = sh_quote(LUA) .. " -e " .. sh_quote([[
      local cxcloud = require "cxcloud"
      local cx = cxcloud.new {}
      local body, err = cx:get("/customer-info/customer-details")
      io.write(body and ("rows " .. #body.data) or tostring(err))]])
    cmd[#cmd + 1] = "2>&1"
    local p = assert(io.popen(table.concat(cmd, " ")))
    local out = p:read("*a")
    p:close()
    helper.show(out)
    return out
  end

  it("honours https_proxy / HTTPS_PROXY / CXCLOUD_PROXY and no_proxy from the environment", function()
    local before = tp.connects()
    assert.equal("rows 2", run_with_env { https_proxy = proxy_url(tp) })
    assert.equal(before + 1, tp.connects())
    assert.equal("rows 2", run_with_env { HTTPS_PROXY = proxy_url(tp) })
    assert.equal(before + 2, tp.connects())
    local out = run_with_env { CXCLOUD_PROXY = proxy_url(tp, WRONG), https_proxy = proxy_url(tp) }
    assert.truthy(out:find("refused the tunnel", 1, true), out) -- CXCLOUD_PROXY came first
    assert.equal(before + 3, tp.connects())
    assert_no_password(out)
    assert.equal("rows 2", run_with_env { https_proxy = proxy_url(tp), no_proxy = "localhost" })
    assert.equal(before + 3, tp.connects())
    -- libcurl reads no variable by itself: a dead ALL_PROXY / http_proxy changes nothing
    assert.equal("rows 2", run_with_env { ALL_PROXY = "http://127.0.0.1:1",
      http_proxy = "http://127.0.0.1:1" })
  end)
end)

describe("HTTP/2 through the proxy's tunnel", function()
  it("multiplexes over the tunnel when the sandbox speaks h2", function()
    local sb = helper.sandbox { seed = 14, customers = 1, hardware = 60, http2 = true }
    local tp = start_tinyproxy()
    local ok, err = pcall(function()
      local cx = helper.client(sb, { proxy = proxy_url(tp), page_size = 10,
        concurrency = 6, rate_limit = 0 })
      finally(function() cx:close() end)
      local id = sb.customers[1]
      assert.same(sb:truth("hardware", id), assert(cx:hardware { customerId = id }:all()))
      local log = sb:log()
      assert.truthy(#log > 6)
      for _, r in ipairs(log) do assert.equal("2", r.http_version) end
      -- one tunnel per host (the token endpoint, the API), multiplexed
      assert.equal(2, tp.connects())
    end)
    tp.stop()
    sb:stop()
    assert(ok, err)
  end)
end)

describe("proxy options", function()
  local base = { client_id = "id", client_secret = "secret-value" }
  local function validate(extra, env)
    local opts = {}
    for k, v in pairs(base) do opts[k] = v end
    for k, v in pairs(extra or {}) do opts[k] = v end
    return options.validate(opts, function(name) return (env or {})[name] end)
  end

  it("keeps the credentials out of cfg and percent-decodes them", function()
    local cfg, _, p = validate { proxy = "http://a%40b:p%3Ass%2Fw@Proxy.Example:3128/" }
    assert.equal("http://proxy.example:3128", cfg.proxy)
    assert.same({ url = "http://proxy.example:3128", name = "proxy.example:3128",
      host = "proxy.example", port = 3128, user = "a@b", password = "p:ss/w", api = true,
      token = true }, p)
    for _, v in pairs(cfg) do
      if type(v) == "string" then assert.is_nil(v:find("p:ss", 1, true)) end
    end
  end)

  it("takes the environment in curl's order, CXCLOUD_PROXY first; false or \"\" disables", function()
    local env = { CXCLOUD_PROXY = "http://c:1", https_proxy = "http://l:2", HTTPS_PROXY = "u:3" }
    assert.equal("http://c:1", validate(nil, env).proxy)
    env.CXCLOUD_PROXY = nil
    assert.equal("http://l:2", validate(nil, env).proxy)
    env.https_proxy = ""
    assert.equal("http://u:3", validate(nil, env).proxy) -- no scheme: http, as curl does
    assert.is_nil(validate({ proxy = false }, env).proxy)
    assert.is_nil(validate({ proxy = "" }, env).proxy)
    assert.equal("http://h:1080", validate { proxy = "h" }.proxy) -- curl's default port
    local _, _, p = validate({ proxy = "http://h:1" }, { no_proxy = "id.cisco.com", NO_PROXY = "*" })
    assert.same({ true, false }, { p.api, p.token })
    _, _, p = validate({ proxy = "http://h:1" }, { NO_PROXY = "*" })
    assert.same({ false, false }, { p.api, p.token })
  end)

  it("refuses bad proxy URLs by name, never showing the password", function()
    for _, case in ipairs {
      { "https://u:" .. PASSWORD .. "@h:1", "scheme 'https' is not supported" },
      { "socks5://u:" .. PASSWORD .. "@h:1", "scheme 'socks5'" },
      { "http://u:" .. PASSWORD .. "@h:99999", "port" },
      { "http://u:" .. PASSWORD .. "%zz@h:1", "two hex digits" },
      { "http://u:" .. PASSWORD .. "@h:1/path", "no path" },
      { "http://:" .. PASSWORD .. "@h:1", "no user name" },
    } do
      local err = helper.raised(validate, { proxy = case[1] })
      local msg = helper.show(err)
      assert.equal("config", err.kind)
      assert.truthy(msg:find("option 'proxy'", 1, true), msg)
      assert.truthy(msg:find(case[2], 1, true), msg)
      assert_no_password(msg)
    end
    local err = helper.raised(validate, nil, { https_proxy = "ftp://u:" .. PASSWORD .. "@h" })
    local msg = helper.show(err)
    assert.truthy(msg:find("environment variable https_proxy", 1, true), msg)
    assert_no_password(msg)
    assert.truthy(helper.show(helper.raised(validate, { no_proxy = 5 })):find("option 'no_proxy'"))
  end)

  it("the core redacts the proxy password, percent-encoded or in Basic credentials", function()
    local core = require "cxcloud.core"
    local rawcore = require "spec.support.rawcore"
    local password = "p@ss w%rd:ok/1"
    helper.record_secret(password)
    local c = rawcore.new({ client_id = "id", client_secret = "secret-value" },
      { proxy = { url = "http://h:1", user = USER, password = password, api = true, token = true } })
    local basic = "Y3gtdXNlcjpwQHNzIHclcmQ6b2svMQ==" -- base64 of USER .. ":" .. password
    assert.equal("a [REDACTED] b [REDACTED] c [REDACTED]",
      c:redact("a " .. password .. " b " .. core.urlencode(password) .. " c " .. basic))
    c:close()
  end)

  it("matches no_proxy as curl does", function()
    local list = proxy.no_proxy_list("Cisco.com,.example.org 10.0.0.0/8, [::1] 192.168.1.7")
    assert.is_true(proxy.bypass(list, "apix.cisco.com"))
    assert.is_true(proxy.bypass(list, "CISCO.COM"))
    assert.is_false(proxy.bypass(list, "notcisco.com"))
    assert.is_true(proxy.bypass(list, "a.example.org"))
    assert.is_true(proxy.bypass(list, "10.1.2.3"))
    assert.is_false(proxy.bypass(list, "11.1.2.3"))
    assert.is_true(proxy.bypass(list, "[::1]"))
    assert.is_true(proxy.bypass(list, "192.168.1.7"))
    assert.is_false(proxy.bypass(list, "192.168.1.70"))
    assert.is_true(proxy.bypass(proxy.no_proxy_list("*"), "anything"))
    assert.is_false(proxy.bypass({}, "apix.cisco.com"))
  end)
end)
