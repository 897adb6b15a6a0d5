/*
 * Replaying a fuzz target's committed seed corpus under Criterion.  A test includes this header,
 * then the fuzz target with LLVMFuzzerTestOneInput renamed and LDR_FUZZ_FAIL set to
 * LDR_TEST_CORPUS_FAIL, and walks the corpus with ldr_test_corpus_each().
 */
#ifndef LARDER_TESTS_CORPUS_REPLAY_H
#define LARDER_TESTS_CORPUS_REPLAY_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

static const char *ldr_test_corpus_file = "?"; /* the seed being replayed, for messages */

static void ldr_test_corpus_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void ldr_test_corpus_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cr_assert_fail("%s: %s", ldr_test_corpus_file, msg);
}

#define LDR_TEST_CORPUS_FAIL(...) ldr_test_corpus_fail(__VA_ARGS__)

/** Calls fn for every file of dir (run from the repository root); returns how many. */
static unsigned ldr_test_corpus_each(const char *dir, void (*fn)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s not found: run the tests from the repository root", dir);
    unsigned seeds = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf), f);
        cr_assert(feof(f), "%s is larger than %zu bytes", path, sizeof(buf));
        fclose(f);
        ldr_test_corpus_file = e->d_name;
        fn(buf, n);
        seeds++;
    }
    closedir(d);
    return seeds;
}

#endif
