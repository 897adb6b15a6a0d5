/*
 * PostgreSQL: connections, migrations, the products table in and out (include/larder/pg.h).
 *
 * Migrations are the files of db/migrations/, embedded by the assembler (.incbin, relative to the
 * top of the tree, where make runs): adding one means a file and a line in ldr__migrations.
 *
 * Reading the table is one COPY of its columns in binary format (exact bytes: no escapes to undo,
 * integers and arrays in a fixed layout), each row turned here into a product JSON line (SQL
 * NULLs left out) that goes through the same validation as a --catalog line.  Building the JSON
 * here rather than with json_build_object in the query took the 50,000-SKU import from ~1.4 s
 * to ~0.6 s: PostgreSQL spent most of it rendering JSON.  Writing goes the other way: each valid
 * product rendered to its canonical JSON, COPYed as one jsonb column into a temporary table, then
 * one INSERT ... ON CONFLICT that takes the columns out of it and skips rows that are already
 * equal.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "larder/pg.h"
#include "pg_internal.h"

#define LDR__INCBIN(sym, file)                                                                     \
    __asm__(".pushsection .rodata\n.global " #sym "\n" #sym ":\n.incbin \"" file                   \
            "\"\n.byte 0\n.popsection\n")

LDR__INCBIN(ldr_pg_migration_0001, "db/migrations/0001_products.sql");
LDR__INCBIN(ldr_pg_migration_0002, "db/migrations/0002_orders.sql");
extern const char ldr_pg_migration_0001[], ldr_pg_migration_0002[];

static const ldr_pg_migration_t ldr__migrations[] = {
    {1, "0001_products.sql", ldr_pg_migration_0001},
    {2, "0002_orders.sql", ldr_pg_migration_0002},
};

/* any 64-bit number of our own: migrations of two processes at once run one after the other */
#define LDR__MIGRATE_LOCK "7161835021"

const ldr_pg_migration_t *ldr_pg_migrations(size_t *n)
{
    *n = LDR_ARRAY_SIZE(ldr__migrations);
    return ldr__migrations;
}

int64_t ldr_pg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's messages end with a newline; ours do not. */
void ldr_pg_error(char *err, size_t size, const char *what, const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    snprintf(err, size, "%s: %.*s", what, (int)n, msg);
}

void ldr_pg_notice(void *arg, const char *message)
{
    char line[LDR_PG_ERR_MAX];
    ldr_pg_error(line, sizeof(line), "larder: PostgreSQL says", message);
    fprintf(stderr, "%s\n", line);
}

int ldr_pg_check_url(const char *url, char *err, size_t size)
{
    if (url == NULL || url[0] == '\0') {
        snprintf(err, size, "the database URL is empty");
        return LDR_EINVAL;
    }
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(url, &msg);
    if (o == NULL) {
        ldr_pg_error(err, size, "bad database URL", msg != NULL ? msg : "out of memory");
        PQfreemem(msg);
        return LDR_EINVAL;
    }
    PQconninfoFree(o);
    return LDR_OK;
}

/* The URL's own settings win over these defaults (expand_dbname: later entries override). */
static const char *const ldr__conn_keys[] = {"connect_timeout", "application_name", "dbname", NULL};

PGconn *ldr_pg_start_connect(const char *url, bool async)
{
    const char *values[] = {"10", "larder", url, NULL};
    return async ? PQconnectStartParams(ldr__conn_keys, values, 1)
                 : PQconnectdbParams(ldr__conn_keys, values, 1);
}

int ldr_pg_connect(const char *url, PGconn **out, char *err, size_t size)
{
    *out = NULL;
    if (ldr_pg_check_url(url, err, size) != LDR_OK)
        return LDR_EINVAL;
    PGconn *c = ldr_pg_start_connect(url, false);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        ldr_pg_error(err, size, "cannot connect to PostgreSQL",
                     c != NULL ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return LDR_EIO;
    }
    PQsetNoticeProcessor(c, ldr_pg_notice, NULL);
    /* quiet: no NOTICE lines from IF NOT EXISTS and friends */
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    *out = c;
    return LDR_OK;
}

int ldr_pg_wait(PGconn *c, bool for_write, int stop_fd, int64_t deadline_ms, char *err, size_t size)
{
    for (;;) {
        struct pollfd p[2] = {{PQsocket(c), for_write ? POLLOUT : POLLIN, 0}, {stop_fd, POLLIN, 0}};
        int timeout = -1;
        if (deadline_ms > 0) {
            int64_t left = deadline_ms - ldr_pg_now_ms();
            if (left <= 0) {
                snprintf(err, size, "PostgreSQL did not answer in time");
                return LDR_EIO;
            }
            timeout = left > 60000 ? 60000 : (int)left;
        }
        int n = poll(p, stop_fd >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, size, "poll: %s", strerror(errno));
            return LDR_EIO;
        }
        if (stop_fd >= 0 && (p[1].revents & POLLIN)) {
            snprintf(err, size, "stopping");
            return LDR_EBUSY;
        }
        if (p[0].revents != 0)
            return LDR_OK;
    }
}

/* The next result of the query in flight, waiting without blocking; NULL when there is none
 * left or on error (err set, *failed true). */
static PGresult *ldr__next_result(PGconn *c, int stop_fd, int64_t deadline_ms, bool *failed,
                                  char *err, size_t size)
{
    while (PQisBusy(c)) {
        if (ldr_pg_wait(c, false, stop_fd, deadline_ms, err, size) != LDR_OK) {
            *failed = true;
            return NULL;
        }
        if (!PQconsumeInput(c)) {
            ldr_pg_error(err, size, "PostgreSQL connection", PQerrorMessage(c));
            *failed = true;
            return NULL;
        }
    }
    return PQgetResult(c);
}

int ldr_pg_exec(PGconn *c, const char *sql, int nparams, const char *const *params, int stop_fd,
                int64_t deadline_ms, PGresult **last, char *err, size_t size)
{
    if (last != NULL)
        *last = NULL;
    /* without parameters, the simple protocol: a migration is many statements */
    if (!(nparams == 0 ? PQsendQuery(c, sql)
                       : PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0))) {
        ldr_pg_error(err, size, "PostgreSQL", PQerrorMessage(c));
        return LDR_EIO;
    }
    while (PQflush(c) == 1)
        if (ldr_pg_wait(c, true, stop_fd, deadline_ms, err, size) != LDR_OK)
            return LDR_EIO;
    int rc = LDR_OK;
    bool failed = false;
    PGresult *r;
    while ((r = ldr__next_result(c, stop_fd, deadline_ms, &failed, err, size)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (rc == LDR_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            rc = state != NULL && strcmp(state, "42P01") == 0 ? LDR_ENOENT : LDR_EIO;
            ldr_pg_error(err, size, "PostgreSQL", PQresultErrorMessage(r));
        }
        if (last != NULL && rc == LDR_OK && st == PGRES_TUPLES_OK) {
            PQclear(*last);
            *last = r;
        } else {
            PQclear(r);
        }
    }
    if (failed && rc == LDR_OK)
        rc = LDR_EIO;
    if (rc != LDR_OK && last != NULL) {
        PQclear(*last);
        *last = NULL;
    }
    return rc;
}

/* ---- migrations ---- */

int ldr_pg_migrate(PGconn *c, FILE *report, int *applied, int *version, char *err, size_t size)
{
    *applied = 0;
    *version = 0;
    char sub[LDR_PG_ERR_MAX];
    PGresult *r = NULL;
    int rc = ldr_pg_exec(c,
                         "SELECT pg_advisory_lock(" LDR__MIGRATE_LOCK ");"
                         "CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version integer PRIMARY KEY, name text NOT NULL,"
                         " applied_at timestamptz NOT NULL DEFAULT now());"
                         "SELECT coalesce(max(version), 0) FROM schema_migrations",
                         0, NULL, -1, 0, &r, sub, sizeof(sub));
    if (rc != LDR_OK) {
        snprintf(err, size, "schema_migrations: %s", sub);
        return LDR_EIO;
    }
    int have = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    *version = have;
    for (size_t i = 0; rc == LDR_OK && i < LDR_ARRAY_SIZE(ldr__migrations); i++) {
        const ldr_pg_migration_t *m = &ldr__migrations[i];
        if (m->version <= have)
            continue;
        char v[16];
        snprintf(v, sizeof(v), "%d", m->version);
        const char *params[] = {v, m->name};
        /* the file and its row in one transaction: a failed migration leaves no trace */
        if ((rc = ldr_pg_exec(c, "BEGIN", 0, NULL, -1, 0, NULL, sub, sizeof(sub))) == LDR_OK &&
            (rc = ldr_pg_exec(c, m->sql, 0, NULL, -1, 0, NULL, sub, sizeof(sub))) == LDR_OK &&
            (rc = ldr_pg_exec(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                              params, -1, 0, NULL, sub, sizeof(sub))) == LDR_OK)
            rc = ldr_pg_exec(c, "COMMIT", 0, NULL, -1, 0, NULL, sub, sizeof(sub));
        if (rc != LDR_OK) {
            snprintf(err, size, "migration %s: %s", m->name, sub);
            PQclear(PQexec(c, "ROLLBACK"));
            break;
        }
        if (report != NULL)
            fprintf(report, "larder db migrate: applied %s\n", m->name);
        (*applied)++;
        *version = m->version;
    }
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" LDR__MIGRATE_LOCK ")"));
    return rc == LDR_OK ? LDR_OK : LDR_EIO;
}

/* ---- the products table out ---- */

/* The columns read, in this order (ldr__row_json). */
#define LDR__COLUMNS                                                                               \
    "sku, name_en, name_vi, description_en, description_vi, category, brand, price, unit,"         \
    " perishable, shelf_life_days, tags, substitutes"
enum {
    C_SKU,
    C_NAME_EN,
    C_NAME_VI,
    C_DESC_EN,
    C_DESC_VI,
    C_CATEGORY,
    C_BRAND,
    C_PRICE,
    C_UNIT,
    C_PERISHABLE,
    C_SHELF_LIFE,
    C_TAGS,
    C_SUBSTITUTES,
    C_COUNT
};

/* One column's value in the binary format; ptr NULL for SQL NULL. */
typedef struct ldr__field {
    const unsigned char *ptr;
    uint32_t len;
} ldr__field_t;

void ldr_pg_catalog_free(ldr_pg_catalog_t *pc)
{
    ldr_buf_free(&pc->jsonl);
    ldr_buf_free(&pc->skus);
    memset(pc, 0, sizeof(*pc));
}

static uint32_t ldr__be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t ldr__be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)ldr__be32(p) << 32 | ldr__be32(p + 4));
}

static void ldr__json_text(ldr_buf_t *b, const char *key, const ldr__field_t *f, bool *comma)
{
    if (f->ptr == NULL)
        return;
    if (*comma)
        ldr_buf_putc(b, ',');
    ldr_buf_json_key(b, key);
    ldr_buf_json_str(b, (const char *)f->ptr, f->len);
    *comma = true;
}

/* A one-dimensional text[] (binary: ndim, has-null flag, element type, [size, lower bound],
 * then each element's length, -1 for NULL, and bytes) as a JSON array; empty ones are left out.
 * Returns false when the value is not such an array. */
static bool ldr__json_array(ldr_buf_t *b, const char *key, const ldr__field_t *f)
{
    if (f->ptr == NULL || f->len < 12)
        return f->ptr == NULL;
    const unsigned char *p = f->ptr, *end = f->ptr + f->len;
    uint32_t ndim = ldr__be32(p);
    if (ndim == 0)
        return true;
    if (ndim != 1 || f->len < 20)
        return false;
    uint32_t n = ldr__be32(p + 12);
    p += 20;
    ldr_buf_putc(b, ',');
    ldr_buf_json_key(b, key);
    ldr_buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (end - p < 4)
            return false;
        uint32_t len = ldr__be32(p);
        p += 4;
        if (i > 0)
            ldr_buf_putc(b, ',');
        if (len == UINT32_MAX) { /* NULL: the loader refuses it, naming the item */
            ldr_buf_puts(b, "null");
            continue;
        }
        if ((size_t)(end - p) < len)
            return false;
        ldr_buf_json_str(b, (const char *)p, len);
        p += len;
    }
    ldr_buf_putc(b, ']');
    return true;
}

/*
 * One row as a product JSON line in the API's format (what --catalog files hold); SQL NULLs are
 * left out, so the loader's checks name what is missing.  Returns false for a value that is not
 * of its column's type.
 */
static bool ldr__row_json(const ldr__field_t *f, ldr_buf_t *b)
{
    bool comma = false;
    ldr_buf_putc(b, '{');
    ldr__json_text(b, "sku", &f[C_SKU], &comma);
    if (comma)
        ldr_buf_putc(b, ',');
    ldr_buf_puts(b, "\"name\":{");
    bool inner = false;
    ldr__json_text(b, "en", &f[C_NAME_EN], &inner);
    ldr__json_text(b, "vi", &f[C_NAME_VI], &inner);
    ldr_buf_putc(b, '}');
    comma = true;
    if (f[C_DESC_EN].ptr != NULL || f[C_DESC_VI].ptr != NULL) {
        ldr_buf_puts(b, ",\"description\":{");
        inner = false;
        ldr__json_text(b, "en", &f[C_DESC_EN], &inner);
        ldr__json_text(b, "vi", &f[C_DESC_VI], &inner);
        ldr_buf_putc(b, '}');
    }
    ldr__json_text(b, "category", &f[C_CATEGORY], &comma);
    ldr__json_text(b, "brand", &f[C_BRAND], &comma);
    if (f[C_PRICE].ptr != NULL) {
        if (f[C_PRICE].len != 8)
            return false;
        ldr_buf_puts(b, ",\"price\":");
        ldr_buf_put_i64(b, ldr__be64(f[C_PRICE].ptr));
    }
    ldr__json_text(b, "unit", &f[C_UNIT], &comma);
    if (f[C_PERISHABLE].ptr != NULL) {
        if (f[C_PERISHABLE].len != 1)
            return false;
        ldr_buf_puts(b, f[C_PERISHABLE].ptr[0] ? ",\"perishable\":true" : ",\"perishable\":false");
    }
    if (f[C_SHELF_LIFE].ptr != NULL) {
        if (f[C_SHELF_LIFE].len != 4)
            return false;
        ldr_buf_puts(b, ",\"shelf_life_days\":");
        ldr_buf_put_i64(b, (int32_t)ldr__be32(f[C_SHELF_LIFE].ptr));
    }
    if (!ldr__json_array(b, "tags", &f[C_TAGS]) ||
        !ldr__json_array(b, "substitutes", &f[C_SUBSTITUTES]))
        return false;
    ldr_buf_puts(b, "}\n");
    return true;
}

/* One CopyData message of the binary format: [header] int16 nfields, (int32 len, bytes)*; or
 * the trailer, int16 -1.  Returns 1 for a row, 0 for the trailer, -1 for anything else. */
static int ldr__copy_row(const unsigned char *p, size_t n, bool *header, ldr_pg_catalog_t *out)
{
    static const char sig[] = "PGCOPY\n\377\r\n";
    if (!*header) {
        if (n < 19 || memcmp(p, sig, 11) != 0)
            return -1;
        uint32_t ext = ldr__be32(p + 15);
        if (n < 19 + (size_t)ext)
            return -1;
        p += 19 + ext, n -= 19 + ext;
        *header = true;
    }
    if (n < 2)
        return -1;
    int16_t fields = (int16_t)((uint16_t)p[0] << 8 | p[1]);
    if (fields == -1)
        return 0;
    if (fields != C_COUNT)
        return -1;
    p += 2, n -= 2;
    ldr__field_t f[C_COUNT];
    for (int i = 0; i < C_COUNT; i++) {
        if (n < 4)
            return -1;
        uint32_t len = ldr__be32(p);
        p += 4, n -= 4;
        if (len == UINT32_MAX) {
            f[i] = (ldr__field_t){NULL, 0};
            continue;
        }
        if (len > n)
            return -1;
        f[i] = (ldr__field_t){p, len};
        p += len, n -= len;
    }
    if (f[C_SKU].ptr == NULL) /* the primary key */
        return -1;
    size_t before = out->jsonl.len;
    if (!ldr__row_json(f, &out->jsonl)) {
        out->jsonl.len = before;
        return -1;
    }
    ldr_buf_append(&out->skus, f[C_SKU].ptr, f[C_SKU].len);
    ldr_buf_putc(&out->skus, '\0');
    out->rows++;
    return 1;
}

int ldr_pg_export(PGconn *c, int stop_fd, int64_t deadline_ms, ldr_pg_catalog_t *out, char *err,
                  size_t size)
{
    return ldr_pg_copy_products(c, "ORDER BY sku", stop_fd, deadline_ms, out, err, size);
}

int ldr_pg_copy_products(PGconn *c, const char *tail, int stop_fd, int64_t deadline_ms,
                         ldr_pg_catalog_t *out, char *err, size_t size)
{
    memset(out, 0, sizeof(*out));
    PGresult *r = NULL;
    char sub[LDR_PG_ERR_MAX];
    int rc = ldr_pg_exec(c, "SELECT 1 FROM products LIMIT 0", 0, NULL, stop_fd, deadline_ms, NULL,
                         sub, sizeof(sub));
    if (rc != LDR_OK) {
        snprintf(err, size, "%s%s", sub,
                 rc == LDR_ENOENT ? " (run `larder db migrate` to create the schema)" : "");
        return rc;
    }
    ldr_buf_t q = LDR_BUF_INIT;
    ldr_buf_printf(&q, "COPY (SELECT " LDR__COLUMNS " FROM products %s) TO STDOUT (FORMAT binary)",
                   tail);
    ldr_buf_putc(&q, '\0');
    int sent = PQsendQuery(c, q.base);
    ldr_buf_free(&q);
    if (!sent) {
        ldr_pg_error(err, size, "PostgreSQL", PQerrorMessage(c));
        return LDR_EIO;
    }
    bool failed = false, header = false;
    r = ldr__next_result(c, stop_fd, deadline_ms, &failed, err, size);
    if (r == NULL || PQresultStatus(r) != PGRES_COPY_OUT) {
        if (r != NULL)
            ldr_pg_error(err, size, "COPY products", PQresultErrorMessage(r));
        PQclear(r);
        while (!failed &&
               (r = ldr__next_result(c, stop_fd, deadline_ms, &failed, sub, sizeof(sub))) != NULL)
            PQclear(r);
        return LDR_EIO;
    }
    PQclear(r);
    rc = LDR_OK;
    int end = 1;
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(c, &buf, 1);
        if (n > 0) {
            /* 1 while rows come, 0 after the trailer, -1 once anything was wrong: the COPY is
             * read to its end either way */
            int got = end == 1 ? ldr__copy_row((unsigned char *)buf, (size_t)n, &header, out) : -1;
            if (got <= 0)
                end = got;
            PQfreemem(buf);
            continue;
        }
        if (n == 0) {
            if (ldr_pg_wait(c, false, stop_fd, deadline_ms, err, size) != LDR_OK) {
                rc = LDR_EIO;
                break;
            }
            if (!PQconsumeInput(c)) {
                ldr_pg_error(err, size, "PostgreSQL connection", PQerrorMessage(c));
                rc = LDR_EIO;
                break;
            }
            continue;
        }
        if (n == -2) {
            ldr_pg_error(err, size, "COPY products", PQerrorMessage(c));
            rc = LDR_EIO;
        }
        break; /* -1: done, the result follows */
    }
    if (rc == LDR_OK) {
        while ((r = ldr__next_result(c, stop_fd, deadline_ms, &failed, err, size)) != NULL) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == LDR_OK) {
                ldr_pg_error(err, size, "COPY products", PQresultErrorMessage(r));
                rc = LDR_EIO;
            }
            PQclear(r);
        }
        if (failed)
            rc = LDR_EIO;
    }
    if (rc == LDR_OK && end != 0) {
        snprintf(err, size, "COPY products: an unexpected binary row");
        rc = LDR_EIO;
    }
    if (rc != LDR_OK)
        ldr_pg_catalog_free(out);
    return rc;
}

void ldr_pg_catalog_mark(const ldr_pg_catalog_t *pc, const ldr_catalog_t *cat, uint8_t *seen)
{
    const char *s = pc->skus.base;
    for (uint32_t i = 0; i < pc->rows; i++) {
        size_t len = strlen(s);
        uint32_t doc;
        if (ldr_catalog_find(cat, s, len, &doc) != NULL)
            seen[doc] = 1;
        s += len + 1;
    }
}

/* ---- the products table in ---- */

typedef struct ldr__load {
    PGconn *c;
    ldr_buf_t row;
    uint64_t valid;
    bool failed;
} ldr__load_t;

static int ldr__load_line(void *ctx, const ldr_product_input_t *in, ldr_error_t *err)
{
    ldr__load_t *ld = ctx;
    if (ld->failed)
        return LDR_OK;
    ldr_buf_t json = LDR_BUF_INIT;
    ldr_product_render(in, &json);
    /* COPY's text format: a backslash is written twice; canonical JSON has no raw control
     * characters (they are escaped), so nothing else needs escaping */
    ldr_buf_reset(&ld->row);
    for (size_t i = 0; i < json.len; i++) {
        if (json.base[i] == '\\')
            ldr_buf_putc(&ld->row, '\\');
        ldr_buf_putc(&ld->row, json.base[i]);
    }
    ldr_buf_putc(&ld->row, '\n');
    ldr_buf_free(&json);
    if (PQputCopyData(ld->c, ld->row.base, (int)ld->row.len) != 1)
        ld->failed = true;
    ld->valid++;
    return LDR_OK;
}

int ldr_pg_load(PGconn *c, const char *jsonl, size_t len, ldr_reject_cb reject, void *ctx,
                ldr_pg_load_result_t *res, char *err, size_t size)
{
    memset(res, 0, sizeof(*res));
    char sub[LDR_PG_ERR_MAX];
    int rc = ldr_pg_exec(c,
                         "BEGIN; CREATE TEMPORARY TABLE larder_load (doc jsonb NOT NULL) "
                         "ON COMMIT DROP",
                         0, NULL, -1, 0, NULL, sub, sizeof(sub));
    if (rc != LDR_OK) {
        snprintf(err, size, "%s", sub);
        PQclear(PQexec(c, "ROLLBACK"));
        return LDR_EIO;
    }
    PGresult *r = PQexec(c, "COPY larder_load (doc) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        ldr_pg_error(err, size, "COPY", PQresultErrorMessage(r));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return LDR_EIO;
    }
    PQclear(r);
    ldr__load_t ld = {.c = c};
    ldr_load_result_t lr;
    ldr_products_each(jsonl, len, ldr__load_line, &ld, reject, ctx, &lr);
    ldr_buf_free(&ld.row);
    res->lines = lr.lines;
    res->valid = ld.valid;
    res->rejected = lr.rejected;
    if (PQputCopyEnd(c, ld.failed ? "larder: sending failed" : NULL) != 1)
        ld.failed = true;
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == LDR_OK) {
            ldr_pg_error(err, size, "COPY", PQresultErrorMessage(r));
            rc = LDR_EIO;
        }
        PQclear(r);
    }
    if (rc == LDR_OK && ld.failed) {
        ldr_pg_error(err, size, "COPY", PQerrorMessage(c));
        rc = LDR_EIO;
    }
    PGresult *ins = NULL;
    if (rc == LDR_OK &&
        (rc = ldr_pg_exec(
             c,
             "WITH src AS (SELECT doc->>'sku' AS sku, doc->'name'->>'en' AS name_en,"
             " doc->'name'->>'vi' AS name_vi, doc->'description'->>'en' AS description_en,"
             " doc->'description'->>'vi' AS description_vi, doc->>'category' AS category,"
             " doc->>'brand' AS brand, (doc->>'price')::bigint AS price, doc->>'unit' AS unit,"
             " coalesce((doc->>'perishable')::boolean, false) AS perishable,"
             " (doc->>'shelf_life_days')::integer AS shelf_life_days,"
             " ARRAY(SELECT jsonb_array_elements_text(coalesce(doc->'tags', '[]'))) AS tags,"
             " ARRAY(SELECT jsonb_array_elements_text(coalesce(doc->'substitutes', '[]')))"
             " AS substitutes FROM larder_load),"
             " up AS (INSERT INTO products AS p (sku, name_en, name_vi, description_en,"
             " description_vi, category, brand, price, unit, perishable, shelf_life_days, tags,"
             " substitutes) SELECT * FROM src ON CONFLICT (sku) DO UPDATE SET"
             " name_en = EXCLUDED.name_en, name_vi = EXCLUDED.name_vi,"
             " description_en = EXCLUDED.description_en, description_vi = EXCLUDED.description_vi,"
             " category = EXCLUDED.category, brand = EXCLUDED.brand, price = EXCLUDED.price,"
             " unit = EXCLUDED.unit, perishable = EXCLUDED.perishable,"
             " shelf_life_days = EXCLUDED.shelf_life_days, tags = EXCLUDED.tags,"
             " substitutes = EXCLUDED.substitutes"
             " WHERE (p.name_en, p.name_vi, p.description_en, p.description_vi, p.category,"
             " p.brand, p.price, p.unit, p.perishable, p.shelf_life_days, p.tags, p.substitutes)"
             " IS DISTINCT FROM (EXCLUDED.name_en, EXCLUDED.name_vi, EXCLUDED.description_en,"
             " EXCLUDED.description_vi, EXCLUDED.category, EXCLUDED.brand, EXCLUDED.price,"
             " EXCLUDED.unit, EXCLUDED.perishable, EXCLUDED.shelf_life_days, EXCLUDED.tags,"
             " EXCLUDED.substitutes) RETURNING 1)"
             " SELECT count(*) FROM up",
             0, NULL, -1, 0, &ins, sub, sizeof(sub))) != LDR_OK)
        snprintf(err, size, "%s", sub);
    if (ins != NULL) {
        res->written = strtoull(PQgetvalue(ins, 0, 0), NULL, 10);
        PQclear(ins);
    }
    if (rc == LDR_OK &&
        (rc = ldr_pg_exec(c, "COMMIT", 0, NULL, -1, 0, NULL, sub, sizeof(sub))) != LDR_OK)
        snprintf(err, size, "%s", sub);
    if (rc != LDR_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    return rc == LDR_OK ? LDR_OK : LDR_EIO;
}
