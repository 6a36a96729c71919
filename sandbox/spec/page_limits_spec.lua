-- Spec of the sandbox's page size limits (options max_rows and rows_over_max) over real HTTPS:
-- the three behaviours a service may have that a client with page_size = "auto" must meet.
--   * default: any rows 1..10000 served;
--   * max_rows = N: a 400 above N;
--   * max_rows = N, rows_over_max = "cap": at most N rows a page, whatever was asked;
-- and in every mode a 400 above 10000.

package.path = "lua/?.lua;lua/?/init.lua;sandbox/lua/?.lua;sandbox/lua/?/init.lua;" .. package.path
if not package.path:find("/usr/share/lua/5.1/?.lua", 1, true) then
  package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
end

local cs = require "cqueues.socket"
local http_client = require "http.client"
local http_headers = require "http.headers"
local http_tls = require "http.tls"
local cjson = require "cjson.safe"

local sandbox = require "cxcloud.sandbox"
local json = require "cxcloud.sandbox.json"
local client_decode = require("cxcloud.core").decoder(require("cxcloud.operations").identifiers)

local HW = "/inventory/hardware"

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function query_string(params)
  local keys, parts = {}, {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(tostring(params[k])) end
  return "?" .. table.concat(parts, "&")
end

-- a keep-alive HTTPS connection that trusts only the sandbox's CA
local function connect(port, ca_file, host)
  local ctx = http_tls.new_client_context()
  local store = require("openssl.x509.store").new()
  store:add(require("openssl.x509").new(assert(io.open(ca_file)):read("a"), "PEM"))
  ctx:setStore(store)
  ctx:setVerify(require("openssl.ssl.context").VERIFY_PEER)
  local sock = assert(cs.connect { host = "127.0.0.1", port = port, nodelay = true })
  return assert(http_client.negotiate(sock, { tls = true, ctx = ctx, host = host or "apix.cisco.com",
    version = 1.1 }, 10))
end

-- one request: status, body
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
  local rh = assert(stream:get_headers(10))
  local text = assert(stream:get_body_as_string(30))
  return math.tointeger(tonumber(rh:get(":status"))), text
end

local function token_for(port, ca_file, id, secret)
  local conn = connect(port, ca_file, "id.cisco.com")
  local status, body = request(conn, "POST", "/oauth2/default/v1/token",
    { ["content-type"] = "application/x-www-form-urlencoded" },
    "grant_type=client_credentials&client_id=" .. urlencode(id) .. "&client_secret=" .. urlencode(secret))
  conn:close()
  assert(status == 200, body)
  return cjson.decode(body).access_token
end

-- a client of a started sandbox: get(params) GETs hardware and returns status, decoded
-- body (or the error message)
local function client(port, ca_file, id, secret)
  local token = token_for(port, ca_file, id, secret)
  local conn = connect(port, ca_file)
  local function get(params)
    local status, body = request(conn, "GET", "/cs/api/v2" .. HW .. query_string(params),
      { authorization = "Bearer " .. token })
    if status ~= 200 then
      local doc = cjson.decode(body)
      assert(doc and doc.status == status, body)
      return status, doc.message
    end
    return status, client_decode(body)
  end
  return get, conn
end

-- the serial numbers of a page's items (unique per customer)
local function serials(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = item.serialNumber end
  return out
end

describe("cxcloud.sandbox page size limits", function()
  -- customer 1: one row more than the largest page; customer 2: a few pages of 7
  local sb, get, conn, big, small, defaults

  setup(function()
    sb = sandbox.start { seed = 3, customers = 2, hardware = { 10001, 23 } }
    get, conn = client(sb.port, sb.ca_file, sb.client_id, sb.client_secret)
    big, small = sb.customers[1], sb.customers[2]
    local options = sb:state().options
    defaults = { max_rows = options.max_rows, rows_over_max = options.rows_over_max }
  end)

  teardown(function()
    if conn then conn:close() end
    if sb then sb:stop() end
  end)

  -- each spec starts from the server's defaults (as it started, whatever a spec set)
  before_each(function() sb:set(defaults) end)

  it("defaults to max_rows = 10000, refusing above", function()
    assert.same({ max_rows = 10000, rows_over_max = "refuse" }, defaults)
    assert.equal(10000, sb.config.max_rows)
    assert.equal("refuse", sb.config.rows_over_max)
  end)

  describe("by default (no limit up to 10000)", function()
    it("serves rows = 10000 with 10000 rows, and the rest on page 2", function()
      local fields = "serialNumber"
      local status, doc = get { customerId = big, page = 1, rows = 10000, fields = fields }
      assert.equal(200, status)
      assert.equal(10000, #doc.data)
      assert.same({ page = 1, pages = 2, rows = 10000, total = 10001 }, doc.pagination)
      local status2, doc2 = get { customerId = big, page = 2, rows = 10000, fields = fields }
      assert.equal(200, status2)
      assert.same({ page = 2, pages = 2, rows = 10000, total = 10001 }, doc2.pagination)
      assert.equal(1, #doc2.data)
      doc.data[10001] = doc2.data[1]
      assert.same(sb:truth("hardware", big, { fields = fields }), doc.data)
    end)

    it("serves rows between 1000 and 10000 as asked", function()
      local status, doc = get { customerId = small, page = 1, rows = 5000 }
      assert.equal(200, status)
      assert.same({ page = 1, pages = 1, rows = 5000, total = 23 }, doc.pagination)
      assert.same(sb:truth("hardware", small), doc.data)
    end)

    it("answers rows = 10001 with a 400 naming what is accepted", function()
      local status, msg = get { customerId = small, page = 1, rows = 10001 }
      assert.equal(400, status)
      assert.equal("rows must be between 1 and 10000, got 10001", msg)
      assert.has_error(function() sb:truth("hardware", small, { page = 1, rows = 10001 }) end,
        "cxcloud.sandbox: 400 rows must be between 1 and 10000, got 10001")
    end)
  end)

  describe("with max_rows = N (refuse)", function()
    it("serves rows up to N and answers a 400 naming N above it", function()
      sb:set { max_rows = 7 }
      local status, doc = get { customerId = small, page = 2, rows = 7 }
      assert.equal(200, status)
      assert.same({ page = 2, pages = 4, rows = 7, total = 23 }, doc.pagination)
      assert.equal(7, #doc.data)
      for _, rows in ipairs { 8, 1000, 10000, 10001 } do
        local st, msg = get { customerId = small, page = 1, rows = rows }
        assert.equal(400, st, rows)
        assert.equal("rows must be between 1 and 7, got " .. rows, msg)
      end
      -- whatever rows_over_max says, an unpaged request is the whole result
      local st, all = get { customerId = small }
      assert.equal(200, st)
      assert.equal(23, #all.data)
    end)

    it("takes the options at start too", function()
      local s = sandbox.start { customers = 1, hardware = 3, max_rows = 2 }
      local c
      -- one finally per spec: busted keeps the last one only
      finally(function()
        if c then c:close() end
        s:stop()
      end)
      local g
      g, c = client(s.port, s.ca_file, s.client_id, s.client_secret)
      local status, msg = g { customerId = s.customers[1], page = 1, rows = 3 }
      assert.equal(400, status)
      assert.equal("rows must be between 1 and 2, got 3", msg)
    end)
  end)

  describe('with max_rows = N, rows_over_max = "cap"', function()
    it("answers rows > N as if rows = N had been asked", function()
      sb:set { max_rows = 7, rows_over_max = "cap" }
      for _, rows in ipairs { 8, 1000, 10000 } do
        local status, doc = get { customerId = small, page = 1, rows = rows }
        assert.equal(200, status, rows)
        assert.same({ page = 1, pages = 4, rows = 7, total = 23 }, doc.pagination)
        -- sandbox.truth caps as the server does
        local items, pag = sb:truth("hardware", small, { page = 1, rows = rows })
        assert.same(items, doc.data)
        assert.same(pag, doc.pagination)
        assert.same(sb:truth("hardware", small, { page = 1, rows = 7 }), doc.data)
      end
      -- at or below N: as asked
      local _, doc = get { customerId = small, page = 2, rows = 5 }
      assert.same({ page = 2, pages = 5, rows = 5, total = 23 }, doc.pagination)
      assert.equal(5, #doc.data)
    end)

    it("serves every row exactly once to a walk of every page with rows = big", function()
      local truth = serials(sb:truth("hardware", small))
      -- 23 rows: pages of 7 (the last short), of 1 and of 23 (total a multiple of N)
      for _, n in ipairs { 7, 1, 23 } do
        sb:set { max_rows = n, rows_over_max = "cap" }
        local seen, order, pages, page = {}, {}, math.ceil(23 / n), 1
        repeat
          local status, doc = get { customerId = small, page = page, rows = 1000 }
          assert.equal(200, status)
          assert.same({ page = page, pages = pages, rows = n, total = 23 }, doc.pagination)
          assert.equal(math.min(n, 23 - n * (page - 1)), #doc.data)
          for _, s in ipairs(serials(doc.data)) do
            assert.is_nil(seen[s], s)
            seen[s] = true
            order[#order + 1] = s
          end
          page = page + 1
        until page > pages
        assert.same(truth, order, n)
        -- past the end: empty, the same pagination
        local _, doc = get { customerId = small, page = pages + 1, rows = 1000 }
        assert.same({}, doc.data)
        assert.same({ page = pages + 1, pages = pages, rows = n, total = 23 }, doc.pagination)
      end
    end)

    it("still answers rows > 10000 with a 400 naming both limits", function()
      sb:set { max_rows = 7, rows_over_max = "cap" }
      local status, msg = get { customerId = small, page = 1, rows = 10001 }
      assert.equal(400, status)
      assert.equal("rows must be between 1 and 10000, got 10001"
        .. " (rows above 7 are served as pages of 7)", msg)
    end)

    it("changes nothing while max_rows is 10000", function()
      sb:set { rows_over_max = "cap" }
      local _, doc = get { customerId = small, page = 1, rows = 10000 }
      assert.same({ page = 1, pages = 1, rows = 10000, total = 23 }, doc.pagination)
      local status, msg = get { customerId = small, page = 1, rows = 10001 }
      assert.equal(400, status)
      assert.equal("rows must be between 1 and 10000, got 10001", msg)
    end)
  end)

  it("rejects bad values of both options, naming them", function()
    assert.has_error(function() sandbox.start { max_rows = 10001 } end,
      "cxcloud.sandbox: bad option 'max_rows' (10001): expected an integer 1..10000"
        .. " (the largest page served)")
    assert.has_error(function() sb:set { max_rows = 0 } end)
    local ok, err = pcall(sb.set, sb, { rows_over_max = "clip" })
    assert.is_false(ok)
    assert.truthy(err:find("bad option 'rows_over_max' (\"clip\"): expected \"refuse\"", 1, true), err)
    assert.equal(10000, sb.config.max_rows)
  end)

  it("takes --max-rows and --rows-over-max on the command line", function()
    local p = io.popen("exec lua5.4 bin/cxcloud sandbox --json --customers 1 --hardware 9"
      .. " --max-rows 4 --rows-over-max cap 2>&1")
    local line = p:read("l")
    local info = json.decode_plain(line)
    local c
    finally(function()
      if c then c:close() end
      if type(info) == "table" then
        os.execute("kill -TERM " .. math.tointeger(info.pid) .. " 2>/dev/null")
      end
      p:read("a")
      p:close()
    end)
    assert.is_table(info, line)
    local g
    g, c = client(info.port, info.ca_file, info.client_id, info.client_secret)
    local status, doc = g { customerId = info.customers[1], page = 3, rows = 100 }
    assert.equal(200, status)
    assert.same({ page = 3, pages = 3, rows = 4, total = 9 }, doc.pagination)
    assert.equal(1, #doc.data)
    local bad = io.popen("lua5.4 bin/cxcloud sandbox --rows-over-max clip 2>&1")
    local text = bad:read("a")
    bad:close()
    assert.truthy(text:find("--rows-over-max", 1, true), text)
    assert.truthy(text:find('"refuse"', 1, true), text)
  end)
end)
