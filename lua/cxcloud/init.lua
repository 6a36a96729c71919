--- cxcloud: a client for the Cisco CX Cloud API v2.
--
--    local cxcloud = require "cxcloud"
--    local cx <close> = cxcloud.new { client_id = "...", client_secret = "..." }
--    for item in cx:hardware { customerId = "abc123def" } do print(item.serialNumber) end
--
-- The client secret goes straight to the C core (`cxcloud.core`) and is never kept in
-- Lua; tokens are never shown by `tostring` or in errors.
-- @module cxcloud

local core = require "cxcloud.core"
local compat = require "cxcloud.compat"
local errors = require "cxcloud.errors"
local options = require "cxcloud.options"
local operations = require "cxcloud.operations"
local params = require "cxcloud.params"
local engine_mod = require "cxcloud.engine"
local query_mod = require "cxcloud.query"
local pagesize = require "cxcloud.pagesize"
local util = require "cxcloud.util"

local format = string.format

local M = {}

--- "cxcloud X.Y.Z". The version is defined here and nowhere else: the User-Agent derives
-- from it, and spec/unit/version_spec.lua checks that rockspecs and docs agree with it.
M._VERSION = "cxcloud 0.1.0"
local VERSION = M._VERSION:match("%S+$")

--- Is `v` a cxcloud error object?
-- @function is_error
M.is_error = errors.is_error

--- JSON `null` inside an array (`cjson.null`, a light userdata): `item.list[2] == cxcloud.null`.
-- A `null` object field is absent (`nil`).
M.null = core.null

--- The operations table (read-only view): name, path, params, fields, ...
M.operations = util.readonly(operations)

-- client state, out of the user's sight: client -> { engine, cfg }
local private = setmetatable({}, { __mode = "k" })

local Client = {}
local ClientMT = { __name = "cxcloud.client" }
local View = {}
local ViewMT = { __name = "cxcloud.customer" }

local CLIENT_NAMES, VIEW_NAMES -- sorted, for suggestions

local function no_method(kind, k, names)
  local s = util.suggest(k, names)
  errors.raise("usage", format("a %s has no method or field '%s'%s; methods: %s", kind,
    errors.escape(k), s and format(" (did you mean '%s'?)", s) or "", util.list(names)), nil, 3)
end

ClientMT.__index = function(_, k)
  local m = Client[k]
  if m == nil and type(k) == "string" then no_method("cxcloud client", k, CLIENT_NAMES) end
  return m
end

ViewMT.__index = function(v, k)
  if k == "customer_id" then return private[v] and private[v].customer_id end
  local m = View[k]
  if m == nil and type(k) == "string" then no_method("cxcloud customer view", k, VIEW_NAMES) end
  return m
end

local function state(self, what)
  local st = private[self]
  if not st then
    errors.raise("usage", format("%s must be called as a method on a client: cx:%s(...), with a colon",
      what, what), nil, 3)
  end
  if st.engine.closed then
    errors.raise("usage", format("%s: the client is closed", what), nil, 3)
  end
  return st
end

--- Create a client. See `cxcloud.options` for every option and its default.
-- Raises an error object of kind "config" on bad options.
-- @tparam[opt] table opts
-- @treturn table client
function M.new(opts)
  local cfg, secret, proxy = options.validate(opts)
  local ua = "cxcloud/" .. VERSION .. " " .. core.curl_version()
  if cfg.user_agent then ua = ua .. " " .. cfg.user_agent end
  local ok, c = pcall(core.new, options.core(cfg, secret, proxy, ua))
  secret, proxy = nil, nil -- luacheck: ignore 311
  if not ok then
    errors.raise("config", "cannot create the client: " .. tostring(c), nil, 2)
  end
  local self = setmetatable({}, ClientMT)
  local engine = engine_mod.new(c, cfg, core, { identifiers = operations.identifiers,
    retry_cost = options.RETRY_COST, retry_refund = options.RETRY_REFUND })
  engine.owner = self -- what `wait` receives (the key of `private`: weak, an ephemeron)
  engine.page_sizes = pagesize.new(math.min(cfg.max_body_size, cfg.max_buffered))
  private[self] = { engine = engine, cfg = cfg }
  return self
end

--- The current access token and its expiry (epoch seconds, nil when the token
-- endpoint gave no lifetime), fetching or refreshing it when needed; or nil, err.
-- @treturn string|nil
-- @treturn number|table|nil
function Client:token()
  return state(self, "token").engine:token()
end

--- One authenticated GET of `base_url .. path` with `query` (a table of parameters:
-- strings, numbers, booleans or lists, sent sorted by name).
-- @tparam string path e.g. "/customer-info/customer-details"
-- @tparam[opt] table query
-- @return the decoded JSON body, or nil, err
function Client:get(path, query)
  local st = state(self, "get")
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" or path:find("[%s%c#]") then
    errors.raise("usage", format("get: path must be a string starting with '/', without spaces,"
      .. " e.g. \"/inventory/hardware\" (got %s)", type(path) == "string"
        and ("'" .. errors.escape(path) .. "'") or util.describe(path, true)), nil, 2)
  end
  if query ~= nil and type(query) ~= "table" then
    errors.raise("usage", format("get: query must be a table of parameters (got %s)",
      util.describe(query, true)), nil, 2)
  end
  local qs = params.encode(query)
  local url = st.cfg.base_url .. path
  if qs ~= "" then url = url .. (path:find("?", 1, true) and "&" or "?") .. qs end
  return st.engine:get(url)
end

--- Counters for this client: requests, retries, throttled, overloaded, token_requests,
-- auth_retries, budget_exhausted, slowdowns, memory_waits, retry_budget (left), rate,
-- concurrency,
-- connects, transfers.
-- @treturn table
function Client:stats()
  return state(self, "stats").engine:get_stats()
end

--- The API requests this client made this UTC day (token requests aside), with, once it
-- has synced into a store, those that other processes recorded there for this client id
-- that day, against the option `daily_quota`: `{day = "YYYY-MM-DD", calls = n, limit = n, left = n|nil,
-- client = client id}` (`left` is nil when `daily_quota` is 0).
-- @treturn table
function Client:quota()
  local st = state(self, "quota")
  local q = st.engine:get_quota()
  q.limit = st.cfg.daily_quota
  q.left = q.limit > 0 and math.max(0, q.limit - q.calls) or nil
  q.client = st.cfg.client_id
  return q
end

--- Internal (for `db:sync`): a store's record of this client id's calls on `day`
-- (`store_calls`), or `recorded` calls of this process that a sync has just added to it;
-- `quota()` then counts the calls of every process that uses the store. See
-- `cxcloud.engine` `share_quota`.
-- @tparam string day "YYYY-MM-DD" (UTC)
-- @tparam[opt] integer store_calls
-- @tparam[opt] integer recorded
function Client:_share_quota(day, store_calls, recorded)
  state(self, "quota").engine:share_quota(day, store_calls, recorded)
end

--- Internal (for `db:sync`): the page sizes this client learnt (`cxcloud.pagesize`), to
-- keep them across runs (`export`, `import`).
-- @treturn table
function Client:_page_sizes()
  return state(self, "page sizes").engine.page_sizes
end

--- Internal (for `db:plan`): the rows per page a pull of `op` would start with.
-- @tparam string op an operation's name
-- @treturn integer
function Client:_page_size(op)
  local st = state(self, "page size")
  local size = st.cfg.page_size
  if size == "auto" then return st.engine.page_sizes:start(op) end
  return size
end

--- Call `fn(list[i], i)` for every element of the array `list`, each call in its own
-- coroutine, at most `n` at once (default: the client's concurrency); returns when all
-- have ended. The requests of every call share the client's rate limit, connections,
-- token and retry budget. Needs Lua 5.2+ or LuaJIT (a coroutine yields across pcall).
-- @tparam table list
-- @tparam function fn
-- @tparam[opt] integer n
-- @treturn table results: `results[i]` is the first value fn returned for `list[i]`
-- @treturn table|nil errs: nil when every call returned, else `errs[i]` is what the
--   call for `list[i]` raised
function Client:map(list, fn, n)
  return state(self, "map").engine:map(list, fn, n)
end

--- A file descriptor, the same for the client's life, readable when the client has
-- work (for event loops; the client is a cqueues-style pollable object).
-- @treturn integer
function Client:pollfd()
  return state(self, "pollfd").engine:pollfd()
end

--- The events to wait for on `pollfd()`: "r".
-- @treturn string
function Client:events()
  state(self, "events")
  return "r"
end

--- Seconds until the client must run even if the descriptor stays quiet; nil when idle.
-- @treturn number|nil
function Client:timeout()
  return state(self, "timeout").engine:timeout()
end

--- Do what is ready, waiting at most `s` seconds (0: not at all; default: until the
-- next event). Never calls the `wait` option.
-- @tparam[opt] number s
-- @treturn boolean true while work is pending
function Client:step(s)
  if s ~= nil and (type(s) ~= "number" or s ~= s or s < 0) then
    errors.raise("usage", format("step: s must be a number of seconds >= 0 (got %s)",
      util.describe(s, true)), nil, 2)
  end
  return state(self, "step").engine:step(s)
end

--- Free connections, cancel what is in flight, wipe the secret. Idempotent.
function Client:close()
  local st = private[self]
  if st then st.engine:close() end
end

ClientMT.__close = function(self) Client.close(self) end
ClientMT.__gc = function(self)
  local st = private[self]
  if st then pcall(st.engine.close, st.engine) end
end

ClientMT.__tostring = function(self)
  local st = private[self]
  if not st then return "cxcloud client (invalid)" end
  return format("cxcloud client %s client_id=%s (%s)", st.cfg.base_url,
    errors.escape(st.cfg.client_id), st.engine.closed and "closed" or "open")
end

--- A view of one customer: the same operation methods, with `customerId` filled in.
-- @tparam string id a CX Cloud customer identifier
-- @treturn table view
function Client:customer(id)
  state(self, "customer")
  if compat.mtype(id) == "integer" then id = format("%d", id) end
  if type(id) ~= "string" or id == "" or id:find("[%s%c]") then
    errors.raise("usage", format("customer: id must be a non-empty customerId string without spaces,"
      .. " e.g. cx:customer(\"abc123def\") (got %s)", type(id) == "string"
        and ("'" .. errors.escape(id) .. "'") or util.describe(id, true)), nil, 2)
  end
  local v = setmetatable({}, ViewMT)
  private[v] = { client = self, customer_id = id }
  return v
end

ViewMT.__tostring = function(v)
  local pv = private[v]
  return format("cxcloud customer %s (%s)", errors.escape(pv.customer_id), tostring(pv.client))
end

--- The customerId of a view (also `view.customer_id`).
function View:id()
  return private[self].customer_id
end

-- the named operation at a path, so that cx:query on it describes the items alike
local OP_AT = {}
for _, op in ipairs(operations) do OP_AT[op.path] = op end

local function view_state(v, name)
  local pv = private[v]
  if not pv then
    errors.raise("usage", format("%s must be called as a method: view:%s(...), with a colon",
      name, name), nil, 3)
  end
  return state(pv.client, name), pv
end

--- A query object over any GET path under `base_url`: for an operation our table
-- lacks or describes wrongly. `params` go out as given (strings, numbers, booleans,
-- lists joined with commas), except the options `fields`, `sort`, `page_size`,
-- `max_items`, `start_page`, checked as for the named operations (`page` and `rows`
-- are the query's own). Pagination, retries, drift detection and every idiom work as
-- for the named operations, which are built on the same plan.
-- @tparam string path e.g. "/inventory/hardware": no '..', '//', scheme, '?' or '#'
-- @tparam[opt] table params
-- @treturn table query
function Client:query(path, p)
  local st = state(self, "query")
  path = params.path(path)
  return query_mod.new(st.engine, st.cfg, params.free(path, p, st.cfg, nil, OP_AT[path]), self)
end

--- `cx:query(path, params)` with `customerId` filled in.
function View:query(path, p)
  local st, pv = view_state(self, "query")
  path = params.path(path)
  return query_mod.new(st.engine, st.cfg, params.free(path, p, st.cfg, pv.customer_id, OP_AT[path]),
    pv.client)
end

-- one method per operation, on the client and on the customer view: its path and its
-- checked params, as a plan for the same query object cx:query makes
for _, op in ipairs(operations) do
  local name = op.name
  Client[name] = function(self, p)
    local st = state(self, name)
    return query_mod.new(st.engine, st.cfg, params.check(op, p, st.cfg), self)
  end
  View[name] = function(self, p)
    local st, pv = view_state(self, name)
    return query_mod.new(st.engine, st.cfg, params.check(op, p, st.cfg, pv.customer_id), pv.client)
  end
end

CLIENT_NAMES = util.sorted_keys(Client)
VIEW_NAMES = util.sorted_keys(View)

return M
