--- The sandbox from Lua 5.1, 5.2 and LuaJIT: a stand-in for `cxcloud.sandbox` that runs
-- the real module in a Lua 5.3+ process (its data generator needs 64-bit integers) and
-- forwards every call to it.
--
-- `require "cxcloud.sandbox"` returns this module on a Lua without 64-bit integers.
-- `sandbox.start{...}` returns a handle with the same fields and methods; values cross
-- the process boundary as Lua literals (tables, strings, numbers, booleans), so options
-- that are functions stay in this process (`client_options` and `env` run here).
-- The helper process is `CXCLOUD_SANDBOX_LUA`, else `lua5.4`; it reads requests on its
-- standard input and answers through a named pipe, and ends when this process closes
-- the pipe (at exit at the latest).
-- @module cxcloud.sandbox.bridge

local M = {}

local format, concat = string.format, table.concat

------------------------------------------------------------------------------
-- values on the wire: s<len>:<bytes>  n<number>;  t  f  {<key><value>...}
-- (a format of our own, not Lua source: LuaJIT limits a chunk to 65536 constants)

local function encode_into(v, out, depth)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = "s" .. #v .. ":" .. v
  elseif t == "number" then
    local text
    if v ~= v then
      text = "nan"
    elseif v == math.huge or v == -math.huge then
      text = v > 0 and "inf" or "-inf"
    elseif math.type and math.type(v) == "integer" then
      text = format("%d", v)
    elseif v == math.floor(v) and v >= -2 ^ 53 and v <= 2 ^ 53 then
      text = format("%.0f", v)
    else
      text = format("%.17g", v)
    end
    out[#out + 1] = "n" .. text .. ";"
  elseif t == "boolean" then
    out[#out + 1] = v and "t" or "f"
  elseif t == "table" then
    if depth > 100 then error("cxcloud.sandbox.bridge: value nested too deep (a cycle?)", 0) end
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      local kt, xt = type(k), type(x)
      local plain = xt == "string" or xt == "number" or xt == "boolean" or xt == "table"
      if plain and (kt == "string" or kt == "number" or kt == "boolean") then
        encode_into(k, out, depth + 1)
        encode_into(x, out, depth + 1)
      end
    end
    out[#out + 1] = "}"
  else
    error("cxcloud.sandbox.bridge: cannot pass a " .. t .. " to the sandbox process", 0)
  end
end

--- The wire form of `v` (functions and userdata inside tables are left out).
-- @param v value
-- @treturn string
function M.encode(v)
  local out = {}
  encode_into(v, out, 0)
  return concat(out)
end

local NUMBERS = { nan = 0 / 0, inf = math.huge, ["-inf"] = -math.huge }

-- the value that starts at s[i]; returns it and the position after it
local function decode_at(s, i)
  local c = s:sub(i, i)
  if c == "s" then
    local colon = s:find(":", i + 1, true)
    local len = tonumber(s:sub(i + 1, colon - 1))
    return s:sub(colon + 1, colon + len), colon + len + 1
  elseif c == "n" then
    local semi = s:find(";", i + 1, true)
    local text = s:sub(i + 1, semi - 1)
    return NUMBERS[text] or tonumber(text), semi + 1
  elseif c == "t" or c == "f" then
    return c == "t", i + 1
  elseif c == "{" then
    local t = {}
    i = i + 1
    while s:sub(i, i) ~= "}" do
      local k, x
      k, i = decode_at(s, i)
      x, i = decode_at(s, i)
      t[k] = x
    end
    return t, i + 1
  end
  error("cxcloud.sandbox.bridge: bad message at byte " .. i, 0)
end

--- The value of a string from `encode`.
-- @tparam string s
-- @return value
function M.decode(s)
  return (decode_at(s, 1))
end

--- Writes one message (`encode(v)` after its length).
-- @param f file
-- @param v value
function M.send(f, v)
  local s = M.encode(v)
  f:write(#s, "\n", s)
  f:flush()
end

--- Reads one message; nil at the end of the stream.
-- @param f file
-- @return value
function M.receive(f)
  local n = f:read("*l")
  if not n then return nil end
  local s = f:read(tonumber(n))
  if not s then return nil end
  return M.decode(s)
end

------------------------------------------------------------------------------
-- the calling side

local shell_quote = require("cxcloud.shell").quote

local function module_root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local root = src:match("^(.*)[/\\]cxcloud[/\\]sandbox[/\\]bridge%.lua$")
  if root and root:sub(1, 1) ~= "/" then root = (os.getenv("PWD") or ".") .. "/" .. root end
  return root
end

local conn -- { req = file (the helper's stdin), rep = file (the reply pipe) }

local function connect()
  if conn then return conn end
  local root = module_root() or error("cxcloud.sandbox: cannot locate the cxcloud/sandbox directory", 0)
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/cxcloud-bridge.XXXXXX\"")
  local dir = p and p:read("*l")
  if p then p:close() end
  if not dir or dir == "" then error("cxcloud.sandbox: cannot create a temporary directory", 0) end
  local fifo = dir .. "/reply"
  if not os.execute("mkfifo -m 600 " .. shell_quote(fifo)) then
    error("cxcloud.sandbox: cannot create a named pipe in " .. dir, 0)
  end
  local lua = os.getenv("CXCLOUD_SANDBOX_LUA")
  if not lua or lua == "" then lua = "lua5.4" end
  local cpath = os.getenv("LUA_CPATH_5_4") or os.getenv("LUA_CPATH") or ";;"
  local cmd = concat({
    "LUA_PATH_5_4=" .. shell_quote(root .. "/?.lua;" .. root .. "/?/init.lua;" .. package.path),
    "LUA_CPATH_5_4=" .. shell_quote(cpath),
    "exec", shell_quote(lua), shell_quote(root .. "/cxcloud/sandbox/bridge_host.lua"), shell_quote(fifo),
  }, " ")
  local req = io.popen(cmd, "w")
  if not req then error("cxcloud.sandbox: cannot run " .. lua, 0) end
  local rep = io.open(fifo, "rb") -- waits until the helper opened its end
  os.remove(fifo)
  os.remove(dir)
  if not rep then
    req:close()
    error("cxcloud.sandbox: the sandbox process (" .. lua .. ") did not start", 0)
  end
  conn = { req = req, rep = rep }
  return conn
end

-- call(target, name, ...): target "module" or a handle number; raises what the helper raised
local function call(target, name, ...)
  local c = connect()
  M.send(c.req, { target = target, name = name, n = select("#", ...), args = { ... } })
  local r = M.receive(c.rep)
  if not r then
    conn = nil
    error("cxcloud.sandbox: the sandbox process ended", 0)
  end
  if not r.ok then error(r.err, 0) end
  return r
end

local Handle = {}

local function update(h, fields)
  for k, v in pairs(fields or {}) do rawset(h, k, v) end
end

Handle.__index = function(_, name)
  local local_method = Handle[name]
  if local_method then return local_method end
  if type(name) ~= "string" or name:sub(1, 2) == "__" then return nil end
  return function(self, ...)
    local r = call(rawget(self, "_id"), name, ...)
    update(self, r.fields)
    return M.unpack(r.results, 1, r.n)
  end
end

function Handle.__tostring(h)
  return format("cxcloud.sandbox (bridged): https://localhost:%s (pid %s)", tostring(h.port), tostring(h.pid))
end

--- Options for `cxcloud.new` (as in `cxcloud.sandbox`; computed here, so `extra` may hold functions).
-- @tparam[opt] table extra
-- @treturn table
function Handle.client_options(h, extra)
  local t = {
    client_id = h.client_id, client_secret = h.client_secret,
    base_url = h.base_url, token_url = h.token_url, ca_file = h.ca_file,
    connect_to = { h.connect_to[1], h.connect_to[2] },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

--- Environment variables for a program that reads CXCLOUD_* (as in `cxcloud.sandbox`).
-- @treturn table
function Handle.env(h)
  return {
    CXCLOUD_CLIENT_ID = h.client_id, CXCLOUD_CLIENT_SECRET = h.client_secret,
    CXCLOUD_BASE_URL = h.local_base_url, CXCLOUD_TOKEN_URL = h.local_token_url,
    CXCLOUD_CA_FILE = h.ca_file,
  }
end

M.unpack = table.unpack or rawget(_G, "unpack")

--- The stand-in module: `start` returns a bridged handle; other functions are forwarded.
-- @treturn table
function M.module()
  local sandbox = {}
  local constants
  function sandbox.start(opts)
    local r = call("module", "start", opts)
    local h = setmetatable({}, Handle)
    update(h, r.fields)
    h._id = r.handle
    return h
  end
  return setmetatable(sandbox, {
    __index = function(_, name)
      if type(name) ~= "string" then return nil end
      constants = constants or call("module", "constants").results[1]
      if constants[name] ~= nil then return constants[name] end
      return function(...)
        local r = call("module", name, ...)
        return M.unpack(r.results, 1, r.n)
      end
    end,
  })
end

return M
