-- `make test-nmap`: Debian's nmap (Lua 5.3 inside) runs examples/nmap/cxcloud.nse against
-- a sandbox whose network elements have loopback addresses, with `-sn -Pn -n` on
-- 127.0.0.1-20 only. Checks the pre-scan line and, for every element of the customer,
-- the facts the script prints, against the sandbox's own data; and that a host that is
-- no element gets no cxcloud output.
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

local sb = sandbox.start { seed = 7, customers = 2, hardware = 40, ip_net = 127 }
local customer = sb.customers[1]

local env = {
  "LUA_PATH=" .. shell_quote(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"),
  "LUA_CPATH=" .. shell_quote(cpath_dir .. "/?.so;;"),
}
for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
local cmd = ("env %s nmap -sn -Pn -n --script %s --script-args cxcloud.customer=%s 127.0.0.1-20 2>&1")
  :format(table.concat(env, " "), shell_quote(root .. "/examples/nmap/cxcloud.nse"), customer)
local p = assert(io.popen(cmd, "r"))
local out = p:read("*a")
local ok = p:close()
check(ok, "nmap exits 0", out)

local elements = sb:truth("network_elements", 1)
check(out:find("cxcloud: customer " .. customer .. ": " .. #elements .. " network elements", 1, true),
  "pre-scan: one pull of the customer's " .. #elements .. " network elements", out)

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
local ne_of_hw = {}
for _, hw in ipairs(sb:truth("hardware", 1)) do
  ne_of_hw[tostring(hw.hwInstanceId)] = tostring(hw.neInstanceId)
end

-- the report block nmap printed for one address
local function block(ip)
  local s = out:match("Nmap scan report for " .. ip:gsub("%.", "%%.") .. "\n(.-)\nNmap ")
  return s or ""
end

local scanned = 0
for _, ne in ipairs(elements) do
  local n = tonumber(ne.ipAddress:match("^127%.0%.0%.(%d+)$"))
  if n and n <= 20 then
    scanned = scanned + 1
    local id = tostring(ne.neInstanceId)
    local ldos
    for _, e in ipairs(sb:truth("hardware_eol", 1)) do
      if tostring(e.neInstanceId) == id or ne_of_hw[tostring(e.hwInstanceId)] == id then
        ldos = earliest(ldos, hw_ldos[tostring(e.hwEolInstanceId)])
      end
    end
    for _, e in ipairs(sb:truth("software_eol", 1, { neInstanceId = ne.neInstanceId })) do
      ldos = earliest(ldos, sw_ldos[tostring(e.swEolInstanceId)])
    end
    local advisories = #sb:truth("security_advisories", 1, { neInstanceId = ne.neInstanceId })
    local b = block(ne.ipAddress)
    local want = {
      "hostname: " .. ne.hostname, "product: " .. ne.productId,
      "software: " .. ne.swType .. " " .. ne.swVersion,
      "last date of support: " .. (ldos or "none announced"),
      "security advisories: " .. advisories,
    }
    local missing = {}
    for _, line in ipairs(want) do
      if not b:find(line, 1, true) then missing[#missing + 1] = line end
    end
    check(#missing == 0, ("%s (%s): hostname, product, software, last date of support %s, %d advisories")
      :format(ne.ipAddress, ne.hostname, tostring(ldos), advisories),
      "missing: " .. table.concat(missing, "; ") .. "\nin:\n" .. b)
  end
end
check(scanned > 0, "the scanned range holds network elements (" .. scanned .. ")")
check(not block("127.0.0.1"):find("cxcloud", 1, true), "127.0.0.1 (no network element): no cxcloud output",
  block("127.0.0.1"))

sb:stop()
-- the summary line .ci/run counts, in busted's words
print(("%d successes / %d failures / 0 errors / 0 pending"):format(checks - failures, failures))
os.exit(failures == 0 and 0 or 1)
