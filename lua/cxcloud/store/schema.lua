--- The store's tables: created when missing, checked when present, widened when the
-- service sends a field it did not send before.
--
-- Per operation, a table named after its method: `customerId`, a column per field the
-- service sent, and the store's own columns (`_key` the row's natural key, `_hash` the
-- digest of `_row`, `_row` the whole item as canonical JSON, `_run` the run that last
-- wrote it). The history: `_runs` (one row per sync) and `_changes` (one row per change).
-- The bookkeeping: `_pairs` (the last complete extract of each customer and operation),
-- `_staging` (rows of extracts still being pulled), `_quota` (calls per client and UTC
-- day), `_meta` (the layout's version).
-- @module cxcloud.store.schema

local operations = require "cxcloud.operations"

local M = {}

local format = string.format

--- The version of this layout, kept in `_meta`.
M.VERSION = "1"

--- Most data columns a table gets; further fields stay in `_row` only.
M.MAX_COLUMNS = 400

local function q(conn, name) return conn:quote(name) end

local function base_tables(conn)
  local T, I, S = conn:type_of("text"), conn:type_of("integer"), conn:type_of("serial")
  return {
    format("CREATE TABLE IF NOT EXISTS _meta (name %s PRIMARY KEY, value %s)", T, T),
    format("CREATE TABLE IF NOT EXISTS _runs (run %s, started %s NOT NULL, finished %s,"
      .. " status %s NOT NULL, calls %s, %s %s, added %s, changed %s, removed %s, pairs %s,"
      .. " skipped %s, host %s, client %s)", S, T, T, T, I, q(conn, "rows"), I, I, I, I, I, T, T, T),
    format("CREATE TABLE IF NOT EXISTS _changes (id %s, run %s NOT NULL, at %s NOT NULL,"
      .. ' operation %s NOT NULL, "customerId" %s NOT NULL, key %s NOT NULL, change %s NOT NULL,'
      .. " fields %s, old %s, new %s)", S, I, T, T, T, T, T, T, T, T),
    "CREATE INDEX IF NOT EXISTS _changes_run ON _changes (run)",
    'CREATE INDEX IF NOT EXISTS _changes_customer ON _changes ("customerId", operation)',
    format('CREATE TABLE IF NOT EXISTS _pairs (operation %s NOT NULL, "customerId" %s NOT NULL,'
      .. ' run %s NOT NULL, %s %s, pages %s, page_size %s, synced %s,'
      .. ' PRIMARY KEY (operation, "customerId"))', T, T, I, q(conn, "rows"), I, I, I, T),
    format('CREATE TABLE IF NOT EXISTS _staging (run %s NOT NULL, operation %s NOT NULL,'
      .. ' "customerId" %s NOT NULL, _key %s NOT NULL, _hash %s NOT NULL, _row %s NOT NULL)',
      I, T, T, T, T, T),
    'CREATE INDEX IF NOT EXISTS _staging_key ON _staging (run, operation, "customerId", _key)',
    format("CREATE TABLE IF NOT EXISTS _quota (day %s NOT NULL, client %s NOT NULL, calls %s NOT NULL,"
      .. " PRIMARY KEY (day, client))", T, T, I),
  }
end

-- the columns a table must have to be ours
local REQUIRED = {
  _runs = { "run", "started", "status" }, _changes = { "run", "at", "operation", "change" },
  _pairs = { "operation", "customerId", "run" }, _staging = { "run", "_key", "_row" },
  _quota = { "day", "client", "calls" }, _meta = { "name", "value" },
}

local function foreign(conn, tbl, missing)
  error({ store = true, message = format("store %s: table %s was not made by cxcloud (it has no"
    .. " column %s); use another database or schema, or drop that table", conn.shown, tbl, missing) }, 0)
end

local function check_columns(conn, tbl, required)
  local cols = conn:columns(tbl)
  if not cols then return nil end
  local have = {}
  for _, c in ipairs(cols) do have[c.name] = c end
  for _, name in ipairs(required) do
    if not have[name] then foreign(conn, tbl, name) end
  end
  return cols
end

--- Creates the store's own tables when missing and checks those that exist.
-- @param conn a backend connection
function M.prepare(conn)
  for tbl, required in pairs(REQUIRED) do check_columns(conn, tbl, required) end
  for _, op in ipairs(operations) do check_columns(conn, op.name, { "customerId", "_key", "_row",
    "_hash" }) end
  conn:transaction(function()
    for _, sql in ipairs(base_tables(conn)) do conn:exec(sql) end
    local v = conn:value("SELECT value FROM _meta WHERE name = 'layout'")
    if v == nil then
      conn:exec("INSERT INTO _meta (name, value) VALUES ('layout', ?)", M.VERSION)
    elseif v ~= M.VERSION then
      error({ store = true, message = format("store %s has layout version %s; this cxcloud reads"
        .. " version %s", conn.shown, tostring(v), M.VERSION) }, 0)
    end
  end)
end

--- A field name that can be a column: letters, digits and `_`, not starting with `_`
-- (those are the store's), at most 63 characters (PostgreSQL's limit).
-- @tparam string name
-- @treturn boolean
function M.column_name_ok(name)
  return type(name) == "string" and #name <= 63 and name:find("^%a[%w_]*$") ~= nil
end

local Table = {}
Table.__index = Table

--- The table of one operation, created when missing: `{name =, columns = {name -> type}}`.
-- @param conn
-- @tparam string op method name
-- @treturn table
function M.table(conn, op)
  local t = setmetatable({ conn = conn, name = op, columns = {}, lower = {}, count = 0 }, Table)
  t:reload()
  if t.count == 0 then
    conn:transaction(function()
      conn:exec(format('CREATE TABLE IF NOT EXISTS %s ("customerId" %s NOT NULL, _key %s NOT NULL,'
        .. ' _hash %s NOT NULL, _row %s NOT NULL, _run %s NOT NULL, PRIMARY KEY ("customerId", _key))',
        q(conn, op), conn:type_of("text"), conn:type_of("text"), conn:type_of("text"),
        conn:type_of("text"), conn:type_of("integer")))
    end)
    t:reload()
  end
  return t
end

--- Reads the table's columns again (another process may have added some).
function Table:reload()
  self.columns, self.lower, self.count = {}, {}, 0
  for _, c in ipairs(self.conn:columns(self.name) or {}) do
    self.columns[c.name] = c.type
    self.lower[c.name:lower()] = c.name
    if c.name:sub(1, 1) ~= "_" then self.count = self.count + 1 end
  end
end

--- Adds a column for each field in `fields` (name -> "number"|"text") that has none yet
-- and can have one; call inside the transaction that writes the rows. Indexes the
-- operation's natural key fields.
-- @tparam table fields
function Table:widen(fields)
  local names = {}
  for name in pairs(fields) do
    if not self.columns[name] and M.column_name_ok(name) then names[#names + 1] = name end
  end
  if #names == 0 then return end
  table.sort(names)
  self:reload()
  local conn = self.conn
  local keys = {}
  for _, k in ipairs(operations[self.name].key or {}) do keys[k] = true end
  for _, name in ipairs(names) do
    -- SQLite's column names ignore case: a field that differs from a column only in case
    -- stays in _row
    if not self.columns[name] and not self.lower[name:lower()] and self.count < M.MAX_COLUMNS then
      conn:exec(format("ALTER TABLE %s ADD COLUMN %s%s %s", q(conn, self.name),
        conn.kind == "postgresql" and "IF NOT EXISTS " or "", q(conn, name), conn:type_of(fields[name])))
      if keys[name] then
        conn:exec(format("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", q(conn, self.name .. "_" .. name),
          q(conn, self.name), q(conn, name)))
      end
      self.columns[name] = fields[name]
      self.lower[name:lower()] = name
      self.count = self.count + 1
    end
  end
end

--- The data columns in a stable order.
-- @treturn table array of names
function Table:data_columns()
  local out = {}
  for name in pairs(self.columns) do
    if name:sub(1, 1) ~= "_" and name ~= "customerId" then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end


return M
