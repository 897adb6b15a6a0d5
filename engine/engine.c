/*
 * The synchronous engine: apply, then log what changed; replay the log to recover.
 *
 * Logging after applying keeps refusals out of the log (they change nothing, so replay needs
 * nothing of them) and lets apply decide; it also means the state runs ahead of the disk between
 * a command and the next sync.  That is safe because nothing is acknowledged before the sync, and
 * because a failed log poisons the engine (see include/larder/engine.h).
 */
#include "larder/engine.h"

#include <string.h>

#define LDR__NS 1000000000LL

struct ldr_engine {
    ldr_wal_t *wal;
    ldr_state_t state;
    ldr_buf_t scratch;
    bool failed;
};

static int ldr__replay(void *ctx, const ldr_wal_record_t *rec)
{
    ldr_engine_t *e = ctx;
    ldr_cmd_t c;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    ldr_cmd_result_t res;
    if (ldr_cmd_decode(rec->type, rec->data, rec->len, &c, lines) != LDR_OK)
        return LDR_ECORRUPT; /* the checksum held, so a writer logged what it cannot read */
    /* a logged command changed the state when it ran, so it must apply again */
    return ldr_cmd_apply(&e->state, &c, rec->time / LDR__NS, &res) == LDR_OK ? LDR_OK
                                                                             : LDR_ECORRUPT;
}

int ldr_engine_open(const ldr_engine_opts_t *opts, ldr_engine_t **out, ldr_wal_recovery_t *report)
{
    ldr_engine_t *e = ldr_calloc(1, sizeof(*e));
    e->state = (ldr_state_t){opts->catalog, ldr_stock_new(), ldr_reservations_new()};
    ldr_wal_opts_t wo = {.dir = opts->wal_dir,
                         .segment_bytes = opts->wal_segment_bytes,
                         .replay_cb = ldr__replay,
                         .replay_ctx = e};
    int rc = ldr_wal_open(&wo, &e->wal, report);
    if (rc != LDR_OK) {
        ldr_reservations_free(e->state.reservations);
        ldr_stock_free(e->state.stock);
        ldr_free(e);
        return rc;
    }
    *out = e;
    return LDR_OK;
}

int ldr_engine_execute(ldr_engine_t *e, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res,
                       uint64_t *lsn)
{
    if (lsn != NULL)
        *lsn = 0;
    if (e->failed) {
        memset(res, 0, sizeof(*res));
        return res->status = LDR_ESTORAGE;
    }
    ldr_buf_reset(&e->scratch);
    if (ldr_cmd_encode(c, &e->scratch) != LDR_OK) {
        memset(res, 0, sizeof(*res));
        return res->status = LDR_EINVAL;
    }
    if (ldr_cmd_apply(&e->state, c, now, res) != LDR_OK)
        return res->status;
    if (c->type == LDR_CMD_TICK && res->expired == 0)
        return res->status; /* nothing expired: nothing to replay */
    int rc = ldr_wal_append(e->wal, c->type, now * LDR__NS, e->scratch.base, e->scratch.len, lsn);
    if (rc != LDR_OK) {
        e->failed = true; /* the state now holds a change the log does not */
        return res->status = LDR_ESTORAGE;
    }
    return res->status;
}

int ldr_engine_sync(ldr_engine_t *e)
{
    if (e->failed)
        return LDR_ESTORAGE;
    int rc = ldr_wal_sync(e->wal);
    if (rc != LDR_OK)
        e->failed = true;
    return rc;
}

const ldr_state_t *ldr_engine_state(const ldr_engine_t *e)
{
    return &e->state;
}

int ldr_engine_close(ldr_engine_t *e)
{
    if (e == NULL)
        return LDR_OK;
    int rc = ldr_wal_close(e->wal);
    if (e->failed)
        rc = LDR_ESTORAGE;
    ldr_reservations_free(e->state.reservations);
    ldr_stock_free(e->state.stock);
    ldr_buf_free(&e->scratch);
    ldr_free(e);
    return rc;
}
