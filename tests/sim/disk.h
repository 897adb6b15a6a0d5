/*
 * The simulator's disk (an ldr_wal_io_t): files in memory, each with what the page cache holds
 * (`cur`, what reads see) and what is on the medium (`dur`, what a crash keeps).  fdatasync makes
 * cur durable; a crash keeps dur plus, of every write since the last fdatasync, any of its
 * 512-byte sectors (a torn write), chosen by the PRNG; a file whose directory entry was never
 * synced may vanish.  Faults, each with a rate per million operations: EIO and ENOSPC on write,
 * short writes, EIO on fdatasync (the data then stays unsynced: it may or may not survive), a
 * flipped bit in what a read returns.  Everything comes from one seed: a run is reproducible.
 */
#ifndef LARDER_TESTS_SIM_DISK_H
#define LARDER_TESTS_SIM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/wal.h"

#define SIM_FILES_MAX   64
#define SIM_PENDING_MAX 256

typedef struct sim_faults {
    uint32_t eio, enospc, short_write, sync_eio, read_flip; /* per million operations */
    uint32_t keep_unsynced; /* per million sectors of unsynced writes that survive a crash */
} sim_faults_t;

typedef struct sim_bytes {
    uint8_t *p;
    size_t len, cap;
} sim_bytes_t;

typedef struct sim_write {
    uint64_t off, len;
} sim_write_t;

typedef struct sim_file {
    char name[48];
    bool listed;       /* in the directory now */
    bool name_durable; /* its creation survives a crash */
    sim_bytes_t cur, dur;
    sim_write_t pending[SIM_PENDING_MAX]; /* writes since the last fdatasync */
    uint32_t npending;
    bool pending_overflow;
} sim_file_t;

typedef struct sim_disk {
    ldr_wal_io_t io;
    uint64_t rng;
    sim_faults_t faults;
    sim_file_t files[SIM_FILES_MAX];
    uint32_t nfiles;
    uint64_t ops, crashes;
    struct {
        uint64_t eio, enospc, short_writes, sync_eio, read_flips, torn_writes;
    } injected;
} sim_disk_t;

/** The next number of the PRNG at *s (splitmix64). */
uint64_t sim_rand(uint64_t *s);
void sim_disk_init(sim_disk_t *d, uint64_t seed, const sim_faults_t *faults);
void sim_disk_free(sim_disk_t *d);
/** The machine stops: only what the medium holds stays (see above). */
void sim_disk_crash(sim_disk_t *d);

#endif
