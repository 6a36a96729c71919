/* The Lua binding of cxcloud.core: what its files export to one another. The module entry
   (core.c) calls the others; request.c and result.c use the client object of client.c
   (client.h); nothing calls back up. The plain C they use is in lib/. */
#ifndef CXCLOUD_H
#define CXCLOUD_H

#include "compat.h"

#define CX_CLIENT_MT "cxcloud.core.client"

/* json.c: sets decode, decoder and null in the module table at the top of the stack. */
void cx_json_register(lua_State *L);

/* jsondecode.c: the JSON parser, a lua_CFunction called (protected) with a light userdata,
   the struct below; it returns the decoded value, or raises cjson's error messages. The
   text's numbers must have passed the pre-scan (cx_json_scan). */
struct cx_idset;
struct cx_json_parse_args {
    const char *text;
    size_t len;
    const struct cx_idset *ids; /* identifier fields (NULL: none) */
    int max_depth;
};
int cx_json_parse(lua_State *L);

/* lockfile.c: sets lockfile in the module table at the top of the stack, and registers the
   lock file's metatable. */
void cx_lockfile_register(lua_State *L);

/* client.c: core.new, and the client's metatable with its methods and those in `more`. */
int cx_client_new(lua_State *L);
void cx_client_register(lua_State *L, const luaL_Reg *more);

/* request.c: client:submit. */
int cx_request_submit(lua_State *L);

/* result.c: client:poll. */
int cx_result_poll(lua_State *L);

/* canonical.c: core.canonical, the store's canonical JSON of a value (and its digest). */
int cx_canonical(lua_State *L);

#endif
