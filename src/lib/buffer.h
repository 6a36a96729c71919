/* Growable byte buffers with a size limit, and the wiping of secrets. */
#ifndef CX_LIB_BUFFER_H
#define CX_LIB_BUFFER_H

#include <stddef.h>

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

#endif
