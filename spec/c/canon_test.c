/* lib/canon.c driven from C, without Lua (`make test-c`): the escapes of every byte class,
   numbers at the edges, the byte order of keys and the sort. spec/unit/canonical_spec.lua
   checks the whole encoder against its Lua specification. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "canon.h"

static int failures;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static int string_is(const char *in, size_t n, const char *want)
{
    char out[256];
    size_t len = cx_canon_string(in, n, out);
    if (len == strlen(want) && memcmp(out, want, len) == 0)
        return 1;
    fprintf(stderr, "string: got %.*s, want %s\n", (int)len, out, want);
    return 0;
}

static int float_is(double d, const char *want, int want_long)
{
    char out[CX_CANON_NUMBER_SIZE];
    int long_form;
    size_t len = cx_canon_float(d, out, &long_form);
    if (len == strlen(want) && strcmp(out, want) == 0 && long_form == want_long)
        return 1;
    fprintf(stderr, "float %.17g: got %s (%d), want %s\n", d, out, long_form, want);
    return 0;
}

static int by_bytes(void *ctx, const cx_canon_key *a, const cx_canon_key *b)
{
    (void)ctx;
    return cx_canon_keycmp(a, b);
}

int main(void)
{
    char out[CX_CANON_NUMBER_SIZE];
    cx_canon_key k[40], tmp[40];
    int i;

    CHECK(string_is("", 0, "\"\""));
    CHECK(string_is("a/b\x7f\xff", 5, "\"a/b\x7f\xff\""));
    CHECK(string_is("\"\\\b\f\n\r\t", 7, "\"\\\"\\\\\\b\\f\\n\\r\\t\""));
    CHECK(string_is("\0\x1f\x0b", 3, "\"\\u0000\\u001f\\u000b\""));
    CHECK(CX_CANON_STRING_MAX((size_t)-1) == 0);

    CHECK(cx_canon_integer(0, out) == 1 && strcmp(out, "0") == 0);
    CHECK(cx_canon_integer(LLONG_MIN, out) == 20 && strcmp(out, "-9223372036854775808") == 0);
    CHECK(cx_canon_integer(LLONG_MAX, out) == 19 && strcmp(out, "9223372036854775807") == 0);

    CHECK(float_is(NAN, "null", 0));
    CHECK(float_is(-INFINITY, "null", 0));
    CHECK(float_is(-0.0, "-0", 0));
    CHECK(float_is(12.0, "12", 0));
    CHECK(float_is(9007199254740992.0, "9007199254740992", 0));
    CHECK(float_is(9007199254740994.0, "9007199254740994", 1));
    CHECK(float_is(0.1, "0.1", 0));
    CHECK(float_is(1e300, "1e+300", 0));
    CHECK(float_is(0.1 + 0.2, "0.30000000000000004", 1));

    /* 39 keys "k39".."k1" and "", sorted byte by byte, a prefix first */
    for (i = 0; i < 40; i++) {
        static char names[40][4];
        snprintf(names[i], sizeof names[i], "k%d", 39 - i);
        k[i].s = names[i];
        k[i].n = strlen(names[i]);
        k[i].idx = i;
    }
    k[39].s = "";
    k[39].n = 0;
    cx_canon_sort(k, tmp, 40, by_bytes, NULL);
    CHECK(k[0].n == 0);
    CHECK(strcmp(k[1].s, "k1") == 0 && strcmp(k[2].s, "k10") == 0 && strcmp(k[12].s, "k2") == 0);
    for (i = 1; i < 40; i++)
        CHECK(cx_canon_keycmp(&k[i - 1], &k[i]) < 0);
    {
        cx_canon_key a = {"a\0b", 3, 0}, b = {"a", 1, 0}, c = {"a\xff", 2, 0};
        CHECK(cx_canon_keycmp(&b, &a) < 0 && cx_canon_keycmp(&a, &c) < 0);
    }

    if (failures) {
        fprintf(stderr, "canon_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("canon_test: all checks passed\n");
    return 0;
}
