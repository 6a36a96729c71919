-- Unit tests of the query cursor over a fake core (spec/support/fakecore.lua): leaving a loop
-- early, by every idiom, costs nothing more, with the query still referenced and no
-- garbage collection.
local fakecore = require "spec.support.fakecore"

-- the API requests sent by f(), as "page/rows" strings
local function sent_by(fake, f)
  local mark = fake:mark()
  f()
  local out = {}
  for _, r in ipairs(fake:api(mark + 1)) do out[#out + 1] = r.page .. "/" .. r.rows end
  return out
end

describe("cursor (fake core)", function()
  before_each(function() collectgarbage("stop") end)
  after_each(function() collectgarbage("restart") end)

  local function setup_client(extra)
    local fake = fakecore.new { total = 200 }
    local opts = { page_size = 10, rate_limit = 0 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    local eng, cfg = fake:engine(opts)
    return fake, eng, cfg
  end

  -- after leaving the loop, count() must send exactly its own one request
  local function assert_next_call_clean(fake, eng, cfg)
    local n
    local sent = sent_by(fake, function()
      n = assert(fake:query(eng, cfg):count())
    end)
    assert.equal(200, n)
    assert.same({ "1/1" }, sent)
  end

  it("sends every page once, in page order, at most `concurrency` in flight", function()
    local fake, eng, cfg = setup_client { concurrency = 4 }
    local most = 0
    fake.respond = function()
      local n = fake.client:pending() + 1
      if n > most then most = n end
    end
    local got = 0
    for _ in fake:query(eng, cfg) do got = got + 1 end
    assert.equal(200, got)
    local pages = {}
    for i, r in ipairs(fake:api()) do pages[i] = r.page end
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, pages)
    assert.equal(4, most)
  end)

  it("`break` out of `for item in q` sends nothing more (query still referenced)", function()
    local fake, eng, cfg = setup_client()
    local q = fake:query(eng, cfg)
    local n = 0
    local sent = sent_by(fake, function()
      for _ in q do
        n = n + 1
        if n == 15 then break end
      end
    end)
    assert.equal(15, n)
    assert.is_true(#sent <= 1 + 10, #sent)
    assert_next_call_clean(fake, eng, cfg)
    assert.is_table(q) -- still referenced
  end)

  it("`break` out of items() and pages() sends nothing more and cancels what is in flight",
    function()
      for _, idiom in ipairs { "items", "pages" } do
        local fake, eng, cfg = setup_client()
        -- later pages take longer: some are still in flight at the break
        fake.respond = function(rec) return nil, rec.page and rec.page * 0.05 end
        local q = fake:query(eng, cfg)
        local n = 0
        for _ in q[idiom](q) do
          n = n + 1
          if n == (idiom == "items" and 15 or 2) then break end
        end
        if _VERSION == "Lua 5.4" then -- to-be-closed iteration: what is in flight is cancelled
          assert.equal(0, fake.client:pending(), idiom)
          assert.is_true(#fake.cancelled > 0, idiom)
        end
        assert_next_call_clean(fake, eng, cfg)
      end
    end)

  it("an error raised in the loop body sends nothing more, for every idiom", function()
    for _, idiom in ipairs { "call", "items", "pages" } do
      local fake, eng, cfg = setup_client()
      local q = fake:query(eng, cfg)
      local n = 0
      local ok, err = pcall(function()
        local iter, s, c, close = q, nil, nil, nil
        if idiom ~= "call" then iter, s, c, close = q[idiom](q) end
        for _ in iter, s, c, close do -- Lua 5.4 closes `close` on break, error and return
          n = n + 1
          if n == 12 then error("boom", 0) end
        end
      end)
      assert.is_false(ok)
      assert.equal("boom", err)
      assert_next_call_clean(fake, eng, cfg)
    end
  end)

  it("`return` from inside the loop sends nothing more", function()
    local fake, eng, cfg = setup_client()
    local q = fake:query(eng, cfg)
    local function first_over(k)
      for item in q do
        if item.n > k then return item end
      end
    end
    assert.equal(26, first_over(25).n)
    assert_next_call_clean(fake, eng, cfg)
    -- and another pass of the same query starts over, dropping the left one's requests
    local sent = sent_by(fake, function() assert.equal(2, first_over(1).n) end)
    assert.equal("1/10", sent[1])
    assert_next_call_clean(fake, eng, cfg)
    assert.is_true(#eng.queue <= 10)
  end)

  it("a collected cursor's queued requests are dropped from the engine", function()
    local fake, eng, cfg = setup_client()
    do
      local q = fake:query(eng, cfg)
      local n = 0
      for _ in q do n = n + 1; if n == 15 then break end end
    end
    assert.is_true(#eng.queue > 0)
    collectgarbage("restart")
    collectgarbage()
    collectgarbage()
    assert_next_call_clean(fake, eng, cfg)
    assert.equal(0, #eng.queue)
  end)

  it("a nested query inside a loop runs, and the outer loop goes on in order", function()
    local fake, eng, cfg = setup_client { concurrency = 3 }
    fake.total = 30
    local outer, inner = 0, 0
    for item in fake:query(eng, cfg) do
      outer = outer + 1
      assert.equal(outer, item.n)
      if item.n % 10 == 0 then inner = inner + assert(fake:query(eng, cfg):count()) end
    end
    assert.equal(30, outer)
    assert.equal(90, inner)
    -- every outer page exactly once
    local seen = {}
    for _, r in ipairs(fake:api()) do
      if r.rows == 10 then
        assert.is_nil(seen[r.page])
        seen[r.page] = true
      end
    end
    assert.same({ true, true, true }, seen)
  end)
end)
