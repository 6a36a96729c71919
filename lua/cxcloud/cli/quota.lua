--- `cxcloud quota`: the API calls counted today against the daily quota, and with `--db`
-- the calls the store's syncs made per day and per run.
-- @module cxcloud.cli.quota

local common = require "cxcloud.cli.common"
local export = require "cxcloud.cli.export"
local cli_sync = require "cxcloud.cli.sync"

local M = {}

--- Run `cxcloud quota`. Returns the exit status.
-- @tparam table args parsed options
-- @treturn integer
function M.run(args)
  local cx = common.client(args)
  local q = cx:quota()
  cx:close()
  local rows = {}
  local columns = { "what", "day", "client", "calls", "limit", "left" }
  local today = { what = "today", day = q.day, client = q.client, calls = q.calls, limit = q.limit,
    left = q.left }
  rows[1] = today
  if args.db then
    local db = cli_sync.open_store(args)
    for _, d in ipairs(db:quota(30)) do
      if d.day == q.day and d.client == q.client then
        today.calls = today.calls + d.calls
        today.left = q.limit > 0 and math.max(0, q.limit - today.calls) or nil
      elseif d.client == q.client then
        rows[#rows + 1] = { what = "day", day = d.day, client = d.client, calls = d.calls }
      end
    end
    columns[#columns + 1] = "run"
    columns[#columns + 1] = "status"
    for _, r in ipairs(db:runs(args.runs or 10)) do
      rows[#rows + 1] = { what = "run", day = r.started and r.started:sub(1, 10), run = r.run,
        status = r.status,
        calls = r.calls }
    end
    db:close()
  end
  export.write_all(args, export.format(args), rows, columns)
  return 0
end

return M
