--- A store: the CX Cloud data of a client kept in SQLite or PostgreSQL, synced whole, with
-- the history of what changed.
--
--    local store = require "cxcloud.store"
--    local db = assert(store.open "cx.sqlite")      -- or "postgresql://user@host/dbname"
--    local run = assert(db:sync(cx, { customers = { "id1" }, operations = { "hardware" } }))
--    for ch in db:changes { since = run.run - 1 } do print(ch.change, ch.key) end
--    db:close()
--
-- Tables: one per operation (named after its method), `_runs`, `_changes`, and the store's
-- bookkeeping (`_pairs`, `_staging`, `_quota`, `_meta`); see `cxcloud.store.schema`.
-- @module cxcloud.store

local cjson = require "cjson.safe"
local backend = require "cxcloud.store.backend"
local schema = require "cxcloud.store.schema"
local sync = require "cxcloud.store.sync"
local operations = require "cxcloud.operations"
local compat = require "cxcloud.compat"

local M = {}

local format = string.format

local Store = {}
local StoreMT = { __index = Store, __name = "cxcloud.store" }

local function hostname()
  local f = io.open("/proc/sys/kernel/hostname", "r") or io.open("/etc/hostname", "r")
  local h = f and f:read("*l")
  if f then f:close() end
  return h or os.getenv("HOSTNAME") or "?"
end

local function failure(e)
  if type(e) == "table" and e.message then return e.message end
  return tostring(e)
end

--- Opens a store, creating its tables when missing.
-- @tparam string target a file path (SQLite, created when missing) or a `postgresql://`
--   URI (libpq form; the password from the URI, `PGPASSWORD` or `~/.pgpass`)
-- @treturn[1] table the store
-- @treturn[2] nil
-- @treturn[2] string what went wrong
function M.open(target)
  local conn, err = backend.open(target)
  if not conn then return nil, err end
  local ok, e = pcall(schema.prepare, conn)
  if not ok then
    conn:close()
    return nil, failure(e)
  end
  local db = setmetatable({ conn = conn, target = conn.shown, tables = {}, host = hostname() }, StoreMT)
  compat.on_collect(db, function() conn:close() end)
  return db
end

function Store:_table(name)
  local t = self.tables[name]
  if not t then
    t = schema.table(self.conn, name)
    self.tables[name] = t
  end
  return t
end

local function check_open(self, what)
  if getmetatable(self) ~= StoreMT then
    error(format("%s must be called as a method: db:%s(...)", what, what), 3)
  end
  if not self.conn.dbh then error(format("db:%s: the store is closed", what), 3) end
end

--- Syncs the client's data into the store.
-- @param cx a client (`cxcloud.new`)
-- @tparam[opt] table opts `customers` (array of IDs; default every customer the client
--   sees), `operations` (array of method names; default all), `keep` (days of `_changes`
--   and `_runs` to keep; default all), `progress` (function receiving `{pairs, done,
--   skipped, calls, rows, elapsed}` after each page and pair)
-- @treturn[1] table `{run, status = "complete"|"partial"|"failed", calls, rows, added,
--   changed, removed, pairs, complete, skipped = {{customerId, operation, error}, ...},
--   notes}`
-- @treturn[2] nil
-- @treturn[2] string what went wrong (the store failed)
function Store:sync(cx, opts)
  check_open(self, "sync")
  if type(cx) ~= "table" or type(cx.stats) ~= "function" then
    error("db:sync: expected a client (cxcloud.new{...}) as its first argument, got " .. type(cx), 2)
  end
  local ok, run, err = pcall(sync.run, self, cx, opts)
  if not ok then
    if type(run) == "string" and run:find("^db:sync:") then error(run, 2) end
    self.conn:rollback()
    return nil, failure(run)
  end
  return run, err
end

--- What the next sync will cost (`cxcloud sync --plan`), with no API call except listing
-- the customers when none are given and the store has none: each pair's pages in its last
-- complete extract (`_pairs.pages`); a pair never synced is counted in `unknown`.
-- @param cx a client (its `quota()` then counts the store's calls of today too)
-- @tparam[opt] table opts `customers`, `operations` (as for `sync`)
-- @treturn[1] table `{pairs, known, unknown, calls, listing, day, today, limit, left}`:
--   `calls` the known pairs' pages, `listing` the calls spent listing the customers,
--   `today`/`limit`/`left` as `cx:quota()`
-- @treturn[2] nil
-- @treturn[2] string why
function Store:plan(cx, opts)
  check_open(self, "plan")
  if type(cx) ~= "table" or type(cx.quota) ~= "function" then
    error("db:plan: expected a client (cxcloud.new{...}) as its first argument, got " .. type(cx), 2)
  end
  local ok, plan, err = pcall(sync.plan, self, cx, opts)
  if not ok then
    if type(plan) == "string" and plan:find("^db:") then error(plan, 2) end
    return nil, failure(plan)
  end
  return plan, err
end

local function epoch(iso)
  local y, mo, d, h, mi, s = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days from civil (proleptic Gregorian), so no local time zone is involved
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end
M.epoch = epoch

local function since_clause(since)
  if since == nil then return nil end
  if type(since) == "number" or (type(since) == "string" and since:find("^%d+$")) then
    return "run > ?", tostring(math.floor(tonumber(since)))
  end
  if type(since) == "string" and since:find("^%d%d%d%d%-%d%d%-%d%d$") then
    return "at >= ?", since .. "T00:00:00Z"
  end
  error(format("db:changes: since must be a run number or a date YYYY-MM-DD, got %s",
    type(since) == "string" and "'" .. since .. "'" or type(since)), 3)
end

--- The changes recorded, oldest first.
-- @tparam[opt] table filter `since` (a run number: the changes of later runs; a date
--   `YYYY-MM-DD`: those recorded at or after its start, UTC), `operation` (method name),
--   `customerId`
-- @treturn function iterator of `{run, at, operation, customerId, key, change, old, new,
--   fields}`
function Store:changes(filter)
  check_open(self, "changes")
  filter = filter or {}
  if type(filter) ~= "table" then error("db:changes: expected a table of filters, got " .. type(filter),
    2) end
  local where, args = {}, {}
  local c, v = since_clause(filter.since)
  if c then where[#where + 1] = c; args[#args + 1] = v end
  if filter.operation ~= nil then
    local name = tostring(filter.operation):gsub("%-", "_")
    if not operations[name] then
      error(format("db:changes: unknown operation '%s'", tostring(filter.operation)), 2)
    end
    where[#where + 1] = "operation = ?"; args[#args + 1] = name
  end
  if filter.customerId ~= nil then
    where[#where + 1] = '"customerId" = ?'; args[#args + 1] = tostring(filter.customerId)
  end
  local conn = self.conn
  -- read in chunks by id, so that a loop may run other queries on this store meanwhile
  where[#where + 1] = "id > ?"
  local sql = 'SELECT CAST(id AS TEXT) AS id, CAST(run AS TEXT) AS run, at, operation, "customerId", key,'
    .. " change, fields, old, new FROM _changes WHERE " .. table.concat(where, " AND ")
    .. " ORDER BY id LIMIT 500"
  local buf, i, last, done = {}, 0, "0", false
  return function()
    i = i + 1
    if i > #buf then
      if done then return nil end
      local n = #args
      args[n + 1] = last
      buf = conn:all(sql, compat.unpack(args, 1, n + 1))
      args[n + 1] = nil
      i = 1
      if #buf < 500 then done = true end
      if #buf == 0 then return nil end
      last = buf[#buf].id
    end
    local r = buf[i]
    return {
      run = tonumber(r.run), at = epoch(r.at), operation = r.operation, customerId = r.customerId,
      key = r.key, change = r.change, fields = r.fields and cjson.decode(r.fields) or nil,
      old = r.old and cjson.decode(r.old) or nil, new = r.new and cjson.decode(r.new) or nil,
    }
  end
end

--- The runs, newest first: `{run, started, finished, status, calls, rows, added, changed,
-- removed, pairs, skipped}`.
-- @tparam[opt] integer n at most this many
-- @treturn table array
function Store:runs(n)
  check_open(self, "runs")
  local out = {}
  for _, r in ipairs(self.conn:all('SELECT CAST(run AS TEXT) AS run, started, finished, status,'
    .. ' CAST(calls AS TEXT) AS calls, CAST("rows" AS TEXT) AS "rows", CAST(added AS TEXT) AS added,'
    .. " CAST(changed AS TEXT) AS changed, CAST(removed AS TEXT) AS removed, CAST(pairs AS TEXT) AS pairs,"
    .. " skipped FROM _runs ORDER BY run DESC LIMIT ?", tostring(n or 1000000))) do
    out[#out + 1] = { run = tonumber(r.run), started = r.started, finished = r.finished, status = r.status,
      calls = tonumber(r.calls), rows = tonumber(r.rows), added = tonumber(r.added),
      changed = tonumber(r.changed), removed = tonumber(r.removed), pairs = tonumber(r.pairs),
      skipped = r.skipped and cjson.decode(r.skipped) or nil }
  end
  return out
end

--- The calls recorded by syncs per UTC day and client: `{day, client, calls}`, newest first.
-- @tparam[opt] integer days at most this many days
-- @treturn table array
function Store:quota(days)
  check_open(self, "quota")
  local out = {}
  for _, r in ipairs(self.conn:all("SELECT day, client, CAST(calls AS TEXT) AS calls FROM _quota"
    .. " ORDER BY day DESC, client LIMIT ?", tostring(days or 30))) do
    out[#out + 1] = { day = r.day, client = r.client, calls = tonumber(r.calls) }
  end
  return out
end

--- The stored items of one operation (and customer), in key order.
-- @tparam string op method name
-- @tparam[opt] string customer_id
-- @treturn table array of items
function Store:items(op, customer_id)
  check_open(self, "items")
  local name = tostring(op):gsub("%-", "_")
  local o = operations[name]
  if not o then error(format("db:items: unknown operation '%s'", tostring(op)), 2) end
  local conn = self.conn
  if not conn:columns(name) then return {} end
  local out = {}
  local sql = "SELECT _row FROM " .. conn:quote(name)
  local rows
  if customer_id ~= nil and not sync.is_global(o) then
    rows = conn:rows(sql .. ' WHERE "customerId" = ? ORDER BY _key', tostring(customer_id))
  else
    rows = conn:rows(sql .. " ORDER BY _key")
  end
  for r in rows do out[#out + 1] = cjson.decode(r._row) end
  return out
end

--- The records of `cxcloud report` for one customer, from the store alone (no request).
-- @tparam table args `customerId`
-- @treturn table|nil records
-- @treturn string|nil why not (the customer was never synced)
function Store:report(args)
  check_open(self, "report")
  local id = type(args) == "table" and args.customerId or args
  if id == nil then error("db:report: expected {customerId = ID}", 2) end
  id = tostring(id)
  local report = require "cxcloud.report"
  local n = self.conn:value('SELECT CAST(count(*) AS TEXT) FROM _pairs WHERE "customerId" = ?', id)
  if tonumber(n) == 0 then
    return nil, format("customer %s was never synced into %s (run `cxcloud sync --db ... --customer %s`)",
      id, self.target, id)
  end
  local lists = {}
  for _, pull in ipairs(report.PULLS) do lists[pull[1]] = self:items(pull[1], id) end
  return report.join(lists)
end

--- The customers that have at least one synced operation, sorted.
-- @treturn table array of customer IDs
function Store:synced_customers()
  check_open(self, "synced_customers")
  local out = {}
  for r in self.conn:rows('SELECT DISTINCT "customerId" FROM _pairs WHERE "customerId" <> \'\''
    .. ' ORDER BY "customerId"') do
    out[#out + 1] = r.customerId
  end
  return out
end

--- The number of the last run, or nil when the store never ran a sync.
-- @treturn integer|nil
function Store:last_run()
  check_open(self, "last_run")
  return tonumber(self.conn:value("SELECT CAST(max(run) AS TEXT) FROM _runs"))
end

--- What changed per customer since a run or a date (`cxcloud.store.summary`): devices
-- added and removed, advisories newly affecting devices and how many are Critical,
-- coverage gained and lost, devices past their last date of support since then.
-- @tparam[opt] table opts `since` (run number or `YYYY-MM-DD`; default: the changes of the
--   last run), `today` (`YYYY-MM-DD`, default today UTC)
-- @treturn table array of records
function Store:summary(opts)
  check_open(self, "summary")
  opts = opts or {}
  local since = opts.since
  if since == nil then since = math.max(0, (self:last_run() or 1) - 1) end
  since_clause(since)
  local from
  if type(since) == "string" and since:find("^%d%d%d%d%-") then
    from = since
  else
    local started = self.conn:value("SELECT started FROM _runs WHERE run = ?", tostring(since))
      or self.conn:value("SELECT min(started) FROM _runs WHERE run > ?", tostring(since))
    from = started and started:sub(1, 10) or "0000-00-00"
  end
  return require("cxcloud.store.summary").build(self, since, from, opts.today or os.date("!%Y-%m-%d"))
end

--- Closes the store (also when collected, and at the end of a to-be-closed variable).
function Store:close()
  if self.conn then self.conn:close() end
end
StoreMT.__close = Store.close
StoreMT.__tostring = function(self)
  return format("cxcloud store %s (%s)", self.target, self.conn.dbh and "open" or "closed")
end

return M
