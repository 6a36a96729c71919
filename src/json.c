/* core.decode and core.decoder: JSON into Lua values, with what a CX Cloud client needs.
   - JSON null as an object field becomes absent (nil); inside an array it is core.null (a
     light userdata NULL, as lua-cjson's cjson.null), so arrays keep their length and order.
   - Integral numbers become Lua integers ("1.0" and "1e2" too, up to 2^53).
   - Integer literals that a double cannot hold exactly (IDs of up to 22 digits) keep their
     exact digits: integers when they fit in 64 bits, else strings of digits.
   - A number that is the value of an identifier field (the decoder's identifier set) always
     comes out as a string of its exact text, whether or not its key is written with an
     escape ("customer\u0049d" is customerId).
   - A pre-scan (lib/jsonscan.c, plain C) checks every number literal against the JSON
     grammar ("1." and "00000000000000001" are refused) and counts what the value will hold:
     a text whose decoded value is estimated over the caller's limit (cx_json_decoded_size)
     is refused before it is parsed. The wire size bounds nothing here: 8 MiB of tiny arrays
     decode to over 200 MiB.
   - The parser (jsondecode.c) accepts and refuses what lua-cjson does, with its messages.
   This file holds the Lua functions; the parser is in jsondecode.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cxcloud.h"
#include "lib/jsonscan.h"

#define DEFAULT_DEPTH 64

/* The optional limit at idx, in bytes: nil (or none, or math.huge) is no limit. */
static uint64_t opt_limit(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return UINT64_MAX;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number d;
        if (lua_isinteger(L, idx) && lua_tointeger(L, idx) >= 0)
            return (uint64_t)lua_tointeger(L, idx);
        d = lua_tonumber(L, idx);
        if (d == HUGE_VAL)
            return UINT64_MAX;
        if (d >= 0 && d == floor(d) && d < 18446744073709551616.0)
            return (uint64_t)d;
    }
    luaL_argerror(L, idx, "max_decoded must be a whole number of bytes >= 0, or nil");
    return 0;
}

static lua_Integer to_integer(uint64_t v)
{
    return v > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)v;
}

/* decode(text [, max_depth [, max_decoded]]) -> value, estimate | nil, message [, reason].
   estimate: the decoded value's estimated Lua memory in bytes (decoded_size), an integer.
   When it exceeds max_decoded (nil: no limit) the text is refused before it is parsed:
   nil, message, "too_large". Nesting deeper than max_depth: nil, message, "too_deep". Other
   invalid JSON: nil, message. A JSON null decodes to nil, estimate: the second value tells
   a failure (a string) from a value (a number).
   Upvalue 1: the identifier set (a userdata, or nil). */
static int decode(lua_State *L)
{
    size_t len, bad_at = 0;
    const char *text = luaL_checklstring(L, 1, &len);
    lua_Integer depth = luaL_optinteger(L, 2, DEFAULT_DEPTH);
    uint64_t limit = opt_limit(L, 3), estimate;
    struct cx_json_parse_args args;
    cx_json_count count;
    luaL_argcheck(L, depth >= 1 && depth <= 1000, 2, "max_depth must be 1..1000");
    lua_settop(L, 1);
    args.text = text;
    args.len = len;
    args.ids = lua_touserdata(L, lua_upvalueindex(1));
    args.max_depth = (int)depth;

    if (cx_json_scan(text, len, args.ids, NULL, &bad_at, NULL, NULL, &count) == (size_t)-1) {
        size_t n = 0;
        while (bad_at + n < len && n < 24 && cx_json_number_char(text[bad_at + n]))
            n++;
        lua_pushnil(L);
        lua_pushfstring(L, "invalid number '%s' at character %d (JSON numbers: -?(0|[1-9][0-9]*)"
                        "(.[0-9]+)?([eE][+-]?[0-9]+)?)",
                        lua_pushlstring(L, text + bad_at, n), (int)(bad_at + 1));
        lua_remove(L, -2);
        return 2;
    }
    estimate = cx_json_decoded_size(&count);
    if (estimate > limit) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "estimated decoded size %llu bytes (%.1f MiB) exceeds the limit of %llu bytes "
                 "(%.1f MiB, option max_decoded_size): not decoded",
                 (unsigned long long)estimate, (double)estimate / 1048576.0,
                 (unsigned long long)limit, (double)limit / 1048576.0);
        lua_pushnil(L);
        lua_pushstring(L, msg);
        lua_pushliteral(L, "too_large");
        return 3;
    }
    lua_pushcfunction(L, cx_json_parse);
    lua_pushlightuserdata(L, &args);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        int deep = m && strstr(m, "too many nested") != NULL;
        lua_pushnil(L);
        lua_insert(L, -2);
        if (!deep)
            return 2;
        lua_pushliteral(L, "too_deep");
        return 3;
    }
    lua_pushinteger(L, to_integer(estimate));
    return 2;
}

/* Pushes a decode closure over the identifier set at ids_idx (0: none). */
static void push_decoder(lua_State *L, int ids_idx)
{
    if (ids_idx)
        lua_pushvalue(L, ids_idx);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, decode, 1);
}

/* core.decoder(names) -> decode: a decoder whose numbers in the fields `names` (a list of
   strings) come out as strings of their exact text. Built once per client. */
static int l_decoder(lua_State *L)
{
    size_t total = 0, i, n;
    struct cx_idset *ids;
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 1);
    for (i = 1; i <= n; i++) {
        size_t m;
        if (lua_rawgeti(L, 1, (lua_Integer)i) != LUA_TSTRING)
            return luaL_error(L, "decoder: identifier %d is a %s (expected a field name string)",
                              (int)i, luaL_typename(L, -1));
        lua_tolstring(L, -1, &m);
        if (m == 0 || m > 255)
            return luaL_error(L, "decoder: identifier %d has %d bytes (expected 1..255)", (int)i,
                              (int)m);
        total += m + 1;
        lua_pop(L, 1);
    }
    ids = lua_newuserdatauv(L, sizeof *ids + total, 0);
    ids->len = 0;
    for (i = 1; i <= n; i++) {
        size_t m;
        const char *s;
        lua_rawgeti(L, 1, (lua_Integer)i);
        s = lua_tolstring(L, -1, &m);
        cx_idset_add(ids, s, m);
        lua_pop(L, 1);
    }
    push_decoder(L, lua_gettop(L));
    return 1;
}

void cx_json_register(lua_State *L)
{
    push_decoder(L, 0);
    lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, l_decoder);
    lua_setfield(L, -2, "decoder");
    lua_pushlightuserdata(L, NULL); /* the value of cjson.null */
    lua_setfield(L, -2, "null");
}
