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
  local cx = common.client(args)
  local ids = export.customers(cx, args)
  if not ids then common.usage("report needs --customer ID (repeatable) or --all-customers") end
  local multi = #ids > 1 or args.all_customers
  local all, sums = {}, {}
  for _, id in ipairs(ids) do
    local records, err = report.build(cx, id)
    if not records then
      cx:close()
      common.fail(err, format("report for customer %s", id))
    end
    sums[#sums + 1] = report.totals(id, records, today)
    for _, r in ipairs(records) do
      if multi then r.customerId = id end
      all[#all + 1] = r
    end
  end
  cx:close()
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
  local writer, file = export.destination(args, fmt, { columns = columns })
  writer:rows(rows)
  writer:finish()
  if file then
    local ok, err = file:commit()
    if not ok then common.fail(format("cannot write '%s': %s", args.output, tostring(err))) end
  end
  io.stdout:flush()
  return 0
end

return M
