std = "lua54"
max_line_length = 110
codes = true
files["spec"] = { std = "+busted" }
files["sandbox/spec"] = { std = "+busted" }
files["bench"] = { std = "+lua54" }
exclude_files = { "build", "cxcloud" }
