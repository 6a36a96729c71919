/* The JSON pre-scan (jsonscan.h): the number grammar check, the rewriting of numbers whose
   exact text must survive a decoder, what a fix-up pass must visit, and the counts behind
   the decoded-size estimate, in one pass. Strings are skipped with memchr: they are most of a
   response. All input comes from the server: fuzzed (spec/fuzz). */
#include <string.h>

#include "jsonscan.h"

/* JSON text opening a marked string (CX_JSON_MARK_*) */
#define MARK_INT "\"\\u0000#"        /* JSON text opening a protected big integer */
#define MARK_ID "\"\\u0000$"         /* JSON text opening a protected identifier number */
#define MARK_NUM "\"\\u0000%"        /* JSON text opening a number kept as a number */
#define MARK_LEN (sizeof(MARK_INT) - 1)
#define NUL_ESC "\\u0000"            /* a server string that starts with NUL gets a second one */
#define NUL_ESC_LEN (sizeof(NUL_ESC) - 1)

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

int cx_json_number_char(char c)
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

/* The first '"' in s[0..n), or NULL. Eight bytes at a time (whether a word holds a quote:
   a zero byte in it XOR the quotes), the last match byte by byte: most strings of a page are
   short, and a memchr call per string costs more than their bytes. */
static const char *find_quote(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        v ^= 0x22u * ones;
        if ((v - ones) & ~v & highs)
            break;
    }
    for (; i < n; i++)
        if (s[i] == '"')
            return s + i;
    return NULL;
}

/* End of the string literal that opens at in[start] (index of its closing quote, or len). */
static size_t string_end(const char *in, size_t len, size_t start)
{
    size_t from = start + 1;
    for (;;) {
        const char *q = find_quote(in + from, len - from);
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

void cx_idset_add(struct cx_idset *ids, const char *name, size_t n)
{
    ids->names[ids->len] = (unsigned char)n;
    memcpy(ids->names + ids->len + 1, name, n);
    ids->len += n + 1;
}

int cx_idset_has(const struct cx_idset *ids, const char *key, size_t n)
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

/* Adds key to fk (when not NULL); returns whether it is an identifier field. */
static int note_key(cx_json_keys *fk, const struct cx_idset *ids, const char *key, size_t len)
{
    size_t i;
    if (!fk || fk->all)
        return cx_idset_has(ids, key, len);
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
    if (fk->n == CX_JSON_MAX_KEYS || memchr(key, '\\', len)) {
        fk->all = 1;
        return cx_idset_has(ids, key, len);
    }
    fk->k[fk->n].s = key;
    fk->k[fk->n].len = len;
    fk->k[fk->n].id = cx_idset_has(ids, key, len);
    fk->last = ++fk->n;
    return fk->k[fk->n - 1].id;
}

/* -?[1-9][0-9]* or 0, of at most CX_JSON_SAFE_DIGITS digits: a number whose exact text the fix-up pass
   can write back from cjson's double. */
static int plain_integer(const char *s, size_t n, int integral)
{
    size_t digits = n - (s[0] == '-');
    return integral && digits <= CX_JSON_SAFE_DIGITS && (n == 1 || s[n - digits] != '0');
}

/* Lua keeps one copy of each short string (5.4: up to 40 bytes): the keys of a page's rows
   are stored once however many rows repeat them. The estimate counts a key only when it is
   none of the recent keys: a direct-mapped cache of key texts as written. */
#define SHORT_STRING 40
#define KEY_CACHE 128

struct key_cache {
    const char *s[KEY_CACHE];
    size_t len[KEY_CACHE];
};

/* memcmp(a, b, n) == 0 for a short n, without a call per key. */
static int same_bytes(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

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
    if (kc->s[h] && kc->len[h] == n && same_bytes(kc->s[h], s, n))
        return 1;
    kc->s[h] = s;
    kc->len[h] = n;
    return 0;
}

/* See jsonscan.h. The counts are kept in locals (registers) and stored at the end. */
size_t cx_json_scan(const char *in, size_t len, const struct cx_idset *ids, char *out,
                    size_t *bad_at, unsigned *saw, cx_json_keys *fk, cx_json_count *count)
{
    size_t i = 0, o = 0, key_len = 0, cand_len = 0;
    const char *key = NULL;  /* the key whose value comes next (its colon came) */
    const char *cand = NULL; /* the last string, while no token but ':' followed it */
    unsigned flags = 0;
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
            for (; j < len && cx_json_number_char(in[j]); j++)
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
                } else if (integral && digits > CX_JSON_SAFE_DIGITS) {
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
                flags |= CX_JSON_SAW_NUMBER;
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
                    flags |= CX_JSON_SAW_NULL;
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
        flags |= CX_JSON_SAW_MARK;
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
    return cx_json_scan(in, len, ids, out, bad_at, NULL, NULL, NULL);
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
uint64_t cx_json_decoded_size(const cx_json_count *k)
{
    /* every value but the keys: the root, the fields' values, the array elements */
    uint64_t value_strings = minus(k->strings, k->fields);
    uint64_t values = (uint64_t)k->tables + k->scalars + value_strings;
    uint64_t elements = minus(values, (uint64_t)k->fields + 1);
    return EST_TABLE * (uint64_t)k->tables + EST_SLOT * elements + EST_NODE * (uint64_t)k->fields +
           EST_STRING * (value_strings + k->new_keys + k->texts) +
           minus(k->string_bytes, k->key_bytes) + k->new_key_bytes + k->text_bytes;
}
