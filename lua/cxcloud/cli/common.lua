--- What the command line's commands share: how they stop (exit status and message), the
-- client they make from the environment and the options, the sandbox's modules (a rock of
-- their own), shell quoting.
-- @module cxcloud.cli.common

local errors = require "cxcloud.errors"

local M = {}

local format = string.format

local Exit = { __name = "cxcloud.cli.exit" }
Exit.__tostring = function(e) return e.message end
M.Exit = Exit

--- Is `v` an exit raised by `usage` or `fail`?
function M.is_exit(v)
  return getmetatable(v) == Exit
end

--- Stop with exit status 2 and `message` (a usage error: the bad argument and what is accepted).
-- @tparam string message
function M.usage(message)
  error(setmetatable({ status = 2, message = message }, Exit), 0)
end

--- `--fields A,B,...`: those names of `available`, in that order. An unknown name, or none,
-- is a usage error that lists the columns (`what`: whose columns, e.g. "--totals").
-- @tparam string spec
-- @tparam table available column names
-- @tparam[opt] string what
-- @tparam string example two columns for the message
-- @treturn table
function M.chosen_fields(spec, available, what, example)
  local known = {}
  for _, c in ipairs(available) do known[c] = true end
  local cols = {}
  for name in spec:gmatch("[^,%s]+") do
    if not known[name] then
      local s = require("cxcloud.util").suggest(name, available)
      M.usage(format("--fields: unknown %scolumn '%s'%s; the columns are %s",
        what and (what .. " ") or "", name, s and format(" (did you mean '%s'?)", s) or "",
        table.concat(available, ",")))
    end
    cols[#cols + 1] = name
  end
  if #cols == 0 then M.usage("--fields expects column names, e.g. --fields " .. example) end
  return cols
end

--- The one line of an error, without the "cxcloud: " prefix.
-- @param err an error object or a string
-- @treturn string
function M.message(err)
  return (tostring(err):gsub("^cxcloud: ", ""):gsub("\n.*", ""))
end

--- Did `err` come from an interrupt (SIGINT: the stand-alone interpreter raises
-- "interrupted!" wherever Lua code runs, and the client turns it into an error object when
-- it was waiting on a request)?
-- @param err anything raised
-- @treturn boolean
function M.is_interrupt(err)
  local msg = type(err) == "string" and err or errors.is_error(err) and err.message
  return type(msg) == "string" and msg:find("interrupted!$") ~= nil
end

--- Raise the interrupt again, as the interpreter raised it (`main` exits with 130).
function M.interrupt()
  error("interrupted!", 0)
end

--- Stop with exit status 1: the work failed.
-- @param err an error object or a message
-- @tparam[opt] string context what was being done ("listing the customers")
-- @tparam[opt] string advice what to do about it (a line of its own)
function M.fail(err, context, advice)
  if M.is_interrupt(err) then M.interrupt() end
  local msg = M.message(err)
  if context then msg = context .. ": " .. msg end
  if advice then msg = msg .. "\ncxcloud: " .. advice end
  error(setmetatable({ status = 1, message = msg }, Exit), 0)
end

--- Re-raise what a call raised: a cxcloud usage error becomes a usage exit, another
-- cxcloud error a failure, an interrupt the interrupt; anything else (a bug) goes on as
-- it is.
function M.reraise(err)
  if M.is_exit(err) then error(err, 0) end
  if M.is_interrupt(err) then M.interrupt() end
  if errors.is_error(err) then
    if err.kind == "usage" then M.usage(M.message(err)) end
    M.fail(err)
  end
  error(err, 0)
end

--- Call `f` and return its value, turning what it raises into an exit (see `reraise`).
-- @tparam function f
function M.checked(f)
  local ok, v = pcall(f)
  if not ok then M.reraise(v) end
  return v
end

--- A client from CXCLOUD_* and the options (`--proxy`).
-- @tparam table args
-- @return client
function M.client(args)
  local opts = {}
  if args.proxy then opts.proxy = args.proxy end
  local ok, cx = pcall(require("cxcloud").new, opts)
  if not ok then
    if errors.is_error(cx) and cx.kind == "config" and args.proxy and M.message(cx):find("proxy") then
      M.usage("--proxy: " .. M.message(cx))
    end
    M.fail(cx)
  end
  return cx
end

--- Where the sandbox comes from, for the message when it is missing.
M.SANDBOX_ROCK = "cxcloud-sandbox"

--- The sandbox's module `name` ("cxcloud.sandbox", "cxcloud.sandbox.cli"), or nil when the
-- sandbox is not installed: it is its own rock (cxcloud-sandbox-scm-1.rockspec), not part of
-- the library's; or nil and a message when it is there but a module it needs is not (lua-http,
-- cqueues, ...). A sandbox that fails to load otherwise raises as it is.
-- @tparam string name
-- @treturn table|nil
-- @treturn string|nil
function M.sandbox_module(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  local missing = tostring(mod):match("module '([^']+)' not found")
  if missing == name then return nil end
  if missing then return nil, format("the sandbox needs the module '%s', which is not installed (make deps"
    .. " installs it)", missing) end
  error(mod, 0)
end

--- The sandbox's module `name`; when the sandbox is not installed, a failure (exit status 1)
-- that names its rock.
-- @tparam string name
-- @treturn table
function M.require_sandbox(name)
  local mod, why = M.sandbox_module(name)
  return mod or M.fail(why or ("the sandbox is not installed: it is the separate rock "
    .. M.SANDBOX_ROCK .. " (Lua 5.4; in a checkout: luarocks --lua-version=5.4 make "
    .. M.SANDBOX_ROCK .. "-scm-1.rockspec, or run bin/cxcloud from the checkout)"))
end

--- The one line for a module that `require` did not find, or nil for another error: the C
-- core (not built yet in a checkout) or a dependency.
-- @param err what `require` raised
-- @treturn string|nil
function M.missing_module(err)
  local name = type(err) == "string" and err:match("module '([^']+)' not found")
  if not name then return nil end
  if name == "cxcloud.core" then
    return "the C core is not built: run make (the module 'cxcloud.core' is not on LUA_CPATH)"
  end
  return format("the module '%s' is not installed (make deps installs the dependencies;"
    .. " LUA_PATH and LUA_CPATH say where Lua looks)", name)
end

--- A word for a POSIX shell: bare when it is plainly safe (so that a resume command reads
-- well), else quoted by `cxcloud.shell`.
-- @tparam string s
-- @treturn string
function M.shell_quote(s)
  s = tostring(s)
  if s:match("^[%w@%%+=:,./_-]+$") then return s end
  return require("cxcloud.shell").quote(s)
end

return M
