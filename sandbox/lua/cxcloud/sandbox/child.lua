-- Entry script of the sandbox server process started by `cxcloud.sandbox.start`.
--
-- The environment variable CXCLOUD_SANDBOX_PARENT is "PORT KEY": the parent listens on
-- 127.0.0.1:PORT. This process connects there, sends KEY, receives its options, starts the
-- server and answers `{"port":..,"pid":..}` (or `{"error": ...}`), then serves the control
-- requests of that connection (`cxcloud.sandbox.control`) until it closes (the parent
-- stopped the sandbox, or died), SIGINT or SIGTERM. Frames as in `control.read_frame`.

local root = (arg and arg[0] or ""):match("^(.*)[/\\]cxcloud[/\\]sandbox[/\\]child%.lua$")
if root and not package.path:find(root .. "/?.lua", 1, true) then
  package.path = root .. "/?.lua;" .. root .. "/?/init.lua;" .. package.path
end

local function die(msg)
  io.stderr:write("cxcloud sandbox: ", msg, "\n")
  os.exit(1)
end

local port, key = (os.getenv("CXCLOUD_SANDBOX_PARENT") or ""):match("^(%d+) (%S+)$")
if not port then die("child.lua is started by cxcloud.sandbox.start (CXCLOUD_SANDBOX_PARENT is not set)") end

local cs = require "cqueues.socket"
local json = require "cxcloud.sandbox.json"
local control = require "cxcloud.sandbox.control"

local sock = control.channel(cs.connect { host = "127.0.0.1", port = math.tointeger(tonumber(port)) })
local ok, err = sock:connect(10)
if ok then ok, err = control.write_frame(sock, key) end
local frame
if ok then frame, err = control.read_frame(sock, 30) end
local cfg = frame and json.decode_plain(frame)
if type(cfg) ~= "table" then die("no options from the parent: " .. tostring(err)) end

collectgarbage("generational")
local server = require "cxcloud.sandbox.server"
local srv
ok, err = pcall(function()
  srv = server.new(cfg)
  srv:listen()
  srv:write_ca(cfg.dir)
  srv:watch_signals()
end)
if not ok then
  control.write_frame(sock, json.encode_plain { error = tostring(err) })
  die(tostring(err))
end
control.write_frame(sock, json.encode_plain { port = srv.port, pid = server.pid() })
control.serve(srv, sock)
srv:loop()
if cfg.cleanup_dir then
  -- the directory is start()'s own temporary one: leave nothing behind, even when the
  -- parent exited without stopping the sandbox
  os.remove(cfg.dir .. "/ca.pem")
  os.remove(cfg.dir .. "/sandbox.log")
  os.remove(cfg.dir)
end
os.exit(0)
