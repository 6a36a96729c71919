--- `db:sync`: pull every (customer, operation) pair whole, apply each complete extract in
-- one transaction, record what changed.
--
-- A pair's pull writes only the rows that differ from the store (by digest) into
-- `_staging`, a page at a time; the rows it leaves alone are only remembered by key. When
-- the pull ends complete, one transaction checks that no other sync applied the pair in
-- the meantime, widens the table for new fields, writes the staged rows, deletes the rows
-- the extract no longer holds, records a change for each difference and marks the pair
-- synced. A pair whose pull failed, drifted twice or met the daily quota changes nothing
-- and is listed as skipped. A process killed anywhere leaves each pair old or new: its
-- staged rows belong to a run that the next sync marks "interrupted" and clears.
--
-- Memory per pair in flight: a key and a digest per stored row, plus the pages in flight;
-- never the whole extract.
-- @module cxcloud.store.sync

local cjson = require "cjson.safe"
local operations = require "cxcloud.operations"
local compat = require "cxcloud.compat"
local util = require "cxcloud.util"
local canon = require "cxcloud.store.canon"
local item_mod = require "cxcloud.store.item"

local M = {}

local format, concat = string.format, table.concat

-- rows read back from _staging per statement
local CHUNK = 500

--- The current time as stored: ISO 8601, UTC.
function M.now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

-- operations pulled once for all customers (their table's customerId is "", or the
-- customer's own for `customers`)
local function is_global(op)
  return op.customer_id ~= "required"
end
M.is_global = is_global

local function message_of(err)
  if type(err) == "table" then return err.message or tostring(err) end
  return tostring(err)
end

-- the gateway's daily-quota answer (`cxcloud.engine.classify` sets `quota_spent`)
local function is_quota(err)
  return type(err) == "table" and err.quota_spent == true
end
M.is_quota = is_quota

--- This client id's calls on `day` as the store recorded them (`_quota`).
function M.stored_calls(conn, day, client)
  return tonumber(conn:value("SELECT CAST(calls AS TEXT) FROM _quota WHERE day = ? AND client = ?",
    day, client or "")) or 0
end

local Pair = {}
Pair.__index = Pair

-- WHERE clause (and its values) that selects the pair's rows in its table
function Pair:scope()
  if self.global then return "", {} end
  return ' WHERE "customerId" = ?', { self.cid }
end

local unpack = table.unpack or rawget(_G, "unpack")

function Pair:load_state()
  local conn, ctx = self.conn, self.ctx
  self.tbl = ctx.db:_table(self.op.name)
  local last = conn:all('SELECT CAST(run AS TEXT) AS run, CAST("rows" AS TEXT) AS n FROM _pairs'
    .. ' WHERE operation = ? AND "customerId" = ?', self.op.name, self.cid)[1]
  self.before, self.expect = last and last.run, last and tonumber(last.n)
  local where, args = self:scope()
  local old = {}
  for r in conn:rows("SELECT _key, _hash FROM " .. conn:quote(self.op.name) .. where, unpack(args)) do
    old[r._key] = r._hash
  end
  self.old = old
end

function Pair:clear_staging()
  self.conn:exec('DELETE FROM _staging WHERE run = ? AND operation = ? AND "customerId" = ?',
    self.ctx.run_text, self.op.name, self.cid)
end

-- the column types an extract asks for: "text" wins over "number"
-- the shape of each field over an extract: "string" or "number" when every value was one,
-- else "mixed" (booleans, nested values, or both strings and numbers)
local function note_shapes(shapes, it)
  for f, v in pairs(it) do
    local shape = shapes[f]
    if shape ~= "mixed" then
      local tv = type(v)
      local s = (tv == "string" or tv == "number") and tv or "mixed"
      if shape == nil then shapes[f] = s elseif shape ~= s then shapes[f] = "mixed" end
    end
  end
end

function Pair:pull()
  local conn, ctx, op = self.conn, self.ctx, self.op
  local keyf = op.key or {}
  local seen, shapes = {}, {}
  local rows, pages, repeated = 0, 0, 0
  local old = self.old
  local params = {}
  if not self.global then params.customerId = self.cid end
  local q = ctx.cx[op.name](ctx.cx, params)
  if self.expect then q:_expect(self.expect) end
  for page in q:pages() do
    pages = pages + 1
    local batch = {}
    for _, it in ipairs(page) do
      local text, digest = item_mod.canonical(it)
      local k = item_mod.key(it, keyf)
      if k == nil then
        k = item_mod.content_key(digest)
      elseif seen[k] then
        repeated = repeated + 1
        k = item_mod.content_key(digest, k)
      end
      -- the very same row twice: each copy kept
      local base, n = k, 1
      while seen[k] do n = n + 1; k = base .. "+" .. n end
      seen[k] = true
      rows = rows + 1
      note_shapes(shapes, it)
      if old[k] ~= digest then batch[#batch + 1] = { k, digest, text } end
    end
    if #batch > 0 then
      conn:transaction(function()
        local ins = conn:inserter('INSERT INTO _staging (run, operation, "customerId", _key, _hash, _row)', 6)
        for _, b in ipairs(batch) do ins.add(ctx.run_text, op.name, self.cid, b[1], b[2], b[3]) end
        ins.flush()
      end)
    end
    ctx:page_done(#page)
  end
  self.seen, self.shapes, self.rows, self.pages, self.repeated = seen, shapes, rows, pages, repeated
end

local function column_values(tbl, cols, it)
  local vals = {}
  for i, c in ipairs(cols) do
    local v, ty = canon.column_value(it[c])
    if v ~= nil and tbl.columns[c] == "number" and ty ~= "number" then v = nil end
    vals[i] = v
  end
  return vals
end

function Pair:record(change, key, cid, fields, old, new)
  local ctx = self.ctx
  self.changes.add(ctx.run_text, ctx.at, self.op.name, cid, key, change,
    fields and cjson.encode(fields) or nil, old, new)
end

-- the customerId column of a row
function Pair:row_customer(it)
  if not self.global then return self.cid end
  if self.op.name == "customers" and type(it.customerId) == "string" then return it.customerId end
  return ""
end

-- SQL for the customerId column of a staged row `s` (see `row_customer`)
function Pair:customer_sql(json)
  if not self.global then return 's."customerId"', {} end
  if self.op.name == "customers" then
    local sql, args = self.conn:json_field(json, "customerId", "text")
    return "COALESCE(" .. sql .. ", '')", args
  end
  return "''", {}
end

-- Applies the staged extract in one transaction: the rows whose key is stored are compared
-- and updated one by one (they are few: the changes); the new rows go in with one
-- INSERT ... SELECT, their columns taken from their JSON by the database.
function Pair:apply()
  local conn, ctx, op, tbl = self.conn, self.ctx, self.op, self.tbl
  local Q = conn:quote(op.name)
  local counts = { added = 0, changed = 0, removed = 0, baseline = 0 }
  conn:transaction(function()
    local now_before = conn:value("SELECT CAST(run AS TEXT) FROM _pairs"
      .. ' WHERE operation = ? AND "customerId" = ?', op.name, self.cid)
    if now_before ~= self.before then
      error({ skip = format("run %s synced it meanwhile", tostring(now_before)) }, 0)
    end
    local kinds = {}
    for f, shape in pairs(self.shapes) do kinds[f] = shape == "number" and "number" or "text" end
    tbl:widen(kinds)
    local cols = tbl:data_columns()
    local qcols = {}
    for i, c in ipairs(cols) do qcols[i] = conn:quote(c) end
    local same_row = self.global and "t._key = s._key"
      or 't."customerId" = s."customerId" AND t._key = s._key'
    local mine = 's.run = ? AND s.operation = ? AND s."customerId" = ?'
    self.changes = conn:inserter('INSERT INTO _changes (run, at, operation, "customerId", key, change,'
      .. " fields, old, new)", 9)

    -- changed: staged rows whose key is stored
    local sets = {}
    for i, c in ipairs(qcols) do sets[i] = c .. " = ?" end
    local where_key = self.global and " WHERE _key = ?" or ' WHERE "customerId" = ? AND _key = ?'
    local update = format("UPDATE %s SET _hash = ?, _row = ?, _run = ?%s%s", Q,
      #sets > 0 and ", " .. concat(sets, ", ") or "", where_key)
    local last = ""
    while true do
      local chunk = conn:all(format("SELECT s._key AS k, s._hash AS h, s._row AS r, t._row AS o,"
        .. ' t."customerId" AS c FROM _staging s JOIN %s t ON %s WHERE %s AND s._key > ?'
        .. " ORDER BY s._key LIMIT %d", Q, same_row, mine, CHUNK), ctx.run_text, op.name, self.cid, last)
      if #chunk == 0 then break end
      for _, r in ipairs(chunk) do
        last = r.k
        local it = cjson.decode(r.r)
        local vals = column_values(tbl, cols, it)
        local fields = item_mod.changed_fields(cjson.decode(r.o) or {}, it)
        local args, n = { r.h, r.r, ctx.run_text }, 3
        for i = 1, #cols do n = n + 1; args[n] = vals[i] end
        if not self.global then n = n + 1; args[n] = self.cid end
        n = n + 1; args[n] = r.k
        conn:exec(update, unpack(args, 1, n))
        self:record("changed", r.k, r.c, fields, r.o, r.r)
        counts.changed = counts.changed + 1
      end
    end
    self.changes.flush()

    -- added: the other staged rows, in one statement (and their changes in another). The
    -- changed ones leave _staging first: a NOT EXISTS against the table being filled would
    -- read it again for every row (PostgreSQL scans the pages it is adding to)
    conn:exec(format("DELETE FROM _staging WHERE run = ? AND operation = ? AND \"customerId\" = ?"
      .. " AND EXISTS (SELECT 1 FROM %s t WHERE %s)", Q, (same_row:gsub("s%.", "_staging."))),
      ctx.run_text, op.name, self.cid)
    local from, json = conn:staging_rows('run = ? AND operation = ? AND "customerId" = ?')
    local cid_sql, cid_args = self:customer_sql(json)
    local new_rows = "FROM " .. from
    local added = tonumber(conn:value("SELECT CAST(count(*) AS TEXT) " .. new_rows, ctx.run_text,
      op.name, self.cid))
    if added > 0 then
      if self.baseline then
        counts.baseline = added
      else
        counts.added = added
        local args = { ctx.run_text, ctx.at, op.name }
        for _, v in ipairs(cid_args) do args[#args + 1] = v end
        args[#args + 1], args[#args + 2], args[#args + 3] = ctx.run_text, op.name, self.cid
        conn:exec(format('INSERT INTO _changes (run, at, operation, "customerId", key, change, new)'
          .. " SELECT ?, ?, ?, %s, s._key, 'added', s._row %s ORDER BY s._key", cid_sql, new_rows),
          unpack(args, 1, #args))
      end
      local exprs, args = {}, { ctx.run_text }
      for _, v in ipairs(cid_args) do args[#args + 1] = v end
      for i, c in ipairs(cols) do
        local sql, a = conn:json_field(json, c, tbl.columns[c], self.shapes[c])
        exprs[i] = sql
        for _, v in ipairs(a) do args[#args + 1] = v end
      end
      args[#args + 1], args[#args + 2], args[#args + 3] = ctx.run_text, op.name, self.cid
      conn:exec(format('INSERT INTO %s (_run, "customerId", _key, _hash, _row%s)'
        .. " SELECT ?, %s, s._key, s._hash, s._row%s %s", Q, #cols > 0 and ", " .. concat(qcols, ", ") or "",
        cid_sql, #exprs > 0 and ", " .. concat(exprs, ", ") or "", new_rows), unpack(args, 1, #args))
    end

    -- removed: stored rows the extract no longer holds
    local select_old = format('SELECT "customerId", _row FROM %s%s', Q, where_key)
    local delete = format("DELETE FROM %s%s", Q, where_key)
    local function keyargs(k)
      if self.global then return k end
      return self.cid, k
    end
    for k in pairs(self.old) do
      if not self.seen[k] then
        local before_row, before_cid
        for o in conn:rows(select_old, keyargs(k)) do before_row, before_cid = o._row, o.customerId end
        conn:exec(delete, keyargs(k))
        self:record("removed", k, before_cid or self.cid, nil, before_row, nil)
        counts.removed = counts.removed + 1
      end
    end
    self.changes.flush()
    conn:exec('INSERT INTO _pairs (operation, "customerId", run, "rows", pages, synced)'
      .. " VALUES (?, ?, ?, ?, ?, ?)"
      .. ' ON CONFLICT (operation, "customerId") DO UPDATE SET run = excluded.run, "rows" = excluded."rows",'
      .. " pages = excluded.pages, synced = excluded.synced",
      op.name, self.cid, ctx.run_text, tostring(self.rows), tostring(self.pages), ctx.at)
    self:clear_staging()
  end)
  return counts
end

-- One pair, start to end; returns the pair's outcome (never raises).
function Pair:run()
  local ctx, conn = self.ctx, self.conn
  if ctx.stop then return { skipped = ctx.stop } end
  -- no NUL in a lock name: PostgreSQL takes it as text
  local lock = "pair " .. self.op.name .. " " .. self.cid
  local ok_lock, got, who = pcall(conn.try_lock, conn, lock)
  if not ok_lock then return { skipped = message_of(got) } end
  if not got then return { skipped = "being synced by " .. who .. " at the same time" } end
  local ok, res = pcall(function()
    self:load_state()
    self.baseline = self.before == nil
    local err
    for attempt = 1, 2 do
      self:clear_staging()
      local pulled, e = pcall(self.pull, self)
      if pulled then err = nil; break end
      err = e
      if type(e) == "table" and e.store then error(e, 0) end
      if is_quota(e) then
        ctx.stop = "the daily quota is spent: " .. message_of(e)
        break
      end
      if not (type(e) == "table" and e.kind == "drift" and attempt == 1) then break end
    end
    if err then
      pcall(self.clear_staging, self)
      return { skipped = (type(err) == "table" and err.kind == "drift" and "drifted twice: " or "")
        .. message_of(err) }
    end
    ctx.applying = true
    local counts = self:apply()
    ctx.applying = false
    counts.rows = self.rows
    counts.repeated = self.repeated
    return counts
  end)
  ctx.applying = false
  pcall(conn.unlock, conn, lock)
  if not ok then
    pcall(self.clear_staging, self)
    if type(res) == "table" and res.skip then return { skipped = res.skip } end
    return { skipped = message_of(res) }
  end
  return res
end

local Ctx = {}
Ctx.__index = Ctx

function Ctx:page_done(n)
  self.rows = self.rows + n
  self:report()
end

function Ctx:report()
  if not self.progress then return end
  local calls = self.cx:stats().requests - self.calls0
  self.progress({ pairs = self.npairs, done = self.done, skipped = #self.skipped, calls = calls,
    rows = self.rows, elapsed = os.time() - self.t0 })
end

local function check_list(name, v, valid)
  if v == nil then return nil end
  if type(v) ~= "table" then
    error(format("db:sync: %s must be an array of %s, got %s", name, valid, type(v)), 3)
  end
  for i, x in ipairs(v) do
    if type(x) ~= "string" and type(x) ~= "number" then
      error(format("db:sync: %s[%d] must be a %s, got %s", name, i, valid, type(x)), 3)
    end
  end
  return v
end

local function select_operations(list)
  if not list then return operations end
  local out = {}
  for _, name in ipairs(list) do
    local n = tostring(name):gsub("%-", "_")
    local op = operations[n]
    if not op then
      local names = {}
      for i, o in ipairs(operations) do names[i] = o.name end
      local guess = util.suggest(n, names)
      error(format("db:sync: unknown operation '%s'%s; valid: %s", tostring(name),
        guess and format(" (did you mean '%s'?)", guess) or "", concat(names, ", ")), 3)
    end
    out[#out + 1] = op
  end
  return out
end

-- runs left "running" by a process that is gone: marked interrupted, their staging cleared
local function close_interrupted(conn)
  for _, r in ipairs(conn:all("SELECT CAST(run AS TEXT) AS run FROM _runs WHERE status = 'running'")) do
    local name = "run " .. r.run
    if conn:try_lock(name) then
      conn:transaction(function()
        conn:exec("UPDATE _runs SET status = 'interrupted', finished = ?"
          .. " WHERE run = ? AND status = 'running'",
          M.now(), r.run)
        conn:exec("DELETE FROM _staging WHERE run = ?", r.run)
      end)
      conn:unlock(name)
    end
  end
end

-- The page sizes earlier runs learnt (`cxcloud.pagesize`), kept in `_meta`: a client that
-- learnt nothing yet starts from them.
local function load_page_sizes(conn, cx)
  local text = conn:value("SELECT value FROM _meta WHERE name = 'page_sizes'")
  local ok, t = pcall(cjson.decode, text or "{}")
  if ok and type(t) == "table" then cx:_page_sizes():import(t) end
end

local function save_page_sizes(conn, cx)
  local t = cx:_page_sizes():export()
  if next(t) == nil then return end
  conn:exec("INSERT INTO _meta (name, value) VALUES ('page_sizes', ?) ON CONFLICT (name)"
    .. " DO UPDATE SET value = excluded.value", cjson.encode(t))
end

--- Runs one sync. See `cxcloud.store` for the options and the result.
-- @param db the store
-- @param cx a client
-- @tparam table opts
-- @treturn table|nil run
-- @treturn string|nil error
function M.run(db, cx, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("db:sync: options must be a table, got " .. type(opts), 2) end
  local customers = check_list("customers", opts.customers, "customer ID")
  local ops = select_operations(check_list("operations", opts.operations, "operation name"))
  if opts.progress ~= nil and type(opts.progress) ~= "function" then
    error("db:sync: progress must be a function, got " .. type(opts.progress), 2)
  end
  if opts.keep ~= nil and (type(opts.keep) ~= "number" or opts.keep < 0) then
    error("db:sync: keep must be a number of days (>= 0), got " .. tostring(opts.keep), 2)
  end
  local conn = db.conn
  local ctx = setmetatable({ db = db, cx = cx, conn = conn, rows = 0, done = 0, skipped = {},
    progress = opts.progress, t0 = os.time(), calls0 = cx:stats().requests, at = M.now() }, Ctx)
  local quota = cx:quota()
  close_interrupted(conn)
  load_page_sizes(conn, cx)
  -- the calls other processes made today with this client id count in cx:quota()
  cx:_share_quota(quota.day, M.stored_calls(conn, quota.day, quota.client))
  local run_text = conn:value("INSERT INTO _runs (started, status, host, client) VALUES (?, 'running', ?, ?)"
    .. " RETURNING CAST(run AS TEXT)", ctx.at, db.host, quota.client)
  ctx.run_text = run_text
  conn:try_lock("run " .. run_text)

  -- the customers: given, else every customer the client sees (from the customers pair
  -- when it is synced, so that it costs no extra call)
  local pairs_list = {}
  local want_customers = false
  for _, op in ipairs(ops) do if op.name == "customers" then want_customers = true end end
  local function add_pair(op, cid)
    pairs_list[#pairs_list + 1] = setmetatable({ ctx = ctx, conn = conn, op = op, cid = cid,
      global = is_global(op) }, Pair)
  end
  local first_results = {}
  if want_customers then
    add_pair(operations.customers, "")
    ctx.npairs = 1
    first_results[1] = pairs_list[1]:run()
    ctx.done = 1
  end
  local ids = customers
  local fail
  if not ids then
    ids = {}
    if want_customers and not first_results[1].skipped then
      for r in conn:rows('SELECT "customerId" FROM customers ORDER BY "customerId"') do
        ids[#ids + 1] = r.customerId
      end
    else
      local list, err = cx:customers():all()
      if not list then fail = "cannot list the customers: " .. message_of(err)
      else
        for _, c in ipairs(list) do ids[#ids + 1] = c.customerId end
      end
    end
  end
  for _, op in ipairs(ops) do
    if op.name ~= "customers" then
      if is_global(op) then add_pair(op, "")
      else
        for _, cid in ipairs(ids) do add_pair(op, tostring(cid)) end
      end
    end
  end
  ctx.npairs = #pairs_list
  local rest = {}
  for i = want_customers and 2 or 1, #pairs_list do rest[#rest + 1] = pairs_list[i] end
  local function one(p)
    local r = p:run()
    ctx.done = ctx.done + 1
    if r.skipped then ctx.skipped[#ctx.skipped + 1] = true end
    ctx:report()
    return r
  end
  local results, errs
  if compat.yields then
    results, errs = cx:map(rest, one)
  else
    -- PUC Lua 5.1 cannot yield across pcall (cx:map): one pair after the other
    results = {}
    for i, p in ipairs(rest) do results[i] = one(p) end
  end
  local run = { run = tonumber(run_text), calls = 0, rows = 0, added = 0, changed = 0, removed = 0,
    baseline = 0,
    skipped = {}, pairs = #pairs_list, complete = 0, notes = {} }
  local function account(p, r)
    if r == nil then r = { skipped = "stopped: " .. message_of(errs and errs[p] or "unknown error") } end
    if r.skipped then
      run.skipped[#run.skipped + 1] = { customerId = p.cid ~= "" and p.cid or nil, operation = p.op.name,
        error = r.skipped }
    else
      run.complete = run.complete + 1
      run.rows = run.rows + r.rows
      run.added, run.changed, run.removed = run.added + r.added, run.changed + r.changed,
        run.removed + r.removed
      run.baseline = run.baseline + r.baseline
      if r.repeated > 0 then
        run.notes[#run.notes + 1] = format("%s%s: %d rows repeated a key (%s) and were kept by their content",
          p.op.name, p.cid ~= "" and " of customer " .. p.cid or "", r.repeated, concat(p.op.key or {}, ", "))
      end
    end
  end
  if want_customers then account(pairs_list[1], first_results[1]) end
  for i, p in ipairs(rest) do account(p, results and results[i] or nil) end
  if fail then run.skipped[#run.skipped + 1] = { error = fail } end
  run.calls = cx:stats().requests - ctx.calls0
  run.status = (#run.skipped == 0 and "complete") or (run.complete > 0 and "partial") or "failed"
  local finished = M.now()
  local ok, err = pcall(function()
    conn:transaction(function()
      conn:exec('UPDATE _runs SET finished = ?, status = ?, calls = ?, "rows" = ?, added = ?, changed = ?,'
        .. " removed = ?, pairs = ?, skipped = ? WHERE run = ?", finished, run.status, tostring(run.calls),
        tostring(run.rows), tostring(run.added), tostring(run.changed), tostring(run.removed),
        tostring(run.pairs), #run.skipped > 0 and cjson.encode(run.skipped) or nil, run_text)
      save_page_sizes(conn, cx)
      if run.calls > 0 then
        conn:exec("INSERT INTO _quota (day, client, calls) VALUES (?, ?, ?) ON CONFLICT (day, client)"
          .. " DO UPDATE SET calls = _quota.calls + excluded.calls", quota.day, quota.client or "",
          tostring(run.calls))
      end
      if opts.keep then
        local cutoff = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - math.floor(opts.keep * 86400))
        conn:exec("DELETE FROM _changes WHERE at < ?", cutoff)
        conn:exec("DELETE FROM _runs WHERE started < ? AND status <> 'running' AND run <> ?", cutoff,
          run_text)
      end
    end)
  end)
  pcall(conn.unlock, conn, "run " .. run_text)
  if not ok then return nil, message_of(err), run end
  if run.calls > 0 then cx:_share_quota(quota.day, nil, run.calls) end
  if #run.notes == 0 then run.notes = nil end
  return run
end


--- What the next sync will cost, from the store alone: each pair's pages in its last
-- complete extract (`_pairs.pages`), a pair never synced counted as unknown, against the
-- calls left today (`cx:quota()` with the store's record). No API call, except listing the
-- customers when none are given and the store has none.
-- @param db the store
-- @param cx a client
-- @tparam[opt] table opts `customers`, `operations` (as for `db:sync`)
-- @treturn table `{pairs, known, unknown, calls, listing, day, today, limit, left}`
function M.plan(db, cx, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("db:plan: options must be a table, got " .. type(opts), 2) end
  local ids = check_list("customers", opts.customers, "customer ID")
  local ops = select_operations(check_list("operations", opts.operations, "operation name"))
  local conn = db.conn
  local quota = cx:quota()
  cx:_share_quota(quota.day, M.stored_calls(conn, quota.day, quota.client))
  quota = cx:quota()
  local plan = { pairs = 0, known = 0, unknown = 0, calls = 0, listing = 0, day = quota.day,
    today = quota.calls, limit = quota.limit, left = quota.left }
  load_page_sizes(conn, cx)
  local function add(op, cid)
    plan.pairs = plan.pairs + 1
    local rows = conn:value('SELECT CAST("rows" AS TEXT) FROM _pairs'
      .. ' WHERE operation = ? AND "customerId" = ?', op.name, cid)
    if rows then
      -- pages at the size the next pull starts with; an empty extract is one call too
      local pages = math.max(1, math.ceil(tonumber(rows) / cx:_page_size(op.name)))
      plan.known, plan.calls = plan.known + 1, plan.calls + pages
    else
      plan.unknown = plan.unknown + 1
    end
  end
  local per_customer = false
  for _, op in ipairs(ops) do
    if is_global(op) then add(op, "") else per_customer = true end
  end
  if per_customer and not ids then
    ids = {}
    local ok, list = pcall(conn.all, conn, 'SELECT DISTINCT "customerId" FROM customers'
      .. ' ORDER BY "customerId"')
    for _, r in ipairs(ok and list or {}) do ids[#ids + 1] = r.customerId end
    if #ids == 0 then ids = db:synced_customers() end
    if #ids == 0 then
      local before = cx:stats().requests
      local all, err = cx:customers():all()
      if not all then return nil, "cannot list the customers: " .. message_of(err) end
      for _, c in ipairs(all) do ids[#ids + 1] = c.customerId end
      plan.listing = cx:stats().requests - before
    end
  end
  for _, op in ipairs(ops) do
    if not is_global(op) then
      for _, cid in ipairs(ids) do add(op, tostring(cid)) end
    end
  end
  return plan
end

return M
