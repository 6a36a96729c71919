--- The sandbox for the specs, on every Lua: `start(opts)` returns a handle (see
-- `cxcloud.sandbox`). The sandbox (cxcloud-sandbox) is a Lua 5.4 product: on 5.4 `start` is
-- `cxcloud.sandbox.start`. On 5.1, 5.2, 5.3 and LuaJIT, and under valgrind (which should
-- watch the client, not the server's thread), it is `process.start`: the sandbox runs in a
-- lua5.4 process (spec/support/sandbox_process.lua; CXCLOUD_SANDBOX_LUA names another
-- interpreter) and the handle is a stand-in, with the real handle's fields and one JSON line
-- to that process and one back per method call. The process takes one loopback connection,
-- whose end (`stop`, or this process gone) stops the sandbox and ends the process.

local socket = require "cqueues.socket"
local errno = require "cqueues.errno"
local cjson = require("cjson").new()
local quote = require("cxcloud.shell").quote

local M = { process = {} }

local compat = require "cxcloud.compat"
local unpack = compat.unpack

-- a decoded answer as the real handle gives it: JSON null nil, whole numbers integers (on
-- 5.3, whose lua-cjson decodes every number as a float)
local function plain(v)
  if v == cjson.null then return nil end
  if type(v) == "number" then return compat.tointeger(v) or v end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = plain(x) end
  return out
end

local HOST = debug.getinfo(1, "S").source:gsub("^@", ""):gsub("sandbox%.lua$", "sandbox_process.lua")

local Handle = {}

-- one call to the process: the handle's method `name` with `args` (nil travels as JSON null)
local function call(h, name, ...)
  if rawget(h, "_lost") then error("cxcloud.sandbox: " .. h._lost, 0) end
  local n, args = select("#", ...), { ... }
  for i = 1, n do if args[i] == nil then args[i] = cjson.null end end
  local ok, err = h._conn:xwrite(cjson.encode { name, args } .. "\n", "bn")
  local line = ok and h._conn:xread("*l", 60)
  local answer = line and plain(cjson.decode(line))
  if not answer then
    h._lost = "the sandbox process is gone (" .. (err and errno.strerror(err) or "end of file") .. ")"
    error("cxcloud.sandbox: " .. h._lost, 0)
  end
  if answer.error then error(answer.error, 0) end
  for k, v in pairs(answer.fields) do rawset(h, k, v) end
  return unpack(answer.results, 1, answer.n)
end

-- the handle's methods that run in the process
for _, name in ipairs { "env", "faults", "fault_state", "log", "clear_log", "set", "expire_tokens",
  "revoke_tokens", "tokens", "add_rows", "remove_rows", "change_rows", "stats", "reset_stats", "state",
  "truth", "_call" } do
  Handle[name] = function(self, ...) return call(self, name, ...) end
end
Handle.__index = Handle

function Handle.__tostring(h)
  return "cxcloud.sandbox (in process " .. tostring(h._pid) .. "): https://localhost:" .. tostring(h.port)
end

--- Options for `cxcloud.new`: the process's, merged here with `extra` (which may hold functions).
function Handle.client_options(h, extra)
  local t = call(h, "client_options")
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

--- Ends the sandbox and its process. Idempotent.
function Handle.stop(h)
  if rawget(h, "_stopped") then return true end
  h._stopped = true
  h._conn:close()
  h._process:close() -- waits for it
  return true
end

--- Starts a sandbox in a lua5.4 process; raises what its `start` raised.
-- @tparam[opt] table opts the options of `cxcloud.sandbox.start`
-- @tparam[opt] string lua the interpreter (default CXCLOUD_SANDBOX_LUA, else lua5.4)
-- @return a stand-in handle
function M.process.start(opts, lua)
  lua = lua or os.getenv("CXCLOUD_SANDBOX_LUA")
  if not lua or lua == "" then lua = "lua5.4" end
  -- the process prints its pid, the port it listens on and the key to present
  local process = assert(io.popen("exec " .. quote(lua) .. " " .. quote(HOST) .. " 2>&1"))
  local first = process:read("*l")
  local pid, port, key = (first or ""):match("^(%d+) (%d+) (%S+)$")
  if not pid then
    local rest = process:read("*a")
    process:close()
    error("cxcloud.sandbox: the sandbox process did not start: " .. tostring(first) .. "\n" .. rest, 2)
  end
  local conn = socket.connect { host = "127.0.0.1", port = tonumber(port) }
  conn:onerror(function(_, _, why) return why end)
  conn:setmaxline(256 * 1024 * 1024) -- an answer may be a whole request log
  assert(conn:xwrite(key .. "\n", "bn"))
  local h = setmetatable({ _conn = conn, _process = process, _pid = tonumber(pid) }, Handle)
  local ok, err = pcall(call, h, "start", opts or {})
  if not ok then
    h:stop()
    error(err, 2)
  end
  return h
end

if _VERSION == "Lua 5.4" and os.getenv("CXCLOUD_MEMCHECK") ~= "1" then
  M.start = require("cxcloud.sandbox").start
else
  M.start = M.process.start
end

return M
