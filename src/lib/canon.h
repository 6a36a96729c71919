/* The plain-C pieces of the store's canonical JSON (core.canonical in src/canonical.c, which
   walks the Lua value): strings with their escapes, numbers in their one written form, and
   the order of object keys. The specification is the reference encoder kept with the specs
   (spec/support/canon_reference.lua). */
#ifndef CX_LIB_CANON_H
#define CX_LIB_CANON_H

#include <stddef.h>

/* The most bytes cx_canon_string writes for n input bytes (each as \u00XX, and the quotes);
   0 when that does not fit in a size_t. */
#define CX_CANON_STRING_MAX(n) ((n) <= ((size_t)-1 - 2) / 6 ? 6 * (n) + 2 : 0)

/* s[0..n) as a JSON string into out: quoted, `"` `\` and the bytes below 0x20 escaped (\b \f
   \n \r \t, others as \u00XX in lowercase hex), every other byte as it is (no UTF-8 check).
   Returns the length written (no NUL). */
size_t cx_canon_string(const char *s, size_t n, char *out);

/* The size of out for the number writers, NUL included. */
#define CX_CANON_NUMBER_SIZE 32

/* v in decimal ("%lld"); returns the length written (NUL-terminated). */
size_t cx_canon_integer(long long v, char out[CX_CANON_NUMBER_SIZE]);

/* A float: "null" for NaN and the infinities; an integral value within +-2^53 as "%.0f" would
   write it ("-0" for negative zero); else "%.14g" when that reads back equal (strtod), else
   "%.17g". snprintf and strtod use the C library's locale, as Lua's string.format and
   tonumber do. Returns the length written (NUL-terminated); *long_form tells whether that
   was "%.17g". */
size_t cx_canon_float(double d, char out[CX_CANON_NUMBER_SIZE], int *long_form);

/* 1 when the collation locale (LC_COLLATE) is "C" or "POSIX", where strcoll is strcmp: then
   Lua orders its strings byte by byte (as LuaJIT always does) and cx_canon_keycmp agrees. */
int cx_canon_bytewise_collation(void);

/* One object key: its bytes, and where the caller keeps it. */
typedef struct {
    const char *s;
    size_t n;
    int idx;
} cx_canon_key;

/* Byte by byte (unsigned), a prefix first: Lua's `<` on strings in the C locale. */
int cx_canon_keycmp(const cx_canon_key *a, const cx_canon_key *b);

/* Sorts k[0..n) with cmp (negative: a first), stable, in O(n log n) compares; tmp holds n keys
   of scratch. */
typedef int (*cx_canon_cmp)(void *ctx, const cx_canon_key *a, const cx_canon_key *b);
void cx_canon_sort(cx_canon_key *k, cx_canon_key *tmp, size_t n, cx_canon_cmp cmp, void *ctx);

#endif
