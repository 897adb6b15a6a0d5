/*
 * Replays the committed seed corpus of the catalog-and-search fuzz target
 * (tests/fuzz/corpus/catalog/) through the target itself, so `make check` and `make asan` run its
 * checks on every seed.
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_catalog_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#include "../../fuzz/catalog_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/catalog"

static unsigned catalogs, queries;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_catalog_fuzz_one(buf, n);
    if (n > 0)
        *(buf[0] % 2 == 0 ? &catalogs : &queries) += 1;
}

Test(catalog_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 8, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(catalogs >= 3 && queries >= 3, "seeds should hold catalogs (%u) and queries (%u)",
              catalogs, queries);
}
