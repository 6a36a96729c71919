# Embedding (issue 10): libcxcloud.a for C hosts, the example host of examples/embed.
# Included by the Makefile; uses its CC, CFLAGS, OBJ, LIBS, LUA.

STATIC_LIB  := build/libcxcloud.a
# every module of the library: lua/cxcloud/ and its subdirectories but the sandbox (a separate
# product) and the command line's own modules
LUA_MODULES := $(sort $(shell find lua/cxcloud -name '*.lua' -not -path 'lua/cxcloud/sandbox/*' \
                 -not -path 'lua/cxcloud/cli/*'))
EMBED_HOST  := build/embed/host
# The example host embeds Lua 5.4; -Wl,-E lets the C modules it requires (lua-cjson) see
# the Lua API, as nmap does.
EMBED_LDLIBS := $(shell pkg-config --libs lua5.4 libcurl 2>/dev/null) -lpthread -lm -Wl,-E

.PHONY: static embed test-embed FORCE

static: $(STATIC_LIB)

# the list of modules, rewritten only when it changes: a new or removed module regenerates
build/static/modules.list: FORCE
	@mkdir -p build/static
	@echo "$(LUA_MODULES)" | cmp -s - $@ || echo "$(LUA_MODULES)" > $@

build/static/modules.c: src/static/modules.lua build/static/modules.list $(LUA_MODULES)
	$(LUA) src/static/modules.lua $@ $(LUA_MODULES)

build/static/%.o: build/static/%.c src/static/modules.h
	$(CC) $(CFLAGS) -Isrc/static -c -o $@ $<

build/static/cxcloud.o: src/static/cxcloud.c src/static/modules.h src/compat.h
	@mkdir -p build/static
	$(CC) $(CFLAGS) -c -o $@ $<

$(STATIC_LIB): $(OBJ) build/static/cxcloud.o build/static/modules.o
	rm -f $@
	ar rcs $@ $^

embed: $(EMBED_HOST)

$(EMBED_HOST): examples/embed/host.c $(STATIC_LIB)
	@mkdir -p build/embed
	$(CC) -std=c99 $(OPT) $(WARN) $(shell pkg-config --cflags lua5.4 libcurl) -o $@ $< \
	  $(STATIC_LIB) $(EMBED_LDLIBS)

# The three modes against a sandbox, the threaded one also under valgrind and Helgrind.
test-embed: $(EMBED_HOST)
	$(LUA_ENV) lua5.4 examples/embed/test.lua $(EMBED_HOST)
