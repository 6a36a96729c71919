/* core.decode and core.decoder: JSON through lua-cjson, with the fixes a CX Cloud client needs.
   - JSON null as an object field becomes absent (nil); inside an array it stays cjson.null
     (exported as core.null), so arrays keep their length and order.
   - Integral numbers become Lua integers (cjson gives floats: 90876512345.0).
   - Integer literals that a double cannot hold exactly (IDs of up to 22 digits) keep their
     exact digits: they are rewritten into marked strings before cjson sees them, then
     turned into integers when they fit in 64 bits, else left as strings of digits.
   - A number that is the value of an identifier field (the decoder's identifier set) is
     rewritten the same way but always comes out as a string of its exact text.
   - The pre-scan checks every number literal against the JSON grammar: cjson alone accepts
     "1." and lets "00000000000000001" through once protected. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cxcloud.h"

#define SAFE_DIGITS 15               /* every integer of up to 15 digits is exact in a double */
#define MARK_INT "\"\\u0000#"        /* JSON text opening a protected big integer */
#define MARK_ID "\"\\u0000$"         /* JSON text opening a protected identifier number */
#define MARK_LEN (sizeof(MARK_INT) - 1)
#define NUL_ESC "\\u0000"            /* a server string that starts with NUL gets a second one */
#define NUL_ESC_LEN (sizeof(NUL_ESC) - 1)
#define MAX_EXACT 9007199254740992.0 /* 2^53 */
#define DEFAULT_DEPTH 64

/* Identifier field names, each stored as one length byte then the name. */
struct cx_idset {
    size_t len;
    unsigned char names[];
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int starts_number(char c)
{
    return c == '-' || is_digit(c);
}

static int in_number(char c)
{
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? over exactly s[0..n). */
static int valid_number(const char *s, size_t n, int *integral)
{
    size_t i = 0, d;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return 0;
    *integral = (i == n);
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && is_digit(s[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && is_digit(s[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    return i == n;
}

/* End of the string literal that opens at in[start] (index of its closing quote, or len). */
static size_t string_end(const char *in, size_t len, size_t start)
{
    size_t from = start + 1;
    for (;;) {
        const char *q = memchr(in + from, '"', len - from);
        size_t k, backslashes = 0;
        if (!q)
            return len;
        k = (size_t)(q - in);
        while (k - backslashes > start + 1 && in[k - backslashes - 1] == '\\')
            backslashes++;
        if (backslashes % 2 == 0)
            return k;
        from = k + 1;
    }
}

/* Whether the next non-blank character from in[i] is ':' (the token before it is a key). */
static int before_colon(const char *in, size_t len, size_t i)
{
    while (i < len && is_ws(in[i]))
        i++;
    return i < len && in[i] == ':';
}

static int is_identifier(const struct cx_idset *ids, const char *key, size_t n)
{
    size_t i = 0;
    if (!ids || !key)
        return 0;
    while (i < ids->len) {
        size_t m = ids->names[i];
        if (m == n && ids->names[i + 1] == (unsigned char)key[0] &&
            memcmp(ids->names + i + 1, key, n) == 0)
            return 1;
        i += m + 1;
    }
    return 0;
}

static void put(char *out, size_t o, const char *s, size_t n)
{
    if (out)
        memcpy(out + o, s, n);
}

/* Writes the rewritten text to out (when not NULL); returns its length, or (size_t)-1 with
   *bad_at set when a number literal breaks the JSON grammar. Strings are skipped with
   memchr: they are most of a response. */
size_t cx_json_protect(const char *in, size_t len, const struct cx_idset *ids, char *out,
                       size_t *bad_at)
{
    size_t i = 0, o = 0, key_len = 0;
    const char *key = NULL; /* the last object key, while its value has not started */
    int after_colon = 0;
    while (i < len) {
        char c = in[i];
        if (c == '"') {
            size_t e = string_end(in, len, i), n = (e < len ? e + 1 : len) - i;
            if (e < len && before_colon(in, len, e + 1)) {
                key = in + i + 1;
                key_len = e - i - 1;
            } else {
                key = NULL;
                if (n >= 1 + NUL_ESC_LEN && in[i + 1] == '\\' &&
                    memcmp(in + i + 1, NUL_ESC, NUL_ESC_LEN) == 0) {
                    put(out, o, in + i, 1);
                    put(out, o + 1, NUL_ESC, NUL_ESC_LEN);
                    o += NUL_ESC_LEN;
                    n--;
                    i++;
                    o++;
                }
            }
            after_colon = 0;
            put(out, o, in + i, n);
            o += n;
            i += n;
        } else if (starts_number(c)) {
            size_t j = i, digits = 0;
            int integral = 0, id;
            const char *mark = NULL;
            for (; j < len && in_number(in[j]); j++)
                digits += is_digit(in[j]);
            if (!valid_number(in + i, j - i, &integral)) {
                if (bad_at)
                    *bad_at = i;
                return (size_t)-1;
            }
            id = after_colon && is_identifier(ids, key, key_len);
            /* a number in key position is invalid JSON: left as it is, cjson refuses it */
            if (!before_colon(in, len, j)) {
                if (id)
                    mark = MARK_ID;
                else if (integral && digits > SAFE_DIGITS)
                    mark = MARK_INT;
            }
            if (mark) {
                put(out, o, mark, MARK_LEN);
                o += MARK_LEN;
            }
            put(out, o, in + i, j - i);
            o += j - i;
            if (mark) {
                put(out, o, "\"", 1);
                o++;
            }
            i = j;
            key = NULL;
            after_colon = 0;
        } else {
            if (c == ':')
                after_colon = key != NULL;
            else if (!is_ws(c))
                key = NULL, after_colon = 0;
            if (out)
                out[o] = c;
            o++;
            i++;
        }
    }
    return o;
}

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

/* Replaces the decoded string at the top of the stack when the pre-scan wrote it: every
   string value that starts with NUL is one of the pre-scan's (server strings that start
   with NUL were given a second one). Returns whether it did. */
static int unprotect(lua_State *L)
{
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n < 2 || s[0] != '\0')
        return 0;
    if (s[1] == '#')
        push_big_integer(L, s + 2, n - 2);
    else if (s[1] == '$')
        lua_pushlstring(L, s + 2, n - 2);
    else
        lua_pushlstring(L, s + 1, n - 1);
    lua_remove(L, -2);
    return 1;
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

static void fixup(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "JSON too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int replace = 0;
        switch (lua_type(L, -1)) {
        case LUA_TNUMBER:
            replace = integral_float(L);
            break;
        case LUA_TLIGHTUSERDATA: /* cjson.null: kept in arrays (integer keys), dropped in objects */
            if (lua_type(L, -2) == LUA_TSTRING) {
                lua_pop(L, 1);
                lua_pushnil(L);
                replace = 1;
            }
            break;
        case LUA_TSTRING:
            replace = unprotect(L);
            break;
        case LUA_TTABLE:
            fixup(L, -1);
            break;
        default:
            break;
        }
        if (replace) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, idx); /* assigning an existing field (nil too) is allowed in lua_next */
        } else {
            lua_pop(L, 1);
        }
    }
}

/* decode(text [, max_depth]) -> value | nil, message.
   Upvalues: 1 cjson.decode, 2 cjson.decode_max_depth, 3 the depth last set, 4 the identifier
   set (or nil). The depth is passed to cjson only when it changes. */
static int decode(lua_State *L)
{
    size_t len, plen, bad_at = 0;
    const char *text = luaL_checklstring(L, 1, &len);
    lua_Integer depth = luaL_optinteger(L, 2, DEFAULT_DEPTH);
    const struct cx_idset *ids = lua_touserdata(L, lua_upvalueindex(4));
    luaL_argcheck(L, depth >= 1 && depth <= 1000, 2, "max_depth must be 1..1000");

    if (lua_tointeger(L, lua_upvalueindex(3)) != depth) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushinteger(L, depth);
        lua_call(L, 1, 0);
        lua_pushinteger(L, depth);
        lua_replace(L, lua_upvalueindex(3));
    }

    plen = cx_json_protect(text, len, ids, NULL, &bad_at);
    if (plen == (size_t)-1) {
        size_t n = 0;
        while (bad_at + n < len && n < 24 && in_number(text[bad_at + n]))
            n++;
        lua_pushnil(L);
        lua_pushfstring(L, "invalid number '%s' at character %d (JSON numbers: -?(0|[1-9][0-9]*)"
                        "(.[0-9]+)?([eE][+-]?[0-9]+)?)",
                        lua_pushlstring(L, text + bad_at, n), (int)(bad_at + 1));
        lua_remove(L, -2);
        return 2;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    if (plen == len) {
        lua_pushvalue(L, 1);
    } else {
        /* Userdata, not malloc: if pushing the string raises, the GC still frees it. */
        char *buf = lua_newuserdatauv(L, plen, 0);
        cx_json_protect(text, len, ids, buf, NULL);
        lua_pushlstring(L, buf, plen);
        cx_wipe(buf, plen);
        lua_remove(L, -2);
    }
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    switch (lua_type(L, -1)) {
    case LUA_TTABLE:
        fixup(L, -1);
        break;
    case LUA_TLIGHTUSERDATA:
        lua_pop(L, 1);
        lua_pushnil(L);
        break;
    case LUA_TNUMBER:
        integral_float(L);
        break;
    case LUA_TSTRING:
        unprotect(L);
        break;
    default:
        break;
    }
    return 1;
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
    size_t total = 0, i, n, o = 0;
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
    ids->len = total;
    for (i = 1; i <= n; i++) {
        size_t m;
        const char *s;
        lua_rawgeti(L, 1, (lua_Integer)i);
        s = lua_tolstring(L, -1, &m);
        ids->names[o] = (unsigned char)m;
        memcpy(ids->names + o + 1, s, m);
        o += m + 1;
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
