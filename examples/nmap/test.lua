-- `make test-nmap`: Debian's nmap (Lua 5.3 inside) runs examples/nmap/cxcloud.nse against
-- a sandbox whose network elements have loopback addresses, with `-sn -Pn -n` on
-- 127.0.0.1-20 only. The sandbox has four customers; the credentials see three of them, and
-- the third one's pulls are refused (403). Checks, against the sandbox's own data:
--  * one customer: the pre-scan line and, for every element of the customer, the facts the
--    script prints; a host that is no element gets no cxcloud output;
--  * no customer: a line that says so and lists the customers the credentials see;
--  * an unknown customer (one the credentials do not see): a line that says so;
--  * several customers in one run ('cxcloud.customer={A,B,...}'): a line each (network
--    elements, refused, unknown), and every element of both pulled customers with its facts
--    under its customer's ID;
--  * cxcloud.customer=A,B (B taken by nmap as an argument of its own): a line that says so.
--
-- Usage: lua5.4 examples/nmap/test.lua LUA_CPATH_DIR   (the dir that holds cxcloud/core.so
--        built for Lua 5.3)

local sandbox = require "cxcloud.sandbox"

local cpath_dir = assert(arg[1], "usage: test.lua DIR_WITH_cxcloud/core.so")
local root = debug.getinfo(1, "S").source:match("^@(.*)/examples/nmap/[^/]*$") or "."
local failures, checks = 0, 0

local shell_quote = require("cxcloud.shell").quote

local function check(ok, what, detail)
  checks = checks + 1
  if ok then
    print("ok     " .. what)
  else
    failures = failures + 1
    print("FAILED " .. what .. (detail and ("\n" .. detail) or ""))
  end
end

local function has(s, text) return s:find(text, 1, true) ~= nil end

local sb = sandbox.start { seed = 7, customers = 4, entitled = { 1, 2, 3 }, hardware = 40, ip_net = 127 }
local ids = sb.all_customers
local refused, unknown = ids[3], ids[4]
sb:faults { { op = "network_elements", customerId = refused, status = 403, times = -1,
  body = '{"status": 403, "message": "Customer Id is not associated with the caller: ' .. refused .. '"}' } }

local env = {
  "LUA_PATH=" .. shell_quote(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"),
  "LUA_CPATH=" .. shell_quote(cpath_dir .. "/?.so;;"),
}
for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end

-- nmap's output with these script arguments (nil: none), and whether it exited 0
local function nmap(script_args)
  local cmd = ("env %s nmap -sn -Pn -n --script %s %s 127.0.0.1-20 2>&1"):format(table.concat(env, " "),
    shell_quote(root .. "/examples/nmap/cxcloud.nse"),
    script_args and ("--script-args " .. shell_quote(script_args)) or "")
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  return out, p:close()
end

-- the report block nmap printed for one address
local function block(out, ip)
  return out:match("Nmap scan report for " .. ip:gsub("%.", "%%.") .. "\n(.-)\nNmap ") or ""
end

-- the expected facts, from the sandbox's data
local function earliest(a, b)
  if type(b) ~= "string" or b == "" then return a end
  if a == nil or b < a then return b end
  return a
end
local function ldos_by(op, field)
  local t = {}
  for _, b in ipairs(sb:truth(op)) do
    local id = tostring(b[field])
    t[id] = earliest(t[id], b.lastDateOfSupport)
  end
  return t
end
local hw_ldos = ldos_by("hardware_eol_bulletins", "hwEolInstanceId")
local sw_ldos = ldos_by("software_eol_bulletins", "swEolInstanceId")

-- the scanned elements of customer index ci, each with the lines nmap should print for it
local function expected(ci)
  local ne_of_hw = {}
  for _, hw in ipairs(sb:truth("hardware", ci)) do
    ne_of_hw[tostring(hw.hwInstanceId)] = tostring(hw.neInstanceId)
  end
  local list = {}
  for _, ne in ipairs(sb:truth("network_elements", ci)) do
    local n = tonumber(ne.ipAddress:match("^127%.0%.0%.(%d+)$"))
    if n and n <= 20 then
      local id = tostring(ne.neInstanceId)
      local ldos
      for _, e in ipairs(sb:truth("hardware_eol", ci)) do
        if tostring(e.neInstanceId) == id or ne_of_hw[tostring(e.hwInstanceId)] == id then
          ldos = earliest(ldos, hw_ldos[tostring(e.hwEolInstanceId)])
        end
      end
      for _, e in ipairs(sb:truth("software_eol", ci, { neInstanceId = ne.neInstanceId })) do
        ldos = earliest(ldos, sw_ldos[tostring(e.swEolInstanceId)])
      end
      local advisories = #sb:truth("security_advisories", ci, { neInstanceId = ne.neInstanceId })
      list[#list + 1] = {
        ne = ne, ldos = ldos, advisories = advisories,
        lines = {
          "hostname: " .. ne.hostname, "product: " .. ne.productId,
          "software: " .. ne.swType .. " " .. ne.swVersion,
          "last date of support: " .. (ldos or "none announced"),
          "security advisories: " .. advisories,
        },
      }
    end
  end
  return list
end

-- the lines of `want` missing from `text`, joined
local function missing_lines(text, want)
  local missing = {}
  for _, line in ipairs(want) do
    if not has(text, line) then missing[#missing + 1] = line end
  end
  return table.concat(missing, "; ")
end

-- 1. one customer
local out, ok = nmap("cxcloud.customer=" .. ids[1])
check(ok, "one customer: nmap exits 0", out)
local n1 = #sb:truth("network_elements", 1)
check(has(out, "|_cxcloud: customer " .. ids[1] .. ": " .. n1 .. " network elements"),
  "one customer: one pull of the customer's " .. n1 .. " network elements", out)
local scanned = expected(1)
for _, e in ipairs(scanned) do
  local b = block(out, e.ne.ipAddress)
  local miss = missing_lines(b, e.lines)
  check(miss == "" and not has(b, "customer"),
    ("%s (%s): hostname, product, software, last date of support %s, %d advisories")
      :format(e.ne.ipAddress, e.ne.hostname, tostring(e.ldos), e.advisories),
    "missing: " .. miss .. "\nin:\n" .. b)
end
check(#scanned > 0, "the scanned range holds network elements (" .. #scanned .. ")")
check(not has(block(out, "127.0.0.1"), "cxcloud"), "127.0.0.1 (no network element): no cxcloud output",
  block(out, "127.0.0.1"))

-- 2. no customer
out, ok = nmap(nil)
local want = {
  "no customer given: --script-args cxcloud.customer=ID, or 'cxcloud.customer={ID1,ID2}' for several",
  "these credentials see 3 customers:", ids[1], ids[2], ids[3] }
local miss = missing_lines(out, want)
check(ok and miss == "" and not has(out, unknown) and not has(out, "Host script results"),
  "no customer: a line that says how to give one, and the 3 customers the credentials see",
  "missing: " .. miss .. "\nin:\n" .. out)

-- 3. an unknown customer
out, ok = nmap("cxcloud.customer=" .. unknown)
check(ok and has(out, ("|_cxcloud: customer %s: unknown: not one of the 3 customers these credentials"
    .. " see (%s, %s, %s)"):format(unknown, ids[1], ids[2], ids[3])) and not has(out, "Host script results"),
  "an unknown customer: a line that says so", out)

-- 4. several customers in one run: two pulled, one refused, one unknown
out, ok = nmap(("cxcloud.customer={%s,%s,%s,%s}"):format(ids[1], ids[2], refused, unknown))
check(ok, "several customers: nmap exits 0", out)
local n2 = #sb:truth("network_elements", 2)
want = {
  ("|   customer %s: %d network elements\n"):format(ids[1], n1),
  ("|   customer %s: %d network elements\n"):format(ids[2], n2),
  ("|   customer %s: refused by CX Cloud (403 Forbidden): Customer Id is not associated with the"
    .. " caller: %s\n"):format(refused, refused),
  ("|_  customer %s: unknown: not one of the 3 customers these credentials see"):format(unknown),
}
miss = missing_lines(out, want)
check(miss == "", "several customers: a line each, in order: " .. n1 .. " and " .. n2
  .. " network elements, refused (403), unknown", "missing: " .. miss .. "\nin:\n" .. out)
-- each element's facts in its customer's part of its block: under "customer ID:" where
-- both customers have an element at the address, after "customer: ID" where one has
local elements, shared = 0, 0
for ci = 1, 2 do
  for _, e in ipairs(expected(ci)) do
    local b = block(out, e.ne.ipAddress)
    local part = b:match("\n|   customer " .. ids[ci] .. ": \n(.-)\n|   customer ")
      or b:match("\n|   customer " .. ids[ci] .. ": \n(.*)$")
    if part then
      shared = shared + 1
    elseif has(b, "|   customer: " .. ids[ci] .. "\n") then
      part = b
    end
    miss = missing_lines(part or "", e.lines)
    elements = elements + 1
    check(part and miss == "", ("several customers: %s (%s) under customer %s"):format(e.ne.ipAddress,
      e.ne.hostname, ids[ci]), "missing: " .. miss .. "\nin:\n" .. b)
  end
end
check(elements > 0 and shared > 0, ("several customers: %d elements of the two customers, %d at an"
  .. " address both use"):format(elements, shared))

-- 5. cxcloud.customer=A,B: nmap takes B as an argument of its own
out, ok = nmap(("cxcloud.customer=%s,%s"):format(unknown, ids[2]))
check(ok and has(out, ("%s is a customer too, but nmap took it as an argument of its own: write"
    .. " 'cxcloud.customer={%s,%s}' for both"):format(ids[2], unknown, ids[2])),
  "cxcloud.customer=A,B: a line that says how to write several", out)

sb:stop()
-- the summary line .ci/run counts, in busted's words
print(("%d successes / %d failures / 0 errors / 0 pending"):format(checks - failures, failures))
os.exit(failures == 0 and 0 or 1)
