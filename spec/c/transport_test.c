/* The plain C library (src/lib/) driven from C, without Lua (`make test-c`): the transport in
   an outside poll() loop on its descriptor and timeout against a small HTTP/1.1 server thread
   on loopback, then the JSON pre-scan and base64. Built from src/lib alone without Lua's
   include path, so it also shows that the library needs none of Lua; it never calls
   curl_global_init (the transport does). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "encode.h"
#include "jsonscan.h"
#include "transport.h"

#define DELAY_MS 200

static int failures;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the server: answers each request after DELAY_MS; /big gets a body of 64 KiB, /stream
   the same without Content-Length (then closes), /fat a header of 32 KiB. ---- */

static int listener;

static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[4096], head[256];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof req - 1 && (n = read(fd, req + got, sizeof req - 1 - got)) > 0) {
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n")) {
            int stream = strncmp(req, "GET /stream ", 12) == 0;
            int big = stream || strncmp(req, "GET /big ", 9) == 0;
            int fat = strncmp(req, "GET /fat ", 9) == 0;
            size_t len = big ? 65536 : 5;
            char *body = malloc(len), *extra = malloc(32768 + 16);
            memset(body, 'x', len);
            if (!big)
                memcpy(body, "hello", 5);
            extra[0] = '\0';
            if (fat) {
                memcpy(extra, "X-Fat: ", 7);
                memset(extra + 7, 'f', 32768);
                memcpy(extra + 7 + 32768, "\r\n", 3);
            }
            usleep(DELAY_MS * 1000);
            if (stream)
                snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            else
                snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                         "X-Request-Id: r-1\r\n", len);
            /* a failed write: the client hung up */
            if (write(fd, head, strlen(head)) < 0 ||
                (!stream && (write(fd, extra, strlen(extra)) < 0 || write(fd, "\r\n", 2) < 0)) ||
                write(fd, body, len) < 0)
                got = sizeof req;
            free(body);
            free(extra);
            got = 0;
            if (stream)
                break;
        }
    }
    close(fd);
    return NULL;
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_t th;
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_create(&th, NULL, serve_one, (void *)(intptr_t)fd);
        pthread_detach(th);
    }
}

static int start_server(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    pthread_t th;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(listener, 16) != 0 || getsockname(listener, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    pthread_create(&th, NULL, serve, NULL);
    pthread_detach(th);
    return ntohs(a.sin_port);
}

/* A port nobody listens on. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ---- the client side ---- */

static cx_transport *new_transport(size_t max_body)
{
    cx_transport_options o;
    char err[256];
    cx_transport *tp;
    memset(&o, 0, sizeof o);
    o.timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.max_body = max_body;
    o.max_header = 16384;
    o.allow_http = 1;
    tp = cx_transport_new(&o, err, sizeof err);
    if (!tp)
        fprintf(stderr, "cx_transport_new: %s\n", err);
    return tp;
}

static long long get(cx_transport *tp, const char *url)
{
    static const char *const headers[] = {"Accept: application/json"};
    cx_request r;
    const char *err = NULL;
    long long id;
    memset(&r, 0, sizeof r);
    r.url = url;
    r.headers = headers;
    r.nheaders = 1;
    id = cx_transport_submit(tp, &r, &err);
    if (id < 0)
        fprintf(stderr, "submit: %s\n", err);
    return id;
}

/* Waits in poll() on the transport's descriptor and timeout, calling cx_transport_run(tp, 0)
   until a result is there. Returns the longest run call in seconds; *rounds counts loops. */
static double drive(cx_transport *tp, int *rounds)
{
    double longest = 0, t0 = now();
    int fd = cx_transport_fd(tp);
    *rounds = 0;
    while (!cx_transport_peek(tp) && now() - t0 < 10) {
        struct pollfd p;
        double t = cx_transport_timeout(tp), r0;
        p.fd = fd;
        p.events = POLLIN;
        poll(&p, 1, t < 0 ? 1000 : (int)(t * 1000) + 1);
        r0 = now();
        CHECK(cx_transport_run(tp, 0) >= 0);
        if (now() - r0 > longest)
            longest = now() - r0;
        CHECK(cx_transport_fd(tp) == fd);
        (*rounds)++;
    }
    return longest;
}

/* The pre-scan of text (NUL-terminated) with the identifier fields ids (may be NULL): its
   rewritten text in out (size outsize), or "BAD@<offset>". */
static void scan_text(const char *text, const struct cx_idset *ids, char *out, size_t outsize)
{
    size_t bad_at = 0, n = cx_json_protect(text, strlen(text), ids, NULL, &bad_at);
    if (n == (size_t)-1) {
        snprintf(out, outsize, "BAD@%zu", bad_at);
        return;
    }
    CHECK(n < outsize);
    if (n >= outsize)
        n = outsize - 1;
    CHECK(cx_json_protect(text, strlen(text), ids, out, NULL) == n);
    out[n] = '\0';
}

static void check_jsonscan(void)
{
    union {
        struct cx_idset set;
        unsigned char bytes[sizeof(struct cx_idset) + 16];
    } ids;
    char out[256];
    unsigned saw = 0;
    cx_json_keys keys;
    cx_json_count count;
    const char *page = "{\"rows\":[{\"n\":1,\"x\":null},{\"n\":2,\"x\":\"s\"}],\"t\":true}";
    size_t len = strlen(page);

    /* a text with nothing to rewrite comes out as it came */
    scan_text("{\"a\":[1,2.5,-3e2],\"b\":\"x\"}", NULL, out, sizeof out);
    CHECK(strcmp(out, "{\"a\":[1,2.5,-3e2],\"b\":\"x\"}") == 0);
    /* an integer a double cannot hold becomes a marked string */
    scan_text("[12345678901234567890]", NULL, out, sizeof out);
    CHECK(strcmp(out, "[\"\\u0000#12345678901234567890\"]") == 0);
    /* numbers that break the JSON grammar are refused with their offset */
    scan_text("[1.]", NULL, out, sizeof out);
    CHECK(strcmp(out, "BAD@1") == 0);
    scan_text("{\"a\":01}", NULL, out, sizeof out);
    CHECK(strcmp(out, "BAD@5") == 0);
    /* an identifier field's number other than a plain integer keeps its text */
    ids.set.len = 0;
    cx_idset_add(&ids.set, "id", 2);
    CHECK(cx_idset_has(&ids.set, "id", 2) && !cx_idset_has(&ids.set, "i", 1));
    scan_text("{\"id\":1.50,\"v\":1.50,\"id2\":7}", &ids.set, out, sizeof out);
    CHECK(strcmp(out, "{\"id\":\"\\u0000$1.50\",\"v\":1.50,\"id2\":7}") == 0);

    /* what a fix-up pass must visit, and the counts behind the size estimate */
    memset(&keys, 0, sizeof keys);
    CHECK(cx_json_scan(page, len, NULL, NULL, NULL, &saw, &keys, &count) == len);
    CHECK(saw == (CX_JSON_SAW_NUMBER | CX_JSON_SAW_NULL));
    CHECK(!keys.all && keys.n == 3); /* rows (an array), n (numbers), x (a null) */
    CHECK(keys.n == 3 && keys.k[0].len == 4 && memcmp(keys.k[0].s, "rows", 4) == 0);
    CHECK(count.tables == 4 && count.fields == 6 && count.scalars == 4);
    CHECK(cx_json_decoded_size(&count) > 4 * 56);
    CHECK(cx_json_number_char('e') && !cx_json_number_char('x'));

    /* base64, for Basic credentials */
    {
        char b64[CX_BASE64_SIZE(10)];
        cx_base64((const unsigned char *)"user:pass", 9, b64);
        CHECK(strcmp(b64, "dXNlcjpwYXNz") == 0);
        cx_base64((const unsigned char *)"ab", 2, b64);
        CHECK(strcmp(b64, "YWI=") == 0);
    }
}

int main(void)
{
    int port = start_server(), rounds;
    char url[128], big[128], refused[128], named[128];
    cx_transport *tp;
    const cx_result *r;
    long long id;
    double longest, t0;
    size_t len;

    if (port < 0) {
        perror("server");
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
    snprintf(big, sizeof big, "http://127.0.0.1:%d/big", port);
    snprintf(refused, sizeof refused, "http://127.0.0.1:%d/", closed_port());

    /* name resolution must not block a host's loop: libcurl resolves in a thread */
    CHECK(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS);

    /* the library has no defaults: the limits are required */
    {
        cx_transport_options o;
        char err[256];
        memset(&o, 0, sizeof o);
        CHECK(cx_transport_new(&o, err, sizeof err) == NULL && strstr(err, "timeout_ms"));
        o.timeout_ms = o.connect_timeout_ms = 1000;
        o.max_body = 1;
        CHECK(cx_transport_new(&o, err, sizeof err) == NULL && strstr(err, "max_header"));
    }

    tp = new_transport(1 << 20);
    if (!tp)
        return 1;
    CHECK(cx_transport_fd(tp) >= 0);
    CHECK(cx_transport_timeout(tp) < 0); /* idle: no deadline */
    CHECK(cx_transport_run(tp, 1.0) == 0); /* nothing pending: returns at once */

    /* an outside loop: run(0) never waits for the server's DELAY_MS */
    id = get(tp, url);
    CHECK(id > 0);
    CHECK(cx_transport_pending(tp) == 1);
    CHECK(cx_transport_timeout(tp) >= 0);
    longest = drive(tp, &rounds);
    CHECK(longest < DELAY_MS / 2000.0);
    CHECK(rounds < 200);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->code == 0 && r->status == 200 && r->error == NULL);
    CHECK(r && r->limit == 0 && r->via_proxy == 0 && r->proxy_status == 0);
    CHECK(r && r->body_len == 5 && memcmp(r->body, "hello", 5) == 0);
    CHECK(r && r->headers_len > 0 && strstr(r->headers, "X-Request-Id: r-1"));
    CHECK(cx_transport_timeout(tp) == 0); /* a result is waiting */
    cx_transport_pop(tp);
    CHECK(cx_transport_peek(tp) == NULL);
    CHECK(cx_transport_pending(tp) == 0);

    /* blocking use: the same path, returning when the request ends, not at max_wait */
    id = get(tp, url);
    t0 = now();
    while (!cx_transport_peek(tp) && now() - t0 < 10)
        cx_transport_run(tp, 5.0);
    CHECK(now() - t0 < 2.0);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->status == 200 && r->connects == 0); /* connection reused */
    cx_transport_pop(tp);

    /* a name to resolve (in libcurl's resolver thread): run(0) still never waits */
    snprintf(named, sizeof named, "http://localhost:%d/hello", port);
    id = get(tp, named);
    longest = drive(tp, &rounds);
    CHECK(longest < DELAY_MS / 2000.0);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->status == 200);
    cx_transport_pop(tp);

    /* cancel: in flight, then unknown */
    id = get(tp, url);
    CHECK(cx_transport_cancel(tp, id) == 1);
    CHECK(cx_transport_cancel(tp, id) == 0);
    CHECK(cx_transport_pending(tp) == 0);
    CHECK(cx_transport_timeout(tp) < 0);

    /* a refused connection: libcurl's code and message, no kind (the caller decides) */
    id = get(tp, refused);
    drive(tp, &rounds);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->code == CURLE_COULDNT_CONNECT && r->limit == 0);
    CHECK(r && r->body == NULL && r->error && r->error[0]);
    cx_transport_pop(tp);
    CHECK(cx_transport_trace(tp, &len) == NULL && len == 0); /* verbose off */

    /* several at once finish in about one delay, results in order of completion */
    {
        long long ids[4];
        int k, n = 0;
        t0 = now();
        for (k = 0; k < 4; k++)
            ids[k] = get(tp, url);
        while (n < 4 && now() - t0 < 10) {
            cx_transport_run(tp, 5.0);
            while ((r = cx_transport_peek(tp))) {
                CHECK(r->status == 200);
                CHECK(r->id >= ids[0] && r->id <= ids[3]);
                cx_transport_pop(tp);
                n++;
            }
        }
        CHECK(n == 4);
        CHECK(now() - t0 < 4 * DELAY_MS / 1000.0);
    }
    cx_transport_free(tp);

    /* a body over max_body: announced, libcurl refuses it; streamed, the transport's limit
       stops it and says which; a header block over max_header likewise */
    tp = new_transport(4096);
    if (!tp)
        return 1;
    id = get(tp, big);
    drive(tp, &rounds);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->code == CURLE_FILESIZE_EXCEEDED && r->body == NULL);
    cx_transport_pop(tp);
    snprintf(named, sizeof named, "http://127.0.0.1:%d/stream", port);
    id = get(tp, named);
    drive(tp, &rounds);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->code == CURLE_WRITE_ERROR && r->limit == CX_LIMIT_BODY);
    cx_transport_pop(tp);
    snprintf(named, sizeof named, "http://127.0.0.1:%d/fat", port);
    id = get(tp, named);
    drive(tp, &rounds);
    r = cx_transport_peek(tp);
    CHECK(r && r->id == id && r->code == CURLE_WRITE_ERROR && r->limit == CX_LIMIT_HEADER);
    /* freed with a result unread and a request in flight: nothing leaks (valgrind) */
    get(tp, url);
    cx_transport_free(tp);

    check_jsonscan();

    if (failures) {
        fprintf(stderr, "transport_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("transport_test: all checks passed\n");
    return 0;
}
