/*
 * larder — the adapters' HTTP client: one thread that runs every call to a provider (payment,
 * delivery) through libcurl's multi interface, so a slow provider never holds a loop thread.
 *
 * A call has a deadline for all its attempts; each attempt is bounded by what is left of it.  A
 * call that fails in a way a retry can fix — no connection, no answer in time, 429 or 5xx — is
 * tried again after a backoff that doubles (with jitter), up to its attempts, when it says it may
 * be (`retry_safe`: the provider de-duplicates it by an idempotency key).  A circuit breaker per
 * provider counts consecutive failed attempts: at its threshold it opens and calls fail at once
 * (LDR_HTTP_OPEN, nothing sent) until its cooldown ends; then one call goes through, and its
 * success closes the breaker, its failure opens it again.
 *
 * `done` runs on the adapter thread; it must hand the answer on (h2o_multithread_send_message)
 * and not block.  Everything about a call belongs to the client between submit and done.
 */
#ifndef LARDER_SHELL_ADAPTERS_HTTP_CLIENT_H
#define LARDER_SHELL_ADAPTERS_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "larder/buf.h"

enum {
    LDR_HTTP_OK = 0, /* an answer came (any status: see `status`) */
    LDR_HTTP_TIMEOUT,
    LDR_HTTP_FAILED, /* no connection, or the transfer broke */
    LDR_HTTP_OPEN,   /* the provider's breaker is open: not sent */
};

/** A provider's circuit breaker; only the adapter thread changes it after start (the counters
 *  are atomics so that /metrics may read them from a loop thread). */
typedef struct ldr_breaker {
    const char *name;     /* for /metrics and the log */
    uint32_t threshold;   /* consecutive failed attempts that open it */
    uint32_t cooldown_ms; /* how long it stays open */
    uint32_t failures;    /* consecutive, so far */
    uint64_t open_until;  /* monotonic ms; 0: closed */
    bool probing;         /* half open: one call is trying */
    atomic_bool open;     /* open_until != 0, for /metrics */
    atomic_uint_fast64_t opened, attempts, failed, refused; /* refused: not sent, it was open */
} ldr_breaker_t;

typedef struct ldr_http_call ldr_http_call_t;

struct ldr_http_call {
    /* the request (the caller fills these) */
    const char *method; /* "GET" or "POST" */
    char url[512];
    char headers[8][320];   /* "Name: value", empty ones ignored */
    ldr_buf_t body;         /* sent as is; freed by ldr_http_call_clear */
    uint32_t deadline_ms;   /* for all attempts together */
    uint32_t attempts;      /* at most; 0 counts as 1 */
    uint32_t backoff_ms;    /* before the second attempt (then doubled) */
    bool retry_safe;        /* the provider de-duplicates a repeat */
    ldr_breaker_t *breaker; /* NULL: none */
    void (*done)(ldr_http_call_t *c);
    void *data;
    /* the outcome */
    int outcome; /* LDR_HTTP_* */
    long status; /* with LDR_HTTP_OK */
    ldr_buf_t response;
    uint32_t tries;
    /* the client's */
    bool probe; /* the one call a half-open breaker lets through */
    void *easy;
    struct curl_slist *slist;
    uint64_t start_ms, retry_at;
    ldr_http_call_t *next;
};

typedef struct ldr_http_client ldr_http_client_t;

/** Starts the adapter thread (libcurl initialised once per process). */
int ldr_http_client_start(ldr_http_client_t **out);
/** Queues c (any thread).  After stop, c completes at once with LDR_HTTP_FAILED. */
void ldr_http_client_submit(ldr_http_client_t *hc, ldr_http_call_t *c);
/** Fails every call not finished (LDR_HTTP_FAILED, done called), then joins the thread. */
void ldr_http_client_stop(ldr_http_client_t *hc);
/** Runs c on the calling thread, blocking, with the same attempts and breaker rules (start-up
 *  work before the loops run); done is not called. */
void ldr_http_call_run(ldr_http_call_t *c);
/** Frees what a call holds (body, response). */
void ldr_http_call_clear(ldr_http_call_t *c);
/** Monotonic milliseconds. */
uint64_t ldr_http_now_ms(void);

#endif
