/* core.decode and core.decoder: JSON through lua-cjson, with the fixes a CX Cloud client needs.
   - JSON null as an object field becomes absent (nil); inside an array it stays cjson.null
     (exported as core.null), so arrays keep their length and order.
   - Integral numbers become Lua integers (cjson gives floats: 90876512345.0).
   - Integer literals that a double cannot hold exactly (IDs of up to 22 digits) keep their
     exact digits: the pre-scan (lib/jsonscan.c, plain C) rewrites them into marked strings
     before cjson sees them; they become integers when they fit in 64 bits, else strings of
     digits.
   - A number that is the value of an identifier field (the decoder's identifier set) always
     comes out as a string of its exact text, whether or not its key is written with an
     escape ("customer\u0049d" is customerId). A plain integer of up to 15 digits (the common
     case) goes through cjson as a number, exact in a double, and the fix-up pass writes its
     digits; any other (a fraction, an exponent, -0, more digits) is rewritten like a big
     integer. So a typical page is handed to cjson as it came, without a copy.
   - The pre-scan checks every number literal against the JSON grammar: cjson alone accepts
     "1." and lets "00000000000000001" through once protected. It also tells what the fix-up
     pass has to look for (numbers, nulls, marked strings); with none of them it is skipped.
   - The pre-scan's counts give an estimate of the decoded value's Lua memory
     (cx_json_decoded_size): a text estimated over the caller's limit is refused before cjson
     sees it. The wire size bounds nothing here: 8 MiB of tiny arrays decode to over 200 MiB.
   This file holds what touches the Lua state: the cjson calls and the fix-up pass. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cxcloud.h"
#include "lib/buffer.h"
#include "lib/jsonscan.h"

#define MAX_EXACT 9007199254740992.0 /* 2^53 */
#define DEFAULT_DEPTH 64

/* A protected big integer: an optional '-' and digits. */
static void push_big_integer(lua_State *L, const char *d, size_t n)
{
    size_t i = (n && d[0] == '-') ? 1 : 0;
    lua_Integer v = 0;
    int neg = (i == 1), fits = 1;
    for (; i < n; i++) {
        int digit = d[i] - '0';
        /* Accumulate negatively so that INT64_MIN fits too. */
        if (v < (LUA_MININTEGER + digit) / 10) {
            fits = 0;
            break;
        }
        v = v * 10 - digit;
    }
    if (fits && !neg && v == LUA_MININTEGER)
        fits = 0;
    /* Before Lua 5.3 an integer is a double: a literal the pre-scan protected (beyond 2^53)
       keeps its digits as a string, as beyond 64 bits on 5.3+. */
    if (!CX_LUA_INT64)
        fits = 0;
    if (fits)
        lua_pushinteger(L, neg ? v : -v);
    else
        lua_pushlstring(L, d, n);
}

/* Replaces the float at the top of the stack by an integer when it is one exactly. */
static int integral_float(lua_State *L)
{
    double d;
    if (lua_isinteger(L, -1))
        return 0;
    d = lua_tonumber(L, -1);
    if (d != floor(d) || fabs(d) > MAX_EXACT)
        return 0;
    lua_pop(L, 1);
    lua_pushinteger(L, (lua_Integer)d);
    return 1;
}

/* Replaces the decoded string at the top of the stack when the pre-scan wrote it: every
   string value that starts with NUL is one of the pre-scan's (server strings that start
   with NUL were given a second one). id: whether its field is an identifier field (-1: not
   known, then the decoded key at key_idx tells; 0 in an array). A number the pre-scan
   protected in an identifier field becomes the string of its exact text: the pre-scan
   matched identifiers on the key as written, which differs from the decoded key when the
   key has an escape ("customer\u0049d"). Returns whether it replaced the string. */
static int unprotect(lua_State *L, const struct cx_idset *ids, int key_idx, int id)
{
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n < 2 || s[0] != '\0')
        return 0;
    if (id < 0 && (s[1] == CX_JSON_MARK_INT || s[1] == CX_JSON_MARK_NUM)) {
        size_t kn;
        const char *key = lua_tolstring(L, key_idx, &kn);
        id = cx_idset_has(ids, key, kn);
    }
    if (s[1] == CX_JSON_MARK_ID ||
        (id > 0 && (s[1] == CX_JSON_MARK_INT || s[1] == CX_JSON_MARK_NUM))) {
        lua_pushlstring(L, s + 2, n - 2);
    } else if (s[1] == CX_JSON_MARK_INT) {
        push_big_integer(L, s + 2, n - 2);
    } else if (s[1] == CX_JSON_MARK_NUM) {
        /* a valid JSON number: Lua reads it as cjson would (strtod), or as an integer */
        if (!lua_stringtonumber(L, s + 2))
            lua_pushlstring(L, s + 2, n - 2); /* not reached: the pre-scan checked it */
        integral_float(L);
    } else {
        lua_pushlstring(L, s + 1, n - 1);
    }
    lua_remove(L, -2);
    return 1;
}

/* Replaces the number at the top of the stack (a plain integer of at most CX_JSON_SAFE_DIGITS digits,
   see plain_integer) by the string of its digits. */
static void integer_text(lua_State *L)
{
    char buf[24], *p = buf + sizeof buf;
    lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : (lua_Integer)lua_tonumber(L, -1);
    lua_Unsigned u = v < 0 ? 0u - (lua_Unsigned)v : (lua_Unsigned)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    lua_pop(L, 1);
    lua_pushlstring(L, p, (size_t)(buf + sizeof buf - p));
}

/* What the fix-up pass looks for. */
struct fixup_ctx {
    const struct cx_idset *ids;
    unsigned saw;            /* SAW_* flags of the pre-scan */
    int keys;                /* stack index of the first of nkeys key strings (fix_keys) */
    int nkeys;               /* -1: visit every field */
    const cx_json_keys *fk; /* the keys, with whether each is an identifier field */
};

/* Fixes the value at the top of the stack, an array element or an object field (key_idx: its
   key, 0 in an array; id: whether that is an identifier field, -1 when not known). Returns
   whether it replaced the value. */
static int fix_value(lua_State *L, const struct fixup_ctx *cx, int key_idx, int id)
{
    switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
        if (id < 0 && key_idx && cx->ids) {
            size_t n;
            const char *key = lua_tolstring(L, key_idx, &n);
            id = cx_idset_has(cx->ids, key, n);
        }
        if (id > 0) {
            integer_text(L);
            return 1;
        }
        return integral_float(L);
    case LUA_TLIGHTUSERDATA: /* cjson.null: kept in arrays, dropped in objects */
        if (!key_idx)
            return 0;
        lua_pop(L, 1);
        lua_pushnil(L);
        return 1;
    case LUA_TSTRING:
        return (cx->saw & CX_JSON_SAW_MARK) && unprotect(L, cx->ids, key_idx, key_idx ? id : 0);
    default:
        return 0;
    }
}

static void fixup(lua_State *L, int idx, const struct fixup_ctx *cx)
{
    lua_Integer i, n;
    int k;
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "JSON too deep");
    /* cjson makes an array a sequence 1..n and an object a table of string keys: an integer
       loop walks an array without lua_next's key lookups */
    n = (lua_Integer)lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, i) == LUA_TTABLE) {
            fixup(L, -1, cx);
            lua_pop(L, 1);
        } else if (fix_value(L, cx, 0, 0)) {
            lua_rawseti(L, idx, i);
        } else {
            lua_pop(L, 1);
        }
    }
    if (n > 0)
        return;
    /* an object: only the fields of the keys the pre-scan listed can need a fix */
    for (k = 0; k < cx->nkeys; k++) {
        int key = cx->keys + k;
        lua_pushvalue(L, key);
        switch (lua_rawget(L, idx)) {
        case LUA_TNIL:
            lua_pop(L, 1);
            break;
        case LUA_TTABLE:
            fixup(L, -1, cx);
            lua_pop(L, 1);
            break;
        default:
            if (fix_value(L, cx, key, cx->fk->k[k].id)) {
                lua_pushvalue(L, key);
                lua_insert(L, -2);
                lua_rawset(L, idx);
            } else {
                lua_pop(L, 1);
            }
        }
    }
    if (cx->nkeys >= 0)
        return;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            fixup(L, -1, cx);
            lua_pop(L, 1);
        } else if (fix_value(L, cx, lua_gettop(L) - 1, -1)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, idx); /* assigning an existing field (nil too) is allowed in lua_next */
        } else {
            lua_pop(L, 1);
        }
    }
}

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
   When it exceeds max_decoded (nil: no limit) the text is refused before cjson sees it:
   nil, message, "too_large". Nesting deeper than max_depth: nil, message, "too_deep". Other
   invalid JSON: nil, message. A JSON null decodes to nil, estimate: the second value tells
   a failure (a string) from a value (a number).
   Upvalues: 1 cjson.decode, 2 cjson.decode_max_depth, 3 the depth last set, 4 the identifier
   set (or nil). The depth is passed to cjson only when it changes. */
static int decode(lua_State *L)
{
    size_t len, plen, bad_at = 0;
    const char *text = luaL_checklstring(L, 1, &len);
    lua_Integer depth = luaL_optinteger(L, 2, DEFAULT_DEPTH);
    uint64_t limit = opt_limit(L, 3), estimate;
    struct fixup_ctx cx;
    cx_json_keys fk;
    cx_json_count count;
    cx.ids = lua_touserdata(L, lua_upvalueindex(4));
    cx.saw = 0;
    fk.n = fk.last = 0;
    fk.all = 0;
    luaL_argcheck(L, depth >= 1 && depth <= 1000, 2, "max_depth must be 1..1000");
    lua_settop(L, 1);

    if (lua_tointeger(L, lua_upvalueindex(3)) != depth) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushinteger(L, depth);
        lua_call(L, 1, 0);
        lua_pushinteger(L, depth);
        lua_replace(L, lua_upvalueindex(3));
    }

    plen = cx_json_scan(text, len, cx.ids, NULL, &bad_at, &cx.saw, &fk, &count);
    if (plen == (size_t)-1) {
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
    lua_pushvalue(L, lua_upvalueindex(1));
    if (plen == len) {
        lua_pushvalue(L, 1);
    } else {
        /* Userdata, not malloc: if pushing the string raises, the GC still frees it. */
        char *buf = lua_newuserdatauv(L, plen, 0);
        cx_json_scan(text, len, cx.ids, buf, NULL, NULL, NULL, NULL);
        lua_pushlstring(L, buf, plen);
        cx_wipe(buf, plen);
        lua_remove(L, -2);
    }
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        /* lua-cjson: "Found too many nested data structures (N) at character M" */
        const char *m = lua_tostring(L, -1);
        int deep = m && strstr(m, "too many nested") != NULL;
        lua_pushnil(L);
        lua_insert(L, -2);
        if (!deep)
            return 2;
        lua_pushliteral(L, "too_deep");
        return 3;
    }
    switch (lua_type(L, -1)) {
    case LUA_TTABLE:
        if (!cx.saw)
            break;
        cx.nkeys = -1;
        cx.keys = lua_gettop(L) + 1;
        cx.fk = &fk;
        if (!fk.all) {
            size_t k;
            luaL_checkstack(L, (int)fk.n, "JSON keys");
            for (k = 0; k < fk.n; k++)
                lua_pushlstring(L, fk.k[k].s, fk.k[k].len);
            cx.nkeys = (int)fk.n;
        }
        fixup(L, cx.keys - 1, &cx);
        lua_settop(L, cx.keys - 1);
        break;
    case LUA_TLIGHTUSERDATA:
        lua_pop(L, 1);
        lua_pushnil(L);
        break;
    default:
        fix_value(L, &cx, 0, 0);
        break;
    }
    lua_pushinteger(L, to_integer(estimate));
    return 2;
}

/* Pushes the lua-cjson module: package.loaded.cjson through the registry, else the host's
   `require` (from the registry's globals, which also finds package.preload.cjson of a host
   that linked lua-cjson in). The caller's environment (an NSE script's) is not consulted. */
/* lua-cjson's luaopen and cjson.new write a process-wide static (fpconv_init's locale
   decimal point): states of different threads run them one at a time, under this lock. */
static pthread_mutex_t cjson_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* lua_call under cjson_init_lock; protected, so that an error does not keep the lock. */
static void call_cjson_locked(lua_State *L, int nargs, int nresults)
{
    int status;
    pthread_mutex_lock(&cjson_init_lock);
    status = lua_pcall(L, nargs, nresults, 0);
    pthread_mutex_unlock(&cjson_init_lock);
    if (status != LUA_OK)
        lua_error(L);
}

static void push_cjson_module(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "cjson");
        if (lua_istable(L, -1)) {
            lua_remove(L, -2);
            return;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    if (!lua_isfunction(L, -1))
        luaL_error(L, "cxcloud: lua-cjson is needed: not in package.loaded, and no require");
    lua_pushliteral(L, "cjson");
    call_cjson_locked(L, 1, 1);
    if (!lua_istable(L, -1))
        luaL_error(L, "cxcloud: require 'cjson' did not return the lua-cjson module");
}

/* Pushes a decode closure over a fresh private cjson instance (our depth and strictness
   settings never touch the user's) and the identifier set at ids_idx (0: none). */
static void push_decoder(lua_State *L, int ids_idx)
{
    push_cjson_module(L);
    lua_getfield(L, -1, "new");
    call_cjson_locked(L, 0, 1);
    lua_remove(L, -2);
    lua_getfield(L, -1, "decode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode");
    lua_getfield(L, -2, "decode_max_depth");
    lua_remove(L, -3);
    lua_pushinteger(L, 0);
    if (ids_idx)
        lua_pushvalue(L, ids_idx);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, decode, 4);
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
