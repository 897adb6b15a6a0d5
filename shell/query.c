/*
 * Query strings: "a=1&b=x%20y" into decoded (key, value) pairs in the request's memory pool.
 * Percent escapes and '+' decode; a malformed escape is an error the caller turns into a 400.
 */
#include <string.h>

#include "http_internal.h"

static int ldr__hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into pool memory; returns false on a bad escape. */
static bool ldr__decode(h2o_mem_pool_t *pool, const char *s, size_t len, h2o_iovec_t *out)
{
    char *d = h2o_mem_alloc_pool(pool, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            d[n++] = ' ';
        } else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = ldr__hex(s[i + 1])) < 0 || (lo = ldr__hex(s[i + 2])) < 0)
                return false;
            d[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[n++] = s[i];
        }
    }
    d[n] = '\0';
    *out = h2o_iovec_init(d, n);
    return true;
}

int ldr_query_parse(h2o_req_t *req, ldr_query_param_t *params, size_t max, size_t *n,
                    const char **bad)
{
    *n = 0;
    *bad = NULL;
    if (req->query_at == SIZE_MAX)
        return LDR_OK;
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pair_end - q));
        const char *kend = eq ? eq : pair_end;
        if (pair_end > q) {
            if (*n == max) {
                *bad = "too many query parameters";
                return LDR_EINVAL;
            }
            ldr_query_param_t *p = &params[(*n)++];
            if (!ldr__decode(&req->pool, q, (size_t)(kend - q), &p->key) ||
                !ldr__decode(&req->pool, eq ? eq + 1 : pair_end,
                             eq ? (size_t)(pair_end - eq - 1) : 0, &p->value)) {
                *bad = "malformed percent escape in the query string";
                return LDR_EINVAL;
            }
        }
        q = pair_end + 1;
    }
    return LDR_OK;
}
