--- `cxcloud sync`: sync the client's data into a store (SQLite file or PostgreSQL), one
-- summary line per run; exit 0 when every pair completed, 1 when any was skipped. With
-- `--plan`, what the next sync will cost, from the store (no API call), exit 0.
-- @module cxcloud.cli.sync

local common = require "cxcloud.cli.common"
local term = require "cxcloud.cli.term"

local M = {}

local format = string.format

local function thousands(n)
  local s = tostring(math.floor(n))
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

--- Opens the store named by `--db` (or CXCLOUD_DB), or stops with a message. Only `sync`
-- creates a SQLite store: the commands that read one refuse a file that is not there.
-- @tparam table args
-- @tparam[opt] boolean create
-- @treturn table store
function M.open_store(args, create)
  local target = args.db or os.getenv("CXCLOUD_DB")
  if not target or target == "" then
    common.usage("--db is required: a file path (SQLite) or a postgresql:// URI (or set CXCLOUD_DB)")
  end
  if not create and not target:find("^postgres") then
    local f = io.open(target, "rb")
    if not f then
      common.fail(string.format("no store at %s: `cxcloud sync --db %s` makes one", target, target))
    end
    f:close()
  end
  local ok, store = pcall(require, "cxcloud.store")
  if not ok then common.fail(store) end
  local db, err = store.open(target)
  if not db then common.fail(err) end
  return db
end

--- The one-line summary of a run.
-- @tparam table run
-- @tparam number seconds
-- @treturn string
function M.summary_line(run, seconds)
  local parts = {
    format("run %d %s: %d/%d pairs", run.run, run.status, run.complete, run.pairs),
    format("%s calls", thousands(run.calls)),
    format("%s rows", thousands(run.rows)),
    format("%s added, %s changed, %s removed", thousands(run.added), thousands(run.changed),
      thousands(run.removed)),
  }
  if run.baseline > 0 then parts[#parts + 1] = format("%s rows stored for the first time",
    thousands(run.baseline)) end
  parts[#parts + 1] = term.duration(seconds)
  return table.concat(parts, ", ")
end

--- The progress line of a sync.
-- @tparam table p `{pairs, done, skipped, calls, rows, elapsed}`
-- @treturn string
function M.progress_text(p)
  local parts = { format("pairs %d/%d", p.done, p.pairs), format("%s calls", thousands(p.calls)),
    format("%s rows", thousands(p.rows)) }
  if p.elapsed > 0 then parts[#parts + 1] = format("%s rows/s", thousands(p.rows / p.elapsed)) end
  if p.skipped > 0 then parts[#parts + 1] = format("%d skipped", p.skipped) end
  if p.done > 0 and p.done < p.pairs then
    parts[#parts + 1] = term.duration(p.elapsed / p.done * (p.pairs - p.done)) .. " left"
  end
  return "sync  " .. table.concat(parts, "  ")
end

local function plural(n, one, many)
  return thousands(n) .. " " .. (n == 1 and one or (many or one .. "s"))
end

--- The line of `cxcloud sync --plan`.
-- @tparam table plan what `db:plan` returned
-- @treturn string
function M.plan_line(plan)
  local parts = { format("plan: %s, %s", plural(plan.pairs, "pair"), plural(plan.calls, "call")) }
  if plan.known < plan.pairs then
    parts[1] = parts[1] .. format(" for the %s synced before", plural(plan.known, "pair"))
  end
  if plan.unknown > 0 then
    parts[#parts + 1] = format("%s never synced (%s unknown)", plural(plan.unknown, "pair"),
      plan.unknown == 1 and "its cost" or "their cost")
  end
  if plan.listing > 0 then
    parts[#parts + 1] = format("listing the customers took %s", plural(plan.listing, "call"))
  end
  local today = format("today %s", plural(plan.today, "call"))
  if plan.limit > 0 then
    today = today .. format(" of %s, %s left", thousands(plan.limit), thousands(plan.left))
    if plan.calls > plan.left then
      today = today .. format(": %s short", plural(plan.calls - plan.left, "call"))
    elseif plan.unknown == 0 then
      today = today .. ": it fits"
    end
  else
    today = today .. " (no daily_quota set)"
  end
  parts[#parts + 1] = today
  return table.concat(parts, "; ")
end

local function run_plan(args, customers, ops)
  local db = M.open_store(args)
  local cx = common.client(args)
  local ok, plan, err = pcall(db.plan, db, cx, { customers = customers, operations = ops })
  cx:close()
  db:close()
  if not ok then common.usage((tostring(plan):gsub("^db:%a+: ", ""))) end
  if not plan then common.fail(err) end
  io.stdout:write(M.plan_line(plan), "\n")
  io.stdout:flush()
  return 0
end

--- Run `cxcloud sync`. Returns the exit status.
-- @tparam table args parsed options
-- @treturn integer
function M.run(args)
  if args.plan then
    return run_plan(args, args.customer and #args.customer > 0 and args.customer or nil,
      args.operation and #args.operation > 0 and args.operation or nil)
  end
  local db = M.open_store(args, true)
  local cx = common.client(args)
  local clock = require("cxcloud.core").now
  local show = not args.quiet and (args.progress or term.isatty(2))
  local bar = show and term.progress(term.isatty(2), clock) or nil
  local t0 = os.time()
  local customers = args.customer and #args.customer > 0 and args.customer or nil
  local ops = args.operation and #args.operation > 0 and args.operation or nil
  local ok, run, err = pcall(db.sync, db, cx, { customers = customers, operations = ops, keep = args.keep,
    progress = bar and function(p) bar.show(M.progress_text(p)) end or nil })
  if bar then bar.done() end
  cx:close()
  db:close()
  if not ok then common.usage((tostring(run):gsub("^db:sync: ", ""))) end
  if not run then common.fail(err) end
  io.stdout:write(M.summary_line(run, os.time() - t0), "\n")
  io.stdout:flush()
  for _, n in ipairs(run.notes or {}) do io.stderr:write("cxcloud: note: ", n, "\n") end
  if #run.skipped == 0 then return 0 end
  io.stderr:write(format("cxcloud: %d pair(s) skipped, their previous rows kept:\n", #run.skipped))
  local shown = 0
  for _, s in ipairs(run.skipped) do
    shown = shown + 1
    if shown > 20 then
      io.stderr:write(format("  ... and %d more (db:runs() or the _runs table list them all)\n",
        #run.skipped - 20))
      break
    end
    io.stderr:write(format("  %s%s: %s\n", s.operation or "customers",
      s.customerId and (" of customer " .. s.customerId) or "", common.message(s.error)))
  end
  return 1
end

return M
