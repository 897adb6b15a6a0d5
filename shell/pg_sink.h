/*
 * The order-history sink (shell/pg_sink.c): orders and their status changes from the log into
 * PostgreSQL, idempotently, behind a cursor of its own; on whenever LARDER_DATABASE_URL is set.
 */
#ifndef LARDER_SHELL_PG_SINK_H
#define LARDER_SHELL_PG_SINK_H

#include <stdint.h>

#include "larder/buf.h"
#include "larder/engine.h"

typedef struct ldr_pg_sink ldr_pg_sink_t;

/**
 * The sink of the log in data_dir/wal into the database at url, its cursor in data_dir/relay.
 * Reads the cursor and keeps the engine's log from it (call before the engine thread starts).
 * Returns LDR_OK, or LDR_EIO / LDR_EPARSE with a message in err.
 */
int ldr_pg_sink_new(const char *url, const char *data_dir, ldr_engine_t *e, ldr_pg_sink_t **out,
                    char *err, size_t err_len);
int ldr_pg_sink_start(ldr_pg_sink_t *s);
/** Stops the thread; what it has not written waits in the log for the next start. */
void ldr_pg_sink_stop(ldr_pg_sink_t *s);
void ldr_pg_sink_free(ldr_pg_sink_t *s);
/** Its Prometheus lines (larder_order_sink_*), with the log's durable LSN for the lag. */
void ldr_pg_sink_metrics(ldr_pg_sink_t *s, uint64_t durable, ldr_buf_t *b);

#endif
