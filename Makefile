# cxcloud: a Lua client (5.1-5.4, LuaJIT) for the Cisco CX Cloud API v2.
# `make demo` and `make test` work on a fresh Debian machine: they install what is missing.

# The interpreter to build and test for: lua5.1, lua5.2, lua5.3, lua5.4 or luajit (a path to
# one works too); its name gives the Lua version and the pkg-config package.
LUA      ?= lua5.4
LUA_NAME := $(notdir $(LUA))
LUA_V    := $(if $(filter luajit%,$(LUA_NAME)),5.1,$(or $(filter 5.1 5.2 5.3 5.4,$(LUA_NAME:lua%=%)),5.4))
LUA_PC   := $(if $(filter luajit%,$(LUA_NAME)),luajit,lua$(LUA_V))
PREFIX   ?= /usr/local
LUA_LMOD ?= $(PREFIX)/share/lua/$(LUA_V)
LUA_CMOD ?= $(PREFIX)/lib/lua/$(LUA_V)
BIN_DIR  ?= $(PREFIX)/bin

CC       ?= cc
# CFLAGS is the builder's (optimisation, debug; LuaRocks passes its own): the project's flags
# below are always added to it, so `make CFLAGS=...` cannot drop the include paths or -Werror.
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wdeclaration-after-statement -Wpointer-arith -Wformat=2
# What depends on installed packages is computed when a recipe runs, never when the Makefile
# is read (`make demo` installs them first); a pkg-config that fails stops the build.
pkg      = $(shell pkg-config $(1))$(if $(filter 0,$(.SHELLSTATUS)),,$(error pkg-config $(1) \
           failed: the development files are missing (`make deps` installs them)))
# LuaRocks passes LUA_INCDIR for the Lua it builds for; otherwise pkg-config finds Debian's.
LUA_CFLAGS = $(if $(LUA_INCDIR),-I$(LUA_INCDIR),$(call pkg,--cflags $(LUA_PC)))
# src/lib/ (plain C: the transport and its helpers) is compiled without Lua's include path,
# so that none of it can include a Lua header; the binding (src/*.c) with it.
LIB_CFLAGS  = -std=c99 -D_DEFAULT_SOURCE -fPIC $(WARN) $(SANITIZE) $(call pkg,--cflags libcurl)
CORE_CFLAGS = $(LIB_CFLAGS) $(LUA_CFLAGS)
# The module takes the Lua API from the interpreter that loads it: do not link liblua.
LIBS     = $(call pkg,--libs libcurl) -lm -lpthread
LDFLAGS  += -shared $(SANITIZE)

LIB_SRC  := $(wildcard src/lib/*.c)
SRC      := $(wildcard src/*.c) $(LIB_SRC)
# Objects per Lua version, and a C core per Lua version, so that building for one never
# replaces another's: lua5.4's (the one bin/cxcloud loads) is cxcloud/core.so, another's
# build/<lua>/cxcloud/core.so (`make LUA=lua5.3` says how to use it). MODULE=... puts one
# elsewhere; it is relinked whenever it was last built for another Lua.
OBJ_DIR  := build/$(LUA_PC)
OBJ      := $(SRC:src/%.c=$(OBJ_DIR)/%.o)
core_dir  = $(if $(filter lua5.4,$(1)),,build/$(1)/)
MODULE   := $(call core_dir,$(LUA_PC))cxcloud/core.so
# the directory to put on LUA_CPATH (as DIR/?.so) for MODULE: "" is the top of the tree
CORE_DIR := $(patsubst %cxcloud/core.so,%,$(MODULE))
BUILT_FOR = $(dir $(MODULE)).built-for

# Lua finds the library's modules in lua/, the sandbox's (a product of its own, Lua 5.4) in
# sandbox/lua/, LUA's C core in MODULE, and lua-http, cqueues and busted's pure-Lua parts in
# Debian's 5.1 tree (they run unchanged on 5.4).
LUA_ENV  := LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/sandbox/lua/?.lua;$(CURDIR)/sandbox/lua/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;" \
            LUA_CPATH="$(CURDIR)/$(CORE_DIR)?.so;;"
BUSTED   := $(LUA_ENV) busted --lua=$(LUA)

# ca-certificates: the client verifies against the system CA bundle by default. python3: the
# command-line specs read CSV back with its csv module and drive the REPL through its pty.
DEV_PKG_lua5.1 := liblua5.1-0-dev
DEV_PKG_lua5.2 := liblua5.2-dev
DEV_PKG_lua5.3 := liblua5.3-dev
DEV_PKG_luajit := libluajit-5.1-dev
# Every Debian package the project uses is named here, nowhere else but the benchmark's own
# list (bench/run.lua). DEB_PKGS: `make demo` and `make test`; lua5.4 runs the sandbox and the
# tooling whatever LUA is; another LUA adds its packages. PKGS_<check>: what that slower check
# adds, installed by its target.
DEB_PKGS := lua5.4 liblua5.4-dev $(if $(filter lua5.4,$(LUA_PC)),,$(LUA_PC) $(DEV_PKG_$(LUA_PC))) \
            libcurl4-openssl-dev lua-cjson lua-busted lua-http \
            lua-cqueues lua-luv lua-luaossl lua-argparse lua-readline lua-check lua-ldoc \
            lua-dbi-sqlite3 sqlite3 \
            pkg-config gcc make ca-certificates python3
PKGS_system   := nginx-light tinyproxy postgresql lua-dbi-postgresql
PKGS_memcheck := valgrind
PKGS_luarocks := luarocks lua5.3 liblua5.3-dev
PKGS_embed    := valgrind
PKGS_nmap     := nmap lua5.3 liblua5.3-dev
PKGS_fuzz     := clang libclang-rt-14-dev
PKGS_fresh    := debootstrap
SHELL    := /bin/bash
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test test-unit test-system check test-luarocks test-fresh-machine test-c \
        test-memcheck test-asan demo lint docs install uninstall install-sandbox uninstall-sandbox \
        clean fuzz bench bench-partner bench-store bench-pages sandbox

all: $(MODULE)
ifneq ($(MODULE),cxcloud/core.so)
	@echo "$(MODULE): the C core for $(LUA_PC) (cxcloud/core.so stays lua5.4's, which bin/cxcloud loads)"
	@echo "  use it: LUA_PATH='$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;' LUA_CPATH='$(CURDIR)/$(CORE_DIR)?.so;;' $(LUA) ..."
	@echo "  or install it: make LUA=$(LUA) install"
endif

$(OBJ_DIR)/lib/%.o: src/lib/%.c $(wildcard src/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(OBJ_DIR)/%.o: src/%.c $(wildcard src/*.h src/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILT_FOR): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(LUA_PC)" ] || echo "$(LUA_PC)" > $@

$(MODULE): $(OBJ) $(BUILT_FOR)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@.tmp $(OBJ) $(LIBS)
	@# Only the Lua API may be left for the loader: a library missing from the link (core.so
	@# without -lcurl) would otherwise show up only as `undefined symbol` at require time.
	@undef=$$(LC_ALL=C ldd -r $@.tmp 2>&1 | grep 'undefined symbol' | grep -Ev 'symbol: luaL?_'); \
	  if [ -n "$$undef" ]; then echo "$@: unresolved symbols:"; echo "$$undef"; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

# Installs only the Debian packages that are missing; quiet when everything is there.
install_missing = missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	  grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps:
	@$(call install_missing,$(DEB_PKGS))

# The everyday tests (the README's `make test`, a few minutes): lint, the transport driven
# from C, the unit specs (a fake core), the integration specs (the sandbox over TLS) and the
# sandbox's own, their whole output kept; then the leak check over that output and every
# string the specs showed.
# demo, test and bench install what is missing first, then build in a sub-make, so the
# build sees the packages that were just installed (also with -j).
test: deps
	@$(MAKE) --no-print-directory all lint test-c
	@mkdir -p build && rm -f build/secrets.txt build/shown.txt
	set -o pipefail; CXCLOUD_SECRETS_FILE=$(CURDIR)/build/secrets.txt \
	  CXCLOUD_OUTPUT_FILE=$(CURDIR)/build/shown.txt $(BUSTED) -o utfTerminal spec/unit spec/integration \
	  sandbox/spec \
	  2>&1 | tee build/test-output.log
	$(LUA) spec/support/leakcheck.lua build/secrets.txt build/test-output.log build/shown.txt

# The unit specs alone: no network, no sandbox, seconds; LUA's core (MODULE) under them.
test-unit: all
	@echo "test-unit: $(LUA) with $(MODULE)"
	$(BUSTED) spec/unit

# The system checks against real third-party servers: nginx (overload), tinyproxy (proxies)
# and PostgreSQL through luadbi (the store's harness). The packages are installed here, so a
# PostgreSQL spec that cannot run fails instead of going pending.
test-system: deps
	@$(call install_missing,$(PKGS_system))
	@$(MAKE) --no-print-directory all
	CXCLOUD_REQUIRE_POSTGRES=1 $(BUSTED) spec/system

# Everything CI runs, one after the other (.ci/run runs the same parts and sums them up).
check: test test-system test-memcheck test-asan test-luarocks test-lua-versions test-embed \
       test-nmap test-portable test-fresh-machine

test-luarocks:
	@$(call install_missing,$(PKGS_luarocks))
	.ci/luarocks

test-fresh-machine:
	@$(call install_missing,$(PKGS_fresh))
	.ci/fresh-machine --full

# The plain C library alone (src/lib/), compiled without Lua's include path on purpose, driven
# from C: one program per spec/c/*_test.c (the transport, the digest, the lock file), each
# linked with the whole library.
C_TESTS := $(patsubst spec/c/%.c,build/%,$(wildcard spec/c/*_test.c))
build/%_test: spec/c/%_test.c $(LIB_SRC) $(wildcard src/lib/*.h)
	@mkdir -p build
	$(CC) -std=c99 -D_DEFAULT_SOURCE $(CFLAGS) $(WARN) $(SANITIZE) -Isrc/lib \
	  $(call pkg,--cflags libcurl) -o $@ $< \
	  $(LIB_SRC) $(call pkg,--libs libcurl) -lpthread

test-c: $(C_TESTS)
	@for t in $(C_TESTS); do echo $$t; $$t || exit 1; done

# The suite again with the C core under valgrind memcheck (leaks and errors fail it). The
# sandbox's own spec (sandbox/spec) is left out: it does not load the C core, and its timing
# checks measure a client that valgrind slows down 50-fold. So are the store's specs (#store)
# and the PostgreSQL harness's (#harness): their C of ours is the digest, the canonical JSON and the
# lock file, which spec/unit checks here; the rest is Lua and luadbi, whose own C loses
# memory around the harness's lost connections (not ours to fix). Specs tagged #lua_logic test
# decisions made in Lua (page sizes, the memory bound) over C paths other specs cover here.
test-memcheck: deps
	@$(call install_missing,$(PKGS_memcheck) $(PKGS_system))
	@$(MAKE) --no-print-directory all
	$(LUA_ENV) CXCLOUD_MEMCHECK=1 busted --lua=$(CURDIR)/.ci/valgrind-lua --exclude-tags=store,harness,lua_logic spec/unit \
	  spec/integration spec/system

# The whole suite with the C core built with AddressSanitizer and UndefinedBehaviorSanitizer.
# The plain build comes back even when a spec fails: later targets must not link sanitized
# objects. The PostgreSQL harness's own spec (#harness: clusters killed and started from child
# processes) is left out: under the preloaded sanitizer runtime it hangs, in PostgreSQL's
# programs and not in our C; so are the store's PostgreSQL specs (#postgres): the same C of
# ours runs in its SQLite specs here.
test-asan: deps
	@$(call install_missing,$(PKGS_system))
	$(MAKE) clean
	$(MAKE) SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	status=0; $(LUA_ENV) LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0 busted --lua=$(LUA) --exclude-tags=harness,postgres spec sandbox/spec || status=$$?; \
	  $(MAKE) clean && $(MAKE) && exit $$status

demo: deps
	@$(MAKE) --no-print-directory all
	$(LUA_ENV) $(LUA) examples/demo.lua

# The benchmark (not part of `make test`): cxcloud against Python requests,
# a curl loop and Node axios on one sandbox; partner scale (cx:map), overload behind nginx, and the
# store (bench/store.lua: cxcloud sync into SQLite and PostgreSQL).
# BENCH_ARGS=--quick for a short run.
bench: deps
	@$(MAKE) --no-print-directory all
	$(LUA_ENV) $(LUA) bench/run.lua $(BENCH_ARGS)

# Only the partner-scale (cx:map over 50 customers) and overload (behind nginx) parts of
# `make bench`.
bench-partner: deps all
	$(LUA_ENV) $(LUA) bench/run.lua --partner --overload $(BENCH_ARGS)

# Only the store part of `make bench` (bench/store.lua): cxcloud sync at partner scale into SQLite
# and PostgreSQL, apply speed, memory, and a Python + sqlite3 peer.
bench-store: deps all
	$(LUA_ENV) $(LUA) bench/run.lua --store $(BENCH_ARGS)

# Only the fewest-calls part of `make bench` (bench/pages.lua): calls and wall time of one
# customer and of the partner workload against a service limiting its pages (1,000 rows,
# refused or capped above; 10,000 rows), cxcloud page_size "auto" and 100 against Python and
# the bound, at 10 requests/s and 1,000 ms; CPU per 10,000 rows in pages of 10,000.
bench-pages: deps all
	$(LUA_ENV) $(LUA) bench/run.lua --pages $(BENCH_ARGS)

sandbox: all
	$(LUA_ENV) $(LUA) bin/cxcloud sandbox

lint:
	luacheck -q lua sandbox spec examples examples/nmap/cxcloud.nse bin/cxcloud

docs:
	ldoc -q .

# The library (cxcloud-scm-1.rockspec): every module under lua/cxcloud, whatever its
# subdirectory, the C core and bin/cxcloud.
install: all
	install -d $(DESTDIR)$(LUA_CMOD)/cxcloud $(DESTDIR)$(BIN_DIR)
	cd lua && find cxcloud -name '*.lua' | while read -r f; do \
	  install -D -m 644 "$$f" "$(DESTDIR)$(LUA_LMOD)/$$f" || exit 1; done
	install -m 755 $(MODULE) $(DESTDIR)$(LUA_CMOD)/cxcloud/core.so
	install -m 755 bin/cxcloud $(DESTDIR)$(BIN_DIR)/cxcloud

uninstall:
	rm -rf $(DESTDIR)$(LUA_LMOD)/cxcloud $(DESTDIR)$(LUA_CMOD)/cxcloud $(DESTDIR)$(BIN_DIR)/cxcloud

# The sandbox (cxcloud-sandbox-scm-1.rockspec): every module under sandbox/lua/cxcloud/sandbox,
# pure Lua 5.4 (nothing to build); it needs the library installed.
install-sandbox:
	cd sandbox/lua && find cxcloud/sandbox -name '*.lua' | while read -r f; do \
	  install -D -m 644 "$$f" "$(DESTDIR)$(LUA_LMOD)/$$f" || exit 1; done

uninstall-sandbox:
	rm -rf $(DESTDIR)$(LUA_LMOD)/cxcloud/sandbox

# libFuzzer targets for the C that parses outside input; FUZZ_TIME seconds each. headers and
# encode test the plain C library alone (no Lua include path, no liblua); json and json_diff
# the decoder through a Lua state, the pre-scan included.
FUZZ_TIME    ?= 60
FUZZ_TARGETS := headers encode json json_diff
FUZZ_LIB     := headers encode
FUZZ_CFLAGS   = -g -O1 -std=c99 -D_DEFAULT_SOURCE -Isrc/lib $(call pkg,--cflags libcurl)
fuzz: deps
	@$(call install_missing,$(PKGS_fuzz))
	@mkdir -p build/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  case " $(FUZZ_LIB) " in \
	    *" $$t "*) flags=; src="$(LIB_SRC)"; lua= ;; \
	    *) flags="-Isrc $(LUA_CFLAGS)"; src="$(SRC)"; lua=-llua$(LUA_V) ;; \
	  esac; \
	  clang $(FUZZ_CFLAGS) $$flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o build/fuzz/$$t spec/fuzz/fuzz_$$t.c $$src $(LIBS) $$lua || exit 1; \
	  mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzzing $$t for $(FUZZ_TIME)s"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    build/fuzz/corpus-$$t spec/fuzz/seeds/$$t 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

clean:
	rm -rf build cxcloud
include mk/embed.mk
