/* Growable buffer and JSON writing helpers; see include/larder/buf.h. */
#include "larder/buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

void ldr_buf_free(ldr_buf_t *b)
{
    ldr_free(b->base);
    *b = LDR_BUF_INIT;
}

char *ldr_buf_reserve(ldr_buf_t *b, size_t extra)
{
    if (b->cap - b->len < extra) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < extra)
            cap *= 2;
        b->base = ldr_realloc(b->base, cap);
        b->cap = cap;
    }
    return b->base + b->len;
}

void ldr_buf_append(ldr_buf_t *b, const void *p, size_t len)
{
    if (len == 0)
        return;
    memcpy(ldr_buf_reserve(b, len), p, len);
    b->len += len;
}

void ldr_buf_putc(ldr_buf_t *b, char c)
{
    *ldr_buf_reserve(b, 1) = c;
    b->len++;
}

void ldr_buf_puts(ldr_buf_t *b, const char *s)
{
    ldr_buf_append(b, s, strlen(s));
}

void ldr_buf_printf(ldr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char *dst = ldr_buf_reserve(b, 64); /* before reading cap: reserve may grow it */
    va_start(ap, fmt);
    int n = vsnprintf(dst, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        va_start(ap, fmt);
        vsnprintf(ldr_buf_reserve(b, (size_t)n + 1), (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void ldr_buf_put_i64(ldr_buf_t *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp), *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    ldr_buf_append(b, p, (size_t)(end - p));
}

void ldr_buf_json_str(ldr_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* worst case every byte becomes \u00XX */
    char *out = ldr_buf_reserve(b, len * 6 + 2), *p = out;
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            *p++ = '\\', *p++ = '"';
            break;
        case '\\':
            *p++ = '\\', *p++ = '\\';
            break;
        case '\n':
            *p++ = '\\', *p++ = 'n';
            break;
        case '\r':
            *p++ = '\\', *p++ = 'r';
            break;
        case '\t':
            *p++ = '\\', *p++ = 't';
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                memcpy(p, "\\u00", 4);
                p[4] = hex[c >> 4], p[5] = hex[c & 15];
                p += 6;
            } else {
                *p++ = (char)c;
            }
        }
    }
    *p++ = '"';
    b->len += (size_t)(p - out);
}

void ldr_buf_json_key(ldr_buf_t *b, const char *key)
{
    size_t n = strlen(key);
    char *p = ldr_buf_reserve(b, n + 3);
    p[0] = '"';
    memcpy(p + 1, key, n);
    p[n + 1] = '"', p[n + 2] = ':';
    b->len += n + 3;
}

void ldr_buf_json_time(ldr_buf_t *b, int64_t t)
{
    char tmp[32];
    size_t n = ldr_time_format_rfc3339(t, tmp);
    ldr_buf_putc(b, '"');
    ldr_buf_append(b, tmp, n);
    ldr_buf_putc(b, '"');
}

int ldr_buf_write(const ldr_buf_t *b, FILE *f)
{
    if (b->len != 0 && fwrite(b->base, 1, b->len, f) != b->len)
        return LDR_EIO;
    return LDR_OK;
}
