--- `cxcloud affected`: the devices a security advisory, field notice or end-of-life
-- bulletin names, over the selected customers (default: every customer), through
-- `cxcloud.affected`.
-- @module cxcloud.cli.affected

local common = require "cxcloud.cli.common"

local M = {}

local format = string.format
local usage = common.usage

-- the command line's options -> the library's kind
local KINDS = { { "advisory", "--advisory" }, { "field_notice", "--field-notice" }, { "eol", "--eol" } }

--- Declare the command on the parser.
-- @tparam table parser argparse parser
-- @tparam function output_options adds --format, --output, --quiet, --progress, --proxy
function M.add_to_parser(parser, output_options)
  local cmd = parser:command("affected", "The devices a security advisory, field notice or"
    .. " end-of-life bulletin names, with their customer, hostname, IP address, product and"
    .. " software version, over every customer (or those given).")
  cmd:option("--advisory", "A security advisory: its advisoryId (cisco-sa-...) or its"
    .. " securityAdvisoryInstanceId."):argname("ID")
  cmd:option("--field-notice", "A field notice: its number (72510 or FN72510)."):argname("ID")
  cmd:option("--eol", "A hardware or software end-of-life bulletin: its bulletinNumber"
    .. " (EOL11503) or its hwEolInstanceId / swEolInstanceId."):argname("ID")
  cmd:option("-c --customer", "Only this customer (repeatable; default: every customer the"
    .. " credentials see)."):argname("ID"):count("*")
  cmd:flag("-a --all-customers", "Every customer the credentials see (the default).")
  cmd:option("-f --fields", "Only these columns, in this order (listed below)."):argname("A,B,...")
  cmd:option("-n --max-items", "Only the first N records."):argname("N")
    :convert(function(s)
      local n = math.tointeger(tonumber(s))
      if n and n >= 0 then return n end
      return nil, format("--max-items expects an integer >= 0, got '%s'", s)
    end)
  output_options(cmd)
  local fields = require("cxcloud.affected").FIELDS
  cmd:epilog(format("Columns (the first 11 by default; --fields picks):\n  --advisory: %s.\n"
    .. "  --field-notice: %s.\n  --eol: %s.\nExit status: 0 (also when no device is named), 1 the"
    .. " work failed, 2 a usage error or an ID that no bulletin has (the message suggests the"
    .. " closest), 3 some customers failed (the devices of the others were written; 1 when all"
    .. " failed).",
    table.concat(fields.advisory, ", "), table.concat(fields.field_notice, ", "),
    table.concat(fields.eol, ", ")))
  return cmd
end


--- Run `cxcloud affected`. Returns the exit status.
-- @tparam table args parsed options
-- @treturn integer
function M.run(args)
  local affected = require "cxcloud.affected"
  local export = require "cxcloud.cli.export"
  local term = require "cxcloud.cli.term"
  local now = require("cxcloud.core").now
  local kind, flag
  for _, k in ipairs(KINDS) do
    if args[k[1]] ~= nil then
      if kind then usage(format("affected takes one of --advisory, --field-notice, --eol (got %s and %s)",
        flag, k[2])) end
      kind, flag = k[1], k[2]
    end
  end
  if not kind then
    usage("affected needs --advisory ID (cisco-sa-... or its instance ID), --field-notice ID"
      .. " or --eol ID")
  end
  local columns = args.fields
    and common.chosen_fields(args.fields, affected.FIELDS[kind], nil, "hostname,ipAddress")
    or affected.COLUMNS[kind]
  local customers
  if not args.all_customers and args.customer and #args.customer > 0 then customers = args.customer end
  local started = now()
  local cx = common.client(args)
  local ok, records, info = pcall(affected.build, cx,
    { [kind] = args[kind], customers = customers, partial = true })
  cx:close()
  if not ok then common.reraise(records) end
  if not records then
    local err = info
    if err.kind == "usage" then usage(format("%s: %s", flag, err.message)) end
    common.fail(err, err.customerId and format("affected: customer %s", err.customerId) or "affected")
  end
  local rows = {}
  for i, r in ipairs(records) do
    if args.max_items and i > args.max_items then break end
    local p = {}
    for _, c in ipairs(columns) do p[c] = r[c] end
    rows[#rows + 1] = p
  end
  export.write_all(args, export.format(args), rows, columns)
  for _, f in ipairs(info.failed) do
    io.stderr:write(format("cxcloud: affected: customer %s failed: %s\n", f.customerId,
      common.message(f.error)))
  end
  if not args.quiet and (args.progress or term.isatty(2)) then
    local b = info.bulletins[1]
    local per = {}
    for _, r in ipairs(records) do per[r.customerId] = true end
    local n = 0
    for _ in pairs(per) do n = n + 1 end
    io.stderr:write(format("cxcloud: affected: %s%s%s: %d device(s) of %d customer(s) (%d searched),"
      .. " %d call(s) in %.1f s\n", b.advisoryId or (b.bulletinNumber and tostring(b.bulletinNumber))
      or info.id, b.securityImpactRating and (" (" .. b.securityImpactRating .. ")") or "",
      b.bulletinTitle and (" " .. b.bulletinTitle) or "", #records, n, #info.customers,
      info.calls, now() - started))
  end
  if #info.failed > 0 then return #info.failed == #info.customers and 1 or 3 end
  return 0
end

return M
