--- Scripted fault injection.
--
-- A fault script is an array of faults. Each fault has a matcher and an action:
--
--   matcher  op = "hardware"        operation name (contract method name)
--            path = "/inventory"    substring of the request path
--            page = 2               only requests for that page
--            customerId = "..."     only requests for that customer
--            token = true           the token endpoint (instead of the API)
--            nth = 3                fire from the 3rd matching request on (default 1)
--            times = 2              fire on this many matching requests (default 1;
--                                   math.huge or -1 = always)
--   action   action = "status"       status = 503, headers = {...}, body = "..."
--                    "throttle"     status = 429 | 403 (default: option throttle_status),
--                                   retry_after = "2" | HTTP-date, code = Mashery code
--                    "reset"        headers and `bytes` of the body, then the connection
--                                   is closed abruptly
--                    "truncate"     Content-Length of the whole body, `bytes` sent, close
--                    "invalid_json" 200 with a body that is not JSON
--                    "html"         an HTML error page (status 502 default, or 200)
--                    "stall"        before = seconds before the headers, during =
--                                   seconds after `bytes` of the body (then the rest)
--                    "expire_token" / "revoke_token"  the presented token, then 401
--                    "add_rows"     count = n rows added (target = op name, default the
--                                   request's op; at = "end"|"start") before serving
--                    "remove_rows"  count = n rows removed, likewise (see
--                                   `cxcloud.sandbox.data` for what goes)
--                    "change_rows"  count = n rows whose values change (target = op
--                                   name, default the request's op) before serving
--                    "control_chars" an error with ANSI escapes and CR/LF in its body
--                                   and an escape sequence in a header
--                    "gzip_bomb"    200, Content-Encoding gzip: about 6.5 MiB that inflate
--                                   to `size` bytes (default 1 GiB)
--
-- `action` may be left out when `status` is given ("status"). Every request is
-- checked against the faults in order; each fault counts the requests that match it;
-- the first fault that matches, has reached `nth` and still has `times` left fires
-- (one fault per request).
-- @module cxcloud.sandbox.faults

local ops = require "cxcloud.sandbox.ops"

local faults = {}

local ACTIONS = {
  status = { status = true, headers = true, body = true, content_type = true },
  throttle = { status = true, retry_after = true, code = true, headers = true, body = true },
  reset = { status = true, bytes = true },
  truncate = { status = true, bytes = true },
  invalid_json = { status = true, body = true },
  html = { status = true, body = true },
  stall = { before = true, during = true, bytes = true },
  expire_token = {},
  revoke_token = {},
  add_rows = { count = true, target = true, at = true },
  remove_rows = { count = true, target = true, at = true },
  change_rows = { count = true, target = true },
  control_chars = { status = true },
  gzip_bomb = { size = true },
}
faults.ACTIONS = ACTIONS

local MATCHERS = { op = true, path = true, page = true, customerId = true, token = true, nth = true,
  times = true, action = true, method = true }

local function bad(i, msg)
  error(string.format("cxcloud.sandbox: fault #%d: %s", i, msg), 0)
end

local function action_names()
  local t = {}
  for k in pairs(ACTIONS) do t[#t + 1] = k end
  table.sort(t)
  return table.concat(t, ", ")
end

local is_int = require("cxcloud.sandbox.config").is_int

--- Validates a fault script; returns a normalised copy. Raises with the fault's
-- position and what is wrong.
-- @tparam table list
-- @treturn table
function faults.validate(list)
  if type(list) ~= "table" then error("cxcloud.sandbox: faults must be an array of tables", 0) end
  local out = {}
  for i, f in ipairs(list) do
    if type(f) ~= "table" then bad(i, "must be a table") end
    local a = f.action
    if a == nil and f.status ~= nil then a = "status" end
    if a == nil then bad(i, "missing action; valid actions: " .. action_names()) end
    if not ACTIONS[a] then
      bad(i, "unknown action '" .. tostring(a) .. "'; valid actions: " .. action_names())
    end
    local g = { action = a, seen = 0, fired = 0, index = i }
    for k, v in pairs(f) do
      if not (MATCHERS[k] or ACTIONS[a][k]) then
        bad(i, string.format("unknown key '%s' for action %s", tostring(k), a))
      end
      g[k] = v
    end
    g.action = a
    if g.op ~= nil and not ops.by_name[g.op] then
      bad(i, "unknown op '" .. tostring(g.op) .. "'; valid: " .. ops.names())
    end
    if g.target ~= nil and not ops.by_name[g.target] then
      bad(i, "unknown target '" .. tostring(g.target) .. "'; valid: " .. ops.names())
    end
    if g.path ~= nil and type(g.path) ~= "string" then bad(i, "path must be a string") end
    if g.page ~= nil and not (is_int(g.page) and g.page >= 1) then
      bad(i, "page must be a positive integer")
    end
    g.nth = g.nth or 1
    if not (is_int(g.nth) and g.nth >= 1) then bad(i, "nth must be a positive integer") end
    g.times = g.times or 1
    if g.times == -1 then g.times = math.huge end
    if not (g.times == math.huge or (is_int(g.times) and g.times >= 0)) then
      bad(i, "times must be a non-negative integer, -1 or math.huge")
    end
    if g.status ~= nil and not (is_int(g.status) and g.status >= 100 and g.status <= 599) then
      bad(i, "status must be an integer 100..599")
    end
    if g.headers ~= nil and type(g.headers) ~= "table" then bad(i, "headers must be a table") end
    if g.body ~= nil and type(g.body) ~= "string" then bad(i, "body must be a string") end
    if g.size ~= nil and not (is_int(g.size) and g.size >= 259) then
      bad(i, "size must be an integer >= 259")
    end
    if g.bytes ~= nil and not (is_int(g.bytes) and g.bytes >= 0) then
      bad(i, "bytes must be a non-negative integer")
    end
    for _, k in ipairs({ "before", "during" }) do
      if g[k] ~= nil and not (type(g[k]) == "number" and g[k] >= 0) then
        bad(i, k .. " must be seconds >= 0")
      end
    end
    if a == "throttle" and g.status ~= nil and g.status ~= 429 and g.status ~= 403 then
      bad(i, "throttle status must be 429 or 403")
    end
    if a == "add_rows" or a == "remove_rows" or a == "change_rows" then
      g.count = g.count or 1
      if not (is_int(g.count) and g.count >= 0) then bad(i, "count must be a non-negative integer") end
      if g.at ~= nil and g.at ~= "end" and g.at ~= "start" then bad(i, 'at must be "end" or "start"') end
    end
    out[i] = g
  end
  return out
end

-- CRC-32 of `byte` repeated n times. One byte's step is an affine map of the 32-bit
-- register over GF(2) (a matrix as 32 columns, and a constant): raise it to the n-th power
-- by squaring instead of running n steps.
local function crc32_of_repeats(byte, n)
  local function step(x)
    x = x ~ byte
    for _ = 1, 8 do x = (x & 1 == 1) and ((x >> 1) ~ 0xEDB88320) or (x >> 1) end
    return x
  end
  local function apply(cols, x)
    local r, i = 0, 1
    while x ~= 0 do
      if x & 1 == 1 then r = r ~ cols[i] end
      x, i = x >> 1, i + 1
    end
    return r
  end
  local function compose(g, f) -- g after f
    local cols = {}
    for i = 1, 32 do cols[i] = apply(g.cols, f.cols[i]) end
    return { cols = cols, c = apply(g.cols, f.c) ~ g.c }
  end
  local one = { cols = {}, c = step(0) }
  for i = 1, 32 do one.cols[i] = step(1 << (i - 1)) ~ one.c end
  local acc = { cols = {}, c = 0 }
  for i = 1, 32 do acc.cols[i] = 1 << (i - 1) end
  while n > 0 do
    if n & 1 == 1 then acc = compose(one, acc) end
    one, n = compose(one, one), n >> 1
  end
  return apply(acc.cols, 0xffffffff) ~ acc.c ~ 0xffffffff
end

--- A gzip stream of "a" repeated about `size` times, as head .. unit:rep(count) .. tail.
-- Hand-built deflate (fixed Huffman codes): one literal, then matches of 258 bytes at
-- distance 1, 13 bits each, so 8 of them make a whole 13-byte unit.
-- @tparam integer size inflated bytes wanted
-- @treturn string head
-- @treturn string unit
-- @treturn integer count
-- @treturn string tail
function faults.gzip_bomb(size)
  local bytes, acc, nbits = {}, 0, 0
  local function put(code, len) -- a Huffman code, most significant bit first
    for i = len - 1, 0, -1 do
      acc = acc | (((code >> i) & 1) << nbits)
      nbits = nbits + 1
      if nbits == 8 then bytes[#bytes + 1], acc, nbits = string.char(acc), 0, 0 end
    end
  end
  local function take() local s = table.concat(bytes); bytes = {}; return s end
  local function match() put(0xC5, 8); put(0, 5) end -- length code 285 (258), distance 1
  put(1, 1); put(1, 1); put(0, 1)                     -- BFINAL, BTYPE 01 (written LSB first)
  put(0x30 + 0x61, 8)                                 -- literal "a"
  match()                                             -- 3 + 8 + 13 = 24 bits: aligned
  local head = "\31\139\8\0\0\0\0\0\0\3" .. take()
  for _ = 1, 8 do match() end
  local unit = take()
  local count = math.max(0, (math.tointeger(size) - 259) // 2064)
  put(0, 7); put(0, 1)                                -- end of block, padding
  local n = 259 + count * 2064
  local tail = take() .. string.pack("<I4I4", crc32_of_repeats(0x61, n), n & 0xffffffff)
  return head, unit, count, tail
end

--- Finds the fault that fires for a request, counting matches.
-- @tparam table script validated faults
-- @tparam table req `{op=, path=, page=, customerId=, token=bool, method=}`
-- @treturn table|nil the fault
function faults.match(script, req)
  local fired
  for _, f in ipairs(script) do
    local ok = (f.token and req.token) or (not f.token and not req.token)
    if ok and f.op ~= nil then ok = req.op == f.op end
    if ok and f.path ~= nil then ok = req.path ~= nil and req.path:find(f.path, 1, true) ~= nil end
    if ok and f.page ~= nil then ok = req.page == f.page end
    if ok and f.customerId ~= nil then ok = req.customerId == f.customerId end
    if ok and f.method ~= nil then ok = req.method == f.method end
    if ok then
      f.seen = f.seen + 1
      if not fired and f.seen >= f.nth and f.fired < f.times then
        f.fired = f.fired + 1
        fired = f
      end
    end
  end
  return fired
end

--- The script's state for the control endpoint (JSON-safe copy).
-- @tparam table script
-- @treturn table
function faults.describe(script)
  local out = {}
  for i, f in ipairs(script) do
    local t = {}
    for k, v in pairs(f) do
      if v == math.huge then v = -1 end
      t[k] = v
    end
    out[i] = t
  end
  return out
end

return faults
