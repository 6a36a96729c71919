--- The parent's end of the connection to a sandbox server process (see
-- `cxcloud.sandbox.control` for the frames). Used by the handle that `sandbox.start`
-- returns. Blocks outside a cqueues controller; yields to it inside one.
-- @module cxcloud.sandbox.client

local cqueues = require "cqueues"
local cs = require "cqueues.socket"

local json = require "cxcloud.sandbox.json"
local control = require "cxcloud.sandbox.control"

local client = {}

--- Listens on 127.0.0.1 (any free port) for the server process to connect.
-- @return listening cqueues socket
-- @treturn integer its port
function client.listen()
  local listener = cs.listen { host = "127.0.0.1", port = 0 }
  local ok, err = listener:listen()
  if not ok then error("cxcloud.sandbox: cannot listen on 127.0.0.1: " .. tostring(err), 0) end
  local _, _, port = listener:localname()
  return listener, port
end

--- Waits for the server process: accepts the connection that presents `key`, sends
-- it the options `cfg`, and waits for its answer. `alive()` is asked between waits.
-- @param listener from `client.listen`
-- @tparam string key
-- @tparam table cfg
-- @tparam number timeout seconds
-- @tparam function alive false once the server process is gone
-- @return the connection, or nil
-- @treturn table|string the server's answer `{port=, pid=}` or `{error=}`; or why there is none
function client.accept(listener, key, cfg, timeout, alive)
  local deadline = cqueues.monotime() + timeout
  while true do
    local conn = listener:accept(0.02)
    if conn then
      control.channel(conn)
      if control.read_frame(conn, math.max(0, deadline - cqueues.monotime())) == key then
        local frame, err = nil, nil
        if control.write_frame(conn, json.encode_plain(cfg)) then
          frame, err = control.read_frame(conn, math.max(0, deadline - cqueues.monotime()))
        end
        local answer = frame and json.decode_plain(frame)
        if type(answer) == "table" then return conn, answer end
        conn:close()
        return nil, "the server process did not start (" .. tostring(err) .. ")"
      end
      conn:close() -- not our server process
    end
    if not alive() then return nil, "the server process exited" end
    if cqueues.monotime() > deadline then return nil, "no answer within " .. timeout .. " s" end
  end
end

--- Performs one control request.
-- @param conn the connection from `client.accept`
-- @tparam string name request name (`cxcloud.sandbox.control`)
-- @param[opt] arg its argument (sent as JSON)
-- @tparam[opt=30] number timeout seconds
-- @treturn table|nil the answer `{value = ...}` or `{error = "..."}`; nil when the
--   connection failed (it is then out of step: close it)
-- @treturn string why it failed
function client.call(conn, name, arg, timeout)
  local ok, err = control.write_frame(conn, json.encode_plain { name, arg })
  if not ok then return nil, "cannot send " .. name .. ": " .. tostring(err) end
  local frame, rerr = control.read_frame(conn, timeout or 30)
  if not frame then return nil, "no answer to " .. name .. ": " .. tostring(rerr) end
  local answer, derr = json.decode_plain(frame)
  if type(answer) ~= "table" then return nil, "bad answer to " .. name .. ": " .. tostring(derr) end
  return answer
end

return client
