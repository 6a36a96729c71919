--- The `cxcloud` command line: argument parsing (lua-argparse) and dispatch.
--
--    cxcloud OPERATION [--customer ID]... [--all-customers] [--where NAME=VALUE]... ...
--    cxcloud report --customer ID [--format ...] [--output FILE]
--    cxcloud affected --advisory ID|--field-notice ID|--eol ID [--customer ID]... [--format ...]
--    cxcloud query PATH [--where NAME=VALUE]... [the export options]
--    cxcloud repl [--sandbox]
--    cxcloud sandbox [...]
--    cxcloud sync --db DB [--customer ID]... [--operation OP]... [--keep DAYS] [--progress]
--    cxcloud sync --plan --db DB [--customer ID]... [--operation OP]...
--    cxcloud changes --db DB [--since RUN|YYYY-MM-DD] [--summary] [--format ...]
--    cxcloud quota [--db DB]
--
-- `main(argv)` returns the exit status: 0 success, 1 the work failed, 2 a usage error, 3
-- partial (some customers of several failed; the others were written), 130 interrupted.
-- The client (and its C core) is loaded only by the commands that use it, so that
-- `cxcloud sandbox` needs nothing but the sandbox. The sandbox is a rock of its own
-- (cxcloud-sandbox): its module `cxcloud.sandbox.cli` declares and runs `cxcloud sandbox`;
-- without it the command takes any argument and fails naming that rock.
-- @module cxcloud.cli

local argparse = require "argparse"
local operations = require "cxcloud.operations"
local errors = require "cxcloud.errors"
local util = require "cxcloud.util"
local common = require "cxcloud.cli.common"

local M = {}

local format = string.format

local function positive(what)
  return function(s)
    local n = math.tointeger(tonumber(s))
    if n and n >= 1 then return n end
    return nil, format("%s expects a positive integer, got '%s'", what, s)
  end
end

local function non_negative(what)
  return function(s)
    local n = math.tointeger(tonumber(s))
    if n and n >= 0 then return n end
    return nil, format("%s expects an integer >= 0, got '%s'", what, s)
  end
end

local FORMATS = { "table", "csv", "jsonl", "json" }

local function output_options(cmd)
  cmd:option("--format", "table (aligned; the default on a terminal), csv (RFC 4180), jsonl"
    .. " (one JSON object per line; the default otherwise), json (one array)."):choices(FORMATS)
  cmd:option("-o --output", "Write to FILE (whole or not at all: a failed pull leaves no"
    .. " partial file); its extension gives the format unless --format does: .csv, .jsonl,"
    .. " .json, .txt (table)."):argname("FILE")
  cmd:flag("-q --quiet", "No progress line or summary on standard error.")
  cmd:flag("--progress", "Show the progress line even when standard error is not a terminal.")
  cmd:option("--proxy",
    "HTTPS proxy, http://[user:password@]host:port (default: CXCLOUD_PROXY, then https_proxy).")
    :argname("URL")
end

local function export_options(cmd)
  cmd:option("-c --customer", "A customerId, or several separated by commas; repeat for several"
    .. " customers (each record then carries its customerId and customerName)."):argname("ID")
    :count("*")
  cmd:option("--customers-file", "The customers' IDs, one per line (blank lines and # comments"
    .. " are ignored)."):argname("FILE")
  cmd:flag("-a --all-customers", "Every customer the credentials see, concurrently.")
  cmd:flag("--with-customer-id", "Every record carries its customerId and customerName even for"
    .. " one customer (as it does for several).")
  cmd:option("-w --where", "An API parameter of the operation, e.g. --where productFamily=..."
    .. " (repeatable)."):argname("NAME=VALUE"):count("*")
  cmd:option("-f --fields", "Only these fields, in this order (the API's fields parameter).")
    :argname("A,B,...")
  cmd:option("--sort", "Sort on one field (the API's sort)."):argname("FIELD:ASC|DESC")
  cmd:option("-n --max-items", "Stop after N records."):argname("N"):convert(non_negative("--max-items"))
  cmd:option("--page-size", "Rows per request: 1 to 10000, or auto (default: auto, the largest"
    .. " pages the service gives)."):argname("N|auto")
    :convert(function(s)
      if s == "auto" then return s end
      local n = math.tointeger(tonumber(s))
      if n and n >= 1 and n <= 10000 then return n end
      return nil, format("--page-size expects auto or an integer from 1 to 10000, got '%s'", s)
    end)
  cmd:option("--start-page", "Start at page N (resume a failed pull)."):argname("N")
    :convert(positive("--start-page"))
  cmd:flag("--append", "Add to the output: no CSV header; with --output, FILE's content is kept"
    .. " (and its CSV header gives the columns).")
  output_options(cmd)
end

-- what `OP --help` adds: the operation's parameters (for --where) and fields (for --fields
-- and --sort), from the operations table
local function operation_epilog(op)
  local params = {}
  for _, p in ipairs(op.params) do
    local text = p[1] .. (p.required and "*" or "")
    if p.enum then text = text .. " (v1 values: " .. table.concat(p.enum, "|") .. ")" end
    params[#params + 1] = text
  end
  return format("Parameters (--where NAME=VALUE; customerId through --customer; * required): %s.\n\n"
    .. "Fields (--fields, --sort): %s.", table.concat(params, ", "), table.concat(op.fields or {}, ", "))
end

local function operation_names()
  local names = {}
  for _, op in ipairs(operations) do
    names[#names + 1] = op.name
    if op.name:find("_") then names[#names + 1] = (op.name:gsub("_", "-")) end
  end
  return names
end

--- The parser (every command and option).
-- @treturn table argparse parser
function M.parser()
  local p = argparse("cxcloud", "The Cisco CX Cloud API v2 from the command line: export any"
    .. " operation to a table, CSV or JSON, build a device report, keep a store in sync and see what"
    .. " changed, explore in a Lua REPL, or run a local sandbox. Credentials and endpoints come from"
    .. " CXCLOUD_CLIENT_ID,"
    .. " CXCLOUD_CLIENT_SECRET, CXCLOUD_BASE_URL, CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE.")
    :command_target("command")
    :help_description_margin(34)
    :help_max_width(100)
    :require_command(false)
    :epilog("Exit status: 0 success, 1 the work failed, 2 a usage error, 3 partial (some customers"
      .. " of several failed, the others were written), 130 interrupted.\n"
      .. "Run 'cxcloud COMMAND --help' for a command's options.")
  p:flag("--version", "Show the version and exit."):action(function()
    io.write(require("cxcloud")._VERSION, "\n")
    os.exit(0)
  end)
  for _, op in ipairs(operations) do
    local names = op.name
    if op.name:find("_") then names = names .. " " .. op.name:gsub("_", "-") end
    local cmd = p:command(names, format("%s (%s).", op.title, op.path))
    cmd:epilog(operation_epilog(op))
    export_options(cmd)
  end
  local report = p:command("report", "One record per network element of a customer: coverage,"
    .. " end-of-life dates, advisories and field notices (what needs attention first).")
  report:option("-c --customer", "The customerId; repeat for several."):argname("ID"):count("*")
  report:flag("-a --all-customers", "Every customer the credentials see.")
  report:flag("--totals", "One line per customer: devices, not covered, past last date of support,"
    .. " critical advisories.")
  report:option("--today", "The date that 'past last date of support' compares with (default:"
    .. " CXCLOUD_TODAY, which a sandbox's environment sets, else today, UTC)."):argname("YYYY-MM-DD")
  report:option("--past-support", "Only devices whose hardware or software last date of support is"
    .. " before DATE (default: --today)."):args("?"):argname("DATE")
  report:flag("--not-covered", "Only devices with no hardware under contract (covered = no).")
  report:flag("--critical", "Only devices with a critical security advisory.")
  report:option("-f --fields", "Only these columns, in this order (customerId and customerName"
    .. " too; with --totals, the totals' columns)."):argname("A,B,...")
  report:option("-n --max-items", "Only the first N records (after sorting)."):argname("N")
    :convert(non_negative("--max-items"))
  output_options(report)
  report:option("--db", "Read from this store (a file or a postgresql:// URI) instead of the"
    .. " service: no request."):argname("DB")
  require("cxcloud.cli.affected").add_to_parser(p, output_options)
  local function db_option(cmd)
    cmd:option("--db", "The store: a file path (SQLite, created when missing) or a"
      .. " postgresql:// URI (default: CXCLOUD_DB)."):argname("DB")
  end
  local sync = p:command("sync", "Sync every customer and operation into a store; record what"
    .. " changed. Exit 1 when any pair was skipped (its old rows kept).")
  db_option(sync)
  sync:option("-c --customer", "Only this customer (repeatable; default: every customer)."):argname("ID")
    :count("*")
  sync:option("--operation", "Only this operation (repeatable; default: all)."):argname("OP"):count("*")
  sync:option("--keep", "Delete changes and runs older than DAYS after the sync."):argname("DAYS")
    :convert(non_negative("--keep"))
  sync:flag("--plan", "Sync nothing: say how many calls the next sync will cost, from the pages of"
    .. " each pair's last complete extract in the store (a pair never synced: unknown), against the"
    .. " calls left today. No API call (except listing the customers when none are given and the"
    .. " store has none).")
  sync:flag("-q --quiet", "No progress line on standard error.")
  sync:flag("--progress", "Show the progress line even when standard error is not a terminal.")
  sync:option("--proxy", "HTTPS proxy, http://[user:password@]host:port."):argname("URL")
  local changes = p:command("changes", "What a store recorded as changed: one record per change,"
    .. " or per customer with --summary.")
  db_option(changes)
  changes:option("--since", "Changes after run N, or since a date (UTC) (default: those of the last"
    .. " run)."):argname("RUN|YYYY-MM-DD")
  changes:option("--operation", "Only this operation."):argname("OP")
  changes:option("-c --customer", "Only this customer."):argname("ID")
  changes:flag("--summary", "One record per customer: devices added/removed, new advisories (critical),"
    .. " coverage gained/lost, devices past last date of support.")
  changes:flag("--values", "Add each change's old and new item (JSON).")
  changes:option("--today",
    "With --summary: the date a last date of support is compared with (default: CXCLOUD_TODAY,"
    .. " which a sandbox's environment sets, else today, UTC)."):argname("YYYY-MM-DD")
  changes:option("-n --max-items", "Stop after N records."):argname("N"):convert(non_negative("--max-items"))
  output_options(changes)
  local quota = p:command("quota", "API calls counted today against the daily quota; with --db, those"
    .. " of the store's syncs per day and per run.")
  db_option(quota)
  quota:option("--runs",
    "How many recent runs to list (default 10)."):argname("N"):convert(positive("--runs"))
  output_options(quota)
  local query = p:command("query", "Export any path under the base URL (an operation the table"
    .. " lacks): the parameters go out as given.")
  query:argument("path", "The path, e.g. /inventory/hardware.")
  export_options(query)
  local repl = p:command("repl", "A Lua prompt with cxcloud, cx (a client) and help.")
  repl:flag("--sandbox", "Start a local sandbox and point cx at it (no account needed).")
  repl:option("--proxy", "HTTPS proxy for cx."):argname("URL")
  local sb = p:command("sandbox", "Run a local fake of CX Cloud (HTTPS on 127.0.0.1) in the"
    .. " foreground (see 'cxcloud sandbox --help'; the " .. common.SANDBOX_ROCK .. " rock).")
  local sandbox_cli = common.sandbox_module("cxcloud.sandbox.cli")
  if sandbox_cli then
    sandbox_cli.add_options(sb)
  else
    sb:argument("arguments", "The sandbox's options (once it is installed)."):args("*")
    sb:handle_options(false)
  end
  p:command("help", "Show help for a command."):argument("name"):args("?")
  return p
end

-- the long option names of a command (or of the parser alone), for suggestions
local function option_names(parser, command)
  local names = {}
  local function collect(element)
    for _, o in ipairs(element._options or {}) do
      for _, alias in ipairs(o._aliases) do
        if alias:sub(1, 2) == "--" then names[#names + 1] = alias end
      end
    end
  end
  collect(parser)
  for _, c in ipairs(parser._commands or {}) do
    for _, alias in ipairs(c._aliases) do
      if alias == command then collect(c) end
    end
  end
  return names
end

-- argparse's message, with our suggestion and where to look
local function usage_message(parser, msg, argv)
  msg = msg:gsub("\nDid you mean.*$", "")
  local command = argv[1] and not argv[1]:find("^%-") and argv[1] or nil
  local bad = msg:match("^unknown command '(.-)'")
  if bad then
    local names = operation_names()
    for _, c in ipairs { "report", "query", "repl", "sandbox", "sync", "changes", "quota",
      "help", "affected" } do names[#names + 1] = c end
    local s = util.suggest(bad, names)
    return format("unknown operation or command '%s'%s\nRun 'cxcloud --help' for the operations"
      .. " and commands.", bad, s and format(" (did you mean '%s'?)", s) or "")
  end
  bad = msg:match("^unknown option '(.-)'")
  if bad then
    bad = bad:gsub("=.*", "")
    local s = util.suggest(bad, option_names(parser, command))
    if s and s ~= bad then msg = msg .. format(" (did you mean '%s'?)", s) end
  end
  return format("%s\nRun 'cxcloud %s--help' for the options.", msg, command and (command .. " ") or "")
end

local function run_command(args, argv, parser)
  local name = args.command
  if name == nil then
    io.stderr:write(parser:get_usage(), "\n\nRun 'cxcloud --help' for the commands.\n")
    return 2
  end
  if name == "help" then
    if not args.name then io.write(parser:get_help(), "\n") return 0 end
    local ok, err = parser:pparse { args.name, "--help" }
    if not ok then common.usage(usage_message(parser, err, { args.name })) end
    return 0
  end
  if name == "sandbox" then return common.require_sandbox("cxcloud.sandbox.cli").run(args) end
  if name == "repl" then
    require "cxcloud.core" -- not built: one line here, rather than the REPL's interpreter failing
    return require("cxcloud.cli.repl").run(args)
  end
  if name == "report" then return require("cxcloud.cli.report").run(args, argv) end
  if name == "affected" then return require("cxcloud.cli.affected").run(args) end
  if name == "query" then return require("cxcloud.cli.export").run_path(args, argv) end
  if name == "sync" then return require("cxcloud.cli.sync").run(args) end
  if name == "changes" then return require("cxcloud.cli.changes").run(args) end
  if name == "quota" then return require("cxcloud.cli.quota").run(args) end
  return require("cxcloud.cli.export").run(args, argv)
end

--- Run the command line. Returns the exit status (0, 1, 2, 3 or 130); messages go to standard
-- error.
-- @tparam {string,...} argv the arguments (without the program name)
-- @treturn integer
function M.main(argv)
  local parser = M.parser()
  local ok, args = parser:pparse(argv)
  if not ok then
    io.stderr:write("cxcloud: ", usage_message(parser, args, argv), "\n")
    return 2
  end
  local rok, status = pcall(run_command, args, argv, parser)
  if rok then return status or 0 end
  if common.is_interrupt(status) then
    io.stderr:write("cxcloud: interrupted\n")
    return 130
  end
  if common.is_exit(status) then
    io.stderr:write("cxcloud: ", status.message, "\n")
    return status.status
  end
  if errors.is_error(status) then
    io.stderr:write("cxcloud: ", common.message(status), "\n")
    return status.kind == "usage" and 2 or 1
  end
  local missing = common.missing_module(status)
  if missing then
    io.stderr:write("cxcloud: ", missing, "\n")
    return 1
  end
  io.stderr:write("cxcloud: internal error: ", tostring(status), "\n",
    os.getenv("CXCLOUD_DEBUG") and debug.traceback() or "", "")
  return 1
end

return M
