-- The Lua 5.3+ side of `cxcloud.sandbox.bridge`: runs the real `cxcloud.sandbox` and
-- answers the calls of a process whose Lua lacks 64-bit integers.
--
-- Usage: `lua5.4 .../cxcloud/sandbox/bridge_host.lua REPLY_PIPE`. Requests come on
-- standard input, answers go to REPLY_PIPE; at the end of the input every sandbox
-- started here is stopped.

local bridge = require "cxcloud.sandbox.bridge"
local sandbox = require "cxcloud.sandbox"

local reply = assert(io.open(assert(arg[1], "usage: bridge_host.lua REPLY_PIPE"), "wb"))

local handles, next_handle = {}, 0

-- what the caller sees of a handle: its plain fields (not the private ones)
local function fields(h)
  local t = {}
  for k, v in pairs(h) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) ~= "function" then t[k] = v end
  end
  return t
end

local function constants()
  local t = {}
  for k, v in pairs(sandbox) do
    if type(v) ~= "function" then t[k] = v end
  end
  return t
end

local function handle_request(r)
  local args, n = r.args or {}, r.n or 0
  if r.target == "module" then
    if r.name == "constants" then return { constants() }, 1 end
    if r.name == "start" then
      local h = sandbox.start(args[1])
      next_handle = next_handle + 1
      handles[next_handle] = h
      return {}, 0, fields(h), next_handle
    end
    local f = sandbox[r.name]
    if type(f) ~= "function" then error("cxcloud.sandbox has no function '" .. tostring(r.name) .. "'", 0) end
    local res = table.pack(f(table.unpack(args, 1, n)))
    return res, res.n
  end
  local h = handles[r.target] or error("cxcloud.sandbox: unknown handle", 0)
  local method = h[r.name]
  if type(method) ~= "function" then
    error("cxcloud.sandbox: a handle has no method '" .. tostring(r.name) .. "'", 0)
  end
  local res = table.pack(method(h, table.unpack(args, 1, n)))
  return res, res.n, fields(h)
end

while true do
  local r = bridge.receive(io.stdin)
  if not r then break end
  local ok, results, n, f, id = pcall(handle_request, r)
  local answer = ok and { ok = true, results = results, n = n, fields = f, handle = id }
    or { ok = false, err = tostring(results) }
  local sent, err = pcall(bridge.send, reply, answer)
  if not sent then bridge.send(reply, { ok = false, err = tostring(err) }) end
end
for _, h in pairs(handles) do pcall(h.stop, h) end
reply:close()
