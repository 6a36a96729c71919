/* Declarations of the Lua side of cxcloud.core (module entry, JSON decoding, the client
   binding); the plain C parts are in cxbase.h and transport.h. */
#ifndef CXCLOUD_H
#define CXCLOUD_H

#include <lua.h>
#include "compat.h"

#include "cxbase.h"

#define CX_VERSION "0.1.0"
#define CX_CLIENT_MT "cxcloud.core.client"

/* json.c */
/* Sets decode, decoder and null in the module table at the top of the stack. */
void cx_json_register(lua_State *L);

/* core.c: libcurl's version string ("7.88.1"), read once at the first luaopen. */
const char *cx_curl_version(void);

/* client.c: the client userdata over the transport. */
int cx_client_new(lua_State *L);
void cx_client_register(lua_State *L);

#endif
