/* libFuzzer target: core.decode (big-integer protection, lua-cjson, null/integer fix-up)
   through a real Lua state, as the client runs it on every response body. */
#include <stdint.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "jsonscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int luaopen_cxcloud_core(lua_State *L);

static lua_State *state;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int top;
    size_t plen = cx_json_protect((const char *)data, size, NULL, NULL, NULL);
    char *buf;
    if (plen == (size_t)-1)
        plen = 0; /* an invalid number: decode below reports it */
    buf = malloc(plen + 1);
    if (!buf)
        return 0;
    if (plen && cx_json_protect((const char *)data, size, NULL, buf, NULL) != plen)
        __builtin_trap();
    free(buf);
    if (!state) {
        state = luaL_newstate();
        luaL_openlibs(state);
        luaL_requiref(state, "cxcloud.core", luaopen_cxcloud_core, 0);
        lua_getfield(state, -1, "decode");
        lua_setglobal(state, "decode");
        lua_pop(state, 1);
    }
    top = lua_gettop(state);
    lua_getglobal(state, "decode");
    lua_pushlstring(state, (const char *)data, size);
    lua_pushinteger(state, 32);
    if (lua_pcall(state, 2, 2, 0) != LUA_OK)
        __builtin_trap(); /* decode reports bad input as nil, message: it never raises */
    lua_settop(state, top);
    lua_gc(state, LUA_GCSTEP, 0);
    return 0;
}
