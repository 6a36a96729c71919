/* core.decode: JSON through lua-cjson, with the fixes a CX Cloud client needs.
   - JSON null becomes nil (cjson gives a sentinel light userdata).
   - Integral numbers become Lua integers (cjson gives floats: 90876512345.0).
   - Integer literals that a double cannot hold exactly (IDs of up to 22 digits) keep their
     exact digits: they are rewritten into marked strings before cjson sees them, then
     turned into integers when they fit in 64 bits, else left as strings of digits. */
#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cxcloud.h"

#define SAFE_DIGITS 15               /* every integer of up to 15 digits is exact in a double */
#define MARK_OPEN "\"\\u0000#"       /* JSON text of the marker that opens a protected literal */
#define MARK_LEN (sizeof(MARK_OPEN) - 1)
#define MAX_EXACT 9007199254740992.0 /* 2^53 */

static int starts_number(char c)
{
    return c == '-' || (c >= '0' && c <= '9');
}

static int in_number(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
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

/* Writes the rewritten text to out (when not NULL); returns its length. Strings are
   skipped with memchr: they are most of a response. */
size_t cx_json_protect(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;
    while (i < len) {
        char c = in[i];
        if (c == '"') {
            size_t e = string_end(in, len, i), n = (e < len ? e + 1 : len) - i;
            if (out)
                memcpy(out + o, in + i, n);
            o += n;
            i += n;
        } else if (starts_number(c)) {
            size_t j = i, digits = 0;
            int integral = 1;
            while (j < len && in_number(in[j])) {
                if (in[j] >= '0' && in[j] <= '9')
                    digits++;
                else if (in[j] != '-' || j != i)
                    integral = 0;
                j++;
            }
            if (integral && digits > SAFE_DIGITS) {
                if (out) {
                    memcpy(out + o, MARK_OPEN, MARK_LEN);
                    memcpy(out + o + MARK_LEN, in + i, j - i);
                    out[o + MARK_LEN + (j - i)] = '"';
                }
                o += MARK_LEN + (j - i) + 1;
            } else {
                if (out)
                    memcpy(out + o, in + i, j - i);
                o += j - i;
            }
            i = j;
        } else {
            if (out)
                out[o] = c;
            o++;
            i++;
        }
    }
    return o;
}

/* A protected literal: "\0#" then an optional '-' and digits. */
static void push_protected(lua_State *L, const char *s, size_t len)
{
    const char *d = s + 2;
    size_t n = len - 2, i = (n && d[0] == '-') ? 1 : 0;
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
    if (fits)
        lua_pushinteger(L, neg ? v : -v);
    else
        lua_pushlstring(L, d, n);
}

/* Only what cx_json_protect wrote: a server string that merely looks alike is left alone
   unless it is exactly the marker followed by an integer. */
static int is_protected(const char *s, size_t len)
{
    size_t i = 2;
    if (len < 3 || s[0] != '\0' || s[1] != '#')
        return 0;
    if (s[i] == '-')
        i++;
    if (i == len)
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void fixup(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "JSON too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        switch (lua_type(L, -1)) {
        case LUA_TNUMBER:
            if (!lua_isinteger(L, -1)) {
                double d = lua_tonumber(L, -1);
                if (d == floor(d) && fabs(d) <= MAX_EXACT) {
                    lua_pushvalue(L, -2);
                    lua_pushinteger(L, (lua_Integer)d);
                    lua_rawset(L, idx);
                }
            }
            break;
        case LUA_TLIGHTUSERDATA: /* cjson.null */
            lua_pushvalue(L, -2);
            lua_pushnil(L);
            lua_rawset(L, idx);
            break;
        case LUA_TSTRING: {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            if (is_protected(s, n)) {
                lua_pushvalue(L, -2);
                push_protected(L, s, n);
                lua_rawset(L, idx);
            }
            break;
        }
        case LUA_TTABLE:
            fixup(L, -1);
            break;
        default:
            break;
        }
        lua_pop(L, 1);
    }
}

/* core.decode(text [, max_depth]) -> value | nil, message. Upvalue 1: a cjson instance. */
int cx_decode(lua_State *L)
{
    size_t len, plen;
    const char *text = luaL_checklstring(L, 1, &len);
    lua_Integer depth = luaL_optinteger(L, 2, 64);
    luaL_argcheck(L, depth >= 1 && depth <= 1000, 2, "max_depth must be 1..1000");

    lua_getfield(L, lua_upvalueindex(1), "decode_max_depth");
    lua_pushinteger(L, depth);
    lua_call(L, 1, 0);

    lua_getfield(L, lua_upvalueindex(1), "decode");
    plen = cx_json_protect(text, len, NULL);
    if (plen == len) {
        lua_pushvalue(L, 1);
    } else {
        /* Userdata, not malloc: if pushing the string raises, the GC still frees it. */
        char *buf = lua_newuserdatauv(L, plen, 0);
        cx_json_protect(text, len, buf);
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
        if (!lua_isinteger(L, -1)) {
            double d = lua_tonumber(L, -1);
            if (d == floor(d) && fabs(d) <= MAX_EXACT) {
                lua_pop(L, 1);
                lua_pushinteger(L, (lua_Integer)d);
            }
        }
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (is_protected(s, n)) {
            push_protected(L, s, n);
            lua_remove(L, -2);
        }
        break;
    }
    default:
        break;
    }
    return 1;
}
