/* Test helpers: processes, servers and HTTP clients; see helpers.h. */
#include "helpers.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "larder/auth.h"
#include "larder/engine.h"
#include "larder/wal.h"

ssize_t ldr_test_exchange(int port, const void *data, size_t len, char *reply, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close on garbage: that is fine */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (got + 1 < cap && poll(&p, 1, 1000) > 0) {
        ssize_t n = recv(fd, reply + got, cap - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    close(fd);
    return (ssize_t)got;
}

const char *ldr_test_bin(void)
{
    const char *b = getenv("LARDER_BIN");
    return b != NULL && b[0] != '\0' ? b : "build/larder";
}

char *ldr_test_tmpdir(void)
{
    char tmpl[] = "/tmp/larder-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void ldr_test_rmtree(const char *dir)
{
    if (dir == NULL || strncmp(dir, "/tmp/larder-test-", 17) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

char *ldr_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static void ldr__exec_larder(const char *first, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = ldr_test_bin();
    if (first != NULL)
        argv[n++] = first;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int ldr_test_run(const char *const *args, char **out, char **err)
{
    return ldr_test_run_input(args, NULL, out, err);
}

int ldr_test_run_input(const char *const *args, const char *input, char **out, char **err)
{
    char *dir = ldr_test_tmpdir();
    char opath[300], epath[300], ipath[300];
    snprintf(opath, sizeof(opath), "%s/out", dir);
    snprintf(epath, sizeof(epath), "%s/err", dir);
    snprintf(ipath, sizeof(ipath), "%s/in", dir);
    if (input != NULL) {
        FILE *f = fopen(ipath, "w");
        if (f != NULL) {
            fputs(input, f);
            fclose(f);
        }
    }
    pid_t pid = fork();
    if (pid == 0) {
        int in = open(input != NULL ? ipath : "/dev/null", O_RDONLY),
            o = open(opath, O_WRONLY | O_CREAT, 0600), e = open(epath, O_WRONLY | O_CREAT, 0600);
        dup2(in, 0), dup2(o, 1), dup2(e, 2);
        ldr__exec_larder(NULL, args);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    if (out != NULL)
        *out = ldr_test_slurp(opath, NULL);
    if (err != NULL)
        *err = ldr_test_slurp(epath, NULL);
    ldr_test_rmtree(dir);
    free(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double ldr__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ldr_test_server_start(ldr_test_server_t *s, const char *const *args, int wait_ready)
{
    int fds[2];
    memset(s, 0, sizeof(*s));
    snprintf(s->stderr_path, sizeof(s->stderr_path), "/tmp/larder-test-server-%d-%ld.log",
             (int)getpid(), (long)time(NULL));
    if (pipe(fds) != 0)
        return -1;
    const char *argv[64] = {"--listen", "127.0.0.1:0"};
    size_t n = 2;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        int in = open("/dev/null", O_RDONLY),
            e = open(s->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0), dup2(fds[1], 1), dup2(e, 2);
        close(fds[0]);
        setenv("LARDER_JWT_SECRET", LDR_TEST_JWT_SECRET, 0); /* a test may have set its own */
        ldr__exec_larder("serve", argv);
    }
    close(fds[1]);
    /* the first stdout line names the bound address */
    char line[512];
    size_t len = 0;
    /* a bound against hanging, not a speed check: the --demo catalog's first generation under
     * ThreadSanitizer on a busy 2-core machine has taken over 30 s */
    double deadline = ldr__now() + 120;
    while (len < sizeof(line) - 1 && ldr__now() < deadline) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fds[0], line + len, 1);
        if (r <= 0)
            break;
        if (line[len++] == '\n')
            break;
    }
    close(fds[0]);
    line[len] = '\0';
    const char *at = strstr(line, "http://127.0.0.1:");
    if (at == NULL) {
        ldr_test_server_stop(s);
        return -1;
    }
    s->port = atoi(at + strlen("http://127.0.0.1:"));
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
    if (!wait_ready)
        return 0;
    char url[128];
    snprintf(url, sizeof(url), "%s/readyz", s->base);
    while (ldr__now() < deadline) {
        ldr_test_resp_t r;
        if (ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r) == 0) {
            long st = r.status;
            ldr_test_resp_free(&r);
            if (st == 200)
                return 0;
        }
        usleep(20000);
    }
    ldr_test_server_stop(s);
    return -1;
}

int ldr_test_server_start_generated(ldr_test_server_t *s, const char *dir,
                                    const char *const *gen_args)
{
    char out[512], cat[600], stock[600];
    const char *gen[48] = {"gen-catalog"};
    size_t n = 1;
    for (size_t i = 0; gen_args[i] != NULL && n < 44; i++)
        gen[n++] = gen_args[i];
    snprintf(out, sizeof(out), "%s/gen", dir);
    gen[n++] = "--out", gen[n++] = out, gen[n] = NULL;
    if (ldr_test_run(gen, NULL, NULL) != 0)
        return -1;
    snprintf(cat, sizeof(cat), "%s/catalog.jsonl", out);
    snprintf(stock, sizeof(stock), "%s/stock.jsonl", out);
    const char *args[] = {"--catalog", cat, "--stock", stock, "--data-dir", dir, NULL};
    return ldr_test_server_start(s, args, 1);
}

int ldr_test_server_stop(ldr_test_server_t *s)
{
    if (s->pid <= 0)
        return -1;
    int status;
    kill(s->pid, SIGTERM);
    double deadline = ldr__now() + 10;
    while (ldr__now() < deadline) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            unlink(s->stderr_path);
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return -1;
}

typedef struct ldr__sink {
    char *p;
    size_t len;
} ldr__sink_t;

static size_t ldr__sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
    ldr__sink_t *s = arg;
    size_t n = size * nmemb;
    s->p = realloc(s->p, s->len + n + 1);
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->p[s->len] = '\0';
    return n;
}

int ldr_test_http(int mode, const char *method, const char *url, const char *body,
                  ldr_test_resp_t *resp)
{
    return ldr_test_http_auth(mode, method, url, body, NULL, resp);
}

char *ldr_test_token(const char *role, const char *sub)
{
    ldr_auth_t *a;
    ldr_role_t r;
    ldr_buf_t b = LDR_BUF_INIT;
    if (ldr_auth_new(LDR_TEST_JWT_SECRET, strlen(LDR_TEST_JWT_SECRET), &a) != LDR_OK)
        return NULL;
    int rc = ldr_role_parse(role, strlen(role), &r);
    if (rc == LDR_OK)
        rc = ldr_token_mint(a, r, sub, (int64_t)time(NULL), 3600, &b);
    ldr_auth_free(a);
    char *t = rc == LDR_OK ? strndup(b.base, b.len) : NULL;
    ldr_buf_free(&b);
    return t;
}

int ldr_test_http_auth(int mode, const char *method, const char *url, const char *body,
                       const char *token, ldr_test_resp_t *resp)
{
    return ldr_test_http_idem(mode, method, url, body, token, NULL, resp);
}

int ldr_test_http_idem(int mode, const char *method, const char *url, const char *body,
                       const char *token, const char *key, ldr_test_resp_t *resp)
{
    const char *headers[5] = {NULL};
    size_t n = 0;
    char bearer[4200];
    if (token != NULL) {
        snprintf(bearer, sizeof(bearer), "Bearer %s", token);
        headers[n++] = "Authorization", headers[n++] = bearer;
    }
    if (key != NULL)
        headers[n++] = "Idempotency-Key", headers[n++] = key;
    return ldr_test_http_headers(mode, method, url, body, headers, resp);
}

int ldr_test_http_headers(int mode, const char *method, const char *url, const char *body,
                          const char *const *headers, ldr_test_resp_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2) {
        char line[4400];
        snprintf(line, sizeof(line), "%s: %s", headers[i], headers[i + 1]);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (hdrs != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    ldr__sink_t b = {NULL, 0}, h = {NULL, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     mode == LDR_TEST_HTTP1      ? (long)CURL_HTTP_VERSION_1_1
                     : mode == LDR_TEST_H2_PRIOR ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                                 : (long)CURL_HTTP_VERSION_2_0);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ldr__sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ldr__sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        long v = 0;
        curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &v);
        resp->http_version = v == CURL_HTTP_VERSION_2_0 ? 2 : v == CURL_HTTP_VERSION_1_1 ? 11 : v;
    }
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(b.p);
        free(h.p);
        return -1;
    }
    for (size_t i = 0; h.p != NULL && i < h.len; i++)
        h.p[i] = (char)tolower((unsigned char)h.p[i]);
    resp->body = b.p ? b.p : strdup("");
    resp->len = b.len;
    resp->headers = h.p ? h.p : strdup("");
    return 0;
}

void ldr_test_resp_free(ldr_test_resp_t *resp)
{
    free(resp->body);
    free(resp->headers);
    memset(resp, 0, sizeof(*resp));
}

int ldr_test_place_in_log(const char *data_dir, const char *id, const char *owner, const char *sku,
                          int64_t quantity, int64_t price, const char *provider, const char *token)
{
    char wal[700], base[700];
    snprintf(wal, sizeof(wal), "%s/wal", data_dir);
    snprintf(base, sizeof(base), "%s/catalog/catalog-000001.jsonl", data_dir);
    size_t len;
    char *text = ldr_test_slurp(base, &len);
    if (text == NULL) {
        fprintf(stderr, "place_in_log: no %s\n", base);
        return -1;
    }
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, text, len, NULL, NULL, NULL);
    free(text);
    ldr_engine_opts_t eo = {.wal_dir = wal, .catalog = cat};
    ldr_engine_t *e;
    int rc = ldr_engine_open(&eo, &e, NULL);
    if (rc == LDR_OK) {
        ldr_cmd_line_t line = {{"default", 7}, {sku, strlen(sku)}, quantity, price, {NULL, 0}};
        ldr_cmd_t c = {.type = LDR_CMD_ORDER_PLACE,
                       .order = {id, strlen(id)},
                       .owner = {owner, strlen(owner)},
                       .store = {"default", 7},
                       .slot = {"", 0},
                       .quantity = 20,
                       .expires_at = (int64_t)time(NULL) + 900,
                       .provider = {provider, strlen(provider)},
                       .pay_token = {token, strlen(token)},
                       .nlines = 1,
                       .lines = &line};
        ldr_cmd_result_t r;
        rc = ldr_engine_execute(e, &c, (int64_t)time(NULL), &r, NULL);
        if (rc == LDR_OK)
            rc = ldr_engine_sync(e);
        int crc = ldr_engine_close(e);
        rc = rc != LDR_OK ? rc : crc;
    }
    ldr_catalog_free(cat);
    if (rc != LDR_OK)
        fprintf(stderr, "place_in_log %s: %s\n", id, ldr_status_name(rc));
    return rc == LDR_OK ? 0 : -1;
}

void ldr_test_stripe_sign(char *header, size_t size, const char *secret, int64_t t,
                          const char *payload)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[32], hex[2 * sizeof(mac) + 1];
    snprintf(ts, sizeof(ts), "%lld.", (long long)t);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, strlen(payload));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    snprintf(header, size, "t=%lld,v1=%s", (long long)t, hex);
}

int ldr_test_product(const char *base, const char *admin, const char *sku, const char *name,
                     int64_t price, int units)
{
    char url[512], body[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/v1/products/%s", base, sku);
    snprintf(body, sizeof(body),
             "{\"sku\":\"%s\",\"name\":{\"en\":\"%s\"},\"category\":\"produce/fruit\","
             "\"price\":%lld}",
             sku, name, (long long)price);
    int rc = ldr_test_http_auth(LDR_TEST_HTTP1, "PUT", url, body, admin, &r);
    bool ok = rc == 0 && r.status == 201;
    if (!ok)
        fprintf(stderr, "ldr_test_product: PUT %s: %ld %s\n", sku, r.status, r.body ? r.body : "");
    ldr_test_resp_free(&r);
    if (!ok)
        return -1;
    snprintf(url, sizeof(url), "%s/v1/stock/%s/receive", base, sku);
    snprintf(body, sizeof(body), "{\"store\":\"default\",\"lot\":\"test\",\"quantity\":%d}", units);
    rc = ldr_test_http_auth(LDR_TEST_HTTP1, "POST", url, body, admin, &r);
    ok = rc == 0 && r.status == 200;
    if (!ok)
        fprintf(stderr, "ldr_test_product: receive %s: %ld %s\n", sku, r.status,
                r.body ? r.body : "");
    ldr_test_resp_free(&r);
    return ok ? 0 : -1;
}

uint64_t ldr_test_wal_end(const char *wal_dir)
{
    ldr_wal_recovery_t rep;
    int rc = ldr_wal_replay(wal_dir, 0, NULL, NULL, &rep);
    if (rc != LDR_OK) {
        fprintf(stderr, "replay %s: %s: %s\n", wal_dir, ldr_status_name(rc), rep.message);
        return UINT64_MAX;
    }
    return rep.end_offset;
}

pid_t ldr_test_start_emulator(const char *script, char *url, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]), close(fds[1]);
        execlp("python3", "python3", script, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "", where[256];
    bool ok = f != NULL && fgets(line, sizeof(line), f) != NULL;
    if (f != NULL)
        fclose(f);
    ok = ok && sscanf(line, "listening on %255s", where) == 1 &&
         (size_t)snprintf(url, size, "%s", where) < size;
    if (!ok) {
        fprintf(stderr, "%s did not start: %s\n", script, line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

int ldr_test_first_sku(const char *catalog, char *sku, size_t size)
{
    size_t len;
    char *text = ldr_test_slurp(catalog, &len);
    const char *p = text != NULL && strncmp(text, "{\"sku\":\"", 8) == 0 ? text + 8 : NULL;
    const char *end = p != NULL ? strchr(p, '"') : NULL;
    int rc = end != NULL && (size_t)(end - p) < size ? 0 : -1;
    if (rc == 0)
        snprintf(sku, size, "%.*s", (int)(end - p), p);
    free(text);
    return rc;
}
