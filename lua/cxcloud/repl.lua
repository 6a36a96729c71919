--- A Lua prompt for exploring CX Cloud: readable results, `help`, `_`, `show` and `export`.
--
--    $ cxcloud repl --sandbox             -- or, in a plain interpreter:
--    $ lua5.4 -i -e 'require("cxcloud.repl").start()'
--    cx> cx:customers():all()             -- an aligned table, first rows then "... N more"
--    cx> show(_, "customerName,country")  -- the last result, those columns
--    cx> export(_, "customers.csv")       -- csv, jsonl or json by the extension
--    cx> help "hardware"                  -- parameters (required marked) and fields
--
-- `start` puts `cxcloud`, `cx` (a client from CXCLOUD_*, or on a fresh sandbox), `help`,
-- `show` and `export` in the global table, and replaces `print` with one that shows lists of
-- items as tables, an item as `field = value` lines, a query as its operation and parameters,
-- and a cxcloud error as its one line (`cxcloud.cli.repl.display`). In the stand-alone
-- interpreter (lua.c), which prints each result through the global `print` and shows an error
-- object by its `__tostring`, that is the whole REPL. `loop` is the prompt of `cxcloud repl`:
-- `_` (the last result), Ctrl-C that ends what runs or clears the line and keeps the session
-- (`cxcloud.cli.repl.interrupt`), line editing and Tab completion with Debian's lua-readline
-- (`cxcloud.cli.repl.reader`, `cxcloud.cli.repl.complete`), and a history kept across
-- sessions (`cxcloud.cli.repl.history`).
-- @module cxcloud.repl

local cxcloud = require "cxcloud"
local display = require "cxcloud.cli.repl.display"
local commands = require "cxcloud.cli.repl.commands"
local completion = require "cxcloud.cli.repl.complete"
local interrupt = require "cxcloud.cli.repl.interrupt"

local M = {}

local format, concat = string.format, table.concat

--- Rows of a list shown before "... N more".
M.ROWS = 20

local original_print = print

--- A list of items as an aligned table fitting `width` (`cxcloud.cli.repl.display`).
-- @tparam {table,...} list
-- @tparam[opt] integer width
-- @treturn string
function M.show_list(list, width) return display.show_list(list, width, nil, M.ROWS) end

--- An item as `field = value` lines, aligned, in reading order.
-- @tparam table item
-- @tparam[opt] integer width
-- @treturn string
function M.show_item(item, width) return display.show_item(item, width) end

--- A query: its operation and parameters, and what to do with it.
-- @param q a query object
-- @treturn string
function M.show_query(q) return display.show_query(q) end

--- Any value as the REPL shows it.
-- @param v
-- @treturn string
function M.show(v) return display.show(v, M.ROWS) end

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

--- Completions for the word before the cursor (`cxcloud.cli.repl.complete`).
-- @tparam string before the line up to the start of the word
-- @tparam string word
-- @tparam[opt] table env where names are looked up (default the globals)
-- @treturn {string,...}
function M.complete(before, word, env) return completion.complete(before, word, env) end

-- -----------------------------------------------------------------------------
-- help

local function op_of(v, cx)
  if type(v) == "string" then return completion.find_op(v) end
  if display.is_query(v) then return completion.find_op(v.operation) end
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
    lines[#lines + 1] = "Results: _ (the last one)  show(v, \"productId,serialNumber\")"
      .. "  export(v, \"items.csv\")  (.csv, .jsonl, .json)"
    lines[#lines + 1] = "Keys: Tab completes  Ctrl-C stops what runs or clears the line  Ctrl-D ends"
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
-- the prompt loop

local function message_handler(e)
  if type(e) ~= "string" then
    local mt = getmetatable(e)
    if type(mt) == "table" and mt.__tostring then return tostring(e) end
    return "(error object is a " .. type(e) .. " value)"
  end
  -- the traceback of the typed chunk, without the REPL's own frames
  return (debug.traceback(e, 2):gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
end

-- the chunk for `text`: an expression first (its values are printed), else statements
-- @treturn function|nil
-- @treturn string|nil the error
-- @treturn boolean whether it is an expression
local function compile(text)
  local fn = load("return " .. text, "=stdin", "t")
  if fn then return fn, nil, true end
  local err
  fn, err = load(text, "=stdin", "t")
  return fn, err, false
end

-- a chunk that needs more lines ends with "<eof>" in its message
local function incomplete(err)
  return err ~= nil and err:find("<eof>$") ~= nil
end

-- run a compiled chunk, print its values and keep the first in `_`
local function evaluate(fn, is_expression, catcher)
  local res
  if catcher then
    res = catcher:run(fn, message_handler)
  else
    res = table.pack(xpcall(fn, message_handler))
  end
  if res.interrupted and (not res[1] or (res[2] == nil and cxcloud.is_error(res[3]))) then
    -- Ctrl-C: raised in the chunk, or the `nil, err` of the query it ended
    io.stderr:write("interrupted\n")
  elseif not res[1] then
    io.stderr:write(tostring(res[2]), "\n")
  else
    if is_expression and res[2] ~= nil then _G._ = res[2] end
    if res.n > 1 then _G.print(table.unpack(res, 2, res.n)) end
  end
  io.stdout:flush()
  io.stderr:flush()
end

--- Read, evaluate and print until the end of input, as the stand-alone interpreter does
-- (`=` and expressions tried first, continuation lines for an incomplete chunk), and keep the
-- first value of the last expression that had one in `_`. Ctrl-C at a prompt drops the chunk
-- being typed; the session and its variables stay.
-- @tparam table opts `reader` (`cxcloud.cli.repl.reader`), `catcher`
--   (`cxcloud.cli.repl.interrupt`, optional), `history` (`cxcloud.cli.repl.history`, optional)
function M.loop(opts)
  local reader, catcher, history = opts.reader, opts.catcher, opts.history
  if history then
    for _, entry in ipairs(history.entries) do reader.add_history(entry) end
  end
  while true do
    local line = reader.read(_G._PROMPT or "cx> ")
    if line == nil then break end
    if line then
      local chunk = line:gsub("^=", "return ")
      local fn, err, expr = compile(chunk)
      local ended = false
      while not fn and incomplete(err) do
        local more = reader.read(_G._PROMPT2 or "cx>> ")
        if more == nil then ended = true break end
        if more == false then chunk = nil break end -- Ctrl-C: the chunk is dropped
        chunk = chunk .. "\n" .. more
        fn, err, expr = compile(chunk)
      end
      if chunk and chunk:find("%S") and (not history or history:add(chunk)) then
        reader.add_history(chunk)
      end
      if ended then
        io.stderr:write(err, "\n")
        break
      end
      if chunk then
        if fn then evaluate(fn, expr, catcher) else io.stderr:write(err, "\n") end
      end
    end
  end
end

-- -----------------------------------------------------------------------------
-- start

--- Put `cxcloud`, `cx`, `help`, `show`, `export` (and `sb` with a sandbox) in the globals,
-- replace `print`, set the prompt, and say what is there.
-- @tparam[opt] table opts `sandbox` (true: start one; or a table of sandbox options),
--   `proxy`, `quiet` (no banner), `wait` (the client's `wait` option)
-- @treturn table|nil the client
-- @treturn table|nil the sandbox
function M.start(opts)
  opts = opts or {}
  local G = _G
  G.cxcloud = cxcloud
  local extra
  if opts.proxy or opts.wait then extra = { proxy = opts.proxy, wait = opts.wait } end
  local cx, sb, why
  if opts.sandbox then
    local sandbox = require("cxcloud.cli.common").require_sandbox("cxcloud.sandbox")
    sb = sandbox.start(type(opts.sandbox) == "table" and opts.sandbox or { seed = 1, customers = 3 })
    G.sb = sb
    cx = cxcloud.new(sb:client_options(extra))
  else
    local ok, c = pcall(cxcloud.new, extra)
    if ok then cx = c else why = tostring(c):gsub("^cxcloud: ", "") end
  end
  G.cx = cx
  G.help = function(what) original_print(M.help_text(what, cx)) end
  G.show = function(v, columns, rows) commands.show(v, columns, rows or M.ROWS, original_print) end
  G.export = function(v, path, columns)
    local n, fmt = commands.export(v, path, columns)
    original_print(format("wrote %d item%s to %s (%s)", n, n == 1 and "" or "s", path, fmt))
  end
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

--- Is `e` the error of an interrupted chunk (Ctrl-C)?
-- @param e
-- @treturn boolean
M.is_interrupt = interrupt.is_interrupt

return M
