/*
 * larder — the application state the shell serves: catalog, the engine (stock and reservations
 * behind the write-ahead log) and readiness.
 *
 * The state is loaded on a background thread so the server can answer /healthz and /readyz (503)
 * while a large catalog loads: the catalog file, then the engine recovers DATA_DIR/wal (seeding a
 * new log from the stock file; the log's product changes apply over the file), then a new
 * --catalog file's differences go into the log, then the first view is built and the engine and
 * indexer threads start.  Readers must check ldr_app_ready() (acquire) before touching anything.
 *
 * The live catalog (`catalog`) belongs to the engine thread, which changes it by product commands.
 * Everyone else reads a view: a frozen copy of the catalog with the search index built from it,
 * immutable and reference-counted, so a search never waits for a product change and never sees
 * half of one.  The indexer thread makes a new view when a product write asks for it
 * (ldr_app_index_wait), and the write is answered once the view holding its change is published:
 * searchable on return.  Stock (ldr_app_stock) is the engine's and changes under the engine
 * thread, so every read of it is bracketed by ldr_app_read_begin/end.
 */
#ifndef LARDER_APP_H
#define LARDER_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "larder/catalog.h"
#include "larder/engine.h"
#include "larder/index.h"
#include "larder/stock.h"

typedef struct ldr_app_source {
    const char *data_dir;                 /* created when missing */
    bool demo;                            /* generate (or reuse) the demo catalog in data_dir */
    const char *catalog_path;             /* JSON Lines products, when not demo */
    const char *stock_path;               /* JSON Lines lots, optional: seeds a new log only */
    uint64_t snapshot_every;              /* log records between snapshots (0: never) */
    bool full_index_builds;               /* every view's index built whole, never updated */
    const struct ldr_relay_config *kafka; /* the Kafka relay's (shell/relay.h); NULL: off */
    /* the catalog from PostgreSQL's products table instead of a file (include/larder/pg.h): read
     * at start like a --catalog file (the first read is the data dir's base, later ones are
     * imported through the log), products it no longer has are deleted through the log, and a
     * sync thread follows its changes while serving */
    const char *database_url;
    uint32_t pg_reconcile_s; /* the sync thread's reconciliation interval (0: only on connect) */
    bool import_only;        /* ldr_app_load stops once the log holds the catalog: no threads */
    bool engine_on_loop;     /* the engine gets no thread: the first HTTP loop turns it
                                (LARDER_ENGINE=loop; engine.h's ldr_engine_start_owned) */
} ldr_app_source_t;

/** What the load's catalog import did (a --catalog file that changed, or PostgreSQL's table). */
typedef struct ldr_app_import {
    uint64_t rows;     /* products read */
    uint64_t changed;  /* logged PRODUCT_PUTs (0 when the rows became the base) */
    uint64_t deleted;  /* logged PRODUCT_DELs: products the table no longer has */
    uint64_t rejected; /* rows that are not valid products (reported on stderr) */
    bool base;         /* the rows became the data dir's base catalog file */
    double ms;         /* reading and applying, PostgreSQL's COPY included */
} ldr_app_import_t;

/** What readers see of the catalog: a frozen copy and its index (see above). */
typedef struct ldr_view {
    atomic_uint refs;
    uint64_t changes;       /* ldr_catalog_changes() of the live catalog when it was frozen */
    ldr_catalog_t *catalog; /* frozen: any thread reads it without locks */
    ldr_index_t *index;     /* built from `catalog` */
    double build_ms;
    bool updated; /* its index was updated from the previous view's, not built whole */
} ldr_view_t;

/** A product write waiting for a view that holds its change (ldr_app_index_wait). */
typedef struct ldr_index_wait {
    uint64_t changes; /* the live catalog's change count once the write applied */
    void (*done)(struct ldr_index_wait *w); /* on the indexer thread */
    struct ldr_index_wait *next;
} ldr_index_wait_t;

typedef struct ldr_app {
    ldr_catalog_t *catalog; /* live: the engine thread's */
    ldr_engine_t *engine;   /* owns stock and reservations; its thread applies writes */
    ldr_view_t *view;       /* the newest view; under view_lock */
    pthread_mutex_t view_lock;
    atomic_uint_fast64_t view_gen; /* bumped when a view is published */
    /* the indexer thread and its queue (under view_lock) */
    pthread_t indexer;
    pthread_cond_t indexer_cond;
    ldr_index_wait_t *waiting;
    bool indexer_started, indexer_stop;
    atomic_uint_fast64_t views_built;
    atomic_int state;           /* LDR_APP_LOADING, LDR_APP_READY or LDR_APP_FAILED */
    atomic_bool engine_started; /* engine is started (before READY: the load still submits) */
    /* bumped by every change to the catalog; with the engine's applied LSN for answers that
     * read stock, caches of derived answers compare it */
    atomic_uint_fast64_t epoch;
    ldr_app_source_t source;
    pthread_t loader;
    bool loader_started;
    struct ldr_relay *relay;     /* publishes the log's events to Kafka; NULL: off */
    struct ldr_pg_sink *pg_sink; /* writes orders to PostgreSQL; NULL: off */
    ldr_app_import_t import;
    struct ldr_pg_catalog *pg_catalog; /* the table's rows, during the load only */
    struct ldr_pg_sync *pg_sync;       /* set before READY; stopped by ldr_app_stop_engine */
} ldr_app_t;

enum { LDR_APP_LOADING = 0, LDR_APP_READY = 1, LDR_APP_FAILED = 2 };

/** Initialises `app` and starts loading `src` (copied; its strings must outlive the app). */
int ldr_app_start(ldr_app_t *app, const ldr_app_source_t *src);
/** Initialises `app` for a synchronous ldr_app_load on the calling thread (no loader thread). */
void ldr_app_init(ldr_app_t *app, const ldr_app_source_t *src);
/** Stops the PostgreSQL sync thread, then completes and answers every engine request and stops
 *  the engine thread (idempotent). */
void ldr_app_stop_engine(ldr_app_t *app);
/** Waits for the loader, stops the engine, closes the log and frees everything. */
void ldr_app_dispose(ldr_app_t *app);
/** Waits until the loader thread (if any) is done: the app is then READY or FAILED.  With the
 *  engine on a loop, turns the engine meanwhile when no loop does (then stopping it runs it out
 *  on this thread). */
void ldr_app_wait_loaded(ldr_app_t *app);
/** Loads synchronously on the calling thread; returns LDR_OK or an error after logging it. */
int ldr_app_load(ldr_app_t *app);

static inline bool ldr_app_ready(ldr_app_t *app)
{
    return atomic_load_explicit(&app->state, memory_order_acquire) == LDR_APP_READY;
}

/** The engine's stock; read it (and use what it returns) only between ldr_app_read_begin/end:
 *  the engine thread may swap in a new state when it recovers from a failed log. */
static inline ldr_stock_t *ldr_app_stock(const ldr_app_t *app)
{
    return ldr_engine_state(app->engine)->stock;
}

static inline void ldr_app_read_begin(ldr_app_t *app)
{
    ldr_engine_read_lock(app->engine);
}

static inline void ldr_app_read_end(ldr_app_t *app)
{
    ldr_engine_read_unlock(app->engine);
}

/** The newest view, with a reference the caller gives back with ldr_view_release(). */
ldr_view_t *ldr_app_view(ldr_app_t *app);
void ldr_view_release(ldr_view_t *v);
/** Changes whenever a new view is published; any thread, no lock. */
static inline uint64_t ldr_app_view_gen(ldr_app_t *app)
{
    return atomic_load_explicit(&app->view_gen, memory_order_acquire);
}
/** Builds a view of the live catalog (the caller keeps it from changing meanwhile). */
ldr_view_t *ldr_view_build(const ldr_catalog_t *live);
/** Publishes v as the app's view (taking over the caller's reference). */
void ldr_app_view_publish(ldr_app_t *app, ldr_view_t *v);
/** Starts and stops the indexer thread (stop completes every waiting write first). */
int ldr_app_indexer_start(ldr_app_t *app);
void ldr_app_indexer_stop(ldr_app_t *app);
/**
 * Calls w->done on the indexer thread once a view with at least w->changes catalog changes is
 * published (at once when the current one has them).
 */
void ldr_app_index_wait(ldr_app_t *app, ldr_index_wait_t *w);

/**
 * Takes up the checkouts a stop cut between their steps (orders still pending payment): asks
 * their provider again with their token and records its answer.  Called once the engine thread
 * runs, before the app is ready (shell/routes_orders.c).  Returns LDR_OK or LDR_ESTORAGE.
 */
int ldr_app_resume_checkouts(ldr_app_t *app);

/** Reads a whole file into a ldr_malloc'ed buffer (NUL-terminated); LDR_OK or LDR_EIO (errno set).
 */
int ldr_read_file(const char *path, char **out, size_t *len);

#endif
