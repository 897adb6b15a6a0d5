/*
 * larder-bench — the open-loop schedule and what each request's fate adds to the results.
 *
 * Open loop: every endpoint has a rate, and its requests are due at fixed intended times,
 * start + phase + k / rate, whatever happened to the earlier ones.  A request whose time has come
 * waits in a FIFO for a free connection; its latency is measured from its intended time, never
 * from when a connection became free, so a stalled connection or a slow server shows up as the
 * queueing delay a user would see (the "coordinated omission" correction of wrk2, Gil Tene).  A
 * request still waiting timeout after its intended time is counted as timed out and dropped,
 * which bounds the FIFO at rate x timeout.
 *
 * Nothing here reads a clock or touches a socket: the driver (client.c) passes `now` in, and the
 * tests drive the same code with a fake clock.  Times are nanoseconds on any monotonic clock.
 *
 * Threads: an ldr_load_t and its ldr_stats_t belong to one thread; stats merge afterwards.
 */
#ifndef LARDER_BENCH_LOAD_H
#define LARDER_BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

/** The most endpoints a workload may have. */
#define LDR_LOAD_EP_MAX 12
/** The most time windows the latency-over-time figures keep (longer runs widen the windows). */
#define LDR_LOAD_WINDOWS_MAX 240

/** One request: its endpoint and when it should have been sent. */
typedef struct ldr_load_req {
    int64_t intended;
    uint32_t ep;
    uint32_t seq; /* its number among the endpoint's requests on this thread */
} ldr_load_req_t;

/** How a request ended. */
typedef enum ldr_outcome {
    LDR_OUTCOME_OK = 0,  /* a 2xx answer */
    LDR_OUTCOME_ERROR,   /* another answer, or the connection failed */
    LDR_OUTCOME_TIMEOUT, /* no answer within the timeout of its intended time */
} ldr_outcome_t;

/** Per-endpoint results of one thread (or, merged, of the run). */
typedef struct ldr_ep_stats {
    uint64_t scheduled; /* intended times that fell within the run */
    uint64_t ok, errors, timeouts;
    uint64_t status_4xx, status_5xx, conn_errors; /* errors split by cause */
    ldr_hist_t latency;                           /* fine, of every answered request (ns) */
    ldr_hist_t *windows;                          /* coarse, one per window, answered requests */
    char first_error[160];                        /* the first error seen, for the report */
} ldr_ep_stats_t;

typedef struct ldr_stats {
    uint32_t nep;
    uint32_t nwindows;
    int64_t window_ns;
    ldr_ep_stats_t ep[LDR_LOAD_EP_MAX];
} ldr_stats_t;

/** Makes empty stats for nep endpoints and a run of duration_ns cut into windows. */
void ldr_stats_init(ldr_stats_t *s, uint32_t nep, int64_t duration_ns);
void ldr_stats_free(ldr_stats_t *s);
/** Adds src's counts and histograms to dst (same nep and duration).  Returns false on a mismatch.
 */
bool ldr_stats_merge(ldr_stats_t *dst, const ldr_stats_t *src);

typedef struct ldr_load_opts {
    uint32_t nep;
    double rate[LDR_LOAD_EP_MAX]; /* requests per second of this thread, per endpoint; 0 = none */
    double phase;                 /* 0..1: the first request is due phase / rate after start */
    int64_t start_ns;
    int64_t duration_ns;
    int64_t timeout_ns;
} ldr_load_opts_t;

typedef struct ldr_load {
    ldr_load_opts_t o;
    double period[LDR_LOAD_EP_MAX]; /* ns between intended times */
    uint64_t k[LDR_LOAD_EP_MAX];    /* the next request's number */
    int64_t next[LDR_LOAD_EP_MAX];  /* its intended time; INT64_MAX when none remain */
    ldr_load_req_t *fifo;           /* due, waiting for a connection: a ring */
    size_t head, count, cap;
    ldr_stats_t stats;
} ldr_load_t;

/** Starts a schedule.  Aborts when out of memory. */
void ldr_load_init(ldr_load_t *l, const ldr_load_opts_t *o);
void ldr_load_free(ldr_load_t *l);

/** Queues every request due at or before now (intended times before start + duration), oldest
 *  first across endpoints.  Returns how many it queued. */
size_t ldr_load_due(ldr_load_t *l, int64_t now);
/** The earliest intended time not yet queued, INT64_MAX when the schedule is over. */
int64_t ldr_load_next_due(const ldr_load_t *l);
/** Counts and drops the queued requests whose intended time is timeout or more before now. */
size_t ldr_load_expire(ldr_load_t *l, int64_t now);
/** How many requests wait for a connection. */
static inline size_t ldr_load_waiting(const ldr_load_t *l)
{
    return l->count;
}
/** Takes the oldest waiting request into *req; false when none waits. */
bool ldr_load_take(ldr_load_t *l, ldr_load_req_t *req);
/** Counts the end of a request at `now`: its latency is now - req->intended.  `error` (may be
 *  NULL) describes an error for the report; status is the HTTP status, 0 for none. */
void ldr_load_done(ldr_load_t *l, const ldr_load_req_t *req, int64_t now, ldr_outcome_t outcome,
                   int status, const char *error);

#endif
