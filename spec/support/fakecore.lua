--- A fake `cxcloud.core` for engine and cursor unit tests: a core client whose transfers
-- complete on a fake clock after a fixed latency, answered by a Lua function, with a log
-- of every submitted and cancelled transfer. Nothing touches the network, and no test
-- waits real time: `poll`, `sleep` and the engine's clock all move the same fake time.
--
--    local fake = fakecore.new { respond = function(rec, default) ... end, total = 95 }
--    local eng, cfg = fake:engine { page_size = 10 }     -- a real engine over the fake
--    local q = fake:query(eng, cfg, { customerId = "c1" })
--    fake.log   -- { { id, url, token, page, rows, t }, ... } in submission order
local core = require "cxcloud.core"
local engine = require "cxcloud.engine"
local options = require "cxcloud.options"
local operations = require "cxcloud.operations"
local params = require "cxcloud.params"
local query = require "cxcloud.query"

local M = {}

local Fake = {}
Fake.__index = Fake

local function json_page(page, rows, total)
  local pages = total == 0 and 0 or math.floor((total + rows - 1) / rows)
  local items = {}
  for k = (page - 1) * rows + 1, math.min(total, page * rows) do
    items[#items + 1] = string.format('{"n":%d}', k)
  end
  return string.format('{"data":[%s],"pagination":{"page":%d,"pages":%d,"rows":%d,"total":%d}}',
    table.concat(items, ","), page, pages, rows, total)
end
M.json_page = json_page

--- The default answers: a token (lifetime `fake.token_life`), or a page of `fake.total`
-- items `{ n = k }`.
function Fake:default(rec)
  if rec.token then
    self.tokens = self.tokens + 1
    return { status = 200, body = string.format(
      '{"access_token":"tok%d","token_type":"Bearer","expires_in":%d}', self.tokens,
      self.token_life) }
  end
  if rec.page then return { status = 200, body = json_page(rec.page, rec.rows, self.total) } end
  return { status = 200, body = '{"ok":true}' }
end

--- A new fake. opts: respond(rec, fake) -> result [, latency] (default `fake:default`),
-- latency (0.1 s), total (95), token_life (3600).
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    now = 1000, log = {}, cancelled = {}, active = {}, next_id = 0, tokens = 0,
    slept = {}, polls = 0,
    latency = opts.latency or 0.1, total = opts.total or 95, token_life = opts.token_life or 3600,
    respond = opts.respond,
  }, Fake)
  local fake = self
  self.core = {
    decode = core.decode,
    decoder = core.decoder,
    parse_retry_after = core.parse_retry_after,
    now = function() return fake.now end,
    time = function() return 1.7e9 + fake.now end,
    sleep = function(s)
      fake.slept[#fake.slept + 1] = s
      fake.now = fake.now + s
    end,
  }
  local c = {}
  self.client = c
  function c.submit(_, spec)
    if fake.fail_submit then
      local e = fake.fail_submit
      if fake.fail_submit_once then fake.fail_submit = nil end
      error(e, 0)
    end
    fake.next_id = fake.next_id + 1
    local rec = { id = fake.next_id, token = spec.token, url = spec.url, t = fake.now,
      bearer = fake.bearer }
    if spec.url then
      rec.page = tonumber(spec.url:match("[?&]page=(%d+)"))
      rec.rows = tonumber(spec.url:match("[?&]rows=(%d+)"))
    end
    fake.log[#fake.log + 1] = rec
    local result, latency
    if fake.respond then result, latency = fake.respond(rec, fake) end
    if result == nil then result = fake:default(rec) end
    result.id = rec.id
    result.headers = result.headers or {}
    result.time = latency or fake.latency
    rec.done_at = fake.now + result.time
    rec.result = result
    fake.active[rec.id] = rec
    return rec.id
  end
  function c.poll(_, wait)
    fake.polls = fake.polls + 1
    if fake.fail_poll then
      local e = fake.fail_poll
      fake.fail_poll = nil
      error(e, 0)
    end
    local first
    for _, rec in pairs(fake.active) do
      if not first or rec.done_at < first then first = rec.done_at end
    end
    if not first or first > fake.now + wait then
      if wait < math.huge then fake.now = fake.now + wait end
      return {}
    end
    if first > fake.now then fake.now = first end
    local done = {}
    for id, rec in pairs(fake.active) do
      if rec.done_at <= fake.now then
        done[#done + 1] = rec
        fake.active[id] = nil
      end
    end
    table.sort(done, function(a, b) return a.id < b.id end)
    local out = {}
    for i, rec in ipairs(done) do out[i] = rec.result end
    if fake.after_poll then fake.after_poll() end
    return out, fake.trace
  end
  function c.cancel(_, id)
    fake.cancelled[#fake.cancelled + 1] = id
    local had = fake.active[id] ~= nil
    fake.active[id] = nil
    return had
  end
  function c.pending()
    local n = 0
    for _ in pairs(fake.active) do n = n + 1 end
    return n
  end
  -- like libcurl's timer: seconds until the next transfer completes, nil when idle
  function c.timeout()
    local first
    for _, rec in pairs(fake.active) do
      if not first or rec.done_at < first then first = rec.done_at end
    end
    return first and math.max(0, first - fake.now) or nil
  end
  function c.pollfd() return -1 end
  function c.set_token(_, tok) fake.bearer = tok end
  function c.redact(_, s) return s end
  function c.stats() return { connects = 1, requests = #fake.log } end
  function c.close() fake.closed = true end
  return self
end

--- A real engine over this fake, with options `extra` (clock and sleep are the fake's,
-- random() is 0.5 unless given), made as `cxcloud.new` makes it.
function Fake:engine(extra)
  local o = { client_id = "id", client_secret = "secret", clock = self.core.now,
    wall_clock = self.core.time, sleep = self.core.sleep, random = function() return 0.5 end }
  for k, v in pairs(extra or {}) do o[k] = v end
  local cfg = options.validate(o, function() return nil end)
  return engine.new(self.client, cfg, self.core, { identifiers = operations.identifiers,
    retry_cost = options.RETRY_COST, retry_refund = options.RETRY_REFUND }), cfg
end

--- A `hardware` query on engine `eng`.
function Fake.query(_, eng, cfg, p)
  local op
  for _, o in ipairs(operations) do if o.name == "hardware" then op = o end end
  return query.new(eng, cfg, params.check(op, p or { customerId = "c1" }, cfg), nil)
end

--- API records of the log from index `from` (default 1).
function Fake:api(from)
  local out = {}
  for i = from or 1, #self.log do
    if not self.log[i].token then out[#out + 1] = self.log[i] end
  end
  return out
end

--- Mark: the log's length now.
function Fake:mark() return #self.log end

return M
