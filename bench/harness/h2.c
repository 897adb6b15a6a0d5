/*
 * The HTTP/2 side of the load driver (--http2): h2c with prior knowledge through libnghttp2.  A
 * connection carries up to --streams requests at once, each a stream with its own slot; a due
 * request goes to the first open connection with a free slot.  A stream that times out is reset
 * and counted, and its connection stays.  The request bytes are built as for HTTP/1.1 (one
 * workload, two protocols) and turned into HTTP/2 header fields here.
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "client_internal.h"

static void ldr__h2_fail(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, const char *why)
{
    ldr__h2_drop(wk, c, now, why);
    ldr__close(wk, c, now);
}

/* Every live stream of c ends as an error; the session goes.  The socket stays to the caller. */
void ldr__h2_drop(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, const char *why)
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

void ldr__h2_flush(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    for (;;) {
        int r = ldr__send_buffered(wk, c);
        if (r < 0)
            ldr__h2_fail(wk, c, now, "send failed");
        if (r <= 0)
            return;
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
void ldr__h2_open(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
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

void ldr__h2_read(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
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
ldr__conn_t *ldr__h2_pick(ldr__worker_t *wk)
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

void ldr__h2_assign(ldr__worker_t *wk, ldr__conn_t *c, const ldr_load_req_t *req, int64_t now)
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
void ldr__h2_timeouts(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, uint32_t *busy, int64_t *wake)
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
