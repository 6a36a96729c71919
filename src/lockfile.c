/* core.lockfile(path): advisory slot locks on a lock file, over lib/filelock.c (fcntl
   byte-range locks, dropped by the kernel when the process dies, SIGKILL included).

     local lf, err = core.lockfile(path)   -- nil, "<path>: <strerror>" when it cannot open
     lf:try(slot)      -- true: this process holds slot now; false, pid: another process
                       -- holds it (pid nil when unknown); nil, message: a system error
     lf:release(slot)  -- true (nil, message on a system error)
     lf:close()        -- drops every slot and closes; idempotent; also __gc and __close

   slot: an integer 0..2^31-1. The descriptor is close-on-exec. The file is created with
   mode 0600 (before the umask): a write lock needs a descriptor open for writing, so only
   the owner can take slots anyway, and a world-readable file would let any local user hold
   a read lock on a slot and block the sync.
   The locks are the process's, not the handle's: two handles on one file in one process do
   not exclude each other, and closing ANY descriptor of the file in the process (another
   handle, io.open(path):close(), SQLite opening and closing it) drops all of them. Keep one
   handle per path per process, and lock a file of its own, never the database itself. */
#include <stdlib.h>
#include <string.h>

#include "cxcloud.h"
#include "lib/filelock.h"

#define LOCKFILE_MT "cxcloud.core.lockfile"

typedef struct {
    int fd; /* -1 once closed */
    char path[1];
} lockfile;

static lockfile *check_open(lua_State *L, const char *method)
{
    lockfile *lf = luaL_checkudata(L, 1, LOCKFILE_MT);
    if (lf->fd < 0)
        luaL_error(L, "lockfile:%s: the lock file %s is closed", method, lf->path);
    return lf;
}

static long check_slot(lua_State *L, const char *method)
{
    lua_Integer slot;
    if (!lua_isinteger(L, 2))
        luaL_error(L, "lockfile:%s: slot must be an integer 0..%d, got %s", method,
                   (int)CX_FILELOCK_MAX_SLOT, lua_type(L, 2) == LUA_TNUMBER
                   ? "a non-integral number" : luaL_typename(L, 2));
    slot = lua_tointeger(L, 2);
    if (slot < 0 || slot > CX_FILELOCK_MAX_SLOT)
        luaL_error(L, "lockfile:%s: slot must be an integer 0..%d, got %s", method,
                   (int)CX_FILELOCK_MAX_SLOT, lua_tostring(L, 2));
    return (long)slot;
}

static int l_lockfile(lua_State *L)
{
    size_t n;
    const char *path = luaL_checklstring(L, 1, &n);
    char err[512];
    lockfile *lf;
    if (strlen(path) != n)
        return luaL_error(L, "lockfile: the path contains a zero byte");
    /* the userdata first: if it cannot be made, no descriptor is open yet */
    lf = lua_newuserdatauv(L, sizeof *lf + n, 0);
    lf->fd = -1;
    memcpy(lf->path, path, n + 1);
    luaL_setmetatable(L, LOCKFILE_MT);
    lf->fd = cx_filelock_open(path, err, sizeof err);
    if (lf->fd < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

static int lf_try(lua_State *L)
{
    lockfile *lf = check_open(L, "try");
    long slot = check_slot(L, "try"), holder;
    char err[256];
    int r = cx_filelock_try(lf->fd, slot, &holder, err, sizeof err);
    if (r < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", lf->path, err);
        return 2;
    }
    lua_pushboolean(L, r);
    if (r)
        return 1;
    if (holder > 0)
        lua_pushinteger(L, (lua_Integer)holder);
    else
        lua_pushnil(L);
    return 2;
}

static int lf_release(lua_State *L)
{
    lockfile *lf = check_open(L, "release");
    long slot = check_slot(L, "release");
    char err[256];
    if (cx_filelock_release(lf->fd, slot, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", lf->path, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int lf_close(lua_State *L)
{
    lockfile *lf = luaL_checkudata(L, 1, LOCKFILE_MT);
    cx_filelock_close(lf->fd);
    lf->fd = -1;
    lua_pushboolean(L, 1);
    return 1;
}

static int lf_gc(lua_State *L)
{
    lf_close(L);
    return 0;
}

static int lf_tostring(lua_State *L)
{
    lockfile *lf = luaL_checkudata(L, 1, LOCKFILE_MT);
    lua_pushfstring(L, "cxcloud.lockfile: %s%s", lf->path, lf->fd < 0 ? " (closed)" : "");
    return 1;
}

static const luaL_Reg lockfile_methods[] = {
    {"try", lf_try},
    {"release", lf_release},
    {"close", lf_close},
    {NULL, NULL},
};

static const luaL_Reg lockfile_meta[] = {
    {"__gc", lf_gc},
    {"__close", lf_gc},
    {"__tostring", lf_tostring},
    {NULL, NULL},
};

void cx_lockfile_register(lua_State *L)
{
    luaL_newmetatable(L, LOCKFILE_MT);
    luaL_setfuncs(L, lockfile_meta, 0);
    luaL_newlib(L, lockfile_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_lockfile);
    lua_setfield(L, -2, "lockfile");
}
