/* The client object of cxcloud.core, shared by the files of the binding that use it:
   client.c (the object, its options, credentials, token and redaction), request.c (requests
   in) and result.c (results out). */
#ifndef CXCLOUD_CLIENT_H
#define CXCLOUD_CLIENT_H

#include "cxcloud.h"
#include "lib/transport.h"

#define CX_OLD_TOKENS 4 /* earlier tokens still redacted from late responses and traces */

typedef struct {
    cx_transport *tp;
    char *client_id;
    char *secret;                    /* never leaves C; wiped on close */
    char *secret_encoded;            /* as it appears in the form body, for redaction */
    char *token_url;
    char *auth_header;               /* "Authorization: <type> <token>", wiped */
    char *tokens[1 + CX_OLD_TOKENS]; /* [0] current; the rest for redaction only */
    int proxy_api, proxy_token;      /* which requests go through the proxy (after no_proxy) */
    char *proxy_header;              /* "Proxy-Authorization: Basic ...", wiped */
    char *proxy_password;            /* for redaction only, wiped */
    char *proxy_password_encoded;    /* as in a proxy URL, for redaction, wiped */
    int closed;
} cx_client;

/* The client at idx; raises if it is closed. */
cx_client *cx_client_check(lua_State *L, int idx);
/* Pushes s with the client's secrets masked. */
void cx_client_push_redacted(lua_State *L, const cx_client *c, const char *s, size_t len);

#endif
