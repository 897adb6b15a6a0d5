/*
 * larder — the write-ahead log: segment files of checksummed records, appended by one engine
 * thread and made durable with group commit: a lone writer's batch by pwritev2 on that thread,
 * larger ones and new segments through io_uring.
 *
 * Writing: ldr_wal_append() copies a record into the open batch (no I/O) and returns its log
 * sequence number; ldr_wal_flush() asks for everything appended so far to become durable: a small
 * batch that is one write is written and fdatasync'ed there and then (pwritev2 with RWF_DSYNC, on
 * the calling thread), a larger one goes to io_uring as one WRITE with RWF_DSYNC, and one that
 * opens a segment or fills zeros ahead as a linked io_uring chain.  ldr_wal_poll() reaps
 * completions and reports the highest durable LSN; a record may be acknowledged once its LSN is
 * durable.  While a batch is in flight, appends collect in the next batch, which goes out when the
 * first completes (group commit).  ldr_wal_event_fd() becomes readable when a completion is ready —
 * usually: on DEFER_TASKRUN rings the kernel may skip the signal, so a thread that must not miss a
 * completion waits with ldr_wal_poll(wait = true), as the engine does.
 *
 * Threads: every call on an ldr_wal_t after ldr_wal_open() must come from one thread, the first to
 * call ldr_wal_flush, ldr_wal_poll or ldr_wal_sync (the ring is bound to it where the kernel
 * supports IORING_SETUP_SINGLE_ISSUER).  ldr_wal_open itself may run on another thread.
 *
 * Failures: a failed or short write, or an fsync that fails or is cancelled, makes the log
 * sticky-failed: every later append, flush, sync and poll returns LDR_ESTORAGE and nothing after
 * the last durable LSN counts, until the log is closed and opened again (which recovers from what
 * reached the disk).  A failed fsync is never retried.
 *
 * The record format and the recovery rules are described at the top of engine/wal.c.
 */
#ifndef LARDER_WAL_H
#define LARDER_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/common.h"

#define LDR_WAL_SEGMENT_BYTES_DEFAULT (64u << 20) /* a new segment once the current passes this */
#define LDR_WAL_BATCH_BYTES_DEFAULT   (1u << 20)  /* largest write (one oversized record aside) */
#define LDR_WAL_MAX_PAYLOAD           (16u << 20) /* payload bytes per record, at most */
#define LDR_WAL_FILE_MAX              32          /* "wal-0000000000000001.log" and its NUL */

typedef struct ldr_wal ldr_wal_t;

/** One record as replay hands it out; `data` points into a mapping valid only during the call. */
typedef struct ldr_wal_record {
    uint64_t lsn;
    int64_t time; /* engine time, nanoseconds, as given to ldr_wal_append */
    uint16_t type;
    uint32_t len;
    const void *data;
} ldr_wal_record_t;

/**
 * Called for each record in LSN order.  Return LDR_OK to go on; any other value stops the scan and
 * becomes the result of ldr_wal_replay / ldr_wal_open.
 */
typedef int (*ldr_wal_record_cb)(void *ctx, const ldr_wal_record_t *rec);

/** What one completed batch was: for metrics and benchmarks. */
typedef struct ldr_wal_batch_info {
    uint64_t first_lsn, last_lsn;
    uint32_t records;
    uint32_t bytes;
    int64_t submit_ns;   /* CLOCK_MONOTONIC when the write + fsync were submitted (or began) */
    int64_t complete_ns; /* CLOCK_MONOTONIC when the fsync's completion was reaped (or done) */
} ldr_wal_batch_info_t;

/** Called from ldr_wal_flush/poll/sync/close on the WAL's thread for every batch that became
 *  durable. */
typedef void (*ldr_wal_batch_cb)(void *ctx, const ldr_wal_batch_info_t *info);

/*
 * The log's storage, for a simulated disk (the deterministic simulator, tests/sim/): every file
 * operation of the writer and of recovery goes through it, synchronously, instead of the
 * directory, io_uring and mmap.  Names are the segments' file names; fds are the io's own.
 * Results: >= 0 or a negative errno.  NULL in ldr_wal_opts_t: the real disk.
 */
typedef struct ldr_wal_io {
    void *ctx;
    int (*open)(void *ctx, const char *name, bool create); /* create: must not exist; -> fd */
    void (*close)(void *ctx, int fd);
    int (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t off); /* -> bytes */
    int (*fdatasync)(void *ctx, int fd);
    int (*fsync_dir)(void *ctx);
    int (*truncate)(void *ctx, int fd, uint64_t len);
    int (*unlink)(void *ctx, const char *name);
    /* the names in the log's directory (malloc'ed array of malloc'ed strings) */
    int (*list)(void *ctx, char ***names, uint32_t *n);
    /* a whole file, malloc'ed (*data may be NULL when *len is 0) */
    int (*read_all)(void *ctx, const char *name, uint8_t **data, size_t *len);
} ldr_wal_io_t;

typedef struct ldr_wal_opts {
    const char *dir;          /* created (one level) when missing */
    const ldr_wal_io_t *io;   /* NULL: the real disk through io_uring */
    uint64_t segment_bytes;   /* 0: LDR_WAL_SEGMENT_BYTES_DEFAULT */
    uint32_t batch_max_bytes; /* 0: LDR_WAL_BATCH_BYTES_DEFAULT */
    /*
     * Recovery.  Open verifies every segment that holds records >= from_lsn (0: every segment) and
     * hands those records to replay_cb when it is set, so start-up reads the log once.  With
     * from_lsn >= 1 the log must hold every record from from_lsn on (LDR_ECORRUPT otherwise).
     */
    uint64_t from_lsn;
    ldr_wal_record_cb replay_cb;
    void *replay_ctx;
    /*
     * Reopening after a failure: when nonzero, records from this LSN on are cut off like a torn
     * tail.  Pass the old log's durable LSN + 1, so that records whose write or fsync failed (and
     * which were refused to clients) cannot come back just because their bytes reached the disk.
     */
    uint64_t discard_from;
    ldr_wal_batch_cb batch_cb; /* optional */
    void *batch_ctx;
} ldr_wal_opts_t;

/** What recovery found; filled by ldr_wal_open and ldr_wal_replay on success and on failure. */
typedef struct ldr_wal_recovery {
    uint32_t segments;   /* segment files in the directory */
    uint64_t first_lsn;  /* first record of the first segment read (0: none) */
    uint64_t last_lsn;   /* last valid record (0: the log is empty) */
    uint64_t records;    /* records handed to the callback */
    uint64_t end_offset; /* where the records of the last segment end (zeros may follow) */
    /*
     * A torn tail: open cut the last segment there (ftruncate + fsync); replay only reports it.
     * With opts.discard_from, the records cut that way are described here too, and counted.
     */
    bool torn;
    uint64_t discarded; /* records cut because of opts.discard_from */
    char torn_file[LDR_WAL_FILE_MAX];
    uint64_t torn_offset;
    uint64_t torn_bytes;
    /* On LDR_ECORRUPT: the file and byte offset of the bad record. */
    char error_file[LDR_WAL_FILE_MAX];
    uint64_t error_offset;
    /*
     * On an error, what and where ("wal-0000000000000001.log: offset 4096: checksum mismatch");
     * after a torn tail, a line for the log; else empty.
     */
    char message[256];
} ldr_wal_recovery_t;

typedef struct ldr_wal_stats {
    uint64_t next_lsn;      /* the LSN the next append gets */
    uint64_t durable_lsn;   /* every record up to here is on disk */
    uint64_t batches;       /* write + fsync chains completed since open */
    uint64_t records;       /* records made durable since open */
    uint64_t bytes;         /* bytes made durable since open */
    uint64_t pending_bytes; /* appended, not yet durable */
    uint32_t segments;      /* segment files the writer knows of */
    bool in_flight;         /* a batch is being written */
    uint32_t ring_flags;    /* the IORING_SETUP_* flags the kernel accepted */
} ldr_wal_stats_t;

/**
 * Opens (creating when needed) the log in opts->dir, recovers it and positions for appending after
 * the last valid record.  A torn tail in the last segment is cut off and described in *report.
 * The directory is locked (flock) against a second writer.  `report` may be NULL.
 * Returns LDR_OK, LDR_ECORRUPT (report->message names file and offset), LDR_EBUSY (another writer
 * holds the directory), LDR_EIO (a system call failed; see report->message), LDR_EINVAL, or
 * whatever replay_cb returned.  The caller owns *out and releases it with ldr_wal_close.
 */
int ldr_wal_open(const ldr_wal_opts_t *opts, ldr_wal_t **out, ldr_wal_recovery_t *report);

/**
 * Copies a record into the open batch; no I/O.  The record's LSN goes to *lsn (may be NULL); LSNs
 * are consecutive from 1.  Returns LDR_OK, LDR_EINVAL (len > LDR_WAL_MAX_PAYLOAD), LDR_ENOMEM, or
 * LDR_ESTORAGE once the log has failed.
 */
int ldr_wal_append(ldr_wal_t *w, uint16_t type, int64_t time, const void *data, size_t len,
                   uint64_t *lsn);

/**
 * Asks for every record appended so far to become durable.  Sends the next batch now when none is
 * in flight (a small batch that is one write: written and synced before this returns, waiting for
 * the disk; any other: submitted to io_uring), otherwise ldr_wal_poll sends it when the one in
 * flight completes. Batch callbacks may run from here.  Returns LDR_OK or LDR_ESTORAGE (a batch
 * written here that failed shows here; one submitted, at a later poll).
 */
int ldr_wal_flush(ldr_wal_t *w);

/**
 * Reaps completions, submits the next requested batch, and stores the highest durable LSN in
 * *durable_lsn (may be NULL).  With `wait`, blocks until the batch in flight (if any) completes.
 * Batch callbacks run from here (and from ldr_wal_flush).  Returns LDR_OK or LDR_ESTORAGE.
 */
int ldr_wal_poll(ldr_wal_t *w, bool wait, uint64_t *durable_lsn);

/**
 * Hands the log to another thread.  Its io_uring ring is single-issuer: the first thread that
 * submits to it (a sync while the log was seeded or a catalog imported, say) is the only one that
 * may; a later submit from another thread fails with EEXIST.  This replaces a ring that a thread
 * has taken with a fresh one for the next thread to take.  Nothing may be in flight (a sync
 * before).  Returns LDR_OK or LDR_ESTORAGE.
 */
int ldr_wal_rebind(ldr_wal_t *w);

/**
 * A batch that is one write (no new segment, no zeros ahead) and holds at most `records` records
 * is written and synced by ldr_wal_flush itself, on the calling thread (pwritev2 with RWF_DSYNC);
 * a larger one goes through io_uring.  The default, LDR__WAL_INLINE_RECORDS (4), keeps a lone
 * writer's batch off io_uring; UINT32_MAX writes every such batch in the caller, for a caller
 * that waits for each batch anyway (the engine on a loop thread, engine.h).
 */
void ldr_wal_set_inline_records(ldr_wal_t *w, uint32_t records);

/** Flushes and waits until every appended record is durable.  Returns LDR_OK or LDR_ESTORAGE. */
int ldr_wal_sync(ldr_wal_t *w);

/**
 * An eventfd (non-blocking) that becomes readable when completions are ready: wait on it in an
 * event loop, then call ldr_wal_poll(w, false, ...), which also drains it (once this was called:
 * until then polls leave it alone, a system call each saved).  A batch written by ldr_wal_flush
 * itself posts no completion: wait only while ldr_wal_busy.  Owned by the WAL.
 */
int ldr_wal_event_fd(ldr_wal_t *w);

/** The highest durable LSN (0: none). */
uint64_t ldr_wal_durable_lsn(const ldr_wal_t *w);
/** The LSN the next append will get. */
uint64_t ldr_wal_next_lsn(const ldr_wal_t *w);
/** True while a batch is being written and synced (the next one waits for it). */
bool ldr_wal_busy(const ldr_wal_t *w);
void ldr_wal_stats(const ldr_wal_t *w, ldr_wal_stats_t *out);
/** After a failure, what failed ("wal-…: fsync: Input/output error"); NULL while healthy. */
const char *ldr_wal_error(const ldr_wal_t *w);

/**
 * Deletes the segments all of whose records are < lsn (for after a snapshot that covers them).
 * The last segment always stays, and so does any segment whose successor is not yet durably
 * created.  Unlinks on the calling thread.  *removed (may be NULL) gets the count.  Returns LDR_OK
 * or LDR_EIO.
 */
int ldr_wal_remove_before(ldr_wal_t *w, uint64_t lsn, uint32_t *removed);

/**
 * Flushes, waits for everything in flight, and releases the log.  Returns LDR_OK, or LDR_ESTORAGE
 * when the log had failed (records after the durable LSN were then not written).  NULL is a no-op.
 */
int ldr_wal_close(ldr_wal_t *w);

/**
 * Reads the log in `dir` without changing it: calls cb (may be NULL, to verify only) for every
 * valid record with lsn >= from_lsn, in order.  A torn tail ends the scan without error and is
 * described in *report (report->torn).  The same rules as ldr_wal_open apply to from_lsn.
 * Returns LDR_OK, LDR_ECORRUPT, LDR_ENOENT (no such directory), LDR_EIO, or what cb returned.
 */
int ldr_wal_replay(const char *dir, uint64_t from_lsn, ldr_wal_record_cb cb, void *ctx,
                   ldr_wal_recovery_t *report);

/*
 * Tailing the log: a reader follows the log of a live writer (another thread or process) and
 * returns its records in order, up to a bound the caller knows to be durable (records past the
 * durable LSN may still be changing on disk).  It never writes.  The writer must keep the segment
 * the reader is in (see ldr_engine_retain_log).
 */
typedef struct ldr_wal_reader ldr_wal_reader_t;

/**
 * Opens a reader of the log in dir positioned at from_lsn (>= 1): its first record is from_lsn.
 * Returns LDR_OK, LDR_ENOENT (no log, or no segment holds from_lsn: *oldest, when not NULL, gets
 * the first LSN the log still holds, 0 if none), LDR_EIO, or LDR_ECORRUPT, with a message in
 * msg (msg_len bytes, may be 0).
 */
int ldr_wal_reader_open(const char *dir, uint64_t from_lsn, ldr_wal_reader_t **out,
                        uint64_t *oldest, char *msg, size_t msg_len);

/**
 * The next record, when its LSN is <= upto (which the caller knows durable).  rec->data points
 * into the reader and stays valid until the next call.  Returns LDR_OK, LDR_ENOENT (the next
 * record is past upto), LDR_ECORRUPT (a durable record does not verify; see
 * ldr_wal_reader_error) or LDR_EIO.
 */
int ldr_wal_reader_next(ldr_wal_reader_t *r, uint64_t upto, ldr_wal_record_t *rec);

/** The LSN the next record will have. */
uint64_t ldr_wal_reader_lsn(const ldr_wal_reader_t *r);
/** What went wrong last ("wal-…log: offset 4096: checksum mismatch"), or "". */
const char *ldr_wal_reader_error(const ldr_wal_reader_t *r);
void ldr_wal_reader_close(ldr_wal_reader_t *r);

#endif
