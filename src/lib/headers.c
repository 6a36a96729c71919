/* Response header parsing: header lines, Retry-After and HTTP-dates. All input here comes
   from the server, so every function is bounds-checked and fuzzed (fuzz/). */
#include <string.h>

#include "headers.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

void cx_parse_headers(const char *block, size_t len, cx_header_fn fn, void *ud)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i, end, colon, vs, ve;
        while (i < len && block[i] != '\n')
            i++;
        end = i; /* line is block[start..end) without '\n' */
        if (i < len)
            i++;
        if (end > start && block[end - 1] == '\r')
            end--;
        for (colon = start; colon < end && block[colon] != ':'; colon++)
            ;
        /* Status lines, blank lines and obsolete folded lines carry no name. */
        if (colon == end || colon == start || is_space(block[start]))
            continue;
        vs = colon + 1;
        ve = end;
        while (vs < ve && is_space(block[vs]))
            vs++;
        while (ve > vs && is_space(block[ve - 1]))
            ve--;
        fn(ud, block + start, colon - start, block + vs, ve - vs);
    }
}

static int parse_uint(const char *s, size_t len, size_t *pos, size_t digits, int *out)
{
    size_t k;
    int v = 0;
    for (k = 0; k < digits; k++) {
        if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
            return -1;
        v = v * 10 + (s[(*pos)++] - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char *s, size_t len, size_t *pos, const char *lit)
{
    size_t n = strlen(lit);
    if (len - *pos < n || memcmp(s + *pos, lit, n) != 0)
        return -1;
    *pos += n;
    return 0;
}

static int parse_month(const char *s, size_t len, size_t *pos, int *mon)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int m;
    if (len - *pos < 3)
        return -1;
    for (m = 0; m < 12; m++) {
        if (memcmp(s + *pos, names + 3 * m, 3) == 0) {
            *mon = m + 1;
            *pos += 3;
            return 0;
        }
    }
    return -1;
}

static int parse_time(const char *s, size_t len, size_t *pos, int *h, int *mi, int *se)
{
    if (parse_uint(s, len, pos, 2, h) || expect(s, len, pos, ":") ||
        parse_uint(s, len, pos, 2, mi) || expect(s, len, pos, ":") ||
        parse_uint(s, len, pos, 2, se))
        return -1;
    return (*h > 23 || *mi > 59 || *se > 60) ? -1 : 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int skip_weekday(const char *s, size_t len, size_t *pos, char terminator)
{
    size_t start = *pos;
    while (*pos < len && ((s[*pos] >= 'A' && s[*pos] <= 'Z') || (s[*pos] >= 'a' && s[*pos] <= 'z')))
        (*pos)++;
    if (*pos - start < 3 || *pos >= len || s[*pos] != terminator)
        return -1;
    (*pos)++;
    return 0;
}

int cx_parse_http_date(const char *s, size_t len, int64_t *epoch)
{
    size_t pos = 0;
    int y = 0, mon = 0, d = 0, h = 0, mi = 0, se = 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len >= 4 && s[3] == ',') {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (skip_weekday(s, len, &pos, ',') || expect(s, len, &pos, " ") ||
            parse_uint(s, len, &pos, 2, &d) || expect(s, len, &pos, " ") ||
            parse_month(s, len, &pos, &mon) || expect(s, len, &pos, " ") ||
            parse_uint(s, len, &pos, 4, &y) || expect(s, len, &pos, " ") ||
            parse_time(s, len, &pos, &h, &mi, &se) || expect(s, len, &pos, " GMT"))
            return -1;
    } else if (memchr(s, ',', len)) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: 70..99 -> 19xx) */
        if (skip_weekday(s, len, &pos, ',') || expect(s, len, &pos, " ") ||
            parse_uint(s, len, &pos, 2, &d) || expect(s, len, &pos, "-") ||
            parse_month(s, len, &pos, &mon) || expect(s, len, &pos, "-") ||
            parse_uint(s, len, &pos, 2, &y) || expect(s, len, &pos, " ") ||
            parse_time(s, len, &pos, &h, &mi, &se) || expect(s, len, &pos, " GMT"))
            return -1;
        y += y < 70 ? 2000 : 1900;
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (skip_weekday(s, len, &pos, ' ') || parse_month(s, len, &pos, &mon) ||
            expect(s, len, &pos, " "))
            return -1;
        if (pos < len && s[pos] == ' ') {
            pos++;
            if (parse_uint(s, len, &pos, 1, &d))
                return -1;
        } else if (parse_uint(s, len, &pos, 2, &d)) {
            return -1;
        }
        if (expect(s, len, &pos, " ") || parse_time(s, len, &pos, &h, &mi, &se) ||
            expect(s, len, &pos, " ") || parse_uint(s, len, &pos, 4, &y))
            return -1;
    }
    if (pos != len || d < 1 || d > mdays[mon - 1])
        return -1;
    *epoch = days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

int cx_parse_retry_after(const char *s, size_t len, double now_epoch, double *seconds)
{
    size_t i;
    int64_t when;
    while (len && is_space(*s)) {
        s++;
        len--;
    }
    while (len && is_space(s[len - 1]))
        len--;
    if (len == 0)
        return -1;
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    if (i == len) {
        double v = 0;
        /* Absurdly long values saturate; callers cap the wait anyway. */
        for (i = 0; i < len && v < 1e12; i++)
            v = v * 10 + (s[i] - '0');
        *seconds = v;
        return 0;
    }
    if (cx_parse_http_date(s, len, &when) != 0)
        return -1;
    *seconds = (double)when > now_epoch ? (double)when - now_epoch : 0.0;
    return 0;
}
