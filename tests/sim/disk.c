/*
 * The simulator's disk: the log's files in memory, with what a crash keeps and loses, and faults,
 * all drawn from one seeded PRNG (see disk.h).
 */
#include "disk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_SECTOR 512

uint64_t sim_rand(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool sim_chance(sim_disk_t *d, uint32_t per_million)
{
    return per_million > 0 && sim_rand(&d->rng) % 1000000 < per_million;
}

static void sim_bytes_set(sim_bytes_t *b, uint64_t off, const void *p, size_t len)
{
    if (off + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < off + len)
            cap *= 2;
        b->p = realloc(b->p, cap);
        memset(b->p + b->cap, 0, cap - b->cap);
        b->cap = cap;
    }
    memcpy(b->p + off, p, len);
    if (off + len > b->len)
        b->len = off + len;
}

static void sim_bytes_copy(sim_bytes_t *to, const sim_bytes_t *from)
{
    to->len = 0;
    if (from->len > 0)
        sim_bytes_set(to, 0, from->p, from->len);
}

static sim_file_t *sim_find(sim_disk_t *d, const char *name)
{
    for (uint32_t i = 0; i < d->nfiles; i++)
        if (d->files[i].listed && strcmp(d->files[i].name, name) == 0)
            return &d->files[i];
    return NULL;
}

static sim_file_t *sim_fd(sim_disk_t *d, int fd)
{
    return fd >= 0 && (uint32_t)fd < d->nfiles && d->files[fd].listed ? &d->files[fd] : NULL;
}

static int sim_open(void *ctx, const char *name, bool create)
{
    sim_disk_t *d = ctx;
    d->ops++;
    sim_file_t *f = sim_find(d, name);
    if (create) {
        if (f != NULL)
            return -EEXIST;
        if (d->nfiles == SIM_FILES_MAX)
            return -ENOSPC;
        f = &d->files[d->nfiles++];
        memset(f, 0, sizeof(*f));
        strncpy(f->name, name, sizeof(f->name) - 1);
        f->listed = true; /* the name is durable once the directory is synced */
        return (int)(f - d->files);
    }
    return f == NULL ? -ENOENT : (int)(f - d->files);
}

static void sim_close(void *ctx, int fd)
{
    (void)ctx, (void)fd;
}

static int sim_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    sim_disk_t *d = ctx;
    sim_file_t *f = sim_fd(d, fd);
    d->ops++;
    if (f == NULL)
        return -EBADF;
    if (sim_chance(d, d->faults.eio))
        return d->injected.eio++, -EIO;
    if (sim_chance(d, d->faults.enospc))
        return d->injected.enospc++, -ENOSPC;
    size_t n = len;
    if (len > 1 && sim_chance(d, d->faults.short_write)) {
        n = 1 + (size_t)(sim_rand(&d->rng) % (len - 1));
        d->injected.short_writes++;
    }
    sim_bytes_set(&f->cur, off, buf, n);
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "pwrite %s [%llu, %llu)\n", f->name, (unsigned long long)off,
                (unsigned long long)(off + n));
    if (f->npending < SIM_PENDING_MAX)
        f->pending[f->npending++] = (sim_write_t){off, n};
    else
        f->pending_overflow = true;
    return (int)n;
}

static int sim_fdatasync(void *ctx, int fd)
{
    sim_disk_t *d = ctx;
    sim_file_t *f = sim_fd(d, fd);
    d->ops++;
    if (f == NULL)
        return -EBADF;
    if (sim_chance(d, d->faults.sync_eio)) {
        /* fsyncgate: the dirty pages may be gone from the cache or not: they stay pending */
        d->injected.sync_eio++;
        if (getenv("SIM_TRACE"))
            fprintf(stderr, "fdatasync of %s fails\n", f->name);
        return -EIO;
    }
    sim_bytes_copy(&f->dur, &f->cur);
    f->npending = 0;
    f->pending_overflow = false;
    return 0;
}

static int sim_fsync_dir(void *ctx)
{
    sim_disk_t *d = ctx;
    d->ops++;
    for (uint32_t i = 0; i < d->nfiles; i++)
        d->files[i].name_durable = d->files[i].listed;
    return 0;
}

static int sim_truncate(void *ctx, int fd, uint64_t len)
{
    sim_disk_t *d = ctx;
    sim_file_t *f = sim_fd(d, fd);
    d->ops++;
    if (f == NULL)
        return -EBADF;
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "truncate %s to %llu\n", f->name, (unsigned long long)len);
    if (len < f->cur.len)
        memset(f->cur.p + len, 0, f->cur.len - len);
    f->cur.len = len;
    return 0;
}

static int sim_unlink(void *ctx, const char *name)
{
    sim_disk_t *d = ctx;
    sim_file_t *f = sim_find(d, name);
    d->ops++;
    if (f == NULL)
        return -ENOENT;
    f->listed = false;
    return 0;
}

static int sim_list(void *ctx, char ***names, uint32_t *n)
{
    sim_disk_t *d = ctx;
    *names = calloc(d->nfiles + 1, sizeof(char *));
    *n = 0;
    for (uint32_t i = 0; i < d->nfiles; i++)
        if (d->files[i].listed)
            (*names)[(*n)++] = strdup(d->files[i].name);
    return 0;
}

static int sim_read_all(void *ctx, const char *name, uint8_t **data, size_t *len)
{
    sim_disk_t *d = ctx;
    sim_file_t *f = sim_find(d, name);
    d->ops++;
    if (f == NULL)
        return -ENOENT;
    *len = f->cur.len;
    *data = malloc(f->cur.len + 1);
    if (f->cur.len > 0)
        memcpy(*data, f->cur.p, f->cur.len);
    /* a bit flipped on the way (the medium is fine: the next read is right) */
    if (f->cur.len > 0 && sim_chance(d, d->faults.read_flip)) {
        uint64_t bit = sim_rand(&d->rng) % (f->cur.len * 8);
        (*data)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        d->injected.read_flips++;
        if (getenv("SIM_TRACE"))
            fprintf(stderr, "read of %s: bit %llu flipped\n", name, (unsigned long long)bit);
    }
    return 0;
}

void sim_disk_init(sim_disk_t *d, uint64_t seed, const sim_faults_t *faults)
{
    memset(d, 0, sizeof(*d));
    d->rng = seed * 0x2545f4914f6cdd1dull + 1;
    if (faults != NULL)
        d->faults = *faults;
    d->io = (ldr_wal_io_t){
        d,          sim_open, sim_close,   sim_pwrite, sim_fdatasync, sim_fsync_dir, sim_truncate,
        sim_unlink, sim_list, sim_read_all};
}

void sim_disk_free(sim_disk_t *d)
{
    for (uint32_t i = 0; i < d->nfiles; i++)
        free(d->files[i].cur.p), free(d->files[i].dur.p);
    memset(d, 0, sizeof(*d));
}

void sim_disk_crash(sim_disk_t *d)
{
    d->crashes++;
    for (uint32_t i = 0; i < d->nfiles; i++) {
        sim_file_t *f = &d->files[i];
        if (!f->name_durable) { /* created, its directory never synced: gone, or there empty */
            f->listed = sim_rand(&d->rng) % 2 == 0;
            f->cur.len = f->dur.len = 0;
            f->npending = 0;
            continue;
        }
        f->listed = true; /* an unlink not synced may come back */
        /* what was synced stays; of each write since, any sectors may have reached the disk,
         * in any order: a torn write keeps some and not others */
        sim_bytes_t after = {0};
        sim_bytes_copy(&after, &f->dur);
        bool torn = false;
        for (uint32_t k = 0; k < f->npending; k++) {
            sim_write_t w = f->pending[k];
            for (uint64_t s = w.off / SIM_SECTOR * SIM_SECTOR; s < w.off + w.len; s += SIM_SECTOR) {
                uint32_t keep = d->faults.keep_unsynced;
                if (!sim_chance(d, keep))
                    continue;
                uint64_t from = s < w.off ? w.off : s;
                uint64_t to = s + SIM_SECTOR < w.off + w.len ? s + SIM_SECTOR : w.off + w.len;
                if (to > f->cur.len)
                    to = f->cur.len;
                if (from < to)
                    sim_bytes_set(&after, from, f->cur.p + from, to - from);
                torn = true;
            }
        }
        d->injected.torn_writes += torn;
        sim_bytes_copy(&f->cur, &after);
        sim_bytes_copy(&f->dur, &after);
        free(after.p);
        f->npending = 0;
        f->pending_overflow = false;
    }
}
