#!/usr/bin/env lua5.4
--- `make demo`: the main job on the bundled sandbox, in well under a minute. It starts a
-- sandbox, then runs the command line exactly as a user does (bin/cxcloud, configured only
-- through CXCLOUD_*): the customers, one customer's inventory exported to CSV with a
-- progress line, the device report's top rows, the totals for every customer; then it
-- keeps track: a sync into a SQLite file, the sandbox's data moves (devices added and
-- removed, a software upgrade, renewed coverage), a second sync and what changed; and stops
-- the sandbox.
local sandbox = require "cxcloud.sandbox"
local shell_quote = require("cxcloud.shell").quote

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local cli = here .. "../bin/cxcloud"
local interpreter = arg and arg[-1] or "lua5.4"

-- the sandbox's own `today` (its default): its environment passes it to the commands
-- (CXCLOUD_TODAY), so the report's counts are the same on any date
local sb = sandbox.start { -- stopped at the end (and when this process exits)
  seed = 2026, customers = 6, hardware = { 1500, 120, 80, 60, 40, 40 },
}
local customer = sb.customers[1]
print(("A local CX Cloud sandbox listens on 127.0.0.1:%d; the commands below reach it through"
  .. " CXCLOUD_BASE_URL, CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE and the client credentials."):format(sb.port))

local env = {}
for k, v in pairs(sb:env()) do env[#env + 1] = k .. "=" .. shell_quote(v) end
table.sort(env)
local prefix = "env " .. table.concat(env, " ") .. " " .. shell_quote(interpreter) .. " " .. shell_quote(cli)

local failed = false
local function run(title, args)
  print()
  print("# " .. title)
  print("$ cxcloud " .. args)
  io.stdout:flush()
  local ok = os.execute(prefix .. " " .. args)
  if not ok then failed = true end
end

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. shell_quote(dir))
local csv = dir .. "/inventory.csv"

run("The customers these credentials see",
  "customers --format table --fields customerId,customerName,city,country")
run("One customer's hardware inventory to CSV (written whole or not at all), with a progress line",
  ("hardware --customer %s --output %s --progress"):format(customer, shell_quote(csv)))
local f = io.open(csv, "rb")
if f then
  local lines = 0
  for _ in f:lines() do lines = lines + 1 end
  f:close()
  print(("%s: %d lines (a header and %d rows), RFC 4180 with CRLF"):format(csv, lines, lines - 1))
end
run("The device report for that customer, what needs attention first (top 10 rows)",
  ("report --customer %s --format table --max-items 10"):format(customer))
run("Totals for every customer", "report --all-customers --totals --format table")

local db = dir .. "/cx.sqlite"
run("Keep track: every customer and operation synced into a SQLite file (complete extracts only)",
  ("sync --db %s"):format(shell_quote(db)))
-- a day passes: devices are installed and retired, one is upgraded, coverage is renewed
sb:add_rows { op = "hardware", customerId = customer, count = 12 }
sb:remove_rows { op = "network_elements", customerId = sb.customers[2], count = 2, at = "start" }
sb:change_rows { op = "hardware", customerId = customer, count = 1 }
sb:change_rows { op = "coverage", customerId = sb.customers[3], count = 3 }
print()
print("# ... the service's data moves: 12 hardware rows installed, 2 devices retired, an upgrade,"
  .. " 3 coverage renewals")
run("The next sync writes only what changed", ("sync --db %s"):format(shell_quote(db)))
run("What changed, per customer", ("changes --db %s --summary --format table"):format(shell_quote(db)))
run("What changed, one line per change (first 12)",
  ("changes --db %s --format table --max-items 12"):format(shell_quote(db)))

os.remove(csv)
os.execute("rm -f " .. shell_quote(db) .. "*")
os.remove(dir)
sb:stop()
print()
print("Sandbox stopped. Explore the same data yourself: bin/cxcloud repl --sandbox")
os.exit(failed and 1 or 0)
