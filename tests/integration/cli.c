/* The `larder` command line: help, usage errors (exit 2), gen-catalog determinism, --demo. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../helpers.h"

TestSuite(cli, .timeout = 120);

static void expect(int want, const char *const *args, const char *in_out, const char *in_err)
{
    char *out, *err;
    int rc = ldr_test_run(args, &out, &err);
    cr_assert_eq(rc, want, "larder %s ...: exit %d, want %d\nstdout: %s\nstderr: %s", args[0], rc,
                 want, out, err);
    if (in_out != NULL)
        cr_assert(strstr(out, in_out) != NULL, "stdout lacks \"%s\": %s", in_out, out);
    if (in_err != NULL)
        cr_assert(strstr(err, in_err) != NULL, "stderr lacks \"%s\": %s", in_err, err);
    free(out);
    free(err);
}

Test(cli, help_for_every_command)
{
    expect(0, (const char *[]){"--help", NULL}, "serve", NULL);
    expect(0, (const char *[]){"serve", "--help", NULL}, "--listen", NULL);
    expect(0, (const char *[]){"serve", "--help", NULL}, "--data-dir", NULL);
    expect(0, (const char *[]){"gen-catalog", "--help", NULL}, "--skus", NULL);
    expect(0, (const char *[]){"version", "--help", NULL}, "usage", NULL);
    expect(0, (const char *[]){"version", NULL}, "larder 0.", NULL);
}

Test(cli, usage_errors_exit_2)
{
    expect(2, (const char *[]){NULL}, NULL, "usage");
    expect(2, (const char *[]){"frobnicate", NULL}, NULL, "unknown command");
    expect(2, (const char *[]){"serve", "--bogus", NULL}, NULL, "--bogus");
    expect(2, (const char *[]){"serve", "--listen", NULL}, NULL, "--listen");
    expect(2, (const char *[]){"serve", NULL}, NULL, "--demo or --catalog");
    expect(2, (const char *[]){"serve", "--demo", "--catalog", "x.jsonl", NULL}, NULL, "exclude");
    expect(2, (const char *[]){"serve", "--demo", "--listen", "nonsense", NULL}, NULL, "nonsense");
    expect(2, (const char *[]){"serve", "--demo", "--listen", "127.0.0.1:99999", NULL}, NULL,
           "listen");
    expect(2, (const char *[]){"serve", "--catalog", "/nonexistent/c.jsonl", NULL}, NULL,
           "/nonexistent/c.jsonl");
    expect(2, (const char *[]){"gen-catalog", "--skus", "abc", NULL}, NULL, "--skus");
    expect(2, (const char *[]){"gen-catalog", "--skus", "0", NULL}, NULL, "--skus");
    expect(2, (const char *[]){"gen-catalog", "--skus", "-5", NULL}, NULL, "--skus");
    expect(2, (const char *[]){"gen-catalog", "--stores", "1001", NULL}, NULL, "--stores");
    expect(2, (const char *[]){"gen-catalog", "--seed", "1x", NULL}, NULL, "--seed");
    expect(2, (const char *[]){"gen-catalog", "--today", "2026-13-01", NULL}, NULL, "--today");
    expect(2, (const char *[]){"version", "extra", NULL}, NULL, "extra");
}

Test(cli, bad_search_cache_setting_exits_2)
{
    setenv("LARDER_SEARCH_CACHE", "lots", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_SEARCH_CACHE");
    unsetenv("LARDER_SEARCH_CACHE");
}

Test(cli, bad_thread_and_snapshot_settings_exit_2)
{
    setenv("LARDER_THREADS", "0", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_THREADS");
    setenv("LARDER_THREADS", "65", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_THREADS");
    unsetenv("LARDER_THREADS");
    setenv("LARDER_LOOP_SCHED", "fifo", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_LOOP_SCHED");
    unsetenv("LARDER_LOOP_SCHED");
    setenv("LARDER_LOG_LEVEL", "chatty", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_LOG_LEVEL");
    unsetenv("LARDER_LOG_LEVEL");
    setenv("LARDER_SNAPSHOT_RECORDS", "-1", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_SNAPSHOT_RECORDS");
    unsetenv("LARDER_SNAPSHOT_RECORDS");
    setenv("LARDER_JWT_SECRET", "short", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "LARDER_JWT_SECRET");
    unsetenv("LARDER_JWT_SECRET");
    /* outside the demo a secret is required */
    expect(2, (const char *[]){"serve", "--catalog", "/dev/null", NULL}, NULL,
           "LARDER_JWT_SECRET is not set");
}

Test(cli, environment_gives_listen_and_flag_wins)
{
    /* a bad LARDER_LISTEN is reported; a flag overrides it */
    setenv("LARDER_LISTEN", "not-an-address", 1);
    expect(2, (const char *[]){"serve", "--demo", NULL}, NULL, "not-an-address");
    char *dir = ldr_test_tmpdir();
    char cat[512];
    snprintf(cat, sizeof(cat), "%s/c.jsonl", dir);
    FILE *f = fopen(cat, "w");
    fputs("{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce/fruits\","
          "\"price\":1000}\n",
          f);
    fclose(f);
    char data[512];
    snprintf(data, sizeof(data), "%s/data", dir);
    ldr_test_server_t s;
    const char *args[] = {"--catalog", cat, "--data-dir", data, NULL};
    cr_assert_eq(ldr_test_server_start(&s, args, 1), 0); /* --listen 127.0.0.1:0 wins */
    unsetenv("LARDER_LISTEN");
    cr_assert_eq(ldr_test_server_stop(&s), 0);
    struct stat sb;
    cr_assert_eq(stat(data, &sb), 0, "the data dir was not created");
    ldr_test_rmtree(dir);
    free(dir);
}

static char *gen(const char *seed)
{
    char *out;
    int rc = ldr_test_run((const char *[]){"gen-catalog", "--skus", "500", "--seed", seed,
                                           "--today", "2026-11-25", NULL},
                          &out, NULL);
    cr_assert_eq(rc, 0);
    return out;
}

Test(cli, gen_catalog_is_deterministic)
{
    char *a = gen("5"), *b = gen("5"), *c = gen("6");
    cr_assert_str_eq(a, b, "the same seed gave different catalogs");
    cr_assert_str_neq(a, c, "different seeds gave the same catalog");
    size_t lines = 0;
    for (char *line = a, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1, lines++) {
        json_error_t e;
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, &e);
        cr_assert_not_null(j, "line %zu is not JSON: %s", lines + 1, e.text);
        json_decref(j);
    }
    cr_assert_eq(lines, 500);
    free(a), free(b), free(c);
}

Test(cli, gen_catalog_out_dir_then_serve_it)
{
    char *dir = ldr_test_tmpdir();
    char out[512], cat[600], stock[600];
    snprintf(out, sizeof(out), "%s/gen", dir);
    expect(0,
           (const char *[]){"gen-catalog", "--skus", "3000", "--seed", "9", "--stores", "4",
                            "--out", out, NULL},
           NULL, NULL);
    snprintf(cat, sizeof(cat), "%s/catalog.jsonl", out);
    snprintf(stock, sizeof(stock), "%s/stock.jsonl", out);
    ldr_test_server_t s;
    const char *args[] = {"--catalog", cat, "--stock", stock, "--data-dir", dir, NULL};
    cr_assert_eq(ldr_test_server_start(&s, args, 1), 0);
    char url[256];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/readyz", s.base);
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0);
    cr_assert(strstr(r.body, "\"products\":3000,\"stores\":4") != NULL, "%s", r.body);
    ldr_test_resp_free(&r);
    cr_assert_eq(ldr_test_server_stop(&s), 0);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(cli, serve_demo_generates_then_reuses)
{
    char *dir = ldr_test_tmpdir();
    ldr_test_server_t s;
    const char *args[] = {"--demo", "--data-dir", dir, NULL};
    for (int round = 0; round < 2; round++) {
        char cat[512];
        struct stat before = {0}, after;
        snprintf(cat, sizeof(cat), "%s/catalog.jsonl", dir);
        stat(cat, &before);
        cr_assert_eq(ldr_test_server_start(&s, args, 1), 0, "round %d", round);
        char url[256];
        ldr_test_resp_t r;
        snprintf(url, sizeof(url), "%s/readyz", s.base);
        cr_assert_eq(ldr_test_http(LDR_TEST_H2_PRIOR, "GET", url, NULL, &r), 0);
        cr_assert(strstr(r.body, "\"products\":50000,\"stores\":3") != NULL, "%s", r.body);
        ldr_test_resp_free(&r);
        cr_assert_eq(ldr_test_server_stop(&s), 0);
        cr_assert_eq(stat(cat, &after), 0);
        if (round == 1)
            cr_assert_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec, "demo catalog rewritten");
    }
    ldr_test_rmtree(dir);
    free(dir);
}
