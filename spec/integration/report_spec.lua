-- `cxcloud report` over a small sandbox whose `today` is not the default one: the bulletin
-- catalogues are pulled once whatever the number of customers (counted in the sandbox's
-- request log), the totals name the customers, --fields picks the columns, each filter
-- keeps exactly the devices the sandbox's own data says, and the date "past last date of
-- support" compares with comes from the sandbox's environment (CXCLOUD_TODAY). The truth is
-- computed here from `sb:truth`, independently of `cxcloud.report`.
local helper = require "spec.support.helper"
local cjson = require "cjson"
local store = require "cxcloud.store"
local cli_process = require "spec.support.cli_process"
local shell_quote = require("cxcloud.shell").quote

local interpreter = arg and arg[-1] or "lua5.4"

-- the sandbox's reference date: not its default, so that agreeing with it is no accident
local TODAY = "2026-09-15"

local cli = cli_process.run

local function jsonl(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do rows[#rows + 1] = cjson.decode(line) end
  return rows
end

describe("cxcloud report #cli", function()
  local sb, dir, db_path

  -- per device of a customer: its earliest hw and sw last dates of support, covered, and
  -- how many critical advisories name it
  local function truth(id)
    local function by_id(op, field)
      local t = {}
      for _, b in ipairs(sb:truth(op)) do
        local k = tostring(b[field])
        if not t[k] or b.lastDateOfSupport < t[k] then t[k] = b.lastDateOfSupport end
      end
      return t
    end
    local hw_ldos = by_id("hardware_eol_bulletins", "hwEolInstanceId")
    local sw_ldos = by_id("software_eol_bulletins", "swEolInstanceId")
    local critical = {}
    for _, b in ipairs(sb:truth("security_advisory_bulletins")) do
      if b.securityImpactRating == "Critical" then critical[tostring(b.securityAdvisoryInstanceId)] = true end
    end
    local covered = {}
    for _, c in ipairs(sb:truth("coverage", id)) do covered[c.serialNumber] = true end
    local devices, list = {}, {}
    for _, ne in ipairs(sb:truth("network_elements", id)) do
      local d = { id = tostring(ne.neInstanceId), hw = 0, cov = 0, critical = 0 }
      devices[d.id] = d
      list[#list + 1] = d
    end
    for _, h in ipairs(sb:truth("hardware", id)) do
      local d = devices[tostring(h.neInstanceId)]
      d.hw = d.hw + 1
      if covered[h.serialNumber] then d.cov = d.cov + 1 end
    end
    local function earliest(d, field, date)
      if date and (not d[field] or date < d[field]) then d[field] = date end
    end
    for _, e in ipairs(sb:truth("hardware_eol", id)) do
      earliest(devices[tostring(e.neInstanceId)], "hwLdos", hw_ldos[tostring(e.hwEolInstanceId)])
    end
    for _, e in ipairs(sb:truth("software_eol", id)) do
      earliest(devices[tostring(e.neInstanceId)], "swLdos", sw_ldos[tostring(e.swEolInstanceId)])
    end
    for _, a in ipairs(sb:truth("security_advisories", id)) do
      local d = devices[tostring(a.neInstanceId)]
      if critical[tostring(a.securityAdvisoryInstanceId)] then d.critical = d.critical + 1 end
    end
    for _, d in ipairs(list) do
      d.covered = d.cov == 0 and "no" or d.cov == d.hw and "yes" or "partial"
      d.pastOn = function(date)
        return (d.hwLdos or "9999") < date or (d.swLdos or "9999") < date
      end
    end
    return list
  end

  -- the sorted neInstanceIds of the truth's devices for which pred holds
  local function ids_where(id, pred)
    local out = {}
    for _, d in ipairs(truth(id)) do
      if pred(d) then out[#out + 1] = d.id end
    end
    table.sort(out)
    return out
  end

  local function ids_of(rows)
    local out = {}
    for i, r in ipairs(rows) do out[i] = r.neInstanceId end
    table.sort(out)
    return out
  end

  setup(function()
    sb = helper.sandbox { seed = 7, customers = 3, hardware = { 60, 30, 20 }, today = TODAY }
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. shell_quote(dir))
    db_path = dir .. "/cx.sqlite"
    -- a store of the same data, for the options that do not depend on where records come from
    local cx = helper.client(sb, { rate_limit = 0 })
    local db = store.open(db_path)
    local run = assert(db:sync(cx, { customers = { sb.customers[1], sb.customers[2] } }))
    assert.equal("complete", run.status)
    db:close()
    cx:close()
  end)

  teardown(function()
    sb:stop()
    os.execute("rm -rf " .. shell_quote(dir))
  end)

  it("pulls the bulletin catalogues once for every customer, and names the customers in --totals", function()
    local mark = helper.mark(sb)
    local out, err, code = cli(sb, { "report", "--all-customers", "--totals", "--format", "json" })
    assert.equal(0, code, err)
    local per_op, calls = {}, 0
    for _, r in ipairs(helper.since(sb, mark)) do
      if helper.is_api(r) then
        calls = calls + 1
        per_op[r.op] = (per_op[r.op] or 0) + 1
      end
    end
    local n = #sb.customers
    for _, op in ipairs { "hardware_eol_bulletins", "software_eol_bulletins",
        "security_advisory_bulletins", "customers" } do
      assert.equal(1, per_op[op], op)
    end
    for _, op in ipairs { "network_elements", "hardware", "coverage", "hardware_eol",
        "software_eol", "security_advisories", "field_notices" } do
      assert.equal(n, per_op[op], op)
    end
    -- the documented cost: 7 per customer (one page each here), the catalogues once, the list
    assert.equal(7 * n + 3 + 1, calls)

    local names = {}
    for _, c in ipairs(sb:truth("customers")) do names[c.customerId] = c.customerName end
    local totals = cjson.decode(out)
    assert.equal(n + 1, #totals)
    local some_past = false
    for i, id in ipairs(sb.customers) do
      local t = totals[i]
      assert.equal(id, t.customerId)
      assert.is_string(names[id])
      assert.equal(names[id], t.customerName)
      local devices = truth(id)
      local past, nc = 0, 0
      for _, d in ipairs(devices) do
        -- no --today: the sandbox's TODAY, through CXCLOUD_TODAY
        if d.pastOn(TODAY) then past = past + 1 end
        if d.covered == "no" then nc = nc + 1 end
      end
      if past > 0 then some_past = true end
      assert.equal(#devices, t.devices)
      assert.equal(past, t.pastLastDateOfSupport, id)
      assert.equal(nc, t.notCovered)
    end
    assert.is_true(some_past, "the data should have devices past their last date of support")
    assert.equal("(all)", totals[n + 1].customerId)
  end)

  it("with several customers, reports those that succeed, lists the one that failed and how to"
    .. " retry it; exit 3", function()
      local c1, c2, c3 = sb.customers[1], sb.customers[2], sb.customers[3]
      sb:faults { { op = "network_elements", customerId = c2, status = 403, times = -1 } }
      local out, err, code = cli(sb, { "report", "-c", c1, "-c", c2, "-c", c3, "--totals",
        "--format", "jsonl" })
      sb:faults {}
      assert.equal(3, code, err)
      local ids = {}
      for _, r in ipairs(jsonl(out)) do ids[#ids + 1] = r.customerId end
      assert.same({ c1, c3, "(all)" }, ids)
      assert.truthy(err:find("report for customer " .. c2 .. " failed", 1, true), err)
      local retry = err:match("to retry just them: (cxcloud [^\n]+)")
      assert.truthy(retry, err)
      assert.is_nil(retry:find(c1, 1, true), retry)
      local words = {}
      for w in retry:gsub("^cxcloud ", ""):gmatch("%S+") do words[#words + 1] = w:gsub("^'(.*)'$", "%1") end
      local out2, err2, code2 = cli(sb, words)
      assert.equal(0, code2, err2)
      assert.equal(c2, jsonl(out2)[1].customerId)
      -- every customer failing is a failure
      sb:faults { { op = "network_elements", status = 403, times = -1 } }
      local _, err3, code3 = cli(sb, { "report", "-c", c1, "-c", c2, "--totals" })
      sb:faults {}
      assert.equal(1, code3, err3)
    end)

  it("--fields picks the columns and their order, records and totals alike", function()
    local c1 = sb.customers[1]
    local out, err, code = cli(sb, { "report", "--db", db_path, "-c", c1, "--format", "csv",
      "--fields", "hostname,pastLastDateOfSupport,neInstanceId,customerName" })
    assert.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\r\n]+") do lines[#lines + 1] = line end
    assert.equal("hostname,pastLastDateOfSupport,neInstanceId,customerName", lines[1])
    assert.equal(#truth(c1) + 1, #lines)
    local name = sb:truth("customers", nil, { customerId = c1 })[1].customerName
    local past = {}
    for _, d in ipairs(truth(c1)) do past[d.id] = d.pastOn(TODAY) and "yes" or "no" end
    for i = 2, #lines do
      local _, flag, ne, cname = lines[i]:match("^([^,]*),([^,]*),([^,]*),(.*)$")
      assert.equal(past[ne], flag, lines[i])
      assert.equal(name, cname)
    end
    out, err, code = cli(sb, { "report", "--db", db_path, "-a", "--totals", "--format", "jsonl",
      "--fields", "customerName,devices" })
    assert.equal(0, code, err)
    local rows = jsonl(out)
    assert.equal(3, #rows) -- the two customers synced, and (all)
    assert.same({ customerName = sb:truth("customers", nil, { customerId = c1 })[1].customerName,
      devices = #truth(c1) }, rows[1])
    local _
    _, err, code = cli(sb, { "report", "--db", db_path, "-c", c1, "--fields", "hostname,covred" })
    assert.equal(2, code)
    assert.truthy(err:find("unknown report column 'covred' (did you mean 'covered'?)", 1, true), err)
  end)

  it("--past-support, --not-covered and --critical keep exactly the devices they name", function()
    local c1 = sb.customers[1]
    local function run(...)
      local out, err, code = cli(sb, { "report", "--db", db_path, "-c", c1, "--format", "jsonl",
        "--fields", "neInstanceId", ... })
      assert.equal(0, code, err)
      return ids_of(jsonl(out))
    end
    local cases = {
      { { "--past-support" }, function(d) return d.pastOn(TODAY) end },
      { { "--past-support", "2028-10-01" }, function(d) return d.pastOn("2028-10-01") end },
      { { "--past-support=2027-01-01", "--today", "2030-01-01" },
        function(d) return d.pastOn("2027-01-01") end },
      { { "--not-covered" }, function(d) return d.covered == "no" end },
      { { "--critical" }, function(d) return d.critical > 0 end },
      { { "--critical", "--past-support" }, function(d) return d.critical > 0 and d.pastOn(TODAY) end },
    }
    local all = #truth(c1)
    for _, case in ipairs(cases) do
      local want = ids_where(c1, case[2])
      assert.is_true(#want > 0 and #want < all, table.concat(case[1], " ") .. ": the data should"
        .. " have devices on both sides")
      assert.same(want, run(table.unpack(case[1])), table.concat(case[1], " "))
    end
    -- the same filter on the service's answer, not the store's
    local out, err, code = cli(sb, { "report", "-c", c1, "--critical", "--format", "jsonl" })
    assert.equal(0, code, err)
    local rows = jsonl(out)
    assert.same(ids_where(c1, function(d) return d.critical > 0 end), ids_of(rows))
    for _, r in ipairs(rows) do assert.is_true(r.criticalAdvisories > 0) end
  end)

  it("gets its date from `cxcloud sandbox` too: the export lines carry CXCLOUD_TODAY", function()
    local out = dir .. "/sandbox.out"
    os.execute(("%s bin/cxcloud sandbox --today 2027-03-04 --customers 1 --hardware 5 > %s 2>&1 &")
      :format(shell_quote(interpreter), shell_quote(out)))
    local text = cli_process.wait_for(function()
      local t = helper.read_file(out)
      return t and t:find("Press Ctrl-C", 1, true) and t
    end, 30)
    local pid = text and text:match("%(pid (%d+)%)")
    if pid then os.execute("kill -TERM " .. pid) end
    assert.truthy(text, helper.read_file(out))
    assert.truthy(text:find("\nexport CXCLOUD_TODAY=2027-03-04\n", 1, true), text)
  end)

  it("refuses a bad date, whether given or from CXCLOUD_TODAY", function()
    local c1 = sb.customers[1]
    local _, err, code = cli(sb, { "report", "--db", db_path, "-c", c1, "--past-support", "2026-13-01" })
    assert.equal(2, code)
    assert.truthy(err:find("--past-support expects a date YYYY-MM-DD, got '2026-13-01'", 1, true), err)
    _, err, code = cli(sb, { "report", "--db", db_path, "-c", c1 }, { CXCLOUD_TODAY = "soon" })
    assert.equal(2, code)
    assert.truthy(err:find("CXCLOUD_TODAY expects a date YYYY-MM-DD, got 'soon'", 1, true), err)
    -- --today wins over the environment
    local out
    out, err, code = cli(sb, { "report", "--db", db_path, "-c", c1, "--today", "2026-01-01",
      "--totals", "--format", "jsonl" }, { CXCLOUD_TODAY = "soon" })
    assert.equal(0, code, err)
    local past = #ids_where(c1, function(d) return d.pastOn("2026-01-01") end)
    assert.equal(past, jsonl(out)[1].pastLastDateOfSupport)
  end)
end)
