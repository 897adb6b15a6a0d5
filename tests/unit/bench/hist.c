/*
 * Unit tests for bench/harness/hist.c: every value lands in a bucket that holds it and is at most
 * 1/128 of its lower bound wide; quantiles of random samples (uniform, log-uniform, heavy-tailed)
 * agree with the exact order statistics within 0.4 %; merging per-thread histograms equals
 * recording everything in one.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "../../../bench/harness/hist.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The exact value of rank ceil(q * n) in sorted v[0..n). */
static uint64_t exact(const uint64_t *v, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

Test(hist, buckets_hold_their_values_and_are_narrow)
{
    for (uint32_t s = 1; s <= 12; s++) {
        for (int i = 0; i < 200000; i++) {
            uint64_t v = rnd() >> (rnd() % 64);
            if (v >= (1ull << LDR_HIST_TOP_EXP))
                continue;
            uint64_t lo, width;
            ldr_hist_bucket_range(s, ldr_hist_bucket(s, v), &lo, &width);
            cr_assert(lo <= v && v < lo + width, "S=%u v=%llu in [%llu, +%llu)", s,
                      (unsigned long long)v, (unsigned long long)lo, (unsigned long long)width);
            cr_assert(width == 1 || width * (1ull << s) <= lo, "S=%u v=%llu width %llu lo %llu", s,
                      (unsigned long long)v, (unsigned long long)width, (unsigned long long)lo);
        }
    }
}

Test(hist, bucket_indexes_are_dense_and_ordered)
{
    /* consecutive buckets tile the line: each starts where the previous one ends */
    uint32_t s = LDR_HIST_FINE_BITS;
    uint64_t lo, width, next = 0;
    for (uint32_t i = 0; i < ldr_hist_bucket(s, (1ull << LDR_HIST_TOP_EXP) - 1); i++) {
        ldr_hist_bucket_range(s, i, &lo, &width);
        cr_assert_eq(lo, next, "bucket %u starts at %llu, expected %llu", i, (unsigned long long)lo,
                     (unsigned long long)next);
        cr_assert_eq(ldr_hist_bucket(s, lo), i);
        cr_assert_eq(ldr_hist_bucket(s, lo + width - 1), i);
        next = lo + width;
    }
}

Test(hist, small_values_are_exact)
{
    ldr_hist_t h;
    ldr_hist_init(&h, LDR_HIST_FINE_BITS);
    for (uint64_t v = 0; v < 256; v++)
        ldr_hist_record(&h, v);
    cr_assert_eq(h.total, 256);
    cr_assert_eq(ldr_hist_quantile(&h, 0.5), 127);
    cr_assert_eq(ldr_hist_quantile(&h, 0.0), 0);
    cr_assert_eq(ldr_hist_quantile(&h, 1.0), 255);
    cr_assert_float_eq(ldr_hist_mean(&h), 127.5, 1e-9);
    ldr_hist_free(&h);
}

Test(hist, empty_and_mismatched)
{
    ldr_hist_t a, b;
    ldr_hist_init(&a, LDR_HIST_FINE_BITS);
    ldr_hist_init(&b, LDR_HIST_COARSE_BITS);
    cr_assert_eq(ldr_hist_quantile(&a, 0.99), 0);
    cr_assert_eq(ldr_hist_mean(&a), 0);
    ldr_hist_record(&b, 5);
    cr_assert_not(ldr_hist_merge(&a, &b), "shapes differ: no merge");
    cr_assert_eq(a.total, 0);
    ldr_hist_free(&a);
    ldr_hist_free(&b);
}

/* Records n values from gen into one histogram and checks the quantiles against the exact ones. */
static void check_distribution(const char *what, uint64_t (*gen)(void))
{
    enum { N = 200000 };
    static const double qs[] = {0.0, 0.1, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0};
    uint64_t *v = malloc(N * sizeof(uint64_t));
    ldr_hist_t h;
    ldr_hist_init(&h, LDR_HIST_FINE_BITS);
    for (size_t i = 0; i < N; i++) {
        v[i] = gen();
        ldr_hist_record(&h, v[i]);
    }
    qsort(v, N, sizeof(uint64_t), cmp_u64);
    cr_assert_eq(h.min, v[0]);
    cr_assert_eq(h.max, v[N - 1]);
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        double want = (double)exact(v, N, qs[k]), got = (double)ldr_hist_quantile(&h, qs[k]);
        double err = want > 0 ? fabs(got - want) / want : fabs(got - want);
        cr_assert(err <= 1.0 / 256 + 1e-12, "%s q=%g: %.0f against exact %.0f (%.3f %%)", what,
                  qs[k], got, want, err * 100);
    }
    ldr_hist_free(&h);
    free(v);
}

static uint64_t uniform_us_to_10s(void)
{
    return 1000 + rnd() % 10000000000ull;
}
static uint64_t log_uniform(void)
{
    return (uint64_t)exp(log(500.0) + unit() * (log(3e11) - log(500.0)));
}
static uint64_t pareto(void) /* a heavy tail: latencies with rare stalls */
{
    return (uint64_t)(200000.0 / pow(1.0 - unit(), 1.0 / 1.2));
}

Test(hist, quantiles_within_bound_uniform)
{
    check_distribution("uniform", uniform_us_to_10s);
}
Test(hist, quantiles_within_bound_log_uniform)
{
    check_distribution("log-uniform", log_uniform);
}
Test(hist, quantiles_within_bound_heavy_tail)
{
    check_distribution("pareto", pareto);
}

Test(hist, merge_equals_one_histogram)
{
    ldr_hist_t all, part[4], merged;
    ldr_hist_init(&all, LDR_HIST_FINE_BITS);
    ldr_hist_init(&merged, LDR_HIST_FINE_BITS);
    for (int t = 0; t < 4; t++)
        ldr_hist_init(&part[t], LDR_HIST_FINE_BITS);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = log_uniform();
        ldr_hist_record(&all, v);
        ldr_hist_record(&part[rnd() % 4], v);
    }
    for (int t = 0; t < 4; t++)
        cr_assert(ldr_hist_merge(&merged, &part[t]));
    cr_assert_eq(merged.total, all.total);
    cr_assert_eq(merged.min, all.min);
    cr_assert_eq(merged.max, all.max);
    for (uint32_t i = 0; i < all.nbuckets; i++)
        cr_assert_eq(merged.counts[i], all.counts[i], "bucket %u", i);
    for (double q = 0.01; q < 1; q += 0.01)
        cr_assert_eq(ldr_hist_quantile(&merged, q), ldr_hist_quantile(&all, q));
    for (int t = 0; t < 4; t++)
        ldr_hist_free(&part[t]);
    ldr_hist_free(&all);
    ldr_hist_free(&merged);
}
