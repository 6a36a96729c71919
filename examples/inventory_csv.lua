#!/usr/bin/env lua5.4
--- Export a customer's hardware inventory to CSV (RFC 4180), every page, in order.
-- Usage: lua5.4 examples/inventory_csv.lua CUSTOMER_ID [OUTPUT.csv]   (default: standard output)
-- Credentials and endpoints: see examples/quickstart.lua.
local cxcloud = require "cxcloud"

local customer_id, path = arg[1], arg[2]
if not customer_id then
  io.stderr:write("usage: inventory_csv.lua CUSTOMER_ID [OUTPUT.csv]\n")
  os.exit(2)
end

local columns = { "serialNumber", "productId", "productFamily", "productType", "hwType", "hwName",
                  "swVersion", "neInstanceId", "hwInstanceId" }

local function csv_field(v)
  if v == nil then return "" end
  v = tostring(v)
  if v:find('[",\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local out = path and assert(io.open(path, "w")) or io.stdout
local cx = cxcloud.new {} -- closed by the garbage collector at exit (or cx:close())
local query = cx:customer(customer_id):hardware { fields = columns }

out:write(table.concat(columns, ","), "\r\n")
local n = 0
local ok, err = pcall(function()
  for item in query do
    local cells = {}
    for i, name in ipairs(columns) do cells[i] = csv_field(item[name]) end
    out:write(table.concat(cells, ","), "\r\n")
    n = n + 1
  end
end)
if out ~= io.stdout then out:close() end
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
io.stderr:write(("%d hardware row(s) written%s\n"):format(n, path and (" to " .. path) or ""))
