-- The engine's structure: its modules import nothing above them; a request's state is one
-- field, moved by the transitions of cxcloud.engine.request; a wait on a request that can
-- never end fails instead of hanging, through every driver (fake core).
local fakecore = require "spec.support.fakecore"
local request = require "cxcloud.engine.request"

-- the repository's root: this file is spec/unit/engine_structure_spec.lua
local ROOT = (debug.getinfo(1, "S").source:gsub("^@", "")
  :match("^(.-)/?spec/unit/engine_structure_spec%.lua$"))
if ROOT == nil or ROOT == "" then ROOT = "." end

local URL = "https://api.test/cs/api/v2/x"

describe("engine structure", function()
  it("engine modules require only engine modules and the shared helpers below them", function()
    local allowed = { ["cxcloud.errors"] = true, ["cxcloud.compat"] = true,
      ["cxcloud.proxy"] = true, ["cxcloud.curl"] = true }
    local p = assert(io.popen("ls -1 '" .. ROOT .. "/lua/cxcloud/engine'"))
    local files = {}
    for name in p:lines() do
      if name:match("%.lua$") then files[#files + 1] = name end
    end
    p:close()
    assert.is_true(#files >= 10, #files)
    for _, name in ipairs(files) do
      local f = assert(io.open(ROOT .. "/lua/cxcloud/engine/" .. name, "rb"))
      local src = f:read("*a")
      f:close()
      for mod in src:gmatch("require%s*%(?%s*[\"']([^\"']+)[\"']") do
        assert.is_true(allowed[mod] or mod:match("^cxcloud%.engine%.") ~= nil,
          name .. " requires " .. mod)
      end
    end
  end)

  describe("a request's state", function()
    it("is one field, moved by the transitions", function()
      local req = request.new(URL, 3)
      assert.equal("queued", req.state)
      assert.equal(req, req.group)
      assert.is_false(request.done(req))
      request.sent(req, 7, 1000)
      assert.same({ "inflight", 7, 1 }, { req.state, req.id, req.attempts })
      assert.is_false(request.done(req))
      request.requeue(req, true)
      assert.same({ "queued", 0 }, { req.state, req.attempts })
      request.sent(req, 8, 1001)
      request.answered(req, '{"a":1}', 200, "application/json")
      assert.equal("answered", req.state)
      assert.equal('{"a":1}', req.body) -- the wire text, until it is taken
      assert.is_true(request.done(req))
      request.ok(req, { a = 1 })
      assert.same({ "ok", { a = 1 } }, { req.state, req.body })
    end)

    it("a cancelled request carries its error; an interruption replaces it", function()
      local req = request.new(URL)
      request.cancel(req, "its query pass was closed")
      assert.equal("cancelled", req.state)
      assert.equal("the request was cancelled: its query pass was closed", req.err.message)
      assert.equal("GET", req.err.method)
      local e = { message = "interrupted!" }
      request.interrupt(req, e)
      assert.same({ "interrupted", e }, { req.state, req.err })
    end)

    it("a failed request keeps its own error when interrupted; an answer is dropped", function()
      local failed = request.new(URL)
      local own = { message = "503" }
      request.fail(failed, own)
      request.interrupt(failed, { message = "later" })
      assert.same({ "interrupted", own }, { failed.state, failed.err })
      local answered = request.new(URL)
      request.answered(answered, "[]", 200)
      request.interrupt(answered, { message = "verbose broke" })
      assert.is_nil(answered.body)
      assert.equal("verbose broke", answered.err.message)
    end)
  end)

  describe("a wait on a request that was never queued", function()
    local function lost()
      return request.new(URL) -- not in the engine's queue: nothing will ever send it
    end

    it("fails at once when blocking", function()
      local fake = fakecore.new()
      local eng = fake:engine()
      local req = eng:wait(lost())
      assert.equal("failed", req.state)
      assert.truthy(req.err.message:find("not queued", 1, true))
      assert.is_table(eng:get(URL)) -- and the client goes on
    end)

    it("fails at once with the wait option, which it never calls with nothing to wait for",
      function()
        local fake = fakecore.new()
        local waits = 0
        local eng = fake:engine { wait = function(_, s)
          waits = waits + 1
          fake.now = fake.now + (s or 0)
        end }
        local req = eng:wait(lost())
        assert.equal("failed", req.state)
        assert.equal(0, waits)
        assert.is_table(eng:get(URL))
      end)

    it("fails that call of cx:map only #yields", function()
      local fake = fakecore.new()
      local eng = fake:engine { rate_limit = 0 }
      local results, errs = eng:map({ 1, 2, 3 }, function(i)
        if i == 2 then return eng:wait(lost()).state end
        return (assert(eng:get(URL .. "?i=" .. i)))
      end)
      assert.is_table(results[1])
      assert.is_table(results[3])
      assert.truthy(tostring(errs[2]):find("not queued", 1, true))
    end)
  end)
end)
