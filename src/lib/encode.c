/* RFC 3986 percent-encoding for query strings and form bodies; RFC 4648 base64 for Basic
   credentials. */
#include "encode.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

size_t cx_urlencode(const char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (unreserved(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

void cx_base64(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3, out += 4) {
        out[0] = digits[in[i] >> 2];
        out[1] = digits[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        out[2] = digits[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        out[3] = digits[in[i + 2] & 63];
    }
    if (i < n) {
        out[0] = digits[in[i] >> 2];
        out[1] = digits[((in[i] & 3) << 4) | (i + 1 < n ? in[i + 1] >> 4 : 0)];
        out[2] = i + 1 < n ? digits[(in[i + 1] & 15) << 2] : '=';
        out[3] = '=';
        out += 4;
    }
    *out = '\0';
}
