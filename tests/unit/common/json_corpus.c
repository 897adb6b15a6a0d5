/*
 * Replays the committed seed corpus of the JSON fuzz target (tests/fuzz/corpus/json/) through the
 * fuzz target itself, so `make check` and `make asan` run its round-trip and invariant checks on
 * every seed without clang or libFuzzer.  The target is included with its entry point renamed;
 * nothing under tests/fuzz/ is otherwise linked into the test binary.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *corpus_file = "?"; /* the seed being replayed, for failure messages */

static void json_corpus_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void json_corpus_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cr_assert_fail("%s: %s", corpus_file, msg);
}

#define LLVMFuzzerTestOneInput ldr_test_json_fuzz_one
#define LDR_FUZZ_FAIL(...)     json_corpus_fail(__VA_ARGS__)
#include "../../fuzz/json_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/json"

Test(json_corpus, every_seed_replays_through_the_fuzz_target)
{
    DIR *d = opendir(CORPUS_DIR);
    cr_assert_not_null(d, "%s not found: run the tests from the repository root", CORPUS_DIR);
    unsigned seeds = 0, valid = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf), f);
        cr_assert(feof(f), "%s is larger than %zu bytes", path, sizeof(buf));
        fclose(f);
        corpus_file = e->d_name;
        ldr_test_json_fuzz_one(buf, n);
        ldr_json_tok_t toks[4096];
        ldr_json_t doc;
        ldr_json_err_t err;
        valid += ldr_json_parse(&doc, (const char *)buf, n, toks, 4096, &err) == LDR_OK;
        seeds++;
    }
    closedir(d);
    cr_assert_geq(seeds, 20, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(valid >= 5 && seeds - valid >= 5, "seeds should mix valid (%u) and invalid (%u)",
              valid, seeds - valid);
}
