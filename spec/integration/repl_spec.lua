-- The REPL as a person uses it: `cxcloud repl --sandbox` on a pseudo-terminal (Python's pty
-- module), lines typed one after the other once the prompt is back, with readline keys and
-- Ctrl-C; and its parts (columns, history, completion, export) without a terminal.
local helper = require "spec.support.helper"
local repl = require "cxcloud.repl"
local cjson = require "cjson"
local sandbox = require "cxcloud.sandbox"
local history = require "cxcloud.cli.repl.history"
local display = require "cxcloud.cli.repl.display"

local shell_quote = require("cxcloud.shell").quote

-- Python: run argv on a pty with the environment given, do each action, return all that the
-- terminal showed and the exit status. An action is a line to type (then wait for a prompt),
-- "^C" (Ctrl-C, then wait for a prompt), "~" .. text: typed without Enter, or "&" .. a line:
-- typed, and once the REPL has taken it, 0.3 s later the next action, while it runs.
local DRIVER = [[
import json, os, pty, re, select, sys, time
argv, actions, env = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(env)
    os.execvp(argv[0], argv)
out = b""
PROMPT = re.compile(rb"cx>>? $")
def pump(limit, done):
    global out
    end = time.time() + limit
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
            if done(out):
                return True
    return False
def prompt(o):
    return PROMPT.search(o) is not None
def type_line(line):
    for ch in line:
        os.write(fd, ch.encode())
        time.sleep(0.002)
    os.write(fd, b"\r")
pump(30, prompt)
for a in actions:
    if a == "^C":
        os.write(fd, b"\x03")
        pump(20, prompt)
    elif a.startswith("~"):
        for ch in a[1:]:
            os.write(fd, ch.encode())
            time.sleep(0.002)
        time.sleep(0.1)
    elif a.startswith("&"):
        n = len(out)
        type_line(a[1:])
        pump(20, lambda o: b"\n" in o[n:])
        time.sleep(0.3)
    else:
        type_line(a)
        pump(20, prompt)
os.write(fd, b"\x04")
pump(10, lambda o: False)
status, end = None, time.time() + 5
while status is None and time.time() < end:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
    else:
        time.sleep(0.02)
if status is None:  # stuck: the spec fails, it does not hang
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.stdout.write("\n[exit %d]\n" % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1))
]]

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function json_list(list)
  local parts = {}
  for i, s in ipairs(list) do parts[i] = json_string(s) end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function json_object(t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = json_string(k) .. ":" .. json_string(v) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local d = p:read("l")
  p:close()
  return d
end

-- where the sessions keep their history (never the user's own)
local STATE = tmpdir()

-- `opts`: argv, env (added to COLUMNS=100, TERM=xterm, XDG_STATE_HOME)
local function session(actions, opts)
  opts = opts or {}
  local argv = opts.argv
    or { arg and arg[-1] or "lua5.4", os.getenv("PWD") .. "/bin/cxcloud", "repl", "--sandbox" }
  local env = { COLUMNS = "100", TERM = "xterm", XDG_STATE_HOME = STATE }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local p = assert(io.popen("python3 -c " .. shell_quote(DRIVER) .. " " .. shell_quote(json_list(argv))
    .. " " .. shell_quote(json_list(actions)) .. " " .. shell_quote(json_object(env)) .. " 2>&1"))
  local out = p:read("a")
  p:close()
  helper.show(out)
  -- what a reader sees: no bracketed-paste toggles, no CRs
  return (out:gsub("\27%[%?2004[hl]", ""):gsub("\r", ""):gsub("\7", ""))
end

-- the text between the n-th prompt's line and the next prompt
local function answer(out, n)
  local i, start = 0, 1
  while true do
    local s, e = out:find("cx>>? ", start)
    if not s then break end
    i = i + 1
    if i == n then
      local next_s = out:find("cx>>? ", e + 1) or #out + 1
      return out:sub(e + 1, next_s - 1)
    end
    start = e + 1
  end
end

-- the lines of a table between its rule and the line that counts the items
local function table_rows(text)
  local rows, inside = {}, false
  for line in text:gmatch("[^\n]+") do
    if line:find("^%-%-") then inside = true
    elseif inside and (line:find("^%.%.%. ") or line:find("^%(")) then break
    elseif inside then rows[#rows + 1] = line end
  end
  return rows
end

local function read(path) return helper.read_file(path) end

describe("cxcloud repl", function()
  teardown(function() os.execute("rm -rf " .. shell_quote(STATE)) end)

  it("shows lists, items, queries, errors and help readably on a terminal", function()
    local out = session {
      "cx:customers():all()",
      "q = cx:customer(sb.customers[1]):hardware { productId = 'X' }",
      "q",
      "cx:customer(sb.customers[1]):hardware():first()",
      "cx:customer(sb.customers[1]):hardware():all()",
      "cx:hardwre()",
      "cx:hardware { customerId = 'nobody' }:all()",
      "for x in cx:hardware { customerId = 'nobody' } do end",
      "help()",
      "help 'hardware-eol'",
      "help(cx.coverage)",
    }
    assert.truthy(out:find("cxcloud, cx and help() are ready", 1, true), out)
    -- a list: aligned table with the count, names before identifiers
    local a = answer(out, 1)
    assert.truthy(a:find("customerName%s+customerId"), a)
    assert.truthy(a:find("(3 items", 1, true), a)
    for line in a:gmatch("[^\n]+") do assert.is_true(#line <= 100 + 40, line) end -- "…" is 3 bytes
    -- a query: operation and parameters, with the hint
    a = answer(out, 3)
    assert.truthy(a:find("cxcloud.query hardware", 1, true), a)
    assert.truthy(a:find("productId=X", 1, true), a)
    assert.truthy(a:find(":all()", 1, true), a)
    -- an item: field = value lines
    a = answer(out, 4)
    assert.truthy(a:find("\nserialNumber%s+= \""), a)
    assert.truthy(a:find("hwInstanceId%s+= \"%d+\""), a) -- identifiers are strings
    -- a long list: the first rows, then how many more
    a = answer(out, 5)
    assert.truthy(a:find("... 20 more (40 items", 1, true), a)
    assert.equal(repl.ROWS, #table_rows(a))
    -- errors: one line each, no traceback
    a = answer(out, 6)
    assert.truthy(a:find("did you mean 'hardware'", 1, true), a)
    a = answer(out, 7)
    assert.truthy(a:find("\nerror: http 403"), a)
    a = answer(out, 8)
    assert.truthy(a:find("http 403", 1, true), a)
    assert.is_nil(out:find("stack traceback", 1, true), out)
    -- help
    a = answer(out, 9)
    assert.truthy(a:find("security_advisory_bulletins", 1, true), a)
    assert.truthy(a:find('export(v, "items.csv")', 1, true), a)
    a = answer(out, 10)
    assert.truthy(a:find("* customerId", 1, true), a)
    assert.truthy(a:find("currentHwEolMilestone", 1, true), a)
    a = answer(out, 11)
    assert.truthy(a:find("/contracts/coverage", 1, true), a)
    assert.truthy(out:find("[exit 0]", 1, true), out)
  end)

  it("survives Ctrl-C during a query, a loop and at both prompts, with its variables", function()
    local out = session {
      "x = 42",
      "_ = sb:set { latency = 5 }",
      "&cx:customers():all()",                                                  -- 3
      "^C",
      "x",                                                                      -- 4
      "&for _, id in ipairs(sb.customers) do print(cx:customer(id):hardware():count()) end",
      "^C",
      "x + 1",                                                                  -- 6
      "_ = sb:set { latency = 0 }",
      "cx:customers():count()",                                                 -- 8
      "&while true do end",
      "^C",
      "~partial",                                                               -- 10
      "^C",
      "abc = ",                                                                 -- 11: continuation
      "^C",                                                                     -- 12
      "for i = 1, 3 do",                                                        -- 13
      "print(i)",                                                               -- 14
      "^C",                                                                     -- 15
      "y = x * 2",                                                              -- 16
      "y",                                                                      -- 17
      -- the terminal streams of the cancelled lines are closed
      "pid = io.open('/proc/self/stat'):read('l'):match('^%d+')",              -- 18
      "n = 0; for l in io.popen('ls -l /proc/' .. pid .. '/fd'):lines() do"
        .. " if l:find('/dev/tty$') then n = n + 1 end end",                    -- 19
      "n",                                                                      -- 20
    }
    -- the query, the loop of queries and the endless loop end with one line each
    assert.equal("cx:customers():all()\n^Cinterrupted\n", answer(out, 3))
    assert.truthy(answer(out, 5):find("\n^Cinterrupted\n$"), out)
    assert.truthy(answer(out, 9):find("\n^Cinterrupted\n$"), out)
    -- the variables, the client and the sandbox are still there
    assert.equal("x\n42\n", answer(out, 4))
    assert.equal("x + 1\n43\n", answer(out, 6))
    assert.equal("cx:customers():count()\n3\n", answer(out, 8))
    -- at the prompts Ctrl-C drops what was typed
    assert.equal("partial^C\n", answer(out, 10))
    assert.equal("abc = \n", answer(out, 11))
    assert.equal("^C\n", answer(out, 12))
    assert.equal("print(i)\n", answer(out, 14))
    assert.equal("^C\n", answer(out, 15))
    assert.equal("y\n84\n", answer(out, 17))
    assert.equal("n\n0\n", answer(out, 20))
    assert.is_nil(out:find("stack traceback", 1, true), out)
    assert.truthy(out:find("[exit 0]", 1, true), out)
  end)

  it("keeps the last result in _, shows chosen columns, fits product and serial in 80 columns"
    .. " and exports files exactly", function()
    local dir = tmpdir()
    local keep = dir .. "/kept.csv"
    local f = assert(io.open(keep, "wb"))
    f:write("old\n")
    f:close()
    local out = session({
      "cx:customer(sb.customers[1]):hardware():all()",                          -- 1
      "#_",                                                                     -- 2
      "_ + 2",                                                                  -- 3
      "x = 1",                                                                  -- 4
      "_",                                                                      -- 5
      "cx:customer(sb.customers[1]):hardware { max_items = 3 }:all()",          -- 6
      'show(_, "serialNumber, productId")',                                     -- 7
      'show(_[2], "productId,hwName")',                                         -- 8
      'show(_, "serialNumbr")',                                                 -- 9
      ('export(_, %q)'):format(dir .. "/hw.csv"),                               -- 10
      ('export(_, %q)'):format(dir .. "/hw.jsonl"),                             -- 11
      ('export(_, %q)'):format(dir .. "/hw.txt"),                               -- 12
      ('export(cx:hardware { customerId = "nobody" }, %q)'):format(keep),       -- 13
    }, { env = { COLUMNS = "80" } })
    local items = sandbox.truth({ seed = 1, customers = 3 }, "hardware", 1)
    -- an 80-column table shows product and serial, names first, identifiers after
    local a = answer(out, 1)
    local header = a:match("\n([^\n]+)\n%-%-")
    assert.truthy(header:find("^hwName +productId +serialNumber +swVersion"), a)
    for line in a:gmatch("[^\n]+") do assert.is_true((utf8.len(line) or #line) <= 80, line) end
    assert.truthy(table_rows(a)[1]:find(items[1].serialNumber, 1, true), a)
    -- _ : the last non-nil value of an expression (`x = 1` is not one)
    assert.equal("#_\n40\n", answer(out, 2))
    assert.equal("_ + 2\n42\n", answer(out, 3))
    assert.equal("_\n42\n", answer(out, 5))
    -- show: those columns, in that order
    a = answer(out, 7)
    local rows = table_rows(a)
    assert.truthy(a:find("\nserialNumber +productId\n"), a)
    assert.equal(3, #rows)
    for i = 1, 3 do
      local serial, product = rows[i]:match("^(%S+) +(%S+)$")
      assert.same({ items[i].serialNumber, items[i].productId }, { serial, product })
    end
    assert.equal(('show(_[2], "productId,hwName")\nproductId = %q\nhwName    = %q\n')
      :format(items[2].productId, items[2].hwName), answer(out, 8))
    assert.truthy(answer(out, 9):find(
      "show: no item has the field 'serialNumbr' (did you mean 'serialNumber'?)", 1, true), out)
    -- export: the rows, in the command line's formats, whole
    assert.truthy(answer(out, 10):find("wrote 3 items to " .. dir .. "/hw.csv (csv)", 1, true), out)
    local fields = {}
    for _, name in ipairs(require("cxcloud.cli.repl.complete").find_op("hardware").fields) do
      if items[1][name] ~= nil then fields[#fields + 1] = name end
    end
    local lines = {}
    for line in read(dir .. "/hw.csv"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    assert.equal(4, #lines)
    assert.equal(table.concat(fields, ",") .. "\r", lines[1])
    for i = 1, 3 do
      local cells = {}
      for j, name in ipairs(fields) do
        local v = items[i][name]
        if v == "null" then v = "" end -- the API's "null" text is an empty cell, as a JSON null
        cells[j] = v:find('[",]') and ('"' .. v:gsub('"', '""') .. '"') or v
      end
      assert.equal(table.concat(cells, ",") .. "\r", lines[i + 1])
    end
    local decoded = {}
    for line in read(dir .. "/hw.jsonl"):gmatch("[^\n]+") do decoded[#decoded + 1] = cjson.decode(line) end
    assert.same({ items[1], items[2], items[3] }, decoded)
    assert.truthy(answer(out, 12):find("must end in .csv, .jsonl or .json", 1, true), out)
    assert.is_nil(read(dir .. "/hw.txt"))
    assert.truthy(answer(out, 13):find("http 403", 1, true), out)
    assert.equal("old\n", read(keep))
    local left = io.popen("ls -A " .. shell_quote(dir)):read("a")
    assert.equal("hw.csv\nhw.jsonl\nkept.csv\n", left) -- no temporary file left behind
    os.execute("rm -rf " .. shell_quote(dir))
  end)

  it("keeps its history across sessions in a private file, without secrets", function()
    local state = tmpdir()
    local out = session({
      "y = 7",
      'client_secret = "hunter2"',
      "for i = 1, 2 do",
      "end",
      'print("recalled " .. 6 * 7)',
    }, { env = { XDG_STATE_HOME = state } })
    assert.truthy(out:find("[exit 0]", 1, true), out)
    local path = state .. "/cxcloud/repl_history"
    assert.equal('y = 7\nfor i = 1, 2 do\\nend\nprint("recalled " .. 6 * 7)\n', read(path))
    local p = io.popen("stat -c %a " .. shell_quote(path) .. " " .. shell_quote(state .. "/cxcloud"))
    assert.equal("600\n700\n", p:read("a"))
    p:close()
    -- a new session: Up brings the last line back
    out = session({ "\27[A" }, { env = { XDG_STATE_HOME = state } })
    assert.truthy(answer(out, 1):find("\nrecalled 42\n", 1, true), out)
    -- a state directory that cannot be written costs the history, nothing else
    out = session({ "1 + 1" }, { env = { XDG_STATE_HOME = "/dev/null" } })
    assert.truthy(out:find("(the history is not kept: ", 1, true), out)
    assert.truthy(answer(out, 1):find("\n2\n", 1, true), out)
    os.execute("rm -rf " .. shell_quote(state))
  end)

  it("edits lines with readline: Ctrl-A goes to the start, backspace deletes", function()
    local out = session { "():count()\1cx:customerz\127s", "x = 1 + 41\127\127" .. "2", "x" }
    assert.truthy(answer(out, 1):find("\n3\n", 1, true), out)
    assert.truthy(answer(out, 3):find("\n3\n", 1, true), out)
  end)

  it("completes cx: methods, parameter names and customer IDs with Tab", function()
    local out = session { "cx:hardw\t{ custo\tsb.customers[2] }:count()",
      "x = cxcloud.operat\t[1].name", "x", 'cx:customer("0I\t):hardware():count()' }
    assert.truthy(answer(out, 1):find("cx:hardware{ customerId = sb.customers[2] }:count()\n", 1, true), out)
    assert.truthy(answer(out, 1):find("\n40\n", 1, true), out)
    assert.truthy(answer(out, 2):find("x = cxcloud.operations[1].name\n", 1, true), out)
    assert.truthy(answer(out, 3):find("\ncustomers\n", 1, true), out)
    assert.truthy(answer(out, 4):find('cx:customer("0I6GCcwKSCJ3sIr"):hardware():count()\n40\n', 1, true),
      out)
    assert.same({ "cx:hardware", "cx:hardware_eol", "cx:hardware_eol_bulletins" },
      repl.complete("", "cx:hardw", { cx = require("cxcloud").new { client_id = "a", client_secret = "b" } }))
    assert.same({ "customerId = " }, repl.complete("cx:coverage { ", "custo"))
    assert.same({ "serialNumber = " }, repl.complete("v:hardware({ customerId = 'x', ", "serialN"))
    local env = { sb = { customers = { "HY2b", "0I6G", "knXF" } } }
    assert.same({ "0I6G" }, repl.complete('cx:customer("', "0I", env))
    assert.same({ '"HY2b"', '"0I6G"', '"knXF"' }, repl.complete("cx:customer(", "", env))
    assert.same({ "knXF" }, repl.complete("cx:hardware { customerId = '", "kn", env))
  end)

  it("completes customer IDs from customer-details when there is no sandbox", function()
    local sb = helper.sandbox { seed = 5, customers = 2 }
    local cx = helper.client(sb)
    local ids = { sb.customers[1], sb.customers[2] }
    table.sort(ids)
    assert.same(ids, repl.complete('cx:customer("', "", { cx = cx }))
    assert.same({ '"' .. ids[1] .. '"' }, repl.complete("cx:customer(", ids[1]:sub(1, 4), { cx = cx }))
    cx:close()
    sb:stop()
  end)

  it("reads plain lines without lua-readline: Ctrl-C, _ and the history still work", function()
    local out = session({ "x = 5", "~abc", "^C", "for i = 1, 2 do", "^C", "x * 2", "_ + 1" },
      { env = { CXCLOUD_REPL_PLAIN = "1" } })
    assert.equal("abc^C\n", answer(out, 2))
    assert.equal("for i = 1, 2 do\n", answer(out, 3))
    assert.equal("^C\n", answer(out, 4))
    assert.equal("x * 2\n10\n", answer(out, 5))
    assert.equal("_ + 1\n11\n", answer(out, 6))
    assert.truthy(out:find("[exit 0]", 1, true), out)
  end)

  it("loads into a plain lua5.4 -i", function()
    local code = ("package.path = %q; package.cpath = %q; require('cxcloud.repl').start { sandbox = true }")
      :format(package.path, package.cpath)
    local out = session({ "cx:customers():count()", "help 'customers'" },
      { argv = { arg and arg[-1] or "lua5.4", "-e", code, "-i" } })
    assert.truthy(out:find("cx is a client on a local sandbox", 1, true), out)
    assert.truthy(answer(out, 1):find("3", 1, true), out)
    assert.truthy(answer(out, 2):find("customerName", 1, true), out)
  end)

  it("formats values without a terminal too", function()
    assert.equal("{} (empty)", repl.show({}))
    local item = repl.show { serialNumber = "FOC1", hwInstanceId = "301", nested = { 1, 2 } }
    assert.truthy(item:find('^serialNumber%s+= "FOC1"'), item)
    assert.truthy(item:find("nested%s+= %[1,2%]"), item)
    assert.truthy(item:find('\nhwInstanceId%s+= "301"$'), item) -- identifiers last
    local list = repl.show_list({ { a = "1", b = "x" }, { a = "22", b = "y" } }, 80)
    assert.truthy(list:find("^a   b\n%-%-  %-\n1   x\n22  y\n%(2 items%)$"), list)
    assert.truthy(repl.help_text("hardwar"):find("did you mean 'hardware'", 1, true))
    assert.equal('{ 1, "two", true }', repl.show { 1, "two", true })
    local ops = repl.show(require("cxcloud").operations)
    assert.truthy(ops:find("(14 items", 1, true), ops)
    assert.truthy(ops:find("\nfalse +required +%[\"neInstanceId\""), ops)
  end)

  it("orders columns for reading: names, product, serial, version, dates; empty ones and IDs last",
    function()
    for _, case in ipairs {
      { "hardware", 1, { "hwName", "productId", "serialNumber", "swVersion" } },
      { "network_elements", 1, { "hostname", "managementAddress", "productId" } },
      { "hardware_eol", 1, { "productId", "currentHwEolMilestone", "currentHwEolMilestoneDate" } },
      { "coverage", 1, { "productId", "serialNumber" } },
    } do
      local rows = sandbox.truth({ seed = 1, customers = 3 }, case[1], case[2])
      local cols = display.columns(rows)
      assert.same(case[3], { table.unpack(cols, 1, #case[3]) }, case[1])
      local seen_id = false
      for _, c in ipairs(cols) do
        if display.is_id(c) then seen_id = true
        else assert.is_false(seen_id, case[1] .. ": " .. c .. " after an identifier") end
      end
      assert.truthy(seen_id, case[1])
    end
    assert.is_true(display.is_id("neInstanceId"))
    assert.is_false(display.is_id("productId"))
    -- inventoryName is the text "null" in every row: after the filled columns
    local cols = display.columns(sandbox.truth({ seed = 1, customers = 3 }, "hardware", 1))
    local pos = {}
    for i, c in ipairs(cols) do pos[c] = i end
    assert.is_true(pos.inventoryName > pos.productDescription)
    assert.is_true(pos.inventoryName < pos.neInstanceId)
  end)

  it("keeps the history file bounded and secrets out of it", function()
    local dir = tmpdir()
    local path = dir .. "/sub/repl_history"
    local h = history.open(path, 3)
    assert.is_nil(h.problem)
    for _, e in ipairs { "a = 1", "b = 2\nc = 3", "a = 1", "a = 1", "pw = { password = 'x' }", "d\\n" } do
      h:add(e)
    end
    assert.equal("a = 1\nb = 2\\nc = 3\na = 1\nd\\\\n\n", read(path))
    h = history.open(path, 3)
    assert.same({ "b = 2\nc = 3", "a = 1", "d\\n" }, h.entries)
    assert.equal("b = 2\\nc = 3\na = 1\nd\\\\n\n", read(path))
    assert.equal("600", io.popen("stat -c %a " .. shell_quote(path)):read("l"))
    for _, s in ipairs { 'cx = cxcloud.new { client_id = "a", client_secret = "b" }', "password='x'",
      'h["Authorization"] = "Bearer abc.def"', "api_key: 1", "token = t" } do
      assert.is_true(history.secret_looking(s), s)
    end
    for _, s in ipairs { "t = cx:token()", 'os.getenv("CXCLOUD_CLIENT_SECRET")', "x.secret == y",
      "cx:customers():all()" } do
      assert.is_false(history.secret_looking(s), s)
    end
    assert.equal("/s/cxcloud/repl_history",
      history.path(function(k) return k == "XDG_STATE_HOME" and "/s" or nil end))
    assert.equal("/h/.local/state/cxcloud/repl_history",
      history.path(function(k) return ({ HOME = "/h", XDG_STATE_HOME = "rel" })[k] end))
    os.execute("rm -rf " .. shell_quote(dir))
  end)
end)
