local nmap = require "nmap"
local stdnse = require "stdnse"

description = [[
Reports what Cisco CX Cloud knows about each scanned host that is a network element of a
customer: its hostname, product, software version, last date of support (the earliest of
its hardware and software end-of-life bulletins) and the number of security advisories
that name it.

The prerule checks the customers against those the credentials see, then pulls each one's
inventory and product alerts once (cxcloud, the Lua client of the CX Cloud API v2, built for
nmap's Lua 5.3); the hostrule then matches every scanned host by IP address. The pre-scan
output has a line per customer: its number of network elements, or why there is nothing for
it (unknown to these credentials, refused by CX Cloud, a failed pull); without
cxcloud.customer it says so and lists the customers the credentials see. Credentials and
endpoints come from the CXCLOUD_* environment variables (CXCLOUD_CLIENT_ID,
CXCLOUD_CLIENT_SECRET, and optionally CXCLOUD_BASE_URL, CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE).
cxcloud's Lua modules and its C core built for Lua 5.3 must be on LUA_PATH/LUA_CPATH
(`make LUA=lua5.3 install`, or the paths `make LUA=lua5.3` prints).
]]

---
-- @usage
-- CXCLOUD_CLIENT_ID=... CXCLOUD_CLIENT_SECRET=... \
--   nmap -sn --script cxcloud.nse --script-args cxcloud.customer=CUSTOMER_ID 10.0.0.0/24
-- nmap -sn --script cxcloud.nse --script-args 'cxcloud.customer={CUSTOMER_ID,OTHER_ID}' 10.0.0.0/24
--
-- @args cxcloud.customer the CX Cloud customer ID whose network elements are reported, or
--       several in NSE's list syntax, quoted for the shell: 'cxcloud.customer={ID1,ID2}'
--       (cxcloud.customer=ID1,ID2 would make ID2 an argument of its own, and a repeated
--       cxcloud.customer keeps only the last)
--
-- @output
-- Pre-scan script results:
-- |_cxcloud: customer OE0t4mPh4gEWIQE: 9 network elements
-- Host script results:
-- | cxcloud:
-- |   hostname: fra3-ap0002
-- |   product: C9115AXI-E
-- |   software: IOS-XE 17.12.2
-- |   last date of support: 2027-10-31
-- |_  security advisories: 3
--
-- With several customers, a line each, and a host's facts name their customer:
-- Pre-scan script results:
-- | cxcloud:
-- |   customer OE0t4mPh4gEWIQE: 9 network elements
-- |   customer Y1LOSbBnJ6Ax914: 7 network elements
-- |_  customer Xk93LmQ2Rt7vPaZ: unknown: not one of the 2 customers these credentials see
--     (OE0t4mPh4gEWIQE, Y1LOSbBnJ6Ax914)
-- Host script results:
-- | cxcloud:
-- |   customer: OE0t4mPh4gEWIQE
-- |   hostname: fra3-ap0002
-- ...

author = "cxcloud"
license = "Same as Nmap--See https://nmap.org/book/man-legal.html"
categories = { "discovery", "safe", "external" }

local REGISTRY_KEY = "cxcloud"
local USAGE = "--script-args cxcloud.customer=ID, or 'cxcloud.customer={ID1,ID2}' for several"
-- customer IDs named in a line about an unknown one, and listed when none is given
local NAMED, LISTED = 5, 20

-- what the report pulls for each customer: operation, fields
local PER_CUSTOMER = {
  { "network_elements", "neInstanceId,hostname,ipAddress,productId,swType,swVersion" },
  { "hardware", "neInstanceId,hwInstanceId" },
  { "hardware_eol", "neInstanceId,hwInstanceId,hwEolInstanceId" },
  { "software_eol", "neInstanceId,swEolInstanceId" },
  { "security_advisories", "neInstanceId" },
}
-- and once, for every customer: the bulletins' catalogue
local BULLETINS = {
  { "hardware_eol_bulletins", "hwEolInstanceId,lastDateOfSupport" },
  { "software_eol_bulletins", "swEolInstanceId,lastDateOfSupport" },
}

local function earliest(a, b)
  if type(b) ~= "string" or b == "" then return a end
  if a == nil or b < a then return b end
  return a
end

local function key(v)
  return v ~= nil and tostring(v) or nil
end

-- bulletin ID -> its earliest last date of support
local function dates(bulletins, field)
  local t = {}
  for _, b in ipairs(bulletins) do
    local id = key(b[field])
    if id then t[id] = earliest(t[id], b.lastDateOfSupport) end
  end
  return t
end

-- Adds one customer's network elements to hosts: ipAddress -> array of { customer, hostname,
-- product, software, ldos, advisories } (customers may share private addresses).
local function join(hosts, customer, lists, ldos)
  local by_ne, ne_of_hw = {}, {}
  for _, ne in ipairs(lists.network_elements) do
    local r = {
      customer = customer, hostname = ne.hostname, product = ne.productId,
      software = ne.swType and ne.swVersion and (ne.swType .. " " .. ne.swVersion) or ne.swVersion,
      advisories = 0,
    }
    if ne.neInstanceId ~= nil then by_ne[key(ne.neInstanceId)] = r end
    if ne.ipAddress then
      local at = hosts[ne.ipAddress] or {}
      at[#at + 1] = r
      hosts[ne.ipAddress] = at
    end
  end
  for _, hw in ipairs(lists.hardware) do
    if hw.hwInstanceId ~= nil then ne_of_hw[key(hw.hwInstanceId)] = by_ne[key(hw.neInstanceId)] end
  end
  for _, e in ipairs(lists.hardware_eol) do
    local r = by_ne[key(e.neInstanceId)] or ne_of_hw[key(e.hwInstanceId)]
    if r then r.ldos = earliest(r.ldos, ldos.hw[key(e.hwEolInstanceId)]) end
  end
  for _, e in ipairs(lists.software_eol) do
    local r = by_ne[key(e.neInstanceId)]
    if r then r.ldos = earliest(r.ldos, ldos.sw[key(e.swEolInstanceId)]) end
  end
  for _, a in ipairs(lists.security_advisories) do
    local r = by_ne[key(a.neInstanceId)]
    if r then r.advisories = r.advisories + 1 end
  end
end

-- The customer IDs asked for, in order and once each; or nil and what is wrong.
local function wanted()
  local v = stdnse.get_script_args("cxcloud.customer")
  if v == nil or v == "" then return nil, "no customer given: " .. USAGE end
  if type(v) == "string" then return { v } end
  local bad = "cxcloud.customer takes customer IDs: " .. USAGE
  if type(v) ~= "table" then return nil, bad end -- given as a flag: nmap says 1
  local n, list, seen = 0, {}, {}
  for _ in pairs(v) do n = n + 1 end
  if n == 0 then return nil, "no customer given: " .. USAGE end
  for i = 1, n do
    local id = v[i]
    if type(id) ~= "string" or id == "" then return nil, bad end
    if not seen[id] then list[#list + 1], seen[id] = id, true end
  end
  return list
end

-- A client from CXCLOUD_*, or nil and a line that says why not.
local function client()
  local ok, cxcloud = pcall(require, "cxcloud")
  if not ok then
    -- require's first line names what failed; the rest lists the paths tried, or says which
    -- symbol another Lua's core lacks
    local msg = tostring(cxcloud)
    local why, symbol = msg:match("^[^\n]*"), msg:match("undefined symbol: ([%w_]+)")
    if symbol then
      why = why:gsub(":$", "") .. ": undefined symbol " .. symbol .. ", a core built for another Lua"
    end
    return nil, "cannot load cxcloud (LUA_PATH and LUA_CPATH must reach its modules and its core"
      .. " built for Lua 5.3: `make LUA=lua5.3` says where): " .. why
  end
  local cx
  ok, cx = pcall(cxcloud.new, {})
  if not ok then return nil, tostring(cx) end
  return cx
end

-- The customers the credentials see: { ids = array, name = id -> name, set = id -> true },
-- or nil and the error.
local function visible(cx)
  local list, err = cx:customers({ fields = "customerId,customerName" }):all()
  if not list then return nil, err end
  local v = { ids = {}, name = {}, set = {} }
  for _, c in ipairs(list) do
    local id = key(c.customerId)
    if id and not v.set[id] then
      v.ids[#v.ids + 1], v.set[id], v.name[id] = id, true, c.customerName
    end
  end
  return v
end

local function some(ids, n)
  local shown = { table.unpack(ids, 1, math.min(n, #ids)) }
  return table.concat(shown, ", ") .. (#ids > n and (", ... " .. (#ids - n) .. " more") or "")
end

local function plural(n, word)
  return n .. " " .. word .. (n == 1 and "" or "s")
end

-- The output without a customer: how to give one, and which there are.
local function missing(why)
  local out = stdnse.output_table()
  out[1] = why
  local cx, err = client()
  local seen
  if cx then
    seen, err = visible(cx)
    cx:close()
  end
  if not seen then
    out[2] = "could not list the customers these credentials see: " .. tostring(err)
    return out
  end
  local list = {}
  for i = 1, math.min(LISTED, #seen.ids) do
    local id = seen.ids[i]
    list[i] = id .. (seen.name[id] and (" (" .. tostring(seen.name[id]) .. ")") or "")
  end
  if #seen.ids > LISTED then list[#list + 1] = "... " .. (#seen.ids - LISTED) .. " more" end
  out["these credentials see " .. plural(#seen.ids, "customer")] = list
  return out
end

-- What went wrong with one customer's pull, as its line.
local function failure(id, op, err)
  if type(err) == "table" and err.status == 403 and err.kind == "http" then
    return ("customer %s: refused by CX Cloud (403 Forbidden): %s")
      :format(id, (tostring(err.message):gsub("^Forbidden: ", "")))
  end
  return ("customer %s: pull failed (%s): %s"):format(id, op, tostring(err))
end

local function pull_customer(cx, id)
  local lists = {}
  for _, p in ipairs(PER_CUSTOMER) do
    local list, err = cx[p[1]](cx, { customerId = id, fields = p[2] }):all()
    if not list then return nil, failure(id, p[1], err) end
    lists[p[1]] = list
  end
  return lists
end

local function pull_bulletins(cx)
  local lists = {}
  for _, p in ipairs(BULLETINS) do
    local list, err = cx[p[1]](cx, { fields = p[2] }):all()
    if not list then return nil, ("CX Cloud pull failed (%s): %s"):format(p[1], tostring(err)) end
    lists[p[1]] = list
  end
  return {
    hw = dates(lists.hardware_eol_bulletins, "hwEolInstanceId"),
    sw = dates(lists.software_eol_bulletins, "swEolInstanceId"),
  }
end

-- cxcloud.customer=A,B makes B a script argument of its own: name it when it is a customer.
local function slipped(customers, seen, out)
  if #customers ~= 1 or not seen then return end
  for _, v in ipairs(nmap.registry.args or {}) do
    if type(v) == "string" and seen.set[v] and v ~= customers[1] then
      out[#out + 1] = ("%s is a customer too, but nmap took it as an argument of its own: write"
        .. " 'cxcloud.customer={%s,%s}' for both"):format(v, customers[1], v)
    end
  end
end

-- The pulls happen in the prerule, once: NSE runs scripts as coroutines and the client
-- blocks in libcurl, so the network work is done before the host phase starts. Returns the
-- lines to print and, when something was pulled, the hosts.
local function pull(customers)
  local out = {}
  local cx, err = client()
  if not cx then return { err } end
  -- an unknown ID would get a 403 like a refused one: the customers list tells them apart
  -- (a 403 on the list itself leaves the pulls to tell)
  local seen, serr = visible(cx)
  if not seen and not (type(serr) == "table" and serr.status == 403 and serr.kind == "http") then
    cx:close()
    return { "could not list the customers these credentials see: " .. tostring(serr) }
  end
  local pulled = {}
  for _, id in ipairs(customers) do
    if seen and #seen.ids == 0 then
      out[#out + 1] = ("customer %s: unknown: these credentials see no customer"):format(id)
    elseif seen and not seen.set[id] then
      out[#out + 1] = ("customer %s: unknown: not one of the %s these credentials see (%s)")
        :format(id, plural(#seen.ids, "customer"), some(seen.ids, NAMED))
    else
      local lists, line = pull_customer(cx, id)
      if lists then
        pulled[#pulled + 1] = { id = id, lists = lists }
        out[#out + 1] = ("customer %s: %d network elements"):format(id, #lists.network_elements)
      else
        out[#out + 1] = line
      end
    end
  end
  slipped(customers, seen, out)
  local hosts
  if #pulled > 0 then
    local ldos, line = pull_bulletins(cx)
    if ldos then
      hosts = {}
      for _, p in ipairs(pulled) do join(hosts, p.id, p.lists, ldos) end
    else
      out[#out + 1] = line
    end
  end
  cx:close()
  return out, hosts
end

-- Runs whatever the arguments: a missing or wrong customer gets a line, not silence.
prerule = function()
  return true
end

hostrule = function(host)
  local facts = nmap.registry[REGISTRY_KEY]
  return facts ~= nil and facts.hosts[host.ip] ~= nil
end

local function pre_action()
  local customers, why = wanted()
  local ok, out, hosts
  if customers then
    ok, out, hosts = pcall(pull, customers)
  else
    ok, out = pcall(missing, why)
  end
  if not ok then out = { "CX Cloud pull failed: " .. tostring(out) } end
  if hosts then nmap.registry[REGISTRY_KEY] = { hosts = hosts, several = #customers > 1 } end
  if #out == 1 then return out[1] end -- one customer's line stays on the script's line
  return out
end

local function facts_of(r, customer)
  local out = stdnse.output_table()
  if customer then out.customer = r.customer end
  out.hostname = r.hostname
  out.product = r.product
  out.software = r.software
  out["last date of support"] = r.ldos or "none announced"
  out["security advisories"] = r.advisories
  return out
end

-- One customer's element: its facts (naming the customer when several were asked for);
-- an address that several customers use: the facts under each customer's name.
local function host_action(host)
  local facts = nmap.registry[REGISTRY_KEY]
  local at = facts.hosts[host.ip]
  if #at == 1 then return facts_of(at[1], facts.several) end
  local out = stdnse.output_table()
  for _, r in ipairs(at) do out["customer " .. r.customer] = facts_of(r, false) end
  return out
end

local ActionsTable = {
  prerule = pre_action,
  hostrule = host_action,
}

action = function(...) return ActionsTable[SCRIPT_TYPE](...) end
