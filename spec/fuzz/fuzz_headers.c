/* libFuzzer target: response header blocks, Retry-After values and HTTP-dates. */
#include <stdint.h>
#include <string.h>

#include "headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    size_t *total = ud;
    /* Touch every byte so ASan sees any out-of-bounds range. */
    size_t i;
    for (i = 0; i < nlen; i++)
        *total += (unsigned char)name[i];
    for (i = 0; i < vlen; i++)
        *total += (unsigned char)value[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t total = 0;
    double seconds;
    int64_t epoch;
    cx_parse_headers(s, size, count_header, &total);
    if (cx_parse_retry_after(s, size, 1.7e9, &seconds) == 0 && seconds < 0)
        __builtin_trap();
    if (cx_parse_http_date(s, size, &epoch) == 0 && (epoch < -62167219200LL || epoch > 253402300800LL))
        __builtin_trap();
    return 0;
}
