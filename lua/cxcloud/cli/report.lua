--- `cxcloud report`: the report of `cxcloud.report` for one customer or many, pulled (the
-- bulletin catalogues once for all customers) or (with `--db`) read from a store, as
-- records or totals, optionally only the devices past a last date of support, not covered
-- or with a critical advisory.
-- @module cxcloud.cli.report

local common = require "cxcloud.cli.common"
local export = require "cxcloud.cli.export"
local report = require "cxcloud.report"

local M = {}

local format = string.format
local usage = common.usage

-- the records' columns: the report's, with pastLastDateOfSupport after the dates, and the
-- customer first for several customers
local function record_columns(multi)
  local cols = multi and { "customerId", "customerName" } or {}
  for _, c in ipairs(report.COLUMNS) do
    cols[#cols + 1] = c
    if c == "swLastDateOfSupport" then cols[#cols + 1] = "pastLastDateOfSupport" end
  end
  return cols
end
M.record_columns = record_columns


local function date_option(value, what)
  if not report.is_date(value) then
    usage(format("%s expects a date YYYY-MM-DD, got '%s'", what, value))
  end
  return value
end

-- only `columns` of each row (so that jsonl and json hold what --fields names, too)
local function project(rows, columns)
  local out = {}
  for i, r in ipairs(rows) do
    local p = {}
    for _, c in ipairs(columns) do p[c] = r[c] end
    out[i] = p
  end
  return out
end

-- the records a filter keeps (every filter given must hold)
local function filter(records, args, past_date)
  if not (past_date or args.not_covered or args.critical) then return records end
  local out = {}
  for _, r in ipairs(records) do
    if (not past_date or report.past(r, past_date))
      and (not args.not_covered or r.covered == "no")
      and (not args.critical or r.criticalAdvisories > 0) then
      out[#out + 1] = r
    end
  end
  return out
end

-- customerId -> customerName, from the service (one call) or the store (none)
local function names_of(source, args)
  local list, err
  if args.db then
    list = source:items("customers")
  else
    list, err = report.pull(source, "customers", { "customerId", "customerName" })
    if not list then
      source:close()
      common.fail(err, "listing the customers")
    end
  end
  local names = {}
  for _, c in ipairs(list) do
    if c.customerId ~= nil then names[tostring(c.customerId)] = c.customerName end
  end
  return names, list
end

--- Run `cxcloud report`. Returns the exit status.
-- @tparam table args parsed options
-- @treturn integer
function M.run(args, argv)
  local today = args.today
  if today then
    date_option(today, "--today")
  else
    local err
    today, err = report.today()
    if not today then usage(err) end
  end
  local past_date
  if args.past_support then past_date = date_option(args.past_support[1] or today, "--past-support") end
  local multi = args.all_customers or (args.customer and #args.customer > 1)
  local columns
  if args.totals then
    columns = args.fields and common.chosen_fields(args.fields, report.TOTAL_COLUMNS, "--totals",
      "hostname,covered")
      or report.TOTAL_COLUMNS
  else
    columns = args.fields and common.chosen_fields(args.fields, record_columns(true), "report",
      "hostname,covered")
      or record_columns(multi)
  end
  if not args.all_customers and not (args.customer and #args.customer > 0) then
    usage("report needs --customer ID (repeatable) or --all-customers")
  end

  local now = require("cxcloud.core").now
  local started, calls0 = now(), nil
  local source, ids, names
  local need_names = args.totals or multi or (args.fields and args.fields:find("customerName", 1, true))
  if args.db then
    source = require("cxcloud.cli.sync").open_store(args)
    ids = args.all_customers and source:synced_customers() or args.customer
    if need_names then names = names_of(source, args) end
  else
    source = common.client(args)
    calls0 = source:stats().requests
    if args.all_customers or need_names then
      local list
      names, list = names_of(source, args)
      if args.all_customers then
        ids = {}
        for i, c in ipairs(list) do ids[i] = tostring(c.customerId) end
        if #ids == 0 then
          source:close()
          common.fail("the credentials see no customer (customer-details is empty)")
        end
      end
    end
    ids = ids or args.customer
  end
  names = names or {}

  -- with several customers, one that fails is listed and the others reported (exit 3)
  local per_customer, failed = {}, {}
  if args.db then
    for i, id in ipairs(ids) do
      local records, err = source:report { customerId = id }
      if not records and not multi then
        source:close()
        common.fail(err, format("report for customer %s", id))
      end
      per_customer[i] = records
      if not records then failed[#failed + 1] = { id, err } end
    end
  else
    local all, err = report.build_many(source, ids, multi)
    if not all then
      source:close()
      common.fail(err, err.customerId and format("report for customer %s", err.customerId)
        or "report (the bulletin catalogues)")
    end
    per_customer, failed = all, err or {}
  end
  local calls = calls0 and source:stats().requests - calls0
  source:close()
  if #failed > 0 then
    if #failed == #ids then common.fail(failed[1][2], "report: every customer failed; first, "
      .. failed[1][1]) end
    local kept_ids, kept = {}, {}
    for i, id in ipairs(ids) do
      if per_customer[i] then kept_ids[#kept_ids + 1], kept[#kept + 1] = id, per_customer[i] end
    end
    ids, per_customer = kept_ids, kept
  end

  local all, sums = {}, {}
  for i, id in ipairs(ids) do
    local records = filter(per_customer[i], args, past_date)
    sums[#sums + 1] = report.totals(id, records, today, names[id])
    for _, r in ipairs(records) do
      r.pastLastDateOfSupport = report.past(r, today) and "yes" or "no"
      if multi or args.fields then r.customerId, r.customerName = id, names[id] end
      all[#all + 1] = r
    end
  end
  local fmt = export.format(args)
  local rows
  if args.totals then
    rows = sums
    if #sums > 1 then rows[#rows + 1] = report.totals("(all)", all, today) end
  else
    if fmt == "table" then report.sort_attention(all, today) end
    rows = all
  end
  if args.max_items and #rows > args.max_items then
    local cut = {}
    for i = 1, args.max_items do cut[i] = rows[i] end
    rows = cut
  end
  export.write_all(args, fmt, project(rows, columns), columns)
  if not args.quiet and (args.progress or require("cxcloud.cli.term").isatty(2)) then
    io.stderr:write(format("cxcloud: report: %d device(s)%s of %d customer(s)%s in %.1f s\n",
      #all, (past_date or args.not_covered or args.critical) and " selected" or "", #ids,
      calls and format(", %d call(s)", calls) or " from the store",
      now() - started))
  end
  if #failed == 0 then return 0 end
  local failure = require "cxcloud.cli.failure"
  local retry = {}
  for _, f in ipairs(failed) do
    retry[#retry + 1] = "-c"
    retry[#retry + 1] = f[1]
    io.stderr:write(format("cxcloud: report for customer %s failed: %s\n", f[1],
      common.message(f[2])))
  end
  io.stderr:write(format("cxcloud: report: %d of %d customers failed; the others were written%s\n",
    #failed, #failed + #ids, args.output and (" to " .. args.output) or ""))
  local drop = { ["--customer"] = true, ["--all-customers"] = true, ["--customers-file"] = true }
  io.stderr:write("cxcloud: to retry just them: ", failure.command(argv or {}, drop, retry), "\n")
  return 3
end

return M
