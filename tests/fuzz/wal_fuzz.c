/*
 * Fuzz target for WAL recovery (libFuzzer: `make fuzz`): the scan that ldr_wal_open runs over the
 * segment files before anything is served.
 *
 * Input: a mode byte, then the log.  The log is one to three segment files on the simulator's
 * in-memory disk (tests/sim/disk.h, no faults): mode bits 1-2 say how many; each later segment's
 * first LSN is the previous one's plus 1 + one input byte, and each segment but the last takes a
 * length (two bytes) of what follows.  Random bytes rarely get past a record's checksum, so mode
 * bit 0 reseals the records (walks each segment by its records' declared lengths and recomputes
 * every checksum) and bit 3 also renumbers them from the segment's first LSN with known flags:
 * that reaches the LSN, flag and torn-tail rules behind the checksum.  Mode bit 4 opens with
 * discard_from (the next input byte) as a restart after a failed write does.
 *
 * Properties:
 *   - recovery returns LDR_OK or LDR_ECORRUPT (the disk never fails here), never crashes;
 *   - the records it hands out carry consecutive LSNs, as many as the report says;
 *   - corruption changes no file; discard_from leaves no record at or past it;
 *   - a log that opened opens again the same (no torn tail left, the same records), takes an
 *     append, and opens a third time with the same records plus the new one.
 *
 * tests/unit/engine/wal_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "larder/wal.h"

#include "../../engine/endian_internal.h"
#include "../../engine/wal_internal.h"

#ifndef LDR_FUZZ_LINKED /* the fuzz build links common/, engine/, index/ only: bring this in */
#include "../sim/disk.c"
#else
#include "../sim/disk.h"
#endif

#define LDR_FUZZ_NAME "wal_fuzz"
#include "fuzz.h"

#define WF_SEGMENT_BYTES (64u << 10) /* small segments: appends roll over to new files */
#define WF_SEGS_MAX      3

enum { WF_RESEAL = 1, WF_RENUMBER = 8, WF_DISCARD = 16 };

static int wf_last_rc; /* what the first open of the last input returned (for the seed replay) */

typedef struct wf_seen {
    uint64_t count, first, last;
    bool gap;
    XXH64_state_t *hash; /* over every record's lsn, type, time and payload */
} wf_seen_t;

static int wf_record(void *ctx, const ldr_wal_record_t *r)
{
    wf_seen_t *s = ctx;
    if (s->count > 0 && r->lsn != s->last + 1)
        s->gap = true;
    if (s->count++ == 0)
        s->first = r->lsn;
    s->last = r->lsn;
    uint64_t head[3] = {r->lsn, r->type, (uint64_t)r->time};
    XXH64_update(s->hash, head, sizeof(head));
    XXH64_update(s->hash, r->data, r->len);
    return LDR_OK;
}

/* Recomputes the checksums of the records a segment's declared lengths lead through (and, with
 * renumber, their LSNs from `first` and known flags). */
static void wf_reseal(uint8_t *p, size_t n, uint64_t first, bool renumber)
{
    size_t off = 0;
    uint64_t lsn = first;
    while (n - off >= LDR__WAL_HEADER_BYTES + LDR__WAL_TRAILER_BYTES) {
        uint32_t len = ldr__get_u32(p + off);
        if (len > LDR_WAL_MAX_PAYLOAD || ldr__wal_record_bytes(len) > n - off)
            break;
        size_t size = ldr__wal_record_bytes(len), body = size - LDR__WAL_TRAILER_BYTES;
        if (renumber) {
            ldr__put_u16(p + off + 6, off == 0 ? LDR__WAL_F_BATCH_START : 0);
            ldr__put_u64(p + off + 8, lsn++);
        }
        ldr__put_u64(p + off + body, XXH3_64bits(p + off, body));
        off += size;
    }
}

typedef struct wf_file {
    char name[LDR_WAL_FILE_MAX];
    uint8_t *p;
    size_t n;
} wf_file_t;

/* The disk's copy of every file, to compare before and after. */
static uint32_t wf_snapshot(sim_disk_t *d, wf_file_t *out, uint32_t max)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < d->nfiles && k < max; i++) {
        if (!d->files[i].listed)
            continue;
        snprintf(out[k].name, sizeof(out[k].name), "%s", d->files[i].name);
        out[k].n = d->files[i].cur.len;
        out[k].p = malloc(out[k].n + 1);
        if (out[k].n > 0)
            memcpy(out[k].p, d->files[i].cur.p, out[k].n);
        k++;
    }
    return k;
}

static bool wf_same_files(sim_disk_t *d, const wf_file_t *f, uint32_t n)
{
    wf_file_t now[WF_SEGS_MAX + 1];
    uint32_t k = wf_snapshot(d, now, WF_SEGS_MAX + 1);
    bool same = k == n;
    for (uint32_t i = 0; i < k; i++) {
        if (same)
            same = strcmp(now[i].name, f[i].name) == 0 && now[i].n == f[i].n &&
                   (f[i].n == 0 || memcmp(now[i].p, f[i].p, f[i].n) == 0);
        free(now[i].p);
    }
    return same;
}

/* Opens the log (replaying it into *seen), closes it again; returns what open returned. */
static int wf_open(sim_disk_t *d, uint64_t discard_from, wf_seen_t *seen, ldr_wal_recovery_t *rep,
                   const uint8_t *append, size_t append_len)
{
    XXH64_reset(seen->hash, 0);
    seen->count = seen->first = seen->last = 0;
    seen->gap = false;
    ldr_wal_opts_t o = {.dir = "wal",
                        .io = &d->io,
                        .segment_bytes = WF_SEGMENT_BYTES,
                        .replay_cb = wf_record,
                        .replay_ctx = seen,
                        .discard_from = discard_from};
    ldr_wal_t *w = NULL;
    int rc = ldr_wal_open(&o, &w, rep);
    if (rc != LDR_OK)
        return rc;
    if (append != NULL) {
        uint64_t lsn = 0;
        int a = ldr_wal_append(w, 7, 1234, append, append_len, &lsn);
        FZ_CHECK(a == LDR_OK, "append after recovery: %s", ldr_strerror(a));
        FZ_CHECK(lsn == rep->last_lsn + 1 || (rep->last_lsn == 0 && lsn >= 1),
                 "append after recovery got lsn %llu after %llu", (unsigned long long)lsn,
                 (unsigned long long)rep->last_lsn);
        a = ldr_wal_sync(w);
        FZ_CHECK(a == LDR_OK, "sync after recovery: %s: %s", ldr_strerror(a), ldr_wal_error(w));
    }
    int c = ldr_wal_close(w);
    FZ_CHECK(c == LDR_OK, "close after recovery: %s", ldr_strerror(c));
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t at = 1;
    uint32_t nsegs = 1 + ((mode >> 1) & 3) % WF_SEGS_MAX;
    uint64_t first[WF_SEGS_MAX] = {1};
    for (uint32_t i = 1; i < nsegs; i++)
        first[i] = first[i - 1] + 1 + (at < size ? data[at++] : 0);
    uint64_t discard_from = 0;
    if (mode & WF_DISCARD)
        discard_from = 1 + (at < size ? data[at++] : 0);

    sim_disk_t *d = malloc(sizeof(*d));
    sim_disk_init(d, 1, NULL);
    for (uint32_t i = 0; i < nsegs; i++) {
        size_t len = size - at;
        if (i + 1 < nsegs) {
            size_t want = at + 2 <= size ? (size_t)(data[at] | data[at + 1] << 8) : 0;
            at = at + 2 <= size ? at + 2 : size;
            len = want < size - at ? want : size - at;
        }
        uint8_t *seg = malloc(len + 1);
        memcpy(seg, data + at, len);
        at += len;
        if (mode & WF_RESEAL)
            wf_reseal(seg, len, first[i], mode & WF_RENUMBER);
        char name[LDR_WAL_FILE_MAX];
        snprintf(name, sizeof(name), "wal-%016llu.log", (unsigned long long)first[i]);
        int fd = d->io.open(d->io.ctx, name, true);
        FZ_CHECK(fd >= 0, "sim disk: create %s", name);
        if (len > 0)
            FZ_CHECK(d->io.pwrite(d->io.ctx, fd, seg, len, 0) == (int)len, "sim disk: write");
        d->io.fdatasync(d->io.ctx, fd);
        d->io.close(d->io.ctx, fd);
        free(seg);
    }
    d->io.fsync_dir(d->io.ctx);

    wf_file_t before[WF_SEGS_MAX];
    uint32_t nbefore = wf_snapshot(d, before, WF_SEGS_MAX);
    wf_seen_t seen = {.hash = XXH64_createState()};
    ldr_wal_recovery_t rep;
    int rc = wf_open(d, discard_from, &seen, &rep, NULL, 0);
    wf_last_rc = rc;
    FZ_CHECK(rc == LDR_OK || rc == LDR_ECORRUPT, "recovery returned %s: %s", ldr_strerror(rc),
             rep.message);
    FZ_CHECK(!seen.gap, "records handed out with a gap in their LSNs");
    if (rc == LDR_ECORRUPT) {
        FZ_CHECK(rep.message[0] != '\0', "corruption without a message");
        FZ_CHECK(wf_same_files(d, before, nbefore), "a corrupt log was changed: %s", rep.message);
    } else {
        FZ_CHECK(seen.count == 0 || (seen.first == rep.first_lsn && seen.last == rep.last_lsn),
                 "handed out %llu..%llu, the report says %llu..%llu",
                 (unsigned long long)seen.first, (unsigned long long)seen.last,
                 (unsigned long long)rep.first_lsn, (unsigned long long)rep.last_lsn);
        FZ_CHECK(discard_from == 0 || seen.count == 0 || seen.last < discard_from,
                 "record %llu survived discard_from %llu", (unsigned long long)seen.last,
                 (unsigned long long)discard_from);
        uint64_t n1 = seen.count, last1 = rep.last_lsn, h1 = XXH64_digest(seen.hash);

        /* again: nothing left to cut, the same records; then it takes an append */
        static const uint8_t payload[] = "appended after recovery";
        rc = wf_open(d, 0, &seen, &rep, payload, sizeof(payload));
        FZ_CHECK(rc == LDR_OK, "a recovered log does not open again: %s", rep.message);
        FZ_CHECK(!rep.torn, "a recovered log has a torn tail again: %s", rep.message);
        FZ_CHECK(seen.count == n1 && rep.last_lsn == last1 && XXH64_digest(seen.hash) == h1,
                 "a recovered log opens to other records (%llu, last %llu; before %llu, last %llu)",
                 (unsigned long long)seen.count, (unsigned long long)rep.last_lsn,
                 (unsigned long long)n1, (unsigned long long)last1);

        rc = wf_open(d, 0, &seen, &rep, NULL, 0);
        FZ_CHECK(rc == LDR_OK && !rep.torn, "the log does not open after an append: %s",
                 rep.message);
        FZ_CHECK(seen.count == n1 + 1 && rep.last_lsn == (last1 > 0 ? last1 + 1 : rep.last_lsn),
                 "after an append: %llu records, last %llu (before %llu, last %llu)",
                 (unsigned long long)seen.count, (unsigned long long)rep.last_lsn,
                 (unsigned long long)n1, (unsigned long long)last1);
    }
    XXH64_freeState(seen.hash);
    for (uint32_t i = 0; i < nbefore; i++)
        free(before[i].p);
    sim_disk_free(d);
    free(d);
    return 0;
}
