/* The JSON pre-scan: one pass over a response body before a JSON decoder sees it.
   - It checks every number literal against the JSON grammar (a decoder such as lua-cjson
     accepts "1." and lets "00000000000000001" through once protected).
   - It rewrites into marked strings the integer literals that a double cannot hold exactly
     (more than CX_JSON_SAFE_DIGITS digits) and the numbers of identifier fields other than
     plain integers of up to CX_JSON_SAFE_DIGITS digits, so that their exact text survives
     the decoder. A marked string is a JSON string whose decoded text starts with NUL then
     CX_JSON_MARK_INT, CX_JSON_MARK_ID or CX_JSON_MARK_NUM, then the number's text; a server
     string that starts with NUL is given a second one. A text with nothing to rewrite comes
     out as it came (same length: the caller can hand the original to the decoder).
   - It tells what a fix-up pass over the decoded value has to look for (numbers, nulls,
     marked strings: CX_JSON_SAW_*), and in objects which keys (cx_json_keys).
   - It counts what the decoded value will hold (cx_json_count), for an estimate of its
     memory in Lua (cx_json_decoded_size). */
#ifndef CX_LIB_JSONSCAN_H
#define CX_LIB_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#define CX_JSON_SAFE_DIGITS 15 /* every integer of up to 15 digits is exact in a double */

/* The character after the NUL that opens a marked string. */
#define CX_JSON_MARK_INT '#' /* an integer literal of more than CX_JSON_SAFE_DIGITS digits */
#define CX_JSON_MARK_ID '$'  /* the number of an identifier field (keep its text) */
#define CX_JSON_MARK_NUM '%' /* a number under a key with an escape: a number again, or the
                                text when the decoded key is an identifier */

/* Identifier field names: len bytes of names, each one length byte (1..255) then the
   name. Allocate sizeof(struct cx_idset) + the sum of (length + 1), set len to 0, then
   cx_idset_add each name. */
struct cx_idset {
    size_t len;
    unsigned char names[];
};
void cx_idset_add(struct cx_idset *ids, const char *name, size_t n);
/* Whether key[0..n) is one of the names (ids or key may be NULL: no). */
int cx_idset_has(const struct cx_idset *ids, const char *key, size_t n);

/* What a pre-scan saw (flags). */
enum {
    CX_JSON_SAW_NUMBER = 1, /* a number the decoder decodes (as a float) */
    CX_JSON_SAW_NULL = 2,   /* a null (or a token starting with 'n') */
    CX_JSON_SAW_MARK = 4    /* a marked string (the text was rewritten) */
};

#define CX_JSON_MAX_KEYS 32

/* The keys whose values a fix-up pass must visit in objects: a number, a null, an object
   or an array, a marked string. Every other object field is a string or a boolean as it
   came. `all` (too many keys, or a key with an escape, whose decoded text the pre-scan
   does not know) means every field. The key texts point into the scanned text. Zero it
   before the scan. */
typedef struct {
    size_t n, last;
    int all;
    struct {
        const char *s;
        size_t len;
        int id; /* an identifier field */
    } k[CX_JSON_MAX_KEYS];
} cx_json_keys;

/* What a pre-scan counted, for the estimate of the decoded value's size. */
typedef struct {
    size_t tables;       /* '{' and '[' */
    size_t fields;       /* ':' (object fields; each has a key string) */
    size_t strings;      /* string literals, keys included */
    size_t string_bytes; /* their lengths as written (escapes counted as written) */
    size_t key_bytes;    /* the keys' share of string_bytes */
    size_t new_keys;     /* keys not seen among the recent ones */
    size_t new_key_bytes;
    size_t scalars;      /* numbers, true, false, null */
    size_t texts;        /* numbers that come out as strings (identifier fields, big integers) */
    size_t text_bytes;   /* their lengths */
} cx_json_count;

/* Scans in[0..len): writes the rewritten text to out (when not NULL) and returns its
   length, or (size_t)-1 with *bad_at (when not NULL) set to the offset of a number literal
   that breaks the JSON grammar. ids may be NULL (no identifier fields). saw (CX_JSON_SAW_*
   flags), keys and count are filled when not NULL. */
size_t cx_json_scan(const char *in, size_t len, const struct cx_idset *ids, char *out,
                    size_t *bad_at, unsigned *saw, cx_json_keys *keys, cx_json_count *count);
/* The rewriting alone: cx_json_scan without what a fix-up pass needs. */
size_t cx_json_protect(const char *in, size_t len, const struct cx_idset *ids, char *out,
                       size_t *bad_at);
/* Whether c can be part of a number literal (for quoting a bad one). */
int cx_json_number_char(char c);
/* An estimate, in bytes, of the Lua memory (5.4, 64-bit) the decoded value takes. */
uint64_t cx_json_decoded_size(const cx_json_count *count);

#endif
