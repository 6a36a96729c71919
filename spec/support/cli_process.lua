--- `bin/cxcloud` in a child process against a sandbox: waited for (`run`), or in the
-- background for the specs that kill it, run two at once or read its exit status (`spawn`).
local core = require "cxcloud.core"
local quote = require("cxcloud.shell").quote
local helper = require "spec.support.helper"

local M = {}

--- Starts `bin/cxcloud ARGS` (a string, already quoted) with the sandbox's credentials;
-- its output goes to the file `out`. Returns a function giving its exit status once it
-- ended (nil before), and its pid.
function M.spawn(sb, args, out)
  local env = {}
  for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. quote(v) end
  local pidfile, status, script = out .. ".pid", out .. ".status", out .. ".sh"
  os.remove(status)
  os.remove(pidfile)
  local f = assert(io.open(script, "w"))
  -- the command line is a Lua 5.4 program: the 5.4 core, whatever Lua runs the spec
  f:write("echo $$ > ", quote(pidfile), "\nexec env ", table.concat(env, " "), " LUA_PATH=",
    quote(package.path), " LUA_CPATH='./?.so;;' lua5.4 bin/cxcloud ", args, "\n")
  f:close()
  os.execute(string.format("(sh %s > %s 2>&1; echo $? > %s) &", quote(script), quote(out), quote(status)))
  local pid
  for _ = 1, 200 do
    local pf = io.open(pidfile)
    pid = pf and tonumber(pf:read("*l"))
    if pf then pf:close() end
    if pid then break end
    core.sleep(0.02)
  end
  return function()
    local sf = io.open(status)
    if not sf then return nil end
    local v = tonumber(sf:read("*l"))
    sf:close()
    return v
  end, pid
end

--- Calls `f` every 50 ms until it returns a value (returned) or `seconds` pass (nil).
function M.wait_for(f, seconds)
  local t0 = core.now()
  while core.now() - t0 < seconds do
    local v = f()
    if v then return v end
    core.sleep(0.05)
  end
  return nil
end

--- Runs `bin/cxcloud` with `args` (a list of words) and the sandbox's environment (none when
-- `sb` is nil) plus `env` (name -> value), under the interpreter running the specs; waits.
-- @treturn string standard output
-- @treturn string standard error
-- @treturn integer exit status
function M.run(sb, args, env)
  local vars = sb and sb:env() or {}
  for k, v in pairs(env or {}) do vars[k] = v end
  local words = {}
  for k, v in pairs(vars) do words[#words + 1] = k .. "=" .. quote(v) end
  local argv = {}
  for i, a in ipairs(args) do argv[i] = quote(a) end
  local errfile = os.tmpname()
  local p = assert(io.popen(("env %s %s %s %s 2>%s"):format(table.concat(words, " "),
    quote(arg and arg[-1] or "lua5.4"), quote(os.getenv("PWD") .. "/bin/cxcloud"),
    table.concat(argv, " "), quote(errfile))))
  local out = p:read("*a")
  local ok, _, code = p:close()
  local f = io.open(errfile)
  local err = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(errfile)
  helper.show(out)
  helper.show(err)
  return out, err, ok and 0 or code
end

return M
