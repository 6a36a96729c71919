--- Query objects: one CX Cloud operation with its parameters, iterated lazily.
--
--    local q = cx:hardware { customerId = "abc123def" }
--    for item in q do ... end                  -- every item of every page, in order
--    for item in q:items() do ... end          -- the same; `break` cancels what is in flight
--
-- Leaving a loop early (`break`, an error, `return`) by any idiom costs nothing more:
-- the engine sends a queued page request only while someone waits on that cursor, so
-- the pages a left loop had queued are never sent (and are dropped when the cursor is
-- closed, restarted or collected); `items()` and `pages()` also cancel what is in
-- flight at once (their closing value).
--    for page, info in q:pages() do ... end    -- info = { page, pages, rows, total }
--    local list, err = q:all()
--    local item, err = q:first()
--    local n, err = q:count()
--    q:close()                                 -- or `local q <close> = ...`
--    q:on_progress(function(p) ... end)        -- after each page (see Query:on_progress)
--
-- How a pull runs: the first page (`start_page`, default 1) is fetched alone; its
-- `pagination` tells how many pages there are; then up to the client's concurrency
-- (`concurrency`, or the automatic value, at most 32) page requests are kept in flight
-- (or done and waiting), and items are handed out in page order. At most that many
-- pages wait besides the one being read, however large the pull.
-- With `page_size = "auto"` the size adapts (`cxcloud.pagesize`): on the first page to a
-- 400 or a smaller `pagination.rows`, on any page to a body too large, always by going on
-- in pages of the new size from the first row not yet handed out, never mixing sizes. When
-- the count is known beforehand (`count()`, or a store's last pull through `_expect`) and
-- the size is known too, every page is asked at once instead of after the first.
-- `max_items` stops the pull (and cancels what is in flight) once enough items came.
-- The results are the same at any concurrency.
--
-- Drift: the API computes each page on its own snapshot. If a page reports a different
-- `pagination.total` or `pages` than the first page, the result set changed during the
-- pull: with the client
-- option `drift = "error"` (default) iteration raises an error of kind "drift"; with
-- `drift = "record"` it goes on (to the larger page count, so rows are not dropped at
-- the end) and appends a record to `q.drift`:
-- `{ page, reason, expected_total, total, expected_pages, pages, items, rows }`.
--
-- Complete or an error, never short: every page is checked against its own `pagination`
-- (a page before the last holds `rows` items, the last one the rest of `total`, a page past
-- the end none, `pages` is `total / rows` rounded up, `page` is the page asked for) and
-- against the page before it (the same rows by the operation's natural key: the page sent
-- twice). A first answer without `pagination` is the whole result; a later one without
-- it, or any answer those checks refuse, is asked again (a retryable "decode" failure,
-- within `max_retries` and the retry budget), then a "decode" error that says what came.
-- So the rows of a successful pull add up to what its first page announced.
--
-- Failures: iteration raises the error object, with `err.page` (the page it stopped at:
-- pass it as `start_page` to resume, with `err.page_size`) and `err.operation`; `all`, `first`, `count`
-- return `nil, err`. A response without a `data` array is a "decode" error.
-- @module cxcloud.query

local compat = require "cxcloud.compat"
local errors = require "cxcloud.errors"
local operations = require "cxcloud.operations"
local request = require "cxcloud.engine.request"

local M = {}

local format = string.format
local tointeger, min, ceil = compat.tointeger, math.min, math.ceil
local tmove = compat.move

local Query = {}
Query.__index = Query
Query.__name = "cxcloud.query"
M.Query = Query

--- Make a query: the same object for a named operation and for `cx:query`.
-- @tparam table engine the client's `cxcloud.engine`
-- @tparam table cfg the client's validated options (base_url, drift)
-- @tparam table plan from `cxcloud.params.check` or `cxcloud.params.free`: `path`
--   (checked to stay under base_url), `operation` (the operation's name, or the path),
--   `query` (encoded), page_size, max_items, start_page
-- @param owner the client object, kept alive as long as the query is
-- @treturn table query
function M.new(engine, cfg, plan, owner)
  local prefix = cfg.base_url .. plan.path .. "?" .. (plan.query ~= "" and (plan.query .. "&") or "")
  return setmetatable({
    operation = plan.operation,
    _engine = engine,
    _owner = owner,
    _plan = plan,
    _prefix = prefix,
    _drift_mode = cfg.drift,
    _key = operations[plan.operation] and operations[plan.operation].key,
    _prefetch = cfg.prefetch or 0,
    _sizes = engine.page_sizes,     -- what the client learnt of page sizes (`cxcloud.pagesize`)
    _hint_total = nil,              -- rows expected (a count or a store's last pull)
    _cur = nil,
  }, Query)
end

local function page_url(q, page, rows)
  return q._prefix .. "page=" .. page .. "&rows=" .. rows
end

local function as_int(v)
  if type(v) == "string" then v = tonumber(v) end
  return type(v) == "number" and tointeger(v) or nil
end

local function bad_response(q, req, page, msg)
  return errors.new("decode", msg, { method = "GET", url = req.url, page = page,
    operation = q.operation, attempts = req.attempts })
end

-- nil when every element of the array `data` is an object, else a message naming the
-- first one that is not (JSON null, a number, a string, an array)
local function non_object(data)
  for i = 1, #data do
    local v = data[i]
    if type(v) ~= "table" or v[1] ~= nil then
      local what = type(v) == "userdata" and "null" or type(v) == "table" and "an array"
        or format("a %s (%s)", type(v), errors.escape(tostring(v)):sub(1, 40))
      return format("response 'data' element %d is %s, not an object", i, what)
    end
  end
  return nil
end

-- Split a decoded body into data, pagination (or nil); or nil, nil, message.
local function envelope(body)
  if type(body) ~= "table" then
    return nil, nil, format("response is not a JSON object (got %s)",
      body == nil and "null" or type(body))
  end
  local data = body.data
  if data == nil then
    if body[1] ~= nil then                               -- a bare array
      local msg = non_object(body)
      if msg then return nil, nil, msg end
      return body, nil
    end
    if next(body) == nil then return body, nil end       -- {} or []: nothing
    local keys = {}
    for k in pairs(body) do
      if #keys < 8 and type(k) == "string" then keys[#keys + 1] = errors.escape(k) end
    end
    table.sort(keys)
    return nil, nil, "response has no 'data' array (keys: " .. table.concat(keys, ", ") .. ")"
  end
  if type(data) ~= "table" or (data[1] == nil and next(data) ~= nil) then
    return nil, nil, "response 'data' is not an array"
  end
  local msg = non_object(data)
  if msg then return nil, nil, msg end
  local pg = body.pagination
  if pg ~= nil and type(pg) ~= "table" then
    return nil, nil, "response 'pagination' is not an object"
  end
  return data, pg
end

------------------------------------------------------------------------------
-- the cursor: one pass over the pages

local Cursor = {}
Cursor.__index = Cursor

function Cursor.__close(cur) cur:close() end

-- A cursor dropped without close (e.g. `break` out of `for item in q`, then the query
-- collected): its group is marked dead and the engine drops its queued requests when it
-- next looks (no engine or C call from __gc). Even before that, they are never sent:
-- the engine sends only requests someone waits on.
function Cursor.__gc(cur)
  cur.group.dead = true
end

local function new_cursor(q)
  local plan = q._plan
  local auto = plan.page_size == "auto"
  return compat.on_collect(setmetatable({
    q = q,
    engine = q._engine,
    auto = auto,                    -- the size adapts (`cxcloud.pagesize`)
    rows = auto and q._sizes:start(q.operation, plan.max_items) or plan.page_size,
    key = q._key,                   -- the operation's natural key (repeated pages)
    fp = nil,                       -- the last page's rows by that key
    remaining = plan.max_items,     -- nil = no limit
    next_req = plan.start_page,     -- next page to request
    deliver = plan.start_page,      -- next page to hand out
    last = nil,                     -- last page to fetch; nil until the first page came
    expected = nil,                 -- { total, pages, rows } from the first page
    pending = {},                   -- page -> req (in flight, queued or done)
    npending = 0,
    group = {},                     -- the engine's handle on this cursor's requests
    done = false,
    delivered = 0,                  -- items handed out (for on_progress)
    pages_done = 0,                 -- pages handed out (for on_progress)
    started = q._progress and q._engine.clock(),
  }, Cursor), Cursor.__gc)
end

function Cursor:_fetch(n)
  local req = self.engine:start(page_url(self.q, n, self.rows), n, self.group)
  self.pending[n] = req
  self.npending = self.npending + 1
  if n >= self.next_req then self.next_req = n + 1 end
  if self.auto and not self.expected and n == self.deliver then
    self.q._sizes:first_page(self.q.operation, self, req)
  end
end

function Cursor:_fill()
  local last = self.last
  if not last then return end
  local window = self.engine.max_inflight
  while self.npending < window and self.next_req <= last do
    self:_fetch(self.next_req)
  end
end

--- Release everything: cancel requests in flight. Idempotent.
-- @tparam[opt] string why what a wait on one of them says (default: the pass was closed)
function Cursor:close(why)
  if self.done then return end
  self.done = true
  self.group.dead = true
  local e = self.engine
  for n, req in pairs(self.pending) do
    if not request.done(req) and not e.closed then e:cancel(req, why or "its query pass was closed") end
    self.pending[n] = nil
  end
  self.npending = 0
  if self.q._cur == self then self.q._cur = nil end
end

function Cursor:_fail(err, page)
  err.page = err.page or page
  err.page_size = self.rows
  err.operation = self.q.operation
  self:close()
  return nil, err
end

-- a change of the result set seen on page n: raise (mode "error") or record
function Cursor:_drift(req, n, reason, pg, ndata)
  local exp = self.expected
  local rec = {
    page = n, reason = reason,
    expected_total = exp.total, total = as_int(pg.total),
    expected_pages = exp.pages, pages = as_int(pg.pages),
    items = ndata, rows = exp.rows,
  }
  if self.q._drift_mode == "error" then
    return errors.new("drift", format("the result set changed during the pull: page %d %s;"
      .. " restart the pull (or create the client with drift = \"record\" to go on and record"
      .. " such changes in q.drift)", n, reason), {
        method = "GET", url = req.url, page = n, operation = self.q.operation,
        attempts = req.attempts, retryable = false })
  end
  local d = self.q.drift
  if not d then d = {}; self.q.drift = d end
  d[#d + 1] = rec
  -- go on with what this page says, so the next change is recorded once
  if rec.total then exp.total = rec.total end
  if rec.pages and rec.pages > exp.pages then
    exp.pages = rec.pages
    self:_set_last(rec.pages, n)
  elseif rec.pages and rec.pages < exp.pages then
    -- fewer pages now: stop at the new last page (requests beyond it are cancelled
    -- when the pull gets there)
    exp.pages = rec.pages
    if self.last and self.last > rec.pages then self.last = math.max(n, rec.pages) end
  end
  return nil
end

-- before the first page answers: request `prefetch` more pages
function Cursor:_prefetch(n)
  self.prefetched = true
  local upto = n + self.q._prefetch
  local hint = self.q._hint_total
  if hint and (not self.auto or self.q._sizes:known(self.q.operation, self.rows)) then
    -- the page count is known: every page at once, within the rate limit and concurrency
    upto = math.max(upto, ceil(hint / self.rows))
  end
  if self.remaining then upto = min(upto, n - 1 + ceil(self.remaining / self.rows)) end
  for p = n + 1, upto do
    if not self.pending[p] then self:_fetch(p) end
  end
end

-- drop requests for pages beyond the last one (prefetched too far)
function Cursor:_trim()
  local last = self.last
  for p, r in pairs(self.pending) do
    if p > last then
      if not request.done(r) then self.engine:cancel(r) end
      self.pending[p] = nil
      self.npending = self.npending - 1
    end
  end
  if self.next_req > last + 1 then self.next_req = last + 1 end
end

-- the last page to fetch, seen from page n (whose items are not yet counted)
function Cursor:_set_last(pages, n)
  local last = pages
  if self.remaining then
    last = min(last, n - 1 + ceil(self.remaining / self.expected.rows))
  end
  if not self.last or last > self.last then self.last = last end
end

-- Go on in pages of `size` from the first row of page n (of the size so far): what was
-- asked at the old size is cancelled, so pages of two sizes never mix.
function Cursor:_resize(n, size)
  for p, r in pairs(self.pending) do
    if not request.done(r) then self.engine:cancel(r) end
    self.pending[p] = nil
  end
  self.npending = 0
  local page = math.floor((n - 1) * self.rows / size) + 1
  self.rows, self.deliver, self.next_req = size, page, page
  local exp = self.expected
  if exp then
    exp.rows, exp.pages = size, ceil(exp.total / size)
    self.last = nil
    self:_set_last(exp.pages, page)
  end
end

-- An automatic size that failed page n with `err`: the size to go on with, or nil (the
-- error stands). A 400 on the first page is the service refusing the size; a body too
-- large is asked again in smaller pages.
function Cursor:_adapt(err)
  local sizes, op = self.q._sizes, self.q.operation
  if self.ask then -- another pull of the operation was refused this size: its request withdrawn
    local size = self.ask
    self.ask, self.refused = nil, self.rows
    return size
  end
  if err.too_large then return sizes:too_large(op, self.rows) end
  if err.status == 400 and not self.expected then
    local size = sizes:refused(op, self.rows)
    if size then
      self.refused = self.rows
      sizes:withdraw(op, self.rows, size, self.engine)
    end
    return size
  end
  return nil
end

-- A fingerprint of a page's rows by the operation's natural key (nil when a row lacks every
-- key field, or the operation declares none): two pages in a row with the same one are the
-- same page sent twice.
local function fingerprint(key, data)
  if not key or #data == 0 then return nil end
  local parts, nk = {}, #key
  for i = 1, #data do
    local row, any = data[i], false
    for j = 1, nk do
      local v = row[key[j]]
      if v ~= nil then any = true end
      parts[(i - 1) * nk + j] = v == nil and "" or tostring(v)
    end
    if not any then return nil end
  end
  return table.concat(parts, "\0")
end

-- The page size: the first page's, else what `pg` says, else what was asked.
function Cursor:_page_size(pg)
  local size = self.expected and self.expected.rows or as_int(pg.rows)
  if not size or size < 1 then size = self.rows end
  return size
end

-- What is wrong with page n's answer on its own, or nil. A broken server or gateway, not a
-- change of the result set: one answer cannot contradict itself on any snapshot, and a
-- page without `pagination` after one that had it is no whole result. Sets self.fp.
function Cursor:_check(n, data, pg)
  if pg == nil then
    if self.expected then
      return "has no 'pagination' object, although the first page had one"
    end
    return nil
  end
  local pages, total = as_int(pg.pages), as_int(pg.total)
  if not pages or not total or pages < 0 or total < 0 then
    return "has a 'pagination' without integer 'pages' and 'total'"
  end
  local page = as_int(pg.page)
  if page and page ~= n then return format("came back as page %d", page) end
  -- On the last page `rows` may count that page's rows: both readings are accepted.
  local size = self:_page_size(pg)
  local want_pages = ceil(total / size)
  if pages ~= want_pages and not (total == 0 and pages == 1) then
    return format("has a 'pagination' that does not add up: %d rows in pages of %d make %d"
      .. " pages, not %d", total, size, want_pages, pages)
  end
  local want = n < pages and size or n == pages and total - (pages - 1) * size or 0
  if #data ~= want then
    return format("holds %d rows where its 'pagination' (%d rows in %d pages of %d) puts %d",
      #data, total, pages, size, want)
  end
  local fp = fingerprint(self.key, data)
  if fp and fp == self.fp then
    return format("repeats page %d (the same rows, by %s)", n - 1, table.concat(self.key, ", "))
  end
  self.fp = fp
  return nil
end

-- Waits for page n and checks its answer; an answer the checks refuse is asked again
-- (a retryable "decode" failure, within max_retries and the retry budget).
-- Returns data, pagination, nil, req; or nil, nil, err.
function Cursor:_receive(n)
  local e = self.engine
  local req = self.pending[n]
  while true do
    e:wait(req)
    if req.err then return nil, nil, req.err end
    local data, pg, msg = envelope(req.body)
    local retryable = self.expected ~= nil
    if data then msg, retryable = self:_check(n, data, pg), true end
    if not msg then return data, pg, nil, req end
    local err = bad_response(self.q, req, n, "page " .. n .. " " .. msg)
    err.retryable = retryable
    if not e:again(req, err) then return nil, nil, req.err end
  end
end

--- The next page: data (array), info; nil at the end; nil, err on failure.
function Cursor:next_page()
  while true do
    if self.done then return nil end
    if self.remaining == 0 then self:close() return nil end
    local n = self.deliver
    if self.last and n > self.last then self:close() return nil end
    if not self.pending[n] then self:_fetch(n) end
    if not self.last and not self.prefetched then self:_prefetch(n) end
    self:_fill()
    local data, pg, err, req = self:_receive(n)
    self.pending[n] = nil
    self.npending = self.npending - 1
    self.deliver = n + 1
    local size = err and self.auto and self:_adapt(err)
    if self.auto and not self.expected then self.q._sizes:first_page(self.q.operation, self) end
    if size then
      self:_resize(n, size)
    elseif err then
      return self:_fail(err, n)
    else
      local d, info = self:_deliver(n, data, pg, req)
      if d ~= nil or info ~= nil then return d, info end
    end
  end
end

-- Page n came (`data`, its `pagination` or nil): checked against the first page, counted,
-- handed out. Returns what `next_page` returns, or nothing to go on to the next page.
function Cursor:_deliver(n, data, pg, req)
  local err
  local ndata = #data
  local info
  if pg == nil then
    -- the first answer has no pagination: it is the whole result
    info = { page = n, pages = n, rows = ndata, total = ndata }
    self.last = n
  else
    local pages, total = as_int(pg.pages), as_int(pg.total)
    local rows = self:_page_size(pg)
    info = { page = n, pages = pages, rows = rows, total = total }
    if self.auto then
      self.q._sizes:answered(self.q.operation, self.rows, as_int(pg.rows), req.bytes, ndata,
        pages > n, self.refused)
    end
    if not self.expected then
      self.expected = { total = total, pages = pages, rows = rows }
      -- the service's own size: asked from now on (what is queued asks the same pages)
      if self.auto then self.rows = rows end
      self:_set_last(pages, n)
      self:_trim()
    else
      local exp = self.expected
      if total ~= exp.total or pages ~= exp.pages then
        err = self:_drift(req, n, format("reports total %d in %d pages, the first"
          .. " page said %d in %d", total, pages, exp.total, exp.pages), pg, ndata)
        if err then return self:_fail(err, n) end
      end
    end
  end
  local rem = self.remaining
  if rem then
    if ndata > rem then
      for i = rem + 1, ndata do data[i] = nil end
      ndata = rem
    end
    self.remaining = rem - ndata
    if self.remaining == 0 then
      -- enough: cancel what is still in flight
      for p, r in pairs(self.pending) do
        if not request.done(r) then self.engine:cancel(r) end
        self.pending[p] = nil
      end
      self.npending = 0
      self.last = n
    end
  end
  if pg == nil then self:_trim() end
  self:_fill()
  if self.started then self:_progress(n, info, ndata) end
  if ndata > 0 or not self.skip_empty then return data, info end
end

-- after page n: tell the query's on_progress function how far the pass is
function Cursor:_progress(n, info, ndata)
  self.delivered = self.delivered + ndata
  self.pages_done = self.pages_done + 1
  local done = self.pages_done
  local last = self.last or info.pages
  local elapsed = self.engine.clock() - self.started
  local rate = elapsed > 0 and done / elapsed or nil
  self.q._progress {
    page = n, pages = last, rows = self.delivered, total = info.total, elapsed = elapsed,
    requests_per_s = rate, eta = rate and math.max(0, last - n) / rate or nil,
  }
end

------------------------------------------------------------------------------
-- the query's methods

local function items(q)
  local cur = new_cursor(q)
  cur.skip_empty = true
  local data, i, n = nil, 0, 0
  local function iter()
    i = i + 1
    if i <= n then return data[i] end
    data = nil -- the page handed out is the caller's now: not kept while the next decodes
    local d, err = cur:next_page()
    if d == nil then
      data, n = nil, 0
      if err then error(err, 0) end
      return nil
    end
    data, n, i = d, #d, 1
    return d[1]
  end
  return iter, cur
end

--- Iterate over every item, lazily, in order. Returns a to-be-closed value as the
-- generic for's 4th value, so `break` releases the requests in flight.
-- @return iterator, nil, nil, closing value
function Query:items()
  local iter, cur = items(self)
  return iter, nil, nil, cur
end

--- `for item in q do`: the query itself is the iterator. A new loop (the first call,
-- with no control value) starts a new pass; the pass before, if a `break` left it
-- open, is released then (or by `q:close()`, or when collected).
function Query.__call(self, _, ctl)
  local it = self._iter
  if ctl == nil or not it then
    -- one pass at a time: a pass still running elsewhere (another coroutine) ends here
    if self._cur then
      self._cur:close("another `for item in q` pass over the same query started (each such"
        .. " loop restarts it; q:items() gives a pass of its own)")
    end
    local cur
    it, cur = items(self)
    self._iter, self._cur = it, cur
  end
  local v = it()
  if v == nil then self._iter, self._cur = nil, nil end
  return v
end

--- Iterate page by page: `page` is the array of items, `info` is
-- `{ page = n, pages = N, rows = R, total = T }`. Empty pages are skipped.
-- @return iterator, nil, nil, closing value
function Query:pages()
  local cur = new_cursor(self)
  cur.skip_empty = true
  local function iter()
    local d, info = cur:next_page()
    if d == nil then
      if info then error(info, 0) end
      return nil
    end
    return d, info
  end
  return iter, nil, nil, cur
end

--- Every item in one array.
-- @treturn table|nil items
-- @treturn table|nil err (with err.page)
function Query:all()
  local cur = new_cursor(self) -- next_page closes it at the end and on failure
  local out, n = {}, 0
  while true do
    local d, info = cur:next_page()
    if d == nil then
      if info then return nil, info end
      return out
    end
    local k = #d
    if k > 0 then
      tmove(d, 1, k, n + 1, out)
      n = n + k
    end
  end
end

local function one_request(q, page, rows)
  local url = page_url(q, page, rows)
  local req = q._engine:wait(q._engine:start(url, page))
  if req.err then
    req.err.operation = q.operation
    req.err.page = req.err.page or page
    return nil, nil, req.err
  end
  local data, pg, msg = envelope(req.body)
  if not data then return nil, nil, bad_response(q, req, page, msg) end
  return data, pg
end

--- The first item (one request with a single row), or nil when there is none.
-- Honours `start_page`/`page_size` (the first item of that page).
-- @treturn table|nil item
-- @treturn table|nil err
function Query:first()
  local plan = self._plan
  if plan.max_items == 0 then return nil end
  local index = plan.page_size == "auto" and 1 or (plan.start_page - 1) * plan.page_size + 1
  local data, _, err = one_request(self, index, 1)
  if err then return nil, err end
  return data[1]
end

--- `pagination.total`, from one request with a single row.
-- @treturn integer|nil
-- @treturn table|nil err
function Query:count()
  local data, pg, err = one_request(self, 1, 1)
  if err then return nil, err end
  if pg == nil then return #data end
  local total = as_int(pg.total)
  if not total then
    return nil, errors.new("decode", "response 'pagination' lacks an integer 'total'", {
      method = "GET", url = page_url(self, 1, 1), operation = self.operation, page = 1 })
  end
  self._hint_total = total -- a pull of this query can ask for every page at once
  return total
end

--- Internal (for `db:sync`): a pull of this query is expected to give `total` rows (as the
-- store's last pull did), so it asks for every page at once when its page size is known.
-- A different count is still pulled exactly (drift rules as always).
-- @tparam integer total
function Query:_expect(total)
  self._hint_total = total
end

--- Have `fn` called after each page of every later pass over this query (any idiom).
-- Its argument is a table with the fields page (the page just received), pages (the last
-- page the pass will fetch), rows (items received so far in this pass), total
-- (`pagination.total`), elapsed (seconds since the pass began), requests_per_s (pages per
-- second so far) and eta (estimated seconds left; nil until it can be estimated).
-- A nil `fn` removes it.
-- @tparam function|nil fn
-- @treturn table the query
function Query:on_progress(fn)
  if fn ~= nil and type(fn) ~= "function" then
    errors.raise("usage", "on_progress: expected a function or nil", nil, 2)
  end
  self._progress = fn
  return self
end

--- Release what an unfinished `for item in q` holds. Idempotent.
function Query:close()
  local cur = self._cur
  self._iter, self._cur = nil, nil
  if cur then cur:close() end
end
Query.__close = Query.close

function Query.__tostring(q)
  local plan = q._plan
  return format("cxcloud.query %s %s (page_size %s%s%s)", q.operation,
    plan.query ~= "" and plan.query or "(no parameters)", tostring(plan.page_size),
    plan.start_page ~= 1 and (", start_page " .. plan.start_page) or "",
    plan.max_items and (", max_items " .. plan.max_items) or "")
end

return M
