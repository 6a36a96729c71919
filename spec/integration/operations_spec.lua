-- Every operation: a full pull equals the sandbox's generated truth; a filter,
-- `fields`, `sort`, and a bad parameter each behave as the API documents.
local cxcloud = require "cxcloud"
local operations = require "cxcloud.operations"
local helper = require "spec.support.helper"

-- A string-valued item field that is also a documented filter parameter of `op`.
local function filter_param(op, item)
  for _, p in ipairs(op.params) do
    local name = p[1]
    if name ~= "customerId" and item[name] ~= nil and item[name] ~= "" then return name end
  end
end

local function string_field(item, not_this)
  local names = {}
  for k, v in pairs(item) do
    if type(v) == "string" and k ~= not_this then names[#names + 1] = k end
  end
  table.sort(names)
  return names[1]
end

describe("operations", function()
  local sb, cx, customer_id

  setup(function()
    sb = helper.sandbox { seed = 11, customers = 3, hardware = 45, bulletins = 25 }
    cx = helper.client(sb, { page_size = 7 })
    customer_id = sb.customers[2]
  end)

  teardown(function()
    cx:close()
    sb:stop()
  end)

  it("covers the contract's 14 operations", function()
    assert.equal(14, #operations)
  end)

  for _, op in ipairs(operations) do
    describe(op.name, function()
      local view_params = function(extra)
        local p = {}
        if op.name ~= "customers" then p.customerId = customer_id end
        for k, v in pairs(extra or {}) do p[k] = v end
        return p
      end
      local truth_id = function() return op.name ~= "customers" and customer_id or nil end

      it("pulls every page, equal to the sandbox's truth", function()
        local truth = sb:truth(op.name, truth_id())
        assert.is_true(#truth > 0, "no data generated for " .. op.name)
        local got = assert(cx[op.name](cx, view_params()):all())
        assert.equal(#truth, #got)
        assert.same(truth, got)
      end)

      it("filters on a documented parameter", function()
        local truth = sb:truth(op.name, truth_id())
        local name = filter_param(op, truth[#truth])
        assert.is_string(name, "no filterable field in " .. op.name)
        local value = truth[#truth][name]
        local expected = sb:truth(op.name, truth_id(), { [name] = value })
        local got = assert(cx[op.name](cx, view_params { [name] = value }):all())
        assert.is_true(#got >= 1)
        assert.same(expected, got)
        for _, item in ipairs(got) do assert.equal(tostring(value), tostring(item[name])) end
      end)

      it("reduces items to `fields` (list or comma string)", function()
        local truth = sb:truth(op.name, truth_id())
        local a = string_field(truth[1])
        local b = string_field(truth[1], a)
        local got = assert(cx[op.name](cx, view_params { fields = { a, b } }):all())
        local got2 = assert(cx[op.name](cx, view_params { fields = a .. "," .. b }):all())
        assert.same(got, got2)
        assert.equal(#truth, #got)
        for i, item in ipairs(got) do
          for k in pairs(item) do assert.is_true(k == a or k == b, "unexpected field " .. k) end
          assert.equal(truth[i][a], item[a])
        end
      end)

      it("sorts on one field, descending", function()
        local truth = sb:truth(op.name, truth_id())
        local field = string_field(truth[1])
        local expected = sb:truth(op.name, truth_id(), { sort = field .. ":DESC" })
        local got = assert(cx[op.name](cx, view_params { sort = field .. ":DESC" }):all())
        assert.same(expected, got)
        for i = 2, #got do assert.is_true((got[i - 1][field] or "") >= (got[i][field] or "")) end
      end)

      it("rejects an unknown parameter before sending anything", function()
        local mark = helper.mark(sb)
        local err = helper.raised(cx[op.name], cx, view_params { colour = "blue" })
        assert.equal("usage", err.kind)
        local msg = helper.show(err)
        assert.truthy(msg:find("colour", 1, true))
        assert.truthy(msg:find(op.params[#op.params][1], 1, true)) -- lists the valid names
        assert.equal(0, #helper.since(sb, mark))
      end)

      it("is reachable from a customer view with customerId filled in", function()
        local view = cx:customer(customer_id)
        local q = view[op.name](view)
        local first = q:first()
        if op.name == "customers" then
          assert.equal(customer_id, first.customerId)
        else
          assert.same(sb:truth(op.name, customer_id)[1], first)
        end
      end)
    end)
  end

  describe("parameter checks", function()
    it("suggests the close name for a typo", function()
      local err = helper.raised(cx.hardware, cx, { costumerId = customer_id })
      assert.equal("usage", err.kind)
      assert.truthy(tostring(err):find("did you mean 'customerId'", 1, true))
    end)

    it("requires customerId where the API does, and says so", function()
      local err = helper.raised(cx.hardware, cx, {})
      assert.equal("usage", err.kind)
      assert.truthy(tostring(err):find("customerId", 1, true))
      assert.is_table(cx:hardware_eol_bulletins():first()) -- optional on bulletins
    end)

    it("checks types, sort and paging options", function()
      assert.equal("usage", helper.raised(cx.hardware, cx, { customerId = {} }).kind)
      assert.equal("usage", helper.raised(cx.hardware, cx,
        { customerId = customer_id, sort = "serialNumber" }).kind)
      assert.equal("usage", helper.raised(cx.hardware, cx,
        { customerId = customer_id, sort = "serialNumber:UP" }).kind)
      assert.equal("usage", helper.raised(cx.hardware, cx,
        { customerId = customer_id, page_size = 0 }).kind)
      assert.equal("usage", helper.raised(cx.hardware, cx,
        { customerId = customer_id, start_page = 0 }).kind)
      assert.equal("usage", helper.raised(cx.hardware, cx,
        { customerId = customer_id, page = 1 }).kind)
      assert.equal("usage", helper.raised(cx.hardware, cx,
        { customerId = customer_id, hwInstanceId = true }).kind)
    end)

    it("sends ID filters given as numbers or digit strings", function()
      local truth = sb:truth("hardware", customer_id)
      local id = truth[3].hwInstanceId
      local a = assert(cx:hardware { customerId = customer_id, hwInstanceId = id }:all())
      local b = assert(cx:hardware { customerId = customer_id, hwInstanceId = tostring(id) }:all())
      assert.same(a, b)
      assert.equal(1, #a)
    end)
  end)

  it("answers 403 for a customer the credentials are not entitled to", function()
    local other = helper.sandbox { seed = 11, customers = 3, entitled = { 1 } }
    local c = helper.client(other)
    finally(function() c:close() end)
    local list, err = c:hardware { customerId = other.all_customers[2] }:all()
    other:stop()
    assert.is_nil(list)
    assert.equal("http", err.kind)
    assert.equal(403, err.status)
  end)

  it("get() reaches any path, and a 404 for an unknown one", function()
    local body = assert(cx:get("/inventory/hardware", { customerId = customer_id, page = 1, rows = 2 }))
    assert.equal(2, #body.data)
    assert.same({ page = 1, pages = 23, rows = 2, total = 45 }, body.pagination)
    local none, err = cx:get("/inventory/nothing-here")
    assert.is_nil(none)
    assert.equal(404, err.status)
    assert.equal("http", err.kind)
  end)

  it("the literal string \"null\" stays, JSON null becomes nil", function()
    local saw_literal = false
    for c in cx:customers() do
      for _, v in pairs(c) do
        if v == "null" then saw_literal = true end
        assert.is_not_nil(v)
        assert.not_equal(cxcloud, v)
      end
    end
    assert.is_true(saw_literal)
  end)
end)
