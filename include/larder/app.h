/*
 * larder — the application state the shell serves: catalog, the engine (stock and reservations
 * behind the write-ahead log) and readiness.
 *
 * The state is loaded on a background thread so the server can answer /healthz and /readyz (503)
 * while a large catalog loads: the catalog file, then the engine recovers DATA_DIR/wal (seeding a
 * new log from the stock file), then the search index, then the engine thread starts.  Readers
 * must check ldr_app_ready() (acquire) before touching `catalog`, `engine` or its stock.  After
 * that the catalog is read-only for this version; stock (ldr_app_stock) is the engine's and changes
 * under the engine thread, so every read of it is bracketed by ldr_app_read_begin/end.
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
    const char *data_dir;     /* created when missing */
    bool demo;                /* generate (or reuse) the demo catalog in data_dir */
    const char *catalog_path; /* JSON Lines products, when not demo */
    const char *stock_path;   /* JSON Lines lots, optional: seeds a new log only */
    uint64_t snapshot_every;  /* log records between snapshots (0: never) */
} ldr_app_source_t;

typedef struct ldr_app {
    ldr_catalog_t *catalog;
    ldr_engine_t *engine; /* owns stock and reservations; its thread applies writes */
    ldr_index_t *index;   /* built from the catalog once it is loaded */
    atomic_int state;     /* LDR_APP_LOADING, LDR_APP_READY or LDR_APP_FAILED */
    /* bumped by every change to the catalog; with the engine's applied LSN for answers that
     * read stock, caches of derived answers compare it */
    atomic_uint_fast64_t epoch;
    ldr_app_source_t source;
    pthread_t loader;
    bool loader_started;
} ldr_app_t;

enum { LDR_APP_LOADING = 0, LDR_APP_READY = 1, LDR_APP_FAILED = 2 };

/** Initialises `app` and starts loading `src` (copied; its strings must outlive the app). */
int ldr_app_start(ldr_app_t *app, const ldr_app_source_t *src);
/** Completes and answers every engine request, then stops the engine thread (idempotent). */
void ldr_app_stop_engine(ldr_app_t *app);
/** Waits for the loader, stops the engine, closes the log and frees everything. */
void ldr_app_dispose(ldr_app_t *app);
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

/** Reads a whole file into a ldr_malloc'ed buffer (NUL-terminated); LDR_OK or LDR_EIO (errno set).
 */
int ldr_read_file(const char *path, char **out, size_t *len);

#endif
