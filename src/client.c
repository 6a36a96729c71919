/* The Lua binding of cxcloud.core's client: the userdata, its options, credentials and token,
   redaction, and the results of the transport (transport.c, plain C) pushed to Lua. The one
   file that touches both Lua and the transport; nothing here runs inside a libcurl callback. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "cxcloud.h"
#include "lib/buffer.h"
#include "lib/curl_init.h"
#include "lib/encode.h"
#include "lib/headers.h"
#include "lib/redact.h"
#include "lib/transport.h"

#define CX_OLD_TOKENS 4 /* earlier tokens still redacted from late responses and traces */
#define PROXY_AUTH "Proxy-Authorization: Basic "

typedef struct {
    cx_transport *tp;
    char *client_id;
    char *secret;         /* never leaves C; wiped on close */
    char *secret_encoded; /* as it appears in the form body, for redaction */
    char *token_url;
    char *ca_file;
    char *user_agent;
    char *auth_header;                 /* "Authorization: <type> <token>", wiped */
    char *tokens[1 + CX_OLD_TOKENS];   /* [0] current; the rest for redaction only */
    struct curl_slist *connect_to;
    char *proxy;                       /* "http://host:port" (no credentials), or NULL */
    int proxy_api, proxy_token;        /* which requests go through it (after no_proxy) */
    struct curl_slist *proxy_headers;  /* "Proxy-Authorization: Basic ...", wiped */
    char *proxy_password;              /* for redaction only, wiped */
    char *proxy_password_encoded;      /* as in a proxy URL, for redaction, wiped */
    long timeout_ms, connect_timeout_ms;
    curl_off_t max_body;
    size_t max_header;
    int http2, allow_http;
    int verbose; /* gather libcurl's trace: poll returns it */
    int closed;
} cx_client;

/* The client at idx; raises if it is closed. */
static cx_client *check_client(lua_State *L, int idx)
{
    cx_client *c = luaL_checkudata(L, idx, CX_CLIENT_MT);
    if (c->closed)
        luaL_error(L, "cxcloud: the client is closed");
    return c;
}

static void set_token_slot(cx_client *c, char *token)
{
    int k;
    cx_free_secret(c->tokens[CX_OLD_TOKENS]);
    for (k = CX_OLD_TOKENS; k > 0; k--)
        c->tokens[k] = c->tokens[k - 1];
    c->tokens[0] = token;
}

static void release_proxy(cx_client *c)
{
    if (c->proxy_headers)
        cx_wipe(c->proxy_headers->data, strlen(c->proxy_headers->data));
    curl_slist_free_all(c->proxy_headers);
    cx_free_secret(c->proxy_password);
    cx_free_secret(c->proxy_password_encoded);
    free(c->proxy);
    c->proxy_headers = NULL;
    c->proxy_password = c->proxy_password_encoded = c->proxy = NULL;
}

static void client_release(cx_client *c)
{
    int k;
    if (c->closed)
        return;
    c->closed = 1;
    cx_transport_free(c->tp);
    c->tp = NULL;
    curl_slist_free_all(c->connect_to);
    c->connect_to = NULL;
    release_proxy(c);
    cx_free_secret(c->secret);
    cx_free_secret(c->secret_encoded);
    cx_free_secret(c->auth_header);
    for (k = 0; k <= CX_OLD_TOKENS; k++) {
        cx_free_secret(c->tokens[k]);
        c->tokens[k] = NULL;
    }
    c->secret = c->secret_encoded = c->auth_header = NULL;
    free(c->client_id);
    free(c->token_url);
    free(c->ca_file);
    free(c->user_agent);
    c->client_id = c->token_url = c->ca_file = c->user_agent = NULL;
}

static int client_close(lua_State *L)
{
    cx_client *c = luaL_checkudata(L, 1, CX_CLIENT_MT);
    client_release(c);
    return 0;
}

static int client_tostring(lua_State *L)
{
    cx_client *c = luaL_checkudata(L, 1, CX_CLIENT_MT);
    if (c->closed)
        lua_pushstring(L, "cxcloud.core.client (closed)");
    else
        lua_pushfstring(L, "cxcloud.core.client: client_id=%s (open)", c->client_id);
    return 1;
}

/* client:set_token(token, type) installs the bearer token; set_token(nil) drops it. */
static int client_set_token(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    size_t n, tn;
    const char *token = luaL_optlstring(L, 2, NULL, &n);
    const char *type = luaL_optlstring(L, 3, "Bearer", &tn);
    char *copy = NULL, *header = NULL;
    if (token) {
        const char *p;
        for (p = token; p < token + n; p++)
            luaL_argcheck(L, *p > 32 && *p < 127, 2, "token must be printable ASCII");
        for (p = type; p < type + tn; p++)
            luaL_argcheck(L, *p > 32 && *p < 127, 3, "token type must be printable ASCII");
        copy = cx_strdup(token);
        header = malloc(sizeof("Authorization:  ") + tn + n);
        if (!copy || !header) {
            cx_free_secret(copy);
            free(header);
            return luaL_error(L, "cxcloud: out of memory");
        }
        memcpy(header, "Authorization: ", 15);
        memcpy(header + 15, type, tn);
        header[15 + tn] = ' ';
        memcpy(header + 16 + tn, token, n + 1);
    }
    cx_free_secret(c->auth_header);
    c->auth_header = header;
    set_token_slot(c, copy);
    return 0;
}

/* The texts never shown: the secret (raw and form-encoded) and every token still known.
   Very short values would mask ordinary words; real secrets and tokens are long. */
static size_t collect_needles(const cx_client *c, const char **needles)
{
    size_t n = 0;
    int k;
    if (c->secret && strlen(c->secret) >= 4)
        needles[n++] = c->secret;
    if (c->secret_encoded && strlen(c->secret_encoded) >= 4)
        needles[n++] = c->secret_encoded;
    for (k = 0; k <= CX_OLD_TOKENS; k++)
        if (c->tokens[k] && strlen(c->tokens[k]) >= 4)
            needles[n++] = c->tokens[k];
    if (c->proxy_password && strlen(c->proxy_password) >= 4)
        needles[n++] = c->proxy_password;
    if (c->proxy_password_encoded && strlen(c->proxy_password_encoded) >= 4)
        needles[n++] = c->proxy_password_encoded;
    if (c->proxy_headers) /* the Basic credentials, base64 */
        needles[n++] = c->proxy_headers->data + sizeof(PROXY_AUTH) - 1;
    return n;
}

/* Pushes s redacted; with a max, only what is shown: the redacted image of s's first max
   bytes (a needle starting there is masked whole), cut to max bytes. Returns 1 when s had
   more than the pushed text shows. (size_t)-1: all of s. */
static int redact_push_prefix(lua_State *L, const cx_client *c, const char *s, size_t len,
                              size_t max)
{
    const char *needles[6 + CX_OLD_TOKENS];
    size_t n = collect_needles(c, needles), out_len, consumed;
    int cut;
    char *out = cx_redact_prefix(s, len, max, needles, n, &out_len, &consumed);
    if (!out) {
        lua_pushliteral(L, "[REDACTED: out of memory]");
        return 0;
    }
    cut = consumed < len || out_len > max;
    lua_pushlstring(L, out, out_len > max ? max : out_len);
    free(out);
    return cut;
}

static void redact_push(lua_State *L, const cx_client *c, const char *s, size_t len)
{
    redact_push_prefix(L, c, s, len, (size_t)-1);
}

/* client:redact(s [, max]) -> text, cut: s with the secret and tokens masked; with max,
   only its first max bytes are scanned and shown, and cut says whether s was longer. */
static int client_redact(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    size_t max = (size_t)-1;
    if (!lua_isnoneornil(L, 3)) {
        lua_Integer m = luaL_checkinteger(L, 3);
        luaL_argcheck(L, m >= 0, 3, "must be a non-negative integer");
        max = (size_t)m;
    }
    lua_pushboolean(L, redact_push_prefix(L, c, s, len, max));
    return 2;
}

static int client_stats(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    long long connects, requests;
    cx_transport_stats(c->tp, &connects, &requests);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)connects);
    lua_setfield(L, -2, "connects");
    lua_pushinteger(L, (lua_Integer)requests);
    lua_setfield(L, -2, "requests");
    return 1;
}

static const char *opt_string(lua_State *L, int idx, const char *name, int required)
{
    const char *v;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        if (required)
            luaL_error(L, "cxcloud.core.new: option '%s' is required", name);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "cxcloud.core.new: option '%s' must be a string", name);
    v = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the options table */
    return v;
}

static double opt_number(lua_State *L, int idx, const char *name, double dflt)
{
    double v;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return dflt;
    }
    if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < 0)
        luaL_error(L, "cxcloud.core.new: option '%s' must be a non-negative number", name);
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Integer options arrive validated (cxcloud.options): read them as integers, never
   through a double (a cast out of range is undefined behaviour). */
static lua_Integer opt_integer(lua_State *L, int idx, const char *name, lua_Integer dflt,
                               lua_Integer hi)
{
    lua_Integer v;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return dflt;
    }
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > hi)
        luaL_error(L, "cxcloud.core.new: option '%s' must be an integer from 0 to %I", name, hi);
    v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Seconds, as the whole milliseconds libcurl takes, rounded up: libcurl reads 0 as "no
   timeout", so a positive value never becomes 0 (a value within a rounding error of a whole
   millisecond stays that millisecond). hi is the bound cxcloud.options accepts: the values
   arrive validated; the check only keeps the conversion defined. */
static long opt_ms(lua_State *L, int idx, const char *name, double dflt, double hi)
{
    double v = opt_number(L, idx, name, dflt), ms;
    if (!(v > 0 && v <= hi))
        luaL_error(L, "cxcloud.core.new: option '%s' must be a number of seconds > 0 and at "
                   "most %f", name, (lua_Number)hi);
    ms = ceil(v * 1000 - 1e-6);
    return ms < 1 ? 1 : (long)ms;
}

static int opt_bool(lua_State *L, int idx, const char *name, int dflt)
{
    int v;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return dflt;
    }
    if (!lua_isboolean(L, -1))
        luaL_error(L, "cxcloud.core.new: option '%s' must be a boolean", name);
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static char *must_dup(lua_State *L, const char *s)
{
    char *d;
    if (!s)
        return NULL;
    d = cx_strdup(s);
    if (!d)
        luaL_error(L, "cxcloud: out of memory");
    return d;
}

static void read_connect_to(lua_State *L, cx_client *c)
{
    lua_Integer i, n;
    lua_getfield(L, 1, "connect_to");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "cxcloud.core.new: option 'connect_to' must be a list of strings");
    n = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
        struct curl_slist *l;
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "cxcloud.core.new: connect_to[%d] must be a string", (int)i);
        l = curl_slist_append(c->connect_to, lua_tostring(L, -1));
        if (!l)
            luaL_error(L, "cxcloud: out of memory");
        c->connect_to = l;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The Basic credentials become one ready header (libcurl keeps no copy of the password);
   every buffer that held them is wiped. */
static void set_proxy_credentials(lua_State *L, cx_client *c, const char *user,
                                  const char *password)
{
    size_t un = strlen(user), pn = strlen(password);
    char *plain = malloc(un + pn + 2);
    char *header = malloc(sizeof(PROXY_AUTH) - 1 + CX_BASE64_SIZE(un + 1 + pn));
    struct curl_slist *l = NULL;
    if (plain && header) {
        memcpy(plain, user, un);
        plain[un] = ':';
        memcpy(plain + un + 1, password, pn + 1);
        memcpy(header, PROXY_AUTH, sizeof(PROXY_AUTH) - 1);
        cx_base64((const unsigned char *)plain, un + pn + 1, header + sizeof(PROXY_AUTH) - 1);
        l = curl_slist_append(NULL, header);
    }
    cx_free_secret(plain);
    cx_free_secret(header);
    c->proxy_headers = l;
    c->proxy_password = cx_strdup(password);
    c->proxy_password_encoded = malloc(3 * pn + 1);
    if (!l || !c->proxy_password || !c->proxy_password_encoded)
        luaL_error(L, "cxcloud: out of memory");
    cx_urlencode(password, pn, c->proxy_password_encoded);
}

/* options.proxy = {url = "http://host:port", user, password, api = bool, token = bool} */
static void read_proxy(lua_State *L, cx_client *c)
{
    const char *user, *password;
    lua_getfield(L, 1, "proxy");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "cxcloud.core.new: option 'proxy' must be a table");
    c->proxy = must_dup(L, opt_string(L, -1, "url", 1));
    lua_getfield(L, -1, "api");
    c->proxy_api = lua_toboolean(L, -1);
    lua_getfield(L, -2, "token");
    c->proxy_token = lua_toboolean(L, -1);
    lua_pop(L, 2);
    user = opt_string(L, -1, "user", 0);
    password = opt_string(L, -1, "password", 0);
    if (user)
        set_proxy_credentials(L, c, user, password ? password : "");
    lua_pop(L, 1);
}

/* The transport, from the options read into c. */
static void start_transport(lua_State *L, cx_client *c)
{
    cx_transport_options o;
    const char **connect_to;
    const struct curl_slist *l;
    size_t n = 0;
    char err[256];
    for (l = c->connect_to; l; l = l->next)
        n++;
    /* Userdata, not malloc: freed by the GC even if something below raises. */
    connect_to = lua_newuserdatauv(L, (n ? n : 1) * sizeof *connect_to, 0);
    n = 0;
    for (l = c->connect_to; l; l = l->next)
        connect_to[n++] = l->data;
    memset(&o, 0, sizeof o);
    o.ca_file = c->ca_file;
    o.user_agent = c->user_agent;
    o.connect_to = connect_to;
    o.nconnect_to = n;
    o.timeout_ms = c->timeout_ms;
    o.connect_timeout_ms = c->connect_timeout_ms;
    o.max_body = c->max_body > 0 ? (size_t)c->max_body : 0;
    o.max_header = c->max_header;
    o.http2 = c->http2;
    o.allow_http = c->allow_http;
    o.verbose = c->verbose;
    o.proxy = c->proxy;
    o.proxy_header = c->proxy_headers ? c->proxy_headers->data : NULL;
    c->tp = cx_transport_new(&o, err, sizeof err);
    lua_pop(L, 1);
    if (!c->tp)
        luaL_error(L, "cxcloud: %s", err);
}

static char *token_form(const cx_client *c)
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

/* client:submit{url = ..., token = bool} -> id. A token request POSTs the credentials to the
   token URL; an API request is a GET with the bearer token. */
static int client_submit(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    const char *headers[3], *err = NULL;
    size_t nh = 0;
    char *form = NULL;
    cx_request r;
    long long id;
    int token;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "token");
    token = lua_toboolean(L, -1);
    lua_pop(L, 1);
    memset(&r, 0, sizeof r);
    if (token) {
        r.url = c->token_url;
    } else {
        lua_getfield(L, 2, "url");
        r.url = lua_tostring(L, -1); /* stays on the stack until the call returns */
        if (!r.url)
            return luaL_error(L, "cxcloud: submit needs a url string");
    }
    headers[nh++] = "Accept: application/json";
    if (token) {
        form = token_form(c);
        if (!form)
            return luaL_error(L, "cxcloud: out of memory");
        headers[nh++] = "Content-Type: application/x-www-form-urlencoded";
    } else if (c->auth_header) {
        headers[nh++] = c->auth_header;
    }
    headers[nh++] = "Expect:";
    r.post_body = form;
    r.headers = headers;
    r.nheaders = nh;
    r.sensitive = token; /* the token response holds the access token */
    r.via_proxy = c->proxy && (token ? c->proxy_token : c->proxy_api);
    id = cx_transport_submit(c->tp, &r, &err);
    cx_free_secret(form);
    if (id < 0)
        return luaL_error(L, "cxcloud: %s", err);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

typedef struct {
    lua_State *L;
    const cx_client *c;
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

/* A wanted header goes to Lua through the redactor, like the trace: a gateway that reflects
   the request can put the form body (client_secret=...) or "Bearer <token>" into a request
   id, an error code or a content type, which end up in error messages. */
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
        redact_push(L, h->c, value, vlen);
        lua_concat(L, 3);
    } else {
        lua_pop(L, 1);
        redact_push(L, h->c, value, vlen);
    }
    lua_rawset(L, h->table);
}

static void push_result(lua_State *L, const cx_client *c, const cx_result *r)
{
    header_ctx h;
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)r->id);
    lua_setfield(L, -2, "id");
    if (r->status > 0) {
        lua_pushinteger(L, r->status);
        lua_setfield(L, -2, "status");
    }
    if (r->body) {
        lua_pushlstring(L, r->body, r->body_len);
        lua_setfield(L, -2, "body");
    }
    lua_createtable(L, 0, 2);
    h.L = L;
    h.c = c;
    h.table = lua_gettop(L);
    cx_parse_headers(r->headers, r->headers_len, put_header, &h);
    lua_setfield(L, -2, "headers");
    lua_pushnumber(L, r->seconds);
    lua_setfield(L, -2, "time");
    lua_pushinteger(L, r->connects);
    lua_setfield(L, -2, "connects");
    lua_pushstring(L, r->http2 ? "2" : "1.1");
    lua_setfield(L, -2, "http_version");
    if (r->error_kind) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, r->error_kind);
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, r->code);
        lua_setfield(L, -2, "code");
        redact_push(L, c, r->error, strlen(r->error));
        lua_setfield(L, -2, "message");
        if (r->proxy_failure) {
            lua_pushstring(L, r->proxy_failure);
            lua_setfield(L, -2, "proxy");
            if (r->proxy_status) {
                lua_pushinteger(L, r->proxy_status);
                lua_setfield(L, -2, "proxy_status");
            }
        }
        lua_setfield(L, -2, "error");
    }
}

/* client:poll(max_wait) -> array of results, trace text or nil. Does the I/O that is ready;
   with max_wait > 0 waits up to that many seconds, returning as soon as a request ends.
   The caller hands the trace to the user's function: never from C. */
static int client_poll(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    double wait = luaL_optnumber(L, 2, 0);
    const cx_result *r;
    const char *trace;
    size_t tlen;
    int n = 0;
    if (cx_transport_run(c->tp, wait) < 0)
        return luaL_error(L, "cxcloud: waiting for the network failed (the poller)");
    lua_newtable(L);
    /* A result stays owned by the transport until its table exists, so an error while
       building it leaks nothing. */
    while ((r = cx_transport_peek(c->tp))) {
        push_result(L, c, r);
        lua_rawseti(L, -2, ++n);
        cx_transport_pop(c->tp);
    }
    trace = cx_transport_trace(c->tp, &tlen);
    if (trace) {
        redact_push(L, c, trace, tlen);
        cx_transport_trace_clear(c->tp);
    } else {
        lua_pushnil(L);
    }
    return 2;
}

/* client:cancel(id) -> true if the request was in flight or unread. */
static int client_cancel(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    lua_pushboolean(L, cx_transport_cancel(c->tp, (long long)id));
    return 1;
}

/* client:pending() -> requests in flight. */
static int client_pending(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    lua_pushinteger(L, cx_transport_pending(c->tp));
    return 1;
}

/* client:pollfd() -> the descriptor readable when the client has I/O to do (stable). */
static int client_pollfd(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    lua_pushinteger(L, cx_transport_fd(c->tp));
    return 1;
}

/* client:timeout() -> seconds until poll must be called even if the descriptor stays quiet
   (0: now), or nil when only the descriptor can tell (nothing pending). */
static int client_timeout(lua_State *L)
{
    cx_client *c = check_client(L, 1);
    double t = cx_transport_timeout(c->tp);
    if (t < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, t);
    return 1;
}

/* core.new(options) -> client. Validation of user input happens in Lua first; these checks
   only keep the C side safe. */
int cx_client_new(lua_State *L)
{
    cx_client *c;
    const char *secret;
    size_t slen;
    luaL_checktype(L, 1, LUA_TTABLE);
    c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    /* From here an error raised while building leaves a half-built client: __gc frees it. */
    luaL_setmetatable(L, CX_CLIENT_MT);

    c->client_id = must_dup(L, opt_string(L, 1, "client_id", 1));
    secret = opt_string(L, 1, "client_secret", 1);
    c->secret = must_dup(L, secret);
    slen = strlen(secret);
    c->secret_encoded = malloc(3 * slen + 1);
    if (!c->secret_encoded)
        return luaL_error(L, "cxcloud: out of memory");
    cx_urlencode(secret, slen, c->secret_encoded);
    c->token_url = must_dup(L, opt_string(L, 1, "token_url", 1));
    c->ca_file = must_dup(L, opt_string(L, 1, "ca_file", 0));
    c->user_agent = must_dup(L, opt_string(L, 1, "user_agent", 0));
    if (!c->user_agent) {
        const char *ua = lua_pushfstring(L, "cxcloud/%s libcurl/%s", CX_VERSION,
                                         cx_curl_version());
        c->user_agent = must_dup(L, ua);
        lua_pop(L, 1);
    }
    /* the bounds of cxcloud.options (MAX_TIMEOUT, MAX_CONNECT_TIMEOUT) */
    c->timeout_ms = opt_ms(L, 1, "timeout", 60, 86400);
    c->connect_timeout_ms = opt_ms(L, 1, "connect_timeout", 10, 3600);
    c->max_body = (curl_off_t)opt_integer(L, 1, "max_body_size", 8 * 1024 * 1024,
                                          (lua_Integer)4 << 30);
    c->max_header = (size_t)opt_integer(L, 1, "max_header_size", 64 * 1024, 16 << 20);
    c->http2 = opt_bool(L, 1, "http2", 1);
    c->allow_http = opt_bool(L, 1, "allow_http", 0);
    read_connect_to(L, c);
    read_proxy(L, c);
    /* verbose: any true value (the Lua side passes its function) turns the trace on. */
    lua_getfield(L, 1, "verbose");
    c->verbose = lua_toboolean(L, -1);
    lua_pop(L, 1);

    start_transport(L, c);
    return 1;
}

static int client_gc(lua_State *L)
{
    cx_client *c = luaL_checkudata(L, 1, CX_CLIENT_MT);
    client_release(c);
    return 0;
}

static const luaL_Reg client_methods[] = {
    {"submit", client_submit},
    {"poll", client_poll},
    {"cancel", client_cancel},
    {"pending", client_pending},
    {"pollfd", client_pollfd},
    {"timeout", client_timeout},
    {"set_token", client_set_token},
    {"redact", client_redact},
    {"stats", client_stats},
    {"close", client_close},
    {NULL, NULL},
};

static const luaL_Reg client_meta[] = {
    {"__gc", client_gc},
    {"__close", client_close},
    {"__tostring", client_tostring},
    {NULL, NULL},
};

void cx_client_register(lua_State *L)
{
    luaL_newmetatable(L, CX_CLIENT_MT);
    luaL_setfuncs(L, client_meta, 0);
    luaL_newlib(L, client_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}
