--- A real, throw-away PostgreSQL for the store's specs (Debian's postgresql 15): a cluster
-- made by initdb in its own directory under /tmp, scram-sha-256 password authentication,
-- listening only on 127.0.0.1 on a free port, its unix socket in that directory.
--
--    local pg = require "spec.support.postgres"
--    local ok, why = pg.available()          -- false, "initdb not found ..." when it cannot run
--    local server = pg.start { password = "optional; generated otherwise" }
--    DBI.Connect("PostgreSQL", server.dbname, server.user, server.password, server.host,
--                server.port)
--    server.uri                              -- postgresql://user:pw@127.0.0.1:port/dbname
--    server:psql("SELECT 1")                 -- output (unaligned, tuples only), or nil, err
--    server:terminate_backends()             -- every other client connection is closed
--    server:log()                            -- the server's log (why a login failed)
--    server:kill()                           -- SIGKILL the postmaster and its children
--    server:restart()                        -- stop (or after kill) and start on the same port
--    server:stop()                           -- stop and remove the directory; idempotent
--
-- Started as root (as CI runs), initdb and pg_ctl run as the postgres OS user through
-- runuser (or su); started as anyone else, as that user. Each cluster has its own directory
-- (/tmp/cxcloud-pg.XXXXXX: find leftovers with `ls -d /tmp/cxcloud-pg.*`) and port, so
-- parallel spec processes do not meet. Cleanup: stop() by the spec; the server object's
-- __gc/__close, which busted runs when the interpreter closes (also after an error); and a
-- watchdog shell, started with the cluster, that stops it and removes the directory within
-- a second or two of the Lua process's death, even by SIGKILL. Only a SIGKILL of the
-- watchdog and of the spec together leaves a directory (and a postmaster) behind, and a
-- SIGKILLed spec after kill() a 56-byte SysV segment (`ipcs -m`, owner postgres). __gc on a
-- table needs Lua 5.2+; on 5.1 and LuaJIT the watchdog alone cleans up after an error.
-- Measured on 2 busy cores: start() 1.2-1.9 s (initdb --no-sync, pg_ctl -w, CREATE
-- DATABASE), restart() 0.25 s, stop() 0.05 s; the spec file about 15 s.
--
-- luadbi 0.7.2 (Debian 0.7.2-4) on lua5.4, measured against this cluster (PostgreSQL 15)
-- and an SQLite3 file with a throw-away script (its source agrees: dbd/*/connection.c,
-- statement.c of mwild1/luadbi v0.7.2):
-- * Placeholders: both drivers take `?` (luadbi rewrites it to `$n` for PostgreSQL, outside
--   single quotes) and their native form: `$1` for PostgreSQL; `?`, `?1`, `$1` for SQLite.
-- * Transactions: autocommit is OFF by default in both. PostgreSQL sends BEGIN at connect
--   and again after each commit()/rollback(); SQLite sends BEGIN lazily before each
--   execute when no transaction is open, so even a SELECT holds SQLite's SHARED lock until
--   commit(): another connection's write then fails "database is locked".
--   commit()/rollback() return true; with autocommit on they return false (PostgreSQL
--   also prints "WARNING:  there is no transaction in progress" on stderr, from libpq).
--   conn:autocommit(true) ROLLS BACK the open transaction (uncommitted work is lost) and
--   returns true (SQLite: false when no transaction was open). SQLite's autocommit(false)
--   always returns false (it still switches). With autocommit on, explicit BEGIN, COMMIT
--   and ROLLBACK statements work in both. With it off, an explicit BEGIN is a warning on
--   PostgreSQL ("there is already a transaction in progress") and an error on SQLite
--   ("Execute failed cannot start a transaction within a transaction").
-- * After an error with autocommit off, PostgreSQL's transaction is aborted: every
--   statement fails ("Error preparing statement handle: ERROR:  current transaction is
--   aborted, commands ignored until end of transaction block\n") until rollback(); and
--   commit() then returns TRUE although the server rolled everything back. SQLite keeps
--   the transaction and its earlier statements.
-- * stmt:affected() after UPDATE: the number of rows changed, as an integer (3; 0 when
--   none matched); the same after INSERT and DELETE; DBI.Do returns it. stmt:rowcount()
--   works on PostgreSQL and raises on SQLite ("Method DBD.SQLite3.Statement.rowcount is
--   not implemented").
-- * Rows: stmt:rows(true) yields { column = value } tables, rows(false)/rows() arrays; one
--   fresh table per row; stmt:fetch(named) one row, nil at the end; stmt:columns() names.
-- * Types read back: integer columns as Lua integers, but through C `int` in BOTH drivers
--   (atoi; sqlite3_column_int): 2^31 reads -2147483648, 2^32+1 reads 1, 2^53+1 reads 1,
--   2^63-1 reads -1. Read big integers as text (CAST(n AS TEXT)) and convert in Lua.
--   PostgreSQL: float8 and numeric as floats, boolean as boolean, everything else
--   (timestamptz, jsonb, text) as strings. SQLite: REAL as float, TEXT as string.
-- * Binding: PostgreSQL sends every value as text (tostring), so integers of any size
--   bind exactly, as numbers or strings; booleans as "1"/"0". SQLite binds every Lua
--   number as a double (sqlite3_bind_double): 2^53+1 is stored as 2^53, 2^63-1 as the
--   REAL 9.2233720368547758e+18, and `SELECT ?` with 3 reads back 3.0; bind big integers as
--   strings into INTEGER-affinity columns (stored exactly). Booleans bind as 1/0 (ints).
-- * NULL: bind with a nil argument (both; PostgreSQL sends SQL NULL); read back, the key
--   is absent from a named row and the array slot is nil. SQLite checks the parameter
--   count: "Statement expected 1 parameters but received 0"; PostgreSQL: "Error executing
--   statement parameters: ERROR:  bind message supplies 0 parameters, but prepared
--   statement \"dbd-postgresql-...\" requires 1\n".
-- * SQLite: `PRAGMA busy_timeout = 5000` works through prepare/execute (reads back 5000;
--   a locked write then waits that long before "Execute failed database is locked";
--   without it that error is immediate). `PRAGMA journal_mode = WAL` fails inside the
--   implicit transaction ("cannot change into wal mode from within a transaction"): run it
--   with autocommit on, or right after commit().
-- * Constraint violation, returned by execute as false, message:
--   PostgreSQL "Error executing statement parameters: ERROR:  duplicate key value violates
--   unique constraint \"t_pkey\"\nDETAIL:  Key (id)=(1) already exists.\n";
--   SQLite "Execute failed UNIQUE constraint failed: t.id".
-- * Lost connection (PostgreSQL; terminate_backends() or kill()): ping() still says true
--   until a call fails. Then prepare returns nil, "Error preparing statement handle: server
--   closed the connection unexpectedly\n\tThis probably means the server terminated
--   abnormally\n\tbefore or while processing the request.\n"; execute of an already
--   prepared statement returns false, "Error executing statement parameters: server closed
--   the connection unexpectedly\n..." (same text). Afterwards ping() is false, prepare
--   returns nil, "Error allocating statement handle: no connection to the server\n",
--   commit() false, and execute of a prepared statement RAISES "Statement unavailable:
--   database closed" (pcall it). A connection never reconnects, also after a restart():
--   the same errors; open a new one. After conn:close(), prepare returns nil, "Database
--   not available". No call hung.
-- * Connect failures lose libpq's reason: luadbi sends BEGIN before it checks the status,
--   so a wrong password, an unknown user and a server that is down all return nil,
--   "Failed to connect to database: no connection to the server\n"; an unknown database
--   "Failed to connect to database: server closed the connection unexpectedly\n\tThis
--   probably means ...". The server's log has the reason (server:log(): 'FATAL:  password
--   authentication failed for user "cxcloud"', 'FATAL:  database "nodb" does not exist').
local socket = require "cqueues.socket"
local quote = require("cxcloud.shell").quote

local M = {}

local Server = {}
Server.__index = Server

local PREFIX = "/tmp/cxcloud-pg."

local function ok_status(a, _, code)
  -- os.execute and pipe:close return true/nil (5.2+) or the status (5.1)
  if type(a) == "number" then return a == 0 end
  return a == true and (code == nil or code == 0)
end

local function sh(cmd)
  return ok_status(os.execute(cmd))
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function capture(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  return out, ok_status(p:close())
end

-- The newest installed server's binaries (Debian keeps them off PATH), else PATH's.
local function bindir()
  local out = capture("ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1")
  local dir = out:match("^(%S+)/initdb")
  if dir then return dir end
  out = capture("command -v initdb")
  return out:match("^(/%S+)/initdb")
end

local function is_root()
  return (capture("id -u")):match("^0%s") ~= nil
end

--- Can a cluster be started here? true, or false and the reason.
function M.available()
  local bin = bindir()
  if not bin then return false, "initdb not found (Debian: apt-get install postgresql)" end
  for _, name in ipairs { "pg_ctl", "postgres" } do
    if not sh("test -x " .. quote(bin .. "/" .. name)) then
      return false, name .. " not found in " .. bin
    end
  end
  if not sh("command -v psql >/dev/null 2>&1") then return false, "psql not found" end
  if is_root() then
    if not sh("id -u postgres >/dev/null 2>&1") then
      return false, "running as root and there is no postgres user to run initdb as"
    end
    if not sh("command -v runuser >/dev/null 2>&1 || command -v su >/dev/null 2>&1") then
      return false, "running as root and neither runuser nor su is there"
    end
  end
  return true
end

local function free_port()
  local s = assert(socket.listen { host = "127.0.0.1", port = 0 })
  assert(s:listen())
  local _, _, port = s:localname()
  s:close()
  return port
end

-- 24 random bytes as hex: no character that a URI or a conninfo string would need to quote
local function random_password()
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(24)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- `cmd` as the cluster's owner, in the cluster's directory (the owner may not be able to
-- enter the caller's working directory, which pg_ctl and initdb need).
-- PostgreSQL's programs run without the sanitizer runtime that `make test-asan` preloads
-- into the specs (initdb's bootstrap backend hangs under it).
local CLEAN_ENV = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS "

function Server:as_owner(cmd)
  cmd = "cd " .. quote(self.dir) .. " && " .. CLEAN_ENV .. cmd
  if not self.root then return "sh -c " .. quote(cmd) end
  if sh("command -v runuser >/dev/null 2>&1") then
    return "runuser -u postgres -- sh -c " .. quote(cmd)
  end
  return "su postgres -s /bin/sh -c " .. quote(cmd)
end

function Server:fail(what)
  local logs = {}
  for _, name in ipairs { "initdb.log", "pg_ctl.log", "server.log" } do
    local text = read(self.dir .. "/" .. name)
    if text and text ~= "" then logs[#logs + 1] = "--- " .. name .. ":\n" .. text end
  end
  local dir = self.dir
  self:stop()
  error("postgres harness: " .. what .. " (" .. dir .. ")\n" .. table.concat(logs, "\n"), 3)
end

-- the postmaster's pid, from its lock file
function Server:pid()
  return tonumber((read(self.dir .. "/data/postmaster.pid") or ""):match("^(%d+)"))
end

-- a zombie counts as dead: the container's init may be slow to reap what pg_ctl detached
local function alive(pid)
  local stat = read("/proc/" .. pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() Z")
end

local function wait_dead(pid, seconds)
  for _ = 1, seconds * 20 do
    if not alive(pid) then return true end
    os.execute("sleep 0.05")
  end
  return not alive(pid)
end

function Server:pg_ctl(args)
  return sh(self:as_owner(quote(self.bin .. "/pg_ctl") .. " -D data " .. args
    .. " >>pg_ctl.log 2>&1"))
end

-- Start the postmaster on self.port; false, log when the port was taken meanwhile.
function Server:launch()
  local before = #(read(self.dir .. "/server.log") or "")
  if self:pg_ctl("-l server.log -w -t 30 -o " .. quote("-p " .. self.port) .. " start") then
    return true
  end
  local log = (read(self.dir .. "/server.log") or ""):sub(before + 1)
  return false, log
end

local CONF = [[

# spec/support/postgres.lua: loopback only, speed over durability
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 30
]]

--- Make and start a cluster with one database. opts: password (generated: 48 hex digits),
-- user ("cxcloud", a superuser), dbname ("cxcloud_test").
function M.start(opts)
  opts = opts or {}
  local bin = bindir()
  assert(bin, "postgres harness: initdb not found; check pg.available() first")
  local dir = (capture("mktemp -d " .. PREFIX .. "XXXXXX")):match("^(%S+)")
  assert(dir and dir:sub(1, #PREFIX) == PREFIX, "postgres harness: mktemp failed")
  local self = setmetatable({
    dir = dir, bin = bin, root = is_root(), host = "127.0.0.1",
    user = opts.user or "cxcloud", password = opts.password or random_password(),
    dbname = opts.dbname or "cxcloud_test",
  }, Server)
  if self.root and not sh("chown postgres: " .. quote(dir)) then self:fail("chown failed") end
  -- the watchdog: $PPID of os.execute's shell is this Lua process
  local q = quote(dir)
  sh("lua_pid=$PPID; setsid sh -c " .. quote([[
while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
[ -d "$2" ] || exit 0
pid=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null)
[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null && sleep 1
rm -rf "$2"]]) .. " watchdog \"$lua_pid\" " .. q .. " </dev/null >/dev/null 2>&1 &")
  write(dir .. "/pwfile", self.password .. "\n")
  if self.root then sh("chown postgres: " .. quote(dir .. "/pwfile")) end
  local init = sh(self:as_owner(quote(bin .. "/initdb") .. " -D data -U " .. quote(self.user)
    .. " --pwfile=pwfile -A scram-sha-256 -E UTF8 --locale=C --no-sync --no-instructions"
    .. " >initdb.log 2>&1"))
  os.remove(dir .. "/pwfile")
  if not init then self:fail("initdb failed") end
  local conf = assert(io.open(dir .. "/data/postgresql.conf", "ab"))
  conf:write(string.format(CONF, dir))
  conf:close()
  local started, log
  for _ = 1, 5 do
    self.port = free_port()
    started, log = self:launch()
    if started then break end
    -- another process took the port between free_port() and the bind: try another one
    if not (log:find("could not bind", 1, true) or log:find("in use", 1, true)) then break end
  end
  if not started then self:fail("pg_ctl start failed") end
  self.uri = string.format("postgresql://%s:%s@%s:%d/%s", url_encode(self.user),
    url_encode(self.password), self.host, self.port, url_encode(self.dbname))
  local _, err = self:psql('CREATE DATABASE "' .. self.dbname:gsub('"', '""') .. '"', "postgres")
  if err then self:fail("CREATE DATABASE failed: " .. err) end
  return self
end

--- Run `sql` with psql as the cluster's user, over TCP with the password (to `dbname`,
-- default the cluster's database), by the URI: the password is on psql's command line,
-- harmless for a throw-away cluster on loopback. Returns the output (unaligned, tuples
-- only, without the last newline), or nil and psql's message.
function Server:psql(sql, dbname)
  local uri = self.uri
  if dbname then uri = uri:gsub("/[^/]*$", "/" .. url_encode(dbname)) end
  local out, ok = capture(CLEAN_ENV .. "PGCONNECT_TIMEOUT=5 psql -X -q -A -t -v ON_ERROR_STOP=1 -d "
    .. quote(uri) .. " -c " .. quote(sql))
  out = out:gsub("\n$", "")
  if not ok then return nil, out end
  return out
end

--- The server's log (for assertions: authentication failures are only there, see above).
function Server:log()
  return read(self.dir .. "/server.log") or ""
end

--- Terminate every client connection but psql's own (pg_terminate_backend): their next
-- statement fails. Returns how many were terminated.
function Server:terminate_backends()
  local out, err = self:psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    .. " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
  assert(out, err)
  return tonumber(out)
end

--- SIGKILL the postmaster and its children (a crash: no message to clients, their sockets
-- close). stop() still cleans up; restart() recovers.
function Server:kill()
  local pid = self:pid()
  if not (pid and alive(pid)) then return end
  -- line 7 of the lock file: the SysV segment's key and id, which a killed postmaster leaves
  -- behind (56 bytes); a restart removes it, stop() must
  local n = 0
  for line in (read(self.dir .. "/data/postmaster.pid") or ""):gmatch("[^\n]*\n") do
    n = n + 1
    if n == 7 then self.shmid = tonumber(line:match("^%s*%d+%s+(%d+)")) end
  end
  local children = capture("ps -o pid= --ppid " .. pid)
  os.execute("kill -KILL " .. pid .. " " .. children:gsub("%s+", " ") .. " 2>/dev/null")
  assert(wait_dead(pid, 5), "postgres harness: the postmaster survived SIGKILL")
  for child in children:gmatch("%d+") do wait_dead(tonumber(child), 5) end
  -- a new postmaster takes an unreaped zombie for a live one: wait until init reaps it
  for _ = 1, 100 do
    if not read("/proc/" .. pid .. "/stat") then break end
    os.execute("sleep 0.05")
  end
end

--- Stop the server if it runs (fast shutdown, else immediate, else SIGKILL).
function Server:halt()
  local pid = self:pid()
  if not (pid and alive(pid)) then return end
  if not self:pg_ctl("-w -t 10 -m fast stop") then self:pg_ctl("-w -t 5 -m immediate stop") end
  if alive(pid) then self:kill() end
  wait_dead(pid, 5)
end

--- Stop (if running) and start again on the same port; the data is kept.
function Server:restart()
  assert(not self.stopped, "postgres harness: restart after stop")
  self:halt()
  self.shmid = nil -- the new postmaster removes a killed one's segment
  local started = self:launch()
  if not started then self:fail("restart failed") end
end

--- Stop the server and remove its directory. Safe to call twice, and after kill().
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  self:halt()
  if self.shmid then os.execute("ipcrm -m " .. self.shmid .. " 2>/dev/null") end
  os.execute("rm -rf " .. quote(self.dir))
end

Server.__gc = Server.stop
Server.__close = Server.stop

return M
