--- The `cxcloud repl` command: the Lua prompt of `cxcloud.repl`, in this process (on a
-- sandbox of its own with `--sandbox`).
--
-- On a terminal with Debian's lua-readline (module `readline`): line editing, Tab
-- completion, history. Without it (or with `CXCLOUD_REPL_PLAIN=1`, or when standard input
-- is not a terminal) lines are read as they come, the terminal's own editing only. Either
-- way Ctrl-C ends what runs or clears the line (with lua-cqueues: `cxcloud.cli.repl.interrupt`),
-- `_` is the last result and the history is kept in the user's state directory.
-- @module cxcloud.cli.repl

local term = require "cxcloud.cli.term"

local M = {}

-- the REPL's session: the client (and sandbox), the history, the line reader, the loop
local function session(args, catcher, tty)
  local repl = require "cxcloud.repl"
  local reader = require "cxcloud.cli.repl.reader"
  local history = require "cxcloud.cli.repl.history"
  local cx, sb = repl.start { sandbox = args.sandbox, proxy = args.proxy,
    wait = catcher and catcher:wait_function() }
  local hist = history.open()
  if hist.problem and tty then
    io.stderr:write("(the history is not kept: ", hist.problem, ")\n")
  end
  local has_readline, rl = false, nil
  if tty and not os.getenv("CXCLOUD_REPL_PLAIN") then has_readline, rl = pcall(require, "readline") end
  local lines
  if has_readline then
    lines = reader.readline(rl, catcher, function(before, word) return repl.complete(before, word) end)
  else
    lines = reader.plain(catcher, tty)
  end
  repl.loop { reader = lines, catcher = catcher, history = hist }
  if cx then cx:close() end
  if sb then sb:stop() end
end

--- Run the REPL on this terminal until the end of input; returns the exit status.
-- @tparam table args parsed options (`sandbox`, `proxy`)
-- @treturn integer
function M.run(args)
  -- before the sandbox's thread and the client exist, so that they inherit the blocked SIGINT
  local catcher = require("cxcloud.cli.repl.interrupt").new()
  local ok, err = pcall(session, args, catcher, term.isatty(0))
  if catcher then catcher:close() end
  if not ok then error(err, 0) end
  return 0
end

return M
