/*
 * Log-linear histograms: the layout is the essay in hist.h.  Bucket i < 2^(S+1) holds the value i;
 * above, bucket 2^(S+1) + (e - S - 1) * 2^S + (m - 2^S) holds the values whose top bit is e and
 * whose next S bits are m - 2^S (m = v >> (e - S), in [2^S, 2^(S+1))).
 */
#include "hist.h"

#include <stdlib.h>
#include <string.h>

#include "larder/common.h"

static uint32_t ldr__hist_nbuckets(uint32_t s)
{
    return (2u << s) + (LDR_HIST_TOP_EXP - s) * (1u << s);
}

uint32_t ldr_hist_bucket(uint32_t s, uint64_t v)
{
    if (v < (2ull << s))
        return (uint32_t)v;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(v);
    if (e >= LDR_HIST_TOP_EXP)
        return ldr__hist_nbuckets(s) - 1;
    uint64_t m = v >> (e - s);
    return (2u << s) + (e - s - 1) * (1u << s) + (uint32_t)(m - (1ull << s));
}

void ldr_hist_bucket_range(uint32_t s, uint32_t i, uint64_t *lo, uint64_t *width)
{
    if (i < (2u << s)) {
        *lo = i;
        *width = 1;
        return;
    }
    uint32_t k = i - (2u << s), e = k / (1u << s) + s + 1, m = k % (1u << s) + (1u << s);
    *width = 1ull << (e - s);
    *lo = (uint64_t)m << (e - s);
}

void ldr_hist_init(ldr_hist_t *h, uint32_t sub_bits)
{
    if (sub_bits < 1)
        sub_bits = 1;
    if (sub_bits > 12)
        sub_bits = 12;
    h->sub_bits = sub_bits;
    h->nbuckets = ldr__hist_nbuckets(sub_bits);
    h->counts = ldr_calloc(h->nbuckets, sizeof(uint64_t));
    h->total = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->sum = 0;
}

void ldr_hist_free(ldr_hist_t *h)
{
    ldr_free(h->counts);
    memset(h, 0, sizeof(*h));
}

void ldr_hist_reset(ldr_hist_t *h)
{
    memset(h->counts, 0, h->nbuckets * sizeof(uint64_t));
    h->total = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->sum = 0;
}

void ldr_hist_record(ldr_hist_t *h, uint64_t v)
{
    h->counts[ldr_hist_bucket(h->sub_bits, v)]++;
    h->total++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

bool ldr_hist_merge(ldr_hist_t *dst, const ldr_hist_t *src)
{
    if (dst->sub_bits != src->sub_bits || dst->nbuckets != src->nbuckets)
        return false;
    for (uint32_t i = 0; i < dst->nbuckets; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return true;
}

uint64_t ldr_hist_quantile(const ldr_hist_t *h, double q)
{
    if (h->total == 0)
        return 0;
    if (q >= 1.0)
        return h->max;
    if (q < 0)
        q = 0;
    uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < h->nbuckets; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, width;
            ldr_hist_bucket_range(h->sub_bits, i, &lo, &width);
            uint64_t v = lo + width / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}

double ldr_hist_mean(const ldr_hist_t *h)
{
    return h->total == 0 ? 0 : h->sum / (double)h->total;
}
