--- The store part of the benchmark (`bench/run.lua --store`, `make bench-store`): syncs
-- into SQLite and PostgreSQL (`cxcloud.store`), each sync a child process under
-- /usr/bin/time.
--
-- 1. Partner sync: 50 customers x every operation, the sandbox enforcing 10 requests/s (and
--    the client's default rate_limit = 10), 200 ms latency; `bin/cxcloud sync --db DB -q`,
--    a first sync and a second one with nothing changed, into SQLite and into PostgreSQL
--    (spec/support/postgres.lua: a throw-away cluster). Hardware per customer spread
--    quadratically over 20..1000 rows (many small customers, a few large; other operations
--    follow from the hardware). Bound = calls / rate. Rows written by the second sync:
--    rows whose `_run` is that run, plus its `_changes` rows (must be 0).
-- 2. Apply speed: one customer of 100,000 hardware rows, no latency, no rate limit on
--    either side (bench/clients/cxcloud_store_sync.lua, rate_limit = 0), first sync.
-- 3. Memory: one customer of 300,000 hardware rows into SQLite; peak RSS.
-- 4. Peer: bench/clients/python_sqlite_sync.py (requests, pages of 100, sqlite3
--    executemany, full replace) on the sandbox of part 1.
--
-- `B` is what run.lua lends: opt, say, note, out, md_table, fmt_num, sh_quote, read_file,
-- capture, apt_install, TMP, TIME, LUA, PY, ROOT, BENCH, LUA_PATH, LUA_CPATH, sandbox, core, available,
-- workload (bench/workload.lua), fail(): counts a failure. Returns run(), which measures and
-- returns report(), which appends the report and returns the goal lines.

local format, concat = string.format, table.concat

return function(B)
  local opt, say, note = B.opt, B.say, B.note
  local sh_quote, fmt_num = B.sh_quote, B.fmt_num
  local operations = require "cxcloud.operations"
  local pg_mod
  do
    local ok, m = pcall(require, "spec.support.postgres")
    if ok then pg_mod = m end
  end

  local seq = 0
  -- runs `cmd` (a shell command) with env under /usr/bin/time; returns
  -- {ok, wall, cpu, rss (MiB), fields (RESULT line), out, err}
  local function timed(env, cmd)
    seq = seq + 1
    local base = format("%s/store-%03d", B.TMP, seq)
    local parts = { "cd", sh_quote(B.TMP), "&&", "env", "-u", "REQUESTS_CA_BUNDLE", "-u", "CURL_CA_BUNDLE" }
    local keys = {}
    for k in pairs(env) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = sh_quote(k .. "=" .. tostring(env[k])) end
    parts[#parts + 1] = format("timeout -k 10 %d %s -f '%%e %%U %%S %%M' -o %s %s >%s 2>%s", opt.timeout,
      B.TIME, sh_quote(base .. ".time"), cmd, sh_quote(base .. ".out"), sh_quote(base .. ".err"))
    local ok = os.execute(concat(parts, " "))
    local r = { ok = ok == true, fields = {} }
    local tl = (B.read_file(base .. ".time") or ""):match("([%d.]+ [%d.]+ [%d.]+ %d+)%s*$")
    if tl then
      local e, u, s, m = tl:match("(%S+) (%S+) (%S+) (%S+)")
      r.wall, r.cpu, r.rss = tonumber(e), tonumber(u) + tonumber(s), tonumber(m) / 1024
    else
      r.ok = false
    end
    r.out = B.read_file(base .. ".out") or ""
    r.err = (B.read_file(base .. ".err") or ""):gsub("%s+$", "")
    local line = r.out:match("RESULT ([^\n]*)")
    if line then
      for k, v in line:gmatch("([%w_]+)=(%S+)") do r.fields[k] = tonumber(v) or v end
    end
    -- bin/cxcloud sync's summary line: "run N complete: 455/455 pairs, 925 calls, 63,523 rows, ..."
    local run, status, calls, rows = r.out:match("run (%d+) (%a+): %d+/%d+ pairs, ([%d,]+) calls, ([%d,]+) rows")
    if run then
      r.fields.run, r.fields.status = tonumber(run), status
      r.fields.calls = tonumber((calls:gsub(",", "")))
      r.fields.rows = tonumber((rows:gsub(",", "")))
    end
    if not r.ok then
      r.why = format("failed: %s", r.err:sub(-300))
      say("bench: store run FAILED: ", r.why)
      B.fail()
    end
    return r
  end

  local function lua_env(sb, extra)
    local e = sb:env()
    e.LUA_PATH, e.LUA_CPATH = B.LUA_PATH, B.LUA_CPATH
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end

  -- the size of a store and the data rows that run `run` wrote (rows of every operation's
  -- table whose _run is that run, and its _changes rows)
  local function written_sql(run)
    local parts = {}
    for _, op in ipairs(operations) do
      parts[#parts + 1] = format('(SELECT count(*) FROM "%s" WHERE _run = %d)', op.name, run)
    end
    parts[#parts + 1] = format("(SELECT count(*) FROM _changes WHERE run = %d)", run)
    return "SELECT " .. concat(parts, " + ")
  end

  local function sqlite_query(path, sql)
    return B.capture("sqlite3 " .. sh_quote(path) .. " " .. sh_quote(sql))
  end

  local DB = {}
  function DB.sqlite(name)
    local path = format("%s/%s.sqlite", B.TMP, name)
    return {
      kind = "SQLite", target = path,
      size = function()
        local n = 0
        for _, suffix in ipairs { "", "-wal", "-shm" } do
          n = n + (tonumber(B.capture("stat -c %s " .. sh_quote(path .. suffix))) or 0)
        end
        return n
      end,
      query = function(sql) return sqlite_query(path, sql) end,
      stop = function() os.execute("rm -f " .. sh_quote(path) .. "*") end,
    }
  end
  function DB.postgres(name)
    if not pg_mod then return nil, "spec/support/postgres.lua cannot be loaded" end
    local ok, why = pg_mod.available()
    if not ok and B.apt_install("postgresql") then ok, why = pg_mod.available() end
    if not ok then return nil, why end
    if not pcall(require, "dbi") and not pcall(require, "DBI") then B.apt_install("lua-dbi-postgresql") end
    local started, server = pcall(pg_mod.start, { dbname = "bench_" .. name })
    if not started then return nil, tostring(server) end
    return {
      kind = "PostgreSQL", target = server.uri,
      size = function() return tonumber(server:psql("SELECT pg_database_size(current_database())")) end,
      query = function(sql) return server:psql(sql) end,
      stop = function() server:stop() end,
    }
  end

  local function open_db(kind, name)
    local db, why = DB[kind](name)
    if not db then note(format("store: %s rows skipped: %s", kind == "postgres" and "PostgreSQL" or kind, why)) end
    return db
  end

  local results = { partner = {}, apply = {} }

  -----------------------------------------------------------------------------
  -- 1 and 4: the partner sync, and the Python peer

  local function partner_part()
    local n = opt.store_customers
    local sb_opts, total = B.workload.partner_sandbox(n, opt.store_hw_min, opt.store_hw_max,
      { rate_limit = opt.rate_limit, rate_burst = opt.rate_burst, latency = opt.store_latency / 1000,
        max_rows = 1000 })
    results.partner_hw = total
    local sb = B.sandbox.start(sb_opts)
    say(format("\n== store, partner sync: %d customers (hardware %d..%d rows, %d in all), every operation,"
      .. " %g requests/s enforced, %g ms latency", n, opt.store_hw_min, opt.store_hw_max, total,
      opt.rate_limit, opt.store_latency))
    local ok, err = pcall(function()
      for _, kind in ipairs { "sqlite", "postgres" } do
        local db = open_db(kind, "partner")
        if db then
          for k = 1, 2 do
            B.core.sleep(1.5) -- the sandbox's bucket refills
            sb:reset_stats()
            io.stdout:write(format("  %-10s sync %d  ", db.kind, k))
            io.stdout:flush()
            local r = timed(lua_env(sb), sh_quote(B.LUA) .. " " .. sh_quote(B.ROOT .. "/bin/cxcloud")
              .. " sync --db " .. sh_quote(db.target) .. " -q")
            r.db, r.sync = db.kind, k
            r.calls, r.rows = r.fields.calls, r.fields.rows
            r.throttled = sb:stats().throttled
            r.bound = r.calls and r.calls / opt.rate_limit
            r.size = db.size()
            if k == 2 and r.fields.run then
              r.written = tonumber(db.query(written_sql(r.fields.run)))
              if r.written ~= 0 then B.fail() end
            end
            say(format("%s wall %7.2f s  calls %s  rows %s  bound %s s  rss %6.1f MiB  size %.1f MiB  throttled %s%s",
              r.ok and "ok    " or "FAILED", r.wall or -1, tostring(r.calls), tostring(r.rows),
              fmt_num(r.bound, "%.1f"), r.rss or -1, (r.size or 0) / 1048576, tostring(r.throttled),
              r.written and format("  written %d", r.written) or ""))
            results.partner[#results.partner + 1] = r
          end
          db.stop()
        end
      end
      if B.available.python then
        B.core.sleep(1.5)
        sb:reset_stats()
        local customers = {}
        for i = 1, n do customers[i] = sb.all_customers[i] end
        io.stdout:write(format("  %-18s ", "Python + sqlite3"))
        io.stdout:flush()
        local path = B.TMP .. "/python.sqlite"
        local e = sb:env()
        e.BENCH_DB, e.BENCH_CUSTOMERS, e.BENCH_OPERATIONS = path, concat(customers, ","),
          B.workload.python_operations()
        local r = timed(e, sh_quote(B.PY) .. " " .. sh_quote(B.BENCH .. "/clients/python_sqlite_sync.py"))
        r.db, r.sync, r.peer = "SQLite", 1, true
        r.calls, r.rows = r.fields.requests, r.fields.rows
        r.throttled = sb:stats().throttled
        r.api_requests = sb:stats().api_requests
        r.bound = r.calls and (r.calls - (r.fields.throttled or 0)) / opt.rate_limit
        r.size = tonumber(B.capture("stat -c %s " .. sh_quote(path)))
        say(format("%s wall %7.2f s  requests %s (throttled %s)  rows %s  rss %6.1f MiB",
          r.ok and "ok    " or "FAILED", r.wall or -1, tostring(r.calls), tostring(r.fields.throttled),
          tostring(r.rows), r.rss or -1))
        results.peer = r
        os.remove(path)
      end
    end)
    sb:stop()
    if not ok then error(err, 0) end
  end

  -----------------------------------------------------------------------------
  -- 2 and 3: apply speed and memory, no network bound

  local function apply_part()
    local sizes = { opt.store_apply_rows, opt.store_mem_rows }
    local sb = B.sandbox.start { seed = 4, customers = 2, hardware = sizes, rate_limit = 0, latency = 0,
      max_rows = 1000, log_limit = 1000 }
    say(format("\n== store, apply speed: one customer of %d hardware rows, no latency, no rate limit"
      .. " (client rate_limit = 0)", sizes[1]))
    local ok, err = pcall(function()
      local runs = { { kind = "sqlite", ci = 1, what = "apply" }, { kind = "postgres", ci = 1, what = "apply" },
        { kind = "sqlite", ci = 2, what = "memory" } }
      for _, x in ipairs(runs) do
        local db = open_db(x.kind, x.what)
        if db then
          io.stdout:write(format("  %-10s %7d rows  ", db.kind, sizes[x.ci]))
          io.stdout:flush()
          local r = timed(lua_env(sb, { BENCH_DB = db.target, BENCH_CUSTOMERS = sb.all_customers[x.ci],
            BENCH_OPERATIONS = "hardware", BENCH_RATE_LIMIT = 0 }),
            sh_quote(B.LUA) .. " " .. sh_quote(B.BENCH .. "/clients/cxcloud_store_sync.lua"))
          r.db, r.what, r.want = db.kind, x.what, sizes[x.ci]
          r.rows, r.calls, r.sync_s = r.fields.rows, r.fields.calls, r.fields.sync_s
          if r.ok and r.rows ~= r.want then
            r.why = format("%s rows, expected %d", tostring(r.rows), r.want)
            B.fail()
          end
          r.rate = r.rows and r.sync_s and r.rows / r.sync_s
          r.size = db.size()
          say(format("%s sync %7.2f s (wall %7.2f s, cpu %6.2f s)  %s rows/s  rss %6.1f MiB  size %.1f MiB",
            r.ok and not r.why and "ok    " or "FAILED", r.sync_s or -1, r.wall or -1, r.cpu or -1,
            fmt_num(r.rate, "%.0f"), r.rss or -1, (r.size or 0) / 1048576))
          results.apply[#results.apply + 1] = r
          db.stop()
        end
      end
    end)
    sb:stop()
    if not ok then error(err, 0) end
  end

  -----------------------------------------------------------------------------
  -- the report

  local function report()
    local out, md_table = B.out, B.md_table
    local P = results.partner
    if #P > 0 or results.peer then
      out(format("## Store: partner sync, %d customers x every operation at %g requests/s, %g ms latency",
        opt.store_customers, opt.rate_limit, opt.store_latency))
      out("")
      out(format("`bin/cxcloud sync --db DB -q` (client defaults: rate_limit = 10, page_size = \"auto\"; the"
        .. " sandbox serves pages of up to 1,000 rows and refuses more with a 400) as a child"
        .. " process under `/usr/bin/time`. Hardware per customer spread quadratically over %d..%d rows"
        .. " (%d in all); the other operations follow from it. Bound = calls / rate. Rows/s = rows / wall."
        .. " Size: the SQLite file (with -wal), or `pg_database_size`. Written by sync 2: rows whose `_run`"
        .. " is that run plus its `_changes` rows (must be 0). Peer: bench/clients/python_sqlite_sync.py"
        .. " (requests, pages of 100, sqlite3 `executemany`, full replace, no diff), sequential; its bound"
        .. " counts its answered requests.", opt.store_hw_min, opt.store_hw_max, results.partner_hw or 0))
      out("")
      local rows = {}
      local all = {}
      for _, r in ipairs(P) do all[#all + 1] = r end
      if results.peer then all[#all + 1] = results.peer end
      for _, r in ipairs(all) do
        rows[#rows + 1] = {
          r.peer and "Python requests + sqlite3" or format("cxcloud sync %d (%s)", r.sync,
            r.sync == 1 and "first" or "no change"),
          r.db, r.ok and fmt_num(r.wall) or ("FAILED: " .. (r.why or "?")), fmt_num(r.bound, "%.1f"),
          (r.wall and r.bound) and fmt_num(r.wall / r.bound, "%.2fx") or "-",
          tostring(r.calls or "-") .. (r.peer and r.fields.throttled and format(" (%d throttled)", r.fields.throttled) or ""),
          tostring(r.rows or "-"), (r.rows and r.wall) and fmt_num(r.rows / r.wall, "%.0f") or "-",
          fmt_num(r.cpu), fmt_num(r.rss, "%.1f"), r.size and fmt_num(r.size / 1048576, "%.1f") or "-",
          r.written and tostring(r.written) or "-",
        }
      end
      out(md_table({ "run", "database", "wall s", "bound s", "wall / bound", "calls", "rows", "rows/s",
        "CPU s", "peak RSS MiB", "size MiB", "written by sync 2" }, rows, "llrrrrrrrrrr"))
      out("")
    end
    local A = results.apply
    if #A > 0 then
      out("## Store: apply speed and memory (no latency, no rate limit, client rate_limit = 0)")
      out("")
      out("bench/clients/cxcloud_store_sync.lua: one customer, operations = {\"hardware\"}, first sync into an"
        .. " empty store, the client's default page_size (\"auto\": pages of 1,000 rows here, the sandbox's"
        .. " limit). Sync s: `db:sync` alone (the child's own clock, without start-up);"
        .. " rows/s = rows / sync s; it includes the pull from the sandbox (TLS, JSON decode), whose server"
        .. " thread shares the machine's 2 cores with the client.")
      out("")
      local rows = {}
      for _, r in ipairs(A) do
        rows[#rows + 1] = { r.what == "apply" and "apply speed" or "memory", r.db, tostring(r.want),
          (r.ok and not r.why) and fmt_num(r.sync_s) or ("FAILED: " .. (r.why or "?")), fmt_num(r.wall),
          fmt_num(r.cpu), fmt_num(r.rate, "%.0f"), fmt_num(r.rss, "%.1f"),
          r.size and fmt_num(r.size / 1048576, "%.1f") or "-" }
      end
      out(md_table({ "part", "database", "rows", "sync s", "wall s", "CPU s", "rows/s", "peak RSS MiB",
        "size MiB" }, rows, "llrrrrrrr"))
      out("")
    end
    -- goals
    local goals = {}
    local function verdict(b) return b and "**met**" or "**missed**" end
    for _, r in ipairs(P) do
      if r.sync == 2 and r.written then
        goals[#goals + 1] = format("- Store, %s second sync wrote %d data rows (goal 0): %s", r.db, r.written,
          verdict(r.written == 0))
      end
    end
    for _, r in ipairs(A) do
      if r.what == "apply" and r.rate then
        local goal = r.db == "SQLite" and 50000 or 10000
        goals[#goals + 1] = format("- Store apply speed, %s: %.0f rows/s (goal >= %d): %s", r.db, r.rate, goal,
          verdict(r.rate >= goal))
      elseif r.what == "memory" and r.rss then
        goals[#goals + 1] = format("- Store memory, %d rows into %s: peak RSS %.1f MiB (goal < 100 MiB): %s",
          r.want, r.db, r.rss, verdict(r.rss < 100))
      end
    end
    return goals
  end

  return function()
    if opt.store_parts.partner then partner_part() end
    if opt.store_parts.apply then apply_part() end
    return report
  end
end
