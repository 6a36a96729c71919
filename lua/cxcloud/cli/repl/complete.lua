--- Tab completion for the REPL: globals and keywords, `cx:` methods, fields of tables, query
-- methods, the parameter names of the operation being called, and customer IDs where one
-- is expected (`cx:customer("`, `customerId = "`).
-- @module cxcloud.cli.repl.complete

local cxcloud = require "cxcloud"

local M = {}

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while" }
local CLIENT_METHODS = { "customer", "get", "token", "stats", "quota", "close", "map", "query", "pollfd",
  "events", "timeout", "step" }
local QUERY_OPTIONS = { "fields", "sort", "page_size", "max_items", "start_page" }

--- Seconds before customer IDs that could not be listed are asked for again.
M.RETRY_AFTER = 60

local function find_op(name)
  local want = name:gsub("-", "_")
  for _, op in ipairs(cxcloud.operations) do
    if op.name == want then return op end
  end
end
M.find_op = find_op

-- the names an object offers after "." or ":"
local function members(obj)
  local names, seen = {}, {}
  local function add(k)
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and not k:find("^_") and not seen[k] then
      seen[k] = true
      names[#names + 1] = k
    end
  end
  if type(obj) == "table" then
    local mt = getmetatable(obj)
    local name = type(mt) == "table" and mt.__name
    if name == "cxcloud.client" or name == "cxcloud.customer" then
      for _, op in ipairs(cxcloud.operations) do add(op.name) end
      for _, k in ipairs(CLIENT_METHODS) do
        local ok, v = pcall(function() return obj[k] end)
        if ok and v ~= nil then add(k) end
      end
      if name == "cxcloud.customer" then add("id") end
    else
      for k in pairs(obj) do add(k) end
      local index = type(mt) == "table" and rawget(mt, "__index")
      if type(index) == "table" then
        for k, v in pairs(index) do
          if type(v) == "function" then add(k) end
        end
      end
    end
  elseif type(obj) == "string" then
    for k in pairs(string) do add(k) end
  end
  table.sort(names)
  return names
end

-- the value of a dotted name of globals ("cx", "cxcloud.operations"), or nil
local function resolve(expr, env)
  local v = env
  for part in expr:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    local ok, x = pcall(function() return v[part] end)
    if not ok then return nil end
    v = x
  end
  return v
end

-- customer IDs per client (the sandbox's list, else customer-details, asked once)
local cache = setmetatable({}, { __mode = "k" })

--- The customer IDs the REPL's client sees: the sandbox's (`sb.customers`) when there is
-- one, else those of `cx:customers()`, asked once (again after `RETRY_AFTER` seconds when it
-- failed). Never raises.
-- @tparam table env the globals (`cx`, `sb`)
-- @treturn {string,...}
function M.customer_ids(env)
  local sb = rawget(env, "sb")
  if type(sb) == "table" and type(sb.customers) == "table" then return sb.customers end
  local cx = rawget(env, "cx")
  if type(cx) ~= "table" then return {} end
  local entry = cache[cx]
  if entry and (entry.ids or os.time() - entry.at < M.RETRY_AFTER) then return entry.ids or {} end
  local ok, list = pcall(function() return cx:customers():all() end)
  local ids
  if ok and type(list) == "table" then
    ids = {}
    for _, c in ipairs(list) do
      if type(c) == "table" and type(c.customerId) == "string" then ids[#ids + 1] = c.customerId end
    end
    table.sort(ids)
  end
  cache[cx] = { ids = ids, at = os.time() }
  return ids or {}
end

--- Completions for the word before the cursor: `cx:hard` -> `cx:hardware`, `cxcloud.op` ->
-- `cxcloud.operations`, a parameter name inside `cx:hardware { cust` -> `customerId = `,
-- a customer ID after `cx:customer("` or `customerId = "` (quoted when no quote was typed),
-- otherwise globals and keywords.
-- @tparam string before the line up to the start of the word
-- @tparam string word
-- @tparam[opt] table env where names are looked up (default the globals)
-- @treturn {string,...}
function M.complete(before, word, env)
  env = env or _G
  local out = {}
  local function offer(list, prefix, partial, suffix)
    for _, name in ipairs(list) do
      if name:sub(1, #partial) == partial then out[#out + 1] = prefix .. name .. (suffix or "") end
    end
  end
  local quote = before:match("[:.]customer%s*%(%s*([\"']?)$") or before:match("customerId%s*==?%s*([\"']?)$")
  if quote and word:match("^[%w_%-]*$") then
    local q = quote == "" and '"' or ""
    offer(M.customer_ids(env), q, word, q)
    return out
  end
  local base, sep, partial = word:match("^([%a_][%w_.]*)([:.])([%w_]*)$")
  if base then
    offer(members(resolve(base, env)), base .. sep, partial)
    return out
  end
  local opname = before:match("[:.]([%a_][%w_]*)%s*%(?%s*{[^}]*$")
  local op = opname and find_op(opname)
  if op and word:match("^[%a_]*$") then
    local names = {}
    for _, p in ipairs(op.params) do names[#names + 1] = p[1] end
    for _, o in ipairs(QUERY_OPTIONS) do names[#names + 1] = o end
    offer(names, "", word, " = ")
    return out
  end
  local globals = {}
  for k in pairs(env) do
    if type(k) == "string" then globals[#globals + 1] = k end
  end
  table.sort(globals)
  offer(globals, "", word)
  offer(KEYWORDS, "", word)
  return out
end

return M
