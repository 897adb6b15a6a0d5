/*
 * larder-bench — log-linear latency histograms with a bounded relative error.
 *
 * A value v (nanoseconds, or any non-negative integer) falls in one bucket.  Below 2^(S+1), where
 * S is the number of sub-bucket bits, every value has a bucket of its own.  Above, the range
 * [2^e, 2^(e+1)) of each power of two is cut into 2^S equal buckets, each 2^(e-S) wide: a bucket's
 * width is at most 2^-S of its lower bound.  A quantile is answered as the middle of its bucket
 * (clamped to the largest value recorded), so it lies within 2^-(S+1) of some recorded value of
 * the right rank: with S = 7, 0.4 %; the report's figures are good to 1 % by construction.  This
 * is HdrHistogram's layout (Gil Tene) in its simplest form.
 *
 * Histograms of the same shape merge by adding counts, so each load thread records into its own
 * and the report adds them up.
 *
 * Threads: a histogram is not synchronised; one writer, or readers only.
 */
#ifndef LARDER_BENCH_HIST_H
#define LARDER_BENCH_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Sub-bucket bits of the fine histograms: relative bucket width 1/128. */
#define LDR_HIST_FINE_BITS 7
/** Sub-bucket bits of the coarse per-window histograms: relative bucket width 1/32. */
#define LDR_HIST_COARSE_BITS 5
/** The largest power of two tracked: values at or above 2^LDR_HIST_TOP_EXP count in the last
 *  bucket (2^40 ns is 18 minutes). */
#define LDR_HIST_TOP_EXP 40

typedef struct ldr_hist {
    uint32_t sub_bits; /* S */
    uint32_t nbuckets;
    uint64_t *counts;
    uint64_t total;
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    double sum;        /* for the mean */
} ldr_hist_t;

/** Makes an empty histogram with sub_bits (1..12) sub-bucket bits.  Aborts when out of memory. */
void ldr_hist_init(ldr_hist_t *h, uint32_t sub_bits);
/** Frees its buckets; the histogram may be initialised again. */
void ldr_hist_free(ldr_hist_t *h);
/** Forgets every value. */
void ldr_hist_reset(ldr_hist_t *h);
/** Counts value v once. */
void ldr_hist_record(ldr_hist_t *h, uint64_t v);
/** Adds every count of src to dst.  Returns false (and changes nothing) when their shapes differ.
 */
bool ldr_hist_merge(ldr_hist_t *dst, const ldr_hist_t *src);
/**
 * The value at quantile q (0..1): the middle of the bucket that holds the ceil(q * total)-th
 * smallest value, clamped to [min, max]; q >= 1 gives max exactly.  0 when empty.
 */
uint64_t ldr_hist_quantile(const ldr_hist_t *h, double q);
/** The mean of the recorded values, 0 when empty. */
double ldr_hist_mean(const ldr_hist_t *h);

/** The bucket index of v for sub_bits S (exposed for the tests). */
uint32_t ldr_hist_bucket(uint32_t sub_bits, uint64_t v);
/** The lowest value of bucket i and its width, for sub_bits S. */
void ldr_hist_bucket_range(uint32_t sub_bits, uint32_t i, uint64_t *lo, uint64_t *width);

#endif
