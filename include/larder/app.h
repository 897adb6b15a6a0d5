/*
 * larder — the application state the shell serves: catalog, stock and readiness.
 *
 * The state is loaded on a background thread so the server can answer /healthz and /readyz (503)
 * while a large catalog loads.  Readers must check ldr_app_ready() (acquire) before touching
 * `catalog` or `stock`; after it returns true both are read-only for this version.
 */
#ifndef LARDER_APP_H
#define LARDER_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "larder/catalog.h"
#include "larder/index.h"
#include "larder/stock.h"

typedef struct ldr_app_source {
    const char *data_dir;     /* created when missing */
    bool demo;                /* generate (or reuse) the demo catalog in data_dir */
    const char *catalog_path; /* JSON Lines products, when not demo */
    const char *stock_path;   /* JSON Lines lots, optional */
} ldr_app_source_t;

typedef struct ldr_app {
    ldr_catalog_t *catalog;
    ldr_stock_t *stock;
    ldr_index_t *index; /* built from the catalog once it is loaded */
    atomic_int state;
    /* bumped by every change to catalog or stock; caches of derived answers compare it */
    atomic_uint_fast64_t epoch; /* LDR_APP_LOADING, LDR_APP_READY or LDR_APP_FAILED */
    ldr_app_source_t source;
    pthread_t loader;
    bool loader_started;
} ldr_app_t;

enum { LDR_APP_LOADING = 0, LDR_APP_READY = 1, LDR_APP_FAILED = 2 };

/** Initialises `app` and starts loading `src` (copied; its strings must outlive the app). */
int ldr_app_start(ldr_app_t *app, const ldr_app_source_t *src);
/** Waits for the loader and frees everything. */
void ldr_app_dispose(ldr_app_t *app);
/** Loads synchronously on the calling thread; returns LDR_OK or an error after logging it. */
int ldr_app_load(ldr_app_t *app);

static inline bool ldr_app_ready(ldr_app_t *app)
{
    return atomic_load_explicit(&app->state, memory_order_acquire) == LDR_APP_READY;
}

/** Reads a whole file into a ldr_malloc'ed buffer (NUL-terminated); LDR_OK or LDR_EIO (errno set).
 */
int ldr_read_file(const char *path, char **out, size_t *len);

#endif
