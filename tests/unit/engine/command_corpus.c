/*
 * Replays the committed seed corpus of the command fuzz target (tests/fuzz/corpus/command/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed.
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_command_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#include "../../fuzz/command_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/command"

static unsigned decoded;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_command_fuzz_one(buf, n);
    ldr_cmd_t c;
    static ldr_cmd_line_t seed_lines[LDR_RESERVE_LINES_MAX];
    decoded += n >= 2 && ldr_cmd_decode((uint16_t)(buf[0] | buf[1] << 8), buf + 2, n - 2, &c,
                                        seed_lines) == LDR_OK;
}

Test(command_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 15, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(decoded >= 12 && seeds - decoded >= 2, "seeds should mix valid (%u) and invalid",
              decoded);
}
