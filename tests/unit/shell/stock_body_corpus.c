/*
 * Replays the committed seed corpus of the stock-body fuzz target (tests/fuzz/corpus/stock_body/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed
 * (shell/stock_body.c comes from the library here, not included as in the fuzz build).
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_stock_body_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#define LDR_FUZZ_LINKED
#include "../../fuzz/stock_body_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/stock_body"

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_stock_body_fuzz_one(buf, n);
}

Test(stock_body_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 10, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(sb_accepted[SB_RECEIVE] >= 2 && sb_accepted[SB_ADJUST] >= 2 &&
                  sb_accepted[SB_BATCH] >= 2,
              "the seeds should give each reader two accepted bodies (receive %u, adjust %u, "
              "batch %u)",
              sb_accepted[SB_RECEIVE], sb_accepted[SB_ADJUST], sb_accepted[SB_BATCH]);
}
