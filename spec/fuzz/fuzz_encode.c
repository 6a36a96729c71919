/* libFuzzer target: percent-encoding and redaction of arbitrary bytes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = malloc(3 * size + 1), *red;
    size_t n, i, red_len, split = size ? data[0] % (size + 1) : 0;
    const char *needles[2];
    char needle[16];
    if (!out)
        return 0;
    n = cx_urlencode((const char *)data, size, out);
    /* Only unreserved characters and %XX triplets may come out, and they must decode back. */
    for (i = 0; i < n; i++) {
        if (out[i] == '%')
            i += 2;
        else if (!unreserved((unsigned char)out[i]))
            __builtin_trap();
    }
    if (n > 3 * size || out[n] != '\0')
        __builtin_trap();
    /* Redact a needle taken from the input itself: it must never survive. */
    memset(needle, 0, sizeof needle);
    memcpy(needle, data + (split < size ? split : 0), size - split < 15 ? size - split : 15);
    needles[0] = needle;
    needles[1] = NULL;
    red = cx_redact((const char *)data, size, needles, 2, &red_len);
    if (red) {
        /* A needle sharing characters with the mask could reappear across its edge. */
        if (strlen(needle) > 0 && strpbrk(needle, "[]REDACT") == NULL &&
            memmem(red, red_len, needle, strlen(needle)))
            __builtin_trap();
        free(red);
    }
    free(out);
    return 0;
}
