/*
 * Replays the committed seed corpus of the JSON fuzz target (tests/fuzz/corpus/json/) through the
 * fuzz target itself, so `make check` and `make asan` run its round-trip and invariant checks on
 * every seed without clang or libFuzzer.  The target is included with its entry point renamed;
 * nothing under tests/fuzz/ is otherwise linked into the test binary.
 */
#include "../corpus_replay.h"

#define LLVMFuzzerTestOneInput ldr_test_json_fuzz_one
#define LDR_FUZZ_FAIL(...)     LDR_TEST_CORPUS_FAIL(__VA_ARGS__)
#include "../../fuzz/json_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/json"

static unsigned valid;

static void replay(const uint8_t *buf, size_t n)
{
    ldr_test_json_fuzz_one(buf, n);
    ldr_json_tok_t toks[4096];
    ldr_json_t doc;
    ldr_json_err_t err;
    valid += ldr_json_parse(&doc, (const char *)buf, n, toks, 4096, &err) == LDR_OK;
}

Test(json_corpus, every_seed_replays_through_the_fuzz_target)
{
    unsigned seeds = ldr_test_corpus_each(CORPUS_DIR, replay);
    cr_assert_geq(seeds, 20, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(valid >= 5 && seeds - valid >= 5, "seeds should mix valid (%u) and invalid (%u)",
              valid, seeds - valid);
}
