--- Line readers for the REPL. `read(prompt)` returns the line, nil at the end of input, or
-- false when Ctrl-C cleared the line.
--
-- * `M.readline(rl, catcher, complete)`: Debian's lua-readline (module `readline`) through
--   GNU readline's callback interface, so that the wait for a key can also be a wait for
--   SIGINT (`catcher`): line editing, the history of `add_history`, Tab completion.
--   lua-readline talks to the controlling terminal, so this reader is for a standard input
--   that is that terminal.
-- * `M.plain(catcher, tty)`: lines of standard input; on a terminal, with a prompt and
--   Ctrl-C (the terminal's own editing: backspace, Ctrl-U).
-- @module cxcloud.cli.repl.reader

local M = {}

-- standard input, as something cqueues can poll
local STDIN = { pollfd = function() return 0 end, events = function() return "r" end }

-- luv (lua-luv), when there, lists and closes descriptors
local uv
do
  local ok, m = pcall(require, "luv")
  if ok then uv = m end
end

-- the descriptors open on /dev/tty (lua-readline opens the terminal that way)
local function tty_fds()
  local set = {}
  local req = uv.fs_scandir("/proc/self/fd")
  while req do
    local name = uv.fs_scandir_next(req)
    if not name then break end
    local fd = tonumber(name)
    if fd and fd > 2 and uv.fs_readlink("/proc/self/fd/" .. name) == "/dev/tty" then set[fd] = true end
  end
  return set
end

-- the one descriptor in `after` not in `before` (nil unless exactly one)
local function new_fd(before, after)
  local found
  for fd in pairs(after) do
    if not before[fd] then
      if found then return nil end
      found = fd
    end
  end
  return found
end

--- A reader on lua-readline.
-- @tparam table rl the `readline` module
-- @tparam[opt] table catcher a `cxcloud.cli.repl.interrupt` catcher
-- @tparam[opt] function complete `complete(line_before_word, word)` -> list of completions
-- @treturn table reader
function M.readline(rl, catcher, complete)
  rl.set_options { histfile = "", auto_add = false, completion = complete ~= nil }
  rl.set_readline_name("cxcloud")
  if complete then
    rl.set_complete_function(function(text, from, to)
      rl.set_completion_append_character("") -- readline resets it after each completion
      -- called from C inside readline: an error must not get out
      local ok, list = pcall(complete, text:sub(1, from - 1), text:sub(from, to))
      return ok and type(list) == "table" and list or {}
    end)
  end
  local self = {}
  local line, done = nil, false
  local current, stale -- the descriptor of this line's terminal stream, of a cancelled line's
  local function on_line(l)
    line, done = l, true
    rl.handler_remove() -- readline has restored the terminal: this only closes its stream
  end
  -- Ctrl-C: the line being edited is dropped and the next prompt starts a new one, by a new
  -- install without a remove. (lua-readline's handler_remove, while a line is being edited,
  -- closes the terminal stream before readline restores the terminal through it: a write
  -- into freed memory.) Each install opens the terminal again, so the cancelled line's
  -- stream stays open: its descriptor is closed through luv when luv is there.
  local function cancel()
    if rl.sigcleanup then rl.sigcleanup() end -- out of an incremental search, a numeric argument
    stale, current = current, nil
    io.write("^C\n")
    io.flush()
  end
  function self.add_history(entry) rl.add_history(entry) end
  function self.read(prompt)
    line, done = nil, false
    if stale then
      uv.fs_close(stale)
      stale = nil
    end
    local before = uv and tty_fds()
    rl.handler_install(prompt, on_line)
    current = before and new_fd(before, tty_fds())
    while not done do
      if catcher and catcher:poll(STDIN) == "signal" then
        cancel()
        return false
      end
      rl.read_char()
    end
    current = nil
    if line == nil then io.write("\n") end
    return line
  end
  return self
end

--- A reader of standard input's lines.
-- @tparam[opt] table catcher
-- @tparam boolean tty whether standard input is a terminal (prompts, Ctrl-C at the prompt)
-- @treturn table reader
function M.plain(catcher, tty)
  -- unbuffered: what poll says is ready is what the next read gets
  if tty then io.stdin:setvbuf("no") end
  local self = {}
  function self.add_history() end
  function self.read(prompt)
    if tty then
      io.write(prompt)
      io.flush()
      -- the terminal gives a whole line at once (or the end of input)
      if catcher and catcher:poll(STDIN) == "signal" then
        io.write("\n")
        io.flush()
        return false
      end
    end
    local line = io.stdin:read("L")
    if line == nil then
      if tty then io.write("\n") end
      return nil
    end
    return (line:gsub("\r?\n$", ""))
  end
  return self
end

return M
