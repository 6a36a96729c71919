-- core.lockfile: advisory slots on a lock file (fcntl byte-range locks), seen from other
-- processes: a child interpreter of the same Lua with the same module paths opens the same
-- file and reports what its lf:try calls return.
local core = require "cxcloud.core"

-- the interpreter running this spec, for the children
local LUA = rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- this process's pid: /proc/self is whoever reads it
local function own_pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = tonumber(f:read("*l"):match("^%d+"))
  f:close()
  return pid
end

-- A child that opens path, tries each of slots and prints "<slot> <ok> <pid>" per slot, then,
-- with hold, prints "holding <its pid>" and sleeps (up to 30 s) until killed.
local function spawn(path, slots, hold)
  local script = ([[
    local core = require "cxcloud.core"
    local lf = assert(core.lockfile(%q))
    for _, slot in ipairs({ %s }) do
      local ok, pid = lf:try(slot)
      io.write(slot, " ", tostring(ok), " ", tostring(pid), "\n")
    end
    if %s then
      local f = io.open("/proc/self/stat")
      io.write("holding ", f:read("*l"):match("^%%d+"), "\n")
      io.stdout:flush()
      core.sleep(30)
    end
  ]]):format(path, table.concat(slots, ", "), tostring(hold or false))
  return assert(io.popen(("exec env LUA_PATH=%s LUA_CPATH=%s %s -e %s"):format(
    quote(package.path), quote(package.cpath), LUA, quote(script))))
end

-- What a child sees for each of slots: { [slot] = { ok, pid } } as strings.
local function child_sees(path, slots)
  local p = spawn(path, slots)
  local out = p:read("*a")
  p:close()
  local seen = {}
  for slot, ok, pid in out:gmatch("(%d+) (%S+) (%S+)\n") do
    seen[tonumber(slot)] = { ok, pid }
  end
  assert(next(seen), "the child printed: " .. out)
  return seen
end

describe("core.lockfile", function()
  local dir, path, lf

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. quote(dir)))
    path = dir .. "/sync.lock"
    lf = assert(core.lockfile(path))
  end)

  after_each(function()
    lf:close()
    os.remove(path)
    os.remove(dir)
  end)

  it("excludes other processes from a slot it holds, and names itself as the holder", function()
    assert.is_true(lf:try(5))
    assert.is_true(lf:try(5)) -- ours already: taken again
    local seen = child_sees(path, { 5, 6 })
    assert.same({ "false", tostring(own_pid()) }, seen[5])
    assert.same({ "true", "nil" }, seen[6])
    assert.is_true(lf:release(5))
    assert.same({ "true", "nil" }, child_sees(path, { 5 })[5])
  end)

  it("gets a slot back at once when its holder is killed with SIGKILL", function()
    local p = spawn(path, { 7 }, true)
    assert.equal("7 true nil", p:read("*l"))
    local child = tonumber(p:read("*l"):match("^holding (%d+)$"))
    local ok, holder = lf:try(7)
    assert.is_false(ok)
    assert.equal(child, holder)
    assert(os.execute("kill -KILL " .. child))
    p:close() -- waits for the child
    assert.is_true(lf:try(7))
  end)

  it("drops every slot on close, on garbage collection and (Lua 5.4) at a to-be-closed end", function()
    assert.is_true(lf:try(1))
    assert.is_true(lf:close())
    assert.is_true(lf:close()) -- again: nothing to do
    assert.same({ "true", "nil" }, child_sees(path, { 1 })[1])

    local other = assert(core.lockfile(path))
    assert.is_true(other:try(2))
    other = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.same({ "true", "nil" }, child_sees(path, { 2 })[2])

    if _VERSION == "Lua 5.4" then
      local chunk = assert(load([[
        local core, path = ...
        local scoped <close> = assert(core.lockfile(path))
        assert(scoped:try(3))
      ]]))
      chunk(core, path)
      assert.same({ "true", "nil" }, child_sees(path, { 3 })[3])
    end
  end)

  it("is the process's: a second handle does not exclude the first, and closing it drops both", function()
    assert.is_true(lf:try(4))
    local second = assert(core.lockfile(path))
    assert.is_true(second:try(4))
    second:close()
    assert.same({ "true", "nil" }, child_sees(path, { 4 })[4])
  end)

  it("shows its path and whether it is closed", function()
    assert.equal("cxcloud.lockfile: " .. path, tostring(lf))
    lf:close()
    assert.equal("cxcloud.lockfile: " .. path .. " (closed)", tostring(lf))
    local ok, err = pcall(lf.try, lf, 1)
    assert.is_false(ok)
    assert.equal("lockfile:try: the lock file " .. path .. " is closed", err)
  end)

  it("is created for its owner alone", function()
    local p = assert(io.popen("stat -c %a " .. quote(path)))
    local mode = p:read("*l")
    p:close()
    assert.equal("600", mode)
  end)

  it("returns nil and the path with the system's reason when it cannot open", function()
    local bad = dir .. "/missing/sync.lock"
    local none, err = core.lockfile(bad)
    assert.is_nil(none)
    assert.equal(bad .. ": No such file or directory", err)
    none, err = core.lockfile(dir)
    assert.is_nil(none)
    assert.equal(dir .. ": Is a directory", err)
  end)

  it("takes slots 0..2^31-1 only, and raises for anything else", function()
    assert.is_true(lf:try(0))
    assert.is_true(lf:try(2147483647))
    assert.is_true(lf:release(2147483647))
    for _, bad in ipairs({ { -1, "%-1" }, { 2147483648, "2147483648" },
                           { 1.5, "a non%-integral number" }, { "1", "string" }, { {}, "table" } }) do
      local ok, err = pcall(lf.try, lf, bad[1])
      assert.is_false(ok)
      assert.matches("^lockfile:try: slot must be an integer 0%.%.2147483647, got " .. bad[2] .. "$", err)
    end
    local ok, err = pcall(lf.try, lf)
    assert.is_false(ok)
    assert.equal("lockfile:try: slot must be an integer 0..2147483647, got no value", err)
    assert.has_error(function() lf:release(-1) end)
  end)
end)
