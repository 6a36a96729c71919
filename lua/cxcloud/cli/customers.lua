--- Which customers an export is for, and their names: `--customer` (repeatable, or a
-- comma-separated list), `--customers-file FILE` (one ID per line), or `--all-customers`
-- (every customer the credentials see, listed with their names).
-- @module cxcloud.cli.customers

local common = require "cxcloud.cli.common"
local failure = require "cxcloud.cli.failure"

local M = {}

local format = string.format
local usage, fail = common.usage, common.fail

local NAME_FIELDS = "customerId,customerName"

--- The customer IDs of a file: one per line; blank lines, `#` comments and a first line
-- `customerId` (the header of `cxcloud customers --fields customerId --format csv`) are
-- left out. A file that cannot be read, a line with more than one word or no ID at all is
-- a usage error.
-- @tparam string path
-- @treturn {string,...}
function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    usage(format("--customers-file: cannot read '%s': %s", path, (tostring(err):gsub("^.*: ", ""))))
  end
  local text = f:read("*a")
  f:close()
  if not text then usage(format("--customers-file: cannot read '%s'", path)) end
  local ids, n = {}, 0
  for line in (text:gsub("\r?\n?$", "\n")):gmatch("([^\n]*)\n") do
    n = n + 1
    local id = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if id:find("[%s,]") then
      usage(format("--customers-file '%s', line %d: expected one customer ID per line, got '%s'",
        path, n, id))
    end
    if id ~= "" and not (n == 1 and id == "customerId") then ids[#ids + 1] = id end
  end
  if #ids == 0 then
    usage(format("--customers-file '%s' holds no customer ID (one per line; blank lines and"
      .. " # comments are ignored)", path))
  end
  return ids
end

--- The customers named by `--customer` (each value may be a comma-separated list) and
-- `--customers-file`, in order, each once; nil when there are none.
-- @tparam table args
-- @treturn {string,...}|nil
function M.named(args)
  local ids, seen = {}, {}
  local function add(id)
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
  for _, value in ipairs(args.customer or {}) do
    local any = false
    for id in value:gmatch("[^,%s]+") do add(id); any = true end
    if not any then
      usage(format("--customer expects a customer ID (or IDs separated by commas), got '%s'", value))
    end
  end
  if args.customers_file then
    for _, id in ipairs(M.read_file(args.customers_file)) do add(id) end
  end
  return #ids > 0 and ids or nil
end

--- Every customer the credentials see: their IDs and names (one request).
-- @param cx client
-- @treturn {string,...}|nil ids
-- @treturn table|nil names (customerId -> customerName), or the error
function M.list(cx)
  local list, err = cx:customers { fields = NAME_FIELDS }:all()
  if not list then return nil, err end
  local ids, names = {}, {}
  for i, c in ipairs(list) do
    ids[i] = c.customerId
    names[c.customerId] = c.customerName
  end
  return ids, names
end

--- The customers an invocation names, or every customer the credentials see with
-- `--all-customers` (then with their names); nil when neither is given.
-- @param cx client
-- @tparam table args
-- @treturn {string,...}|nil ids
-- @treturn table|nil names (customerId -> customerName), with --all-customers
function M.select(cx, args)
  local ids = M.named(args)
  if args.all_customers then
    if ids then
      usage("--all-customers takes every customer the credentials see: give it without --customer"
        .. " and --customers-file")
    end
    local all, names = M.list(cx)
    if not all then fail(names, "listing the customers", failure.advice(names)) end
    if #all == 0 then fail("the credentials see no customer (customer-details is empty)") end
    return all, names
  end
  return ids
end

return M
