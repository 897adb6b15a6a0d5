/*
 * Numbered files of the engine's directory (WAL segments wal-<hex>.log, snapshots
 * snap-<hex>.snap): parsing their names and listing them.
 */
#ifndef LARDER_ENGINE_FILES_INTERNAL_H
#define LARDER_ENGINE_FILES_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

/** True when name is exactly prefix, 16 lower-case hex digits, suffix; *v gets the number. */
bool ldr__hex_name_parse(const char *name, const char *prefix, const char *suffix, uint64_t *v);

/**
 * The numbers of the entries of d that `parse` accepts, sorted (descending or not), malloc'ed
 * into *out (NULL when none).  Closes d.  Returns LDR_OK.
 */
int ldr__list_numbered(DIR *d, bool (*parse)(const char *name, uint64_t *v), bool descending,
                       uint64_t **out, uint32_t *count);

#endif
