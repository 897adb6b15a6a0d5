/*
 * larder — WAL internals shared with its tests: the record layout and a fault hook.
 */
#ifndef LARDER_WAL_INTERNAL_H
#define LARDER_WAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "larder/wal.h"

/* Record layout (see the essay in engine/wal.c).  Little-endian on disk. */
#define LDR__WAL_HEADER_BYTES  24      /* u32 len, u16 type, u16 flags, u64 lsn, i64 time */
#define LDR__WAL_TRAILER_BYTES 8       /* u64 XXH3 over header, payload and padding */
#define LDR__WAL_F_BATCH_START 0x0001u /* the first record of a write + fsync chain */
#define LDR__WAL_F_KNOWN       LDR__WAL_F_BATCH_START

/** Bytes a record with `len` payload bytes takes on disk: 32 + len rounded up to 8. */
static inline size_t ldr__wal_record_bytes(size_t len)
{
    return LDR__WAL_HEADER_BYTES + ((len + 7) & ~(size_t)7) + LDR__WAL_TRAILER_BYTES;
}

/* Segments grow by zero-filled steps of this size (never far past segment_bytes), written one
 * page at a time (LDR__WAL_ZERO_PIECE; see "Writing" in wal.c). */
#define LDR__WAL_ZERO_CHUNK (128u << 10)
/* A batch of at most this many records that is one write goes to the disk on the engine thread
 * (pwritev2), a larger one through io_uring (see "Writing" in wal.c). */
#define LDR__WAL_INLINE_RECORDS 4
#define LDR__WAL_ZERO_PIECE     4096u

/*
 * Deliberate bugs, for the simulator (tests/sim/) to show it finds them; never set elsewhere.
 * ACK_BEFORE_SYNC: a batch on a simulated disk counts as durable without its fdatasync;
 * IGNORE_SYNC_ERROR: a failed fdatasync counts as done; IGNORE_WRITE_ERROR: a failed or short
 * write (EIO, ENOSPC) counts as written; NO_CHECKSUM: recovery takes records whose checksum does
 * not verify.
 */
enum {
    LDR__WAL_BREAK_NONE,
    LDR__WAL_BREAK_ACK_BEFORE_SYNC,
    LDR__WAL_BREAK_IGNORE_SYNC_ERROR,
    LDR__WAL_BREAK_IGNORE_WRITE_ERROR,
    LDR__WAL_BREAK_NO_CHECKSUM
};
extern int ldr__wal_break;

/** The operation a completion belongs to, as the fault hook sees it. */
enum {
    LDR__WAL_OP_WRITE = 1,
    LDR__WAL_OP_FSYNC = 2,
    LDR__WAL_OP_DIRSYNC = 3,
    LDR__WAL_OP_ZERO = 4,
    LDR__WAL_OP_WRITE_DSYNC = 5 /* a batch's write and fdatasync in one: pwritev2, RWF_DSYNC */
};

/**
 * A test hook: called for every completion before the WAL looks at it, with the operation and the
 * kernel's result; what it returns is used instead (e.g. -EIO, or a short count for a write).
 */
typedef int (*ldr__wal_fault_cb)(void *ctx, int op, int res);

/** Installs (or, with cb NULL, removes) the fault hook of one log. */
void ldr__wal_set_fault(ldr_wal_t *w, ldr__wal_fault_cb cb, void *ctx);

#endif
