/* libcurl's process-wide initialisation, once whatever the number of transports, Lua states
   and threads. cx_transport_new calls it: a C program need not. */
#ifndef CX_LIB_CURL_INIT_H
#define CX_LIB_CURL_INIT_H

/* 0 when libcurl is initialised (now or before), -1 when curl_global_init failed. */
int cx_curl_init(void);
/* libcurl's version ("8.5.0"), read at initialisation; "unknown" before it. */
const char *cx_curl_version(void);

#endif
