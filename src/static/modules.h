/* The library's Lua modules as compiled into libcxcloud.a (generated: build/static/modules.c). */
#ifndef CXCLOUD_MODULES_H
#define CXCLOUD_MODULES_H

#include <stddef.h>

typedef struct {
    const char *name;      /* module name for require: "cxcloud", "cxcloud.query", ... */
    const char *chunkname; /* "=cxcloud/query.lua": what error messages and tracebacks show */
    const char *source;
    size_t len;
} cx_lua_module;

extern const cx_lua_module cx_lua_modules[]; /* ends with a NULL name */

#endif
