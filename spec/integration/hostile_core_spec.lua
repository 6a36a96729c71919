-- A hostile or broken server against the C core: response headers that reflect the
-- credentials back, timeouts below a millisecond against a silent server, identifier fields
-- whose key is written with an escape, and pages that decode to far more memory than they
-- take on the wire.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local compat = require "cxcloud.compat"
local operations = require "cxcloud.operations"
local helper = require "spec.support.helper"
local options = require "cxcloud.options"
local rawcore = require "spec.support.rawcore"

local CUSTOMERS = "/customer-info/customer-details"

local function pack(...) return { n = select("#", ...), ... } end

-- Every string reachable from v (fields of nested tables too), for the leak checks.
local function strings_of(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "string" then
    out[#out + 1] = v
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, field in pairs(v) do
      strings_of(k, out, seen)
      strings_of(field, out, seen)
    end
  end
  return out
end

-- Asserts that none of `secrets` appears in the error (any string field, tostring) nor in
-- the trace; records what was shown for the suite's leak check.
local function assert_hidden(err, trace, secrets, what)
  local shown = strings_of(err)
  shown[#shown + 1] = helper.show(err)
  shown[#shown + 1] = trace
  helper.show(trace)
  for _, s in ipairs(shown) do
    for name, secret in pairs(secrets) do
      assert.is_nil(s:find(secret, 1, true), what .. ": the " .. name .. " shows in: " .. s)
    end
  end
end

describe("a hostile server against the C core", function()
  local sb

  setup(function()
    sb = helper.sandbox { seed = 11, customers = 2, hardware = 30 }
  end)

  teardown(function() sb:stop() end)

  before_each(function() sb:faults {} end)

  describe("response headers that reflect the credentials", function()
    -- a gateway that echoes the request: the form body (client_secret=..., url-encoded),
    -- the raw secret, the Authorization header
    local function reflecting(token)
      local secret, encoded = sb.client_secret, core.urlencode(sb.client_secret)
      local echo = "client_secret=" .. encoded .. " raw=" .. secret
        .. (token and (" Authorization: Bearer " .. token) or "")
      return {
        { ["X-Mashery-Message-ID"] = "mid-" .. echo, ["X-Mashery-Error-Code"] = "ERR_" .. echo,
          ["Content-Type"] = "text/plain; echo=" .. echo },
        -- an empty X-Mashery-Message-ID replaces the sandbox's own: the request id comes from
        -- the next header the client reads
        { ["X-Mashery-Message-ID"] = "", ["X-Request-ID"] = "rid-" .. echo,
          ["Content-Type"] = "application/json; " .. echo },
        { ["X-Mashery-Message-ID"] = "", ["X-Correlation-ID"] = "cid-" .. echo,
          ["X-Mashery-Error-Code"] = echo, ["Content-Type"] = echo },
      }
    end

    local function secrets(token)
      local s = { secret = sb.client_secret, ["url-encoded secret"] = core.urlencode(sb.client_secret) }
      s.token = token
      return s
    end

    it("the secret's url-encoded form differs from the secret (the test means something)", function()
      assert.not_equal(sb.client_secret, core.urlencode(sb.client_secret))
    end)

    local HEADER_SETS = { "X-Mashery-Message-ID", "X-Request-ID", "X-Correlation-ID" }

    for _, case in ipairs {
      { status = 500, body = '{"status":500,"message":"upstream failed"}' },
      { status = 200, body = "<html>gateway page</html>" },
      { status = 404, body = "not here" },
    } do
      for i, set in ipairs(HEADER_SETS) do
        it(("on an API request (status %d, %s) reach no error field nor the trace")
          :format(case.status, set), function()
          local trace = {}
          local cx = helper.client(sb, { max_retries = 0,
            verbose = function(text) trace[#trace + 1] = text end })
          finally(function() cx:close() end)
          local token = assert(cx:token())
          sb:faults { { op = "customers", status = case.status, body = case.body,
            headers = reflecting(token)[i] } }
          local body, err = cx:get(CUSTOMERS)
          assert.is_nil(body)
          assert.is_table(err)
          if case.status ~= 200 then -- the header reached Lua, redacted
            assert.is_string(err.request_id)
            assert.truthy(err.request_id:find("[REDACTED]", 1, true), err.request_id)
          end
          assert_hidden(err, table.concat(trace), secrets(token), set)
        end)
      end
    end

    for _, case in ipairs {
      { status = 500, body = '{"error":"server_error"}' },
      { status = 200, body = "<html>identity provider page</html>" },
      { status = 401, body = '{"error":"invalid_client"}' },
    } do
      for i, set in ipairs(HEADER_SETS) do
        it(("on the token request (status %d, %s) reach no error field nor the trace")
          :format(case.status, set), function()
          local trace = {}
          local cx = helper.client(sb, { max_retries = 0,
            verbose = function(text) trace[#trace + 1] = text end })
          finally(function() cx:close() end)
          local token = assert(cx:token())
          -- the token expires: the next API request gets a 401 and asks for a new one, which
          -- the gateway answers with the reflection
          sb:expire_tokens()
          sb:faults { { token = true, status = case.status, body = case.body,
            headers = reflecting(token)[i] } }
          local body, err = cx:get(CUSTOMERS)
          assert.is_nil(body)
          assert.is_table(err)
          assert.equal("POST", err.method) -- the token request's error
          assert_hidden(err, table.concat(trace), secrets(token), set)
        end)
      end
    end
  end)
  describe("timeouts below a millisecond", function()
    for _, case in ipairs {
      { name = "timeout", max = 86400 },
      { name = "connect_timeout", max = 3600 },
    } do
      it(case.name .. " = 0.0004 is refused, saying what is accepted", function()
        local err = helper.raised(cxcloud.new, sb:client_options { [case.name] = 0.0004 })
        assert.equal("config", err.kind)
        local msg = helper.show(err)
        local want = ("%s' must be a number of seconds from 0.001 to %d"):format(case.name, case.max)
        assert.truthy(msg:find(want, 1, true), msg)
        -- the bounds themselves are accepted
        for _, v in ipairs { 0.001, case.max } do
          local cx = helper.client(sb, { [case.name] = v })
          cx:close()
        end
        err = helper.raised(cxcloud.new, sb:client_options { [case.name] = case.max + 1 })
        assert.truthy(helper.show(err):find(want, 1, true), tostring(err))
      end)
    end

    it("the C core takes every field from cxcloud.options: none defaulted, no range of its own",
      function()
        local full = rawcore.options(sb:client_options())
        core.new(full):close()
        -- a value past the options' bound is theirs to refuse, not the core's
        rawcore.new(sb:client_options(), { connect_timeout_ms = 3601 * 1000 }):close()
        for _, name in ipairs { "client_id", "client_secret", "token_url", "user_agent",
            "timeout_ms", "connect_timeout_ms", "max_body_size", "max_header_size", "http2",
            "allow_http", "verbose" } do
          local t = rawcore.options(sb:client_options())
          t[name] = nil
          local ok, err = pcall(core.new, t)
          assert.is_false(ok, name)
          assert.truthy(tostring(err):find("option '" .. name .. "'", 1, true), tostring(err))
        end
      end)

    -- a silent server: the stall outlasts the test by far if the timeout never fires
    for _, t in ipairs { 0.001, 0.0015 } do
      it(("timeout = %g against a silent server is a timeout error at once"):format(t), function()
        local cx = helper.client(sb, { timeout = t, max_retries = 0 })
        finally(function() cx:close() end)
        -- the client's first request is the token request: it stalls
        sb:faults { { token = true, action = "stall", before = 5 } }
        local t0 = core.now()
        local body, err = cx:get(CUSTOMERS)
        local elapsed = core.now() - t0
        assert.is_nil(body)
        assert.equal("timeout", err.kind)
        helper.show(err)
        assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
      end)
    end

    it("timeouts reach the C core as whole milliseconds, rounded up, never to none", function()
      local cfg, secret = options.validate(sb:client_options(), function() end)
      local function ms(t)
        cfg.timeout = t
        return options.core(cfg, secret, nil, "ua").timeout_ms
      end
      assert.equal(1, ms(0.0004))
      assert.equal(1, ms(0.001))
      assert.equal(2, ms(0.0015))
      assert.equal(60000, ms(60))
      assert.equal(86400000, ms(86400))
      assert.equal("integer", compat.mtype(ms(0.0015)))
      -- 1 ms given to the core is a timeout at once against a silent server
      local c = rawcore.new(sb:client_options(), { timeout_ms = 1 })
      finally(function() c:close() end)
      sb:faults { { token = true, action = "stall", before = 5 } }
      local t0 = core.now()
      c:submit { token = true }
      local results = {}
      while #results == 0 and core.now() - t0 < 10 do results = c:poll(0.1) end
      local elapsed = core.now() - t0
      assert.equal(1, #results)
      assert.is_table(results[1].error, "no error: status " .. tostring(results[1].status))
      assert.equal(28, results[1].error.code) -- CURLE_OPERATION_TIMEDOUT
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
    end)
  end)

  -- "customer\u0049d" is "customerId" once decoded: an identifier field like any other
  describe("identifier fields whose key is written with an escape", function()
    local decode = core.decoder(operations.identifiers)
    local CASES = {
      { "12345678901234567", "a big integer (beyond 2^53)", "123456789012345678901234567" },
      { "42", "a small integer" },
      { "-7", "a negative integer" },
      { "0", "zero" },
      { "-0", "minus zero" },
      { "123456789012345", "15 digits" },
      { "1.5", "a fraction" },
      { "2.50", "a fraction with a trailing zero" },
      { "1e5", "an exponent" },
      { "-1.25E-3", "a fraction with an exponent" },
      { "9007199254740993.0", "a fraction beyond 2^53" },
    }

    local KEYS = { "customer\\u0049d", "\\u0063ustomerId", "customerI\\u0064",
      "\\u0063\\u0075stomerId" }

    local function check(text, key)
      local json = ('{"%s": %s}'):format(key, text)
      local v = assert(decode(json))
      assert.equal(text, v.customerId, json)
      -- in the rows of a page, among other fields, at any position
      v = assert(decode(('{"data":[{"a":1,"%s":%s,"b":2.0},{"%s":%s}],"pagination":{"page":1}}')
        :format(key, text, key, text)))
      assert.equal(text, v.data[1].customerId)
      assert.equal(text, v.data[2].customerId)
      assert.equal("integer", compat.mtype(v.data[1].b))
      assert.equal("integer", compat.mtype(v.pagination.page))
    end

    for _, case in ipairs(CASES) do
      it("come out as the string of their exact text: " .. case[2], function()
        for _, key in ipairs(KEYS) do
          check(case[1], key)
          if case[3] then check(case[3], key) end
        end
      end)
    end

    it("a key with an escape that is no identifier keeps its number", function()
      local v = assert(decode('{"x\\u0041":5,"big\\u0041":12345678901234567,"f\\u0041":1.5,'
        .. '"customer\\u0049dx":6,"customerId":7}'))
      assert.equal(5, v.xA)
      assert.equal("integer", compat.mtype(v.xA))
      assert.equal(1.5, v.fA)
      assert.equal("integer", compat.mtype(v.customerIdx))
      assert.equal("7", v.customerId)
      if compat.int64 then -- 5.3+: 64-bit integers
        assert.equal(12345678901234567, v.bigA)
      else
        assert.equal("12345678901234567", v.bigA)
      end
    end)

    it("over the wire: a page whose rows write customerId with an escape", function()
      local cx = helper.client(sb, { max_retries = 0 })
      finally(function() cx:close() end)
      local rows = {}
      for i, text in ipairs { "12345678901234567", "42", "1.5", "1e5" } do
        rows[i] = ('{"customer\\u0049d":%s,"customerName":"c%d"}'):format(text, i)
      end
      local body = '{"data":[' .. table.concat(rows, ",")
        .. '],"pagination":{"page":1,"pages":1,"rows":4,"total":4}}'
      sb:faults { { op = "customers", page = 1, status = 200, body = body,
        headers = { ["Content-Type"] = "application/json" } } }
      local page = assert(cx:get(CUSTOMERS, { page = 1, rows = 10 }))
      local got = {}
      for i, row in ipairs(page.data) do got[i] = row.customerId end
      assert.same({ "12345678901234567", "42", "1.5", "1e5" }, got)
    end)
  end)
  -- max_body_size bounds the bytes on the wire; what they decode to is bounded by an estimate
  -- of the decoded value's Lua memory, computed by the pre-scan before cjson runs
  describe("pages that decode to far more than their size", function()
    local decode = core.decoder(operations.identifiers)
    local MiB = 1024 * 1024

    -- a page of tiny arrays: 3 bytes on the wire ("[],") for a table and an array slot
    local function tiny_arrays(bytes)
      local n = math.floor(bytes / 3)
      return '{"data":[{"a":[' .. string.rep("[],", n - 1) .. '[]]}],'
        .. '"pagination":{"page":1,"pages":1,"rows":1,"total":1}}'
    end

    -- ordinary rows: objects of 20 string fields
    local function rows(n)
      local out = {}
      for i = 1, n do
        local f = {}
        for k = 1, 20 do
          f[k] = ('"field%02d":"value %d of row %d, text"'):format(k, k, i)
        end
        out[i] = "{" .. table.concat(f, ",") .. "}"
      end
      return '{"data":[' .. table.concat(out, ",") .. '],'
        .. '"pagination":{"page":1,"pages":1,"rows":' .. n .. ',"total":' .. n .. '}}'
    end

    -- long strings
    local function long_strings(n, len)
      local out = {}
      for i = 1, n do out[i] = '"' .. string.rep(string.char(97 + i % 26), len) .. '"' end
      return '{"data":[' .. table.concat(out, ",") .. ']}'
    end

    it("a decoded value comes with the estimate of its size in bytes", function()
      local results = pack(decode('{"data":[{"a":1}]}'))
      assert.equal(2, results.n)
      assert.equal(1, results[1].data[1].a)
      assert.equal("integer", compat.mtype(results[2]))
      assert.is_true(results[2] > 0)
      -- the module's plain decoder too
      results = pack(core.decode("[1,2,3]"))
      assert.equal(2, results.n)
      assert.same({ 1, 2, 3 }, results[1])
      assert.equal("integer", compat.mtype(results[2]))
      -- a JSON null: nil, and still the estimate (a number, never a message)
      results = pack(decode("null"))
      assert.is_nil(results[1])
      assert.equal("integer", compat.mtype(results[2]))
    end)

    it("the estimate grows with what the value holds", function()
      local function est(text) return select(2, assert(decode(text))) end
      assert.is_true(est("[]") < est("[[]]"))
      assert.is_true(est("[[]]") < est("[[],[]]"))
      assert.is_true(est('{"a":1}') < est('{"a":1,"b":2}'))
      assert.is_true(est('["x"]') < est('["' .. string.rep("x", 100) .. '"]'))
      assert.is_true(est('[1]') < est('[1,2]'))
      assert.is_true(est('[true]') < est('[true,false,null]'))
      assert.is_true(est('{"a":{}}') < est('{"a":{"b":{}}}'))
      -- per byte of JSON: tiny arrays cost far more than rows, rows more than long strings
      local t, r, l = tiny_arrays(30000), rows(60), long_strings(10, 3000)
      local pt, pr, pl = est(t) / #t, est(r) / #r, est(l) / #l
      assert.is_true(pt > 20, "tiny arrays: " .. pt .. " bytes per JSON byte")
      assert.is_true(pr > 1.5 and pr < pt, "rows: " .. pr)
      assert.is_true(pl >= 1 and pl < 1.2, "long strings: " .. pl)
    end)

    it("a value estimated over the limit is refused before cjson runs, naming the option",
      function()
        local text = tiny_arrays(helper.memcheck and 512 * 1024 or 7.9 * MiB)
        local estimate = select(2, assert(decode(text)))
        local limit = #text * 8
        collectgarbage()
        collectgarbage("stop")
        local before = collectgarbage("count")
        local results = pack(decode(text, 64, limit))
        local grew = (collectgarbage("count") - before) * 1024
        collectgarbage("restart")
        assert.equal(3, results.n)
        assert.is_nil(results[1])
        assert.equal("too_large", results[3])
        local msg = results[2]
        helper.show(msg)
        assert.truthy(msg:find("max_decoded_size", 1, true), msg)
        assert.truthy(msg:find(tostring(estimate), 1, true), msg)
        assert.truthy(msg:find(tostring(limit), 1, true), msg)
        assert.truthy(msg:find("estimate", 1, true), msg)
        -- nothing was decoded: what the call allocated is a small part of the text
        assert.is_true(grew < #text / 4, ("the refusal allocated %d bytes"):format(grew))
        -- at the limit it decodes; without a limit too
        assert.is_table((decode(text, 64, estimate)))
        assert.is_nil((decode(text, 64, estimate - 1)))
        assert.is_table((decode(text, 64, nil)))
        assert.equal("too_large", select(3, core.decode(text, 64, 1024)))
      end)

    it("nesting deeper than the depth is refused with the reason too_deep", function()
      local results = pack(decode("[[[1]]]", 2))
      assert.is_nil(results[1])
      assert.is_string(results[2])
      assert.equal("too_deep", results[3])
      assert.equal("too_deep", select(3, core.decode('{"a":{"b":{"c":{}}}}', 3)))
      assert.is_table((decode("[[[1]]]", 3)))
    end)

    it("other invalid JSON is a message without a reason", function()
      for _, text in ipairs { "[1,", "{\"a\" 1}", "01", "[1.]", "" } do
        local results = pack(decode(text, 64, 1024 * 1024))
        assert.is_nil(results[1], text)
        assert.is_string(results[2], text)
        assert.is_nil(results[3], text)
      end
    end)

    it("refuses a limit that is not a non-negative integer", function()
      assert.has_error(function() decode("[]", 64, -1) end)
      assert.has_error(function() decode("[]", 64, "big") end)
      assert.has_error(function() decode("[]", 64, 1.5) end)
    end)

    -- Lua 5.4's sizes (64-bit): the estimate is within a factor 2 of what decoding takes
    if compat.lua54 then
      for _, case in ipairs {
        { "tiny arrays", function() return tiny_arrays(helper.memcheck and 90000 or 900000) end },
        { "rows of 20 string fields", function() return rows(helper.memcheck and 100 or 1000) end },
        { "long strings", function() return long_strings(helper.memcheck and 20 or 200, 4000) end },
      } do
        it("the estimate is close to the memory decoding takes: " .. case[1], function()
          local text = case[2]()
          collectgarbage()
          collectgarbage()
          local before = collectgarbage("count")
          local v, estimate = decode(text)
          collectgarbage()
          collectgarbage()
          local grew = (collectgarbage("count") - before) * 1024
          assert.is_table(v)
          local ratio = estimate / grew
          assert.is_true(ratio > 0.5 and ratio < 2, ("%s: estimate %d, measured %d (ratio %.2f)")
            :format(case[1], estimate, grew, ratio))
        end)
      end
    end
  end)

  describe("the option max_decoded_size", function()
    local function validate(v)
      return options.validate({ client_id = "a", client_secret = "b", max_decoded_size = v },
        function() return nil end)
    end

    it("is 64 MiB by default, and accepts 1 MiB .. 16 GiB", function()
      assert.equal(64 * 1024 * 1024, validate(nil).max_decoded_size)
      assert.equal(1024 * 1024, validate(1024 * 1024).max_decoded_size)
      assert.equal(16 * 1024 * 1024 * 1024, validate(16 * 1024 * 1024 * 1024).max_decoded_size)
    end)

    it("refuses other values, saying what is accepted", function()
      for _, v in ipairs { 1024 * 1024 - 1, 16 * 1024 * 1024 * 1024 + 1, 2 * 1024 * 1024 + 0.5, "64M" } do
        local err = helper.raised(validate, v)
        assert.equal("config", err.kind)
        local msg = helper.show(err)
        assert.truthy(msg:find("max_decoded_size' must be an integer from 1048576 to 17179869184",
          1, true), msg)
      end
    end)
  end)
end)
