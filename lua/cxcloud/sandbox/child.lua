-- Entry script of the sandbox server process started by `cxcloud.sandbox.start`.
--
-- Usage: `lua5.4 .../cxcloud/sandbox/child.lua CONFIG_FILE`. Reads the options
-- (JSON) from CONFIG_FILE and deletes it, starts the server, writes `ca.pem` and then
-- `sandbox.json` (`{"port":..,"control_port":..,"pid":..}` or `{"error": ...}`) into
-- the option `dir`, and serves until its standard input is closed, SIGINT or SIGTERM.

local root = (arg and arg[0] or ""):match("^(.*)[/\\]cxcloud[/\\]sandbox[/\\]child%.lua$")
if root and not package.path:find(root .. "/?.lua", 1, true) then
  package.path = root .. "/?.lua;" .. root .. "/?/init.lua;" .. package.path
end

local json = require "cxcloud.sandbox.json"

local cfg_file = arg and arg[1]
if not cfg_file then
  io.stderr:write("usage: child.lua CONFIG_FILE\n")
  os.exit(2)
end
local f = assert(io.open(cfg_file, "rb"))
local text = f:read("a")
f:close()
os.remove(cfg_file)
local cfg = assert(json.decode_plain(text))
local dir = assert(cfg.dir, "option dir is required")

local function write_state(t)
  local tmp = dir .. "/sandbox.json.tmp"
  local out = assert(io.open(tmp, "wb"))
  out:write(json.encode_plain(t), "\n")
  out:close()
  assert(os.rename(tmp, dir .. "/sandbox.json"))
end

collectgarbage("generational")
local server = require "cxcloud.sandbox.server"
local srv
local ok, err = pcall(function()
  srv = server.new(cfg)
  srv:listen()
  srv:write_ca(dir)
  if cfg.watch_stdin then
    srv:watch_stdin()
    srv:watch_parent()
  end
  srv:watch_signals()
end)
if not ok then
  pcall(write_state, { error = tostring(err) })
  io.stderr:write("cxcloud sandbox: ", tostring(err), "\n")
  os.exit(1)
end
write_state { port = srv.port, control_port = srv.control_port, pid = server.pid() }
srv:loop()
if cfg.cleanup_dir then
  -- the directory is start()'s own temporary one: leave nothing behind, even when the
  -- parent exited without stopping the sandbox
  for _, name in ipairs({ "ca.pem", "sandbox.json", "sandbox.json.tmp", "sandbox.log", "sandbox.pid" }) do
    os.remove(dir .. "/" .. name)
  end
  os.remove(dir)
end
os.exit(0)
