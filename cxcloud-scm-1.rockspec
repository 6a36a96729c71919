rockspec_format = "3.0"
package = "cxcloud"
version = "scm-1"
source = { url = "git+file:///dev/null" }
description = {
   summary = "Cisco CX Cloud API v2 client: OAuth2, HTTPS over libcurl, auto-paginating queries",
   detailed = [[
cxcloud is a Lua module (Lua 5.1 to 5.4 and LuaJIT) with a C core (libcurl multi interface,
OAuth2 client credentials, secrets kept in C) and Lua wrappers for every CX Cloud v2 operation,
with lazy, concurrent, rate-limited, retrying pagination, a store that syncs into SQLite or
PostgreSQL and records what changed, and the `cxcloud` command line (Lua 5.4). The local sandbox is its own rock: cxcloud-sandbox-scm-1.rockspec.]],
   license = "MIT",
}
-- Debian's luarocks builds for Lua 5.1 unless told otherwise; the dependencies come from apt
-- (lua-cjson for the client, lua-argparse for bin/cxcloud, lua-dbi-sqlite3 for the store;
-- a PostgreSQL store also needs lua-dbi-postgresql, not listed: most stores are files):
--   luarocks --lua-version=5.4 make --local --deps-mode=none cxcloud-scm-1.rockspec
-- libcurl's development files come from the system (pkg-config).
dependencies = {
   "lua >= 5.1, < 5.5", "lua-cjson", "argparse", "luadbi-sqlite3",
}
-- The Makefile builds the C core and installs every module: one list of files, not two.
-- CFLAGS is only the builder's part: the Makefile adds its own warnings and include paths to it.
-- LUA goes to both steps: the core of each Lua version has a place of its own in the tree.
build = {
   type = "make",
   build_variables = { CFLAGS = "$(CFLAGS)", LUA_INCDIR = "$(LUA_INCDIR)", LUA = "$(LUA)" },
   install_variables = {
      PREFIX = "$(PREFIX)", LUA_LMOD = "$(LUADIR)", LUA_CMOD = "$(LIBDIR)", BIN_DIR = "$(BINDIR)",
      LUA = "$(LUA)", LUA_INCDIR = "$(LUA_INCDIR)", CFLAGS = "$(CFLAGS)",
   },
   copy_directories = { "examples" },
}
