/* HTTP requests over libcurl's multi_socket interface: every request is a transfer on one
   multi handle (shared connection cache, TLS sessions, HTTP/2 multiplexing).
   libcurl tells which sockets to watch (on_socket: the poller is updated) and when to call it
   even if no socket is ready (on_timer: a deadline is stored); cx_transport_run waits on the
   poller and hands libcurl what is ready. Callbacks only copy bytes, update the poller or
   store the deadline: none calls libcurl or anything outside this file. Plain C, no Lua. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buffer.h"
#include "curl_init.h"
#include "poller.h"
#include "transport.h"

/* Body memory a recycled transfer keeps for the next response: a usual page fits. */
#define KEEP_BODY (256 * 1024)
#define TRACE_MAX (1 << 20)

typedef struct cx_transfer cx_transfer;

struct cx_transfer {
    CURL *easy;
    long long id;
    cx_buf body;
    cx_buf headers;
    char *post_body;                /* a POST's body (the token request's holds the secret) */
    struct curl_slist *req_headers; /* may hold the token: wiped */
    char errbuf[CURL_ERROR_SIZE];
    int via_proxy;                  /* sent through the proxy */
    cx_result result;               /* filled when it finishes */
    cx_transfer *next;
};

struct cx_transport {
    CURLM *multi;
    CURLSH *share;
    int poller;
    double deadline_ms; /* when libcurl wants to be called (monotonic ms); < 0: no deadline */
    int timer_set;      /* on_timer ran since this was last cleared */
    int poll_errno;     /* set when the poller failed inside on_socket: the next run fails */
    char *ca_file, *user_agent, *proxy;
    struct curl_slist *connect_to;
    struct curl_slist *proxy_headers; /* the proxy's credentials: wiped */
    long timeout_ms, connect_timeout_ms;
    size_t max_body, max_header;
    int http2, allow_http, verbose;
    cx_buf trace;         /* libcurl's trace, gathered inside callbacks */
    cx_transfer *active;  /* in flight */
    cx_transfer *done;    /* finished, oldest first, not yet popped */
    cx_transfer **done_tail;
    cx_transfer *idle;    /* finished and popped: kept for their easy handle and buffers */
    long long next_id, connects, requests;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------------------------
   libcurl's callbacks */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    cx_transfer *t = ud;
    if (t->body.len == 0) {
        /* One allocation for the whole body when its length is announced. */
        curl_off_t length = -1;
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (length > 0 && (curl_off_t)(size * n) <= length && (uint64_t)length < t->body.limit)
            cx_buf_reserve(&t->body, (size_t)length + 1);
    }
    /* Returning less than given aborts the transfer with CURLE_WRITE_ERROR. The limit counts
       decoded bytes: libcurl hands over the body after decompression. */
    return cx_buf_append(&t->body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    cx_transfer *t = ud;
    size_t len = size * n;
    /* Each response (an interim 1xx, then the final one) starts with a status line. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        t->headers.len = 0;
    return cx_buf_append(&t->headers, p, len) == 0 ? len : 0;
}

static void trace_append(cx_transport *tp, const char *prefix, const char *p, size_t n)
{
    if (cx_buf_append(&tp->trace, prefix, strlen(prefix)) == 0 &&
        cx_buf_append(&tp->trace, p, n) == 0 && (n == 0 || p[n - 1] != '\n'))
        cx_buf_append(&tp->trace, "\n", 1);
}

/* Outgoing headers carry the bearer token: keep the name, drop the value. Bodies are never
   traced (the token request's body holds the secret). */
static int on_debug(CURL *easy, curl_infotype type, char *p, size_t n, void *ud)
{
    cx_transport *tp = ud;
    (void)easy;
    if (type == CURLINFO_TEXT) {
        trace_append(tp, "* ", p, n);
    } else if (type == CURLINFO_HEADER_IN) {
        trace_append(tp, "< ", p, n);
    } else if (type == CURLINFO_HEADER_OUT) {
        size_t i = 0;
        while (i < n) {
            size_t e = i;
            while (e < n && p[e] != '\n')
                e++;
            if (e - i >= 14 && strncasecmp(p + i, "authorization:", 14) == 0)
                trace_append(tp, "> ", "Authorization: [REDACTED]", 25);
            else if (e - i >= 20 && strncasecmp(p + i, "proxy-authorization:", 20) == 0)
                trace_append(tp, "> ", "Proxy-Authorization: [REDACTED]", 31);
            else if (e > i + 1 || (e > i && p[i] != '\r'))
                trace_append(tp, "> ", p + i, e - i);
            i = e + 1;
        }
    }
    return 0;
}

/* Which sockets to watch: the poller follows. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    cx_transport *tp = userp;
    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        cx_poller_forget(tp->poller, s);
    } else {
        int events = ((what & CURL_POLL_IN) ? CX_POLL_IN : 0) |
                     ((what & CURL_POLL_OUT) ? CX_POLL_OUT : 0);
        if (cx_poller_watch(tp->poller, s, events) != 0)
            tp->poll_errno = errno;
    }
    return 0;
}

/* When libcurl wants to be called even if no socket is ready: stored, nothing more. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    cx_transport *tp = userp;
    (void)multi;
    tp->deadline_ms = timeout_ms < 0 ? -1.0 : now_ms() + (double)timeout_ms;
    tp->timer_set = 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------
   transfers */

/* Drops what belongs to one request: the form body and the request headers (secrets). */
static void release_request(cx_transfer *t)
{
    cx_free_secret(t->post_body);
    t->post_body = NULL;
    if (t->req_headers) {
        struct curl_slist *l;
        for (l = t->req_headers; l; l = l->next)
            cx_wipe(l->data, strlen(l->data));
        curl_slist_free_all(t->req_headers);
        t->req_headers = NULL;
    }
}

static void transfer_free(cx_transfer *t)
{
    if (t->easy)
        curl_easy_cleanup(t->easy);
    cx_buf_free(&t->body);
    cx_buf_free(&t->headers);
    release_request(t);
    free(t);
}

/* A finished transfer is kept for the next request, with its easy handle (connections, TLS
   sessions) and the memory of its buffers; what held a secret is wiped and released. */
static void transfer_recycle(cx_transport *tp, cx_transfer *t)
{
    release_request(t);
    cx_buf_reuse(&t->body, KEEP_BODY);
    cx_buf_reuse(&t->headers, KEEP_BODY);
    memset(&t->result, 0, sizeof t->result);
    t->next = tp->idle;
    tp->idle = t;
}

static void free_list(cx_transfer *t)
{
    while (t) {
        cx_transfer *next = t->next;
        transfer_free(t);
        t = next;
    }
}

static cx_transfer *unlink_by_id(cx_transfer **list, long long id)
{
    for (; *list; list = &(*list)->next) {
        cx_transfer *t = *list;
        if (t->id == id) {
            *list = t->next;
            t->next = NULL;
            return t;
        }
    }
    return NULL;
}

static void done_append(cx_transport *tp, cx_transfer *t)
{
    t->next = NULL;
    *tp->done_tail = t;
    tp->done_tail = &t->next;
}

static cx_transfer *done_unlink(cx_transport *tp, long long id)
{
    cx_transfer **link, *prev = NULL;
    for (link = &tp->done; *link; prev = *link, link = &(*link)->next) {
        cx_transfer *t = *link;
        if (t->id == id) {
            *link = t->next;
            if (tp->done_tail == &t->next)
                tp->done_tail = prev ? &prev->next : &tp->done;
            t->next = NULL;
            return t;
        }
    }
    return NULL;
}

static void finish(cx_transport *tp, cx_transfer *t, CURLcode code)
{
    cx_result *r = &t->result;
    long status = 0, version = 0, connects = 0;
    double total = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total);
    tp->connects += connects;
    r->id = t->id;
    r->code = (int)code;
    r->error = code == CURLE_OK ? NULL : t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
    if (code == CURLE_WRITE_ERROR)
        r->limit = t->body.overflow ? CX_LIMIT_BODY : t->headers.overflow ? CX_LIMIT_HEADER : 0;
    r->status = status;
    /* A failed transfer's partial body is of no use (and may be as large as the limit). */
    r->body = code == CURLE_OK ? (t->body.data ? t->body.data : "") : NULL;
    r->body_len = code == CURLE_OK ? t->body.len : 0;
    r->headers = t->headers.data ? t->headers.data : "";
    r->headers_len = t->headers.len;
    r->seconds = total;
    r->connects = connects;
    r->http2 = version == CURL_HTTP_VERSION_2_0;
    r->via_proxy = t->via_proxy;
    if (t->via_proxy)
        curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &r->proxy_status);
}

/* Moves finished transfers from active to done. */
static void harvest(cx_transport *tp)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(tp->multi, &left))) {
        cx_transfer *t = NULL, **link;
        if (m->msg != CURLMSG_DONE)
            continue;
        for (link = &tp->active; *link; link = &(*link)->next) {
            if ((*link)->easy == m->easy_handle) {
                t = *link;
                *link = t->next;
                break;
            }
        }
        if (!t)
            continue;
        finish(tp, t, m->data.result);
        curl_multi_remove_handle(tp->multi, t->easy);
        done_append(tp, t);
    }
}

/* ------------------------------------------------------------------------------------------
   the loop */

static void on_ready(void *ud, int fd, int events)
{
    cx_transport *tp = ud;
    int running, mask = ((events & CX_POLL_IN) ? CURL_CSELECT_IN : 0) |
                        ((events & CX_POLL_OUT) ? CURL_CSELECT_OUT : 0) |
                        ((events & CX_POLL_ERR) ? CURL_CSELECT_ERR : 0);
    curl_multi_socket_action(tp->multi, fd, mask, &running);
}

/* Waits up to timeout_ms for ready sockets, hands them to libcurl, then libcurl's deadline
   if it has passed. 0, or -1 when the poller failed. */
static int act(cx_transport *tp, int timeout_ms)
{
    int running, rc = cx_poller_wait(tp->poller, timeout_ms, on_ready, tp);
    if (tp->deadline_ms >= 0 && now_ms() >= tp->deadline_ms) {
        tp->timer_set = 0;
        curl_multi_socket_action(tp->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        if (!tp->timer_set) {
            /* libcurl reports its timer only when it changes: ask for the one in force. */
            long ms = -1;
            curl_multi_timeout(tp->multi, &ms);
            tp->deadline_ms = ms < 0 ? -1.0 : now_ms() + (double)ms;
        }
    }
    harvest(tp);
    if (rc < 0 || tp->poll_errno) {
        tp->poll_errno = 0;
        return -1;
    }
    return 0;
}

static int count_done(const cx_transport *tp)
{
    const cx_transfer *t;
    int n = 0;
    for (t = tp->done; t; t = t->next)
        n++;
    return n;
}

int cx_transport_run(cx_transport *tp, double wait_seconds)
{
    double end = now_ms() + (wait_seconds > 0 ? wait_seconds * 1000 : 0);
    if (act(tp, 0) != 0)
        return -1;
    while (!tp->done && tp->active) {
        double now = now_ms(), ms = end - now;
        if (ms <= 0)
            break;
        if (tp->deadline_ms >= 0 && tp->deadline_ms - now < ms)
            ms = tp->deadline_ms > now ? tp->deadline_ms - now : 0;
        if (ms > 3600e3)
            ms = 3600e3;
        /* Rounded up: waking before the deadline would only spin. */
        if (act(tp, (int)ms + (ms > (int)ms)) != 0)
            return -1;
    }
    return count_done(tp);
}

int cx_transport_fd(const cx_transport *tp)
{
    return tp->poller;
}

double cx_transport_timeout(const cx_transport *tp)
{
    double left;
    if (tp->done)
        return 0;
    if (!tp->active || tp->deadline_ms < 0)
        return -1;
    left = tp->deadline_ms - now_ms();
    return left > 0 ? left / 1000 : 0;
}

/* ------------------------------------------------------------------------------------------
   requests */

static int add_header(cx_transfer *t, const char *h)
{
    struct curl_slist *l = curl_slist_append(t->req_headers, h);
    if (!l)
        return -1;
    t->req_headers = l;
    return 0;
}

/* CURLOPT_PROTOCOLS_STR needs libcurl 7.85 (Ubuntu 22.04 and RHEL 8/9 have older); the
   bitmask it replaces still works. -DCX_CURL_PROTOCOLS_BITMASK forces the old way (tests). */
#if LIBCURL_VERSION_NUM >= 0x075500 && !defined(CX_CURL_PROTOCOLS_BITMASK)
#define SET_PROTOCOLS(http) SET(CURLOPT_PROTOCOLS_STR, (http) ? "https,http" : "https")
#else
#define SET_PROTOCOLS(http) \
    SET(CURLOPT_PROTOCOLS, (http) ? (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP) : (long)CURLPROTO_HTTPS)
#endif

static CURLcode configure(cx_transport *tp, cx_transfer *t, const char *url)
{
    CURL *e = t->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) \
    rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, url);
    SET_PROTOCOLS(tp->allow_http);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (tp->ca_file)
        SET(CURLOPT_CAINFO, tp->ca_file);
    if (tp->connect_to)
        SET(CURLOPT_CONNECT_TO, tp->connect_to);
    /* Whether this request uses the proxy was decided by the caller (no_proxy included); ""
       keeps libcurl from reading proxy variables from the environment by itself. */
    SET(CURLOPT_PROXY, t->via_proxy ? tp->proxy : "");
    if (t->via_proxy) {
        SET(CURLOPT_NOPROXY, "");
        SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
        SET(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE); /* the bearer token stays inside */
        if (tp->proxy_headers)
            SET(CURLOPT_PROXYHEADER, tp->proxy_headers);
    }
    SET(CURLOPT_TIMEOUT_MS, tp->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, tp->connect_timeout_ms);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    if (tp->user_agent)
        SET(CURLOPT_USERAGENT, tp->user_agent);
    SET(CURLOPT_HTTP_VERSION, tp->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_PIPEWAIT, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_SHARE, tp->share);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(tp->max_body > INT64_MAX ? INT64_MAX : tp->max_body));
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    SET(CURLOPT_PRIVATE, t);
    if (tp->verbose) {
        SET(CURLOPT_DEBUGFUNCTION, on_debug);
        SET(CURLOPT_DEBUGDATA, tp);
        SET(CURLOPT_VERBOSE, 1L);
    }
    if (t->post_body) {
        SET(CURLOPT_POSTFIELDS, t->post_body);
        SET(CURLOPT_POSTFIELDSIZE, (long)strlen(t->post_body));
    } else {
        SET(CURLOPT_HTTPGET, 1L);
    }
    SET(CURLOPT_HTTPHEADER, t->req_headers);
#undef SET
    return rc;
}

static cx_transfer *take_transfer(cx_transport *tp)
{
    cx_transfer *t = tp->idle;
    if (t) {
        tp->idle = t->next;
        curl_easy_reset(t->easy);
    } else {
        t = calloc(1, sizeof *t);
        if (!t)
            return NULL;
        t->easy = curl_easy_init();
        if (!t->easy) {
            free(t);
            return NULL;
        }
        cx_buf_init(&t->body, 0);
        cx_buf_init(&t->headers, 0);
    }
    t->next = NULL;
    t->errbuf[0] = '\0';
    t->body.limit = tp->max_body;
    t->headers.limit = tp->max_header;
    return t;
}

long long cx_transport_submit(cx_transport *tp, const cx_request *r, const char **err)
{
    cx_transfer *t = take_transfer(tp);
    size_t k;
    int failed = 0;
    if (!t) {
        *err = "cannot create a libcurl handle";
        return -1;
    }
    t->body.sensitive = r->sensitive;
    t->via_proxy = r->via_proxy && tp->proxy;
    for (k = 0; k < r->nheaders; k++)
        failed |= add_header(t, r->headers[k]);
    if (r->post_body) {
        t->post_body = cx_strdup(r->post_body);
        failed |= !t->post_body;
    }
    if (failed) {
        transfer_recycle(tp, t);
        *err = "out of memory";
        return -1;
    }
    if (configure(tp, t, r->url) != CURLE_OK) {
        transfer_recycle(tp, t);
        *err = "cannot configure the request";
        return -1;
    }
    if (curl_multi_add_handle(tp->multi, t->easy) != CURLM_OK) {
        transfer_recycle(tp, t);
        *err = "cannot start the request";
        return -1;
    }
    t->id = ++tp->next_id;
    t->next = tp->active;
    tp->active = t;
    tp->requests++;
    return t->id;
}

int cx_transport_cancel(cx_transport *tp, long long id)
{
    cx_transfer *t = unlink_by_id(&tp->active, id);
    if (t)
        curl_multi_remove_handle(tp->multi, t->easy);
    else
        t = done_unlink(tp, id);
    if (!t)
        return 0;
    transfer_recycle(tp, t);
    return 1;
}

int cx_transport_pending(const cx_transport *tp)
{
    const cx_transfer *t;
    int n = 0;
    for (t = tp->active; t; t = t->next)
        n++;
    return n;
}

const cx_result *cx_transport_peek(cx_transport *tp)
{
    return tp->done ? &tp->done->result : NULL;
}

void cx_transport_pop(cx_transport *tp)
{
    cx_transfer *t = tp->done;
    if (!t)
        return;
    tp->done = t->next;
    if (!tp->done)
        tp->done_tail = &tp->done;
    transfer_recycle(tp, t);
}

const char *cx_transport_trace(const cx_transport *tp, size_t *len)
{
    *len = tp->trace.len;
    return tp->trace.len ? tp->trace.data : NULL;
}

void cx_transport_trace_clear(cx_transport *tp)
{
    cx_wipe(tp->trace.data, tp->trace.len);
    tp->trace.len = 0;
    tp->trace.overflow = 0;
}

void cx_transport_stats(const cx_transport *tp, long long *connects, long long *requests)
{
    *connects = tp->connects;
    *requests = tp->requests;
}

/* ------------------------------------------------------------------------------------------
   life */

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = cx_strdup(src);
    return *dst ? 0 : -1;
}

cx_transport *cx_transport_new(const cx_transport_options *o, char *err, size_t errlen)
{
    cx_transport *tp;
    size_t k;
    const char *missing = o->timeout_ms <= 0           ? "timeout_ms"
                          : o->connect_timeout_ms <= 0 ? "connect_timeout_ms"
                          : o->max_body == 0           ? "max_body"
                          : o->max_header == 0         ? "max_header"
                                                       : NULL;
    if (missing) {
        snprintf(err, errlen, "the option %s is required (> 0)", missing);
        return NULL;
    }
    if (cx_curl_init() != 0) {
        snprintf(err, errlen, "libcurl initialisation failed");
        return NULL;
    }
    tp = calloc(1, sizeof *tp);
    if (!tp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tp->poller = -1;
    tp->deadline_ms = -1;
    tp->done_tail = &tp->done;
    cx_buf_init(&tp->trace, TRACE_MAX);
    tp->trace.sensitive = 1;
    tp->timeout_ms = o->timeout_ms;
    tp->connect_timeout_ms = o->connect_timeout_ms;
    tp->max_body = o->max_body;
    tp->max_header = o->max_header;
    tp->http2 = o->http2;
    tp->allow_http = o->allow_http;
    tp->verbose = o->verbose;
    if (dup_opt(&tp->ca_file, o->ca_file) || dup_opt(&tp->user_agent, o->user_agent) ||
        dup_opt(&tp->proxy, o->proxy) ||
        (o->proxy_header && !(tp->proxy_headers = curl_slist_append(NULL, o->proxy_header)))) {
        snprintf(err, errlen, "out of memory");
        cx_transport_free(tp);
        return NULL;
    }
    for (k = 0; k < o->nconnect_to; k++) {
        struct curl_slist *l = curl_slist_append(tp->connect_to, o->connect_to[k]);
        if (!l) {
            snprintf(err, errlen, "out of memory");
            cx_transport_free(tp);
            return NULL;
        }
        tp->connect_to = l;
    }
    tp->poller = cx_poller_open();
    if (tp->poller < 0) {
        snprintf(err, errlen, "cannot create the poller: %s", strerror(errno));
        cx_transport_free(tp);
        return NULL;
    }
    tp->multi = curl_multi_init();
    tp->share = curl_share_init();
    if (!tp->multi || !tp->share) {
        snprintf(err, errlen, "cannot create libcurl handles");
        cx_transport_free(tp);
        return NULL;
    }
    /* New connections resume TLS sessions and share DNS answers. */
    curl_share_setopt(tp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(tp->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_multi_setopt(tp->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(tp->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(tp->multi, CURLMOPT_SOCKETDATA, tp);
    curl_multi_setopt(tp->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(tp->multi, CURLMOPT_TIMERDATA, tp);
    return tp;
}

void cx_transport_free(cx_transport *tp)
{
    cx_transfer *t;
    if (!tp)
        return;
    for (t = tp->active; t; t = t->next)
        if (tp->multi)
            curl_multi_remove_handle(tp->multi, t->easy);
    free_list(tp->active);
    free_list(tp->done);
    free_list(tp->idle);
    /* The multi goes before the poller: cleaning it up may still report sockets. */
    if (tp->multi)
        curl_multi_cleanup(tp->multi);
    if (tp->share)
        curl_share_cleanup(tp->share);
    cx_poller_close(tp->poller);
    curl_slist_free_all(tp->connect_to);
    if (tp->proxy_headers)
        cx_wipe(tp->proxy_headers->data, strlen(tp->proxy_headers->data));
    curl_slist_free_all(tp->proxy_headers);
    free(tp->ca_file);
    free(tp->user_agent);
    free(tp->proxy);
    cx_buf_free(&tp->trace);
    free(tp);
}
