-- The README's recipes, each run as written through a shell against a sandbox with the
-- defaults `cxcloud sandbox` starts with: exit status 0 and something written.
local helper = require "spec.support.helper"
local quote = require("cxcloud.shell").quote

local function recipes()
  local f = assert(io.open("README.md"))
  local text = f:read("*a")
  f:close()
  local block = assert(text:match("\n## Recipes\n.-```sh\n(.-)```"), "README has no Recipes block")
  local out = {}
  for line in block:gmatch("[^\n]+") do
    if line:match("^cxcloud ") then out[#out + 1] = line end
  end
  return out
end

describe("the README's recipes", function()
  local sb, dir
  setup(function()
    sb = helper.sandbox {}
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. quote(dir)))
  end)
  teardown(function()
    sb:stop()
    os.execute("rm -rf " .. quote(dir))
  end)

  it("work as written, in order", function()
    local list = recipes()
    assert.is_true(#list >= 6, #list)
    local env = {}
    for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. quote(v) end
    local bin = os.getenv("PWD") .. "/bin"
    local function run(line)
      local cmd = ("cd %s && env %s PATH=%s:\"$PATH\" LUA_PATH=%s LUA_CPATH=%s %s 2>&1; echo \"exit $?\"")
        :format(quote(dir), table.concat(env, " "), quote(bin), quote(package.path),
          quote(os.getenv("PWD") .. "/?.so;;"), line)
      local p = io.popen(cmd)
      local out = p:read("*a")
      p:close()
      helper.show(out)
      assert.equal("exit 0", (out:match("exit %d+\n?$"):gsub("\n", "")), line .. "\n" .. out)
      return out
    end
    local sync
    for _, line in ipairs(list) do
      if line:match("^cxcloud sync ") then sync = line end
      if line:match("^cxcloud changes ") then
        -- a day later: the service's data moved, the daily sync ran again
        sb:add_rows { op = "hardware", customerId = 1, count = 3 }
        run(assert(sync, "a changes recipe before any sync recipe"))
      end
      local out = run(line)
      local file = line:match("%-%-output (%S+)")
      if file then
        local f = assert(io.open(dir .. "/" .. file), file)
        assert.is_true(#f:read("*a") > 100, file)
        f:close()
      elseif not line:match("^cxcloud sync ") then
        assert.is_true(#out > 100, line .. "\n" .. out)
      end
    end
  end)
end)
