/* The client object of cxcloud.core (core.new): a userdata over a transport (lib/transport.c)
   that keeps the credentials, the token and what must be redacted; reads its options; masks
   its secrets in text for Lua. Requests in: request.c; results out: result.c. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "lib/buffer.h"
#include "lib/encode.h"
#include "lib/redact.h"

#define PROXY_AUTH "Proxy-Authorization: Basic "

cx_client *cx_client_check(lua_State *L, int idx)
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

static void client_release(cx_client *c)
{
    int k;
    if (c->closed)
        return;
    c->closed = 1;
    cx_transport_free(c->tp);
    c->tp = NULL;
    cx_free_secret(c->proxy_header);
    cx_free_secret(c->proxy_password);
    cx_free_secret(c->proxy_password_encoded);
    cx_free_secret(c->secret);
    cx_free_secret(c->secret_encoded);
    cx_free_secret(c->auth_header);
    for (k = 0; k <= CX_OLD_TOKENS; k++) {
        cx_free_secret(c->tokens[k]);
        c->tokens[k] = NULL;
    }
    c->proxy_header = c->proxy_password = c->proxy_password_encoded = NULL;
    c->secret = c->secret_encoded = c->auth_header = NULL;
    free(c->client_id);
    free(c->token_url);
    c->client_id = c->token_url = NULL;
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
    cx_client *c = cx_client_check(L, 1);
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

/* ------------------------------------------------------------------------------------------
   redaction */

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
    if (c->proxy_header) /* the Basic credentials, base64 */
        needles[n++] = c->proxy_header + sizeof(PROXY_AUTH) - 1;
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

void cx_client_push_redacted(lua_State *L, const cx_client *c, const char *s, size_t len)
{
    redact_push_prefix(L, c, s, len, (size_t)-1);
}

/* client:redact(s [, max]) -> text, cut: s with the secret and tokens masked; with max,
   only its first max bytes are scanned and shown, and cut says whether s was longer. */
static int client_redact(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
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

/* ------------------------------------------------------------------------------------------
   the transport's state */

static int client_stats(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
    long long connects, requests;
    cx_transport_stats(c->tp, &connects, &requests);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)connects);
    lua_setfield(L, -2, "connects");
    lua_pushinteger(L, (lua_Integer)requests);
    lua_setfield(L, -2, "requests");
    return 1;
}

/* client:cancel(id) -> true if the request was in flight or unread. */
static int client_cancel(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    lua_pushboolean(L, cx_transport_cancel(c->tp, (long long)id));
    return 1;
}

/* client:pending() -> requests in flight. */
static int client_pending(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
    lua_pushinteger(L, cx_transport_pending(c->tp));
    return 1;
}

/* client:pollfd() -> the descriptor readable when the client has I/O to do (stable). */
static int client_pollfd(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
    lua_pushinteger(L, cx_transport_fd(c->tp));
    return 1;
}

/* client:timeout() -> seconds until poll must be called even if the descriptor stays quiet
   (0: now), or nil when only the descriptor can tell (nothing pending). */
static int client_timeout(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
    double t = cx_transport_timeout(c->tp);
    if (t < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, t);
    return 1;
}

/* ------------------------------------------------------------------------------------------
   options */

/* The options arrive complete and validated (cxcloud.options: M.core): every field is read
   as it is, with no default and no range of its own. A field missing or of another type is
   an internal error that names it. */
static void bad_option(lua_State *L, const char *name, const char *what)
{
    luaL_error(L, "cxcloud.core.new: option '%s' must be %s (cxcloud.options gives every "
               "field)", name, what);
}

/* A string field; NULL when optional and absent. */
static const char *opt_string(lua_State *L, int idx, const char *name, int required)
{
    const char *v;
    lua_getfield(L, idx, name);
    if (lua_isnil(L, -1) && !required) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        bad_option(L, name, "a string");
    v = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the options table */
    return v;
}

/* An integer field, read as an integer (never through a double). */
static lua_Integer opt_integer(lua_State *L, int idx, const char *name)
{
    lua_Integer v;
    lua_getfield(L, idx, name);
    if (!lua_isinteger(L, -1))
        bad_option(L, name, "an integer");
    v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int idx, const char *name)
{
    int v;
    lua_getfield(L, idx, name);
    if (!lua_isboolean(L, -1))
        bad_option(L, name, "a boolean");
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

/* options.connect_to: a list of strings, pointed to from a userdata array (freed by the GC
   even if something raises) that stays on the stack; the strings stay in the options
   table. */
static void read_connect_to(lua_State *L, cx_transport_options *o)
{
    lua_Integer i, n;
    const char **list;
    lua_getfield(L, 1, "connect_to");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L); /* the place of the array */
        return;
    }
    if (!lua_istable(L, -1))
        bad_option(L, "connect_to", "a list of strings");
    n = (lua_Integer)lua_rawlen(L, -1);
    list = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *list, 0);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "cxcloud.core.new: connect_to[%d] must be a string", (int)i);
        list[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_remove(L, -2);
    o->connect_to = list;
    o->nconnect_to = (size_t)n;
}

/* The Basic credentials become one ready header (libcurl keeps no copy of the password);
   every buffer that held them is wiped. */
static void set_proxy_credentials(lua_State *L, cx_client *c, const char *user,
                                  const char *password)
{
    size_t un = strlen(user), pn = strlen(password);
    char *plain = malloc(un + pn + 2);
    char *header = malloc(sizeof(PROXY_AUTH) - 1 + CX_BASE64_SIZE(un + 1 + pn));
    if (plain && header) {
        memcpy(plain, user, un);
        plain[un] = ':';
        memcpy(plain + un + 1, password, pn + 1);
        memcpy(header, PROXY_AUTH, sizeof(PROXY_AUTH) - 1);
        cx_base64((const unsigned char *)plain, un + pn + 1, header + sizeof(PROXY_AUTH) - 1);
    } else {
        free(header);
        header = NULL;
    }
    cx_free_secret(plain);
    c->proxy_header = header;
    c->proxy_password = cx_strdup(password);
    c->proxy_password_encoded = malloc(3 * pn + 1);
    if (!header || !c->proxy_password || !c->proxy_password_encoded)
        luaL_error(L, "cxcloud: out of memory");
    cx_urlencode(password, pn, c->proxy_password_encoded);
}

/* options.proxy = {url = "http://host:port", user, password, api = bool, token = bool} */
static void read_proxy(lua_State *L, cx_client *c, cx_transport_options *o)
{
    const char *user, *password;
    lua_getfield(L, 1, "proxy");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1))
        bad_option(L, "proxy", "a table");
    o->proxy = opt_string(L, -1, "url", 1);
    c->proxy_api = opt_bool(L, -1, "api");
    c->proxy_token = opt_bool(L, -1, "token");
    user = opt_string(L, -1, "user", 0);
    password = opt_string(L, -1, "password", 0);
    if (user)
        set_proxy_credentials(L, c, user, password ? password : "");
    o->proxy_header = c->proxy_header;
    lua_pop(L, 1);
}

/* core.new(options) -> client. options: the table of cxcloud.options' M.core, which lists
   every field. */
int cx_client_new(lua_State *L)
{
    cx_client *c;
    cx_transport_options o;
    const char *secret;
    size_t slen;
    char err[256];
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

    /* the transport's options: its strings stay in the options table until it copies them */
    memset(&o, 0, sizeof o);
    o.ca_file = opt_string(L, 1, "ca_file", 0); /* NULL: the system store */
    o.user_agent = opt_string(L, 1, "user_agent", 1);
    o.timeout_ms = (long)opt_integer(L, 1, "timeout_ms");
    o.connect_timeout_ms = (long)opt_integer(L, 1, "connect_timeout_ms");
    o.max_body = (size_t)opt_integer(L, 1, "max_body_size");
    o.max_header = (size_t)opt_integer(L, 1, "max_header_size");
    o.http2 = opt_bool(L, 1, "http2");
    o.allow_http = opt_bool(L, 1, "allow_http");
    o.verbose = opt_bool(L, 1, "verbose");
    read_connect_to(L, &o);
    read_proxy(L, c, &o);

    c->tp = cx_transport_new(&o, err, sizeof err);
    lua_pop(L, 1); /* the connect_to array */
    if (!c->tp)
        return luaL_error(L, "cxcloud: %s", err);
    return 1;
}

/* ------------------------------------------------------------------------------------------
   the object */

static int client_gc(lua_State *L)
{
    cx_client *c = luaL_checkudata(L, 1, CX_CLIENT_MT);
    client_release(c);
    return 0;
}

static const luaL_Reg client_methods[] = {
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

void cx_client_register(lua_State *L, const luaL_Reg *more)
{
    luaL_newmetatable(L, CX_CLIENT_MT);
    luaL_setfuncs(L, client_meta, 0);
    luaL_newlib(L, client_methods);
    luaL_setfuncs(L, more, 0);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}
