/*
 * Views and the indexer thread (see include/larder/app.h).
 *
 * A view is built from a frozen copy of the live catalog: the copy is taken under the engine's
 * read lock (a memcpy of the doc and SKU tables, well under a millisecond for 50,000 products),
 * and the index is made from it with no lock held, so the engine thread never waits for a build.
 * The index is updated from the previous view's (only changed products are tokenised again,
 * ldr_index_update) and built whole once in a while (ldr__view_of).
 * The indexer takes every waiting write at once, builds one view that holds all their changes,
 * publishes it and only then completes them: a burst of product writes costs one build.
 *
 * Readers take a reference under view_lock only when the generation they hold is no longer the
 * newest (ldr_app_view_gen is a plain atomic load), so the read path takes no lock per request.
 * The last reference frees the view; the app holds one for the newest.
 */
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>

#include "larder/app.h"

/*
 * A view of a frozen catalog, which it takes over.  From `prev` (may be NULL) the index is updated
 * rather than built while the products re-indexed since the last full build stay under an eighth
 * of the catalog: past that, BM25F's average lengths have drifted and copying saves little.
 */
static ldr_view_t *ldr__view_of(ldr_catalog_t *frozen, const ldr_view_t *prev)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ldr_view_t *v = ldr_calloc(1, sizeof(*v));
    atomic_init(&v->refs, 1);
    v->catalog = frozen;
    v->changes = ldr_catalog_changes(frozen);
    bool update =
        prev != NULL && ldr_index_changed(prev->index) < ldr_catalog_count(frozen) / 8 + 64;
    v->index = update ? ldr_index_update(prev->index, frozen) : ldr_index_build(frozen);
    v->updated = update;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    v->build_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return v;
}

ldr_view_t *ldr_view_build(const ldr_catalog_t *live)
{
    return ldr__view_of(ldr_catalog_freeze(live), NULL);
}

void ldr_view_release(ldr_view_t *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    ldr_index_free(v->index);
    ldr_catalog_free(v->catalog);
    ldr_free(v);
}

ldr_view_t *ldr_app_view(ldr_app_t *app)
{
    pthread_mutex_lock(&app->view_lock);
    ldr_view_t *v = app->view;
    if (v != NULL)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&app->view_lock);
    return v;
}

void ldr_app_view_publish(ldr_app_t *app, ldr_view_t *v)
{
    pthread_mutex_lock(&app->view_lock);
    ldr_view_t *old = app->view;
    app->view = v;
    atomic_fetch_add_explicit(&app->view_gen, 1, memory_order_release);
    /* cached search answers were computed from the old view */
    atomic_fetch_add_explicit(&app->epoch, 1, memory_order_release);
    pthread_mutex_unlock(&app->view_lock);
    atomic_fetch_add_explicit(&app->views_built, 1, memory_order_relaxed);
    ldr_view_release(old);
}

static void *ldr__indexer_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-indexer"); /* for top -H, ps -L and perf */
    ldr_app_t *app = arg;
    pthread_mutex_lock(&app->view_lock);
    for (;;) {
        while (app->waiting == NULL && !app->indexer_stop)
            pthread_cond_wait(&app->indexer_cond, &app->view_lock);
        ldr_index_wait_t *batch = app->waiting;
        app->waiting = NULL;
        uint64_t have = app->view != NULL ? app->view->changes : 0;
        pthread_mutex_unlock(&app->view_lock);
        if (batch == NULL)
            return NULL; /* stopping, and nobody waits */
        uint64_t need = 0;
        for (ldr_index_wait_t *w = batch; w != NULL; w = w->next)
            need = w->changes > need ? w->changes : need;
        if (need > have) {
            /* kept alive while the update reads it */
            ldr_view_t *prev = app->source.full_index_builds ? NULL : ldr_app_view(app);
            ldr_app_read_begin(app); /* the engine thread changes the live catalog under it */
            ldr_catalog_t *frozen = ldr_catalog_freeze(app->catalog);
            ldr_app_read_end(app);
            ldr_app_view_publish(app, ldr__view_of(frozen, prev));
            ldr_view_release(prev);
        }
        for (ldr_index_wait_t *w = batch, *next; w != NULL; w = next) {
            next = w->next;
            w->done(w);
        }
        pthread_mutex_lock(&app->view_lock);
    }
}

int ldr_app_indexer_start(ldr_app_t *app)
{
    if (app->indexer_started)
        return LDR_OK;
    app->indexer_stop = false;
    if (pthread_create(&app->indexer, NULL, ldr__indexer_main, app) != 0)
        return LDR_ENOMEM;
    app->indexer_started = true;
    return LDR_OK;
}

void ldr_app_indexer_stop(ldr_app_t *app)
{
    if (!app->indexer_started)
        return;
    pthread_mutex_lock(&app->view_lock);
    app->indexer_stop = true;
    pthread_cond_signal(&app->indexer_cond);
    pthread_mutex_unlock(&app->view_lock);
    pthread_join(app->indexer, NULL);
    app->indexer_started = false;
}

void ldr_app_index_wait(ldr_app_t *app, ldr_index_wait_t *w)
{
    pthread_mutex_lock(&app->view_lock);
    w->next = app->waiting;
    app->waiting = w;
    pthread_cond_signal(&app->indexer_cond);
    pthread_mutex_unlock(&app->view_lock);
}
