/*
 * `larder db migrate|load` and `larder import --from-postgres`: PostgreSQL from the command line
 * (include/larder/pg.h).  All need LARDER_DATABASE_URL; a bad one is a usage error (exit 2), a
 * database that does not answer or refuses is exit 1 with PostgreSQL's own message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "larder/pg.h"
#include "pg_internal.h"

#define LDR__EXIT_USAGE 2

static const char ldr__db_usage[] =
    "usage: larder db migrate\n"
    "       larder db load FILE\n"
    "\n"
    "PostgreSQL, the catalog's system of record, at LARDER_DATABASE_URL (a libpq URL or\n"
    "connection string, e.g. postgresql://larder@127.0.0.1:5432/larder).\n"
    "\n"
    "  migrate   creates or updates the schema: applies the migrations embedded in this binary\n"
    "            (db/migrations/NNNN_*.sql in the source tree) that the database has not seen,\n"
    "            in order, each in one transaction recorded in schema_migrations; a second run\n"
    "            does nothing.  Tables: products (one column per product field, a trigger that\n"
    "            NOTIFYs " LDR_PG_CHANNEL " on every change), orders, order_lines,\n"
    "            order_status_history\n"
    "  load FILE upserts the products of a JSON Lines file (the --catalog format, e.g. from\n"
    "            `larder gen-catalog`) into the products table with COPY, in one transaction;\n"
    "            bad lines are reported and skipped; rows already equal are left untouched\n"
    "\n"
    "exit status: 0 on success, 1 when PostgreSQL fails or refuses, 2 on bad usage.\n";

static const char ldr__import_usage[] =
    "usage: larder import --from-postgres [--data-dir DIR] [--stock FILE]\n"
    "\n"
    "Reads the products table at LARDER_DATABASE_URL with COPY into the data dir, offline (the\n"
    "server stopped: it holds a lock on DIR/wal), the way `larder serve` does at start with\n"
    "LARDER_DATABASE_URL: the first import becomes the data dir's base catalog\n"
    "(DIR/catalog/); later ones go through the log product by product (a product as it is\n"
    "changes nothing), and products the table no longer has are deleted through the log.\n"
    "Prints the products read, changed, deleted and rejected, and the time taken.\n"
    "\n"
    "options:\n"
    "  --from-postgres   the source (the only one so far; required)\n"
    "  --data-dir DIR    the data directory (env LARDER_DATA_DIR; default ./data)\n"
    "  --stock FILE      initial lots for a new data dir, as for serve\n"
    "  -h, --help        show this help\n"
    "\n"
    "exit status: 0 on success, 1 when PostgreSQL or the data dir fails, 2 on bad usage.\n";

static int ldr__usage_error(const char *cmd, const char *msg, const char *arg)
{
    fprintf(stderr, "larder %s: %s%s%s%s\nRun `larder %s --help` for usage.\n", cmd, msg,
            arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "", cmd);
    return LDR__EXIT_USAGE;
}

/* LARDER_DATABASE_URL, checked; NULL after a usage error was printed. */
static const char *ldr__database_url(const char *cmd)
{
    const char *url = getenv("LARDER_DATABASE_URL");
    char err[LDR_PG_ERR_MAX];
    if (url == NULL || url[0] == '\0') {
        ldr__usage_error(
            cmd, "LARDER_DATABASE_URL is not set (e.g. postgresql://USER@HOST:PORT/DB)", NULL);
        return NULL;
    }
    if (ldr_pg_check_url(url, err, sizeof(err)) != LDR_OK) {
        ldr__usage_error(cmd, "LARDER_DATABASE_URL: ", err);
        return NULL;
    }
    return url;
}

static void ldr__load_reject(void *ctx, uint64_t line, const char *message)
{
    uint64_t *n = ctx;
    if ((*n)++ < 20)
        fprintf(stderr, "larder db load: line %llu: %s\n", (unsigned long long)line, message);
}

static int ldr__db_load(const char *url, const char *path)
{
    char *buf;
    size_t len;
    if (ldr_read_file(path, &buf, &len) != LDR_OK) {
        fprintf(stderr, "larder db load: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    char err[LDR_PG_ERR_MAX];
    PGconn *c;
    if (ldr_pg_connect(url, &c, err, sizeof(err)) != LDR_OK) {
        fprintf(stderr, "larder db load: %s\n", err);
        ldr_free(buf);
        return 1;
    }
    int64_t t0 = ldr_pg_now_ms();
    uint64_t shown = 0;
    ldr_pg_load_result_t r;
    int rc = ldr_pg_load(c, buf, len, ldr__load_reject, &shown, &r, err, sizeof(err));
    ldr_free(buf);
    PQfinish(c);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder db load: %s\n", err);
        return 1;
    }
    printf("larder db load: %llu products from %s: %llu rows written, %llu already equal, %llu "
           "rejected, in %lld ms\n",
           (unsigned long long)r.valid, path, (unsigned long long)r.written,
           (unsigned long long)(r.valid - r.written), (unsigned long long)r.rejected,
           (long long)(ldr_pg_now_ms() - t0));
    return 0;
}

int ldr_cmd_db(int argc, char **argv)
{
    if (argc < 2) {
        fputs(ldr__db_usage, stderr);
        return LDR__EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(ldr__db_usage, stdout);
            return 0;
        }
    const char *sub = argv[1];
    if (strcmp(sub, "migrate") == 0) {
        if (argc > 2)
            return ldr__usage_error("db", "unexpected argument", argv[2]);
    } else if (strcmp(sub, "load") == 0) {
        if (argc != 3)
            return ldr__usage_error("db", argc < 3 ? "load needs a FILE" : "unexpected argument",
                                    argc < 3 ? NULL : argv[3]);
        if (access(argv[2], R_OK) != 0)
            return ldr__usage_error("db", "cannot read", argv[2]);
    } else {
        return ldr__usage_error("db", "unknown subcommand (want migrate or load):", sub);
    }
    const char *url = ldr__database_url("db");
    if (url == NULL)
        return LDR__EXIT_USAGE;
    if (strcmp(sub, "load") == 0)
        return ldr__db_load(url, argv[2]);
    char err[LDR_PG_ERR_MAX];
    PGconn *c;
    if (ldr_pg_connect(url, &c, err, sizeof(err)) != LDR_OK) {
        fprintf(stderr, "larder db migrate: %s\n", err);
        return 1;
    }
    int applied, version;
    int rc = ldr_pg_migrate(c, stdout, &applied, &version, err, sizeof(err));
    PQfinish(c);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder db migrate: %s\n", err);
        return 1;
    }
    if (applied == 0)
        printf("larder db migrate: up to date (schema version %d)\n", version);
    else
        printf("larder db migrate: %d migration%s applied (schema version %d)\n", applied,
               applied == 1 ? "" : "s", version);
    return 0;
}

int ldr_cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {{"from-postgres", no_argument, NULL, 'P'},
                                             {"data-dir", required_argument, NULL, 'd'},
                                             {"stock", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    ldr_app_source_t src = {.data_dir = getenv("LARDER_DATA_DIR"), .import_only = true};
    bool from_pg = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'P':
            from_pg = true;
            break;
        case 'd':
            src.data_dir = optarg;
            break;
        case 's':
            src.stock_path = optarg;
            break;
        case 'h':
            fputs(ldr__import_usage, stdout);
            return 0;
        default:
            return ldr__usage_error("import", "unknown or incomplete option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ldr__usage_error("import", "unexpected argument", argv[optind]);
    if (!from_pg)
        return ldr__usage_error("import", "give the source: --from-postgres", NULL);
    if (src.stock_path != NULL && access(src.stock_path, R_OK) != 0)
        return ldr__usage_error("import", "cannot read", src.stock_path);
    if ((src.database_url = ldr__database_url("import")) == NULL)
        return LDR__EXIT_USAGE;
    if (src.data_dir == NULL || src.data_dir[0] == '\0')
        src.data_dir = "data";
    ldr_app_t app;
    ldr_app_init(&app, &src);
    int rc = ldr_app_load(&app);
    ldr_app_import_t im = app.import;
    ldr_app_dispose(&app);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder import: nothing imported into %s\n", src.data_dir);
        return 1;
    }
    printf("larder import: %llu products from PostgreSQL into %s in %.1f ms (%s%llu changed "
           "through the log, %llu deleted, %llu rejected)\n",
           (unsigned long long)(im.rows - im.rejected), src.data_dir, im.ms,
           im.base ? "the data dir's base catalog; " : "", (unsigned long long)im.changed,
           (unsigned long long)im.deleted, (unsigned long long)im.rejected);
    return 0;
}
