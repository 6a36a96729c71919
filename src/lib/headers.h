/* Response header parsing: header lines, Retry-After and HTTP-dates. */
#ifndef CX_LIB_HEADERS_H
#define CX_LIB_HEADERS_H

#include <stddef.h>
#include <stdint.h>

/* Calls fn for every "Name: value" line of a header block (status lines, blank and folded
   lines skipped; the value without its surrounding blanks). */
typedef void (*cx_header_fn)(void *ud, const char *name, size_t name_len,
                             const char *value, size_t value_len);
void cx_parse_headers(const char *block, size_t len, cx_header_fn fn, void *ud);
/* Retry-After: delay-seconds or HTTP-date. Returns 0 and sets *seconds, or -1. */
int cx_parse_retry_after(const char *s, size_t len, double now_epoch, double *seconds);
/* HTTP-date (IMF-fixdate, RFC 850, asctime) to epoch seconds; 0 ok, -1 bad. */
int cx_parse_http_date(const char *s, size_t len, int64_t *epoch);

#endif
