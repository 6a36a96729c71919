/* Removes secrets (client secret, access tokens) from text before it reaches Lua. */
#include <stdlib.h>
#include <string.h>

#include "cxcloud.h"

#define MASK "[REDACTED]"

/* Length of the longest needle matching at s[i..], 0 if none. */
static size_t match_at(const char *s, size_t len, size_t i, const char *const *needles,
                       size_t nneedles)
{
    size_t k, best = 0;
    for (k = 0; k < nneedles; k++) {
        size_t n = needles[k] ? strlen(needles[k]) : 0;
        if (n && n <= len - i && n > best && memcmp(s + i, needles[k], n) == 0)
            best = n;
    }
    return best;
}

char *cx_redact(const char *s, size_t len, const char *const *needles, size_t nneedles,
                size_t *out_len)
{
    cx_buf b;
    size_t i = 0, run = 0;
    cx_buf_init(&b, (size_t)-1 / 2);
    if (cx_buf_append(&b, "", 0) != 0)
        return NULL;
    while (i < len) {
        size_t m = match_at(s, len, i, needles, nneedles);
        if (!m) {
            i++;
            run++;
            continue;
        }
        if (cx_buf_append(&b, s + i - run, run) != 0 ||
            cx_buf_append(&b, MASK, sizeof(MASK) - 1) != 0) {
            cx_buf_free(&b);
            return NULL;
        }
        i += m;
        run = 0;
    }
    if (cx_buf_append(&b, s + i - run, run) != 0) {
        cx_buf_free(&b);
        return NULL;
    }
    *out_len = b.len;
    return b.data;
}
