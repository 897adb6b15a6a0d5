/*
 * PostgreSQL as the catalog's system of record, against a real server: `make check` runs the
 * suite under tests/pg/with_pg.sh, which starts a throw-away PostgreSQL on loopback and sets
 * LARDER_TEST_DATABASE_URL.  Each test makes a database of its own (the tests run in parallel).
 * Without a server these tests fail, with the reason tests/pg/with_pg.sh gave.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../helpers.h"

#define WAIT_MS                                                                                    \
    15000 /* the bound on "a change becomes visible": generous, the machine is shared              \
           */

static char *dir;
static char url[512];
static ldr_test_server_t srv;

/* The server's URL with another database name. */
static void url_for(const char *db, char *out, size_t size)
{
    const char *base = getenv("LARDER_TEST_DATABASE_URL");
    const char *slash = strrchr(base, '/');
    snprintf(out, size, "%.*s/%s", (int)(slash - base), base, db);
}

static PGconn *pg(const char *u)
{
    PGconn *c = PQconnectdb(u);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s: %s", u, PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

static void sql(const char *q)
{
    PGconn *c = pg(url);
    PGresult *r = PQexec(c, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* The first column of the first row (malloc'ed). */
static char *sql_value(const char *q)
{
    PGconn *c = pg(url);
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    cr_assert(PQntuples(r) >= 1, "%s: no row", q);
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static void start(void)
{
    const char *base = getenv("LARDER_TEST_DATABASE_URL");
    if (base == NULL || base[0] == '\0') {
        const char *why = getenv("LARDER_TEST_PG_ERROR");
        cr_assert_fail("no PostgreSQL for these tests: %s",
                       why != NULL ? why
                                   : "LARDER_TEST_DATABASE_URL is not set (run them through "
                                     "`make check`, which starts one with tests/pg/with_pg.sh)");
    }
    dir = ldr_test_tmpdir();
    char db[64];
    snprintf(db, sizeof(db), "larder_t%d", (int)getpid());
    PGconn *c = pg(base);
    char q[160];
    snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s", db);
    PQclear(PQexec(c, q));
    snprintf(q, sizeof(q), "CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    url_for(db, url, sizeof(url));
    setenv("LARDER_DATABASE_URL", url, 1);
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    unsetenv("LARDER_DATABASE_URL");
    if (dir != NULL)
        ldr_test_rmtree(dir);
    free(dir);
    const char *base = getenv("LARDER_TEST_DATABASE_URL");
    if (base != NULL && url[0] != '\0') {
        PGconn *c = PQconnectdb(base);
        char q[160];
        snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)", strrchr(url, '/') + 1);
        PQclear(PQexec(c, q));
        PQfinish(c);
    }
}

TestSuite(pg, .init = start, .fini = stop, .timeout = 120);

static char *run_ok(const char *const *args)
{
    char *out, *err;
    int rc = ldr_test_run(args, &out, &err);
    cr_assert_eq(rc, 0, "larder %s %s: exit %d\nstdout: %s\nstderr: %s", args[0],
                 args[1] ? args[1] : "", rc, out, err);
    free(err);
    return out;
}

static void expect(int want, const char *const *args, const char *in_err)
{
    char *out, *err;
    int rc = ldr_test_run(args, &out, &err);
    cr_assert_eq(rc, want, "larder %s: exit %d, want %d\nstdout: %s\nstderr: %s", args[0], rc, want,
                 out, err);
    cr_assert(strstr(err, in_err) != NULL, "stderr lacks \"%s\": %s", in_err, err);
    free(out);
    free(err);
}

/* Migrated, and loaded with a generated catalog of n SKUs (DIR/gen/catalog.jsonl). */
static void seed(const char *skus)
{
    free(run_ok((const char *[]){"db", "migrate", NULL}));
    char gen[600], cat[700];
    snprintf(gen, sizeof(gen), "%s/gen", dir);
    free(run_ok((const char *[]){"gen-catalog", "--skus", skus, "--seed", "7", "--stores", "1",
                                 "--out", gen, NULL}));
    snprintf(cat, sizeof(cat), "%s/catalog.jsonl", gen);
    char *out = run_ok((const char *[]){"db", "load", cat, NULL});
    char want[64];
    snprintf(want, sizeof(want), "%s rows written", skus);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    free(out);
}

static void serve(const char *reconcile_s)
{
    char data[600];
    snprintf(data, sizeof(data), "%s/data", dir);
    setenv("LARDER_PG_RECONCILE_SECONDS", reconcile_s, 1);
    cr_assert_eq(ldr_test_server_start(&srv, (const char *[]){"--data-dir", data, NULL}, 1), 0,
                 "the server did not start");
}

static json_t *get(const char *path, long *status)
{
    char u[700];
    snprintf(u, sizeof(u), "%s%s", srv.base, path);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", u, NULL, &r), 0, "GET %s", path);
    *status = r.status;
    json_t *j = json_loads(r.body, 0, NULL);
    ldr_test_resp_free(&r);
    return j;
}

/* The first hit's sku of a search (NULL when none; malloc'ed). */
static char *first_hit(const char *query)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/search?q=%s", query);
    long st;
    json_t *j = get(path, &st);
    cr_assert_eq(st, 200);
    json_t *hits = json_object_get(j, "hits");
    char *sku = json_array_size(hits) > 0
                    ? strdup(json_string_value(json_object_get(json_array_get(hits, 0), "sku")))
                    : NULL;
    json_decref(j);
    return sku;
}

static void nap(void)
{
    usleep(50 * 1000);
}

/* Waits (at most WAIT_MS) until GET /v1/products/sku answers `status` (and, for 200, has price). */
static bool product_becomes(const char *sku, long status, long long price)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/products/%s", sku);
    for (int waited = 0; waited < WAIT_MS; waited += 50, nap()) {
        long st;
        json_t *j = get(path, &st);
        bool ok = st == status &&
                  (status != 200 || json_integer_value(json_object_get(j, "price")) == price);
        json_decref(j);
        if (ok)
            return true;
    }
    return false;
}

static bool search_finds(const char *query, const char *sku)
{
    for (int waited = 0; waited < WAIT_MS; waited += 50, nap()) {
        char *hit = first_hit(query);
        bool ok = sku == NULL ? hit == NULL : hit != NULL && strcmp(hit, sku) == 0;
        free(hit);
        if (ok)
            return true;
    }
    return false;
}

/* A metric's value from /metrics (the first line starting with `name`), or -1. */
static long long metric(const char *name)
{
    char u[256];
    snprintf(u, sizeof(u), "%s/metrics", srv.base);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", u, NULL, &r), 0);
    long long v = -1;
    for (char *line = r.body; line != NULL && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        size_t n = strlen(name);
        if (strncmp(line, name, n) == 0 && line[n] == ' ') {
            v = atoll(line + n + 1);
            break;
        }
    }
    ldr_test_resp_free(&r);
    return v;
}

/* Waits (at most WAIT_MS) until a metric reaches at least `min`; returns its value. */
static long long metric_reaches(const char *name, long long min)
{
    long long v = metric(name);
    for (int waited = 0; waited < WAIT_MS && v < min; waited += 50, nap())
        v = metric(name);
    return v;
}

Test(pg, migrate_twice)
{
    char *out = run_ok((const char *[]){"db", "migrate", NULL});
    cr_assert(strstr(out, "applied 0001_products.sql") != NULL, "%s", out);
    cr_assert(strstr(out, "2 migrations applied (schema version 2)") != NULL, "%s", out);
    free(out);
    out = run_ok((const char *[]){"db", "migrate", NULL});
    cr_assert(strstr(out, "up to date (schema version 2)") != NULL, "%s", out);
    free(out);
    char *v = sql_value("SELECT count(*) || ' ' || max(version) FROM schema_migrations");
    cr_assert_str_eq(v, "2 2");
    free(v);
    v = sql_value("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                  "AND table_name IN ('products', 'orders', 'order_lines', "
                  "'order_status_history')");
    cr_assert_str_eq(v, "4");
    free(v);
    /* one column per product field */
    v = sql_value("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                  "information_schema.columns WHERE table_name = 'products'");
    cr_assert_str_eq(v, "sku,name_en,name_vi,description_en,description_vi,category,brand,price,"
                        "unit,perishable,shelf_life_days,tags,substitutes,updated_at");
    free(v);
}

Test(pg, load_and_import)
{
    seed("2000");
    char gen[700];
    snprintf(gen, sizeof(gen), "%s/gen/catalog.jsonl", dir);
    /* the same file again writes nothing */
    char *out = run_ok((const char *[]){"db", "load", gen, NULL});
    cr_assert(strstr(out, "0 rows written, 2000 already equal") != NULL, "%s", out);
    free(out);
    char data[600];
    snprintf(data, sizeof(data), "%s/data", dir);
    out = run_ok((const char *[]){"import", "--from-postgres", "--data-dir", data, NULL});
    cr_assert(strstr(out, "2000 products from PostgreSQL") != NULL, "%s", out);
    cr_assert(strstr(out, "base catalog") != NULL, "%s", out);
    free(out);
    /* a second import changes nothing; a change in the table goes through the log */
    sql("UPDATE products SET price = price + 1 WHERE sku = (SELECT min(sku) FROM products)");
    sql("DELETE FROM products WHERE sku = (SELECT max(sku) FROM products)");
    out = run_ok((const char *[]){"import", "--from-postgres", "--data-dir", data, NULL});
    cr_assert(strstr(out, "1999 products from PostgreSQL") != NULL, "%s", out);
    cr_assert(strstr(out, "1 changed through the log, 1 deleted") != NULL, "%s", out);
    free(out);
    out = run_ok((const char *[]){"import", "--from-postgres", "--data-dir", data, NULL});
    cr_assert(strstr(out, "0 changed through the log, 0 deleted") != NULL, "%s", out);
    free(out);

    /* served: every field of a product as the file had it */
    serve("0");
    char *text = ldr_test_slurp(gen, NULL);
    char *line = strchr(text, '\n') + 1; /* the second product of the file */
    *strchr(line, '\n') = '\0';
    json_t *want = json_loads(line, 0, NULL);
    cr_assert_not_null(want);
    const char *sku = json_string_value(json_object_get(want, "sku"));
    char path[128];
    snprintf(path, sizeof(path), "/v1/products/%s", sku);
    long st;
    json_t *got = get(path, &st);
    cr_assert_eq(st, 200);
    json_object_del(got, "stock");
    char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(got, JSON_SORT_KEYS);
    cr_assert_str_eq(b, a);
    free(a), free(b), free(text);
    json_decref(want), json_decref(got);
    json_t *ready = get("/readyz", &st);
    cr_assert_eq(json_integer_value(json_object_get(ready, "products")), 1999);
    json_decref(ready);
}

Test(pg, live_changes_are_served)
{
    seed("300");
    serve("0");
    /* the sync thread connects once the server is ready */
    cr_assert_eq(metric_reaches("larder_pg_connected", 1), 1);
    /* UPDATE */
    char *sku = sql_value("SELECT min(sku) FROM products");
    char q[512];
    snprintf(q, sizeof(q),
             "UPDATE products SET name_en = 'Quokka crackers', price = 4242 WHERE sku = '%s'", sku);
    sql(q);
    cr_assert(product_becomes(sku, 200, 4242), "the UPDATE of %s never showed", sku);
    cr_assert(search_finds("quokka", sku), "search never found the updated %s", sku);
    /* INSERT */
    sql("INSERT INTO products (sku, name_en, name_vi, category, price, tags) VALUES "
        "('PG-NEW-1', 'Wombat biscuits', 'Bánh quy gấu túi', 'pantry/snacks', 31000, "
        "'{organic}')");
    cr_assert(product_becomes("PG-NEW-1", 200, 31000), "the INSERT never showed");
    cr_assert(search_finds("banh+quy+gau", "PG-NEW-1"), "search never found the insert");
    /* DELETE */
    sql("DELETE FROM products WHERE sku = 'PG-NEW-1'");
    cr_assert(product_becomes("PG-NEW-1", 404, 0), "the DELETE never showed");
    cr_assert(search_finds("wombat", NULL), "search still finds the deleted product");
    /* the sync thread counts a change once its engine request is answered, which may be just
     * after the change shows */
    cr_assert_geq(metric_reaches("larder_pg_changes_applied_total{op=\"put\"}", 2), 2);
    cr_assert_geq(metric_reaches("larder_pg_changes_applied_total{op=\"delete\"}", 1), 1);
    /* an invalid row is reported and the product stays as served */
    snprintf(q, sizeof(q), "UPDATE products SET category = 'Not A Path' WHERE sku = '%s'", sku);
    sql(q);
    cr_assert_eq(metric_reaches("larder_pg_rejected_rows_total", 1), 1);
    cr_assert(product_becomes(sku, 200, 4242));
    free(sku);
    /* the changes are in the log: a restart without PostgreSQL's help serves them */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    srv.pid = 0;
}

/* Changes nobody is told about (the NOTIFY triggers disabled) are caught by the reconciliation
 * that follows a reconnection. */
Test(pg, missed_changes_caught_after_reconnect)
{
    seed("300");
    serve("0"); /* no periodic reconciliation: only the reconnection can catch it */
    char *sku = sql_value("SELECT max(sku) FROM products");
    char *gone = sql_value("SELECT min(sku) FROM products");
    cr_assert_eq(metric_reaches("larder_pg_reconciliations_total", 1), 1);
    char q[512];
    snprintf(q, sizeof(q),
             "BEGIN; ALTER TABLE products DISABLE TRIGGER USER;"
             " UPDATE products SET name_en = 'Platypus pickles', price = 777 WHERE sku = '%s';"
             " DELETE FROM products WHERE sku = (SELECT min(sku) FROM products);"
             " ALTER TABLE products ENABLE TRIGGER USER; COMMIT",
             sku);
    sql(q);
    /* nobody was told: still served as it was */
    char path[128];
    snprintf(path, sizeof(path), "/v1/products/%s", gone);
    long st;
    json_decref(get(path, &st));
    cr_assert_eq(st, 200);
    cr_assert_eq(metric("larder_pg_connects_total"), 1);
    /* this test's server only: the other tests run at the same time, on databases of their own */
    sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
        "'larder' AND datname = current_database() AND pid <> pg_backend_pid()");
    cr_assert(product_becomes(sku, 200, 777), "the missed UPDATE of %s never showed", sku);
    cr_assert(search_finds("platypus", sku));
    cr_assert(product_becomes(gone, 404, 0), "the missed DELETE of %s never showed", gone);
    cr_assert_geq(metric("larder_pg_connects_total"), 2);
    cr_assert_geq(metric("larder_pg_connection_failures_total"), 1);
    /* counted once the reconciliation is done, which may be just after its changes show */
    cr_assert_geq(metric_reaches("larder_pg_reconciliations_total", 2), 2);
    free(sku), free(gone);
}

Test(pg, missed_deletes_caught_by_periodic_reconciliation)
{
    seed("300");
    serve("1");
    char *sku = sql_value("SELECT min(sku) FROM products");
    sql("BEGIN; ALTER TABLE products DISABLE TRIGGER USER;"
        " DELETE FROM products WHERE sku = (SELECT min(sku) FROM products);"
        " ALTER TABLE products ENABLE TRIGGER USER; COMMIT");
    cr_assert(product_becomes(sku, 404, 0), "the missed DELETE of %s never showed", sku);
    cr_assert_eq(metric("larder_pg_connects_total"), 1);
    free(sku);
}

Test(pg, bad_database_urls)
{
    setenv("LARDER_DATABASE_URL", "postgresql://larder@127.0.0.1/x?no_such_option=1", 1);
    expect(2, (const char *[]){"db", "migrate", NULL}, "bad database URL");
    expect(2, (const char *[]){"import", "--from-postgres", "--data-dir", dir, NULL},
           "bad database URL");
    expect(2, (const char *[]){"serve", "--data-dir", dir, NULL}, "bad database URL");
    setenv("LARDER_DATABASE_URL", "", 1);
    expect(2, (const char *[]){"db", "migrate", NULL}, "LARDER_DATABASE_URL is not set");
    /* nothing listens on port 1; a port that is no number fails when connecting */
    setenv("LARDER_DATABASE_URL", "postgresql://larder@127.0.0.1:notaport/x", 1);
    expect(1, (const char *[]){"db", "migrate", NULL}, "invalid integer value \"notaport\"");
    setenv("LARDER_DATABASE_URL", "postgresql://larder@127.0.0.1:1/x?connect_timeout=5", 1);
    expect(1, (const char *[]){"db", "migrate", NULL}, "cannot connect to PostgreSQL");
    expect(1, (const char *[]){"import", "--from-postgres", "--data-dir", dir, NULL},
           "cannot connect to PostgreSQL");
    char data[600];
    snprintf(data, sizeof(data), "%s/empty", dir);
    setenv("LARDER_JWT_SECRET", LDR_TEST_JWT_SECRET, 1);
    expect(1, (const char *[]){"serve", "--listen", "127.0.0.1:0", "--data-dir", data, NULL},
           "cannot read the catalog from PostgreSQL");
    /* a database without the schema */
    setenv("LARDER_DATABASE_URL", url, 1);
    expect(1, (const char *[]){"import", "--from-postgres", "--data-dir", dir, NULL},
           "larder db migrate");
    expect(2, (const char *[]){"import", "--data-dir", dir, NULL}, "--from-postgres");
    expect(2, (const char *[]){"serve", "--demo", NULL}, "--demo and --catalog are not used");
}

/* Text that needs escaping, Vietnamese, NULLs and arrays survive the way in at start (COPY of the
 * whole table) and the way in while serving (COPY of the rows named). */
static void expect_product(const char *sku, const char *want_json)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/products/%s", sku);
    long st;
    json_t *got = get(path, &st);
    cr_assert_eq(st, 200, "GET %s: %ld", path, st);
    json_object_del(got, "stock");
    json_t *want = json_loads(want_json, 0, NULL);
    cr_assert_not_null(want);
    char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(got, JSON_SORT_KEYS);
    cr_assert_str_eq(b, a);
    free(a), free(b);
    json_decref(want), json_decref(got);
}

#define ODD_TEXT "quote \" backslash \\ tab \t newline \n brace {a,b} Cà chua bi đỏ"

Test(pg, text_survives_both_ways_in)
{
    free(run_ok((const char *[]){"db", "migrate", NULL}));
    PGconn *c = pg(url);
    const char *p1[] = {"ODD-1", ODD_TEXT,
                        "{\"a,b\",\"{x}\",\"say \\\"hi\\\"\",\"back\\\\slash\"}"};
    const char *ins = "INSERT INTO products (sku, name_vi, description_en, category, price, "
                      "perishable, shelf_life_days, tags) VALUES ($1, 'Cà chua', $2, "
                      "'produce/vegetables', 999999999999, true, 0, $3::text[])";
    PGresult *r = PQexecParams(c, ins, 3, NULL, p1, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    serve("0");
    const char *want_tail =
        ",\"name\":{\"vi\":\"Cà chua\"},\"description\":{\"en\":\"quote \\\" backslash \\\\ tab "
        "\\t newline \\n brace {a,b} Cà chua bi đỏ\"},\"category\":\"produce/vegetables\","
        "\"price\":999999999999,\"perishable\":true,\"shelf_life_days\":0,"
        "\"tags\":[\"a,b\",\"{x}\",\"say \\\"hi\\\"\",\"back\\\\slash\"]}";
    char want[1024];
    snprintf(want, sizeof(want), "{\"sku\":\"ODD-1\"%s", want_tail);
    expect_product("ODD-1", want);
    const char *p2[] = {"ODD-2", ODD_TEXT,
                        "{\"a,b\",\"{x}\",\"say \\\"hi\\\"\",\"back\\\\slash\"}"};
    r = PQexecParams(c, ins, 3, NULL, p2, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    cr_assert(product_becomes("ODD-2", 200, 999999999999LL), "the INSERT never showed");
    snprintf(want, sizeof(want), "{\"sku\":\"ODD-2\"%s", want_tail);
    expect_product("ODD-2", want);
}

/* The commands' help, which needs no database. */
Test(pg_cli, help_describes_the_database_commands, .timeout = 60)
{
    static const struct {
        const char *args[3], *has;
    } cases[] = {
        {{"--help", NULL}, "import"},
        {{"db", "--help", NULL}, "schema_migrations"},
        {{"db", "migrate", "--help"}, "larder db load FILE"},
        {{"import", "--help", NULL}, "--from-postgres"},
        {{"serve", "--help", NULL}, "LARDER_PG_RECONCILE_SECONDS"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out, *err;
        int rc = ldr_test_run(cases[i].args, &out, &err);
        cr_assert_eq(rc, 0, "larder %s: exit %d: %s", cases[i].args[0], rc, err);
        cr_assert(strstr(out, cases[i].has) != NULL, "larder %s %s: no \"%s\" in %s",
                  cases[i].args[0], cases[i].args[1] ? cases[i].args[1] : "", cases[i].has, out);
        free(out), free(err);
    }
    char *out, *err;
    cr_assert_eq(ldr_test_run((const char *[]){"db", NULL}, &out, &err), 2);
    cr_assert(strstr(err, "usage: larder db migrate") != NULL, "%s", err);
    free(out), free(err);
    cr_assert_eq(ldr_test_run((const char *[]){"db", "drop", NULL}, &out, &err), 2);
    cr_assert(strstr(err, "unknown subcommand") != NULL, "%s", err);
    free(out), free(err);
}

/* ---- a private PostgreSQL, stopped and started under a running server ---- */

static char pg_dir[600];

static void pg_instance(const char *cmd)
{
    char line[800], out[512] = "";
    snprintf(line, sizeof(line), "tests/pg/pg_instance.sh %s %s", cmd, pg_dir);
    FILE *p = popen(line, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cr_assert_eq(st, 0, "%s: exit %d (PostgreSQL is needed for this test)", line, st);
    if (strcmp(cmd, "start") == 0) {
        out[strcspn(out, "\n")] = '\0';
        snprintf(url, sizeof(url), "%s", out);
        setenv("LARDER_DATABASE_URL", url, 1);
    }
}

static void outage_start(void)
{
    dir = ldr_test_tmpdir();
    /* not under dir (mode 0700): as root, PostgreSQL runs as the postgres user */
    snprintf(pg_dir, sizeof(pg_dir), "/tmp/larder-test-pg.XXXXXX");
    cr_assert_not_null(mkdtemp(pg_dir));
    pg_instance("start");
}

static void outage_stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    char line[800];
    snprintf(line, sizeof(line), "tests/pg/pg_instance.sh stop %s", pg_dir);
    cr_assert_eq(system(line), 0);
    ldr_test_rmtree(pg_dir);
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(pg_outage, .init = outage_start, .fini = outage_stop, .timeout = 120);

static long long metric_falls_to(const char *name, long long want)
{
    long long v = metric(name);
    for (int waited = 0; waited < WAIT_MS && v != want; waited += 50, nap())
        v = metric(name);
    return v;
}

Test(pg_outage, postgres_restarted_under_a_running_server_and_down_at_its_start)
{
    seed("300");
    serve("0");
    cr_assert_eq(metric_reaches("larder_pg_connected", 1), 1);
    char *sku = sql_value("SELECT min(sku) FROM products");
    /* PostgreSQL goes away: the server notices, and serves on from memory */
    pg_instance("stop");
    cr_assert_eq(metric_falls_to("larder_pg_connected", 0), 0);
    char path[128];
    snprintf(path, sizeof(path), "/v1/products/%s", sku);
    long st;
    json_decref(get(path, &st));
    cr_assert_eq(st, 200);
    json_decref(get("/readyz", &st));
    cr_assert_eq(st, 200);
    /* back: reconnected (with backoff) and the change made meanwhile is served */
    pg_instance("start");
    char q[256];
    snprintf(q, sizeof(q), "UPDATE products SET price = 555 WHERE sku = '%s'", sku);
    sql(q);
    cr_assert(product_becomes(sku, 200, 555), "the change after the restart never showed");
    cr_assert_geq(metric("larder_pg_connects_total"), 2);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    srv.pid = 0;

    /* the server starts while PostgreSQL is down: it serves what its data dir holds */
    pg_instance("stop");
    serve("0");
    json_t *ready = get("/readyz", &st);
    cr_assert_eq(st, 200);
    cr_assert_eq(json_integer_value(json_object_get(ready, "products")), 300);
    json_decref(ready);
    cr_assert(product_becomes(sku, 200, 555), "the change logged before is lost");
    cr_assert_eq(metric("larder_pg_connected"), 0);
    pg_instance("start");
    snprintf(q, sizeof(q), "UPDATE products SET price = 556 WHERE sku = '%s'", sku);
    sql(q);
    cr_assert(product_becomes(sku, 200, 556), "the change after PostgreSQL came back never showed");
    free(sku);
}

/* ---- the order-history sink ---- */

static json_t *call(const char *method, const char *path, const char *body, const char *token,
                    const char *key, long want)
{
    char u[700];
    snprintf(u, sizeof(u), "%s%s", srv.base, path);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http_idem(LDR_TEST_HTTP1, method, u, body, token, key, &r), 0, "%s %s",
                 method, path);
    cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    ldr_test_resp_free(&r);
    return j;
}

/* A paid pickup order of one unit of sku for customer `user`; its id into id. */
static void order(const char *sku, const char *user, int n, char *id, size_t size)
{
    char *t = ldr_test_token("customer", user), path[128], key[32];
    snprintf(path, sizeof(path), "/v1/cart/items/%s", sku);
    json_decref(call("PUT", path, "{\"quantity\":1}", t, NULL, 200));
    snprintf(key, sizeof(key), "sink-%d", n);
    json_t *o = call("POST", "/v1/checkout",
                     "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":\"fake\","
                     "\"token\":\"fake_ok\"}}",
                     t, key, 201);
    snprintf(id, size, "%s", json_string_value(json_object_get(o, "order_id")));
    json_decref(o);
    free(t);
}

/* Every order the server holds has its row in PostgreSQL, with the same status and as many
 * status changes in its history as in its timeline. */
static void sink_matches(int orders)
{
    cr_assert_eq(metric_falls_to("larder_order_sink_lag_records", 0), 0,
                 "the order sink did not catch up");
    char *admin = ldr_test_token("admin", "ops");
    json_t *list = call("GET", "/v1/orders?per_page=100", NULL, admin, NULL, 200), *o;
    json_t *all = json_object_get(list, "orders");
    cr_assert_eq(json_array_size(all), (size_t)orders);
    size_t i;
    json_array_foreach(all, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "order_id"));
        char q[256];
        snprintf(q, sizeof(q), "SELECT status FROM orders WHERE order_id = '%s'", id);
        char *status = sql_value(q);
        cr_assert_str_eq(status, json_string_value(json_object_get(o, "status")), "order %s", id);
        free(status);
        snprintf(q, sizeof(q), "SELECT count(*) FROM order_status_history WHERE order_id = '%s'",
                 id);
        char *n = sql_value(q);
        char path[128];
        snprintf(path, sizeof(path), "/v1/orders/%s", id);
        json_t *full = call("GET", path, NULL, admin, NULL, 200);
        cr_assert_eq(atol(n), (long)json_array_size(json_object_get(full, "timeline")),
                     "history of %s", id);
        json_decref(full);
        free(n);
    }
    char *rows = sql_value("SELECT count(*) FROM orders");
    cr_assert_eq(atoi(rows), orders);
    free(rows);
    json_decref(list);
    free(admin);
}

Test(pg_outage, the_order_sink_writes_every_order_and_catches_up_after_a_restart)
{
    seed("20");
    serve("0");
    char *sku = sql_value("SELECT min(sku) FROM products");
    char *svc = ldr_test_token("service", "wms"), path[128], id[64];
    snprintf(path, sizeof(path), "/v1/stock/%s/receive", sku);
    json_decref(call("POST", path, "{\"lot\":\"L-SINK\",\"quantity\":100}", svc, NULL, 200));
    for (int i = 0; i < 4; i++)
        order(sku, i % 2 ? "usr-sink-a" : "usr-sink-b", i, id, sizeof(id));
    /* one picked, one cancelled: more status changes */
    char *admin = ldr_test_token("admin", "ops");
    snprintf(path, sizeof(path), "/v1/orders/%s/status", id);
    json_decref(call("POST", path, "{\"status\":\"picking\"}", admin, NULL, 200));
    sink_matches(4);

    /* PostgreSQL goes away: checkouts go on, the sink falls behind, then catches up */
    pg_instance("stop");
    for (int i = 4; i < 9; i++)
        order(sku, "usr-sink-c", i, id, sizeof(id));
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel", id);
    char *t = ldr_test_token("customer", "usr-sink-c");
    json_decref(call("POST", path, "{}", t, NULL, 200));
    cr_assert_gt(metric("larder_order_sink_lag_records"), 0, "nothing waits for PostgreSQL");
    pg_instance("start");
    sink_matches(9);
    cr_assert_geq(metric("larder_order_sink_failures_total"), 1);

    /* a restart writes nothing twice: the rows stay as they are */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    srv.pid = 0;
    serve("0");
    sink_matches(9);
    char *hist = sql_value("SELECT count(*) FROM order_status_history");
    cr_assert_geq(atoi(hist), 9 * 2);
    free(hist), free(t), free(admin), free(svc), free(sku);
}
