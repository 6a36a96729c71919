/* libcurl's global initialisation: curl_global_init is not thread-safe before libcurl 7.84,
   so it runs once per process, under a lock. A mutex rather than pthread_once, so that thread
   checkers (Helgrind) see the order too. Never cleaned up: another transport may still use
   libcurl (the program may call curl_global_cleanup at its own exit). */
#include <pthread.h>

#include <curl/curl.h>

#include "curl_init.h"

static pthread_mutex_t curl_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int curl_ready;                               /* under curl_init_lock */
static const char *curl_version_string = "unknown"; /* under curl_init_lock */

/* curl_version_info refills static buffers on every call: called once, here. */
int cx_curl_init(void)
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
