/* Unit tests for engine/intern.c: dense, stable ids; find vs put; growth; owned copies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "larder/intern.h"

#include "../unit_helpers.h"

static uint32_t put(ldr_intern_t *t, const char *s)
{
    return ldr_intern_put(t, s, strlen(s));
}
static uint32_t find(const ldr_intern_t *t, const char *s)
{
    return ldr_intern_find(t, s, strlen(s));
}

Test(intern, empty_table_finds_nothing)
{
    ldr_intern_t t;
    ldr_intern_init(&t);
    cr_assert_eq(ldr_intern_count(&t), 0);
    cr_assert_eq(find(&t, "produce"), UINT32_MAX);
    cr_assert_eq(find(&t, ""), UINT32_MAX);
    ldr_intern_free(&t);
    ldr_intern_free(&t); /* free leaves an empty table that can be freed again */
    cr_assert_eq(ldr_intern_count(&t), 0);
}

Test(intern, ids_are_dense_and_stable)
{
    ldr_intern_t t;
    ldr_intern_init(&t);
    cr_assert_eq(put(&t, "produce/vegetables"), 0);
    cr_assert_eq(put(&t, "dairy"), 1);
    cr_assert_eq(put(&t, "bakery"), 2);
    cr_assert_eq(put(&t, "dairy"), 1, "putting an existing string returns its id");
    cr_assert_eq(put(&t, "produce/vegetables"), 0);
    cr_assert_eq(ldr_intern_count(&t), 3, "re-puts add nothing");
    cr_assert_eq(put(&t, "frozen"), 3);
    cr_assert_eq(find(&t, "bakery"), 2);
    cr_assert(ldr_test_str_is(ldr_intern_str(&t, 0), "produce/vegetables"));
    cr_assert(ldr_test_str_is(ldr_intern_str(&t, 3), "frozen"));
    ldr_intern_free(&t);
}

Test(intern, find_does_not_add)
{
    ldr_intern_t t;
    ldr_intern_init(&t);
    put(&t, "a");
    cr_assert_eq(find(&t, "b"), UINT32_MAX);
    cr_assert_eq(ldr_intern_count(&t), 1);
    cr_assert_eq(put(&t, "b"), 1, "the id find did not hand out is the next one");
    ldr_intern_free(&t);
}

Test(intern, lengths_matter_not_nul_termination)
{
    ldr_intern_t t;
    ldr_intern_init(&t);
    const char *s = "organic-food";
    uint32_t a = ldr_intern_put(&t, s, 7); /* "organic" */
    uint32_t b = ldr_intern_put(&t, s, 12);
    uint32_t e = ldr_intern_put(&t, s, 0); /* the empty string is a string like any other */
    cr_assert_neq(a, b);
    cr_assert_neq(a, e);
    cr_assert_neq(b, e);
    cr_assert_eq(find(&t, "organic"), a);
    cr_assert_eq(find(&t, "organic-food"), b);
    cr_assert_eq(find(&t, ""), e);
    cr_assert_eq(find(&t, "organi"), UINT32_MAX);
    cr_assert_eq(find(&t, "Organic"), UINT32_MAX, "case-sensitive");
    ldr_str_t sa = ldr_intern_str(&t, a);
    cr_assert_eq(sa.len, 7);
    cr_assert_eq(sa.ptr[7], '\0', "stored strings are NUL-terminated copies");
    cr_assert(ldr_test_str_is(ldr_intern_str(&t, e), ""));
    ldr_intern_free(&t);
}

Test(intern, strings_are_copied)
{
    ldr_intern_t t;
    ldr_intern_init(&t);
    char tmp[16];
    snprintf(tmp, sizeof(tmp), "brand-x");
    uint32_t id = ldr_intern_put(&t, tmp, strlen(tmp));
    const char *stored = ldr_intern_str(&t, id).ptr;
    cr_assert_neq(stored, tmp, "the table keeps its own copy");
    memset(tmp, 'Z', 7);
    cr_assert(ldr_test_str_is(ldr_intern_str(&t, id), "brand-x"));
    cr_assert_eq(find(&t, "brand-x"), id);
    ldr_intern_free(&t);
}

Test(intern, growth_past_thousands_keeps_ids_and_pointers)
{
    enum { N = 5000 };
    ldr_intern_t t;
    ldr_intern_init(&t);
    const char *first = NULL;
    char s[32];
    for (uint32_t i = 0; i < N; i++) {
        int n = snprintf(s, sizeof(s), "tag-%u", i * 7919u);
        cr_assert_eq(ldr_intern_put(&t, s, (size_t)n), i, "put #%u", i);
        if (i == 0)
            first = ldr_intern_str(&t, 0).ptr;
    }
    cr_assert_eq(ldr_intern_count(&t), N);
    cr_assert_eq(ldr_intern_str(&t, 0).ptr, first, "string storage never moves on growth");
    for (uint32_t i = 0; i < N; i++) {
        int n = snprintf(s, sizeof(s), "tag-%u", i * 7919u);
        cr_assert_eq(ldr_intern_find(&t, s, (size_t)n), i, "find %s after growth", s);
        cr_assert(ldr_test_str_is(ldr_intern_str(&t, i), s));
        cr_assert_eq(ldr_intern_put(&t, s, (size_t)n), i, "re-put %s", s);
    }
    cr_assert_eq(ldr_intern_count(&t), N);
    for (uint32_t i = 0; i < 100; i++) {
        int n = snprintf(s, sizeof(s), "missing-%u", i);
        cr_assert_eq(ldr_intern_find(&t, s, (size_t)n), UINT32_MAX);
    }
    ldr_intern_free(&t);
}

Test(intern, hash_is_deterministic)
{
    cr_assert_eq(ldr_hash("abc", 3), ldr_hash("abc", 3));
    cr_assert_neq(ldr_hash("abc", 3), ldr_hash("abd", 3));
    cr_assert_neq(ldr_hash("abc", 3), ldr_hash("abc", 2));
}
