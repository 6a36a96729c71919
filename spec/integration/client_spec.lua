-- The foundation: token flow, transport, TLS, options, pagination, secrecy,
-- all over real HTTPS against the sandbox.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local helper = require "spec.support.helper"
local rawcore = require "spec.support.rawcore"

describe("client foundation", function()
  local sb

  setup(function()
    sb = helper.sandbox { seed = 7, customers = 7, hardware = 30 }
  end)

  teardown(function()
    sb:stop()
  end)

  describe("token", function()
    it("is fetched lazily, once, and reused for many API calls", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      assert.equal(0, #helper.since(sb, mark)) -- creating a client sends nothing
      for _ = 1, 5 do assert.is_table(cx:get("/customer-info/customer-details")) end
      local log = helper.since(sb, mark)
      assert.equal(1, helper.count(log, helper.is_token))
      assert.equal(5, helper.count(log, helper.is_api))
    end)

    it("returns the token and its expiry in epoch seconds", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      local token, expires_at = cx:token()
      assert.is_string(token)
      assert.is_true(#token >= 16)
      assert.is_near(os.time() + 3600, expires_at, 30)
      local again = cx:token()
      assert.equal(token, again)
    end)

    it("is sent as form fields with the secret URL-encoded (&=+% space, non-ASCII)", function()
      -- The sandbox's generated secret holds all of these; it only accepts it decoded exactly.
      assert.truthy(sb.client_secret:find("[&=+%% ]"))
      assert.truthy(sb.client_secret:find("[\128-\255]"))
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      assert.is_string((cx:token()))
      local log = sb:log()
      local last
      for _, r in ipairs(log) do if helper.is_token(r) then last = r end end
      assert.equal("POST", last.method)
      assert.equal(200, last.status)
      assert.equal("form", last.client_auth)
      assert.is_nil(last.query and last.query.client_secret) -- never in the URL
    end)

    it("is refreshed before expiry, with the margin", function()
      local clock = helper.fake_clock()
      local cx = helper.client(sb, { clock = clock.clock, sleep = clock.sleep })
      finally(function() cx:close() end)
      local t1 = cx:token()
      clock.advance(3600 - 61) -- margin is min(60 s, 10% of 3600 s) = 60 s
      assert.equal(t1, (cx:token()))
      clock.advance(2)
      local t2 = cx:token()
      assert.is_string(t2)
      assert.not_equal(t1, t2)
    end)

    it("on a 401 from the API refreshes once and retries once", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      assert.is_table(cx:get("/customer-info/customer-details"))
      sb:expire_tokens()
      local mark = helper.mark(sb)
      assert.is_table(cx:get("/customer-info/customer-details"))
      local log = helper.since(sb, mark)
      assert.equal(3, #log)
      assert.equal(401, log[1].status)
      assert.is_true(helper.is_token(log[2]))
      assert.equal(200, log[3].status)
    end)

    it("a second 401 is an auth error", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      assert.is_table(cx:get("/customer-info/customer-details"))
      sb:faults { { op = "customers", action = "status", status = 401, times = 2 } }
      local body, err = cx:get("/customer-info/customer-details")
      sb:faults {}
      assert.is_nil(body)
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      helper.show(err)
    end)

    it("a wrong secret gives an auth error that names neither secret", function()
      local cx = helper.client(sb, { client_secret = "wrong-secret-0123456789" })
      finally(function() cx:close() end)
      local token, err = cx:token()
      assert.is_nil(token)
      assert.is_true(cxcloud.is_error(err))
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      local text = helper.show(err)
      assert.is_nil(text:find("wrong-secret-0123456789", 1, true))
      assert.is_nil(text:find(sb.client_secret, 1, true))
      local body, err2 = cx:get("/customer-info/customer-details")
      assert.is_nil(body)
      assert.equal("auth", err2.kind)
    end)
  end)

  describe("transport", function()
    it("reuses one connection per host: no new connect or TLS handshake per request", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      assert.is_table(cx:get("/customer-info/customer-details"))
      local before = cx:stats().connects
      local handshakes = sb:stats().handshakes
      for _ = 1, 10 do assert.is_table(cx:get("/customer-info/customer-details")) end
      assert.equal(before, cx:stats().connects)
      assert.equal(handshakes, sb:stats().handshakes)
      assert.equal(2, before) -- one to id.cisco.com (token), one to apix.cisco.com
    end)

    it("an untrusted certificate is a tls error", function()
      local cx = helper.client(sb, { ca_file = "/etc/ssl/certs/ca-certificates.crt" })
      finally(function() cx:close() end)
      local token, err = cx:token()
      assert.is_nil(token)
      assert.equal("tls", err.kind)
      helper.show(err)
    end)

    it("verifies the host name: the sandbox's certificate does not cover other names", function()
      local opts = sb:client_options()
      opts.token_url = "https://other.example.com/oauth2/default/v1/token"
      opts.connect_to = { "other.example.com:443:127.0.0.1:" .. sb.port }
      local cx = cxcloud.new(opts)
      finally(function() cx:close() end)
      local token, err = cx:token()
      assert.is_nil(token)
      assert.equal("tls", err.kind)
    end)

    it("refuses plain http:// URLs unless allow_http is given", function()
      local opts = sb:client_options { base_url = "http://apix.cisco.com/cs/api/v2" }
      local err = helper.raised(cxcloud.new, opts)
      assert.equal("config", err.kind)
      assert.truthy(tostring(err):find("base_url", 1, true))
      assert.truthy(tostring(err):find("allow_http", 1, true))
      opts = sb:client_options { token_url = "http://id.cisco.com/oauth2/default/v1/token" }
      assert.equal("config", helper.raised(cxcloud.new, opts).kind)
    end)

    it("does not follow redirects", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      sb:faults { { op = "customers", status = 302,
                    headers = { location = "https://evil.example.com/steal" } } }
      local body, err = cx:get("/customer-info/customer-details")
      sb:faults {}
      assert.is_nil(body)
      assert.equal("http", err.kind)
      assert.equal(302, err.status)
    end)

    it("sends a User-Agent of cxcloud/VERSION libcurl/VERSION and accepts gzip", function()
      local cx = helper.client(sb)
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      assert.is_table(cx:get("/customer-info/customer-details"))
      local log = helper.since(sb, mark)
      for _, r in ipairs(log) do
        assert.equal("cxcloud/" .. cxcloud._VERSION:match("%S+$") .. " " .. core.curl_version(),
          r.user_agent)
        assert.truthy(r.accept_encoding:find("gzip", 1, true))
      end
      assert.truthy(cxcloud._VERSION:match("^cxcloud %d+%.%d+%.%d+$"), cxcloud._VERSION)
    end)

    it("an error's body snippet redacts only what it shows, masking a secret across the cut", function()
      local errors = require "cxcloud.errors"
      local secret = "S3cr3t-value-0123456789"
      local c = rawcore.new { client_id = "id", client_secret = secret,
                              token_url = "https://id.example.com/token" }
      finally(function() c:close() end)
      local body = string.rep("x", 500) .. secret .. string.rep("y", 32 * 1024 * 1024)
      local t0 = os.clock()
      local text, cut = c:redact(body, 512)
      local cpu = os.clock() - t0
      assert.equal(string.rep("x", 500) .. "[REDACTED]", text)
      assert.is_true(cut)
      -- a scan of the whole body takes about 0.2 s of CPU (10 s under valgrind)
      assert.is_true(cpu < (helper.memcheck and 1 or 0.02), "redacting the snippet took " .. cpu .. " s")
      local snip = errors.snippet(body, function(s, max) return c:redact(s, max) end)
      assert.equal(string.rep("x", 500) .. "[REDACTED]...", snip)
      assert.equal("[RE", (c:redact(secret, 3))) -- the mask is cut, never the secret
      assert.same({ "ab", true }, { c:redact("abc", 2) })
      assert.same({ "abc", false }, { c:redact("abc") })
    end)

    it("a timeout bounds the whole request", function()
      local cx = helper.client(sb, { timeout = 1, max_retries = 0 })
      finally(function() cx:close() end)
      assert.is_string((cx:token()))
      sb:faults { { op = "customers", action = "stall", before = 3 } }
      local t0 = core.now()
      local body, err = cx:get("/customer-info/customer-details")
      local elapsed = core.now() - t0
      sb:faults {}
      assert.is_nil(body)
      assert.equal("timeout", err.kind)
      assert.is_true(elapsed < 2.5, "took " .. elapsed)
    end)
  end)

  describe("options", function()
    local function config_error(opts)
      local err = helper.raised(cxcloud.new, opts)
      assert.equal("config", err.kind)
      return helper.show(err)
    end

    it("names an unknown option and suggests the close one", function()
      local msg = config_error(sb:client_options { timeuot = 5 })
      assert.truthy(msg:find("timeuot", 1, true))
      assert.truthy(msg:find("timeout", 1, true))
    end)

    it("names an option of the wrong type and what is accepted", function()
      local msg = config_error(sb:client_options { timeout = "soon" })
      assert.truthy(msg:find("timeout", 1, true))
      msg = config_error(sb:client_options { page_size = 0 })
      assert.truthy(msg:find("page_size", 1, true))
      msg = config_error(sb:client_options { connect_to = 42 })
      assert.truthy(msg:find("connect_to", 1, true))
    end)

    it("requires credentials and says where they come from", function()
      local opts = sb:client_options()
      opts.client_secret = nil
      local msg = config_error(opts)
      assert.truthy(msg:find("client_secret", 1, true))
      assert.truthy(msg:find("CXCLOUD_CLIENT_SECRET", 1, true))
    end)

    it("never echoes a secret given with the wrong type", function()
      local msg = config_error(sb:client_options { client_secret = { "s3cr3t-in-a-table" } })
      assert.is_nil(msg:find("s3cr3t", 1, true))
    end)
  end)

  describe("customers query", function()
    it("walks every page; the last page is short", function()
      local cx = helper.client(sb, { page_size = 3 })
      finally(function() cx:close() end)
      local q = cx:customers()
      local pages, ids = {}, {}
      for page, info in q:pages() do
        pages[#pages + 1] = { n = #page, info = info }
        for _, c in ipairs(page) do ids[#ids + 1] = c.customerId end
      end
      assert.equal(3, #pages)
      assert.same({ 3, 3, 1 }, { pages[1].n, pages[2].n, pages[3].n })
      assert.same({ page = 3, pages = 3, rows = 3, total = 7 }, pages[3].info)
      assert.same(sb.customers, ids)
    end)

    it("iterates items lazily, and all/first/count agree with the sandbox", function()
      local cx = helper.client(sb, { page_size = 2 })
      finally(function() cx:close() end)
      local truth = sb:truth("customers")
      local got = {}
      for c in cx:customers() do got[#got + 1] = c end
      assert.same(truth, got)
      assert.same(truth, (cx:customers():all()))
      assert.same(truth[1], (cx:customers():first()))
      assert.equal(7, (cx:customers():count()))
    end)
  end)

  describe("object life", function()
    it("tostring shows base URL and client id, never the secret or token", function()
      local cx = helper.client(sb)
      local token = cx:token()
      local s = helper.show(cx)
      assert.truthy(s:find(sb.client_id, 1, true))
      assert.truthy(s:find("apix.cisco.com", 1, true))
      assert.is_nil(s:find(sb.client_secret, 1, true))
      assert.is_nil(s:find(token, 1, true))
      cx:close()
      cx:close() -- idempotent
      assert.truthy(tostring(cx):find("closed", 1, true))
      local err = helper.raised(cx.get, cx, "/customer-info/customer-details")
      assert.equal("usage", err.kind)
    end)

    it("is to-be-closed and survives aggressive garbage collection", function()
      local lua54 = _VERSION == "Lua 5.4"
      if lua54 then collectgarbage("generational") end
      -- `<close>` is 5.4 syntax: compiled only there; elsewhere an explicit close
      local with_client = lua54 and assert(load [[
        local make, use = ...
        local cx <close> = make()
        use(cx)
      ]]) or function(make, use)
        local cx = make()
        use(cx)
        cx:close()
      end
      for i = 1, 20 do
        with_client(function() return helper.client(sb) end, function(cx)
          if i % 2 == 0 then assert.is_table(cx:get("/customer-info/customer-details")) end
        end)
        collectgarbage("step")
      end
      for _ = 1, 20 do
        local cx = helper.client(sb) -- dropped without close: __gc frees it
        local q = cx:customers { page_size = 2 }
        cx = nil -- luacheck: ignore 311
        collectgarbage()
        assert.equal(7, #assert(q:all())) -- a live query keeps its client alive
      end
      if lua54 then collectgarbage("incremental") end
      collectgarbage()
    end)
  end)
end)
