/*
 * The load driver's HTTP/1.1 response parser, and the blocking requests of the set-up (not
 * measured): the readiness check and the stock the checkouts need.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "client_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                   */

/* 1: a whole response is in b (*status, *close_after set), 0: not yet, -1: malformed. */
int ldr__response(const ldr_buf_t *b, bool at_eof, int *status, bool *close_after, size_t *body_at)
{
    const char *s = b->base;
    size_t n = b->len;
    if (n < 12)
        return at_eof ? -1 : 0;
    if (memcmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
        return -1;
    const char *hend = memmem(s, n, "\r\n\r\n", 4);
    if (hend == NULL)
        return at_eof ? -1 : 0;
    *status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    *close_after = s[7] == '0';
    size_t hlen = (size_t)(hend - s) + 4;
    *body_at = hlen;
    int64_t clen = -1;
    bool chunked = false;
    const char *line = (const char *)memchr(s, '\n', hlen) + 1;
    while (line < hend) {
        const char *eol = memchr(line, '\n', (size_t)(hend + 2 - line));
        if (eol == NULL)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && strncasecmp(line, "content-length:", 15) == 0)
            clen = strtoll(line + 15, NULL, 10);
        else if (ll > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0)
            chunked = memmem(line, ll, "chunked", 7) != NULL;
        else if (ll > 11 && strncasecmp(line, "connection:", 11) == 0)
            *close_after = memmem(line, ll, "close", 5) != NULL;
        line = eol + 1;
    }
    if (*status == 204 || *status == 304 || (*status >= 100 && *status < 200))
        return 1;
    if (chunked) {
        size_t at = hlen;
        for (;;) {
            const char *crlf = at < n ? memmem(s + at, n - at, "\r\n", 2) : NULL;
            if (crlf == NULL)
                return at_eof ? -1 : 0;
            char *end;
            unsigned long long size = strtoull(s + at, &end, 16);
            if (end == s + at)
                return -1;
            at = (size_t)(crlf - s) + 2;
            if (size == 0) { /* trailers end at an empty line */
                const char *t = at <= n ? memmem(s + at - 2, n - at + 2, "\r\n\r\n", 4) : NULL;
                if (t != NULL || (n >= at + 2 && memcmp(s + at, "\r\n", 2) == 0))
                    return 1;
                return at_eof ? -1 : 0;
            }
            if (n < at + size + 2)
                return at_eof ? -1 : 0;
            at += size + 2;
        }
    }
    if (clen >= 0)
        return n >= hlen + (size_t)clen ? 1 : (at_eof ? -1 : 0);
    *close_after = true; /* the body runs to the end of the connection */
    return at_eof ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up requests                                                                             */

int ldr_http_once(uint32_t addr, uint16_t port, const char *method, const char *path,
                  const char *token, const char *json, int *status, char *body, size_t bodysize)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return LDR_EIO;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = addr;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return LDR_EIO;
    }
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n", method, path);
    if (token != NULL)
        ldr_buf_printf(&b, "Authorization: Bearer %s\r\n", token);
    if (json != NULL)
        ldr_buf_printf(&b, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                       strlen(json), json);
    else
        ldr_buf_puts(&b, "\r\n");
    int rc = LDR_OK;
    if (send(fd, b.base, b.len, MSG_NOSIGNAL) != (ssize_t)b.len)
        rc = LDR_EIO;
    ldr_buf_reset(&b);
    for (;;) {
        if (rc != LDR_OK)
            break;
        char *p = ldr_buf_reserve(&b, 16384);
        ssize_t n = recv(fd, p, 16384, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                rc = LDR_EIO;
            break;
        }
        b.len += (size_t)n;
        int st;
        bool cl;
        size_t at;
        if (ldr__response(&b, false, &st, &cl, &at) == 1)
            break;
    }
    close(fd);
    int st = 0;
    bool cl;
    size_t at = 0;
    if (rc == LDR_OK && ldr__response(&b, true, &st, &cl, &at) != 1)
        rc = LDR_EIO;
    if (rc == LDR_OK) {
        *status = st;
        if (body != NULL && bodysize > 0) {
            size_t n = b.len - at < bodysize - 1 ? b.len - at : bodysize - 1;
            memcpy(body, b.base + at, n);
            body[n] = '\0';
        }
    }
    ldr_buf_free(&b);
    return rc;
}

int ldr_setup(const ldr_run_opts_t *o, const ldr_workload_t *w)
{
    /* capacity sets the rate step by step, after this: stock whenever the mix has checkouts */
    ldr_run_opts_t probe = *o;
    if (probe.rate <= 0)
        probe.rate = 1;
    double rates[LDR_EP_COUNT];
    ldr_run_rates(&probe, rates);
    if (rates[LDR_EP_CHECKOUT] <= 0)
        return LDR_OK;
    for (size_t i = 0; i < w->ncheckout; i++) {
        char path[256], json[256], body[512];
        int status = 0;
        snprintf(path, sizeof(path), "/v1/stock/%s/receive", w->checkout_skus[i]);
        snprintf(json, sizeof(json),
                 "{\"store\":\"%s\",\"lot\":\"bench-%s\",\"quantity\":100000000}", w->store,
                 w->run_id);
        if (ldr_http_once(o->addr, o->port, "POST", path, w->service_token, json, &status, body,
                          sizeof(body)) != LDR_OK ||
            status != 200) {
            fprintf(stderr, "larder-bench: stocking %s for the checkouts failed: %s%d %s\n",
                    w->checkout_skus[i], status ? "HTTP " : "no answer", status,
                    status ? body : "");
            return LDR_EIO;
        }
    }
    return LDR_OK;
}
