/* The client object, shared by client.c (lifecycle, credentials, token) and transport.c
   (requests over the libcurl multi interface). */
#ifndef CXCLOUD_CLIENT_H
#define CXCLOUD_CLIENT_H

#include <curl/curl.h>

#include "cxcloud.h"

#define CX_OLD_TOKENS 4 /* earlier tokens still redacted from late responses and traces */

typedef struct cx_transfer cx_transfer;

typedef struct {
    CURLM *multi;
    CURLSH *share;
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
    int verbose;        /* gather libcurl's trace */
    cx_buf trace;       /* trace lines gathered inside callbacks, handed over by poll */
    cx_transfer *active; /* transfers in flight */
    cx_transfer *done;   /* completed, result not yet handed to Lua */
    cx_transfer *idle;   /* finished transfers kept for their easy handle */
    lua_Integer next_id;
    lua_Integer connects, requests;
    int closed;
} cx_client;

struct cx_transfer {
    CURL *easy;
    lua_Integer id;
    CURLcode result;
    cx_buf body;
    cx_buf headers;
    char *post_body;              /* token request form body: holds the secret, wiped */
    struct curl_slist *req_headers; /* may hold the token: wiped */
    char errbuf[CURL_ERROR_SIZE];
    int via_proxy;                /* sent through the client's proxy */
    cx_transfer *next;
};

cx_client *cx_check_client(lua_State *L, int idx); /* raises if closed */
void cx_transfer_free(cx_transfer *t);              /* releases its easy handle too */
void cx_transport_close(cx_client *c);
void cx_redact_push(lua_State *L, cx_client *c, const char *s, size_t len);
int cx_client_submit(lua_State *L);
int cx_client_poll(lua_State *L);
int cx_client_cancel(lua_State *L);
int cx_client_pending(lua_State *L);

#endif
