-- core.digest: MurmurHash3 x64 128 with seed 0, as 32 lowercase hex digits (h1 then h2, each
-- little-endian). The store keeps these digests in databases and compares them across
-- machines and runs, so the known values below must never change.
local core = require "cxcloud.core"

describe("core.digest", function()
  it("gives the published algorithm's values", function()
    assert.equal("00000000000000000000000000000000", core.digest(""))
    assert.equal("897859f6655555855a890e51483ab5e6", core.digest("a"))
    assert.equal("029bbd41b3a7d8cb191dae486a901e5b", core.digest("hello"))
    assert.equal("6c1b07bc7bbc4be347939ac4a93c437a",
      core.digest("The quick brown fox jumps over the lazy dog"))
  end)

  it("hashes every byte: embedded zeros and long strings", function()
    assert.equal("dbb5e6c1d292ef2db4b207b3d0f0a9a3", core.digest("a\0b"))
    assert.are_not.equal(core.digest("a\0b"), core.digest("a\0c"))
    assert.are_not.equal(core.digest("\0"), core.digest("\0\0"))
    local bytes = {}
    for i = 0, 999 do bytes[#bytes + 1] = string.char(i * 7 % 256) end
    assert.equal("776c24f7d85cc10dd803dd1cde42d46a", core.digest(table.concat(bytes)))
  end)

  it("is a function of the bytes alone", function()
    local row = '{"customerId":"1","serialNumber":"FOC1234X0AB","n":' .. ("9"):rep(900) .. "}"
    local copy = table.concat({ row:sub(1, 10), row:sub(11) })
    assert.equal(core.digest(row), core.digest(copy))
    assert.matches("^[0-9a-f]+$", core.digest(row))
    assert.equal(32, #core.digest(row))
  end)

  it("changes with any one byte changed, added or removed", function()
    local s = ("x"):rep(100)
    local seen = { [core.digest(s)] = true }
    for i = 1, #s do
      local changed = s:sub(1, i - 1) .. "y" .. s:sub(i + 1)
      local d = core.digest(changed)
      assert.is_nil(seen[d], "same digest with byte " .. i .. " changed")
      seen[d] = true
    end
    for _, other in ipairs({ s .. "x", s:sub(2), s .. "\0" }) do
      assert.is_nil(seen[core.digest(other)])
      seen[core.digest(other)] = true
    end
  end)

  it("takes a string only, and says what it got", function()
    for _, v in ipairs({ { 1, "number" }, { true, "boolean" }, { {}, "table" } }) do
      local ok, err = pcall(core.digest, v[1])
      assert.is_false(ok)
      assert.equal("digest: expected a string, got " .. v[2], err)
    end
    local ok, err = pcall(core.digest)
    assert.is_false(ok)
    assert.equal("digest: expected a string, got no value", err)
  end)
end)
