/* Growable byte buffers with a hard size limit, and secret wiping. */
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

/* explicit_bzero: glibc 2.25+, musl, the BSDs; elsewhere (or with -DCX_PORTABLE_WIPE, which
   `make test-portable` uses to exercise it) stores through a volatile pointer, which the
   compiler may not drop. */
#if !defined(CX_PORTABLE_WIPE) && (defined(__OpenBSD__) || defined(__FreeBSD__) || \
    defined(__NetBSD__) || (defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 25)) || \
    (defined(__linux__) && !defined(__GLIBC__)))
#define CX_HAVE_EXPLICIT_BZERO 1
#endif

void cx_wipe(void *p, size_t n)
{
    if (p && n) {
#ifdef CX_HAVE_EXPLICIT_BZERO
        explicit_bzero(p, n);
#else
        volatile unsigned char *v = p;
        while (n--)
            *v++ = 0;
#endif
    }
}

void cx_free_secret(char *s)
{
    if (s) {
        cx_wipe(s, strlen(s));
        free(s);
    }
}

char *cx_strdup(const char *s)
{
    size_t n;
    char *d;
    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void cx_buf_init(cx_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->limit = limit;
    b->overflow = 0;
    b->sensitive = 0;
}

int cx_buf_reserve(cx_buf *b, size_t cap)
{
    char *d;
    if (cap <= b->cap)
        return 0;
    if (cap - 1 > b->limit) {
        b->overflow = 1;
        return -1;
    }
    if (!b->sensitive) {
        d = realloc(b->data, cap);
    } else {
        /* Never leave a copy of a secret behind in memory given back to the allocator. */
        d = malloc(cap);
        if (d && b->data) {
            memcpy(d, b->data, b->len);
            cx_wipe(b->data, b->len);
            free(b->data);
        }
    }
    if (!d) {
        b->overflow = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int cx_buf_append(cx_buf *b, const char *p, size_t n)
{
    if (n > b->limit || b->len > b->limit - n) {
        b->overflow = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cx_buf_reserve(b, cap) != 0)
            return -1;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void cx_buf_free(cx_buf *b)
{
    if (b->data) {
        if (b->sensitive)
            cx_wipe(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
    b->overflow = 0;
}

void cx_buf_reuse(cx_buf *b, size_t keep)
{
    if (b->sensitive || b->cap > keep) {
        cx_buf_free(b);
    } else {
        b->len = 0;
        b->overflow = 0;
        if (b->data)
            b->data[0] = '\0';
    }
    b->sensitive = 0;
}
