/*
 * bench/wal — durable appends per second and acknowledgement latency of the write-ahead log,
 * in-process, with group commit, for 64-byte records.
 *
 * One producer thread plays W concurrent clients: it keeps at most W records appended but not yet
 * durable (W = "window"; 0 = no limit, append as fast as possible), calls ldr_wal_flush after
 * appending and ldr_wal_poll to reap, and measures each record from its append to the poll that
 * saw it durable.  Each window runs for SECONDS or RECORDS, whichever comes first, in a fresh
 * directory under build/ (a real disk; /tmp may be tmpfs elsewhere).  Prints records/s, batches,
 * records per batch, ack latency p50/p99 and write+fdatasync latency p50/p99 per batch.
 *
 * usage: wal [SECONDS] [RECORDS] [WINDOW...]   (defaults 2, 500000, windows 1 64 1024 0)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "larder/wal.h"

#define PAYLOAD 64

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e3;
}

typedef struct fsyncs {
    int64_t *ns;
    size_t n, cap;
} fsyncs_t;

static void on_batch(void *ctx, const ldr_wal_batch_info_t *info)
{
    fsyncs_t *f = ctx;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4096;
        f->ns = realloc(f->ns, f->cap * sizeof(*f->ns));
    }
    f->ns[f->n++] = info->complete_ns - info->submit_ns;
}

static void rmtree_flat(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int run(double seconds, uint64_t max_records, uint64_t window)
{
    char dir[] = "build/wal-bench-XXXXXX";
    mkdir("build", 0755);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp build/wal-bench-XXXXXX");
        return 1;
    }
    fsyncs_t fs = {NULL, 0, 0};
    ldr_wal_opts_t o = {.dir = dir, .batch_cb = on_batch, .batch_ctx = &fs};
    ldr_wal_t *w = NULL;
    ldr_wal_recovery_t rep;
    int rc = ldr_wal_open(&o, &w, &rep);
    if (rc != LDR_OK) {
        fprintf(stderr, "wal open: %s: %s\n", ldr_strerror(rc), rep.message);
        return 1;
    }
    int64_t *appended = malloc((max_records + 1) * sizeof(*appended));
    int64_t *ack = malloc((max_records + 1) * sizeof(*ack));
    uint8_t payload[PAYLOAD];
    memset(payload, 'x', sizeof(payload));

    int64_t start = now_ns(), deadline = start + (int64_t)(seconds * 1e9);
    uint64_t next = 1, durable = 0, acked = 0;
    while (acked < next - 1 || (next <= max_records && now_ns() < deadline)) {
        bool room = next <= max_records && (window == 0 || next - 1 - durable < window);
        if (room && now_ns() < deadline) {
            uint64_t lsn;
            memcpy(payload, &next, sizeof(next));
            appended[next] = now_ns();
            if ((rc = ldr_wal_append(w, 1, appended[next], payload, sizeof(payload), &lsn)) != 0)
                break;
            next++;
            if ((rc = ldr_wal_flush(w)) != LDR_OK)
                break;
            rc = ldr_wal_poll(w, false, &durable);
        } else {
            if ((rc = ldr_wal_flush(w)) != LDR_OK)
                break;
            rc = ldr_wal_poll(w, true, &durable);
        }
        if (rc != LDR_OK)
            break;
        if (durable > acked) {
            int64_t t = now_ns();
            for (uint64_t l = acked + 1; l <= durable; l++)
                ack[l - 1] = t - appended[l];
            acked = durable;
        }
    }
    int64_t elapsed = now_ns() - start;
    if (rc != LDR_OK) {
        fprintf(stderr, "wal: %s: %s\n", ldr_strerror(rc), ldr_wal_error(w));
        return 1;
    }
    ldr_wal_stats_t st;
    ldr_wal_stats(w, &st);
    ldr_wal_close(w);
    rmtree_flat(dir);

    qsort(ack, acked, sizeof(*ack), cmp_i64);
    qsort(fs.ns, fs.n, sizeof(*fs.ns), cmp_i64);
    char wname[24];
    if (window == 0)
        snprintf(wname, sizeof(wname), "unbounded");
    else
        snprintf(wname, sizeof(wname), "%llu", (unsigned long long)window);
    printf("%-9s %8llu %10.0f %8llu %9.1f %9.0f %9.0f %9.0f %9.0f %9.0f\n", wname,
           (unsigned long long)acked, (double)acked / ((double)elapsed / 1e9),
           (unsigned long long)st.batches, st.batches ? (double)acked / (double)st.batches : 0.0,
           pct_us(ack, acked, 0.50), pct_us(ack, acked, 0.99), pct_us(ack, acked, 1.0),
           pct_us(fs.ns, fs.n, 0.50), pct_us(fs.ns, fs.n, 0.99));
    free(appended);
    free(ack);
    free(fs.ns);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    uint64_t records = argc > 2 ? strtoull(argv[2], NULL, 10) : 500000;
    uint64_t windows[16] = {1, 64, 1024, 0};
    int nw = 4;
    if (argc > 3) {
        nw = 0;
        for (int i = 3; i < argc && nw < 16; i++)
            windows[nw++] = strtoull(argv[i], NULL, 10);
    }
    if (seconds <= 0 || records == 0) {
        fprintf(stderr, "usage: wal [SECONDS] [RECORDS] [WINDOW...]\n");
        return 2;
    }
    printf("wal: %d-byte records, one producer, group commit, up to %.1f s or %llu records per "
           "window\n",
           PAYLOAD, seconds, (unsigned long long)records);
    printf("%-9s %8s %10s %8s %9s %9s %9s %9s %9s %9s\n", "window", "records", "records/s",
           "batches", "rec/batch", "ack p50", "ack p99", "ack max", "sync p50", "sync p99");
    printf("%-9s %8s %10s %8s %9s %9s %9s %9s %9s %9s\n", "", "", "", "", "", "(us)", "(us)",
           "(us)", "(us)", "(us)");
    for (int i = 0; i < nw; i++)
        if (run(seconds, records, windows[i]) != 0)
            return 1;
    return 0;
}
