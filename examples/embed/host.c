/* A C program that embeds Lua 5.4 and links libcxcloud.a (`make static`), modelled on
   lua.c: luaL_newstate, a message handler, everything under lua_pcall. The library's Lua
   modules are inside the archive: no file of cxcloud is needed on package.path/cpath.

     host pull CUSTOMER            one pull; the rows are copied into C structs and printed
     host poll CUSTOMER            the same pull driven from this program's own poll() loop
                                   through cx:pollfd(), cx:timeout() and cx:step(0)
     host threads N CUSTOMER...    N threads at once, each with its own lua_State and client,
                                   each pulling one customer (round robin over the list)

   Credentials and endpoints come from CXCLOUD_* (as for cxcloud.new{}). Exit status 0 on
   success, 1 when the work failed (the message says why), 2 on a usage error.

   Build: cc -std=c99 host.c build/libcxcloud.a $(pkg-config --cflags --libs lua5.4 libcurl)
          -lpthread -lm -Wl,-E     (-Wl,-E: lua-cjson is still loaded with require) */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_cxcloud(lua_State *L);

/* One network element as the host keeps it. */
typedef struct {
    char hostname[128];
    char ip[64];
    char product[64];
    char version[64];
} element;

typedef struct {
    element *rows;
    size_t n;
} element_list;

/* ---- the lua.c pattern: a message handler, every call protected ---- */

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1; /* an error object with __tostring: its one-line message */
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int docall(lua_State *L, int narg, int nres)
{
    int status, base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    status = lua_pcall(L, narg, nres, base);
    lua_remove(L, base);
    return status;
}

static int report(lua_State *L, int status, const char *who)
{
    if (status != LUA_OK) {
        fprintf(stderr, "%s: %s\n", who, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return status;
}

/* What the modes call: pull(customer) -> items; start(customer) -> client, coroutine. */
static const char script[] =
    "local cxcloud = require 'cxcloud'\n"
    "local FIELDS = 'hostname,ipAddress,productId,swVersion'\n"
    "function pull(customer)\n"
    "  local cx = cxcloud.new {}\n"
    "  local rows, err = cx:network_elements { customerId = customer, fields = FIELDS }:all()\n"
    "  cx:close()\n"
    "  if not rows then error(err, 0) end\n"
    "  return rows\n"
    "end\n"
    "function start(customer)\n"
    "  -- wherever the client would block it yields to the host's loop instead\n"
    "  local cx = cxcloud.new { wait = function() coroutine.yield() end }\n"
    "  local co = coroutine.create(function()\n"
    "    local rows, err = cx:network_elements { customerId = customer, fields = FIELDS }:all()\n"
    "    if not rows then error(err, 0) end\n"
    "    return rows\n"
    "  end)\n"
    "  return cx, co\n"
    "end\n";

static int open_libraries(lua_State *L)
{
    luaL_openlibs(L);
    luaL_requiref(L, "cxcloud", luaopen_cxcloud, 0);
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, script, sizeof script - 1, "=host") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 0);
    return 0;
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    int status;
    if (!L) {
        fprintf(stderr, "cxcloud-host: cannot create a Lua state\n");
        return NULL;
    }
    /* no lock: cxcloud serialises lua-cjson's process-wide initialisation itself */
    lua_pushcfunction(L, open_libraries);
    status = docall(L, 0, 0);
    if (report(L, status, "cxcloud-host") != LUA_OK) {
        lua_close(L);
        return NULL;
    }
    return L;
}

/* ---- rows from Lua to C ---- */

static void copy_field(lua_State *L, int item, const char *name, char *dst, size_t size)
{
    lua_getfield(L, item, name);
    snprintf(dst, size, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
}

/* The array of items on the top of the stack into list (popped). 0 ok, -1 out of memory. */
static int take_rows(lua_State *L, element_list *list)
{
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
    list->rows = calloc(n ? (size_t)n : 1, sizeof *list->rows);
    list->n = 0;
    if (!list->rows) {
        lua_pop(L, 1);
        return -1;
    }
    for (i = 1; i <= n; i++) {
        element *e = &list->rows[list->n++];
        lua_rawgeti(L, -1, i);
        copy_field(L, -1, "hostname", e->hostname, sizeof e->hostname);
        copy_field(L, -1, "ipAddress", e->ip, sizeof e->ip);
        copy_field(L, -1, "productId", e->product, sizeof e->product);
        copy_field(L, -1, "swVersion", e->version, sizeof e->version);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static void print_rows(const char *mode, const char *customer, const element_list *list)
{
    size_t k;
    printf("%s: customer %s: %zu network elements\n", mode, customer, list->n);
    for (k = 0; k < list->n && k < 3; k++)
        printf("  %-24s %-16s %-20s %s\n", list->rows[k].hostname, list->rows[k].ip,
               list->rows[k].product, list->rows[k].version);
}

/* ---- mode 1: one blocking pull ---- */

static int mode_pull(const char *customer)
{
    element_list list = {NULL, 0};
    lua_State *L = new_state();
    int status;
    if (!L)
        return 1;
    lua_getglobal(L, "pull");
    lua_pushstring(L, customer);
    status = report(L, docall(L, 1, 1), "pull");
    if (status == LUA_OK && take_rows(L, &list) == 0)
        print_rows("pull", customer, &list);
    free(list.rows);
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}

/* ---- mode 2: the host's poll() loop drives the client ---- */

/* cx:name() on the client at index cx; leaves one result. */
static int call_method(lua_State *L, int cx, const char *name, int nargs_number, double arg)
{
    lua_getfield(L, cx, name);
    lua_pushvalue(L, cx);
    if (nargs_number)
        lua_pushnumber(L, arg);
    return docall(L, 1 + nargs_number, 1);
}

static int mode_poll(const char *customer)
{
    element_list list = {NULL, 0};
    lua_State *L = new_state(), *co;
    int status, nres, cx, fd, wakeups = 0, yields = 0;
    if (!L)
        return 1;
    lua_getglobal(L, "start");
    lua_pushstring(L, customer);
    if (report(L, docall(L, 1, 2), "start") != LUA_OK) {
        lua_close(L);
        return 1;
    }
    cx = lua_gettop(L) - 1;
    co = lua_tothread(L, -1);
    if (report(L, call_method(L, cx, "pollfd", 0, 0), "pollfd") != LUA_OK) {
        lua_close(L);
        return 1;
    }
    fd = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    status = lua_resume(co, L, 0, &nres);
    while (status == LUA_YIELD) {
        struct pollfd p;
        int ms = -1;
        yields++;
        lua_pop(co, nres);
        if (report(L, call_method(L, cx, "timeout", 0, 0), "timeout") != LUA_OK)
            break;
        if (lua_isnumber(L, -1)) {
            double t = lua_tonumber(L, -1);
            ms = t <= 0 ? 0 : (int)(t * 1000) + 1;
        }
        lua_pop(L, 1);
        /* a real host polls its own descriptors here too */
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, ms) < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        wakeups++;
        if (report(L, call_method(L, cx, "step", 1, 0), "step") != LUA_OK)
            break;
        lua_pop(L, 1);
        status = lua_resume(co, L, 0, &nres);
    }
    if (status == LUA_OK && nres >= 1) {
        lua_xmove(co, L, 1);
        if (take_rows(L, &list) == 0) {
            print_rows("poll", customer, &list);
            printf("  host loop: %d waits, %d poll() wakeups\n", yields, wakeups);
        }
    } else if (status != LUA_YIELD) {
        lua_pushcfunction(L, msghandler);
        lua_xmove(co, L, 1);
        lua_call(L, 1, 1);
        report(L, LUA_ERRRUN, "poll");
    }
    lua_getfield(L, cx, "close");
    lua_pushvalue(L, cx);
    report(L, docall(L, 1, 0), "close");
    free(list.rows);
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}

/* ---- mode 3: N threads, each with its own state and client ---- */

typedef struct {
    pthread_t thread;
    const char *customer;
    element_list list;
    double started, ended;
    int ok;
} worker;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
    worker *w = arg;
    lua_State *L = new_state();
    w->started = now();
    if (L) {
        lua_getglobal(L, "pull");
        lua_pushstring(L, w->customer);
        if (report(L, docall(L, 1, 1), "thread") == LUA_OK)
            w->ok = take_rows(L, &w->list) == 0;
        lua_close(L);
    }
    w->ended = now();
    return NULL;
}

static int mode_threads(int n, char **customers, int ncustomers)
{
    worker *w = calloc((size_t)n, sizeof *w);
    int k, failed = 0, started = 0;
    double last_start = 0, first_end = 0;
    if (!w) {
        fprintf(stderr, "cxcloud-host: out of memory\n");
        return 1;
    }
    for (k = 0; k < n; k++) {
        w[k].customer = customers[k % ncustomers];
        if (pthread_create(&w[k].thread, NULL, work, &w[k]) != 0) {
            fprintf(stderr, "cxcloud-host: cannot start thread %d\n", k + 1);
            break;
        }
        started++;
    }
    for (k = 0; k < started; k++)
        pthread_join(w[k].thread, NULL);
    for (k = 0; k < started; k++) {
        printf("thread %d: customer %s: %s %zu network elements (%.3f s .. %.3f s)\n", k + 1,
               w[k].customer, w[k].ok ? "ok" : "FAILED", w[k].list.n, w[k].started - w[0].started,
               w[k].ended - w[0].started);
        failed += !w[k].ok;
        if (k == 0 || w[k].started > last_start)
            last_start = w[k].started;
        if (k == 0 || w[k].ended < first_end)
            first_end = w[k].ended;
        free(w[k].list.rows);
    }
    printf("threads: %d of %d ok; all running at once: %s\n", started - failed, n,
           started > 1 && last_start < first_end ? "yes" : "no");
    free(w);
    return failed || started < n ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "pull") == 0)
        return mode_pull(argv[2]);
    if (argc == 3 && strcmp(argv[1], "poll") == 0)
        return mode_poll(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "threads") == 0 && atoi(argv[2]) > 0)
        return mode_threads(atoi(argv[2]), argv + 3, argc - 3);
    fprintf(stderr, "usage: %s pull CUSTOMER | poll CUSTOMER | threads N CUSTOMER...\n", argv[0]);
    return 2;
}
