/* Removes secrets (client secret, access tokens) from text before it reaches Lua. */
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "redact.h"

#define MASK "[REDACTED]"

/* Length of the longest needle matching at s[i..], 0 if none. Needle lengths are
   measured once per call of cx_redact: this runs at every byte of a whole body. */
static size_t match_at(const char *s, size_t len, size_t i, const char *const *needles,
                       const size_t *lengths, size_t nneedles)
{
    size_t k, best = 0;
    for (k = 0; k < nneedles; k++) {
        size_t n = lengths[k];
        if (n > best && n <= len - i && s[i] == needles[k][0] &&
            memcmp(s + i, needles[k], n) == 0)
            best = n;
    }
    return best;
}

char *cx_redact_prefix(const char *s, size_t len, size_t stop, const char *const *needles,
                       size_t nneedles, size_t *out_len, size_t *consumed)
{
    cx_buf b;
    size_t i = 0, run = 0, k;
    size_t *lengths = malloc((nneedles ? nneedles : 1) * sizeof *lengths);
    if (!lengths)
        return NULL;
    for (k = 0; k < nneedles; k++)
        lengths[k] = needles[k] ? strlen(needles[k]) : 0;
    cx_buf_init(&b, (size_t)-1 / 2);
    if (cx_buf_append(&b, "", 0) != 0) {
        free(lengths);
        return NULL;
    }
    if (stop > len)
        stop = len;
    /* A needle that starts before `stop` is matched against the whole text, so it is masked
       whole even when it runs past `stop`: nothing of it shows. */
    while (i < stop) {
        size_t m = match_at(s, len, i, needles, lengths, nneedles);
        if (!m) {
            i++;
            run++;
            continue;
        }
        if (cx_buf_append(&b, s + i - run, run) != 0 ||
            cx_buf_append(&b, MASK, sizeof(MASK) - 1) != 0)
            break;
        i += m;
        run = 0;
    }
    free(lengths);
    if (b.overflow || cx_buf_append(&b, s + i - run, run) != 0) {
        cx_buf_free(&b);
        return NULL;
    }
    *out_len = b.len;
    if (consumed)
        *consumed = i;
    return b.data;
}

char *cx_redact(const char *s, size_t len, const char *const *needles, size_t nneedles,
                size_t *out_len)
{
    return cx_redact_prefix(s, len, len, needles, nneedles, out_len, NULL);
}
