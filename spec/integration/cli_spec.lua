-- The command line, driven as a user drives it: bin/cxcloud in its own process, configured
-- through CXCLOUD_* (pointing at a sandbox), its standard output, standard error, exit
-- status and files checked against the sandbox's truth.
local helper = require "spec.support.helper"
local cli_process = require "spec.support.cli_process"
local cjson = require "cjson"
local output = require "cxcloud.cli.output"
local report = require "cxcloud.report"

local shell_quote = require("cxcloud.shell").quote

local slurp = helper.read_file

local function tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("l")
  p:close()
  return d
end

local function ls(dir)
  local p = io.popen("ls -A " .. shell_quote(dir))
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  return names
end

local interpreter = arg and arg[-1] or "lua5.4"

local cli = cli_process.run

local function jsonl(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do rows[#rows + 1] = cjson.decode(line) end
  return rows
end

-- CSV read back by Python's csv module: a JSON array of rows (arrays of strings)
local function python_csv(path)
  local p = io.popen("python3 -c " .. shell_quote(
    "import csv, json, sys\n"
    .. "with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
    .. "    print(json.dumps(list(csv.reader(f, strict=True))))") .. " " .. shell_quote(path))
  local text = p:read("a")
  p:close()
  return cjson.decode(text)
end

describe("cxcloud command line", function()
  local sb, c1, c2

  setup(function()
    sb = helper.sandbox { seed = 31, customers = 3, hardware = { 230, 25, 12 } }
    c1, c2 = sb.customers[1], sb.customers[2]
  end)

  teardown(function() sb:stop() end)

  describe("export", function()
    it("writes jsonl by default when standard output is not a terminal, one record per item", function()
      local out, err, code = cli(sb, { "hardware", "--customer", c1, "--page-size", "50" })
      assert.equal(0, code, err)
      local rows, truth = jsonl(out), sb:truth("hardware", c1)
      assert.equal(#truth, #rows)
      local i = 0
      for line in out:gmatch("[^\n]+") do
        i = i + 1
        assert.equal(truth[i].serialNumber, rows[i].serialNumber)
        -- identifiers exactly as the API sent them (digits, as a JSON number or string)
        assert.truthy(line:find('"hwInstanceId":"?' .. tostring(truth[i].hwInstanceId) .. '"?[,}]'), line)
      end
      assert.equal("", err)
    end)

    it("a pull the server cut short (a later page without pagination) exits 1, writes no file",
      function()
        sb:faults { { op = "hardware", page = 2, status = 200, body = "{}", times = -1 } }
        local dir = tmpdir()
        local _, err, code = cli(sb, { "hardware", "-c", c1, "--page-size", "100", "-o",
          dir .. "/short.csv" })
        sb:faults {}
        assert.equal(1, code, err)
        assert.truthy(err:find("page 2 has no 'pagination'", 1, true), err)
        assert.same({}, ls(dir))
      end)

    it("writes one JSON array with --format json", function()
      local out, err, code = cli(sb, { "network-elements", "--customer=" .. c2, "--format=json" })
      assert.equal(0, code, err)
      local rows, truth = cjson.decode(out), sb:truth("network_elements", c2)
      assert.equal(#truth, #rows)
      for i, item in ipairs(truth) do assert.equal(item.hostname, rows[i].hostname) end
      out = cli(sb, { "hardware", "--customer", c1, "--where", "serialNumber=NOPE", "--format", "json" })
      assert.same({}, cjson.decode(out))
    end)

    it("writes RFC 4180 CSV that Python's csv module reads back, columns as --fields says", function()
      local dir = tmpdir()
      local path = dir .. "/inv.csv"
      local _, err, code = cli(sb, { "hardware-eol", "-c", c1, "--fields",
        "hwInstanceId,currentHwEolMilestone,productId", "-o", path })
      assert.equal(0, code, err)
      local raw = slurp(path)
      assert.truthy(raw:find("\r\n", 1, true))
      assert.is_nil(raw:gsub("\r\n", ""):find("\n", 1, true))
      local rows = python_csv(path)
      local truth = sb:truth("hardware_eol", c1)
      assert.same({ "hwInstanceId", "currentHwEolMilestone", "productId" }, rows[1])
      assert.equal(#truth + 1, #rows)
      local commas = 0
      for i, item in ipairs(truth) do
        assert.same({ tostring(item.hwInstanceId), item.currentHwEolMilestone or "", item.productId },
          rows[i + 1])
        if (item.currentHwEolMilestone or ""):find(",") then commas = commas + 1 end
      end
      assert.is_true(commas > 0, "the data should hold values with commas")
      os.remove(path)
      os.remove(dir)
    end)

    it("quotes commas, quotes, newlines and keeps UTF-8 and nested values as JSON", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      local w = output.writer("csv", f, { columns = { "a", "b", "c", "d" } })
      local tricky = {
        { a = 'say "hi"', b = "x,y", c = "line1\nline2\r\nline3", d = "Zürich — 東京" },
        { a = "", b = { 1, "two", { k = "v" } }, c = 1.5, d = true },
        { a = " lead", b = '"', c = 2 ^ 53, d = nil },
      }
      w:rows(tricky)
      w:finish()
      f:close()
      local rows = python_csv(path)
      os.remove(path)
      assert.same({ "a", "b", "c", "d" }, rows[1])
      assert.same({ 'say "hi"', "x,y", "line1\nline2\r\nline3", "Zürich — 東京" }, rows[2])
      assert.same({ "", '[1,"two",{"k":"v"}]', "1.5", "true" }, rows[3])
      assert.same({ " lead", '"', "9007199254740992", "" }, rows[4])
    end)

    it("prints an aligned table with --format table", function()
      local out, err, code = cli(sb, { "customers", "--format", "table" })
      assert.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      local truth = sb:truth("customers")
      assert.equal(#truth + 2, #lines)
      assert.truthy(lines[1]:find("^customerId%s+customerName"))
      assert.truthy(lines[2]:find("^%-+  %-+"))
      local col = lines[1]:find("customerName", 1, true)
      for i, c in ipairs(truth) do
        assert.equal(c.customerId, lines[i + 2]:match("^(%S+)"))
        assert.equal(col, lines[i + 2]:find(c.customerName, 1, true))
      end
    end)

    it("pulls several customers, or all of them, each record with its customerId", function()
      local out, err, code = cli(sb, { "hardware", "--customer", c1, "--customer", c2 })
      assert.equal(0, code, err)
      local rows = jsonl(out)
      local n1, n2 = #sb:truth("hardware", c1), #sb:truth("hardware", c2)
      assert.equal(n1 + n2, #rows)
      local per = {}
      for _, r in ipairs(rows) do per[r.customerId] = (per[r.customerId] or 0) + 1 end
      assert.same({ [c1] = n1, [c2] = n2 }, per)

      out, err, code = cli(sb, { "network_elements", "--all-customers", "--format", "csv" })
      assert.equal(0, code, err)
      local header = out:match("^[^\r]+")
      assert.truthy(header:find("^customerId,"))
      local want = 0
      for _, id in ipairs(sb.customers) do want = want + #sb:truth("network_elements", id) end
      local _, lines = out:gsub("\r\n", "")
      assert.equal(want + 1, lines)
      local names = {}
      for _, c in ipairs(sb:truth("customers")) do names[c.customerId] = c.customerName end
      for _, id in ipairs(sb.customers) do
        local first = sb:truth("network_elements", id)[1]
        assert.truthy(out:find(id .. "," .. names[id] .. "," .. tostring(first.neInstanceId), 1, true))
      end
    end)

    it("passes --where, --sort and --max-items to the API", function()
      local truth = sb:truth("hardware", c1, { hwType = "Chassis", sort = "serialNumber:DESC" })
      local out, err, code = cli(sb, { "hardware", "-c", c1, "--where", "hwType=Chassis",
        "--sort", "serialNumber:DESC", "--max-items", "7", "--fields", "serialNumber" })
      assert.equal(0, code, err)
      local rows = jsonl(out)
      assert.equal(7, #rows)
      for i = 1, 7 do assert.same({ serialNumber = truth[i].serialNumber }, rows[i]) end
    end)

    it("exits 2 with a suggestion for a misspelt operation or option, and for bad values", function()
      local cases = {
        { { "hardwre", "--customer", c1 }, "did you mean 'hardware'" },
        { { "hardware", "--costumer", c1 }, "did you mean '--customer'" },
        { { "hardware", "-c", c1, "--format", "xml" }, "csv" },
        { { "hardware", "-c", c1, "--where", "serialNumber" }, "NAME=VALUE" },
        { { "hardware", "-c", c1, "--where", "serialNumbr=X" }, "serialNumber" },
        { { "hardware" }, "--customer" },
        { { "hardware", "-c", c1, "--page-size", "0" }, "auto or an integer from 1 to 10000" },
        { { "hardware", "-c", c1, "--page-size", "10001" }, "got '10001'" },
        { { "hardware", "-c", c1, "--format", "json", "--append" }, "jsonl" },
        { {}, "Usage" },
        { { "customers", "--proxy", "ftp://proxy.invalid" }, "--proxy" },
        { { "sandbox", "--hardwre", "3" }, "did you mean '--hardware'" },
        { { "sandbox", "--port", "x" }, "--port expects an integer" },
        { { "sandbox", "--coverage", "2" }, "--coverage" },
      }
      for _, case in ipairs(cases) do
        local out, err, code = cli(sb, case[1])
        assert.equal(2, code, err)
        assert.equal("", out)
        assert.truthy(err:find(case[2], 1, true), err)
      end
    end)

    it("answers --help and --version with status 0", function()
      local out, _, code = cli(sb, { "--help" })
      assert.equal(0, code)
      for _, word in ipairs { "hardware-eol", "report", "repl", "sandbox", "query" } do
        assert.truthy(out:find(word, 1, true), word)
      end
      out, _, code = cli(sb, { "hardware", "--help" })
      assert.equal(0, code)
      for _, word in ipairs { "--customer", "--all-customers", "--where", "--fields", "--sort",
          "--max-items", "--page-size", "--format", "--output", "--quiet", "--start-page", "--append" } do
        assert.truthy(out:find(word, 1, true), word)
      end
      out, _, code = cli(sb, { "--version" })
      assert.equal(0, code)
      assert.equal(require("cxcloud")._VERSION .. "\n", out)
    end)

    it("fails with status 1, the error's line and how to resume; --start-page completes it", function()
      sb:faults { { op = "hardware", page = 3, status = 400, times = -1 } }
      local args = { "hardware", "-c", c1, "--page-size", "40", "--format", "csv", "--fields",
        "serialNumber,hwInstanceId" }
      local out, err, code = cli(sb, args)
      sb:faults {}
      assert.equal(1, code)
      local first = err:match("^[^\n]*")
      assert.truthy(first:find("hardware failed at page 3", 1, true), err)
      assert.truthy(first:find("400", 1, true), err)
      local resume = err:match("to resume: (cxcloud [^\n]+)")
      assert.truthy(resume, err)
      assert.truthy(resume:find("--start-page 3 --append", 1, true), resume)
      local _, lines = out:gsub("\r\n", "")
      assert.equal(1 + 80, lines)
      -- run the resume command as printed (through the shell)
      local env = {}
      for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
      local p = io.popen(("env %s %s %s/bin/%s"):format(table.concat(env, " "), interpreter,
        os.getenv("PWD"), resume))
      local rest = p:read("a")
      assert.is_true(p:close())
      local whole = out .. rest
      local truth = sb:truth("hardware", c1)
      local _, n = whole:gsub("\r\n", "")
      assert.equal(#truth + 1, n)
      local i = 0
      for line in whole:gmatch("([^\r]*)\r\n") do
        if i > 0 then assert.equal(truth[i].serialNumber, line:match("^[^,]*")) end
        i = i + 1
      end
    end)

    it("names the page size an automatic pull had in its resume command", function()
      sb:set { max_rows = 40, rows_over_max = "cap" } -- the service answers pages of 40
      sb:faults { { op = "hardware", page = 2, status = 400, times = -1 } }
      local out, err, code = cli(sb, { "hardware", "-c", c1, "--format", "csv", "--fields",
        "serialNumber" })
      sb:faults {}
      sb:set { max_rows = 10000, rows_over_max = "refuse" }
      assert.equal(1, code)
      local resume = err:match("to resume: (cxcloud [^\n]+)")
      assert.truthy(resume and resume:find("--page-size 40 --start-page 2 --append", 1, true), err)
      local env = {}
      for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
      local p = io.popen(("env %s %s %s/bin/%s"):format(table.concat(env, " "), interpreter,
        os.getenv("PWD"), resume))
      local whole = out .. p:read("a")
      assert.is_true(p:close())
      local want = { "serialNumber" }
      for _, t in ipairs(sb:truth("hardware", c1)) do want[#want + 1] = t.serialNumber end
      local got = {}
      for line in whole:gmatch("([^\r]*)\r\n") do got[#got + 1] = line end
      assert.same(want, got)
    end)

    it("writes none of a customer that failed mid-pull among several, and one command retries it",
      function()
      sb:faults { { op = "hardware", customerId = c2, page = 2, status = 400, times = -1 } }
      local out, err, code = cli(sb, { "hardware", "-c", c1, "-c", c2, "--page-size", "10",
        "--fields", "serialNumber", "--format", "csv" })
      sb:faults {}
      assert.equal(3, code, err)
      assert.truthy(err:find("hardware failed at page 2 for customer " .. c2, 1, true), err)
      assert.is_nil(out:find(c2, 1, true), "none of the failed customer's rows")
      local resume = err:match("to retry just it: (cxcloud [^\n]+)")
      assert.truthy(resume, err)
      local tail = "-c " .. c2 .. " --with-customer-id --append"
      assert.truthy(resume:find(tail, 1, true), resume)
      assert.is_nil(resume:find(c1, 1, true), resume)
      local env = {}
      for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
      local p = io.popen(("env %s %s %s/bin/%s"):format(table.concat(env, " "), interpreter,
        os.getenv("PWD"), resume))
      local rest = p:read("a")
      assert.is_true(p:close())
      local rows = {}
      for line in (out .. rest):gmatch("([^\r]*)\r\n") do rows[#rows + 1] = line end
      assert.equal("customerId,customerName,serialNumber", rows[1])
      local names = {}
      for _, c in ipairs(sb:truth("customers")) do names[c.customerId] = c.customerName end
      local want = {}
      for _, id in ipairs { c1, c2 } do
        for _, item in ipairs(sb:truth("hardware", id)) do
          want[#want + 1] = id .. "," .. names[id] .. "," .. item.serialNumber
        end
      end
      table.remove(rows, 1)
      table.sort(rows)
      table.sort(want)
      assert.same(want, rows)
    end)

    it("passes --proxy to the client (a proxy that refuses fails the pull, status 1)", function()
      local out, err, code = cli(sb, { "customers", "--proxy", "http://127.0.0.1:1" })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("proxy 127.0.0.1:1", 1, true), err)
      assert.truthy(err:find("nothing was written", 1, true), err)
    end)

    it("leaves no file, partial or temporary, when a pull to --output fails", function()
      local dir = tmpdir()
      sb:faults { { op = "hardware", page = 4, status = 400, times = -1 } }
      local _, err, code = cli(sb, { "hardware", "-c", c1, "--page-size", "30", "-o", dir .. "/out.csv" })
      sb:faults {}
      assert.equal(1, code)
      assert.truthy(err:find("was not written", 1, true), err)
      assert.same({}, ls(dir))
      -- an existing file is left as it was
      local f = io.open(dir .. "/out.csv", "wb")
      f:write("old\r\n")
      f:close()
      sb:faults { { op = "hardware", page = 2, status = 400, times = -1 } }
      _, _, code = cli(sb, { "hardware", "-c", c1, "--page-size", "30", "-o", dir .. "/out.csv" })
      sb:faults {}
      assert.equal(1, code)
      assert.equal("old\r\n", slurp(dir .. "/out.csv"))
      assert.same({ "out.csv" }, ls(dir))
      os.remove(dir .. "/out.csv")
      os.remove(dir)
    end)

    it("appends to an --output CSV under its own header", function()
      local dir = tmpdir()
      local path = dir .. "/a.csv"
      local _, err, code = cli(sb, { "hardware", "-c", c2, "--fields", "serialNumber,productId",
        "-o", path, "--max-items", "10" })
      assert.equal(0, code, err)
      _, err, code = cli(sb, { "hardware", "-c", c2, "--fields", "serialNumber,productId",
        "-o", path, "--start-page", "2", "--page-size", "10", "--append" })
      assert.equal(0, code, err)
      local rows = python_csv(path)
      local truth = sb:truth("hardware", c2)
      assert.equal(#truth + 1, #rows)
      for i, item in ipairs(truth) do assert.same({ item.serialNumber, item.productId }, rows[i + 1]) end
      os.remove(path)
      os.remove(dir)
    end)

    it("shows the progress line on standard error only, with --progress", function()
      local out, err, code = cli(sb, { "hardware", "-c", c1, "--page-size", "50", "--progress",
        "--format", "jsonl" })
      assert.equal(0, code, err)
      assert.equal(#sb:truth("hardware", c1), #jsonl(out))
      assert.truthy(err:find("hardware  page 5/5  230/230 rows", 1, true), err)
      assert.truthy(err:find("230 row(s) in", 1, true), err)
      assert.is_nil(out:find("page 5/5", 1, true))
      out, err = cli(sb, { "hardware", "-c", c1, "--progress", "--quiet" })
      assert.equal(#sb:truth("hardware", c1), #jsonl(out))
      assert.equal("", err)
    end)
  end)

  describe("query PATH", function()
    it("exports any path through cx:query, with the same options", function()
      local out, err, code = cli(sb, { "query", "/inventory/hardware", "--customer", c2, "--fields",
        "serialNumber", "--format", "csv" })
      assert.equal(0, code, err)
      local truth = sb:truth("hardware", c2)
      local lines = {}
      for line in out:gmatch("([^\r]*)\r\n") do lines[#lines + 1] = line end
      assert.equal(#truth + 1, #lines)
      for i, item in ipairs(truth) do assert.equal(item.serialNumber, lines[i + 1]) end
      out, err, code = cli(sb, { "query", "inventory/hardware" })
      assert.equal(2, code)
      assert.equal("", out)
      assert.truthy(err:find("must start with '/'", 1, true), err)
    end)
  end)

  describe("progress hook", function()
    it("calls q:on_progress after each page with pages, rows, rate and time left", function()
      local cx = helper.client(sb)
      local seen = {}
      local q = cx:hardware { customerId = c1, page_size = 50 }
      assert.equal(q, q:on_progress(function(p) seen[#seen + 1] = p end))
      local n = 0
      for _ in q do n = n + 1 end
      assert.equal(230, n)
      assert.equal(5, #seen)
      for i, p in ipairs(seen) do
        assert.equal(i, p.page)
        assert.equal(5, p.pages)
        assert.equal(math.min(230, 50 * i), p.rows)
        assert.equal(230, p.total)
        assert.is_number(p.elapsed)
        if p.requests_per_s then assert.is_true(p.requests_per_s > 0) end
      end
      assert.equal(0, seen[5].eta)
      q:on_progress(nil)
      seen = {}
      assert.equal(230, #q:all())
      assert.same({}, seen)
      assert.has_error(function() q:on_progress("no") end)
      cx:close()
    end)
  end)

  describe("without the sandbox's rock", function()
    -- the library's command line with only the library on Lua's path, as its rock installs it
    local function library_only(args)
      local path = table.concat({ os.getenv("PWD") .. "/lua/?.lua", os.getenv("PWD") .. "/lua/?/init.lua",
        "/usr/share/lua/5.4/?.lua", "/usr/share/lua/5.4/?/init.lua" }, ";")
      local words = {}
      for i, a in ipairs(args) do words[i] = ("%q"):format(a) end
      local script = ("package.path = %q; os.exit(require('cxcloud.cli').main { %s })"):format(path,
        table.concat(words, ", "))
      local p = io.popen("lua5.4 -e " .. shell_quote(script) .. " 2>&1")
      local out = p:read("a")
      local _, _, code = p:close()
      helper.show(out)
      return out, code
    end

    it("cxcloud sandbox and repl --sandbox fail naming it", function()
      for _, args in ipairs { { "sandbox", "--port", "1" }, { "repl", "--sandbox" } } do
        local out, code = library_only(args)
        assert.equal(1, code, out)
        assert.truthy(out:find("the sandbox is not installed: it is the separate rock cxcloud-sandbox",
          1, true), out)
      end
    end)
  end)

  describe("make demo", function()
    it("does the main job on a sandbox in under a minute", function()
      local started = os.time()
      local p = io.popen(("env -u CXCLOUD_CLIENT_ID %s examples/demo.lua 2>&1"):format(interpreter))
      local out = p:read("a")
      local ok = p:close()
      helper.show(out)
      assert.is_true(ok, out)
      assert.is_true(os.time() - started < 60)
      for _, want in ipairs { "$ cxcloud customers", "KRUSTY BRANDS", "1500/1500 rows",
          "1501 lines", "$ cxcloud report --customer", "hwLastDateOfSupport", "(all)",
          "criticalAdvisories", "Sandbox stopped" } do
        assert.truthy(out:find(want, 1, true), want)
      end
    end)
  end)

  describe("report", function()
    local function truth_report(id, today)
      local ne = sb:truth("network_elements", id)
      local hw = sb:truth("hardware", id)
      local covered = {}
      for _, c in ipairs(sb:truth("coverage", id)) do covered[c.serialNumber] = true end
      local hw_ldos, sw_ldos, rating = {}, {}, {}
      for _, b in ipairs(sb:truth("hardware_eol_bulletins")) do
        hw_ldos[tostring(b.hwEolInstanceId)] = b.lastDateOfSupport
      end
      for _, b in ipairs(sb:truth("software_eol_bulletins")) do
        sw_ldos[tostring(b.swEolInstanceId)] = b.lastDateOfSupport
      end
      for _, b in ipairs(sb:truth("security_advisory_bulletins")) do
        rating[tostring(b.securityAdvisoryInstanceId)] = b.securityImpactRating
      end
      local heol, seol = sb:truth("hardware_eol", id), sb:truth("software_eol", id)
      local sa, fns = sb:truth("security_advisories", id), sb:truth("field_notices", id)
      local out = {}
      for i, e in ipairs(ne) do
        local nid = tostring(e.neInstanceId)
        local n, cov = 0, 0
        for _, h in ipairs(hw) do
          if tostring(h.neInstanceId) == nid then
            n = n + 1
            if covered[h.serialNumber] then cov = cov + 1 end
          end
        end
        local r = { neInstanceId = nid, hostname = e.hostname, ipAddress = e.ipAddress,
          productId = e.productId, swVersion = e.swVersion,
          covered = cov == 0 and "no" or cov == n and "yes" or "partial",
          advisories = 0, criticalAdvisories = 0, fieldNotices = 0 }
        for _, x in ipairs(heol) do
          local d = hw_ldos[tostring(x.hwEolInstanceId)]
          local cur = r.hwLastDateOfSupport
          if tostring(x.neInstanceId) == nid and d and (not cur or d < cur) then
            r.hwLastDateOfSupport = d
          end
        end
        for _, x in ipairs(seol) do
          local d = sw_ldos[tostring(x.swEolInstanceId)]
          local cur = r.swLastDateOfSupport
          if tostring(x.neInstanceId) == nid and d and (not cur or d < cur) then
            r.swLastDateOfSupport = d
          end
        end
        for _, x in ipairs(sa) do
          if tostring(x.neInstanceId) == nid then
            r.advisories = r.advisories + 1
            if rating[tostring(x.securityAdvisoryInstanceId)] == "Critical" then
              r.criticalAdvisories = r.criticalAdvisories + 1
            end
          end
        end
        for _, x in ipairs(fns) do
          if tostring(x.neInstanceId) == nid then r.fieldNotices = r.fieldNotices + 1 end
        end
        r.past = (r.hwLastDateOfSupport or "9999") < today or (r.swLastDateOfSupport or "9999") < today
        out[i] = r
      end
      return out
    end

    it("has one record per network element, its columns equal to the sandbox's truth", function()
      local out, err, code = cli(sb, { "report", "--customer", c1, "--format", "jsonl" })
      assert.equal(0, code, err)
      local rows, truth = jsonl(out), truth_report(c1, "2025-10-01")
      assert.equal(#truth, #rows)
      local kinds = {}
      for i, t in ipairs(truth) do
        -- no --today: the date comes from the sandbox's environment (CXCLOUD_TODAY)
        t.pastLastDateOfSupport, t.past = t.past and "yes" or "no", nil
        assert.same(t, rows[i])
        kinds[t.covered] = true
        for _, col in ipairs(report.COLUMNS) do
          assert.truthy(rows[i][col] ~= nil or col:find("LastDateOfSupport"), col)
        end
      end
      assert.truthy(kinds.yes and kinds.partial, "the data should cover several cases")
    end)

    it("puts what needs attention first in --format table, and totals every customer", function()
      local today = "2025-10-01"
      local out, err, code = cli(sb, { "report", "-c", c1, "--format", "table", "--today", today })
      assert.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      local truth = truth_report(c1, today)
      assert.equal(#truth + 2, #lines)
      local by_id = {}
      for _, t in ipairs(truth) do by_id[t.neInstanceId] = t end
      local seen_not_past = false
      for i = 3, #lines do
        local t = by_id[lines[i]:match("^(%S+)")]
        assert.truthy(t, lines[i])
        if not t.past then seen_not_past = true end
        assert.is_false(seen_not_past and t.past, "a record past its last date of support comes late")
      end
      out, err, code = cli(sb, { "report", "--all-customers", "--totals", "--today", today,
        "--format", "json" })
      assert.equal(0, code, err)
      local totals = cjson.decode(out)
      assert.equal(#sb.customers + 1, #totals)
      local all = { devices = 0, past = 0, critical = 0 }
      local names = {}
      for _, c in ipairs(sb:truth("customers")) do names[c.customerId] = c.customerName end
      for i, id in ipairs(sb.customers) do
        assert.equal(names[id], totals[i].customerName)
        local t = truth_report(id, today)
        local past, critical, nc = 0, 0, 0
        for _, r in ipairs(t) do
          if r.past then past = past + 1 end
          if r.covered == "no" then nc = nc + 1 end
          critical = critical + r.criticalAdvisories
        end
        assert.equal(id, totals[i].customerId)
        assert.equal(#t, totals[i].devices)
        assert.equal(past, totals[i].pastLastDateOfSupport)
        assert.equal(critical, totals[i].criticalAdvisories)
        assert.equal(nc, totals[i].notCovered)
        all.devices, all.past, all.critical = all.devices + #t, all.past + past, all.critical + critical
      end
      assert.equal(all.devices, totals[#totals].devices)
      assert.equal(all.past, totals[#totals].pastLastDateOfSupport)
      assert.equal(all.critical, totals[#totals].criticalAdvisories)
    end)

    it("asks again for whole items when the API refuses the fields it asked for", function()
      sb:faults { { op = "hardware_eol", status = 400, times = 1 } }
      local out, err, code = cli(sb, { "report", "--customer", c2, "--format", "jsonl" })
      sb:faults {}
      assert.equal(0, code, err)
      local rows, truth = jsonl(out), truth_report(c2, "2025-10-01")
      assert.equal(#truth, #rows)
      for i, t in ipairs(truth) do assert.equal(t.hwLastDateOfSupport, rows[i].hwLastDateOfSupport) end
    end)

    it("exits 2 without a customer and 1 when a pull fails", function()
      local _, err, code = cli(sb, { "report" })
      assert.equal(2, code)
      assert.truthy(err:find("--customer", 1, true), err)
      sb:faults { { op = "coverage", status = 400, times = -1 } }
      _, err, code = cli(sb, { "report", "-c", c1 })
      sb:faults {}
      assert.equal(1, code)
      assert.truthy(err:find("coverage", 1, true) or err:find("/contracts/coverage", 1, true), err)
    end)
  end)
end)
