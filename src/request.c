/* Requests in: client:submit builds a request of the transport (lib/transport.c) from the
   client's credentials and token: the OAuth2 client-credentials form for the token URL, or
   an API GET with the bearer token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "lib/buffer.h"
#include "lib/encode.h"

/* The token request's body (holds the secret: the caller wipes it), or NULL. */
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
int cx_request_submit(lua_State *L)
{
    cx_client *c = cx_client_check(L, 1);
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
    r.via_proxy = token ? c->proxy_token : c->proxy_api;
    id = cx_transport_submit(c->tp, &r, &err);
    cx_free_secret(form);
    if (id < 0)
        return luaL_error(L, "cxcloud: %s", err);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}
