/*
 * Replays the committed seed corpus of the webhook fuzz target (tests/fuzz/corpus/webhook/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed (the
 * adapters come from the library here, not included as in the fuzz build).
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_webhook_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#define LDR_FUZZ_LINKED
#include "../../fuzz/webhook_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/webhook"

static unsigned momo_ok, stripe_ok;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_webhook_fuzz_one(buf, n);
    const char *p = (const char *)buf, *nl = memchr(p, '\n', n);
    if (nl == NULL)
        return;
    ldr_momo_ipn_t ipn;
    momo_ok += ldr_momo_ipn(ldr_momo(), nl + 1, n - (size_t)(nl - p) - 1, &ipn) == LDR_OK;
    stripe_ok += ldr_stripe_verify(FZ_SECRET, p, (size_t)(nl - p), nl + 1, n - (size_t)(nl - p) - 1,
                                   FZ_NOW) == LDR_OK;
}

Test(webhook_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 6, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(momo_ok >= 1 && stripe_ok >= 1,
              "the seeds should hold a good IPN (%u) and a good Stripe signature (%u)", momo_ok,
              stripe_ok);
}
