--- `cxcloud changes`: the changes a store recorded (one record per change), or with
-- `--summary` one record per customer (devices added and removed, advisories newly
-- affecting devices, coverage gained and lost, devices past their last date of support).
-- @module cxcloud.cli.changes

local common = require "cxcloud.cli.common"
local export = require "cxcloud.cli.export"
local summary = require "cxcloud.store.summary"
local cli_sync = require "cxcloud.cli.sync"

local M = {}

--- The columns of a change record.
M.COLUMNS = { "run", "at", "operation", "customerId", "key", "change", "fields" }

local function since_of(args, db)
  local s = args.since
  if s == nil then
    local last = db:last_run()
    return last and last - 1 or 0
  end
  if s:find("^%d+$") then return tonumber(s) end
  if s:find("^%d%d%d%d%-%d%d%-%d%d$") then return s end
  common.usage(string.format("--since expects a run number or a date YYYY-MM-DD, got '%s'", s))
end

--- Run `cxcloud changes`. Returns the exit status.
-- @tparam table args parsed options
-- @treturn integer
function M.run(args)
  if args.operation then
    local name = args.operation:gsub("%-", "_")
    if not require("cxcloud.operations")[name] then
      common.usage(string.format("--operation: unknown operation '%s'", args.operation))
    end
    args.operation = name
  end
  local db = cli_sync.open_store(args)
  local since = since_of(args, db)
  local fmt = export.format(args)
  local rows, columns = {}, M.COLUMNS
  if args.summary then
    local today = args.today
    if not today then
      local err
      today, err = require("cxcloud.report").today() -- CXCLOUD_TODAY (a sandbox's date), else today
      if not today then common.usage(err) end
    end
    rows, columns = db:summary { since = since, today = today }, summary.COLUMNS
  else
    if args.values then columns = { "run", "at", "operation", "customerId", "key", "change", "fields",
      "old", "new" } end
    for ch in db:changes { since = since, operation = args.operation, customerId = args.customer } do
      local r = { run = ch.run, at = os.date("!%Y-%m-%dT%H:%M:%SZ", ch.at), operation = ch.operation,
        customerId = ch.customerId, key = ch.key, change = ch.change,
        fields = ch.fields and table.concat(ch.fields, ",") or nil }
      if args.values then r.old, r.new = ch.old, ch.new end
      rows[#rows + 1] = r
      if args.max_items and #rows >= args.max_items then break end
    end
  end
  db:close()
  export.write_all(args, fmt, rows, columns)
  return 0
end

return M
