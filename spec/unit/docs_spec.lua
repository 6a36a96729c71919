-- The documentation agrees with the code. Fails when one of them changes without the other:
--
-- * the client options table (the Markdown table whose header starts
--   `| option | default | environment |`, in doc/library.md) lists exactly the options
--   that lua/cxcloud/options.lua accepts, each with the default and the environment
--   variables that options.lua gives it;
-- * the operations table (header `| method | path | customerId |`) lists the operations of
--   lua/cxcloud/operations.lua, in its order, with the same path and the same
--   customerId requirement;
-- * every relative link in README.md and doc/*.md reaches a file of the tree, and the
--   heading of that file when the link names one (`page.md#heading`).
--
-- Both tables are read from the documentation and compared with the modules as they load
-- at run time, so an option added to options.lua fails this spec until the table lists it.
local options = require "cxcloud.options"
local operations = require "cxcloud.operations"

-- the repository's root: this file is spec/unit/docs_spec.lua
local ROOT = (debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.-)/?spec/unit/docs_spec%.lua$"))
if ROOT == nil or ROOT == "" then ROOT = "." end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The Markdown pages: README.md and doc/*.md (relative to ROOT, sorted).
local function pages()
  local list = { "README.md" }
  local p = assert(io.popen("ls -1 '" .. ROOT .. "/doc'"))
  local names = {}
  for name in p:lines() do
    if name:match("%.md$") then names[#names + 1] = "doc/" .. name end
  end
  p:close()
  table.sort(names)
  for _, n in ipairs(names) do list[#list + 1] = n end
  return list
end

-- A page's lines outside fenced code blocks (``` ... ```): what Markdown renders as text.
local function prose_lines(text)
  local out, fenced = {}, false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^%s*```") then
      fenced = not fenced
    elseif not fenced then
      out[#out + 1] = line
    end
  end
  return out
end

-- The cells of a table row, split on the `|` that are outside code spans.
local function cells(line)
  local out, cur, code = {}, {}, false
  local body = trim(line):gsub("^|", ""):gsub("|$", "")
  for i = 1, #body do
    local c = body:sub(i, i)
    if c == "`" then code = not code end
    if c == "|" and not code then
      out[#out + 1] = trim(table.concat(cur))
      cur = {}
    else
      cur[#cur + 1] = c
    end
  end
  out[#out + 1] = trim(table.concat(cur))
  return out
end

-- Every table in the pages whose header row starts with the cells `header` (in order):
-- a list of { page = name, rows = { cells... } } (rows after the |---| line).
local function find_tables(header)
  local found = {}
  for _, page in ipairs(pages()) do
    local lines = prose_lines(assert(read(ROOT .. "/" .. page)))
    local i = 1
    while i <= #lines do
      local line = lines[i]
      local match = false
      if line:match("^%s*|") then
        local hc = cells(line)
        match = true
        for k, h in ipairs(header) do
          if hc[k] ~= h then match = false end
        end
      end
      if match then
        local rows = {}
        i = i + 2 -- the header and the |---| line
        while lines[i] and lines[i]:match("^%s*|") do
          rows[#rows + 1] = cells(lines[i])
          i = i + 1
        end
        found[#found + 1] = { page = page, rows = rows }
      else
        i = i + 1
      end
    end
  end
  return found
end

local function the_table(header)
  local t = find_tables(header)
  assert(#t == 1, ("expected one table with the header '| %s |' in README.md and doc/*.md, found %d")
    :format(table.concat(header, " | "), #t))
  return t[1]
end

local function code_span(cell)
  return cell:match("^`([^`]*)`$")
end

--------------------------------------------------------------------------------------------
-- Defaults as the table shows them. A cell is read, after dropping its backticks, as:
--   "text"            a string
--   true, false       a boolean
--   N or N UNIT       a number: N is digits with an optional decimal part; UNIT is s
--                     (seconds, as options.lua counts them: "60 s" is 60), KiB (x 1024),
--                     MiB (x 1024^2) or GiB (x 1024^3): "8 MiB" is 8388608
-- each optionally followed by a remark in parentheses ("8 MiB (after decompression)").
-- Any other text ("none", "automatic", "min(60 s, 10% of ...)", "the core's clock") says
-- that options.lua has no default of its own: the option is nil unless given (the code
-- decides at run time, or the option is required). An unknown unit is an error of this
-- spec, not a silent pass.
local UNITS = { [""] = 1, s = 1, KiB = 1024, MiB = 1024 * 1024, GiB = 1024 * 1024 * 1024 }

local function parse_default(cell)
  local s = trim((cell:gsub("`", "")))
  local str, rest = s:match('^"([^"]*)"(.*)$')
  if str then
    assert(trim(rest) == "" or trim(rest):match("^%("), "cannot read the default '" .. cell .. "'")
    return "value", str
  end
  local b, brest = s:match("^(%a+)(.*)$")
  if (b == "true" or b == "false") and (trim(brest) == "" or trim(brest):match("^%(")) then
    return "value", b == "true"
  end
  local num, unit, nrest = s:match("^(%d+%.?%d*)%s*(%a*)(.*)$")
  if num then
    assert(UNITS[unit], ("unknown unit '%s' in the default '%s'"):format(unit, cell))
    assert(trim(nrest) == "" or trim(nrest):match("^%("), "cannot read the default '" .. cell .. "'")
    return "value", tonumber(num) * UNITS[unit]
  end
  return "none"
end

-- The environment variables a cell names: every `NAME` in it, in order.
local function parse_env(cell)
  local out = {}
  for name in cell:gmatch("`([%w_]+)`") do out[#out + 1] = name end
  return out
end

-- load(text) with the environment `env`, on every Lua version
local function load_with_env(text, name, env)
  local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")
  if setfenv and loadstring then
    local f, err = loadstring(text, name)
    if f then setfenv(f, env) end
    return f, err
  end
  return load(text, name, "t", env)
end

-- The SPEC list of options.lua ({ name, check, default, env } entries), evaluated with the
-- module's own table as `M` and a stand-in for every other name (the checkers and their
-- helpers): only the names and the environment variables are read from it.
local function spec_entries()
  local path = package.searchpath and package.searchpath("cxcloud.options", package.path)
    or (ROOT .. "/lua/cxcloud/options.lua")
  local text = assert(read(path), "cannot read " .. tostring(path))
  local first = text:find("\nlocal SPEC = {", 1, true)
  assert(first, "options.lua has no 'local SPEC = {' list")
  local open = text:find("{", first, true)
  local close = text:find("\n}\n", open, true)
  assert(close, "options.lua: the SPEC list has no closing '}' at the start of a line")
  local stand_in
  local any = function() return stand_in end
  stand_in = setmetatable({}, { __call = any, __index = any, __add = any, __sub = any,
    __mul = any, __div = any, __unm = any, __concat = any })
  local env = setmetatable({ M = options, math = math, string = string, table = table },
    { __index = any })
  local chunk = assert(load_with_env("return " .. text:sub(open, close + 1), "=SPEC", env))
  return chunk()
end

describe("the documentation", function()
  it("lists every option of cxcloud.new, with its default and environment variables", function()
    local doc = the_table { "option", "default", "environment" }
    local shown = {}
    for _, row in ipairs(doc.rows) do
      local name = code_span(row[1])
      assert(name, ("%s: the option cell '%s' is not one `name`"):format(doc.page, row[1]))
      assert(not shown[name], ("%s: option '%s' is listed twice"):format(doc.page, name))
      shown[name] = { default = row[2], env = row[3] }
    end

    -- the names: exactly those options.lua accepts
    local missing, extra = {}, {}
    local accepted = {}
    for _, name in ipairs(options.NAMES) do
      accepted[name] = true
      if not shown[name] then missing[#missing + 1] = name end
    end
    for name in pairs(shown) do
      if not accepted[name] then extra[#extra + 1] = name end
    end
    table.sort(extra)
    assert.same({}, missing, doc.page .. ": options accepted by options.lua but not in the table")
    assert.same({}, extra, doc.page .. ": options in the table that options.lua does not accept")

    -- the defaults: what validate() resolves with no option given and an empty environment
    -- (the credentials must be given: without them validate() refuses, they have no default)
    local no_env = function() return nil end
    assert.has_error(function() options.validate({}, no_env) end)
    local cfg = options.validate({ client_id = "id", client_secret = "secret" }, no_env)
    cfg.client_id = nil
    for _, name in ipairs(options.NAMES) do
      local kind, value = parse_default(shown[name].default)
      local actual = cfg[name]
      if kind == "none" then
        assert(actual == nil, ("%s: option '%s' shows no default ('%s') but options.lua has %s")
          :format(doc.page, name, shown[name].default, tostring(actual)))
      else
        assert(actual == value, ("%s: option '%s' shows the default '%s' (%s), options.lua has %s")
          :format(doc.page, name, shown[name].default, tostring(value), tostring(actual)))
      end
    end

    -- the environment variables, in the order options.lua reads them
    local spec = spec_entries()
    local spec_names = {}
    for _, entry in ipairs(spec) do
      spec_names[#spec_names + 1] = entry[1]
      local env = entry[4]
      if type(env) == "string" then env = { env } end
      assert.same(env or {}, parse_env(shown[entry[1]].env),
        ("%s: the environment variables of option '%s'"):format(doc.page, entry[1]))
    end
    table.sort(spec_names)
    assert.same(options.NAMES, spec_names, "options.lua: SPEC as read here differs from NAMES")
  end)

  it("lists the operations of operations.lua with their paths and customerId", function()
    local doc = the_table { "method", "path", "customerId" }
    local listed = {}
    for i, row in ipairs(doc.rows) do
      local name = (code_span(row[1]) or ""):match("^cx:([%w_]+)%(params%)$")
      assert(name, ("%s: row %d: the method cell '%s' is not `cx:name(params)`"):format(doc.page, i, row[1]))
      listed[i] = { name = name, path = code_span(row[2]) or row[2], customer_id = row[3] }
    end
    local expected = {}
    for i, op in ipairs(operations) do
      expected[i] = { name = op.name, path = op.path, customer_id = op.customer_id or "" }
    end
    assert.same(expected, listed, doc.page .. ": the operations table")
  end)

  it("lists the natural key of every operation as operations.lua declares it", function()
    local doc = the_table { "operation", "pulled", "key" }
    local listed = {}
    for i, row in ipairs(doc.rows) do
      local keys = {}
      for k in row[3]:gmatch("`([^`]+)`") do keys[#keys + 1] = k end
      listed[i] = { name = code_span(row[1]) or row[1], pulled = row[2], key = keys }
    end
    local expected = {}
    for i, op in ipairs(operations) do
      expected[i] = { name = op.name, key = op.key,
        pulled = op.customer_id == "required" and "per customer" or "once for all" }
    end
    assert.same(expected, listed, doc.page .. ": the keys table")
  end)

  -- GitHub's anchors: the heading's text (links reduced to their text, code spans to their
  -- content) in lower case, without the characters other than letters, digits, spaces,
  -- hyphens and underscores, spaces turned into hyphens; a repeated heading gets -1, -2...
  -- (the pages' headings are ASCII: letters beyond ASCII are not handled here)
  local function anchors(text)
    local set, seen = {}, {}
    for _, line in ipairs(prose_lines(text)) do
      local heading = line:match("^#+%s+(.-)%s*#*%s*$")
      if heading then
        local slug = heading:gsub("%[([^%]]*)%]%([^)]*%)", "%1"):gsub("`", ""):lower()
          :gsub("[^%w%-_ ]", ""):gsub(" ", "-")
        local n = seen[slug]
        seen[slug] = (n or -1) + 1
        set[n and (slug .. "-" .. (n + 1)) or slug] = true
      end
    end
    return set
  end

  -- a/b/../c -> a/c
  local function normalize(path)
    local parts = {}
    for part in path:gmatch("[^/]+") do
      if part == ".." and #parts > 0 and parts[#parts] ~= ".." then
        parts[#parts] = nil
      elseif part ~= "." then
        parts[#parts + 1] = part
      end
    end
    return table.concat(parts, "/")
  end

  it("has no relative link to a missing file or heading", function()
    local broken, count = {}, 0
    for _, page in ipairs(pages()) do
      local text = assert(read(ROOT .. "/" .. page))
      local dir = page:match("^(.*)/[^/]*$")
      for _, line in ipairs(prose_lines(text)) do
        line = line:gsub("``.-``", ""):gsub("`[^`]*`", "")
        for target in line:gmatch("%]%(([^)%s]*)[^)]*%)") do
          if not target:match("^%a[%w+.-]*:") and not target:match("^//") then
            count = count + 1
            local path, anchor = target:match("^([^#]*)#?(.*)$")
            local file = path == "" and page or normalize((dir and (dir .. "/") or "") .. path)
            local handle = not file:match("^%.%.") and io.open(ROOT .. "/" .. file, "rb")
            local content = handle and handle:read("*a") -- nil for a directory
            if handle then handle:close() end
            if not handle then
              broken[#broken + 1] = ("%s: %s (no file %s in the tree)"):format(page, target, file)
            elseif anchor ~= "" and not (file:match("%.md$") and anchors(content)[anchor]) then
              broken[#broken + 1] = ("%s: %s (no heading #%s in %s)"):format(page, target, anchor, file)
            end
          end
        end
      end
    end
    assert.same({}, broken)
    assert(count > 0, "no relative link found: the link reader is broken")
  end)
end)
