--- `cxcloud OPERATION`: pull one operation for one, several or all customers and write
-- its records as they arrive (table, csv, jsonl or json), to standard output or to a file
-- that is written whole or not at all.
-- @module cxcloud.cli.export

local cxcloud = require "cxcloud"
local output = require "cxcloud.cli.output"
local term = require "cxcloud.cli.term"
local common = require "cxcloud.cli.common"
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

--- The customers an invocation names: `--customer` (repeated), or every customer the
-- credentials see with `--all-customers`; nil when neither is given.
-- @param cx client
-- @tparam table args
-- @treturn table|nil ids
function M.customers(cx, args)
  if args.all_customers then
    local list, err = cx:customers { fields = "customerId" }:all()
    if not list then fail(err, "listing the customers") end
    local ids = {}
    for i, c in ipairs(list) do ids[i] = c.customerId end
    if #ids == 0 then fail("the credentials see no customer (customer-details is empty)") end
    return ids
  end
  if args.customer and #args.customer > 0 then return args.customer end
  return nil
end

--- The format: --format, else from the output file's extension, else table on a terminal.
-- @tparam table args
-- @treturn string
function M.format(args)
  if args.format then return args.format end
  if args.output then
    local ext = args.output:match("%.(%w+)$")
    ext = ext and ext:lower()
    if ext == "csv" or ext == "json" or ext == "jsonl" then return ext end
    return "jsonl"
  end
  return term.isatty(1) and "table" or "jsonl"
end

--- The destination of an export: a writer on standard output or on an output file.
-- @tparam table args
-- @tparam string fmt
-- @tparam table wopts writer options (columns, order, first)
-- @treturn table writer
-- @treturn table|nil output file
function M.destination(args, fmt, wopts)
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
  local sink = file or io.stdout
  return output.writer(fmt, sink, wopts), file
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

-- the command line again, with --start-page N --append instead of what it had; for one
-- customer of several, with that --customer (and --with-customer-id, so that its records
-- keep the column they had)
local function resume_command(argv, page, customer, page_size)
  local drop_value = { ["--start-page"] = true, ["--page-size"] = true }
  local drop = { ["--append"] = true }
  if customer then
    drop_value["--customer"], drop_value["-c"] = true, true
    drop["--all-customers"], drop["-a"], drop["--with-customer-id"] = true, true, true
  end
  local out, skip = { "cxcloud" }, false
  for _, a in ipairs(argv) do
    local name = a:match("^(%-%-[%w-]+)=") or a:match("^(%-%a).") or a
    if skip then
      skip = false
    elseif drop_value[a] then
      skip = true
    elseif not drop[a] and not drop_value[name] then
      out[#out + 1] = common.shell_quote(a)
    end
  end
  if customer then
    out[#out + 1] = "--customer " .. common.shell_quote(customer) .. " --with-customer-id"
  end
  -- a page number means something at the size the pull used
  if page_size then out[#out + 1] = "--page-size " .. page_size end
  out[#out + 1] = "--start-page " .. page .. " --append"
  return table.concat(out, " ")
end

-- what failed pulls say, and how to resume them: `failures` = { {err, customer, written} }
local function report_failures(args, argv, failures, multi)
  for _, f in ipairs(failures) do
    local err, customer = f[1], multi and f[2] or nil
    io.stderr:write(format("cxcloud: %s failed%s%s: %s\n", args.command,
      err.page and format(" at page %d", err.page) or "",
      customer and (" for customer " .. customer) or "", common.message(err)))
  end
  if args.output then
    io.stderr:write(format("cxcloud: %s was not written (a pull that fails leaves no partial"
      .. " file); run the command again, or export to standard output, which can be resumed\n",
      args.output))
    return
  end
  for _, f in ipairs(failures) do
    local err, customer, written = f[1], multi and f[2] or nil, f[3]
    local start = args.start_page or 1
    if err.page and err.page <= start and not customer then
      io.stderr:write("cxcloud: nothing was written; run the command again\n")
    elseif err.page then
      io.stderr:write(format("cxcloud: pages %d-%d (%d rows)%s were written; to resume: %s\n",
        start, err.page - 1, written, customer and (" of customer " .. customer) or "",
        resume_command(argv, err.page, customer, err.page_size)))
    end
  end
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

--- The export itself: `make(cx, params)` makes the query for one customer.
-- @tparam table args
-- @tparam {string,...} argv
-- @tparam table op the operations entry (name, params, fields)
-- @tparam function make
-- @treturn integer
function M.pull(args, argv, op, make)
  local params = M.params(args)
  local cx = common.client(args)
  local ids = M.customers(cx, args)
  if not ids and requires_customer(op) then
    usage(format("%s needs --customer ID (repeatable) or --all-customers", args.command))
  end
  local multi = args.all_customers or (ids and #ids > 1)
  local tag = multi or args.with_customer_id
  -- every query first, so that a bad parameter stops us before any output
  local queries = {}
  for i, id in ipairs(ids or { false }) do
    local p = {}
    for k, v in pairs(params) do p[k] = v end
    if id then p.customerId = id end
    queries[i] = common.checked(function() return make(cx, p) end)
  end
  local fmt = M.format(args)
  local columns
  if args.fields then
    columns = {}
    if tag then columns[1] = "customerId" end
    for name in args.fields:gmatch("[^,%s]+") do
      if name ~= "customerId" or not tag then columns[#columns + 1] = name end
    end
  end
  local writer, file = M.destination(args, fmt, {
    columns = columns, order = op.fields, first = tag and { "customerId" } or nil })

  local show = not args.quiet and (args.progress or term.isatty(2))
  local bar = show and term.progress(term.isatty(2), now)
  local states, t0, calls0 = {}, now(), cx:stats().requests
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

  local written = {}
  local function pull(q, i)
    local id = ids and ids[i]
    written[i] = 0
    if bar then q:on_progress(function(p) states[i] = p; redraw() end) end
    for page in q:pages() do
      if tag then
        for _, item in ipairs(page) do
          if item.customerId == nil then item.customerId = id end
        end
      end
      writer:rows(page)
      written[i] = written[i] + #page
      if not file then io.stdout:flush() end
    end
    return true
  end

  local ok, errs
  if #queries == 1 then
    local pok, err = pcall(pull, queries[1], 1)
    ok = pok
    if not pok then errs = { err } end
  else
    local _, e = cx:map(queries, pull)
    errs = e
    ok = e == nil
  end
  if bar then
    if next(states) then redraw(true) end
    bar.done()
  end
  if not ok then
    if file then file:abort() end
    local failures = {}
    for i = 1, #queries do
      local err = errs[i]
      if err ~= nil then
        if not cxcloud.is_error(err) then common.reraise(err) end
        failures[#failures + 1] = { err, ids and ids[i], written[i] or 0 }
      end
    end
    report_failures(args, argv, failures, multi)
    cx:close()
    return 1
  end
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
  return 0
end

return M
