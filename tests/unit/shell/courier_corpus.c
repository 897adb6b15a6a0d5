/*
 * Replays the committed seed corpus of the courier fuzz target (tests/fuzz/corpus/courier/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed (the
 * adapters come from the library here, not included as in the fuzz build).
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_courier_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#define LDR_FUZZ_LINKED
#include "../../fuzz/courier_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/courier"

static unsigned grab_ok, vtp_ok;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_courier_fuzz_one(buf, n);
    if (n == 0)
        return;
    const char *p = (const char *)buf + 1, *nl = memchr(p, '\n', n - 1);
    if (nl == NULL)
        return;
    const char *body = nl + 1;
    size_t blen = n - 1 - (size_t)(nl - p) - 1;
    ldr_delivery_event_t ev;
    grab_ok += ldr_courier_webhook(&fz_grab, p, (size_t)(nl - p), body, blen, &ev) == LDR_OK &&
               ev.status != 0;
    vtp_ok += ldr_courier_webhook(&fz_vtp, NULL, 0, body, blen, &ev) == LDR_OK && ev.status != 0;
}

Test(courier_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 6, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(grab_ok >= 1 && vtp_ok >= 1,
              "the seeds should hold a good Grab webhook (%u) and a good ViettelPost one (%u)",
              grab_ok, vtp_ok);
}
