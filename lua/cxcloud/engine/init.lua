--- The request engine: runs many logical GET requests through one C core client.
--
-- A logical request (`req`) is one GET of one URL that the engine drives to a final
-- answer: it fetches or refreshes the access token, waits for the rate limiter and a
-- free slot, submits the transfer, retries what is retryable with backoff, and ends
-- with `req.body` (the decoded JSON) or `req.err` (an error object).
--
--    local req = engine:start(url, meta, group) -- queue a GET (meta: caller's data, e.g. a
--                                          -- page number; group: a table shared by the
--                                          -- requests of one cursor, default the request)
--    engine:wait(req)                      -- run until req is done, its answer decoded
--    engine:step(s)                        -- one round, waiting at most s seconds
--    engine:timeout()                      -- seconds until the engine must run; nil: idle
--    engine:pollfd()                       -- the core's descriptor, for event loops
--    engine:cancel(req)                    -- abandon (cancels the transfer if in flight)
--    engine:again(req, err)                -- a page its taker refused: ask it again
--    engine:get(url)  -> body | nil, err   -- start + wait
--    engine:token()   -> token, expires_at | nil, err
--    engine:map(list, fn, n)               -- fn(value, i) in coroutines (cx:map)
--
-- The engine is one state machine with one driver interface, `step`, `timeout` and
-- `pollfd`, as a cqueues controller; whoever waits drives it. Each concern has its module,
-- and this one only assembles them:
--
-- * `cxcloud.engine.request`: a request's state, one field (`req.state`), and its
--   transitions.
-- * `cxcloud.engine.dispatch`: the queue and what is sent when: requests in the order they
--   were started, only those someone waits on, the token first, at most `max_inflight`.
-- * `cxcloud.engine.results`: a transfer's result becomes the request's next state:
--   answers kept undecoded until taken, retries, 401s, the token's answer, errors inside
--   this processing.
-- * `cxcloud.engine.machine`: the driver interface (`step`, `timeout`, `pollfd`,
--   `pending`): a round sends, collects the core's results, processes them; a poll that
--   raises re-queues what was in flight; the trace goes to `verbose`.
-- * `cxcloud.engine.drivers`: the waits: inside `cx:map` a coroutine yields to its
--   scheduler (`cxcloud.engine.map`); with the `wait` option, `wait(cx, timeout())` between
--   steps; otherwise blocking steps. An error raised while waiting ends the waited request.
-- * The policies: `cxcloud.engine.token` (the token's lifecycle), `cxcloud.engine.retry`
--   (what is retried, backoff, budget), `cxcloud.engine.rate` (rate limit, slowdown,
--   holds), `cxcloud.engine.concurrency` (`max_inflight`, automatic unless set),
--   `cxcloud.engine.classify` (HTTP and transfer results to error kinds),
--   `cxcloud.engine.stats` (counters).
--
-- The engine imports nothing above it: what it needs from the client's layers (the
-- identifier fields, the retry budget's constants) comes as arguments of `new`.
-- @module cxcloud.engine

local errors = require "cxcloud.errors"
local classify_mod = require "cxcloud.engine.classify"
local concurrency = require "cxcloud.engine.concurrency"
local dispatch = require "cxcloud.engine.dispatch"
local drivers = require "cxcloud.engine.drivers"
local machine = require "cxcloud.engine.machine"
local map_mod = require "cxcloud.engine.map"
local rate_mod = require "cxcloud.engine.rate"
local request = require "cxcloud.engine.request"
local results = require "cxcloud.engine.results"
local retry_mod = require "cxcloud.engine.retry"
local stats_mod = require "cxcloud.engine.stats"
local token_mod = require "cxcloud.engine.token"

local M = {}

local done = request.done

local Engine = {}
Engine.__index = Engine

--- Create an engine.
-- @param core_client a `cxcloud.core` client
-- @tparam table cfg validated options (see `cxcloud.options`)
-- @tparam table core the `cxcloud.core` module (decoder, now, time, sleep, parse_retry_after)
-- @tparam table deps what the layers above know and the engine needs: `identifiers` (the
--   fields decoded as strings, `cxcloud.operations.identifiers`), `retry_cost` and
--   `retry_refund` (the retry budget's constants, `cxcloud.options`)
-- @treturn table engine
function M.new(core_client, cfg, core, deps)
  local stats = stats_mod.new()
  local self = setmetatable({
    c = core_client,
    cfg = cfg,
    clock = cfg.clock or core.now,
    wall = cfg.wall_clock or core.time,
    -- the default sleep naps at most 1 s at a time (Ctrl-C is seen between naps)
    sleep = cfg.sleep or function(s) core.sleep(s > 1 and 1 or s) end,
    user_wait = cfg.wait,
    owner = nil,        -- the public client, handed to `wait` (set by cxcloud.new)
    queue = {},         -- API reqs waiting to be sent, ordered by seq (engine.dispatch)
    waiting = {},       -- group -> number of waits on it: only their requests are sent
    threads = {},       -- cx:map coroutine -> { waits = { group -> n }, req, nested }
    inflight = {},      -- transfer id -> req (API and token)
    ninflight = 0,      -- API transfers in flight
    held = setmetatable({}, { __mode = "k" }), -- answered reqs not taken (engine.dispatch)
    seq = 0,
    closed = false,
    stats = stats,
    -- API requests of the current UTC day: `calls` sent by this process, `stored` of them
    -- recorded in a store (by `db:sync`), `spent` the error of the gateway's daily-quota
    -- answer that day (later requests that day fail without being sent)
    quota = { day = nil, calls = 0, stored = 0, spent = nil },
    -- calls of that client id on `day` that other processes made, as a store recorded them
    -- (`{day, calls}`, set by `db:sync` through `Engine:share_quota`); part of `get_quota`
    quota_base = nil,
  }, Engine)
  concurrency.init(self, cfg) -- max_inflight
  self.redact = function(s, limit) return core_client:redact(s, limit) end
  self.tok = token_mod.new(core_client, cfg)
  self.rate = rate_mod.new(cfg, stats)
  self.retry = retry_mod.new(cfg, cfg.random or math.random, stats, deps.retry_cost,
    deps.retry_refund)
  self.classify, self.decode = classify_mod.new {
    decode = core.decoder(deps.identifiers), -- identifier fields come out as strings
    depth = cfg.max_json_depth,
    redact = self.redact, wall = self.wall, parse_retry_after = core.parse_retry_after,
    cfg = cfg, quota_calls = function() return self:get_quota().calls end }
  return self
end

-- An error value as safe text (it may come from C or from user code), for the engine's
-- modules.
function Engine:_text(e)
  if errors.is_error(e) then return e.message end
  local s = tostring(e)
  if self.closed then return s end
  local ok, r = pcall(self.redact, s)
  return ok and r or "(error text not shown)"
end

--- Queue a GET of `url`.
-- @tparam string url full URL (base_url .. path .. "?" .. query)
-- @param meta any value the caller wants back on the req (e.g. a page number)
-- @tparam[opt] table group requests sent only while one of the group is waited on
--   (default: the request alone); `group.dead = true` drops its queued requests
-- @treturn table req with fields state, body, err, meta, attempts (`cxcloud.engine.request`)
function Engine:start(url, meta, group)
  if self.closed then errors.raise("usage", "the client is closed") end
  self.seq = self.seq + 1
  local req = request.new(url, meta, group, self.seq)
  dispatch.enqueue(self, req)
  return req
end

--- Abandon a request: a queued one is dropped, one in flight is cancelled in the
-- core (no result will be delivered for it). Idempotent.
-- @tparam table req
-- @tparam[opt] string why what a wait on it will say ("the request was cancelled: WHY")
function Engine:cancel(req, why)
  if done(req) then return end
  dispatch.withdraw(self, req)
  request.cancel(req, why)
end

--- Run until `req` is done, its answer decoded. While it runs, the queued requests of
-- `req`'s group are sent (and those of every group another wait is on); when it ends, by an
-- answer or an error, they are not sent any more. An error raised meanwhile (an interrupt,
-- a C error, the user's verbose function) ends `req` with an error object, even when its
-- answer had come (state "interrupted"); the other results are kept. A 2xx answer is decoded
-- here, when it is taken, not when it arrives: answers waiting their turn hold their wire
-- bytes only. One that is not valid JSON is asked again like any retryable failure.
-- @tparam table req
-- @treturn table req
function Engine:wait(req)
  repeat
    if not done(req) then drivers.run(self, req) end
  until not results.take(self, req)
  return req
end

--- A 2xx answer that its taker refused (invalid JSON, a page that is not what was asked):
-- `req` is sent again when `err` is retryable and the retry policy allows it (true: wait
-- on it again); otherwise it ends with `err` (false).
-- @tparam table req a done request
-- @tparam table err an error object (kind "decode")
-- @treturn boolean
function Engine:again(req, err)
  return results.again(self, req, err)
end

--- One round of the state machine: send what is ready, collect what completed, waiting at
-- most `s` seconds (default: until the next event; 0: not at all). Never calls the `wait`
-- option. See `cxcloud.engine.machine`.
-- @tparam[opt] number s
-- @treturn boolean true while work is pending
function Engine:step(s)
  return machine.step(self, s)
end

--- Seconds until the engine must run even if the core's descriptor stays quiet; 0 when
-- something can be done now; nil when idle.
-- @treturn number|nil
function Engine:timeout()
  return machine.timeout(self)
end

--- True while something is in flight or queued and wanted.
-- @treturn boolean
function Engine:pending()
  return machine.pending(self)
end

--- The core's descriptor (readable when the core has work), for event loops.
-- @treturn integer
function Engine:pollfd()
  return machine.pollfd(self)
end

--- One GET.
-- @tparam string url
-- @return decoded body, or nil and an error object
function Engine:get(url)
  local req = self:wait(self:start(url))
  if req.err then return nil, req.err end
  return req.body
end

--- The current access token, fetching or refreshing it when needed.
-- @treturn string|nil token
-- @treturn integer|table expiry (epoch seconds, or nil when unknown), or the error
function Engine:token()
  if self.closed then return nil, errors.new("usage", "the client is closed") end
  local tok = self.tok
  if tok:state(self.clock()) == "ok" then
    tok:use()
    return tok.value, tok.exp_epoch
  end
  local req = tok.req
  if not req then
    local err
    req, err = tok:start(self.clock())
    if not req then return nil, err end
  end
  self:wait(req)
  if req.err then
    -- a failed refresh leaves the old token usable until it expires
    if req.state ~= "interrupted" and tok:state(self.clock()) then
      tok:use()
      return tok.value, tok.exp_epoch
    end
    return nil, req.err
  end
  tok:use()
  return tok.value, tok.exp_epoch
end

--- `fn(list[i], i)` for every element, each in its own coroutine, at most `n` at once.
-- @see cxcloud.engine.map
function Engine:map(list, fn, n)
  return map_mod.run(self, list, fn, n)
end

--- Counters: requests, retries, throttled, overloaded, token_requests, auth_retries,
-- budget_exhausted, slowdowns, memory_waits, plus the core's connects and transfers, the retry
-- budget left, the rate in force (`rate`, requests/s; nil when off) and `concurrency`.
-- @treturn table
function Engine:get_stats()
  local s = stats_mod.snapshot(self.stats, { retry_budget = self.retry.budget,
    rate = self.rate:rate(), concurrency = self.max_inflight })
  if not self.closed then
    local cs = self.c:stats()
    s.connects, s.transfers = cs.connects, cs.requests
  end
  return s
end

--- The current UTC day, "YYYY-MM-DD".
function Engine:today()
  return os.date("!%Y-%m-%d", math.floor(self.wall()))
end

--- The API requests of the current UTC day (`day`, `calls`): this process's, plus those of
-- other processes that a store shared (`share_quota`).
-- @treturn table
function Engine:get_quota()
  local day = self:today()
  local q, base = self.quota, self.quota_base
  local calls = q.day == day and q.calls or 0
  if base and base.day == day then calls = calls + base.calls end
  return { day = day, calls = calls }
end

--- A store's record of this client id's calls on `day` (`_quota`), given by `db:sync`
-- before it starts, or `recorded` calls of this process that a sync has just added to it:
-- `get_quota` counts the store's calls that this process did not make.
-- @tparam string day
-- @tparam[opt] integer store_calls what the store holds for `day`
-- @tparam[opt] integer recorded calls of this process the store now holds too
function Engine:share_quota(day, store_calls, recorded)
  local q = self.quota
  if q.day ~= day then q.day, q.calls, q.stored, q.spent = day, 0, 0, nil end
  if recorded then q.stored = q.stored + recorded end
  if store_calls then
    self.quota_base = { day = day, calls = math.max(0, store_calls - q.stored) }
  end
end

--- Cancel everything and close the core client. Idempotent.
function Engine:close()
  if self.closed then return end
  for id, req in pairs(self.inflight) do
    pcall(self.c.cancel, self.c, id)
    request.cancel(req, "the client was closed")
  end
  self.inflight, self.queue, self.ninflight = {}, {}, 0
  self.tok:clear()
  self.closed = true
  self.c:close()
end

return M
