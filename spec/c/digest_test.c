/* lib/digest.c driven from C, without Lua (`make test-c`): SMHasher's verification value for
   MurmurHash3_x64_128, which pins the algorithm for every seed and length 0..255, then the
   hex form of core.digest on known inputs (checked against an independent implementation,
   the npm package murmurhash3js-revisited), and independence from alignment. */
#include <stdio.h>
#include <string.h>

#include "digest.h"

static int failures;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static void put64le(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* SMHasher's VerificationTest: key i is the bytes 0, 1, ..., i-1 hashed with seed 256 - i;
   the 256 results (as the reference's output bytes) are hashed with seed 0, and the first
   four bytes of that, read little-endian, are the published value. */
static uint32_t verification(void)
{
    unsigned char key[256], hashes[256 * 16], final[16];
    uint64_t h[2];
    int i;
    for (i = 0; i < 256; i++) {
        key[i] = (unsigned char)i;
        cx_murmur3_128(key, (size_t)i, (uint32_t)(256 - i), h);
        put64le(hashes + 16 * i, h[0]);
        put64le(hashes + 16 * i + 8, h[1]);
    }
    cx_murmur3_128(hashes, sizeof hashes, 0, h);
    put64le(final, h[0]);
    put64le(final + 8, h[1]);
    return (uint32_t)final[0] | (uint32_t)final[1] << 8 | (uint32_t)final[2] << 16 |
           (uint32_t)final[3] << 24;
}

static int digest_is(const void *in, size_t n, const char *want)
{
    char hex[CX_DIGEST_HEX + 1];
    memset(hex, 'x', sizeof hex);
    cx_digest_hex(in, n, hex);
    if (strcmp(hex, want) != 0) {
        fprintf(stderr, "digest of %zu bytes: got %s, want %s\n", n, hex, want);
        return 0;
    }
    return 1;
}

int main(void)
{
    unsigned char buf[1024 + 8];
    char a[CX_DIGEST_HEX + 1], b[CX_DIGEST_HEX + 1];
    size_t i, off;

    CHECK(verification() == UINT32_C(0x6384BA69));

    CHECK(digest_is("", 0, "00000000000000000000000000000000"));
    CHECK(digest_is("a", 1, "897859f6655555855a890e51483ab5e6"));
    CHECK(digest_is("hello", 5, "029bbd41b3a7d8cb191dae486a901e5b"));
    CHECK(digest_is("The quick brown fox jumps over the lazy dog", 43,
                    "6c1b07bc7bbc4be347939ac4a93c437a"));
    CHECK(digest_is("a\0b", 3, "dbb5e6c1d292ef2db4b207b3d0f0a9a3"));
    for (i = 0; i < 1000; i++)
        buf[i] = (unsigned char)(i * 7);
    CHECK(digest_is(buf, 1000, "776c24f7d85cc10dd803dd1cde42d46a"));

    /* every tail length, at every alignment, gives the same digest */
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 31 + 7);
    for (i = 0; i <= 40; i++) {
        cx_digest_hex(buf, i, a);
        for (off = 1; off < 8; off++) {
            memmove(buf + off, buf, 40);
            cx_digest_hex(buf + off, i, b);
            CHECK(strcmp(a, b) == 0);
            memmove(buf, buf + off, 40);
        }
    }

    if (failures) {
        fprintf(stderr, "digest_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("digest_test: all checks passed\n");
    return 0;
}
