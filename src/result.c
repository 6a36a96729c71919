/* Results out: client:poll runs the transport (lib/transport.c) and turns its finished
   requests into Lua tables: status, body, the headers the engine reads (redacted), timing,
   and for a failed transfer what the transport reported (not what it means: Lua decides
   that). Nothing here runs inside a libcurl
   callback. */
#include <string.h>

#include "client.h"
#include "lib/headers.h"

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
        cx_client_push_redacted(L, h->c, value, vlen);
        lua_concat(L, 3);
    } else {
        lua_pop(L, 1);
        cx_client_push_redacted(L, h->c, value, vlen);
    }
    lua_rawset(L, h->table);
}

/* A failed transfer as the transport reported it: {code, message, limit, via_proxy,
   proxy_status}. What it means (timeout, TLS, too large, the proxy's refusal...) is decided in
   Lua (cxcloud.curl). */
static void push_error(lua_State *L, const cx_client *c, const cx_result *r)
{
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, r->code);
    lua_setfield(L, -2, "code");
    cx_client_push_redacted(L, c, r->error, strlen(r->error));
    lua_setfield(L, -2, "message");
    if (r->limit) {
        lua_pushstring(L, r->limit == CX_LIMIT_BODY ? "body" : "header");
        lua_setfield(L, -2, "limit");
    }
    if (r->via_proxy) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "via_proxy");
        if (r->proxy_status) {
            lua_pushinteger(L, r->proxy_status);
            lua_setfield(L, -2, "proxy_status");
        }
    }
    lua_setfield(L, -2, "error");
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
    if (r->code != 0)
        push_error(L, c, r);
}

/* client:poll(max_wait) -> array of results, trace text or nil. Does the I/O that is ready;
   with max_wait > 0 waits up to that many seconds, returning as soon as a request ends.
   The caller hands the trace to the user's function: never from C. */
int cx_result_poll(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
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
        cx_client_push_redacted(L, c, trace, tlen);
        cx_transport_trace_clear(c->tp);
    } else {
        lua_pushnil(L);
    }
    return 2;
}
