--- A Lua prompt for exploring CX Cloud: readable results and `help`.
--
--    $ cxcloud repl --sandbox             -- or, in a plain interpreter:
--    $ lua5.4 -i -e 'require("cxcloud.repl").start()'
--    cx> cx:customers():all()             -- an aligned table, first rows then "... N more"
--    cx> help "hardware"                  -- parameters (required marked) and fields
--
-- `start` puts `cxcloud`, `cx` (a client from CXCLOUD_*, or on a fresh sandbox) and `help`
-- in the global table, and replaces `print` with one that shows lists of items as tables,
-- an item as `field = value` lines, a query as its operation and parameters, and a cxcloud
-- error as its one line. The stand-alone interpreter (lua.c) prints each result through the
-- global `print`, shows an error object by its `__tostring` without a traceback, and reads
-- lines with readline when Debian builds it so (line editing and history), but its readline
-- has no completion hook that Lua can set. `loop` is the same prompt on Debian's lua-readline,
-- which adds Tab completion of globals, `cx:` methods, query methods and parameter names.
-- @module cxcloud.repl

local cxcloud = require "cxcloud"
local output = require "cxcloud.cli.output"

local M = {}

local format, concat, rep = string.format, table.concat, string.rep

--- Rows of a list shown before "... N more".
M.ROWS = 20

local original_print = print

local function is_query(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "cxcloud.query"
end

-- a list of items: a non-empty array part whose elements are all tables
local function is_array_of_tables(t)
  local n = #t
  if n == 0 then return false end
  for i = 1, n do
    if type(t[i]) ~= "table" then return false end
  end
  return true
end

-- the operation whose fields best match an item's keys (for the order of columns)
local function field_order(item)
  local best, best_n
  for _, op in ipairs(cxcloud.operations) do
    local n = 0
    for _, f in ipairs(op.fields) do
      if item[f] ~= nil then n = n + 1 end
    end
    if not best_n or n > best_n then best, best_n = op, n end
  end
  if not best then return nil end
  local list = {}
  for i, f in ipairs(best.fields) do list[i] = f end
  return list
end

local function terminal_width()
  local c = tonumber(os.getenv("COLUMNS") or "")
  if c and c > 0 then return math.tointeger(c) end
  return require("cxcloud.cli.term").columns()
end

--- A list of items as an aligned table fitting `width`: the first `M.ROWS` rows, then
-- "... N more" and the count.
-- @tparam {table,...} list
-- @tparam[opt] integer width
-- @treturn string
function M.show_list(list, width)
  width = width or terminal_width()
  local shown = {}
  for i = 1, math.min(#list, M.ROWS) do shown[i] = list[i] end
  local columns = output.columns(shown, field_order(list[1]))
  local ws, ncols = output.widths(shown, columns, width, 30)
  local h, rule = output.table_header(columns, ws, ncols)
  local lines = { h, rule }
  for _, row in ipairs(shown) do lines[#lines + 1] = output.table_line(row, columns, ws, ncols) end
  local tail = {}
  if #list > #shown then tail[#tail + 1] = format("... %d more", #list - #shown) end
  tail[#tail + 1] = format("(%d item%s", #list, #list == 1 and "" or "s")
  if ncols < #columns then
    local rest = {}
    for c = ncols + 1, #columns do rest[#rest + 1] = columns[c] end
    local names = concat(rest, ", ")
    if #names > width - 30 then names = names:sub(1, math.max(10, width - 34)) .. "..." end
    tail[#tail] = tail[#tail] .. format("; %d more column%s: %s", #rest, #rest == 1 and "" or "s", names)
  end
  tail[#tail] = tail[#tail] .. ")"
  lines[#lines + 1] = concat(tail, " ")
  return concat(lines, "\n")
end

--- An item as `field = value` lines, aligned, in the API's field order.
-- @tparam table item
-- @tparam[opt] integer width
-- @treturn string
function M.show_item(item, width)
  width = width or terminal_width()
  local keys = {}
  for i = 1, #item do keys[i] = i end
  for _, k in ipairs(output.columns({ item }, field_order(item))) do keys[#keys + 1] = k end
  local w = 0
  for _, k in ipairs(keys) do w = math.max(w, output.width(tostring(k))) end
  local lines = {}
  for _, k in ipairs(keys) do
    local v = item[k]
    local text = type(v) == "string" and format("%q", v):gsub("\\\n", "\\n") or output.text(v)
    if type(v) == "table" then text = output.json(v) end
    local room = math.max(10, width - w - 3)
    if output.width(text) > room then text = output.fit(text, room) end
    local name = type(k) == "string" and k or ("[" .. k .. "]")
    lines[#lines + 1] = name .. rep(" ", w - output.width(name)) .. " = " .. text
  end
  return concat(lines, "\n")
end

--- A query: its operation and parameters, and what to do with it.
-- @param q a query object
-- @treturn string
function M.show_query(q)
  return tostring(q) .. "\n  :all()  :first()  :count()  :pages()   or   for item in q do ... end"
end

--- Any value as the REPL shows it.
-- @param v
-- @treturn string
function M.show(v)
  if cxcloud.is_error(v) then return "error: " .. tostring(v):gsub("^cxcloud: ", "") end
  if is_query(v) then return M.show_query(v) end
  local mt = type(v) == "table" and getmetatable(v)
  -- plain tables, and views such as cxcloud.operations (no name, no __tostring)
  if type(v) == "table" and (mt == nil or (type(mt) == "table" and not mt.__name and not mt.__tostring)) then
    local iter, state, first = pairs(v)
    if iter(state, first) == nil then return "{} (empty)" end
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    if n > 0 and count == n and not is_array_of_tables(v) then
      local parts = {}
      for i = 1, n do
        local x = v[i]
        parts[i] = type(x) == "string" and format("%q", x) or (type(x) == "table" and output.json(x)
          or tostring(x))
      end
      return "{ " .. concat(parts, ", ") .. " }"
    end
    if is_array_of_tables(v) then
      local list = {}
      for i = 1, #v do list[i] = v[i] end
      return M.show_list(list)
    end
    return M.show_item(v)
  end
  return tostring(v)
end

--- `print` for the REPL: tables, queries and errors shown readably, other values as the
-- standard `print` shows them. `nil, err` (a failed `all`, `first`, `count`) shows the error.
function M.print(...)
  local n = select("#", ...)
  local first, second = ...
  if n == 2 and first == nil and cxcloud.is_error(second) then
    return original_print(M.show(second))
  end
  local special = false
  for i = 1, n do
    local v = select(i, ...)
    if type(v) == "table" then special = true end
  end
  if not special then return original_print(...) end
  local parts = {}
  for i = 1, n do parts[i] = M.show((select(i, ...))) end
  return original_print(concat(parts, "\n"))
end

-- -----------------------------------------------------------------------------
-- help

local function find_op(name)
  local want = name:gsub("-", "_")
  for _, op in ipairs(cxcloud.operations) do
    if op.name == want then return op end
  end
end

local function op_of(v, cx)
  if type(v) == "string" then return find_op(v) end
  if is_query(v) then return find_op(v.operation) end
  if type(v) == "function" and cx then
    for _, op in ipairs(cxcloud.operations) do
      local ok, m = pcall(function() return cx[op.name] end)
      if ok and m == v then return op end
    end
  end
end

--- The help text: every operation (no argument), or one operation's parameters and
-- fields (its name, `cx.hardware`, or a query).
-- @param[opt] what
-- @param[opt] cx the client whose methods `what` may be
-- @treturn string
function M.help_text(what, cx)
  if what == nil then
    local lines = { "Operations (cx:NAME{params} returns a query; cx:customer(id):NAME{...} fills"
      .. " in customerId):" }
    for _, op in ipairs(cxcloud.operations) do
      lines[#lines + 1] = format("  %-28s %s", op.name, op.title)
    end
    lines[#lines + 1] = ""
    lines[#lines + 1] = "Client: cx:customer(id)  cx:query(path, params)  cx:get(path, query)"
      .. "  cx:map(list, fn)  cx:stats()"
    lines[#lines + 1] = "Queries: q:all()  q:first()  q:count()  q:pages()  for item in q do ... end"
    lines[#lines + 1] = "Options in params: fields, sort (\"field:ASC\"), page_size, max_items, start_page"
    lines[#lines + 1] = "More: help \"hardware\" or help(cx.hardware): parameters and fields"
    return concat(lines, "\n")
  end
  local op = op_of(what, cx)
  if not op then
    local names = {}
    for _, o in ipairs(cxcloud.operations) do names[#names + 1] = o.name end
    local s = type(what) == "string" and require("cxcloud.util").suggest(what, names)
    return format("help: no operation %s%s; help() lists them",
      type(what) == "string" and ("'" .. what .. "'") or ("for a " .. type(what)),
      s and format(" (did you mean '%s'?)", s) or "")
  end
  local lines = { format("cx:%s{...}  %s  (GET %s)", op.name, op.title, op.path) }
  if op.summary then lines[#lines + 1] = "  " .. op.summary end
  lines[#lines + 1] = "Parameters (* required):"
  for _, p in ipairs(op.params) do
    lines[#lines + 1] = format("  %s %-22s %s", p.required and "*" or " ", p[1], p[2])
  end
  lines[#lines + 1] = "Fields:"
  local line = " "
  for _, f in ipairs(op.fields) do
    if #line + #f + 1 > 78 then
      lines[#lines + 1] = line
      line = " "
    end
    line = line .. " " .. f
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

-- -----------------------------------------------------------------------------
-- completion

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while" }
local CLIENT_METHODS = { "customer", "get", "token", "stats", "quota", "close", "map", "query", "pollfd",
  "events", "timeout", "step" }
local QUERY_OPTIONS = { "fields", "sort", "page_size", "max_items", "start_page" }

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

--- Completions for the word before the cursor: `cx:hard` -> `cx:hardware`, `cxcloud.op` ->
-- `cxcloud.operations`, a parameter name inside `cx:hardware { cust` -> `customerId = `,
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

-- -----------------------------------------------------------------------------
-- the prompt loop (with lua-readline: line editing and Tab completion)

local function message_handler(e)
  if type(e) ~= "string" then
    local mt = getmetatable(e)
    if type(mt) == "table" and mt.__tostring then return tostring(e) end
    return "(error object is a " .. type(e) .. " value)"
  end
  -- the traceback of the typed chunk, without the REPL's own frames
  return (debug.traceback(e, 2):gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
end

--- Read, evaluate and print until end of input, as the stand-alone interpreter does
-- (`return` tried first, continuation lines for an incomplete chunk), with Debian's
-- lua-readline for line editing, history and Tab completion (`M.complete`).
-- @tparam table rl the `readline` module
function M.loop(rl)
  rl.set_options { histfile = "", auto_add = false, completion = true }
  rl.set_readline_name("cxcloud")
  rl.set_complete_function(function(text, from, to)
    rl.set_completion_append_character("") -- readline resets it after each completion
    return M.complete(text:sub(1, from - 1), text:sub(from, to))
  end)
  while true do
    local line = rl.readline(_G._PROMPT or "cx> ")
    if line == nil then io.write("\n") break end
    local chunk = line:gsub("^=", "return ")
    local fn, err = load("return " .. chunk, "=stdin", "t")
    if not fn then
      fn, err = load(chunk, "=stdin", "t")
      while not fn and err:find("<eof>$") do
        local more = rl.readline(_G._PROMPT2 or ">> ")
        if more == nil then break end
        chunk = chunk .. "\n" .. more
        fn, err = load(chunk, "=stdin", "t")
      end
    end
    if chunk:find("%S") then rl.add_history(chunk) end
    if not fn then
      io.stderr:write(err, "\n")
    else
      local res = table.pack(xpcall(fn, message_handler))
      if not res[1] then
        io.stderr:write(tostring(res[2]), "\n")
      elseif res.n > 1 then
        _G.print(table.unpack(res, 2, res.n))
      end
    end
    io.stdout:flush()
  end
end

-- -----------------------------------------------------------------------------
-- start

--- Put `cxcloud`, `cx`, `help` (and `sb` with a sandbox) in the globals, replace `print`,
-- set the prompt, and say what is there.
-- @tparam[opt] table opts `sandbox` (true: start one; or a table of sandbox options),
--   `proxy`, `quiet` (no banner)
-- @treturn table|nil the client
-- @treturn table|nil the sandbox
function M.start(opts)
  opts = opts or {}
  local G = _G
  G.cxcloud = cxcloud
  local cx, sb, why
  if opts.sandbox then
    local sandbox = require("cxcloud.cli.common").require_sandbox("cxcloud.sandbox")
    sb = sandbox.start(type(opts.sandbox) == "table" and opts.sandbox or { seed = 1, customers = 3 })
    G.sb = sb
    cx = cxcloud.new(sb:client_options(opts.proxy and { proxy = opts.proxy } or nil))
  else
    local ok, c = pcall(cxcloud.new, opts.proxy and { proxy = opts.proxy } or nil)
    if ok then cx = c else why = tostring(c):gsub("^cxcloud: ", "") end
  end
  G.cx = cx
  G.help = function(what) original_print(M.help_text(what, cx)) end
  G.print = M.print
  G._PROMPT, G._PROMPT2 = "cx> ", "cx>> "
  if not opts.quiet then
    local say = original_print
    say(cxcloud._VERSION .. " (" .. _VERSION .. "): cxcloud, cx and help() are ready.")
    if sb then
      say(format("cx is a client on a local sandbox (port %s); its customers: %s", tostring(sb.port),
        concat(sb.customers, ", ")))
      say(format("Try: cx:customers():all()   cx:customer(%q):hardware():first()   help \"hardware\"",
        sb.customers[1]))
    elseif cx then
      say("cx is a client from CXCLOUD_*: " .. tostring(cx))
      say("Try: cx:customers():all()   help()   help \"hardware\"")
    else
      say("cx is nil: " .. why)
      say("Set CXCLOUD_CLIENT_ID and CXCLOUD_CLIENT_SECRET, or run: cxcloud repl --sandbox")
    end
  end
  return cx, sb
end

return M
