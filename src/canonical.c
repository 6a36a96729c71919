/* core.canonical(v[, digest]): the store's canonical JSON of a Lua value (object keys sorted,
   numbers written one way), and with digest true its core.digest too. The specification is
   the reference encoder kept with the specs (spec/support/canon_reference.lua), which this
   file follows value for value on every Lua version:
   - a table is an array when #t > 0 (elements 1..#t, the rest ignored), `[]` when empty with
     a metatable, `{}` when empty without; otherwise an object whose keys are tostring(k),
     ordered as Lua's `<` orders strings, each with the value t[s] (or t[tonumber(s)] when
     that is nil). A table with a metatable goes through its metamethods as the reference
     does (__len on 5.2+, __index, __pairs, __tostring); one without is read raw.
   - a number: an integer (a Lua 5.3+ integer; before 5.3 an integral number within +-2^53)
     in decimal, a float as cx_canon_float writes it (lib/canon.h).
   - nil, cxcloud.null, functions and the rest: null.
   The text grows in a userdata (never malloc: a Lua error anywhere leaks nothing); tables
   nested deeper than MAX_DEPTH raise an error, which also stops a table that contains
   itself. */
#include <math.h>

#include "cxcloud.h"
#include "lib/canon.h"
#include "lib/digest.h"

#define MAX_DEPTH 1000
#define MAX_EXACT 9007199254740992.0 /* 2^53 */
#define INIT_TEXT 4096
#define INIT_KEYS 64

typedef struct {
    lua_State *L;
    char *text;          /* in init_text, or in the userdata at text_slot */
    size_t len, cap;
    cx_canon_key *keys;  /* the keys of the objects being written, outer ones first */
    size_t nkeys, capkeys;
    int text_slot, keys_slot;
    int depth;
    int bytewise;        /* strings compare byte by byte (C collation) */
} enc;

static void encode(enc *e, int idx);

/* Room for n more bytes; returns where they go. */
static char *reserve(enc *e, size_t n)
{
    if (e->cap - e->len < n) {
        size_t cap = e->cap * 2;
        char *p;
        if (n > (size_t)-1 / 2 - e->len)
            luaL_error(e->L, "canonical: text too long");
        if (cap < e->len + n)
            cap = e->len + n;
        p = lua_newuserdatauv(e->L, cap, 0);
        memcpy(p, e->text, e->len);
        lua_replace(e->L, e->text_slot);
        e->text = p;
        e->cap = cap;
    }
    return e->text + e->len;
}

static void put(enc *e, const char *s, size_t n)
{
    memcpy(reserve(e, n), s, n);
    e->len += n;
}

static void put_char(enc *e, char c)
{
    *reserve(e, 1) = c;
    e->len++;
}

static void put_string(enc *e, const char *s, size_t n)
{
    size_t max = CX_CANON_STRING_MAX(n);
    if (max == 0)
        luaL_error(e->L, "canonical: string too long");
    e->len += cx_canon_string(s, n, reserve(e, max));
}

/* A float: lib/canon.c's form. On LuaJIT, string.format has a formatter of its own, which
   rounds an exact tie in the 17th digit up where the C library rounds it to even: on the
   5.1 API (PUC 5.1 and LuaJIT) the "%.17g" form is the interpreter's own string.format's,
   as the reference's is. Only floats that need 17 digits pay for it. */
static void put_float(enc *e, double d)
{
    int long_form;
    size_t n = cx_canon_float(d, reserve(e, CX_CANON_NUMBER_SIZE), &long_form);
#if LUA_VERSION_NUM == 501
    if (long_form) {
        lua_State *L = e->L;
        size_t len;
        const char *s;
        luaL_checkstack(L, 4, "canonical");
        lua_getglobal(L, "string");
        lua_getfield(L, -1, "format");
        lua_pushliteral(L, "%.17g");
        lua_pushnumber(L, d);
        lua_call(L, 2, 1);
        s = lua_tolstring(L, -1, &len);
        if (s == NULL)
            luaL_error(L, "canonical: string.format gave no string");
        put(e, s, len);
        lua_pop(L, 2);
        return;
    }
#else
    (void)long_form;
#endif
    e->len += n;
}

static void put_number(enc *e, int idx)
{
#if CX_LUA_INT64
    if (lua_isinteger(e->L, idx)) {
        e->len += cx_canon_integer((long long)lua_tointeger(e->L, idx),
                                   reserve(e, CX_CANON_NUMBER_SIZE));
        return;
    }
    put_float(e, (double)lua_tonumber(e->L, idx));
#else
    /* No integer subtype: an integral number a double holds exactly is written as
       string.format("%d") does (-0 as 0). */
    double d = (double)lua_tonumber(e->L, idx);
    if (d == floor(d) && fabs(d) <= MAX_EXACT)
        e->len += cx_canon_integer((long long)d, reserve(e, CX_CANON_NUMBER_SIZE));
    else
        put_float(e, d);
#endif
}

/* Pushes tonumber(s) for the string at idx and returns 1, or pushes nothing and returns 0. */
static int push_tonumber(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 503
    size_t n, r;
    const char *s = lua_tolstring(L, idx, &n);
    r = lua_stringtonumber(L, s);
    if (r == n + 1)
        return 1;
    if (r != 0) /* a number before an embedded NUL: tonumber refuses the whole string */
        lua_pop(L, 1);
    return 0;
#else
    if (!lua_isnumber(L, idx))
        return 0;
    lua_pushnumber(L, lua_tonumber(L, idx));
    return 1;
#endif
}

/* Pushes t[s], or t[tonumber(s)] when that is nil: the value of key s (the string at s_idx)
   in the table at t, through its metamethods. */
static void push_field(lua_State *L, int t, int s_idx)
{
    lua_pushvalue(L, s_idx);
    lua_gettable(L, t);
    if (!lua_isnil(L, -1))
        return;
    lua_pop(L, 1);
    if (push_tonumber(L, s_idx))
        lua_gettable(L, t);
    else
        lua_pushnil(L);
}

/* Replaces the key at the top of the stack by tostring(key), with the global tostring. */
static void key_to_string(lua_State *L)
{
    lua_getglobal(L, "tostring");
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "canonical: tostring of a key gave a %s, not a string",
                   luaL_typename(L, -1));
}

/* #t as the reference sees it: __len on 5.2+, else the border that # gives. */
static lua_Integer length(lua_State *L, int t, int has_mt)
{
#if LUA_VERSION_NUM >= 502
    if (has_mt) {
        lua_Number n;
        lua_len(L, t);
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "canonical: __len gave a %s, not a number", luaL_typename(L, -1));
#if CX_LUA_INT64
        if (lua_isinteger(L, -1)) {
            lua_Integer i = lua_tointeger(L, -1);
            lua_pop(L, 1);
            return i;
        }
#endif
        n = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (!(n > 0))
            return 0;
        return n >= (lua_Number)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)floor(n);
    }
#else
    (void)has_mt;
#endif
    return (lua_Integer)lua_rawlen(L, t);
}

static void encode_array(enc *e, int t, lua_Integer n, int has_mt)
{
    lua_State *L = e->L;
    lua_Integer i;
    put_char(e, '[');
    for (i = 1; i <= n; i++) {
        if (i > 1)
            put_char(e, ',');
        if (has_mt) {
            lua_pushinteger(L, i);
            lua_gettable(L, t);
        } else {
            lua_rawgeti(L, t, i);
        }
        encode(e, lua_gettop(L));
        lua_pop(L, 1);
    }
    put_char(e, ']');
}

/* Pushes, for each key of the table at t, the key's string and its value, and returns how
   many. The keys come from __pairs when the table has one (5.2+), else from next; a string
   key's value from next is t[k] already. */
static size_t collect(lua_State *L, int t, int has_mt)
{
    size_t n = 0;
#if LUA_VERSION_NUM >= 502
    if (has_mt && luaL_getmetafield(L, t, "__pairs") != LUA_TNIL) {
        int f = lua_gettop(L), i; /* the iterator, its state, its control variable */
        lua_pushvalue(L, t);
        lua_call(L, 1, 3);
        for (;;) {
            luaL_checkstack(L, 6, "canonical: too many keys");
            lua_pushvalue(L, f);
            lua_pushvalue(L, f + 1);
            lua_pushvalue(L, f + 2);
            lua_call(L, 2, 1);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            lua_pushvalue(L, -1);
            lua_replace(L, f + 2);
            if (lua_type(L, -1) != LUA_TSTRING)
                key_to_string(L);
            push_field(L, t, lua_gettop(L));
            n++;
        }
        for (i = 0; i < 3; i++)
            lua_remove(L, f);
        return n;
    }
#else
    (void)has_mt; /* no __pairs before 5.2 */
#endif
    lua_pushnil(L);
    while (lua_next(L, t)) {
        /* [key value] becomes [string value], and the key goes on top again for next */
        luaL_checkstack(L, 6, "canonical: too many keys");
        lua_pushvalue(L, -2);
        if (lua_type(L, -1) != LUA_TSTRING) {
            int s = lua_gettop(L) - 2;
            lua_pushvalue(L, -1);
            key_to_string(L);
            lua_replace(L, s);
            push_field(L, t, s);
            lua_replace(L, s + 1);
        }
        n++;
    }
    return n;
}

/* Room for n keys and as many of sorting scratch at e->keys + e->nkeys. */
static void reserve_keys(enc *e, size_t n)
{
    if (e->capkeys - e->nkeys < 2 * n) {
        size_t cap = e->capkeys * 2;
        cx_canon_key *p;
        if (cap < e->nkeys + 2 * n)
            cap = e->nkeys + 2 * n;
        p = lua_newuserdatauv(e->L, cap * sizeof *p, 0);
        memcpy(p, e->keys, e->nkeys * sizeof *p);
        lua_replace(e->L, e->keys_slot);
        e->keys = p;
        e->capkeys = cap;
    }
}

static int compare_bytes(void *ctx, const cx_canon_key *a, const cx_canon_key *b)
{
    (void)ctx;
    return cx_canon_keycmp(a, b);
}

/* Lua's own `<` (strcoll), for a collation other than C's. */
static int compare_lua(void *ctx, const cx_canon_key *a, const cx_canon_key *b)
{
    lua_State *L = ctx;
#if LUA_VERSION_NUM >= 502
    if (lua_compare(L, a->idx, b->idx, LUA_OPLT))
        return -1;
    return lua_compare(L, b->idx, a->idx, LUA_OPLT);
#else
    if (lua_lessthan(L, a->idx, b->idx))
        return -1;
    return lua_lessthan(L, b->idx, a->idx);
#endif
}

static void encode_object(enc *e, int t, int has_mt)
{
    lua_State *L = e->L;
    int top = lua_gettop(L);
    size_t n = collect(L, t, has_mt), base = e->nkeys, i;
    reserve_keys(e, n);
    for (i = 0; i < n; i++) {
        cx_canon_key *k = &e->keys[base + i];
        k->idx = top + 1 + 2 * (int)i;
        k->s = lua_tolstring(L, k->idx, &k->n);
    }
    cx_canon_sort(e->keys + base, e->keys + base + n, n, e->bytewise ? compare_bytes : compare_lua,
                  L);
    e->nkeys = base + n;
    put_char(e, '{');
    for (i = 0; i < n; i++) {
        /* e->keys moves when a nested object needs more room: index it afresh */
        const cx_canon_key *k = &e->keys[base + i];
        if (i > 0)
            put_char(e, ',');
        put_string(e, k->s, k->n);
        put_char(e, ':');
        encode(e, k->idx + 1);
    }
    put_char(e, '}');
    e->nkeys = base;
    lua_settop(L, top);
}

static void encode_table(enc *e, int t)
{
    lua_State *L = e->L;
    int has_mt;
    lua_Integer n;
    if (++e->depth > MAX_DEPTH)
        luaL_error(L, "canonical: tables nested deeper than %d (a table that contains itself?)",
                   MAX_DEPTH);
    luaL_checkstack(L, 8, "canonical: tables nested too deep");
    has_mt = lua_getmetatable(L, t);
    if (has_mt)
        lua_pop(L, 1);
    n = length(L, t, has_mt);
    if (n > 0) {
        encode_array(e, t, n, has_mt);
    } else {
        int empty;
        lua_pushnil(L);
        empty = !lua_next(L, t);
        if (!empty)
            lua_pop(L, 2);
        if (empty)
            put(e, has_mt ? "[]" : "{}", 2);
        else
            encode_object(e, t, has_mt);
    }
    e->depth--;
}

static void encode(enc *e, int idx)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        put_string(e, s, n);
        break;
    }
    case LUA_TNUMBER:
        put_number(e, idx);
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            put(e, "true", 4);
        else
            put(e, "false", 5);
        break;
    case LUA_TTABLE:
        encode_table(e, idx);
        break;
    default: /* cxcloud.null (JSON null in an array), or anything JSON cannot hold */
        put(e, "null", 4);
        break;
    }
}

/* core.canonical(v[, digest]) -> text[, digest]: see the top of this file. */
int cx_canonical(lua_State *L)
{
    char init_text[INIT_TEXT];
    cx_canon_key init_keys[INIT_KEYS];
    enc e;
    int with_digest = lua_toboolean(L, 2);
    lua_settop(L, 1);
    lua_pushnil(L); /* 2: the text once it outgrows init_text */
    lua_pushnil(L); /* 3: the keys once they outgrow init_keys */
    e.L = L;
    e.text = init_text;
    e.len = 0;
    e.cap = sizeof init_text;
    e.keys = init_keys;
    e.nkeys = 0;
    e.capkeys = INIT_KEYS;
    e.text_slot = 2;
    e.keys_slot = 3;
    e.depth = 0;
    e.bytewise = cx_canon_bytewise_collation();
    encode(&e, 1);
    lua_pushlstring(L, e.text, e.len);
    if (!with_digest)
        return 1;
    {
        char hex[CX_DIGEST_HEX + 1];
        cx_digest_hex(e.text, e.len, hex);
        lua_pushlstring(L, hex, CX_DIGEST_HEX);
    }
    return 2;
}
