#!/usr/bin/env lua5.4
--- Quick start: authenticate and list the CX Cloud customers these credentials can see.
-- Credentials and endpoints come from the environment:
--   CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET (required)
--   CXCLOUD_BASE_URL, CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE (optional; default: the real service)
-- Usage: lua5.4 examples/quickstart.lua
local cxcloud = require "cxcloud"

local cx = cxcloud.new {} -- closed by the garbage collector at exit (or cx:close())

local token, expires_at = cx:token()
if not token then -- expires_at is the error object; its tostring is one line
  io.stderr:write(tostring(expires_at), "\n")
  os.exit(1)
end
print(("Authenticated; the token is valid until %s"):format(os.date("!%Y-%m-%d %H:%M:%S UTC", expires_at)))

local rows = {}
for customer in cx:customers() do
  rows[#rows + 1] = { customer.customerId or "", customer.customerName or "",
                      customer.city or "", customer.country or "", customer.theaterCode or "" }
end

-- characters on screen: utf8.len on Lua 5.3+; elsewhere the bytes that start a character
local function width(s)
  if utf8 then return utf8.len(s) or #s end
  return select(2, s:gsub("[^\128-\191]", ""))
end

local header = { "Customer ID", "Name", "City", "Country", "Theater" }
local widths = {}
for i, title in ipairs(header) do
  widths[i] = #title
  for _, row in ipairs(rows) do widths[i] = math.max(widths[i], width(row[i])) end
end
local function line(cells)
  local out = {}
  for i, cell in ipairs(cells) do
    out[i] = cell .. string.rep(" ", widths[i] - width(cell))
  end
  print(table.concat(out, "  "))
end
line(header)
local rule = {}
for i, w in ipairs(widths) do rule[i] = string.rep("-", w) end
line(rule)
for _, row in ipairs(rows) do line(row) end
print(("%d customer(s)"):format(#rows))
