/*
 * bench/read_lock — stock reads from several threads at once: the engine's per-thread read lock
 * (ldr_engine_read_lock) against one shared writer-preferring pthread rwlock, the design it
 * replaced, doing the same work inside (look up a (store, sku) entry, read on_hand).
 *
 * The engine holds the 50,000-SKU catalog with one lot per SKU and applies nothing meanwhile:
 * what differs is only what the readers write to take and give back the lock.  For 1 and 2
 * threads, ROUNDS rounds alternate the two locks for SECONDS each; the medians of the total
 * reads/s are printed with their ratio.
 *
 * usage: read_lock [SECONDS] [ROUNDS]   (default 0.5 s, 5 rounds)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "larder/engine.h"

typedef struct reader {
    pthread_t thread;
    ldr_engine_t *engine;
    pthread_rwlock_t *shared; /* NULL: the engine's own read lock */
    const atomic_bool *stop;
    uint64_t reads, sum;
    char pad[64]; /* the two readers' counters in different cache lines */
} reader_t;

static void *read_loop(void *arg)
{
    reader_t *r = arg;
    const ldr_stock_t *st = ldr_engine_state(r->engine)->stock;
    uint32_t doc = (uint32_t)(uintptr_t)r % 50000;
    uint64_t reads = 0, sum = 0;
    while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
        for (int k = 0; k < 256; k++) {
            if (r->shared != NULL)
                pthread_rwlock_rdlock(r->shared);
            else
                ldr_engine_read_lock(r->engine);
            const ldr_stock_entry_t *e = ldr_stock_get(st, 0, doc);
            sum += e != NULL ? (uint64_t)e->on_hand : 0;
            if (r->shared != NULL)
                pthread_rwlock_unlock(r->shared);
            else
                ldr_engine_read_unlock(r->engine);
            doc = (doc * 1103515245u + 12345u) % 50000;
        }
        reads += 256;
    }
    r->reads = reads;
    r->sum = sum;
    return NULL;
}

/* Total reads/s of `threads` readers for `seconds`. */
static double run(ldr_engine_t *e, pthread_rwlock_t *shared, int threads, double seconds)
{
    reader_t r[2];
    atomic_bool stop = false;
    for (int i = 0; i < threads; i++) {
        r[i] = (reader_t){.engine = e, .shared = shared, .stop = &stop};
        if (pthread_create(&r[i].thread, NULL, read_loop, &r[i]) != 0)
            exit(1);
    }
    double t0 = ldr_bench_now_us();
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    uint64_t reads = 0, sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(r[i].thread, NULL);
        reads += r[i].reads;
        sum += r[i].sum;
    }
    double t1 = ldr_bench_now_us();
    if (sum == 0) { /* every lot holds 1,000: the reads must have seen them */
        fprintf(stderr, "read_lock: the readers saw no stock\n");
        exit(1);
    }
    return (double)reads / ((t1 - t0) / 1e6);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), ldr_bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.5;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (argc > 3 || !(seconds > 0) || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: read_lock [SECONDS] [ROUNDS]   (default 0.5 s, 5 rounds)\n");
        return 2;
    }
    char *cbuf, *sbuf;
    size_t clen, slen;
    ldr_bench_generate(50000, &cbuf, &clen, &sbuf, &slen);
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, cbuf, clen, NULL, NULL, NULL);
    char dir[] = "build/read-lock-bench-XXXXXX";
    ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e;
    if (mkdtemp(dir) == NULL || ldr_engine_open(&o, &e, NULL) != LDR_OK) {
        fprintf(stderr, "read_lock: cannot open an engine in %s\n", dir);
        return 1;
    }
    for (uint32_t d = 0; d < ldr_catalog_doc_limit(cat); d++) {
        ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                       .store = LDR_STR_LIT("default"),
                       .sku = ldr_catalog_doc(cat, d)->sku,
                       .lot = LDR_STR_LIT("L1"),
                       .quantity = 1000,
                       .expires_at = LDR_NO_EXPIRY};
        ldr_cmd_result_t res;
        ldr_engine_execute(e, &c, 0, &res, NULL);
    }
    pthread_rwlockattr_t attr;
    pthread_rwlock_t shared;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&shared, &attr);
    printf("read_lock: stock reads/s under the read lock, medians of %d rounds of %.1f s\n", rounds,
           seconds);
    printf("  %-8s %14s %14s %8s\n", "threads", "per-thread", "one shared", "ratio");
    for (int threads = 1; threads <= 2; threads++) {
        double split[100], one[100];
        for (int i = 0; i < rounds; i++) {
            split[i] = run(e, NULL, threads, seconds);
            one[i] = run(e, &shared, threads, seconds);
        }
        double a = median(split, rounds), b = median(one, rounds);
        printf("  %-8d %14.0f %14.0f %7.2fx\n", threads, a, b, a / b);
    }
    pthread_rwlock_destroy(&shared);
    pthread_rwlockattr_destroy(&attr);
    ldr_engine_close(e);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "read_lock: could not remove %s\n", dir);
    ldr_catalog_free(cat);
    free(cbuf);
    free(sbuf);
    return 0;
}
