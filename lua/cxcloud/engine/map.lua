--- `cx:map(list, fn, n)`: every call of `fn` in its own coroutine under the client's
-- scheduler (part of `cxcloud.engine`), a driver of the engine's state machine.
--
-- A call runs ordinary sequential cxcloud code; where the engine would wait, the
-- coroutine yields `WAIT` to this scheduler, which runs one round of the engine for all
-- of them through the driver in force where the map was called (`cxcloud.engine.drivers`:
-- blocking in the core, or the `wait` option inside a host's event loop; a map inside a
-- map's call yields to the outer one) and resumes the calls whose request is done. So
-- the requests of every call share the rate limit, the connections, the token and the
-- retry budget, and a pull over many customers runs at the rate limit.
--
-- A yield of the caller's own inside `fn` (an event loop's, say) is passed up to the
-- coroutine that called `map`, and its answer passed back down.
-- It needs Lua 5.2 or later, or LuaJIT: PUC Lua 5.1 cannot yield across pcall (a call
-- that waits then fails with an error of its own).
-- @module cxcloud.engine.map

local compat = require "cxcloud.compat"
local errors = require "cxcloud.errors"
local drivers = require "cxcloud.engine.drivers"
local request = require "cxcloud.engine.request"

local M = {}

--- What an engine wait yields to the scheduler (`cxcloud.engine.drivers`).
local WAIT = drivers.WAIT

local create, resume, status, yield, running = coroutine.create, coroutine.resume,
  coroutine.status, coroutine.yield, coroutine.running
local close = coroutine.close -- Lua 5.4: runs the pending to-be-closed variables
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or rawget(_G, "unpack")
local huge = math.huge

local function usage(msg) errors.raise("usage", msg, nil, 4) end

-- in a coroutine (not the main thread)?
local function in_coroutine()
  local co, main = running()
  return co ~= nil and not main
end

--- Run the map (see `cxcloud.engine`'s `map` and the contract, "Many queries at once").
-- @tparam table eng the engine
-- @tparam table list an array
-- @tparam function fn called as fn(list[i], i)
-- @tparam[opt] integer n most calls at once (default: the client's concurrency)
-- @treturn table results (results[i]: the first value fn returned for list[i])
-- @treturn table|nil errs (errs[i]: what the call for list[i] raised), nil if none did
function M.run(eng, list, fn, n)
  if type(list) ~= "table" then
    usage("map: list must be an array (a table), got " .. type(list))
  end
  if type(fn) ~= "function" then
    usage("map: fn must be a function(value, index), got " .. type(fn))
  end
  if n == nil then
    n = eng.max_inflight
  elseif type(n) ~= "number" or n < 1 or n % 1 ~= 0 or n == huge then
    usage("map: n must be an integer >= 1 (most calls at once), got " .. tostring(n))
  end
  if eng.closed then usage("map: the client is closed") end
  if not compat.yields then
    -- PUC Lua 5.1 cannot yield across pcall or from a for iterator: one call after the other
    local results, errs = {}, nil
    for i = 1, #list do
      local ok, r = pcall(fn, list[i], i)
      if ok then results[i] = r else errs = errs or {}; errs[i] = r end
    end
    return results, errs
  end
  local total = #list
  local results, errs = {}, nil
  local threads = eng.threads
  local live = {}
  local next_i = 1

  local function forget(t)
    local st = threads[t.co]
    if not st then return end
    local waiting = eng.waiting
    for g, k in pairs(st.waits) do
      local v = (waiting[g] or 0) - k
      waiting[g] = v > 0 and v or nil
    end
    threads[t.co] = nil
  end

  local function failed(t, e)
    errs = errs or {}
    errs[t.i] = e
    forget(t)
    if close then close(t.co) end
  end

  -- resume `t` until it waits in the engine (true) or ends (false)
  local function run(t)
    local r = pack(resume(t.co))
    while r[1] and status(t.co) == "suspended" and r[2] ~= WAIT do
      if not in_coroutine() then
        failed(t, errors.new("usage", "map: fn yielded a value of its own"
          .. " (coroutine.yield outside cxcloud), with no coroutine around cx:map to pass it to"))
        return false
      end
      r = pack(resume(t.co, yield(unpack(r, 2, r.n))))
    end
    if status(t.co) ~= "dead" then return true end
    if r[1] then
      results[t.i] = r[2]
      forget(t)
    else
      failed(t, r[2])
    end
    return false
  end

  -- Can `t` go on without a round of the engine? (Its request is done, or it is a map
  -- of its own that runs its rounds through us.)
  local function ready(t)
    local st = threads[t.co]
    return st.req == nil or request.done(st.req)
  end

  local function any_ready()
    for i = 1, #live do if ready(live[i]) then return true end end
    return false
  end

  -- One round of the engine for every waiting call (none when a call can go on already).
  local function round()
    for i = 1, #live do
      local st = threads[live[i].co]
      if not st.nested and ready(live[i]) then return end
    end
    -- inside a call of an outer map, whose scheduler runs the round: it resumes this one
    -- after every round
    local outer = drivers.thread(eng)
    if outer then threads[outer].nested = true end
    drivers.round(eng, any_ready)
    if outer then threads[outer].nested = nil end
  end

  local ok, e = pcall(function()
    while true do
      while #live < n and next_i <= total do
        local i = next_i
        next_i = i + 1
        local t = { i = i }
        t.co = create(function() return fn(list[i], i) end)
        threads[t.co] = { waits = {} }
        if run(t) then live[#live + 1] = t end
      end
      if #live == 0 then break end
      round()
      local still, progressed = {}, false
      for _, t in ipairs(live) do
        if ready(t) or threads[t.co].nested then
          if run(t) then still[#still + 1] = t else progressed = true end
        else
          still[#still + 1] = t
        end
      end
      live = still
      if not progressed and not any_ready() and not eng:pending() then
        -- nothing in flight, nothing due, yet calls wait: they wait on nothing
        for _, t in ipairs(live) do
          failed(t, errors.new("usage", "map: internal: a call waits on a request that is not queued"))
        end
        live = {}
      end
    end
  end)
  if not ok then
    for _, t in ipairs(live) do
      forget(t)
      if close then close(t.co) end
    end
    error(e, 0)
  end
  return results, errs
end

return M
