--- Who runs the state machine while a caller waits (part of `cxcloud.engine`).
--
-- Every wait goes through `run`: it counts the wait on the request's group (only wanted
-- requests are sent, see `cxcloud.engine.dispatch`), runs rounds until the request is done,
-- and turns an error raised meanwhile into the request's end. A round goes through the one
-- driver in force where the caller runs, each a thin user of the machine's interface
-- (`step`, `timeout`; `cxcloud.engine.machine`):
--
-- * inside a `cx:map` call (a coroutine of `eng.threads`): yield WAIT to the map's scheduler
--   (`cxcloud.engine.map`), which runs the rounds for all its calls through the driver in
--   force where it runs itself;
-- * with the `wait` option: `step(0)`, then, when the caller's request is still not done,
--   `wait(cx, timeout())`, where an event loop yields to its other work (it may wait on
--   the client's `pollfd` and `timeout`, as `cqueues.poll(cx, s)` does);
-- * otherwise, blocking: `step` until the next event (inside the core's poll, at most 1 s at
--   a time, or in `sleep` when nothing is in flight).
--
-- An outside loop that waits on `pollfd` and `timeout` and calls `step` itself (a host's
-- loop, or cqueues polling the client as a pollable object) is a driver too; it needs
-- nothing here.
-- @module cxcloud.engine.drivers

local errors = require "cxcloud.errors"
local dispatch = require "cxcloud.engine.dispatch"
local request = require "cxcloud.engine.request"

local M = {}

local huge = math.huge
local running, yield = coroutine.running, coroutine.yield
local done = request.done

--- What a wait inside a `cx:map` call yields to the map's scheduler.
M.WAIT = setmetatable({}, { __name = "cxcloud.engine.WAIT",
  __tostring = function() return "cxcloud.engine.WAIT" end })
local WAIT = M.WAIT

--- The `cx:map` call (coroutine) running now, if any.
-- @tparam table eng
-- @treturn thread|nil
function M.thread(eng)
  local co = running()
  return co and eng.threads[co] and co or nil
end

--- One round through the driver in force here. `ready()` tells whether the waiter can go
-- on; returns false when it cannot and nothing is pending (the wait would never end).
-- @tparam table eng
-- @tparam function ready
-- @treturn boolean
function M.round(eng, ready)
  if M.thread(eng) then
    yield(WAIT) -- the map's scheduler runs the round
    return true
  end
  if eng.user_wait then
    local pending = eng:step(0)
    if ready() then return true end
    if not pending then return false end
    eng.user_wait(eng.owner, eng:timeout())
    return true
  end
  return eng:step(huge) or ready()
end

-- an error raised while waiting, as an error object
local function as_error(eng, e, req)
  if errors.is_error(e) then return request.copy_error(e) end
  return errors.new("usage", "interrupted while the request was in progress (the client stays"
    .. " usable): " .. eng:_text(e), { method = request.method(req), url = req.url })
end

local function until_done(eng, req)
  local function ready() return done(req) end
  while not done(req) do
    if not M.round(eng, ready) then
      -- cannot happen unless the request was never queued; never spin
      request.fail(req, errors.new("usage", "internal: request is not queued"))
    end
  end
end

--- Run rounds until `req` is done. While it runs, the queued requests of `req`'s group are
-- sent (and those of every group another wait is on); when it ends, by an answer or an
-- error, they are not sent any more. An error raised meanwhile (an interrupt, a C error,
-- the user's verbose function) ends `req` with an error object (state "interrupted"), even
-- when its answer had come; the other results are kept.
-- @tparam table eng
-- @tparam table req a pending request
function M.run(eng, req)
  local waiting, g = eng.waiting, req.group
  local co = M.thread(eng)
  local mine = co and eng.threads[co] -- a cx:map call: its waits and the request
  local outer
  waiting[g] = (waiting[g] or 0) + 1
  if mine then
    mine.waits[g] = (mine.waits[g] or 0) + 1
    outer, mine.req = mine.req, req
  end
  local ok, e = pcall(until_done, eng, req)
  local n = waiting[g] - 1
  waiting[g] = n > 0 and n or nil
  if mine then
    n = mine.waits[g] - 1
    mine.waits[g] = n > 0 and n or nil
    mine.req = outer
  end
  if not ok then
    if not done(req) then dispatch.withdraw(eng, req) end
    request.interrupt(req, as_error(eng, e, req))
  end
end

return M
