/* luaopen_cxcloud: the entry point of libcxcloud.a. It puts every module of the library
   (the Lua ones compiled in by src/static/modules.lua, and cxcloud.core) in
   package.preload and returns the module that `require "cxcloud"` returns, so a host
   needs no file of ours on package.path or package.cpath:

       luaL_requiref(L, "cxcloud", luaopen_cxcloud, 0);    (5.2+; 5.1: call it, see README)

   Only the registry is used (package.loaded and package.preload through it), not the
   globals the host's scripts see. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "../compat.h"
#include "modules.h"

int luaopen_cxcloud(lua_State *L);
int luaopen_cxcloud_core(lua_State *L);

/* Pushes registry._LOADED[name] (package.loaded[name]). */
static void push_loaded(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    if (!lua_istable(L, -1))
        luaL_error(L, "cxcloud: the package library is not open (luaL_openlibs first)");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

/* Pushes package.preload. */
static void push_preload(lua_State *L)
{
    push_loaded(L, "package");
    if (!lua_istable(L, -1))
        luaL_error(L, "cxcloud: the package library is not open (luaL_openlibs first)");
    lua_getfield(L, -1, "preload");
    lua_remove(L, -2);
    if (!lua_istable(L, -1))
        luaL_error(L, "cxcloud: package.preload is not a table");
}

/* package.preload loader of a compiled-in Lua module; upvalue 1: its index. */
static int load_module(lua_State *L)
{
    const cx_lua_module *m = &cx_lua_modules[lua_tointeger(L, lua_upvalueindex(1))];
    if (luaL_loadbuffer(L, m->source, m->len, m->chunkname) != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, m->name);
    lua_call(L, 1, 1);
    return 1;
}

int luaopen_cxcloud(lua_State *L)
{
    int k;
    push_preload(L);
    for (k = 0; cx_lua_modules[k].name; k++) {
        lua_pushinteger(L, k);
        lua_pushcclosure(L, load_module, 1);
        lua_setfield(L, -2, cx_lua_modules[k].name);
    }
    lua_pushcfunction(L, luaopen_cxcloud_core);
    lua_setfield(L, -2, "cxcloud.core");
    lua_pop(L, 1);

    /* Once per state: a second call (or `require "cxcloud"` after it) gets the same table. */
    push_loaded(L, "cxcloud");
    if (!lua_isnil(L, -1))
        return 1;
    lua_pop(L, 1);
    for (k = 0; cx_lua_modules[k].name; k++)
        if (strcmp(cx_lua_modules[k].name, "cxcloud") == 0)
            break;
    if (!cx_lua_modules[k].name)
        return luaL_error(L, "cxcloud: built without lua/cxcloud/init.lua");
    lua_pushinteger(L, k);
    lua_pushcclosure(L, load_module, 1);
    lua_call(L, 0, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "cxcloud");
    lua_pop(L, 1);
    return 1;
}
