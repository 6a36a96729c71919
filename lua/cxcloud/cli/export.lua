--- `cxcloud OPERATION`: pull one operation for one, several or all customers and write
-- its records as they arrive (table, csv, jsonl or json), to standard output or to a file
-- that is written whole or not at all.
-- @module cxcloud.cli.export

local cxcloud = require "cxcloud"
local output = require "cxcloud.cli.output"
local term = require "cxcloud.cli.term"
local common = require "cxcloud.cli.common"
local customers = require "cxcloud.cli.customers"
local failure = require "cxcloud.cli.failure"
local now = require("cxcloud.core").now

local M = {}

local format = string.format
local usage, fail = common.usage, common.fail

local function find_op(name)
  for _, op in ipairs(cxcloud.operations) do
    if op.name == name then return op end
  end
end
M.find_op = find_op

local function requires_customer(op)
  for _, p in ipairs(op.params) do
    if p[1] == "customerId" then return p.required == true end
  end
  return false
end

--- The query parameters the options name (`--where`, `--fields`, `--sort`, ...).
-- @tparam table args parsed options
-- @treturn table params
function M.params(args)
  local p = {}
  for _, w in ipairs(args.where or {}) do
    local name, value = w:match("^([^=]+)=(.*)$")
    if not name then
      usage(format("--where expects NAME=VALUE (an API parameter of the operation), got '%s'", w))
    end
    if p[name] == nil then p[name] = value
    elseif type(p[name]) == "table" then p[name][#p[name] + 1] = value
    else p[name] = { p[name], value } end
  end
  if args.fields then p.fields = args.fields end
  if args.sort then p.sort = args.sort end
  p.max_items, p.page_size, p.start_page = args.max_items, args.page_size, args.start_page
  return p
end

--- The customers an invocation names (`--customer`, each value an ID or a comma-separated
-- list; `--customers-file`), or every customer the credentials see with `--all-customers`;
-- nil when none is named (see `cxcloud.cli.customers`).
-- @param cx client
-- @tparam table args
-- @treturn table|nil ids
-- @treturn table|nil names (customerId -> customerName), with --all-customers
function M.customers(cx, args)
  return customers.select(cx, args)
end

-- the format an --output file's extension names
local EXTENSIONS = { csv = "csv", jsonl = "jsonl", json = "json", txt = "table" }

--- The format: --format, else from the output file's extension (an extension it does not
-- know is a usage error), else table on a terminal, jsonl otherwise.
-- @tparam table args
-- @treturn string
function M.format(args)
  if args.format then return args.format end
  if args.output then
    local ext = args.output:match("%.([^./]+)$")
    local fmt = ext and EXTENSIONS[ext:lower()]
    if not fmt then
      usage(format("--output '%s': %s; the extensions that give the format are .csv, .jsonl, .json"
        .. " and .txt (a table), or give --format", args.output,
        ext and ("unknown extension '." .. ext .. "'") or "no extension to tell the format by"))
    end
    return fmt
  end
  return term.isatty(1) and "table" or "jsonl"
end

--- The destination of an export: a writer on standard output (or `sink`, standing for it)
-- or on an output file.
-- @tparam table args
-- @tparam string fmt
-- @tparam table wopts writer options (columns, order, first, empty_columns)
-- @param[opt] sink what stands for standard output
-- @treturn table writer
-- @treturn table|nil output file
function M.destination(args, fmt, wopts, sink)
  if args.append and fmt == "json" then
    usage("--append cannot extend a JSON array: use --format jsonl or csv")
  end
  local file
  if args.output then
    local err
    file, err = term.output_file(args.output, args.append)
    if not file then fail(err) end
  end
  if args.append and fmt == "csv" then
    local existing = args.output and file.existing > 0 and term.first_line(args.output)
    if existing then
      wopts.columns = wopts.columns or output.csv_parse_line(existing)
      wopts.header = false
    elseif not args.output then
      wopts.header = false
    end
  end
  if fmt == "table" then wopts.width = term.isatty(1) and not args.output and term.columns() or nil end
  return output.writer(fmt, file or sink or io.stdout, wopts), file
end

--- Writes `rows` whole to `--output` (or standard output) in format `fmt`, or stops with
-- the reason the file could not be written.
-- @tparam table args
-- @tparam string fmt
-- @tparam table rows
-- @tparam table columns
function M.write_all(args, fmt, rows, columns)
  local writer, file = M.destination(args, fmt, { columns = columns })
  writer:rows(rows)
  writer:finish()
  if file then
    local ok, err = file:commit()
    if not ok then fail(string.format("cannot write '%s': %s", args.output, tostring(err))) end
  end
  io.stdout:flush()
end

--- Run an export. Returns the exit status.
-- @tparam table args parsed options (`command` is the operation's name)
-- @tparam {string,...} argv the command line as given (for the resume hint)
-- @treturn integer
function M.run(args, argv)
  local op = find_op(args.command)
  return M.pull(args, argv, op, function(cx, p) return cx[op.name](cx, p) end)
end

--- Run `cxcloud query PATH`: an export of any path, through `cx:query`.
-- @tparam table args
-- @tparam {string,...} argv
-- @treturn integer
function M.run_path(args, argv)
  if args.path:sub(1, 1) ~= "/" then
    usage(format("query: PATH must start with '/', e.g. /inventory/hardware (got '%s')", args.path))
  end
  args.command = args.path
  return M.pull(args, argv, { name = args.path, params = {} }, function(cx, p)
    return cx:query(args.path, p)
  end)
end


-- the names of the customers, for the records of several (one request); nil, after saying
-- so, when they cannot be listed: the export goes on without them
local function customer_names(cx)
  local _, names = customers.list(cx)
  if type(names) == "table" and not cxcloud.is_error(names) then return names end
  if common.is_interrupt(names) then common.interrupt() end
  -- refused credentials would fail every customer's pull the same way
  if names.kind == "auth" then fail(names, "listing the customers' names", failure.advice(names)) end
  io.stderr:write(format("cxcloud: the customers' names could not be listed (%s): the records"
    .. " carry their customerId without customerName\n", common.message(names)))
  return nil
end

-- "ID" or "ID (NAME)"
local function who(id, names)
  local name = names and names[id]
  return name and format("%s (%s)", id, name) or id
end

-- a --output file that exists is "unchanged", one that does not "not written"
local function untouched(path)
  local f = io.open(path, "rb")
  if f then f:close() return path .. " unchanged" end
  return path .. " not written"
end

-- One customer's pull failed (or the only pull): what failed, and what to do. `got` is
-- what was written: { page = the last page written, size = its page size, rows }.
local function report_single(job, err)
  local args, got = job.args, job.got
  local advice = failure.advice(err, { command = args.command, customer = job.ids and job.ids[1] })
  local transient = failure.transient(err)
  io.stderr:write(format("cxcloud: %s failed%s: %s\n", args.command,
    err.page and format(" at page %d", err.page) or "", common.message(err)))
  if args.output then
    io.stderr:write(format("cxcloud: %s was not written (a pull that fails leaves no partial file)%s\n",
      args.output, transient and "; run the command again, or export to standard output, which can be"
      .. " resumed" or ""))
    if advice and not transient then io.stderr:write("cxcloud: ", advice, "\n") end
  elseif got.page then
    if advice and not transient then io.stderr:write("cxcloud: ", advice, "\n") end
    local start = args.start_page or 1
    io.stderr:write(format("cxcloud: pages %d-%d (%d rows) were written; to resume: %s\n", start,
      got.page, got.rows, failure.resume_command(job.argv, got.page + 1, nil, got.size, job.fmt == "json")))
  else
    io.stderr:write("cxcloud: nothing was written", advice and ("; " .. advice) or "", "\n")
  end
end

-- Some customers of several failed: each with its reason, the advice (once per kind), and
-- one command that retries just them. `written`: ids whose records were written.
local function report_several(job, failed, written)
  local args, names = job.args, job.names
  local advice, seen = {}, {}
  local ids, unseen = {}, {}
  for _, f in ipairs(failed) do
    local id, err = f[1], f[2]
    ids[#ids + 1] = id
    io.stderr:write(format("cxcloud: %s failed%s for customer %s: %s\n", args.command,
      (err.page or 1) > (args.start_page or 1) and format(" at page %d", err.page) or "",
      who(id, names), common.message(err)))
    if err.kind == "http" and err.status == 403 and not err.quota_spent then
      unseen[#unseen + 1] = id
    else
      local a = failure.advice(err, { command = args.command, customer = id })
      if a and not seen[a] then seen[a] = true; advice[#advice + 1] = a end
    end
  end
  if #unseen > 0 then
    table.insert(advice, 1, failure.advice({ kind = "http", status = 403 },
      { customer = table.concat(unseen, ", ") }))
  end
  local dest = args.output and (" to " .. args.output) or ""
  if #written > 0 then
    io.stderr:write(format("cxcloud: %s: %d of %d customers failed; the records of the %d that"
      .. " succeeded were written%s\n", args.command, #failed, #failed + #written, #written, dest))
  else
    io.stderr:write(format("cxcloud: %s: every customer failed; nothing was written%s\n", args.command,
      args.output and format(" (%s)", untouched(args.output)) or ""))
  end
  for _, a in ipairs(advice) do io.stderr:write("cxcloud: ", a, "\n") end
  -- a JSON array cannot be appended to: the retry writes one of its own
  local append = (#written > 0 or args.append) and job.fmt ~= "json"
  local out = args.output and #written > 0 and job.fmt == "json"
    and (args.output:gsub("%.[^./]*$", "") .. ".retry.json") or nil
  io.stderr:write(format("cxcloud: to retry%s: %s\n",
    #written == 0 and "" or #ids == 1 and " just it" or " just them",
    failure.retry_command(job.argv, ids, { append = append, output = out })))
end

-- The pull was interrupted (SIGINT): where it stopped, the --output file left as it was, or
-- for standard output what was written and how to go on.
local function report_interrupt(job)
  local args, got = job.args, job.got
  if job.multi then
    local rest, n = {}, 0
    for i, id in ipairs(job.ids) do
      if job.written[i] then n = n + 1 else rest[#rest + 1] = id end
    end
    local pages = 0
    for _, k in pairs(job.pages) do pages = pages + k end
    local head = format("cxcloud: interrupted after %d page(s), %d of %d customers complete", pages, n,
      #job.ids)
    if args.output then
      io.stderr:write(head, "; ", untouched(args.output), "\n")
    elseif n == 0 then
      io.stderr:write(head, "; nothing was written\n")
    else
      io.stderr:write(head, format("; their records were written; to pull the other %d: %s\n", #rest,
        failure.retry_command(job.argv, rest, { append = job.fmt ~= "json" or nil })))
    end
    return
  end
  local page = (got.page or (args.start_page or 1) - 1) + 1
  local head = format("cxcloud: interrupted at page %d%s", page,
    got.pages and format(" of %d", got.pages) or "")
  if args.output then
    io.stderr:write(head, "; ", untouched(args.output), "\n")
  elseif got.page then
    io.stderr:write(head, format(": pages %d-%d (%d rows) were written; to resume: %s\n",
      args.start_page or 1, got.page, got.rows,
      failure.resume_command(job.argv, page, nil, got.size, job.fmt == "json")))
  else
    io.stderr:write(head, ": nothing was written\n")
  end
end

--- The export itself: `make(cx, params)` makes the query for one customer. One customer's
-- records are written as they arrive; with several, each customer's are held in a
-- temporary file until its pull is complete, then written whole, so that a customer that
-- fails leaves nothing and the others are written (exit status 3).
-- @tparam table args
-- @tparam {string,...} argv
-- @tparam table op the operations entry (name, params, fields)
-- @tparam function make
-- @treturn integer
function M.pull(args, argv, op, make)
  local fmt = M.format(args)
  local params = M.params(args)
  if args.append and fmt == "json" then
    usage("--append cannot extend a JSON array: use --format jsonl or csv")
  end
  local cx = common.client(args)
  local ids, names = M.customers(cx, args)
  if not ids and requires_customer(op) then
    usage(format("%s needs --customer ID (repeatable), --customers-file FILE or --all-customers",
      args.command))
  end
  local multi = args.all_customers or (ids ~= nil and #ids > 1)
  local tag = multi or args.with_customer_id
  if tag and ids and not names then names = customer_names(cx) end
  -- every query first, so that a bad parameter stops us before any output
  local queries = {}
  for i, id in ipairs(ids or { false }) do
    local p = {}
    for k, v in pairs(params) do p[k] = v end
    if id then p.customerId = id end
    queries[i] = common.checked(function() return make(cx, p) end)
  end
  local first = tag and (names and { "customerId", "customerName" } or { "customerId" }) or nil
  local columns
  if args.fields then
    columns = {}
    for _, name in ipairs(first or {}) do columns[#columns + 1] = name end
    for name in args.fields:gmatch("[^,%s]+") do
      if not (first and (name == "customerId" or name == "customerName" and names)) then
        columns[#columns + 1] = name
      end
    end
  end
  local empty = columns
  if not empty and op.fields then
    empty = {}
    for _, name in ipairs(first or {}) do empty[#empty + 1] = name end
    for _, name in ipairs(op.fields) do
      if not (first and (name == "customerId" or name == "customerName")) then empty[#empty + 1] = name end
    end
  end

  local show = not args.quiet and (args.progress or term.isatty(2))
  local bar = show and term.progress(term.isatty(2), now)
  -- the progress line and the records on one terminal: the line is cleared before records
  local sink = io.stdout
  if bar and term.isatty(2) and not args.output and term.isatty(1) then
    sink = { write = function(_, ...) bar.clear() return io.stdout:write(...) end }
  end
  local order = op.fields
  if first then
    order = { table.unpack(first) }
    for _, name in ipairs(op.fields or {}) do order[#order + 1] = name end
  end
  local writer, file = M.destination(args, fmt, {
    columns = columns, order = order, first = first, empty_columns = empty }, sink)

  local job = { args = args, argv = argv, ids = ids, names = names, multi = multi, fmt = fmt,
    states = {}, written = {}, pages = {}, got = { rows = 0 } }
  local states, t0, calls0 = job.states, now(), cx:stats().requests
  local function redraw(final)
    local sum = { page = 0, pages = 0, rows = 0, total = 0, calls = cx:stats().requests - calls0 }
    for _, s in pairs(states) do
      sum.page = sum.page + (s.page - (args.start_page or 1) + 1)
      sum.pages = sum.pages + (s.pages - (args.start_page or 1) + 1)
      sum.rows, sum.total = sum.rows + s.rows, sum.total + s.total
    end
    if args.max_items and sum.total > args.max_items and not multi then sum.total = args.max_items end
    local elapsed = now() - t0
    -- a rate from less than half a second says little (the first page comes alone)
    if elapsed > 0.5 then sum.requests_per_s = sum.page / elapsed end
    if sum.requests_per_s and sum.requests_per_s > 0 and not multi then
      sum.eta = (sum.pages - sum.page) / sum.requests_per_s
    end
    bar.show(term.progress_text(args.command, sum), final)
  end

  local spools = {}
  local function pull(q, i)
    local id = ids and ids[i]
    local name = names and id and names[id]
    local spool = multi and writer:spool() or nil
    spools[i] = spool
    if bar then q:on_progress(function(p) states[i] = p; redraw() end) end
    for page, info in q:pages() do
      if tag then
        for _, item in ipairs(page) do
          if item.customerId == nil then item.customerId = id end
          if item.customerName == nil then item.customerName = name end
        end
      end
      writer:rows(page, spool)
      job.pages[i] = (job.pages[i] or 0) + 1
      if not multi then
        local got = job.got
        got.page, got.pages, got.size, got.rows = info.page, info.pages, info.rows, got.rows + #page
        if not file then io.stdout:flush() end
      end
    end
    if spool then
      writer:commit(spool)
      job.written[i] = true
      if not file then io.stdout:flush() end
    end
    return true
  end

  -- after a failure or an interrupt: the file left as it was, what standard output got
  -- whole (a JSON array closed)
  local function cleanup()
    if bar then bar.done() end
    if file then file:abort() end
    for _, spool in pairs(spools) do writer:discard(spool) end
    if not file and fmt == "json" and writer.opened then
      writer:finish()
      io.stdout:flush()
    end
  end

  local rok, errs = pcall(function()
    if not multi then
      local ok, err = pcall(pull, queries[1], 1)
      return not ok and { err } or nil
    end
    local _, e = cx:map(queries, pull)
    return e
  end)
  if not rok then
    cleanup()
    if common.is_interrupt(errs) then
      report_interrupt(job)
      cx:close()
      return 130
    end
    common.reraise(errs)
  end
  if bar then
    if next(states) then redraw(true) end
    bar.done()
  end
  local failed, written = {}, {}
  for i = 1, #queries do
    local err = errs and errs[i]
    if err == nil then
      written[#written + 1] = ids and ids[i]
    elseif common.is_interrupt(err) then
      cleanup()
      report_interrupt(job)
      cx:close()
      return 130
    elseif not cxcloud.is_error(err) then
      cleanup()
      common.reraise(err)
    else
      failed[#failed + 1] = { ids and ids[i], err }
    end
  end
  if #failed > 0 and (not multi or #written == 0) then
    cleanup()
    if multi then report_several(job, failed, written) else report_single(job, failed[1][2]) end
    cx:close()
    return 1
  end
  for _, spool in pairs(spools) do writer:discard(spool) end -- those of the customers that failed
  writer:finish()
  if file then
    local cok, cerr = file:commit()
    if not cok then fail(format("cannot write '%s': %s", args.output, tostring(cerr))) end
  else
    io.stdout:flush()
  end
  if show then
    io.stderr:write(format("cxcloud: %s: %d row(s)%s in %.1f s\n", args.command, writer.count,
      args.output and (" written to " .. args.output) or "", now() - t0))
  end
  cx:close()
  if #failed > 0 then
    report_several(job, failed, written)
    return 3
  end
  return 0
end

return M
