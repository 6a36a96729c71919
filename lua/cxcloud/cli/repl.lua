--- `cxcloud repl [--sandbox]`: the Lua prompt of `cxcloud.repl`. With Debian's lua-readline
-- (module `readline`) it runs in this process: line editing, history and Tab completion.
-- Without it, inside the stand-alone interpreter (`lua5.4 -i`), which has readline line
-- editing and history but no completion, prints each result through the global `print`,
-- and shows an error object by its `__tostring` (one line, no traceback).
-- @module cxcloud.cli.repl

local common = require "cxcloud.cli.common"

local M = {}

--- Run the REPL in a child interpreter on this terminal; returns its exit status.
-- @tparam table args parsed options (`sandbox`, `proxy`)
-- @treturn integer
function M.run(args)
  local has_readline, rl = pcall(require, "readline")
  if has_readline and not os.getenv("CXCLOUD_REPL_PLAIN") then
    local repl = require "cxcloud.repl"
    local cx, sb = repl.start { sandbox = args.sandbox, proxy = args.proxy }
    repl.loop(rl)
    if cx then cx:close() end
    if sb then sb:stop() end
    return 0
  end
  local interpreter = arg and arg[-1] or "lua5.4"
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  interpreter = arg and arg[i] or interpreter
  local opts = string.format("{ sandbox = %s, proxy = %s }", args.sandbox and "true" or "false",
    args.proxy and string.format("%q", args.proxy) or "nil")
  local code = table.concat({
    "package.path = " .. string.format("%q", package.path),
    "package.cpath = " .. string.format("%q", package.cpath),
    "require('cxcloud.repl').start(" .. opts .. ")",
  }, "; ")
  local ok, _, status = os.execute(table.concat({ common.shell_quote(interpreter), "-e",
    common.shell_quote(code), "-i" }, " "))
  if ok then return 0 end
  return status or 1
end

return M
