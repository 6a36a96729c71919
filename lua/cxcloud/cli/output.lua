--- Output for the command line and the REPL: values as text, JSON, CSV (RFC 4180),
-- aligned tables, and record writers that stream rows in four formats to a sink.
--
--    local w = output.writer("csv", io.stdout, { order = op.fields })
--    w:rows(page)        -- as pages arrive; the columns come from the first rows
--    w:finish()
--
-- A spool holds records in a temporary file until they are written whole (`w:commit`) or
-- dropped (`w:discard`): one customer's records among several, say.
--
-- Nothing here touches the network.
-- @module cxcloud.cli.output

local M = {}

local format, gsub, rep, find = string.format, string.gsub, string.rep, string.find
local concat, sort = table.concat, table.sort
local mtype = math.type

--- The formats a writer accepts.
M.FORMATS = { "table", "csv", "jsonl", "json" }

-- -----------------------------------------------------------------------------
-- scalars and JSON

local function number_text(v)
  if mtype(v) == "integer" then return format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  for p = 14, 17 do
    local s = format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return format("%.17g", v)
end

local JSON_ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                   ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_char(c)
  return JSON_ESC[c] or format("\\u%04x", c:byte())
end

local function json_string(s)
  if not find(s, '[%c"\\]') then return '"' .. s .. '"' end
  return '"' .. gsub(s, '[%c"\\]', json_char) .. '"'
end

-- keys of a table in a stable order: `order` first (those present), then the rest sorted
local function ordered_keys(t, order)
  local keys, seen = {}, {}
  if order then
    for i = 1, #order do
      local k = order[i]
      if t[k] ~= nil then keys[#keys + 1] = k; seen[k] = true end
    end
  end
  local rest = {}
  for k in pairs(t) do
    if not seen[k] then rest[#rest + 1] = k end
  end
  sort(rest, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "string" or ta == "number" then return a < b end
    return tostring(a) < tostring(b)
  end)
  for i = 1, #rest do keys[#keys + 1] = rest[i] end
  return keys
end

local function is_array(t)
  local n = #t
  if n == 0 then
    local iter, state, first = pairs(t) -- honours __pairs (read-only views)
    return iter(state, first) == nil
  end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local encode
--- JSON text of a value. Objects keep the keys of `order` first, then the others
-- sorted; an empty table is `[]`; `nil`, JSON-null sentinels and functions are `null`.
-- @param v any value
-- @tparam[opt] table order field names to put first (top level only)
-- @treturn string
function M.json(v, order)
  return encode(v, order, 0)
end

encode = function(v, order, depth)
  local t = type(v)
  if t == "string" then return json_string(v) end
  if t == "number" then return number_text(v) end
  if t == "boolean" then return v and "true" or "false" end
  if t ~= "table" or depth > 100 then return "null" end
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[i] = encode(v[i], nil, depth + 1) end
    return "[" .. concat(parts, ",") .. "]"
  end
  local keys = ordered_keys(v, order)
  for i = 1, #keys do
    local k = keys[i]
    parts[i] = json_string(tostring(k)) .. ":" .. encode(v[k], nil, depth + 1)
  end
  return "{" .. concat(parts, ",") .. "}"
end

-- An item as a JSON object with the keys of the cache when it has exactly those (items of
-- one operation mostly do), else with its own ordered keys (then cached).
local function json_item(row, order, cache)
  local keys, quoted = cache.keys, cache.quoted
  local same = keys ~= nil
  if same then
    local n = 0
    for _ in pairs(row) do n = n + 1 end
    if n ~= #keys then
      same = false
    else
      for i = 1, n do
        if row[keys[i]] == nil then same = false break end
      end
    end
  end
  if not same then
    keys, quoted = ordered_keys(row, order), {}
    for i = 1, #keys do quoted[i] = json_string(tostring(keys[i])) .. ":" end
    cache.keys, cache.quoted = keys, quoted
  end
  local parts = { "{" }
  for i = 1, #keys do
    local v = row[keys[i]]
    parts[2 * i] = i == 1 and quoted[i] or ("," .. quoted[i])
    if type(v) == "string" and not find(v, '[%c"\\]') then
      parts[2 * i + 1] = '"' .. v .. '"'
    else
      parts[2 * i + 1] = encode(v, nil, 1)
    end
  end
  parts[#parts + 1] = "}"
  return concat(parts)
end

--- A value as one cell of text: strings as they are, numbers exactly, booleans as
-- true/false, nil and JSON-null sentinels as "", tables as JSON text.
-- @param v
-- @treturn string
function M.text(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return number_text(v) end
  if t == "boolean" then return v and "true" or "false" end
  if t == "table" then return M.json(v) end
  return ""
end

--- One RFC 4180 field: quoted when it holds a quote, comma, CR or LF (quotes doubled).
-- @param v
-- @treturn string
function M.csv_field(v)
  local s = M.text(v)
  if s:find('[",\r\n]') then s = '"' .. gsub(s, '"', '""') .. '"' end
  return s
end

--- One CSV record (with its CRLF). JSON null and the string "null" (which the API sends
-- for a missing value) are empty cells.
-- @tparam table row
-- @tparam {string,...} columns
-- @treturn string
function M.csv_record(row, columns)
  local cells = {}
  for i = 1, #columns do
    local v = row[columns[i]]
    if v == "null" then
      cells[i] = ""
    elseif type(v) == "string" and not find(v, '[",\r\n]') then
      cells[i] = v
    elseif mtype(v) == "integer" then
      cells[i] = format("%d", v)
    else
      cells[i] = M.csv_field(v)
    end
  end
  return concat(cells, ",") .. "\r\n"
end

--- The CSV header record (with its CRLF).
-- @tparam {string,...} columns
-- @treturn string
function M.csv_header(columns)
  local cells = {}
  for i = 1, #columns do cells[i] = M.csv_field(columns[i]) end
  return concat(cells, ",") .. "\r\n"
end

--- Split one CSV header line (as written by this module) into names.
-- @tparam string line
-- @treturn {string,...}
function M.csv_parse_line(line)
  line = line:gsub("\r?\n$", "")
  local out, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local j, buf = i + 1, {}
      while j <= n do
        local c = line:sub(j, j)
        if c == '"' then
          if line:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; j = j + 2
          else j = j + 1 break end
        else buf[#buf + 1] = c; j = j + 1 end
      end
      out[#out + 1] = concat(buf)
      i = j + 1
    else
      local j = line:find(",", i, true) or n + 1
      out[#out + 1] = line:sub(i, j - 1)
      i = j + 1
    end
  end
  return out
end

-- -----------------------------------------------------------------------------
-- aligned tables

-- display width of a string: UTF-8 characters (bytes when it is not valid UTF-8)
local function width(s)
  return utf8.len(s) or #s
end

-- s cut to w display characters, with "…" when cut; padded with spaces to w
local function fit(s, w)
  local n = width(s)
  if n > w then
    if w <= 1 then return rep(".", w) end
    local cut
    if utf8.len(s) then
      cut = s:sub(1, utf8.offset(s, w) - 1)
    else
      cut = s:sub(1, w - 1)
    end
    return cut .. "…"
  end
  return s .. rep(" ", w - n)
end
M.width, M.fit = width, fit

-- a cell for a table: one line, control characters shown as spaces
local function cell(v)
  local t = M.text(v)
  if not find(t, "%c") then return t end
  return (gsub(t, "%c", " "))
end

--- Column widths for rows under a width limit: each column as wide as its widest cell
-- (at most `cap`); then as many whole columns, from the left, as fit in `limit`, and the
-- next one cut to the room left when that is at least 8 characters.
-- @tparam {table,...} rows
-- @tparam {string,...} columns
-- @tparam[opt] integer limit total line width (nil: no limit)
-- @tparam[opt=40] integer cap widest column
-- @treturn {integer,...} widths, one per shown column
-- @treturn integer how many columns are shown
function M.widths(rows, columns, limit, cap)
  cap = cap or 40
  local ws = {}
  for c = 1, #columns do
    local w = width(columns[c])
    for r = 1, #rows do
      local n = width(cell(rows[r][columns[c]]))
      if n > w then w = n end
    end
    ws[c] = math.min(w, math.max(cap, width(columns[c])))
  end
  if not limit then return ws, #columns end
  local used, shown = 0, 0
  for c = 1, #columns do
    local need = ws[c] + (c > 1 and 2 or 0)
    if used + need > limit then
      local room = limit - used - (c > 1 and 2 or 0)
      if c == 1 then ws[1], shown = math.max(1, room), 1
      elseif room >= 8 then ws[c], shown = room, c end
      break
    end
    used, shown = used + need, c
  end
  return ws, shown
end

--- One line of an aligned table.
-- @tparam table row
-- @tparam {string,...} columns
-- @tparam {integer,...} ws widths
-- @tparam integer shown columns shown
-- @treturn string
function M.table_line(row, columns, ws, shown)
  local cells = {}
  for c = 1, shown do cells[c] = fit(cell(row[columns[c]]), ws[c]) end
  return (concat(cells, "  "):gsub("%s+$", ""))
end

--- The header line and its underline of an aligned table.
function M.table_header(columns, ws, shown)
  local names, rules = {}, {}
  for c = 1, shown do
    names[c] = fit(columns[c], ws[c])
    rules[c] = rep("-", ws[c])
  end
  return (concat(names, "  "):gsub("%s+$", "")), concat(rules, "  ")
end

--- Columns for rows: `order` names first (those some row has), then the others sorted;
-- `first` names always lead.
-- @tparam {table,...} rows
-- @tparam[opt] {string,...} order
-- @tparam[opt] {string,...} first
-- @treturn {string,...}
function M.columns(rows, order, first)
  local present = {}
  for r = 1, #rows do
    for k in pairs(rows[r]) do
      if type(k) == "string" then present[k] = true end
    end
  end
  local out, seen = {}, {}
  local function add(k)
    if not seen[k] then seen[k] = true; out[#out + 1] = k end
  end
  for _, k in ipairs(first or {}) do add(k) end
  for _, k in ipairs(order or {}) do
    if present[k] then add(k) end
  end
  local rest = {}
  for k in pairs(present) do
    if not seen[k] then rest[#rest + 1] = k end
  end
  sort(rest)
  for _, k in ipairs(rest) do add(k) end
  return out
end

-- -----------------------------------------------------------------------------
-- writers

local Writer = {}
Writer.__index = Writer

--- A record writer.
-- @tparam string fmt "table", "csv", "jsonl" or "json"
-- @param sink anything with `write(self, ...)`
-- @tparam[opt] table opts `columns` (fixed list), `order` (field order to prefer),
--   `first` (fields that lead, e.g. {"customerId"}), `header` (false: no CSV header),
--   `width` (table: the terminal's width), `empty_columns` (the header of a CSV without
--   records, when `columns` is not given)
-- @treturn table writer with `rows(list[, spool])`, `spool()`, `commit(spool)`,
--   `discard(spool)`, `finish()`, `count` (records written to the sink)
function M.writer(fmt, sink, opts)
  opts = opts or {}
  return setmetatable({
    fmt = fmt, sink = sink, columns = opts.columns, order = opts.order, first = opts.first,
    header = opts.header ~= false, width = opts.width, empty_columns = opts.empty_columns,
    count = 0,
    started = false, -- the columns (and a table's widths) are set, from the first records
    opened = false,  -- the header (or a JSON array's bracket) is on the sink
  }, Writer)
end

function Writer:_start(list)
  self.started = true
  if not self.columns and self.fmt ~= "jsonl" and self.fmt ~= "json" then
    self.columns = M.columns(list, self.order, self.first)
  end
  if self.fmt == "table" then self.ws, self.shown = M.widths(list, self.columns, self.width) end
end

function Writer:_open()
  self.opened = true
  if self.fmt == "csv" then
    if self.header then self.sink:write(M.csv_header(self.columns)) end
  elseif self.fmt == "table" then
    local h, rule = M.table_header(self.columns, self.ws, self.shown)
    self.sink:write(h, "\n", rule, "\n")
  elseif self.fmt == "json" then
    self.sink:write("[")
  end
end

-- the records of `list` as text, one string each (json: without the separators, which
-- depend on what the sink already has)
function Writer:_format(list)
  local out, fmt, cols = {}, self.fmt, self.columns
  for i = 1, #list do
    local row = list[i]
    if fmt == "jsonl" or fmt == "json" then
      out[i] = json_item(row, cols or self.order, self)
    elseif fmt == "csv" then
      out[i] = M.csv_record(row, cols)
    else
      out[i] = M.table_line(row, cols, self.ws, self.shown)
    end
  end
  return out
end

-- records (as `_format` makes them) onto the sink
function Writer:_emit(recs)
  if not self.opened then self:_open() end
  local fmt, n = self.fmt, #recs
  if fmt == "json" then
    for i = 1, n do recs[i] = (self.count + i > 1 and ",\n" or "\n") .. recs[i] end
    self.sink:write(concat(recs))
  elseif fmt == "csv" then
    self.sink:write(concat(recs))
  else
    self.sink:write(concat(recs, "\n"), "\n")
  end
  self.count = self.count + n
end

--- Write a batch of records (a page), to the sink or, given one, to a spool.
-- @tparam {table,...} list
-- @tparam[opt] table spool from `spool()`
function Writer:rows(list, spool)
  if #list == 0 then return end
  if not self.started then self:_start(list) end
  local recs = self:_format(list)
  if not spool then return self:_emit(recs) end
  -- one record per line (a csv record's own line breaks are quoted: it goes back whole)
  local sep = self.fmt == "csv" and "" or "\n"
  local ok, err = spool.f:write(concat(recs, sep), sep)
  if not ok then error(format("cannot write a temporary file: %s", tostring(err)), 0) end
  spool.count = spool.count + #recs
end

--- A spool: records held in a temporary file (removed when closed, or when the process
-- ends) until `commit` or `discard`.
-- @treturn table
function Writer:spool() -- luacheck: no self
  local f, err = io.tmpfile()
  if not f then error(format("cannot make a temporary file: %s", tostring(err)), 0) end
  return { f = f, count = 0 }
end

--- Write a spool's records to the sink (after the header when they are the first), and
-- close it.
-- @tparam table spool
function Writer:commit(spool)
  local f = spool.f
  spool.f = nil
  if spool.count > 0 then
    f:seek("set")
    if self.fmt == "csv" then
      if not self.opened then self:_open() end
      while true do
        local chunk = f:read(65536)
        if not chunk then break end
        self.sink:write(chunk)
      end
      self.count = self.count + spool.count
    else
      local batch = {}
      for line in f:lines() do
        batch[#batch + 1] = line
        if #batch == 256 then self:_emit(batch); batch = {} end
      end
      if #batch > 0 then self:_emit(batch) end
    end
  end
  f:close()
end

--- Drop a spool's records.
-- @tparam table spool
function Writer:discard(spool) -- luacheck: no self
  if spool.f then spool.f:close() end
  spool.f = nil
end

--- End the output: the closing bracket of json; for a csv without records, its header
-- when the columns are known (`columns`, else `empty_columns`).
function Writer:finish()
  if not self.opened then
    if self.fmt == "json" then self.sink:write("[]\n") return end
    local columns = self.columns or self.empty_columns
    if self.fmt == "csv" and self.header and columns then
      self.sink:write(M.csv_header(columns))
    end
    return
  end
  if self.fmt == "json" then self.sink:write("\n]\n") end
  if self.fmt == "table" and self.shown < #self.columns then
    self.sink:write(format("(%d more column(s) not shown: use --fields or another --format)\n",
      #self.columns - self.shown))
  end
end

return M
