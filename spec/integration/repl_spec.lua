-- The REPL as a person uses it: `cxcloud repl --sandbox` on a pseudo-terminal (Python's pty
-- module), lines typed one after the other once the prompt is back, with readline keys.
local helper = require "spec.support.helper"
local repl = require "cxcloud.repl"

local shell_quote = require("cxcloud.shell").quote

-- Python: run argv on a pty 100 columns wide, type each line after the prompt, return all
-- that the terminal showed.
local DRIVER = [[
import json, os, pty, select, sys, time
argv, lines = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.environ["COLUMNS"] = "100"
    os.environ["TERM"] = "xterm"
    os.execvp(argv[0], argv)
out = b""
def until_prompt(limit):
    global out
    end = time.time() + limit
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
            if out.endswith(b"cx> "):
                return True
    return False
until_prompt(30)
for line in lines:
    for ch in line:
        os.write(fd, ch.encode())
        time.sleep(0.002)
    os.write(fd, b"\r")
    until_prompt(20)
os.write(fd, b"\x04")
until_prompt(5)
os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
]]

local function json_list(list)
  local parts = {}
  for i, s in ipairs(list) do
    parts[i] = '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function session(lines, argv)
  argv = argv or { arg and arg[-1] or "lua5.4", os.getenv("PWD") .. "/bin/cxcloud", "repl", "--sandbox" }
  local p = assert(io.popen("python3 -c " .. shell_quote(DRIVER) .. " " .. shell_quote(json_list(argv))
    .. " " .. shell_quote(json_list(lines)) .. " 2>&1"))
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
    local s, e = out:find("cx> ", start, true)
    if not s then break end
    i = i + 1
    if i == n then
      local next_s = out:find("cx> ", e + 1, true) or #out + 1
      return out:sub(e + 1, next_s - 1)
    end
    start = e + 1
  end
end

describe("cxcloud repl", function()
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
    -- a list: aligned table with the count
    local a = answer(out, 1)
    assert.truthy(a:find("customerId%s+customerName"), a)
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
    local rows = 0
    for _ in a:gmatch("\n2015%d+") do rows = rows + 1 end
    assert.equal(repl.ROWS, rows)
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
    a = answer(out, 10)
    assert.truthy(a:find("* customerId", 1, true), a)
    assert.truthy(a:find("currentHwEolMilestone", 1, true), a)
    a = answer(out, 11)
    assert.truthy(a:find("/contracts/coverage", 1, true), a)
  end)

  it("edits lines with readline: Ctrl-A goes to the start, backspace deletes", function()
    local out = session { "():count()\1cx:customerz\127s", "x = 1 + 41\127\127" .. "2", "x" }
    assert.truthy(answer(out, 1):find("\n3\n", 1, true), out)
    assert.truthy(answer(out, 3):find("\n3\n", 1, true), out)
  end)

  it("completes cx: methods and parameter names with Tab", function()
    local out = session { "cx:hardw\t{ custo\tsb.customers[2] }:count()",
      "x = cxcloud.operat\t[1].name", "x" }
    assert.truthy(answer(out, 1):find("cx:hardware{ customerId = sb.customers[2] }:count()\n", 1, true), out)
    assert.truthy(answer(out, 1):find("\n40\n", 1, true), out)
    assert.truthy(answer(out, 2):find("x = cxcloud.operations[1].name\n", 1, true), out)
    assert.truthy(answer(out, 3):find("\ncustomers\n", 1, true), out)
    assert.same({ "cx:hardware", "cx:hardware_eol", "cx:hardware_eol_bulletins" },
      repl.complete("", "cx:hardw", { cx = require("cxcloud").new { client_id = "a", client_secret = "b" } }))
    assert.same({ "customerId = " }, repl.complete("cx:coverage { ", "custo"))
    assert.same({ "serialNumber = " }, repl.complete("v:hardware({ customerId = 'x', ", "serialN"))
  end)

  it("loads into a plain lua5.4 -i", function()
    local code = ("package.path = %q; package.cpath = %q; require('cxcloud.repl').start { sandbox = true }")
      :format(package.path, package.cpath)
    local out = session({ "cx:customers():count()", "help 'customers'" },
      { arg and arg[-1] or "lua5.4", "-e", code, "-i" })
    assert.truthy(out:find("cx is a client on a local sandbox", 1, true), out)
    assert.truthy(answer(out, 1):find("3", 1, true), out)
    assert.truthy(answer(out, 2):find("customerName", 1, true), out)
  end)

  it("formats values without a terminal too", function()
    assert.equal("{} (empty)", repl.show({}))
    local item = repl.show { serialNumber = "FOC1", hwInstanceId = "301", nested = { 1, 2 } }
    assert.truthy(item:find('serialNumber%s+= "FOC1"'), item)
    assert.truthy(item:find("nested%s+= %[1,2%]"), item)
    local list = repl.show_list({ { a = "1", b = "x" }, { a = "22", b = "y" } }, 80)
    assert.truthy(list:find("^a   b\n%-%-  %-\n1   x\n22  y\n%(2 items%)$"), list)
    assert.truthy(repl.help_text("hardwar"):find("did you mean 'hardware'", 1, true))
    assert.equal('{ 1, "two", true }', repl.show { 1, "two", true })
    local ops = repl.show(require("cxcloud").operations)
    assert.truthy(ops:find("(14 items", 1, true), ops)
    assert.truthy(ops:find("\nfalse +required +%[\"neInstanceId\""), ops)
  end)
end)
