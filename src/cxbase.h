/* Plain C shared by the files of cxcloud.core, Lua or not: buffers, wiping, URL encoding,
   header parsing, redaction, the JSON pre-scan. Nothing here includes lua.h. */
#ifndef CXCLOUD_BASE_H
#define CXCLOUD_BASE_H

#include <stddef.h>
#include <stdint.h>

/* buffer.c: a growable byte buffer with a size limit; sensitive ones are wiped. */
typedef struct {
    char *data;
    size_t len, cap, limit;
    int overflow;
    int sensitive; /* may hold a secret or token: wiped whenever memory is released */
} cx_buf;

void cx_buf_init(cx_buf *b, size_t limit);
int cx_buf_reserve(cx_buf *b, size_t cap);              /* 0 ok, -1 over limit/out of memory */
int cx_buf_append(cx_buf *b, const char *p, size_t n); /* 0 ok, -1 over limit/out of memory */
void cx_buf_free(cx_buf *b);                            /* wipes if sensitive, frees */
/* Empties b for the next use, keeping at most `keep` bytes of capacity; a sensitive buffer is
   wiped and released. b is no longer sensitive afterwards. */
void cx_buf_reuse(cx_buf *b, size_t keep);
void cx_wipe(void *p, size_t n);
void cx_free_secret(char *s);                           /* wipe a NUL-terminated string, free it */
char *cx_strdup(const char *s);

/* urlencode.c: RFC 3986 percent-encoding; returns bytes written to out (out needs 3*n+1). */
size_t cx_urlencode(const char *in, size_t n, char *out);

/* headers.c: response header parsing. */
typedef void (*cx_header_fn)(void *ud, const char *name, size_t name_len,
                             const char *value, size_t value_len);
void cx_parse_headers(const char *block, size_t len, cx_header_fn fn, void *ud);
/* Retry-After: delay-seconds or HTTP-date. Returns 0 and sets *seconds, or -1. */
int cx_parse_retry_after(const char *s, size_t len, double now_epoch, double *seconds);
/* HTTP-date (IMF-fixdate, RFC 850, asctime) to epoch seconds; 0 ok, -1 bad. */
int cx_parse_http_date(const char *s, size_t len, int64_t *epoch);

/* json.c: rewrites integer literals that a double cannot hold exactly, and the numbers of the
   identifier fields in ids (may be NULL) other than plain integers of up to 15 digits (the
   decoder's fix-up pass writes those), into marked strings; writes to out when not NULL
   and returns the output length (== len when nothing is rewritten), or (size_t)-1 with
   *bad_at (may be NULL) set to the offset of a number literal that is not valid JSON. */
struct cx_idset;
size_t cx_json_protect(const char *in, size_t len, const struct cx_idset *ids, char *out,
                       size_t *bad_at);

/* redact.c: replaces every needle in s by "[REDACTED]"; result malloc'd. */
char *cx_redact(const char *s, size_t len, const char *const *needles, size_t nneedles,
                size_t *out_len);
/* The same over s[0..stop) only, plus the whole of a needle that starts there; *consumed
   (when not NULL) is how much of s the result covers (>= stop, or len). */
char *cx_redact_prefix(const char *s, size_t len, size_t stop, const char *const *needles,
                       size_t nneedles, size_t *out_len, size_t *consumed);

#endif
