/*
 * larder-bench's load driver, shared between its files: connections, the per-thread worker, and
 * the functions the HTTP/1.1 loop (client.c), HTTP/2 (h2.c) and the set-up requests (setup.c)
 * call across.  Private to bench/harness/.
 */
#ifndef LARDER_BENCH_CLIENT_INTERNAL_H
#define LARDER_BENCH_CLIENT_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdatomic.h>

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

/* HTTP/1.1 responses: 1 when a whole response is in b (*status, *close_after and *body_at set),
 * 0 when more is needed, -1 when it is malformed (or ends early at_eof). */
int ldr__response(const ldr_buf_t *b, bool at_eof, int *status, bool *close_after, size_t *body_at);

/* Closes c (its HTTP/2 streams end as errors); it may reconnect from retry_at. */
void ldr__close(ldr__worker_t *wk, ldr__conn_t *c, int64_t retry_at);
/* Registers c with the worker's epoll (op), for output too when out. */
void ldr__watch(ldr__worker_t *wk, ldr__conn_t *c, bool out, int op);
/** Sends what c->wbuf holds from c->woff on: 1 all sent, 0 the socket is full (EPOLLOUT armed),
 *  or -errno. */
int ldr__send_buffered(ldr__worker_t *wk, ldr__conn_t *c);

/* HTTP/2 (h2.c).  The session starts once the TCP connection is up; streams go to the first open
 * connection with a free slot (ldr__h2_pick, then ldr__h2_assign and ldr__h2_flush). */
void ldr__h2_open(ldr__worker_t *wk, ldr__conn_t *c, int64_t now);
void ldr__h2_flush(ldr__worker_t *wk, ldr__conn_t *c, int64_t now);
void ldr__h2_read(ldr__worker_t *wk, ldr__conn_t *c, int64_t now);
/* Every live stream of c ends as an error (why); the session goes, the socket stays. */
void ldr__h2_drop(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, const char *why);
ldr__conn_t *ldr__h2_pick(ldr__worker_t *wk);
void ldr__h2_assign(ldr__worker_t *wk, ldr__conn_t *c, const ldr_load_req_t *req, int64_t now);
/* Resets the streams of c past their timeout; counts the live ones into *busy and lowers *wake
 * to the next deadline. */
void ldr__h2_timeouts(ldr__worker_t *wk, ldr__conn_t *c, int64_t now, uint32_t *busy,
                      int64_t *wake);

#endif
