/*
 * Replays the committed seed corpus of the snapshot fuzz target (tests/fuzz/corpus/snapshot/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed.
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_snapshot_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#include "../../fuzz/snapshot_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/snapshot"

static unsigned loaded;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_snapshot_fuzz_one(buf, n);
    ldr_state_t s = sf_state();
    char err[256];
    loaded += ldr_snapshot_decode(buf, n, sf_catalog(), &s, NULL, err, sizeof(err)) == LDR_OK;
    sf_free(&s);
}

Test(snapshot_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 6, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(loaded >= 4 && seeds - loaded >= 2, "seeds should mix valid (%u) and invalid",
              loaded);
}
