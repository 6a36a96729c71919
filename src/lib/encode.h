/* Percent-encoding (RFC 3986) and base64 (RFC 4648). */
#ifndef CX_LIB_ENCODE_H
#define CX_LIB_ENCODE_H

#include <stddef.h>

/* Percent-encodes in[0..n) into out (3 * n + 1 bytes), every byte but the unreserved ones;
   returns the length written before the NUL. */
size_t cx_urlencode(const char *in, size_t n, char *out);

/* The size of out that cx_base64 needs for n bytes, its NUL included. */
#define CX_BASE64_SIZE(n) (4 * (((n) + 2) / 3) + 1)
/* Base64 (padded) of in[0..n) into out (CX_BASE64_SIZE(n) bytes), NUL-terminated. */
void cx_base64(const unsigned char *in, size_t n, char *out);

#endif
