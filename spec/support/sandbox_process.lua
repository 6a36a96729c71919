--- The lua5.4 side of spec/support/sandbox.lua: a sandbox for a spec that runs on another Lua.
-- Prints its pid, a loopback port and a key, takes the one connection that presents the key,
-- then answers a JSON line `[method, args]` with `{fields, results, n}` or `{error}`; the
-- first request is `["start", [options]]`. At the end of the connection it stops the sandbox
-- and exits.
local socket = require "cqueues.socket"
local cjson = require "cjson.safe"
local sandbox = require "cxcloud.sandbox"
local json = require "cxcloud.sandbox.json"
local auth = require "cxcloud.sandbox.auth"

local listener = socket.listen { host = "127.0.0.1", port = 0 }
assert(listener:listen())
local _, _, port = listener:localname()
local key = auth.random(24)
io.write(require("cxcloud.sandbox.server").pid(), " ", port, " ", key, "\n")
io.stdout:flush()
local conn
repeat
  conn = assert(listener:accept(30), "no connection from the spec")
  conn:onerror(function(_, _, why) return why end)
  conn:setmaxline(256 * 1024 * 1024) -- a request may hold a large fault script
  if conn:xread("*l", 30) ~= key then conn:close() conn = nil end
until conn
listener:close()

local sb

-- the handle's plain fields: what the spec's stand-in copies
local function fields()
  local t = {}
  for k, v in pairs(sb or {}) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) ~= "function" then t[k] = v end
  end
  return t
end

local function perform(name, args, n)
  if name == "start" then
    sb = sandbox.start(args[1])
    return {}, 0
  end
  local res = table.pack(sb[name](sb, table.unpack(args, 1, n)))
  local list = {}
  for i = 1, res.n do list[i] = res[i] == nil and cjson.null or res[i] end
  return list, res.n
end

while true do
  local line = conn:xread("*l")
  if not line then break end
  local req = json.decode_plain(line)
  local args = req[2]
  local n = 0
  for i in pairs(args) do n = math.max(n, i) end
  local ok, res, count = pcall(perform, req[1], args, n)
  local answer = ok and { fields = fields(), results = res, n = count } or { error = tostring(res) }
  local text = cjson.encode(answer) or cjson.encode { error = "cannot encode the answer to " .. req[1] }
  if not conn:xwrite(text .. "\n", "bn") then break end
end
if sb then sb:stop() end
