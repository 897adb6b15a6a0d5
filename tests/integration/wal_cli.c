/* `larder wal check|dump`: a sound log, a torn tail, mid-log corruption and bad usage. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../helpers.h"
#include "larder/command.h"
#include "larder/wal.h"

/* Writes `batches` flushes of 10 records each into dir; returns the first segment's path. */
static void write_log(const char *dir, int batches, char *segment, size_t size)
{
    ldr_wal_opts_t o = {.dir = dir};
    ldr_wal_t *w;
    ldr_wal_recovery_t rep;
    cr_assert_eq(ldr_wal_open(&o, &w, &rep), LDR_OK, "%s", rep.message);
    for (int b = 0; b < batches; b++) {
        for (int i = 0; i < 10; i++) {
            char payload[32];
            int n = snprintf(payload, sizeof(payload), "record %d.%d", b, i);
            cr_assert_eq(ldr_wal_append(w, 7, 1795564800000000000LL + b, payload, (size_t)n, NULL),
                         LDR_OK);
        }
        cr_assert_eq(ldr_wal_sync(w), LDR_OK);
    }
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    snprintf(segment, size, "%s/wal-0000000000000001.log", dir);
}

static int run(const char *const *args, char **out, char **err)
{
    return ldr_test_run(args, out, err);
}

Test(wal_cli, check_and_dump_a_sound_log)
{
    char *dir = ldr_test_tmpdir(), seg[512], *out, *err;
    write_log(dir, 3, seg, sizeof(seg));
    cr_assert_eq(run((const char *[]){"wal", "check", dir, NULL}, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "ok: 1 segments, records 1..30") != NULL, "%s", out);
    free(out), free(err);
    cr_assert_eq(run((const char *[]){"wal", "dump", dir, "--from", "29", NULL}, &out, &err), 0);
    cr_assert(strstr(out, "{\"lsn\":29,\"time\":\"2026-11-25T00:00:00.000000002Z\",\"type\":7") ==
                  out,
              "%s", out);
    cr_assert(strstr(out, "\"lsn\":30") != NULL);
    cr_assert_null(strstr(out, "\"lsn\":28"));
    /* "record 2.9" in hex */
    cr_assert(strstr(out, "\"payload\":\"7265636f726420322e39\"") != NULL, "%s", out);
    free(out), free(err);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(wal_cli, corruption_names_file_and_offset)
{
    char *dir = ldr_test_tmpdir(), seg[512], *out, *err;
    write_log(dir, 3, seg, sizeof(seg));
    int fd = open(seg, O_RDWR);
    cr_assert_geq(fd, 0);
    char c;
    cr_assert_eq(pread(fd, &c, 1, 40), 1); /* inside the first record of the first batch */
    c ^= 0x10;
    cr_assert_eq(pwrite(fd, &c, 1, 40), 1);
    close(fd);
    cr_assert_eq(run((const char *[]){"wal", "check", dir, NULL}, &out, &err), 1);
    cr_assert(strstr(err, "wal-0000000000000001.log: offset 0") != NULL, "%s", err);
    free(out), free(err);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(wal_cli, torn_tail_is_reported_not_fatal)
{
    char *dir = ldr_test_tmpdir(), seg[512], *out, *err;
    write_log(dir, 2, seg, sizeof(seg));
    cr_assert_eq(truncate(seg, (off_t)ldr_test_wal_end(dir) - 5), 0);
    cr_assert_eq(run((const char *[]){"wal", "check", dir, NULL}, &out, &err), 0, "%s", err);
    cr_assert(strstr(err, "torn tail") != NULL, "%s", err);
    cr_assert(strstr(out, "records 1..19") != NULL, "%s", out);
    free(out), free(err);
    ldr_test_rmtree(dir);
    free(dir);
}

Test(wal_cli, usage)
{
    char *out, *err;
    cr_assert_eq(run((const char *[]){"wal", "--help", NULL}, &out, &err), 0);
    cr_assert(strstr(out, "check") && strstr(out, "dump"));
    free(out), free(err);
    cr_assert_eq(run((const char *[]){"wal", NULL}, &out, &err), 2);
    free(out), free(err);
    cr_assert_eq(run((const char *[]){"wal", "check", NULL}, &out, &err), 2);
    free(out), free(err);
    cr_assert_eq(run((const char *[]){"wal", "dump", "/tmp", "--from", "x", NULL}, &out, &err), 2);
    free(out), free(err);
    cr_assert_eq(run((const char *[]){"wal", "check", "/nonexistent/wal", NULL}, &out, &err), 1);
    cr_assert(strstr(err, "/nonexistent/wal") != NULL, "%s", err);
    free(out), free(err);
}

Test(wal_cli, dump_decodes_engine_commands)
{
    char *dir = ldr_test_tmpdir(), *out, *err;
    ldr_wal_opts_t o = {.dir = dir};
    ldr_wal_t *w;
    cr_assert_eq(ldr_wal_open(&o, &w, NULL), LDR_OK);
    ldr_cmd_line_t lines[] = {{LDR_STR_LIT("default"), LDR_STR_LIT("A-1"), 2, 0, {NULL, 0}}};
    ldr_cmd_t cmds[] = {
        {.type = LDR_CMD_RECEIVE,
         .store = LDR_STR_LIT("default"),
         .sku = LDR_STR_LIT("A-1"),
         .lot = LDR_STR_LIT("L1"),
         .quantity = 5,
         .expires_at = 1795564800},
        {.type = LDR_CMD_RESERVE,
         .owner = LDR_STR_LIT("ord-\"1\""),
         .expires_at = 1795564900,
         .nlines = 1,
         .lines = lines},
    };
    for (size_t i = 0; i < 2; i++) {
        ldr_buf_t b = LDR_BUF_INIT;
        cr_assert_eq(ldr_cmd_encode(&cmds[i], &b), LDR_OK);
        cr_assert_eq(ldr_wal_append(w, cmds[i].type, 0, b.base, b.len, NULL), LDR_OK);
        ldr_buf_free(&b);
    }
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    cr_assert_eq(run((const char *[]){"wal", "dump", dir, NULL}, &out, &err), 0, "%s", err);
    cr_assert(strstr(out,
                     "\"command\":{\"name\":\"receive\",\"store\":\"default\",\"sku\":\"A-1\","
                     "\"lot\":\"L1\",\"quantity\":5,\"expires_at\":\"2026-11-25T00:00:00Z\"}") !=
                  NULL,
              "%s", out);
    cr_assert(strstr(out, "\"name\":\"reserve\",\"owner\":\"ord-\\\"1\\\"\"") != NULL, "%s", out);
    cr_assert(strstr(out, "\"lines\":[{\"store\":\"default\",\"sku\":\"A-1\",\"quantity\":2}]") !=
                  NULL,
              "%s", out);
    free(out), free(err);
    ldr_test_rmtree(dir);
    free(dir);
}
