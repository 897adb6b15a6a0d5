/*
 * larder — PostgreSQL as the catalog's system of record (libpq).
 *
 * Everything here is off unless LARDER_DATABASE_URL is set.  The schema is made by versioned
 * migrations (db/migrations/NNNN_*.sql, embedded into the binary at build time; applied in order,
 * each in its own transaction with its row in schema_migrations, under an advisory lock, so a
 * second run does nothing).  The `products` table has one column per product field of API.md and
 * a trigger that NOTIFYs channel `larder_products` with the SKU of every changed row ("*" for a
 * TRUNCATE or a statement that changed more than 1000 rows).
 *
 * Reading: ldr_pg_export() COPYs the whole table out (binary format, ordered by SKU) and turns
 * every row into a JSON line in the API's product format, which the ordinary loader validates: a
 * row PostgreSQL holds but larder cannot serve (say, a category with capitals) is reported like a
 * bad line of a
 * --catalog file, naming its row.  Writing: ldr_pg_load() COPYs JSON Lines products in (a
 * temporary table, then one upsert that leaves rows already equal untouched, so the same file
 * again changes and notifies nothing).
 *
 * While serving, the sync thread (ldr_pg_sync_start) keeps a connection of its own: it LISTENs,
 * applies the products named by notifications through the engine (PRODUCT_PUT, or PRODUCT_DEL
 * when the row is gone: durable in the log and searchable, as PUT /v1/products/{sku}), and
 * reconciles the whole table against the newest view after every (re)connection and every
 * `reconcile_ms`, so changes made while it was disconnected are caught.  It never blocks a loop
 * or the engine thread: libpq is used non-blocking, with poll() on its socket and a stop eventfd.
 * PostgreSQL going away is retried with a doubling backoff (200 ms to 10 s).
 */
#ifndef LARDER_PG_H
#define LARDER_PG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "larder/app.h"
#include "larder/buf.h"

#define LDR_PG_CHANNEL       "larder_products"
#define LDR_PG_ERR_MAX       512
#define LDR_PG_RECONCILE_DEF 60 /* seconds between reconciliations by default */

/**
 * Checks a connection string or URL (postgresql://user@host:port/db?...) without connecting.
 * Returns LDR_OK, or LDR_EINVAL with libpq's reason in err.
 */
int ldr_pg_check_url(const char *url, char *err, size_t size);

/**
 * Connects (blocking; at most 10 s unless the URL says connect_timeout).  Returns LDR_OK with
 * *out (PQfinish it), or LDR_EIO with libpq's message in err.
 */
int ldr_pg_connect(const char *url, PGconn **out, char *err, size_t size);

/** One embedded migration. */
typedef struct ldr_pg_migration {
    int version;
    const char *name; /* its file name under db/migrations/ */
    const char *sql;
} ldr_pg_migration_t;

/** The embedded migrations, by version; *n gets their count. */
const ldr_pg_migration_t *ldr_pg_migrations(size_t *n);

/**
 * Applies the migrations the database has not seen, in order, naming each on `report` (may be
 * NULL).  *applied gets how many ran (0: up to date), *version the newest version applied now or
 * before.  Returns LDR_OK, or LDR_EIO with the failing migration and PostgreSQL's message in err
 * (that migration's transaction is rolled back; earlier ones stay).
 */
int ldr_pg_migrate(PGconn *c, FILE *report, int *applied, int *version, char *err, size_t size);

/** The products table as read by ldr_pg_export. */
typedef struct ldr_pg_catalog {
    ldr_buf_t jsonl; /* one product JSON object a line, ordered by SKU */
    ldr_buf_t skus;  /* every row's SKU, NUL-terminated, one after the other */
    uint32_t rows;
} ldr_pg_catalog_t;

void ldr_pg_catalog_free(ldr_pg_catalog_t *pc);

/**
 * COPYs every product out.  stop_fd (or -1) ends the wait when readable; deadline_ms is a
 * CLOCK_MONOTONIC time in ms (0: none).  Returns LDR_OK, LDR_EIO with err (also for a timeout or a
 * stop), or LDR_ENOENT when the products table does not exist (run `larder db migrate`).
 */
int ldr_pg_export(PGconn *c, int stop_fd, int64_t deadline_ms, ldr_pg_catalog_t *out, char *err,
                  size_t size);

/**
 * Marks (seen[doc] = 1) the docs of `cat` whose SKU is a row of pc; seen has
 * ldr_catalog_doc_limit(cat) bytes.  Live docs left unmarked are products PostgreSQL no longer has.
 */
void ldr_pg_catalog_mark(const ldr_pg_catalog_t *pc, const ldr_catalog_t *cat, uint8_t *seen);

typedef struct ldr_pg_load_result {
    uint64_t lines, valid, rejected; /* of the file */
    uint64_t written;                /* rows inserted or changed in PostgreSQL */
} ldr_pg_load_result_t;

/**
 * Validates JSON Lines products (bad lines go to `reject`, may be NULL) and upserts the valid ones
 * into the products table in one transaction (COPY FROM STDIN).  Returns LDR_OK or LDR_EIO with
 * err.
 */
int ldr_pg_load(PGconn *c, const char *jsonl, size_t len, ldr_reject_cb reject, void *ctx,
                ldr_pg_load_result_t *res, char *err, size_t size);

/* ---- the sync thread ---- */

typedef struct ldr_pg_sync ldr_pg_sync_t;

typedef struct ldr_pg_sync_opts {
    const char *url;       /* copied */
    uint32_t reconcile_ms; /* between reconciliations; 0: only after (re)connecting */
} ldr_pg_sync_opts_t;

/**
 * Starts the sync thread for a ready app (its engine and indexer threads run).  Returns LDR_OK or
 * LDR_ENOMEM.  The thread connects by itself (and again whenever the connection is lost).
 */
int ldr_pg_sync_start(ldr_app_t *app, const ldr_pg_sync_opts_t *o, ldr_pg_sync_t **out);
/** Stops the thread (waiting for the commands it submitted) and frees it; NULL is a no-op. */
void ldr_pg_sync_stop(ldr_pg_sync_t *s);
/** Appends the sync's Prometheus lines (larder_pg_*) to b; any thread. */
void ldr_pg_sync_metrics(ldr_pg_sync_t *s, ldr_buf_t *b);

#endif
