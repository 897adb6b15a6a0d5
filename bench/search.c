/*
 * bench/search — in-process search latency over the generated catalog, per query class.
 *
 * Generates the catalog (gen-catalog --skus N --seed 1 --stores 3), loads it, builds the index
 * (timed) and runs every query of each class ROUNDS times on one thread, printing p50, p99 and max
 * per class, the index build time and the index memory.
 *
 * usage: search [SKUS] [ROUNDS]   (defaults 50000 and 200)
 *        search --show QUERY       print the top 10 hits of one query (for relevance work)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "larder/catalog.h"
#include "larder/gen.h"
#include "larder/index.h"
#include "larder/stock.h"

typedef struct qclass {
    const char *name;
    const char *queries[12];
    const char *category;
    int facets;
} qclass_t;

static const qclass_t classes[] = {
    {"1 word",
     {"milk", "tomatoes", "rice", "shrimp", "coffee", "sữa", "gạo", "tôm", "bia", "chuối"},
     NULL,
     0},
    {"2-3 words",
     {"cherry tomatoes", "cà chua", "ca chua", "nước mắm", "nuoc mam", "thịt ba chỉ", "thit ba chi",
      "fresh milk", "sữa tươi", "đậu phụ", "instant noodles", "fish sauce"},
     NULL,
     0},
    {"prefix",
     {"ca ch", "tom", "sữa t", "nuoc m", "choc", "dau p", "bis", "thit b", "ric", "vina"},
     NULL,
     0},
    {"typo",
     {"tomatos", "bannana", "chocolat", "shrimpp", "cofee", "yoghurt", "vinamlik", "noodels"},
     NULL,
     0},
    {"filtered", {"milk", "ca chua", "rice", "tôm", "juice", "beer"}, "drinks", 0},
    {"facets", {"sữa", "fresh", "organic", "thit", "noodles", "sauce"}, NULL, 7},
};

static void load(uint32_t skus, ldr_catalog_t *cat, ldr_stock_t *st)
{
    char *cbuf = NULL, *sbuf = NULL;
    size_t clen = 0, slen = 0;
    ldr_bench_generate(skus, &cbuf, &clen, &sbuf, &slen);
    ldr_catalog_load_jsonl(cat, cbuf, clen, NULL, NULL, NULL);
    ldr_stock_load_jsonl(st, cat, sbuf, slen, NULL, NULL, NULL);
    free(cbuf);
    free(sbuf);
}

static ldr_search_query_t query(const char *q, const qclass_t *c, const ldr_stock_t *st)
{
    ldr_search_query_t sq = LDR_SEARCH_QUERY_INIT;
    sq.q = q, sq.q_len = strlen(q);
    if (c != NULL && c->category != NULL) {
        sq.category = c->category, sq.category_len = strlen(c->category);
        sq.stock = st, sq.store = ldr_stock_store_find(st, "default", 7), sq.in_stock = true;
    }
    if (c != NULL)
        sq.facets = (unsigned)c->facets;
    return sq;
}

static int show(const char *q)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_stock_t *st = ldr_stock_new();
    load(50000, cat, st);
    ldr_index_t *idx = ldr_index_build(cat);
    ldr_searcher_t *s = ldr_searcher_new(idx);
    ldr_search_query_t sq = query(q, NULL, st);
    ldr_search_result_t r;
    ldr_search(s, &sq, &r);
    printf("%u matches for \"%s\"\n", r.total, q);
    for (uint32_t i = 0; i < r.nhits; i++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, r.hits[i].doc);
        ldr_buf_t b = LDR_BUF_INIT;
        ldr_search_highlight(s, p->name[LDR_LANG_VI].ptr, p->name[LDR_LANG_VI].len, &b);
        printf("%8.3f %s | %s | %.*s\n", r.hits[i].score, p->sku.ptr, p->name[LDR_LANG_EN].ptr,
               (int)b.len, b.base);
        ldr_buf_free(&b);
    }
    ldr_searcher_free(s);
    ldr_index_free(idx);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--show") == 0)
        return show(argv[2]);
    uint32_t skus = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 50000;
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    if (skus == 0 || rounds < 1) {
        fprintf(stderr, "usage: search [SKUS] [ROUNDS] | search --show QUERY\n");
        return 2;
    }
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_stock_t *st = ldr_stock_new();
    load(skus, cat, st);
    double t0 = ldr_bench_now_us();
    ldr_index_t *idx = ldr_index_build(cat);
    double build_ms = (ldr_bench_now_us() - t0) / 1e3;
    printf("search: %u products, index built in %.0f ms, %.1f MB, %u terms\n", skus, build_ms,
           (double)ldr_index_memory(idx) / 1e6, ldr_index_terms(idx));
    ldr_searcher_t *s = ldr_searcher_new(idx);
    printf("  %-10s %9s %9s %9s %9s\n", "class", "p50 us", "p99 us", "max us", "avg hits");
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        size_t nq = 0;
        while (nq < 12 && classes[c].queries[nq] != NULL)
            nq++;
        size_t n = nq * (size_t)rounds, k = 0;
        double *lat = malloc(n * sizeof(double)), total = 0;
        for (int r = 0; r < rounds; r++) {
            for (size_t i = 0; i < nq; i++) {
                ldr_search_query_t sq = query(classes[c].queries[i], &classes[c], st);
                ldr_search_result_t res;
                double a = ldr_bench_now_us();
                ldr_search(s, &sq, &res);
                lat[k++] = ldr_bench_now_us() - a;
                total += res.total;
            }
        }
        qsort(lat, n, sizeof(double), ldr_bench_cmp_double);
        printf("  %-10s %9.1f %9.1f %9.1f %9.0f\n", classes[c].name, lat[n / 2],
               lat[(size_t)((double)n * 0.99)], lat[n - 1], total / (double)n);
        free(lat);
    }
    ldr_searcher_free(s);
    ldr_index_free(idx);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
    return 0;
}
