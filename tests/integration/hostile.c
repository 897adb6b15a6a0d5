/*
 * Hostile input over real sockets: random bytes, truncated and oversized requests, malformed
 * HTTP/1.1 and HTTP/2 frames.  The server must stay up, never answer 5xx, and change nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers.h"

static char *dir;
static ldr_test_server_t srv;

static void start(void)
{
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "500", "--seed", "3", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0);
}

static void stop(void)
{
    cr_assert_eq(ldr_test_server_stop(&srv), 0, "the server did not exit cleanly");
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(hostile, .init = start, .fini = stop, .timeout = 120);

/* Sends `len` bytes, half-closes, and reads what comes back (at most 1 s); returns the bytes. */
static size_t exchange(const void *data, size_t len, char *reply, size_t cap)
{
    ssize_t n = ldr_test_exchange(srv.port, data, len, reply, cap);
    cr_assert_geq(n, 0, "the server is gone");
    return (size_t)n;
}

static void assert_no_5xx(const char *reply, size_t n, const char *what)
{
    for (const char *p = reply; p != NULL && p < reply + n; p = strstr(p + 1, "HTTP/1.1 ")) {
        if (strncmp(p, "HTTP/1.1 ", 9) == 0)
            cr_assert(p[9] != '5', "%s got %.12s", what, p);
    }
}

/* The log's last applied record: any change to stock or accounts moves it. */
static long long applied_lsn(void)
{
    char url[128];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/metrics", srv.base);
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0, "the server died");
    const char *at = strstr(r.body, "\nlarder_wal_applied_lsn ");
    cr_assert_not_null(at, "%s", r.body);
    long long v = atoll(at + strlen("\nlarder_wal_applied_lsn "));
    ldr_test_resp_free(&r);
    return v;
}

static long long lsn_at_start = -1;

static void assert_alive(void)
{
    char url[128];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/readyz", srv.base);
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0, "the server died");
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "\"products\":500") != NULL, "state changed: %s", r.body);
    ldr_test_resp_free(&r);
    if (lsn_at_start < 0)
        lsn_at_start = applied_lsn();
    cr_assert_eq(applied_lsn(), lsn_at_start, "hostile input changed the state");
}

Test(hostile, random_bytes)
{
    static char reply[1 << 16];
    unsigned seed = 12345;
    for (int i = 0; i < 200; i++) {
        size_t len = (size_t)(rand_r(&seed) % 4096);
        char *buf = malloc(len + 1);
        for (size_t k = 0; k < len; k++)
            buf[k] = (char)rand_r(&seed);
        size_t n = exchange(buf, len, reply, sizeof(reply));
        assert_no_5xx(reply, n, "random bytes");
        free(buf);
    }
    assert_alive();
}

Test(hostile, malformed_http1)
{
    static char reply[1 << 16];
    char big[20000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char longq[21000], longheader[21000];
    snprintf(longq, sizeof(longq), "GET /v1/search?q=%s HTTP/1.1\r\nHost: x\r\n\r\n", big);
    snprintf(longheader, sizeof(longheader),
             "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
    const char *reqs[] = {
        "GET",
        "GET / HTTP/1.1\r\n",
        "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /v1/search?q=%C3 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/search?q=%zz&page=-1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/products/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/products/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "\r\n\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
        longq,
        longheader,
    };
    int answered = 0;
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        size_t n = exchange(reqs[i], strlen(reqs[i]), reply, sizeof(reply));
        assert_no_5xx(reply, n, reqs[i]);
        answered += strncmp(reply, "HTTP/1.1 4", 10) == 0;
    }
    cr_assert_geq(answered, 6, "only %d malformed requests got a 4xx", answered);
    /* the pipelined pair is answered twice, in order */
    const char *pipelined = reqs[11];
    exchange(pipelined, strlen(pipelined), reply, sizeof(reply));
    const char *first = strstr(reply, "HTTP/1.1 200"),
               *second = first ? strstr(first + 1, "HTTP/1.1 200") : NULL;
    cr_assert(first != NULL && second != NULL && strstr(second, "\"status\":\"ready\"") != NULL,
              "%s", reply);
    assert_alive();
}

Test(hostile, malformed_http2)
{
    static char reply[1 << 16];
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    unsigned seed = 99;
    for (int i = 0; i < 100; i++) {
        char buf[2048];
        size_t len = sizeof(preface) - 1 + (size_t)(rand_r(&seed) % 1024);
        memcpy(buf, preface, sizeof(preface) - 1);
        for (size_t k = sizeof(preface) - 1; k < len; k++)
            buf[k] = (char)rand_r(&seed);
        /* every few rounds a well-formed-looking frame header with a wild length */
        if (i % 5 == 0 && len > sizeof(preface) + 9) {
            unsigned char *f = (unsigned char *)buf + sizeof(preface) - 1;
            f[0] = 0xff, f[1] = 0xff, f[2] = 0xff, f[3] = (unsigned char)(i % 10);
        }
        exchange(buf, len, reply, sizeof(reply));
    }
    assert_alive();
}

Test(hostile, malformed_writes_change_nothing)
{
    static char reply[1 << 16];
    assert_alive(); /* records the log position */
    char *token = ldr_test_token("admin", "hostile");
    static const char *const bodies[] = {
        "",
        "{",
        "[]",
        "null",
        "{\"delta\":\"1\",\"reason\":\"x\"}",
        "{\"delta\":1e400,\"reason\":\"x\"}",
        "{\"delta\":-99999999999999999999,\"reason\":\"x\"}",
        "{\"delta\":1,\"reason\":\"\\ud800\"}",
        "{\"delta\":1,\"reason\":\"x\",\"delta\":2}",
        "{\"lot\":\"../../etc\",\"quantity\":1}",
        "{\"updates\":[" /* truncated */,
        "\xff\xfe{\"delta\":1}",
        "{\"email\":\"a@b.vn\",\"password\":\"short\",\"name\":\"x\"}",
        "{\"email\":\"x\",\"password\":\"longenough\",\"name\":\"x\"}",
    };
    static const char *const paths[] = {"/v1/stock/SNK-000001/adjust",
                                        "/v1/stock/SNK-000001/receive", "/v1/stock:batch",
                                        "/v1/auth/register", "/v1/stock/NOPE/adjust"};
    char req[4096];
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
        for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
            int n = snprintf(req, sizeof(req),
                             "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n%s",
                             paths[p], token, strlen(bodies[b]), bodies[b]);
            size_t got = exchange(req, (size_t)n, reply, sizeof(reply));
            assert_no_5xx(reply, got, bodies[b]);
            cr_assert(got == 0 || strstr(reply, "HTTP/1.1 4") != NULL, "%s %s -> %.40s", paths[p],
                      bodies[b], reply);
        }
    /* a body that claims more than it sends, and one far over the limit */
    int n = snprintf(req, sizeof(req),
                     "POST /v1/stock/SNK-000001/adjust HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{\"delta\":1",
                     token);
    exchange(req, (size_t)n, reply, sizeof(reply));
    n = snprintf(req, sizeof(req),
                 "POST /v1/stock/SNK-000001/adjust HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer %s\r\nContent-Length: 99999999\r\n\r\n",
                 token);
    size_t got = exchange(req, (size_t)n, reply, sizeof(reply));
    assert_no_5xx(reply, got, "oversized");
    /* h2o refuses it before any handler; the answer still has the API's error shape */
    cr_assert(strstr(reply, "HTTP/1.1 413 ") != NULL, "%.200s", reply);
    cr_assert(strstr(reply, "application/json") != NULL, "%.400s", reply);
    cr_assert(strstr(reply, "{\"error\":{\"code\":\"payload_too_large\"") != NULL, "%.400s", reply);
    /* the same sent in chunks: h2o counts as they come, and stops at the limit */
    size_t big = (1u << 20) + 4096;
    char *chunked = malloc(big + 512);
    n = snprintf(chunked, 512,
                 "POST /v1/products:import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
                 token, big);
    memset(chunked + n, 'x', big);
    memcpy(chunked + n + big, "\r\n0\r\n\r\n", 7);
    got = exchange(chunked, (size_t)n + big + 7, reply, sizeof(reply));
    free(chunked);
    cr_assert(strstr(reply, " 413 ") != NULL && strstr(reply, "payload_too_large") != NULL,
              "%.400s", reply);
    free(token);
    assert_alive(); /* and nothing was applied */
}
