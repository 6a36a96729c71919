/* MurmurHash3 x64 128 (see digest.h): 16-byte blocks mixed into two 64-bit lanes, the 0..15
   byte tail, then the length and the 64-bit finaliser. Written from the algorithm's published
   description; every word is assembled from bytes, so no alignment or byte order matters
   (compilers turn read64le into one load on little-endian machines). */
#include "digest.h"

#define C1 UINT64_C(0x87c37b91114253d5)
#define C2 UINT64_C(0x4cf5ad432745937f)

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t read64le(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

void cx_murmur3_128(const void *in, size_t n, uint32_t seed, uint64_t out[2])
{
    const unsigned char *p = in, *tail;
    size_t blocks = n / 16, i;
    uint64_t h1 = seed, h2 = seed, k1, k2;

    for (i = 0; i < blocks; i++, p += 16) {
        k1 = read64le(p);
        k2 = read64le(p + 8);

        k1 *= C1;
        k1 = rotl64(k1, 31);
        k1 *= C2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;

        k2 *= C2;
        k2 = rotl64(k2, 33);
        k2 *= C1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }

    /* the tail: bytes 8..14 into k2, 0..7 into k1, little-endian */
    tail = p;
    k1 = k2 = 0;
    switch (n & 15) {
    case 15: k2 ^= (uint64_t)tail[14] << 48; /* fall through */
    case 14: k2 ^= (uint64_t)tail[13] << 40; /* fall through */
    case 13: k2 ^= (uint64_t)tail[12] << 32; /* fall through */
    case 12: k2 ^= (uint64_t)tail[11] << 24; /* fall through */
    case 11: k2 ^= (uint64_t)tail[10] << 16; /* fall through */
    case 10: k2 ^= (uint64_t)tail[9] << 8;   /* fall through */
    case 9:
        k2 ^= (uint64_t)tail[8];
        k2 *= C2;
        k2 = rotl64(k2, 33);
        k2 *= C1;
        h2 ^= k2;
        /* fall through */
    case 8: k1 ^= (uint64_t)tail[7] << 56; /* fall through */
    case 7: k1 ^= (uint64_t)tail[6] << 48; /* fall through */
    case 6: k1 ^= (uint64_t)tail[5] << 40; /* fall through */
    case 5: k1 ^= (uint64_t)tail[4] << 32; /* fall through */
    case 4: k1 ^= (uint64_t)tail[3] << 24; /* fall through */
    case 3: k1 ^= (uint64_t)tail[2] << 16; /* fall through */
    case 2: k1 ^= (uint64_t)tail[1] << 8;  /* fall through */
    case 1:
        k1 ^= (uint64_t)tail[0];
        k1 *= C1;
        k1 = rotl64(k1, 31);
        k1 *= C2;
        h1 ^= k1;
        break;
    default:
        break;
    }

    h1 ^= (uint64_t)n;
    h2 ^= (uint64_t)n;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}

void cx_digest_hex(const void *in, size_t n, char out[CX_DIGEST_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h[2];
    int i, b;
    cx_murmur3_128(in, n, 0, h);
    for (i = 0; i < 2; i++)
        for (b = 0; b < 8; b++) {
            unsigned byte = (unsigned)(h[i] >> (8 * b)) & 0xff;
            out[16 * i + 2 * b] = hex[byte >> 4];
            out[16 * i + 2 * b + 1] = hex[byte & 15];
        }
    out[CX_DIGEST_HEX] = '\0';
}
