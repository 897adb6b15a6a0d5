/*
 * larder-bench against a real server: a short `sla` run at a low rate over every endpoint of the
 * workload (checkouts included), over HTTP/1.1 and over HTTP/2 (h2c), writes a report whose
 * results.json counts every endpoint's requests with no error, and the SVG charts; bad usage exits
 * 2 naming the problem.  Timing is never asserted: the run's pass/fail verdict depends on the
 * machine, its counts do not. The harness binary is $LARDER_BENCH_BIN (set by `make check`), else
 * build/larder-bench.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers.h"

static const char *bench_bin(void)
{
    const char *b = getenv("LARDER_BENCH_BIN");
    return b != NULL && b[0] != '\0' ? b : "build/larder-bench";
}

/* Runs larder-bench ARGS... (NULL-terminated); its stdout goes to out_path (NULL: nowhere), its
 * stderr to err_path.  Returns the exit status, or -1. */
static int bench_run_out(const char *const *args, const char *out_path, const char *err_path)
{
    const char *argv[48] = {bench_bin()};
    size_t n = 1;
    for (size_t i = 0; args[i] != NULL && n < 46; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDWR);
        int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
        dup2(null, 0);
        dup2(out, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int bench_run(const char *const *args, const char *err_path)
{
    return bench_run_out(args, NULL, err_path);
}

static void sla_run(bool http2)
{
    setenv("LARDER_JWT_SECRET", LDR_TEST_JWT_SECRET, 1);
    char *dir = ldr_test_tmpdir();
    ldr_test_server_t srv;
    const char *gen[] = {"--skus", "2000", "--seed", "3", "--stores", "2", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0);
    char out[512], cat[512], err[512];
    snprintf(out, sizeof(out), "%s/report", dir);
    snprintf(cat, sizeof(cat), "%s/gen/catalog.jsonl", dir);
    snprintf(err, sizeof(err), "%s/bench.err", dir);
    /* 100 requests/s for 2 s: every endpoint gets some (checkout 1 %: 2 of them) */
    const char *args[] = {
        "sla",       srv.base, "--rate",    "100", "--duration",    "2", "--out",     out,
        "--catalog", cat,      "--threads", "2",   "--connections", "8", "--queries", "200",
        "--timeout", "10",     NULL};
    const char *argv2[24];
    argv2[0] = args[0];
    argv2[1] = "--url";
    size_t n = 2;
    for (size_t i = 1; args[i] != NULL; i++)
        argv2[n++] = args[i];
    if (http2)
        argv2[n++] = "--http2";
    argv2[n] = NULL;
    int rc = bench_run(argv2, err);
    char *errtext = ldr_test_slurp(err, NULL);
    cr_assert(rc == 0 || rc == 1, "exit %d: %s", rc, errtext ? errtext : "");

    char path[600];
    snprintf(path, sizeof(path), "%s/results.json", out);
    json_error_t jerr;
    json_t *res = json_load_file(path, 0, &jerr);
    cr_assert_not_null(res, "results.json: %s", jerr.text);
    json_t *eps = json_object_get(res, "endpoints");
    static const char *const names[] = {"search", "suggest",  "product", "stock",
                                        "cart",   "checkout", "slots",   "stock_write"};
    json_int_t total = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *e = json_object_get(eps, names[i]);
        cr_assert_not_null(e, "endpoint %s missing", names[i]);
        json_int_t req = json_integer_value(json_object_get(e, "requests"));
        json_int_t sched = json_integer_value(json_object_get(e, "scheduled"));
        cr_assert_gt(req, 0, "%s: no request", names[i]);
        cr_assert_eq(req, sched, "%s: every scheduled request is counted once", names[i]);
        cr_assert_eq(json_integer_value(json_object_get(e, "errors")), 0, "%s: %s", names[i],
                     json_string_value(json_object_get(e, "first_error")));
        cr_assert_eq(json_integer_value(json_object_get(e, "timeouts")), 0, "%s", names[i]);
        cr_assert_eq(json_integer_value(json_object_get(e, "ok")), req);
        json_t *lat = json_object_get(e, "latency_ms");
        double p50 = json_real_value(json_object_get(lat, "p50"));
        double p99 = json_real_value(json_object_get(lat, "p99"));
        double mx = json_real_value(json_object_get(lat, "max"));
        cr_assert(p50 > 0 && p50 <= p99 && p99 <= mx, "%s: %g %g %g", names[i], p50, p99, mx);
        total += req;
    }
    /* the schedule: 100/s for 2 s, split by weights (each endpoint rounds down at most one) */
    cr_assert(total >= 192 && total <= 200, "requests in all: %lld", (long long)total);
    cr_assert(json_is_boolean(json_object_get(res, "pass")));
    cr_assert_str_eq(json_string_value(json_object_get(res, "protocol")),
                     http2 ? "h2c" : "http/1.1");
    json_decref(res);

    /* the checkouts happened: the server has paid orders of the bench's customers */
    char *admin = ldr_test_token("admin", "bench-test");
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/orders?status=paid&per_page=1", srv.base);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, "GET", url, NULL, admin, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\"total\":2"), "two checkouts paid: %s", r.body);
    ldr_test_resp_free(&r);
    free(admin);

    static const char *const files[] = {"report.md", "latency.svg", "timeline.svg"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", out, files[i]);
        size_t len = 0;
        char *text = ldr_test_slurp(path, &len);
        cr_assert_not_null(text, "%s missing", files[i]);
        cr_assert_gt(len, 100, "%s is empty", files[i]);
        if (i == 0) {
            cr_assert_not_null(strstr(text, "| search |"), "%s", text);
            cr_assert_not_null(strstr(text, "inventory update ≤ 100 ms"), "%s", text);
        } else {
            cr_assert_not_null(strstr(text, "<svg"));
            cr_assert_not_null(strstr(text, "</svg>"));
        }
        free(text);
    }
    free(errtext);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(bench_cli, sla_run_counts_every_endpoint, .timeout = 90)
{
    sla_run(false);
}

Test(bench_cli, sla_run_over_http2, .timeout = 90)
{
    sla_run(true);
}

/* capacity sets its rate step by step: its set-up still stocks the products checkouts buy (it
 * once did not, and checkouts on a fresh server met empty shelves: 409 out_of_stock) */
Test(bench_cli, capacity_stocks_the_checkouts_on_a_fresh_server, .timeout = 90)
{
    setenv("LARDER_JWT_SECRET", LDR_TEST_JWT_SECRET, 1);
    char *dir = ldr_test_tmpdir();
    ldr_test_server_t srv;
    const char *gen[] = {"--skus", "500", "--seed", "4", "--stores", "1", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0);
    char out[512], cat[512], err[512];
    snprintf(out, sizeof(out), "%s/capacity", dir);
    snprintf(cat, sizeof(cat), "%s/gen/catalog.jsonl", dir);
    snprintf(err, sizeof(err), "%s/bench.err", dir);
    const char *args[] = {"capacity", "--url",
                          srv.base,   "--start",
                          "100",      "--step",
                          "100",      "--max",
                          "200",      "--step-duration",
                          "1",        "--refine",
                          "0",        "--catalog",
                          cat,        "--connections",
                          "8",        "--queries",
                          "100",      "--out",
                          out,        NULL};
    int rc = bench_run(args, err);
    char *errtext = ldr_test_slurp(err, NULL);
    cr_assert(rc == 0 || rc == 1, "exit %d: %s", rc, errtext ? errtext : "");
    free(errtext);
    /* the first product of the catalog is the first the checkouts buy */
    char *catalog = ldr_test_slurp(cat, NULL), sku[64] = "";
    cr_assert_not_null(catalog);
    cr_assert_eq(sscanf(strstr(catalog, "\"sku\":\"") + 7, "%63[^\"]", sku), 1);
    free(catalog);
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/stock/%s", srv.base, sku);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0);
    cr_assert_not_null(strstr(r.body, "\"lot\":\"bench-"), "%s not stocked: %s", sku, r.body);
    ldr_test_resp_free(&r);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(bench_cli, queries_prints_the_search_mix)
{
    char *dir = ldr_test_tmpdir(), err[512], out[512];
    snprintf(err, sizeof(err), "%s/err", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    cr_assert_eq(
        bench_run_out((const char *const[]){"queries", "--skus", "300", "--queries", "30", NULL},
                      out, err),
        0);
    char *text = ldr_test_slurp(out, NULL);
    int lines = 0;
    for (char *l = strtok(text, "\n"); l != NULL; l = strtok(NULL, "\n")) {
        cr_assert(strncmp(l, "q=", 2) == 0 && strstr(l, "&per_page=20") != NULL, "%s", l);
        lines++;
    }
    cr_assert_eq(lines, 30);
    free(text);
    ldr_test_rmtree(dir);
    free(dir);
}

/* larder-bench ARGS exits 2 with needle on stderr. */
static void usage_error(const char *const *args, const char *needle)
{
    char *dir = ldr_test_tmpdir(), err[512];
    snprintf(err, sizeof(err), "%s/err", dir);
    int rc = bench_run(args, err);
    char *text = ldr_test_slurp(err, NULL);
    cr_assert_eq(rc, 2, "exit %d for %s: %s", rc, args[0] ? args[0] : "(none)", text);
    cr_assert_not_null(strstr(text, needle), "\"%s\" not in: %s", needle, text);
    free(text);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(bench_cli, bad_usage_exits_2_naming_the_problem)
{
    unsetenv("LARDER_JWT_SECRET");
    usage_error((const char *const[]){NULL}, "a mode is required");
    usage_error((const char *const[]){"flood", NULL}, "unknown mode");
    usage_error(
        (const char *const[]){"sla", "--rate", "10", "--duration", "1", "--out", "/tmp/x", NULL},
        "--url is required");
    usage_error((const char *const[]){"sla", "--url", "http://example.com:80", "--rate", "1",
                                      "--duration", "1", "--out", "/tmp/x", NULL},
                "--url");
    usage_error((const char *const[]){"sla", "--url", "http://127.0.0.1:1", "--rate", "fast",
                                      "--duration", "1", "--out", "/tmp/x", NULL},
                "--rate");
    usage_error((const char *const[]){"sla", "--url", "http://127.0.0.1:1", "--rate", "1", "--out",
                                      "/tmp/x", NULL},
                "--duration is required");
    usage_error((const char *const[]){"sla", "--url", "http://127.0.0.1:1", "--rate", "1",
                                      "--duration", "1", "--out", "/tmp/x", "--mix", "search=1,x=2",
                                      NULL},
                "unknown endpoint \"x\"");
    usage_error((const char *const[]){"sla", "--url", "http://127.0.0.1:1", "--rate", "1",
                                      "--duration", "1", "--out", "/tmp/x", "--bogus", NULL},
                "unknown option");
    usage_error((const char *const[]){"capacity", "--url", "http://127.0.0.1:1", "--out", "/tmp/x",
                                      "--rate", "5", NULL},
                "not --rate");
    usage_error((const char *const[]){"capacity", "--url", "http://127.0.0.1:1", "--out", "/tmp/x",
                                      "--start", "10", "--step", "1", "--max", "1000", NULL},
                "more than 200 steps");
    /* checkouts need tokens, and so the server's secret */
    usage_error((const char *const[]){"sla", "--url", "http://127.0.0.1:1", "--rate", "1",
                                      "--duration", "1", "--out", "/tmp/x", "--skus", "50", NULL},
                "LARDER_JWT_SECRET is not set");
}

Test(bench_cli, help_explains_the_full_run)
{
    char *dir = ldr_test_tmpdir(), err[512];
    snprintf(err, sizeof(err), "%s/err", dir);
    cr_assert_eq(bench_run((const char *const[]){"--help", NULL}, err), 0);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(bench_cli, unreachable_server_exits_3)
{
    char *dir = ldr_test_tmpdir(), err[512], out[512];
    snprintf(err, sizeof(err), "%s/err", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    /* a reads-only mix needs no secret; port 1 on loopback refuses connections */
    int rc = bench_run((const char *const[]){"sla", "--url", "http://127.0.0.1:1", "--rate", "1",
                                             "--duration", "1", "--out", out, "--skus", "50",
                                             "--mix", "search=1", NULL},
                       err);
    char *text = ldr_test_slurp(err, NULL);
    cr_assert_eq(rc, 3, "exit %d: %s", rc, text);
    cr_assert_not_null(strstr(text, "does not answer"), "%s", text);
    free(text);
    ldr_test_rmtree(dir);
    free(dir);
}
