/*
 * bench/catalog_load — how long the JSON Lines loader takes for the demo catalog.
 *
 * Generates the catalog in memory (gen-catalog's output for --skus N --seed 1 --stores 3), then
 * loads it into a fresh catalog and stock table RUNS times and prints the median, min and max of
 * the parse+validate+insert time, per product and in total.  File I/O is excluded on purpose: it
 * is the page cache's speed, not ours.
 *
 * usage: catalog_load [SKUS] [RUNS]   (defaults 50000 and 9)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "larder/catalog.h"
#include "larder/gen.h"
#include "larder/stock.h"

int main(int argc, char **argv)
{
    uint32_t skus = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 50000;
    int runs = argc > 2 ? atoi(argv[2]) : 9;
    if (skus == 0 || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: catalog_load [SKUS] [RUNS]\n");
        return 2;
    }
    char *cbuf = NULL, *sbuf = NULL;
    size_t clen = 0, slen = 0;
    ldr_bench_generate(skus, &cbuf, &clen, &sbuf, &slen);

    double *cat_ms = calloc((size_t)runs, sizeof(double)),
           *stock_ms = calloc((size_t)runs, sizeof(double));
    uint64_t loaded = 0, lots = 0;
    for (int r = 0; r < runs; r++) {
        ldr_catalog_t *cat = ldr_catalog_new();
        ldr_stock_t *st = ldr_stock_new();
        ldr_load_result_t cr, sr;
        double t0 = ldr_bench_now_us() / 1e3;
        ldr_catalog_load_jsonl(cat, cbuf, clen, NULL, NULL, &cr);
        double t1 = ldr_bench_now_us() / 1e3;
        ldr_stock_load_jsonl(st, cat, sbuf, slen, NULL, NULL, &sr);
        double t2 = ldr_bench_now_us() / 1e3;
        cat_ms[r] = t1 - t0, stock_ms[r] = t2 - t1;
        if (cr.rejected != 0 || sr.rejected != 0) {
            fprintf(stderr, "catalog_load: %llu products and %llu lots rejected\n",
                    (unsigned long long)cr.rejected, (unsigned long long)sr.rejected);
            return 1;
        }
        loaded = cr.loaded, lots = sr.loaded;
        ldr_stock_free(st);
        ldr_catalog_free(cat);
    }
    qsort(cat_ms, (size_t)runs, sizeof(double), ldr_bench_cmp_double);
    qsort(stock_ms, (size_t)runs, sizeof(double), ldr_bench_cmp_double);
    printf("catalog_load: %llu products (%.1f MB JSONL), %llu lots (%.1f MB), %d runs\n",
           (unsigned long long)loaded, (double)clen / 1e6, (unsigned long long)lots,
           (double)slen / 1e6, runs);
    printf("  products: median %.1f ms (min %.1f, max %.1f), %.2f us/product\n", cat_ms[runs / 2],
           cat_ms[0], cat_ms[runs - 1], cat_ms[runs / 2] * 1e3 / (double)loaded);
    printf("  lots:     median %.1f ms (min %.1f, max %.1f), %.2f us/lot\n", stock_ms[runs / 2],
           stock_ms[0], stock_ms[runs - 1], stock_ms[runs / 2] * 1e3 / (double)lots);
    free(cat_ms);
    free(stock_ms);
    free(cbuf);
    free(sbuf);
    return 0;
}
