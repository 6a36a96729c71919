--- The REPL's helpers for results: `show(v, "a,b,c")` prints a list of items or an item with
-- those columns, `export(v, "file.csv")` writes a list of items to a file with the command
-- line's writers (CSV, JSON Lines or JSON by the extension), whole or not at all.
-- A misuse raises an error object that the prompt shows as its one line.
-- @module cxcloud.cli.repl.commands

local output = require "cxcloud.cli.output"
local term = require "cxcloud.cli.term"
local display = require "cxcloud.cli.repl.display"
local util = require "cxcloud.util"

local M = {}

local format = string.format

-- an error the prompt shows as one line (no traceback)
local Misuse = { __name = "cxcloud.repl.error", __tostring = function(e) return e.message end }
local function misuse(fmt, ...)
  error(setmetatable({ message = format(fmt, ...) }, Misuse), 0)
end

--- The formats `export` writes, by the file's extension.
M.EXTENSIONS = { csv = "csv", jsonl = "jsonl", json = "json" }

-- the items of v: a list of items, an item (one row), or a query (pulled whole)
local function items_of(fname, v)
  if display.is_query(v) then
    local list, err = v:all()
    if not list then error(err, 0) end
    return list
  end
  if type(v) ~= "table" or getmetatable(v) ~= nil then
    misuse("%s: expected a list of items, an item or a query, got %s", fname,
      v == nil and "nil" or type(v) == "table" and tostring(v) or type(v))
  end
  if next(v) == nil then return {} end
  if display.is_array_of_tables(v) then return v end
  if #v > 0 then misuse("%s: expected a list of items (tables), got a list of %s", fname, type(v[1])) end
  return { v }
end

-- "a, b,c" or { "a", "b", "c" } as a list of names, each one some item has
local function columns_of(fname, spec, list)
  if spec == nil then return nil end
  local cols = {}
  if type(spec) == "string" then
    for name in spec:gmatch("[^,]+") do
      name = name:match("^%s*(.-)%s*$")
      if name ~= "" then cols[#cols + 1] = name end
    end
  elseif type(spec) == "table" then
    for i, name in ipairs(spec) do
      if type(name) ~= "string" then
        misuse("%s: column %d is a %s, expected a field name", fname, i, type(name))
      end
      cols[i] = name
    end
  else
    misuse('%s: columns must be a string such as "productId,serialNumber" or a list of names, got %s',
      fname, type(spec))
  end
  if #cols == 0 then misuse('%s: no column named (expected e.g. "productId,serialNumber")', fname) end
  if #list == 0 then return cols end
  local present = {}
  for _, item in ipairs(list) do
    for k in pairs(item) do present[k] = true end
  end
  for _, name in ipairs(cols) do
    if not present[name] then
      local names = util.sorted_keys(present)
      local s = util.suggest(name, names)
      misuse("%s: no item has the field '%s'%s; fields: %s", fname, name,
        s and format(" (did you mean '%s'?)", s) or "", table.concat(names, ", "))
    end
  end
  return cols
end

--- `show(v [, columns [, rows]])`: print a list of items (or a query's items) as a table, or
-- an item as `field = value` lines; `columns` ("a,b,c" or a list) chooses and orders them;
-- `rows` is how many rows of a list are printed (default `display` shows 20).
-- @param v
-- @param[opt] columns
-- @tparam[opt] integer rows
-- @tparam[opt] function print_fn where the text goes (default `print`)
function M.show(v, columns, rows, print_fn)
  print_fn = print_fn or print
  if rows ~= nil and (math.type(rows) ~= "integer" or rows < 1) then
    misuse("show: rows must be a whole number >= 1, got %s", tostring(rows))
  end
  if columns == nil and not display.is_query(v) then
    print_fn(display.show(v, rows))
    return
  end
  local list = items_of("show", v)
  local cols = columns_of("show", columns, list)
  if type(v) == "table" and not display.is_query(v) and not display.is_array_of_tables(v) then
    print_fn(display.show_item(v, nil, cols))
  elseif #list == 0 then
    print_fn("{} (empty)")
  else
    print_fn(display.show_list(list, nil, cols, rows))
  end
end

--- `export(v, path [, columns])`: write a list of items (an item, a query's items) to `path`,
-- CSV, JSON Lines or a JSON array as its extension says (.csv, .jsonl, .json), with the
-- command line's writers: a file is written whole or not at all.
-- @param v
-- @tparam string path
-- @param[opt] columns "a,b,c" or a list: those fields in that order (CSV: the header)
-- @treturn integer the number of rows written
-- @treturn string the format
function M.export(v, path, columns)
  if type(path) ~= "string" or path == "" then
    misuse('export: expected a file name such as "items.csv" as the second argument, got %s',
      path == nil and "nil" or type(path) == "string" and '""' or type(path))
  end
  local ext = path:match("%.(%w+)$")
  local fmt = ext and M.EXTENSIONS[ext:lower()]
  if not fmt then
    misuse("export: '%s': the file name must end in .csv, .jsonl or .json (the format)", path)
  end
  local list = items_of("export", v)
  local cols = columns_of("export", columns, list)
  local file, err = term.output_file(path)
  if not file then misuse("export: %s", err) end
  local ok, e = pcall(function()
    local w = output.writer(fmt, file, { columns = cols, order = list[1] and display.api_order(list[1]) })
    w:rows(list)
    w:finish()
  end)
  if ok then ok, e = file:commit() else file:abort() end
  if not ok then misuse("export: cannot write '%s': %s", path, tostring(e)) end
  return #list, fmt
end

return M
