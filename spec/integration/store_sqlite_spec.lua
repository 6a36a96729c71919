-- The store on SQLite, over TLS against the sandbox: syncs equal the service, changes are
-- exact, failed and drifting pairs keep their rows, a SIGKILL leaves every pair old or new,
-- two processes at once, and bad stores refused clearly.
local DBI = require "DBI"
local store = require "cxcloud.store"
local operations = require "cxcloud.operations"
local cases = require "spec.support.store_cases"
local helper = require "spec.support.helper"
local cli_process = require "spec.support.cli_process"
local quote = require("cxcloud.shell").quote

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local n = 0

local function sql_on(path)
  return function(q)
    local conn = assert(DBI.Connect("SQLite3", path))
    conn:autocommit(true)
    local st = assert(conn:prepare(q))
    assert(st:execute())
    local out = {}
    if q:find("^%s*SELECT") or q:find("^%s*PRAGMA") then
      for r in st:rows() do out[#out + 1] = r[1] end
    end
    st:close()
    conn:close()
    return out
  end
end

local function fresh()
  n = n + 1
  local path = string.format("%s/store%d.sqlite", dir, n)
  return path, sql_on(path)
end

cases.cases({ describe = describe, it = it, setup = setup, teardown = teardown, assert = assert,
  after_each = after_each },
  fresh, "SQLite")

local spawn, wait_for = cli_process.spawn, cli_process.wait_for

describe("a SQLite store #store", function()
  teardown(function() os.execute("rm -rf " .. dir) end)

  describe("used by processes", function()
    local sb
    setup(function()
      sb = helper.sandbox { seed = 23, customers = 3, hardware = { 320, 150, 90 } }
    end)
    teardown(function() sb:stop() end)

    local function snapshot()
      local t = {}
      for _, op in ipairs(operations) do
        for _, cid in ipairs(sb.customers) do
          local items = op.customer_id == "required" and sb:truth(op.name, cid) or sb:truth(op.name)
          t[op.name .. " " .. cid] = items
        end
      end
      return t
    end

    local function stored(db)
      local t = {}
      for _, op in ipairs(operations) do
        for _, cid in ipairs(sb.customers) do t[op.name .. " " .. cid] = db:items(op.name, cid) end
      end
      return t
    end

    local function sorted(items)
      local out = {}
      for i, it in ipairs(items) do out[i] = cases.canon(it) end
      table.sort(out)
      return table.concat(out, "\n")
    end

    local function mutate()
      for i, cid in ipairs(sb.customers) do
        sb:add_rows { op = "hardware", customerId = cid, count = 2 + i }
        sb:remove_rows { op = "network_elements", customerId = cid, count = 1, at = "start" }
        sb:change_rows { op = "coverage", customerId = cid, count = 3 }
      end
    end

    it("killed with SIGKILL mid-sync, leaves every pair old or new; the next sync completes it, no change"
      .. " twice", function()
      local path = fresh()
      local db = assert(store.open(path))
      local base = assert(db:sync(helper.client(sb, { rate_limit = 0 })))
      assert.equal("complete", base.status)
      local A = snapshot()
      mutate()
      local B = snapshot()
      sb:set { latency = 0.05 }
      local sql = sql_on(path)
      local status, pid = spawn(sb, "sync -q --db " .. quote(path), dir .. "/kill.out")
      -- some pairs applied, not all: then the kill
      local applied = wait_for(function()
        local done = tonumber(sql("SELECT CAST(count(*) AS TEXT) FROM _pairs WHERE run > " .. base.run)[1])
        return done >= 3 and done or nil
      end, 60)
      assert.is_number(applied)
      os.execute("kill -9 " .. pid)
      wait_for(status, 10)
      sb:set { latency = 0 }
      local total = tonumber(sql("SELECT CAST(count(*) AS TEXT) FROM _pairs")[1])
      assert.is_true(applied < total, "the kill came after the end")
      assert.same({ "ok" }, sql("PRAGMA integrity_check"))
      db:close()
      db = assert(store.open(path))
      local now = stored(db)
      local old, new = 0, 0
      for k, items in pairs(now) do
        local s = sorted(items)
        if s == sorted(B[k]) then new = new + 1
        elseif s == sorted(A[k]) then old = old + 1
        else error("pair " .. k .. " is neither old nor new") end
      end
      assert.is_true(new >= 1 and old >= 1, string.format("old %d, new %d", old, new))
      local after = assert(db:sync(helper.client(sb, { rate_limit = 0 })))
      assert.equal("complete", after.status)
      assert.same({ "interrupted" }, sql("SELECT status FROM _runs WHERE run = " .. (base.run + 1)))
      assert.same({ "0" }, sql("SELECT CAST(count(*) AS TEXT) FROM _staging"))
      for k, items in pairs(stored(db)) do assert.equal(sorted(B[k]), sorted(items), k) end
      -- each change recorded once, by the killed run or by the next one
      local seen, count = {}, 0
      for ch in db:changes { since = base.run } do
        local id = ch.operation .. " " .. ch.customerId .. " " .. ch.key
        assert.is_nil(seen[id], "recorded twice: " .. id)
        seen[id] = true
        count = count + 1
      end
      local want = 0
      for k, items in pairs(B) do
        local a, b = {}, {}
        local op = k:match("^(%S+)")
        local kf = operations[op].key
        local function key(it)
          local p = {}
          for i, f in ipairs(kf) do p[i] = tostring(it[f]) end
          return table.concat(p, "|")
        end
        for _, it in ipairs(A[k]) do a[key(it)] = cases.canon(it) end
        for _, it in ipairs(items) do b[key(it)] = cases.canon(it) end
        if operations[op].customer_id == "required" or k:find(sb.customers[1], 1, true) then
          for x, v in pairs(b) do if a[x] ~= v then want = want + 1 end end
          for x in pairs(a) do if b[x] == nil then want = want + 1 end end
        end
      end
      assert.equal(want, count)
      db:close()
    end)

    it("two processes syncing one file: each pair written once, no deadlock", function()
      local path = fresh()
      local db = assert(store.open(path))
      assert.equal("complete", assert(db:sync(helper.client(sb, { rate_limit = 0 }))).status)
      local before = db:last_run()
      mutate()
      local B = snapshot()
      sb:set { latency = 0.02 }
      local s1 = spawn(sb, "sync -q --db " .. quote(path), dir .. "/one.out")
      local s2 = spawn(sb, "sync -q --db " .. quote(path), dir .. "/two.out")
      local e1, e2 = wait_for(s1, 120), wait_for(s2, 120)
      sb:set { latency = 0 }
      assert.is_number(e1, "the first process did not end")
      assert.is_number(e2, "the second process did not end")
      -- a pair the other process held is skipped (exit 1) and said so
      for i, e in ipairs { e1, e2 } do
        local out = helper.read_file(dir .. (i == 1 and "/one.out" or "/two.out"))
        assert.is_true(e == 0 or (e == 1
          and out:find("being synced by process %d+ at the same time") ~= nil), out)
      end
      for k, items in pairs(stored(db)) do assert.equal(sorted(B[k]), sorted(items), k) end
      local seen = {}
      for ch in db:changes { since = before } do
        local id = ch.operation .. " " .. ch.customerId .. " " .. ch.key
        assert.is_nil(seen[id], "recorded twice: " .. id)
        seen[id] = true
      end
      assert.is_not_nil(next(seen))
      db:close()
    end)

    it("from the command line: sync, changes in every format, report --db and quota --db", function()
      local path = fresh()
      local function cli(args)
        local out = dir .. "/cli.out"
        local status = spawn(sb, args, out)
        local e = wait_for(status, 120)
        return e, helper.read_file(out)
      end
      local e, out = cli("sync --db " .. quote(path))
      assert.equal(0, e, out)
      assert.matches("^run 1 complete: %d+/%d+ pairs, %d+ calls, [%d,]+ rows, 0 added, 0 changed, 0 removed,"
        .. " [%d,]+ rows stored for the first time, %d+:%d%d\n$", out)
      mutate()
      sb:faults { { op = "hardware", customerId = sb.customers[2], status = 500, times = -1 } }
      e, out = cli("sync --db " .. quote(path))
      sb:faults {}
      assert.equal(1, e, out)
      assert.matches("run 2 partial", out)
      assert.matches("1 pair%(s%) skipped, their previous rows kept:\n  hardware of customer "
        .. sb.customers[2]:gsub("%p", "%%%0") .. ": .*500", out)
      e, out = cli("changes --db " .. quote(path) .. " --format csv")
      assert.equal(0, e, out)
      assert.matches("^run,at,operation,customerId,key,change,fields\r\n", out)
      assert.matches("\r\n2,[%d%-T:]+Z,network_elements," .. sb.customers[1] .. ",%d+,removed,\r\n", out)
      e, out = cli("changes --db " .. quote(path) .. " --format jsonl --operation coverage --values")
      assert.equal(0, e, out)
      local changed = 0
      for line in out:gmatch("[^\n]+") do
        local r = require("cjson").decode(line)
        assert.equal("coverage", r.operation)
        if r.change == "changed" then
          changed = changed + 1
          assert.is_table(r.old)
          assert.is_table(r.new)
          assert.is_not.equal(r.old[r.fields], r.new[r.fields])
        end
      end
      assert.is_true(changed >= 6, tostring(changed)) -- 3 per customer, less those that fell on added rows
      e, out = cli("changes --db " .. quote(path) .. " --summary --format json")
      assert.equal(0, e, out)
      local summary = require("cjson").decode(out)
      assert.equal(3, #summary)
      for _, r in ipairs(summary) do
        assert.equal(1, r.devicesRemoved)
        assert.is_true(r.devicesAdded >= 1)
        assert.is_string(r.customerName)
      end
      e, out = cli("changes --db " .. quote(path) .. " --since yesterday")
      assert.equal(2, e)
      assert.matches("%-%-since expects a run number or a date YYYY%-MM%-DD, got 'yesterday'", out)
      local mark = helper.mark(sb)
      e, out = cli("report --db " .. quote(path) .. " --customer " .. sb.customers[3] .. " --format jsonl")
      assert.equal(0, e, out)
      assert.equal(0, #helper.since(sb, mark))
      assert.matches('"neInstanceId":"%d+"', out)
      e, out = cli("quota --db " .. quote(path) .. " --format csv")
      assert.equal(0, e, out)
      assert.matches("\r\ntoday,%d%d%d%d%-%d%d%-%d%d," .. sb.client_id:gsub("%p", "%%%0")
        .. ",%d+,5000,%d+,,", out)
      e, out = cli("sync")
      assert.equal(2, e)
      assert.matches("%-%-db is required", out)
      local missing = dir .. "/missing.sqlite"
      e, out = cli("changes --db " .. quote(missing))
      assert.equal(1, e)
      assert.matches("no store at .*missing%.sqlite: `cxcloud sync %-%-db .*` makes one", out)
      assert.is_nil(io.open(missing))
      e, out = cli("sync --db " .. quote(path) .. " --operation hardwar")
      assert.equal(2, e)
      assert.matches("unknown operation 'hardwar' %(did you mean 'hardware'%?%)", out)
    end)
  end)

  it("refuses a path it cannot write, a file that is not a database and tables it did not make", function()
    local db, err = store.open("/nonexistent-dir/x.sqlite")
    assert.is_nil(db)
    assert.matches("cannot open store /nonexistent%-dir/x.sqlite: .*No such file or directory", err)
    db, err = store.open(dir)
    assert.is_nil(db)
    assert.matches("Is a directory", err)
    local text = dir .. "/notes.txt"
    local f = assert(io.open(text, "w"))
    f:write(string.rep("not a database\n", 200))
    f:close()
    db, err = store.open(text)
    assert.is_nil(db)
    assert.matches("not a database", err)
    local other = dir .. "/other.sqlite"
    sql_on(other)("CREATE TABLE hardware (id INTEGER, name TEXT)")
    db, err = store.open(other)
    assert.is_nil(db)
    assert.matches("table hardware was not made by cxcloud", err)
    assert.same({ "id", "name" }, sql_on(other)("SELECT name FROM pragma_table_info('hardware')"))
    assert.has_error(function() store.open(42) end, "cxcloud.store.open: expected a file path (SQLite) or a"
      .. " postgresql:// URI, got number")
    db, err = store.open("mysql://user:pw@host/db")
    assert.is_nil(db)
    assert.equal("unsupported store 'mysql://host/db': a file path (SQLite) or a postgresql:// URI"
      .. " is accepted", err)
  end)
end)
