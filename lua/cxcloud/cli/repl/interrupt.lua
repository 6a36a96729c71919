--- Ctrl-C in the REPL: it ends what is running, or clears the line being typed, and never
-- the process, the client or the sandbox.
--
-- The stand-alone interpreter's own SIGINT handler (lua.c's `laction`) cannot serve: it
-- puts the default action back when it fires, so a second Ctrl-C kills the process, and its
-- hook raises at whatever Lua instruction comes next, in the middle of the library's
-- bookkeeping too. Instead SIGINT is blocked in this process (threads started afterwards
-- inherit that; the sandbox's thread blocks every signal anyway) and read from a cqueues
-- signal listener (signalfd on Linux) at three safe places:
--
-- * at the prompt, the line reader waits on the terminal and the listener together;
-- * in the client's waits (the `wait` option of the REPL's `cx`), where an error raised is
--   the documented way to end a request: the call returns `nil, err` ("interrupted while
--   the request was in progress"), the client stays usable;
-- * in a count hook while a chunk runs, which raises only when no frame of the library,
--   the sandbox or cqueues is on the stack (pure Lua loops typed at the prompt).
--
-- Once a Ctrl-C is seen during a chunk, every later wait of that chunk raises too, and its
-- hook looks at every instruction: the chunk ends as soon as the library has returned to it
-- (a loop of queries too), and `cx:map`'s calls end at their next wait. A program started
-- with `os.execute` inherits the blocked SIGINT: it runs on, and the chunk ends after it.
-- @module cxcloud.cli.repl.interrupt

local M = {}

--- Instructions between two looks at the listener while a chunk runs.
M.COUNT = 100000

local Interrupted = { __name = "cxcloud.repl.interrupted", __tostring = function() return "interrupted" end }

--- The value raised when a chunk is interrupted (its `tostring` is "interrupted").
M.ERROR = setmetatable({}, Interrupted)

--- Is `e` the value raised by an interrupt?
-- @param e
-- @treturn boolean
function M.is_interrupt(e)
  return rawequal(e, M.ERROR)
end

-- the directories of modules whose frames a hook never raises in
local function protected_dirs()
  local dirs = {}
  for _, name in ipairs { "cxcloud", "cxcloud.sandbox", "cqueues" } do
    local path = package.searchpath(name, package.path)
    local dir = path and path:match("^(.*[/\\])")
    if dir then
      if name == "cqueues" then dir = dir .. "cqueues" end -- cqueues.lua and cqueues/*
      dirs[#dirs + 1] = dir
    end
  end
  return dirs
end

local Catcher = {}
Catcher.__index = Catcher

--- Start catching SIGINT. Returns nil and the reason when cqueues (lua-cqueues) is missing:
-- then Ctrl-C keeps the interpreter's behaviour.
-- @treturn table|nil catcher
-- @treturn string|nil why not
function M.new()
  local ok, signal = pcall(require, "cqueues.signal")
  if not ok then return nil, "no cqueues (lua-cqueues): " .. tostring(signal) end
  local cqueues = require "cqueues"
  signal.block(signal.SIGINT)
  local listener = signal.listen(signal.SIGINT)
  return setmetatable({
    signal = signal, cqueues = cqueues, listener = listener, dirs = protected_dirs(),
    pending = false, fired = false,
  }, Catcher)
end

--- Take the SIGINTs that came (if any).
-- @treturn boolean whether one came
function Catcher:take()
  local got = false
  while self.listener:wait(0) do got = true end
  return got
end

--- Wait until `pollable` (anything with `pollfd` and `events`) is ready, a SIGINT comes
-- or `seconds` pass.
-- @param pollable
-- @tparam[opt] number seconds (nil: no limit)
-- @treturn string "signal", "ready" or "timeout"
function Catcher:poll(pollable, seconds)
  if self:take() then return "signal" end
  local ready
  if seconds then
    ready = self.cqueues.poll(pollable, self.listener, seconds)
  else
    ready = self.cqueues.poll(pollable, self.listener)
  end
  if self:take() then return "signal" end
  return ready == pollable and "ready" or "timeout"
end

-- a SIGINT came: while a chunk runs, its hook now looks at every instruction, so that the
-- chunk ends as soon as the library has returned to it
function Catcher:_pending()
  self.pending, self.fired = true, true
  if self.hook then
    debug.sethook(self.hook, "", 1)
    debug.sethook(self.main, self.hook, "", 1)
  end
end

-- raise when a SIGINT came during this chunk (`got`: one was just taken)
function Catcher:_check(got)
  if not self.pending then
    if not (got or self:take()) then return end
    self:_pending()
  end
  error(M.ERROR, 0)
end

--- The client's `wait` option: returns when the client's descriptor is readable or
-- `seconds` pass, and raises `M.ERROR` on a SIGINT, which ends the request waited for.
-- @param client
-- @tparam[opt] number seconds
function Catcher:wait(client, seconds)
  self:_check()
  self:_check(self:poll(client, seconds) == "signal")
end

--- A function for the client's `wait` option.
-- @treturn function
function Catcher:wait_function()
  return function(client, seconds) return self:wait(client, seconds) end
end

-- may a hook raise here: no frame of the library, the sandbox or cqueues between the hook
-- and `chunk` (or the bottom of a coroutine's stack)?
function Catcher:_may_raise(chunk)
  local level = 3 -- 1: this function, 2: the hook
  while true do
    local info = debug.getinfo(level, "Sf")
    if not info or info.func == chunk then return true end
    local src = info.source
    if src:sub(1, 1) == "@" then
      for _, dir in ipairs(self.dirs) do
        if src:sub(2, #dir + 1) == dir then return false end
      end
    end
    level = level + 1
  end
end

--- Run `fn` as xpcall does, ending it at a safe place on a SIGINT.
-- @tparam function fn
-- @tparam function handler the message handler
-- @treturn table the results of xpcall, packed, with `interrupted` = true when a SIGINT came
function Catcher:run(fn, handler)
  -- (a Ctrl-C typed since the line was read is this chunk's: the prompt took those before)
  self.pending, self.fired = false, false
  local old = { debug.gethook() }
  self.main = coroutine.running()
  self.hook = function()
    if not self.pending then
      if not self:take() then return end
      self:_pending()
    end
    if self:_may_raise(fn) then error(M.ERROR, 0) end
  end
  debug.sethook(self.hook, "", M.COUNT)
  local res = table.pack(xpcall(fn, handler))
  debug.sethook(table.unpack(old, 1, 3))
  res.interrupted = self.fired or self:take()
  self.pending, self.fired, self.hook, self.main = false, false, nil, nil
  return res
end

--- Stop catching: SIGINT gets its former disposition back (one that came meanwhile is
-- dropped).
function Catcher:close()
  if self.closed then return end
  self.closed = true
  self:take()
  pcall(function() self.listener:close() end)
  self.signal.unblock(self.signal.SIGINT)
end

return M
