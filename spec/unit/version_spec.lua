-- The version has one owner, lua/cxcloud/init.lua (`cxcloud._VERSION`); everything else
-- derives from it (the User-Agent: spec/integration/client_spec.lua) or is checked here: a
-- rockspec is a development one ("scm-N") or the release of this version ("X.Y.Z-N", in a
-- file of that name), and the pages that show a version show this one. The C core has none.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"

local ROOT = (debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.-)/?spec/unit/version_spec%.lua$"))
if ROOT == nil or ROOT == "" then ROOT = "." end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Files under ROOT matching a shell pattern (relative paths).
local function glob(pattern)
  local out = {}
  local p = assert(io.popen("cd '" .. ROOT .. "' && ls -1 " .. pattern .. " 2>/dev/null"))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

describe("the version", function()
  local version = cxcloud._VERSION:match("^cxcloud (%d+%.%d+%.%d+)$")

  it("is cxcloud._VERSION, X.Y.Z, and the C core has none of its own", function()
    assert.truthy(version, cxcloud._VERSION)
    assert.is_nil(core.VERSION)
  end)

  it("of every rockspec is scm or this version, as its file name says", function()
    local specs = glob("*.rockspec rockspecs/*.rockspec")
    assert.is_true(#specs > 0, "no rockspec found")
    for _, path in ipairs(specs) do
      local v = read(ROOT .. "/" .. path):match('\nversion%s*=%s*"([^"]+)"')
      assert.truthy(v, path .. ": no version")
      local base = v:match("^(.-)%-%d+$")
      assert.truthy(base == "scm" or base == version,
        ("%s: version %s, the library is %s"):format(path, v, version))
      local package = read(ROOT .. "/" .. path):match('\npackage%s*=%s*"([^"]+)"')
      assert.equal(package .. "-" .. v .. ".rockspec", path:match("[^/]+$"))
    end
  end)

  it("shown in the documentation is this one", function()
    for _, path in ipairs(glob("README.md doc/*.md")) do
      for shown in read(ROOT .. "/" .. path):gmatch("cxcloud (%d+%.%d+%.%d+)") do
        assert.equal(version, shown, path)
      end
    end
  end)
end)
