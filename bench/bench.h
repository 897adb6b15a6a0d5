/* Helpers shared by the benchmarks in bench/: a clock, a comparator and the demo catalog. */
#ifndef LARDER_BENCH_H
#define LARDER_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "larder/common.h"
#include "larder/gen.h"

#define LDR_BENCH_TODAY 1795564800 /* 2026-11-25: expiry dates count from a fixed day */

static inline double ldr_bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int ldr_bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/** gen-catalog --skus N --seed 1 --stores 3 into malloc'ed buffers; exits on failure. */
static inline void ldr_bench_generate(uint32_t skus, char **catalog, size_t *clen, char **stock,
                                      size_t *slen)
{
    FILE *cf = open_memstream(catalog, clen), *sf = open_memstream(stock, slen);
    ldr_gen_opts_t o = {skus, 1, 3, LDR_BENCH_TODAY};
    if (cf == NULL || sf == NULL || ldr_gen_catalog(&o, cf, sf) != LDR_OK) {
        fprintf(stderr, "bench: cannot generate the catalog\n");
        exit(1);
    }
    fclose(cf);
    fclose(sf);
}

#endif
