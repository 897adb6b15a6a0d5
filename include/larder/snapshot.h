/*
 * larder — snapshots: the whole engine state (stock with its lots, and the reservations) written to
 * one checksummed file as of a log position, so that recovery reads the newest valid snapshot and
 * replays only the WAL records after it.
 *
 * A snapshot names things the way commands do (store ids, SKUs, lot ids, owners), never by
 * in-memory doc ids, so it loads onto a catalog loaded in any order.  The format is described at
 * the top of engine/snapshot.c.
 *
 * Files are named after the LSN of the last WAL record they include, `snap-<16 lower-case hex
 * digits>.snap`, like the WAL's `wal-<16 hex>.log` segments.  Writing one safely is the caller's
 * job: write to a temporary name ending in ".tmp" (which every reader here ignores), then rename
 * it into place and fsync the directory.
 *
 * Threads: ldr_snapshot_write only reads the state; the caller keeps it from changing meanwhile
 * (the engine writes from a fork()ed child, which sees a frozen copy).  The rest touch only what
 * they are given.
 */
#ifndef LARDER_SNAPSHOT_H
#define LARDER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/command.h"

#define LDR_SNAPSHOT_FILE_MAX  32           /* "snap-0000000000000001.snap" and its NUL */
#define LDR_SNAPSHOT_WRITE_BUF (256u << 10) /* ldr_snapshot_write: at most this per write(2) */
#define LDR_SNAPSHOT_FORMAT    6            /* the format version this code writes and reads */
#define LDR_SNAPSHOT_ERR_MAX   384          /* room for any message of ldr_snapshot_decode */

/** What a snapshot holds; filled by ldr_snapshot_read / ldr_snapshot_decode on success. */
typedef struct ldr_snapshot_info {
    uint64_t lsn;          /* the last WAL record the state includes (0: none) */
    int64_t time_ns;       /* engine time at that record, nanoseconds */
    uint32_t stores;       /* store ids, including stores without stock */
    uint32_t reservations; /* live reservations */
    uint64_t entries;      /* (store, sku) stock entries */
    uint64_t lots;         /* lots over all entries */
    uint64_t lines;        /* reservation lines over all reservations */
    uint64_t bytes;        /* the file's size */
} ldr_snapshot_info_t;

/**
 * Serialises *s as of log position `lsn` (the last WAL record it includes) and engine time
 * `time_ns` into fd, from its current offset, then fdatasync(fd).  Uses plain write(2) calls of up
 * to LDR_SNAPSHOT_WRITE_BUF bytes, retrying EINTR and short writes; allocates only that buffer and
 * a checksum state; takes no locks; so it may run in a fork()ed child.  *bytes_out (may be NULL)
 * gets the file's size.  Returns LDR_OK; LDR_EIO when write or fdatasync failed (errno says why;
 * fdatasync is not retried and the file must not be used); LDR_ENOMEM; LDR_EINVAL (errno EINVAL)
 * when a stock entry's doc has no product in s->catalog, so the entry could not be named.
 */
int ldr_snapshot_write(int fd, const ldr_state_t *s, uint64_t lsn, int64_t time_ns,
                       uint64_t *bytes_out);

/**
 * Verifies the snapshot file at `path` and loads it into *out, setting out->catalog = cat.
 * out->stock and out->reservations must be new and empty (ldr_stock_new, ldr_reservations_new;
 * LDR_EINVAL otherwise).  The checksum is verified before anything is built, then every field:
 * see engine/snapshot.c for the rules.  When the file name is a snapshot name, its LSN must be the
 * one inside.  `err` (errlen bytes, may be NULL/0) gets "PATH: offset N: what" on failure; *info
 * (may be NULL) is filled on success.  Returns LDR_OK; LDR_ECORRUPT (not a snapshot, another
 * format version, checksum mismatch, truncated, anything inconsistent); LDR_ENOENT when a SKU of
 * the snapshot is not in `cat` (err names it); LDR_EIO (open or read failed, missing file
 * included; err says which). On failure *out may be partly filled: the caller frees it.
 */
int ldr_snapshot_read(const char *path, ldr_catalog_t *cat, ldr_state_t *out,
                      ldr_snapshot_info_t *info, char *err, size_t errlen);

/**
 * ldr_snapshot_read on a snapshot held in memory (data[0..len), which need not be aligned and is
 * only read); messages are "offset N: what".  The entry point for a fuzz target.
 */
int ldr_snapshot_decode(const void *data, size_t len, ldr_catalog_t *cat, ldr_state_t *out,
                        ldr_snapshot_info_t *info, char *err, size_t errlen);

/**
 * Formats the file name of the snapshot at `lsn` ("snap-%016" PRIx64 ".snap") into buf.  Returns
 * LDR_OK, or LDR_ERANGE when size < 27 (LDR_SNAPSHOT_FILE_MAX is always enough).
 */
int ldr_snapshot_name(char *buf, size_t size, uint64_t lsn);

/** True if `name` is exactly a snapshot file name (lower-case hex); stores its LSN in *lsn. */
bool ldr_snapshot_parse_name(const char *name, uint64_t *lsn);

/**
 * The LSNs of the snapshot files in `dir`, newest first, in *lsns (malloc'ed; free with ldr_free;
 * NULL when *count is 0).  Names that are not exactly snapshot names (*.tmp included) are ignored.
 * Returns LDR_OK, LDR_ENOENT when dir does not exist, or LDR_EIO.  Recovery walks this list to
 * fall back to an older snapshot when the newest one does not verify.
 */
int ldr_snapshot_list(const char *dir, uint64_t **lsns, uint32_t *count);

/**
 * The newest snapshot in `dir`: its LSN in *lsn and "DIR/NAME" in path (size bytes).  Returns
 * LDR_OK; LDR_ENOENT when dir holds no snapshot or does not exist; LDR_ERANGE when the path does
 * not fit; LDR_EIO.
 */
int ldr_snapshot_find_newest(const char *dir, uint64_t *lsn, char *path, size_t size);

#endif
