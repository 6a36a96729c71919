-- A hostile or broken server against pulls and tokens: answers that would make a short pull
-- look complete, token answers that would start a storm or leak a token, JSON that is too
-- deep, pages that decode to far more than their wire size. Sandbox faults play the server.
local cjson = require "cjson"
local helper = require "spec.support.helper"

local shell_quote = require("cxcloud.shell").quote

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local interpreter = arg and arg[-1] or "lua5.4"

local encode = cjson.encode

-- rows from..to of `rows` as a JSON array text
local function rows_json(rows, from, to)
  local parts = {}
  for i = from, to do parts[#parts + 1] = encode(rows[i]) end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function page_body(rows, from, to, pagination)
  local s = '{"data":' .. rows_json(rows, from, to)
  if pagination then s = s .. ',"pagination":' .. encode(pagination) end
  return s .. "}"
end

local function api_requests(sb, mark, page)
  return helper.count(helper.since(sb, mark), function(r)
    return helper.is_api(r) and (page == nil or r.page == page)
  end)
end

local function token_requests(sb, mark)
  return helper.count(helper.since(sb, mark), helper.is_token)
end

describe("a hostile server", function()
  local sb, cust, rows, clock

  setup(function()
    sb = helper.sandbox { seed = 17, customers = 1, hardware = { 300 } }
    cust = sb.customers[1]
    rows = sb:truth("hardware", cust)
    assert.equal(300, #rows)
  end)

  teardown(function() sb:stop() end)

  before_each(function()
    sb:faults {}
    sb:set { token_lifetime = 3600, token_latency = 0 }
    clock = helper.fake_clock()
  end)

  -- a client whose backoff costs no time (a fake clock), or with `real`, the real clock
  local function client(extra, real)
    local opts = { page_size = 100, max_retries = 2, random = function() return 0.5 end }
    if not real then opts.clock, opts.sleep = clock.clock, clock.sleep end
    for k, v in pairs(extra or {}) do opts[k] = v end
    return helper.client(sb, opts)
  end

  local function pull(cx)
    return cx:hardware { customerId = cust }:all()
  end

  describe("never makes a short pull a success", function()
    local P = { page = 2, pages = 3, rows = 100, total = 300 }
    local cases = {
      { "page 2 without pagination", page_body(rows, 101, 200), "no 'pagination'" },
      { "page 2 as {}", "{}", "no 'pagination'" },
      { "page 2 as a bare array", rows_json(rows, 101, 200), "no 'pagination'" },
      { "a last page shorter than its total",
        page_body(rows, 201, 203, { page = 3, pages = 3, rows = 100, total = 300 }),
        "holds 3 rows where its 'pagination' (300 rows in 3 pages of 100) puts 100", 3 },
      { "pages = 0 with rows", page_body(rows, 1, 5, { page = 1, pages = 0, rows = 100, total = 5 }),
        "5 rows in pages of 100 make 1 pages, not 0", 1 },
      { "a total smaller than the rows sent",
        page_body(rows, 1, 100, { page = 1, pages = 1, rows = 100, total = 3 }),
        "holds 100 rows where its 'pagination' (3 rows in 1 pages of 100) puts 3", 1 },
      { "page 3 repeating page 2", page_body(rows, 101, 200, { page = 3, pages = 3, rows = 100,
        total = 300 }), "page 3 repeats page 2 (the same rows, by hwInstanceId)", 3 },
      { "page 3 answered as page 2", page_body(rows, 101, 200, P), "page 3 came back as page 2", 3 },
    }
    for _, case in ipairs(cases) do
      local name, body, says, page = case[1], case[2], case[3], case[4] or 2
      it(name .. ": a decode error after the retries, none when it heals", function()
        local cx = client()
        finally(function() cx:close() end)
        sb:faults { { op = "hardware", page = page, status = 200, body = body, times = -1 } }
        local mark = helper.mark(sb)
        local list, err = pull(cx)
        assert.is_nil(list)
        helper.show(err)
        assert.equal("decode", err.kind)
        assert.equal(page, err.page)
        assert.is_truthy(err.message:find(says, 1, true), err.message)
        assert.equal(3, api_requests(sb, mark, page)) -- asked again, max_retries = 2

        -- the same answer once: the retry heals it, every row exactly once
        sb:faults { { op = "hardware", page = page, status = 200, body = body } }
        list = assert(pull(cx))
        assert.equal(300, #list)
        for i = 1, 300 do assert.equal(rows[i].hwInstanceId, list[i].hwInstanceId) end
      end)
    end

    it("a first answer without pagination is still the whole result", function()
      local cx = client()
      finally(function() cx:close() end)
      sb:faults { { op = "hardware", page = 1, status = 200, body = page_body(rows, 1, 7) } }
      local list = assert(pull(cx))
      assert.equal(7, #list)
    end)
  end)

  describe("never starts a token storm", function()
    it("a refresh margin as long as the token's life: one token for a whole pull", function()
      local cx = client({ refresh_margin = 3600, page_size = 12, rate_limit = 0 }, true)
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      assert.equal(300, #assert(pull(cx)))
      assert.equal(25, api_requests(sb, mark))
      assert.equal(1, token_requests(sb, mark))
    end)

    it("short tokens with a longer margin: refreshed at half their life, not every turn",
      function()
        sb:set { token_lifetime = 2 }
        local cx = client({ refresh_margin = 10, page_size = 30, rate_limit = 5 }, true)
        finally(function() cx:close() end)
        local mark = helper.mark(sb)
        assert.equal(300, #assert(pull(cx))) -- 10 pages at 5/s: about 2 s
        assert.equal(10, api_requests(sb, mark))
        assert.is_true(token_requests(sb, mark) <= 4, "token requests: " .. token_requests(sb, mark))
      end)

    it("a token that expires before it can be used: an auth error after a few fetches",
      function()
        sb:set { token_lifetime = 0.05, token_latency = 0.1 }
        local cx = client({}, true)
        finally(function() cx:close() end)
        local mark = helper.mark(sb)
        local t0 = os.time()
        local list, err = pull(cx)
        assert.is_nil(list)
        helper.show(err)
        assert.equal("auth", err.kind)
        assert.is_true(token_requests(sb, mark) <= 3, "token requests: " .. token_requests(sb, mark))
        assert.is_true(api_requests(sb, mark) >= 1)
        assert.is_true(os.time() - t0 < 10)
      end)

    it("tokens that the API never accepts: fetching stops with an auth error", function()
      local body = encode { access_token = "not-a-token-the-api-knows", token_type = "Bearer",
                            expires_in = 3600 }
      sb:faults { { token = true, status = 200, body = body, times = -1 } }
      local cx = client()
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      local list, err = cx:hardware { customerId = cust }:all()
      assert.is_nil(list)
      assert.equal("auth", err.kind)
      -- each query's request is rejected with the token it had and with a new one, until
      -- three tokens in a row served nothing: then no fetch, an error that says why
      local said
      for _ = 1, 3 do
        local _, e = cx:hardware { customerId = cust }:first()
        helper.show(e)
        said = said or e.message:find("access tokens in a row were fetched", 1, true)
      end
      assert.is_truthy(said)
      assert.equal(3, token_requests(sb, mark))
    end)
  end)

  describe("checks what the identity provider sends", function()
    local function token_fault(body)
      sb:faults { { token = true, status = 200, body = body, times = -1 } }
    end

    it("a token with a BOM or trailing bytes is refused without showing it", function()
      local secret_token = "HostileToken0123456789abcdefXYZ"
      local json = encode { access_token = secret_token, token_type = "Bearer", expires_in = 60 }
      helper.record_secret(secret_token)
      for _, body in ipairs { "\239\187\191" .. json, json .. "garbage" } do
        token_fault(body)
        local cx = client { max_retries = 0 }
        local tok, err = cx:token()
        cx:close()
        assert.is_nil(tok)
        assert.equal("decode", err.kind)
        assert.is_nil(err.body)
        local shown = helper.show(err)
        assert.is_falsy(shown:find(secret_token, 1, true))
        for _, v in pairs(err) do
          if type(v) == "string" then assert.is_falsy(v:find(secret_token, 1, true)) end
        end
      end
    end)

    it("a token larger than a header can carry is an auth error at once", function()
      token_fault(encode { access_token = string.rep("A", 1024 * 1024), token_type = "Bearer",
                           expires_in = 3600 })
      local cx = client()
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      local list, err = pull(cx)
      assert.is_nil(list)
      helper.show(err)
      assert.equal("auth", err.kind)
      assert.is_truthy(err.message:find("more than an HTTP header can carry", 1, true))
      assert.equal(1, token_requests(sb, mark))
      assert.equal(0, api_requests(sb, mark))
    end)

    it("a token type other than Bearer is not used", function()
      token_fault(encode { access_token = "abcdef0123456789", token_type = "mac", expires_in = 60 })
      local cx = client()
      finally(function() cx:close() end)
      local mark = helper.mark(sb)
      local _, err = pull(cx)
      helper.show(err)
      assert.equal("auth", err.kind)
      assert.is_truthy(err.message:find("token_type 'mac'", 1, true))
      assert.equal(0, api_requests(sb, mark))
    end)

    it("a lifetime beyond a year is taken as a year (an integer expiry)", function()
      local cx0 = client()
      local real = assert(cx0:token()) -- a token the sandbox knows, served with a huge lifetime
      cx0:close()
      token_fault(encode { access_token = real, token_type = "bearer", expires_in = 1e19 })
      local cx = client({}, true)
      finally(function() cx:close() end)
      local tok, exp = cx:token()
      assert.equal(real, tok)
      assert.equal(math.floor(exp), exp)
      assert.is_true(exp <= os.time() + 366 * 86400 + 5)
      assert.is_string(os.date("!%Y-%m-%d", exp))
      assert.is_table(cx:get("/customer-info/customer-details"))
    end)
  end)

  it("JSON nested too deeply is refused once, not retried", function()
    local deep = '{"data":[{"a":' .. string.rep("[", 200) .. string.rep("]", 200)
      .. '}],"pagination":{"page":1,"pages":1,"rows":100,"total":1}}'
    sb:faults { { op = "hardware", page = 1, status = 200, body = deep, times = -1 } }
    local cx = client()
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    local list, err = pull(cx)
    assert.is_nil(list)
    helper.show(err)
    assert.equal("decode", err.kind)
    assert.is_false(err.retryable)
    assert.equal(1, api_requests(sb, mark))
  end)

  it("one query iterated from two coroutines: the first pass says another one ended it #yields",
    function()
      local cx = client({ page_size = 10 }, true)
      finally(function() cx:close() end)
      local q = cx:hardware { customerId = cust }
      local _, errs = cx:map({ 1, 2 }, function()
        local n = 0
        for _ in q do n = n + 1 end
        return n
      end)
      assert.is_table(errs)
      local err = errs[1]
      helper.show(err)
      assert.is_truthy(tostring(err):find("another `for item in q` pass", 1, true), tostring(err))
      assert.is_falsy(tostring(err):find("client was closed", 1, true))
    end)

  describe("bounds memory by what a page decodes to", function()
    -- under AddressSanitizer (make test-asan) freed memory sits in its quarantine: the pull's
    -- outcome is checked, its peak size is not
    local sanitized = os.getenv("ASAN_OPTIONS") ~= nil
    -- 8 pages of 1,000 rows, each row an array of 2,760 empty arrays: 7.9 MiB on the wire,
    -- some 220 MiB once decoded. The pull runs in a child process whose peak resident size
    -- (VmHWM) is compared with its size before the pull.
    local body
    setup(function()
      local row = '{"a":[' .. string.rep("[],", 2759) .. '[]]}'
      body = '{"data":[' .. string.rep(row .. ",", 999) .. row .. '],'
        .. '"pagination":{"pages":8,"rows":1000,"total":8000}}'
      assert(#body > 7.8 * 1024 * 1024 and #body < 8 * 1024 * 1024, #body)
    end)

    local function child_pull(options)
      local script = [[
        local cxcloud = require "cxcloud"
        local function kb(field)
          for line in io.lines("/proc/self/status") do
            local v = line:match("^" .. field .. ":%s*(%d+)")
            if v then return tonumber(v) end
          end
        end
        local cx = cxcloud.new { rate_limit = 0, page_size = 1000, ]] .. options .. [[ }
        local q = cx:hardware { customerId = arg[1] }
        assert(q:first()) -- connections and token made before the measure
        collectgarbage()
        local before = kb("VmRSS")
        local ok, err = pcall(function()
          local n = 0
          for _ in q do n = n + 1 end
          return n
        end)
        print(ok and "complete" or ("failed: " .. tostring(err)))
        print(math.floor((kb("VmHWM") - before) / 1024))
      ]]
      local f = os.tmpname()
      local h = assert(io.open(f, "w"))
      h:write(script)
      h:close()
      local env = {}
      for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
      local p = io.popen(("env %s %s %s %s 2>&1"):format(table.concat(env, " "),
        shell_quote(interpreter), shell_quote(f), shell_quote(cust)))
      local out = p:read("*a")
      p:close()
      os.remove(f)
      helper.show(out)
      local status, mib = out:match("([^\n]*)\n(%d+)\n$")
      assert(status, out)
      return status, tonumber(mib)
    end

    it("default options: a page that would decode past max_decoded_size is refused", function()
      sb:faults { { op = "hardware", status = 200, body = body, times = -1, nth = 2 } }
      local status, mib = child_pull("")
      assert.is_truthy(status:find("max_decoded_size", 1, true), status)
      if not sanitized then assert.is_true(mib < 128, mib .. " MiB") end
    end)

    it("a limit raised past such pages: the pull completes, one decoded page at a time",
      function()
        sb:faults { { op = "hardware", status = 200, body = body, times = -1, nth = 2 } }
        local status, mib = child_pull("max_decoded_size = 1024 * 1024 * 1024, concurrency = 8")
        assert.equal("complete", status)
        if not sanitized then assert.is_true(mib < 512, mib .. " MiB") end
      end)
  end)
end)
