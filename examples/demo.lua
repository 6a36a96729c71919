#!/usr/bin/env lua5.4
--- `make demo`: start the bundled sandbox, run the quick start against it, stop the sandbox.
-- The quick start is run exactly as a user runs it, with the CXCLOUD_* environment variables
-- pointing at the sandbox.
local sandbox = require "cxcloud.sandbox"
local shell_quote = require("cxcloud.sandbox.shell").quote

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local sb <close> = sandbox.start { seed = 2026, customers = 6 }
print(("sandbox: %s on 127.0.0.1:%d (CA %s)"):format(sb.local_base_url, sb.port, sb.ca_file))

local assignments = {}
for k, v in pairs(sb:env()) do assignments[#assignments + 1] = k .. "=" .. shell_quote(v) end
table.sort(assignments)
local interpreter = arg and arg[-1] or "lua5.4"
local ok = os.execute(("env %s %s %s"):format(table.concat(assignments, " "), shell_quote(interpreter),
                                               shell_quote(here .. "quickstart.lua")))
sb:stop()
os.exit(ok and 0 or 1)
