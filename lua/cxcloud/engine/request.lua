--- A request and its state (part of `cxcloud.engine`).
--
-- A request (`req`) is one GET of one URL, or the token request (`req.token`), that the
-- engine drives to a final answer. Where it stands is one field, `req.state`:
--
--    queued       waiting to be sent, not before `req.not_before` (in the engine's queue;
--                 the token request in the token's slot)
--    inflight     a transfer in the core (`req.id`)
--    answered     a 2xx answer came: `req.body` holds its wire text, decoded when the caller
--                 takes it (`engine:wait`), so that a page waiting its turn holds its bytes only
--    ok           `req.body` is the decoded answer
--    failed       `req.err` is an error object
--    cancelled    abandoned (`engine:cancel`, its query pass closed, the client closed);
--                 `req.err` says so
--    interrupted  an error raised while a caller waited on it (an interrupt, a C error, the
--                 user's `verbose`) ended it: `req.err` is that error, its answer is dropped
--
-- The transitions, each a function of this module (the engine's dispatch moves the request
-- between its queue, the token's slot and the in-flight set):
--
--    queued -> inflight                 sent
--    inflight -> queued                 requeue: a retry after backoff, a 401, a poll that
--                                       raised (that attempt not counted)
--    inflight -> answered               answered: an API request's 2xx
--    inflight -> ok                     ok: the token request's answer
--    answered -> ok                     ok: decoded when taken
--    answered | ok -> queued | failed   requeue or fail: the taker refused it (`again`)
--    queued | inflight -> failed        fail
--    queued | inflight -> cancelled     cancel
--    any -> interrupted                 interrupt
--
-- `queued` and `inflight` are pending; the others are done (`done(req)`).
-- The other fields: `url`, `meta` (the caller's), `group` (the requests sent while one of
-- them is waited on), `seq` (the order of sending), `attempts`, an answer's `status` and
-- `ctype`, and what the scheduler and the retry policy keep (`last_err`, `drawn`,
-- `first_sent`, `paced`, `auth_retried`, `token_gen`, `sent_mono`, `sent_wall`).
-- @module cxcloud.engine.request

local errors = require "cxcloud.errors"

local M = {}

local huge = math.huge

local PENDING = { queued = true, inflight = true }

--- Is `req` done (answered, ok, failed, cancelled or interrupted)?
-- @tparam table req
-- @treturn boolean
function M.done(req)
  return not PENDING[req.state]
end

--- The HTTP method of `req`: POST for the token request, GET otherwise.
function M.method(req)
  return req.token and "POST" or "GET"
end

--- A queued request.
-- @tparam string url
-- @param meta the caller's value (e.g. a page number)
-- @tparam[opt] table group default: the request alone
-- @tparam[opt] integer seq its place in the queue
-- @tparam[opt] number not_before earliest send time (default: at once)
-- @treturn table req
function M.new(url, meta, group, seq, not_before)
  local req = { url = url, meta = meta, attempts = 0, not_before = not_before or -huge,
    seq = seq, state = "queued" }
  req.group = group or req
  return req
end

--- The token request (its own group), queued for `now`.
function M.new_token(url, now)
  local req = M.new(url, nil, nil, nil, now)
  req.token = true
  return req
end

--- queued -> inflight: handed to the core as transfer `id` at `now`.
function M.sent(req, id, now)
  req.attempts = req.attempts + 1
  req.state, req.id, req.sent_mono = "inflight", id, now
end

--- Back to queued (a retry, a 401, results lost, an answer refused); `uncount`: the
-- attempt made does not count (its result was lost).
function M.requeue(req, uncount)
  if uncount then req.attempts = req.attempts - 1 end
  req.state, req.id, req.body = "queued", nil, nil
end

--- An API request's 2xx answer, kept as its wire text until it is taken.
function M.answered(req, text, status, ctype)
  req.state, req.body, req.err = "answered", text, nil
  req.bytes = #text
  req.status, req.ctype = status, ctype
end

--- Done with a decoded answer.
function M.ok(req, body)
  req.state, req.body, req.err, req.ctype = "ok", body, nil, nil
end

--- Done with an error object; `shared`: `err` came from another request (the token's)
-- and keeps its own count of attempts.
function M.fail(req, err, shared)
  req.state, req.body, req.err = "failed", nil, err
  if not shared then err.attempts = req.attempts end
end

--- Abandoned; a wait on it says "the request was cancelled: WHY".
-- @tparam table req
-- @tparam[opt] string why default: the client was closed
function M.cancel(req, why)
  req.state, req.body = "cancelled", nil
  req.err = errors.new("usage", "the request was cancelled: " .. (why or
    "the client was closed"), { method = M.method(req), url = req.url })
end

--- An error raised while a caller waited on `req` ends it with `err`, even when its
-- answer had come (the caller sees the error, not the answer); a request that had
-- failed keeps its own error.
function M.interrupt(req, err)
  local st = req.state
  if PENDING[st] then
    err.attempts = req.attempts
    req.err = err
  elseif st ~= "failed" and st ~= "interrupted" then
    req.err = err
  end
  req.state, req.body = "interrupted", nil
end

--- A copy of an error object (one shared by several requests, each of which may add its
-- own fields).
function M.copy_error(e)
  local t = {}
  for k, v in pairs(e) do t[k] = v end
  return setmetatable(t, getmetatable(e))
end

return M
