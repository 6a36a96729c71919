/* A 128-bit non-cryptographic digest for change detection: MurmurHash3 x64 128 (Austin
   Appleby's public-domain algorithm, as published with SMHasher), written from its
   description. The same on every platform, endianness and compiler: the input is read as
   little-endian 64-bit words byte by byte, and the hex form is fixed below. Not for
   security: anyone can make two inputs collide on purpose. */
#ifndef CX_LIB_DIGEST_H
#define CX_LIB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* The hex form's length, its NUL not included. */
#define CX_DIGEST_HEX 32

/* MurmurHash3_x64_128 of in[0..n) with seed: out[0] is the reference's h1, out[1] its h2. */
void cx_murmur3_128(const void *in, size_t n, uint32_t seed, uint64_t out[2]);

/* The 16 bytes h1 then h2, each little-endian (the reference's output bytes on a
   little-endian machine, what Python's mmh3.hash_bytes gives), as 32 lowercase hex digits
   into out (CX_DIGEST_HEX + 1 bytes, NUL-terminated). Seed 0. */
void cx_digest_hex(const void *in, size_t n, char out[CX_DIGEST_HEX + 1]);

#endif
