/* One C source for Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1: the 5.4 API calls we use,
   defined on the versions that lack them (in the way of lua-cjson's compat_luaL_setfuncs
   and lua-compat-5.3). Include after lua.h and lauxlib.h. */
#ifndef CXCLOUD_COMPAT_H
#define CXCLOUD_COMPAT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

/* 1 when lua_Integer values are real integers (5.3+); before, lua_pushinteger goes
   through a double, so only integers up to 2^53 survive. */
#if LUA_VERSION_NUM >= 503
#define CX_LUA_INT64 1
#else
#define CX_LUA_INT64 0
#endif

#ifndef LUA_OK
#define LUA_OK 0
#endif

#if LUA_VERSION_NUM < 504
/* Before 5.4 a full userdata has one user value; we never use more than zero. */
#define lua_newuserdatauv(L, size, nuv) ((void)(nuv), lua_newuserdata((L), (size)))
#endif

#if LUA_VERSION_NUM < 503
/* 5.3 made lua_rawgeti and lua_rawget return the type of the value they push; the
   parentheses call the real function. */
#define lua_rawgeti(L, i, n) cx_compat_rawgeti((L), (i), (n))
static inline int cx_compat_rawgeti(lua_State *L, int i, lua_Integer n)
{
    (lua_rawgeti)(L, i, (int)n);
    return lua_type(L, -1);
}
#define lua_rawget(L, i) cx_compat_rawget((L), (i))
static inline int cx_compat_rawget(lua_State *L, int i)
{
    (lua_rawget)(L, i);
    return lua_type(L, -1);
}
/* 5.3's: converts the whole string s to a number, pushes it and returns strlen(s) + 1;
   0 (nothing pushed) when s is not a number. */
#define lua_stringtonumber(L, s) cx_compat_stringtonumber((L), (s))
static inline size_t cx_compat_stringtonumber(lua_State *L, const char *s)
{
    lua_Number n;
    lua_pushstring(L, s);
    if (!lua_isnumber(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    n = lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_pushnumber(L, n);
    return strlen(s) + 1;
}
/* 5.2's lua_Unsigned has 32 bits, 5.1 has none: ours holds any lua_Integer's magnitude. */
#define lua_Unsigned uint64_t
#define LUA_MININTEGER PTRDIFF_MIN
#define LUA_MAXINTEGER PTRDIFF_MAX
/* An integral number that a double holds exactly: what 5.3 would call an integer. */
#define lua_isinteger(L, i) cx_compat_isinteger((L), (i))
static inline int cx_compat_isinteger(lua_State *L, int i)
{
    lua_Number n;
    if (lua_type(L, i) != LUA_TNUMBER)
        return 0;
    n = lua_tonumber(L, i);
    return n == floor(n) && fabs(n) <= 9007199254740992.0;
}
#endif

#if LUA_VERSION_NUM == 501 /* PUC 5.1 and LuaJIT */
/* 5.2 made lua_pushlstring return the string it pushes. */
#define lua_pushlstring(L, s, len) cx_compat_pushlstring((L), (s), (len))
static inline const char *cx_compat_pushlstring(lua_State *L, const char *s, size_t len)
{
    (lua_pushlstring)(L, s, len);
    return lua_tostring(L, -1);
}

#define lua_rawlen(L, i) lua_objlen((L), (i))
#define lua_absindex(L, i) cx_compat_absindex((L), (i))
static inline int cx_compat_absindex(lua_State *L, int i)
{
    return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + 1 + i;
}

/* LuaJIT 2.1 declares some of these; the macros make every call site use ours. */
#define luaL_setfuncs(L, l, nup) cx_compat_setfuncs((L), (l), (nup))
static inline void cx_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    int i;
    luaL_checkstack(L, nup, "too many upvalues");
    for (; l->name; l++) {
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}

#undef luaL_newlibtable
#undef luaL_newlib
#define luaL_newlibtable(L, l) lua_createtable((L), 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable((L), (l)), luaL_setfuncs((L), (l), 0))

#define luaL_setmetatable(L, name) cx_compat_setmetatable((L), (name))
static inline void cx_compat_setmetatable(lua_State *L, const char *name)
{
    luaL_getmetatable(L, name);
    lua_setmetatable(L, -2);
}

#endif

#endif
