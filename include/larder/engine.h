/*
 * larder — the engine: the state machine (stock, reservations) made durable by the write-ahead
 * log.
 *
 * The synchronous core: ldr_engine_execute() applies a command to the in-memory state and, when
 * the command changed it, appends the command to the log; the caller makes a batch durable with
 * ldr_engine_sync() before acknowledging any of it.  Refused commands change nothing and are not
 * logged.  ldr_engine_open() rebuilds the state by replaying the log onto an empty state (a torn
 * tail is cut and reported; corruption stops the open with the file and offset).  The engine
 * thread (below) with its command queue and group-committed replies builds on this, and so does
 * the owned engine, the same run in turns on a thread of the caller's.
 *
 * The synchronous calls may come first (seeding, a catalog import), then the engine thread or
 * owner takes the log over (ldr_wal_rebind: the log's ring is bound to one thread at a time);
 * never the synchronous calls while the engine runs.
 *
 * Failure: once the log fails (I/O error), the in-memory state may hold changes the log lost; the
 * engine refuses every further command with LDR_ESTORAGE.  A synchronous engine must be closed
 * and opened again, which recovers what reached the disk.  A running engine (its thread, or its
 * owner's turns) does that itself:
 * it retries (200 ms, then backing off to 10 s) to reopen the log with everything past the last
 * durable record cut off, replays it into a fresh state and swaps that in; writes are accepted
 * again from then on (ENOSPC that was freed, a disk that came back).
 */
#ifndef LARDER_ENGINE_H
#define LARDER_ENGINE_H

#include "larder/command.h"
#include "larder/wal.h"

typedef struct ldr_engine ldr_engine_t;

/** Where the engine thread reports what an operator should know (a failed log, its return). */
typedef void (*ldr_engine_log_fn)(void *ctx, const char *message);

typedef struct ldr_engine_opts {
    const char *wal_dir;        /* the log's directory (created when missing) */
    ldr_catalog_t *catalog;     /* resolves SKUs, and product commands change it; must outlive the
                                   engine.  Only the engine changes it once opened: other threads
                                   read it under ldr_engine_read_lock (or read a frozen copy) */
    uint64_t wal_segment_bytes; /* 0: the WAL's default */
    ldr_engine_log_fn log;      /* optional; called on the engine thread */
    void *log_ctx;
    uint64_t snapshot_every;    /* the engine thread snapshots after this many records; 0: never */
    const ldr_wal_io_t *wal_io; /* a simulated disk for the log (tests/sim/); NULL: the real one */
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

/**
 * A test hook (engine/wal_internal.h's fault hook): every WAL completion goes through cb, which
 * may replace its result (e.g. -EIO for an fsync).  Kept across reopenings.  Set it before
 * ldr_engine_start.
 */
void ldr_engine_set_wal_fault(ldr_engine_t *e, int (*cb)(void *ctx, int op, int res), void *ctx);

/** The LSN of the newest complete snapshot (the one recovery started from, until the engine
 *  thread writes a newer one); 0 when there is none.  Not synchronised: read it before the
 *  engine thread starts, or on it. */
uint64_t ldr_engine_snapshot_lsn(const ldr_engine_t *e);

/* What /metrics shows of the engine; any thread may take it. */
#define LDR_ENGINE_SYNC_BUCKETS  12
#define LDR_ENGINE_BATCH_BUCKETS 10
/** Upper bounds of the sync-latency buckets (µs) and of the batch-size buckets (records). */
extern const uint32_t ldr_engine_sync_le_us[LDR_ENGINE_SYNC_BUCKETS];
extern const uint32_t ldr_engine_batch_le[LDR_ENGINE_BATCH_BUCKETS];

typedef struct ldr_engine_metrics {
    uint64_t applied_lsn, durable_lsn, snapshot_lsn;
    bool failed;
    uint64_t queued;                  /* requests waiting for the engine thread to take them */
    uint64_t batches, records, bytes; /* made durable since open */
    uint64_t sync_buckets[LDR_ENGINE_SYNC_BUCKETS], sync_sum_us;
    uint64_t batch_buckets[LDR_ENGINE_BATCH_BUCKETS];
    uint32_t reservations, idempotency_keys;
} ldr_engine_metrics_t;

void ldr_engine_metrics(ldr_engine_t *e, ldr_engine_metrics_t *out);

/** The highest LSN known durable, as the engine thread last published it; any thread. */
uint64_t ldr_engine_durable_lsn(const ldr_engine_t *e);

/* The readers of the log that keep segments for themselves (ldr_engine_retain_log). */
enum { LDR_RETAIN_KAFKA, LDR_RETAIN_PG, LDR_RETAIN_READERS };

/**
 * Keeps the log segments that hold records from `lsn` on, whatever snapshots cover, for one
 * reader of the log (the Kafka relay, the PostgreSQL sink) that still needs them; any thread, at
 * any time; UINT64_MAX (the default) keeps only what recovery needs.  Set it before the engine
 * thread starts to be sure no segment goes before.
 */
void ldr_engine_retain_log(ldr_engine_t *e, int reader, uint64_t lsn);

/** The state; read-only for the caller, valid until the next execute or close. */
const ldr_state_t *ldr_engine_state(const ldr_engine_t *e);

/** True when the log holds no record yet: a new data dir, which an initial stock may seed. */
bool ldr_engine_is_new(const ldr_engine_t *e);

/**
 * Reading the state from other threads while the engine thread runs: bracket every look at
 * ldr_engine_state() (and anything it points to) with these.  The lock is split per reading
 * thread: a reader takes only its own thread's slot, so readers never share a written cache line
 * and never wait for each other.  The engine thread takes every slot once per batch while it
 * applies it, so a reader waits at most one batch's apply (tens of microseconds), and readers
 * never wait for the disk.  Not recursive: a thread holding the read side must not take it again.
 * Readers may see a change up to one flush before it is durable (as Redis clients do under
 * appendfsync always); its writer is not answered until it is.
 */
void ldr_engine_read_lock(ldr_engine_t *e);
void ldr_engine_read_unlock(ldr_engine_t *e);

/** The LSN of the last change applied (durable or not); any thread. */
uint64_t ldr_engine_applied_lsn(const ldr_engine_t *e);
/** A number that changes with every change to the state and never goes back (the applied LSN
 *  does, when a failed log is reopened); any thread.  Caches of derived answers compare it. */
uint64_t ldr_engine_data_epoch(const ldr_engine_t *e);

/** Syncs and releases everything.  Returns LDR_OK or LDR_ESTORAGE. */
int ldr_engine_close(ldr_engine_t *e);

/*
 * The engine thread.  Any thread submits requests; the engine thread applies them in arrival
 * order, logs what changed, and calls each request's `done` once every command applied before its
 * reply was decided is durable — refusals included, since a refusal may rest on an earlier,
 * not yet durable change.  Batches group-commit: while one flush is in flight, the next batch
 * is applied and collected.
 */
typedef struct ldr_engine_req ldr_engine_req_t;
/**
 * Called on the thread that runs the engine (the engine thread, or the owner: with
 * LARDER_ENGINE=loop, HTTP loop 0, whose connections wait while it runs: it must not block); the
 * request may be freed or reused from inside the callback.
 */
typedef void (*ldr_engine_done_cb)(ldr_engine_req_t *req);

struct ldr_engine_req {
    ldr_cmd_t cmd;           /* its strings and lines must stay valid until done runs */
    ldr_cmd_result_t result; /* filled before done */
    uint64_t lsn;            /* the command's LSN, 0 when it changed nothing */
    ldr_engine_done_cb done;
    void *data; /* the submitter's */
    /* private */
    uint64_t wait_lsn;
    ldr_engine_req_t *next;
};

/** Seconds since the epoch for stamping commands; NULL means CLOCK_REALTIME. */
typedef int64_t (*ldr_engine_clock_fn)(void *ctx);

/**
 * Starts the engine thread on e, which then owns it: until ldr_engine_stop returns, only submit
 * may be called.  After stop, ldr_engine_close (from any thread) releases it.  A request whose
 * change could not be made durable completes with LDR_ESTORAGE.
 */
int ldr_engine_start(ldr_engine_t *e, ldr_engine_clock_fn clock, void *clock_ctx);
/**
 * Before ldr_engine_start: the engine thread then applies a TICK (expiring lots and reservations
 * whose time has come; logged only when it expired something) every `seconds` of its clock.
 * 0 (the default) never ticks.
 */
void ldr_engine_set_tick(ldr_engine_t *e, uint32_t seconds);
/** Queues req; safe from any thread, but not once ldr_engine_stop has been called. */
void ldr_engine_submit(ldr_engine_t *e, ldr_engine_req_t *req);
/**
 * Completes everything submitted, makes it durable, and joins the thread.  An engine started
 * owned: waits until its owner's ldr_engine_run returns, or, when no thread ever turned it or the
 * caller is its owner, runs it out on the calling thread.
 */
void ldr_engine_stop(ldr_engine_t *e);

/*
 * The engine on a thread of the caller's (LARDER_ENGINE=loop: the first HTTP loop's).  Instead of
 * a thread of its own, the thread that first calls ldr_engine_turn owns the engine and turns it
 * between its other work: a turn applies everything queued, writes and syncs its batch before it
 * returns (one pwritev2 with RWF_DSYNC where one write does, as Redis under appendfsync always
 * writes before it answers), and calls the requests' `done` on the owner.  A request submitted on
 * the owner's thread reaches the engine with no system call and no thread switch; one from another
 * thread writes ldr_engine_wake_fd, which the owner watches.  On a machine with fewer cores than
 * busy threads this saves the hand-offs to and from an engine thread (docs/PERFORMANCE.md); the
 * owner's other work waits while a batch is on the disk.
 */
/** Like ldr_engine_start, without a thread: the first thread to call ldr_engine_turn owns it. */
int ldr_engine_start_owned(ldr_engine_t *e, ldr_engine_clock_fn clock, void *clock_ctx);
/** Readable (an eventfd; reading it is the owner's) when a turn is wanted for another thread. */
int ldr_engine_wake_fd(const ldr_engine_t *e);
/**
 * One turn, on the owner's thread: takes everything queued, applies it, makes it durable and
 * completes it.  Returns the milliseconds until the engine needs a turn by itself (expiry ticks,
 * a snapshot child, reopening a failed log), or -1: only when submitted to or woken.  On any other
 * thread than the first caller's it does nothing and returns -1.
 */
int ldr_engine_turn(ldr_engine_t *e);
/**
 * The owner's last act: runs the engine as its own thread would, until ldr_engine_stop (called
 * from another thread) has had everything completed.  Returns at once on another thread.
 */
void ldr_engine_run(ldr_engine_t *e);

#endif
