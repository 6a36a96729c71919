/* The plain-C pieces of the store's canonical JSON: see canon.h. */
#include "canon.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXACT 9007199254740992.0 /* 2^53 */

/* What each byte becomes inside a string: 0 as it is, 'u' as \u00XX, else \ and that
   letter. */
static const char escape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,
};

size_t cx_canon_string(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    size_t i = 0, run;
    *o++ = '"';
    while (i < n) {
        unsigned char c;
        for (run = i; run < n && !escape[(unsigned char)s[run]]; run++)
            ;
        memcpy(o, s + i, run - i);
        o += run - i;
        if (run == n)
            break;
        c = (unsigned char)s[run];
        *o++ = '\\';
        if (escape[c] == 'u') {
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        } else {
            *o++ = escape[c];
        }
        i = run + 1;
    }
    *o++ = '"';
    return (size_t)(o - out);
}

size_t cx_canon_integer(long long v, char out[CX_CANON_NUMBER_SIZE])
{
    char digits[24];
    size_t n = 0, len = 0;
    /* The magnitude as unsigned, so that LLONG_MIN has one too. */
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = digits[--n];
    out[len] = '\0';
    return len;
}

size_t cx_canon_float(double d, char out[CX_CANON_NUMBER_SIZE], int *long_form)
{
    int n;
    *long_form = 0;
    if (isnan(d) || isinf(d)) {
        memcpy(out, "null", 5);
        return 4;
    }
    if (d == floor(d) && fabs(d) <= MAX_EXACT) {
        if (d == 0 && signbit(d)) {
            memcpy(out, "-0", 3);
            return 2;
        }
        return cx_canon_integer((long long)d, out);
    }
    n = snprintf(out, CX_CANON_NUMBER_SIZE, "%.14g", d);
    if (strtod(out, NULL) != d) {
        n = snprintf(out, CX_CANON_NUMBER_SIZE, "%.17g", d);
        *long_form = 1;
    }
    return (size_t)n;
}

int cx_canon_bytewise_collation(void)
{
    const char *c = setlocale(LC_COLLATE, NULL);
    return c == NULL || strcmp(c, "C") == 0 || strcmp(c, "POSIX") == 0;
}

int cx_canon_keycmp(const cx_canon_key *a, const cx_canon_key *b)
{
    int r = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    if (r != 0)
        return r;
    return a->n < b->n ? -1 : a->n > b->n;
}

/* Bottom-up merge sort: runs of width w from src merged into dst, then the roles swap. */
void cx_canon_sort(cx_canon_key *k, cx_canon_key *tmp, size_t n, cx_canon_cmp cmp, void *ctx)
{
    cx_canon_key *src = k, *dst = tmp;
    size_t w, i;
    /* Short runs by insertion first: most objects have a few dozen keys. */
    const size_t run = 8;
    for (i = 0; i < n; i += run) {
        size_t end = i + run < n ? i + run : n, j;
        for (j = i + 1; j < end; j++) {
            cx_canon_key x = k[j];
            size_t m = j;
            while (m > i && cmp(ctx, &x, &k[m - 1]) < 0) {
                k[m] = k[m - 1];
                m--;
            }
            k[m] = x;
        }
    }
    for (w = run; w < n; w *= 2) {
        cx_canon_key *swap;
        for (i = 0; i < n; i += 2 * w) {
            size_t a = i, amax = i + w < n ? i + w : n, b = amax;
            size_t bmax = i + 2 * w < n ? i + 2 * w : n, o = i;
            while (a < amax && b < bmax)
                dst[o++] = cmp(ctx, &src[b], &src[a]) < 0 ? src[b++] : src[a++];
            while (a < amax)
                dst[o++] = src[a++];
            while (b < bmax)
                dst[o++] = src[b++];
        }
        swap = src;
        src = dst;
        dst = swap;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
}
