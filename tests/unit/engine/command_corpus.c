/*
 * Replays the committed seed corpus of the command fuzz target (tests/fuzz/corpus/command/)
 * through the target itself, so `make check` and `make asan` run its checks on every seed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>

static const char *corpus_file = "?";

static void command_corpus_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void command_corpus_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cr_assert_fail("%s: %s", corpus_file, msg);
}

#define LLVMFuzzerTestOneInput ldr_test_command_fuzz_one
#define LDR_FUZZ_FAIL(...)     command_corpus_fail(__VA_ARGS__)
#include "../../fuzz/command_fuzz.c"

#define CORPUS_DIR "tests/fuzz/corpus/command"

Test(command_corpus, every_seed_replays_through_the_fuzz_target)
{
    DIR *d = opendir(CORPUS_DIR);
    cr_assert_not_null(d, "%s not found: run the tests from the repository root", CORPUS_DIR);
    unsigned seeds = 0, decoded = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        corpus_file = e->d_name;
        ldr_test_command_fuzz_one(buf, n);
        ldr_cmd_t c;
        static ldr_cmd_line_t seed_lines[LDR_RESERVE_LINES_MAX];
        decoded += n >= 2 && ldr_cmd_decode((uint16_t)(buf[0] | buf[1] << 8), buf + 2, n - 2, &c,
                                            seed_lines) == LDR_OK;
        seeds++;
    }
    closedir(d);
    cr_assert_geq(seeds, 15, "only %u seeds in %s", seeds, CORPUS_DIR);
    cr_assert(decoded >= 12 && seeds - decoded >= 2, "seeds should mix valid (%u) and invalid",
              decoded);
}
