--- How the REPL shows values: a list of items as an aligned table, an item as `field = value`
-- lines, a query as its operation and parameters, an error as its one line.
--
-- Columns come in the order a person reads them: names, hostname, product, serial, version,
-- status and dates first (`LEAD`), then the operation's other fields in the API's order, then
-- the columns empty in every row shown, then the identifiers (`neInstanceId`,
-- `hwInstanceId`...), which matter to programs more than to readers. Empty means nil, "",
-- a JSON null or the text "null" (which the API sends for some missing values).
-- @module cxcloud.cli.repl.display

local cxcloud = require "cxcloud"
local output = require "cxcloud.cli.output"

local M = {}

local format, concat, rep = string.format, table.concat, string.rep

--- The fields a person reads first, in this order, whichever operation an item comes from.
M.LEAD = {
  "customerName", "customerId", "city", "country", "hostname", "managementAddress", "hwName",
  "productId", "bulletinProductId", "serialNumber", "swType", "swVersion",
  "advisoryId", "bulletinNumber", "securityImpactRating", "vulnerabilityStatus",
  "vulnerabilityReason", "contractNumber", "contractStatus", "coverageStatus", "serviceLevel",
  "currentHwEolMilestone", "currentHwEolMilestoneDate", "currentSwEolMilestone",
  "currentSwEolMilestoneDate", "lastDateOfSupport", "eoSaleDate", "coverageEndDate",
  "contractEndDate", "bulletinTitle",
}
local LEAD_RANK = {}
for i, k in ipairs(M.LEAD) do LEAD_RANK[k] = i end

-- names ending in "Id" that a person reads (a product, a customer, an advisory)
local NOT_ID = { productId = true, bulletinProductId = true, baseProductId = true,
  collectedProductId = true, customerId = true, advisoryId = true, cveId = true }

--- Is `name` an identifier column (shown after the others)?
-- @tparam string name
-- @treturn boolean
function M.is_id(name)
  if NOT_ID[name] then return false end
  return name:find("[a-z]Id$") ~= nil or name:find("InstanceNumber$") ~= nil
end

local function is_query(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "cxcloud.query"
end
M.is_query = is_query

-- a list of items: a non-empty array part whose elements are all tables
local function is_array_of_tables(t)
  local n = #t
  if n == 0 then return false end
  for i = 1, n do
    if type(t[i]) ~= "table" then return false end
  end
  return true
end
M.is_array_of_tables = is_array_of_tables

--- The fields of the operation that best matches an item's keys (nil when none does).
-- @tparam table item
-- @treturn {string,...}|nil
function M.api_order(item)
  local best, best_n = nil, 0
  for _, op in ipairs(cxcloud.operations) do
    local n = 0
    for _, f in ipairs(op.fields) do
      if item[f] ~= nil then n = n + 1 end
    end
    if n > best_n then best, best_n = op, n end
  end
  if not best then return nil end
  local list = {}
  for i, f in ipairs(best.fields) do list[i] = f end
  return list
end

-- (the API sends the text "null" for some missing values)
local function empty(v)
  return v == nil or v == "" or v == "null" or type(v) == "userdata" -- JSON null sentinels
end

--- The columns of `rows` in reading order (see the module's description).
-- @tparam {table,...} rows
-- @treturn {string,...}
function M.columns(rows)
  local cols = output.columns(rows, rows[1] and M.api_order(rows[1]))
  local rank = {}
  for pos, k in ipairs(cols) do
    local filled = false
    for r = 1, #rows do
      if not empty(rows[r][k]) then filled = true break end
    end
    if LEAD_RANK[k] and filled then rank[k] = LEAD_RANK[k]
    elseif M.is_id(k) then rank[k] = 3e6 + pos
    elseif filled then rank[k] = 1e6 + pos
    else rank[k] = 2e6 + pos end
  end
  table.sort(cols, function(a, b) return rank[a] < rank[b] end)
  return cols
end

local function terminal_width()
  local c = tonumber(os.getenv("COLUMNS") or "")
  if c and c > 0 then return math.tointeger(c) or 80 end
  return require("cxcloud.cli.term").columns()
end
M.terminal_width = terminal_width

--- A list of items as an aligned table fitting `width`: the first `rows` rows, then
-- "... N more" and the count, and the columns that did not fit.
-- @tparam {table,...} list
-- @tparam[opt] integer width (default: the terminal's)
-- @tparam[opt] {string,...} columns (default: every field, in reading order)
-- @tparam[opt=20] integer rows
-- @treturn string
function M.show_list(list, width, columns, rows)
  width = width or terminal_width()
  local shown = {}
  for i = 1, math.min(#list, rows or 20) do shown[i] = list[i] end
  columns = columns or M.columns(shown)
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
    tail[#tail] = tail[#tail] .. format("; %d more column%s: ", #rest, #rest == 1 and "" or "s")
    -- the names that fit on the line (at least one)
    local room = width - #concat(tail, " ") - 1
    local names = concat(rest, ", ")
    if #names > room then names = names:sub(1, math.max(10, room - 3)) .. "..." end
    tail[#tail] = tail[#tail] .. names
  end
  tail[#tail] = tail[#tail] .. ")"
  lines[#lines + 1] = concat(tail, " ")
  return concat(lines, "\n")
end

--- An item as `field = value` lines, aligned, in reading order.
-- @tparam table item
-- @tparam[opt] integer width
-- @tparam[opt] {string,...} columns (default: every field)
-- @treturn string
function M.show_item(item, width, columns)
  width = width or terminal_width()
  local keys = {}
  if columns then
    for i, k in ipairs(columns) do keys[i] = k end
  else
    for i = 1, #item do keys[i] = i end
    for _, k in ipairs(M.columns({ item })) do keys[#keys + 1] = k end
  end
  local w = 0
  for _, k in ipairs(keys) do w = math.max(w, output.width(tostring(k))) end
  local lines = {}
  for _, k in ipairs(keys) do
    local v = item[k]
    local text = type(v) == "string" and format("%q", v):gsub("\\\n", "\\n") or output.text(v)
    if type(v) == "table" then text = output.json(v) end
    if v == nil then text = "nil" end
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
-- @tparam[opt=20] integer rows rows of a list shown
-- @treturn string
function M.show(v, rows)
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
      return M.show_list(list, nil, nil, rows)
    end
    return M.show_item(v)
  end
  return tostring(v)
end

return M
