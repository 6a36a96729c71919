/* Masking of secrets (client secret, access tokens, proxy credentials) in text. */
#ifndef CX_LIB_REDACT_H
#define CX_LIB_REDACT_H

#include <stddef.h>

/* Replaces every needle in s by "[REDACTED]"; result malloc'd, NULL when out of memory. */
char *cx_redact(const char *s, size_t len, const char *const *needles, size_t nneedles,
                size_t *out_len);
/* The same over s[0..stop) only, plus the whole of a needle that starts there; *consumed
   (when not NULL) is how much of s the result covers (>= stop, or len). */
char *cx_redact_prefix(const char *s, size_t len, size_t stop, const char *const *needles,
                       size_t nneedles, size_t *out_len, size_t *consumed);

#endif
