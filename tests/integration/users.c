/*
 * Accounts: register, log in, /v1/me; refusals; accounts survive a restart; admins made offline
 * with `larder user add --admin` while the server is stopped.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers.h"

static char *dir;
static char cat_path[600], data_path[600], sku[64];
static ldr_test_server_t srv;

static void start_server(void)
{
    const char *args[] = {"--catalog", cat_path, "--data-dir", data_path, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0, "server did not start");
}

static void start(void)
{
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "40", "--stores", "1", "--seed", "9", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    snprintf(cat_path, sizeof(cat_path), "%s/gen/catalog.jsonl", dir);
    snprintf(data_path, sizeof(data_path), "%s", dir);
    cr_assert_eq(ldr_test_first_sku(cat_path, sku, sizeof(sku)), 0);
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(users, .init = start, .fini = stop, .timeout = 180);

static ldr_test_resp_t call(const char *method, const char *path, const char *body,
                            const char *token)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, method, url, body, token, &r), 0);
    return r;
}

static const char *code_of(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* Logs in; returns the token (malloc'ed) or NULL with *status set. */
static char *login(const char *email, const char *password, long *status)
{
    char body[300];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    ldr_test_resp_t r = call("POST", "/v1/auth/login", body, NULL);
    *status = r.status;
    char *tok = NULL;
    if (r.status == 200) {
        json_t *j = json_loads(r.body, 0, NULL);
        cr_assert_str_eq(json_string_value(json_object_get(j, "token_type")), "Bearer");
        cr_assert_eq(json_integer_value(json_object_get(j, "expires_in")), 3600);
        tok = strdup(json_string_value(json_object_get(j, "access_token")));
        json_decref(j);
    } else {
        json_t *j = json_loads(r.body, 0, NULL);
        cr_assert_str_eq(code_of(j), "invalid_credentials", "%s", r.body);
        json_decref(j);
    }
    ldr_test_resp_free(&r);
    return tok;
}

Test(users, register_login_me)
{
    ldr_test_resp_t r = call("POST", "/v1/auth/register",
                             "{\"email\":\"Lan@Example.vn\",\"password\":\"rau-muong-42\","
                             "\"name\":\"Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Lan\",\"locale\":\"vi\"}",
                             NULL);
    cr_assert_eq(r.status, 201, "%s", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(j, "email")), "lan@example.vn");
    cr_assert_str_eq(json_string_value(json_object_get(j, "role")), "customer");
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    cr_assert(strncmp(id, "usr-", 4) == 0);
    cr_assert_null(strstr(r.body, "rau-muong"), "the password came back");
    json_decref(j);
    ldr_test_resp_free(&r);
    /* the same email in another case is taken */
    r = call("POST", "/v1/auth/register",
             "{\"email\":\"LAN@example.VN\",\"password\":\"12345678\",\"name\":\"X\"}", NULL);
    cr_assert_eq(r.status, 409, "%s", r.body);
    j = json_loads(r.body, 0, NULL);
    cr_assert_str_eq(code_of(j), "email_taken");
    json_decref(j);
    ldr_test_resp_free(&r);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"email\":\"nope\",\"password\":\"12345678\",\"name\":\"X\"}", "email"},
        {"{\"email\":\"a@b.vn\",\"password\":\"short\",\"name\":\"X\"}", "password"},
        {"{\"email\":\"a@b.vn\",\"password\":\"12345678\"}", "name"},
        {"{\"email\":\"a@b.vn\",\"password\":\"12345678\",\"name\":\"X\",\"locale\":\"fr\"}",
         "locale"},
        {"{\"email\":\"a@b.vn\",\"password\":\"12345678\",\"name\":\"X\",\"role\":\"admin\"}",
         NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = call("POST", "/v1/auth/register", bad[i].body, NULL);
        cr_assert_eq(r.status, 400, "%s -> %ld %s", bad[i].body, r.status, r.body);
        j = json_loads(r.body, 0, NULL);
        cr_assert_str_eq(code_of(j), "invalid_body");
        if (bad[i].field != NULL)
            cr_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_object_get(j, "error"), "details"), "field")),
                             bad[i].field, "%s", r.body);
        json_decref(j);
        ldr_test_resp_free(&r);
    }
    long st;
    cr_assert_null(login("lan@example.vn", "wrong-password", &st));
    cr_assert_eq(st, 401);
    cr_assert_null(login("nobody@example.vn", "rau-muong-42", &st));
    cr_assert_eq(st, 401);
    char *tok = login("LAN@example.vn", "rau-muong-42", &st);
    cr_assert_not_null(tok, "login failed: %ld", st);
    r = call("GET", "/v1/me", NULL, tok);
    cr_assert_eq(r.status, 200, "%s", r.body);
    j = json_loads(r.body, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(j, "id")), id);
    cr_assert_str_eq(json_string_value(json_object_get(j, "locale")), "vi");
    cr_assert_null(json_object_get(j, "password"));
    json_decref(j);
    ldr_test_resp_free(&r);
    r = call("GET", "/v1/me", NULL, NULL);
    cr_assert_eq(r.status, 401);
    ldr_test_resp_free(&r);
    /* a customer may not write stock */
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s/adjust", sku);
    r = call("POST", path, "{\"delta\":1,\"reason\":\"x\"}", tok);
    cr_assert_eq(r.status, 403);
    ldr_test_resp_free(&r);
    free(tok);
    /* the account is in the log: it survives a restart */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    tok = login("lan@example.vn", "rau-muong-42", &st);
    cr_assert_not_null(tok, "the account did not survive a restart: %ld", st);
    free(tok);
    free(id);
}

Test(users, admins_are_made_offline)
{
    char *out = NULL, *err = NULL;
    /* while the server runs, the log is held */
    const char *add[] = {"user",      "add",    "--admin",        "--data-dir", data_path,
                         "--catalog", cat_path, "boss@larder.vn", NULL};
    int rc = ldr_test_run_input(add, "admin-password-1\n", &out, &err);
    cr_assert_eq(rc, 1, "%s", err);
    cr_assert(strstr(err, "stop it first") != NULL, "%s", err);
    free(out), free(err);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    rc = ldr_test_run_input(add, "admin-password-1\n", &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strncmp(out, "usr-", 4) == 0, "%s", out);
    free(out), free(err);
    rc = ldr_test_run_input(add, "admin-password-1\n", &out, &err);
    cr_assert_eq(rc, 1, "the same email twice: %s", err);
    free(out), free(err);
    start_server();
    long st;
    char *tok = login("boss@larder.vn", "admin-password-1", &st);
    cr_assert_not_null(tok, "%ld", st);
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s/adjust", sku);
    ldr_test_resp_t r = call("POST", path, "{\"delta\":1,\"reason\":\"admin\"}", tok);
    cr_assert_eq(r.status, 200, "an admin account could not write stock: %s", r.body);
    ldr_test_resp_free(&r);
    r = call("GET", "/v1/me", NULL, tok);
    cr_assert(strstr(r.body, "\"role\":\"admin\"") != NULL, "%s", r.body);
    ldr_test_resp_free(&r);
    free(tok);
}
