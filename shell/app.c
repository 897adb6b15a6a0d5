/*
 * Loading the served state: the demo catalog (generated once into the data dir, then reused) or the
 * operator's JSON Lines files, on a background thread so that the server answers /readyz with 503
 * until the catalog is in memory.
 */
#include "larder/app.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../engine/jsonl_internal.h" /* ldr__json_error */
#include "larder/gen.h"
#include "larder/pg.h"
#include "pg_internal.h"
#include "pg_sink.h"
#include "relay.h"

#define LDR__DEMO_SKUS     50000
#define LDR__DEMO_SEED     1
#define LDR__DEMO_STORES   3
#define LDR__REJECTS_SHOWN 20
#define LDR__PG_READ_MS    120000 /* the start-up read of the products table, at most */
#define LDR__PG_SOURCE     "PostgreSQL table products (row N = line N)"

int ldr_read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return LDR_EIO;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return LDR_EIO;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    char *buf = ldr_malloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int saved = errno;
    close(fd);
    if (got != size) {
        ldr_free(buf);
        errno = got < size ? (saved ? saved : EIO) : EIO;
        return LDR_EIO;
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return LDR_OK;
}

static int ldr__mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return LDR_EINVAL;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];
            path[i] = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return LDR_EIO;
            path[i] = c;
        }
    }
    return LDR_OK;
}

typedef struct ldr__reject_log {
    const char *file;
    uint64_t count;
} ldr__reject_log_t;

static void ldr__log_reject(void *ctx, uint64_t line, const char *message)
{
    ldr__reject_log_t *log = ctx;
    if (log->count++ < LDR__REJECTS_SHOWN)
        fprintf(stderr, "larder: %s: line %llu: %s\n", log->file, (unsigned long long)line,
                message);
}

static double ldr__ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Loads a JSON Lines file into the catalog, or (is_stock) into `stock`. */
static int ldr__load_file(ldr_app_t *app, const char *path, ldr_stock_t *stock)
{
    char *buf;
    size_t len;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ldr_read_file(path, &buf, &len) != LDR_OK) {
        fprintf(stderr, "larder: cannot read %s: %s\n", path, strerror(errno));
        return LDR_EIO;
    }
    ldr__reject_log_t log = {path, 0};
    ldr_load_result_t r;
    if (stock != NULL)
        ldr_stock_load_jsonl(stock, app->catalog, buf, len, ldr__log_reject, &log, &r);
    else
        ldr_catalog_load_jsonl(app->catalog, buf, len, ldr__log_reject, &log, &r);
    ldr_free(buf);
    if (stock == NULL)
        app->import.rejected = r.rejected;
    if (r.rejected > LDR__REJECTS_SHOWN)
        fprintf(stderr, "larder: %s: ... and %llu more rejected lines\n", path,
                (unsigned long long)(r.rejected - LDR__REJECTS_SHOWN));
    fprintf(stderr, "larder: loaded %llu %s from %s in %.1f ms (%llu rejected)\n",
            (unsigned long long)r.loaded, stock != NULL ? "lots" : "products", path,
            ldr__ms_since(&t0), (unsigned long long)r.rejected);
    return LDR_OK;
}

/* Removes a log directory: its files, then itself (a log has no subdirectories). */
static int ldr__remove_log(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? LDR_OK : LDR_EIO;
    struct dirent *de;
    char path[4400];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(dir) == 0 ? LDR_OK : LDR_EIO;
}

static int ldr__fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return LDR_EIO;
    int rc = fsync(fd) == 0 ? LDR_OK : LDR_EIO;
    close(fd);
    return rc;
}

/* Every lot of `seed` as a RECEIVE command into e (synchronously), then one sync. */
static int ldr__seed_log(ldr_app_t *app, ldr_engine_t *e, const ldr_stock_t *seed, uint64_t *n)
{
    const ldr_intern_t *stores = ldr_stock_stores(seed);
    int64_t now = (int64_t)time(NULL);
    for (uint32_t s = 0; s < ldr_intern_count(stores); s++) {
        for (uint32_t doc = 0; ldr_stock_doc_in_range(seed, s, doc); doc++) {
            const ldr_stock_entry_t *en = ldr_stock_get(seed, s, doc);
            for (uint32_t i = 0; en != NULL && i < en->nlots; i++) {
                const ldr_lot_t *l = &en->lots[i];
                ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                               .store = ldr_intern_str(stores, s),
                               .sku = ldr_catalog_doc(app->catalog, doc)->sku,
                               .lot = {l->id, strlen(l->id)},
                               .quantity = l->quantity,
                               .expires_at = l->expires_at};
                ldr_cmd_result_t res;
                int rc = ldr_engine_execute(e, &c, now, &res, NULL);
                if (rc != LDR_OK)
                    return rc;
                (*n)++;
            }
        }
    }
    return ldr_engine_sync(e);
}

/*
 * A new data dir takes its initial stock from a file: every lot becomes a RECEIVE command in a log
 * built aside in DIR.seed and renamed to DIR once complete and synced, so a crash while seeding
 * leaves no half-seeded log behind.  From then on the log alone owns stock.
 */
static int ldr__seed_stock(ldr_app_t *app, const char *dir, const char *path)
{
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.seed", dir);
    ldr_stock_t *seed = ldr_stock_new();
    int rc = ldr__load_file(app, path, seed);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t n = 0;
    ldr_engine_t *e = NULL;
    if (rc == LDR_OK && (rc = ldr__remove_log(tmp)) == LDR_OK) {
        ldr_engine_opts_t eo = {.wal_dir = tmp, .catalog = app->catalog};
        rc = ldr_engine_open(&eo, &e, NULL);
    }
    if (rc == LDR_OK)
        rc = ldr__seed_log(app, e, seed, &n);
    if (e != NULL && ldr_engine_close(e) != LDR_OK && rc == LDR_OK)
        rc = LDR_ESTORAGE;
    ldr_stock_free(seed);
    /* the empty log goes, the seeded one takes its name, and the rename is made durable */
    if (rc == LDR_OK && (ldr__remove_log(dir) != LDR_OK || rename(tmp, dir) != 0 ||
                         ldr__fsync_dir(app->source.data_dir) != LDR_OK))
        rc = LDR_EIO;
    if (rc != LDR_OK) {
        fprintf(stderr, "larder: seeding stock from %s into %s failed: %s\n", path, tmp,
                rc == LDR_EIO ? strerror(errno) : ldr_strerror(rc));
        return rc;
    }
    fprintf(stderr, "larder: seeded a new log with %llu lots from %s in %.1f ms\n",
            (unsigned long long)n, path, ldr__ms_since(&t0));
    return LDR_OK;
}

static void ldr__engine_log(void *ctx, const char *message)
{
    fprintf(stderr, "larder: %s\n", message);
}

static int ldr__recover(ldr_app_t *app, const char *dir, ldr_wal_recovery_t *rep)
{
    ldr_engine_opts_t eo = {.wal_dir = dir,
                            .catalog = app->catalog,
                            .log = ldr__engine_log,
                            .snapshot_every = app->source.snapshot_every};
    int rc = ldr_engine_open(&eo, &app->engine, rep);
    if (rc != LDR_OK) {
        app->engine = NULL;
        fprintf(stderr, "larder: cannot recover the log in %s: %s\n", dir,
                rep->message[0] ? rep->message : ldr_strerror(rc));
        if (rc == LDR_EBUSY)
            fprintf(stderr, "larder: is another larder serving this data dir?\n");
    } else if (rep->torn) {
        fprintf(stderr, "larder: %s\n", rep->message);
    }
    return rc;
}

typedef struct ldr__import {
    ldr_engine_t *engine;
    ldr_buf_t json;
    int64_t now;
    uint64_t changed;
    int rc;
} ldr__import_t;

static int ldr__import_line(void *ctx, const ldr_product_input_t *in, ldr_error_t *err)
{
    ldr__import_t *im = ctx;
    if (im->rc != LDR_OK)
        return LDR_OK;
    ldr_buf_reset(&im->json);
    ldr_product_render(in, &im->json);
    ldr_cmd_t c = {.type = LDR_CMD_PRODUCT_PUT, .product = {im->json.base, im->json.len}};
    ldr_cmd_result_t res;
    int rc = ldr_engine_execute(im->engine, &c, im->now, &res, NULL);
    if (rc == LDR_ESTORAGE)
        im->rc = rc;
    else if (rc != LDR_OK)
        return ldr__json_error(err, NULL, "%s", ldr_strerror(rc));
    else if (!res.noop)
        im->changed++;
    return LDR_OK;
}

/* A --catalog file that differs from the base: every product in it goes through the log. */
static int ldr__import_catalog(ldr_app_t *app, const char *path, const char *buf, size_t len)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ldr__import_t im = {.engine = app->engine, .now = (int64_t)time(NULL), .rc = LDR_OK};
    ldr__reject_log_t log = {path, 0};
    ldr_load_result_t r;
    ldr_products_each(buf, len, ldr__import_line, &im, ldr__log_reject, &log, &r);
    ldr_buf_free(&im.json);
    if (im.rc == LDR_OK)
        im.rc = ldr_engine_sync(app->engine);
    if (im.rc != LDR_OK) {
        fprintf(stderr, "larder: importing %s through the log failed: %s\n", path,
                ldr_strerror(im.rc));
        return im.rc;
    }
    app->import.changed = im.changed;
    app->import.rejected = r.rejected;
    fprintf(stderr,
            "larder: %s: %llu products changed through the log, %llu already as given, "
            "%llu rejected, in %.1f ms\n",
            path, (unsigned long long)im.changed, (unsigned long long)(r.loaded - im.changed),
            (unsigned long long)r.rejected, ldr__ms_since(&t0));
    return LDR_OK;
}

/*
 * PostgreSQL is the system of record: a product the table no longer has is deleted through the
 * log (a row that is there but invalid keeps its product as it was).
 */
static int ldr__prune(ldr_app_t *app, const ldr_pg_catalog_t *pc)
{
    uint32_t limit = ldr_catalog_doc_limit(app->catalog);
    uint8_t *seen = ldr_calloc(limit > 0 ? limit : 1, 1);
    ldr_pg_catalog_mark(pc, app->catalog, seen);
    int64_t now = (int64_t)time(NULL);
    int rc = LDR_OK;
    for (uint32_t doc = 0; doc < limit && rc == LDR_OK; doc++) {
        const ldr_product_t *p = ldr_catalog_doc(app->catalog, doc);
        if (p == NULL || seen[doc])
            continue;
        ldr_cmd_t c = {.type = LDR_CMD_PRODUCT_DEL, .sku = p->sku};
        ldr_cmd_result_t res;
        rc = ldr_engine_execute(app->engine, &c, now, &res, NULL);
        if (rc == LDR_OK && !res.noop)
            app->import.deleted++;
    }
    ldr_free(seen);
    if (rc == LDR_OK)
        rc = ldr_engine_sync(app->engine);
    if (rc != LDR_OK)
        fprintf(stderr, "larder: deleting the products PostgreSQL no longer has failed: %s\n",
                ldr_strerror(rc));
    else if (app->import.deleted > 0)
        fprintf(stderr, "larder: %llu products PostgreSQL no longer has deleted through the log\n",
                (unsigned long long)app->import.deleted);
    return rc;
}

/*
 * Opens the engine on DATA_DIR/wal, recovering what the log holds (a new log is seeded from the
 * stock file first), then starts the engine (its thread, or with LARDER_ENGINE=loop loop 0's
 * turns), which owns the log from then on.
 */
static int ldr__open_engine(ldr_app_t *app, const char *stock_path, const char *import_path,
                            const char *import, size_t import_len)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/wal", app->source.data_dir);
    ldr_wal_recovery_t rep;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = ldr__recover(app, dir, &rep);
    if (rc != LDR_OK)
        return rc;
    if (ldr_engine_is_new(app->engine) && stock_path != NULL) {
        ldr_engine_close(app->engine); /* empty: nothing to lose */
        app->engine = NULL;
        if ((rc = ldr__seed_stock(app, dir, stock_path)) != LDR_OK)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if ((rc = ldr__recover(app, dir, &rep)) != LDR_OK)
            return rc;
    } else if (stock_path != NULL && app->source.stock_path != NULL) {
        fprintf(stderr,
                "larder: %s already holds stock; --stock %s is ignored (the log owns stock)\n",
                app->source.data_dir, stock_path);
    }
    uint64_t snap = ldr_engine_snapshot_lsn(app->engine);
    if (snap > 0)
        fprintf(stderr,
                "larder: recovered %llu log records after the snapshot at LSN %llu (up to LSN "
                "%llu) from %s in %.1f ms\n",
                (unsigned long long)rep.records, (unsigned long long)snap,
                (unsigned long long)rep.last_lsn, dir, ldr__ms_since(&t0));
    else
        fprintf(stderr, "larder: recovered %llu log records (LSN %llu..%llu) from %s in %.1f ms\n",
                (unsigned long long)rep.records, (unsigned long long)rep.first_lsn,
                (unsigned long long)rep.last_lsn, dir, ldr__ms_since(&t0));
    if (import != NULL &&
        (rc = ldr__import_catalog(app, import_path, import, import_len)) != LDR_OK)
        return rc;
    if (app->pg_catalog != NULL && (rc = ldr__prune(app, app->pg_catalog)) != LDR_OK)
        return rc;
    if (app->source.import_only)
        return LDR_OK;                   /* the caller closes the engine: nothing else to run */
    ldr_engine_set_tick(app->engine, 1); /* lots and holds expire within a second of their time */
    if (app->source.kafka != NULL) {
        char err[512];
        /* before the engine runs: no segment the relay still needs goes after a snapshot */
        rc = ldr_relay_new(app->source.kafka, app->source.data_dir, app->engine, &app->relay, err,
                           sizeof(err));
        if (rc != LDR_OK) {
            fprintf(stderr, "larder: Kafka relay: %s\n", err);
            return rc;
        }
    }
    if (app->source.database_url != NULL) {
        char err[512];
        rc = ldr_pg_sink_new(app->source.database_url, app->source.data_dir, app->engine,
                             &app->pg_sink, err, sizeof(err));
        if (rc != LDR_OK) {
            fprintf(stderr, "larder: order sink: %s\n", err);
            return rc;
        }
    }
    rc = app->source.engine_on_loop ? ldr_engine_start_owned(app->engine, NULL, NULL)
                                    : ldr_engine_start(app->engine, NULL, NULL);
    if (rc != LDR_OK)
        fprintf(stderr, "larder: cannot start the engine: %s\n", ldr_strerror(rc));
    else
        atomic_store_explicit(&app->engine_started, true, memory_order_release);
    return rc;
}

/*
 * --catalog: the first catalog file a data dir is served with is kept as its base,
 * DATA_DIR/catalog/catalog-000001.jsonl, and every start loads it before the log (data dirs made
 * by earlier builds may hold more versions: all are loaded, in order).  Product changes after that
 * are log records (PUT, DELETE, import over HTTP) applied over the base.  A later start with a
 * different file imports it through the log too, product by product, so it takes effect in order
 * with the changes made over HTTP: what it changes is logged, what it leaves as it is changes
 * nothing, and products it leaves out stay.  Serving the same file again logs nothing.  The base
 * is written aside, synced and renamed into place.
 */
#define LDR__CATALOG_VERSIONS_MAX 1000

/* `given` (glen bytes, ldr_malloc'ed, taken over; NULL: none, load what the data dir has) is the
 * catalog named `path` in messages. */
static int ldr__load_catalogs(ldr_app_t *app, const char *path, char *given, size_t glen,
                              char **import, size_t *import_len)
{
    char dir[4200], name[4300], tmp[4400];
    snprintf(dir, sizeof(dir), "%s/catalog", app->source.data_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "larder: cannot create %s: %s\n", dir, strerror(errno));
        return LDR_EIO;
    }
    uint32_t n = 0;
    while (n < LDR__CATALOG_VERSIONS_MAX) {
        snprintf(name, sizeof(name), "%s/catalog-%06u.jsonl", dir, n + 1);
        if (access(name, F_OK) != 0)
            break;
        n++;
    }
    char *newest = NULL;
    size_t nlen = 0;
    if (given != NULL && n > 0) {
        snprintf(name, sizeof(name), "%s/catalog-%06u.jsonl", dir, n);
        if (ldr_read_file(name, &newest, &nlen) != LDR_OK)
            newest = NULL;
    }
    bool same = newest != NULL && nlen == glen && memcmp(newest, given, glen) == 0;
    ldr_free(newest);
    int rc = LDR_OK;
    if (given == NULL) {
        /* nothing given: the data dir's own catalog */
    } else if (n == 0) { /* the base: written aside, synced, renamed */
        snprintf(name, sizeof(name), "%s/catalog-%06u.jsonl", dir, n + 1);
        snprintf(tmp, sizeof(tmp), "%s.tmp", name);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fwrite(given, 1, glen, f) != glen || fflush(f) != 0 ||
            fdatasync(fileno(f)) != 0)
            rc = LDR_EIO;
        if (f != NULL && fclose(f) != 0)
            rc = LDR_EIO;
        if (rc == LDR_OK && (rename(tmp, name) != 0 || ldr__fsync_dir(dir) != LDR_OK))
            rc = LDR_EIO;
        if (rc != LDR_OK) {
            fprintf(stderr, "larder: cannot keep a copy of %s in %s: %s\n", path, dir,
                    strerror(errno));
            unlink(tmp);
        } else {
            n++;
            app->import.base = true;
        }
        ldr_free(given);
    } else if (same) {
        ldr_free(given);
    } else { /* imported through the log once it is open */
        *import = given;
        *import_len = glen;
    }
    for (uint32_t v = 1; rc == LDR_OK && v <= n; v++) {
        snprintf(name, sizeof(name), "%s/catalog-%06u.jsonl", dir, v);
        rc = ldr__load_file(app, name, NULL);
    }
    return rc;
}

/* Generates the demo files once; later starts reuse them, so restarts serve the same data. */
static int ldr__ensure_demo(const char *dir, char *catalog, char *stock, size_t size)
{
    snprintf(catalog, size, "%s/catalog.jsonl", dir);
    snprintf(stock, size, "%s/stock.jsonl", dir);
    if (access(catalog, R_OK) == 0 && access(stock, R_OK) == 0)
        return LDR_OK;
    char ctmp[4200], stmp[4200];
    snprintf(ctmp, sizeof(ctmp), "%s.tmp", catalog);
    snprintf(stmp, sizeof(stmp), "%s.tmp", stock);
    FILE *cf = fopen(ctmp, "w"), *sf = fopen(stmp, "w");
    int rc = LDR_EIO;
    if (cf != NULL && sf != NULL) {
        time_t now = time(NULL);
        ldr_gen_opts_t o = {LDR__DEMO_SKUS, LDR__DEMO_SEED, LDR__DEMO_STORES,
                            (int64_t)now - (int64_t)now % 86400};
        fprintf(stderr, "larder: generating the demo catalog (%d SKUs, %d stores) in %s\n",
                LDR__DEMO_SKUS, LDR__DEMO_STORES, dir);
        rc = ldr_gen_catalog(&o, cf, sf);
    }
    if (cf != NULL && fclose(cf) != 0)
        rc = LDR_EIO;
    if (sf != NULL && fclose(sf) != 0)
        rc = LDR_EIO;
    /* the catalog is renamed last: its presence means both files are complete */
    if (rc == LDR_OK && (rename(stmp, stock) != 0 || rename(ctmp, catalog) != 0))
        rc = LDR_EIO;
    if (rc != LDR_OK) {
        fprintf(stderr, "larder: cannot write the demo catalog in %s: %s\n", dir, strerror(errno));
        unlink(ctmp);
        unlink(stmp);
    }
    return rc;
}

/* The products table, read once for the load (app->pg_catalog keeps its SKUs for the prune). */
static int ldr__pg_read(ldr_app_t *app, char **text, size_t *len)
{
    char err[LDR_PG_ERR_MAX];
    PGconn *c;
    int rc = ldr_pg_connect(app->source.database_url, &c, err, sizeof(err));
    ldr_pg_catalog_t *pc = ldr_calloc(1, sizeof(*pc));
    /* bounded, so a PostgreSQL that stops answering mid-COPY cannot hold a shutdown forever */
    if (rc == LDR_OK)
        rc = ldr_pg_export(c, -1, ldr_pg_now_ms() + LDR__PG_READ_MS, pc, err, sizeof(err));
    PQfinish(c);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder: cannot read the catalog from PostgreSQL: %s\n", err);
        ldr_free(pc);
        return rc;
    }
    app->import.rows = pc->rows;
    *text = pc->jsonl.base; /* taken over: ldr__load_catalogs frees or keeps it */
    *len = pc->jsonl.len;
    pc->jsonl = (ldr_buf_t)LDR_BUF_INIT;
    app->pg_catalog = pc;
    return LDR_OK;
}

/* The catalog from PostgreSQL; when it cannot be read, what the data dir holds, if anything. */
static int ldr__load_pg(ldr_app_t *app, char **import, size_t *import_len)
{
    char *text = NULL;
    size_t len = 0;
    if (ldr__pg_read(app, &text, &len) == LDR_OK)
        return ldr__load_catalogs(app, LDR__PG_SOURCE, text, len, import, import_len);
    char base[4300];
    snprintf(base, sizeof(base), "%s/catalog/catalog-000001.jsonl", app->source.data_dir);
    if (app->source.import_only || access(base, R_OK) != 0)
        return LDR_EIO;
    fprintf(stderr,
            "larder: serving the catalog %s holds until PostgreSQL answers (the sync "
            "thread keeps trying and reconciles then)\n",
            app->source.data_dir);
    return ldr__load_catalogs(app, LDR__PG_SOURCE, NULL, 0, import, import_len);
}

int ldr_app_load(ldr_app_t *app)
{
    const ldr_app_source_t *src = &app->source;
    char catalog[4096], stock[4096];
    const char *cpath = src->catalog_path, *spath = src->stock_path;
    int rc = LDR_OK;
    if (src->data_dir != NULL && ldr__mkdir_p(src->data_dir) != LDR_OK) {
        fprintf(stderr, "larder: cannot create data dir %s: %s\n", src->data_dir, strerror(errno));
        rc = LDR_EIO;
    } else if (src->demo) {
        rc = ldr__ensure_demo(src->data_dir, catalog, stock, sizeof(catalog));
        cpath = catalog, spath = stock;
    }
    char *import = NULL;
    size_t import_len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == LDR_OK && src->database_url != NULL) {
        rc = ldr__load_pg(app, &import, &import_len);
        cpath = LDR__PG_SOURCE;
    } else if (rc == LDR_OK && cpath != NULL) {
        char *given;
        size_t glen;
        if (src->demo) {
            rc = ldr__load_file(app, cpath, NULL);
        } else if (ldr_read_file(cpath, &given, &glen) != LDR_OK) {
            fprintf(stderr, "larder: cannot read %s: %s\n", cpath, strerror(errno));
            rc = LDR_EIO;
        } else {
            rc = ldr__load_catalogs(app, cpath, given, glen, &import, &import_len);
        }
    }
    if (rc == LDR_OK)
        rc = ldr__open_engine(app, spath, cpath, import, import_len);
    ldr_free(import);
    if (app->pg_catalog != NULL) {
        ldr_pg_catalog_free(app->pg_catalog);
        ldr_free(app->pg_catalog);
        app->pg_catalog = NULL;
    }
    app->import.ms = ldr__ms_since(&t0);
    if (src->import_only)
        return rc;
    if (rc == LDR_OK) {
        /* nothing changes the live catalog before the app is ready: product writes come over
         * HTTP */
        ldr_view_t *v = ldr_view_build(app->catalog);
        fprintf(stderr, "larder: search index built in %.1f ms (%u terms, %.1f MB)\n", v->build_ms,
                ldr_index_terms(v->index), (double)ldr_index_memory(v->index) / 1e6);
        ldr_app_view_publish(app, v);
        if ((rc = ldr_app_indexer_start(app)) != LDR_OK)
            fprintf(stderr, "larder: cannot start the indexer thread\n");
    }
    if (rc == LDR_OK && (rc = ldr_app_resume_checkouts(app)) != LDR_OK)
        fprintf(stderr, "larder: cannot record the answers of interrupted checkouts: %s\n",
                ldr_strerror(rc));
    if (rc == LDR_OK && app->relay != NULL) {
        if ((rc = ldr_relay_start(app->relay)) != LDR_OK)
            fprintf(stderr, "larder: cannot start the Kafka relay thread\n");
        else
            fprintf(stderr, "larder: relaying events to Kafka at %s\n", app->source.kafka->brokers);
    }
    if (rc == LDR_OK && src->database_url != NULL) {
        ldr_pg_sync_opts_t so = {.url = src->database_url,
                                 .reconcile_ms = src->pg_reconcile_s * 1000u};
        if ((rc = ldr_pg_sync_start(app, &so, &app->pg_sync)) != LDR_OK)
            fprintf(stderr, "larder: cannot start the PostgreSQL sync thread\n");
        else if (app->pg_sink != NULL && (rc = ldr_pg_sink_start(app->pg_sink)) != LDR_OK)
            fprintf(stderr, "larder: cannot start the order sink thread\n");
    }
    atomic_store_explicit(&app->state, rc == LDR_OK ? LDR_APP_READY : LDR_APP_FAILED,
                          memory_order_release);
    /* nothing to serve: stop the server the way an operator would; main exits 1 on FAILED */
    if (rc != LDR_OK && app->loader_started)
        kill(getpid(), SIGTERM);
    return rc;
}

static void *ldr__loader_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-loader"); /* for top -H, ps -L and perf */
    ldr_app_load(arg);
    return NULL;
}

void ldr_app_init(ldr_app_t *app, const ldr_app_source_t *src)
{
    memset(app, 0, sizeof(*app));
    app->source = *src;
    app->catalog = ldr_catalog_new();
    pthread_mutex_init(&app->view_lock, NULL);
    pthread_cond_init(&app->indexer_cond, NULL);
    atomic_init(&app->view_gen, 0);
    atomic_init(&app->views_built, 0);
    atomic_init(&app->state, LDR_APP_LOADING);
    atomic_init(&app->engine_started, false);
    atomic_init(&app->epoch, 0);
}

int ldr_app_start(ldr_app_t *app, const ldr_app_source_t *src)
{
    ldr_app_init(app, src);
    app->loader_started = true; /* before the thread runs: it reads the flag */
    if (pthread_create(&app->loader, NULL, ldr__loader_main, app) != 0) {
        app->loader_started = false;
        return LDR_ENOMEM;
    }
    return LDR_OK;
}

void ldr_app_stop_engine(ldr_app_t *app)
{
    ldr_pg_sync_stop(app->pg_sync); /* it submits to the engine and waits for the indexer */
    app->pg_sync = NULL;
    /* the relay's consumer submits to the engine too; what is durable but not yet out waits in
     * the log for the next start */
    ldr_relay_stop(app->relay, 2000);
    ldr_pg_sink_stop(app->pg_sink);
    ldr_app_indexer_stop(app);
    if (app->engine != NULL)
        ldr_engine_stop(app->engine);
}

void ldr_app_wait_loaded(ldr_app_t *app)
{
    if (!app->loader_started)
        return;
    /*
     * An engine started without a thread (LARDER_ENGINE=loop) that no loop turns — the server
     * stopped, or never started, before the load got to it — is turned here while the load runs:
     * the load may submit and wait (ldr_app_resume_checkouts).  If loop 0 owns it, ldr_engine_turn
     * does nothing; if this thread takes it, ldr_engine_stop later runs it out here too.
     */
    while (app->source.engine_on_loop &&
           atomic_load_explicit(&app->state, memory_order_acquire) == LDR_APP_LOADING) {
        if (atomic_load_explicit(&app->engine_started, memory_order_acquire))
            (void)ldr_engine_turn(app->engine);
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_join(app->loader, NULL);
    app->loader_started = false;
}

void ldr_app_dispose(ldr_app_t *app)
{
    ldr_app_wait_loaded(app);
    ldr_app_stop_engine(app);
    ldr_relay_free(app->relay);
    ldr_pg_sink_free(app->pg_sink);
    if (app->engine != NULL && ldr_engine_close(app->engine) != LDR_OK)
        fprintf(stderr, "larder: the log could not be closed cleanly\n");
    ldr_view_release(app->view); /* the last reference: the loops have let theirs go */
    ldr_catalog_free(app->catalog);
    pthread_cond_destroy(&app->indexer_cond);
    pthread_mutex_destroy(&app->view_lock);
    memset(app, 0, sizeof(*app));
}
