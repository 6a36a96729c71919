-- Pure checks of parameter validation and the operations table (no network, no C core needed).
local params = require "cxcloud.params"
local operations = require "cxcloud.operations"
local errors = require "cxcloud.errors"

local DEFAULTS = { page_size = 100 }

local function check(opname, p, customer)
  return params.check(operations[opname], p, DEFAULTS, customer)
end

-- the error object raised by f, asserting its kind
local function raised(kind, f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(errors.is_error(err), "expected an error object, got " .. tostring(err))
  assert.are.equal(kind, err.kind)
  return err, tostring(err)
end

describe("operations table", function()
  local contract = {
    customers = "/customer-info/customer-details",
    hardware = "/inventory/hardware",
    network_elements = "/inventory/network-elements",
    contracts = "/contracts/contract-details",
    coverage = "/contracts/coverage",
    not_covered = "/contracts/not-covered",
    field_notices = "/product-alerts/field-notices",
    field_notice_bulletins = "/product-alerts/field-notice-bulletins",
    hardware_eol = "/product-alerts/hardware-eol",
    hardware_eol_bulletins = "/product-alerts/hardware-eol-bulletins",
    software_eol = "/product-alerts/software-eol",
    software_eol_bulletins = "/product-alerts/software-eol-bulletins",
    security_advisories = "/product-alerts/security-advisories",
    security_advisory_bulletins = "/product-alerts/security-advisory-bulletins",
  }

  it("has the 14 operations of the contract, by name and in order", function()
    assert.are.equal(14, #operations)
    local n = 0
    for name, path in pairs(contract) do
      n = n + 1
      assert.is_table(operations[name], name)
      assert.are.equal(path, operations[name].path)
    end
    assert.are.equal(14, n)
    assert.are.equal("customers", operations[1].name)
  end)

  it("marks customerId required except on customers and the bulletins", function()
    for _, op in ipairs(operations) do
      local optional = op.name == "customers" or op.name:find("_bulletins$") ~= nil
      assert.are.equal(optional and "optional" or "required", op.customer_id, op.name)
    end
  end)

  it("matches the parameter lists of cxcloud-api.json when it is present", function()
    local f = io.open("../shared/cxcloud-api.json") or io.open("/work/shared/cxcloud-api.json")
    if not f then return end
    local api = require("cjson").decode(f:read("*a"))
    f:close()
    local byname = {}
    for _, op in ipairs(operations) do byname[op.path] = op end
    for _, a in ipairs(api) do
      local op = assert(byname[a.path], a.path)
      local mine = {}
      for _, p in ipairs(op.params) do mine[p[1]] = p end
      for _, p in ipairs(a.params) do
        if p.name ~= "page" and p.name ~= "rows" and p.name ~= "sort" and p.name ~= "fields" then
          assert.is_table(mine[p.name], op.name .. "." .. p.name)
          assert.are.equal(p.type == "integer" and "id" or "string", mine[p.name][2])
        end
      end
    end
  end)
end)

describe("params.check", function()
  it("builds a sorted, encoded query", function()
    local plan = check("hardware", { serialNumber = "FOC 1&2", customerId = "abc123def",
      neInstanceId = 212334455 })
    assert.are.equal("customerId=abc123def&neInstanceId=212334455&serialNumber=FOC%201%262", plan.query)
    assert.are.equal(100, plan.page_size)
    assert.are.equal(1, plan.start_page)
    assert.is_nil(plan.max_items)
  end)

  it("suggests the close match for a misspelt parameter and lists the valid ones", function()
    local _, msg = raised("usage", check, "hardware", { costumerId = "x" })
    assert.matches("unknown parameter 'costumerId' for hardware", msg, 1, true)
    assert.matches("did you mean 'customerId'", msg, 1, true)
    assert.matches("valid: customerId, managedNeInstanceId", msg, 1, true)
    local _, msg2 = raised("usage", check, "hardware", { customer_id = "x" })
    assert.matches("did you mean 'customerId'", msg2, 1, true)
    local _, msg3 = raised("usage", check, "hardware", { customerId = "x", serialnumber = "y" })
    assert.matches("did you mean 'serialNumber'", msg3, 1, true)
  end)

  it("requires customerId where the API does", function()
    local _, msg = raised("usage", check, "hardware", {})
    assert.matches("hardware requires customerId", msg, 1, true)
    assert.has_no.errors(function() check("customers", nil) end)
    assert.has_no.errors(function() check("hardware_eol_bulletins", {}) end)
  end)

  it("checks types", function()
    raised("usage", check, "hardware", { customerId = true })
    raised("usage", check, "hardware", { customerId = "" })
    raised("usage", check, "hardware", { customerId = "a", neInstanceId = "12a" })
    raised("usage", check, "hardware", { customerId = "a", neInstanceId = 1.5 })
    raised("usage", check, "hardware", { customerId = "a", neInstanceId = -1 })
    raised("usage", check, "hardware", { customerId = "a", serialNumber = { "x" } })
    raised("usage", check, "customers", "abc")
    raised("usage", check, "customers", { [1] = "x" })
    -- integer IDs: integers or digit strings of any length (22 digits round-trip)
    local plan = check("hardware", { customerId = 12345, hwInstanceId = "1234567890123456789012" })
    assert.are.equal("customerId=12345&hwInstanceId=1234567890123456789012", plan.query)
  end)

  it("does not enforce enums (the v2 values are unverified)", function()
    assert.has_no.errors(function() check("hardware", { customerId = "a", hwType = "Brand New Type" }) end)
  end)

  it("takes fields as a list or a comma string, keeping unknown names", function()
    local a = check("hardware", { customerId = "a",
      fields = { "serialNumber", " productId ", "newV2Field" } })
    local b = check("hardware", { customerId = "a", fields = "serialNumber, productId,newV2Field" })
    assert.are.equal("customerId=a&fields=serialNumber,productId,newV2Field", a.query)
    assert.are.equal(a.query, b.query)
    raised("usage", check, "hardware", { customerId = "a", fields = "a,,b" })
    raised("usage", check, "hardware", { customerId = "a", fields = "serial number" })
    raised("usage", check, "hardware", { customerId = "a", fields = {} })
    raised("usage", check, "hardware", { customerId = "a", fields = 3 })
  end)

  it("checks sort: one field, ASC or DESC in any case", function()
    assert.are.equal("customerId=a&sort=serialNumber:DESC",
      check("hardware", { customerId = "a", sort = "serialNumber:desc" }).query)
    assert.are.equal("customerId=a&sort=serialNumber:ASC",
      check("hardware", { customerId = "a", sort = "serialNumber:ASC" }).query)
    raised("usage", check, "hardware", { customerId = "a", sort = "serialNumber" })
    raised("usage", check, "hardware", { customerId = "a", sort = "a:ASC,b:DESC" })
    raised("usage", check, "hardware", { customerId = "a", sort = "a:UP" })
  end)

  it("checks the query options and refuses page/rows", function()
    local plan = check("hardware", { customerId = "a", page_size = 500, max_items = 0, start_page = 7 })
    assert.are.same({ 500, 0, 7 }, { plan.page_size, plan.max_items, plan.start_page })
    assert.are.equal("customerId=a", plan.query)
    raised("usage", check, "hardware", { customerId = "a", page_size = 0 })
    raised("usage", check, "hardware", { customerId = "a", page_size = 10001 })
    raised("usage", check, "hardware", { customerId = "a", page_size = "big" })
    assert.are.equal("auto", check("hardware", { customerId = "a", page_size = "auto" }).page_size)
    assert.are.equal(10000, check("hardware", { customerId = "a", page_size = 10000 }).page_size)
    -- a page number means nothing without its size
    local _, smsg = raised("usage", check, "hardware", { customerId = "a", page_size = "auto",
      start_page = 3 })
    assert.matches("start_page 3 needs a fixed page_size", smsg, 1, true)
    raised("usage", check, "hardware", { customerId = "a", max_items = -1 })
    raised("usage", check, "hardware", { customerId = "a", start_page = 0 })
    local _, msg = raised("usage", check, "hardware", { customerId = "a", page = 2 })
    assert.matches("start_page", msg, 1, true)
    raised("usage", check, "hardware", { customerId = "a", rows = 2 })
  end)

  it("fills customerId from a customer view and refuses another one", function()
    assert.are.equal("customerId=c1&serialNumber=x",
      check("hardware", { serialNumber = "x" }, "c1").query)
    assert.are.equal("customerId=c1", check("hardware", { customerId = "c1" }, "c1").query)
    raised("usage", check, "hardware", { customerId = "c2" }, "c1")
  end)

  it("escapes control characters of names in messages", function()
    local _, msg = raised("usage", check, "hardware", { ["bad\27[31m"] = 1 })
    assert.is_nil(msg:find("\27", 1, true))
  end)

  it("records the caller's line, outside the library, as where", function()
    local here = debug.getinfo(1, "S").short_src
    -- where an error of f(...) says it was raised, and the line of the call
    local function where(f, ...)
      local _, err = pcall(f, ...)
      return err.where, here .. ":" .. debug.getinfo(1, "l").currentline - 1
    end
    local got, call = where(params.check, operations.hardware, { colour = 1 }, DEFAULTS)
    assert.are.equal(call, got)
    got, call = where(params.check, operations.hardware, { customerId = {} }, DEFAULTS)
    assert.are.equal(call, got) -- raised two calls deeper in the library
    got, call = where(params.encode, { [1] = "x" })
    assert.are.equal(call, got)
  end)
end)

describe("params.encode (cx:get queries)", function()
  it("sorts keys and encodes values, lists joined by commas", function()
    assert.are.equal("", params.encode(nil))
    assert.are.equal("a=1&b=x%2Cy&c=true&d=x%20y",
      params.encode { d = "x y", c = true, b = { "x", "y" }, a = 1.0 })
    raised("usage", params.encode, { [1] = "x" })
    raised("usage", params.encode, { a = print })
  end)
end)
