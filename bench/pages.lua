--- The fewest-calls part of the benchmark (`bench/run.lua --pages`, `make bench-pages`): the
-- API calls and the time that pulls take with cxcloud's page sizes against a service that
-- limits its pages, at 10 requests/s and 1,000 ms latency; each client a child process under
-- /usr/bin/time.
--
-- 1. One customer of 10,000 hardware rows (bench/clients/cxcloud_pull.lua,
--    requests_pull.py).
-- 2. The partner workload of the store's sync: 50 customers x every operation, hardware spread
--    over 20..1000 rows per customer (bench/workload.lua `partner_sandbox`), each client
--    listing its rows, checked against the sandbox's truth (bench/clients/cxcloud_partner.lua
--    with `cx:map` over the pairs, requests_partner.py with ThreadPoolExecutor(6)). The Python
--    pull, about 7 minutes at 1,000 ms, runs beside the others on a sandbox of its own (the same
--    data and limits, its own rate limit), so that the whole part takes about 7 minutes, not 14.
--
-- Both for each page limit of the service (`--pages-limits`, default 1,000 rows refusing
-- more with a 400, 1,000 rows serving shorter pages, 10,000 rows): cxcloud page_size = "auto"
-- (the default once the library has it; else its largest page_size, 1,000); the bound, the
-- fewest calls the sandbox allows: per (customer, operation) ceil(rows / largest page), at
-- least 1, from the sandbox's truth. cxcloud page_size = 100 and the Python scripts (rows =
-- 100) send the same requests under every limit: they run once, under the first. Where the
-- limit lets a page of hardware pass the default max_body_size (8 MiB), one customer again
-- with "auto" and max_body_size = 32 MiB.
-- 3. CPU per 10,000 rows at the largest page (10,000 rows; 1,000 without page_size = "auto"),
--    no latency, no rate limit: cxcloud against Python requests; JSON decode alone; the
--    largest pull again with "auto" at the rate and latency of parts 1 and 2.
--
-- `B` is what run.lua lends: opt, say, note, out, md_table, fmt_num, sh_quote, read_file, sandbox,
-- core, available, workload, run_client, run_checked, decode_costs, client_job, job_result,
-- sandbox_view, report_failure, fail(). Returns run(), which measures and returns
-- report(), which appends the report and returns the goal lines.

local format, concat = string.format, table.concat

return function(B)
  local opt, say, note, fmt_num = B.opt, B.say, B.note, B.fmt_num
  local workload = B.workload

  -- what the library and the sandbox of this branch offer
  local options = require "cxcloud.options"
  local sb_config = require "cxcloud.sandbox.config"
  local function client_accepts(page_size)
    return (pcall(options.validate, { client_id = "x", client_secret = "y", page_size = page_size },
      function() end))
  end
  local has_auto = client_accepts("auto")
  local client_max = client_accepts(10000) and 10000 or 1000
  local has_cap = sb_config.spec.rows_over_max ~= nil
  local sandbox_max = sb_config.ROWS_LIMIT

  local AUTO = has_auto
    and { id = "auto", name = 'cxcloud page_size = "auto" (default)', page_size = "auto" }
    or { id = "auto", name = format("cxcloud page_size = %d (largest accepted; no \"auto\")", client_max),
      page_size = client_max }
  -- auto with room for a whole 10,000-row page of hardware (11 MiB; the default max_body_size
  -- is 8 MiB): run where the limit lets a page pass 8 MiB
  local AUTO_BIG = has_auto and { id = "auto_big", name = 'cxcloud "auto", max_body_size = 32 MiB',
    page_size = "auto", env = { BENCH_MAX_BODY_SIZE = 32 * 1024 * 1024,
      BENCH_MAX_DECODED_SIZE = 256 * 1024 * 1024 } }
  local C100 = { id = "c100", name = "cxcloud page_size = 100", page_size = 100 }
  local PY100 = { id = "python", name = "Python requests, rows = 100" }
  local PY100_PARTNER = { id = "python", name = "Python requests ThreadPoolExecutor(6), rows = 100" }

  -- 10000 -> "10,000"
  local function int(n)
    local s = format("%d", n)
    local k
    repeat s, k = s:gsub("^(%d+)(%d%d%d)", "%1,%2") until k == 0
    return s
  end

  local lat = opt.pages_latency / 1000
  local res = { single = {}, partner = {}, cpu = {}, limits = {} }

  local function limit_name(L)
    if L.rows >= (sandbox_max or math.huge) then
      return format("%s rows (the sandbox's most)", int(L.rows))
    end
    return format("%s rows, %s", int(L.rows), L.mode == "cap" and "shorter pages above" or "400 above")
  end

  local function set_limit(boxes, L)
    local t = { max_rows = L.rows }
    if has_cap then t.rows_over_max = L.mode end
    for _, box in ipairs(boxes) do box:set(t) end
  end

  local function bound_s(calls)
    return (calls - 1) / opt.rate_limit + lat
  end

  local function line(r)
    say(format("%s wall %7.2f s  cpu %5.2f s  rss %6.1f MiB  calls %d (refused %d, throttled %d)  bound %d"
      .. " calls, %.1f s", r.ok and "ok    " or "FAILED", r.wall or -1, r.cpu or -1, r.rss or -1,
      r.api_requests or -1, r.refused or -1, r.throttled or -1, r.bound_calls, r.bound))
  end

  -- what a finished run `r` on `box` measured against limit L and its bound; the operations
  -- refused (400) from the sandbox's log; a Python script that gave up on throttling is its
  -- result, not a failure of the benchmark
  local function settle(r, L, bound_calls, box)
    r.limit, r.bound_calls = L, bound_calls
    r.bound = bound_s(bound_calls)
    local ops, n = {}, 0
    for _, rec in ipairs(box:log()) do
      if rec.status == 400 and rec.op and not ops[rec.op] then
        ops[rec.op] = true
        n = n + 1
      end
    end
    r.refused_ops = n
    local _, gave_up = r.err:gsub("still throttled after 10 tries", "")
    if not r.ok and gave_up > 0 and r.client.kind == "python" then
      r.why = format("%d %s gave up after 10 throttled answers", gave_up, gave_up == 1 and "task" or "tasks")
      r.gave_up = gave_up
      say(format("bench: note: %s: %s", r.client.name, r.why))
    elseif not r.ok then
      B.fail()
    end
    line(r)
    return r
  end

  -----------------------------------------------------------------------------
  -- 1. one customer

  local function single_client(c)
    if c.id == "python" then
      return { id = c.id, name = c.name, kind = "python" }, { BENCH_PAGE_SIZE = 100 }
    end
    local extra = { BENCH_PAGE_SIZE = c.page_size }
    for k, v in pairs(c.env or {}) do extra[k] = v end
    return { id = c.id, name = c.name, kind = "lua" }, extra
  end

  local function single_run(box, c, L)
    local rows = opt.pages_rows
    B.core.sleep(1.5) -- the sandbox's bucket refills; connections of the last run are gone
    io.stdout:write(format("  %-46s ", c.name))
    io.stdout:flush()
    local client, extra = single_client(c)
    local r = B.run_client(client, 1, rows, extra, box)
    r.client_def = c
    res.single[#res.single + 1] = settle(r, L, math.max(1, math.ceil(rows / L.rows)), box)
    return r
  end

  -----------------------------------------------------------------------------
  -- 2. the partner workload

  local function partner_job(c, P)
    local extra = { BENCH_CUSTOMERS = concat(P.customers, ","), BENCH_KEEP = 0 }
    local client
    if c.id == "python" then
      client = { id = c.id, name = c.name, kind = "python", script = "requests_partner.py" }
      extra.BENCH_WORKERS, extra.BENCH_PAGE_SIZE = 6, 100
      extra.BENCH_OPERATIONS = workload.python_operations(nil, true)
    else
      client = { id = c.id, name = c.name, kind = "lua", script = "cxcloud_partner.lua" }
      extra.BENCH_MODE, extra.BENCH_PAGE_SIZE = "map", c.page_size
      local names = {}
      for i, op in ipairs(workload.operations()) do names[i] = op.name end
      extra.BENCH_OPERATIONS = concat(names, ",")
    end
    return client, extra
  end

  local function partner_run(box, c, L, P)
    B.core.sleep(1.5)
    io.stdout:write(format("  %-46s ", c.name))
    io.stdout:flush()
    local client, extra = partner_job(c, P)
    local r = B.run_checked(client, box, extra, P.want, P.n)
    r.client_def = c
    res.partner[#res.partner + 1] = settle(r, L, workload.fewest_calls(P.pairs, L.rows), box)
    return r
  end

  -- The Python partner pull takes about 7 minutes at 1,000 ms: it runs on a sandbox of its own
  -- (the same data, its own rate limit and counters) beside the other runs.
  local function partner_start(box, c, L, P)
    local client, extra = partner_job(c, P)
    box:reset_stats()
    box:clear_log()
    local job = B.client_job(client, box:env(), extra)
    local rc = job.base .. ".rc"
    os.execute("( " .. job.shell .. "; echo $? >" .. B.sh_quote(rc) .. " ) >/dev/null 2>&1 &")
    say(format("  %-46s started beside the other runs, on a sandbox of its own", c.name))
    return { job = job, rc = rc, box = box, c = c, L = L, P = P }
  end

  local function partner_finish(h)
    while not B.read_file(h.rc) do B.core.sleep(1) end
    local code = tonumber(B.read_file(h.rc):match("%d+"))
    local r = B.job_result(h.job, h.P.n, code == 0, code)
    workload.check_ids(r, h.job.ids_file, h.P.want, h.P.n)
    B.sandbox_view(h.box, r)
    B.report_failure(r)
    r.client_def, r.beside = h.c, true
    io.stdout:write(format("  %-46s ", h.c.name))
    res.partner[#res.partner + 1] = settle(r, h.L, workload.fewest_calls(h.P.pairs, h.L.rows), h.box)
  end

  -----------------------------------------------------------------------------
  -- 3. CPU at the largest page

  local function cpu_part(box)
    local page = math.min(client_max, sandbox_max or 10000)
    box:set { latency = 0, token_latency = 0, rate_limit = 0, max_rows = page }
    if has_cap then box:set { rows_over_max = "refuse" } end
    local small, large = opt.pages_cpu_rows[1], opt.pages_cpu_rows[2]
    say(format("\n== fewest calls, CPU: no latency, no rate limit; pulls of %d and %d rows in pages of %d,"
      .. " best of %d", small, large, page, opt.cpu_repeat))
    res.cpu_page = page
    local clients = {
      { id = "cxcloud", name = format("cxcloud page_size = %d", page), kind = "lua",
        env = { BENCH_PAGE_SIZE = page, BENCH_RATE_LIMIT = 0, BENCH_MAX_BODY_SIZE = 256 * 1024 * 1024,
          BENCH_MAX_DECODED_SIZE = 1024 * 1024 * 1024 } },
    }
    if B.available.python then
      clients[2] = { id = "python", name = format("Python requests, rows = %d", page), kind = "python",
        env = { BENCH_PAGE_SIZE = page } }
    end
    for _, c in ipairs(clients) do
      local row = { client = c }
      for k, n in ipairs { small, large } do
        local best
        for _ = 1, opt.cpu_repeat do
          B.core.sleep(0.5)
          local r = B.run_client({ id = c.id, name = c.name, kind = c.kind }, k + 1, n, c.env, box)
          if not r.ok then B.fail() end
          if r.ok and (not best or r.cpu < best.cpu) then best = r end
        end
        row[k] = best
      end
      local a, b = row[1], row[2]
      if a and b then
        row.per10k = b.cpu / (large / 10000)
        row.marginal = (b.cpu - a.cpu) / ((large - small) / 10000)
      end
      say(format("  %-46s cpu %s s / %s s  -> %s s per 10,000 rows (marginal %s s), peak RSS %s MiB", c.name,
        fmt_num(a and a.cpu), fmt_num(b and b.cpu), fmt_num(row.per10k, "%.3f"),
        fmt_num(row.marginal, "%.3f"), fmt_num(b and b.rss, "%.1f")))
      res.cpu[#res.cpu + 1] = row
    end
    -- JSON decode alone, the client's decoder (identifier fields as strings) against json.loads
    local decoder = B.core.decoder(require("cxcloud.operations").identifiers)
    local dc = B.decode_costs(box, 3, page, function(body) return decoder(body, 64, math.huge) end)
    if dc then
      say(format("  JSON decode alone per 10,000 rows (pages of %d): cxcloud %.3f s, Python json.loads %s s",
        page, dc.cxcloud, fmt_num(dc.python, "%.3f")))
    end
    res.cpu_decode = dc
    -- the largest pull again, at the rate and latency of the other runs: is the CPU what waits?
    box:set { latency = lat, token_latency = 0, rate_limit = opt.rate_limit }
    B.core.sleep(1.5)
    io.stdout:write(format("  %-46s ", format("%s, %d rows at the rate", AUTO.name, large)))
    io.stdout:flush()
    local r = B.run_client({ id = "auto", name = AUTO.name, kind = "lua" }, 3, large,
      { BENCH_PAGE_SIZE = AUTO.page_size }, box)
    r.client_def = AUTO
    res.cpu_at_rate = settle(r, { rows = page, mode = "refuse" }, math.ceil(large / page), box)
  end

  -----------------------------------------------------------------------------

  local function run()
    local limits = {}
    for _, L in ipairs(opt.pages_limits) do
      if L.mode == "cap" and not has_cap then
        note(format("fewest calls: the limit \"%d rows, shorter pages above\" skipped: this sandbox has no"
          .. " rows_over_max", L.rows))
      elseif sandbox_max and L.rows > sandbox_max then
        note(format("fewest calls: the limit %d rows skipped: this sandbox serves at most %d", L.rows,
          sandbox_max))
      else
        limits[#limits + 1] = L
      end
    end
    res.limits = limits
    if not has_auto then
      note(format("fewest calls: this library has no page_size = \"auto\"; its row is page_size = %d, the"
        .. " largest it accepts", client_max))
    end
    if #limits == 0 then return end
    local parts = opt.pages_parts
    local first = limits[1]
    local sizes = { opt.pages_rows, opt.pages_cpu_rows[1], opt.pages_cpu_rows[2] }
    local single_sb = B.sandbox.start { seed = 5, customers = 3, hardware = sizes,
      rate_limit = opt.rate_limit, rate_burst = opt.rate_burst, throttle_status = 403, latency = lat,
      max_rows = first.rows, log_limit = 200000 }
    local popts, hw_total = workload.partner_sandbox(opt.pages_customers, opt.store_hw_min, opt.store_hw_max,
      { rate_limit = opt.rate_limit, rate_burst = opt.rate_burst, latency = lat, max_rows = first.rows })
    local partner_sb = B.sandbox.start(popts)
    local python_sb = parts.partner and B.available.python and B.sandbox.start(popts)
    local beside
    local ok, err = pcall(function()
      local P = { customers = {} }
      for i = 1, opt.pages_customers do P.customers[i] = partner_sb.all_customers[i] end
      P.want, P.n, P.pairs = workload.truth(partner_sb, P.customers)
      res.partner_rows, res.partner_pairs, res.partner_hw = P.n, #P.pairs, hw_total
      res.partner_calls100 = workload.fewest_calls(P.pairs, 100)
      res.largest_pair = 0
      for _, p in ipairs(P.pairs) do res.largest_pair = math.max(res.largest_pair, p.rows) end
      local boxes = { single_sb, partner_sb }
      if python_sb then
        say(format("\n== fewest calls, partner: %d customers x every operation (%d pairs, %d rows): pages"
          .. " of %s, %g requests/s, %g ms latency", opt.pages_customers, #P.pairs, P.n, limit_name(first),
          opt.rate_limit, opt.pages_latency))
        beside = partner_start(python_sb, PY100_PARTNER, first, P)
      end
      for i, L in ipairs(limits) do
        set_limit(boxes, L)
        if parts.single then
          say(format("\n== fewest calls, one customer of %d hardware rows: pages of %s, %g requests/s,"
            .. " %g ms latency", opt.pages_rows, limit_name(L), opt.rate_limit, opt.pages_latency))
          single_run(single_sb, AUTO, L)
          if AUTO_BIG and L.rows > 5000 then single_run(single_sb, AUTO_BIG, L) end
          if i == 1 then
            single_run(single_sb, C100, L)
            if B.available.python then single_run(single_sb, PY100, L) end
          end
        end
        if parts.partner then
          say(format("\n== fewest calls, partner: %d customers x every operation (%d pairs, %d rows): pages"
            .. " of %s, %g requests/s, %g ms latency", opt.pages_customers, #P.pairs, P.n, limit_name(L),
            opt.rate_limit, opt.pages_latency))
          partner_run(partner_sb, AUTO, L, P)
          if i == 1 then partner_run(partner_sb, C100, L, P) end
        end
      end
      if parts.cpu then cpu_part(single_sb) end
      if beside then
        say("\n== fewest calls, partner: waiting for the run beside the others")
        partner_finish(beside)
      end
    end)
    single_sb:stop()
    partner_sb:stop()
    if python_sb then python_sb:stop() end
    if not ok then error(err, 0) end
  end

  -----------------------------------------------------------------------------
  -- the report

  local RANK = { auto = 1, auto_big = 2, c100 = 3, python = 4 }
  local function table_of(list)
    local index = {}
    for i, L in ipairs(res.limits) do index[L] = i end
    local sorted = {}
    for i, r in ipairs(list) do sorted[i] = r end
    table.sort(sorted, function(a, b)
      if a.limit ~= b.limit then return index[a.limit] < index[b.limit] end
      return RANK[a.client_def.id] < RANK[b.client_def.id]
    end)
    list = sorted
    local rows = {}
    local last
    for _, r in ipairs(list) do
      if r.limit ~= last then
        last = r.limit
        rows[#rows + 1] = { "**" .. limit_name(r.limit) .. "**", "bound", tostring(r.bound_calls), "-", "-",
          fmt_num(r.bound), "1.00x", "-", "-" }
      end
      local c = r.client_def
      rows[#rows + 1] = { "", c.id == "auto" and ("**" .. c.name .. "**") or c.name,
        tostring(r.api_requests or "-"),
        (r.refused or 0) > 0 and format("%d (%d operation%s)", r.refused, r.refused_ops,
          r.refused_ops == 1 and "" or "s")
          or tostring(r.refused or "-"),
        tostring(r.throttled or "-"),
        r.ok and fmt_num(r.wall) or r.gave_up and format("%s (%s)", fmt_num(r.wall), r.why)
          or ("FAILED: " .. (r.why or "?")),
        (r.ok or r.gave_up) and fmt_num(r.wall / r.bound, "%.2fx") or "-", fmt_num(r.cpu),
        fmt_num(r.rss, "%.1f") }
    end
    return B.md_table({ "service's page limit", "client", "calls", "refused (400)", "throttled", "wall s",
      "wall / bound", "CPU s", "peak RSS MiB" }, rows, "llrrrrrrr")
  end

  local function report()
    local out = B.out
    local goals = {}
    if #res.single == 0 and #res.partner == 0 and #res.cpu == 0 then return goals end
    out(format("## Fewest calls: page sizes against the service's page limit, %g requests/s, %g ms latency",
      opt.rate_limit, opt.pages_latency))
    out("")
    out(format("cxcloud: %s, and page_size = 100. Calls: the API requests the sandbox answered, refused (400:"
      .. " rows above its limit) and throttled included. Bound: the fewest calls the limit allows, from the"
      .. " sandbox's truth (per customer and operation, ceil(rows / largest page), at least 1), sent at the"
      .. " rate: bound s = (calls - 1) / rate + one latency. cxcloud page_size = 100 and Python (rows = 100)"
      .. " send the same requests under every limit: they ran once, under the first; their bound is that"
      .. " limit's.%s", has_auto and 'page_size = "auto" (the default)'
        or format("page_size = %d, the largest this library accepts (it has no page_size = \"auto\")",
          client_max),
      has_cap and "" or " This sandbox has no rows_over_max: no limit with shorter pages."))
    out("")
    if #res.single > 0 then
      out(format("### One customer of %s hardware rows", int(opt.pages_rows)))
      out("")
      out("bench/clients/cxcloud_pull.lua and requests_pull.py (sequential, rows = 100). A page of 10,000"
        .. " hardware rows is 11 MiB, above the default max_body_size (8 MiB): where the limit allows such"
        .. " pages, \"auto\" runs again with max_body_size = 32 MiB.")
      out("")
      out(table_of(res.single))
      out("")
    end
    if #res.partner > 0 then
      out(format("### Partner: %d customers x every operation (%d pairs, %s rows)", opt.pages_customers,
        res.partner_pairs, int(res.partner_rows)))
      out("")
      out(format("The store's partner sandbox (hardware spread over %s..%s rows per customer, %s in all; the"
        .. " largest pair %s rows). bench/clients/cxcloud_partner.lua: `cx:map` over the pairs (operation,"
        .. " customer); requests_partner.py: `ThreadPoolExecutor(max_workers=6)` over customers, rows = 100"
        .. " (%d calls without throttling); it needs minutes, so it ran beside the other runs, on a sandbox"
        .. " of its own (the same data, limits and latency; its own rate limit). Each client lists its rows"
        .. " and drops them (BENCH_KEEP=0); the lists are checked against the sandbox's truth: every row"
        .. " exactly once.", int(opt.store_hw_min),
        int(opt.store_hw_max), int(res.partner_hw), int(res.largest_pair or 0), res.partner_calls100))
      out("")
      out(table_of(res.partner))
      out("")
    end
    if #res.cpu > 0 then
      local small, large = opt.pages_cpu_rows[1], opt.pages_cpu_rows[2]
      out(format("### CPU per 10,000 rows in pages of %s (no latency, no rate limit)", int(res.cpu_page)))
      out("")
      out(format("CPU (user+sys) of the client process, best of %d; per 10,000 rows = CPU of the %d-row"
        .. " pull / %g; marginal = (CPU(%d) - CPU(%d)) / %g. At %g calls/s and %d rows a call the service"
        .. " delivers 10,000 rows every %.2f s at best: \"of the API's time\" is the CPU per 10,000 rows"
        .. " against that.", opt.cpu_repeat, large, large / 10000, large, small,
        (large - small) / 10000, opt.rate_limit, res.cpu_page, 10000 / res.cpu_page / opt.rate_limit))
      out("")
      local rows, py = {}, nil
      for _, row in ipairs(res.cpu) do
        if row.client.id == "python" then py = row end
      end
      local budget = 10000 / res.cpu_page / opt.rate_limit
      for _, row in ipairs(res.cpu) do
        local a, b = row[1], row[2]
        rows[#rows + 1] = { row.client.name, fmt_num(a and a.cpu), fmt_num(b and b.cpu),
          fmt_num(b and b.wall), fmt_num(b and b.rss, "%.1f"), fmt_num(row.per10k, "%.3f"),
          fmt_num(row.marginal, "%.3f"),
          row.per10k and format("%.0f%%", 100 * row.per10k / budget) or "-",
          (py and py.per10k and row.per10k) and format("%.2fx", row.per10k / py.per10k) or "-" }
      end
      out(B.md_table({ "client", format("CPU s, %d rows", small), format("CPU s, %d rows", large),
        format("wall s, %d rows", large), "peak RSS MiB", "CPU s / 10,000 rows", "marginal",
        "of the API's time", "vs Python" }, rows, "lrrrrrrrr"))
      out("")
      local dc = res.cpu_decode
      if dc then
        out(format("JSON decode alone, the same %s-row page (%.1f MiB) decoded over and over, per 10,000"
          .. " rows: cxcloud's decoder (identifiers as strings) %.3f s, Python `json.loads` %s s.",
          int(res.cpu_page), dc.bytes / 1048576, dc.cxcloud, fmt_num(dc.python, "%.3f")))
        out("")
      end
      local r = res.cpu_at_rate
      if r then
        out(format("The %s-row pull again with %s, at %g requests/s and %g ms latency (pages of up to %s"
          .. " rows, the client's default max_body_size): %s calls (%d refused), wall %s s against a bound of"
          .. " %d calls, %.2f s; CPU %s s, %s of the wall time.", int(large), AUTO.name, opt.rate_limit,
          opt.pages_latency, int(res.cpu_page), tostring(r.api_requests or "-"), r.refused or 0,
          r.ok and fmt_num(r.wall) or "FAILED", r.bound_calls, r.bound, fmt_num(r.cpu),
          (r.ok and r.cpu and r.wall) and format("%.0f%%", 100 * r.cpu / r.wall) or "-"))
        out("")
      end
    end
    for _, L in ipairs(res.limits) do
      local s, p
      for _, r in ipairs(res.single) do
        if r.limit == L and r.client_def.id == "auto" then s = r end
      end
      for _, r in ipairs(res.partner) do
        if r.limit == L and r.client_def.id == "auto" then p = r end
      end
      local parts = {}
      if s and s.ok then
        parts[#parts + 1] = format("one customer %d calls (%d refused) vs bound %d, %.2f s vs %.2f s",
          s.api_requests, s.refused, s.bound_calls, s.wall, s.bound)
      end
      if p and p.ok then
        parts[#parts + 1] = format("partner %d calls (%d refused) vs bound %d, %.2f s vs %.2f s",
          p.api_requests, p.refused, p.bound_calls, p.wall, p.bound)
      end
      if #parts > 0 then
        goals[#goals + 1] = format("- Fewest calls, pages of %s: %s: %s", limit_name(L), AUTO.name,
          concat(parts, "; "))
      end
    end
    return goals
  end

  return function()
    run()
    return report
  end
end
