/*
 * The load driver: HTTP/1.1 keep-alive over non-blocking connections on epoll, one event loop per
 * thread.  Each thread owns its share of the connections and of every endpoint's rate (its
 * schedule is phase-shifted so the threads' requests interleave evenly) and runs the open-loop
 * core of load.c against the monotonic clock: due requests queue, free connections take the
 * oldest, and every latency counts from the intended send time.  A connection that fails or
 * times out is closed and opened again; its request counts as an error or a timeout.
 *
 * HTTP/1.1: a response is complete at Content-Length bytes after its headers, or at the end of
 * its chunked body (setup.c parses it); requests are never pipelined, so a connection holds at
 * most one answer.  HTTP/2 (--http2) is h2.c: the same loop, streams instead of connections.
 */
#define _GNU_SOURCE /* memmem, epoll_pwait2 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include "client_internal.h"

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
/* Connections                                                                                 */

void ldr__close(ldr__worker_t *wk, ldr__conn_t *c, int64_t retry_at)
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

void ldr__watch(ldr__worker_t *wk, ldr__conn_t *c, bool out, int op)
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

int ldr__send_buffered(ldr__worker_t *wk, ldr__conn_t *c)
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
            return 0;
        } else {
            return -(n < 0 ? errno : EPIPE);
        }
    }
    return 1;
}

static void ldr__flush(ldr__worker_t *wk, ldr__conn_t *c, int64_t now)
{
    int r = ldr__send_buffered(wk, c);
    if (r < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "send: %s", strerror(-r));
        ldr__finish(wk, c, now, LDR_OUTCOME_ERROR, 0, msg, true);
        return;
    }
    if (r > 0 && c->want_out)
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
