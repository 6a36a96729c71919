-- The command line at partner scale, as a user meets it: several customers of which some
-- fail (the others written, exit 3, one command that retries the failed ones), their
-- names, a file of customer IDs, Ctrl-C during a pull, a terminal that shows the progress
-- line and the records, and the rough edges around them (advice that fits the error, the
-- --output extension, an empty or null CSV, a C core not built, OP --help). bin/cxcloud runs
-- in its own process against a sandbox; what it writes is checked against the sandbox's truth.
local helper = require "spec.support.helper"
local cli_process = require "spec.support.cli_process"
local operations = require "cxcloud.operations"
local output = require "cxcloud.cli.output"
local failure = require "cxcloud.cli.failure"

local shell_quote = require("cxcloud.shell").quote
local slurp = helper.read_file

-- the command line is a Lua 5.4 program, whatever Lua runs the spec
local interpreter = "lua5.4"
local BIN = os.getenv("PWD") .. "/bin/cxcloud"

local function tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("*l")
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

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function env_words(sb)
  local env = {}
  for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
  return table.concat(env, " ")
end

-- runs a shell command line; returns stdout, stderr, exit status (through a file: on Lua 5.1
-- a pipe's close does not give it)
local function sh(cmd)
  local errfile, statusfile = os.tmpname(), os.tmpname()
  local p = assert(io.popen(("%s 2>%s; echo $? >%s"):format(cmd, shell_quote(errfile),
    shell_quote(statusfile)), "r"))
  local out = p:read("*a")
  p:close()
  local err = slurp(errfile) or ""
  local code = tonumber(slurp(statusfile))
  os.remove(errfile)
  os.remove(statusfile)
  helper.show(out)
  helper.show(err)
  return out, err, code
end

-- bin/cxcloud with args (a list of words), configured for sandbox `sb`
local function cli(sb, args, prefix)
  local words = {}
  for i, a in ipairs(args) do words[i] = shell_quote(a) end
  return sh(("env %s %s %s %s %s"):format(env_words(sb), prefix or "", shell_quote(interpreter),
    shell_quote(BIN), table.concat(words, " ")))
end

-- a command that bin/cxcloud printed ("cxcloud ..."), run as printed through the shell
local function run_printed(sb, command)
  assert(command:find("^cxcloud "), command)
  return sh(("env %s %s %s/bin/%s"):format(env_words(sb), shell_quote(interpreter), os.getenv("PWD"),
    command))
end

-- CSV records of a text (CRLF lines; the sandbox's values hold no quoted line breaks)
local function records(text)
  local rows = {}
  for line in text:gmatch("([^\r]*)\r\n") do rows[#rows + 1] = line end
  return rows
end

describe("cxcloud command line, several customers", function()
  local sb, c1, c2, c3, unseen, names

  setup(function()
    -- four customers, the credentials see three: the fourth answers 403
    sb = helper.sandbox { seed = 41, customers = 4, entitled = { 1, 2, 3 }, hardware = { 30, 20, 25, 12 } }
    c1, c2, c3 = sb.customers[1], sb.customers[2], sb.customers[3]
    unseen = sb.all_customers[4]
    names = {}
    for _, c in ipairs(sb:truth("customers")) do names[c.customerId] = c.customerName end
  end)

  teardown(function() sb:stop() end)

  -- the CSV records (customerId,customerName,serialNumber) of customers `ids`, from the truth
  local function want_rows(ids, with_names)
    local want = {}
    for _, id in ipairs(ids) do
      for _, item in ipairs(sb:truth("hardware", id)) do
        want[#want + 1] = table.concat({ id, with_names == false and "" or names[id] or "",
          item.serialNumber }, ",")
      end
    end
    table.sort(want)
    return want
  end

  local function sorted(list)
    table.sort(list)
    return list
  end

  describe("one customer refused", function()
    it("writes the others exactly, lists it with its reason, exits 3; the printed command retries it",
      function()
        local mark = helper.mark(sb)
        local out, err, code = cli(sb, { "hardware", "-c", c1, "-c", unseen, "-c", c2, "--format", "csv",
          "--fields", "serialNumber" })
        assert.equal(3, code, err)
        -- one request for the names (the customers list), one per customer for the rows
        local calls = helper.since(sb, mark)
        assert.equal(1, helper.count(calls, function(r) return r.path:find("customer-details", 1, true) end))
        local rows = records(out)
        assert.equal("customerId,customerName,serialNumber", table.remove(rows, 1))
        assert.same(want_rows { c1, c2 }, sorted(rows))
        -- the failed one, its reason, advice that fits (running again cannot help a 403)
        assert.truthy(err:find("hardware failed for customer " .. unseen .. ": http 403", 1, true), err)
        assert.truthy(err:find("1 of 3 customers failed", 1, true), err)
        assert.truthy(err:find("the credentials do not see customer " .. unseen, 1, true), err)
        assert.truthy(err:find("'cxcloud customers'", 1, true), err)
        assert.is_nil(err:find("run the command again", 1, true), err)
        local retry = err:match("to retry just it: (cxcloud [^\n]+)")
        assert.truthy(retry, err)
        assert.is_nil(retry:find(c1, 1, true), retry)
        assert.truthy(retry:find("-c " .. unseen .. " --with-customer-id --append", 1, true), retry)
        -- once the credentials see it, the printed command gives exactly the missing rows
        sb:set { entitled = { 1, 2, 3, 4 } }
        local rest, err2, code2 = run_printed(sb, retry)
        assert.equal(0, code2, err2)
        for _, c in ipairs(sb:truth("customers")) do
          if c.customerId == unseen then names[unseen] = c.customerName end
        end
        local want = want_rows { unseen }
        sb:set { entitled = { 1, 2, 3 } }
        names[unseen] = nil
        assert.same(want, sorted(records(rest)))
      end)

    it("writes --output whole with the customers that succeeded; the retry appends the others", function()
      local dir = tmpdir()
      local path = dir .. "/multi.csv"
      sb:faults { { op = "hardware", customerId = c2, status = 403, times = -1 } }
      local out, err, code = cli(sb, { "hardware", "--customer", c1 .. "," .. c2 .. "," .. c3,
        "--fields", "serialNumber", "-o", path })
      assert.equal(3, code, err)
      assert.equal("", out)
      assert.same({ "multi.csv" }, ls(dir)) -- no temporary file left
      local rows = records(slurp(path))
      assert.equal("customerId,customerName,serialNumber", table.remove(rows, 1))
      assert.same(want_rows { c1, c3 }, sorted(rows))
      assert.truthy(err:find("for customer " .. c2 .. " (" .. names[c2] .. "): http 403", 1, true), err)
      assert.truthy(err:find("were written to " .. path, 1, true), err)
      local retry = err:match("to retry just it: (cxcloud [^\n]+)")
      assert.truthy(retry and retry:find("--output " .. path, 1, true), err)
      sb:faults {}
      local _, err2, code2 = run_printed(sb, retry)
      assert.equal(0, code2, err2)
      rows = records(slurp(path))
      assert.equal("customerId,customerName,serialNumber", table.remove(rows, 1))
      assert.same(want_rows { c1, c2, c3 }, sorted(rows))
      os.remove(path)
      os.remove(dir)
    end)

    it("exits 1 and writes nothing when every customer fails", function()
      local dir = tmpdir()
      local out, err, code = cli(sb, { "hardware", "-c", unseen, "-c", "NOBODY", "-o", dir .. "/x.jsonl" })
      assert.equal(1, code, err)
      assert.equal("", out)
      assert.same({}, ls(dir))
      assert.truthy(err:find("every customer failed; nothing was written", 1, true), err)
      assert.truthy(err:find("customers " .. unseen .. ", NOBODY", 1, true), err)
      os.remove(dir)
    end)
  end)

  describe("customers", function()
    it("names each record's customer, and goes on without names when they cannot be listed", function()
      local out, err, code = cli(sb, { "hardware", "-c", c1 .. "," .. c3, "--fields", "serialNumber" })
      assert.equal(0, code, err)
      local seen = {}
      for line in out:gmatch("[^\n]+") do
        local id, name = line:match('^{"customerId":"([^"]+)","customerName":"([^"]+)","serialNumber"')
        assert.truthy(id, line)
        assert.equal(names[id], name)
        seen[id] = (seen[id] or 0) + 1
      end
      assert.same({ [c1] = #sb:truth("hardware", c1), [c3] = #sb:truth("hardware", c3) }, seen)
      -- the names' one call fails: the export still works, and says so
      sb:faults { { op = "customers", status = 403, times = -1 } }
      out, err, code = cli(sb, { "hardware", "-c", c1, "-c", c3, "--format", "csv", "--fields",
        "serialNumber" })
      sb:faults {}
      assert.equal(0, code, err)
      assert.truthy(err:find("the customers' names could not be listed", 1, true), err)
      local rows = records(out)
      assert.equal("customerId,serialNumber", table.remove(rows, 1))
      local want = {}
      for _, r in ipairs(want_rows { c1, c3 }) do want[#want + 1] = (r:gsub(",[^,]*,", ",")) end
      assert.same(want, sorted(rows))
    end)

    it("reads --customers-file: one ID a line, comments, blank lines, a CSV header", function()
      local dir = tmpdir()
      local path = dir .. "/ids.txt"
      write_file(path, "customerId\r\n# our customers\r\n" .. c2 .. "\r\n\r\n  " .. c3
        .. "  # the big one\r\n" .. c2 .. "\r\n")
      local out, err, code = cli(sb, { "hardware", "--customers-file", path, "--format", "csv",
        "--fields", "serialNumber" })
      assert.equal(0, code, err)
      local rows = records(out)
      table.remove(rows, 1)
      assert.same(want_rows { c2, c3 }, sorted(rows))
      local cases = {
        { dir .. "/missing.txt", "cannot read '" .. dir .. "/missing.txt'" },
        { "#nothing\n\n", "holds no customer ID (one per line" },
        { c1 .. "\n" .. c2 .. " " .. c3 .. "\n", "line 2: expected one customer ID per line" },
      }
      for i, case in ipairs(cases) do
        local file = case[1]
        if i > 1 then file = dir .. "/bad.txt"; write_file(file, case[1]) end
        out, err, code = cli(sb, { "hardware", "--customers-file", file })
        assert.equal(2, code, err)
        assert.equal("", out)
        assert.truthy(err:find(case[2], 1, true), err)
      end
      out, err, code = cli(sb, { "hardware", "--customers-file", path, "--all-customers" })
      assert.equal(2, code, err)
      assert.equal("", out)
      assert.truthy(err:find("--all-customers", 1, true), err)
      os.remove(path)
      os.remove(dir .. "/bad.txt")
      os.remove(dir)
    end)
  end)

  describe("Ctrl-C", function()
    -- starts bin/cxcloud ARGS (quoted words) slowly enough to be interrupted mid-pull, waits
    -- until `ready()`, sends SIGINT; returns the exit status and standard error
    local function interrupt(args, errfile, ready, latency)
      sb:set { latency = latency or 0.2 }
      local out = os.tmpname()
      local status, pid = cli_process.spawn(sb, args .. " 2>" .. shell_quote(errfile), out)
      assert.truthy(pid)
      local ok = cli_process.wait_for(ready, 20)
      os.execute("kill -INT " .. pid)
      local code = cli_process.wait_for(status, 20)
      sb:set { latency = 0 }
      local err = slurp(errfile) or ""
      helper.show(err)
      for _, suffix in ipairs { "", ".pid", ".status", ".sh" } do os.remove(out .. suffix) end
      os.remove(errfile)
      assert.truthy(ok, "the pull should have been under way: " .. err)
      return code, err
    end

    it("leaves --output as it was and says at which page it stopped; exit 130", function()
      local dir = tmpdir()
      local path = dir .. "/hw.csv"
      write_file(path, "old\r\n")
      local code, err = interrupt(("hardware -c %s --page-size 2 -o %s"):format(c1, shell_quote(path)),
        dir .. "/err", function()
          -- the temporary file holds rows: pages are being written
          for _, name in ipairs(ls(dir)) do
            if name:find("%.part$") and #(slurp(dir .. "/" .. name) or "") > 200 then return true end
          end
        end)
      assert.equal(130, code, err)
      local page, pages = err:match("^cxcloud: interrupted at page (%d+) of (%d+); "
        .. path:gsub("%p", "%%%0") .. " unchanged\n$")
      assert.truthy(page, err)
      assert.equal(15, tonumber(pages))
      assert.is_true(tonumber(page) > 1 and tonumber(page) <= 15, err)
      assert.equal("old\r\n", slurp(path))
      assert.same({ "hw.csv" }, ls(dir))
      os.remove(path)
      os.remove(dir)
    end)

    it("to standard output, says what was written and how to resume", function()
      local dir = tmpdir()
      local outfile = dir .. "/out.csv"
      local code, err = interrupt(("hardware -c %s --page-size 2 --format csv --fields serialNumber > %s")
        :format(c1, shell_quote(outfile)), dir .. "/err", function()
          local _, n = (slurp(outfile) or ""):gsub("\r\n", "")
          return n >= 5
        end)
      assert.equal(130, code, err)
      local page, resume = err:match("^cxcloud: interrupted at page (%d+) of 15: pages 1%-%d+"
        .. " %(%d+ rows%) were written; to resume: (cxcloud [^\n]+)\n$")
      assert.truthy(page, err)
      assert.truthy(resume:find("--page-size 2 --start-page " .. page .. " --append", 1, true), resume)
      local rest, err2, code2 = run_printed(sb, resume)
      assert.equal(0, code2, err2)
      local rows = records(slurp(outfile) .. rest)
      assert.equal("serialNumber", table.remove(rows, 1))
      local want = {}
      for _, item in ipairs(sb:truth("hardware", c1)) do want[#want + 1] = item.serialNumber end
      assert.same(want, rows)
      os.remove(outfile)
      os.remove(dir)
    end)

    it("among several customers, writes those complete and prints the command for the others", function()
      local dir = tmpdir()
      local outfile = dir .. "/out.csv"
      -- c1's pull hangs; c2's completes
      sb:faults { { op = "hardware", customerId = c1, action = "stall", before = 5, times = -1 } }
      local n2 = #sb:truth("hardware", c2)
      local code, err = interrupt(("hardware -c %s,%s --format csv --fields serialNumber > %s")
        :format(c1, c2, shell_quote(outfile)), dir .. "/err", function()
          local _, n = (slurp(outfile) or ""):gsub("\r\n", "")
          return n == n2 + 1
        end, 0)
      sb:faults {}
      assert.equal(130, code, err)
      local retry = err:match("^cxcloud: interrupted after %d+ page%(s%), 1 of 2 customers complete; their"
        .. " records were written; to pull the other 1: (cxcloud [^\n]+)\n$")
      assert.truthy(retry, err)
      local rest, err2, code2 = run_printed(sb, retry)
      assert.equal(0, code2, err2)
      local rows = records(slurp(outfile) .. rest)
      assert.equal("customerId,customerName,serialNumber", table.remove(rows, 1))
      assert.same(want_rows { c1, c2 }, sorted(rows))
      os.remove(outfile)
      os.remove(dir)
    end)
  end)

  describe("at the terminal", function()
    -- Python: run argv on a pseudo-terminal (standard output and error both), return its bytes
    local PTY = [[
import os, pty, sys, json
argv = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.environ["COLUMNS"] = "120"
    os.execvp(argv[0], argv)
out = b""
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
]]

    it("clears the progress line before the records reach the terminal", function()
      local argv = ('["%s", "%s", "customers"]'):format(interpreter, BIN)
      local out = sh(("env %s python3 -c %s %s"):format(env_words(sb), shell_quote(PTY), shell_quote(argv)))
      local at = out:find("customerId  ", 1, true)
      assert.truthy(at, out)
      assert.truthy(out:find("customers  page 1/1", 1, true), "a progress line was shown: " .. out)
      assert.equal("\r\27[K", out:sub(at - 4, at - 1), out)
    end)
  end)

  describe("rough edges", function()
    it("advises what fits the error: the secret, a customer not seen, the parameters", function()
      local _, err, code = cli(sb, { "hardware", "-c", c1 }, "CXCLOUD_CLIENT_SECRET=wrong")
      assert.equal(1, code)
      assert.truthy(err:find("nothing was written; the credentials were refused: check CXCLOUD_CLIENT_ID"
        .. " and CXCLOUD_CLIENT_SECRET", 1, true), err)
      _, err, code = cli(sb, { "hardware", "-c", unseen })
      assert.equal(1, code)
      assert.truthy(err:find("nothing was written; the credentials do not see customer " .. unseen, 1, true),
        err)
      _, err, code = cli(sb, { "hardware", "-c", c1, "--sort", "nope:ASC" })
      assert.equal(1, code)
      assert.truthy(err:find("the service refused the parameters", 1, true), err)
      assert.is_nil(err:find("run the command again", 1, true), err)
      -- the kinds that no sandbox answer reaches quickly (they are retried first)
      for _, e in ipairs { { kind = "network" }, { kind = "timeout" }, { kind = "http", status = 503 },
          { kind = "throttled" }, { kind = "decode" } } do
        assert.is_true(failure.transient(e))
        assert.equal("run the command again", failure.advice(e))
      end
      assert.is_false(failure.transient { kind = "throttled", quota_spent = true })
    end)

    it("refuses an --output extension it does not know unless --format is given", function()
      local dir = tmpdir()
      local out, err, code = cli(sb, { "customers", "-o", dir .. "/c.xlsx" })
      assert.equal(2, code, err)
      assert.equal("", out)
      assert.truthy(err:find("unknown extension '.xlsx'", 1, true), err)
      assert.truthy(err:find(".csv, .jsonl, .json and .txt", 1, true), err)
      assert.same({}, ls(dir))
      out, err, code = cli(sb, { "customers", "-o", dir .. "/c.xlsx", "--format", "csv" })
      assert.equal(0, code, err)
      assert.equal("", out)
      assert.truthy(slurp(dir .. "/c.xlsx"):find("^customerId,customerName,"))
      out, err, code = cli(sb, { "customers", "-o", dir .. "/c.txt" })
      assert.equal(0, code, err)
      assert.equal("", out)
      assert.truthy(slurp(dir .. "/c.txt"):find("^customerId%s+customerName"))
      os.remove(dir .. "/c.xlsx")
      os.remove(dir .. "/c.txt")
      os.remove(dir)
    end)

    it("keeps the header of a CSV without rows, and writes JSON null and \"null\" as empty cells", function()
      local fields
      for _, op in ipairs(operations) do if op.name == "hardware" then fields = op.fields end end
      local out, err, code = cli(sb, { "hardware", "-c", c1, "-w", "serialNumber=NONE", "--format", "csv" })
      assert.equal(0, code, err)
      assert.equal(output.csv_header(fields), out)
      out = cli(sb, { "hardware", "-c", c1, "-w", "serialNumber=NONE", "--format", "csv", "-f",
        "hwType,slot" })
      assert.equal("hwType,slot\r\n", out)
      out = cli(sb, { "hardware", "-c", c1, "-c", c2, "-w", "serialNumber=NONE", "--format", "csv" })
      assert.truthy(out:find("^customerId,customerName," .. fields[1] .. ","), out)
      -- productSubtype is JSON null on modules, inventoryName the string "null"
      out, err, code = cli(sb, { "hardware", "-c", c1, "--format", "csv", "-f",
        "serialNumber,productSubtype,inventoryName" })
      assert.equal(0, code, err)
      local rows = records(out)
      table.remove(rows, 1)
      local nulls = 0
      for i, item in ipairs(sb:truth("hardware", c1)) do
        local sub = item.productSubtype
        if sub == nil then nulls = nulls + 1 end
        assert.equal(item.serialNumber .. "," .. (sub or "") .. ",", rows[i])
      end
      assert.is_true(nulls > 0, "the data should hold nulls")
    end)

    it("says in one line that the C core is not built", function()
      -- a checkout without cxcloud/core.so: bin/ and lua/ only, and no C module found
      local dir = tmpdir()
      os.execute(("mkdir %s/bin && cp %s %s/bin/ && ln -s %s/lua %s/lua"):format(dir, shell_quote(BIN), dir,
        shell_quote(os.getenv("PWD")), dir))
      for _, command in ipairs { "customers", "repl" } do
        local out, err, code = sh(("env LUA_CPATH='/nowhere/?.so' %s %s/bin/cxcloud %s"):format(
          shell_quote(interpreter), dir, command))
        assert.equal(1, code, err)
        assert.equal("", out)
        assert.equal("cxcloud: the C core is not built: run make (the module 'cxcloud.core' is not on"
          .. " LUA_CPATH)\n", err)
      end
      os.execute("rm -r " .. shell_quote(dir))
    end)

    it("lists an operation's parameters and fields in OP --help", function()
      for _, name in ipairs { "hardware", "security_advisories", "customers" } do
        local out, _, code = cli(sb, { name:gsub("_", "-"), "--help" })
        assert.equal(0, code)
        local text = out:gsub("%s+", " ")
        local op
        for _, o in ipairs(operations) do if o.name == name then op = o end end
        local params = text:match("Parameters %(.-%): (.-)%. Fields")
        assert.truthy(params, out)
        for _, p in ipairs(op.params) do
          assert.truthy(params:find(p[1] .. (p.required and "*" or ""), 1, true), p[1])
        end
        local fields = text:match("Fields %(%-%-fields, %-%-sort%): (.-)%.")
        assert.truthy(fields, out)
        assert.equal(table.concat(op.fields, ", "), fields)
      end
    end)
  end)
end)
