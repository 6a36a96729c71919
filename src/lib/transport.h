/* The transport: HTTP requests over libcurl's multi_socket interface and one poller
   descriptor. Plain C (no Lua): a C host or test drives it as the Lua binding does.

   Life of a request: cx_transport_submit -> an id; cx_transport_run does the I/O that is
   ready (waiting up to a bound when asked); finished requests wait in a queue read with
   cx_transport_peek / cx_transport_pop. Nothing calls back into the caller: libcurl's
   callbacks only copy bytes, update the poller and store a deadline. */
#ifndef CX_LIB_TRANSPORT_H
#define CX_LIB_TRANSPORT_H

#include <stddef.h>

typedef struct cx_transport cx_transport;

/* The transport's settings. The library has no defaults: the four limits are required
   (cx_transport_new refuses 0, which libcurl would read as "none"); a zero or NULL elsewhere
   means what its comment says. The Lua binding passes what cxcloud.options resolved (the
   defaults of the Lua library are there). Strings and lists are copied. */
typedef struct {
    long timeout_ms;                     /* required, > 0: a whole request */
    long connect_timeout_ms;             /* required, > 0: its connection */
    size_t max_body;                     /* required, > 0: per response, counted after
                                            decoding (gzip) */
    size_t max_header;                   /* required, > 0: per response */
    const char *ca_file;                 /* NULL: the system store */
    const char *user_agent;              /* NULL: no User-Agent header */
    const char *const *connect_to;       /* "HOST:PORT:CONNECT-HOST:CONNECT-PORT" entries */
    size_t nconnect_to;
    int http2;                           /* 1: offer HTTP/2 (multiplexing); 0: HTTP/1.1 */
    int allow_http;                      /* 1: accept http:// besides https:// */
    int verbose;                         /* 1: gather libcurl's trace (cx_transport_trace) */
    const char *proxy;                   /* NULL, or "http://host:port" for the requests that
                                            ask for it (cx_request.via_proxy) */
    const char *proxy_header;            /* NULL, or a header line for the proxy only
                                            ("Proxy-Authorization: Basic ..."; wiped) */
} cx_transport_options;

typedef struct {
    const char *url;
    const char *post_body;       /* NULL: a GET; else a POST of this text (copied, wiped) */
    const char *const *headers;  /* request header lines (copied, wiped when done) */
    size_t nheaders;
    int sensitive;               /* the response body holds a secret: wiped when released */
    int via_proxy;               /* through the transport's proxy (a CONNECT tunnel) */
} cx_request;

/* Which of the transport's size limits stopped a transfer (cx_result.limit). */
#define CX_LIMIT_BODY 1
#define CX_LIMIT_HEADER 2

/* A finished request: what libcurl said and what the transport saw. The transport names no
   kind of failure: its caller decides what a code means (the Lua library does it in
   cxcloud.curl). */
typedef struct {
    long long id;
    int code;                 /* CURLcode: 0 when the transfer completed */
    const char *error;        /* libcurl's message when code != 0 (may contain URLs) */
    int limit;                /* CX_LIMIT_BODY / CX_LIMIT_HEADER when that limit stopped the
                                 transfer (libcurl then says CURLE_WRITE_ERROR: the transport
                                 refused the bytes), else 0. A body whose announced length is
                                 over max_body fails with CURLE_FILESIZE_EXCEEDED instead. */
    int via_proxy;            /* it was sent through the proxy */
    long proxy_status;        /* the proxy's answer to CONNECT (an HTTP status), 0 if none */
    long status;              /* HTTP status of the final response, 0 if none */
    const char *body;         /* the whole body (decoded) when code == 0, else NULL */
    size_t body_len;
    const char *headers;      /* the final response's header block */
    size_t headers_len;
    double seconds;           /* total time of the transfer */
    long connects;            /* new connections it made */
    int http2;                /* it ran over HTTP/2 */
} cx_result;

/* NULL on failure, with a message in err (errlen bytes). Initialises libcurl the first time
   (cx_curl_init): the program need not call curl_global_init. */
cx_transport *cx_transport_new(const cx_transport_options *o, char *err, size_t errlen);
/* Cancels everything, releases everything. NULL is ignored. */
void cx_transport_free(cx_transport *tp);

/* Starts a request: its id (> 0), or -1 with *err set to a static message. */
long long cx_transport_submit(cx_transport *tp, const cx_request *r, const char **err);
/* Abandons a request in flight or finished-but-unread; 1 if there was one, else 0. */
int cx_transport_cancel(cx_transport *tp, long long id);
/* Requests in flight (not yet finished). */
int cx_transport_pending(const cx_transport *tp);

/* Does the I/O that is ready and, with wait_seconds > 0, waits up to that long until a
   request finishes. Returns how many finished requests are waiting to be read, or -1 when
   the poller failed. Never blocks with wait_seconds <= 0. */
int cx_transport_run(cx_transport *tp, double wait_seconds);
/* The descriptor that becomes readable when the transport has I/O to do; the same for the
   transport's life. */
int cx_transport_fd(const cx_transport *tp);
/* Seconds until cx_transport_run must be called even if the descriptor stays quiet: 0 when
   now (a finished request is waiting, or libcurl's deadline has passed), -1 when there is
   no deadline (nothing pending, or only the descriptor can wake it). */
double cx_transport_timeout(const cx_transport *tp);

/* The oldest finished request, or NULL; valid until cx_transport_pop. */
const cx_result *cx_transport_peek(cx_transport *tp);
void cx_transport_pop(cx_transport *tp);

/* The trace gathered since the last cx_transport_trace_clear (not redacted of secrets the
   transport does not know: its caller redacts), or NULL when empty. */
const char *cx_transport_trace(const cx_transport *tp, size_t *len);
void cx_transport_trace_clear(cx_transport *tp);

/* Counters over the transport's life: new connections and requests submitted. */
void cx_transport_stats(const cx_transport *tp, long long *connects, long long *requests);

#endif
