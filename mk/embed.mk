# Embedding (issue 10): libcxcloud.a for C hosts, the example host of examples/embed.
# Included by the Makefile; uses its CC, CFLAGS, OBJ, LIBS, LUA.

STATIC_LIB  := build/libcxcloud.a
LUA_MODULES := $(sort $(wildcard lua/cxcloud/*.lua))
EMBED_HOST  := build/embed/host
# The example host embeds Lua 5.4; -Wl,-E lets the C modules it requires (lua-cjson) see
# the Lua API, as nmap does.
EMBED_LDLIBS := $(shell pkg-config --libs lua5.4 libcurl 2>/dev/null) -lpthread -lm -Wl,-E

.PHONY: static embed test-embed

static: $(STATIC_LIB)

build/static/modules.c: src/static/modules.lua $(LUA_MODULES)
	@mkdir -p build/static
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
