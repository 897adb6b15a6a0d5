/* Status strings, allocation wrappers, RFC 3339 time and UTF-8 validation. */
#include "larder/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ldr_strerror(int status)
{
    switch (status) {
    case LDR_OK:
        return "success";
#define LDR__STATUS_MSG(name, val, msg)                                                            \
    case LDR_##name:                                                                               \
        return msg;
        LDR_STATUS_MAP(LDR__STATUS_MSG)
#undef LDR__STATUS_MSG
    }
    return "unknown status";
}

const char *ldr_status_name(int status)
{
    switch (status) {
    case LDR_OK:
        return "OK";
#define LDR__STATUS_NAME(name, val, msg)                                                           \
    case LDR_##name:                                                                               \
        return #name;
        LDR_STATUS_MAP(LDR__STATUS_NAME)
#undef LDR__STATUS_NAME
    }
    return "UNKNOWN";
}

static void *ldr__oom(size_t size)
{
    fprintf(stderr, "larder: out of memory allocating %zu bytes\n", size);
    abort();
}

void *ldr_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    return p ? p : ldr__oom(size);
}

void *ldr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : ldr__oom(n * size);
}

void *ldr_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    return q ? q : ldr__oom(size);
}

char *ldr_strndup(const char *s, size_t len)
{
    char *p = ldr_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void *ldr_try_malloc(size_t size)
{
    return malloc(size ? size : 1);
}
void *ldr_try_realloc(void *p, size_t size)
{
    return realloc(p, size ? size : 1);
}
void ldr_free(void *p)
{
    free(p);
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's civil algorithm). */
static int64_t ldr__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void ldr__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int ldr__digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int ldr_time_parse_rfc3339(const char *s, size_t len, int64_t *out)
{
    unsigned Y, M, D, h, m, sec;
    /* YYYY-MM-DDTHH:MM:SS is 19 bytes, then optional .frac, then Z or ±HH:MM */
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return LDR_EPARSE;
    if (ldr__digits(s, 4, &Y) || ldr__digits(s + 5, 2, &M) || ldr__digits(s + 8, 2, &D) ||
        ldr__digits(s + 11, 2, &h) || ldr__digits(s + 14, 2, &m) || ldr__digits(s + 17, 2, &sec))
        return LDR_EPARSE;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
        return LDR_EPARSE;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return LDR_EPARSE;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t j = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == j)
            return LDR_EPARSE;
    }
    int64_t offset = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        unsigned oh, om;
        if (ldr__digits(s + i + 1, 2, &oh) || ldr__digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return LDR_EPARSE;
        offset = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return LDR_EPARSE;
    }
    if (i != len)
        return LDR_EPARSE;
    *out =
        ldr__days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + (sec > 59 ? 59 : sec) - offset;
    return LDR_OK;
}

size_t ldr_time_format_rfc3339(int64_t t, char *buf)
{
    /* clamp to the four-digit years RFC 3339 can spell, so the text is always 20 bytes */
    const int64_t lo = -62167219200 /* 0000-01-01T00:00:00Z */,
                  hi = 253402300799 /* 9999-12-31T23:59:59Z */;
    t = t < lo ? lo : t > hi ? hi : t;
    int64_t days = t / 86400, rem = t % 86400, y;
    if (rem < 0)
        rem += 86400, days--;
    unsigned m, d;
    ldr__civil_from_days(days, &y, &m, &d);
    /* by hand: snprintf was a twentieth of a stock read's time (every lot's expiry) */
    unsigned f[] = {(unsigned)y / 100,         (unsigned)y % 100,   m, d, (unsigned)(rem / 3600),
                    (unsigned)(rem / 60 % 60), (unsigned)(rem % 60)};
    static const char sep[] = "\0--T::Z"; /* after each field */
    char *p = buf;
    for (unsigned i = 0; i < LDR_ARRAY_SIZE(f); i++) {
        *p++ = (char)('0' + f[i] / 10);
        *p++ = (char)('0' + f[i] % 10);
        if (sep[i] != '\0')
            *p++ = sep[i];
    }
    *p = '\0';
    return (size_t)(p - buf);
}

bool ldr_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0)
            n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if ((size_t)(end - s) < n)
            return false;
        for (size_t i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        s += n;
    }
    return true;
}
