-- Spec of the sandbox's drift beyond added rows: rows removed and field values changed,
-- as the library's client sees them over HTTPS, against `truth`, mid-pull through faults,
-- and replayed by the option `mutations` after a restart.

package.path = "lua/?.lua;lua/?/init.lua;sandbox/lua/?.lua;sandbox/lua/?/init.lua;" .. package.path
if not package.path:find("/usr/share/lua/5.1/?.lua", 1, true) then
  package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
end

local cxcloud = require "cxcloud"
local sandbox = require "cxcloud.sandbox"
local ops = require "cxcloud.sandbox.ops"

local PAGE = 20

-- a row's natural key as one string
local function key(opname, row)
  local parts = {}
  for _, f in ipairs(ops.by_name[opname].key) do parts[#parts + 1] = tostring(row[f]) end
  return table.concat(parts, "|")
end

local function keys_of(opname, rows)
  local t = {}
  for i, r in ipairs(rows) do t[i] = key(opname, r) end
  return t
end

local function set_of(list)
  local t = {}
  for _, v in ipairs(list) do t[v] = true end
  return t
end

local function customer_arg(opname, customerId)
  return ops.by_name[opname].scope == "customer" and customerId or nil
end

-- every row through the client, page by page; checks that every page's pagination agrees
-- with the rows received (total, pages)
local function pull(cx, opname, customerId)
  local rows = {}
  local params = { customerId = customer_arg(opname, customerId) }
  local totals = {}
  for page, info in cx[opname](cx, params):pages() do
    for _, r in ipairs(page) do rows[#rows + 1] = r end
    totals[#totals + 1] = info
  end
  for _, info in ipairs(totals) do
    assert.equal(#rows, info.total)
    assert.equal((#rows + PAGE - 1) // PAGE, info.pages)
  end
  return rows
end

-- no client-side rate limit: the default 10 requests/s would spend most of this spec waiting
local function client(sb, extra)
  local opts = { page_size = PAGE, rate_limit = 0 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return cxcloud.new(sb:client_options(opts))
end

local OPTIONS = { seed = 11, customers = 2, hardware = { 160, 60 }, contracts = 9, bulletins = 30 }

local function options(extra)
  local t = {}
  for k, v in pairs(OPTIONS) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

-- the same data through a sandbox restarted with the first one's mutations
local function check_restart(sb, cx, list)
  local st = sb:state()
  assert.truthy(#st.mutations > 0)
  local sb2 = sandbox.start(options { mutations = st.mutations })
  local cx2 = client(sb2)
  finally(function() cx2:close() sb2:stop() end)
  assert.same(st.mutations, sb2:state().mutations)
  for _, opname in ipairs(list) do
    for _, c in ipairs(sb.customers) do
      local want = pull(cx, opname, c)
      assert.same(want, pull(cx2, opname, c), opname)
      assert.same(want, sb2:truth(opname, customer_arg(opname, c)), opname)
      if ops.by_name[opname].scope ~= "customer" then break end
    end
  end
end

describe("removed rows", function()
  local sb, cx, c1, c2

  setup(function()
    sb = sandbox.start(options())
    cx = client(sb)
    c1, c2 = sb.customers[1], sb.customers[2]
  end)

  teardown(function()
    cx:close()
    sb:stop()
  end)

  -- op, at, whether exactly `count` rows go (else whole devices: at least count)
  local CASES = {
    { "hardware", "end", true }, { "hardware", "start", true },
    { "network_elements", "end" }, { "coverage", "start" }, { "field_notices", "end" },
    { "security_advisories", "start" }, { "not_covered", "end" },
    { "contracts", "start", true }, { "contracts", "end", true },
    { "field_notice_bulletins", "end", true }, { "hardware_eol_bulletins", "start", true },
  }

  for _, case in ipairs(CASES) do
    local opname, at, exact = case[1], case[2], case[3]
    it(("take %s rows from the %s"):format(opname, at), function()
      local before = pull(cx, opname, c1)
      local other = pull(cx, "hardware", c2)
      assert.truthy(#before >= 4, opname .. " has too few rows for the spec")
      local removed, total = sb:remove_rows { op = opname, customerId = customer_arg(opname, c1),
        count = 3, at = at }
      local after = pull(cx, opname, c1)
      assert.same(sb:truth(opname, customer_arg(opname, c1)), after)
      assert.equal(#after, total)
      assert.equal(#before - removed, #after)
      if exact then assert.equal(3, removed) else assert.truthy(removed >= 3) end
      -- the rows left are the same rows, unchanged and in order
      local skip = at == "end" and 0 or removed
      for i, r in ipairs(after) do assert.same(before[skip + i], r) end
      assert.same(other, pull(cx, "hardware", c2))
    end)
  end

  it("keep the operations consistent with the hardware left", function()
    local hw = pull(cx, "hardware", c1)
    local cov, unc = pull(cx, "coverage", c1), pull(cx, "not_covered", c1)
    assert.equal(#hw, #cov + #unc)
    local hw_ids, ne_ids = {}, {}
    for _, r in ipairs(hw) do hw_ids[r.hwInstanceId], ne_ids[r.neInstanceId] = true, true end
    for _, r in ipairs(pull(cx, "network_elements", c1)) do assert.is_true(ne_ids[r.neInstanceId]) end
    for _, opname in ipairs { "field_notices", "hardware_eol", "security_advisories" } do
      for _, r in ipairs(pull(cx, opname, c1)) do assert.is_true(hw_ids[r.hwInstanceId], opname) end
    end
  end)

  it("never go below none", function()
    local n = #pull(cx, "contracts", c2)
    local removed, total = sb:remove_rows { op = "contracts", customerId = c2, count = n + 5 }
    assert.equal(n, removed)
    assert.equal(0, total)
    assert.same({}, pull(cx, "contracts", c2))
  end)

  it("can go mid-pull (fault remove_rows): the client sees the total move", function()
    local before = pull(cx, "hardware", c2)
    sb:faults { { op = "hardware", customerId = c2, page = 3, action = "remove_rows", count = 4 } }
    local rc = client(sb, { page_size = 10, concurrency = 1, drift = "record" })
    finally(function() rc:close() sb:faults {} end)
    local q = rc:hardware { customerId = c2 }
    for _ in q do end
    assert.equal(1, sb:fault_state()[1].fired)
    assert.equal(#before, q.drift[1].expected_total)
    assert.equal(#before - 4, q.drift[1].total)
    assert.equal(#before - 4, #sb:truth("hardware", c2))
  end)

  it("survive a restart through the option mutations", function()
    check_restart(sb, cx, { "hardware", "network_elements", "coverage", "not_covered", "field_notices",
      "security_advisories", "contracts", "field_notice_bulletins", "hardware_eol_bulletins" })
  end)
end)

describe("changed values", function()
  local sb, cx, c1, c2

  setup(function()
    sb = sandbox.start(options())
    cx = client(sb)
    c1, c2 = sb.customers[1], sb.customers[2]
  end)

  teardown(function()
    cx:close()
    sb:stop()
  end)

  local OPS = { "hardware", "network_elements", "software_eol", "coverage", "not_covered",
    "field_notices", "security_advisories", "hardware_eol", "contracts", "customers",
    "field_notice_bulletins", "security_advisory_bulletins", "hardware_eol_bulletins",
    "software_eol_bulletins" }

  for _, opname in ipairs(OPS) do
    it("of " .. opname .. ": only the announced fields, identities kept", function()
      local cust = customer_arg(opname, c1)
      local before = pull(cx, opname, c1)
      local other = pull(cx, "contracts", c2)
      local count = math.min(3, #before)
      assert.truthy(count >= 1, opname .. " has no rows")
      local keys, fields = sb:change_rows { op = opname, customerId = cust, count = count }
      local after = pull(cx, opname, c1)
      assert.same(sb:truth(opname, cust), after)
      assert.equal(count, #keys)
      assert.truthy(#fields >= 1)
      -- no identity among the fields that change
      local op = ops.by_name[opname]
      local key_fields = set_of(op.key)
      for _, f in ipairs(fields) do
        assert.is_nil(key_fields[f], f)
        assert.are_not.equal("id", op.kind[f])
        assert.is_nil(f:match("Id$"), f)
      end
      -- same rows, same order, same keys
      assert.same(keys_of(opname, before), keys_of(opname, after))
      local changed = {}
      for _, k in ipairs(keys) do
        local t = {}
        for kf, v in pairs(k) do t[kf] = v end
        changed[key(opname, t)] = true
      end
      local announced, seen = set_of(fields), 0
      for i, r in ipairs(after) do
        local b = before[i]
        if changed[key(opname, r)] then
          seen = seen + 1
          local diff = 0
          for f, v in pairs(r) do
            if b[f] ~= v then
              diff = diff + 1
              assert.is_true(announced[f], opname .. " changed " .. f)
            end
          end
          for f in pairs(b) do assert.is_not_nil(r[f], f) end
          assert.truthy(diff >= 1, opname .. " row " .. key(opname, r) .. " did not change")
        else
          assert.same(b, r)
        end
      end
      assert.equal(count, seen)
      assert.same(other, pull(cx, "contracts", c2))
    end)
  end

  it("follow a device across the operations derived from it", function()
    local keys = sb:change_rows { op = "hardware", customerId = c1, count = 2 }
    local hw = {}
    for _, r in ipairs(pull(cx, "hardware", c1)) do hw[r.hwInstanceId] = r end
    local ne = {}
    for _, r in ipairs(pull(cx, "network_elements", c1)) do ne[r.neInstanceId] = r end
    for _, k in ipairs(keys) do
      local chassis = hw[k.hwInstanceId]
      assert.equal("Chassis", chassis.hwType)
      assert.equal(chassis.swVersion, ne[chassis.neInstanceId].swVersion)
      assert.truthy(ne[chassis.neInstanceId].sysDescr:find(chassis.swVersion, 1, true))
    end
    -- a renamed device's alert rows answer to its new host name
    local renamed = sb:change_rows { op = "network_elements", customerId = c1, count = 20 }
    local found = false
    for _, k in ipairs(renamed) do
      local name = ne[k.neInstanceId] and sb:truth("network_elements", c1,
        { neInstanceId = k.neInstanceId })[1].hostname
      local fns = sb:truth("field_notices", c1, { hostname = name })
      for _, r in ipairs(fns) do
        found = true
        assert.equal(k.neInstanceId, r.neInstanceId)
      end
    end
    assert.is_true(found, "no renamed device with field notices")
  end)

  it("can happen mid-pull (fault change_rows): later pages serve the new values", function()
    local before = pull(cx, "network_elements", c1)
    sb:faults { { op = "network_elements", customerId = c1, page = 2, action = "change_rows",
      count = #before } }
    local rc = client(sb, { page_size = 10, concurrency = 1 })
    finally(function() rc:close() sb:faults {} end)
    local got = assert(rc:network_elements { customerId = c1 }:all())
    local after = sb:truth("network_elements", c1)
    assert.equal(1, sb:fault_state()[1].fired)
    assert.equal(#before, #got)
    for i, r in ipairs(got) do
      assert.same(i <= 10 and before[i] or after[i], r)
      assert.are_not.same(before[i].hostname, after[i].hostname)
    end
  end)

  it("survive a restart through the option mutations", function()
    check_restart(sb, cx, OPS)
  end)
end)

describe("the command line", function()
  local http_client = require "http.client"
  local http_headers = require "http.headers"
  local http_tls = require "http.tls"
  local cs = require "cqueues.socket"
  local json = require "cxcloud.sandbox.json"

  -- a standalone sandbox (`cxcloud sandbox --json`) and what it printed
  local function run(args)
    local p = io.popen("exec lua5.4 bin/cxcloud sandbox --json --customers 2 --hardware 30 --seed 4 "
      .. (args or "") .. " 2>&1")
    local info = json.decode_plain(p:read("l"))
    assert.is_number(info.port)
    return p, info
  end

  local function stop(p, info)
    os.execute("kill -TERM " .. math.tointeger(info.pid) .. " 2>/dev/null")
    p:read("a")
    p:close()
  end

  -- one request on the control port: status and decoded body
  local function control(info, method, path, body)
    local ctx = http_tls.new_client_context()
    local store = require("openssl.x509.store").new()
    store:add(require("openssl.x509").new(assert(io.open(info.ca_file)):read("a"), "PEM"))
    ctx:setStore(store)
    ctx:setVerify(require("openssl.ssl.context").VERIFY_PEER)
    local sock = assert(cs.connect { host = "127.0.0.1", port = info.control_port })
    local conn = assert(http_client.negotiate(sock, { tls = true, ctx = ctx, host = "localhost",
      version = 1.1 }, 10))
    local stream = assert(conn:new_stream())
    local h = http_headers.new()
    h:append(":method", method)
    h:append(":scheme", "https")
    h:append(":authority", "localhost")
    h:append(":path", path)
    h:append("x-sandbox-key", info.admin_key)
    local text = body and json.encode_plain(body)
    if text then h:append("content-length", tostring(#text)) end
    assert(stream:write_headers(h, text == nil, 10))
    if text then assert(stream:write_chunk(text, true, 10)) end
    local rh = assert(stream:get_headers(10))
    local answer = assert(stream:get_body_as_string(10))
    conn:close()
    return math.tointeger(tonumber(rh:get(":status"))), json.decode_plain(answer)
  end

  local function pull_all(info, opname)
    local cx = cxcloud.new { client_id = info.client_id, client_secret = info.client_secret,
      base_url = info.base_url, token_url = info.token_url, ca_file = info.ca_file, page_size = PAGE }
    local rows = assert(cx[opname](cx, { customerId = info.customers[1] }):all())
    cx:close()
    return rows
  end

  it("removes and changes rows over the control port and restarts with the same data", function()
    local p, info = run()
    finally(function() stop(p, info) end)
    local c = info.customers[1]
    local st, r = control(info, "POST", "/_sandbox/rows/remove",
      { op = "hardware", customerId = c, count = 4 })
    assert.equal(200, st)
    assert.same({ removed = 4, total = 26 }, r)
    st, r = control(info, "POST", "/_sandbox/rows/change",
      { op = "network_elements", customerId = c, count = 2 })
    assert.equal(200, st)
    assert.equal(2, r.changed)
    assert.equal(2, #r.keys)
    assert.same({ "hostname", "sysName" }, r.fields)
    st = control(info, "POST", "/_sandbox/rows/add",
      { op = "hardware", customerId = c, count = 1, at = "start" })
    assert.equal(200, st)
    st, r = control(info, "POST", "/_sandbox/rows/remove", { op = "hardware", customerId = c, count = -1 })
    assert.equal(400, st)
    assert.truthy(r.error:find("count", 1, true))
    local state
    st, state = control(info, "GET", "/_sandbox/state")
    assert.equal(200, st)
    assert.same({ "remove", "change", "add" }, { state.mutations[1].kind, state.mutations[2].kind,
      state.mutations[3].kind })
    assert.equal(1, #state.additions)
    local hw, ne = pull_all(info, "hardware"), pull_all(info, "network_elements")
    stop(p, info)
    -- restarted with the state saved in a file
    local file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(json.encode_plain(state))
    f:close()
    p, info = run("--mutations " .. file)
    os.remove(file)
    assert.same(hw, pull_all(info, "hardware"))
    assert.same(ne, pull_all(info, "network_elements"))
    local _, again = control(info, "GET", "/_sandbox/state")
    assert.same(state.mutations, again.mutations)
  end)
end)
