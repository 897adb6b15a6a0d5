/*
 * `larder token`: the printed token verifies under the same secret (and only that one), and bad
 * usage — no secret, a short one, a bad role, a missing or bad option — exits 2 naming the problem.
 * Each Criterion test runs in its own process, so setting LARDER_JWT_SECRET here reaches only the
 * commands that test runs.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../helpers.h"
#include "larder/auth.h"

#define SECRET "integration-secret-0123456789abcdef"

static int run(const char *const *args, char **out, char **err)
{
    return ldr_test_run(args, out, err);
}

/* Runs `larder token ARGS...` expecting success; returns the token (malloc'ed, no newline). */
static char *token(const char *const *args)
{
    char *out, *err;
    int rc = run(args, &out, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    cr_assert_str_eq(err, "");
    size_t n = strlen(out);
    cr_assert(n > 1 && out[n - 1] == '\n', "\"%s\"", out);
    out[n - 1] = '\0';
    cr_assert_null(strchr(out, '\n'), "one line: \"%s\"", out);
    free(err);
    return out;
}

/* Asserts that `larder token ARGS...` exits 2 with `needle` on stderr and nothing on stdout. */
static void usage_error(const char *const *args, const char *needle)
{
    char *out, *err;
    int rc = run(args, &out, &err);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert_str_eq(out, "");
    cr_assert(strstr(err, needle) != NULL, "stderr lacks \"%s\": %s", needle, err);
    cr_assert(strstr(err, "larder token") != NULL, "%s", err);
    free(out), free(err);
}

Test(token_cli, prints_a_token_the_server_accepts)
{
    cr_assert_eq(setenv("LARDER_JWT_SECRET", SECRET, 1), 0);
    ldr_auth_t *a, *other;
    cr_assert_eq(ldr_auth_new(SECRET, strlen(SECRET), &a), LDR_OK);
    cr_assert_eq(ldr_auth_new("another-secret-0123456789abcdefgh", 33, &other), LDR_OK);
    static const struct {
        const char *role;
        ldr_role_t want;
    } roles[] = {
        {"customer", LDR_ROLE_CUSTOMER}, {"admin", LDR_ROLE_ADMIN}, {"service", LDR_ROLE_SERVICE}};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(roles); i++) {
        int64_t before = (int64_t)time(NULL);
        char *tok =
            token((const char *[]){"token", "--role", roles[i].role, "--sub", "usr-7", NULL});
        int64_t after = (int64_t)time(NULL);
        ldr_principal_t p;
        const char *why = NULL;
        int rc = ldr_token_verify_why(a, tok, strlen(tok), after, &p, &why);
        cr_assert_eq(rc, LDR_OK, "%s: %s", tok, why);
        cr_assert_eq(p.role, roles[i].want);
        cr_assert_str_eq(p.sub, "usr-7");
        cr_assert(p.exp >= before + 3600 && p.exp <= after + 3600, "default ttl: exp %lld",
                  (long long)p.exp);
        cr_assert_eq(ldr_token_verify(other, tok, strlen(tok), after, &p), LDR_EAUTH);
        cr_assert_eq(ldr_token_verify(a, tok, strlen(tok), after + 3601, &p), LDR_EAUTH);
        free(tok);
    }
    /* --ttl, options in any order, and the ttl bounds */
    int64_t before = (int64_t)time(NULL);
    char *tok = token(
        (const char *[]){"token", "--ttl", "120", "--sub", "svc-pay", "--role", "service", NULL});
    ldr_principal_t p;
    cr_assert_eq(ldr_token_verify(a, tok, strlen(tok), before, &p), LDR_OK);
    cr_assert(p.exp >= before + 120 && p.exp <= before + 122, "exp %lld", (long long)p.exp);
    free(tok);
    tok = token((const char *[]){"token", "--role", "admin", "--sub", "a", "--ttl", "1", NULL});
    free(tok);
    tok = token(
        (const char *[]){"token", "--role", "admin", "--sub", "a", "--ttl", "31536000", NULL});
    cr_assert_eq(ldr_token_verify(a, tok, strlen(tok), before + 31535000, &p), LDR_OK);
    free(tok);
    ldr_auth_free(a), ldr_auth_free(other);
}

Test(token_cli, secret_missing_or_short)
{
    const char *args[] = {"token", "--role", "admin", "--sub", "ops", NULL};
    cr_assert_eq(unsetenv("LARDER_JWT_SECRET"), 0);
    usage_error(args, "LARDER_JWT_SECRET is not set");
    cr_assert_eq(setenv("LARDER_JWT_SECRET", "", 1), 0);
    usage_error(args, "LARDER_JWT_SECRET is not set");
    cr_assert_eq(setenv("LARDER_JWT_SECRET", "0123456789abcdef0123456789abcde", 1), 0);
    usage_error(args, "LARDER_JWT_SECRET is 31 bytes");
    /* exactly 32 is enough */
    cr_assert_eq(setenv("LARDER_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1), 0);
    free(token(args));
}

Test(token_cli, bad_usage)
{
    cr_assert_eq(setenv("LARDER_JWT_SECRET", SECRET, 1), 0);
    usage_error((const char *[]){"token", "--role", "root", "--sub", "x", NULL},
                "--role wants customer, admin or service, not \"root\"");
    usage_error((const char *[]){"token", "--role", "Admin", "--sub", "x", NULL}, "--role");
    usage_error((const char *[]){"token", "--sub", "x", NULL}, "missing --role");
    usage_error((const char *[]){"token", "--role", "admin", NULL}, "missing --sub");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "a b", NULL}, "--sub wants");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "", NULL}, "--sub wants");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "x", "--ttl", "0", NULL},
                "--ttl wants 1..31536000 seconds, not \"0\"");
    usage_error(
        (const char *[]){"token", "--role", "admin", "--sub", "x", "--ttl", "31536001", NULL},
        "--ttl wants");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "x", "--ttl", "1h", NULL},
                "--ttl wants");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "x", "--ttl", "-5", NULL},
                "--ttl wants");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "x", "--bogus", NULL},
                "unknown or incomplete option \"--bogus\"");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", NULL},
                "unknown or incomplete option \"--sub\"");
    usage_error((const char *[]){"token", "--role", "admin", "--sub", "x", "extra", NULL},
                "unexpected argument \"extra\"");
}

Test(token_cli, help)
{
    cr_assert_eq(unsetenv("LARDER_JWT_SECRET"), 0);
    char *out, *err;
    cr_assert_eq(run((const char *[]){"token", "--help", NULL}, &out, &err), 0, "%s", err);
    const char *needles[] = {
        "usage: larder token", "--role", "customer",   "admin", "service", "--sub", "--ttl", "3600",
        "LARDER_JWT_SECRET",   "32",     "exit status"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(needles); i++)
        cr_assert(strstr(out, needles[i]) != NULL, "help lacks \"%s\": %s", needles[i], out);
    free(out), free(err);
    cr_assert_eq(run((const char *[]){"token", "-h", NULL}, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "usage: larder token") != NULL);
    free(out), free(err);
}
