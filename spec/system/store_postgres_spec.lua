-- The store on a real PostgreSQL (a throwaway cluster): the same checks as on SQLite, a
-- refused password, a server that goes away mid-sync (every pair keeps its old rows or
-- has its new ones) and two syncs at once into one database.
local store = require "cxcloud.store"
local operations = require "cxcloud.operations"
local pg = require "spec.support.postgres"
local cases = require "spec.support.store_cases"
local helper = require "spec.support.helper"
local cli_process = require "spec.support.cli_process"
local quote = require("cxcloud.shell").quote

local ok, why = pg.available()
if ok and not pcall(require, "dbd.postgresql") then
  ok, why = false, "luadbi's PostgreSQL driver is missing (Debian: lua-dbi-postgresql)"
end
if not ok and os.getenv("CXCLOUD_REQUIRE_POSTGRES") == "1" then
  error("the PostgreSQL specs cannot run: " .. why)
end
if not ok then
  describe("the store on PostgreSQL #store", function() pending(why) end)
  return
end

local server = pg.start()
local n = 0

local function lines(s)
  local out = {}
  for line in (s or ""):gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

local function fresh()
  n = n + 1
  local name = "store" .. n
  assert(server:psql("CREATE DATABASE " .. name))
  local uri = server.uri:gsub("/[^/]*$", "/" .. name)
  return uri, function(q) return lines(assert(server:psql(q, name))) end
end

cases.cases({ describe = describe, it = it, setup = setup, teardown = teardown, assert = assert,
  after_each = after_each }, fresh, "PostgreSQL #postgres")

describe("a PostgreSQL store #store #postgres", function()
  local sb
  setup(function() sb = helper.sandbox { seed = 29, customers = 2, hardware = { 240, 60 } } end)
  teardown(function()
    sb:stop()
    server:stop()
  end)

  it("refuses a wrong password, and says where to look", function()
    local db, err = store.open((server.uri:gsub(":[^:@/]*@", ":wrong@")))
    assert.is_nil(db)
    assert.matches("cannot open store postgresql://cxcloud@127%.0%.0%.1:%d+/cxcloud_test: .*server's log",
      err)
    assert.is_nil(err:find("wrong", 1, true))
    assert.is_nil(err:find(server.password, 1, true))
  end)

  it("keeps every pair old or new when the server goes away mid-sync", function()
    local uri = fresh()
    local db = assert(store.open(uri))
    local cx = helper.client(sb, { rate_limit = 0 })
    assert.equal("complete", assert(db:sync(cx)).status)
    local before = {}
    for _, op in ipairs(operations) do before[op.name] = #db:items(op.name) end
    sb:add_rows { op = "hardware", customerId = sb.customers[1], count = 5 }
    sb:set { latency = 0.03 }
    local pages = 0
    local run, err = db:sync(cx, { progress = function()
      pages = pages + 1
      if pages == 6 then server:terminate_backends() end
    end })
    sb:set { latency = 0 }
    db:close()
    -- the connection is gone: the sync fails, or reports every pair after the cut skipped
    if run then
      assert.is_not.equal("complete", run.status)
    else
      assert.is_truthy(err:find("server closed the connection", 1, true)
        or err:find("no connection to the server", 1, true), err)
    end
    db = assert(store.open(uri))
    for _, op in ipairs(operations) do
      local now = #db:items(op.name)
      if op.name == "hardware" then
        assert.is_true(now == before.hardware or now == before.hardware + 5, tostring(now))
      else
        assert.is_true(now >= before[op.name])
      end
    end
    assert.equal("complete", assert(db:sync(cx)).status)
    assert.equal(before.hardware + 5, #db:items("hardware"))
    db:close()
    cx:close()
  end)

  it("a sync killed with SIGKILL leaves every pair old or new; the next completes it, no change twice",
    function()
    local uri, sql = fresh()
    local db = assert(store.open(uri))
    local cx = helper.client(sb, { rate_limit = 0 })
    local base = assert(db:sync(cx))
    local function counts()
      local t = {}
      for _, op in ipairs(operations) do
        for _, cid in ipairs(sb.customers) do t[op.name .. " " .. cid] = #db:items(op.name, cid) end
      end
      return t
    end
    local A = counts()
    sb:add_rows { op = "hardware", customerId = sb.customers[1], count = 4 }
    sb:add_rows { op = "hardware", customerId = sb.customers[2], count = 3 }
    sb:set { latency = 0.05 }
    local out = os.tmpname()
    local status, pid = cli_process.spawn(sb, "sync -q --db " .. quote(uri), out)
    local applied = cli_process.wait_for(function()
      local done = tonumber(sql("SELECT count(*) FROM _pairs WHERE run > " .. base.run)[1])
      return done >= 3 and done or nil
    end, 60)
    assert.is_number(applied)
    os.execute("kill -9 " .. pid)
    cli_process.wait_for(status, 10)
    sb:set { latency = 0 }
    os.remove(out)
    local now = counts()
    for k, rows in pairs(now) do
      local op, cid = k:match("^(%S+) (%S+)$")
      local items = operations[op].customer_id == "required" and sb:truth(op, cid) or sb:truth(op)
      assert.is_true(rows == A[k] or rows == #items, k)
    end
    -- the killed run's session is gone with its locks: the next sync takes every pair
    local after = assert(db:sync(cx))
    assert.equal("complete", after.status)
    assert.same({ "interrupted" }, sql("SELECT status FROM _runs WHERE run = " .. (base.run + 1)))
    assert.same({ "0" }, sql("SELECT count(*) FROM _staging"))
    assert.equal(#sb:truth("hardware", sb.customers[1]), #db:items("hardware", sb.customers[1]))
    local seen = {}
    for ch in db:changes { since = base.run } do
      local id = ch.operation .. " " .. ch.customerId .. " " .. ch.key
      assert.is_nil(seen[id], "recorded twice: " .. id)
      seen[id] = true
    end
    db:close()
    cx:close()
  end)

  it("two syncs at once into one database: each pair written once, no deadlock", function()
    local uri = fresh()
    local db = assert(store.open(uri))
    local cx1 = helper.client(sb, { rate_limit = 0 })
    assert.equal("complete", assert(db:sync(cx1)).status)
    local last = db:last_run()
    sb:add_rows { op = "hardware", customerId = sb.customers[2], count = 7 }
    local other = assert(store.open(uri))
    local cx2 = helper.client(sb, { rate_limit = 0 })
    sb:set { latency = 0.02 }
    -- two stores in one process, interleaved by the clients' event loops: the second sync
    -- runs inside the first one's progress callback, while the first holds pairs
    local second
    local r1 = assert(db:sync(cx1, { progress = function()
      if not second then second = assert(other:sync(cx2)) end
    end }))
    sb:set { latency = 0 }
    assert.is_table(second)
    local seen = {}
    for ch in db:changes { since = last } do
      local id = ch.operation .. " " .. ch.customerId .. " " .. ch.key
      assert.is_nil(seen[id], "recorded twice: " .. id)
      seen[id] = true
    end
    assert.is_not_nil(next(seen))
    assert.equal(#sb:truth("hardware", sb.customers[2]), #db:items("hardware", sb.customers[2]))
    local skipped = #r1.skipped + #second.skipped
    for _, s in ipairs(r1.skipped) do assert.matches("being synced by another session", s.error) end
    for _, s in ipairs(second.skipped) do assert.matches("being synced by another session", s.error) end
    assert.is_true(skipped >= 1)
    -- each took pairs: a lock per pair, not one for all
    assert.is_true(second.complete >= 1 and r1.complete >= 1, second.complete .. " " .. r1.complete)
    db:close(); other:close(); cx1:close(); cx2:close()
  end)
end)
