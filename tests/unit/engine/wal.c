/*
 * Unit tests for engine/wal.c: durability and LSN order, group commit, segment rollover, reopen
 * and replay, torn tails, corruption (with file and offset), sticky failures and segment removal.
 * Every test works in its own directory under /tmp, removed afterwards.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "larder/wal.h"

#include "../../../engine/wal_internal.h"
#include "../../helpers.h"

#define REC 64 /* payload bytes of the fixed-size records most tests use */

static char *dir;

static void setup(void)
{
    dir = ldr_test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(wal, .init = setup, .fini = teardown);

/* The payload of record `lsn`: `len` bytes derived from the LSN. */
static void fill(uint8_t *p, size_t len, uint64_t lsn)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(lsn * 131 + i * 7);
}

static ldr_wal_t *open_wal(uint64_t segment_bytes, uint32_t batch_max, ldr_wal_recovery_t *rep)
{
    ldr_wal_opts_t o = {.dir = dir, .segment_bytes = segment_bytes, .batch_max_bytes = batch_max};
    ldr_wal_t *w = NULL;
    ldr_wal_recovery_t local;
    int rc = ldr_wal_open(&o, &w, rep ? rep : &local);
    cr_assert_eq(rc, LDR_OK, "open: %s: %s", ldr_status_name(rc), (rep ? rep : &local)->message);
    return w;
}

/* Appends one record of `len` bytes (type = lsn % 7, time = lsn * 1000); returns its LSN. */
static uint64_t append(ldr_wal_t *w, size_t len)
{
    uint8_t buf[4096];
    uint64_t want = ldr_wal_next_lsn(w), lsn = 0;
    cr_assert(len <= sizeof(buf));
    fill(buf, len, want);
    int rc = ldr_wal_append(w, (uint16_t)(want % 7), (int64_t)want * 1000, buf, len, &lsn);
    cr_assert_eq(rc, LDR_OK, "append: %s", ldr_status_name(rc));
    cr_assert_eq(lsn, want);
    return lsn;
}

static void sync_ok(ldr_wal_t *w)
{
    int rc = ldr_wal_sync(w);
    cr_assert_eq(rc, LDR_OK, "sync: %s: %s", ldr_status_name(rc), ldr_wal_error(w));
}

/* Appends n records of REC bytes, each in a batch of its own (one sync per record). */
static void append_synced(ldr_wal_t *w, int n)
{
    for (int i = 0; i < n; i++) {
        append(w, REC);
        sync_ok(w);
    }
}

/* Replay collector: checks order and content; remembers count, first and last LSN. */
typedef struct seen {
    uint64_t count, first, last;
} seen_t;

static int collect(void *ctx, const ldr_wal_record_t *rec)
{
    seen_t *s = ctx;
    uint8_t want[4096];
    if (s->count > 0)
        cr_assert_eq(rec->lsn, s->last + 1, "lsn %lu after %lu", (unsigned long)rec->lsn,
                     (unsigned long)s->last);
    else
        s->first = rec->lsn;
    cr_assert_eq(rec->type, rec->lsn % 7);
    cr_assert_eq(rec->time, (int64_t)rec->lsn * 1000);
    cr_assert(rec->len <= sizeof(want));
    fill(want, rec->len, rec->lsn);
    cr_assert(rec->len == 0 || memcmp(rec->data, want, rec->len) == 0, "payload of lsn %lu",
              (unsigned long)rec->lsn);
    s->last = rec->lsn;
    s->count++;
    return LDR_OK;
}

static seen_t replay_ok(uint64_t from, ldr_wal_recovery_t *rep)
{
    seen_t s = {0, 0, 0};
    ldr_wal_recovery_t local;
    int rc = ldr_wal_replay(dir, from, collect, &s, rep ? rep : &local);
    cr_assert_eq(rc, LDR_OK, "replay: %s: %s", ldr_status_name(rc), (rep ? rep : &local)->message);
    return s;
}

static char *path_of(uint64_t first)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/wal-%016lx.log", dir, (unsigned long)first);
    return p;
}

static off_t file_size(uint64_t first)
{
    struct stat st;
    cr_assert_eq(stat(path_of(first), &st), 0, "%s", path_of(first));
    return st.st_size;
}

static void flip_bit(uint64_t first, off_t off, int bit)
{
    int fd = open(path_of(first), O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t b;
    cr_assert_eq(pread(fd, &b, 1, off), 1);
    b ^= (uint8_t)(1u << bit);
    cr_assert_eq(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Offset of record `lsn` in a segment starting at `first` whose records all have REC bytes. */
static off_t rec_off(uint64_t first, uint64_t lsn)
{
    return (off_t)((lsn - first) * ldr__wal_record_bytes(REC));
}

/* The segment files in dir, oldest first (first LSNs into out; returns the count). */
static int segments(uint64_t *out, int max)
{
    int n = 0;
    for (uint64_t first = 1; first < 100000 && n < max; first++)
        if (access(path_of(first), F_OK) == 0)
            out[n++] = first;
    return n;
}

Test(wal, append_flush_poll_makes_records_durable_in_order)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    cr_assert_eq(ldr_wal_next_lsn(w), 1);
    for (uint64_t i = 1; i <= 3; i++)
        cr_assert_eq(append(w, REC), i);
    uint64_t durable = 99;
    cr_assert_eq(ldr_wal_poll(w, false, &durable), LDR_OK);
    cr_assert_eq(durable, 0, "nothing is durable before a flush");
    cr_assert_eq(ldr_wal_flush(w), LDR_OK);
    while (durable < 3)
        cr_assert_eq(ldr_wal_poll(w, true, &durable), LDR_OK);
    cr_assert_eq(durable, 3);
    cr_assert_eq(ldr_wal_durable_lsn(w), 3);
    cr_assert_eq(ldr_test_wal_end(dir), 3 * ldr__wal_record_bytes(REC));
    cr_assert_eq(file_size(1), LDR__WAL_ZERO_CHUNK, "the segment is zero-filled ahead");
    cr_assert_eq(ldr_wal_close(w), LDR_OK);

    ldr_wal_recovery_t rep;
    seen_t s = replay_ok(1, &rep);
    cr_assert_eq(s.count, 3);
    cr_assert_eq(s.first, 1);
    cr_assert_eq(rep.last_lsn, 3);
    cr_assert_eq(rep.records, 3);
    cr_assert_not(rep.torn);
}

Test(wal, event_fd_becomes_readable_on_completion)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append(w, 10);
    cr_assert_eq(ldr_wal_flush(w), LDR_OK);
    struct pollfd pfd = {ldr_wal_event_fd(w), POLLIN, 0};
    uint64_t durable = 0;
    for (int i = 0; i < 100 && durable < 1; i++) {
        cr_assert_geq(poll(&pfd, 1, 5000), 1, "the eventfd must wake the loop");
        cr_assert_eq(ldr_wal_poll(w, false, &durable), LDR_OK);
    }
    cr_assert_eq(durable, 1);
    /* Drained: nothing more to report. */
    cr_assert_eq(poll(&pfd, 1, 0), 0);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

/* Ten records, one batch through io_uring (more than LDR__WAL_INLINE_RECORDS), synced: the
 * sync's status, from whichever thread calls it. */
static void *ten_through_the_ring(void *arg)
{
    ldr_wal_t *w = arg;
    uint8_t buf[REC] = {0};
    for (int i = 0; i < 10; i++)
        if (ldr_wal_append(w, 1, 1000, buf, sizeof(buf), NULL) != LDR_OK)
            return (void *)(intptr_t)-1;
    return (void *)(intptr_t)ldr_wal_sync(w);
}

/* The ring is bound to the first thread that submits to it (IORING_SETUP_SINGLE_ISSUER): a log
 * loaded on one thread and written by another (the engine's) needs ldr_wal_rebind in between. */
Test(wal, rebind_hands_the_ring_to_another_thread)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    if (!(st.ring_flags & IORING_SETUP_SINGLE_ISSUER)) { /* an older kernel: any thread may */
        ldr_wal_close(w);
        cr_skip_test("the kernel has no IORING_SETUP_SINGLE_ISSUER");
    }
    cr_assert_null(ten_through_the_ring(w), "%s", ldr_wal_error(w)); /* this thread takes it */
    cr_assert_eq(ldr_wal_rebind(w), LDR_OK);
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, ten_through_the_ring, w);
    pthread_join(t, &ret);
    cr_assert_eq((intptr_t)ret, LDR_OK, "the other thread's sync: %s", ldr_wal_error(w));
    cr_assert_eq(ldr_wal_durable_lsn(w), 20);
    cr_assert_eq(ldr_wal_rebind(w), LDR_OK); /* and back */
    cr_assert_null(ten_through_the_ring(w), "%s", ldr_wal_error(w));
    ldr_wal_close(w);
    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert_eq(rep.last_lsn, 30);
    ldr_wal_close(w);
}

Test(wal, payloads_of_any_size_and_empty_ones)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    for (size_t len = 0; len <= 40; len++)
        append(w, len);
    append(w, 4000);
    uint8_t b = 0;
    cr_assert_eq(ldr_wal_append(w, 1, 0, &b, LDR_WAL_MAX_PAYLOAD + 1, NULL), LDR_EINVAL);
    sync_ok(w);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    seen_t s = replay_ok(0, NULL);
    cr_assert_eq(s.count, 42);
}

Test(wal, many_records_roll_over_segments)
{
    ldr_wal_t *w = open_wal(4096, 0, NULL);
    for (int i = 0; i < 2000; i++) {
        append(w, (size_t)(i * 37) % 300);
        if (i % 50 == 49)
            cr_assert_eq(ldr_wal_flush(w), LDR_OK);
        cr_assert_eq(ldr_wal_poll(w, false, NULL), LDR_OK);
    }
    sync_ok(w);
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    cr_assert_eq(st.durable_lsn, 2000);
    cr_assert_gt(st.segments, 20, "segments: %u", st.segments);
    cr_assert_eq(st.records, 2000);
    cr_assert_eq(st.pending_bytes, 0);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);

    uint64_t segs[4096];
    int n = segments(segs, 4096);
    cr_assert_eq((uint32_t)n, st.segments);
    cr_assert_eq(segs[0], 1);
    for (int i = 0; i + 1 < n; i++) {
        uint64_t data = 0; /* the records of lsn segs[i] .. segs[i+1]-1, appended above */
        for (uint64_t l = segs[i]; l < segs[i + 1]; l++)
            data += ldr__wal_record_bytes((size_t)((l - 1) * 37) % 300);
        cr_assert_geq(data, 4096, "a segment is closed only once it passes segment_bytes");
        cr_assert_lt(data, 4096 + 400, "one record past segment_bytes at most");
        cr_assert_eq(file_size(segs[i]), (off_t)(data > 4096 ? data : 4096),
                     "zero-filled up to segment_bytes, no further");
    }
    ldr_wal_recovery_t rep;
    seen_t s = replay_ok(0, &rep);
    cr_assert_eq(s.count, 2000);
    cr_assert_eq(rep.segments, (uint32_t)n);
}

Test(wal, reopen_continues_lsns)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    for (int i = 0; i < 10; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK, "close flushes");

    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert_eq(rep.last_lsn, 10);
    cr_assert_eq(rep.first_lsn, 1);
    cr_assert_not(rep.torn);
    cr_assert_eq(ldr_wal_durable_lsn(w), 10);
    cr_assert_eq(append(w, REC), 11);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(1, NULL).count, 11);
}

Test(wal, replay_from_an_lsn)
{
    ldr_wal_t *w = open_wal(2048, 0, NULL);
    for (int i = 0; i < 1000; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);

    seen_t s = replay_ok(500, NULL);
    cr_assert_eq(s.first, 500);
    cr_assert_eq(s.last, 1000);
    cr_assert_eq(s.count, 501);
    cr_assert_eq(replay_ok(1000, NULL).count, 1);
    cr_assert_eq(replay_ok(1001, NULL).count, 0, "a snapshot covering everything is fine");
    cr_assert_eq(replay_ok(0, NULL).count, 1000);

    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_replay(dir, 1002, NULL, NULL, &rep), LDR_ECORRUPT,
                 "records after the end of the log cannot be replayed");
    cr_assert(strstr(rep.message, "ends at lsn 1000") != NULL, "%s", rep.message);

    /* Verification only. */
    cr_assert_eq(ldr_wal_replay(dir, 0, NULL, NULL, &rep), LDR_OK);
    cr_assert_eq(rep.last_lsn, 1000);
}

Test(wal, open_replays_into_a_callback)
{
    ldr_wal_t *w = open_wal(2048, 0, NULL);
    for (int i = 0; i < 300; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);

    seen_t s = {0, 0, 0};
    ldr_wal_opts_t o = {.dir = dir, .from_lsn = 250, .replay_cb = collect, .replay_ctx = &s};
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_open(&o, &w, &rep), LDR_OK, "%s", rep.message);
    cr_assert_eq(s.first, 250);
    cr_assert_eq(s.count, 51);
    cr_assert_eq(rep.records, 51);
    cr_assert_eq(ldr_wal_next_lsn(w), 301);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

static int stop_at_5(void *ctx, const ldr_wal_record_t *rec)
{
    return rec->lsn == 5 ? LDR_EINVAL : LDR_OK;
}

Test(wal, a_callback_error_stops_replay)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    for (int i = 0; i < 10; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_replay(dir, 0, stop_at_5, NULL, &rep), LDR_EINVAL);
    cr_assert(strstr(rep.message, "lsn 5") != NULL, "%s", rep.message);
}

typedef struct batches {
    int n;
    ldr_wal_batch_info_t info[64];
} batches_t;

static void on_batch(void *ctx, const ldr_wal_batch_info_t *info)
{
    batches_t *b = ctx;
    if (b->n < 64)
        b->info[b->n] = *info;
    b->n++;
}

Test(wal, group_commit_collects_appends_made_during_a_flush)
{
    batches_t bs = {0};
    ldr_wal_opts_t o = {.dir = dir, .batch_cb = on_batch, .batch_ctx = &bs};
    ldr_wal_t *w = NULL;
    cr_assert_eq(ldr_wal_open(&o, &w, NULL), LDR_OK);

    append(w, REC);
    cr_assert_eq(ldr_wal_flush(w), LDR_OK);
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    cr_assert(st.in_flight);
    for (int i = 0; i < 9; i++)
        append(w, REC); /* lsn 2..10: the next batch */
    cr_assert_eq(ldr_wal_flush(w), LDR_OK, "a flush while one is in flight only asks");

    uint64_t durable = 0;
    cr_assert_eq(ldr_wal_poll(w, true, &durable), LDR_OK);
    cr_assert_geq(durable, 1);
    cr_assert_eq(bs.n >= 1, true);
    cr_assert_eq(bs.info[0].first_lsn, 1);
    cr_assert_eq(bs.info[0].last_lsn, 1);
    while (durable < 10)
        cr_assert_eq(ldr_wal_poll(w, true, &durable), LDR_OK);
    cr_assert_eq(bs.n, 2);
    cr_assert_eq(bs.info[1].first_lsn, 2);
    cr_assert_eq(bs.info[1].last_lsn, 10);
    cr_assert_eq(bs.info[1].records, 9);
    cr_assert_eq(bs.info[1].bytes, 9 * ldr__wal_record_bytes(REC));
    cr_assert_geq(bs.info[1].complete_ns, bs.info[1].submit_ns);
    ldr_wal_stats(w, &st);
    cr_assert_eq(st.batches, 2);
    cr_assert_eq(st.records, 10);
    cr_assert_not(st.in_flight);

    /* A batch closes at batch_max_bytes: here at most two records a batch. */
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    bs.n = 0;
    o.batch_max_bytes = (uint32_t)(2 * ldr__wal_record_bytes(REC) + 8);
    cr_assert_eq(ldr_wal_open(&o, &w, NULL), LDR_OK);
    for (int i = 0; i < 9; i++)
        append(w, REC); /* lsn 11..19 */
    sync_ok(w);
    cr_assert_eq(bs.n, 5);
    cr_assert_eq(bs.info[0].first_lsn, 11);
    cr_assert_eq(bs.info[0].last_lsn, 12);
    cr_assert_eq(bs.info[4].first_lsn, 19);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);

    /* On disk, the first record of every batch is marked. */
    size_t len = 0, end = 19 * ldr__wal_record_bytes(REC);
    uint8_t *f = (uint8_t *)ldr_test_slurp(path_of(1), &len);
    cr_assert_eq(len, LDR__WAL_ZERO_CHUNK);
    for (size_t k = end; k < len; k++)
        cr_assert_eq(f[k], 0, "zeros after the records, offset %zu", k);
    const int starts[] = {1, 2, 11, 13, 15, 17, 19};
    for (uint64_t lsn = 1; lsn <= 19; lsn++) {
        bool start = false;
        for (size_t k = 0; k < LDR_ARRAY_SIZE(starts); k++)
            start |= (uint64_t)starts[k] == lsn;
        uint16_t flags = (uint16_t)(f[rec_off(1, lsn) + 6] | (f[rec_off(1, lsn) + 7] << 8));
        cr_assert_eq(flags, start ? LDR__WAL_F_BATCH_START : 0, "flags of lsn %lu",
                     (unsigned long)lsn);
    }
    free(f);
}

Test(wal, truncated_tail_is_cut_and_reported_and_appends_continue)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 20);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    off_t size = (off_t)ldr_test_wal_end(dir);
    cr_assert_eq(truncate(path_of(1), size - 10), 0);

    /* Replay only reads: it reports the torn tail and stops there without error. */
    ldr_wal_recovery_t rep;
    seen_t s = replay_ok(0, &rep);
    cr_assert_eq(s.count, 19);
    cr_assert(rep.torn);
    cr_assert_eq(file_size(1), size - 10);

    w = open_wal(0, 0, &rep);
    cr_assert(rep.torn);
    cr_assert_str_eq(rep.torn_file, "wal-0000000000000001.log");
    cr_assert_eq(rep.torn_offset, (uint64_t)rec_off(1, 20));
    cr_assert_eq(rep.torn_bytes, ldr__wal_record_bytes(REC) - 10);
    cr_assert_eq(rep.last_lsn, 19);
    cr_assert(strstr(rep.message, "torn tail") != NULL, "%s", rep.message);
    cr_assert_eq(file_size(1), rec_off(1, 20), "cut at the torn record");
    cr_assert_eq(append(w, REC), 20);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);

    s = replay_ok(0, &rep);
    cr_assert_eq(s.count, 20);
    cr_assert_not(rep.torn);
}

Test(wal, flipped_bit_in_the_last_record_is_a_torn_tail)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 8);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    flip_bit(1, rec_off(1, 8) + 30, 3);

    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert(rep.torn);
    cr_assert_eq(rep.torn_offset, (uint64_t)rec_off(1, 8));
    cr_assert(strstr(rep.message, "checksum mismatch") != NULL, "%s", rep.message);
    cr_assert_eq(ldr_wal_next_lsn(w), 8);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, NULL).count, 7);
}

Test(wal, zeros_after_the_records_are_the_end_of_the_log)
{
    /* The zero-filled space ahead of the writes, or a size that got ahead of its data in a crash:
     * no record, no damage, nothing to cut. */
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 3);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    off_t end = rec_off(1, 4), size = file_size(1) + 8192;
    cr_assert_eq(truncate(path_of(1), size), 0);

    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert_not(rep.torn, "%s", rep.message);
    cr_assert_eq(rep.end_offset, (uint64_t)end);
    cr_assert_eq(rep.last_lsn, 3);
    cr_assert_eq(file_size(1), size, "nothing cut");
    cr_assert_eq(append(w, REC), 4);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, &rep).count, 4);
    cr_assert_eq(rep.end_offset, (uint64_t)rec_off(1, 5), "the append went where the records end");
    cr_assert_eq(file_size(1), size);
}

Test(wal, damage_inside_the_last_batch_is_a_torn_tail)
{
    /* One batch of 5: a crash may persist its pages in any order, so records 3..5 surviving
     * behind a torn record 2 are not evidence of corruption. */
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 1);
    for (int i = 0; i < 5; i++)
        append(w, REC);
    sync_ok(w);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    flip_bit(1, rec_off(1, 3) + 40, 0);

    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert(rep.torn);
    cr_assert_eq(rep.torn_offset, (uint64_t)rec_off(1, 3));
    cr_assert_eq(rep.torn_bytes, 4 * ldr__wal_record_bytes(REC));
    cr_assert_eq(ldr_wal_next_lsn(w), 3);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

Test(wal, flipped_bit_mid_log_is_corruption_with_file_and_offset)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 10);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    off_t size = file_size(1);
    flip_bit(1, rec_off(1, 5) + 30, 6);

    char want[128];
    snprintf(want, sizeof(want), "wal-0000000000000001.log: offset %ld: checksum mismatch",
             (long)rec_off(1, 5));
    ldr_wal_recovery_t rep;
    ldr_wal_t *w2 = NULL;
    ldr_wal_opts_t o = {.dir = dir};
    cr_assert_eq(ldr_wal_open(&o, &w2, &rep), LDR_ECORRUPT);
    cr_assert_null(w2);
    cr_assert(strstr(rep.message, want) != NULL, "message: %s", rep.message);
    cr_assert_str_eq(rep.error_file, "wal-0000000000000001.log");
    cr_assert_eq(rep.error_offset, (uint64_t)rec_off(1, 5));
    cr_assert_eq(file_size(1), size, "corruption is never truncated away");

    seen_t s = {0, 0, 0};
    cr_assert_eq(ldr_wal_replay(dir, 0, collect, &s, &rep), LDR_ECORRUPT);
    cr_assert(strstr(rep.message, want) != NULL, "message: %s", rep.message);
    cr_assert_eq(s.count, 4, "records before the damage were replayed");
}

Test(wal, flipped_length_mid_log_is_corruption)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 6);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    flip_bit(1, rec_off(1, 2) + 3, 7); /* the length's top byte: out of bounds */

    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_replay(dir, 0, NULL, NULL, &rep), LDR_ECORRUPT);
    cr_assert(strstr(rep.message, "offset 96: record length out of bounds") != NULL, "%s",
              rep.message);
}

Test(wal, flipped_bit_in_a_segment_that_is_not_the_last_is_corruption)
{
    ldr_wal_t *w = open_wal(1024, 0, NULL);
    for (int i = 0; i < 40; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    uint64_t segs[16];
    int n = segments(segs, 16);
    cr_assert_geq(n, 3);
    /* The last record of the first segment: a tail of its own file, but not of the log. */
    uint64_t last_of_first = segs[1] - 1;
    flip_bit(segs[0], rec_off(segs[0], last_of_first) + 28, 1);

    char want[128];
    snprintf(want, sizeof(want), "wal-%016lx.log: offset %ld: checksum mismatch",
             (unsigned long)segs[0], (long)rec_off(segs[0], last_of_first));
    ldr_wal_recovery_t rep;
    ldr_wal_opts_t o = {.dir = dir};
    cr_assert_eq(ldr_wal_open(&o, &w, &rep), LDR_ECORRUPT);
    cr_assert(strstr(rep.message, want) != NULL, "message: %s", rep.message);
    cr_assert_eq(ldr_wal_replay(dir, 0, NULL, NULL, &rep), LDR_ECORRUPT);
    /* A replay from after the damaged segment does not need it. */
    cr_assert_eq(ldr_wal_replay(dir, segs[1], NULL, NULL, &rep), LDR_OK, "%s", rep.message);
}

Test(wal, missing_middle_segment_is_corruption)
{
    ldr_wal_t *w = open_wal(1024, 0, NULL);
    for (int i = 0; i < 40; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    uint64_t segs[16];
    int n = segments(segs, 16);
    cr_assert_geq(n, 3);
    cr_assert_eq(unlink(path_of(segs[1])), 0);

    ldr_wal_recovery_t rep;
    ldr_wal_opts_t o = {.dir = dir};
    cr_assert_eq(ldr_wal_open(&o, &w, &rep), LDR_ECORRUPT);
    char want[96];
    snprintf(want, sizeof(want), "wal-%016lx.log: offset 0:", (unsigned long)segs[2]);
    cr_assert(strstr(rep.message, want) != NULL, "message: %s", rep.message);
    cr_assert(strstr(rep.message, "missing") != NULL, "message: %s", rep.message);
    cr_assert_eq(ldr_wal_replay(dir, 1, NULL, NULL, &rep), LDR_ECORRUPT);
}

Test(wal, empty_last_segment_keeps_the_lsn_sequence)
{
    ldr_wal_t *w = open_wal(1024, 0, NULL);
    for (int i = 0; i < 30; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    uint64_t segs[16];
    int n = segments(segs, 16);
    cr_assert_geq(n, 2);
    uint64_t last = segs[n - 1];
    cr_assert_eq(truncate(path_of(last), 0), 0); /* created, crashed before its first write */

    ldr_wal_recovery_t rep;
    w = open_wal(1024, 0, &rep);
    cr_assert_not(rep.torn);
    cr_assert_eq(rep.last_lsn, last - 1);
    cr_assert_eq(append(w, REC), last);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, NULL).count, last);
}

typedef struct fault {
    int op;      /* which operation fails */
    int res;     /* the result it reports */
    int armed;   /* fail the next one */
    int matched; /* how many failed */
} fault_t;

static int fault_cb(void *ctx, int op, int res)
{
    fault_t *f = ctx;
    if (f->armed && op == f->op) {
        f->armed = 0;
        f->matched++;
        return f->res;
    }
    return res;
}

/* The batch of `n` records after three synced ones fails at `op`.  A segment of three records
 * makes it open a new segment, so that it goes to the disk as a linked chain (WRITE, ZERO, FSYNC,
 * DIRSYNC); otherwise it is one WRITE_DSYNC: a pwritev2 on this thread for a small batch, an
 * io_uring WRITE for a larger one. */
static void sticky_failure_of(int op, int res, uint32_t n, const char *want_error)
{
    bool chain = op != LDR__WAL_OP_WRITE_DSYNC;
    bool inline_write = !chain && n <= LDR__WAL_INLINE_RECORDS;
    ldr_wal_t *w = open_wal(chain ? 3 * ldr__wal_record_bytes(REC) : 0, 0, NULL);
    append_synced(w, 3);
    fault_t f = {op, res, 1, 0};
    ldr__wal_set_fault(w, fault_cb, &f);
    for (uint32_t i = 0; i < n; i++)
        append(w, REC);
    /* a write on this thread fails in the flush that makes it; one through io_uring when its
     * completion is reaped */
    int rc = ldr_wal_flush(w);
    cr_assert_eq(rc, inline_write ? LDR_ESTORAGE : LDR_OK);
    uint64_t durable = 0;
    while (rc == LDR_OK)
        rc = ldr_wal_poll(w, true, &durable);
    cr_assert_eq(rc, LDR_ESTORAGE);
    cr_assert_eq(ldr_wal_poll(w, false, &durable), LDR_ESTORAGE);
    cr_assert_eq(f.matched, 1);
    cr_assert_eq(durable, 3, "the failed batch is not durable");
    cr_assert_not_null(ldr_wal_error(w));
    cr_assert(strstr(ldr_wal_error(w), want_error) != NULL, "error: %s", ldr_wal_error(w));

    /* Sticky: everything after refuses, nothing is retried. */
    uint8_t b[8] = {0};
    cr_assert_eq(ldr_wal_append(w, 1, 0, b, sizeof(b), NULL), LDR_ESTORAGE);
    cr_assert_eq(ldr_wal_flush(w), LDR_ESTORAGE);
    cr_assert_eq(ldr_wal_sync(w), LDR_ESTORAGE);
    cr_assert_eq(ldr_wal_poll(w, false, &durable), LDR_ESTORAGE);
    cr_assert_eq(durable, 3);
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    cr_assert_eq(st.batches, 3);
    cr_assert_eq(ldr_wal_close(w), LDR_ESTORAGE);

    /* Reopening recovers from what reached the disk (here: everything did) and goes on. */
    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert_geq(rep.last_lsn, 3);
    uint64_t next = append(w, REC);
    cr_assert_eq(next, rep.last_lsn + 1);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, NULL).count, next);
}

static void sticky_failure(int op, int res, const char *want_error)
{
    sticky_failure_of(op, res, 2, want_error);
}

Test(wal, failed_fsync_is_sticky)
{
    sticky_failure(LDR__WAL_OP_FSYNC, -EIO, "fdatasync: Input/output error");
}

Test(wal, cancelled_fsync_is_sticky)
{
    sticky_failure(LDR__WAL_OP_FSYNC, -ECANCELED, "fdatasync cancelled");
}

Test(wal, failed_write_is_sticky)
{
    sticky_failure(LDR__WAL_OP_WRITE, -ENOSPC, "No space left on device");
}

Test(wal, short_write_is_sticky)
{
    sticky_failure(LDR__WAL_OP_WRITE, 100, "short write: 100 of 192 bytes");
}

Test(wal, failed_dsync_write_is_sticky)
{
    sticky_failure(LDR__WAL_OP_WRITE_DSYNC, -EIO,
                   "write + fdatasync of 192 bytes at offset 288: Input/output error");
}

Test(wal, failed_dsync_write_of_a_larger_batch_is_sticky)
{
    /* past LDR__WAL_INLINE_RECORDS: the io_uring path */
    sticky_failure_of(LDR__WAL_OP_WRITE_DSYNC, -EIO, LDR__WAL_INLINE_RECORDS + 2,
                      "write + fdatasync of 576 bytes at offset 288: Input/output error");
}

Test(wal, short_dsync_write_is_sticky)
{
    sticky_failure(LDR__WAL_OP_WRITE_DSYNC, 100, "short write: 100 of 192 bytes");
}

typedef struct observed {
    int n, op[64], res[64];
} observed_t;

/* A fault hook that changes nothing: it records what the kernel reported. */
static int observe_cb(void *ctx, int op, int res)
{
    observed_t *o = ctx;
    if (o->n < 64) {
        o->op[o->n] = op;
        o->res[o->n] = res;
    }
    o->n++;
    return res;
}

/* The kernel itself refuses a write past RLIMIT_FSIZE: a one-write batch of n records (its
 * segment zero-filled already; a pwritev2 on this thread for a few records, an io_uring WRITE
 * with RWF_DSYNC for more) is short, and fails. */
static void real_short_write(int n)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 2);
    off_t size = (off_t)ldr_test_wal_end(dir);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 100;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    observed_t seen = {0};
    ldr__wal_set_fault(w, observe_cb, &seen);
    for (int i = 0; i < n; i++)
        append(w, REC);
    /* on this thread, the flush is the write and fails; through io_uring, a later poll does */
    cr_assert_eq(ldr_wal_flush(w), n <= LDR__WAL_INLINE_RECORDS ? LDR_ESTORAGE : LDR_OK);
    cr_assert_eq(ldr_wal_sync(w), LDR_ESTORAGE);
    cr_assert_eq(seen.n, 1);
    cr_assert_eq(seen.op[0], LDR__WAL_OP_WRITE_DSYNC);
    cr_assert_neq(seen.res[0], (int)(n * ldr__wal_record_bytes(REC)));
    cr_assert_eq(ldr_wal_durable_lsn(w), 2);
    const char *err = ldr_wal_error(w);
    cr_assert(strstr(err, "short write") != NULL || strstr(err, "File too large") != NULL, "%s",
              err);
    cr_assert_eq(ldr_wal_close(w), LDR_ESTORAGE);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);

    /* Whole records that reached the file may survive, unacknowledged; the rest is a torn tail. */
    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert(rep.torn, "%s", rep.message);
    cr_assert_geq(rep.last_lsn, 2, "%s", rep.message);
    cr_assert_eq(file_size(1), rec_off(1, rep.last_lsn + 1));
    cr_assert_eq(append(w, REC), rep.last_lsn + 1);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

Test(wal, real_short_write_fails_its_batch)
{
    real_short_write(LDR__WAL_INLINE_RECORDS + 1); /* through io_uring */
}

Test(wal, real_short_write_on_the_engine_thread_fails_its_batch)
{
    real_short_write(LDR__WAL_INLINE_RECORDS - 1); /* pwritev2 on this thread */
}

typedef struct nth_fault {
    int nth, seen; /* the nth WRITE_DSYNC fails with EIO */
} nth_fault_t;

static int nth_dsync_cb(void *ctx, int op, int res)
{
    nth_fault_t *f = ctx;
    return op == LDR__WAL_OP_WRITE_DSYNC && ++f->seen == f->nth ? -EIO : res;
}

/* Batches queued behind a small one that fails on the engine thread are never written. */
Test(wal, a_failure_on_the_engine_thread_stops_the_batches_queued_behind_it)
{
    ldr_wal_t *w = open_wal(0, (uint32_t)(2 * ldr__wal_record_bytes(REC)), NULL);
    append_synced(w, 1);
    nth_fault_t f = {2, 0};
    ldr__wal_set_fault(w, nth_dsync_cb, &f);
    for (int i = 0; i < 6; i++)
        append(w, REC); /* three batches of two, queued */
    cr_assert_eq(ldr_wal_flush(w), LDR_ESTORAGE, "the second batch fails in the flush");
    cr_assert_eq(f.seen, 2, "the third batch was not written: %d writes", f.seen);
    cr_assert_eq(ldr_wal_durable_lsn(w), 3);
    cr_assert_eq(ldr_wal_close(w), LDR_ESTORAGE);
    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert(rep.last_lsn >= 3 && rep.last_lsn <= 5, "last LSN %" PRIu64, rep.last_lsn);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

/* A small batch that collected while a larger one was on the disk (through io_uring) is written
 * on the engine thread by the poll that reaps the larger one. */
Test(wal, a_small_batch_behind_a_large_one_is_written_by_the_poll)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 1);
    observed_t seen = {0};
    ldr__wal_set_fault(w, observe_cb, &seen);
    for (int i = 0; i < LDR__WAL_INLINE_RECORDS + 2; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_flush(w), LDR_OK);
    cr_assert(ldr_wal_busy(w), "a large batch goes through io_uring");
    uint64_t last = 0;
    for (int i = 0; i < 2; i++)
        last = append(w, REC);
    cr_assert_eq(ldr_wal_flush(w), LDR_OK);
    uint64_t durable = 0;
    cr_assert_eq(ldr_wal_poll(w, true, &durable), LDR_OK);
    cr_assert_eq(durable, last, "durable %" PRIu64 " of %" PRIu64, durable, last);
    cr_assert_not(ldr_wal_busy(w));
    cr_assert_eq(seen.n, 2);
    cr_assert_eq(seen.op[0], LDR__WAL_OP_WRITE_DSYNC);
    cr_assert_eq(seen.op[1], LDR__WAL_OP_WRITE_DSYNC);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, NULL).count, last);
}

Test(wal, real_short_write_in_a_chain_cancels_the_rest)
{
    /* A new log's first batch writes past the end of its empty segment: WRITE -> WRITE(zeros),
     * a page at a time -> FSYNC.  The kernel cuts the write at RLIMIT_FSIZE, and the linked
     * operations are cancelled. */
    ldr_wal_t *w = open_wal(0, 0, NULL);
    observed_t seen = {0};
    ldr__wal_set_fault(w, observe_cb, &seen);
    for (int i = 0; i < 5; i++)
        append(w, REC);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = ldr_wal_sync(w);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(rc, LDR_ESTORAGE);
    int pieces = (int)(LDR__WAL_ZERO_CHUNK / LDR__WAL_ZERO_PIECE);
    cr_assert_eq(seen.n, pieces + 2, "%d completions", seen.n);
    cr_assert_eq(seen.op[0], LDR__WAL_OP_WRITE);
    cr_assert_eq(seen.res[0], 100, "the write, cut at the limit: %d", seen.res[0]);
    for (int i = 1; i <= pieces; i++)
        cr_assert_eq(seen.op[i], LDR__WAL_OP_ZERO);
    cr_assert_eq(seen.op[pieces + 1], LDR__WAL_OP_FSYNC);
    for (int i = 1; i < pieces + 2; i++)
        cr_assert_eq(seen.res[i], -ECANCELED, "operation %d of the chain: %d", seen.op[i],
                     seen.res[i]);
    cr_assert_eq(ldr_wal_durable_lsn(w), 0);
    cr_assert(strstr(ldr_wal_error(w), "short write: 100 of 480 bytes") != NULL, "%s",
              ldr_wal_error(w));
    cr_assert_eq(ldr_wal_close(w), LDR_ESTORAGE);

    /* Of the 100 bytes, the first record is whole (it survives, unacknowledged); the other 4 are
     * a torn tail, cut. */
    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert(rep.torn, "%s", rep.message);
    cr_assert_eq(rep.last_lsn, 1, "%s", rep.message);
    cr_assert_eq(append(w, REC), 2);
    sync_ok(w);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, NULL).count, 2);
}

Test(wal, reopen_after_a_failure_can_discard_unacknowledged_records)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 3);
    fault_t f = {LDR__WAL_OP_WRITE_DSYNC, -EIO, 1, 0};
    ldr__wal_set_fault(w, fault_cb, &f);
    for (int i = 0; i < 4; i++)
        append(w, REC);
    cr_assert_eq(ldr_wal_sync(w), LDR_ESTORAGE);
    uint64_t durable = ldr_wal_durable_lsn(w);
    cr_assert_eq(durable, 3);
    cr_assert_eq(ldr_wal_close(w), LDR_ESTORAGE);
    cr_assert_eq(ldr_test_wal_end(dir), (uint64_t)rec_off(1, 8),
                 "the failed batch's bytes did reach the file");

    ldr_wal_opts_t o = {.dir = dir, .discard_from = durable + 1};
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_open(&o, &w, &rep), LDR_OK, "%s", rep.message);
    cr_assert_not(rep.torn);
    cr_assert_eq(rep.discarded, 4);
    cr_assert_eq(rep.last_lsn, 3);
    cr_assert_eq(rep.torn_offset, (uint64_t)rec_off(1, 4));
    cr_assert(strstr(rep.message, "4 records") != NULL, "%s", rep.message);
    cr_assert_eq(file_size(1), rec_off(1, 4));
    cr_assert_eq(append(w, REC), 4);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(replay_ok(0, NULL).count, 4);
}

Test(wal, remove_before_deletes_whole_segments_only)
{
    ldr_wal_t *w = open_wal(1024, 0, NULL);
    for (int i = 0; i < 200; i++)
        append(w, REC);
    sync_ok(w);
    uint64_t before[64], after[64];
    int n0 = segments(before, 64);
    cr_assert_geq(n0, 10);

    uint32_t removed = 0;
    cr_assert_eq(ldr_wal_remove_before(w, 100, &removed), LDR_OK);
    int n1 = segments(after, 64);
    cr_assert_eq(n1, n0 - (int)removed);
    cr_assert_gt(removed, 0);
    cr_assert_leq(after[0], 100, "the segment holding lsn 100 stays");
    cr_assert_gt(after[1], 100);
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    cr_assert_eq(st.segments, (uint32_t)n1);

    /* Replaying from the snapshot works; asking for removed records is an error. */
    cr_assert_eq(replay_ok(100, NULL).count, 101);
    cr_assert_eq(replay_ok(0, NULL).first, after[0]);
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_replay(dir, 1, NULL, NULL, &rep), LDR_ECORRUPT);
    cr_assert(strstr(rep.message, "missing") != NULL, "%s", rep.message);

    /* The last segment always stays; appends and reopen go on. */
    cr_assert_eq(ldr_wal_remove_before(w, UINT64_MAX, &removed), LDR_OK);
    cr_assert_eq(segments(after, 64), 1);
    cr_assert_eq(append(w, REC), 201);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    w = open_wal(1024, 0, &rep);
    cr_assert_eq(ldr_wal_next_lsn(w), 202);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

Test(wal, a_second_writer_is_refused)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    ldr_wal_t *w2 = NULL;
    ldr_wal_opts_t o = {.dir = dir};
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_open(&o, &w2, &rep), LDR_EBUSY);
    cr_assert(strstr(rep.message, "another writer") != NULL, "%s", rep.message);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(ldr_wal_open(&o, &w2, &rep), LDR_OK);
    cr_assert_eq(ldr_wal_close(w2), LDR_OK);
}

/*
 * A log closed after new segments (each one's directory fsync went through io_uring) opens again at
 * once: the writer's lock is not on the descriptor io_uring used.  Once in a loaded test run a
 * reopen right after a close found the log "in use by another writer".
 */
Test(wal, a_closed_log_reopens_at_once)
{
    uint64_t next = 1;
    for (int round = 0; round < 40; round++) {
        ldr_wal_t *w = open_wal(2048, 0, NULL);
        cr_assert_eq(ldr_wal_next_lsn(w), next, "round %d", round);
        for (int i = 0; i < 40; i++)
            append(w, REC);
        next += 40;
        cr_assert_eq(ldr_wal_close(w), LDR_OK);
    }
}

Test(wal, open_creates_the_directory)
{
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/data", dir);
    ldr_wal_opts_t o = {.dir = sub};
    ldr_wal_t *w = NULL;
    cr_assert_eq(ldr_wal_open(&o, &w, NULL), LDR_OK);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    char seg[700];
    snprintf(seg, sizeof(seg), "%s/wal-0000000000000001.log", sub);
    cr_assert_eq(access(seg, F_OK), 0);
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_replay(sub, 1, NULL, NULL, &rep), LDR_OK, "%s", rep.message);
    cr_assert_eq(rep.last_lsn, 0);
    cr_assert_eq(ldr_wal_replay("/nonexistent/wal", 0, NULL, NULL, &rep), LDR_ENOENT);
}

Test(wal, a_segment_named_for_the_wrong_lsn_is_corruption)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 3);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    char from[512];
    snprintf(from, sizeof(from), "%s", path_of(1));
    cr_assert_eq(rename(from, path_of(2)), 0);
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_replay(dir, 0, NULL, NULL, &rep), LDR_ECORRUPT);
    cr_assert(strstr(rep.message,
                     "wal-0000000000000002.log: offset 0: lsn 1 where 2 was expected") != NULL,
              "%s", rep.message);
}

static void *writer_thread(void *arg)
{
    ldr_wal_t *w = arg;
    for (int i = 0; i < 100; i++)
        append(w, REC);
    sync_ok(w);
    cr_assert_eq(ldr_wal_durable_lsn(w), 100);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    return NULL;
}

Test(wal, opened_on_one_thread_written_on_another)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    cr_log_info("io_uring setup flags: 0x%x", st.ring_flags);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, writer_thread, w), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(replay_ok(0, NULL).count, 100);
}

Test(wal, a_batch_past_the_end_of_the_file_fills_it_with_zeros)
{
    ldr_wal_t *w = open_wal(64 << 10, 0, NULL);
    observed_t seen = {0};
    ldr__wal_set_fault(w, observe_cb, &seen);
    append_synced(w, 1);
    /* write, the zeros one page at a time (the first piece up to the page's end), fdatasync */
    int pieces = (64 << 10) / LDR__WAL_ZERO_PIECE;
    cr_assert_eq(seen.n, 1 + pieces + 1, "write, %d pieces of zeros, fdatasync: %d", pieces,
                 seen.n);
    cr_assert_eq(seen.op[0], LDR__WAL_OP_WRITE);
    int zeros = 0;
    for (int i = 1; i <= pieces; i++) {
        cr_assert_eq(seen.op[i], LDR__WAL_OP_ZERO);
        cr_assert_leq(seen.res[i], (int)LDR__WAL_ZERO_PIECE, "a piece is at most a page");
        zeros += seen.res[i];
    }
    cr_assert_eq(seen.res[1], (int)(LDR__WAL_ZERO_PIECE - ldr__wal_record_bytes(REC)));
    cr_assert_eq(zeros, (64 << 10) - (int)ldr__wal_record_bytes(REC),
                 "up to segment_bytes (64 KB), not a whole LDR__WAL_ZERO_CHUNK");
    cr_assert_eq(seen.op[pieces + 1], LDR__WAL_OP_FSYNC);
    cr_assert_eq(file_size(1), 64 << 10);
    append_synced(w, 1);
    cr_assert_eq(seen.n, pieces + 3, "no zero fill while the records fit: %d", seen.n);
    cr_assert_eq(seen.op[pieces + 2], LDR__WAL_OP_WRITE_DSYNC, "one write with RWF_DSYNC");
    cr_assert_eq(seen.res[pieces + 2], (int)ldr__wal_record_bytes(REC));
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(file_size(1), 64 << 10);
}

/* Bytes this process has sent to storage (/proc/self/io write_bytes; io-wq threads included). */
static long long storage_writes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    cr_assert_not_null(f);
    char line[128];
    long long v = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "write_bytes: %lld", &v) == 1)
            break;
    fclose(f);
    cr_assert_geq(v, 0);
    return v;
}

Test(wal, a_small_batch_writes_pages_not_the_zero_fill)
{
    /* The zeros are written a page at a time: after them, a batch of one record dirties one page
     * of the page cache, and its sync writes that page (one 128 KB write of zeros left 128 KB
     * folios on ext4 since Linux 6.16, each written back whole by every batch that touched it). */
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 1);
    for (int i = 0; i < 700; i++) /* past 64 KB: where one write of zeros made its largest folio */
        append(w, REC);
    sync_ok(w);
    long long before = storage_writes();
    for (int i = 0; i < 200; i++)
        append_synced(w, 1);
    long long per_batch = (storage_writes() - before) / 200;
    cr_assert_leq(per_batch, 16 << 10, "%lld bytes written to storage a batch", per_batch);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

Test(wal, a_failed_zero_fill_fails_its_batch)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    fault_t f = {LDR__WAL_OP_ZERO, -ENOSPC, 1, 0};
    ldr__wal_set_fault(w, fault_cb, &f);
    append(w, REC);
    append(w, REC);
    cr_assert_eq(ldr_wal_sync(w), LDR_ESTORAGE);
    cr_assert_eq(f.matched, 1);
    cr_assert_eq(ldr_wal_durable_lsn(w), 0);
    const char *err = ldr_wal_error(w);
    cr_assert(strstr(err, "zero fill of") && strstr(err, "No space left on device"), "%s", err);
    cr_assert_eq(ldr_wal_append(w, 1, 0, "x", 1, NULL), LDR_ESTORAGE, "sticky");
    cr_assert_eq(ldr_wal_close(w), LDR_ESTORAGE);

    /* The kernel did write everything here: reopening finds the unacknowledged records whole. */
    ldr_wal_recovery_t rep;
    w = open_wal(0, 0, &rep);
    cr_assert_eq(rep.last_lsn, 2, "%s", rep.message);
    cr_assert_eq(append(w, REC), 3);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

/* ---- tailing ---- */

/* Reads every record up to `upto` with the reader (collect's checks), until it says ENOENT. */
static void tail(ldr_wal_reader_t *r, uint64_t upto, seen_t *s)
{
    ldr_wal_record_t rec;
    int rc;
    while ((rc = ldr_wal_reader_next(r, upto, &rec)) == LDR_OK)
        collect(s, &rec);
    cr_assert_eq(rc, LDR_ENOENT, "%s: %s", ldr_status_name(rc), ldr_wal_reader_error(r));
    cr_assert_eq(ldr_wal_reader_lsn(r), upto + 1);
}

Test(wal, a_reader_follows_a_live_writer_across_segments)
{
    ldr_wal_t *w = open_wal(4096, 0, NULL);
    append_synced(w, 1);
    ldr_wal_reader_t *r;
    char msg[256];
    cr_assert_eq(ldr_wal_reader_open(dir, 1, &r, NULL, msg, sizeof(msg)), LDR_OK, "%s", msg);
    seen_t s = {0, 0, 0};
    tail(r, 1, &s);
    /* records the writer appends later, in batches of varied sizes, over many segments; the
     * reader's buffer holds zeros and half-written bytes from before each batch */
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i <= round % 9; i++)
            append(w, (size_t)(round * 53 + i * 11) % 700);
        sync_ok(w);
        tail(r, ldr_wal_durable_lsn(w), &s);
    }
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    cr_assert_gt(st.segments, 5, "segments: %u", st.segments);
    cr_assert_eq(s.count, ldr_wal_durable_lsn(w));
    /* appended, not yet durable: not handed out */
    append(w, REC);
    ldr_wal_record_t rec;
    cr_assert_eq(ldr_wal_reader_next(r, ldr_wal_durable_lsn(w), &rec), LDR_ENOENT);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    tail(r, s.last + 1, &s);
    ldr_wal_reader_close(r);
}

Test(wal, a_reader_opens_at_any_lsn_the_log_holds)
{
    ldr_wal_t *w = open_wal(4096, 0, NULL);
    for (int i = 0; i < 300; i++)
        append(w, REC);
    sync_ok(w);
    uint64_t segs[512];
    int n = segments(segs, 512);
    cr_assert_gt(n, 3);
    uint64_t froms[] = {1, 2, segs[1] - 1, segs[1], segs[2] + 3, 300, 301};
    for (size_t k = 0; k < LDR_ARRAY_SIZE(froms); k++) {
        ldr_wal_reader_t *r;
        char msg[256];
        cr_assert_eq(ldr_wal_reader_open(dir, froms[k], &r, NULL, msg, sizeof(msg)), LDR_OK,
                     "from %lu: %s", (unsigned long)froms[k], msg);
        seen_t s = {0, 0, 0};
        tail(r, 300, &s);
        cr_assert_eq(s.count, 301 - froms[k]);
        cr_assert(s.count == 0 || s.first == froms[k]);
        ldr_wal_reader_close(r);
    }
    /* segments removed (a snapshot covers them): the reader says where the log starts now */
    uint32_t removed = 0;
    cr_assert_eq(ldr_wal_remove_before(w, segs[2], &removed), LDR_OK);
    cr_assert_eq(removed, 2);
    ldr_wal_reader_t *r;
    uint64_t oldest = 0;
    char msg[256];
    cr_assert_eq(ldr_wal_reader_open(dir, 1, &r, &oldest, msg, sizeof(msg)), LDR_ENOENT);
    cr_assert_eq(oldest, segs[2]);
    cr_assert(strstr(msg, "no segment holds lsn 1") != NULL, "%s", msg);
    cr_assert_eq(ldr_wal_reader_open(dir, 0, &r, NULL, msg, sizeof(msg)), LDR_EINVAL);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

Test(wal, a_reader_reports_a_damaged_durable_record)
{
    ldr_wal_t *w = open_wal(0, 0, NULL);
    append_synced(w, 10);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    flip_bit(1, rec_off(1, 6) + 30, 2);
    ldr_wal_reader_t *r;
    char msg[256];
    cr_assert_eq(ldr_wal_reader_open(dir, 1, &r, NULL, msg, sizeof(msg)), LDR_OK, "%s", msg);
    ldr_wal_record_t rec;
    for (int i = 1; i <= 5; i++)
        cr_assert_eq(ldr_wal_reader_next(r, 10, &rec), LDR_OK);
    cr_assert_eq(ldr_wal_reader_next(r, 10, &rec), LDR_ECORRUPT);
    char want[128];
    snprintf(want, sizeof(want), "wal-0000000000000001.log: offset %ld: checksum mismatch",
             (long)rec_off(1, 6));
    cr_assert(strstr(ldr_wal_reader_error(r), want) != NULL, "%s", ldr_wal_reader_error(r));
    ldr_wal_reader_close(r);
    cr_assert_eq(ldr_wal_reader_open(dir, 8, &r, NULL, msg, sizeof(msg)), LDR_ECORRUPT);
    cr_assert(strstr(msg, "checksum mismatch") != NULL, "%s", msg);
}
