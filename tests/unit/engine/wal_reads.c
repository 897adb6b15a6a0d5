/*
 * Unit tests for how WAL recovery treats reads that go wrong: a torn tail is believed only when
 * two reads in a row agree on it.  The log lives on the simulator's disk (tests/sim/disk.h), whose
 * reads a wrapper here corrupts on demand while the medium stays as written.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "larder/wal.h"

#include "../../../engine/wal_internal.h"
#include "../../sim/disk.h"

#define REC  64 /* payload bytes per record */
#define RECS 8

static sim_disk_t disk;
static ldr_wal_io_t io;   /* disk.io with reads that can go wrong */
static int misreads_left; /* reads still to come back with a bit flipped */
static int reads;

/* The sim disk's read, then a bit flipped in the last record: a different bit every read. */
static int misreading_read_all(void *ctx, const char *name, uint8_t **data, size_t *len)
{
    int r = disk.io.read_all(ctx, name, data, len);
    reads++;
    if (r == 0 && misreads_left > 0 && *len > 0) {
        misreads_left--;
        size_t last = (RECS - 1) * ldr__wal_record_bytes(REC);
        (*data)[last + 30 + (size_t)reads % 8] ^= 0x10;
    }
    return r;
}

static void setup(void)
{
    sim_disk_init(&disk, 1, NULL);
    io = disk.io;
    io.read_all = misreading_read_all;
    misreads_left = reads = 0;
}

static void teardown(void)
{
    sim_disk_free(&disk);
}

TestSuite(wal_reads, .init = setup, .fini = teardown);

static int open_log(ldr_wal_t **w, ldr_wal_recovery_t *rep)
{
    ldr_wal_opts_t o = {.dir = "sim", .io = &io};
    return ldr_wal_open(&o, w, rep);
}

/* RECS records, each made durable, then the log closed. */
static void write_log(void)
{
    ldr_wal_t *w;
    ldr_wal_recovery_t rep;
    cr_assert_eq(open_log(&w, &rep), LDR_OK, "%s", rep.message);
    uint8_t payload[REC] = {7};
    for (int i = 0; i < RECS; i++) {
        uint64_t lsn;
        cr_assert_eq(ldr_wal_append(w, 1, 1000 + i, payload, sizeof(payload), &lsn), LDR_OK);
        cr_assert_eq(ldr_wal_sync(w), LDR_OK);
    }
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
}

static uint64_t durable_records(void)
{
    ldr_wal_t *w;
    ldr_wal_recovery_t rep;
    misreads_left = 0;
    cr_assert_eq(open_log(&w, &rep), LDR_OK, "%s", rep.message);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    return rep.last_lsn;
}

/* Opens the log with its first n reads misread: every record must be kept, nothing cut; returns
 * how many reads the open took. */
static int open_after_misreads(int n)
{
    write_log();
    misreads_left = n;
    reads = 0;
    ldr_wal_t *w;
    ldr_wal_recovery_t rep;
    cr_assert_eq(open_log(&w, &rep), LDR_OK, "%s", rep.message);
    cr_assert_not(rep.torn, "%s", rep.message);
    cr_assert_eq(rep.last_lsn, RECS);
    cr_assert_eq(ldr_wal_next_lsn(w), RECS + 1);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    int took = reads;
    cr_assert_eq(durable_records(), RECS);
    return took;
}

Test(wal_reads, a_tail_misread_once_is_read_again_and_kept)
{
    cr_assert_eq(open_after_misreads(1), 3, "the misread, then two reads that agree");
}

Test(wal_reads, a_tail_misread_twice_differently_is_not_cut)
{
    /* the failure the simulator found: two bad reads, each with its own flipped bit */
    cr_assert_eq(open_after_misreads(2), 4);
}

Test(wal_reads, a_tail_that_never_reads_the_same_twice_fails_the_open_and_cuts_nothing)
{
    write_log();
    misreads_left = 1000;
    ldr_wal_t *w = NULL;
    ldr_wal_recovery_t rep;
    cr_assert_eq(open_log(&w, &rep), LDR_EIO);
    cr_assert_null(w);
    cr_assert(strstr(rep.message, "disagree") != NULL, "%s", rep.message);
    cr_assert(strstr(rep.message, "wal-0000000000000001.log") != NULL, "%s", rep.message);
    cr_assert_eq(durable_records(), RECS, "every record still there once reads are right");
}

Test(wal_reads, a_tail_torn_on_the_medium_is_cut_even_after_a_misread)
{
    write_log();
    /* damage in the last record, on the medium: every read sees it */
    size_t at = (RECS - 1) * ldr__wal_record_bytes(REC) + 40;
    cr_assert_eq(disk.nfiles, 1);
    disk.files[0].cur.p[at] ^= 0x01;
    disk.files[0].dur.p[at] ^= 0x01;
    misreads_left = 1;
    ldr_wal_t *w;
    ldr_wal_recovery_t rep;
    cr_assert_eq(open_log(&w, &rep), LDR_OK, "%s", rep.message);
    cr_assert(rep.torn, "%s", rep.message);
    cr_assert_eq(rep.last_lsn, RECS - 1);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(durable_records(), RECS - 1, "cut");
}
