-- The daily quota, over TLS against the sandbox's gateway (`daily_quota`): its answer (403
-- ERR_403_DEVELOPER_OVER_RATE) is never retried and says when the quota comes back; requests
-- after it are not sent; a sync stops starting pairs; a store shares the count between
-- processes; `cxcloud sync --plan` costs the next sync without a call.
local store = require "cxcloud.store"
local helper = require "spec.support.helper"
local cli_process = require "spec.support.cli_process"
local quote = require("cxcloud.shell").quote

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local n = 0
local function fresh()
  n = n + 1
  return string.format("%s/quota%d.sqlite", dir, n)
end

local function over_rate(sb, mark)
  return helper.count(helper.since(sb, mark), function(r)
    return helper.is_api(r) and r.status == 403 end)
end

describe("the daily quota", function()
  local sb

  setup(function()
    sb = helper.sandbox { seed = 31, customers = 3, hardware = { 120, 60, 40 } }
  end)
  teardown(function()
    sb:stop()
    os.execute("rm -rf " .. dir)
  end)
  after_each(function() sb:set { daily_quota = 0 } end)

  it("spent: a throttled error, never retried, that says when the next UTC day starts", function()
    sb:set { daily_quota = 2 }
    local cx = helper.client(sb, { page_size = 10, max_retries = 5, rate_limit = 0 })
    finally(function() cx:close() end)
    assert.is_table(cx:get("/customer-info/customer-details"))
    assert.is_table(cx:get("/customer-info/customer-details"))
    local mark = helper.mark(sb)
    local body, err = cx:get("/inventory/hardware", { customerId = sb.customers[1] })
    assert.is_nil(body)
    helper.show(err)
    assert.equal("throttled", err.kind)
    assert.equal(403, err.status)
    assert.is_true(err.quota_spent)
    assert.equal(1, err.attempts)
    assert.equal(1, #helper.since(sb, mark))
    assert.equal(3, cx:quota().calls)
    local now = os.time()
    local next_day = (math.floor(now / 86400) + 1) * 86400
    assert.is_true(math.abs(next_day - now - err.retry_after) <= 2, tostring(err.retry_after))
    local day = os.date("!%Y-%m-%d", next_day):gsub("%-", "%%-")
    assert.matches("the daily quota is spent %(3 calls counted today by this client%); the next UTC day"
      .. " starts at " .. day .. "T00:00:00Z, in %d+ s", err.message)
  end)

  it("spent: a pull fails at once and the calls after it are not sent", function()
    sb:set { daily_quota = 1 }
    local cx = helper.client(sb, { page_size = 10, concurrency = 1, rate_limit = 0 })
    finally(function() cx:close() end)
    local mark = helper.mark(sb)
    local err = helper.raised(function()
      for _ in cx:hardware { customerId = sb.customers[1] } do end
    end)
    assert.is_true(err.quota_spent)
    assert.equal(2, helper.count(helper.since(sb, mark), helper.is_api)) -- page 1, then the 403
    mark = helper.mark(sb)
    local results, errs = cx:map({ 1, 2, 3, 4, 5, 6, 7, 8 }, function(i)
      local body, e = cx:get("/inventory/hardware", { customerId = sb.customers[1], page = i })
      if not body then error(e, 0) end
      return body
    end)
    assert.is_nil(next(results))
    assert.equal(8, #errs)
    for _, e in ipairs(errs) do
      assert.is_true(e.quota_spent)
      assert.matches("^not sent: Forbidden %(ERR_403_DEVELOPER_OVER_RATE%)", e.message)
    end
    assert.equal(0, #helper.since(sb, mark))
  end)

  it("spent during a sync: no pair starts after it, each is skipped as such, the run is partial", function()
    local path = fresh()
    local db = assert(store.open(path))
    finally(function() db:close() end)
    local cx = helper.client(sb, { page_size = 10, concurrency = 2, rate_limit = 0 })
    finally(function() cx:close() end)
    local full = assert(db:sync(cx))
    assert.equal("complete", full.status)
    local quota = math.floor(full.calls / 3)
    sb:set { daily_quota = quota }
    local path2 = fresh()
    local db2 = assert(store.open(path2))
    finally(function() db2:close() end)
    local cx2 = helper.client(sb, { page_size = 10, concurrency = 2, rate_limit = 0 })
    finally(function() cx2:close() end)
    local mark = helper.mark(sb)
    local run = assert(db2:sync(cx2))
    assert.equal("partial", run.status)
    assert.is_true(run.complete > 0)
    local spent = 0
    for _, s in ipairs(run.skipped) do
      assert.matches("daily quota is spent", s.error)
      if s.error:find("^the daily quota is spent: ") then spent = spent + 1 end
    end
    assert.is_true(spent > 0)
    -- the 403s: at most one per request in flight when the first came
    assert.is_true(over_rate(sb, mark) <= 2, tostring(over_rate(sb, mark)))
    assert.equal(quota + over_rate(sb, mark), #helper.since(sb, mark) - helper.count(helper.since(sb, mark),
      helper.is_token))
  end)

  it("with a store, counts the calls of every process that syncs into it", function()
    local path = fresh()
    local out = dir .. "/cli.out"
    local status = cli_process.spawn(sb, "sync --db " .. quote(path) .. " --operation hardware", out)
    assert.equal(0, cli_process.wait_for(status, 120), helper.read_file(out))
    local db = assert(store.open(path))
    finally(function() db:close() end)
    local first = db:runs(1)[1].calls
    assert.is_true(first > 0)
    local cx = helper.client(sb, { page_size = 10, rate_limit = 0 })
    finally(function() cx:close() end)
    local run = assert(db:sync(cx, { operations = { "customers" } }))
    assert.equal(first + run.calls, cx:quota().calls)
    assert.equal(5000 - first - run.calls, cx:quota().left)
    -- a second sync in this process counts its calls once
    local again = assert(db:sync(cx, { operations = { "customers" } }))
    assert.equal(first + run.calls + again.calls, cx:quota().calls)
    status = cli_process.spawn(sb, "quota --db " .. quote(path) .. " --format csv", out)
    assert.equal(0, cli_process.wait_for(status, 60))
    assert.matches("\r\ntoday,%d%d%d%d%-%d%d%-%d%d,[^,]+," .. (first + run.calls + again.calls) .. ",5000,",
      helper.read_file(out))
  end)

  it("sync --plan: the next sync's calls from the store, without a call", function()
    local path = fresh()
    local out = dir .. "/plan.out"
    local function cli(args)
      local status = cli_process.spawn(sb, args, out)
      return cli_process.wait_for(status, 120), helper.read_file(out)
    end
    local e, text = cli("sync --db " .. quote(path) .. " --operation hardware")
    assert.equal(0, e, text)
    local db = assert(store.open(path))
    local today = db:quota(1)[1].calls
    local pages = {}
    for _, cid in ipairs(sb.customers) do
      pages[#pages + 1] = tonumber(db.conn:value("SELECT CAST(pages AS TEXT) FROM _pairs"
        .. ' WHERE operation = ? AND "customerId" = ?', "hardware", cid))
    end
    db:close()
    local mark = helper.mark(sb)
    e, text = cli("sync --plan --db " .. quote(path) .. " --operation hardware")
    assert.equal(0, e, text)
    assert.equal(0, helper.count(helper.since(sb, mark), helper.is_api))
    local left = tostring(5000 - today):gsub("^(%d)(%d%d%d)$", "%1,%2")
    assert.equal(string.format("plan: 3 pairs, %d calls; today %d calls of 5,000, %s left: it fits\n",
      pages[1] + pages[2] + pages[3], today, left), text)
    e, text = cli("sync --plan --db " .. quote(path) .. " --operation hardware --operation coverage -c "
      .. sb.customers[1])
    assert.equal(0, e, text)
    assert.matches("^plan: 2 pairs, " .. pages[1] .. " calls? for the 1 pair synced before; 1 pair never"
      .. " synced %(its cost unknown%); today %d+ calls of 5,000, [%d,]+ left\n$", text)
    assert.equal(0, helper.count(helper.since(sb, mark), helper.is_api))
    e, text = cli("sync --plan --db " .. quote(dir .. "/none.sqlite"))
    assert.equal(1, e, text)
    assert.matches("no store at", text)
  end)
end)
