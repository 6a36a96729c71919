local nmap = require "nmap"
local stdnse = require "stdnse"

description = [[
Reports what Cisco CX Cloud knows about each scanned host that is a network element of a
customer: its hostname, product, software version, last date of support (the earliest of
its hardware and software end-of-life bulletins) and the number of security advisories
that name it.

The prerule pulls the customer's inventory and product alerts once (cxcloud, the Lua client
of the CX Cloud API v2, built for nmap's Lua 5.3); the hostrule then matches every scanned
host by IP address. Credentials and endpoints come from the CXCLOUD_* environment
variables (CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET, and optionally CXCLOUD_BASE_URL,
CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE). cxcloud's Lua modules and cxcloud/core.so must be on
LUA_PATH/LUA_CPATH (`make LUA=lua5.3 install`, or see the README).
]]

---
-- @usage
-- CXCLOUD_CLIENT_ID=... CXCLOUD_CLIENT_SECRET=... \
--   nmap -sn --script cxcloud.nse --script-args cxcloud.customer=CUSTOMER_ID 10.0.0.0/24
--
-- @args cxcloud.customer the CX Cloud customer ID whose network elements are reported
--
-- @output
-- Host script results:
-- | cxcloud:
-- |   hostname: fra3-ap0002
-- |   product: C9115AXI-E
-- |   software: IOS-XE 17.12.2
-- |   last date of support: 2027-10-31
-- |_  security advisories: 3

author = "cxcloud"
license = "Same as Nmap--See https://nmap.org/book/man-legal.html"
categories = { "discovery", "safe", "external" }

local REGISTRY_KEY = "cxcloud"

-- what the report pulls: operation, fields, whether it is per customer
local PULLS = {
  { "network_elements", "neInstanceId,hostname,ipAddress,productId,swType,swVersion", true },
  { "hardware", "neInstanceId,hwInstanceId", true },
  { "hardware_eol", "neInstanceId,hwInstanceId,hwEolInstanceId", true },
  { "software_eol", "neInstanceId,swEolInstanceId", true },
  { "security_advisories", "neInstanceId", true },
  { "hardware_eol_bulletins", "hwEolInstanceId,lastDateOfSupport", false },
  { "software_eol_bulletins", "swEolInstanceId,lastDateOfSupport", false },
}

local function earliest(a, b)
  if type(b) ~= "string" or b == "" then return a end
  if a == nil or b < a then return b end
  return a
end

local function key(v)
  return v ~= nil and tostring(v) or nil
end

-- ipAddress -> { hostname, product, software, ldos, advisories }
local function join(lists)
  local by_ne, by_ip, ne_of_hw = {}, {}, {}
  for _, ne in ipairs(lists.network_elements) do
    local r = {
      hostname = ne.hostname, product = ne.productId,
      software = ne.swType and ne.swVersion and (ne.swType .. " " .. ne.swVersion) or ne.swVersion,
      advisories = 0,
    }
    if ne.neInstanceId ~= nil then by_ne[key(ne.neInstanceId)] = r end
    if ne.ipAddress then by_ip[ne.ipAddress] = r end
  end
  for _, hw in ipairs(lists.hardware) do
    if hw.hwInstanceId ~= nil then ne_of_hw[key(hw.hwInstanceId)] = by_ne[key(hw.neInstanceId)] end
  end
  local function dates(bulletins, field)
    local t = {}
    for _, b in ipairs(bulletins) do
      local id = key(b[field])
      if id then t[id] = earliest(t[id], b.lastDateOfSupport) end
    end
    return t
  end
  local hw_ldos = dates(lists.hardware_eol_bulletins, "hwEolInstanceId")
  for _, e in ipairs(lists.hardware_eol) do
    local r = by_ne[key(e.neInstanceId)] or ne_of_hw[key(e.hwInstanceId)]
    if r then r.ldos = earliest(r.ldos, hw_ldos[key(e.hwEolInstanceId)]) end
  end
  local sw_ldos = dates(lists.software_eol_bulletins, "swEolInstanceId")
  for _, e in ipairs(lists.software_eol) do
    local r = by_ne[key(e.neInstanceId)]
    if r then r.ldos = earliest(r.ldos, sw_ldos[key(e.swEolInstanceId)]) end
  end
  for _, a in ipairs(lists.security_advisories) do
    local r = by_ne[key(a.neInstanceId)]
    if r then r.advisories = r.advisories + 1 end
  end
  return by_ip
end

-- The pulls happen in the prerule, once: NSE runs scripts as coroutines and the client
-- blocks in libcurl, so the network work is done before the host phase starts.
local function pull(customer)
  local cxcloud = require "cxcloud"
  local cx = cxcloud.new {}
  local lists = {}
  for _, p in ipairs(PULLS) do
    local params = { fields = p[2] }
    if p[3] then params.customerId = customer end
    local list, err = cx[p[1]](cx, params):all()
    if not list then
      cx:close()
      return nil, p[1] .. ": " .. tostring(err)
    end
    lists[p[1]] = list
  end
  cx:close()
  return join(lists), #lists.network_elements
end

prerule = function()
  return stdnse.get_script_args("cxcloud.customer") ~= nil
end

hostrule = function(host)
  local facts = nmap.registry[REGISTRY_KEY]
  return facts ~= nil and facts[host.ip] ~= nil
end

local function pre_action()
  local customer = stdnse.get_script_args("cxcloud.customer")
  local ok, facts, n = pcall(pull, customer)
  if not ok or not facts then
    return stdnse.format_output(false, "CX Cloud pull failed: " .. tostring(ok and n or facts))
  end
  nmap.registry[REGISTRY_KEY] = facts
  return ("customer %s: %d network elements"):format(customer, n)
end

local function host_action(host)
  local r = nmap.registry[REGISTRY_KEY][host.ip]
  local out = stdnse.output_table()
  out.hostname = r.hostname
  out.product = r.product
  out.software = r.software
  out["last date of support"] = r.ldos or "none announced"
  out["security advisories"] = r.advisories
  return out
end

local ActionsTable = {
  prerule = pre_action,
  hostrule = host_action,
}

action = function(...) return ActionsTable[SCRIPT_TYPE](...) end
