/*
 * Several loop threads on one port: concurrent clients over HTTP/1.1 and HTTP/2 are all answered,
 * writes from every loop land once, and SIGTERM still stops the server cleanly.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers.h"

#define CLIENTS  12
#define REQUESTS 40

static char *dir, *token;
static ldr_test_server_t srv;

static void start(void)
{
    dir = ldr_test_tmpdir();
    token = ldr_test_token("service", "threads-test");
    setenv("LARDER_THREADS", "3", 1);
    const char *gen[] = {"--skus", "200", "--stores", "1", "--seed", "3", NULL};
    int rc = ldr_test_server_start_generated(&srv, dir, gen);
    unsetenv("LARDER_THREADS");
    cr_assert_eq(rc, 0, "server did not start");
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir);
    free(token);
}

TestSuite(threads, .init = start, .fini = stop, .timeout = 120);

static long long on_hand(const char *sku)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/stock/%s", srv.base, sku);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    long long v = json_integer_value(json_object_get(j, "on_hand"));
    json_decref(j);
    ldr_test_resp_free(&r);
    return v;
}

typedef struct client {
    int id;
    int ok, bad;
} client_t;

static void *run_client(void *arg)
{
    client_t *c = arg;
    char url[256];
    for (int i = 0; i < REQUESTS; i++) {
        ldr_test_resp_t r;
        int mode = (c->id + i) % 2 ? LDR_TEST_HTTP1 : LDR_TEST_H2_PRIOR;
        if (i % 2 == 0) {
            snprintf(url, sizeof(url), "%s/v1/stock/SNK-000001/adjust", srv.base);
            if (ldr_test_http_auth(mode, "POST", url, "{\"delta\":1,\"reason\":\"threads\"}", token,
                                   &r) != 0) {
                c->bad++;
                continue;
            }
        } else {
            snprintf(url, sizeof(url), "%s/v1/search?q=banh&per_page=3", srv.base);
            if (ldr_test_http(mode, "GET", url, NULL, &r) != 0) {
                c->bad++;
                continue;
            }
        }
        if (r.status == 200)
            c->ok++;
        else
            c->bad++;
        ldr_test_resp_free(&r);
    }
    return NULL;
}

Test(threads, every_loop_answers_and_writes_land_once)
{
    long long before = on_hand("SNK-000001");
    static client_t clients[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].id = i;
        pthread_create(&t[i], NULL, run_client, &clients[i]);
    }
    int ok = 0, bad = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        ok += clients[i].ok, bad += clients[i].bad;
    }
    cr_assert_eq(bad, 0, "%d requests failed", bad);
    cr_assert_eq(ok, CLIENTS * REQUESTS);
    cr_assert_eq(on_hand("SNK-000001"), before + CLIENTS * REQUESTS / 2);
    cr_assert_eq(ldr_test_server_stop(&srv), 0, "SIGTERM did not stop it cleanly");
}

/* An idle keep-alive connection outlives the grace period, and a second SIGTERM arrives after
 * one loop has already stopped: neither may crash the shutdown (both once did). */
Test(threads, shutdown_with_an_idle_connection_and_a_second_signal)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    char buf[512];
    cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
    kill(srv.pid, SIGTERM);
    usleep(1000000);
    kill(srv.pid, SIGTERM); /* the loops without the connection have stopped by now */
    int status = -1;
    for (int i = 0; i < 200 && waitpid(srv.pid, &status, WNOHANG) == 0; i++)
        usleep(50000);
    close(fd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "shutdown crashed or hung: %d",
              status);
    srv.pid = 0;
}
