/*
 * larder — the HTTP shell: h2o event loops (one per thread) answering HTTP/1.1 and cleartext
 * HTTP/2 (prior knowledge and Upgrade: h2c) on one port.
 *
 * ldr_server_run() blocks until SIGINT or SIGTERM, then stops accepting, asks open connections to
 * finish (HTTP/1 closes after the response in flight, HTTP/2 sends GOAWAY), waits for them up to
 * `shutdown_grace_ms` (and for the engine's answers to writes in flight) and returns.  A second
 * signal ends the wait for connections at once.
 */
#ifndef LARDER_HTTP_H
#define LARDER_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "larder/app.h"
#include "larder/auth.h"

#define LDR_DEFAULT_LISTEN       "127.0.0.1:8080"
#define LDR_DEFAULT_MAX_BODY     (1024 * 1024)
#define LDR_DEFAULT_SEARCH_CACHE 4096
#define LDR_SEARCH_CACHE_BYTES   (32u << 20)
/* connection limits (docs/architecture.md) */
#define LDR_HTTP1_REQUEST_TIMEOUT_MS                                                               \
    10000 /* one HTTP/1 request's head and body; keep-alive idle                                   \
           */
#define LDR_HTTP2_IDLE_TIMEOUT_MS 30000
#define LDR_HTTP2_STREAMS_MAX     100 /* concurrent requests of one HTTP/2 connection */

typedef struct ldr_server_opts {
    const char *listen;         /* "HOST:PORT", "[v6]:PORT"; port 0 picks a free one */
    size_t max_body;            /* request bodies above this are refused with 413 */
    uint32_t shutdown_grace_ms; /* how long to wait for open connections on shutdown */
    FILE *announce;             /* where to print "listening on http://HOST:PORT"; may be NULL */
    uint32_t search_cache;      /* cached search/suggest responses (entries); 0 disables */
    const ldr_auth_t *auth;     /* verifies the bearer tokens of write endpoints */
    uint32_t threads;           /* loop threads, each with its own listener (SO_REUSEPORT) */
    bool log_requests;          /* one JSON line per answered request on stderr */
    bool loops_preempt; /* loops stay SCHED_OTHER (default: SCHED_BATCH, see serve --help) */
} ldr_server_opts_t;

/** Serves `app` until a termination signal.  Returns LDR_OK, or LDR_EIO if it cannot listen. */
int ldr_server_run(const ldr_server_opts_t *opts, ldr_app_t *app);

/**
 * Splits "HOST:PORT" / "[V6]:PORT" into host (NUL-terminated, brackets removed) and port.
 * Returns LDR_OK or LDR_EINVAL.
 */
int ldr_listen_parse(const char *addr, char *host, size_t hostsize, uint16_t *port);

#endif
