/*
 * The `larder` command: serve, gen-catalog, version (token, user, wal, db and import live in
 * shell/cmd_*.c).
 *
 * Every command takes --help.  Flags win over LARDER_* environment variables; an unknown flag or a
 * bad value prints what is wrong and exits 2.  Runtime failures (cannot listen, cannot write)
 * exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "larder/app.h"
#include "larder/auth.h"
#include "larder/gen.h"
#include "larder/http.h"
#include "larder/pg.h"
#include "relay.h"

#define LDR__EXIT_USAGE               2
#define LDR__DEFAULT_DATA_DIR         "data"
#define LDR__DEFAULT_SNAPSHOT_RECORDS 1000000

static const char ldr__usage[] =
    "usage: larder <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve         serve the catalog over HTTP/1.1 and HTTP/2 (cleartext)\n"
    "  gen-catalog   write a deterministic demo catalog and stock as JSON Lines\n"
    "  token         mint an access token (JWT) with LARDER_JWT_SECRET\n"
    "  user          add an account (admins are made only this way), offline\n"
    "  wal           check or dump a write-ahead log\n"
    "  dev kafka     run a local mock Kafka cluster (to try LARDER_KAFKA_BROKERS)\n"
    "  db            PostgreSQL: create the schema (migrate), load products into it (load)\n"
    "  import        read the catalog from PostgreSQL into a data dir, offline\n"
    "  version       print the version\n"
    "\n"
    "Run `larder <command> --help` for a command's options.\n";

static const char ldr__serve_usage[] =
    "usage: larder serve [--listen ADDR:PORT] [--data-dir DIR]\n"
    "                    (--demo | --catalog FILE [--stock FILE])\n"
    "       LARDER_DATABASE_URL=URL larder serve [--listen ADDR:PORT] [--data-dir DIR]\n"
    "                    [--stock FILE]\n"
    "\n"
    "Loads a catalog into memory and answers the HTTP API on one port, HTTP/1.1 and cleartext\n"
    "HTTP/2 (prior knowledge or Upgrade: h2c).  Stock lives in a write-ahead log in DIR/wal:\n"
    "every stock write is acknowledged only once it is on disk, and a restart recovers it.\n"
    "/healthz answers at once; /readyz answers 503 until the catalog is loaded and the log\n"
    "replayed.  SIGINT or SIGTERM stop it gracefully.\n"
    "\n"
    "options:\n"
    "  --listen ADDR:PORT  where to listen (env LARDER_LISTEN; default " LDR_DEFAULT_LISTEN ");\n"
    "                      IPv6 as [::1]:8080; port 0 picks a free port.  The bound address is\n"
    "                      printed on stdout as \"larder: listening on http://ADDR:PORT ...\"\n"
    "  --data-dir DIR      the data directory, created when missing (env LARDER_DATA_DIR;\n"
    "                      default ./" LDR__DEFAULT_DATA_DIR ")\n"
    "  --demo              serve the 50,000-SKU demo catalog with 3 stores: generated into\n"
    "                      DIR/catalog.jsonl and DIR/stock.jsonl on first use, reused after\n"
    "  --catalog FILE      serve the products in FILE (JSON Lines, API.md product format);\n"
    "                      bad lines are reported on stderr and skipped.  The first FILE is\n"
    "                      kept as the data dir's base (DIR/catalog/); a later, different FILE\n"
    "                      is imported through the log product by product (products it leaves\n"
    "                      out stay; the same file again changes nothing), like product\n"
    "                      writes over HTTP\n"
    "  --stock FILE        initial lots for a new data dir (JSON Lines:\n"
    "                      {\"sku\",\"store\",\"lot\",\"quantity\",\"expires_at\"?}); once "
    "DIR/wal\n"
    "                      holds stock, the log owns it and FILE is ignored (with a note)\n"
    "  -h, --help          show this help\n"
    "\n"
    "environment:\n"
    "  LARDER_LISTEN, LARDER_DATA_DIR  as --listen and --data-dir (the flags win)\n"
    "  LARDER_JWT_SECRET   the HS256 key (at least 32 bytes) that verifies bearer tokens of\n"
    "                      write endpoints; required, except with --demo, which makes a\n"
    "                      random one when it is unset and prints it on stderr\n"
    "  LARDER_LOG_LEVEL    warn (the default) or error: no line per request; info or debug:\n"
    "                      one JSON line per answered request on stderr ({\"time\",\"level\",\n"
    "                      \"msg\",\"method\",\"path\",\"route\",\"status\",\"latency_us\",\n"
    "                      \"protocol\",\"request_id\"}; never a query, header or body).  Every\n"
    "                      answer carries X-Request-Id (the client's when it sent a usable one)\n"
    "  LARDER_THREADS      HTTP loop threads (1..64; default one per online CPU), each with\n"
    "                      its own listening socket on the port (SO_REUSEPORT)\n"
    "  LARDER_LOOP_SCHED   batch (default): the loop threads run under SCHED_BATCH.  A loop\n"
    "                      that a request wakes then does not preempt the thread running on\n"
    "                      its CPU: it runs when that thread sleeps or its time slice ends (a\n"
    "                      few ms, rounded up to the timer tick), and answers everything that\n"
    "                      came meanwhile.  Where clients or other work share the CPUs, that\n"
    "                      measured 6-11 % more requests/s for ~10 % less CPU each\n"
    "                      (docs/PERFORMANCE.md); an idle CPU runs a woken loop at once either\n"
    "                      way.  normal: SCHED_OTHER, woken loops preempt as usual (lower\n"
    "                      latency on a busy machine).  Other threads keep the process's policy\n"
    "  LARDER_ENGINE       loop (default): the engine, which applies every write and\n"
    "                      writes the log, runs on the first loop thread between that loop's\n"
    "                      turns and writes each batch before the loop goes on (as Redis does\n"
    "                      under appendfsync always): no thread hand-offs, fewer wake-ups.  On\n"
    "                      2 cores with the clients on the same machine it made 1.1-1.3 times\n"
    "                      the durable writes/s of thread at 50 HTTP/1.1 connections\n"
    "                      (docs/PERFORMANCE.md, session 8).  thread: the\n"
    "                      engine runs on a thread of its own and writes one batch while it\n"
    "                      collects the next; no loop waits for the disk (for machines with\n"
    "                      cores to spare; not measured here)\n"
    "  LARDER_SNAPSHOT_RECORDS  log records between snapshots of the stock state (default\n"
    "                      1000000; 0: never).  A snapshot is written by a forked child into\n"
    "                      DIR/wal; the two newest stay, with the log back to the older one\n"
    "  LARDER_SEARCH_CACHE  rendered /v1/search and /v1/suggest answers kept for repeated\n"
    "                      queries (entries, default 4096, at most 32 MiB; 0 disables); any\n"
    "                      change to catalog or stock invalidates them\n"
    "  LARDER_INDEX_UPDATE  1 (default): a catalog write updates the search index from the\n"
    "                      previous one, re-indexing only the products that changed (a full\n"
    "                      build once an eighth of the catalog has changed); 0: every catalog\n"
    "                      write builds the index whole (slower writes; for comparison)\n"
    "  LARDER_PAYMENT_TIMEOUT_MS  how long a checkout waits for the payment provider, all\n"
    "                      attempts together (default 3000)\n"
    "  LARDER_STRIPE_KEY   enables the \"stripe\" payment provider (PaymentIntents, manual\n"
    "                      capture) with this secret key; LARDER_STRIPE_URL (default\n"
    "                      https://api.stripe.com), LARDER_STRIPE_WEBHOOK_SECRET (enables POST\n"
    "                      /v1/webhooks/stripe), LARDER_STRIPE_ATTEMPTS (3), "
    "LARDER_STRIPE_BACKOFF_MS\n"
    "                      (100, doubling), LARDER_STRIPE_BREAKER_FAILURES (5 failed attempts in "
    "a\n"
    "                      row open the circuit), LARDER_STRIPE_BREAKER_COOLDOWN_MS (30000)\n"
    "  LARDER_DATABASE_URL  the catalog comes from PostgreSQL's products table (a libpq URL;\n"
    "                      `larder db migrate` makes the schema) instead of --demo/--catalog:\n"
    "                      read with COPY at start like a --catalog file (the first read is\n"
    "                      the data dir's base, later ones go through the log; products the\n"
    "                      table no longer has are deleted through the log); while serving, a\n"
    "                      sync thread LISTENs for the table's NOTIFYs and applies each change\n"
    "                      as PUT/DELETE /v1/products/{sku} would (durable, then searchable),\n"
    "                      reconnects with backoff (200 ms to 10 s) and reconciles the whole\n"
    "                      table after every connect.  PostgreSQL is then the system of record:\n"
    "                      a product written over HTTP that the table does not have is deleted\n"
    "                      by the next reconciliation.  When PostgreSQL does not answer at\n"
    "                      start, a data dir that already has a catalog is served as it is.\n"
    "                      The same database gets the order history: every order and status\n"
    "                      change is written from the log into orders, order_lines and\n"
    "                      order_status_history (idempotently; it waits in the log while\n"
    "                      PostgreSQL is away; /metrics: larder_order_sink_lag_records)\n"
    "  LARDER_PG_RECONCILE_SECONDS  seconds between whole-table reconciliations (default 60;\n"
    "                      0: only after each connect)\n"
    "  LARDER_MOMO_URL, LARDER_MOMO_PARTNER_CODE, LARDER_MOMO_ACCESS_KEY,\n"
    "  LARDER_MOMO_SECRET_KEY, LARDER_MOMO_IPN_URL  all five enable the \"momo\" provider (the\n"
    "                      gateway's base URL, the partner's credentials, and the public URL of\n"
    "                      this server's /v1/webhooks/momo); LARDER_MOMO_REDIRECT_URL: where the\n"
    "                      shopper returns after paying (default: the IPN URL)\n"
    "  LARDER_KAFKA_BROKERS  host:port[,host:port...]: publish the domain events of every\n"
    "                      durable log record to Kafka (idempotent producer; order per key;\n"
    "                      at least once, each message with a stable eventId).  The relay's\n"
    "                      cursor is DIR/relay/kafka.cursor; a broker outage only delays (the\n"
    "                      log keeps what is not relayed; /metrics: larder_outbox_lag_records).\n"
    "                      Topics: LARDER_KAFKA_TOPIC_ORDER (order_events), _PAYMENT\n"
    "                      (payment_events), _DELIVERY (delivery_events), _INVENTORY\n"
    "                      (inventory_events); messages and keys: docs/events/README.md.\n"
    "                      `larder dev kafka` runs a local mock cluster to try it.  The\n"
    "                      payment and delivery topics are also read (consumer group\n"
    "                      LARDER_KAFKA_GROUP, default \"larder\"; empty: not read): other\n"
    "                      services' PaymentAuthorized/PaymentCaptured, PaymentFailed,\n"
    "                      PaymentRefunded, DeliveryDispatched and Delivered events\n"
    "                      ({\"event\",\"orderId\",...}) move the order they name where its\n"
    "                      status allows (so a repeated event changes nothing)\n"
    "  LARDER_DELIVERY_PROVIDER  the courier of a same-day checkout with an address that\n"
    "                      names none: fake (default), grab or viettelpost (when configured)\n"
    "  LARDER_DELIVERY_RETRY_MS  a failed booking or cancellation is tried again after this\n"
    "                      (default 5000, doubling up to 5 minutes)\n"
    "  LARDER_DELIVERY_TIMEOUT_MS  deadline of one courier call, all attempts (default 5000)\n"
    "  LARDER_DELIVERY_SENDER_NAME, _PHONE, _ADDRESS  where couriers pick orders up\n"
    "  LARDER_FAKE_DELIVERY_WEBHOOK_SECRET  signs the fake courier's webhooks\n"
    "                      (X-Fake-Signature; unset: they are refused)\n"
    "  LARDER_GRAB_KEY     enables the \"grab\" courier (GrabExpress Delivery API) with this\n"
    "                      access token; LARDER_GRAB_URL (default\n"
    "                      https://partner-api.grab.com/grab-express), LARDER_GRAB_WEBHOOK_SECRET\n"
    "                      (HMAC-SHA256 of webhooks in X-Grab-Signature)\n"
    "  LARDER_VIETTELPOST_TOKEN  enables the \"viettelpost\" courier (partner API v2) with this\n"
    "                      partner token; LARDER_VIETTELPOST_URL (default\n"
    "                      https://partner.viettelpost.vn), LARDER_VIETTELPOST_WEBHOOK_TOKEN (the\n"
    "                      TOKEN its webhooks carry)\n"
    "  LARDER_GRAB_* / LARDER_VIETTELPOST_* ATTEMPTS (3), BACKOFF_MS (200, doubling),\n"
    "                      BREAKER_FAILURES (5), BREAKER_COOLDOWN_MS (30000), as for Stripe\n"
    "\n"
    "exit status: 0 after a clean shutdown, 1 on a runtime error, 2 on bad usage.\n";

static const char ldr__gen_usage[] =
    "usage: larder gen-catalog [--skus N] [--seed S] [--stores K] [--today YYYY-MM-DD] [--out "
    "DIR]\n"
    "\n"
    "Writes a realistic English/Vietnamese grocery catalog.  The output depends only on the\n"
    "options: the same options give byte-identical files.\n"
    "\n"
    "options:\n"
    "  --skus N            number of products (1..10000000; default 50000)\n"
    "  --seed S            random seed (0..2^64-1; default 1)\n"
    "  --stores K          number of stores with stock (1..1000; default 3); the first is\n"
    "                      \"default\"\n"
    "  --today YYYY-MM-DD  the day lot expiry dates count from (default: today, UTC)\n"
    "  --out DIR           write DIR/catalog.jsonl and DIR/stock.jsonl (DIR is created);\n"
    "                      without it the products go to stdout and no stock is written\n"
    "  -h, --help          show this help\n";

static const char ldr__version_usage[] = "usage: larder version\n\nPrints the version.\n";

__attribute__((format(printf, 2, 3))) static int ldr__usage_error(const char *cmd, const char *fmt,
                                                                  ...)
{
    va_list ap;
    fprintf(stderr, "larder %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun `larder %s --help` for usage.\n", cmd);
    return LDR__EXIT_USAGE;
}

static bool ldr__parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* getopt_long's own message for an unknown flag is replaced by ours, with the exit code 2. */
static int ldr__bad_option(const char *cmd, char **argv)
{
    return ldr__usage_error(cmd, "unknown or incomplete option \"%s\"", argv[optind - 1]);
}

static int ldr__cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"data-dir", required_argument, NULL, 'd'},
                                             {"demo", no_argument, NULL, 'D'},
                                             {"catalog", required_argument, NULL, 'c'},
                                             {"stock", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    ldr_app_source_t src = {.data_dir = getenv("LARDER_DATA_DIR")};
    ldr_server_opts_t opts = {.listen = getenv("LARDER_LISTEN"),
                              .max_body = LDR_DEFAULT_MAX_BODY,
                              .shutdown_grace_ms = 5000,
                              .announce = stdout,
                              .search_cache = LDR_DEFAULT_SEARCH_CACHE};
    const char *cache_env = getenv("LARDER_SEARCH_CACHE");
    const char *snap_env = getenv("LARDER_SNAPSHOT_RECORDS");
    const char *threads_env = getenv("LARDER_THREADS");
    const char *sched_env = getenv("LARDER_LOOP_SCHED");
    const char *engine_env = getenv("LARDER_ENGINE");
    const char *level_env = getenv("LARDER_LOG_LEVEL");
    const char *update_env = getenv("LARDER_INDEX_UPDATE");
    const char *db_env = getenv("LARDER_DATABASE_URL");
    const char *reconcile_env = getenv("LARDER_PG_RECONCILE_SECONDS");
    src.snapshot_every = LDR__DEFAULT_SNAPSHOT_RECORDS;
    src.engine_on_loop = true; /* LARDER_ENGINE in --help */
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            opts.listen = optarg;
            break;
        case 'd':
            src.data_dir = optarg;
            break;
        case 'D':
            src.demo = true;
            break;
        case 'c':
            src.catalog_path = optarg;
            break;
        case 's':
            src.stock_path = optarg;
            break;
        case 'h':
            fputs(ldr__serve_usage, stdout);
            return 0;
        default:
            return ldr__bad_option("serve", argv);
        }
    }
    if (optind < argc)
        return ldr__usage_error("serve", "unexpected argument \"%s\"", argv[optind]);
    if (opts.listen == NULL || opts.listen[0] == '\0')
        opts.listen = LDR_DEFAULT_LISTEN;
    uint64_t entries;
    if (cache_env != NULL && cache_env[0] != '\0') {
        if (!ldr__parse_u64(cache_env, 0, 1u << 20, &entries))
            return ldr__usage_error(
                "serve", "LARDER_SEARCH_CACHE wants 0..1048576 entries, not \"%s\"", cache_env);
        opts.search_cache = (uint32_t)entries;
    }
    opts.log_requests = false; /* warn: a line per request costs ~40 % of h2c read throughput */
    if (level_env != NULL && level_env[0] != '\0') {
        if (strcmp(level_env, "info") == 0 || strcmp(level_env, "debug") == 0)
            opts.log_requests = true;
        else if (strcmp(level_env, "warn") == 0 || strcmp(level_env, "error") == 0)
            opts.log_requests = false;
        else
            return ldr__usage_error("serve",
                                    "LARDER_LOG_LEVEL wants error, warn, info or debug, not \"%s\"",
                                    level_env);
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    opts.threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (uint32_t)cpus;
    uint64_t nthreads;
    if (threads_env != NULL && threads_env[0] != '\0') {
        if (!ldr__parse_u64(threads_env, 1, 64, &nthreads))
            return ldr__usage_error("serve", "LARDER_THREADS wants 1..64 loop threads, not \"%s\"",
                                    threads_env);
        opts.threads = (uint32_t)nthreads;
    }
    if (sched_env != NULL && sched_env[0] != '\0') {
        if (strcmp(sched_env, "normal") == 0)
            opts.loops_preempt = true;
        else if (strcmp(sched_env, "batch") != 0)
            return ldr__usage_error("serve", "LARDER_LOOP_SCHED wants batch or normal, not \"%s\"",
                                    sched_env);
    }
    if (engine_env != NULL && engine_env[0] != '\0') {
        if (strcmp(engine_env, "thread") == 0)
            src.engine_on_loop = false;
        else if (strcmp(engine_env, "loop") != 0)
            return ldr__usage_error("serve", "LARDER_ENGINE wants thread or loop, not \"%s\"",
                                    engine_env);
    }
    if (snap_env != NULL && snap_env[0] != '\0' &&
        !ldr__parse_u64(snap_env, 0, UINT64_MAX, &src.snapshot_every))
        return ldr__usage_error("serve",
                                "LARDER_SNAPSHOT_RECORDS wants a number of records (0: never), "
                                "not \"%s\"",
                                snap_env);
    if (update_env != NULL && update_env[0] != '\0') {
        if (strcmp(update_env, "0") != 0 && strcmp(update_env, "1") != 0)
            return ldr__usage_error("serve", "LARDER_INDEX_UPDATE wants 0 or 1, not \"%s\"",
                                    update_env);
        src.full_index_builds = strcmp(update_env, "0") == 0;
    }
    if (src.data_dir == NULL || src.data_dir[0] == '\0')
        src.data_dir = LDR__DEFAULT_DATA_DIR;
    char host[256];
    uint16_t port;
    if (ldr_listen_parse(opts.listen, host, sizeof(host), &port) != LDR_OK)
        return ldr__usage_error("serve", "bad listen address \"%s\" (want HOST:PORT or [V6]:PORT)",
                                opts.listen);
    if (db_env != NULL && db_env[0] != '\0') {
        char err[LDR_PG_ERR_MAX];
        if (ldr_pg_check_url(db_env, err, sizeof(err)) != LDR_OK)
            return ldr__usage_error("serve", "LARDER_DATABASE_URL: %s", err);
        if (src.demo || src.catalog_path != NULL)
            return ldr__usage_error("serve", "%s",
                                    "with LARDER_DATABASE_URL the catalog comes from PostgreSQL: "
                                    "--demo and --catalog are not used");
        src.database_url = db_env;
        uint64_t secs = LDR_PG_RECONCILE_DEF;
        if (reconcile_env != NULL && reconcile_env[0] != '\0' &&
            !ldr__parse_u64(reconcile_env, 0, 86400, &secs))
            return ldr__usage_error(
                "serve", "LARDER_PG_RECONCILE_SECONDS wants 0..86400 seconds, not \"%s\"",
                reconcile_env);
        src.pg_reconcile_s = (uint32_t)secs;
    }
    if (src.demo && src.catalog_path != NULL)
        return ldr__usage_error("serve", "%s", "--demo and --catalog exclude each other");
    if (!src.demo && src.catalog_path == NULL && src.database_url == NULL)
        return ldr__usage_error("serve", "%s",
                                "nothing to serve: give --demo or --catalog FILE (or set "
                                "LARDER_DATABASE_URL)");
    if (src.stock_path != NULL && src.catalog_path == NULL && src.database_url == NULL)
        return ldr__usage_error("serve", "%s", "--stock needs --catalog (or LARDER_DATABASE_URL)");
    const char *files[] = {src.catalog_path, src.stock_path};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(files); i++)
        if (files[i] != NULL && access(files[i], R_OK) != 0)
            return ldr__usage_error("serve", "cannot read %s: %s", files[i], strerror(errno));
    const char *secret = getenv("LARDER_JWT_SECRET");
    ldr_auth_t *auth = NULL;
    if (secret != NULL && secret[0] != '\0') {
        if (ldr_auth_new(secret, strlen(secret), &auth) != LDR_OK)
            return ldr__usage_error("serve", "LARDER_JWT_SECRET must be %d to %d bytes long",
                                    LDR_AUTH_SECRET_MIN, LDR_AUTH_SECRET_MAX);
    } else if (src.demo) {
        char hex[LDR_AUTH_RANDOM_HEX_LEN + 1];
        if (ldr_auth_new_random(&auth, hex, sizeof(hex)) != LDR_OK) {
            fprintf(stderr, "larder: cannot make a random JWT secret\n");
            return 1;
        }
        fprintf(
            stderr,
            "larder: --demo without LARDER_JWT_SECRET: using a random secret for this run;\n"
            "larder: mint tokens with LARDER_JWT_SECRET=%s larder token --role admin --sub me\n",
            hex);
    } else {
        return ldr__usage_error("serve", "%s",
                                "LARDER_JWT_SECRET is not set (at least 32 bytes; it verifies the "
                                "tokens of write endpoints); --demo makes a random one");
    }
    opts.auth = auth;
    ldr_relay_config_t kafka = {.brokers = getenv("LARDER_KAFKA_BROKERS"),
                                .group = getenv("LARDER_KAFKA_GROUP")};
    static const char *const topic_env[LDR_TOPIC_COUNT] = {
        "LARDER_KAFKA_TOPIC_ORDER", "LARDER_KAFKA_TOPIC_PAYMENT", "LARDER_KAFKA_TOPIC_DELIVERY",
        "LARDER_KAFKA_TOPIC_INVENTORY"};
    for (int t = 0; t < LDR_TOPIC_COUNT; t++)
        kafka.topics[t] = getenv(topic_env[t]);
    if (kafka.brokers != NULL && kafka.brokers[0] != '\0') {
        char err[300];
        if (ldr_relay_config_check(&kafka, err, sizeof(err)) != LDR_OK)
            return ldr__usage_error("serve", "%s", err);
        src.kafka = &kafka;
    }

    /* block the termination signals before any thread starts; the server reads them */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);

    ldr_app_t app;
    if (ldr_app_start(&app, &src) != LDR_OK) {
        fprintf(stderr, "larder: cannot start the loader thread\n");
        ldr_auth_free(auth);
        return 1;
    }
    int rc = ldr_server_run(&opts, &app);
    bool failed = atomic_load(&app.state) == LDR_APP_FAILED;
    ldr_app_dispose(&app);
    ldr_auth_free(auth);
    return rc == LDR_OK && !failed ? 0 : 1;
}

static int ldr__cmd_gen_catalog(int argc, char **argv)
{
    static const struct option longopts[] = {{"skus", required_argument, NULL, 'n'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"stores", required_argument, NULL, 'k'},
                                             {"today", required_argument, NULL, 't'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    time_t now = time(NULL);
    ldr_gen_opts_t o = {50000, 1, 3, (int64_t)now - (int64_t)now % 86400};
    const char *out = NULL;
    uint64_t v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!ldr__parse_u64(optarg, 1, 10000000, &v))
                return ldr__usage_error("gen-catalog", "--skus wants 1..10000000, not \"%s\"",
                                        optarg);
            o.skus = (uint32_t)v;
            break;
        case 'S':
            if (!ldr__parse_u64(optarg, 0, UINT64_MAX, &o.seed))
                return ldr__usage_error("gen-catalog",
                                        "--seed wants an unsigned integer, not \"%s\"", optarg);
            break;
        case 'k':
            if (!ldr__parse_u64(optarg, 1, 1000, &v))
                return ldr__usage_error("gen-catalog", "--stores wants 1..1000, not \"%s\"",
                                        optarg);
            o.stores = (uint32_t)v;
            break;
        case 't': {
            char ts[32];
            int64_t t;
            snprintf(ts, sizeof(ts), "%.10sT00:00:00Z", optarg);
            if (strlen(optarg) != 10 || ldr_time_parse_rfc3339(ts, strlen(ts), &t) != LDR_OK)
                return ldr__usage_error("gen-catalog", "--today wants YYYY-MM-DD, not \"%s\"",
                                        optarg);
            o.today = t;
            break;
        }
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(ldr__gen_usage, stdout);
            return 0;
        default:
            return ldr__bad_option("gen-catalog", argv);
        }
    }
    if (optind < argc)
        return ldr__usage_error("gen-catalog", "unexpected argument \"%s\"", argv[optind]);
    if (out == NULL) {
        int rc = ldr_gen_catalog(&o, stdout, NULL);
        if (rc != LDR_OK || fflush(stdout) != 0) {
            fprintf(stderr, "larder gen-catalog: write failed: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    char cpath[4096], spath[4096];
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "larder gen-catalog: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    snprintf(cpath, sizeof(cpath), "%s/catalog.jsonl", out);
    snprintf(spath, sizeof(spath), "%s/stock.jsonl", out);
    FILE *cf = fopen(cpath, "w"), *sf = cf ? fopen(spath, "w") : NULL;
    if (cf == NULL || sf == NULL) {
        fprintf(stderr, "larder gen-catalog: cannot write in %s: %s\n", out, strerror(errno));
        if (cf != NULL)
            fclose(cf);
        return 1;
    }
    int rc = ldr_gen_catalog(&o, cf, sf);
    if (fclose(cf) != 0 || fclose(sf) != 0 || rc != LDR_OK) {
        fprintf(stderr, "larder gen-catalog: write failed in %s: %s\n", out, strerror(errno));
        return 1;
    }
    fprintf(stderr, "larder gen-catalog: wrote %u products to %s and stock for %u stores to %s\n",
            o.skus, cpath, o.stores, spath);
    return 0;
}

static int ldr__cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(ldr__version_usage, stdout);
        return 0;
    }
    if (argc > 1)
        return ldr__usage_error("version", "unexpected argument \"%s\"", argv[1]);
    printf("larder %s\n", LDR_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"serve", ldr__cmd_serve},     {"gen-catalog", ldr__cmd_gen_catalog},
                {"token", ldr_cmd_token},      {"user", ldr_cmd_user},
                {"version", ldr__cmd_version}, {"wal", ldr_cmd_wal},
                {"dev", ldr_cmd_dev},          {"db", ldr_cmd_db},
                {"import", ldr_cmd_import}};
    /* a write past the file size limit (ulimit -f) fails with EFBIG, a storage error the log
     * reports and recovers from, instead of killing the process (a write on the engine thread
     * would be sent SIGXFSZ) */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fputs(ldr__usage, stderr);
        return LDR__EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(ldr__usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return ldr__cmd_version(1, argv);
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cmds); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "larder: unknown command \"%s\"\n\n%s", argv[1], ldr__usage);
    return LDR__EXIT_USAGE;
}
