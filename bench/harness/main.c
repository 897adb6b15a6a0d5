/*
 * larder-bench: the SLA harness of issue 8.  `sla` offers a fixed open-loop rate for a duration
 * and writes a report; `capacity` steps the rate up until an SLA breaks and bisects the edge;
 * `soak` is `sla` with a long default duration.  `larder-bench --help` is the manual.
 *
 * Exit status: 0 every SLA met, 1 an SLA missed (the report is written), 2 bad usage, 3 the run
 * could not be made (server unreachable, files unwritable).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "larder/gen.h"

static const char ldr__usage[] =
    "usage: larder-bench sla      --url URL --rate R --duration SECONDS --out DIR [options]\n"
    "       larder-bench capacity --url URL --out DIR [--start R] [--step R] [--max R]\n"
    "                             [--step-duration SECONDS] [--refine N] [options]\n"
    "       larder-bench soak     --url URL --rate R [--duration SECONDS] --out DIR [options]\n"
    "       larder-bench queries  [--catalog FILE] [--queries N]\n"
    "       larder-bench --help\n"
    "\n"
    "An open-loop load generator for larder's SLAs: search <= 500 ms, checkout <= 1 s, inventory\n"
    "update <= 100 ms, delivery slots <= 500 ms, 99.9 % success.  Requests are due at a constant\n"
    "rate per endpoint whatever happened to earlier ones; a due request waits for a free\n"
    "keep-alive connection, and its latency counts from its intended send time (coordinated\n"
    "omission corrected, as wrk2 does).  Latencies go into log-linear histograms good to 1 %.\n"
    "\n"
    "modes:\n"
    "  sla       offer R requests/s in all for SECONDS, split over the endpoints by the mix;\n"
    "            write DIR/report.md (pass/fail per SLA), DIR/results.json, DIR/latency.svg\n"
    "            (percentiles per endpoint) and DIR/timeline.svg (p99 over time)\n"
    "  capacity  run the sla test at --start, --start + --step, ... up to --max for\n"
    "            --step-duration seconds each until one fails, then bisect between the last\n"
    "            pass and the first failure --refine times; writes DIR/capacity.md,\n"
    "            DIR/capacity.json, DIR/capacity.svg and prints the highest passing rate\n"
    "  soak      sla with a long run (default 600 s): the timeline shows drift and leaks\n"
    "  queries   print the search queries the workload draws (URL-encoded, one a line), to\n"
    "            feed a peer the same mix (bench/peers.sh)\n"
    "\n"
    "options:\n"
    "  --url URL             the server, http://IPv4:PORT (or localhost); HTTP/1.1 keep-alive\n"
    "  --http2               HTTP/2 over cleartext (h2c, prior knowledge) instead, each\n"
    "                        connection carrying up to --streams N requests at once (default 16)\n"
    "  --rate R              total requests/s; `peak` is the workload model's peak, 10000/s\n"
    "                        (300,000 users online, docs/WORKLOAD.md)\n"
    "  --duration SECONDS    how long to offer the load (sla: required; soak: default 600)\n"
    "  --out DIR             where the report goes (created)\n"
    "  --mix NAME=W,...      the share of each endpoint (weights, any scale); the default is the\n"
    "                        model's: search=30,suggest=25,product=15,stock=10,cart=10,\n"
    "                        checkout=1,slots=4,stock_write=5; endpoints left out get none\n"
    "  --catalog FILE        draw queries and SKUs from this catalog (JSON Lines, as `larder\n"
    "                        gen-catalog` writes); without it the demo catalog is generated in\n"
    "                        memory: --skus N (default 50000) --seed S (default 1), the same\n"
    "                        products `larder serve --demo` and `gen-catalog --seed S` serve\n"
    "  --queries N           search and suggest queries to draw (default 4096)\n"
    "  --threads N           load threads, each with its own epoll loop (default 1)\n"
    "  --connections N       keep-alive connections in all (default 64)\n"
    "  --timeout SECONDS     a request not answered this long after its intended time is a\n"
    "                        timeout (default 5); the run drains for at most this long\n"
    "  --percentile P        the latency percentile held to the SLA bounds (default 99)\n"
    "  --success RATIO       the share of requests that must succeed (default 0.999)\n"
    "  --no-progress         no progress line on stderr (by default every second on a\n"
    "                        terminal, every 5 s otherwise: seconds run, offered rate, answers\n"
    "                        and their rate, errors, timeouts, requests waiting for a connection)\n"
    "  -h, --help            this help\n"
    "\n"
    "capacity options: --start R (default 1000), --step R (default 1000), --max R (default\n"
    "  100000), --step-duration SECONDS (default 10), --refine N bisections (default 2)\n"
    "\n"
    "endpoints and their bounds (p99 by default; the requests of an endpoint must also succeed):\n"
    "  search       GET /v1/search?q=...          500 ms   queries: English, Vietnamese with and\n"
    "                                                      without diacritics, typos, prefixes,\n"
    "                                                      filters\n"
    "  suggest      GET /v1/suggest?q=...         500 ms   prefixes as typed\n"
    "  product      GET /v1/products/{sku}        500 ms\n"
    "  stock        GET /v1/stock/{sku}           500 ms\n"
    "  cart         PUT /v1/cart/items/{sku}     1000 ms   customer tokens, small carts\n"
    "  checkout     PUT a cart line, then POST /v1/checkout (Idempotency-Key, pickup, fake_ok)\n"
    "                                            1000 ms   both steps, from the intended time\n"
    "  slots        GET /v1/delivery/slots        500 ms\n"
    "  stock_write  POST /v1/stock/{sku}/adjust   100 ms   a service token\n"
    "\n"
    "environment:\n"
    "  LARDER_JWT_SECRET  the server's token secret: cart, checkout and stock_write need it\n"
    "                     (customer and service tokens are minted here).  Before a run with\n"
    "                     checkouts, 64 products get a lot of 100,000,000 units in the store.\n"
    "\n"
    "the full run (docs/SLA.md):\n"
    "  LARDER_JWT_SECRET=... build/larder serve --demo --listen 127.0.0.1:8080 &\n"
    "  build/larder-bench sla --url http://127.0.0.1:8080 --rate peak --duration 300 \\\n"
    "      --out build/sla-peak\n"
    "  build/larder-bench capacity --url http://127.0.0.1:8080 --out build/sla-capacity \\\n"
    "      --start 2000 --step 2000 --max 60000 --step-duration 20\n"
    "  build/larder-bench soak --url http://127.0.0.1:8080 --rate 5000 --duration 3600 \\\n"
    "      --out build/sla-soak\n"
    "  `make bench` runs bench/sla.sh, a short version against a server of its own.\n"
    "\n"
    "exit status: 0 every SLA met, 1 an SLA missed (the report is written), 2 bad usage,\n"
    "3 the run could not be made (server unreachable, unwritable DIR).\n";

__attribute__((format(printf, 1, 2))) static int ldr__usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("larder-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nRun `larder-bench --help` for usage.\n", stderr);
    return 2;
}

static bool ldr__number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || !(v >= lo) || !(v <= hi))
        return false;
    *out = v;
    return true;
}

static bool ldr__parse_url(const char *url, uint32_t *addr, uint16_t *port)
{
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *h = url + 7, *colon = strchr(h, ':');
    char host[64];
    const char *rest;
    unsigned long p = 80;
    if (colon != NULL) {
        if ((size_t)(colon - h) >= sizeof(host))
            return false;
        memcpy(host, h, (size_t)(colon - h));
        host[colon - h] = '\0';
        char *end;
        errno = 0;
        p = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || errno != 0 || p < 1 || p > 65535)
            return false;
        rest = end;
    } else {
        size_t n = strcspn(h, "/");
        if (n >= sizeof(host))
            return false;
        memcpy(host, h, n);
        host[n] = '\0';
        rest = h + n;
    }
    if (strcmp(rest, "") != 0 && strcmp(rest, "/") != 0)
        return false;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1)
        return false;
    *addr = a.s_addr;
    *port = (uint16_t)p;
    return true;
}

static int ldr__mkdirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -1;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static char *ldr__slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    ldr_buf_t b = LDR_BUF_INIT;
    for (;;) {
        char *p = ldr_buf_reserve(&b, 1 << 20);
        size_t n = fread(p, 1, 1 << 20, f);
        b.len += n;
        if (n == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        ldr_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    ldr_buf_putc(&b, '\0');
    return b.base;
}

typedef struct ldr__cli {
    ldr_run_opts_t run;
    const char *url, *out, *catalog, *mix;
    double skus, seed, queries, percentile, success;
    double start, step, max, step_duration, refine;
    bool have_rate, have_duration;
} ldr__cli_t;

/* Runs one fixed-rate test; fills verdict and stats. */
static void ldr__one(const ldr_run_opts_t *o, const ldr_workload_t *w, double q, double success,
                     ldr_stats_t *stats, ldr_verdict_t *v)
{
    ldr_run(o, w, stats);
    memset(v, 0, sizeof(*v));
    v->sla_quantile = q;
    v->success_min = success;
    ldr_judge(o, stats, v);
}

static int ldr__cmp_step(const void *a, const void *b)
{
    double x = ((const ldr_capacity_step_t *)a)->rate, y = ((const ldr_capacity_step_t *)b)->rate;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return ldr__usage_error("a mode is required: sla, capacity or soak");
    const char *mode = argv[1];
    if (strcmp(mode, "-h") == 0 || strcmp(mode, "--help") == 0 || strcmp(mode, "help") == 0) {
        fputs(ldr__usage, stdout);
        return 0;
    }
    bool sla = strcmp(mode, "sla") == 0, soak = strcmp(mode, "soak") == 0,
         capacity = strcmp(mode, "capacity") == 0, queries = strcmp(mode, "queries") == 0;
    if (!sla && !soak && !capacity && !queries)
        return ldr__usage_error("unknown mode \"%s\" (sla, capacity, soak or queries)", mode);

    ldr__cli_t c = {.skus = 50000,
                    .seed = 1,
                    .queries = 4096,
                    .percentile = 99,
                    .success = 0.999,
                    .start = 1000,
                    .step = 1000,
                    .max = 100000,
                    .step_duration = 10,
                    .refine = 2};
    c.run.threads = 1;
    c.run.connections = 64;
    c.run.timeout = 5;
    c.run.progress = true;
    c.run.streams = 16;
    c.run.duration = 600;
    static const struct option longopts[] = {{"url", required_argument, NULL, 'u'},
                                             {"rate", required_argument, NULL, 'r'},
                                             {"duration", required_argument, NULL, 'd'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"mix", required_argument, NULL, 'm'},
                                             {"catalog", required_argument, NULL, 'c'},
                                             {"skus", required_argument, NULL, 'k'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"queries", required_argument, NULL, 'q'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"connections", required_argument, NULL, 'n'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {"percentile", required_argument, NULL, 'p'},
                                             {"success", required_argument, NULL, 'S'},
                                             {"no-progress", no_argument, NULL, 'P'},
                                             {"start", required_argument, NULL, 1},
                                             {"step", required_argument, NULL, 2},
                                             {"max", required_argument, NULL, 3},
                                             {"step-duration", required_argument, NULL, 4},
                                             {"refine", required_argument, NULL, 5},
                                             {"http2", no_argument, NULL, 6},
                                             {"streams", required_argument, NULL, 7},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch, idx = 0;
    double v;
    opterr = 0;
    optind = 2;
    while ((ch = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
        const char *name = ch == '?' || ch == ':' ? NULL : longopts[idx].name;
        switch (ch) {
        case 'h':
            fputs(ldr__usage, stdout);
            return 0;
        case 'u':
            c.url = optarg;
            if (!ldr__parse_url(optarg, &c.run.addr, &c.run.port))
                return ldr__usage_error("--url: \"%s\" is not http://IPv4:PORT", optarg);
            break;
        case 'r':
            if (strcmp(optarg, "peak") == 0)
                c.run.rate = LDR_PEAK_RATE;
            else if (!ldr__number(optarg, 0.001, 10000000, &c.run.rate))
                return ldr__usage_error("--rate: \"%s\" is not a rate (0.001..10000000 or peak)",
                                        optarg);
            c.have_rate = true;
            break;
        case 'd':
            if (!ldr__number(optarg, 0.1, 7 * 86400, &c.run.duration))
                return ldr__usage_error("--duration: \"%s\" is not 0.1..604800 seconds", optarg);
            c.have_duration = true;
            break;
        case 'o':
            c.out = optarg;
            break;
        case 'm':
            c.mix = optarg;
            break;
        case 'c':
            c.catalog = optarg;
            break;
        case 'k':
            if (!ldr__number(optarg, 1, 10000000, &c.skus) || c.skus != floor(c.skus))
                return ldr__usage_error("--skus: \"%s\" is not 1..10000000", optarg);
            break;
        case 's':
            if (!ldr__number(optarg, 0, 1e15, &c.seed) || c.seed != floor(c.seed))
                return ldr__usage_error("--seed: \"%s\" is not a whole number", optarg);
            break;
        case 'q':
            if (!ldr__number(optarg, 1, 1000000, &c.queries) || c.queries != floor(c.queries))
                return ldr__usage_error("--queries: \"%s\" is not 1..1000000", optarg);
            break;
        case 't':
            if (!ldr__number(optarg, 1, 64, &v) || v != floor(v))
                return ldr__usage_error("--threads: \"%s\" is not 1..64", optarg);
            c.run.threads = (uint32_t)v;
            break;
        case 'n':
            if (!ldr__number(optarg, 1, 50000, &v) || v != floor(v))
                return ldr__usage_error("--connections: \"%s\" is not 1..50000", optarg);
            c.run.connections = (uint32_t)v;
            break;
        case 'T':
            if (!ldr__number(optarg, 0.01, 600, &c.run.timeout))
                return ldr__usage_error("--timeout: \"%s\" is not 0.01..600 seconds", optarg);
            break;
        case 'p':
            if (!ldr__number(optarg, 1, 100, &c.percentile))
                return ldr__usage_error("--percentile: \"%s\" is not 1..100", optarg);
            break;
        case 'S':
            if (!ldr__number(optarg, 0.000001, 1, &c.success))
                return ldr__usage_error("--success: \"%s\" is not a ratio in (0, 1]", optarg);
            break;
        case 'P':
            c.run.progress = false;
            break;
        case 1:
        case 2:
        case 3:
            if (!ldr__number(optarg, 0.001, 10000000, &v))
                return ldr__usage_error("--%s: \"%s\" is not a rate (0.001..10000000)", name,
                                        optarg);
            *(ch == 1 ? &c.start : ch == 2 ? &c.step : &c.max) = v;
            break;
        case 4:
            if (!ldr__number(optarg, 0.1, 86400, &c.step_duration))
                return ldr__usage_error("--step-duration: \"%s\" is not 0.1..86400 seconds",
                                        optarg);
            break;
        case 5:
            if (!ldr__number(optarg, 0, 20, &c.refine) || c.refine != floor(c.refine))
                return ldr__usage_error("--refine: \"%s\" is not 0..20", optarg);
            break;
        case 6:
            c.run.http2 = true;
            break;
        case 7:
            if (!ldr__number(optarg, 1, 1000, &v) || v != floor(v))
                return ldr__usage_error("--streams: \"%s\" is not 1..1000", optarg);
            c.run.streams = (uint32_t)v;
            break;
        case ':':
            return ldr__usage_error("%s needs a value", argv[optind - 1]);
        default:
            return ldr__usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ldr__usage_error("unexpected argument \"%s\"", argv[optind]);
    if (queries && (c.url != NULL || c.out != NULL || c.have_rate || c.have_duration))
        return ldr__usage_error("queries takes only --catalog, --skus, --seed and --queries");
    if (queries) { /* the search queries, one a line: for peers fed the same mix */
        ldr_workload_t qw;
        size_t qlen = 0;
        char *qcat = NULL, qerr[256];
        if (c.catalog != NULL) {
            qcat = ldr__slurp(c.catalog, &qlen);
            if (qcat == NULL)
                return ldr__usage_error("--catalog: cannot read %s: %s", c.catalog,
                                        strerror(errno));
        } else {
            FILE *mf = open_memstream(&qcat, &qlen);
            ldr_gen_opts_t go = {(uint32_t)c.skus, (uint64_t)c.seed, 3,
                                 (int64_t)time(NULL) / 86400 * 86400};
            if (mf == NULL || ldr_gen_catalog(&go, mf, NULL) != LDR_OK)
                return 3;
            fclose(mf);
        }
        int qrc = ldr_workload_init(&qw, qcat, qlen, (uint64_t)c.seed, (size_t)c.queries, qerr,
                                    sizeof(qerr));
        free(qcat);
        if (qrc != LDR_OK)
            return ldr__usage_error("%s", qerr);
        for (size_t i = 0; i < qw.nsearch; i++)
            printf("%s\n", qw.search[i]);
        ldr_workload_free(&qw);
        return fflush(stdout) == 0 ? 0 : 3;
    }
    if (c.url == NULL)
        return ldr__usage_error("--url is required");
    if (c.out == NULL)
        return ldr__usage_error("--out is required");
    if (!capacity && !c.have_rate)
        return ldr__usage_error("--rate is required");
    if (sla && !c.have_duration)
        return ldr__usage_error("--duration is required");
    if (capacity && (c.have_rate || c.have_duration))
        return ldr__usage_error("capacity takes --start/--step/--max and --step-duration, not "
                                "--rate or --duration");
    if (capacity && c.max < c.start)
        return ldr__usage_error("--max (%g) is below --start (%g)", c.max, c.start);
    if (capacity && (c.max - c.start) / c.step > 200)
        return ldr__usage_error("--start %g to --max %g in steps of %g is more than 200 steps",
                                c.start, c.max, c.step);
    char err[256];
    for (int e = 0; e < LDR_EP_COUNT; e++)
        c.run.weights[e] = ldr_ep_info[e].weight;
    if (c.mix != NULL && ldr_mix_parse(c.mix, c.run.weights, err, sizeof(err)) != LDR_OK)
        return ldr__usage_error("%s", err);
    if (c.run.connections < c.run.threads)
        return ldr__usage_error("--connections (%u) must be at least --threads (%u)",
                                c.run.connections, c.run.threads);

    /* tokens */
    const char *secret = getenv("LARDER_JWT_SECRET");
    bool needs = false;
    for (int e = 0; e < LDR_EP_COUNT; e++)
        needs = needs || (ldr_ep_info[e].needs_token && c.run.weights[e] > 0);
    ldr_workload_t w;
    size_t clen = 0;
    char *cat = NULL;
    if (c.catalog != NULL) {
        cat = ldr__slurp(c.catalog, &clen);
        if (cat == NULL)
            return ldr__usage_error("--catalog: cannot read %s: %s", c.catalog, strerror(errno));
    } else {
        FILE *mf = open_memstream(&cat, &clen);
        time_t now = time(NULL);
        ldr_gen_opts_t go = {(uint32_t)c.skus, (uint64_t)c.seed, 3, (int64_t)now / 86400 * 86400};
        if (mf == NULL || ldr_gen_catalog(&go, mf, NULL) != LDR_OK) {
            fprintf(stderr, "larder-bench: cannot generate the catalog\n");
            return 3;
        }
        fclose(mf);
    }
    if (ldr_workload_init(&w, cat, clen, (uint64_t)c.seed, (size_t)c.queries, err, sizeof(err)) !=
        LDR_OK) {
        free(cat);
        return ldr__usage_error("--catalog %s: %s", c.catalog ? c.catalog : "(generated)", err);
    }
    free(cat);
    unsigned char *ip = (unsigned char *)&c.run.addr;
    snprintf(w.host, sizeof(w.host), "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], c.run.port);
    double longest = capacity ? c.step_duration * (c.max / c.step + c.refine + 2) : c.run.duration;
    w.token_ttl = (int64_t)longest + 3600;
    if (w.token_ttl > LDR_TOKEN_TTL_MAX)
        w.token_ttl = LDR_TOKEN_TTL_MAX;
    if (needs) {
        if (secret == NULL || strlen(secret) < LDR_AUTH_SECRET_MIN) {
            ldr_workload_free(&w);
            return ldr__usage_error(
                "LARDER_JWT_SECRET is %s: cart, checkout and stock_write need tokens signed "
                "with the server's secret (32 bytes or more); set it, or leave them out with "
                "--mix",
                secret == NULL ? "not set" : "too short");
        }
        if (ldr_auth_new(secret, strlen(secret), &w.auth) != LDR_OK) {
            ldr_workload_free(&w);
            return ldr__usage_error("LARDER_JWT_SECRET is not a usable secret");
        }
        ldr_buf_t tb = LDR_BUF_INIT;
        char sub[64];
        snprintf(sub, sizeof(sub), "bench-%s", w.run_id);
        if (ldr_token_mint(w.auth, LDR_ROLE_SERVICE, sub, (int64_t)time(NULL), w.token_ttl, &tb) !=
            LDR_OK) {
            ldr_workload_free(&w);
            return ldr__usage_error("cannot mint a service token");
        }
        w.service_token = ldr_strndup(tb.base, tb.len);
        ldr_buf_free(&tb);
    }
    if (ldr__mkdirs(c.out) != 0) {
        fprintf(stderr, "larder-bench: cannot create %s: %s\n", c.out, strerror(errno));
        ldr_workload_free(&w);
        return 3;
    }
    int status = 0;
    char body[256];
    if (ldr_http_once(c.run.addr, c.run.port, "GET", "/readyz", NULL, NULL, &status, body,
                      sizeof(body)) != LDR_OK ||
        status != 200) {
        fprintf(stderr, "larder-bench: %s/readyz %s%s\n", c.url,
                status ? "answers " : "does not answer", status ? body : "");
        ldr_workload_free(&w);
        return 3;
    }
    if (ldr_setup(&c.run, &w) != LDR_OK) {
        ldr_workload_free(&w);
        return 3;
    }

    ldr_buf_t cmd = LDR_BUF_INIT;
    for (int i = 0; i < argc; i++) {
        if (i > 0)
            ldr_buf_putc(&cmd, ' ');
        ldr_buf_puts(&cmd, i == 0 ? "larder-bench" : argv[i]);
    }
    ldr_buf_putc(&cmd, '\0');
    double q = c.percentile / 100;
    int rc;
    if (!capacity) {
        ldr_stats_t stats;
        ldr_verdict_t verdict;
        c.run.label = mode;
        ldr__one(&c.run, &w, q, c.success, &stats, &verdict);
        rc = ldr_report_write(c.out, &c.run, &w, &stats, &verdict, cmd.base) != LDR_OK ? 3
             : verdict.pass                                                            ? 0
                                                                                       : 1;
        if (rc != 3)
            fprintf(stderr, "larder-bench: %s at %.0f requests/s: %s (%s/report.md)\n", mode,
                    c.run.rate, verdict.pass ? "every SLA met" : "an SLA was missed", c.out);
        ldr_stats_free(&stats);
    } else {
        size_t cap = 64, n = 0;
        ldr_capacity_step_t *steps = ldr_calloc(cap, sizeof(*steps));
        double best = 0, fail = 0;
        c.run.duration = c.step_duration;
        for (int phase = 0; phase < 2; phase++) {
            int rounds = phase == 0 ? 1 << 30 : (int)c.refine;
            for (int r = 0; r < rounds; r++) {
                double rate;
                if (phase == 0) {
                    rate = c.start + c.step * n;
                    if (rate > c.max * (1 + 1e-9))
                        break;
                } else {
                    if (fail <= 0)
                        break;
                    rate = best > 0 ? (best + fail) / 2 : fail / 2;
                }
                if (n == cap) {
                    cap *= 2;
                    steps = ldr_realloc(steps, cap * sizeof(*steps));
                }
                char label[64];
                snprintf(label, sizeof(label), "capacity %.0f/s", rate);
                c.run.rate = rate;
                c.run.label = label;
                ldr_stats_t stats;
                ldr_verdict_t verdict;
                ldr__one(&c.run, &w, q, c.success, &stats, &verdict);
                ldr_capacity_step_t *st = &steps[n++];
                st->rate = rate;
                st->pass = verdict.pass;
                uint64_t ok = 0, tries = 0, answered = 0;
                for (int e = 0; e < LDR_EP_COUNT; e++) {
                    const ldr_ep_stats_t *es = &stats.ep[e];
                    ok += es->ok;
                    answered += es->ok + es->errors;
                    tries += es->ok + es->errors + es->timeouts;
                    st->p99_ms[e] =
                        es->scheduled > 0 ? (double)ldr_hist_quantile(&es->latency, q) / 1e6 : -1;
                }
                st->achieved = (double)answered / c.run.duration;
                st->success = tries ? (double)ok / (double)tries : 0;
                fprintf(stderr, "larder-bench: %.0f requests/s: %s\n", rate,
                        verdict.pass ? "pass" : "FAIL");
                ldr_stats_free(&stats);
                if (verdict.pass) {
                    if (rate > best)
                        best = rate;
                } else {
                    if (fail <= 0 || rate < fail)
                        fail = rate;
                    if (phase == 0)
                        break;
                }
                sleep(1); /* let the server settle between steps */
            }
        }
        qsort(steps, n, sizeof(*steps), ldr__cmp_step);
        rc = ldr_report_capacity(c.out, &c.run, steps, n, best, cmd.base) != LDR_OK ? 3 : 0;
        if (rc == 0) {
            printf("%.0f\n", best);
            fprintf(stderr,
                    "larder-bench: highest rate meeting every SLA: %.0f requests/s (%s/"
                    "capacity.md)\n",
                    best, c.out);
        }
        if (rc == 0 && best <= 0)
            rc = 1;
        ldr_free(steps);
    }
    ldr_buf_free(&cmd);
    ldr_workload_free(&w);
    return rc;
}
