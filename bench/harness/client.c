/*
 * The load driver: HTTP/1.1 keep-alive over non-blocking connections on epoll, one event loop per
 * thread.  Each thread owns its share of the connections and of every endpoint's rate (its
 * schedule is phase-shifted so the threads' requests interleave evenly) and runs the open-loop
 * core of load.c against the monotonic clock: due requests queue, free connections take the
 * oldest, and every latency counts from the intended send time.  A connection that fails or
 * times out is closed and opened again; its request counts as an error or a timeout.
 *
 * HTTP/1.1: a response is complete at Content-Length bytes after its headers, or at the end of
 * its chunked body; requests are never pipelined, so a connection holds at most one answer.
 *
 * HTTP/2 (--http2, h2c with prior knowledge, through libnghttp2): a connection carries up to
 * --streams requests at once, each a stream with its own slot; a due request goes to the first
 * connection with a free slot.  A stream that times out is reset and counted, and the connection
 * stays.  The request bytes are built as for HTTP/1.1 and turned into HTTP/2 header fields.
 */
#define _GNU_SOURCE /* memmem, epoll_pwait2 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

enum { LDR__CLOSED, LDR__CONNECTING, LDR__IDLE, LDR__BUSY };

#define LDR__RECONNECT_NS 100000000 /* after a failed connect */

typedef struct ldr__worker ldr__worker_t;

/* One HTTP/2 stream in flight. */
typedef struct ldr__stream {
    int32_t id; /* 0: a free slot */
    bool dead;  /* timed out and reset: its end is not counted again */
    ldr_load_req_t req;
    ldr_txn_t txn;
    int status;
    ldr_buf_t bytes; /* the request as HTTP/1.1 text; header fields and body point into it */
    size_t body_at, body_sent;
    char err[120];
    size_t errlen;
} ldr__stream_t;

typedef struct ldr__conn {
    int fd;
    ldr__worker_t *wk;
    nghttp2_session *h2;
    ldr__stream_t *streams; /* o->streams slots, HTTP/2 only */
    uint32_t live;          /* streams in flight and not dead */
    uint32_t used;          /* slots in use, dead ones included */
    int state;
    bool want_out;
    ldr_load_req_t req;
    ldr_txn_t txn;
    ldr_buf_t wbuf;
    size_t woff;
    ldr_buf_t rbuf;
    int64_t retry_at;
} ldr__conn_t;

struct ldr__worker {
    pthread_t tid;
    int64_t now; /* for the HTTP/2 callbacks */
    uint32_t rr; /* where the search for a connection with a free stream starts */
    uint32_t id;
    const ldr_run_opts_t *o;
    const ldr_workload_t *w;
    ldr_load_t load;
    ldr__conn_t *conns;
    uint32_t nconns;
    uint32_t *idle;
    uint32_t nidle;
    int epfd;
    uint64_t rng;
    _Atomic uint64_t p_done, p_errors, p_timeouts, p_waiting;
    _Atomic bool finished;
};

static int64_t ldr__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ldr_run_rates(const ldr_run_opts_t *o, double rates[LDR_EP_COUNT])
{
    double sum = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++)
        sum += o->weights[e];
    for (int e = 0; e < LDR_EP_COUNT; e++)
        rates[e] = sum > 0 ? o->rate * o->weights[e] / sum : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                   */

/* 1: a whole response is in b (*status, *close_after set), 0: not yet, -1: malformed. */
static int ldr__response(const ldr_buf_t *b, bool at_eof, int *status, bool *close_after,
                         size_t *body_at)
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
/* Connections                                                                                 */

static void ldr__h2_drop(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, const char *why);
static void ldr__h2_open(ldr__worker_t *wk, ldr__conn_t *c, int64_t now);
static void ldr__h2_flush(ldr__worker_t *wk, ldr__conn_t *c, int64_t now);
static void ldr__h2_read(ldr__worker_t *wk, ldr__conn_t *c, int64_t now);

static void ldr__close(ldr__worker_t *wk, ldr__conn_t *c, int64_t retry_at)
{
    if (c->h2 != NULL)
        ldr__h2_drop(wk, c, retry_at, "connection closed before the answer");
    if (c->fd >= 0) {
        epoll_ctl(wk->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->state == LDR__IDLE) { /* take it off the idle stack */
        uint32_t me = (uint32_t)(c - wk->conns);
        for (uint32_t i = 0; i < wk->nidle; i++)
            if (wk->idle[i] == me) {
                wk->idle[i] = wk->idle[--wk->nidle];
                break;
            }
    }
    c->fd = -1;
    c->state = LDR__CLOSED;
    c->retry_at = retry_at;
    c->want_out = false;
    ldr_buf_reset(&c->rbuf);
    ldr_buf_reset(&c->wbuf);
}

static void ldr__watch(ldr__worker_t *wk, ldr__conn_t *c, bool out, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)(c - wk->conns)};
    epoll_ctl(wk->epfd, op, c->fd, &ev);
    c->want_out = out;
}

static void ldr__set_idle(ldr__worker_t *wk, ldr__conn_t *c)
{
    c->state = LDR__IDLE;
    wk->idle[wk->nidle++] = (uint32_t)(c - wk->conns);
}

static void ldr__connect(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->retry_at = now + LDR__RECONNECT_NS;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(wk->o->port)};
    sa.sin_addr.s_addr = wk->o->addr;
    c->fd = fd;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        ldr__watch(wk, c, false, EPOLL_CTL_ADD);
        if (wk->o->http2)
            ldr__h2_open(wk, c, now);
        else
            ldr__set_idle(wk, c);
    } else if (errno == EINPROGRESS) {
        c->state = LDR__CONNECTING;
        ldr__watch(wk, c, true, EPOLL_CTL_ADD);
    } else {
        close(fd);
        c->fd = -1;
        c->retry_at = now + LDR__RECONNECT_NS;
    }
}

/* The request of c ends: counted, and the connection freed (or closed). */
static void ldr__finish(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, ldr_outcome_t outcome,
                        int status, const char *error, bool close_after)
{
    ldr_load_done(&wk->load, &c->req, now, outcome, status, error);
    if (close_after || outcome == LDR_OUTCOME_TIMEOUT || c->fd < 0) {
        c->state = LDR__BUSY; /* not on the idle stack */
        ldr__close(wk, c, now);
    } else {
        ldr_buf_reset(&c->rbuf);
        ldr__set_idle(wk, c);
    }
}

static void ldr__flush(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    while (c->woff < c->wbuf.len) {
        ssize_t n = send(c->fd, c->wbuf.base + c->woff, c->wbuf.len - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                ldr__watch(wk, c, true, EPOLL_CTL_MOD);
            return;
        } else {
            char msg[96];
            snprintf(msg, sizeof(msg), "send: %s", strerror(n < 0 ? errno : EPIPE));
            ldr__finish(wk, c, now, LDR_OUTCOME_ERROR, 0, msg, true);
            return;
        }
    }
    if (c->want_out)
        ldr__watch(wk, c, false, EPOLL_CTL_MOD);
}

/* Builds and sends the current step of c's request. */
static void ldr__send_step(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    int rc = ldr_workload_request(wk->w, &c->req, &c->txn, wk->id, &wk->rng, &c->wbuf);
    if (rc != LDR_OK) {
        char msg[96];
        snprintf(msg, sizeof(msg), "cannot build the request: %s", ldr_strerror(rc));
        ldr__finish(wk, c, now, LDR_OUTCOME_ERROR, 0, msg, false);
        return;
    }
    c->woff = 0;
    ldr_buf_reset(&c->rbuf);
    ldr__flush(wk, c, now);
}

static void ldr__assign(ldr__worker_t *wk, ldr__conn_t *c, const ldr_load_req_t *req, int64_t now)
{
    c->state = LDR__BUSY;
    c->req = *req;
    c->txn.step = 0;
    ldr__send_step(wk, c, now);
}

static void ldr__readable(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    bool eof = false;
    for (;;) {
        char *p = ldr_buf_reserve(&c->rbuf, 16384);
        ssize_t n = recv(c->fd, p, 16384, 0);
        if (n > 0) {
            c->rbuf.len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        eof = true;
        break;
    }
    if (c->state != LDR__BUSY) { /* the server closed an idle connection: open another */
        if (eof || c->rbuf.len > 0)
            ldr__close(wk, c, now);
        return;
    }
    int status = 0;
    bool close_after = false;
    size_t body_at = 0;
    int r = ldr__response(&c->rbuf, eof, &status, &close_after, &body_at);
    if (r == 0)
        return;
    if (r < 0) {
        ldr__finish(wk, c, now, LDR_OUTCOME_ERROR, 0,
                    eof && c->rbuf.len == 0 ? "connection closed before the answer"
                                            : "malformed response",
                    true);
        return;
    }
    bool ok = status >= 200 && status < 300;
    if (ok && c->txn.step + 1 < ldr_workload_steps((ldr_ep_t)c->req.ep)) {
        c->txn.step++;
        if (close_after || eof) {
            ldr__finish(wk, c, now, LDR_OUTCOME_ERROR, 0, "connection closed between steps", true);
            return;
        }
        ldr__send_step(wk, c, now);
        return;
    }
    char msg[160];
    if (!ok) {
        size_t blen = c->rbuf.len - body_at;
        snprintf(msg, sizeof(msg), "%sHTTP %d: %.*s",
                 ldr_workload_steps((ldr_ep_t)c->req.ep) > 1 && c->txn.step == 0 ? "cart line: "
                                                                                 : "",
                 status, (int)(blen > 100 ? 100 : blen), c->rbuf.base + body_at);
        for (char *m = msg; *m; m++)
            if (*m == '\n' || *m == '\r')
                *m = ' ';
    }
    ldr__finish(wk, c, now, ok ? LDR_OUTCOME_OK : LDR_OUTCOME_ERROR, status, ok ? NULL : msg,
                close_after || eof);
}

static void ldr__event(ldr__worker_t *wk, ldr__conn_t *c, uint32_t events, int64_t now)
{
    if (c->state == LDR__CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            c->state = LDR__CLOSED;
            ldr__close(wk, c, now + LDR__RECONNECT_NS);
            return;
        }
        ldr__watch(wk, c, false, EPOLL_CTL_MOD);
        if (wk->o->http2)
            ldr__h2_open(wk, c, now);
        else
            ldr__set_idle(wk, c);
        return;
    }
    if (c->h2 != NULL) {
        if (events & EPOLLOUT)
            ldr__h2_flush(wk, c, now);
        if (c->h2 != NULL && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            ldr__h2_read(wk, c, now);
        return;
    }
    if ((events & EPOLLOUT) && c->state == LDR__BUSY) {
        ldr__flush(wk, c, now);
        if (c->state != LDR__BUSY)
            return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        ldr__readable(wk, c, now);
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP/2                                                                                      */

static void ldr__h2_fail(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, const char *why)
{
    ldr__h2_drop(wk, c, now, why);
    ldr__close(wk, c, now);
}

/* Every live stream of c ends as an error; the session goes.  The socket stays to the caller. */
static void ldr__h2_drop(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, const char *why)
{
    if (c->h2 == NULL)
        return;
    for (uint32_t i = 0; i < wk->o->streams; i++) {
        ldr__stream_t *st = &c->streams[i];
        if (st->id != 0 && !st->dead)
            ldr_load_done(&wk->load, &st->req, now, LDR_OUTCOME_ERROR, 0, why);
        st->id = 0;
        st->dead = false;
        ldr_buf_reset(&st->bytes);
    }
    c->live = c->used = 0;
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
}

static void ldr__h2_flush(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    for (;;) {
        while (c->woff < c->wbuf.len) {
            ssize_t n = send(c->fd, c->wbuf.base + c->woff, c->wbuf.len - c->woff, MSG_NOSIGNAL);
            if (n > 0) {
                c->woff += (size_t)n;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (!c->want_out)
                    ldr__watch(wk, c, true, EPOLL_CTL_MOD);
                return;
            } else {
                ldr__h2_fail(wk, c, now, "send failed");
                return;
            }
        }
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0) {
            ldr__h2_fail(wk, c, now, nghttp2_strerror((int)n));
            return;
        }
        if (n == 0)
            break;
        ldr_buf_reset(&c->wbuf);
        ldr_buf_append(&c->wbuf, data, (size_t)n);
        c->woff = 0;
    }
    if (c->want_out)
        ldr__watch(wk, c, false, EPOLL_CTL_MOD);
}

static ssize_t ldr__h2_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    ldr__stream_t *st = source->ptr;
    size_t left = st->bytes.len - st->body_at - st->body_sent;
    size_t n = left < length ? left : length;
    memcpy(buf, st->bytes.base + st->body_at + st->body_sent, n);
    st->body_sent += n;
    if (st->body_sent == st->bytes.len - st->body_at)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Builds the current step of st's request and submits it as a new stream of c. */
static void ldr__h2_submit(ldr__worker_t *wk, ldr__conn_t *c, ldr__stream_t *st, int64_t now)
{
    ldr_buf_t *b = &st->bytes;
    int rc = ldr_workload_request(wk->w, &st->req, &st->txn, wk->id, &wk->rng, b);
    st->status = 0;
    st->errlen = 0;
    if (rc != LDR_OK) {
        ldr_load_done(&wk->load, &st->req, now, LDR_OUTCOME_ERROR, 0, "cannot build the request");
        st->id = 0;
        c->live--;
        c->used--;
        return;
    }
    /* "METHOD PATH HTTP/1.1\r\n" then "Name: value\r\n" lines, an empty line, the body */
    nghttp2_nv nv[16];
    size_t n = 0;
    char *p = b->base, *end = b->base + b->len;
    char *sp1 = memchr(p, ' ', (size_t)(end - p)), *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1));
    char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
#define LDR__NV(nm, nl, vl, vlen)                                                                  \
    nv[n++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(vl), (nl), (vlen), NGHTTP2_NV_FLAG_NONE}
    LDR__NV(":method", 7, p, (size_t)(sp1 - p));
    LDR__NV(":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    LDR__NV(":scheme", 7, "http", 4);
    LDR__NV(":authority", 10, wk->w->host, strlen(wk->w->host));
    p = eol + 2;
    while (p < end && !(p[0] == '\r' && p[1] == '\n') && n < 16) {
        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        char *colon = memchr(p, ':', (size_t)(eol - p));
        for (char *q = p; q < colon; q++)
            *q = (char)tolower((unsigned char)*q); /* HTTP/2 field names are lower case */
        if (!((size_t)(colon - p) == 4 && memcmp(p, "host", 4) == 0))
            LDR__NV(p, (size_t)(colon - p), colon + 2, (size_t)(eol - colon - 2));
        p = eol + 2;
    }
#undef LDR__NV
    st->body_at = (size_t)(p + 2 - b->base);
    st->body_sent = 0;
    nghttp2_data_provider body = {.source.ptr = st, .read_callback = ldr__h2_body};
    int32_t id =
        nghttp2_submit_request(c->h2, NULL, nv, n, st->body_at < b->len ? &body : NULL, st);
    if (id < 0) {
        ldr_load_done(&wk->load, &st->req, now, LDR_OUTCOME_ERROR, 0, nghttp2_strerror(id));
        st->id = 0;
        c->live--;
        c->used--;
        return;
    }
    st->id = id;
}

static int ldr__h2_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                             const uint8_t *name, size_t namelen, const uint8_t *value,
                             size_t valuelen, uint8_t flags, void *user_data)
{
    ldr__stream_t *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (st != NULL && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
        st->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

static int ldr__h2_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                           const uint8_t *data, size_t len, void *user_data)
{
    ldr__stream_t *st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (st != NULL && st->errlen < sizeof(st->err) - 1) {
        size_t n = sizeof(st->err) - 1 - st->errlen;
        n = n < len ? n : len;
        memcpy(st->err + st->errlen, data, n);
        st->errlen += n;
    }
    return 0;
}

static int ldr__h2_on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                            void *user_data)
{
    ldr__conn_t *c = user_data;
    ldr__worker_t *wk = c->wk;
    ldr__stream_t *st = nghttp2_session_get_stream_user_data(session, stream_id);
    if (st == NULL || st->id != stream_id)
        return 0;
    int64_t now = wk->now;
    if (st->dead) {
        st->id = 0;
        st->dead = false;
        c->used--;
        return 0;
    }
    bool ok = error_code == 0 && st->status >= 200 && st->status < 300;
    if (ok && st->txn.step + 1 < ldr_workload_steps((ldr_ep_t)st->req.ep)) {
        st->txn.step++;
        ldr__h2_submit(wk, c, st, now);
        return 0;
    }
    char msg[180];
    if (!ok) {
        if (error_code != 0)
            snprintf(msg, sizeof(msg), "stream reset: %s", nghttp2_http2_strerror(error_code));
        else
            snprintf(msg, sizeof(msg), "%sHTTP %d: %.*s",
                     ldr_workload_steps((ldr_ep_t)st->req.ep) > 1 && st->txn.step == 0
                         ? "cart line: "
                         : "",
                     st->status, (int)(st->errlen > 100 ? 100 : st->errlen), st->err);
        for (char *m = msg; *m; m++)
            if (*m == '\n' || *m == '\r')
                *m = ' ';
    }
    ldr_load_done(&wk->load, &st->req, now, ok ? LDR_OUTCOME_OK : LDR_OUTCOME_ERROR, st->status,
                  ok ? NULL : msg);
    st->id = 0;
    c->live--;
    c->used--;
    return 0;
}

/* The TCP connection is up: start an HTTP/2 session (the client preface and SETTINGS). */
static void ldr__h2_open(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, ldr__h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, ldr__h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, ldr__h2_on_close);
    int rc = nghttp2_session_client_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        c->h2 = NULL;
        ldr__close(wk, c, now + LDR__RECONNECT_NS);
        return;
    }
    nghttp2_settings_entry iv[1] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1);
    c->state = LDR__IDLE; /* open: streams go to it while it has free slots */
    c->live = c->used = 0;
    ldr_buf_reset(&c->wbuf);
    c->woff = 0;
    ldr__h2_flush(wk, c, now);
}

static void ldr__h2_read(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    uint8_t buf[16384];
    wk->now = now;
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            ssize_t r = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
            if (r < 0) {
                ldr__h2_fail(wk, c, now, nghttp2_strerror((int)r));
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        ldr__h2_fail(wk, c, now, "connection closed before the answer");
        return;
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        ldr__h2_fail(wk, c, now, "the server ended the session (GOAWAY)");
        return;
    }
    ldr__h2_flush(wk, c, now);
}

/* The first open connection with a free stream slot, or NULL. */
static ldr__conn_t *ldr__h2_pick(ldr__worker_t *wk)
{
    for (uint32_t k = 0; k < wk->nconns; k++) {
        ldr__conn_t *c = &wk->conns[(wk->rr + k) % wk->nconns];
        if (c->state == LDR__IDLE && c->h2 != NULL && c->used < wk->o->streams) {
            wk->rr = (wk->rr + k + 1) % wk->nconns;
            return c;
        }
    }
    return NULL;
}

static void ldr__h2_assign(ldr__worker_t *wk, ldr__conn_t *c, const ldr_load_req_t *req,
                           int64_t now)
{
    for (uint32_t i = 0; i < wk->o->streams; i++) {
        ldr__stream_t *st = &c->streams[i];
        if (st->id != 0 || st->dead)
            continue;
        st->req = *req;
        st->txn.step = 0;
        c->live++;
        c->used++;
        ldr__h2_submit(wk, c, st, now);
        return;
    }
}

/* Resets the streams of c past their timeout; counts the live ones into *busy. */
static void ldr__h2_timeouts(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, uint32_t *busy,
                             int64_t *wake)
{
    int64_t timeout = wk->load.o.timeout_ns;
    bool reset = false;
    for (uint32_t i = 0; i < wk->o->streams; i++) {
        ldr__stream_t *st = &c->streams[i];
        if (st->id == 0 || st->dead)
            continue;
        if (now - st->req.intended >= timeout) {
            ldr_load_done(&wk->load, &st->req, now, LDR_OUTCOME_TIMEOUT, 0,
                          "no answer within the timeout");
            st->dead = true;
            c->live--;
            nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
            reset = true;
        } else {
            (*busy)++;
            if (st->req.intended + timeout < *wake)
                *wake = st->req.intended + timeout;
        }
    }
    if (reset)
        ldr__h2_flush(wk, c, now);
}

/* ------------------------------------------------------------------------------------------ */
/* The loop                                                                                    */

static void ldr__publish(ldr__worker_t *wk)
{
    uint64_t done = 0, errors = 0, timeouts = 0;
    for (uint32_t e = 0; e < wk->load.stats.nep; e++) {
        const ldr_ep_stats_t *s = &wk->load.stats.ep[e];
        done += s->ok + s->errors;
        errors += s->errors;
        timeouts += s->timeouts;
    }
    atomic_store_explicit(&wk->p_done, done, memory_order_relaxed);
    atomic_store_explicit(&wk->p_errors, errors, memory_order_relaxed);
    atomic_store_explicit(&wk->p_timeouts, timeouts, memory_order_relaxed);
    atomic_store_explicit(&wk->p_waiting, ldr_load_waiting(&wk->load), memory_order_relaxed);
}

static void *ldr__worker_main(void *arg)
{
    ldr__worker_t *wk = arg;
    const ldr_run_opts_t *o = wk->o;
    int64_t start = wk->load.o.start_ns, end = start + wk->load.o.duration_ns;
    int64_t timeout = wk->load.o.timeout_ns, drain_until = end + timeout;
    struct epoll_event evs[256];
    int64_t now = ldr__now(), last_publish = 0;
    for (uint32_t i = 0; i < wk->nconns; i++)
        ldr__connect(wk, &wk->conns[i], now);
    for (;;) {
        now = ldr__now();
        if (now >= drain_until)
            break;
        ldr_load_due(&wk->load, now);
        ldr_load_expire(&wk->load, now);
        uint32_t busy = 0;
        int64_t wake = ldr_load_next_due(&wk->load);
        wk->now = now;
        for (uint32_t i = 0; i < wk->nconns; i++) {
            ldr__conn_t *c = &wk->conns[i];
            if (c->h2 != NULL)
                ldr__h2_timeouts(wk, c, now, &busy, &wake);
            if (c->state == LDR__BUSY) {
                if (now - c->req.intended >= timeout) {
                    ldr__finish(wk, c, now, LDR_OUTCOME_TIMEOUT, 0, "no answer within the timeout",
                                true);
                } else {
                    busy++;
                    if (c->req.intended + timeout < wake)
                        wake = c->req.intended + timeout;
                }
            }
            if (c->state == LDR__CLOSED) {
                if (c->retry_at <= now)
                    ldr__connect(wk, c, now);
                else if (c->retry_at < wake)
                    wake = c->retry_at;
            }
        }
        ldr_load_req_t req;
        ldr__conn_t *hc;
        while (o->http2 && ldr_load_waiting(&wk->load) > 0 && (hc = ldr__h2_pick(wk)) != NULL) {
            ldr_load_take(&wk->load, &req);
            ldr__h2_assign(wk, hc, &req, now);
            ldr__h2_flush(wk, hc, now);
            busy++;
        }
        while (wk->nidle > 0 && ldr_load_waiting(&wk->load) > 0) {
            ldr_load_take(&wk->load, &req);
            ldr__conn_t *c = &wk->conns[wk->idle[--wk->nidle]];
            ldr__assign(wk, c, &req, now);
            if (c->state == LDR__BUSY)
                busy++;
        }
        if (ldr_load_waiting(&wk->load) > 0 && wk->load.fifo != NULL) {
            int64_t exp = wk->load.fifo[wk->load.head].intended + timeout;
            if (exp < wake)
                wake = exp;
        }
        if (now >= end && ldr_load_waiting(&wk->load) == 0 && busy == 0)
            break;
        if (now - last_publish >= 50000000) {
            ldr__publish(wk);
            last_publish = now;
        }
        if (drain_until < wake)
            wake = drain_until;
        int64_t wait = wake - now;
        if (wait > 50000000)
            wait = 50000000;
        if (wait < 0)
            wait = 0;
        struct timespec ts = {wait / 1000000000, wait % 1000000000};
        int n = epoll_pwait2(wk->epfd, evs, 256, &ts, NULL);
        if (n < 0 && errno == ENOSYS) {
            n = epoll_wait(wk->epfd, evs, 256, (int)((wait + 999999) / 1000000));
        }
        now = ldr__now();
        for (int i = 0; i < n; i++) {
            ldr__conn_t *c = &wk->conns[evs[i].data.u32];
            if (c->fd >= 0)
                ldr__event(wk, c, evs[i].events, now);
        }
    }
    /* whatever is left has had its timeout (the drain lasts one) */
    now = ldr__now();
    for (uint32_t i = 0; i < wk->nconns; i++) {
        ldr__conn_t *c = &wk->conns[i];
        if (c->state == LDR__BUSY)
            ldr_load_done(&wk->load, &c->req, now, LDR_OUTCOME_TIMEOUT, 0,
                          "no answer by the end of the run");
        if (c->h2 != NULL) {
            for (uint32_t k = 0; k < o->streams; k++)
                if (c->streams[k].id != 0 && !c->streams[k].dead) {
                    ldr_load_done(&wk->load, &c->streams[k].req, now, LDR_OUTCOME_TIMEOUT, 0,
                                  "no answer by the end of the run");
                    c->streams[k].dead = true;
                }
            ldr__h2_drop(wk, c, now, "");
        }
        c->state = LDR__CLOSED;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    ldr_load_req_t req;
    while (ldr_load_take(&wk->load, &req))
        ldr_load_done(&wk->load, &req, now, LDR_OUTCOME_TIMEOUT, 0,
                      "no free connection by the end of the run");
    ldr__publish(wk);
    atomic_store(&wk->finished, true);
    (void)o;
    return NULL;
}

int ldr_run(const ldr_run_opts_t *o, const ldr_workload_t *w, ldr_stats_t *out)
{
    double rates[LDR_EP_COUNT];
    ldr_run_rates(o, rates);
    uint32_t nt = o->threads < 1 ? 1 : o->threads;
    ldr__worker_t *wks = ldr_calloc(nt, sizeof(*wks));
    int64_t dur = (int64_t)(o->duration * 1e9), start = ldr__now() + 200000000;
    for (uint32_t t = 0; t < nt; t++) {
        ldr__worker_t *wk = &wks[t];
        wk->id = t;
        wk->o = o;
        wk->w = w;
        wk->rng = 0x9E3779B97F4A7C15ull * (t + 1) ^ (uint64_t)start;
        ldr_load_opts_t lo = {.nep = LDR_EP_COUNT,
                              .phase = (double)t / nt,
                              .start_ns = start,
                              .duration_ns = dur,
                              .timeout_ns = (int64_t)(o->timeout * 1e9)};
        for (int e = 0; e < LDR_EP_COUNT; e++)
            lo.rate[e] = rates[e] / nt;
        ldr_load_init(&wk->load, &lo);
        wk->nconns = o->connections / nt + (t < o->connections % nt ? 1 : 0);
        if (wk->nconns < 1)
            wk->nconns = 1;
        wk->conns = ldr_calloc(wk->nconns, sizeof(ldr__conn_t));
        wk->idle = ldr_calloc(wk->nconns, sizeof(uint32_t));
        for (uint32_t i = 0; i < wk->nconns; i++) {
            wk->conns[i].fd = -1;
            wk->conns[i].wk = wk;
            if (o->http2)
                wk->conns[i].streams = ldr_calloc(o->streams, sizeof(ldr__stream_t));
        }
        wk->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (wk->epfd < 0 || pthread_create(&wk->tid, NULL, ldr__worker_main, wk) != 0) {
            fprintf(stderr, "larder-bench: cannot start load thread %u: %s\n", t, strerror(errno));
            exit(1);
        }
    }
    double offered = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++)
        offered += rates[e];
    uint64_t last_done = 0;
    int64_t t0 = start, last = ldr__now();
    for (;;) {
        bool all = true;
        for (uint32_t t = 0; t < nt; t++)
            all = all && atomic_load(&wks[t].finished);
        if (all)
            break;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        int64_t now = ldr__now();
        bool tty = isatty(2);
        if (now - last < (tty ? 1000000000 : 5000000000))
            continue;
        uint64_t done = 0, errors = 0, timeouts = 0, waiting = 0;
        for (uint32_t t = 0; t < nt; t++) {
            done += atomic_load_explicit(&wks[t].p_done, memory_order_relaxed);
            errors += atomic_load_explicit(&wks[t].p_errors, memory_order_relaxed);
            timeouts += atomic_load_explicit(&wks[t].p_timeouts, memory_order_relaxed);
            waiting += atomic_load_explicit(&wks[t].p_waiting, memory_order_relaxed);
        }
        if (o->progress) {
            double el = (double)(now - t0) / 1e9;
            fprintf(stderr,
                    "%s%s%s%5.0f/%.0f s  offered %.0f/s  answered %llu (%.0f/s)  errors %llu  "
                    "timeouts %llu  waiting %llu%s",
                    tty ? "\r" : "", o->label ? o->label : "", o->label ? "  " : "",
                    el < 0 ? 0 : el, o->duration, offered, (unsigned long long)done,
                    (double)(done - last_done) * 1e9 / (double)(now - last),
                    (unsigned long long)errors, (unsigned long long)timeouts,
                    (unsigned long long)waiting, tty ? "   " : "\n");
            fflush(stderr);
        }
        last_done = done;
        last = now;
    }
    if (o->progress && isatty(2))
        fputc('\n', stderr);
    ldr_stats_init(out, LDR_EP_COUNT, dur);
    for (uint32_t t = 0; t < nt; t++) {
        pthread_join(wks[t].tid, NULL);
        ldr_stats_merge(out, &wks[t].load.stats);
        ldr_load_free(&wks[t].load);
        for (uint32_t i = 0; i < wks[t].nconns; i++) {
            ldr_buf_free(&wks[t].conns[i].wbuf);
            ldr_buf_free(&wks[t].conns[i].rbuf);
            for (uint32_t k = 0; o->http2 && k < o->streams; k++)
                ldr_buf_free(&wks[t].conns[i].streams[k].bytes);
            ldr_free(wks[t].conns[i].streams);
        }
        ldr_free(wks[t].conns);
        ldr_free(wks[t].idle);
        close(wks[t].epfd);
    }
    ldr_free(wks);
    return LDR_OK;
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
    double rates[LDR_EP_COUNT];
    ldr_run_rates(o, rates);
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
