/*
 * Replays the committed seed corpus of the WAL recovery fuzz target (tests/fuzz/corpus/wal/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed.
 */
#include "../corpus_replay.h"

#define LDR_FUZZ_LINKED        /* tests/sim/disk.c is linked into the test binary */
#define LLVMFuzzerTestOneInput ldr_test_wal_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#include "../../fuzz/wal_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/wal"

static unsigned opened, corrupt;

static void replay(const uint8_t *buf, size_t n)
{
    wf_last_rc = -1;
    ldr_test_wal_fuzz_one(buf, n);
    opened += wf_last_rc == LDR_OK;
    corrupt += wf_last_rc == LDR_ECORRUPT;
}

Test(wal_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 10, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(opened >= 4 && corrupt >= 1,
              "seeds should mix logs that open (%u) and corrupt ones (%u)", opened, corrupt);
}
