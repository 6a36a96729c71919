-- The examples run as a user runs them: a separate lua5.4 process configured only through
-- the CXCLOUD_* environment variables, here pointing at the sandbox.
local helper = require "spec.support.helper"

-- the interpreter under test (read at load time: on Lua 5.1 busted hides `arg` inside tests)
local LUA = arg and arg[-1] or "lua5.4"

local shell_quote = require("cxcloud.shell").quote

local function run(sb, script, ...)
  local env = {}
  for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
  local args = {}
  for i, a in ipairs { ... } do args[i] = shell_quote(a) end
  -- the status is echoed: Lua 5.1's pclose does not report it
  local cmd = ("env %s %s examples/%s %s 2>&1; echo \"exit status $?\""):format(table.concat(env, " "),
    shell_quote(LUA), script, table.concat(args, " "))
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit status (%d+)\n$"))
  out = out:gsub("exit status %d+\n$", "")
  helper.show(out)
  return out, code
end

local function lines(s)
  local out = {}
  for line in s:gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

describe("examples", function()
  local sb, customer_id

  setup(function()
    sb = helper.sandbox { seed = 21, customers = 2, hardware = 130 }
    customer_id = sb.customers[1]
  end)

  teardown(function() sb:stop() end)

  it("quickstart lists the customers in a table", function()
    local out, code = run(sb, "quickstart.lua")
    assert.equal(0, code, out)
    for _, c in ipairs(sb:truth("customers")) do
      assert.truthy(out:find(c.customerId, 1, true))
      assert.truthy(out:find(c.customerName, 1, true))
    end
    assert.truthy(out:find("2 customer(s)", 1, true))
  end)

  it("inventory_csv exports every hardware row to CSV", function()
    local path = os.tmpname()
    local out, code = run(sb, "inventory_csv.lua", customer_id, path)
    assert.equal(0, code, out)
    local f = assert(io.open(path))
    local csv = f:read("*a")
    f:close()
    os.remove(path)
    local rows = lines((csv:gsub("\r", "")))
    local truth = sb:truth("hardware", customer_id)
    assert.equal(#truth + 1, #rows)
    assert.truthy(rows[1]:find("^serialNumber,productId,"))
    for i, item in ipairs(truth) do
      assert.truthy(rows[i + 1]:find(item.serialNumber, 1, true))
      assert.truthy(rows[i + 1]:find(tostring(item.hwInstanceId), 1, true))
    end
    assert.truthy(out:find(#truth .. " hardware row(s) written", 1, true))
  end)

  it("eol_report joins devices with their bulletin's last date of support", function()
    local out, code = run(sb, "eol_report.lua", customer_id)
    assert.equal(0, code, out)
    local bulletins = {}
    for _, b in ipairs(sb:truth("hardware_eol_bulletins", customer_id)) do
      bulletins[tostring(b.hwEolInstanceId)] = b
    end
    local devices = sb:truth("hardware_eol", customer_id)
    assert.is_true(#devices > 0)
    for _, d in ipairs(devices) do
      local b = bulletins[tostring(d.hwEolInstanceId)]
      local ldos = (b and b.lastDateOfSupport or "unknown"):gsub("%p", "%%%0")
      local pattern = tostring(d.hwInstanceId) .. " [^\n]*" .. ldos
      assert.truthy(out:find(pattern), "no line for " .. tostring(d.hwInstanceId))
    end
    assert.truthy(out:find(#devices .. " device(s)", 1, true))
  end)

  it("advisories lists each device's advisories with the bulletin's impact rating", function()
    local out, code = run(sb, "advisories.lua", customer_id)
    assert.equal(0, code, out)
    local rating = {}
    for _, b in ipairs(sb:truth("security_advisory_bulletins", customer_id)) do
      rating[tostring(b.securityAdvisoryInstanceId)] = b
    end
    local rows = sb:truth("security_advisories", customer_id)
    assert.is_true(#rows > 0)
    local devices = {}
    for _, r in ipairs(rows) do
      devices[tostring(r.neInstanceId)] = true
      local b = rating[tostring(r.securityAdvisoryInstanceId)]
      assert.truthy(out:find(b.securityImpactRating .. "%s+%S*%s*" .. b.advisoryId:gsub("%p", "%%%0")),
        "missing " .. b.advisoryId)
    end
    local n = 0
    for _ in pairs(devices) do n = n + 1 end
    assert.truthy(out:find(n .. " device(s) affected", 1, true))
  end)

  it("fail with a clear message and no secret when the credentials are wrong", function()
    local bad = setmetatable({ env = function()
      local e = sb:env()
      e.CXCLOUD_CLIENT_SECRET = "not-the-secret-42"
      return e
    end }, { __index = sb })
    local out, code = run(bad, "quickstart.lua")
    assert.not_equal(0, code)
    assert.truthy(out:find("auth", 1, true))
    assert.is_nil(out:find("not-the-secret-42", 1, true))
  end)
end)
