-- `cxcloud.affected.build` and `cxcloud affected`: the devices a security advisory, a field
-- notice or an end-of-life bulletin names, over several customers, equal to the sandbox's
-- own data (computed here from `sb:truth` of the alert rows, the network elements, the
-- bulletins and the customers, without the filters the code uses); the catalogue asked
-- once; an unknown ID refused with the closest one; customers that fail.
local helper = require "spec.support.helper"
local cli_process = require "spec.support.cli_process"
local cjson = require "cjson"
local affected = require "cxcloud.affected"

local cli = cli_process.run

local RANK = { VUL = 3, POTVUL = 2, NOTVUL = 1 }

describe("affected", function()
  local sb, cx, names

  -- the records the sandbox's data gives: for each customer (in order), each network
  -- element (in order) that a row of `op` names with `field` in `ids`, with `extra(record,
  -- rows)` adding the bulletin's fields; `customers` defaults to every customer
  local function truth(op, field, ids, extra, customers)
    local out = {}
    for _, c in ipairs(customers or sb.customers) do
      local rows_of = {}
      for _, r in ipairs(sb:truth(op, c)) do
        if ids[tostring(r[field])] then
          local k = tostring(r.neInstanceId)
          rows_of[k] = rows_of[k] or {}
          table.insert(rows_of[k], r)
        end
      end
      for _, ne in ipairs(sb:truth("network_elements", c)) do
        local rows = rows_of[tostring(ne.neInstanceId)]
        if rows then
          local rec = { customerId = c, customerName = names[c], neInstanceId = tostring(ne.neInstanceId),
            hostname = ne.hostname, ipAddress = ne.ipAddress, productId = ne.productId,
            swVersion = ne.swVersion }
          extra(rec, rows)
          out[#out + 1] = rec
        end
      end
    end
    return out
  end

  local function worst_status(rec, rows)
    for _, r in ipairs(rows) do
      if not rec.vulnerabilityStatus or RANK[r.vulnerabilityStatus] > RANK[rec.vulnerabilityStatus] then
        rec.vulnerabilityStatus = r.vulnerabilityStatus
      end
    end
  end

  local function advisory_truth(b, customers)
    return truth("security_advisories", "securityAdvisoryInstanceId",
      { [tostring(b.securityAdvisoryInstanceId)] = true }, function(rec, rows)
        worst_status(rec, rows)
        rec.advisoryId, rec.bulletinTitle = b.advisoryId, b.bulletinTitle
        rec.securityImpactRating = b.securityImpactRating
      end, customers)
  end

  -- only the columns `cols` of each record
  local function only(records, cols)
    local out = {}
    for i, r in ipairs(records) do
      local p = {}
      for _, c in ipairs(cols) do p[c] = r[c] end
      out[i] = p
    end
    return out
  end

  local function customers_of(records)
    local seen, n = {}, 0
    for _, r in ipairs(records) do
      if not seen[r.customerId] then seen[r.customerId], n = true, n + 1 end
    end
    return n
  end

  -- the bulletin of `op` whose devices span the most customers
  local function widest(op, catalogue, field, row_field)
    local best, best_n
    for _, b in ipairs(sb:truth(catalogue)) do
      local n = 0
      for _, c in ipairs(sb.customers) do
        for _, r in ipairs(sb:truth(op, c)) do
          if tostring(r[row_field or field]) == tostring(b[field]) then n = n + 1 break end
        end
      end
      if not best_n or n > best_n then best, best_n = b, n end
    end
    return best, best_n
  end

  local advisory

  setup(function()
    sb = helper.sandbox { seed = 11, customers = 4, hardware = { 30, 30, 25, 20 } }
    cx = helper.client(sb, { rate_limit = 0 })
    names = {}
    for _, c in ipairs(sb:truth("customers")) do names[c.customerId] = c.customerName end
    local n
    advisory, n = widest("security_advisories", "security_advisory_bulletins",
      "securityAdvisoryInstanceId")
    assert(n >= 3, "the data should have an advisory that names devices of several customers")
  end)

  teardown(function()
    cx:close()
    sb:stop()
  end)

  describe("the library function", function()
    it("finds every device an advisory names, by name or instance ID, asking the catalogue once", function()
      local want = advisory_truth(advisory)
      assert.is_true(customers_of(want) >= 3)
      local mark = helper.mark(sb)
      local records, info = affected.build(cx, { advisory = advisory.advisoryId })
      assert.is_table(records, tostring(info))
      assert.same(want, only(records, affected.COLUMNS.advisory))
      assert.same(affected.COLUMNS.advisory, info.columns)
      assert.equal(advisory.advisoryId, info.bulletins[1].advisoryId)
      local per_op, calls = {}, 0
      for _, r in ipairs(helper.since(sb, mark)) do
        if helper.is_api(r) then
          calls = calls + 1
          per_op[r.op] = (per_op[r.op] or 0) + 1
        end
      end
      assert.equal(1, per_op.security_advisory_bulletins)
      assert.equal(1, per_op.customers)
      assert.equal(#sb.customers, per_op.security_advisories)
      assert.equal(calls, info.calls)
      for _, id in ipairs { tostring(advisory.securityAdvisoryInstanceId),
          require("cxcloud.compat").tointeger(tonumber(advisory.securityAdvisoryInstanceId)) } do
        local again = assert(affected.build(cx, { advisory = id }))
        assert.same(want, only(again, affected.COLUMNS.advisory))
      end
      local two = { sb.customers[3], sb.customers[1] }
      local some = assert(affected.build(cx, { advisory = advisory.advisoryId, customers = two }))
      assert.same(advisory_truth(advisory, two), only(some, affected.COLUMNS.advisory))
    end)

    it("finds the devices of a field notice and of hardware and software EoL bulletins", function()
      -- a notice that names several hardware rows of one device, the first not the most
      -- severe: the record has the most severe status
      local fn, fn_customers
      for _, b in ipairs(sb:truth("field_notice_bulletins")) do
        local mixed, n = false, 0
        for _, c in ipairs(sb.customers) do
          local first, found = {}, false
          for _, r in ipairs(sb:truth("field_notices", c)) do
            if tostring(r.bulletinNumber) == tostring(b.bulletinNumber) then
              found = true
              local k = tostring(r.neInstanceId)
              if first[k] and RANK[r.vulnerabilityStatus] > RANK[first[k]] then mixed = true end
              first[k] = first[k] or r.vulnerabilityStatus
            end
          end
          if found then n = n + 1 end
        end
        if mixed and (not fn or n > fn_customers) then fn, fn_customers = b, n end
      end
      assert(fn, "the data should have a field notice naming several rows of a device")
      local want = truth("field_notices", "bulletinNumber", { [tostring(fn.bulletinNumber)] = true },
        function(rec, rows)
          worst_status(rec, rows)
          rec.bulletinNumber, rec.bulletinTitle = tostring(fn.bulletinNumber), fn.bulletinTitle
          rec.fieldNoticeType = fn.fieldNoticeType
        end)
      assert.is_true(#want > 1 and customers_of(want) > 1)
      for _, id in ipairs { "FN" .. fn.bulletinNumber, tostring(fn.bulletinNumber) } do
        local records = assert(affected.build(cx, { field_notice = id }))
        assert.same(want, only(records, affected.COLUMNS.field_notice))
      end

      local function eol_truth(b, op, field, kind)
        return truth(op, field, { [tostring(b[field])] = true }, function(rec)
          rec.eolType, rec.bulletinNumber, rec.bulletinTitle = kind, b.bulletinNumber, b.bulletinTitle
          rec.lastDateOfSupport = b.lastDateOfSupport
        end)
      end
      local hb = widest("hardware_eol", "hardware_eol_bulletins", "hwEolInstanceId")
      want = eol_truth(hb, "hardware_eol", "hwEolInstanceId", "hardware")
      assert.is_true(#want > 1)
      local records = assert(affected.build(cx, { eol = hb.bulletinNumber }))
      assert.same(want, only(records, affected.COLUMNS.eol))
      local swb = widest("software_eol", "software_eol_bulletins", "swEolInstanceId")
      want = eol_truth(swb, "software_eol", "swEolInstanceId", "software")
      assert.is_true(#want > 1)
      records = assert(affected.build(cx, { eol = tostring(swb.swEolInstanceId) }))
      assert.same(want, only(records, affected.COLUMNS.eol))
    end)

    it("refuses an ID no bulletin has, with the closest one", function()
      local near = advisory.advisoryId:sub(1, -2) .. (advisory.advisoryId:sub(-1) == "x" and "y" or "x")
      local records, err = affected.build(cx, { advisory = near })
      assert.is_nil(records)
      assert.equal("usage", err.kind)
      assert.equal(advisory.advisoryId, err.suggestion)
      assert.truthy(helper.show(err):find("did you mean '" .. advisory.advisoryId .. "'", 1, true))
      records, err = affected.build(cx, { field_notice = "FN1" })
      assert.is_nil(records)
      assert.equal("usage", err.kind)
      assert.truthy(err.message:find("no field notice 'FN1'", 1, true), err.message)
      for _, bad in ipairs { {}, { advisory = "x", eol = "y" }, { advisroy = "x" },
          { field_notice = "FNX" }, { advisory = "x", customers = {} } } do
        local e = helper.raised(affected.build, cx, bad)
        assert.equal("usage", e.kind)
      end
    end)

    it("gives the other customers' devices when one fails, only when asked to", function()
      local c = sb.customers[1]
      local records, info = affected.build(cx, { advisory = advisory.advisoryId,
        customers = { c, "nobody" }, partial = true })
      assert.same(advisory_truth(advisory, { c }), only(records, affected.COLUMNS.advisory))
      assert.equal(1, #info.failed)
      assert.equal("nobody", info.failed[1].customerId)
      assert.equal(403, info.failed[1].error.status)
      local err
      records, err = affected.build(cx, { advisory = advisory.advisoryId, customers = { c, "nobody" } })
      assert.is_nil(records)
      assert.equal("nobody", err.customerId)
    end)
  end)

  describe("the command #cli", function()
    it("writes the devices of every customer, the columns chosen with --fields", function()
      local out, err, code = cli(sb, { "affected", "--advisory", advisory.advisoryId, "--format", "jsonl" })
      assert.equal(0, code, err)
      local rows = {}
      for line in out:gmatch("[^\n]+") do rows[#rows + 1] = cjson.decode(line) end
      assert.same(advisory_truth(advisory), rows)
      local c = sb.customers[1]
      out, err, code = cli(sb, { "affected", "--advisory", tostring(advisory.securityAdvisoryInstanceId),
        "-c", c, "--format", "csv", "--fields", "hostname,securityImpactRating,customerName" })
      assert.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\r\n]+") do lines[#lines + 1] = line end
      local want = advisory_truth(advisory, { c })
      assert.is_true(#want > 0)
      assert.equal(#want + 1, #lines)
      assert.equal("hostname,securityImpactRating,customerName", lines[1])
      assert.equal(("%s,%s,%s"):format(want[1].hostname, advisory.securityImpactRating, names[c]), lines[2])
    end)

    it("exits 2 for an unknown ID (with the closest), 3 when some customers failed", function()
      local near = advisory.advisoryId:upper()
      local out, err, code = cli(sb, { "affected", "--advisory", near })
      assert.equal(2, code)
      assert.equal("", out)
      assert.truthy(err:find("--advisory: no security advisory '" .. near .. "'", 1, true), err)
      assert.truthy(err:find("did you mean '" .. advisory.advisoryId .. "'?", 1, true), err)
      local c = sb.customers[1]
      out, err, code = cli(sb, { "affected", "--advisory", advisory.advisoryId, "-c", c, "-c", "nobody",
        "--format", "jsonl" })
      assert.equal(3, code, err)
      assert.truthy(err:find("customer nobody failed: http 403", 1, true), err)
      local n = 0
      for _ in out:gmatch("[^\n]+") do n = n + 1 end
      assert.equal(#advisory_truth(advisory, { c }), n)
      out, err, code = cli(sb, { "affected", "--advisory", "x", "--eol", "y" })
      assert.equal("", out)
      assert.equal(2, code)
      assert.truthy(err:find("one of --advisory, --field-notice, --eol", 1, true), err)
    end)
  end)
end)
