--- `cxcloud report`: the report of `cxcloud.report` for one customer or many, pulled or
-- (with `--db`) read from a store, as records or totals.
-- @module cxcloud.cli.report

local common = require "cxcloud.cli.common"
local export = require "cxcloud.cli.export"
local report = require "cxcloud.report"

local M = {}

local format = string.format

local function today_utc()
  return os.date("!%Y-%m-%d")
end

--- Run `cxcloud report`. Returns the exit status.
-- @tparam table args parsed options
-- @treturn integer
function M.run(args)
  local today = args.today or today_utc()
  if not today:match("^%d%d%d%d%-%d%d%-%d%d$") then
    common.usage(format("--today expects a date YYYY-MM-DD, got '%s'", today))
  end
  local source, ids
  if args.db then
    source = require("cxcloud.cli.sync").open_store(args)
    ids = args.all_customers and source:synced_customers()
      or (args.customer and #args.customer > 0 and args.customer) or nil
  else
    source = common.client(args)
    ids = export.customers(source, args)
  end
  if not ids then common.usage("report needs --customer ID (repeatable) or --all-customers") end
  local multi = #ids > 1 or args.all_customers
  local all, sums = {}, {}
  for _, id in ipairs(ids) do
    local records, err
    if args.db then
      records, err = source:report { customerId = id }
    else
      records, err = report.build(source, id)
    end
    if not records then
      source:close()
      common.fail(err, format("report for customer %s", id))
    end
    sums[#sums + 1] = report.totals(id, records, today)
    for _, r in ipairs(records) do
      if multi then r.customerId = id end
      all[#all + 1] = r
    end
  end
  source:close()
  local fmt = args.format or (args.output and args.output:match("%.(%w+)$")) or nil
  if fmt ~= "table" and fmt ~= "csv" and fmt ~= "jsonl" and fmt ~= "json" then
    fmt = require("cxcloud.cli.term").isatty(1) and not args.output and "table" or "jsonl"
  end
  local rows, columns
  if args.totals then
    rows, columns = sums, report.TOTAL_COLUMNS
    if #sums > 1 then
      local grand = report.totals("(all)", all, today)
      rows[#rows + 1] = grand
    end
  else
    if fmt == "table" then report.sort_attention(all, today) end
    rows = all
    columns = report.COLUMNS
    if multi then columns = { "customerId", table.unpack(report.COLUMNS) } end
  end
  if args.max_items and #rows > args.max_items then
    local cut = {}
    for i = 1, args.max_items do cut[i] = rows[i] end
    rows = cut
  end
  export.write_all(args, fmt, rows, columns)
  return 0
end

return M
