/*
 * Replays the committed seed corpus of the JWT fuzz target (tests/fuzz/corpus/jwt/) through the
 * target itself, so `make check` and `make asan` run its checks on every seed (auth.c comes from
 * the library here, not included as in the fuzz build).
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_jwt_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#define LDR_FUZZ_LINKED
#include "../../fuzz/jwt_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/jwt"

static unsigned accepted;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_jwt_fuzz_one(buf, n);
    ldr_principal_t p;
    if (n > 1 && buf[0] < 128)
        accepted +=
            ldr_token_verify(fz_auth(), (const char *)buf + 1, n - 1, FZ_JWT_NOW, &p) == LDR_OK;
}

Test(jwt_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 10, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert_eq(accepted, 1, "exactly one seed token is good: %u accepted", accepted);
}
