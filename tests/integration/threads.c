/*
 * Several loop threads on one port: concurrent clients over HTTP/1.1 and HTTP/2 are all answered,
 * writes from every loop land once, and SIGTERM still stops the server cleanly.  The threads carry
 * names, the loops run under the scheduling policy LARDER_LOOP_SCHED asks for, and an idle
 * server's signal thread sleeps.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
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

/* CLIENTS clients at once, over HTTP/1.1 and h2c: every answer 200, every write counted once, and
 * a clean stop after. */
static void every_loop_answers(void)
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

Test(threads, every_loop_answers_and_writes_land_once)
{
    every_loop_answers();
}

/* The same with the engine on a thread of its own (LARDER_ENGINE=thread), on the same data. */
Test(threads, every_loop_answers_and_writes_land_once_with_an_engine_thread)
{
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    char cat[600];
    snprintf(cat, sizeof(cat), "%s/gen/catalog.jsonl", dir);
    const char *args[] = {"--catalog", cat, "--data-dir", dir, NULL};
    setenv("LARDER_THREADS", "3", 1);
    setenv("LARDER_ENGINE", "thread", 1);
    int rc = ldr_test_server_start(&srv, args, 1);
    unsetenv("LARDER_THREADS");
    unsetenv("LARDER_ENGINE");
    cr_assert_eq(rc, 0, "server did not start");
    every_loop_answers();
}

/*
 * SIGTERM while the server loads, at moments around the engine's start: before it (the catalog
 * still loading), just after it, and while the search index builds.  Each data dir holds a
 * checkout cut between its steps, which the load takes up by asking the (fake) provider and
 * submitting the answer to the engine, waiting for it: whoever runs the engine then (loop 0, or
 * the main thread once the loops stopped) must run it.  The server must exit cleanly every time
 * (it once hung for good), and the next start must find nothing left to take up.
 */
Test(threads, a_stop_while_loading_ends_the_server)
{
    char *d = ldr_test_tmpdir();
    char out[600], cat[700], stock[700], data[700], sku[64], id[32];
    snprintf(out, sizeof(out), "%s/gen", d);
    const char *gen[] = {"gen-catalog", "--skus", "20000", "--stores", "1",
                         "--seed",      "4",      "--out", out,        NULL};
    cr_assert_eq(ldr_test_run(gen, NULL, NULL), 0);
    snprintf(cat, sizeof(cat), "%s/catalog.jsonl", out);
    snprintf(stock, sizeof(stock), "%s/stock.jsonl", out);
    cr_assert_eq(ldr_test_first_sku(cat, sku, sizeof(sku)), 0);
    size_t len;
    static const char *const wait_for[] = {"larder: loaded", "larder: recovered",
                                           "larder: recovered", "larder: recovered"};
    for (int round = 0; round < 4; round++) {
        snprintf(data, sizeof(data), "%s/data%d", d, round);
        const char *seed[] = {"--catalog", cat, "--stock", stock, "--data-dir", data, NULL};
        const char *args[] = {"--catalog", cat, "--data-dir", data, NULL};
        ldr_test_server_t s;
        cr_assert_eq(ldr_test_server_start(&s, seed, 1), 0);
        cr_assert_eq(ldr_test_server_stop(&s), 0);
        snprintf(id, sizeof(id), "ord-stop%012d", round);
        cr_assert_eq(ldr_test_place_in_log(data, id, "usr-stop", sku, 1, 1000, "fake", "fake_ok"),
                     0);
        cr_assert_eq(ldr_test_server_start(&s, args, 0), 0);
        bool seen = false;
        for (int i = 0; i < 30000 && !seen; i++) {
            char *log = ldr_test_slurp(s.stderr_path, &len);
            seen = log != NULL && strstr(log, wait_for[round]) != NULL;
            free(log);
            if (!seen)
                usleep(1000);
        }
        cr_assert(seen, "round %d: no \"%s\" line", round, wait_for[round]);
        usleep((useconds_t)(round < 2 ? 0 : round == 2 ? 30000 : 100000));
        cr_assert_eq(ldr_test_server_stop(&s), 0, "round %d: no clean exit", round);
        cr_assert_eq(ldr_test_server_start(&s, args, 1), 0);
        char *log = ldr_test_slurp(s.stderr_path, &len);
        cr_assert_not_null(log);
        cr_assert_null(strstr(log, "taken up"), "round %d: the stopped start left %s", round, log);
        free(log);
        cr_assert_eq(ldr_test_server_stop(&s), 0);
    }
    /* a server that cannot listen (the port taken) still takes up the checkout, then exits */
    snprintf(id, sizeof(id), "ord-stop%012d", 9);
    cr_assert_eq(ldr_test_place_in_log(data, id, "usr-stop", sku, 1, 1000, "fake", "fake_ok"), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    char listen_at[64];
    snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", ntohs(a.sin_port));
    const char *busy[] = {"serve", "--catalog", cat,       "--data-dir",
                          data,    "--listen",  listen_at, NULL};
    char *err = NULL;
    setenv("LARDER_JWT_SECRET", LDR_TEST_JWT_SECRET, 0); /* what the server helper gives */
    int status = ldr_test_run(busy, NULL, &err);
    close(fd);
    cr_assert_neq(status, 0, "it served on a port that was taken: %s", err);
    cr_assert_not_null(strstr(err, "taken up: 1 (1 paid"), "%s", err);
    free(err);
    ldr_test_rmtree(d);
    free(d);
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

/* The scheduling policy (SCHED_OTHER 0, SCHED_BATCH 3) of each of pid's threads named `prefix`N,
 * in policies[N]; returns how many there are. */
static int policies_of(pid_t pid, const char *prefix, int *policies, int max)
{
    char path[320], comm[32], stat[1024];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL || fgets(comm, sizeof(comm), f) == NULL) {
            if (f != NULL)
                fclose(f);
            continue;
        }
        fclose(f);
        size_t plen = strlen(prefix);
        if (strncmp(comm, prefix, plen) != 0)
            continue;
        int index = atoi(comm + plen);
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
        f = fopen(path, "r");
        cr_assert_not_null(f);
        size_t len = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[len] = '\0';
        /* after "pid (comm) ", field 3 is the state; the policy is field 41 */
        char *p = strrchr(stat, ')');
        cr_assert_not_null(p);
        int field = 2;
        for (char *tok = strtok(p + 1, " "); tok != NULL; tok = strtok(NULL, " "))
            if (++field == 41 && index >= 0 && index < max)
                policies[index] = atoi(tok);
        n++;
    }
    closedir(d);
    return n;
}

/* LARDER_ENGINE=loop, the default: the engine has no thread of its own, loop 0 turns it. */
Test(threads, loops_run_under_sched_batch_and_the_engine_has_no_thread)
{
    int loops[3] = {-1, -1, -1}, engine[1] = {-1};
    cr_assert_eq(policies_of(srv.pid, "larder-loop", loops, 3), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(loops[i], 3, "larder-loop%d runs under policy %d, not SCHED_BATCH", i,
                     loops[i]);
    cr_assert_eq(policies_of(srv.pid, "larder-engine", engine, 1), 0,
                 "an engine thread runs beside the loops");
}

/*
 * Started from a SCHED_BATCH parent (a `chrt -b`), "normal" still makes the loops SCHED_OTHER;
 * LARDER_ENGINE=thread gives the engine its thread, which keeps the process's policy.
 */
Test(threads, loop_sched_normal_keeps_the_loops_preemptive_and_engine_thread_its_own)
{
    char *other = ldr_test_tmpdir();
    ldr_test_server_t s2;
    setenv("LARDER_LOOP_SCHED", "normal", 1);
    setenv("LARDER_THREADS", "2", 1);
    setenv("LARDER_ENGINE", "thread", 1);
    const char *gen[] = {"--skus", "20", "--stores", "1", "--seed", "3", NULL};
    struct sched_param none = {0};
    cr_assert_eq(pthread_setschedparam(pthread_self(), 3 /* SCHED_BATCH */, &none), 0);
    int rc = ldr_test_server_start_generated(&s2, other, gen);
    cr_assert_eq(pthread_setschedparam(pthread_self(), SCHED_OTHER, &none), 0);
    unsetenv("LARDER_LOOP_SCHED");
    unsetenv("LARDER_THREADS");
    unsetenv("LARDER_ENGINE");
    cr_assert_eq(rc, 0, "server did not start");
    int loops[2] = {-1, -1}, engine[1] = {-1};
    int n = policies_of(s2.pid, "larder-loop", loops, 2);
    cr_assert_eq(policies_of(s2.pid, "larder-engine", engine, 1), 1);
    ldr_test_server_stop(&s2);
    ldr_test_rmtree(other);
    free(other);
    cr_assert_eq(n, 2);
    cr_assert_eq(loops[0], 0);
    cr_assert_eq(loops[1], 0);
    cr_assert_eq(engine[0], 3, "the engine keeps the parent's policy");
}

/* The voluntary context switches of pid's thread tid so far (/proc/PID/task/TID/status). */
static long switches_of(pid_t pid, pid_t tid)
{
    char path[128], line[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    long n = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* The main thread waits for signals and for the loops to finish without looking every 50 ms
 * (as it once did): an idle server leaves it asleep, and SIGTERM still stops everything. */
Test(threads, an_idle_server_leaves_the_signal_thread_asleep)
{
    long before = switches_of(srv.pid, srv.pid);
    cr_assert_geq(before, 0);
    usleep(1000000);
    long woke = switches_of(srv.pid, srv.pid) - before;
    cr_assert_leq(woke, 2, "the signal thread woke %ld times in an idle second", woke);
    cr_assert_eq(ldr_test_server_stop(&srv), 0, "SIGTERM did not stop it cleanly");
}
