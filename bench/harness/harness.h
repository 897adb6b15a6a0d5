/*
 * larder-bench — the workload (endpoints, mix, requests drawn from a catalog), the HTTP/1.1
 * load driver and the report.  The open-loop core is load.h; the histograms hist.h.
 */
#ifndef LARDER_BENCH_HARNESS_H
#define LARDER_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/auth.h"
#include "larder/buf.h"
#include "load.h"

/** The endpoints of the workload model (docs/WORKLOAD.md), in report order. */
typedef enum ldr_ep {
    LDR_EP_SEARCH,
    LDR_EP_SUGGEST,
    LDR_EP_PRODUCT,
    LDR_EP_STOCK,
    LDR_EP_CART,
    LDR_EP_CHECKOUT,
    LDR_EP_SLOTS,
    LDR_EP_STOCK_WRITE,
    LDR_EP_COUNT
} ldr_ep_t;

/** What the model says of an endpoint. */
typedef struct ldr_ep_info {
    const char *name;  /* as in --mix and the reports */
    const char *route; /* for people */
    double weight;     /* default share of the total rate, percent */
    double sla_ms;     /* the bound its SLA percentile must meet */
    const char *sla;   /* which SLA of the seed it answers to */
    bool needs_token;  /* needs LARDER_JWT_SECRET */
} ldr_ep_info_t;

extern const ldr_ep_info_t ldr_ep_info[LDR_EP_COUNT];

/** The modelled peak, requests per second for all endpoints together (docs/WORKLOAD.md). */
#define LDR_PEAK_RATE 10000.0

/** Finds an endpoint by name; LDR_EP_COUNT when there is none. */
ldr_ep_t ldr_ep_find(const char *name, size_t len);

/**
 * Parses a mix "search=30,checkout=1,..." into weights (endpoints left out get 0).  Returns
 * LDR_OK or LDR_EINVAL with a message in err.
 */
int ldr_mix_parse(const char *s, double weights[LDR_EP_COUNT], char *err, size_t errsize);

/** Requests drawn from a catalog, shared read-only by the load threads. */
typedef struct ldr_workload {
    char **skus;
    size_t nskus;
    char **search; /* query strings after "?", URL-encoded, e.g. "q=ca+chua&per_page=20" */
    size_t nsearch;
    char **suggest; /* likewise, for /v1/suggest */
    size_t nsuggest;
    const char *checkout_skus[64]; /* well-stocked before the run (ldr_setup) */
    size_t ncheckout;
    char store[65];
    char host[64];       /* Host header: "127.0.0.1:8080" */
    char run_id[32];     /* keys and customers of this run never clash with another's */
    ldr_auth_t *auth;    /* NULL without LARDER_JWT_SECRET */
    char *service_token; /* for stock writes and the set-up */
    int64_t token_ttl;
    uint32_t query_kinds[8]; /* how many search queries of each kind (report) */
} ldr_workload_t;

/** The kinds of search queries drawn from a catalog. */
extern const char *const ldr_query_kind_names[6];

/**
 * Builds the workload from catalog JSON Lines (catalog[0..len), the product format of API.md):
 * nqueries search and suggest queries from a seeded generator: English words, Vietnamese with and
 * without diacritics, typos, prefixes as typed, filters.  Returns LDR_OK, or LDR_EINVAL with a
 * message in err when the catalog has no usable product.
 */
int ldr_workload_init(ldr_workload_t *w, const char *catalog, size_t len, uint64_t seed,
                      size_t nqueries, char *err, size_t errsize);
void ldr_workload_free(ldr_workload_t *w);

/** Per-connection state of a request in flight: a checkout is two steps under one customer. */
typedef struct ldr_txn {
    uint32_t step;
    char token[1024];
    char key[96];
    const char *sku;
} ldr_txn_t;

/** How many requests endpoint ep makes for one scheduled request (checkout: cart PUT + POST). */
uint32_t ldr_workload_steps(ldr_ep_t ep);

/**
 * Writes the HTTP/1.1 request of step txn->step of req into out (reset first), using rng (the
 * thread's xorshift state) and thread (its number) for names.  Returns LDR_OK, or an error when a
 * token cannot be minted.
 */
int ldr_workload_request(const ldr_workload_t *w, const ldr_load_req_t *req, ldr_txn_t *txn,
                         uint32_t thread, uint64_t *rng, ldr_buf_t *out);

/** A 64-bit xorshift* step. */
static inline uint64_t ldr_rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/** Options of one fixed-rate run. */
typedef struct ldr_run_opts {
    uint32_t addr; /* IPv4, network order */
    uint16_t port; /* host order */
    double rate;   /* total requests per second */
    double weights[LDR_EP_COUNT];
    double duration; /* seconds */
    double timeout;  /* seconds */
    uint32_t threads;
    uint32_t connections; /* in all */
    bool http2;           /* h2c with prior knowledge instead of HTTP/1.1 */
    uint32_t streams;     /* HTTP/2: requests in flight per connection at most */
    bool progress;        /* a line on stderr every second */
    const char *label;    /* printed in the progress line */
} ldr_run_opts_t;

/** Offered rate per endpoint for o (rate x weight / sum of weights). */
void ldr_run_rates(const ldr_run_opts_t *o, double rates[LDR_EP_COUNT]);

/**
 * Runs the load: o->threads threads, each with its share of the connections and of every
 * endpoint's rate, for o->duration seconds plus up to o->timeout to drain.  *out receives the
 * merged results (free with ldr_stats_free).  Returns LDR_OK, or an error with a message on
 * stderr when nothing could run.
 */
int ldr_run(const ldr_run_opts_t *o, const ldr_workload_t *w, ldr_stats_t *out);

/**
 * One blocking request for the set-up (not measured): method, path, optional bearer token and
 * body; the status goes to *status and the body (at most bodysize - 1 bytes, NUL-terminated) to
 * body when not NULL.  Returns LDR_OK or LDR_EIO.
 */
int ldr_http_once(uint32_t addr, uint16_t port, const char *method, const char *path,
                  const char *token, const char *json, int *status, char *body, size_t bodysize);

/** Stocks the checkout SKUs for the run (a large lot each).  Returns LDR_OK or LDR_EIO. */
int ldr_setup(const ldr_run_opts_t *o, const ldr_workload_t *w);

/** What one run's figures say against the SLAs. */
typedef struct ldr_verdict {
    double sla_quantile; /* e.g. 0.99 */
    double success_min;  /* e.g. 0.999 */
    bool ep_pass[LDR_EP_COUNT];
    bool pass;
} ldr_verdict_t;

/** Judges s (from a run with o) against the SLAs; only endpoints with requests count. */
void ldr_judge(const ldr_run_opts_t *o, const ldr_stats_t *s, ldr_verdict_t *v);

/** Writes DIR/results.json, DIR/report.md, DIR/latency.svg and DIR/timeline.svg.  Returns
 *  LDR_OK, or LDR_EIO with a message on stderr. */
int ldr_report_write(const char *dir, const ldr_run_opts_t *o, const ldr_workload_t *w,
                     const ldr_stats_t *s, const ldr_verdict_t *v, const char *command);

/** One step of a capacity search. */
typedef struct ldr_capacity_step {
    double rate, achieved;
    double p99_ms[LDR_EP_COUNT];
    double success;
    bool pass;
} ldr_capacity_step_t;

/** Writes DIR/capacity.md, DIR/capacity.json and DIR/capacity.svg.  Returns LDR_OK or LDR_EIO. */
int ldr_report_capacity(const char *dir, const ldr_run_opts_t *o, const ldr_capacity_step_t *steps,
                        size_t n, double best, const char *command);

#endif
