/*
 * The write-ahead log.
 *
 * Files.  The log is a directory of segment files named after the LSN of their first record,
 * `wal-<16 lower-case hex digits>.log`.  Appends go to the newest segment; once it holds
 * segment_bytes or more, the next record starts a new file.  A record never spans two files.
 * Creating a segment is made durable with the first batch written to it: that batch's chain ends
 * with an fsync of the directory.  Segments are only ever deleted whole, oldest first, once a
 * snapshot covers them (ldr_wal_remove_before); the newest one always stays, so its name keeps the
 * LSN sequence going even when it is empty.  A segment is zero-filled ahead of its records, in
 * steps of LDR__WAL_ZERO_CHUNK up to segment_bytes: a file's size says nothing about its records,
 * zeros after the last record are free space.
 *
 * Records.  Every record starts at a multiple of 8 bytes and is, little-endian:
 *
 *     u32 len     payload bytes, at most LDR_WAL_MAX_PAYLOAD
 *     u16 type    the caller's record type
 *     u16 flags   bit 0: BATCH_START, the first record of one write + fsync; other bits are zero
 *     u64 lsn     1, 2, 3, ... with no gaps across the whole log
 *     i64 time    engine time in nanoseconds
 *     len bytes   payload, then zero padding to a multiple of 8
 *     u64 xxh3    XXH3-64 (seed 0) of everything above: header, payload and padding
 *
 * so a record takes 32 + round8(len) bytes.  There is no file header: the name says where a
 * segment starts, its first record must carry that LSN, and a zero-filled region never verifies.
 *
 * Writing.  One engine thread appends records into an in-memory batch.  A flush writes the batch
 * with one io_uring WRITE linked (IOSQE_IO_LINK) to an FSYNC(DATASYNC), plus an fsync of the
 * directory when the batch opens a new segment, and a WRITE of zeros after the batch when it
 * goes past the end of the file, in page-sized writes: the page cache keeps the folio size a
 * write created, so one 1 MB write of zeros left 1 MB folios on ext4 (Linux 6.16 and later), and
 * every later batch that dirtied a few bytes of one had the whole folio written back by its sync
 * (~150 KB of storage writes a durable write, measured in /proc/PID/io; 4 KB with page-sized
 * pieces).  A batch that needs neither (most: it overwrites zeros that are already there; also
 * the batch that runs past the zero-filled space at the end of a segment, which grows the file
 * and is followed by a new segment) is one write with RWF_DSYNC instead: that write and an
 * fdatasync of its range in one operation, a size change included.  A small one
 * (LDR__WAL_INLINE_RECORDS records or fewer: a lone writer's; any size once
 * ldr_wal_set_inline_records says so, for an engine that waits for every batch) is a pwritev2 on
 * the engine's thread itself, which would only wait for it anyway; that spares two thread
 * hand-offs, to the kernel's io-wq worker that runs a blocking io_uring WRITE and back, 40 % of a
 * lone durable write's time and CPU (docs/PERFORMANCE.md, session 7).  A larger one is an io_uring
 * WRITE with RWF_DSYNC, run by the worker in one go (a linked pair would come back to the engine
 * thread between the two): meanwhile the engine answers the requests of the batch before, which a
 * write on its own thread would hold up.  Only one batch is ever on its way to the disk: while it
 * is, appends collect in the next batch, which is submitted as soon as the first completes (group
 * commit), or is closed and queued when it reaches batch_max_bytes.  Keeping one batch in flight
 * means a failed write can never leave a hole with later records behind it, and it gives recovery a
 * useful fact: when a batch starts, every earlier batch is completely on disk.  A short write, a
 * failed write, or an fsync that fails or is cancelled marks the log failed for good: we cannot
 * know which pages reached the disk (a failed fsync may have dropped them from the page cache),
 * so nothing is retried and every later call returns LDR_ESTORAGE until the log is reopened and
 * recovered from what the disk really holds.
 *
 * Recovery.  Segments are read in LSN order up to their last nonzero byte (the zeros after it are
 * the space filled ahead: never a record, since a checksum is nonzero; a record lost there is
 * missed by the LSN of the next segment or was never acknowledged), and every record is checked:
 * its length is within bounds and fits in the file, its checksum verifies, its flags are known, and
 * its LSN is the one after the previous record (the first record of a segment: the LSN in the file
 * name; the first segment of a file: the LSN after the previous segment's last record, so a missing
 * segment shows up as a gap).  A record that fails these checks is the end of the log or damage:
 *
 *   - In any segment but the last it is corruption: the segment after it was only started once
 *     this one was complete and durable.
 *   - In the last segment, we look further: every 8-byte offset after it is tried as a record
 *     header.  If a verifying record with BATCH_START is found, a later batch was written after the
 *     bad record's batch had been made durable, so the bad record is corruption.  Otherwise the bad
 *     record belongs to the batch that was being written when the process or machine stopped: a
 *     torn tail.  Verifying records of that same batch may follow it (the page cache writes a
 *     batch's pages back in no promised order), so they do not count as evidence of corruption;
 *     they were never acknowledged and are dropped with the rest of the tail.
 *   - A record whose checksum verifies but whose LSN or flags are wrong is corruption wherever it
 * is.
 *
 * A torn tail is read again until two reads in a row agree on it before it is believed (a bad
 * read must not cut acknowledged records; reads that never agree fail the open with LDR_EIO).
 * Corruption stops recovery with LDR_ECORRUPT and a message naming the file and byte offset.  A
 * torn tail is cut off by ldr_wal_open (ftruncate + fsync) and reported, and open fdatasyncs the
 * last segment in any case: what recovery read is served from then on, so it must be on the disk,
 * not only in the page cache; ldr_wal_replay, which never writes, stops there without error.  The
 * price of the torn-tail rule is that damage inside the last batch (bit rot in the last few
 * milliseconds of writes) looks like a torn tail and is cut off rather than reported.
 */
#define _GNU_SOURCE /* pwritev2 */
#include "endian_internal.h"
#include "files_internal.h"
#include "wal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* one chain in flight: the write, a zero fill's pieces, the fdatasync and the directory's fsync */
#define LDR__WAL_RING_ENTRIES 64
_Static_assert(LDR__WAL_ZERO_CHUNK / LDR__WAL_ZERO_PIECE + 4 <= LDR__WAL_RING_ENTRIES,
               "a chain fits in the ring");
#define LDR__WAL_BATCH_INITIAL_CAP (64u << 10)

/* RWF_DSYNC of <linux/fs.h> (Linux 4.7): the write is made durable as O_DSYNC would */
#define LDR__RWF_DSYNC 0x00000002

static const uint8_t ldr__zeros[LDR__WAL_ZERO_CHUNK];

int ldr__wal_break = LDR__WAL_BREAK_NONE;

static int64_t ldr__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ldr__seg_name(char *buf, uint64_t first)
{
    snprintf(buf, LDR_WAL_FILE_MAX, "wal-%016" PRIx64 ".log", first);
}

/* Parses "wal-<16 lower-case hex>.log" into the first LSN (>= 1). */
static bool ldr__seg_parse(const char *s, uint64_t *first)
{
    return ldr__hex_name_parse(s, "wal-", ".log", first) && *first != 0;
}

static int ldr__cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segments a simulated disk holds, oldest first. */
static int ldr__io_list_segments(const ldr_wal_io_t *io, uint64_t **out, uint32_t *count)
{
    char **names = NULL;
    uint32_t n = 0;
    *out = NULL, *count = 0;
    if (io->list(io->ctx, &names, &n) < 0)
        return LDR_EIO;
    uint64_t *segs = ldr_malloc((n + 1) * sizeof(*segs));
    for (uint32_t i = 0; i < n; i++) {
        if (ldr__seg_parse(names[i], &segs[*count]))
            (*count)++;
        free(names[i]);
    }
    free(names);
    qsort(segs, *count, sizeof(*segs), ldr__cmp_u64);
    *out = segs;
    return LDR_OK;
}

/* The segments in dirfd, oldest first (malloc'ed into *out). */
static int ldr__list_segments(int dirfd, uint64_t **out, uint32_t *count)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return LDR_EIO;
    }
    return ldr__list_numbered(d, ldr__seg_parse, false, out, count);
}

/* ---- reading and recovery ---- */

enum { LDR__REC_OK = 0, LDR__REC_BAD = 1 };

typedef struct ldr__rec_view {
    uint32_t len;
    uint16_t type, flags;
    uint64_t lsn;
    int64_t time;
    size_t size;
} ldr__rec_view_t;

/* Checks the framing of the record at p (avail bytes left in the file). */
static int ldr__rec_parse(const uint8_t *p, size_t avail, ldr__rec_view_t *r, const char **why)
{
    if (avail < LDR__WAL_HEADER_BYTES + LDR__WAL_TRAILER_BYTES) {
        *why = "truncated record";
        return LDR__REC_BAD;
    }
    uint32_t len = ldr__get_u32(p);
    if (len > LDR_WAL_MAX_PAYLOAD) {
        *why = "record length out of bounds";
        return LDR__REC_BAD;
    }
    size_t size = ldr__wal_record_bytes(len);
    if (size > avail) {
        *why = "truncated record";
        return LDR__REC_BAD;
    }
    size_t body = size - LDR__WAL_TRAILER_BYTES;
    if (XXH3_64bits(p, body) != ldr__get_u64(p + body) &&
        ldr__wal_break != LDR__WAL_BREAK_NO_CHECKSUM) {
        *why = "checksum mismatch";
        return LDR__REC_BAD;
    }
    r->len = len;
    r->type = ldr__get_u16(p + 4);
    r->flags = ldr__get_u16(p + 6);
    r->lsn = ldr__get_u64(p + 8);
    r->time = (int64_t)ldr__get_u64(p + 16);
    r->size = size;
    return LDR__REC_OK;
}

/*
 * After a bad record at `off` in the last segment: is there a verifying record that starts a later
 * batch?  Every 8-byte offset is tried; the LSN range (records after `off` carry LSNs from `expect`
 * on and take at least 32 bytes each) rejects nearly all garbage before the checksum is computed.
 */
static bool ldr__later_batch_follows(const uint8_t *p, size_t n, size_t off, uint64_t expect,
                                     size_t *found)
{
    uint64_t max_lsn = expect + (n - off) / 32;
    for (size_t q = off + 8; q + LDR__WAL_HEADER_BYTES + LDR__WAL_TRAILER_BYTES <= n; q += 8) {
        uint16_t flags = ldr__get_u16(p + q + 6);
        if (!(flags & LDR__WAL_F_BATCH_START) || (flags & ~LDR__WAL_F_KNOWN))
            continue;
        uint64_t lsn = ldr__get_u64(p + q + 8);
        if (lsn < expect || lsn > max_lsn)
            continue;
        ldr__rec_view_t r;
        const char *why;
        if (ldr__rec_parse(p + q, n - q, &r, &why) == LDR__REC_OK) {
            *found = q;
            return true;
        }
    }
    return false;
}

/*
 * Where the data of a segment ends: after its last nonzero byte, rounded up to the 8-byte record
 * alignment.  Segments are zero-filled ahead of their writes (see ldr__submit), so the zeros that
 * follow are space, not records; a record always ends in its checksum, which is nonzero but with
 * a chance of 2^-64.
 */
static size_t ldr__data_end(const uint8_t *p, size_t size)
{
    size_t n = size;
    while ((n & 7) == 0 && n >= 8 && ldr__get_u64(p + n - 8) == 0)
        n -= 8;
    while (n > 0 && p[n - 1] == 0)
        n--;
    n = (n + 7) & ~(size_t)7;
    return n < size ? n : size;
}

typedef struct ldr__scan {
    int dirfd;
    const ldr_wal_io_t *io; /* a simulated disk, or NULL */
    uint64_t from;
    ldr_wal_record_cb cb;
    void *ctx;
    ldr_wal_recovery_t *rep;
    uint64_t discard_from; /* open only: cut records from this LSN on (0: none) */
    uint64_t expect;       /* the LSN the next record must carry */
    uint64_t tail_end;     /* bytes of valid records in the last segment scanned */
    uint64_t file_size;    /* that segment's size, zero-filled space included */
    bool cut;              /* the last segment must be cut at tail_end */
} ldr__scan_t;

static int ldr__corrupt(ldr__scan_t *s, const char *file, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ldr__corrupt(ldr__scan_t *s, const char *file, uint64_t off, const char *fmt, ...)
{
    ldr_wal_recovery_t *r = s->rep;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(r->error_file, sizeof(r->error_file), "%s", file);
    r->error_offset = off;
    if (file[0] != '\0')
        snprintf(r->message, sizeof(r->message), "%s: offset %" PRIu64 ": %s", file, off, what);
    else
        snprintf(r->message, sizeof(r->message), "%s", what);
    return LDR_ECORRUPT;
}

static int ldr__sys_error(ldr_wal_recovery_t *r, const char *what, const char *name, int err)
{
    snprintf(r->message, sizeof(r->message), "%s %s: %s", what, name, strerror(err));
    return err == ENOENT ? LDR_ENOENT : LDR_EIO;
}

/* Scans the bytes of one segment (p, n: the whole file) from `off` on, where s->expect is the LSN
 * the record must carry. */
static int ldr__scan_bytes(ldr__scan_t *s, const char *name, const uint8_t *p, size_t n, bool last,
                           size_t off)
{
    s->file_size = n;
    n = n > 0 ? ldr__data_end(p, n) : 0;

    int rc = LDR_OK;
    while (off < n) {
        ldr__rec_view_t r;
        const char *why;
        if (ldr__rec_parse(p + off, n - off, &r, &why) == LDR__REC_OK) {
            if (r.flags & ~LDR__WAL_F_KNOWN) {
                rc = ldr__corrupt(s, name, off, "unknown record flags 0x%x", r.flags);
                break;
            }
            if (r.lsn != s->expect) {
                rc = ldr__corrupt(s, name, off, "lsn %" PRIu64 " where %" PRIu64 " was expected",
                                  r.lsn, s->expect);
                break;
            }
            if (s->discard_from != 0 && r.lsn >= s->discard_from) {
                if (!last) {
                    rc = ldr__corrupt(
                        s, name, off,
                        "lsn %" PRIu64 " is to be discarded but later segments follow", r.lsn);
                    break;
                }
                ldr_wal_recovery_t *rep = s->rep;
                snprintf(rep->torn_file, sizeof(rep->torn_file), "%s", name);
                rep->torn_offset = off;
                rep->torn_bytes = n - off;
                for (size_t o = off; o < n && ldr__rec_parse(p + o, n - o, &r, &why) == LDR__REC_OK;
                     o += r.size)
                    rep->discarded++;
                snprintf(rep->message, sizeof(rep->message),
                         "%s: offset %zu: %" PRIu64 " records (%zu bytes) from lsn %" PRIu64
                         " discarded",
                         name, off, rep->discarded, n - off, s->expect);
                s->cut = true;
                break;
            }
            if (s->rep->first_lsn == 0)
                s->rep->first_lsn = r.lsn;
            if (r.lsn >= s->from && s->cb != NULL) {
                ldr_wal_record_t rec = {r.lsn, r.time, r.type, r.len, p + off + 24};
                s->rep->records++;
                rc = s->cb(s->ctx, &rec);
                if (rc != LDR_OK) {
                    snprintf(s->rep->message, sizeof(s->rep->message),
                             "%s: offset %zu: replay stopped at lsn %" PRIu64 ": %s", name, off,
                             r.lsn, ldr_strerror(rc));
                    break;
                }
            }
            off += r.size;
            s->expect++;
            continue;
        }
        size_t later;
        if (!last)
            rc = ldr__corrupt(s, name, off, "%s", why);
        else if (ldr__later_batch_follows(p, n, off, s->expect, &later))
            rc = ldr__corrupt(s, name, off, "%s (a later batch follows at offset %zu)", why, later);
        else {
            ldr_wal_recovery_t *rep = s->rep;
            rep->torn = true;
            s->cut = true;
            snprintf(rep->torn_file, sizeof(rep->torn_file), "%s", name);
            rep->torn_offset = off;
            rep->torn_bytes = n - off;
            snprintf(rep->message, sizeof(rep->message),
                     "%s: offset %zu: %s: torn tail of %zu bytes after lsn %" PRIu64, name, off,
                     why, n - off, s->expect - 1);
        }
        break;
    }
    s->tail_end = off;
    s->rep->end_offset = off;
    return rc;
}

typedef struct ldr__seg_bytes {
    uint8_t *p;
    size_t n;
    bool mapped;
} ldr__seg_bytes_t;

/* The whole file, read from the simulated disk or mapped. */
static int ldr__seg_load(ldr__scan_t *s, const char *name, ldr__seg_bytes_t *b)
{
    memset(b, 0, sizeof(*b));
    if (s->io != NULL) {
        int r = s->io->read_all(s->io->ctx, name, &b->p, &b->n);
        return r < 0 ? ldr__sys_error(s->rep, "read", name, -r) : LDR_OK;
    }
    int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ldr__sys_error(s->rep, "open", name, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ldr__sys_error(s->rep, "stat", name, e);
    }
    b->n = (size_t)st.st_size;
    if (b->n > 0) {
        void *m = mmap(NULL, b->n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ldr__sys_error(s->rep, "mmap", name, e);
        }
        madvise(m, b->n, MADV_SEQUENTIAL);
        b->p = m, b->mapped = true;
    }
    close(fd);
    return LDR_OK;
}

static void ldr__seg_unload(ldr__seg_bytes_t *b)
{
    if (b->mapped)
        munmap(b->p, b->n);
    else
        free(b->p);
}

/* Reads of a torn tail that must agree before it is believed. */
#define LDR__WAL_TAIL_READS 8

/*
 * Scans one segment file from its start; s->expect must be its first LSN.  A torn tail in the last
 * segment is read again before it is believed: a read that went wrong (a bit flipped on the way)
 * must not cut acknowledged records.  Bytes torn on the medium read the same every time, so the
 * tail is believed once two reads in a row agree on it; when no two of LDR__WAL_TAIL_READS do,
 * the disk is not answering straight and the open fails with LDR_EIO, cutting nothing.  The
 * records the first read verified were handed out already, so the agreed read is scanned from
 * where the first stopped.
 */
static int ldr__scan_segment(ldr__scan_t *s, uint64_t first, bool last)
{
    char name[LDR_WAL_FILE_MAX];
    ldr__seg_name(name, first);
    ldr__seg_bytes_t prev, cur;
    int rc = ldr__seg_load(s, name, &prev);
    if (rc != LDR_OK)
        return rc;
    rc = ldr__scan_bytes(s, name, prev.p, prev.n, last, 0);
    if (rc != LDR_OK || !last || !s->rep->torn) {
        ldr__seg_unload(&prev);
        return rc;
    }
    size_t at = s->tail_end;
    for (int k = 1; k < LDR__WAL_TAIL_READS; k++) {
        if ((rc = ldr__seg_load(s, name, &cur)) != LDR_OK)
            break;
        if (cur.n == prev.n && memcmp(cur.p + at, prev.p + at, cur.n - at) == 0) {
            s->rep->torn = false, s->cut = false;
            rc = ldr__scan_bytes(s, name, cur.p, cur.n, last, at);
            ldr__seg_unload(&cur);
            ldr__seg_unload(&prev);
            return rc;
        }
        ldr__seg_unload(&prev);
        prev = cur;
    }
    ldr__seg_unload(&prev);
    if (rc != LDR_OK)
        return rc;
    s->rep->torn = false, s->cut = false;
    snprintf(s->rep->message, sizeof(s->rep->message),
             "%s: %d reads disagree on the bytes after offset %zu: not cutting a tail the disk "
             "does not read back the same way twice",
             name, LDR__WAL_TAIL_READS, at);
    return LDR_EIO;
}

/* Verifies (and replays) segs[0..n) per the rules in the essay above. */
static int ldr__scan_all(ldr__scan_t *s, const uint64_t *segs, uint32_t n)
{
    char name[LDR_WAL_FILE_MAX];
    s->rep->segments = n;
    s->tail_end = s->file_size = 0;
    s->rep->end_offset = 0;
    if (n == 0) {
        s->expect = 1;
        if (s->from > 1)
            return ldr__corrupt(s, "", 0,
                                "the log is empty but records from lsn %" PRIu64 " were requested",
                                s->from);
        return LDR_OK;
    }
    /* Segments whose successor starts at or before `from` hold nothing wanted: skip them. */
    uint32_t start = 0;
    while (s->from > 0 && start + 1 < n && segs[start + 1] <= s->from)
        start++;
    ldr__seg_name(name, segs[start]);
    if (s->from > 0 && segs[start] > s->from)
        return ldr__corrupt(s, name, 0,
                            "records %" PRIu64 "..%" PRIu64
                            " are missing (oldest segment starts at "
                            "lsn %" PRIu64 ")",
                            s->from, segs[start] - 1, segs[start]);
    s->expect = segs[start];
    for (uint32_t i = start; i < n; i++) {
        if (segs[i] != s->expect) {
            ldr__seg_name(name, segs[i]);
            return ldr__corrupt(s, name, 0,
                                "segment starts at lsn %" PRIu64
                                " but the previous one ends at lsn "
                                "%" PRIu64 " (missing or overlapping segment)",
                                segs[i], s->expect - 1);
        }
        int rc = ldr__scan_segment(s, segs[i], i + 1 == n);
        if (rc != LDR_OK)
            return rc;
    }
    if (s->from > s->expect) {
        ldr__seg_name(name, segs[n - 1]);
        return ldr__corrupt(s, name, s->tail_end,
                            "the log ends at lsn %" PRIu64 " but records from lsn %" PRIu64
                            " were requested",
                            s->expect - 1, s->from);
    }
    return LDR_OK;
}

static void ldr__report_finish(ldr_wal_recovery_t *rep, const ldr__scan_t *s)
{
    rep->last_lsn = s->expect - 1;
}

int ldr_wal_replay(const char *dir, uint64_t from_lsn, ldr_wal_record_cb cb, void *ctx,
                   ldr_wal_recovery_t *report)
{
    ldr_wal_recovery_t local;
    ldr_wal_recovery_t *rep = report != NULL ? report : &local;
    memset(rep, 0, sizeof(*rep));
    if (dir == NULL)
        return LDR_EINVAL;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return ldr__sys_error(rep, "open", dir, errno);
    uint64_t *segs = NULL;
    uint32_t n = 0;
    int rc = ldr__list_segments(dirfd, &segs, &n);
    if (rc != LDR_OK) {
        ldr__sys_error(rep, "list", dir, errno);
    } else {
        ldr__scan_t s = {
            .dirfd = dirfd, .from = from_lsn, .cb = cb, .ctx = ctx, .rep = rep, .expect = 1};
        rc = ldr__scan_all(&s, segs, n);
        ldr__report_finish(rep, &s);
    }
    ldr_free(segs);
    close(dirfd);
    return rc;
}

/* ---- writing ---- */

typedef struct ldr__wal_batch {
    struct ldr__wal_batch *next;
    uint8_t *buf;
    size_t len, cap;
    uint64_t first_lsn, last_lsn;
    uint32_t records;
    bool new_segment; /* the first batch of a segment not created yet */
} ldr__wal_batch_t;

struct ldr_wal {
    int dirfd, fd, efd;
    int lockfd;    /* the directory again, only for the writer's flock (see ldr_wal_open) */
    bool efd_used; /* ldr_wal_event_fd handed it out: polls drain it (else nobody reads it) */
    const ldr_wal_io_t *io; /* a simulated disk, or NULL */
    struct io_uring ring;
    unsigned ring_flags;
    bool ring_enabled;
    bool ring_broken; /* waiting for completions failed: in-flight buffers are never freed */

    uint64_t segment_bytes;
    uint32_t batch_max;
    uint32_t inline_records; /* one-write batches of up to this many are written by the caller */

    uint64_t *segs; /* first LSNs of the segments, oldest first; the last is being appended to */
    uint32_t nsegs, capsegs;
    uint32_t nsegs_synced; /* segs[0..nsegs_synced) are durably created */
    uint64_t seg_bytes;    /* bytes appended to the current segment, written or not */
    bool next_new_segment; /* the next batch opens a new segment */
    uint64_t file_off;     /* where the next write goes in the open file */
    uint64_t file_size;    /* the open file's size: [file_off, file_size) is zeros */
    uint64_t zero_bytes;   /* the zeros written by the chain in flight */

    uint64_t next_lsn, durable_lsn, flush_lsn;
    ldr__wal_batch_t *open;               /* collecting appends */
    ldr__wal_batch_t *queue, *queue_tail; /* closed, waiting to be written */
    ldr__wal_batch_t *inflight;           /* being written and synced */
    ldr__wal_batch_t *spare;              /* free batches */
    unsigned cqes_pending;
    int64_t submit_ns;

    int failed; /* LDR_OK or LDR_ESTORAGE, sticky */
    char error[256];

    ldr_wal_stats_t stats;
    ldr_wal_batch_cb batch_cb;
    void *batch_ctx;
    ldr__wal_fault_cb fault_cb;
    void *fault_ctx;
};

static void ldr__fail(ldr_wal_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ldr__fail(ldr_wal_t *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = LDR_ESTORAGE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof(w->error), fmt, ap);
    va_end(ap);
}

void ldr__wal_set_fault(ldr_wal_t *w, ldr__wal_fault_cb cb, void *ctx)
{
    w->fault_cb = cb;
    w->fault_ctx = ctx;
}

static void ldr__segs_push(ldr_wal_t *w, uint64_t first)
{
    if (w->nsegs == w->capsegs) {
        w->capsegs = w->capsegs ? w->capsegs * 2 : 16;
        w->segs = ldr_realloc(w->segs, w->capsegs * sizeof(*w->segs));
    }
    w->segs[w->nsegs++] = first;
}

static ldr__wal_batch_t *ldr__batch_get(ldr_wal_t *w)
{
    ldr__wal_batch_t *b = w->spare;
    if (b != NULL)
        w->spare = b->next;
    else
        b = ldr_calloc(1, sizeof(*b));
    b->next = NULL;
    b->len = 0;
    b->records = 0;
    b->first_lsn = b->last_lsn = 0;
    b->new_segment = false;
    return b;
}

static void ldr__batch_put(ldr_wal_t *w, ldr__wal_batch_t *b)
{
    b->next = w->spare;
    w->spare = b;
}

static void ldr__batch_free_list(ldr__wal_batch_t *b)
{
    while (b != NULL) {
        ldr__wal_batch_t *next = b->next;
        ldr_free(b->buf);
        ldr_free(b);
        b = next;
    }
}

/* Closes the open batch: it waits in the queue for its turn. */
static void ldr__close_open(ldr_wal_t *w)
{
    ldr__wal_batch_t *b = w->open;
    if (b == NULL || b->records == 0)
        return;
    w->open = NULL;
    if (w->queue_tail != NULL)
        w->queue_tail->next = b;
    else
        w->queue = b;
    w->queue_tail = b;
}

int ldr_wal_append(ldr_wal_t *w, uint16_t type, int64_t time, const void *data, size_t len,
                   uint64_t *lsn)
{
    if (w->failed)
        return w->failed;
    if (len > LDR_WAL_MAX_PAYLOAD || (len > 0 && data == NULL))
        return LDR_EINVAL;
    size_t size = ldr__wal_record_bytes(len);
    if (w->seg_bytes >= w->segment_bytes) {
        ldr__close_open(w);
        w->seg_bytes = 0;
        w->next_new_segment = true;
    }
    if (w->open != NULL && w->open->records > 0 && w->open->len + size > w->batch_max)
        ldr__close_open(w);
    if (w->open == NULL) {
        w->open = ldr__batch_get(w);
        w->open->new_segment = w->next_new_segment;
        w->next_new_segment = false;
    }
    ldr__wal_batch_t *b = w->open;
    if (b->cap - b->len < size) {
        size_t cap = b->cap ? b->cap : LDR__WAL_BATCH_INITIAL_CAP;
        while (cap - b->len < size)
            cap *= 2;
        uint8_t *nb = ldr_try_realloc(b->buf, cap);
        if (nb == NULL)
            return LDR_ENOMEM;
        b->buf = nb;
        b->cap = cap;
    }
    uint64_t l = w->next_lsn;
    uint8_t *p = b->buf + b->len;
    size_t body = size - LDR__WAL_TRAILER_BYTES;
    ldr__put_u32(p, (uint32_t)len);
    ldr__put_u16(p + 4, type);
    ldr__put_u16(p + 6, b->records == 0 ? LDR__WAL_F_BATCH_START : 0);
    ldr__put_u64(p + 8, l);
    ldr__put_u64(p + 16, (uint64_t)time);
    if (len > 0)
        memcpy(p + LDR__WAL_HEADER_BYTES, data, len);
    memset(p + LDR__WAL_HEADER_BYTES + len, 0, body - LDR__WAL_HEADER_BYTES - len);
    ldr__put_u64(p + body, XXH3_64bits(p, body));
    if (b->records == 0)
        b->first_lsn = l;
    b->last_lsn = l;
    b->records++;
    b->len += size;
    w->seg_bytes += size;
    w->stats.pending_bytes += size;
    w->next_lsn = l + 1;
    if (lsn != NULL)
        *lsn = l;
    return LDR_OK;
}

/* An R_DISABLED ring is enabled by the thread that first uses it, which it is then bound to. */
static int ldr__ring_start(ldr_wal_t *w)
{
    if (w->ring_enabled)
        return LDR_OK;
    /* liburing 2.3 declares io_uring_enable_rings but does not export it. */
    if (syscall(__NR_io_uring_register, w->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) !=
        0) {
        ldr__fail(w, "io_uring enable: %s", strerror(errno));
        return w->failed;
    }
    w->ring_enabled = true;
    return LDR_OK;
}

/* Tags an operation of the chain with its kind and, for a piece of zeros, its length (what
 * ldr_wal_poll hands ldr__on_cqe), and links it to the next one. */
static void ldr__prep(struct io_uring_sqe *sqe, int op, uint32_t zero_len, bool link)
{
    io_uring_sqe_set_data64(sqe, (uint64_t)op | (uint64_t)zero_len << 32);
    if (link)
        sqe->flags |= IOSQE_IO_LINK;
}

static void ldr__on_cqe(ldr_wal_t *w, int op, int res, uint64_t want);
static void ldr__finish_batch(ldr_wal_t *w);

/* Whether a batch goes to the disk as one WRITE with RWF_DSYNC: it opens no segment and needs no
 * zeros written after it (see "Writing" above). */
static bool ldr__one_op(const ldr_wal_t *w, const ldr__wal_batch_t *b)
{
    return w->zero_bytes == 0 && !b->new_segment;
}

/* The fdatasync of a simulated disk, with the deliberate bugs the simulator must catch. */
static int ldr__sim_sync(ldr_wal_t *w)
{
    if (ldr__wal_break == LDR__WAL_BREAK_ACK_BEFORE_SYNC)
        return 0;
    int res = w->io->fdatasync(w->io->ctx, w->fd);
    return ldr__wal_break == LDR__WAL_BREAK_IGNORE_SYNC_ERROR ? 0 : res;
}

/* The chain of ldr__submit on a simulated disk: each operation in turn, stopping at the first
 * failure (the rest is cancelled, as IOSQE_IO_LINK would). */
static int ldr__submit_io(ldr_wal_t *w, ldr__wal_batch_t *b, uint64_t end)
{
    const ldr_wal_io_t *io = w->io;
    int ops[4] = {LDR__WAL_OP_WRITE, LDR__WAL_OP_ZERO, LDR__WAL_OP_FSYNC, LDR__WAL_OP_DIRSYNC};
    bool one = ldr__one_op(w, b);
    bool want[4] = {true, w->zero_bytes > 0, !one, b->new_segment};
    if (one)
        ops[0] = LDR__WAL_OP_WRITE_DSYNC;
    w->submit_ns = ldr__now_ns();
    w->inflight = b;
    w->cqes_pending = 0;
    for (int i = 0; i < 4; i++)
        w->cqes_pending += want[i];
    w->file_off = end;
    bool cancelled = false;
    for (int i = 0; i < 4; i++) {
        if (!want[i])
            continue;
        int res = -ECANCELED;
        if (!cancelled) {
            switch (ops[i]) {
            case LDR__WAL_OP_WRITE:
            case LDR__WAL_OP_WRITE_DSYNC:
                res = io->pwrite(io->ctx, w->fd, b->buf, b->len, end - b->len);
                if (ldr__wal_break == LDR__WAL_BREAK_IGNORE_WRITE_ERROR)
                    res = (int)b->len;
                if (one && res == (int)b->len) {
                    int err = ldr__sim_sync(w); /* whole file: stricter than the kernel's range */
                    res = err != 0 ? err : res;
                }
                cancelled = res != (int)b->len;
                break;
            case LDR__WAL_OP_ZERO:
                res = io->pwrite(io->ctx, w->fd, ldr__zeros, w->zero_bytes, end);
                cancelled = res != (int)w->zero_bytes;
                break;
            case LDR__WAL_OP_FSYNC:
                res = ldr__sim_sync(w);
                cancelled = res != 0;
                break;
            default:
                res = io->fsync_dir(io->ctx);
                break;
            }
        }
        ldr__on_cqe(w, ops[i], res, w->zero_bytes); /* the zeros in one write here */
    }
    if (w->zero_bytes > 0)
        w->file_size = end + w->zero_bytes;
    ldr__finish_batch(w);
    return w->failed;
}

static int ldr__submit_ring(ldr_wal_t *w, ldr__wal_batch_t *b, uint64_t end, unsigned want);

/* A lone writer's batch, written and made durable on this thread (see "Writing" above); its
 * result goes through ldr__on_cqe as a completion's would. */
static int ldr__write_dsync(ldr_wal_t *w, ldr__wal_batch_t *b, uint64_t end)
{
    struct iovec iov = {b->buf, b->len};
    w->submit_ns = ldr__now_ns();
    ssize_t r;
    do
        r = pwritev2(w->fd, &iov, 1, (off_t)w->file_off, LDR__RWF_DSYNC);
    while (r < 0 && errno == EINTR);
    w->inflight = b;
    w->cqes_pending = 1;
    w->file_off = end;
    ldr__on_cqe(w, LDR__WAL_OP_WRITE_DSYNC, r < 0 ? -errno : (int)r, 0);
    ldr__finish_batch(w);
    return w->failed;
}

static int ldr__submit(ldr_wal_t *w, ldr__wal_batch_t *b)
{
    char name[LDR_WAL_FILE_MAX];
    if (w->io == NULL && ldr__ring_start(w) != LDR_OK) {
        ldr__batch_put(w, b);
        return w->failed;
    }
    if (b->new_segment) {
        ldr__seg_name(name, b->first_lsn);
        int fd = w->io != NULL
                     ? w->io->open(w->io->ctx, name, true)
                     : openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            ldr__fail(w, "create %s: %s", name, strerror(w->io != NULL ? -fd : errno));
            ldr__batch_put(w, b);
            return w->failed;
        }
        /* the previous segment is complete: nothing of it is in flight */
        if (w->io != NULL)
            w->io->close(w->io->ctx, w->fd);
        else
            close(w->fd);
        w->fd = fd;
        w->file_off = w->file_size = 0;
        ldr__segs_push(w, b->first_lsn);
    }
    /*
     * One chain: WRITE [-> WRITE(zeros)] -> FSYNC(DATASYNC) [-> FSYNC(directory)]; a failure
     * cancels the rest.  A write that goes past the end of the file also fills the file with
     * zeros up to the next multiple of LDR__WAL_ZERO_CHUNK: later batches then overwrite blocks
     * that exist, and their fdatasync has no file size or block allocation to journal, only data
     * to flush (ext4 here: a 2 KB write + fdatasync took 117 us instead of 177 us).  Recovery
     * reads zeros after the last record as the end of the log.
     */
    uint64_t end = w->file_off + b->len;
    w->zero_bytes = 0;
    if (end > w->file_size) {
        uint64_t to = (end + LDR__WAL_ZERO_CHUNK - 1) / LDR__WAL_ZERO_CHUNK * LDR__WAL_ZERO_CHUNK;
        uint64_t cap = (w->segment_bytes + 4095) & ~(uint64_t)4095; /* not far past a segment */
        if (to > cap)
            to = cap;
        w->zero_bytes = to > end ? to - end : 0;
    }
    if (w->io != NULL)
        return ldr__submit_io(w, b, end);
    bool one = ldr__one_op(w, b);
    if (one && b->records <= w->inline_records)
        return ldr__write_dsync(w, b, end);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    io_uring_prep_write(sqe, w->fd, b->buf, (unsigned)b->len, w->file_off);
    if (one) {
        sqe->rw_flags = LDR__RWF_DSYNC;
        ldr__prep(sqe, LDR__WAL_OP_WRITE_DSYNC, 0, false);
        return ldr__submit_ring(w, b, end, 1);
    }
    ldr__prep(sqe, LDR__WAL_OP_WRITE, 0, true);
    unsigned want = 2; /* the write and the fdatasync, and what comes between or after */
    if (w->zero_bytes > 0) {
        for (uint64_t at = end, stop = end + w->zero_bytes; at < stop;) {
            uint64_t next = (at + LDR__WAL_ZERO_PIECE) & ~(uint64_t)(LDR__WAL_ZERO_PIECE - 1);
            if (next > stop)
                next = stop;
            sqe = io_uring_get_sqe(&w->ring);
            io_uring_prep_write(sqe, w->fd, ldr__zeros, (unsigned)(next - at), at);
            ldr__prep(sqe, LDR__WAL_OP_ZERO, (uint32_t)(next - at), true);
            want++;
            at = next;
        }
    }
    sqe = io_uring_get_sqe(&w->ring);
    io_uring_prep_fsync(sqe, w->fd, IORING_FSYNC_DATASYNC);
    ldr__prep(sqe, LDR__WAL_OP_FSYNC, 0, b->new_segment);
    if (b->new_segment) {
        sqe = io_uring_get_sqe(&w->ring);
        io_uring_prep_fsync(sqe, w->dirfd, 0);
        ldr__prep(sqe, LDR__WAL_OP_DIRSYNC, 0, false);
        want++;
    }
    return ldr__submit_ring(w, b, end, want);
}

/* Submits the `want` operations prepared for batch b, which ends at file offset `end`. */
static int ldr__submit_ring(ldr_wal_t *w, ldr__wal_batch_t *b, uint64_t end, unsigned want)
{
    w->submit_ns = ldr__now_ns();
    int r;
    do
        r = io_uring_submit(&w->ring);
    while (r == -EINTR);
    if (r <= 0) {
        ldr__fail(w, "io_uring submit: %s", r < 0 ? strerror(-r) : "nothing submitted");
        ldr__batch_put(w, b);
        return w->failed;
    }
    if ((unsigned)r < want)
        ldr__fail(w, "io_uring submit: %d of %u operations submitted", r, want);
    w->inflight = b;
    w->cqes_pending = (unsigned)r;
    w->file_off = end;
    if (w->zero_bytes > 0)
        w->file_size = end + w->zero_bytes;
    return w->failed;
}

/* Submits the next batch when a flush asked for it and nothing is in flight; a batch that
 * completed at once (one written on this thread, or any on a simulated disk) lets the next go. */
static int ldr__kick(ldr_wal_t *w)
{
    for (;;) {
        if (w->failed)
            return w->failed;
        if (w->inflight != NULL || w->flush_lsn <= w->durable_lsn)
            return LDR_OK;
        if (w->queue == NULL)
            ldr__close_open(w);
        ldr__wal_batch_t *b = w->queue;
        if (b == NULL)
            return LDR_OK;
        w->queue = b->next;
        if (w->queue == NULL)
            w->queue_tail = NULL;
        b->next = NULL;
        int rc = ldr__submit(w, b);
        if (rc != LDR_OK)
            return rc;
    }
}

int ldr_wal_flush(ldr_wal_t *w)
{
    if (w->failed)
        return w->failed;
    if (w->next_lsn - 1 > w->flush_lsn)
        w->flush_lsn = w->next_lsn - 1;
    return ldr__kick(w);
}

/* One completion of the chain in flight; for a zero fill, `want` is the bytes it (or its piece)
 * should have written. */
static void ldr__on_cqe(ldr_wal_t *w, int op, int res, uint64_t want)
{
    ldr__wal_batch_t *b = w->inflight;
    char name[LDR_WAL_FILE_MAX];
    w->cqes_pending--;
    if (w->fault_cb != NULL)
        res = w->fault_cb(w->fault_ctx, op, res);
    ldr__seg_name(name, w->segs[w->nsegs - 1]);
    if (op == LDR__WAL_OP_WRITE || op == LDR__WAL_OP_WRITE_DSYNC) {
        if (res < 0)
            ldr__fail(w, "%s: %s of %zu bytes at offset %" PRIu64 ": %s", name,
                      op == LDR__WAL_OP_WRITE ? "write" : "write + fdatasync", b->len,
                      w->file_off - b->len, strerror(-res));
        else if ((size_t)res != b->len)
            ldr__fail(w, "%s: short write: %d of %zu bytes at offset %" PRIu64, name, res, b->len,
                      w->file_off - b->len);
    } else if (op == LDR__WAL_OP_ZERO) {
        if (res == -ECANCELED)
            ldr__fail(w, "%s: zero fill cancelled after a failed write", name);
        else if (res < 0)
            ldr__fail(w, "%s: zero fill of %" PRIu64 " bytes at offset %" PRIu64 ": %s", name,
                      w->zero_bytes, w->file_off, strerror(-res));
        else if ((uint64_t)res != want)
            ldr__fail(w,
                      "%s: short zero fill: %d of %" PRIu64 " bytes, filling from offset %" PRIu64,
                      name, res, want, w->file_off);
    } else if (res != 0) {
        const char *what = op == LDR__WAL_OP_FSYNC ? "fdatasync" : "directory fsync";
        if (res == -ECANCELED)
            ldr__fail(w, "%s: %s cancelled after a failed write", name, what);
        else
            ldr__fail(w, "%s: %s: %s", name, what, res < 0 ? strerror(-res) : "unexpected result");
    }
}

static void ldr__finish_batch(ldr_wal_t *w)
{
    ldr__wal_batch_t *b = w->inflight;
    w->inflight = NULL;
    if (!w->failed) {
        w->durable_lsn = b->last_lsn;
        w->stats.batches++;
        w->stats.records += b->records;
        w->stats.bytes += b->len;
        w->stats.pending_bytes -= b->len;
        if (b->new_segment)
            w->nsegs_synced = w->nsegs;
        if (w->batch_cb != NULL) {
            ldr_wal_batch_info_t info = {b->first_lsn,     b->last_lsn,  b->records,
                                         (uint32_t)b->len, w->submit_ns, ldr__now_ns()};
            w->batch_cb(w->batch_ctx, &info);
        }
    }
    ldr__batch_put(w, b);
}

/* Clears the eventfd; true if it had been signalled.  Only once someone waits on it: the engine
 * waits in io_uring_enter, and a read per poll was most of its system calls (~6 a batch). */
static bool ldr__drain_eventfd(ldr_wal_t *w)
{
    uint64_t v;
    return w->efd_used && read(w->efd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

int ldr_wal_poll(ldr_wal_t *w, bool wait, uint64_t *durable_lsn)
{
    /*
     * The eventfd is signalled when a completion is queued, also on DEFER_TASKRUN rings where the
     * CQE itself is only posted once this thread asks (io_uring_get_events).  The kernel signals
     * only when its list of such pending work was empty, so "no signal since we last looked" does
     * not prove that nothing is pending: with a batch in flight and an empty CQ ring, always ask
     * (one syscall per poll, not per record).
     */
    ldr__drain_eventfd(w);
    bool fetched = false;
    while (w->inflight != NULL && !w->ring_broken) {
        struct io_uring_cqe *cqe;
        int r = io_uring_peek_cqe(&w->ring, &cqe);
        if (r == -EAGAIN) {
            if (wait) {
                r = io_uring_wait_cqe(&w->ring, &cqe);
            } else if (!fetched) {
                /* DEFER_TASKRUN rings post completions only when their thread asks. */
                fetched = true;
                io_uring_get_events(&w->ring);
                continue;
            } else {
                break;
            }
        }
        if (r == -EINTR)
            continue;
        if (r < 0) {
            ldr__fail(w, "io_uring wait: %s", strerror(-r));
            w->ring_broken = true;
            break;
        }
        uint64_t data = io_uring_cqe_get_data64(cqe);
        int op = (int)(data & 0xffffffffu), res = cqe->res;
        io_uring_cqe_seen(&w->ring, cqe);
        ldr__on_cqe(w, op, res, data >> 32);
        if (w->cqes_pending == 0) {
            ldr__finish_batch(w);
            ldr__kick(w);
            wait = false;
            fetched = true;
        }
    }
    /*
     * Reaping posts completions, which signals the eventfd again.  With nothing in flight no new
     * completion can come, so clear that; otherwise leave it (at worst one spurious wake-up).
     */
    if (w->inflight == NULL)
        ldr__drain_eventfd(w);
    if (durable_lsn != NULL)
        *durable_lsn = w->durable_lsn;
    return w->failed;
}

int ldr_wal_sync(ldr_wal_t *w)
{
    int rc = ldr_wal_flush(w);
    while (rc == LDR_OK && w->durable_lsn + 1 < w->next_lsn) {
        if (w->inflight == NULL) { /* cannot happen: flush and poll always keep a batch going */
            ldr__fail(w, "sync: records %" PRIu64 "..%" PRIu64 " are in no batch",
                      w->durable_lsn + 1, w->next_lsn - 1);
            return w->failed;
        }
        rc = ldr_wal_poll(w, true, NULL);
    }
    return rc;
}

static int ldr__ring_init(ldr_wal_t *w);

int ldr_wal_rebind(ldr_wal_t *w)
{
    if (w->io != NULL || w->failed || !w->ring_enabled ||
        !(w->ring_flags & IORING_SETUP_SINGLE_ISSUER))
        return w->failed; /* not taken by a thread yet, or any thread may submit */
    if (w->inflight != NULL) {
        ldr__fail(w, "rebind: a batch is in flight");
        return w->failed;
    }
    io_uring_queue_exit(&w->ring);
    int r = ldr__ring_init(w);
    if (r != 0)
        ldr__fail(w, "io_uring setup: %s", strerror(-r));
    return w->failed;
}

void ldr_wal_set_inline_records(ldr_wal_t *w, uint32_t records)
{
    w->inline_records = records;
}

int ldr_wal_event_fd(ldr_wal_t *w)
{
    w->efd_used = w->efd >= 0;
    return w->efd;
}

uint64_t ldr_wal_durable_lsn(const ldr_wal_t *w)
{
    return w->durable_lsn;
}

uint64_t ldr_wal_next_lsn(const ldr_wal_t *w)
{
    return w->next_lsn;
}

bool ldr_wal_busy(const ldr_wal_t *w)
{
    return w->inflight != NULL;
}

void ldr_wal_stats(const ldr_wal_t *w, ldr_wal_stats_t *out)
{
    *out = w->stats;
    out->next_lsn = w->next_lsn;
    out->durable_lsn = w->durable_lsn;
    out->segments = w->nsegs;
    out->in_flight = w->inflight != NULL;
    out->ring_flags = w->ring_flags;
}

const char *ldr_wal_error(const ldr_wal_t *w)
{
    return w->failed ? w->error : NULL;
}

int ldr_wal_remove_before(ldr_wal_t *w, uint64_t lsn, uint32_t *removed)
{
    char name[LDR_WAL_FILE_MAX];
    uint32_t k = 0;
    int rc = LDR_OK;
    /* Segment k holds LSNs [segs[k], segs[k+1]); its successor must be durably created. */
    while (k + 1 < w->nsegs_synced && w->segs[k + 1] <= lsn) {
        ldr__seg_name(name, w->segs[k]);
        int r = w->io != NULL ? w->io->unlink(w->io->ctx, name)
                              : (unlinkat(w->dirfd, name, 0) != 0 ? -errno : 0);
        if (r < 0 && r != -ENOENT) {
            rc = LDR_EIO;
            break;
        }
        k++;
    }
    if (k > 0) {
        memmove(w->segs, w->segs + k, (w->nsegs - k) * sizeof(*w->segs));
        w->nsegs -= k;
        w->nsegs_synced -= k;
    }
    if (removed != NULL)
        *removed = k;
    return rc;
}

/* A fresh ring, its completions signalled on w->efd; on failure (a negative errno) no ring. */
static int ldr__ring_init(ldr_wal_t *w)
{
    /* Newest first; older kernels refuse the flags they do not know with EINVAL. */
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED,
        0,
    };
    int r = -EINVAL;
    for (size_t i = 0; i < LDR_ARRAY_SIZE(tries) && r == -EINVAL; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = tries[i];
        r = io_uring_queue_init_params(LDR__WAL_RING_ENTRIES, &w->ring, &p);
        if (r == 0) {
            w->ring_flags = tries[i];
            w->ring_enabled = !(tries[i] & IORING_SETUP_R_DISABLED);
        }
    }
    if (r == 0 && (r = io_uring_register_eventfd(&w->ring, w->efd)) != 0)
        io_uring_queue_exit(&w->ring);
    if (r != 0)
        w->ring.ring_fd = -1;
    return r;
}

static void ldr__wal_destroy(ldr_wal_t *w)
{
    if (w->ring.ring_fd >= 0)
        io_uring_queue_exit(&w->ring);
    if (w->efd >= 0)
        close(w->efd);
    if (w->fd >= 0 && w->io != NULL)
        w->io->close(w->io->ctx, w->fd);
    else if (w->fd >= 0)
        close(w->fd);
    if (w->dirfd >= 0)
        close(w->dirfd);
    if (w->lockfd >= 0)
        close(w->lockfd); /* releases the flock */
    if (!w->ring_broken && w->inflight != NULL)
        ldr__batch_put(w, w->inflight);
    if (w->open != NULL)
        ldr__batch_put(w, w->open);
    ldr__batch_free_list(w->queue);
    ldr__batch_free_list(w->spare);
    ldr_free(w->segs);
    ldr_free(w);
}

int ldr_wal_close(ldr_wal_t *w)
{
    if (w == NULL)
        return LDR_OK;
    int rc = ldr_wal_sync(w);
    /* After a failure, the chain in flight must still finish before its buffer can go. */
    while (w->inflight != NULL && !w->ring_broken)
        ldr_wal_poll(w, true, NULL);
    ldr__wal_destroy(w);
    return rc;
}

/* mkdir + fsync of the parent, so that a new log directory survives a crash. */
static int ldr__make_dir(const char *dir, ldr_wal_recovery_t *rep)
{
    if (mkdir(dir, 0755) != 0)
        return errno == EEXIST ? LDR_OK : ldr__sys_error(rep, "mkdir", dir, errno);
    char *parent = ldr_strndup(dir, strlen(dir));
    char *slash = strrchr(parent, '/');
    const char *pp = ".";
    if (slash == parent)
        pp = "/";
    else if (slash != NULL) {
        *slash = '\0';
        pp = parent;
    }
    int fd = open(pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = LDR_OK;
    if (fd < 0 || fsync(fd) != 0)
        rc = ldr__sys_error(rep, "fsync", pp, errno);
    if (fd >= 0)
        close(fd);
    ldr_free(parent);
    return rc;
}

/* Lists the log's segments and verifies them (replaying into opts->replay_cb): the recovery of
 * ldr_wal_open, on either disk. */
static int ldr__open_scan(ldr_wal_t *w, const ldr_wal_opts_t *opts, ldr_wal_recovery_t *rep,
                          ldr__scan_t *s)
{
    int rc = w->io != NULL ? ldr__io_list_segments(w->io, &w->segs, &w->nsegs)
                           : ldr__list_segments(w->dirfd, &w->segs, &w->nsegs);
    if (rc != LDR_OK)
        return ldr__sys_error(rep, "list", opts->dir, w->io != NULL ? EIO : errno);
    w->capsegs = w->nsegs;
    *s = (ldr__scan_t){.dirfd = w->dirfd,
                       .io = w->io,
                       .from = opts->from_lsn,
                       .cb = opts->replay_cb,
                       .ctx = opts->replay_ctx,
                       .rep = rep,
                       .discard_from = opts->discard_from,
                       .expect = 1};
    rc = ldr__scan_all(s, w->segs, w->nsegs);
    ldr__report_finish(rep, s);
    return rc;
}

/* Where writing goes on after what recovery found (its last segment is durable, cut or not). */
static void ldr__open_done(ldr_wal_t *w, const ldr__scan_t *s)
{
    w->nsegs_synced = w->nsegs;
    w->next_lsn = s->expect;
    w->durable_lsn = w->flush_lsn = s->expect - 1;
    w->seg_bytes = w->file_off = s->tail_end;
    w->file_size = s->cut ? s->tail_end : s->file_size;
}

/* ldr_wal_open on a simulated disk: the same recovery, the same rules, no ring. */
static int ldr__open_io(ldr_wal_t *w, const ldr_wal_opts_t *opts, ldr_wal_recovery_t *rep)
{
    const ldr_wal_io_t *io = w->io;
    char name[LDR_WAL_FILE_MAX];
    ldr__scan_t s;
    int rc = ldr__open_scan(w, opts, rep, &s);
    if (rc != LDR_OK)
        goto failed;
    int r;
    if (w->nsegs == 0) {
        ldr__seg_name(name, 1);
        if ((w->fd = io->open(io->ctx, name, true)) < 0) {
            rc = ldr__sys_error(rep, "create", name, -w->fd);
            goto failed;
        }
        ldr__segs_push(w, 1);
    } else {
        ldr__seg_name(name, w->segs[w->nsegs - 1]);
        if ((w->fd = io->open(io->ctx, name, false)) < 0) {
            rc = ldr__sys_error(rep, "open", name, -w->fd);
            goto failed;
        }
        /* what recovery read must be on the disk before it is served (see ldr_wal_open) */
        if ((s.cut && (r = io->truncate(io->ctx, w->fd, s.tail_end)) < 0) ||
            (r = io->fdatasync(io->ctx, w->fd)) < 0) {
            rc = ldr__sys_error(rep, s.cut ? "truncate" : "fdatasync", name, -r);
            goto failed;
        }
    }
    if ((r = io->fsync_dir(io->ctx)) < 0) {
        rc = ldr__sys_error(rep, "fsync", opts->dir, -r);
        goto failed;
    }
    ldr__open_done(w, &s);
    return LDR_OK;

failed:
    ldr__wal_destroy(w);
    return rc;
}

int ldr_wal_open(const ldr_wal_opts_t *opts, ldr_wal_t **out, ldr_wal_recovery_t *report)
{
    ldr_wal_recovery_t local;
    ldr_wal_recovery_t *rep = report != NULL ? report : &local;
    memset(rep, 0, sizeof(*rep));
    *out = NULL;
    if (opts == NULL || opts->dir == NULL || opts->dir[0] == '\0')
        return LDR_EINVAL;
    int rc = opts->io != NULL ? LDR_OK : ldr__make_dir(opts->dir, rep);
    if (rc != LDR_OK)
        return rc;

    ldr_wal_t *w = ldr_calloc(1, sizeof(*w));
    w->dirfd = w->fd = w->efd = w->lockfd = -1;
    w->ring.ring_fd = -1;
    w->io = opts->io;
    w->segment_bytes = opts->segment_bytes ? opts->segment_bytes : LDR_WAL_SEGMENT_BYTES_DEFAULT;
    w->batch_max = opts->batch_max_bytes ? opts->batch_max_bytes : LDR_WAL_BATCH_BYTES_DEFAULT;
    w->inline_records = LDR__WAL_INLINE_RECORDS;
    w->batch_cb = opts->batch_cb;
    w->batch_ctx = opts->batch_ctx;

    char name[LDR_WAL_FILE_MAX];
    if (w->io != NULL) {
        rc = ldr__open_io(w, opts, rep);
        if (rc == LDR_OK)
            *out = w;
        return rc;
    }
    w->dirfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        rc = ldr__sys_error(rep, "open", opts->dir, errno);
        goto failed;
    }
    /*
     * One writer per log: an exclusive flock, taken on a descriptor of its own.  dirfd goes to
     * io_uring (the directory fsync after a new segment), which may drop its reference to that
     * open file only after ldr_wal_close returns (a deferred fput); a lock on it could then outlive
     * the close, and a reopen at once find the log "in use" (seen once in a test run under load).
     */
    w->lockfd = openat(w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->lockfd < 0) {
        rc = ldr__sys_error(rep, "open", opts->dir, errno);
        goto failed;
    }
    if (flock(w->lockfd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(rep->message, sizeof(rep->message), "%s: in use by another writer", opts->dir);
            rc = LDR_EBUSY;
        } else {
            rc = ldr__sys_error(rep, "flock", opts->dir, errno);
        }
        goto failed;
    }
    ldr__scan_t s;
    if ((rc = ldr__open_scan(w, opts, rep, &s)) != LDR_OK)
        goto failed;

    if (w->nsegs == 0) {
        ldr__seg_name(name, 1);
        w->fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd < 0) {
            rc = ldr__sys_error(rep, "create", name, errno);
            goto failed;
        }
        ldr__segs_push(w, 1);
    } else {
        ldr__seg_name(name, w->segs[w->nsegs - 1]);
        w->fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
        if (w->fd < 0) {
            rc = ldr__sys_error(rep, "open", name, errno);
            goto failed;
        }
        /*
         * What recovery read is served from now on, so it must be on the disk, not only in the page
         * cache: a process that stopped after a failed fdatasync left records there that the disk
         * may not hold (the simulator found one come back and then vanish in a later crash).
         */
        if ((s.cut && ftruncate(w->fd, (off_t)s.tail_end) != 0) || fdatasync(w->fd) != 0) {
            rc = ldr__sys_error(rep, s.cut ? "truncate" : "fdatasync", name, errno);
            goto failed;
        }
    }
    /* Makes a segment created here, or by a run that crashed before its first fsync, durable. */
    if (fsync(w->dirfd) != 0) {
        rc = ldr__sys_error(rep, "fsync", opts->dir, errno);
        goto failed;
    }
    ldr__open_done(w, &s);

    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        rc = ldr__sys_error(rep, "eventfd for", opts->dir, errno);
        goto failed;
    }
    int r = ldr__ring_init(w);
    if (r != 0) {
        rc = ldr__sys_error(rep, "io_uring setup for", opts->dir, -r);
        goto failed;
    }
    *out = w;
    return LDR_OK;

failed:
    ldr__wal_destroy(w);
    return rc;
}

/* ---- tailing ---- */

struct ldr_wal_reader {
    int dirfd, fd;
    uint64_t off;      /* where the next record starts in the open segment */
    uint64_t next_lsn; /* the LSN it must carry */
    uint8_t *buf;      /* file bytes [buf_off, buf_off + buf_len) of the open segment */
    size_t cap, buf_len;
    uint64_t buf_off;
    char name[LDR_WAL_FILE_MAX];
    char error[256];
};

#define LDR__WAL_READ_CHUNK (256u << 10)

/* Makes the buffer hold [off, off + need) of the segment (re-reading it when `fresh`); NULL when
 * the file is shorter, or on a read error (r->error says which). */
static const uint8_t *ldr__reader_at(ldr_wal_reader_t *r, uint64_t off, size_t need, bool fresh)
{
    if (!fresh && off >= r->buf_off && off + need <= r->buf_off + r->buf_len)
        return r->buf + (off - r->buf_off);
    size_t want = need > LDR__WAL_READ_CHUNK ? need : LDR__WAL_READ_CHUNK;
    if (want > r->cap) {
        ldr_free(r->buf);
        r->buf = ldr_malloc(want);
        r->cap = want;
    }
    r->buf_off = off, r->buf_len = 0;
    while (r->buf_len < r->cap) {
        ssize_t n =
            pread(r->fd, r->buf + r->buf_len, r->cap - r->buf_len, (off_t)(off + r->buf_len));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(r->error, sizeof(r->error), "%s: read at offset %" PRIu64 ": %s", r->name,
                     off + r->buf_len, strerror(errno));
            return NULL;
        }
        if (n == 0)
            break;
        r->buf_len += (size_t)n;
    }
    return r->buf_len >= need ? r->buf : NULL;
}

/* The record at r->off, verified (its LSN is the caller's to check). */
static int ldr__reader_parse(ldr_wal_reader_t *r, bool fresh, ldr__rec_view_t *v, const uint8_t **p,
                             const char **why)
{
    const uint8_t *h = ldr__reader_at(r, r->off, LDR__WAL_HEADER_BYTES, fresh);
    *why = "truncated record";
    if (h == NULL)
        return LDR__REC_BAD;
    size_t size = ldr__wal_record_bytes(ldr__get_u32(h));
    if (ldr__get_u32(h) > LDR_WAL_MAX_PAYLOAD) {
        *why = "record length out of bounds";
        return LDR__REC_BAD;
    }
    if ((*p = ldr__reader_at(r, r->off, size, false)) == NULL)
        return LDR__REC_BAD;
    return ldr__rec_parse(*p, size, v, why);
}

/* Opens the segment whose first record is `first`; false when there is none. */
static bool ldr__reader_segment(ldr_wal_reader_t *r, uint64_t first)
{
    char name[LDR_WAL_FILE_MAX];
    ldr__seg_name(name, first);
    int fd = openat(r->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    memcpy(r->name, name, sizeof(name));
    r->off = 0;
    r->buf_off = r->buf_len = 0;
    return true;
}

int ldr_wal_reader_next(ldr_wal_reader_t *r, uint64_t upto, ldr_wal_record_t *rec)
{
    if (r->next_lsn > upto)
        return LDR_ENOENT;
    r->error[0] = '\0';
    /* Durable records do not change, but the buffer may hold what was on disk before they were
     * written: a record that does not verify is read again, and then looked for at the start of
     * the next segment. */
    bool fresh = false, switched = false;
    for (;;) {
        ldr__rec_view_t v;
        const uint8_t *p = NULL;
        const char *why;
        if (ldr__reader_parse(r, fresh, &v, &p, &why) == LDR__REC_OK) {
            if (v.lsn != r->next_lsn || (v.flags & ~LDR__WAL_F_KNOWN)) {
                snprintf(r->error, sizeof(r->error),
                         "%s: offset %" PRIu64 ": lsn %" PRIu64 " where %" PRIu64 " was expected",
                         r->name, r->off, v.lsn, r->next_lsn);
                return LDR_ECORRUPT;
            }
            *rec = (ldr_wal_record_t){v.lsn, v.time, v.type, v.len, p + LDR__WAL_HEADER_BYTES};
            r->off += v.size;
            r->next_lsn++;
            return LDR_OK;
        }
        if (r->error[0] != '\0')
            return LDR_EIO;
        if (!fresh) {
            fresh = true;
            continue;
        }
        if (!switched && ldr__reader_segment(r, r->next_lsn)) {
            switched = true, fresh = false;
            continue;
        }
        snprintf(r->error, sizeof(r->error), "%s: offset %" PRIu64 ": %s (lsn %" PRIu64 ")",
                 r->name, r->off, why, r->next_lsn);
        return LDR_ECORRUPT;
    }
}

int ldr_wal_reader_open(const char *dir, uint64_t from_lsn, ldr_wal_reader_t **out,
                        uint64_t *oldest, char *msg, size_t msg_len)
{
    *out = NULL;
    if (oldest != NULL)
        *oldest = 0;
    ldr_wal_reader_t *r = ldr_calloc(1, sizeof(*r));
    r->fd = r->dirfd = -1;
    uint64_t *segs = NULL;
    uint32_t n = 0;
    int rc = LDR_OK;
    if (from_lsn == 0) {
        rc = LDR_EINVAL;
        snprintf(r->error, sizeof(r->error), "LSNs start at 1");
    } else if ((r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = errno == ENOENT ? LDR_ENOENT : LDR_EIO;
        snprintf(r->error, sizeof(r->error), "open %s: %s", dir, strerror(errno));
    } else if (ldr__list_segments(r->dirfd, &segs, &n) != LDR_OK) {
        rc = LDR_EIO;
        snprintf(r->error, sizeof(r->error), "list %s: %s", dir, strerror(errno));
    } else if (n == 0 || segs[0] > from_lsn) {
        rc = LDR_ENOENT;
        if (oldest != NULL && n > 0)
            *oldest = segs[0];
        snprintf(r->error, sizeof(r->error), "%s: no segment holds lsn %" PRIu64, dir, from_lsn);
    } else {
        uint32_t k = 0;
        while (k + 1 < n && segs[k + 1] <= from_lsn)
            k++;
        if (!ldr__reader_segment(r, segs[k])) {
            rc = LDR_EIO;
            snprintf(r->error, sizeof(r->error), "open %s: %s", r->name, strerror(errno));
        }
        /* walk to from_lsn: the records before it are durable (the caller read them before) */
        r->next_lsn = segs[k];
        ldr_wal_record_t rec;
        while (rc == LDR_OK && r->next_lsn < from_lsn)
            rc = ldr_wal_reader_next(r, from_lsn - 1, &rec);
    }
    ldr_free(segs);
    if (msg_len > 0)
        snprintf(msg, msg_len, "%s", rc == LDR_OK ? "" : r->error);
    if (rc != LDR_OK) {
        ldr_wal_reader_close(r);
        return rc;
    }
    *out = r;
    return LDR_OK;
}

uint64_t ldr_wal_reader_lsn(const ldr_wal_reader_t *r)
{
    return r->next_lsn;
}

const char *ldr_wal_reader_error(const ldr_wal_reader_t *r)
{
    return r->error;
}

void ldr_wal_reader_close(ldr_wal_reader_t *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->dirfd >= 0)
        close(r->dirfd);
    ldr_free(r->buf);
    ldr_free(r);
}
