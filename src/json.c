/* core.decode and core.decoder: JSON through lua-cjson, with the fixes a CX Cloud client needs.
   - JSON null as an object field becomes absent (nil); inside an array it stays cjson.null
     (exported as core.null), so arrays keep their length and order.
   - Integral numbers become Lua integers (cjson gives floats: 90876512345.0).
   - Integer literals that a double cannot hold exactly (IDs of up to 22 digits) keep their
     exact digits: they are rewritten into marked strings before cjson sees them, then
     turned into integers when they fit in 64 bits, else left as strings of digits.
   - A number that is the value of an identifier field (the decoder's identifier set) always
     comes out as a string of its exact text, whether or not its key is written with an
     escape ("customer\u0049d" is customerId). A plain integer of up to 15 digits (the common
     case) goes through cjson as a number, exact in a double, and the fix-up pass writes its
     digits; any other (a fraction, an exponent, -0, more digits) is rewritten like a big
     integer. So a typical page is handed to cjson as it came, without a copy.
   - The pre-scan checks every number literal against the JSON grammar: cjson alone accepts
     "1." and lets "00000000000000001" through once protected. It also tells what the fix-up
     pass has to look for (numbers, nulls, marked strings); with none of them it is skipped.
   - The pre-scan also counts what the decoded value will hold (tables, array elements,
     object fields, strings and their lengths) for an estimate of its Lua memory
     (decoded_size): a text estimated over the caller's limit is refused before cjson sees
     it. The wire size bounds nothing here: 8 MiB of tiny arrays decode to over 200 MiB. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cxcloud.h"
#include "lib/buffer.h"

#define SAFE_DIGITS 15               /* every integer of up to 15 digits is exact in a double */
#define MARK_INT "\"\\u0000#"        /* JSON text opening a protected big integer */
#define MARK_ID "\"\\u0000$"         /* JSON text opening a protected identifier number */
#define MARK_NUM "\"\\u0000%"        /* JSON text opening a number kept as a number */
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

/* What a pre-scan saw, for the fix-up pass. */
enum {
    SAW_NUMBER = 1, /* a number cjson decodes (as a float) */
    SAW_NULL = 2,   /* a null (or a token starting with 'n') */
    SAW_MARK = 4    /* a string the pre-scan wrote (the text was rewritten) */
};

#define MAX_FIX_KEYS 32

/* The keys whose values the fix-up pass must visit in objects: a number, a null, an object or
   an array, a string the pre-scan rewrote. Every other object field is a string or a boolean
   as it came. `all` (too many keys, or a key with an escape, whose decoded text the pre-scan
   does not know) makes the fix-up pass walk every field. */
struct fix_keys {
    size_t n, last;
    int all;
    struct {
        const char *s;
        size_t len;
        int id; /* an identifier field */
    } k[MAX_FIX_KEYS];
};

/* Adds key to fk (when not NULL); returns whether it is an identifier field. */
static int note_key(struct fix_keys *fk, const struct cx_idset *ids, const char *key, size_t len)
{
    size_t i;
    if (!fk || fk->all)
        return is_identifier(ids, key, len);
    /* fields come in the same order in every row: try the one after the last match first */
    i = fk->last < fk->n ? fk->last : 0;
    if (fk->n && fk->k[i].len == len && memcmp(fk->k[i].s, key, len) == 0) {
        fk->last = i + 1;
        return fk->k[i].id;
    }
    for (i = 0; i < fk->n; i++) {
        if (fk->k[i].len == len && memcmp(fk->k[i].s, key, len) == 0) {
            fk->last = i + 1;
            return fk->k[i].id;
        }
    }
    if (fk->n == MAX_FIX_KEYS || memchr(key, '\\', len)) {
        fk->all = 1;
        return is_identifier(ids, key, len);
    }
    fk->k[fk->n].s = key;
    fk->k[fk->n].len = len;
    fk->k[fk->n].id = is_identifier(ids, key, len);
    fk->last = ++fk->n;
    return fk->k[fk->n - 1].id;
}

/* -?[1-9][0-9]* or 0, of at most SAFE_DIGITS digits: a number whose exact text the fix-up pass
   can write back from cjson's double. */
static int plain_integer(const char *s, size_t n, int integral)
{
    size_t digits = n - (s[0] == '-');
    return integral && digits <= SAFE_DIGITS && (n == 1 || s[n - digits] != '0');
}

/* What a pre-scan counted, for the estimate of the decoded value's size (decoded_size). */
struct scan_count {
    size_t tables;       /* '{' and '[' */
    size_t fields;       /* ':' (object fields; each has a key string) */
    size_t strings;      /* string literals, keys included */
    size_t string_bytes; /* their lengths as written (escapes counted as written) */
    size_t key_bytes;    /* the keys' share of string_bytes */
    size_t new_keys;     /* keys not seen among the recent ones (key_cache) */
    size_t new_key_bytes;
    size_t scalars;      /* numbers, true, false, null */
    size_t texts;        /* numbers that come out as strings (identifier fields, big integers) */
    size_t text_bytes;   /* their lengths */
};

/* Lua keeps one copy of each short string (5.4: up to 40 bytes): the keys of a page's rows
   are stored once however many rows repeat them. The estimate counts a key only when it is
   none of the recent keys: a direct-mapped cache of key texts as written. */
#define SHORT_STRING 40
#define KEY_CACHE 128

struct key_cache {
    const char *s[KEY_CACHE];
    size_t len[KEY_CACHE];
};

/* Whether key s (n bytes) is in the cache; puts it there if not. */
static int key_seen(struct key_cache *kc, const char *s, size_t n)
{
    uint32_t h, a, b;
    if (n > SHORT_STRING)
        return 0;
    /* the length, the first and the last four bytes: keys that differ elsewhere share a
       slot and take turns in it (they are counted again, an overestimate) */
    if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
    } else {
        a = n ? (unsigned char)s[0] | (uint32_t)(unsigned char)s[n / 2] << 8 : 0;
        b = n ? (unsigned char)s[n - 1] : 0;
    }
    h = (uint32_t)n * 0x9E3779B1u ^ a * 0x85EBCA6Bu ^ b * 0xC2B2AE35u;
    h = (h ^ (h >> 15) ^ (h >> 23)) % KEY_CACHE;
    if (kc->s[h] && kc->len[h] == n && memcmp(kc->s[h], s, n) == 0)
        return 1;
    kc->s[h] = s;
    kc->len[h] = n;
    return 0;
}

/* Writes the rewritten text to out (when not NULL); returns its length, or (size_t)-1 with
   *bad_at set when a number literal breaks the JSON grammar. *saw (when not NULL) gets SAW_*
   flags, fk (when not NULL) the keys the fix-up pass must visit, count (when not NULL) what
   the decoded-size estimate needs. Strings are skipped with memchr: they are most of a
   response. */
static size_t scan(const char *in, size_t len, const struct cx_idset *ids, char *out,
                   size_t *bad_at, unsigned *saw, struct fix_keys *fk, struct scan_count *count)
{
    size_t i = 0, o = 0, key_len = 0, cand_len = 0;
    const char *key = NULL;  /* the key whose value comes next (its colon came) */
    const char *cand = NULL; /* the last string, while no token but ':' followed it */
    unsigned flags = 0;
    /* counted in locals (registers), stored in *count at the end */
    size_t tables = 0, fields = 0, strings = 0, string_bytes = 0, key_bytes = 0, new_keys = 0,
           new_key_bytes = 0, scalars = 0, texts = 0, text_bytes = 0;
    struct key_cache kc;
    if (count)
        memset(&kc, 0, sizeof kc);
    while (i < len) {
        char c = in[i];
        if (c == '"') {
            size_t e = string_end(in, len, i), n = (e < len ? e + 1 : len) - i;
            cand = key || e == len ? NULL : in + i + 1;
            cand_len = e - i - 1;
            strings++;
            string_bytes += cand_len;
            if (n >= 1 + NUL_ESC_LEN && in[i + 1] == '\\' &&
                memcmp(in + i + 1, NUL_ESC, NUL_ESC_LEN) == 0 &&
                (key || e == len || !before_colon(in, len, e + 1))) {
                /* a value that starts with NUL: given a second one */
                if (key)
                    note_key(fk, ids, key, key_len);
                cand = NULL;
                put(out, o, in + i, 1);
                put(out, o + 1, NUL_ESC, NUL_ESC_LEN);
                o += NUL_ESC_LEN;
                n--;
                i++;
                o++;
            }
            key = NULL;
            put(out, o, in + i, n);
            o += n;
            i += n;
            continue;
        }
        if (starts_number(c)) {
            size_t j = i, digits = 0;
            int integral = 0, text = 0;
            const char *mark = NULL;
            for (; j < len && in_number(in[j]); j++)
                digits += is_digit(in[j]);
            if (!valid_number(in + i, j - i, &integral)) {
                if (bad_at)
                    *bad_at = i;
                return (size_t)-1;
            }
            /* a number in key position is invalid JSON: left as it is, cjson refuses it */
            if (!before_colon(in, len, j)) {
                if (key && note_key(fk, ids, key, key_len)) {
                    if (!plain_integer(in + i, j - i, integral))
                        mark = MARK_ID;
                    text = 1;
                } else if (integral && digits > SAFE_DIGITS) {
                    mark = MARK_INT;
                    text = 1;
                } else if (key && ids && memchr(key, '\\', key_len)) {
                    /* the pre-scan matches identifiers on the key as written, the fix-up pass
                       on the decoded key: they agree unless the key has an escape. The exact
                       text is kept for the fix-up pass, which writes it back as a number, or
                       as a string when the decoded key is an identifier (a big integer here
                       gets MARK_INT, handled the same way) */
                    mark = MARK_NUM;
                }
            }
            scalars++;
            if (text) {
                texts++;
                text_bytes += j - i;
            }
            if (mark) {
                put(out, o, mark, MARK_LEN);
                o += MARK_LEN;
            } else {
                flags |= SAW_NUMBER;
            }
            put(out, o, in + i, j - i);
            o += j - i;
            if (mark) {
                put(out, o, "\"", 1);
                o++;
            }
            i = j;
            key = cand = NULL;
            continue;
        }
        if (c == ':') {
            key = cand;
            key_len = cand_len;
            cand = NULL;
            fields++;
            key_bytes += key_len;
            if (count && !(key && key_seen(&kc, key, key_len))) {
                new_keys++;
                new_key_bytes += key_len;
            }
        } else if (!is_ws(c)) {
            if (c == '{' || c == '[') {
                tables++;
            } else if (c == 'n' || c == 't' || c == 'f') {
                /* true, false, null: their other letters are none of these three */
                scalars++;
                if (c == 'n')
                    flags |= SAW_NULL;
            }
            if (key && (c == 'n' || c == '{' || c == '['))
                note_key(fk, ids, key, key_len);
            key = cand = NULL;
        }
        if (out)
            out[o] = c;
        o++;
        i++;
    }
    if (o != len)
        flags |= SAW_MARK;
    if (saw)
        *saw = flags;
    if (count) {
        count->tables = tables;
        count->fields = fields;
        count->strings = strings;
        count->string_bytes = string_bytes;
        count->key_bytes = key_bytes;
        count->new_keys = new_keys;
        count->new_key_bytes = new_key_bytes;
        count->scalars = scalars;
        count->texts = texts;
        count->text_bytes = text_bytes;
    }
    return o;
}

size_t cx_json_protect(const char *in, size_t len, const struct cx_idset *ids, char *out,
                       size_t *bad_at)
{
    return scan(in, len, ids, out, bad_at, NULL, NULL, NULL);
}

/* Approximate sizes in Lua 5.4 on a 64-bit machine: a table (struct Table), an array slot
   (TValue), a hash node (Node, rounded up for the free slots of a power-of-two hash part),
   a string's header (TString) to which its length is added. */
#define EST_TABLE 56
#define EST_SLOT 16
#define EST_NODE 32
#define EST_STRING 24

static uint64_t minus(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* An estimate, in bytes, of the Lua memory the decoded value takes, from what the pre-scan
   counted: a table per '{' and '[', an array slot per array element, a hash node per object
   field, a string per string value with its length as written, a string per key not among
   the recent keys (key_cache), a string per number that comes out as one. Numbers, booleans
   and nulls live in their slot or node. Equal short values (a product family repeated on
   every row) are counted each time, though Lua stores them once. It is an estimate: Lua
   rounds array and hash parts up to powers of two, and other Lua versions have other sizes;
   it tells a page of tiny arrays (about 24 bytes per byte of JSON) from a page of rows (2
   to 4) or of long strings (about 1). */
static uint64_t decoded_size(const struct scan_count *k)
{
    /* every value but the keys: the root, the fields' values, the array elements */
    uint64_t value_strings = minus(k->strings, k->fields);
    uint64_t values = (uint64_t)k->tables + k->scalars + value_strings;
    uint64_t elements = minus(values, (uint64_t)k->fields + 1);
    return EST_TABLE * (uint64_t)k->tables + EST_SLOT * elements + EST_NODE * (uint64_t)k->fields +
           EST_STRING * (value_strings + k->new_keys + k->texts) +
           minus(k->string_bytes, k->key_bytes) + k->new_key_bytes + k->text_bytes;
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
    if (id < 0 && (s[1] == '#' || s[1] == '%')) {
        size_t kn;
        const char *key = lua_tolstring(L, key_idx, &kn);
        id = is_identifier(ids, key, kn);
    }
    if (s[1] == '$' || (id > 0 && (s[1] == '#' || s[1] == '%'))) {
        lua_pushlstring(L, s + 2, n - 2);
    } else if (s[1] == '#') {
        push_big_integer(L, s + 2, n - 2);
    } else if (s[1] == '%') {
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

/* Replaces the number at the top of the stack (a plain integer of at most SAFE_DIGITS digits,
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
    const struct fix_keys *fk; /* the keys, with whether each is an identifier field */
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
            id = is_identifier(cx->ids, key, n);
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
        return (cx->saw & SAW_MARK) && unprotect(L, cx->ids, key_idx, key_idx ? id : 0);
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
    struct fix_keys fk;
    struct scan_count count;
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

    plen = scan(text, len, cx.ids, NULL, &bad_at, &cx.saw, &fk, &count);
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
    estimate = decoded_size(&count);
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
        scan(text, len, cx.ids, buf, NULL, NULL, NULL, NULL);
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
