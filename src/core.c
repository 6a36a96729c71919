/* luaopen_cxcloud_core: the module entry of cxcloud.core. Builds the module table from the
   other files of the binding (client.c, request.c, result.c, json.c, lockfile.c,
   canonical.c) and its own small functions (clocks, sleep, URL encoding, Retry-After,
   digest). */
#include <time.h>

#include "cxcloud.h"
#include "lib/curl_init.h"
#include "lib/digest.h"
#include "lib/encode.h"
#include "lib/headers.h"

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

static int l_time(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    struct timespec ts;
    if (!(s > 0))
        return 0;
    if (s > 86400)
        s = 86400;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}

static int l_urlencode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    /* Userdata, not malloc: if pushing the string raises, the GC still frees it. */
    char *out = lua_newuserdatauv(L, 3 * n + 1, 0);
    lua_pushlstring(L, out, cx_urlencode(s, n, out));
    return 1;
}

static int l_parse_retry_after(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    double now = luaL_optnumber(L, 2, (double)time(NULL)), seconds;
    if (cx_parse_retry_after(s, n, now, &seconds) != 0)
        return 0;
    lua_pushnumber(L, seconds);
    return 1;
}

/* core.digest(s) -> 32 lowercase hex digits: MurmurHash3 x64 128, seed 0, of the bytes of s
   (lib/digest.h fixes the algorithm and the byte order, the same everywhere). For change
   detection, not security. A string only: a number would hash its formatting, which
   differs between Lua versions. */
static int l_digest(lua_State *L)
{
    size_t n;
    const char *s;
    char hex[CX_DIGEST_HEX + 1];
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "digest: expected a string, got %s", luaL_typename(L, 1));
    s = lua_tolstring(L, 1, &n);
    cx_digest_hex(s, n, hex);
    lua_pushlstring(L, hex, CX_DIGEST_HEX);
    return 1;
}

static int l_curl_version(lua_State *L)
{
    lua_pushfstring(L, "libcurl/%s", cx_curl_version());
    return 1;
}

static const luaL_Reg functions[] = {
    {"new", cx_client_new},
    {"now", l_now},
    {"time", l_time},
    {"sleep", l_sleep},
    {"urlencode", l_urlencode},
    {"parse_retry_after", l_parse_retry_after},
    {"curl_version", l_curl_version},
    {"digest", l_digest},
    {"canonical", cx_canonical},
    {NULL, NULL},
};

/* The client's methods that move requests and results; client.c has the others. */
static const luaL_Reg transfer_methods[] = {
    {"submit", cx_request_submit},
    {"poll", cx_result_poll},
    {NULL, NULL},
};

int luaopen_cxcloud_core(lua_State *L);

int luaopen_cxcloud_core(lua_State *L)
{
    if (cx_curl_init() != 0)
        return luaL_error(L, "cxcloud: libcurl initialisation failed");
    cx_client_register(L, transfer_methods);
    luaL_newlib(L, functions);
    cx_json_register(L);
    cx_lockfile_register(L);
    return 1;
}
