-- Spec of the sandbox (cxcloud.sandbox): a fake CX Cloud over real TLS on loopback.
-- Talks to it with lua-http, verifying the server against the sandbox's CA.

package.path = "lua/?.lua;lua/?/init.lua;sandbox/lua/?.lua;sandbox/lua/?/init.lua;" .. package.path
if not package.path:find("/usr/share/lua/5.1/?.lua", 1, true) then
  package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
end

local cqueues = require "cqueues"
local cs = require "cqueues.socket"
local http_client = require "http.client"
local http_headers = require "http.headers"
local http_tls = require "http.tls"
local cjson = require "cjson.safe"
local basexx = require "basexx"

local sandbox = require "cxcloud.sandbox"
local json = require "cxcloud.sandbox.json"
-- bodies decoded as the client decodes them (identifier fields as strings), like `truth`
local client_decode = require("cxcloud.core").decoder(require("cxcloud.operations").identifiers)
local ops = require "cxcloud.sandbox.ops"

local HW = "/inventory/hardware"

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function query_string(params)
  local keys, parts = {}, {}
  for k in pairs(params or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(tostring(params[k])) end
  return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

-- a client TLS context that trusts only the sandbox's CA (verification on)
local function client_context(ca_pem)
  local ctx = http_tls.new_client_context()
  local store = require("openssl.x509.store").new()
  store:add(require("openssl.x509").new(ca_pem, "PEM"))
  ctx:setStore(store)
  ctx:setVerify(require("openssl.ssl.context").VERIFY_PEER)
  return ctx
end

-- a keep-alive HTTPS connection to the sandbox, verifying the certificate for `host`
-- (HTTP/1.1, or `version` 2: HTTP/2 through ALPN)
local function connect(sb, host, version)
  local ctx = client_context(assert(io.open(sb.ca_file)):read("a"))
  local sock = assert(cs.connect { host = "127.0.0.1", port = sb.port, nodelay = true })
  local conn = assert(http_client.negotiate(sock, { tls = true, ctx = ctx, host = host or "apix.cisco.com",
    version = version or 1.1 }, 10))
  return conn
end

-- one request on a connection: status, headers, body
local function request(conn, method, path, headers, body)
  local stream = assert(conn:new_stream())
  local h = http_headers.new()
  h:append(":method", method)
  h:append(":scheme", "https")
  h:append(":authority", "apix.cisco.com")
  h:append(":path", path)
  for k, v in pairs(headers or {}) do h:append(k, v) end
  if body then h:append("content-length", tostring(#body)) end
  assert(stream:write_headers(h, body == nil, 10))
  if body then assert(stream:write_chunk(body, true, 10)) end
  local rh, err = stream:get_headers(10)
  if not rh then return nil, err end
  local text, berr = stream:get_body_as_string(30)
  if not text then return nil, berr, rh end
  return math.tointeger(tonumber(rh:get(":status"))), rh, text
end

local function form_token(sb, conn, id, secret, grant)
  local body = "grant_type=" .. urlencode(grant or "client_credentials")
    .. "&client_id=" .. urlencode(id or sb.client_id)
    .. "&client_secret=" .. urlencode(secret or sb.client_secret)
  return request(conn, "POST", "/oauth2/default/v1/token",
    { ["content-type"] = "application/x-www-form-urlencoded" }, body)
end

local function get_token(sb)
  local conn = connect(sb, "id.cisco.com")
  local status, _, body = form_token(sb, conn)
  conn:close()
  assert(status == 200, body)
  return cjson.decode(body).access_token
end

-- GET an API path with the token; returns status, headers, body, decoded
local function api(conn, token, path, params)
  local status, h, body = request(conn, "GET", "/cs/api/v2" .. path .. query_string(params),
    token and { authorization = "Bearer " .. token } or nil)
  return status, h, body, type(body) == "string" and client_decode(body) or nil
end

-- every customer's id, in index order (customer-details lists them all when all are entitled)
local function customer_ids(cfg)
  local ids = {}
  for i, c in ipairs(sandbox.truth(cfg, "customers")) do ids[i] = c.customerId end
  return ids
end

describe("cxcloud.sandbox", function()
  local sb, token, conn, cust

  setup(function()
    sb = sandbox.start { seed = 7, customers = 3, hardware = { 40, 130, 5 } }
    token = get_token(sb)
    conn = connect(sb)
    cust = sb.customers[1]
  end)

  teardown(function()
    if conn then conn:close() end
    if sb then sb:stop() end
  end)

  describe("start", function()
    it("returns URLs, credentials, the CA file and customers", function()
      assert.is_number(sb.port)
      assert.equal("https://apix.cisco.com/cs/api/v2", sb.base_url)
      assert.equal("https://id.cisco.com/oauth2/default/v1/token", sb.token_url)
      assert.same({ "apix.cisco.com:443:127.0.0.1:" .. sb.port, "id.cisco.com:443:127.0.0.1:" .. sb.port },
        sb.connect_to)
      assert.equal("https://localhost:" .. sb.port .. "/cs/api/v2", sb.local_base_url)
      assert.truthy(assert(io.open(sb.ca_file)):read("a"):find("BEGIN CERTIFICATE", 1, true))
      assert.equal(3, #sb.customers)
      assert.same(sb.customers, sb.all_customers)
      assert.truthy(sb.client_secret:find("&=+% ", 1, true))
      assert.truthy(sb.client_secret:find("[\128-\255]"))
      local o = sb:client_options { timeout = 5 }
      assert.equal(sb.client_secret, o.client_secret)
      assert.equal(sb.ca_file, o.ca_file)
      assert.equal(5, o.timeout)
      assert.falsy(tostring(sb):find(sb.client_secret, 1, true))
    end)

    it("rejects bad options naming them", function()
      assert.has_error(function() sandbox.start { customers = 0 } end,
        "cxcloud.sandbox: bad option 'customers' (0): expected an integer 1..1000")
      local ok, err = pcall(sandbox.start, { costumers = 2 })
      assert.is_false(ok)
      assert.truthy(err:find("unknown option 'costumers'", 1, true))
      ok, err = pcall(sandbox.start, { faults = { { action = "explode" } } })
      assert.is_false(ok)
      assert.truthy(err:find("fault #1: unknown action 'explode'", 1, true))
    end)

    it("refuses an untrusted certificate", function()
      local sock = assert(cs.connect { host = "127.0.0.1", port = sb.port })
      local c, err = http_client.negotiate(sock, { tls = true, host = "apix.cisco.com", version = 1.1 }, 5)
      assert.is_nil(c)
      assert.truthy(tostring(err):find("certificate", 1, true))
    end)
  end)

  describe("token endpoint", function()
    it("issues bearer tokens for form credentials (URL-encoded secret)", function()
      local c = connect(sb, "id.cisco.com")
      local status, h, body = form_token(sb, c)
      assert.equal(200, status)
      assert.equal("application/json", h:get("content-type"))
      local t = cjson.decode(body)
      assert.equal("Bearer", t.token_type)
      assert.equal(3600, t.expires_in)
      assert.equal("apis:read", t.scope)
      assert.truthy(#t.access_token >= 32)
      c:close()
    end)

    it("accepts HTTP Basic credentials", function()
      local c = connect(sb, "id.cisco.com")
      local basic = basexx.to_base64(sb.client_id .. ":" .. sb.client_secret)
      local status, _, body = request(c, "POST", "/oauth2/default/v1/token",
        { ["content-type"] = "application/x-www-form-urlencoded", authorization = "Basic " .. basic },
        "grant_type=client_credentials")
      assert.equal(200, status, body)
      local log = sb:log()
      assert.equal("basic", log[#log].client_auth)
      c:close()
    end)

    it("answers 401 invalid_client for a wrong secret and 400 for a wrong grant", function()
      local c = connect(sb, "id.cisco.com")
      local status, _, body = form_token(sb, c, nil, sb.client_secret .. "x")
      assert.equal(401, status)
      assert.equal("invalid_client", cjson.decode(body).error)
      status, _, body = form_token(sb, c, nil, nil, "password")
      assert.equal(400, status)
      assert.equal("unsupported_grant_type", cjson.decode(body).error)
      status = request(c, "GET", "/oauth2/default/v1/token")
      assert.equal(405, status)
      c:close()
    end)
  end)

  describe("API", function()
    it("paginates exactly, the last page short, past the end empty", function()
      local pages = {}
      for page = 1, 4 do
        local status, h, _, doc = api(conn, token, HW,
          { customerId = cust, page = page, rows = 12 })
        assert.equal(200, status)
        assert.truthy(h:get("x-mashery-message-id"))
        assert.same({ page = page, pages = 4, rows = 12, total = 40 }, doc.pagination)
        pages[page] = #doc.data
      end
      assert.same({ 12, 12, 12, 4 }, pages)
      local _, _, _, doc = api(conn, token, HW, { customerId = cust, page = 9, rows = 12 })
      assert.same({}, doc.data)
      assert.same({ page = 9, pages = 4, rows = 12, total = 40 }, doc.pagination)
    end)

    it("serves what sandbox.truth computes, for every operation", function()
      for _, op in ipairs(ops) do
        local params = { page = 1, rows = 50 }
        if op.scope == "customer" then params.customerId = sb.customers[2] end
        local status, _, body, doc = api(conn, token, op.path, params)
        assert.equal(200, status, op.name .. ": " .. tostring(body))
        local items, pag = sb:truth(op.name, params.customerId, { page = 1, rows = 50 })
        assert.same(items, doc.data, op.name)
        assert.same(pag, doc.pagination, op.name)
        assert.truthy(pag.total > 0, op.name .. " has rows")
      end
    end)

    it("streams the whole result with chunked encoding when page and rows are absent", function()
      local status, h, _, doc = api(conn, token, HW, { customerId = sb.customers[2] })
      assert.equal(200, status)
      assert.equal("chunked", h:get("transfer-encoding"))
      assert.is_nil(h:get("content-length"))
      assert.equal(130, #doc.data)
      assert.same({ page = 1, pages = 1, rows = 130, total = 130 }, doc.pagination)
      assert.same(sandbox.truth(sb.config, "hardware", sb.customers[2]), doc.data)
    end)

    it("rejects bad paging, unknown parameters, paths and methods", function()
      local function expect(status_want, params, path, method)
        local status, h, body
        if method then
          status, h, body = request(conn, method, "/cs/api/v2" .. path .. query_string(params),
            { authorization = "Bearer " .. token })
        else
          status, h, body = api(conn, token, path or HW, params)
        end
        assert.equal(status_want, status, body)
        assert.equal("application/json", h:get("content-type"))
        local doc = cjson.decode(body)
        assert.equal(status_want, doc.status)
        return doc.message
      end
      assert.truthy(expect(400, { customerId = cust, page = 1 }):find("together"))
      assert.truthy(expect(400, { customerId = cust, rows = 10 }):find("together"))
      assert.truthy(expect(400, { customerId = cust, page = 0, rows = 10 }):find("positive"))
      assert.truthy(expect(400, { customerId = cust, page = 1, rows = 10001 }):find("1 and 10000", 1, true))
      finally(function() sb:set { max_rows = 10000 } end)
      sb:set { max_rows = 1000 }
      assert.equal("rows must be between 1 and 1000, got 1001",
        expect(400, { customerId = cust, page = 1, rows = 1001 }))
      assert.truthy(expect(400, { customerId = cust, costumerId = "x" }):find("'costumerId'"))
      assert.truthy(expect(400, {}):find("customerId is required"))
      assert.truthy(expect(400, { customerId = cust, fields = "serialNumber,nope" }):find("'nope'"))
      assert.truthy(expect(400, { customerId = cust, sort = "serialNumber" }):find("ASC"))
      assert.truthy(expect(400, { customerId = cust, sort = "nope:ASC" }):find("'nope'"))
      assert.truthy(expect(400, { customerId = cust, sort = "a:ASC,b:DESC" }):find("one field"))
      expect(404, { customerId = cust }, "/inventory/hardwares")
      expect(405, { customerId = cust }, HW, "POST")
    end)

    it("applies fields, sort and equality filters", function()
      local c2 = sb.customers[2]
      local _, _, _, doc = api(conn, token, HW,
        { customerId = c2, fields = "serialNumber,productId", sort = "serialNumber:desc" })
      for i, item in ipairs(doc.data) do
        assert.same({ "productId", "serialNumber" }, (function()
          local k = {}
          for name in pairs(item) do k[#k + 1] = name end
          table.sort(k)
          return k
        end)())
        if i > 1 then assert.truthy(doc.data[i - 1].serialNumber >= item.serialNumber) end
      end
      local _, _, _, chassis = api(conn, token, HW, { customerId = c2, hwType = "Chassis" })
      assert.truthy(#chassis.data > 0)
      for _, item in ipairs(chassis.data) do assert.equal("Chassis", item.hwType) end
      local ne = chassis.data[1].neInstanceId
      local _, _, _, one = api(conn, token, HW, { customerId = c2, neInstanceId = tostring(ne) })
      assert.truthy(#one.data >= 1)
      for _, item in ipairs(one.data) do assert.equal(ne, item.neInstanceId) end
      assert.same(sandbox.truth(sb.config, "hardware", c2, { neInstanceId = ne }), one.data)
      -- hidden filter (device host name) on an alert operation
      local _, _, _, sa = api(conn, token, "/product-alerts/security-advisories", { customerId = c2 })
      local nes = sandbox.truth(sb.config, "network_elements", c2, { neInstanceId = sa.data[1].neInstanceId })
      local host = nes[1].hostname
      local _, _, _, by_host = api(conn, token, "/product-alerts/security-advisories",
        { customerId = c2, hostname = host })
      for _, item in ipairs(by_host.data) do assert.equal(sa.data[1].neInstanceId, item.neInstanceId) end
    end)

    it("requires a valid bearer token", function()
      local status, h = api(conn, nil, HW, { customerId = cust })
      assert.equal(401, status)
      assert.truthy(h:get("www-authenticate"):find("Bearer", 1, true))
      status, h = api(conn, "not-a-token", HW, { customerId = cust })
      assert.equal(401, status)
      assert.truthy(h:get("www-authenticate"):find('error="invalid_token"', 1, true))
    end)

    it("enforces entitlement", function()
      sb:set { entitled = { 1, 3 } }
      local status, _, body = api(conn, token, HW, { customerId = sb.all_customers[2] })
      assert.equal(403, status, body)
      local _, _, _, doc = api(conn, token, "/customer-info/customer-details", {})
      assert.equal(2, #doc.data)
      assert.same({ sb.all_customers[1], sb.all_customers[3] },
        { doc.data[1].customerId, doc.data[2].customerId })
      sb:set { entitled = { 1, 2, 3 } }
      assert.equal(200, (api(conn, token, HW, { customerId = sb.all_customers[2] })))
    end)

    it("keeps connections alive (one TLS handshake for many requests)", function()
      sb:reset_stats()
      local c = connect(sb)
      for page = 1, 3 do
        assert.equal(200, (api(c, token, HW, { customerId = cust, page = page, rows = 5 })))
      end
      c:close()
      local st = sb:stats()
      assert.equal(1, st.connections)
      assert.equal(1, st.handshakes)
      assert.equal(3, st.api_requests)
      assert.equal(3, st.by_status["200"])
    end)

    it("logs requests without credentials or tokens", function()
      sb:clear_log()
      api(conn, token, HW, { customerId = cust, page = 2, rows = 5,
        client_secret = sb.client_secret })
      assert.equal(200, (api(conn, token, HW, { customerId = cust, page = 2, rows = 5 })))
      local log = sb:log()
      assert.equal(2, #log)
      local r = log[2]
      assert.equal("GET", r.method)
      assert.equal("/cs/api/v2/inventory/hardware", r.path)
      assert.equal(200, r.status)
      assert.equal("hardware", r.op)
      assert.equal(cust, r.customerId)
      assert.equal(2, r.page)
      assert.equal(5, r.rows)
      assert.is_true(r.token_ok)
      assert.is_false(r.throttled)
      assert.is_number(r.t)
      local text = cjson.encode(log)
      assert.falsy(text:find(sb.client_secret, 1, true))
      assert.falsy(text:find(token, 1, true))
    end)
  end)

  describe("data", function()
    local cfg = { seed = 11, customers = 2, hardware = 600 }

    it("is deterministic: same seed, same data; another seed, other data", function()
      local a = sandbox.truth(cfg, "hardware", 1)
      local b = sandbox.truth({ seed = 11, customers = 2, hardware = 600 }, "hardware", 1)
      local c = sandbox.truth({ seed = 12, customers = 2, hardware = 600 }, "hardware", 1)
      assert.equal(600, #a)
      assert.same(a, b)
      assert.are_not.same(a[1].serialNumber, c[1].serialNumber)
      assert.same(customer_ids(cfg), customer_ids { seed = 11, customers = 2 })
    end)

    it("is consistent across operations", function()
      local hw = sandbox.truth(cfg, "hardware", 1)
      local serials, hwids, neids_hw = {}, {}, {}
      for _, r in ipairs(hw) do
        assert.is_nil(serials[r.serialNumber], "serial numbers are unique")
        serials[r.serialNumber] = true
        hwids[r.hwInstanceId] = true
        neids_hw[r.neInstanceId] = true
        assert.truthy(r.serialNumber:match("^%u%u%u%d%d%d%d[%dA-Z][%dA-Z][%dA-Z][%dA-Z]$"), r.serialNumber)
      end
      local ne = {}
      for _, r in ipairs(sandbox.truth(cfg, "network_elements", 1)) do
        ne[r.neInstanceId] = true
        assert.truthy(neids_hw[r.neInstanceId])
      end
      for id in pairs(neids_hw) do
        assert.truthy(ne[id], "hardware references an existing network element")
      end
      -- coverage and not-covered partition the hardware by serial number
      local seen = {}
      for _, opname in ipairs({ "coverage", "not_covered" }) do
        for _, r in ipairs(sandbox.truth(cfg, opname, 1)) do
          assert.truthy(serials[r.serialNumber], opname .. " references hardware")
          assert.is_nil(seen[r.serialNumber], "coverage and not_covered are disjoint")
          seen[r.serialNumber] = opname
          assert.truthy(ne[r.neInstanceId])
        end
      end
      for s in pairs(serials) do assert.truthy(seen[s], "every serial is covered or not covered") end
      -- alerts reference existing devices and bulletins
      local function set(opname, field)
        local t = {}
        for _, r in ipairs(sandbox.truth(cfg, opname)) do t[r[field]] = true end
        return t
      end
      local checks = {
        { "field_notices", "bulletinNumber", set("field_notice_bulletins", "bulletinNumber") },
        { "hardware_eol", "hwEolInstanceId", set("hardware_eol_bulletins", "hwEolInstanceId") },
        { "software_eol", "swEolInstanceId", set("software_eol_bulletins", "swEolInstanceId") },
        { "security_advisories", "securityAdvisoryInstanceId",
          set("security_advisory_bulletins", "securityAdvisoryInstanceId") },
      }
      for _, chk in ipairs(checks) do
        local rows = sandbox.truth(cfg, chk[1], 1)
        assert.truthy(#rows > 0, chk[1])
        for _, r in ipairs(rows) do
          assert.truthy(ne[r.neInstanceId], chk[1] .. " references a network element")
          if r.hwInstanceId then assert.truthy(hwids[r.hwInstanceId], chk[1] .. " references hardware") end
          assert.truthy(chk[3][r[chk[2]]], chk[1] .. " references a bulletin")
        end
      end
      -- some values are JSON null (absent), some the literal string "null"
      local null_string, json_null = false, false
      for _, r in ipairs(hw) do
        if r.swVersion == "null" then null_string = true end
        if r.hwType ~= "Chassis" and r.productSubtype == nil then json_null = true end
      end
      assert.is_true(null_string)
      assert.is_true(json_null)
    end)

    it("drifts consistently when rows are added", function()
      local dcfg = { seed = 3, customers = 1, hardware = 50, additions = {} }
      local before = #sandbox.truth(dcfg, "network_elements", 1)
      dcfg.additions[1] = { op = "hardware", customerId = 1, count = 25 }
      assert.equal(75, #sandbox.truth(dcfg, "hardware", 1))
      assert.truthy(#sandbox.truth(dcfg, "network_elements", 1) > before)
      local cov = #sandbox.truth(dcfg, "coverage", 1) + #sandbox.truth(dcfg, "not_covered", 1)
      assert.equal(75, cov)
      dcfg.additions[2] = { op = "hardware", customerId = 1, count = 3, at = "start" }
      local hw = sandbox.truth(dcfg, "hardware", 1)
      assert.truthy(#hw >= 78)
      assert.equal("Chassis", hw[1].hwType)
    end)

    it("writes big IDs as exact JSON number literals, or as strings", function()
      local big = sandbox.start { big_ids = true, hardware = 3, customers = 1 }
      local t = get_token(big)
      local c = connect(big)
      local status, _, body = api(c, t, HW, { customerId = big.customers[1], page = 1, rows = 3 })
      assert.equal(200, status)
      local literal = body:match('"hwInstanceId":(%d+)')
      assert.truthy(#literal >= 20 and #literal <= 22, literal)
      local items = big:truth("hardware", 1, { page = 1, rows = 3 })
      assert.equal(literal, items[1].hwInstanceId)
      c:close()
      big:stop()
      local s = sandbox.truth({ id_type = "string", customers = 1, hardware = 2 }, "hardware", 1)
      assert.is_string(s[1].neInstanceId)
    end)
  end)

  describe("faults and gateway", function()
    after_each(function()
      sb:faults {}
      sb:set { latency = 0, rate_limit = 0 }
    end)

    it("injects scripted statuses and records them", function()
      sb:clear_log()
      sb:faults {
        { op = "hardware", nth = 2, times = 2, status = 503, headers = { ["Retry-After"] = "1" } },
        { op = "hardware", page = 3, action = "throttle", status = 429, retry_after = "2" },
      }
      local got = {}
      for page = 1, 4 do
        local status, h = api(conn, token, HW, { customerId = cust, page = page, rows = 10 })
        got[page] = status
        if status == 429 then assert.equal("2", h:get("retry-after")) end
      end
      assert.same({ 200, 503, 503, 200 }, got)
      local status, h = api(conn, token, HW, { customerId = cust, page = 3, rows = 10 })
      assert.equal(429, status)
      assert.equal("2", h:get("retry-after"))
      local log = sb:log()
      assert.equal("#1 status", log[2].fault)
      assert.is_true(log[5].throttled)
    end)

    it("resets a connection mid-body and serves invalid JSON and HTML on demand", function()
      sb:faults {
        { op = "hardware", action = "reset", bytes = 100 },
        { op = "hardware", action = "invalid_json" },
        { op = "hardware", action = "html" },
      }
      local c = connect(sb)
      local status, err = api(c, token, HW, { customerId = cust, page = 1, rows = 10 })
      assert.is_nil(status)
      assert.truthy(err)
      c:close()
      local s2, _, body = api(conn, token, HW, { customerId = cust, page = 1, rows = 10 })
      assert.equal(200, s2)
      assert.is_nil(cjson.decode(body))
      local s3, h3 = api(conn, token, HW, { customerId = cust, page = 1, rows = 10 })
      assert.equal(502, s3)
      assert.truthy(h3:get("content-type"):find("text/html", 1, true))
    end)

    it("expires a token mid-pull and adds rows between pages", function()
      local t = get_token(sb)
      sb:faults {
        { op = "hardware", page = 2, action = "expire_token" },
        { op = "hardware", page = 3, action = "add_rows", count = 7 },
      }
      local c3 = sb.customers[3]
      assert.equal(200, (api(conn, t, HW, { customerId = c3, page = 1, rows = 2 })))
      assert.equal(401, (api(conn, t, HW, { customerId = c3, page = 2, rows = 2 })))
      local _, _, _, doc = api(conn, token, HW, { customerId = c3, page = 3, rows = 2 })
      assert.equal(12, doc.pagination.total)
      assert.equal(12, #sb:truth("hardware", sb.customers[3]))
      local added, total = sb:add_rows { op = "hardware", customerId = sb.customers[3], count = 3 }
      assert.equal(3, added)
      assert.equal(15, total)
    end)

    it("stalls before the headers, and logs a request in progress", function()
      sb:faults { { op = "hardware", action = "stall", before = 0.4 } }
      local cq = cqueues.new()
      local status, mid
      cq:wrap(function()
        status = api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })
      end)
      cq:wrap(function()
        cqueues.sleep(0.15)
        local log = sb:log()
        mid = log[#log]
      end)
      local started = cqueues.monotime()
      assert(cq:loop())
      assert.equal(200, status)
      assert.truthy(cqueues.monotime() - started >= 0.4)
      assert.equal("#1 stall", mid.fault)
      assert.is_nil(mid.status)
    end)

    it("adds latency without serialising concurrent requests", function()
      sb:set { latency = 0.3 }
      local cq = cqueues.new()
      local started = cqueues.monotime()
      local done = 0
      for _ = 1, 4 do
        cq:wrap(function()
          local c = connect(sb)
          assert.equal(200, (api(c, token, HW, { customerId = cust, page = 1, rows = 5 })))
          c:close()
          done = done + 1
        end)
      end
      assert(cq:loop())
      local elapsed = cqueues.monotime() - started
      assert.equal(4, done)
      assert.truthy(elapsed >= 0.3, elapsed)
      -- one after the other would take at least 4 x 0.3 s; room for a loaded machine below that
      assert.truthy(elapsed < 1.15, elapsed)
    end)

    it("throttles over the rate limit with the gateway's 403", function()
      sb:set { rate_limit = 5, rate_burst = 1 }
      sb:clear_log()
      local statuses = {}
      for i = 1, 6 do
        local status, h = api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })
        statuses[i] = status
        if status == 403 then assert.equal("ERR_403_DEVELOPER_OVER_QPS", h:get("x-mashery-error-code")) end
      end
      assert.equal(200, statuses[1])
      assert.equal(403, statuses[2])
      cqueues.sleep(0.25)
      assert.equal(200, (api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })))
      local throttled = 0
      for _, r in ipairs(sb:log()) do if r.throttled then throttled = throttled + 1 end end
      assert.truthy(throttled >= 4)
    end)

    it("can answer like the gateway: 403 without a token, 429 throttling, a daily quota", function()
      sb:set { unauthenticated_status = 403, rate_limit = 1, rate_burst = 1, throttle_status = 429 }
      local status, h = api(conn, nil, HW, { customerId = cust, page = 1, rows = 1 })
      assert.equal(403, status)
      assert.equal("ERR_403_NOT_AUTHORIZED", h:get("x-mashery-error-code"))
      assert.equal(200, (api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })))
      status, h = api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })
      assert.equal(429, status)
      assert.equal("1", h:get("retry-after"))
      sb:set { unauthenticated_status = 401, rate_limit = 0, throttle_status = 403, daily_quota = 2 }
      assert.equal(200, (api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })))
      assert.equal(200, (api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })))
      status, h = api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })
      assert.equal(403, status)
      assert.equal("ERR_403_DEVELOPER_OVER_RATE", h:get("x-mashery-error-code"))
      sb:set { daily_quota = 0 }
    end)

    it("escapes nothing for the client: control characters reach it as sent", function()
      sb:faults { { op = "hardware", action = "control_chars" } }
      local status, _, body = api(conn, token, HW, { customerId = cust, page = 1, rows = 1 })
      assert.equal(500, status)
      assert.truthy(cjson.decode(body).message:find("\27[31m", 1, true))
    end)
  end)

  describe("with http2 = true", function()
    local sb2

    setup(function()
      -- latency: requests sent together are in progress together on the server
      sb2 = sandbox.start { seed = 7, customers = 1, hardware = 60, http2 = true, latency = 0.05 }
    end)

    teardown(function()
      if sb2 then sb2:stop() end
    end)

    -- lua-http's HPACK encoder writes an integer of exactly 2^N - 1 without the octet that
    -- must follow (cxcloud.sandbox.hpack): the second response of every connection referred
    -- to dynamic table index 63 that way, the client could not decode it and the connection
    -- died. lua-http's decoder here is the strict side; this client's own requests stay
    -- clear of the encoder bug (static names, values far below 127 octets).
    it("serves sequential and concurrent requests on one HTTP/2 connection", function()
      local c = connect(sb2, "apix.cisco.com", 2)
      assert.equal(2, c.version)
      local c_id = sb2.customers[1]
      local status, _, body = form_token(sb2, c)
      assert.equal(200, status)
      local tok = cjson.decode(body).access_token
      local truth = sb2:truth("hardware", c_id)
      local function check_page(page, rows)
        local st, h, _, doc = api(c, tok, HW, { customerId = c_id, page = page, rows = rows })
        assert.equal(200, st)
        assert.truthy(h:get("x-mashery-message-id"))
        assert.equal(rows, #doc.data)
        for i, item in ipairs(doc.data) do
          assert.equal(truth[(page - 1) * rows + i].serialNumber, item.serialNumber)
        end
      end
      for page = 1, 12 do check_page(page, 5) end -- sequential: 12 streams
      sb2:reset_stats()
      local cq = cqueues.new()
      local done = 0
      for page = 1, 12 do -- concurrent: 12 streams at once
        cq:wrap(function()
          check_page(page, 5)
          done = done + 1
        end)
      end
      assert(cq:loop(30))
      assert.equal(12, done)
      -- unpaged (streamed in chunks), 404 and 401 on the same connection
      status, _, body = api(c, tok, HW, { customerId = c_id })
      assert.equal(200, status)
      assert.equal(60, #json.decode_plain(body).data)
      assert.equal(404, (api(c, tok, "/no/such/thing")))
      assert.equal(401, (api(c, "not-a-token", HW, { customerId = c_id })))
      local st = sb2:stats()
      assert.equal(0, st.connections) -- all of it on the connection opened before reset_stats
      assert.truthy(st.peak_inflight >= 2, "streams in progress together: " .. st.peak_inflight)
      for _, r in ipairs(sb2:log()) do assert.equal("2", r.http_version) end
      c:close()
    end)

    it("still serves HTTP/1.1 to clients that do not offer h2", function()
      local c = connect(sb2, "apix.cisco.com", 1.1)
      assert.equal(1.1, c.version)
      local mark = #sb2:log()
      assert.equal(401, (api(c, nil, HW, { customerId = sb2.customers[1] })))
      assert.equal(401, (api(c, nil, HW, { customerId = sb2.customers[1] })))
      local log = sb2:log()
      assert.equal("1.1", log[mark + 1].http_version)
      c:close()
    end)
  end)

  it("runs from the command line", function()
    local p = io.popen("exec lua5.4 bin/cxcloud sandbox --json --customers 2 --hardware 3 --seed 7 2>&1")
    local info = json.decode_plain(p:read("l"))
    assert.is_number(info.port)
    finally(function() os.execute("kill -TERM " .. math.tointeger(info.pid) .. " 2>/dev/null") end)
    assert.equal(2, #info.customers)
    assert.same(customer_ids { seed = 7, customers = 2 }, info.customers)
    local c = connect { port = info.port, ca_file = info.ca_file }
    local body = "grant_type=client_credentials&client_id=" .. urlencode(info.client_id)
      .. "&client_secret=" .. urlencode(info.client_secret)
    local status = request(c, "POST", "/oauth2/default/v1/token",
      { ["content-type"] = "application/x-www-form-urlencoded" }, body)
    assert.equal(200, status)
    c:close()
    -- the command line's HTTPS control port, with and without the key
    local ctl = connect { port = info.control_port, ca_file = info.ca_file }
    local key = { ["x-sandbox-key"] = info.admin_key }
    local st, _, stats = request(ctl, "GET", "/_sandbox/stats", key)
    assert.equal(200, st)
    assert.equal(1, cjson.decode(stats).token_requests)
    st = request(ctl, "PUT", "/_sandbox/faults", key, '[{"action":"explode"}]')
    assert.equal(400, st)
    assert.equal(403, (request(ctl, "GET", "/_sandbox/stats")))
    ctl:close()
    os.execute("kill -TERM " .. math.tointeger(info.pid))
    p:read("a")
    p:close()
    assert.is_nil(io.open(info.ca_file))
    local help = io.popen("lua5.4 bin/cxcloud sandbox --help")
    local text = help:read("a")
    help:close()
    for flag in pairs { ["--port"] = 1, ["--seed"] = 1, ["--hardware"] = 1, ["--latency"] = 1,
      ["--rate-limit"] = 1, ["--throttle-status"] = 1, ["--big-ids"] = 1, ["--http2"] = 1 } do
      assert.truthy(text:find(flag, 1, true), flag)
    end
  end)

  it("uses the operations table and the shell quoting of the library, nothing else", function()
    local quote = require("cxcloud.shell").quote
    local modules = {}
    for file in io.popen("ls sandbox/lua/cxcloud/sandbox"):lines() do
      local name = file:match("^(.+)%.lua$")
      -- cli.lua is the plug-in of the library's command line, which it uses
      if name and name ~= "cli" then
        modules[#modules + 1] = "require 'cxcloud.sandbox." .. (name == "init" and "" or name) .. "'"
      end
    end
    local script = table.concat(modules, ";"):gsub("%.'", "'") .. [[;
      local names = {}
      for name in pairs(package.loaded) do
        if name:match("^cxcloud") and not name:match("^cxcloud%.sandbox") then names[#names + 1] = name end
      end
      table.sort(names)
      print(table.concat(names, " "))]]
    local p = io.popen("LUA_PATH_5_4=" .. quote(package.path) .. " lua5.4 -e " .. quote(script) .. " 2>&1")
    local loaded = p:read("a")
    assert.is_true(p:close(), loaded)
    assert.equal("cxcloud.operations cxcloud.shell\n", loaded)
  end)

  describe("thread", function()
    local quote = require("cxcloud.shell").quote

    it("goes with the process that started it, though that process's children live on", function()
      -- the process blocks in os.execute: its child (sleep) inherits what is not close-on-exec
      local script = [[
        local sb = require("cxcloud.sandbox").start { customers = 1, hardware = 1 }
        print(sb.port, sb.dir)
        io.stdout:flush()
        os.execute("echo $$; exec sleep 20")
      ]]
      local p = io.popen("LUA_PATH_5_4=" .. quote(package.path) .. " lua5.4 -e " .. quote(script)
        .. " & echo $!; wait")
      local parent = math.tointeger(tonumber(p:read("l")))
      local port, dir = p:read("l"):match("^(%d+)%s+(%S+)$")
      assert.truthy(port, "no sandbox port from the process")
      local sleeper = math.tointeger(tonumber(p:read("l")))
      local function listens()
        local sock = cs.connect { host = "127.0.0.1", port = math.tointeger(tonumber(port)) }
        local ok, connected = pcall(sock.connect, sock, 1)
        sock:close()
        return ok and connected ~= nil
      end
      assert.is_true(listens())
      os.execute("kill -KILL " .. parent)
      local deadline = cqueues.monotime() + 3
      while listens() and cqueues.monotime() < deadline do cqueues.sleep(0.05) end
      local sleeping = os.execute("kill -0 " .. sleeper .. " 2>/dev/null")
      os.execute("kill -KILL " .. sleeper .. " 2>/dev/null")
      p:close()
      -- SIGKILL left no one to remove the temporary directory
      os.remove(dir .. "/ca.pem")
      os.remove(dir)
      assert.is_false(listens(), "the server outlived its process")
      assert.truthy(sleeping, "the child was gone too early to tell")
    end)

    it("reports a server that cannot start, with its reason, at once", function()
      local s = sandbox.start { customers = 1, hardware = 1 }
      local t0 = cqueues.monotime()
      local ok, err = pcall(sandbox.start, { customers = 1, hardware = 1, port = s.port })
      s:stop()
      assert.is_false(ok)
      -- the reason comes over the socket (the first line)
      assert.truthy(err:match("^[^\n]*cannot listen on 127%.0%.0%.1:" .. s.port), err)
      assert.is_true(cqueues.monotime() - t0 < 5)
      assert.has_error(function() sandbox.start { control_port = 0 } end)
    end)

    it("raises a clear error when its server ended, and still stops", function()
      local s = sandbox.start { customers = 1, hardware = 1 }
      s:_call("stop") -- the control request `stop` ends the server (the command line's POST /_sandbox/stop)
      local ok, err = pcall(s.stats, s)
      assert.is_false(ok)
      assert.truthy(err:find("the server is gone", 1, true), err)
      assert.has_error(function() s:log() end)
      assert.is_true(s:stop())
    end)

    it("waits without blocking inside a cqueues controller (start, control, stop)", function()
      local cq = cqueues.new()
      local gap, done, phase, ticks = 0, false, nil, {}
      local s, stats
      cq:wrap(function()
        phase = "start"
        s = sandbox.start { customers = 1, hardware = 1 }
        phase = "control"
        for _ = 1, 20 do stats = s:stats() end
        phase = "stop"
        s:stop()
        done = true
      end)
      cq:wrap(function()
        local last = cqueues.monotime()
        while not done do
          if phase then ticks[phase] = (ticks[phase] or 0) + 1 end
          cqueues.sleep(0.001)
          local now = cqueues.monotime()
          gap, last = math.max(gap, now - last), now
        end
      end)
      assert(cq:loop())
      assert.is_number(stats.uptime)
      assert.is_true(s._stopped)
      -- the loop went on while start waited for the server thread (its certificates take
      -- tens of milliseconds)
      assert.truthy((ticks.start or 0) >= 1, "the loop stood still during start")
      assert.is_true(gap < 0.15, "the loop stood still for " .. gap .. " s")
    end)

    it("takes control calls from several coroutines at once, each getting its own answer", function()
      local cq = cqueues.new()
      local wrong = 0
      cq:wrap(function()
        for _ = 1, 50 do if type(sb:stats().uptime) ~= "number" then wrong = wrong + 1 end end
      end)
      cq:wrap(function()
        for _ = 1, 50 do if type(sb:state().options) ~= "table" then wrong = wrong + 1 end end
      end)
      cq:wrap(function()
        for _ = 1, 50 do if sb:fault_state()[1] ~= nil then wrong = wrong + 1 end end
      end)
      assert(cq:loop())
      assert.equal(0, wrong)
    end)

    it("keeps control requests off the API port", function()
      sb:reset_stats()
      for _ = 1, 20 do sb:log() end
      local st = sb:stats()
      assert.equal(0, st.connections)
      assert.equal(0, st.api_requests + st.token_requests + st.other_requests)
    end)
  end)

  it("stops idempotently and removes its temporary directory", function()
    local s = sandbox.start { customers = 1, hardware = 1 }
    local dir = s.dir
    assert.truthy(io.open(dir .. "/ca.pem"))
    s:stop()
    s:stop()
    assert.is_nil(io.open(dir .. "/ca.pem"))
    assert.has_error(function() s:stats() end)
  end)
end)
