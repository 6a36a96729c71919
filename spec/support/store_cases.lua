--- The store's checks, run against each database: the SQLite spec (spec/integration) and
-- the PostgreSQL spec (spec/system) call `cases(t, target)` with busted's functions in `t`
-- and a function that gives a fresh, empty store target.
local cjson = require "cjson"
local store = require "cxcloud.store"
local operations = require "cxcloud.operations"
local helper = require "spec.support.helper"

local M = {}

-- a value as text for comparing: identifiers arrive as numbers in the truth table and as
-- strings from the client
local function norm(v)
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 63 then return string.format("%d",
    v) end
  if type(v) == "table" then
    local t = {}
    for k, x in pairs(v) do t[k] = norm(x) end
    return t
  end
  if type(v) == "userdata" then return nil end
  return v
end

local function canon(item)
  local keys = {}
  for k in pairs(item) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = norm(item[k])
    if v ~= nil then parts[#parts + 1] = k .. "=" .. (type(v) == "table" and cjson.encode(v)
      or tostring(v)) end
  end
  return table.concat(parts, "\31")
end
M.canon = canon

local function sorted_canon(items)
  local out = {}
  for i, it in ipairs(items) do out[i] = canon(it) end
  table.sort(out)
  return out
end

local function key_of(op, it)
  local parts = {}
  for i, f in ipairs(operations[op].key) do parts[i] = tostring(norm(it[f])) end
  return table.concat(parts, "|")
end

-- what the sandbox serves now, by operation and customer, as the store should hold it
local function truth(sb, op, cid)
  local o = operations[op]
  if o.customer_id == "required" then return sb:truth(op, cid) end
  return sb:truth(op)
end

local function by_key(op, items)
  local t = {}
  for _, it in ipairs(items) do t[key_of(op, it)] = canon(it) end
  return t
end

local function all_changes(db, since)
  local out = {}
  for ch in db:changes { since = since } do out[#out + 1] = ch end
  return out
end

--- Defines the store's describe block.
-- @tparam table t busted's `describe`, `it`, `setup`, `teardown`, `assert`, `finally`
-- @tparam function fresh returns a target (path or URI) of an empty store, and a function
--   that runs SQL against it and returns its first column's values (for checks)
-- @tparam string name the database's name
function M.cases(t, fresh, name)
  local describe, it, setup, teardown, assert = t.describe, t.it, t.setup, t.teardown, t.assert

  describe("the store on " .. name .. " #store", function()
    local sb, cx
    local customers
    setup(function()
      sb = helper.sandbox { seed = 19, customers = 3, hardware = { 260, 40, 25 } }
      cx = helper.client(sb, { rate_limit = 0, page_size = 100 })
      customers = { sb.customers[1], sb.customers[2] }
    end)
    teardown(function()
      cx:close()
      sb:stop()
    end)

    local opened = {}
    t.after_each(function()
      for _, db in ipairs(opened) do db:close() end
      opened = {}
      sb:faults {}
    end)

    local function open()
      local target, sql = fresh()
      local db = assert(store.open(target))
      opened[#opened + 1] = db
      return db, sql, target
    end

    local function equals_truth(db)
      for _, op in ipairs(operations) do
        if op.customer_id == "required" then
          for _, cid in ipairs(customers) do
            assert.same(sorted_canon(truth(sb, op.name, cid)), sorted_canon(db:items(op.name, cid)),
              op.name .. " of " .. cid)
          end
        else
          assert.same(sorted_canon(truth(sb, op.name)), sorted_canon(db:items(op.name)), op.name)
        end
      end
    end

    it("syncs several customers over every operation: the tables equal the service, field by field;"
      .. " a second sync writes nothing but its run", function()
      local db, sql = open()
      local run = assert(db:sync(cx, { customers = customers }))
      assert.equal("complete", run.status)
      assert.same({}, run.skipped)
      local per, global = 0, 0
      for _, op in ipairs(operations) do
        if op.customer_id == "required" then per = per + 1 else global = global + 1 end
      end
      assert.equal(global + per * #customers, run.pairs)
      equals_truth(db)
      -- the columns hold the fields: identifiers as text, exactly
      local hw = truth(sb, "hardware", customers[1])
      local serials = sql('SELECT "serialNumber" FROM hardware WHERE "customerId" = \'' .. customers[1]
        .. '\' ORDER BY _key')
      local want = {}
      for _, h in ipairs(hw) do want[#want + 1] = { tostring(norm(h.hwInstanceId)), h.serialNumber } end
      table.sort(want, function(a, b) return a[1] < b[1] end)
      for i, w in ipairs(want) do assert.equal(w[2], serials[i]) end
      local ids = sql('SELECT "hwInstanceId" FROM hardware WHERE "customerId" = \'' .. customers[1] .. '\'')
      for _, v in ipairs(ids) do assert.is_string(v) end
      -- a second sync of unchanged data: no change, no row written
      local again = assert(db:sync(cx, { customers = customers }))
      assert.equal("complete", again.status)
      assert.equal(0, again.added + again.changed + again.removed + again.baseline)
      assert.same({}, all_changes(db, run.run))
      for _, op in ipairs(operations) do
        assert.same({ "0" }, sql("SELECT CAST(count(*) AS TEXT) FROM " .. op.name .. " WHERE _run = "
          .. again.run))
      end
      assert.same({ "0" }, sql("SELECT CAST(count(*) AS TEXT) FROM _staging"))
      assert.equal(2, #db:runs())
    end)

    it("records exactly the rows added, removed and changed, with the fields and old and new values",
      function()
      local db = open()
      local cid = customers[1]
      assert.equal("complete", assert(db:sync(cx, { customers = { cid } })).status)
      local before = {}
      for _, op in ipairs(operations) do before[op.name] = by_key(op.name, truth(sb, op.name, cid)) end
      sb:add_rows { op = "hardware", customerId = cid, count = 3 }
      sb:remove_rows { op = "network_elements", customerId = cid, count = 2, at = "start" }
      local changed_keys, fields = sb:change_rows { op = "hardware", customerId = cid, count = 4 }
      assert.equal(4, #changed_keys)
      assert.is_true(#fields > 0)
      local run = assert(db:sync(cx, { customers = { cid } }))
      assert.equal("complete", run.status)
      -- the expected difference, from the sandbox's truth before and after
      local want = {}
      for _, op in ipairs(operations) do
        local after = by_key(op.name, truth(sb, op.name, cid))
        for k, v in pairs(after) do
          if before[op.name][k] == nil then want[#want + 1] = op.name .. " added " .. k
          elseif before[op.name][k] ~= v then want[#want + 1] = op.name .. " changed " .. k end
        end
        for k in pairs(before[op.name]) do
          if after[k] == nil then want[#want + 1] = op.name .. " removed " .. k end
        end
      end
      local got = {}
      for _, ch in ipairs(all_changes(db, run.run - 1)) do
        got[#got + 1] = ch.operation .. " " .. ch.change .. " " .. ch.key
        assert.equal(run.run, ch.run)
        if ch.change == "changed" then
          assert.is_table(ch.old); assert.is_table(ch.new)
          assert.is_true(#ch.fields > 0)
          for _, f in ipairs(ch.fields) do
            assert.is_not.same(norm(ch.old[f]), norm(ch.new[f]))
          end
        elseif ch.change == "added" then
          assert.is_nil(ch.old); assert.is_table(ch.new)
        else
          assert.is_table(ch.old); assert.is_nil(ch.new)
        end
      end
      table.sort(want); table.sort(got)
      assert.is_true(#want >= 9)
      assert.same(want, got)
      assert.equal(run.added + run.changed + run.removed, #got)
      for _, op in ipairs(operations) do
        assert.same(sorted_canon(truth(sb, op.name, cid)), sorted_canon(db:items(op.name, cid)), op.name)
      end
    end)

    it("keeps a failing pair's rows and reports the run partial", function()
      local db = open()
      local cid = customers[2]
      assert.equal("complete", assert(db:sync(cx, { customers = { cid }, operations = { "hardware",
        "contracts" } })).status)
      local old = sorted_canon(db:items("hardware", cid))
      sb:add_rows { op = "hardware", customerId = cid, count = 2 }
      sb:add_rows { op = "contracts", customerId = cid, count = 1 }
      sb:faults { { op = "hardware", customerId = cid, status = 500, times = -1 } }
      local run = assert(db:sync(cx, { customers = { cid }, operations = { "hardware", "contracts" } }))
      assert.equal("partial", run.status)
      assert.equal(1, #run.skipped)
      assert.equal("hardware", run.skipped[1].operation)
      assert.equal(cid, run.skipped[1].customerId)
      assert.matches("500", run.skipped[1].error)
      assert.same(old, sorted_canon(db:items("hardware", cid)))
      assert.same(sorted_canon(truth(sb, "contracts", cid)), sorted_canon(db:items("contracts", cid)))
      sb:faults {}
      local healed = assert(db:sync(cx, { customers = { cid }, operations = { "hardware", "contracts" } }))
      assert.equal("complete", healed.status)
      assert.equal(2, healed.added)
    end)

    it("skips a pair that drifts twice, and takes one that drifts once", function()
      local db = open()
      local cid = customers[1]
      -- one page at a time: the store knows the pair's count, and its pages asked at once
      -- could reach the sandbox before page 1, the drift then inside page 1's snapshot
      local one = helper.client(sb, { rate_limit = 0, page_size = 100, concurrency = 1 })
      assert(db:sync(one, { customers = { cid }, operations = { "hardware" } }))
      local old = sorted_canon(db:items("hardware", cid))
      sb:faults { { op = "hardware", customerId = cid, page = 2, action = "add_rows", count = 1, at = "start",
        times = -1 } }
      local run = assert(db:sync(one, { customers = { cid }, operations = { "hardware" } }))
      assert.equal("failed", run.status)
      assert.matches("drifted twice", run.skipped[1].error)
      assert.same(old, sorted_canon(db:items("hardware", cid)))
      sb:faults { { op = "hardware", customerId = cid, page = 2, action = "add_rows", count = 1,
        at = "start" } }
      run = assert(db:sync(one, { customers = { cid }, operations = { "hardware" } }))
      assert.equal("complete", run.status)
      assert.same(sorted_canon(truth(sb, "hardware", cid)), sorted_canon(db:items("hardware", cid)))
      one:close()
    end)

    it("keeps every row when a declared key repeats, and says so", function()
      local db = open()
      local cid = customers[3] or sb.customers[3]
      -- a client whose hardware pages hold one row twice, once with another value
      local twin = setmetatable({
        hardware = function(_, p)
          local q = cx:hardware(p)
          return { pages = function()
            local next_page = q:pages()
            return function()
              local page, info = next_page()
              if page and info.page == 1 then
                local copy = {}
                for k, v in pairs(page[1]) do copy[k] = v end
                copy.serialNumber = "TWIN"
                page[#page + 1] = copy
              end
              return page, info
            end
          end }
        end,
      }, { __index = function(_, k) return function(_, ...) return cx[k](cx, ...) end end })
      local run = assert(db:sync(twin, { customers = { cid }, operations = { "hardware" } }))
      assert.equal("complete", run.status)
      assert.equal(#truth(sb, "hardware", cid) + 1, #db:items("hardware", cid))
      assert.matches("repeated a key", run.notes[1])
    end)

    it("adds a column for a field that appears later, and keeps history within --keep", function()
      local db, sql = open()
      local cid = customers[2]
      local narrow = setmetatable({
        network_elements = function(_, p)
          p.fields = "neInstanceId,hostname"
          return cx:network_elements(p)
        end,
      }, { __index = function(_, k) return function(_, ...) return cx[k](cx, ...) end end })
      assert(db:sync(narrow, { customers = { cid }, operations = { "network_elements" } }))
      assert.same({}, sql("SELECT 1 FROM _changes"))
      local before = #sql("SELECT \"hostname\" FROM network_elements")
      local run = assert(db:sync(cx, { customers = { cid }, operations = { "network_elements" } }))
      assert.equal(before, run.changed)
      local sw = sql('SELECT "swVersion" FROM network_elements ORDER BY _key')
      assert.equal(before, #sw)
      assert.is_string(sw[1])
      -- history older than --keep days goes
      sql("UPDATE _changes SET at = '2020-01-01T00:00:00Z' WHERE run = " .. run.run)
      sql("UPDATE _runs SET started = '2020-01-01T00:00:00Z' WHERE run = " .. run.run)
      assert(db:sync(cx, { customers = { cid }, operations = { "network_elements" }, keep = 90 }))
      assert.same({ "0" }, sql("SELECT CAST(count(*) AS TEXT) FROM _changes"))
      assert.same({}, sql("SELECT run FROM _runs WHERE run = " .. run.run))
    end)

    it("answers the report from the store alone, with no request", function()
      local db = open()
      local cid = customers[1]
      assert(db:sync(cx, { customers = { cid } }))
      local live = assert(require("cxcloud.report").build(cx, cid))
      local mark = helper.mark(sb)
      local stored = assert(db:report { customerId = cid })
      assert.equal(0, #helper.since(sb, mark))
      assert.same(sorted_canon(live), sorted_canon(stored))
      local none, err = db:report { customerId = "nobody" }
      assert.is_nil(none)
      assert.matches("never synced", err)
    end)
  end)

end

return M
