/*
 * Helpers shared by the unit tests (tests/unit/...): a reject callback that records every rejected
 * line of a JSON Lines load, and comparisons for ldr_str_t.  Everything is static inline so each
 * test file stays self-contained under -Wmissing-prototypes.
 */
#ifndef LARDER_TESTS_UNIT_HELPERS_H
#define LARDER_TESTS_UNIT_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "larder/common.h"

#define LDR_TEST_MAX_REJECTS 64

/** What a load rejected: line numbers and copies of the messages, in callback order. */
typedef struct ldr_test_rejects {
    uint32_t count; /* calls seen, even past LDR_TEST_MAX_REJECTS */
    uint64_t line[LDR_TEST_MAX_REJECTS];
    char message[LDR_TEST_MAX_REJECTS][256];
} ldr_test_rejects_t;

/** An ldr_reject_cb; ctx is an ldr_test_rejects_t (zero it before the load). */
static inline void ldr_test_reject_cb(void *ctx, uint64_t line, const char *message)
{
    ldr_test_rejects_t *r = ctx;
    if (r->count < LDR_TEST_MAX_REJECTS) {
        r->line[r->count] = line;
        snprintf(r->message[r->count], sizeof(r->message[0]), "%s", message);
    }
    r->count++;
}

/** True if the i-th rejected message contains `needle`. */
static inline bool ldr_test_reject_has(const ldr_test_rejects_t *r, uint32_t i, const char *needle)
{
    return i < r->count && i < LDR_TEST_MAX_REJECTS && strstr(r->message[i], needle) != NULL;
}

/** True if s holds exactly the NUL-terminated string `want` (NULL matches an absent string). */
static inline bool ldr_test_str_is(ldr_str_t s, const char *want)
{
    if (want == NULL)
        return s.ptr == NULL && s.len == 0;
    return s.ptr != NULL && ldr_str_eq(s, want, strlen(want));
}

/** A printable copy of s for assertion messages (static storage, overwritten by the next call). */
static inline const char *ldr_test_str_show(ldr_str_t s)
{
    static char tmp[512];
    if (s.ptr == NULL)
        return "(absent)";
    snprintf(tmp, sizeof(tmp), "%.*s", (int)s.len, s.ptr);
    return tmp;
}

#endif
