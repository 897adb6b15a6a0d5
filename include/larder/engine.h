/*
 * larder — the engine: the state machine (stock, reservations) made durable by the write-ahead
 * log.
 *
 * This first version is synchronous and single-threaded: ldr_engine_execute() applies a command to
 * the in-memory state and, when the command changed it, appends the command to the log; the caller
 * makes a batch durable with ldr_engine_sync() before acknowledging any of it.  Refused commands
 * change nothing and are not logged.  ldr_engine_open() rebuilds the state by replaying the log
 * onto an empty state (a torn tail is cut and reported; corruption stops the open with the file
 * and offset).  The engine thread with its command queue and group-committed replies builds on
 * this.
 *
 * Failure: once the log fails (I/O error), the in-memory state may hold changes the log lost; the
 * engine refuses every further command with LDR_ESTORAGE and must be closed and opened again,
 * which recovers what reached the disk.
 */
#ifndef LARDER_ENGINE_H
#define LARDER_ENGINE_H

#include "larder/command.h"
#include "larder/wal.h"

typedef struct ldr_engine ldr_engine_t;

typedef struct ldr_engine_opts {
    const char *wal_dir;          /* the log's directory (created when missing) */
    const ldr_catalog_t *catalog; /* resolves SKUs; must outlive the engine */
    uint64_t wal_segment_bytes;   /* 0: the WAL's default */
} ldr_engine_opts_t;

/** Opens the log, replays it onto a fresh state; *report (may be NULL) says what recovery found. */
int ldr_engine_open(const ldr_engine_opts_t *opts, ldr_engine_t **out, ldr_wal_recovery_t *report);

/**
 * Applies c at time `now` (seconds since the epoch); logs it when it changed the state and stores
 * its LSN in *lsn (0 when refused; may be NULL).  Returns res->status, or LDR_ESTORAGE once the log
 * has failed.  Not durable until ldr_engine_sync().
 */
int ldr_engine_execute(ldr_engine_t *e, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res,
                       uint64_t *lsn);

/** Makes every logged command durable.  Returns LDR_OK or LDR_ESTORAGE. */
int ldr_engine_sync(ldr_engine_t *e);

/** The state; read-only for the caller, valid until the next execute or close. */
const ldr_state_t *ldr_engine_state(const ldr_engine_t *e);

/** Syncs and releases everything.  Returns LDR_OK or LDR_ESTORAGE. */
int ldr_engine_close(ldr_engine_t *e);

#endif
