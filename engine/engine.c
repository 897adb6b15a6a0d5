/*
 * The synchronous engine: apply, then log what changed; replay the log to recover.
 *
 * Logging after applying keeps refusals out of the log (they change nothing, so replay needs
 * nothing of them) and lets apply decide; it also means the state runs ahead of the disk between
 * a command and the next sync.  That is safe because nothing is acknowledged before the sync, and
 * because a failed log poisons the engine (see include/larder/engine.h).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "larder/engine.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "larder/snapshot.h"
#include "wal_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LDR__NS 1000000000LL

#define LDR__REOPEN_FIRST_MS 200
#define LDR__REOPEN_MAX_MS   10000
/* A snapshot child still running after this long is killed (see ldr__snap_reap). */
#define LDR__SNAP_CHILD_MAX_MS 120000
#define LDR__SNAP_STOP_WAIT_MS 5000

/*
 * The state's readers-writer lock, split per reading thread (a "big-reader" lock): a reader takes
 * the read side of its own thread's slot only, so readers on different cores never write one
 * cache line, and the engine thread takes the write side of every slot.  A thread keeps its slot
 * for life; threads beyond LDR__READ_SLOTS share slots, which stays correct.
 */
#define LDR__READ_SLOTS 8

typedef struct ldr__read_slot {
    pthread_rwlock_t lock;
    /* two cache lines a slot: the engine is calloc'ed, so the array's alignment is unknown */
    char pad[128 - sizeof(pthread_rwlock_t)];
} ldr__read_slot_t;

static atomic_uint ldr__read_slots_given;
static _Thread_local int ldr__read_slot = -1;

struct ldr_engine {
    ldr_wal_t *wal; /* NULL between a failed log's close and its reopening */
    ldr_state_t state;
    ldr_buf_t scratch;
    bool failed;
    /* reopening a failed log (engine thread only) */
    char *wal_dir;
    uint64_t segment_bytes;
    const ldr_wal_io_t *wal_io; /* the simulator's disk, or NULL */
    uint64_t lost_at;           /* the durable LSN when the log was closed after a failure */
    int64_t next_reopen_ms;     /* CLOCK_MONOTONIC */
    uint32_t reopen_backoff_ms;
    ldr__wal_fault_cb fault_cb; /* a test hook, kept across reopenings */
    void *fault_ctx;
    ldr_engine_log_fn log;
    void *log_ctx;
    /* snapshots (engine thread only once it runs) */
    uint64_t snap_every; /* records between snapshots; 0: none */
    uint64_t snap_lsn;   /* the newest complete snapshot's LSN (0: none) */
    uint64_t snap_tried; /* the last attempt's LSN: no new one before snapshot_every more */
    pid_t snap_pid;      /* the child writing one, or 0 */
    uint64_t snap_pending_lsn;
    int64_t snap_started_ms;
    int64_t snap_fork_us; /* how long the engine stopped for the fork */
    /* metrics: written by the engine thread (the WAL's batch callback), read by any */
    atomic_uint_fast64_t retain_from[LDR_RETAIN_READERS]; /* ldr_engine_retain_log */
    atomic_uint_fast64_t m_durable, m_snapshot, m_batches, m_records, m_bytes, m_sync_sum_us;
    atomic_uint_fast64_t m_sync[LDR_ENGINE_SYNC_BUCKETS], m_batch[LDR_ENGINE_BATCH_BUCKETS];
    atomic_bool m_failed;
    atomic_uint_fast64_t m_queued; /* submitted, not yet taken by the engine thread */
    /* the engine thread, or the thread that owns it (ldr_engine_start_owned) */
    pthread_t thread;
    bool running;
    bool owned; /* no thread of its own: its owner turns it (ldr_engine_turn) */
    int owner;  /* LDR__OWNER_*, under lock */
    pthread_cond_t owner_cond;
    pthread_mutex_t lock;
    ldr_engine_req_t *queue_head, *queue_tail; /* submitted, under lock */
    atomic_bool stopping;
    atomic_bool wake_wanted; /* the engine waits for requests: the next submit writes wake_fd */
    int wake_fd;
    ldr_engine_clock_fn clock;
    void *clock_ctx;
    ldr_engine_req_t *waiting_head, *waiting_tail; /* applied, waiting for durability */
    /* readers on other threads; the engine thread writes under all of them (see engine.h) */
    ldr__read_slot_t read_slots[LDR__READ_SLOTS];
    atomic_uint_fast64_t applied_lsn;
    atomic_uint_fast64_t generation; /* bumped when a reopened log rolls applied_lsn back */
    /* the expiry clock: a TICK every tick_seconds (0: never) */
    int64_t tick_seconds, next_tick;
    bool tick_pending; /* tick_req is between submission and done */
    ldr_engine_req_t tick_req;
};

typedef struct ldr__replayer {
    ldr_state_t *state;
    ldr_buf_t scratch;
} ldr__replayer_t;

static int ldr__replay(void *ctx, const ldr_wal_record_t *rec)
{
    ldr__replayer_t *rp = ctx;
    ldr_cmd_t c;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    ldr_cmd_result_t res;
    if (ldr_cmd_decode(rec->type, rec->data, rec->len, &c, lines) != LDR_OK)
        return LDR_ECORRUPT; /* the checksum held, so a writer logged what it cannot read */
    /* the command as asked, then the effects this replay produces: a logged record must come
     * out byte for byte, or the replay is not doing what the original run did */
    ldr_cmd_t asked = c;
    asked.has_effects = false;
    ldr_buf_reset(&rp->scratch);
    ldr_cmd_encode(&asked, &rp->scratch);
    /* a logged command changed the state when it ran, so it must apply again */
    if (ldr_cmd_apply_logged(rp->state, &c, rec->time / LDR__NS, &res,
                             c.has_effects ? &rp->scratch : NULL) != LDR_OK)
        return LDR_ECORRUPT;
    if (c.has_effects &&
        (rp->scratch.len != rec->len || memcmp(rp->scratch.base, rec->data, rec->len) != 0))
        return LDR_ECORRUPT;
    return LDR_OK;
}

const uint32_t ldr_engine_sync_le_us[LDR_ENGINE_SYNC_BUCKETS] = {
    100, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 50000, 100000, 1000000};
const uint32_t ldr_engine_batch_le[LDR_ENGINE_BATCH_BUCKETS] = {1,  2,   4,    8,    16,
                                                                64, 256, 1024, 4096, 16384};

static void ldr__bucket(atomic_uint_fast64_t *b, const uint32_t *le, uint32_t n, uint64_t v)
{
    uint32_t i = 0;
    while (i < n && v > le[i])
        i++;
    if (i < n)
        atomic_fetch_add_explicit(&b[i], 1, memory_order_relaxed);
}

/* Every durable batch (the engine thread, from inside ldr_wal_flush/poll/sync). */
static void ldr__on_batch(void *ctx, const ldr_wal_batch_info_t *info)
{
    ldr_engine_t *e = ctx;
    uint64_t us = (uint64_t)(info->complete_ns - info->submit_ns) / 1000;
    atomic_store_explicit(&e->m_durable, info->last_lsn, memory_order_release);
    atomic_fetch_add_explicit(&e->m_batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->m_records, info->records, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->m_bytes, info->bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->m_sync_sum_us, us, memory_order_relaxed);
    ldr__bucket(e->m_sync, ldr_engine_sync_le_us, LDR_ENGINE_SYNC_BUCKETS, us);
    ldr__bucket(e->m_batch, ldr_engine_batch_le, LDR_ENGINE_BATCH_BUCKETS, info->records);
}

static int ldr__open_log(ldr_wal_opts_t *wo, ldr_state_t *state, ldr_wal_t **w,
                         ldr_wal_recovery_t *report)
{
    ldr__replayer_t rp = {state, LDR_BUF_INIT};
    wo->replay_cb = ldr__replay;
    wo->replay_ctx = &rp;
    int rc = ldr_wal_open(wo, w, report);
    ldr_buf_free(&rp.scratch);
    return rc;
}

__attribute__((format(printf, 2, 3))) static void ldr__log(ldr_engine_t *e, const char *fmt, ...);

static ldr_state_t ldr__state_new(ldr_catalog_t *cat)
{
    return (ldr_state_t){.catalog = cat,
                         .stock = ldr_stock_new(),
                         .reservations = ldr_reservations_new(),
                         .idem = ldr_idem_new(),
                         .users = ldr_users_new(),
                         .carts = ldr_carts_new(),
                         .orders = ldr_orders_new()};
}

static void ldr__state_free(ldr_state_t *s)
{
    ldr_orders_free(s->orders);
    ldr_carts_free(s->carts);
    ldr_users_free(s->users);
    ldr_idem_free(s->idem);
    ldr_reservations_free(s->reservations);
    ldr_stock_free(s->stock);
}

/*
 * Recovery: the newest snapshot in the log's directory that verifies (an older one when it does
 * not: the log is kept back to the one before the newest), then the log from the record after
 * it.  *st must be a new state; it is replaced when a snapshot is tried and refused.
 */
static int ldr__recover(ldr_engine_t *e, ldr_wal_opts_t *wo, ldr_state_t *st, ldr_wal_t **w,
                        ldr_wal_recovery_t *report)
{
    uint64_t *lsns = NULL;
    uint32_t n = 0;
    wo->from_lsn = 0;
    e->snap_lsn = 0;
    if (ldr_snapshot_list(wo->dir, &lsns, &n) != LDR_OK)
        n = 0;
    for (uint32_t i = 0; i < n; i++) {
        char name[64], path[4200], err[256];
        ldr_snapshot_name(name, sizeof(name), lsns[i]);
        snprintf(path, sizeof(path), "%s/%s", wo->dir, name);
        ldr_snapshot_info_t info;
        int rc = ldr_snapshot_read(path, st->catalog, st, &info, err, sizeof(err));
        if (rc == LDR_OK) {
            wo->from_lsn = lsns[i] + 1;
            e->snap_lsn = lsns[i];
            break;
        }
        ldr__log(e, "snapshot %s is not usable (%s)%s", path, err,
                 i + 1 < n ? "; trying an older one" : "; replaying the whole log");
        ldr_catalog_t *cat = st->catalog;
        bool fixed = st->catalog_fixed;
        ldr__state_free(st);
        *st = ldr__state_new(cat);
        st->catalog_fixed = fixed;
    }
    free(lsns);
    wo->batch_cb = ldr__on_batch;
    wo->batch_ctx = e;
    int rc = ldr__open_log(wo, st, w, report);
    if (rc == LDR_OK) {
        atomic_store(&e->m_durable, ldr_wal_durable_lsn(*w));
        atomic_store(&e->m_snapshot, e->snap_lsn);
    }
    return rc;
}

static void ldr__read_slots_destroy(ldr_engine_t *e)
{
    for (int i = 0; i < LDR__READ_SLOTS; i++)
        pthread_rwlock_destroy(&e->read_slots[i].lock);
}

/* Every slot, always in the same order (readers hold one slot at a time: no cycle). */
static void ldr__write_lock(ldr_engine_t *e)
{
    for (int i = 0; i < LDR__READ_SLOTS; i++)
        pthread_rwlock_wrlock(&e->read_slots[i].lock);
}

static void ldr__write_unlock(ldr_engine_t *e)
{
    for (int i = LDR__READ_SLOTS - 1; i >= 0; i--)
        pthread_rwlock_unlock(&e->read_slots[i].lock);
}

int ldr_engine_open(const ldr_engine_opts_t *opts, ldr_engine_t **out, ldr_wal_recovery_t *report)
{
    ldr_engine_t *e = ldr_calloc(1, sizeof(*e));
    e->log = opts->log;
    e->log_ctx = opts->log_ctx;
    e->state = ldr__state_new(opts->catalog);
    /* writer-preferring, so a steady stream of readers cannot starve the engine thread */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (int i = 0; i < LDR__READ_SLOTS; i++)
        pthread_rwlock_init(&e->read_slots[i].lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    ldr_wal_opts_t wo = {
        .dir = opts->wal_dir, .io = opts->wal_io, .segment_bytes = opts->wal_segment_bytes};
    int rc = ldr__recover(e, &wo, &e->state, &e->wal, report);
    if (rc != LDR_OK) {
        ldr__read_slots_destroy(e);
        ldr__state_free(&e->state);
        ldr_free(e);
        return rc;
    }
    e->snap_every = opts->snapshot_every;
    atomic_init(&e->applied_lsn, ldr_wal_next_lsn(e->wal) - 1);
    for (int i = 0; i < LDR_RETAIN_READERS; i++)
        atomic_init(&e->retain_from[i], UINT64_MAX);
    size_t dlen = strlen(opts->wal_dir) + 1;
    e->wal_dir = memcpy(ldr_malloc(dlen), opts->wal_dir, dlen);
    e->segment_bytes = opts->wal_segment_bytes;
    e->wal_io = opts->wal_io;
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
    /* effects are logged after the command: see command.h */
    if (ldr_cmd_apply_logged(&e->state, c, now, res, &e->scratch) != LDR_OK)
        return res->status;
    if ((c->type == LDR_CMD_TICK && res->expired == 0) || res->replayed || res->noop)
        return res->status; /* nothing changed: nothing to replay */
    uint64_t at;
    int rc = ldr_wal_append(e->wal, c->type, now * LDR__NS, e->scratch.base, e->scratch.len, &at);
    if (rc != LDR_OK) {
        e->failed = true; /* the state now holds a change the log does not */
        return res->status = LDR_ESTORAGE;
    }
    atomic_store_explicit(&e->applied_lsn, at, memory_order_release);
    if (lsn != NULL)
        *lsn = at;
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
    int rc = e->wal != NULL ? ldr_wal_close(e->wal) : LDR_ESTORAGE;
    if (e->failed)
        rc = LDR_ESTORAGE;
    ldr_free(e->wal_dir);
    ldr__read_slots_destroy(e);
    ldr__state_free(&e->state);
    ldr_buf_free(&e->scratch);
    ldr_free(e);
    return rc;
}

bool ldr_engine_is_new(const ldr_engine_t *e)
{
    return e->wal != NULL && ldr_wal_next_lsn(e->wal) == 1;
}

static uint64_t ldr__durable(const ldr_engine_t *e)
{
    return e->wal != NULL ? ldr_wal_durable_lsn(e->wal) : e->lost_at;
}

void ldr_engine_read_lock(ldr_engine_t *e)
{
    if (ldr__read_slot < 0)
        ldr__read_slot =
            (int)(atomic_fetch_add_explicit(&ldr__read_slots_given, 1, memory_order_relaxed) %
                  LDR__READ_SLOTS);
    pthread_rwlock_rdlock(&e->read_slots[ldr__read_slot].lock);
}

void ldr_engine_read_unlock(ldr_engine_t *e)
{
    pthread_rwlock_unlock(&e->read_slots[ldr__read_slot].lock);
}

uint64_t ldr_engine_data_epoch(const ldr_engine_t *e)
{
    /* the applied LSN goes back when a failed log is reopened (unacknowledged records are cut):
     * the generation keeps the epoch moving forward regardless */
    return (atomic_load_explicit(&e->generation, memory_order_acquire) << 40) +
           atomic_load_explicit(&e->applied_lsn, memory_order_acquire);
}

uint64_t ldr_engine_applied_lsn(const ldr_engine_t *e)
{
    return atomic_load_explicit(&e->applied_lsn, memory_order_acquire);
}

/* ---- the engine thread ---- */

static int64_t ldr__realtime(void *ctx)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t ldr__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3))) static void ldr__log(ldr_engine_t *e, const char *fmt, ...)
{
    if (e->log == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e->log(e->log_ctx, msg);
}

/* The engine thread noticed the log failed: refuse writes and schedule a reopening. */
static void ldr__thread_failed(ldr_engine_t *e)
{
    if (e->reopen_backoff_ms != 0)
        return; /* already known */
    e->failed = true;
    atomic_store(&e->m_failed, true);
    e->reopen_backoff_ms = LDR__REOPEN_FIRST_MS;
    e->next_reopen_ms = ldr__mono_ms() + e->reopen_backoff_ms;
    ldr__log(e, "the write-ahead log failed (%s); writes are refused until it can be reopened",
             e->wal != NULL && ldr_wal_error(e->wal) ? ldr_wal_error(e->wal) : "I/O error");
}

/*
 * Reopening after a failure: the failed log is closed, and opened again with every record past
 * its last durable one cut off (nobody was told they happened); replaying it into a fresh state
 * gives exactly what was acknowledged, which then replaces the in-memory state, whose refused
 * changes vanish with it.  On failure, another try later, backing off to LDR__REOPEN_MAX_MS.
 */
static void ldr__try_reopen(ldr_engine_t *e)
{
    if (e->wal != NULL) {
        e->lost_at = ldr_wal_durable_lsn(e->wal);
        ldr_wal_close(e->wal);
        e->wal = NULL;
    }
    ldr_state_t fresh = ldr__state_new(e->state.catalog);
    fresh.catalog_fixed = true; /* the catalog holds every product change already */
    ldr_wal_opts_t wo = {.dir = e->wal_dir,
                         .io = e->wal_io,
                         .segment_bytes = e->segment_bytes,
                         .discard_from = e->lost_at + 1};
    ldr_wal_recovery_t rep;
    ldr_wal_t *w;
    if (ldr__recover(e, &wo, &fresh, &w, &rep) != LDR_OK) {
        ldr__state_free(&fresh);
        e->reopen_backoff_ms = e->reopen_backoff_ms * 2 > LDR__REOPEN_MAX_MS
                                   ? LDR__REOPEN_MAX_MS
                                   : e->reopen_backoff_ms * 2;
        e->next_reopen_ms = ldr__mono_ms() + e->reopen_backoff_ms;
        ldr__log(e, "reopening the write-ahead log failed (%s); next try in %u ms",
                 rep.message[0] ? rep.message : "I/O error", e->reopen_backoff_ms);
        return;
    }
    if (e->fault_cb != NULL)
        ldr__wal_set_fault(w, e->fault_cb, e->fault_ctx);
    if (e->owned)
        ldr_wal_set_inline_records(w, UINT32_MAX);
    ldr__write_lock(e);
    ldr_state_t old = e->state;
    e->state.stock = fresh.stock;
    e->state.reservations = fresh.reservations;
    e->state.idem = fresh.idem;
    e->state.users = fresh.users;
    e->state.carts = fresh.carts;
    e->state.orders = fresh.orders;
    e->wal = w;
    e->failed = false;
    atomic_store(&e->m_failed, false);
    e->reopen_backoff_ms = 0;
    atomic_store_explicit(&e->applied_lsn, ldr_wal_next_lsn(w) - 1, memory_order_release);
    atomic_fetch_add_explicit(&e->generation, 1, memory_order_release);
    ldr__write_unlock(e);
    ldr__state_free(&old);
    ldr__log(e,
             "the write-ahead log is back: reopened at LSN %llu (%llu records replayed, %llu "
             "unacknowledged cut); writes are accepted again",
             (unsigned long long)rep.last_lsn, (unsigned long long)rep.records,
             (unsigned long long)rep.discarded);
}

static int ldr__reopen_wait_ms(ldr_engine_t *e)
{
    if (!e->failed || e->reopen_backoff_ms == 0)
        return -1;
    int64_t left = e->next_reopen_ms - ldr__mono_ms();
    return left <= 0 ? 0 : (int)left;
}

/* Calls done for every waiting request whose reply rests only on durable commands. */
static void ldr__complete(ldr_engine_t *e, uint64_t durable, bool all)
{
    while (e->waiting_head != NULL && (all || e->waiting_head->wait_lsn <= durable)) {
        ldr_engine_req_t *r = e->waiting_head;
        e->waiting_head = r->next;
        if (e->waiting_head == NULL)
            e->waiting_tail = NULL;
        if (all && r->wait_lsn > durable && r->result.status == LDR_OK)
            r->result.status = LDR_ESTORAGE; /* its change never became durable */
        r->done(r);
    }
}

static void ldr__run_batch(ldr_engine_t *e, ldr_engine_req_t *batch)
{
    int64_t now = e->clock(e->clock_ctx);
    /* one write-lock hold per batch: readers wait at most one batch's apply */
    ldr__write_lock(e);
    for (ldr_engine_req_t *r = batch, *next; r != NULL; r = next) {
        next = r->next;
        ldr_engine_execute(e, &r->cmd, now, &r->result, &r->lsn);
        r->wait_lsn = e->wal != NULL ? ldr_wal_next_lsn(e->wal) - 1 : e->lost_at;
        r->next = NULL;
        if (e->waiting_tail != NULL)
            e->waiting_tail->next = r;
        else
            e->waiting_head = r;
        e->waiting_tail = r;
    }
    ldr__write_unlock(e);
    if (!e->failed && ldr_wal_flush(e->wal) != LDR_OK)
        e->failed = true;
    if (e->failed)
        ldr__thread_failed(e);
}

static void ldr__tick_done(ldr_engine_req_t *r)
{
    ((ldr_engine_t *)r->data)->tick_pending = false;
}

/* Puts a TICK in front of the batch when one is due, so lots and reservations expire on time. */
static ldr_engine_req_t *ldr__maybe_tick(ldr_engine_t *e, ldr_engine_req_t *batch)
{
    if (e->tick_seconds == 0 || e->tick_pending || e->failed)
        return batch;
    int64_t now = e->clock(e->clock_ctx);
    if (now < e->next_tick)
        return batch;
    e->next_tick = now + e->tick_seconds;
    e->tick_pending = true;
    memset(&e->tick_req, 0, sizeof(e->tick_req));
    e->tick_req.cmd.type = LDR_CMD_TICK;
    e->tick_req.done = ldr__tick_done;
    e->tick_req.data = e;
    e->tick_req.next = batch;
    return &e->tick_req;
}

/* Milliseconds until the next tick is due, for poll; -1 without ticks. */
static int ldr__tick_wait_ms(ldr_engine_t *e)
{
    if (e->tick_seconds == 0 || e->tick_pending || e->failed)
        return -1;
    int64_t left = e->next_tick - e->clock(e->clock_ctx);
    return left <= 0 ? 0 : (int)(left > 3600 ? 3600000 : left * 1000);
}

void ldr_engine_set_tick(ldr_engine_t *e, uint32_t seconds)
{
    e->tick_seconds = seconds;
    e->next_tick = 0;
}

static bool ldr__queue_empty(ldr_engine_t *e)
{
    pthread_mutex_lock(&e->lock);
    bool empty = e->queue_head == NULL;
    pthread_mutex_unlock(&e->lock);
    return empty;
}

/* Milliseconds until the engine has something to do by itself (-1: only when woken). */
static int ldr__idle_ms(ldr_engine_t *e)
{
    int timeout = e->failed ? ldr__reopen_wait_ms(e) : ldr__tick_wait_ms(e);
    if (e->snap_pid != 0 && (timeout < 0 || timeout > 20))
        timeout = 20; /* a snapshot child is checked on while it writes */
    return timeout;
}

/*
 * Waiting.  While a batch is on its way to the disk, new requests could only join the next batch,
 * which cannot start before this one completes, so the engine waits for the log alone, inside
 * io_uring_enter (ldr_wal_poll with wait), and takes everything queued meanwhile at once:
 * submitters then never make a system call.  (Waiting on the ring's eventfd instead is not
 * reliable on DEFER_TASKRUN rings: the kernel signals it only when its list of pending task work
 * was empty, and a server hung with two completions pending and the eventfd at zero.)  With
 * nothing in flight it asks for a wake-up (wake_wanted) and re-checks the queue before it sleeps
 * on wake_fd, so a request submitted in between is not missed: either the check sees it or its
 * submitter sees the flag.
 */
static void ldr__wait(ldr_engine_t *e)
{
    if (!e->failed && ldr_wal_busy(e->wal)) {
        uint64_t durable;
        if (ldr_wal_poll(e->wal, true, &durable) != LDR_OK)
            ldr__thread_failed(e);
        return;
    }
    int timeout = ldr__idle_ms(e);
    atomic_store(&e->wake_wanted, true);
    if (!ldr__queue_empty(e) || atomic_load(&e->stopping) || timeout == 0) {
        atomic_store(&e->wake_wanted, false);
        return;
    }
    struct pollfd fd = {e->wake_fd, POLLIN, 0};
    int n = poll(&fd, 1, timeout);
    atomic_store(&e->wake_wanted, false);
    uint64_t v;
    if (n > 0 && (fd.revents & POLLIN))
        (void)!read(e->wake_fd, &v, sizeof(v));
}

/* ---- snapshots ---- */

static int ldr__fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/*
 * Starts writing a snapshot of the state as of `lsn` (every applied record, all durable) from a
 * forked child, which sees the state frozen at the fork while the engine goes on: writes stop
 * only for the fork itself.  The child writes NAME.tmp, syncs it, renames it into place, syncs
 * the directory and exits; it takes no lock and touches nothing but that file.
 */
static void ldr__snap_start(ldr_engine_t *e, uint64_t lsn)
{
    char name[64], path[4200], tmp[4210];
    ldr_snapshot_name(name, sizeof(name), lsn);
    snprintf(path, sizeof(path), "%s/%s", e->wal_dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int64_t time_ns = e->clock(e->clock_ctx) * LDR__NS;
    struct timespec f0, f1;
    clock_gettime(CLOCK_MONOTONIC, &f0);
    e->snap_started_ms = ldr__mono_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        /* the child holds no socket of the parent's: a connection the parent closes meanwhile
         * must end, and a closed listener must leave its SO_REUSEPORT group */
        if (fd > 3)
            syscall(SYS_close_range, 3u, (unsigned)fd - 1, 0u);
        if (fd >= 0)
            syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);
        bool ok = fd >= 0 && ldr_snapshot_write(fd, &e->state, lsn, time_ns, NULL) == LDR_OK;
        ok = fd >= 0 && close(fd) == 0 && ok;
        ok = ok && rename(tmp, path) == 0 && ldr__fsync_dir(e->wal_dir) == 0;
        if (!ok)
            unlink(tmp);
        _exit(ok ? 0 : 1);
    }
    e->snap_tried = lsn; /* success or not, the next try waits for snapshot_every records */
    if (pid < 0) {
        ldr__log(e, "cannot fork to write a snapshot: %s", strerror(errno));
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &f1);
    e->snap_fork_us = (f1.tv_sec - f0.tv_sec) * 1000000 + (f1.tv_nsec - f0.tv_nsec) / 1000;
    e->snap_pid = pid;
    e->snap_pending_lsn = lsn;
}

/*
 * After a snapshot child: on success the newest two snapshots stay, older ones go, and so do the
 * log segments before the older of the two (so that a damaged newest snapshot still leaves a way
 * back).  `block` waits for the child.
 */
static void ldr__snap_reap(ldr_engine_t *e, bool block)
{
    if (e->snap_pid == 0)
        return;
    /*
     * The child is a fork of a process with many threads: if one of them held a lock the child
     * then needs (seen: a sanitizer allocator's, which has no fork handler), the child waits
     * forever.  So it gets a bound: LDR__SNAP_CHILD_MAX_MS while serving, LDR__SNAP_STOP_WAIT_MS
     * at shutdown; then it is killed and the snapshot counts as failed (the log is kept whole).
     */
    int status;
    pid_t r;
    int64_t limit = block ? ldr__mono_ms() + LDR__SNAP_STOP_WAIT_MS
                          : e->snap_started_ms + LDR__SNAP_CHILD_MAX_MS;
    for (;;) {
        r = waitpid(e->snap_pid, &status, WNOHANG);
        if (r != 0 && !(r < 0 && errno == EINTR))
            break;
        if (ldr__mono_ms() >= limit) {
            ldr__log(e,
                     "the snapshot child writing LSN %" PRIu64 " was still running after %" PRId64
                     " ms: killed",
                     e->snap_pending_lsn, ldr__mono_ms() - e->snap_started_ms);
            kill(e->snap_pid, SIGKILL);
            r = waitpid(e->snap_pid, &status, 0);
            break;
        }
        if (!block)
            return;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    e->snap_pid = 0;
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ldr__log(e, "writing the snapshot at LSN %" PRIu64 " failed; the log is kept whole",
                 e->snap_pending_lsn);
        return; /* snap_lsn stays the last real snapshot: nothing is removed behind it */
    }
    uint64_t prev = e->snap_lsn, *lsns = NULL;
    uint32_t n = 0, removed = 0, dropped = 0;
    e->snap_lsn = e->snap_pending_lsn;
    atomic_store_explicit(&e->m_snapshot, e->snap_lsn, memory_order_relaxed);
    if (ldr_snapshot_list(e->wal_dir, &lsns, &n) == LDR_OK) {
        for (uint32_t i = 0; i < n; i++) {
            if (lsns[i] >= prev || lsns[i] == e->snap_lsn)
                continue;
            char name[64], path[4200];
            ldr_snapshot_name(name, sizeof(name), lsns[i]);
            snprintf(path, sizeof(path), "%s/%s", e->wal_dir, name);
            dropped += unlink(path) == 0;
        }
        free(lsns);
    }
    uint64_t keep = UINT64_MAX;
    for (int i = 0; i < LDR_RETAIN_READERS; i++) {
        uint64_t from = atomic_load_explicit(&e->retain_from[i], memory_order_acquire);
        keep = from < keep ? from : keep;
    }
    if (prev > 0 && e->wal != NULL && !e->failed)
        ldr_wal_remove_before(e->wal, keep < prev + 1 ? keep : prev + 1, &removed);
    ldr__log(e,
             "snapshot at LSN %" PRIu64 " written in %" PRId64 " ms (writes paused %.1f ms for "
             "the fork); %u older snapshots and %u log segments removed",
             e->snap_lsn, ldr__mono_ms() - e->snap_started_ms, (double)e->snap_fork_us / 1e3,
             dropped, removed);
}

/*
 * Whether a snapshot is due, and what to do about it: true means "do not take new requests now"
 * (the log is still draining, so that the snapshot's LSN is durable).
 */
static bool ldr__snap_hold(ldr_engine_t *e)
{
    uint64_t applied = atomic_load_explicit(&e->applied_lsn, memory_order_relaxed);
    uint64_t since = e->snap_tried > e->snap_lsn ? e->snap_tried : e->snap_lsn;
    if (e->snap_every == 0 || e->failed || e->snap_pid != 0 || applied - since < e->snap_every ||
        atomic_load(&e->stopping))
        return false;
    if (!ldr_wal_busy(e->wal) && ldr_wal_durable_lsn(e->wal) < applied &&
        ldr_wal_flush(e->wal) != LDR_OK)
        return false; /* the failure is found by the next poll */
    if (ldr_wal_busy(e->wal))
        return true;
    ldr__snap_start(e, applied);
    return false;
}

/* The thread that runs the engine from now on takes the log (its io_uring ring may be bound to
 * the thread that loaded it: ldr_wal_rebind). */
static void ldr__take_log(ldr_engine_t *e)
{
    if (!e->failed && e->wal != NULL && ldr_wal_rebind(e->wal) != LDR_OK)
        ldr__thread_failed(e);
}

enum { LDR__TURNED, LDR__HELD, LDR__STOPPED };

/*
 * One turn: everything queued is applied and its batch handed to the log, completions are reaped
 * and their requests answered.  LDR__HELD: a snapshot is due and waits for the batch in flight,
 * so nothing was taken.  LDR__STOPPED (only when `may_stop`): stopping, and everything is done.
 */
static int ldr__turn(ldr_engine_t *e, bool may_stop)
{
    if (e->failed && !atomic_load(&e->stopping) && ldr__reopen_wait_ms(e) == 0)
        ldr__try_reopen(e);
    ldr__snap_reap(e, false);
    if (ldr__snap_hold(e))
        return LDR__HELD;
    pthread_mutex_lock(&e->lock);
    ldr_engine_req_t *batch = e->queue_head;
    e->queue_head = e->queue_tail = NULL;
    atomic_store_explicit(&e->m_queued, 0, memory_order_relaxed);
    pthread_mutex_unlock(&e->lock);
    batch = ldr__maybe_tick(e, batch);
    uint64_t durable = 0;
    /* reap first: a completed flush lets this batch go to the disk at once */
    if (!e->failed && ldr_wal_poll(e->wal, false, &durable) != LDR_OK)
        ldr__thread_failed(e);
    if (batch != NULL)
        ldr__run_batch(e, batch);
    if (!e->failed && ldr_wal_poll(e->wal, false, &durable) != LDR_OK)
        ldr__thread_failed(e);
    if (e->failed) {
        ldr__complete(e, ldr__durable(e), true);
    } else {
        ldr__complete(e, durable, false);
    }
    if (may_stop && atomic_load(&e->stopping) && ldr__queue_empty(e)) {
        if (!e->failed && ldr_wal_sync(e->wal) != LDR_OK)
            e->failed = true;
        ldr__complete(e, ldr__durable(e), true);
        ldr__snap_reap(e, true);
        return LDR__STOPPED;
    }
    return LDR__TURNED;
}

/* The engine thread's loop, also an owner's last act: turns until stopped and done. */
static void ldr__run_out(ldr_engine_t *e)
{
    do
        ldr__wait(e); /* blocks on the batch in flight, or until there is work */
    while (ldr__turn(e, true) != LDR__STOPPED);
}

static void *ldr__engine_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-engine"); /* for top -H, ps -L and perf */
    ldr_engine_t *e = arg;
    ldr__take_log(e);
    ldr__run_out(e);
    return NULL;
}

static int ldr__start_common(ldr_engine_t *e, ldr_engine_clock_fn clock, void *clock_ctx)
{
    e->clock = clock != NULL ? clock : ldr__realtime;
    e->clock_ctx = clock_ctx;
    e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e->wake_fd < 0)
        return LDR_EIO;
    pthread_mutex_init(&e->lock, NULL);
    atomic_init(&e->stopping, false);
    atomic_init(&e->wake_wanted, false);
    return LDR_OK;
}

int ldr_engine_start(ldr_engine_t *e, ldr_engine_clock_fn clock, void *clock_ctx)
{
    int rc = ldr__start_common(e, clock, clock_ctx);
    if (rc != LDR_OK)
        return rc;
    if (pthread_create(&e->thread, NULL, ldr__engine_main, e) != 0) {
        pthread_mutex_destroy(&e->lock);
        close(e->wake_fd);
        return LDR_ENOMEM;
    }
    /* named here too, not only by the thread itself: it has its name when this returns (a busy
     * machine may not run a new thread for a while) */
    pthread_setname_np(e->thread, "larder-engine");
    e->running = true;
    return LDR_OK;
}

/*
 * The engine without a thread (see engine.h).  Its owner is whichever thread turns it first; the
 * log's io_uring ring is then bound to that thread.  `owner` goes UNCLAIMED -> CLAIMED (first
 * turn) -> DONE (ldr_engine_run returned), or UNCLAIMED -> GONE when ldr_engine_stop comes first
 * and runs the engine out itself.
 */
enum { LDR__OWNER_UNCLAIMED, LDR__OWNER_CLAIMED, LDR__OWNER_DONE, LDR__OWNER_GONE };

/* The engine the running thread owns: its own submits need no wake-up, its next turn takes them. */
static _Thread_local ldr_engine_t *ldr__owned_here;

int ldr_engine_start_owned(ldr_engine_t *e, ldr_engine_clock_fn clock, void *clock_ctx)
{
    int rc = ldr__start_common(e, clock, clock_ctx);
    if (rc != LDR_OK)
        return rc;
    pthread_cond_init(&e->owner_cond, NULL);
    e->owned = true;
    e->owner = LDR__OWNER_UNCLAIMED;
    /* the owner waits for every batch: written in one go where one write does, no io_uring hop */
    if (e->wal != NULL)
        ldr_wal_set_inline_records(e->wal, UINT32_MAX);
    atomic_store(&e->wake_wanted, true);
    e->running = true;
    return LDR_OK;
}

int ldr_engine_wake_fd(const ldr_engine_t *e)
{
    return e->wake_fd;
}

int ldr_engine_turn(ldr_engine_t *e)
{
    if (!e->owned)
        return -1; /* it has a thread of its own */
    if (ldr__owned_here != e) {
        pthread_mutex_lock(&e->lock);
        bool mine = e->owner == LDR__OWNER_UNCLAIMED;
        if (mine)
            e->owner = LDR__OWNER_CLAIMED;
        pthread_mutex_unlock(&e->lock);
        if (!mine)
            return -1; /* stopped before this thread ever turned it */
        ldr__owned_here = e;
        ldr__take_log(e);
    }
    /* from here on a submit from another thread wakes the owner (ldr_engine_submit); one that
     * came before is taken below */
    atomic_store(&e->wake_wanted, true);
    int r;
    do {
        r = ldr__turn(e, false);
        if (!e->failed && ldr_wal_sync(e->wal) != LDR_OK) /* what the turn left on its way */
            ldr__thread_failed(e);
        ldr__complete(e, ldr__durable(e), e->failed);
    } while (r == LDR__HELD);
    return ldr__idle_ms(e);
}

void ldr_engine_run(ldr_engine_t *e)
{
    if (!e->owned)
        return;
    pthread_mutex_lock(&e->lock);
    bool mine = e->owner == LDR__OWNER_CLAIMED && ldr__owned_here == e;
    pthread_mutex_unlock(&e->lock);
    if (!mine)
        return;
    ldr__run_out(e);
    ldr__owned_here = NULL;
    pthread_mutex_lock(&e->lock);
    e->owner = LDR__OWNER_DONE;
    pthread_cond_broadcast(&e->owner_cond);
    pthread_mutex_unlock(&e->lock);
}

void ldr_engine_submit(ldr_engine_t *e, ldr_engine_req_t *req)
{
    req->next = NULL;
    pthread_mutex_lock(&e->lock);
    if (e->queue_tail != NULL)
        e->queue_tail->next = req;
    else
        e->queue_head = req;
    e->queue_tail = req;
    atomic_fetch_add_explicit(&e->m_queued, 1, memory_order_relaxed);
    pthread_mutex_unlock(&e->lock);
    if (ldr__owned_here == e)
        return; /* its owner's next turn takes it */
    if (atomic_exchange(&e->wake_wanted, false)) {
        uint64_t one = 1;
        (void)!write(e->wake_fd, &one, sizeof(one));
    }
}

void ldr_engine_stop(ldr_engine_t *e)
{
    if (!e->running)
        return;
    atomic_store(&e->stopping, true);
    uint64_t one = 1;
    (void)!write(e->wake_fd, &one, sizeof(one));
    if (!e->owned) {
        pthread_join(e->thread, NULL);
    } else {
        pthread_mutex_lock(&e->lock);
        /* never turned, or turned by this very thread: this thread completes what is queued */
        bool run_here = e->owner == LDR__OWNER_UNCLAIMED || ldr__owned_here == e;
        if (run_here)
            e->owner = LDR__OWNER_GONE;
        while (!run_here && e->owner != LDR__OWNER_DONE)
            pthread_cond_wait(&e->owner_cond, &e->lock);
        pthread_mutex_unlock(&e->lock);
        if (run_here) {
            ldr__take_log(e);
            ldr__run_out(e);
            ldr__owned_here = NULL;
        }
        pthread_cond_destroy(&e->owner_cond);
    }
    pthread_mutex_destroy(&e->lock);
    close(e->wake_fd);
    e->running = false;
}

void ldr_engine_metrics(ldr_engine_t *e, ldr_engine_metrics_t *out)
{
    memset(out, 0, sizeof(*out));
    out->applied_lsn = ldr_engine_applied_lsn(e);
    out->durable_lsn = atomic_load_explicit(&e->m_durable, memory_order_relaxed);
    out->snapshot_lsn = atomic_load_explicit(&e->m_snapshot, memory_order_relaxed);
    out->failed = atomic_load(&e->m_failed);
    out->queued = atomic_load_explicit(&e->m_queued, memory_order_relaxed);
    out->batches = atomic_load_explicit(&e->m_batches, memory_order_relaxed);
    out->records = atomic_load_explicit(&e->m_records, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&e->m_bytes, memory_order_relaxed);
    out->sync_sum_us = atomic_load_explicit(&e->m_sync_sum_us, memory_order_relaxed);
    for (int i = 0; i < LDR_ENGINE_SYNC_BUCKETS; i++)
        out->sync_buckets[i] = atomic_load_explicit(&e->m_sync[i], memory_order_relaxed);
    for (int i = 0; i < LDR_ENGINE_BATCH_BUCKETS; i++)
        out->batch_buckets[i] = atomic_load_explicit(&e->m_batch[i], memory_order_relaxed);
    ldr_engine_read_lock(e);
    out->reservations = ldr_reservations_count(e->state.reservations);
    out->idempotency_keys = ldr_idem_count(e->state.idem);
    ldr_engine_read_unlock(e);
}

uint64_t ldr_engine_snapshot_lsn(const ldr_engine_t *e)
{
    return e->snap_lsn;
}

uint64_t ldr_engine_durable_lsn(const ldr_engine_t *e)
{
    return atomic_load_explicit(&e->m_durable, memory_order_acquire);
}

void ldr_engine_retain_log(ldr_engine_t *e, int reader, uint64_t lsn)
{
    atomic_store_explicit(&e->retain_from[reader], lsn, memory_order_release);
}

void ldr_engine_set_wal_fault(ldr_engine_t *e, int (*cb)(void *ctx, int op, int res), void *ctx)
{
    e->fault_cb = cb;
    e->fault_ctx = ctx;
    if (e->wal != NULL)
        ldr__wal_set_fault(e->wal, cb, ctx);
}
