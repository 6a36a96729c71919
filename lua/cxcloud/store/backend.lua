--- The one database interface under the store: SQLite (a file) or PostgreSQL (a server),
-- both through luadbi (Debian's `lua-dbi-sqlite3` and `lua-dbi-postgresql`).
--
-- Everything above this module writes one SQL text for both databases, with `?`
-- placeholders (luadbi's PostgreSQL driver turns them into `$n`) and identifiers quoted by
-- `quote`. Values are always bound, never pasted into SQL. What differs between the two
-- lives here: the connection target, column types, run numbering, the start of a write
-- transaction, the list of a table's columns and the locks that keep two syncs off one pair.
--
-- luadbi 0.7.2 facts this module is built around (measured on lua5.4):
--
-- * with autocommit off its SQLite driver leaves writes of one connection invisible to
--   others in ways that are hard to follow: connections run with autocommit on, and every
--   transaction is an explicit `BEGIN` ... `COMMIT`;
-- * after a failed `execute` its SQLite statements keep failing: a statement that failed is
--   dropped from the cache and prepared again;
-- * its SQLite driver reads integers as 32-bit: numbers are read back only as text
--   (`CAST(x AS TEXT)`) or from the JSON of a row, and values are bound as text (exact
--   digits), which both databases convert into a numeric column.
-- @module cxcloud.store.backend

local DBI_ok, DBI = pcall(require, "DBI")

local M = {}

local format = string.format

-- A libpq URI: postgresql://[user[:password]@][host][:port][/dbname][?...]
local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- Parses a store target: a `postgresql://` (or `postgres://`) URI, or else a file path.
-- @tparam string target
-- @treturn table|nil `{kind = "sqlite", path = }` or `{kind = "postgresql", user, password,
--   host, port, dbname, shown}` (`shown`: the URI without its password); nil for another
--   scheme
-- @treturn string|nil why not
function M.parse(target)
  if type(target) ~= "string" or target == "" then
    error("cxcloud.store.open: expected a file path (SQLite) or a postgresql:// URI, got "
      .. (type(target) == "string" and "an empty string" or type(target)), 3)
  end
  local rest = target:match("^postgresql://(.*)$") or target:match("^postgres://(.*)$")
  if not rest then
    if target:find("^%a[%w+.-]*://") then
      return nil, format("unsupported store '%s': a file path (SQLite) or a postgresql:// URI is"
        .. " accepted", (target:gsub("//[^/@]*@", "//")))
    end
    return { kind = "sqlite", path = target, shown = target }
  end
  local t = { kind = "postgresql" }
  local authority, path = rest:match("^([^/?]*)(.*)$")
  local userinfo, hostport = authority:match("^(.*)@([^@]*)$")
  if not userinfo then hostport = authority end
  if userinfo then
    local u, p = userinfo:match("^([^:]*):(.*)$")
    t.user = unescape(u or userinfo)
    t.password = p and unescape(p) or nil
  end
  local host, port = hostport:match("^%[(.*)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]*):?(%d*)$") end
  t.host = host ~= "" and unescape(host) or nil
  t.port = port ~= "" and tonumber(port) or nil
  t.dbname = path:match("^/([^?]+)")
  t.dbname = t.dbname and unescape(t.dbname) or nil
  t.user = t.user ~= "" and t.user or os.getenv("PGUSER") or os.getenv("USER")
  t.dbname = t.dbname or os.getenv("PGDATABASE") or t.user
  t.host = t.host or os.getenv("PGHOST") or "localhost"
  t.port = t.port or tonumber(os.getenv("PGPORT") or "") or 5432
  t.shown = format("postgresql://%s@%s:%d/%s", t.user or "", t.host, t.port, t.dbname or "")
  return t
end

-- ~/.pgpass: hostname:port:database:username:password, `*` matching anything
local function pgpass(t)
  local file = os.getenv("PGPASSFILE") or ((os.getenv("HOME") or "") .. "/.pgpass")
  local f = io.open(file, "r")
  if not f then return nil end
  local function field(s) return (s:gsub("\\(.)", "%1")) end
  for line in f:lines() do
    if not line:find("^%s*#") then
      local parts, cur = {}, ""
      local i = 1
      while i <= #line do
        local ch = line:sub(i, i)
        if ch == "\\" then cur = cur .. line:sub(i, i + 1); i = i + 1
        elseif ch == ":" and #parts < 4 then parts[#parts + 1] = cur; cur = ""
        else cur = cur .. ch end
        i = i + 1
      end
      parts[#parts + 1] = cur
      local function match(pat, v) return pat == "*" or field(pat) == tostring(v) end
      if #parts == 5 and match(parts[1], t.host) and match(parts[2], t.port)
        and match(parts[3], t.dbname) and match(parts[4], t.user) then
        f:close()
        return field(parts[5])
      end
    end
  end
  f:close()
  return nil
end

local Conn = {}
Conn.__index = Conn

--- Quotes an identifier (table or column name) for SQL.
-- @tparam string name
-- @treturn string
function M.quote(name)
  return '"' .. name:gsub('"', '""') .. '"'
end
Conn.quote = function(_, name) return M.quote(name) end

local function fail_message(self, sql, err)
  return format("store %s: %s (in: %s)", self.shown, tostring(err):gsub("%s+$", ""),
    sql:gsub("%s+", " "):sub(1, 120))
end

function Conn:_prepare(sql)
  local st = self.cache[sql]
  if st then return st end
  local s, err = self.dbh:prepare(sql)
  if not s then return nil, err end
  self.cache[sql] = s
  return s
end

--- Runs a statement; raises `{store = true, message = ...}` on failure. A statement that
-- returns rows must have them all read (`rows`, `all`, `value`), or SQLite refuses to
-- commit.
-- @tparam string sql with `?` placeholders
-- @param ... the bound values (nil binds NULL)
-- @return the statement (to read rows from)
function Conn:exec(sql, ...)
  if not self.dbh then error({ store = true, message = "store " .. self.shown .. " is closed" }, 0) end
  local st, err = self:_prepare(sql)
  if st then
    -- luadbi raises instead of returning false once a PostgreSQL connection is lost
    local called, ok, e = pcall(st.execute, st, ...)
    if called and ok then return st end
    err = called and e or ok
    self.cache[sql] = nil
    pcall(st.close, st)
  end
  error({ store = true, message = fail_message(self, sql, err) }, 0)
end

--- The rows of a query, each a table keyed by column name.
-- @tparam string sql
-- @param ... bound values
-- @treturn function iterator
function Conn:rows(sql, ...)
  return self:exec(sql, ...):rows(true)
end

--- All rows of a query in an array.
function Conn:all(sql, ...)
  local out = {}
  for r in self:rows(sql, ...) do out[#out + 1] = r end
  return out
end

--- The first column of the first row, or nil.
function Conn:value(sql, ...)
  local v
  for r in self:exec(sql, ...):rows(false) do
    if v == nil then v = r[1] end
  end
  return v
end

-- rows per multi-row INSERT: one statement (one round trip to PostgreSQL) per this many, with
-- at most 999 values (luadbi numbers PostgreSQL's placeholders with three digits at most)
local BATCH, MAX_VALUES = 50, 999

-- `s` `n` times, joined by ", " (string.rep takes no separator on Lua 5.1)
local function joined(s, n)
  local t = {}
  for i = 1, n do t[i] = s end
  return table.concat(t, ", ")
end

--- A multi-row INSERT: `add(...)` queues one row's values (exactly `width` of them, nil
-- for NULL), a statement runs per `BATCH` rows, `flush()` runs the rest. Call both inside
-- the transaction.
-- @tparam string head "INSERT INTO t (a, b, c)"
-- @tparam integer width values per row
-- @treturn table `{add = function(...), flush = function()}`
function Conn:inserter(head, width)
  local one = "(" .. string.rep("?, ", width - 1) .. "?)"
  local per = math.max(1, math.min(BATCH, math.floor(MAX_VALUES / width)))
  local full = head .. " VALUES " .. joined(one, per)
  local args, rows = {}, 0
  local conn = self
  local unpack = table.unpack or rawget(_G, "unpack")
  local b = {}
  function b.flush()
    if rows == 0 then return end
    local sql = rows == per and full or head .. " VALUES " .. joined(one, rows)
    conn:exec(sql, unpack(args, 1, rows * width))
    args, rows = {}, 0
  end
  function b.add(...)
    local base = rows * width
    for i = 1, width do args[base + i] = (select(i, ...)) end
    rows = rows + 1
    if rows == per then b.flush() end
  end
  return b
end

--- SQL for one field of a row's JSON (the column `src`: its `_row`, as JSON text in SQLite,
-- as `jsonb` in PostgreSQL) as the store's column of type `kind` ("number" or "text") holds
-- it, and the values it binds: numbers only in a number column; strings as text,
-- booleans as "true"/"false", nested values as JSON text in a text column; JSON null as NULL.
-- `shape` says what the extract held for that field: a field of strings only for a text
-- column, or of numbers only for a number column, is read as it is, without the checks.
-- @tparam string src
-- @tparam string name the field (a checked column name)
-- @tparam string kind
-- @tparam[opt] string shape "string", "number" or "mixed"; nil when no row had the field
-- @treturn string SQL
-- @treturn table the values to bind, in order
function Conn:json_field(src, name, kind, shape)
  local plain = shape == nil or (kind == "text" and shape == "string")
    or (kind == "number" and shape == "number")
  if self.kind == "sqlite" then
    local path = '$."' .. name .. '"'
    if plain then return format("json_extract(%s, ?)", src), { path } end
    if kind == "number" then
      return format("CASE WHEN json_type(%s, ?) IN ('integer', 'real') THEN json_extract(%s, ?) END",
        src, src),
        { path, path }
    end
    return format("CASE WHEN json_type(%s, ?) IN ('true', 'false') THEN json_type(%s, ?)"
      .. " ELSE json_extract(%s, ?) END", src, src, src), { path, path, path }
  end
  if kind == "number" then
    return format("CASE WHEN jsonb_typeof(%s -> ?::text) = 'number' THEN (%s ->> ?::text)::numeric END",
      src, src),
      { name, name }
  end
  return format("(%s ->> ?::text)", src), { name }
end

--- The `_staging` rows that `where` selects (its `?` bound by the caller), as `s`, with
-- their JSON as `s.j` on PostgreSQL, parsed once per row (OFFSET 0 keeps the planner from
-- copying the parse into every reference).
-- @tparam string where
-- @treturn string SQL: a FROM item and its WHERE
-- @treturn string the JSON column's SQL
function Conn:staging_rows(where)
  if self.kind == "sqlite" then return "_staging s WHERE " .. where, "s._row" end
  return "(SELECT _staging.*, _row::jsonb AS j FROM _staging WHERE " .. where .. " OFFSET 0) s", "s.j"
end

--- Starts a write transaction (SQLite: takes the write lock at once, waiting for it).
function Conn:begin()
  self:exec(self.kind == "sqlite" and "BEGIN IMMEDIATE" or "BEGIN")
  self.in_tx = true
end

function Conn:commit()
  self:exec("COMMIT")
  self.in_tx = false
end

--- Rolls back the open transaction, if any; never raises.
function Conn:rollback()
  if not self.in_tx then return end
  self.in_tx = false
  pcall(self.exec, self, "ROLLBACK")
end

--- Runs `fn(self)` inside one transaction; rolls back and re-raises on error.
function Conn:transaction(fn, ...)
  self:begin()
  local ok, res = pcall(fn, self, ...)
  if not ok then
    self:rollback()
    error(res, 0)
  end
  self:commit()
  return res
end

--- SQL type of a column holding numbers / text / a run number.
function Conn:type_of(kind)
  if kind == "number" then return "NUMERIC" end
  if kind == "serial" then
    return self.kind == "sqlite" and "INTEGER PRIMARY KEY AUTOINCREMENT"
      or "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
  end
  if kind == "integer" then return self.kind == "sqlite" and "INTEGER" or "BIGINT" end
  return "TEXT"
end

--- The columns of a table: array of `{name =, type = "number"|"text"}`, or nil when the
-- table does not exist.
function Conn:columns(tbl)
  local out = {}
  if self.kind == "sqlite" then
    for r in self:rows("SELECT name, type FROM pragma_table_info(?)", tbl) do
      out[#out + 1] = { name = r.name, type = (r.type or ""):upper() == "NUMERIC" and "number" or "text" }
    end
  else
    for r in self:rows("SELECT column_name AS name, data_type AS type FROM information_schema.columns"
      .. " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position", tbl) do
      out[#out + 1] = { name = r.name, type = r.type == "numeric" and "number" or "text" }
    end
  end
  if #out == 0 then return nil end
  return out
end

-- A lock slot for a name in a SQLite store's lock file.
local function slot(core, name)
  return tonumber(core.digest(name):sub(1, 7), 16)
end

--- Tries to take the lock called `name` for this connection's life (or until `unlock`):
-- true, or false and who holds it (a text), without waiting. A process that dies drops its
-- locks (SQLite: fcntl locks on `<file>.lock`; PostgreSQL: advisory locks of the session).
function Conn:try_lock(name)
  assert(not name:find("%z"), "a lock name holds no NUL byte")
  if self.kind == "sqlite" then
    local core = require "cxcloud.core"
    if not self.lockfile then
      local lf, err = core.lockfile(self.path .. ".lock")
      if not lf then error({ store = true, message = "store " .. self.shown .. ": " .. err }, 0) end
      self.lockfile = lf
    end
    local ok, pid = self.lockfile:try(slot(core, name))
    if ok == nil then error({ store = true, message = "store " .. self.shown .. ": " .. tostring(pid) },
      0) end
    if ok then return true end
    return false, pid and ("process " .. tostring(pid)) or "another process"
  end
  local got = self:value("SELECT CASE WHEN pg_try_advisory_lock(hashtext('cxcloud'), hashtext(?))"
    .. " THEN 'yes' ELSE 'no' END", name)
  if got == "yes" then return true end
  return false, "another session"
end

function Conn:unlock(name)
  if self.kind == "sqlite" then
    if self.lockfile then self.lockfile:release(slot(require "cxcloud.core", name)) end
    return
  end
  self:value("SELECT CASE WHEN pg_advisory_unlock(hashtext('cxcloud'), hashtext(?)) THEN 'yes' END", name)
end

function Conn:close()
  if not self.dbh then return end
  self:rollback()
  for _, st in pairs(self.cache) do pcall(st.close, st) end
  self.cache = {}
  pcall(self.dbh.close, self.dbh)
  self.dbh = nil
  if self.lockfile then self.lockfile:close(); self.lockfile = nil end
end

local function refuse(t, err)
  return nil, format("cannot open store %s: %s", t.shown, tostring(err):gsub("%s+$", ""))
end

--- Opens a store's database.
-- @tparam string target a file path or a postgresql:// URI
-- @treturn[1] table connection
-- @treturn[2] nil
-- @treturn[2] string what went wrong
function M.open(target)
  local t, why = M.parse(target)
  if not t then return nil, why end
  if not DBI_ok then
    return nil, "cxcloud.store needs luadbi (Debian: lua-dbi-sqlite3, lua-dbi-postgresql): "
      .. tostring(DBI):match("[^\n]*")
  end
  local dbh, err
  if t.kind == "sqlite" then
    -- luadbi would report a path it cannot create as "unable to open database file"
    local probe, cannot = io.open(t.path, "a")
    if not probe then return refuse(t, cannot) end
    probe:close()
    local ok, d, e = pcall(DBI.Connect, "SQLite3", t.path)
    dbh, err = ok and d or nil, ok and e or d
  else
    local password = t.password or os.getenv("PGPASSWORD") or pgpass(t)
    local ok, d, e = pcall(DBI.Connect, "PostgreSQL", t.dbname, t.user, password, t.host, t.port)
    dbh, err = ok and d or nil, ok and e or d
    if err and password then err = tostring(err):gsub(password:gsub("%p", "%%%0"), "***") end
  end
  if not dbh then
    err = tostring(err or "unknown error")
    if t.kind == "postgresql" and err:find("no connection to the server", 1, true) then
      -- luadbi drops libpq's reason: a wrong password, an unknown user and a server that
      -- is down all read the same
      err = err:gsub("%s+$", "") .. " (the server is down or unreachable, or refused the user or"
        .. " password: the server's log says which)"
    end
    return refuse(t, err)
  end
  dbh:autocommit(true)
  local conn = setmetatable({ dbh = dbh, kind = t.kind, path = t.path, shown = t.shown, cache = {} }, Conn)
  local ok, e = pcall(function()
    if t.kind == "sqlite" then
      conn:value("PRAGMA busy_timeout = 60000")
      conn:value("PRAGMA journal_mode = WAL")
      conn:value("PRAGMA synchronous = NORMAL")
      conn:value("PRAGMA foreign_keys = OFF")
    else
      conn:exec("SET client_min_messages = warning")
    end
  end)
  if not ok then
    conn:close()
    return refuse(t, type(e) == "table" and e.message or e)
  end
  return conn
end

return M
