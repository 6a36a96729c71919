/* Requests over the libcurl multi interface: one request is a multi of one, many pages are
   many transfers on the same multi (shared connection cache, HTTP/2 multiplexing).
   Callbacks only copy bytes into buffers; Lua is touched only after libcurl returns. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <lauxlib.h>

#include "client.h"

/* Body memory a recycled transfer keeps for the next response: a usual page fits. */
#define KEEP_BODY (256 * 1024)

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
    /* Returning less than given aborts the transfer with CURLE_WRITE_ERROR. */
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

static void trace_append(cx_client *c, const char *prefix, const char *p, size_t n)
{
    if (cx_buf_append(&c->trace, prefix, strlen(prefix)) == 0 &&
        cx_buf_append(&c->trace, p, n) == 0 && (n == 0 || p[n - 1] != '\n'))
        cx_buf_append(&c->trace, "\n", 1);
}

/* Outgoing headers carry the bearer token: keep the name, drop the value. Bodies are never
   traced (the token request's body holds the secret). */
static int on_debug(CURL *easy, curl_infotype type, char *p, size_t n, void *ud)
{
    cx_client *c = ud;
    (void)easy;
    if (type == CURLINFO_TEXT) {
        trace_append(c, "* ", p, n);
    } else if (type == CURLINFO_HEADER_IN) {
        trace_append(c, "< ", p, n);
    } else if (type == CURLINFO_HEADER_OUT) {
        size_t i = 0;
        while (i < n) {
            size_t e = i;
            while (e < n && p[e] != '\n')
                e++;
            if (e - i >= 14 && strncasecmp(p + i, "authorization:", 14) == 0)
                trace_append(c, "> ", "Authorization: [REDACTED]", 25);
            else if (e - i >= 20 && strncasecmp(p + i, "proxy-authorization:", 20) == 0)
                trace_append(c, "> ", "Proxy-Authorization: [REDACTED]", 31);
            else if (e > i + 1 || (e > i && p[i] != '\r'))
                trace_append(c, "> ", p + i, e - i);
            i = e + 1;
        }
    }
    return 0;
}

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

void cx_transfer_free(cx_transfer *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    cx_buf_free(&t->body);
    cx_buf_free(&t->headers);
    release_request(t);
    free(t);
}

/* A finished transfer is kept for the next request, with its easy handle (connections, TLS
   sessions) and the memory of its buffers; what held a secret is wiped and released. */
static void transfer_recycle(cx_client *c, cx_transfer *t)
{
    release_request(t);
    cx_buf_reuse(&t->body, KEEP_BODY);
    cx_buf_reuse(&t->headers, KEEP_BODY);
    t->next = c->idle;
    c->idle = t;
}

static void free_list(cx_transfer *t)
{
    while (t) {
        cx_transfer *next = t->next;
        cx_transfer_free(t);
        t = next;
    }
}

void cx_transport_close(cx_client *c)
{
    cx_transfer *t;
    for (t = c->active; t; t = t->next)
        if (c->multi && t->easy)
            curl_multi_remove_handle(c->multi, t->easy);
    free_list(c->active);
    free_list(c->done);
    free_list(c->idle);
    c->active = c->done = c->idle = NULL;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    c->multi = NULL;
}

static int add_header(cx_transfer *t, const char *h)
{
    struct curl_slist *l = curl_slist_append(t->req_headers, h);
    if (!l)
        return -1;
    t->req_headers = l;
    return 0;
}

static char *token_form(cx_client *c)
{
    size_t idn = strlen(c->client_id);
    char *body = malloc(sizeof("grant_type=client_credentials&client_id=&client_secret=") +
                        3 * idn + strlen(c->secret_encoded));
    size_t o;
    if (!body)
        return NULL;
    o = (size_t)sprintf(body, "grant_type=client_credentials&client_id=");
    o += cx_urlencode(c->client_id, idn, body + o);
    strcpy(body + o, "&client_secret=");
    strcat(body + o, c->secret_encoded);
    return body;
}

/* CURLOPT_PROTOCOLS_STR needs libcurl 7.85 (Ubuntu 22.04 and RHEL 8/9 have older); the
   bitmask it replaces still works. -DCX_CURL_PROTOCOLS_BITMASK forces the old way (tests). */
#if LIBCURL_VERSION_NUM >= 0x075500 && !defined(CX_CURL_PROTOCOLS_BITMASK)
#define SET_PROTOCOLS(http) SET(CURLOPT_PROTOCOLS_STR, (http) ? "https,http" : "https")
#else
#define SET_PROTOCOLS(http) \
    SET(CURLOPT_PROTOCOLS, (http) ? (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP) : (long)CURLPROTO_HTTPS)
#endif

static CURLcode configure(cx_client *c, cx_transfer *t, const char *url, int token)
{
    CURL *e = t->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) \
    rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, url);
    SET_PROTOCOLS(c->allow_http);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    if (c->connect_to)
        SET(CURLOPT_CONNECT_TO, c->connect_to);
    /* Whether this request uses the proxy was decided in Lua (no_proxy included); "" keeps
       libcurl from reading proxy variables from the environment by itself. */
    t->via_proxy = c->proxy && (token ? c->proxy_token : c->proxy_api);
    SET(CURLOPT_PROXY, t->via_proxy ? c->proxy : "");
    if (t->via_proxy) {
        SET(CURLOPT_NOPROXY, "");
        SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
        SET(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE); /* the bearer token stays inside */
        if (c->proxy_headers)
            SET(CURLOPT_PROXYHEADER, c->proxy_headers);
    }
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_HTTP_VERSION, c->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_PIPEWAIT, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_SHARE, c->share);
    SET(CURLOPT_MAXFILESIZE_LARGE, c->max_body);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    SET(CURLOPT_PRIVATE, t);
    if (c->verbose) {
        SET(CURLOPT_DEBUGFUNCTION, on_debug);
        SET(CURLOPT_DEBUGDATA, c);
        SET(CURLOPT_VERBOSE, 1L);
    }
    if (token) {
        SET(CURLOPT_POSTFIELDS, t->post_body);
        SET(CURLOPT_POSTFIELDSIZE, (long)strlen(t->post_body));
    } else {
        SET(CURLOPT_HTTPGET, 1L);
    }
    SET(CURLOPT_HTTPHEADER, t->req_headers);
#undef SET
    return rc;
}

/* client:submit{url = ..., token = bool} -> id */
int cx_client_submit(lua_State *L)
{
    cx_client *c = cx_check_client(L, 1);
    const char *url;
    int token, failed = 0;
    cx_transfer *t;
    CURLcode rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "token");
    token = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (token) {
        url = c->token_url;
    } else {
        lua_getfield(L, 2, "url");
        url = lua_tostring(L, -1);
        if (!url)
            return luaL_error(L, "cxcloud: submit needs a url string");
    }

    if (c->idle) {
        t = c->idle;
        c->idle = t->next;
        curl_easy_reset(t->easy);
    } else {
        t = calloc(1, sizeof *t);
        if (t)
            t->easy = curl_easy_init();
        if (!t || !t->easy) {
            cx_transfer_free(t);
            return luaL_error(L, "cxcloud: cannot create a libcurl handle");
        }
        cx_buf_init(&t->body, 0);
        cx_buf_init(&t->headers, 0);
    }
    t->next = NULL;
    t->errbuf[0] = '\0';
    t->body.limit = (size_t)c->max_body;
    t->headers.limit = c->max_header;
    t->body.sensitive = token; /* the token response holds the access token */
    failed |= add_header(t, "Accept: application/json");
    if (token) {
        t->post_body = token_form(c);
        failed |= !t->post_body;
        failed |= add_header(t, "Content-Type: application/x-www-form-urlencoded");
    } else if (c->auth_header) {
        failed |= add_header(t, c->auth_header);
    }
    failed |= add_header(t, "Expect:");
    if (failed) {
        cx_transfer_free(t);
        return luaL_error(L, "cxcloud: out of memory");
    }
    rc = configure(c, t, url, token);
    if (rc != CURLE_OK) {
        cx_transfer_free(t);
        return luaL_error(L, "cxcloud: cannot configure the request: %s", curl_easy_strerror(rc));
    }
    if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK) {
        cx_transfer_free(t);
        return luaL_error(L, "cxcloud: cannot start the request");
    }
    t->id = ++c->next_id;
    t->next = c->active;
    c->active = t;
    c->requests++;
    lua_pushinteger(L, t->id);
    return 1;
}

static cx_transfer *unlink_transfer(cx_transfer **list, CURL *easy, lua_Integer id)
{
    for (; *list; list = &(*list)->next) {
        cx_transfer *t = *list;
        if ((easy && t->easy == easy) || (!easy && t->id == id)) {
            *list = t->next;
            t->next = NULL;
            return t;
        }
    }
    return NULL;
}

/* Moves finished transfers from active to done. */
static void harvest(cx_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        cx_transfer *t;
        if (m->msg != CURLMSG_DONE)
            continue;
        t = unlink_transfer(&c->active, m->easy_handle, 0);
        if (!t)
            continue;
        t->result = m->data.result;
        curl_multi_remove_handle(c->multi, t->easy);
        t->next = c->done;
        c->done = t;
    }
}

static const char *error_kind(cx_transfer *t)
{
    switch (t->result) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    case CURLE_FILESIZE_EXCEEDED:
        return "too_large";
    case CURLE_WRITE_ERROR:
        return (t->body.overflow || t->headers.overflow) ? "too_large" : "network";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "config";
    default:
        return "network";
    }
}

typedef struct {
    lua_State *L;
    int table;
} header_ctx;

/* The response headers the engine reads; the others never reach Lua. */
static const char *const WANTED_HEADERS[] = {
    "content-type", "location", "retry-after", "x-correlation-id", "x-mashery-error-code",
    "x-mashery-message-id", "x-request-id",
};

static int wanted_header(const char *lower, size_t nlen)
{
    size_t k;
    for (k = 0; k < sizeof WANTED_HEADERS / sizeof *WANTED_HEADERS; k++)
        if (strlen(WANTED_HEADERS[k]) == nlen && memcmp(WANTED_HEADERS[k], lower, nlen) == 0)
            return 1;
    return 0;
}

static void put_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    header_ctx *h = ud;
    lua_State *L = h->L;
    char lower[32];
    size_t i;
    if (nlen >= sizeof lower)
        return; /* longer than any wanted name */
    for (i = 0; i < nlen; i++)
        lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    if (!wanted_header(lower, nlen))
        return;
    lua_pushlstring(L, lower, nlen);
    lua_pushvalue(L, -1);
    lua_rawget(L, h->table);
    if (lua_isstring(L, -1)) { /* repeated header: join as HTTP allows */
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, value, vlen);
        lua_concat(L, 3);
    } else {
        lua_pop(L, 1);
        lua_pushlstring(L, value, vlen);
    }
    lua_rawset(L, h->table);
}

/* A failure that was the proxy's: a refusal of CONNECT (error.proxy = "refused", with
   error.proxy_status), no connection to the proxy at all ("unreachable"), or no answer to
   CONNECT in time ("silent"). */
static void push_proxy_failure(lua_State *L, cx_transfer *t)
{
    long code = 0, connects = 0;
    curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &code);
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    if (code >= 300) {
        lua_pushliteral(L, "refused");
        lua_setfield(L, -2, "proxy");
        lua_pushinteger(L, code);
        lua_setfield(L, -2, "proxy_status");
    } else if (code == 0 &&
               (t->result == CURLE_COULDNT_CONNECT || t->result == CURLE_COULDNT_RESOLVE_PROXY)) {
        lua_pushliteral(L, "unreachable");
        lua_setfield(L, -2, "proxy");
    } else if (code == 0 && t->result == CURLE_OPERATION_TIMEDOUT && connects > 0) {
        /* a new connection whose CONNECT got no answer in time */
        lua_pushliteral(L, "silent");
        lua_setfield(L, -2, "proxy");
    }
}

static void push_result(lua_State *L, cx_client *c, cx_transfer *t)
{
    long status = 0, version = 0, connects = 0;
    double total = 0;
    header_ctx h;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total);
    c->connects += connects;

    lua_createtable(L, 0, 8);
    lua_pushinteger(L, t->id);
    lua_setfield(L, -2, "id");
    if (status > 0) {
        lua_pushinteger(L, status);
        lua_setfield(L, -2, "status");
    }
    /* A failed transfer's partial body is of no use (and may be as large as the limit). */
    if (t->result == CURLE_OK) {
        lua_pushlstring(L, t->body.data ? t->body.data : "", t->body.len);
        lua_setfield(L, -2, "body");
    }
    lua_createtable(L, 0, 2);
    h.L = L;
    h.table = lua_gettop(L);
    if (t->headers.data)
        cx_parse_headers(t->headers.data, t->headers.len, put_header, &h);
    lua_setfield(L, -2, "headers");
    lua_pushnumber(L, total);
    lua_setfield(L, -2, "time");
    lua_pushinteger(L, connects);
    lua_setfield(L, -2, "connects");
    lua_pushstring(L, version == CURL_HTTP_VERSION_2_0 ? "2" : "1.1");
    lua_setfield(L, -2, "http_version");
    if (t->result != CURLE_OK) {
        const char *msg = t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->result);
        lua_createtable(L, 0, 3);
        lua_pushstring(L, error_kind(t));
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, t->result);
        lua_setfield(L, -2, "code");
        cx_redact_push(L, c, msg, strlen(msg));
        lua_setfield(L, -2, "message");
        if (t->via_proxy)
            push_proxy_failure(L, t);
        lua_setfield(L, -2, "error");
    }
}

/* Pushes the trace gathered since the last poll (redacted), or nil. */
static void push_trace(lua_State *L, cx_client *c)
{
    if (c->trace.len == 0) {
        lua_pushnil(L);
        return;
    }
    cx_redact_push(L, c, c->trace.data, c->trace.len);
    cx_wipe(c->trace.data, c->trace.len);
    c->trace.len = 0;
    c->trace.overflow = 0;
}

/* client:poll(max_wait) -> array of results, trace text or nil; waits up to max_wait
   seconds for a result. The caller hands the trace to the user's function: never from C. */
int cx_client_poll(lua_State *L)
{
    cx_client *c = cx_check_client(L, 1);
    double wait = luaL_optnumber(L, 2, 0);
    double deadline_ms;
    int running = 0, n = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    deadline_ms = ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6 + (wait > 0 ? wait * 1000 : 0);
    curl_multi_perform(c->multi, &running);
    harvest(c);
    while (!c->done && running > 0) {
        double now_ms, left;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now_ms = ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
        left = deadline_ms - now_ms;
        if (left <= 0)
            break;
        curl_multi_poll(c->multi, NULL, 0, left > 1000 ? 1000 : (int)left + 1, NULL);
        curl_multi_perform(c->multi, &running);
        harvest(c);
    }
    lua_newtable(L);
    /* Results are handed over one by one; a transfer stays owned by the client (done list)
       until its table exists, so an error while building it leaks nothing. */
    while (c->done) {
        cx_transfer *t = c->done;
        push_result(L, c, t);
        lua_rawseti(L, -2, ++n);
        c->done = t->next;
        transfer_recycle(c, t);
    }
    push_trace(L, c);
    return 2;
}

int cx_client_cancel(lua_State *L)
{
    cx_client *c = cx_check_client(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    cx_transfer *t = unlink_transfer(&c->active, NULL, id);
    if (!t)
        t = unlink_transfer(&c->done, NULL, id);
    if (t) {
        curl_multi_remove_handle(c->multi, t->easy);
        transfer_recycle(c, t);
    }
    lua_pushboolean(L, t != NULL);
    return 1;
}

int cx_client_pending(lua_State *L)
{
    cx_client *c = cx_check_client(L, 1);
    cx_transfer *t;
    int n = 0;
    for (t = c->active; t; t = t->next)
        n++;
    lua_pushinteger(L, n);
    return 1;
}
