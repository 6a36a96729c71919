--- The engine's state machine and its one driver interface (part of `cxcloud.engine`).
--
-- The engine does nothing by itself: something calls `step`, as a cqueues controller is
-- driven through `:step()`, `:timeout()` and `:pollfd()`. These are the interface:
--
--    eng:step(s)     one round: send what may be sent (`cxcloud.engine.dispatch`), collect
--                    what the core has, waiting there at most `s` seconds (at most 1 s at a
--                    time inside C, so that Ctrl-C is seen; in `sleep` when nothing is in
--                    flight and something is due later), process it
--                    (`cxcloud.engine.results`), send what that made ready; true while
--                    work is pending. It never calls the `wait` option.
--    eng:timeout()   seconds until a step has something to do even if the descriptor stays
--                    quiet; 0: now; nil: idle
--    eng:pollfd()    the core's descriptor, readable when the core has work
--    eng:pending()   true while something is in flight, or queued and wanted
--
-- Whoever waits drives it (`cxcloud.engine.drivers`): a blocking call steps until its
-- request is done, the `wait` option is called between steps, `cx:map`'s scheduler steps
-- for all its coroutines, and an outside loop (cqueues' `cq:loop`, luv, a host's own) waits
-- on `pollfd` and `timeout` and steps.
--
-- When the core's poll raises (an interrupt, a C error), the transfers in flight may have
-- lost their results: they are cancelled in the core and queued again, the attempt not
-- counted, and the error goes on to the caller. The core's trace goes to the user's
-- `verbose` function after the results, so that an error there loses none of them.
-- @module cxcloud.engine.machine

local errors = require "cxcloud.errors"
local dispatch = require "cxcloud.engine.dispatch"
local results = require "cxcloud.engine.results"

local M = {}

local min, max = math.min, math.max
local earliest = dispatch.earliest

-- Transfers whose results may have been lost (the core's poll raised): cancel them in
-- the core and queue them again, the attempt not counted.
local function requeue_inflight(eng)
  local c = eng.c
  for id, req in pairs(eng.inflight) do
    dispatch.landed(eng, req)
    if not eng.closed then pcall(c.cancel, c, id) end
    dispatch.requeue(eng, req, true)
  end
end

-- the trace to the user's verbose function; its error reaches the caller as an error object
local function deliver_trace(eng, trace)
  local ok, e = pcall(eng.cfg.verbose, trace)
  if not ok then
    error(errors.new("usage", "the verbose function raised an error: " .. eng:_text(e)), 0)
  end
end

-- Collect what the core has, waiting there at most `w` seconds; process it. Returns
-- true when something completed.
local function collect(eng, w)
  local c = eng.c
  local ok, res, trace = pcall(c.poll, c, w)
  if not ok then
    requeue_inflight(eng)
    error(res, 0)
  end
  if #res > 0 then
    local now = eng.clock()
    for i = 1, #res do
      local r = res[i]
      local req = eng.inflight[r.id]
      if req then
        dispatch.landed(eng, req)
        results.complete(eng, req, r, now)
      end
    end
  elseif c:pending() == 0 and next(eng.inflight) ~= nil then
    -- transfers we think are in flight but the core has none: send them again
    requeue_inflight(eng)
  end
  if trace and eng.cfg.verbose then deliver_trace(eng, trace) end
  return #res > 0
end

-- One round, waiting at most `w` seconds. Returns true when there was work: something
-- in flight, or due later.
local function turn(eng, w)
  if eng.closed then errors.raise("usage", "the client is closed") end
  local now = eng.clock()
  local wake = dispatch.dispatch(eng, now)
  if next(eng.inflight) ~= nil then
    if wake then w = min(w, max(0, wake - now)) end
    if collect(eng, w > 1 and 1 or w) then
      dispatch.dispatch(eng, eng.clock()) -- what the answers made ready (the token, a slot)
    end
    return true
  end
  if not wake then return false end
  w = min(w, wake - now)
  if w > 0 then eng.sleep(w) end
  return true
end

--- True while something is in flight or queued and wanted.
-- @tparam table eng
-- @treturn boolean
function M.pending(eng)
  if eng.closed then return false end
  return next(eng.inflight) ~= nil or dispatch.dispatch(eng, eng.clock(), true) ~= nil
end

--- Seconds until the engine must run even if the core's descriptor stays quiet: the
-- earliest of the core's own deadline (libcurl's timer) and the engine's (the next
-- rate-limit slot, a backoff, a Retry-After, a hold, a token request); 0 when something
-- can be done now; nil when idle (or only the descriptor can end the wait).
-- @tparam table eng
-- @treturn number|nil
function M.timeout(eng)
  if eng.closed then return nil end
  local now = eng.clock()
  local wake = dispatch.dispatch(eng, now, true)
  local t = wake and max(0, wake - now) or nil
  if next(eng.inflight) ~= nil then
    t = earliest(t, eng.c:timeout())
  end
  return t
end

--- One round: send what is ready, collect what completed, waiting at most `s` seconds
-- (default: until the next event; 0: not at all). Never calls the `wait` option.
-- @tparam table eng
-- @tparam[opt] number s
-- @treturn boolean true while work is pending
function M.step(eng, s)
  if s == nil then s = M.timeout(eng) or 1 end
  turn(eng, s)
  return M.pending(eng)
end

--- The core's descriptor (readable when the core has work), for event loops.
-- @tparam table eng
-- @treturn integer
function M.pollfd(eng)
  if eng.closed then errors.raise("usage", "pollfd: the client is closed") end
  return eng.c:pollfd()
end

return M
