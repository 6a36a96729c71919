/* luaopen_cxcloud_core: the module table of cxcloud.core. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "cxcloud.h"

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
    {NULL, NULL},
};

int luaopen_cxcloud_core(lua_State *L);

/* libcurl's global init, once per process whatever the number of states and threads:
   it is not thread-safe before libcurl 7.84. A mutex rather than pthread_once, so that
   thread checkers (Helgrind) see the order too. Never cleaned up: another state may still
   use libcurl (the program may call curl_global_cleanup at its own exit). */
static pthread_mutex_t curl_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int curl_ready;                               /* under curl_init_lock */
static const char *curl_version_string = "unknown"; /* under curl_init_lock */

/* 0 when libcurl is initialised. curl_version_info refills static buffers on every call:
   called once, here. */
static int init_curl(void)
{
    int ok;
    pthread_mutex_lock(&curl_init_lock);
    if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
        curl_version_string = curl_version_info(CURLVERSION_NOW)->version;
        curl_ready = 1;
    }
    ok = curl_ready;
    pthread_mutex_unlock(&curl_init_lock);
    return ok ? 0 : -1;
}

const char *cx_curl_version(void)
{
    const char *v;
    pthread_mutex_lock(&curl_init_lock);
    v = curl_version_string;
    pthread_mutex_unlock(&curl_init_lock);
    return v;
}

int luaopen_cxcloud_core(lua_State *L)
{
    if (init_curl() != 0)
        return luaL_error(L, "cxcloud: libcurl initialisation failed");
    cx_client_register(L);
    luaL_newlib(L, functions);
    cx_json_register(L);
    lua_pushliteral(L, CX_VERSION);
    lua_setfield(L, -2, "VERSION");
    return 1;
}
