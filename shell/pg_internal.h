/* Internal to the PostgreSQL modules (shell/pg.c, shell/pg_sync.c, shell/cmd_db.c). */
#ifndef LARDER_SHELL_PG_INTERNAL_H
#define LARDER_SHELL_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** CLOCK_MONOTONIC in milliseconds. */
int64_t ldr_pg_now_ms(void);
/** "what: msg" into err, libpq's trailing newline dropped. */
void ldr_pg_error(char *err, size_t size, const char *what, const char *msg);
/** libpq's notices and warnings on stderr as one "larder: PostgreSQL says: ..." line. */
void ldr_pg_notice(void *arg, const char *message);
/** A connection with larder's defaults (connect_timeout 10, application_name larder) under the
 *  URL's own settings: PQconnectStartParams when async, else PQconnectdbParams. */
PGconn *ldr_pg_start_connect(const char *url, bool async);
/**
 * Waits until c's socket is readable (writable when for_write), stop_fd (may be -1) is readable
 * (LDR_EBUSY) or the monotonic deadline_ms (0: none) passes (LDR_EIO).  err says which.
 */
int ldr_pg_wait(PGconn *c, bool for_write, int stop_fd, int64_t deadline_ms, char *err,
                size_t size);
/**
 * Runs sql (several statements when nparams is 0) without blocking in libpq, reading every
 * result.  *last (may be NULL) gets the last result with rows (PQclear it).  Returns LDR_OK,
 * LDR_ENOENT for an undefined table, or LDR_EIO with PostgreSQL's message in err.
 */
int ldr_pg_exec(PGconn *c, const char *sql, int nparams, const char *const *params, int stop_fd,
                int64_t deadline_ms, PGresult **last, char *err, size_t size);
/** ldr_pg_export with `tail` after "FROM products" (a WHERE, an ORDER BY; trusted text). */
struct ldr_pg_catalog;
int ldr_pg_copy_products(PGconn *c, const char *tail, int stop_fd, int64_t deadline_ms,
                         struct ldr_pg_catalog *out, char *err, size_t size);

#endif
