std = "lua54"
max_line_length = 110
codes = true
files["spec"] = { std = "+busted" }
files["sandbox/spec"] = { std = "+busted" }
files["bench"] = { std = "+lua54" }
-- an NSE script: nmap's Lua 5.3, and the globals NSE reads from a script and gives it
files["examples/nmap/cxcloud.nse"] = {
  std = "lua53", globals = { "description", "author", "license", "categories", "prerule", "hostrule", "action" },
  read_globals = { "SCRIPT_TYPE" },
}
exclude_files = { "build", "cxcloud" }
