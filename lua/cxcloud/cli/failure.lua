--- What the command line says when a pull fails or is interrupted: advice that fits the
-- error (a transient failure is worth running again; a refused secret or a customer the
-- credentials do not see is not), and the commands that retry or resume it, built from
-- the command line as it was given.
-- @module cxcloud.cli.failure

local common = require "cxcloud.cli.common"

local M = {}

local format = string.format

--- Is running the same command again likely to work (a network failure, a timeout, the
-- service overloaded or throttling, a broken or drifting answer)?
-- @tparam table err a cxcloud error
-- @treturn boolean
function M.transient(err)
  local kind, status = err.kind, err.status
  if err.quota_spent then return false end
  if kind == "network" then return not (err.message or ""):find("proxy", 1, true) end
  if kind == "timeout" or kind == "throttled" or kind == "decode" or kind == "drift" then return true end
  if kind == "http" then return status == 408 or status == 429 or (status or 0) >= 500 end
  return false
end

--- One sentence of advice for `err`, or nil when the message says enough.
-- @tparam table err a cxcloud error
-- @tparam[opt] table ctx `command` (the operation or command name, for its --help),
--   `customer` (the customer the request was for)
-- @treturn string|nil
function M.advice(err, ctx)
  ctx = ctx or {}
  local kind, status = err.kind, err.status
  if kind == "auth" or status == 401 then
    return "the credentials were refused: check CXCLOUD_CLIENT_ID and CXCLOUD_CLIENT_SECRET"
  end
  if err.quota_spent then
    return "the daily quota is spent: run the command again once the next UTC day has started"
  end
  if kind == "http" and status == 403 then
    local several = ctx.customer and ctx.customer:find(",", 1, true)
    return format("the credentials do not see %s: 'cxcloud customers' lists those they see",
      ctx.customer and ((several and "customers " or "customer ") .. ctx.customer) or "this customer")
  end
  if kind == "http" and status == 400 then
    return format("the service refused the parameters: check --where, --fields and --sort%s",
      ctx.command and format(" ('cxcloud %s --help' lists its parameters and fields)", ctx.command) or "")
  end
  if kind == "http" and status == 404 then
    return "the service has no such path: check the operation or the PATH of 'cxcloud query'"
  end
  if kind == "network" and not M.transient(err) then
    return "check the proxy (--proxy, CXCLOUD_PROXY, https_proxy)"
  end
  if kind == "tls" then
    return "the server's certificate was not accepted: check CXCLOUD_CA_FILE and the base URL"
  end
  if kind == "config" then
    return "check the CXCLOUD_* environment variables and the options"
  end
  if M.transient(err) then return "run the command again" end
  return nil
end

-- -----------------------------------------------------------------------------
-- the command line, rebuilt

-- Options that take a value (`--name VALUE` or `--name=VALUE`; short ones also `-xVALUE`);
-- any other option is a flag.
local TAKES_VALUE = {
  ["--customer"] = true, ["--customers-file"] = true, ["--where"] = true, ["--fields"] = true,
  ["--sort"] = true, ["--max-items"] = true, ["--page-size"] = true, ["--start-page"] = true,
  ["--format"] = true, ["--output"] = true, ["--proxy"] = true,
}
local SHORT = { c = "--customer", o = "--output", w = "--where", f = "--fields", n = "--max-items",
  a = "--all-customers", q = "--quiet", h = "--help" }

--- The command line split into options: `{ name = "--customer", value = "X" }` for an
-- option (by its long name), `{ word = "hardware" }` for any other word. Combined short
-- flags (`-aq`) come apart.
-- @tparam {string,...} argv
-- @treturn table
function M.parse(argv)
  local out, i = {}, 1
  local function value_of(inline)
    if inline then return inline end
    i = i + 1
    return argv[i]
  end
  while i <= #argv do
    local a = argv[i]
    local long, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if not long and a:find("^%-%-[%w-]+$") then long = a end
    if long then
      if TAKES_VALUE[long] then
        out[#out + 1] = { name = long, value = value_of(inline) }
      else
        out[#out + 1] = { name = long }
      end
    elseif a:find("^%-%a") then
      local j = 2
      while j <= #a do
        local name = SHORT[a:sub(j, j)] or ("-" .. a:sub(j, j))
        if TAKES_VALUE[name] then
          local rest = a:sub(j + 1)
          out[#out + 1] = { name = name, value = value_of(rest ~= "" and rest or nil) }
          break
        end
        out[#out + 1] = { name = name }
        j = j + 1
      end
    else
      out[#out + 1] = { word = a }
    end
    i = i + 1
  end
  return out
end

--- The command line again (as one line for a POSIX shell), without the options named in
-- `drop`, with `output` instead of the --output file when given, then `extra` words.
-- @tparam {string,...} argv
-- @tparam table drop set of long option names
-- @tparam {string,...} extra words to add (quoted here)
-- @tparam[opt] string output
-- @treturn string
function M.command(argv, drop, extra, output)
  local out = { "cxcloud" }
  for _, o in ipairs(M.parse(argv)) do
    if o.word then
      out[#out + 1] = common.shell_quote(o.word)
    elseif not drop[o.name] then
      out[#out + 1] = o.name
      if o.value ~= nil then
        out[#out + 1] = common.shell_quote(o.name == "--output" and output or o.value)
      end
    end
  end
  for _, w in ipairs(extra) do out[#out + 1] = common.shell_quote(w) end
  return table.concat(out, " ")
end

local CUSTOMER_OPTIONS = { ["--customer"] = true, ["--customers-file"] = true,
  ["--all-customers"] = true, ["--with-customer-id"] = true }

--- The command that pulls `ids` again, with the options it had: `-c ID` each (and
-- --with-customer-id for one, so that its records have the columns they had among
-- several), `--append` when `append`, `output` for the --output file when given.
-- @tparam {string,...} argv
-- @tparam {string,...} ids
-- @tparam table opts `append`, `output`
-- @treturn string
function M.retry_command(argv, ids, opts)
  local drop = { ["--append"] = true }
  for k in pairs(CUSTOMER_OPTIONS) do drop[k] = true end
  local extra = {}
  for _, id in ipairs(ids) do extra[#extra + 1] = "-c"; extra[#extra + 1] = id end
  if #ids == 1 then extra[#extra + 1] = "--with-customer-id" end
  if opts.append then extra[#extra + 1] = "--append" end
  return M.command(argv, drop, extra, opts.output)
end

--- The command that resumes a pull at `page` (`--start-page N --append`, with the page
-- size the pull had, since a page number means something at that size); for one
-- customer of several, with that --customer and --with-customer-id.
-- @tparam {string,...} argv
-- @tparam integer page
-- @tparam[opt] string customer
-- @tparam[opt] integer page_size
-- @tparam[opt] boolean json without --append: the rest goes out as an array of its own
-- @treturn string
function M.resume_command(argv, page, customer, page_size, json)
  local drop = { ["--start-page"] = true, ["--page-size"] = true, ["--append"] = true }
  local extra = {}
  if customer then
    for k in pairs(CUSTOMER_OPTIONS) do drop[k] = true end
    extra = { "--customer", customer, "--with-customer-id" }
  end
  if page_size then extra[#extra + 1] = "--page-size"; extra[#extra + 1] = tostring(page_size) end
  extra[#extra + 1] = "--start-page"
  extra[#extra + 1] = tostring(page)
  if not json then extra[#extra + 1] = "--append" end
  return M.command(argv, drop, extra)
end

return M
