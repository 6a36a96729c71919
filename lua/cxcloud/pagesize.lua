--- The automatic page size (`page_size = "auto"`): the largest pages the service gives.
--
-- The API's largest `rows` is not documented, so the client finds it out and remembers what
-- it learnt per operation, for the client's life (and, through a store, across runs):
--
-- * A pull starts with the size remembered for its operation, else `MAX` (10,000 rows).
-- * A 400 on the first page at a size not known to work is taken as the service refusing the
--   size: the first page is asked again one step down `LADDER`, down to `FLOOR` (100); a 400
--   at a size known to work, or at the floor, is the error it says.
-- * A first page that answers with fewer rows per page than asked (`pagination.rows`, with
--   more pages to come) gives the service's size: the pull goes on with it.
-- * A body larger than `max_body_size` (or decoded larger than `max_decoded_size`) at an
--   automatic size is asked again in pages of a divisor of the size, from the first row it
--   held, so no row is lost or repeated. The bytes per row seen keep the next pulls' pages
--   to `BODY_SHARE` of the limit (and of the client's memory bound).
--
-- What an operation costs the first time: nothing more when the service takes 10,000 rows
-- or answers with fewer; one refused call per step when it answers 400.
-- @module cxcloud.pagesize

local compat = require "cxcloud.compat"

local M = {}

local floor, max, min = math.floor, math.max, math.min

--- The largest page asked for.
M.MAX = 10000
--- Sizes tried, in order, when the service refuses one with a 400.
M.LADDER = { 10000, 1000, 500, 100 }
--- Below this size a 400 is never taken for a refused size.
M.FLOOR = 100
--- The share of the body limit a page is planned to fill (rows vary in size).
M.BODY_SHARE = 0.5

local Memory = {}
Memory.__index = Memory

--- What a client learnt about its operations' page sizes.
-- @tparam number body_limit bytes a page's body may have (`max_body_size`, at most the
--   client's memory bound)
-- @treturn table memory
function M.new(body_limit)
  return setmetatable({ ops = {}, body_limit = body_limit, firsts = {} }, Memory)
end

local function entry(self, op)
  local e = self.ops[op]
  if not e then
    e = {}
    self.ops[op] = e
  end
  return e
end

--- The size to start a pull of `op` with.
-- @tparam string op the operation (or path)
-- @tparam[opt] integer max_items at most this many rows are wanted
-- @treturn integer
function Memory:start(op, max_items)
  local e = self.ops[op] or {}
  local size = e.size or e.below or e.trying or M.MAX
  if e.bytes_per_row then
    size = min(size, max(1, floor(self.body_limit * M.BODY_SHARE / e.bytes_per_row)))
  end
  if max_items and max_items > 0 then size = min(size, max_items) end
  return size
end

--- `cursor`'s first page of `op` is `req` (not sent yet, or in flight), or nil: it came.
function Memory:first_page(op, cursor, req)
  local t = self.firsts[op]
  if not t then
    t = setmetatable({}, { __mode = "k" })
    self.firsts[op] = t
  end
  t[cursor] = req
end

--- The service refused `size` for `op`: the first pages of other pulls of `op` that ask it
-- and are not sent yet are withdrawn, their pulls to ask `next_size` instead (`cursor.ask`),
-- so that pulls side by side (cx:map, a sync) pay one refused call, not one each.
-- @tparam table engine the client's engine (to cancel with)
function Memory:withdraw(op, size, next_size, engine)
  -- (cursor fields: `rows`, the size its pages ask; `ask`, the size to ask instead)
  for cursor, req in pairs(self.firsts[op] or {}) do
    if cursor.rows == size and req.state == "queued" then
      cursor.ask = next_size
      engine:cancel(req, "asked again at a size the service takes")
    end
  end
end

--- Is `size` known to be accepted for `op` (a page of that size came)?
function Memory:known(op, size)
  local e = self.ops[op]
  return e ~= nil and e.ok ~= nil and size <= e.ok
end

--- The size to ask after the service refused `size` for `op` with a 400, or nil when a
-- 400 at that size is an error of its own (the size worked before, or it is the floor).
-- Nothing is learnt until a smaller size works (`answered`'s `refused`): a 400 at every
-- size was about something else.
-- @treturn integer|nil
function Memory:refused(op, size)
  local e = entry(self, op)
  if size > M.FLOOR and not self:known(op, size) then
    for _, s in ipairs(M.LADDER) do
      if s < size then
        e.trying = s -- where pulls starting meanwhile start
        return s
      end
    end
  end
  e.trying = nil
  return nil
end

--- A page of `op` came: asked with `asked` rows, the service's page size `rows`
-- (`pagination.rows`, or nil), the body `bytes` long holding `n` rows, `more` when pages
-- follow; `refused` the smallest size the service refused before in this pull. A `rows`
-- below what was asked with pages to follow, or above the rows that came, is the service's
-- own size; otherwise the size was taken.
function Memory:answered(op, asked, rows, bytes, n, more, refused)
  local e = entry(self, op)
  if refused and (not e.below or e.below > asked) then e.below = asked end
  if n > 0 and bytes then
    local bpr = bytes / n
    if not e.bytes_per_row or bpr > e.bytes_per_row then e.bytes_per_row = bpr end
  end
  if rows and rows < asked and (more or rows > n) then
    e.size, e.ok = rows, rows
  elseif not e.ok or asked > e.ok then
    e.ok = asked
  end
end

--- The size to ask after a body too large at `size`: the largest divisor of `size` at most
-- half of it (so that the rows of a page are the rows of whole smaller pages), or nil at 1.
-- @treturn integer|nil
function Memory:too_large(op, size)
  if size <= 1 then return nil end
  local e = entry(self, op)
  local d = floor(size / 2)
  while size % d ~= 0 do d = d - 1 end
  -- what the body limit holds, planned again from this size
  local bpr = self.body_limit / size
  if not e.bytes_per_row or bpr > e.bytes_per_row then e.bytes_per_row = bpr end
  return d
end

--- What to keep across runs: `{ [op] = { size, bytes_per_row } }` for the operations whose
-- size is known to work.
-- @treturn table
function Memory:export()
  local out = {}
  for op, e in pairs(self.ops) do
    if e.ok then
      out[op] = { size = e.size or e.below or M.MAX,
        bytes_per_row = e.bytes_per_row }
    end
  end
  return out
end

--- What a store kept (`export`'s table); what this client learnt itself stands.
-- @tparam table t
function Memory:import(t)
  for op, v in pairs(t) do
    if not self.ops[op] and type(v) == "table" and compat.tointeger(v.size) then
      local size = compat.tointeger(v.size)
      self.ops[op] = { size = size, ok = size, bytes_per_row = tonumber(v.bytes_per_row) }
    end
  end
end

return M
