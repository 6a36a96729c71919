/* The JSON parser behind core.decode (json.c): the text straight into Lua values, in one
   pass, with the values a CX Cloud client needs (json.c's header lists them). It accepts and
   refuses what lua-cjson 2.1 (decode_invalid_numbers off) does: the pre-scan (lib/jsonscan.c)
   has checked every number literal against the JSON grammar before it runs; a NUL byte ends
   the text, as in cjson; errors are raised with cjson's messages ("Expected value but found
   invalid token at character 1", "Found too many nested data structures (65) at
   character 65"). It runs under lua_pcall (json.c): an error, memory included, unwinds the
   Lua stack and nothing else is held.
   Where the time goes in a page of rows: tables and key strings. An object's first fields
   and an array's first elements wait on the Lua stack until the table is made at its size
   (no rehash); keys come from a cache of recent key strings (no hashing and no interning of
   the same forty keys on every row). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cxcloud.h"
#include "lib/jsonscan.h"

#define MAX_EXACT 9007199254740992.0 /* 2^53 */
/* Fields (or elements) held on the stack before their table is made at that size; the
   rest are set one by one. */
#define PENDING 64
/* The key cache: direct-mapped, short keys without escapes, the string in a Lua table. */
#define KEY_SLOTS 256
#define KEY_MAX 40

struct parser {
    lua_State *L;
    const char *text, *p, *end; /* end: the first NUL, or the end of the text */
    const struct cx_idset *ids;
    int depth, max_depth;
    int keys;    /* stack index of the key cache's strings (a table, slot + 1) */
    int scratch; /* stack index of the buffer for strings with escapes (userdata or nil) */
    char *buf;
    size_t cap;
    struct {
        const char *s; /* the key as written (in the text), NULL: empty slot */
        size_t len;
        int id; /* an identifier field */
    } kc[KEY_SLOTS];
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct parser *P)
{
    while (P->p < P->end && is_ws(*P->p))
        P->p++;
}

static int starts(const struct parser *P, const char *word, size_t n)
{
    return (size_t)(P->end - P->p) >= n && memcmp(P->p, word, n) == 0;
}

/* cjson's name for the token at P->p, for error messages. */
static const char *token_name(const struct parser *P)
{
    if (P->p >= P->end)
        return "T_END";
    switch (*P->p) {
    case '{': return "T_OBJ_BEGIN";
    case '}': return "T_OBJ_END";
    case '[': return "T_ARR_BEGIN";
    case ']': return "T_ARR_END";
    case ',': return "T_COMMA";
    case ':': return "T_COLON";
    case '"': return "T_STRING";
    default: break;
    }
    if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9'))
        return "T_NUMBER";
    if (starts(P, "true", 4) || starts(P, "false", 5))
        return "T_BOOLEAN";
    if (starts(P, "null", 4))
        return "T_NULL";
    return "invalid token";
}

static void fail_at(struct parser *P, const char *expected, const char *found, const char *at)
{
    luaL_error(P->L, "Expected %s but found %s at character %d", expected, found,
               (int)(at - P->text + 1));
}

static void fail(struct parser *P, const char *expected)
{
    fail_at(P, expected, token_name(P), P->p);
}

/* Entering an object or an array (P->p after its bracket): the depth limit, and room on
   the stack for its pending values and a few more. */
static void descend(struct parser *P)
{
    if (++P->depth > P->max_depth || !lua_checkstack(P->L, 2 * PENDING + 8))
        luaL_error(P->L, "Found too many nested data structures (%d) at character %d", P->depth,
                   (int)(P->p - P->text));
}

/* The first '"' or '\\' in [s, end), or end. Eight bytes at a time: a word holds one when
   it has a zero byte once XORed with the quotes, or with the backslashes. */
static const char *string_stop(const char *s, const char *end)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - s >= 8) {
        uint64_t v, q, b;
        memcpy(&v, s, 8);
        q = v ^ (0x22u * ones);
        b = v ^ (0x5Cu * ones);
        if (((q - ones) & ~q & highs) | ((b - ones) & ~b & highs))
            break;
        s += 8;
    }
    while (s < end && *s != '"' && *s != '\\')
        s++;
    return s;
}

static int hex4(const char *s)
{
    int i, v = 0;
    for (i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* Decodes the \u escape at s (e: the string's end) into out; returns the bytes written and
   sets *used to the escape's length, or returns 0 when it is invalid (cjson's rules: a high
   surrogate must be followed by a \u low one; a lone low one is refused). */
static size_t unicode_escape(const char *s, const char *e, char *out, size_t *used)
{
    long cp;
    if (e - s < 6 || (cp = hex4(s + 2)) < 0)
        return 0;
    *used = 6;
    if ((cp & 0xF800) == 0xD800) {
        long lo;
        if ((cp & 0x400) || e - s < 12 || s[6] != '\\' || s[7] != 'u' ||
            (lo = hex4(s + 8)) < 0 || (lo & 0xFC00) != 0xDC00)
            return 0;
        cp = (((cp & 0x3FF) << 10) | (lo & 0x3FF)) + 0x10000;
        *used = 12;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string literal at P->p ('"'): its text and length, in the input when it has no
   escape (*plain set), else decoded into P->buf. P->p goes past its closing quote. */
static const char *read_string(struct parser *P, size_t *len, int *plain)
{
    const char *s = P->p + 1, *e = string_stop(s, P->end), *r;
    char *o;
    if (e < P->end && *e == '"') {
        *len = (size_t)(e - s);
        *plain = 1;
        P->p = e + 1;
        return s;
    }
    /* escapes: find the closing quote, then decode (never longer than as written) */
    while (e < P->end && *e == '\\') {
        if (P->end - e <= 2) {
            e = P->end;
            break;
        }
        e = string_stop(e + 2, P->end);
    }
    if (e >= P->end)
        fail_at(P, "value", "unexpected end of string", P->end);
    if ((size_t)(e - s) > P->cap) {
        size_t cap = (size_t)(e - s) > 2 * P->cap ? (size_t)(e - s) : 2 * P->cap;
        P->buf = lua_newuserdatauv(P->L, cap, 0);
        lua_replace(P->L, P->scratch);
        P->cap = cap;
    }
    o = P->buf;
    for (r = s; r < e;) {
        if (*r != '\\') {
            *o++ = *r++;
            continue;
        }
        switch (r[1]) {
        case '"': case '\\': case '/': *o++ = r[1]; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            size_t used = 0, n = unicode_escape(r, e, o, &used);
            if (!n)
                fail_at(P, "value", "invalid unicode escape code", r);
            o += n;
            r += used;
            continue;
        }
        default:
            fail_at(P, "value", "invalid escape code", r);
        }
        r += 2;
    }
    *len = (size_t)(o - P->buf);
    *plain = 0;
    P->p = e + 1;
    return P->buf;
}

/* Pushes the key at P->p; returns whether it is an identifier field. */
static int push_key(struct parser *P)
{
    size_t n;
    int plain, id;
    const char *s = read_string(P, &n, &plain);
    uint32_t h = 0, a, b;
    if (!plain || n > KEY_MAX) {
        lua_pushlstring(P->L, s, n);
        return cx_idset_has(P->ids, s, n);
    }
    if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
    } else {
        a = n ? (unsigned char)s[0] | (uint32_t)(unsigned char)s[n / 2] << 8 : 0;
        b = n ? (unsigned char)s[n - 1] : 0;
    }
    h = (uint32_t)n * 0x9E3779B1u ^ a * 0x85EBCA6Bu ^ b * 0xC2B2AE35u;
    h = (h ^ (h >> 15) ^ (h >> 23)) % KEY_SLOTS;
    if (P->kc[h].s && P->kc[h].len == n && memcmp(P->kc[h].s, s, n) == 0) {
        lua_rawgeti(P->L, P->keys, (lua_Integer)h + 1);
        return P->kc[h].id;
    }
    lua_pushlstring(P->L, s, n);
    lua_pushvalue(P->L, -1);
    lua_rawseti(P->L, P->keys, (lua_Integer)h + 1);
    id = cx_idset_has(P->ids, s, n);
    P->kc[h].s = s;
    P->kc[h].len = n;
    P->kc[h].id = id;
    return id;
}

/* A big integer literal (more than CX_JSON_SAFE_DIGITS digits): an integer when it fits in
   64 bits (5.3+), else the string of its digits. */
static void push_big_integer(lua_State *L, const char *d, size_t n)
{
    size_t i = (n && d[0] == '-') ? 1 : 0;
    lua_Integer v = 0;
    int neg = (i == 1), fits = CX_LUA_INT64;
    for (; fits && i < n; i++) {
        int digit = d[i] - '0';
        /* accumulated negatively so that INT64_MIN fits too */
        if (v < (LUA_MININTEGER + digit) / 10)
            fits = 0;
        else
            v = v * 10 - digit;
    }
    if (fits && !neg && v == LUA_MININTEGER)
        fits = 0;
    if (fits)
        lua_pushinteger(L, neg ? v : -v);
    else
        lua_pushlstring(L, d, n);
}

/* The number at P->p (the pre-scan checked its grammar). id: the value of an identifier
   field, which keeps its exact text. Integral values come out as integers (up to 2^53 from
   a fraction or an exponent; of any size that fits from digits alone). */
static void push_number(struct parser *P, int id)
{
    const char *s = P->p, *e = s;
    size_t digits = 0;
    int integral = 1;
    while (e < P->end && cx_json_number_char(*e)) {
        if (*e >= '0' && *e <= '9')
            digits++;
        else if (*e != '-')
            integral = 0;
        e++;
    }
    P->p = e;
    if (id) {
        lua_pushlstring(P->L, s, (size_t)(e - s));
    } else if (integral && digits <= CX_JSON_SAFE_DIGITS) {
        const char *d = s + (*s == '-');
        lua_Integer v = 0;
        for (; d < e; d++)
            v = v * 10 + (*d - '0');
        lua_pushinteger(P->L, *s == '-' ? -v : v);
    } else if (integral) {
        push_big_integer(P->L, s, (size_t)(e - s));
    } else {
        /* Lua reads it as cjson does (strtod, whatever the locale's decimal point) */
        char small[64];
        const char *z = small;
        double d;
        if ((size_t)(e - s) < sizeof small) {
            memcpy(small, s, (size_t)(e - s));
            small[e - s] = '\0';
        } else {
            z = lua_pushlstring(P->L, s, (size_t)(e - s));
        }
        if (!lua_stringtonumber(P->L, z))
            fail_at(P, "value", "invalid number", s); /* not reached: the pre-scan checked it */
        if (z != small)
            lua_remove(P->L, -2);
        d = lua_tonumber(P->L, -1);
        if (d == floor(d) && fabs(d) <= MAX_EXACT) {
            lua_pop(P->L, 1);
            lua_pushinteger(P->L, (lua_Integer)d);
        }
    }
}

static void parse_value(struct parser *P, int id, int null_is_nil);

/* The object at P->p ('{'). A null field is absent (set to nil: it removes an earlier
   field of the same key, as cjson's null then the fix-up did). */
static void parse_object(struct parser *P)
{
    lua_State *L = P->L;
    int base = lua_gettop(L), pending = 0, values = 0, table = 0;
    P->p++;
    descend(P);
    skip_ws(P);
    if (P->p < P->end && *P->p == '}') {
        P->p++;
        lua_createtable(L, 0, 0);
        P->depth--;
        return;
    }
    for (;;) {
        int id;
        if (P->p >= P->end || *P->p != '"')
            fail(P, "object key string");
        id = push_key(P);
        skip_ws(P);
        if (P->p >= P->end || *P->p != ':')
            fail(P, "colon");
        P->p++;
        skip_ws(P);
        parse_value(P, id, 1);
        if (table) {
            lua_rawset(L, table);
        } else {
            values += !lua_isnil(L, -1);
            if (++pending == PENDING) {
                int i;
                lua_createtable(L, 0, values);
                lua_insert(L, base + 1);
                table = base + 1;
                for (i = 0; i < pending; i++) {
                    lua_pushvalue(L, table + 1 + 2 * i);
                    lua_pushvalue(L, table + 2 + 2 * i);
                    lua_rawset(L, table);
                }
                lua_settop(L, table);
            }
        }
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            skip_ws(P);
            continue;
        }
        if (P->p < P->end && *P->p == '}') {
            P->p++;
            break;
        }
        fail(P, "comma or object end");
    }
    if (!table) {
        int i;
        lua_createtable(L, 0, values);
        lua_insert(L, base + 1);
        for (i = 0; i < pending; i++) {
            lua_pushvalue(L, base + 2 + 2 * i);
            lua_pushvalue(L, base + 3 + 2 * i);
            lua_rawset(L, base + 1);
        }
        lua_settop(L, base + 1);
    }
    P->depth--;
}

/* The array at P->p ('['). A null element is core.null (cjson.null), so arrays keep their
   length and order. */
static void parse_array(struct parser *P)
{
    lua_State *L = P->L;
    int base = lua_gettop(L), pending = 0, table = 0;
    lua_Integer n = 0;
    P->p++;
    descend(P);
    skip_ws(P);
    if (P->p < P->end && *P->p == ']') {
        P->p++;
        lua_createtable(L, 0, 0);
        P->depth--;
        return;
    }
    for (;;) {
        parse_value(P, 0, 0);
        n++;
        if (table) {
            lua_rawseti(L, table, n);
        } else if (++pending == PENDING) {
            int i;
            lua_createtable(L, pending, 0);
            lua_insert(L, base + 1);
            table = base + 1;
            for (i = pending; i >= 1; i--)
                lua_rawseti(L, table, i);
        }
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            skip_ws(P);
            continue;
        }
        if (P->p < P->end && *P->p == ']') {
            P->p++;
            break;
        }
        fail(P, "comma or array end");
    }
    if (!table) {
        int i;
        lua_createtable(L, pending, 0);
        lua_insert(L, base + 1);
        for (i = pending; i >= 1; i--)
            lua_rawseti(L, base + 1, i);
    }
    P->depth--;
}

/* The value at P->p (after blanks). id: an identifier field's value; null_is_nil: null
   becomes nil (an object field, the whole text), else core.null (an array element). */
static void parse_value(struct parser *P, int id, int null_is_nil)
{
    char c;
    if (P->p >= P->end)
        fail(P, "value");
    c = *P->p;
    if (c == '"') {
        size_t n;
        int plain;
        const char *s = read_string(P, &n, &plain);
        lua_pushlstring(P->L, s, n);
    } else if (c == '{') {
        parse_object(P);
    } else if (c == '[') {
        parse_array(P);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        push_number(P, id);
    } else if (starts(P, "true", 4)) {
        lua_pushboolean(P->L, 1);
        P->p += 4;
    } else if (starts(P, "false", 5)) {
        lua_pushboolean(P->L, 0);
        P->p += 5;
    } else if (starts(P, "null", 4)) {
        if (null_is_nil)
            lua_pushnil(P->L);
        else
            lua_pushlightuserdata(P->L, NULL);
        P->p += 4;
    } else {
        fail(P, "value");
    }
}

/* lua_CFunction: the argument is a light userdata, the struct cx_json_parse_args. */
int cx_json_parse(lua_State *L)
{
    const struct cx_json_parse_args *a = lua_touserdata(L, 1);
    const char *nul = memchr(a->text, '\0', a->len);
    struct parser P;
    memset(&P, 0, sizeof P);
    P.L = L;
    P.text = P.p = a->text;
    P.end = nul ? nul : a->text + a->len;
    P.ids = a->ids;
    P.max_depth = a->max_depth;
    if (a->len >= 2 && (!a->text[0] || !a->text[1]))
        return luaL_error(L, "JSON parser does not support UTF-16 or UTF-32");
    lua_settop(L, 0);
    lua_createtable(L, KEY_SLOTS, 0);
    P.keys = 1;
    lua_pushnil(L);
    P.scratch = 2;
    skip_ws(&P);
    parse_value(&P, 0, 1);
    skip_ws(&P);
    if (P.p < P.end)
        fail(&P, "the end");
    return 1;
}
