-- The PostgreSQL harness (spec/support/postgres.lua) against a real cluster, through luadbi
-- as the store will use it: password authentication, a bound insert, a refused password,
-- connections terminated and a server killed mid-use (an error, not a crash or a hang),
-- and nothing left behind: not by stop(), an erroring spec process or a SIGKILLed one.
local core = require "cxcloud.core"
local pg = require "spec.support.postgres"
local quote = require("cxcloud.shell").quote

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"

local ok, why = pg.available()
if ok and not pcall(require, "dbd.postgresql") then
  ok, why = false, "luadbi's PostgreSQL driver is missing (Debian: lua-dbi-postgresql)"
end
-- make test-system installs the packages: there, not running is a failure
if not ok and os.getenv("CXCLOUD_REQUIRE_POSTGRES") == "1" then
  error("the PostgreSQL specs cannot run: " .. why)
end

local DBI = ok and require "DBI"

local function exists(path)
  local r = os.execute("test -e " .. quote(path))
  return r == true or r == 0
end

-- a zombie is not running: the container's init reaps orphans late
local function running(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local stat = f:read("*a")
  f:close()
  return not stat:match("^%d+ %b() Z")
end

local function connect(server, password)
  return DBI.Connect("PostgreSQL", server.dbname, server.user, password or server.password,
    server.host, server.port)
end

-- `n` Lua processes at once, each running `code` with the harness loaded as `pg`; their
-- outputs, in order
local function children(n, code)
  local dir = os.tmpname()
  local cmd = {}
  for i = 1, n do
    cmd[i] = string.format("%s -e %s >%s 2>&1 &", LUA,
      quote("local pg = require 'spec.support.postgres' " .. code), quote(dir .. "." .. i))
  end
  os.execute(table.concat(cmd, " ") .. " wait")
  local out = {}
  for i = 1, n do
    local f = assert(io.open(dir .. "." .. i))
    out[i] = f:read("*a")
    f:close()
    os.remove(dir .. "." .. i)
  end
  os.remove(dir)
  return out
end

local describe_pg = ok and describe or function(name) pending(name .. ": " .. why) end

describe_pg("the PostgreSQL harness #harness", function()
  local server

  setup(function()
    local t0 = core.now()
    -- a password that a URI must encode
    server = pg.start { password = "p@ss w:rd/%?#&'\"x" }
    local took = core.now() - t0
    io.stderr:write(string.format("\npostgres harness: started in %.2f s\n", took))
    -- measured: 1.1-1.3 s on 2 cores (initdb --no-sync, pg_ctl -w, CREATE DATABASE)
    assert.is_true(took < 10, took)
  end)

  teardown(function() server:stop() end)

  it("connects through luadbi with the password, inserts with $1, reads back", function()
    local conn = assert(connect(server))
    finally(function() conn:close() end)
    assert(conn:prepare("CREATE TABLE t (v TEXT)")):execute()
    local insert = assert(conn:prepare("INSERT INTO t VALUES ($1)"))
    assert.is_true(insert:execute("it's bound"))
    assert.equal(1, insert:affected())
    assert.is_true(conn:commit())
    local select = assert(conn:prepare("SELECT v FROM t"))
    assert.is_true(select:execute())
    local rows = {}
    for row in select:rows(true) do rows[#rows + 1] = row.v end
    assert.same({ "it's bound" }, rows)
    -- committed: another connection (psql, by the URI) sees it
    assert.equal("it's bound", server:psql("SELECT v FROM t"))
  end)

  it("listens on 127.0.0.1 only, its socket in its own directory, password by scram", function()
    assert.equal("127.0.0.1", server.host)
    assert.matches("^/tmp/cxcloud%-pg%.", server.dir)
    assert.equal(string.format("postgresql://cxcloud:p%%40ss%%20w%%3Ard%%2F%%25%%3F%%23%%26%%27%%22x"
      .. "@127.0.0.1:%d/cxcloud_test", server.port), server.uri)
    assert.equal("127.0.0.1", server:psql("SHOW listen_addresses"))
    assert.equal(server.dir, server:psql("SHOW unix_socket_directories"))
    assert.is_true(exists(server.dir .. "/.s.PGSQL." .. server.port))
    assert.equal("off", server:psql("SHOW fsync"))
    assert.equal("scram-sha-256", server:psql("SHOW password_encryption"))
    local out, err = server:psql("SELECT 1/0")
    assert.is_nil(out)
    assert.matches("division by zero", err)
  end)

  it("refuses a wrong password with an error message", function()
    local conn, err = connect(server, "not the password")
    assert.is_nil(conn)
    -- luadbi 0.7.2 loses libpq's message (see the harness's header): the log has the reason
    assert.equal("Failed to connect to database: no connection to the server\n", err)
    assert.matches('FATAL:  password authentication failed for user "cxcloud"', server:log())
  end)

  it("terminate_backends: the next statement fails with an error, a new connection works",
    function()
      local conn = assert(connect(server))
      finally(function() conn:close() end)
      assert.equal(1, server:terminate_backends())
      local stmt, err = conn:prepare("SELECT 1")
      assert.is_nil(stmt)
      assert.matches("^Error preparing statement handle: server closed the connection "
        .. "unexpectedly", err)
      local again = assert(connect(server))
      again:close()
    end)

  it("restart: the data is kept, on the same port", function()
    local port = server.port
    server:restart()
    assert.equal(port, server.port)
    assert.equal("it's bound", server:psql("SELECT v FROM t"))
  end)

  it("kill: the next statement fails with an error, not a crash or a hang; stop cleans up",
    function()
      local victim = pg.start {}
      finally(function() victim:stop() end)
      local conn = assert(connect(victim))
      finally(function() conn:close() end)
      local stmt = assert(conn:prepare("SELECT 1"))
      local pid = victim:pid()
      victim:kill()
      assert.is_false(running(pid))
      local t0 = core.now()
      local called, executed, err = pcall(stmt.execute, stmt)
      assert.is_true(called, executed)
      assert.is_false(executed)
      assert.matches("^Error executing statement parameters: server closed the connection "
        .. "unexpectedly", err)
      assert.is_true(core.now() - t0 < 2)
      assert.is_nil(connect(victim))
      victim:restart()
      assert.equal("1", victim:psql("SELECT 1"))
      victim:kill()
      victim:stop()
      assert.is_false(exists(victim.dir))
      victim:stop() -- twice is harmless
    end)

  it("two spec processes at once: distinct directories and ports", function()
    local out = children(2, "local s = pg.start {} print(s.dir, s.port, s:psql('SELECT 41 + 1'))"
      .. " s:stop() print(io.open(s.dir) == nil)")
    local a = { out[1]:match("^(%S+)\t(%d+)\t42\ntrue\n$") }
    local b = { out[2]:match("^(%S+)\t(%d+)\t42\ntrue\n$") }
    assert.equal(2, #a, out[1])
    assert.equal(2, #b, out[2])
    assert.are_not.equal(a[1], b[1])
    assert.are_not.equal(a[2], b[2])
  end)

  it("a spec process that errors or is SIGKILLed leaves no directory and no server", function()
    local errored = children(1, "local s = pg.start {} print(s.dir, s:pid()) io.stdout:flush() "
      .. "error('boom')")[1]
    local errored_dir, errored_pid = errored:match("^(%S+)\t(%d+)\n")
    assert(errored_dir, errored)
    assert.matches("boom", errored)
    assert.is_false(exists(errored_dir))
    assert.is_false(running(errored_pid))
    local killed = children(1, "local s = pg.start {} print(s.dir, s:pid()) io.stdout:flush() "
      .. "os.execute('kill -KILL $PPID')")[1]
    local killed_dir, killed_pid = killed:match("^(%S+)\t(%d+)\n")
    assert(killed_dir, killed)
    -- the watchdog polls every second
    for _ = 1, 50 do
      if not exists(killed_dir) then break end
      os.execute("sleep 0.1")
    end
    assert.is_false(exists(killed_dir))
    assert.is_false(running(killed_pid))
  end)
end)
