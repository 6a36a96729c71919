rockspec_format = "3.0"
package = "cxcloud-sandbox"
version = "scm-1"
source = { url = "git+file:///dev/null" }
description = {
   summary = "A local fake of the Cisco CX Cloud API v2 over HTTPS, for cxcloud and other clients",
   detailed = [[
The cxcloud sandbox: the token endpoint and every CX Cloud v2 operation over real TLS on
127.0.0.1, with generated, cross-referenced data, a scriptable gateway (latency, rate limits,
quotas) and fault injection. `require "cxcloud.sandbox"` starts one from Lua 5.4;
`cxcloud sandbox` (the command of the cxcloud rock) runs one in the foreground.]],
   license = "MIT",
}
-- Lua 5.4 only (its data generator needs 64-bit integers). cxcloud (the library) for the
-- operations table, the shell quoting and the command line it plugs `cxcloud sandbox` into;
-- lua-http, cqueues, luaossl, lua-cjson and basexx (base64, a dependency of lua-http) for the
-- server. On Debian they come from apt (lua-http, lua-cqueues, lua-luaossl, lua-cjson), hence:
--   luarocks --lua-version=5.4 make --local --deps-mode=none cxcloud-sandbox-scm-1.rockspec
dependencies = {
   "lua >= 5.4, < 5.5", "cxcloud", "http", "cqueues", "luaossl", "lua-cjson", "basexx",
}
-- Pure Lua, nothing to build: the Makefile's install-sandbox target installs every module
-- under sandbox/lua (one list of files, not two).
build = {
   type = "make",
   build_pass = false,
   install_target = "install-sandbox",
   install_variables = { LUA_LMOD = "$(LUADIR)" },
}
