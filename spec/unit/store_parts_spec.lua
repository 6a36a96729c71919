-- The store's pure parts: canonical JSON, natural keys, changed fields, store targets.
local canon = require "cxcloud.store.canon"
local item = require "cxcloud.store.item"
local backend = require "cxcloud.store.backend"
local null = require("cxcloud.core").null

describe("canonical JSON", function()
  it("sorts object keys at every depth and writes numbers one way", function()
    local a = canon.encode { b = 1, a = { z = true, y = { 3, 2.5, null } }, c = "x\"\n\1" }
    assert.equal('{"a":{"y":[3,2.5,null],"z":true},"b":1,"c":"x\\"\\n\\u0001"}', a)
    local t = {}
    for i = 30, 1, -1 do t["k" .. i] = i end
    local u = {}
    for i = 1, 30 do u["k" .. i] = i end
    assert.equal(canon.encode(t), canon.encode(u))
    assert.equal("0.1", canon.number(0.1))
    assert.equal("1e+300", canon.number(1e300))
    assert.equal("12", canon.number(12.0))
    assert.equal("null", canon.number(0 / 0))
    assert.equal(0.1 + 0.2, tonumber(canon.number(0.1 + 0.2)))
  end)

  it("gives each value its column: text, exact digits, true/false, JSON", function()
    assert.same({ "abc", "text" }, { canon.column_value("abc") })
    assert.same({ "42", "number" }, { canon.column_value(42) })
    assert.same({ "true", "text" }, { canon.column_value(true) })
    assert.same({ '["a"]', "text" }, { canon.column_value { "a" } })
    assert.same({ nil, "text" }, { canon.column_value(nil) })
  end)
end)

describe("an item's identity", function()
  it("joins the key fields, escaping the separator, and has none without them", function()
    assert.equal("A|B", item.key({ x = "A", y = "B" }, { "x", "y" }))
    assert.equal("A\\|1|\\\\", item.key({ x = "A|1", y = "\\" }, { "x", "y" }))
    assert.is_nil(item.key({ x = "A" }, { "x", "y" }))
    assert.is_nil(item.key({ x = {} }, { "x" }))
    assert.equal("12", item.key({ x = 12 }, { "x" }))
    assert.equal("K#d", item.content_key("d", "K"))
    assert.equal("#d", item.content_key("d"))
  end)

  it("digests the canonical text, the same whatever the key order", function()
    local t1, d1 = item.canonical { a = 1, b = 2 }
    local t2, d2 = item.canonical { b = 2, a = 1 }
    assert.equal(t1, t2)
    assert.equal(d1, d2)
    assert.matches("^%x+$", d1)
    assert.equal(32, #d1)
    assert.is_not.equal(d1, select(2, item.canonical { a = 1, b = 3 }))
  end)

  it("names the fields that differ, added and dropped ones included", function()
    assert.same({ "b", "c", "d" }, item.changed_fields({ a = 1, b = 2, c = { 1 } }, { a = 1, b = 3,
      c = { 2 }, d = 0 }))
    assert.same({ "x" }, item.changed_fields({ x = 1 }, {}))
    assert.same({}, item.changed_fields({ n = { a = 1, b = 2 } }, { n = { b = 2, a = 1 } }))
  end)
end)

describe("a store target", function()
  it("is a file path or a postgresql:// URI, decoded", function()
    assert.same({ kind = "sqlite", path = "cx.sqlite", shown = "cx.sqlite" }, backend.parse("cx.sqlite"))
    local t = backend.parse("postgresql://me:p%40ss@db.example:6543/cx%20data?sslmode=require")
    assert.equal("postgresql", t.kind)
    assert.equal("me", t.user)
    assert.equal("p@ss", t.password)
    assert.equal("db.example", t.host)
    assert.equal(6543, t.port)
    assert.equal("cx data", t.dbname)
    assert.equal("postgresql://me@db.example:6543/cx data", t.shown)
    assert.equal("::1", backend.parse("postgres://u@[::1]:5/d").host)
  end)

  it("refuses another scheme without showing its password, and a non-string", function()
    local t, err = backend.parse("mysql://u:secret@h/d")
    assert.is_nil(t)
    assert.equal("unsupported store 'mysql://h/d': a file path (SQLite) or a postgresql:// URI is"
      .. " accepted", err)
    assert.has_error(function() backend.parse("") end)
    assert.has_error(function() backend.parse(nil) end)
  end)
end)
