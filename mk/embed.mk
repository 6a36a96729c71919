# Embedding: libcxcloud.a for C hosts, the example host of examples/embed, the
# nmap script, the suite on every Lua. Included by the Makefile; uses its CC, CFLAGS,
# CORE_CFLAGS, OBJ, OBJ_DIR, LUA, LUA_ENV and install_missing.

OBJ_DIR     ?= build
# one archive per Lua version: build/lua5.4/libcxcloud.a (make static LUA=lua5.3: .../lua5.3/...)
STATIC_LIB  := $(OBJ_DIR)/libcxcloud.a
# every module of the library: lua/cxcloud/ and its subdirectories but the command line's own
# modules (cli/, repl.lua: a Lua 5.4 program)
LUA_MODULES := $(sort $(shell find lua/cxcloud -name '*.lua' -not -path 'lua/cxcloud/cli/*' \
                 -not -name repl.lua))
EMBED_HOST  := build/embed/host
# The example host embeds Lua 5.4; -Wl,-E lets the C modules it requires (lua-cjson) see
# the Lua API, as nmap does.
EMBED_LDLIBS = $(shell pkg-config --libs lua5.4 libcurl) -lpthread -lm -Wl,-E

.PHONY: static embed test-embed test-nmap test-lua-versions test-one-lua-version test-portable FORCE
FORCE:

static: $(STATIC_LIB)

# the list of modules, rewritten only when it changes: a new or removed module regenerates
build/static/modules.list: FORCE
	@mkdir -p build/static
	@echo "$(LUA_MODULES)" | cmp -s - $@ || echo "$(LUA_MODULES)" > $@

# Lua sources, not bytecode: the same file serves every Lua version.
build/static/modules.c: src/static/modules.lua build/static/modules.list $(LUA_MODULES)
	lua5.4 src/static/modules.lua $@ $(LUA_MODULES)

$(OBJ_DIR)/static/modules.o: build/static/modules.c src/static/modules.h
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) $(CFLAGS) -Isrc/static -c -o $@ $<

$(OBJ_DIR)/static/cxcloud.o: src/static/cxcloud.c src/static/modules.h src/compat.h
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(STATIC_LIB): $(OBJ) $(OBJ_DIR)/static/cxcloud.o $(OBJ_DIR)/static/modules.o
	rm -f $@
	ar rcs $@ $^

embed: $(EMBED_HOST)

$(EMBED_HOST): examples/embed/host.c build/lua5.4/libcxcloud.a
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 -g $(WARN) $(shell pkg-config --cflags lua5.4 libcurl) -o $@ $< \
	  build/lua5.4/libcxcloud.a $(EMBED_LDLIBS)

ifneq ($(STATIC_LIB),build/lua5.4/libcxcloud.a)
build/lua5.4/libcxcloud.a: FORCE
	@$(MAKE) --no-print-directory LUA=lua5.4 static
endif

# The three modes against a sandbox, the threaded one also under valgrind and Helgrind.
test-embed:
	@$(call install_missing,$(PKGS_embed))
	@$(MAKE) --no-print-directory embed
	$(LUA_ENV) lua5.4 examples/embed/test.lua $(EMBED_HOST)

# Checks that building the cores of $(1) left lua5.4's (cxcloud/core.so, bin/cxcloud's) as it
# was: built first, compared after, and bin/cxcloud still starts with it.
build_keeping_core = $(MAKE) --no-print-directory all && sum=$$(cksum < cxcloud/core.so) && \
	for v in $(1); do $(MAKE) --no-print-directory LUA=$$v all || exit 1; done && \
	if [ "$$(cksum < cxcloud/core.so)" != "$$sum" ]; then \
	  echo "$@: building for $(1) replaced cxcloud/core.so, lua5.4's core"; exit 1; fi && \
	{ lua5.4 bin/cxcloud --version >/dev/null || { echo "$@: bin/cxcloud does not start"; exit 1; }; }

# Debian's nmap (Lua 5.3 inside) with examples/nmap/cxcloud.nse against a sandbox on
# loopback addresses; the C core built for 5.3 in build/lua5.3/ (lua5.4's left as it was).
test-nmap:
	@$(call install_missing,$(PKGS_nmap))
	@$(call build_keeping_core,lua5.3)
	$(LUA_ENV) lua5.4 examples/nmap/test.lua $(CURDIR)/$(patsubst %/,%,$(call core_dir,lua5.3))

# The whole suite on each other Lua (5.4: `make test`), every version even when one fails,
# LUA_VERSIONS_JOBS of them at once (4: their specs mostly wait on the network and the rate
# limit), each with its core in build/<lua>/cxcloud/core.so (lua5.4's, cxcloud/core.so, left
# as it was: checked) and its output in build/<lua>.log, shown in order at the end.
# Left out there: the specs of the command line (cli_spec, repl_spec and the tests tagged
# #cli: bin/cxcloud is a Lua 5.4 program, they would run 5.4 again) and the sandbox's own (sandbox/spec: a Lua 5.4 product,
# which the other specs start in a lua5.4 process through spec/support/sandbox.lua); on PUC
# 5.1 the tests tagged #yields (a coroutine that yields across pcall or a for iterator). The
# PostgreSQL harness's own spec (#harness) runs once, in `make test-system`; the store's specs
# (#store) run on 5.4 and on PUC 5.1 (where the store syncs its pairs one after the other):
# the store is Lua and luadbi, and its C (canonical JSON, digest, lock file) has unit specs
# that run on every version.
LUA_VERSIONS := lua5.1 lua5.2 lua5.3 luajit
LUA_VERSIONS_JOBS ?= 4
test-lua-versions:
	@$(call install_missing,$(PKGS_system))
	@for v in $(LUA_VERSIONS); do $(MAKE) --no-print-directory LUA=$$v deps || exit 1; done
	@$(call build_keeping_core,$(LUA_VERSIONS))
	@printf '%s\n' $(LUA_VERSIONS) | xargs -P $(LUA_VERSIONS_JOBS) -I{} $(MAKE) --no-print-directory \
	  -s test-one-lua-version V={} >/dev/null 2>&1; \
	rc=0; for v in $(LUA_VERSIONS); do \
	  echo "=== $$v"; cat build/$$v.log; \
	  [ "$$(cat build/$$v.status 2>/dev/null)" = 0 ] || { echo "=== $$v FAILED"; rc=1; }; \
	done; exit $$rc

# One version of the above (V=lua5.1, ...), its output and status in build/$(V).log, .status.
test-one-lua-version:
	@tags=--exclude-tags=store,harness,cli; [ $(V) = lua5.1 ] && tags=--exclude-tags=yields,harness,cli; \
	$(LUA_ENV) LUA_CPATH="$(CURDIR)/$(call core_dir,$(V))?.so;;" busted --lua=$(V) $$tags \
	  --exclude-pattern=^cli_spec --exclude-pattern=^repl_spec spec > build/$(V).log 2>&1; \
	echo $$? > build/$(V).status

# The fallbacks for older systems, forced on this one: stores through a volatile pointer
# instead of explicit_bzero, CURLOPT_PROTOCOLS instead of CURLOPT_PROTOCOLS_STR (libcurl
# < 7.85); the core built so in build/portable/, then the specs of the C core with it.
PORTABLE_DEFS := -DCX_PORTABLE_WIPE -DCX_CURL_PROTOCOLS_BITMASK -DCURL_DISABLE_DEPRECATION
test-portable:
	@$(MAKE) --no-print-directory OBJ_DIR=build/portable/obj MODULE=build/portable/cxcloud/core.so \
	  SANITIZE="$(PORTABLE_DEFS)" all
	@nm build/portable/obj/lib/buffer.o | grep -q explicit_bzero && \
	  { echo "test-portable: buffer.o still calls explicit_bzero"; exit 1; } || true
	$(LUA_ENV) LUA_CPATH="$(CURDIR)/build/portable/?.so;;" busted --lua=lua5.4 \
	  spec/integration/portable_spec.lua spec/integration/client_spec.lua spec/integration/hygiene_spec.lua
