/*
 * What every fuzz target in tests/fuzz/ shares.  A target defines LDR_FUZZ_NAME ("json_fuzz")
 * and includes this.  A broken property calls LDR_FUZZ_FAIL: under libFuzzer it prints the
 * message and aborts (a crash libFuzzer saves); the seed replays in tests/unit/ define it first,
 * as a Criterion failure naming the seed.
 */
#ifndef LARDER_TESTS_FUZZ_H
#define LARDER_TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef LDR_FUZZ_FAIL
#define LDR_FUZZ_FAIL(...)                                                                         \
    (fprintf(stderr, LDR_FUZZ_NAME ": " __VA_ARGS__), fputc('\n', stderr), abort())
#endif

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            LDR_FUZZ_FAIL(__VA_ARGS__);                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
