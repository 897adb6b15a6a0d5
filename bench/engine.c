/*
 * bench/engine — durable stock updates per second through the synchronous engine, in-process.
 *
 * Loads the demo catalog with its stock, opens an engine on a fresh WAL under build/, then runs
 * ADJUST commands (+1 / -1 on random SKUs of the default store) in batches of WINDOW: every batch
 * is applied, logged and made durable with one sync, as if WINDOW clients were waiting.  Prints
 * updates/s and the ack latency (execute to durable) p50/p99 per window.
 *
 * Then recovery: 50,000 SKUs x 3 stores of lots plus 1,000,000 adjustments replayed from the log
 * alone, and again from a snapshot taken after the lots (write time and size printed) plus the
 * same 1,000,000 adjustments after it.
 *
 * usage: engine [SECONDS]   (default 2 per window)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include "bench.h"
#include "larder/engine.h"
#include "larder/snapshot.h"

static void rm_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "engine: could not remove %s\n", dir);
}

/* A fresh engine over a new WAL directory (named into dir, 32 bytes); exits on failure. */
static ldr_engine_t *fresh_engine(ldr_catalog_t *cat, char *dir)
{
    strcpy(dir, "build/engine-bench-XXXXXX");
    ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e;
    if (mkdtemp(dir) == NULL || ldr_engine_open(&o, &e, NULL) != LDR_OK) {
        fprintf(stderr, "engine: cannot open an engine in %s\n", dir);
        exit(1);
    }
    return e;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (argc > 2 || !(seconds > 0)) {
        fprintf(stderr, "usage: engine [SECONDS]   (seconds per window, default 2)\n");
        return 2;
    }
    char *cbuf, *sbuf;
    size_t clen, slen;
    ldr_bench_generate(50000, &cbuf, &clen, &sbuf, &slen);
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, cbuf, clen, NULL, NULL, NULL);
    static const uint32_t windows[] = {1, 16, 256, 4096};
    printf("engine: ADJUST on the 50,000-SKU demo catalog, one sync per window of commands\n");
    printf("  %-7s %12s %10s %10s\n", "window", "updates/s", "p50 us", "p99 us");
    for (size_t wi = 0; wi < sizeof(windows) / sizeof(windows[0]); wi++) {
        char dir[32];
        ldr_engine_t *e = fresh_engine(cat, dir);
        /* stock to adjust: one lot per SKU in the default store */
        for (uint32_t d = 0; d < ldr_catalog_doc_limit(cat); d++) {
            const ldr_product_t *p = ldr_catalog_doc(cat, d);
            ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                           .store = LDR_STR_LIT("default"),
                           .sku = p->sku,
                           .lot = LDR_STR_LIT("L1"),
                           .quantity = 1000,
                           .expires_at = LDR_NO_EXPIRY};
            ldr_cmd_result_t r;
            ldr_engine_execute(e, &c, 0, &r, NULL);
        }
        ldr_engine_sync(e);
        uint32_t window = windows[wi];
        size_t cap = 1 << 20, n = 0, total = 0;
        double *lat = malloc(cap * sizeof(double)), *start = malloc(window * sizeof(double));
        unsigned seed = 1;
        double t0 = ldr_bench_now_us(), t1 = t0;
        while (t1 - t0 < seconds * 1e6) {
            for (uint32_t k = 0; k < window; k++) {
                const ldr_product_t *p = ldr_catalog_doc(cat, (uint32_t)rand_r(&seed) % 50000);
                ldr_cmd_t c = {.type = LDR_CMD_ADJUST,
                               .store = LDR_STR_LIT("default"),
                               .sku = p->sku,
                               .quantity = rand_r(&seed) % 2 ? 1 : -1};
                ldr_cmd_result_t r;
                start[k] = ldr_bench_now_us();
                if (ldr_engine_execute(e, &c, 1, &r, NULL) != LDR_OK)
                    return 1;
            }
            if (ldr_engine_sync(e) != LDR_OK)
                return 1;
            t1 = ldr_bench_now_us();
            total += window;
            for (uint32_t k = 0; k < window && n < cap; k++)
                lat[n++] = t1 - start[k];
        }
        qsort(lat, n, sizeof(double), ldr_bench_cmp_double);
        printf("  %-7u %12.0f %10.1f %10.1f\n", window, (double)total / ((t1 - t0) / 1e6),
               lat[n / 2], lat[(size_t)((double)n * 0.99)]);
        free(lat);
        free(start);
        ldr_engine_close(e);
        rm_dir(dir);
    }
    int ok = 1;
    for (int with_snapshot = 0; with_snapshot < 2; with_snapshot++) {
        /* recovery: 50,000 SKUs x 3 stores of lots plus 1,000,000 adjustments, replayed at open */
        char dir[32];
        ldr_engine_t *e = fresh_engine(cat, dir);
        ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
        static const ldr_str_t stores[] = {LDR_STR_LIT("default"), LDR_STR_LIT("hcm-q7"),
                                           LDR_STR_LIT("hn-caugiay")};
        uint64_t records = 0;
        for (uint32_t s = 0; s < 3; s++)
            for (uint32_t d = 0; d < ldr_catalog_doc_limit(cat); d++) {
                ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                               .store = stores[s],
                               .sku = ldr_catalog_doc(cat, d)->sku,
                               .lot = LDR_STR_LIT("L1"),
                               .quantity = 1000,
                               .expires_at = LDR_NO_EXPIRY};
                ldr_cmd_result_t r;
                records += ldr_engine_execute(e, &c, 0, &r, NULL) == LDR_OK;
            }
        ldr_engine_sync(e);
        if (with_snapshot) {
            char name[64], path[128];
            ldr_snapshot_name(name, sizeof(name), records);
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            uint64_t bytes = 0;
            double t0 = ldr_bench_now_us();
            if (fd < 0 || ldr_snapshot_write(fd, ldr_engine_state(e), records, 0, &bytes) != LDR_OK)
                return 1;
            printf("  snapshot of 150,000 entries: %.1f MB written and synced in %.0f ms\n",
                   (double)bytes / 1e6, (ldr_bench_now_us() - t0) / 1e3);
            close(fd);
        }
        unsigned seed = 2;
        for (uint32_t i = 0; i < 1000000; i++) {
            ldr_cmd_t c = {.type = LDR_CMD_ADJUST,
                           .store = stores[i % 3],
                           .sku = ldr_catalog_doc(cat, (uint32_t)rand_r(&seed) % 50000)->sku,
                           .quantity = i % 2 ? 1 : -1};
            ldr_cmd_result_t r;
            records += ldr_engine_execute(e, &c, 1, &r, NULL) == LDR_OK;
            if (i % 4096 == 0)
                ldr_engine_sync(e);
        }
        uint64_t live = ldr_state_hash(ldr_engine_state(e));
        ldr_engine_close(e);
        double t0 = ldr_bench_now_us();
        ldr_wal_recovery_t rep;
        if (ldr_engine_open(&o, &e, &rep) != LDR_OK)
            return 1;
        double ms = (ldr_bench_now_us() - t0) / 1e3;
        int same = ldr_state_hash(ldr_engine_state(e)) == live;
        printf("  recovery %s: %llu records replayed in %.0f ms, state %s\n",
               with_snapshot ? "from the snapshot + 1,000,000 adjustments"
                             : "from the log alone (150,000 lots + 1,000,000 adjustments)",
               (unsigned long long)rep.records, ms, same ? "identical" : "DIFFERENT");
        ok = ok && same && rep.records == (with_snapshot ? 1000000 : records);
        ldr_engine_close(e);
        rm_dir(dir);
    }
    ldr_catalog_free(cat);
    free(cbuf);
    free(sbuf);
    return ok ? 0 : 1;
}
