/*
 * Loading the served state: the demo catalog (generated once into the data dir, then reused) or the
 * operator's JSON Lines files, on a background thread so that the server answers /readyz with 503
 * until the catalog is in memory.
 */
#include "larder/app.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "larder/gen.h"

#define LDR__DEMO_SKUS     50000
#define LDR__DEMO_SEED     1
#define LDR__DEMO_STORES   3
#define LDR__REJECTS_SHOWN 20

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

static int ldr__load_file(ldr_app_t *app, const char *path, bool is_stock)
{
    char *buf;
    size_t len;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ldr_read_file(path, &buf, &len) != LDR_OK) {
        fprintf(stderr, "larder: cannot read %s: %s\n", path, strerror(errno));
        return LDR_EIO;
    }
    ldr__reject_log_t log = {path, 0};
    ldr_load_result_t r;
    if (is_stock)
        ldr_stock_load_jsonl(app->stock, app->catalog, buf, len, ldr__log_reject, &log, &r);
    else
        ldr_catalog_load_jsonl(app->catalog, buf, len, ldr__log_reject, &log, &r);
    ldr_free(buf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (r.rejected > LDR__REJECTS_SHOWN)
        fprintf(stderr, "larder: %s: ... and %llu more rejected lines\n", path,
                (unsigned long long)(r.rejected - LDR__REJECTS_SHOWN));
    fprintf(stderr, "larder: loaded %llu %s from %s in %.1f ms (%llu rejected)\n",
            (unsigned long long)r.loaded, is_stock ? "lots" : "products", path, ms,
            (unsigned long long)r.rejected);
    return LDR_OK;
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
    if (rc == LDR_OK && cpath != NULL)
        rc = ldr__load_file(app, cpath, false);
    if (rc == LDR_OK && spath != NULL)
        rc = ldr__load_file(app, spath, true);
    if (rc == LDR_OK) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        app->index = ldr_index_build(app->catalog);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(stderr, "larder: search index built in %.1f ms (%u terms, %.1f MB)\n",
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                ldr_index_terms(app->index), (double)ldr_index_memory(app->index) / 1e6);
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
    ldr_app_load(arg);
    return NULL;
}

int ldr_app_start(ldr_app_t *app, const ldr_app_source_t *src)
{
    memset(app, 0, sizeof(*app));
    app->source = *src;
    app->catalog = ldr_catalog_new();
    app->stock = ldr_stock_new();
    atomic_init(&app->state, LDR_APP_LOADING);
    atomic_init(&app->epoch, 0);
    app->loader_started = true; /* before the thread runs: it reads the flag */
    if (pthread_create(&app->loader, NULL, ldr__loader_main, app) != 0) {
        app->loader_started = false;
        return LDR_ENOMEM;
    }
    return LDR_OK;
}

void ldr_app_dispose(ldr_app_t *app)
{
    if (app->loader_started)
        pthread_join(app->loader, NULL);
    ldr_index_free(app->index);
    ldr_stock_free(app->stock);
    ldr_catalog_free(app->catalog);
    memset(app, 0, sizeof(*app));
}
