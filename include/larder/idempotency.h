/*
 * larder — idempotency keys: which client request a logged change answered, so that a retry of
 * the same request (after a timeout, a lost answer or a crash) is answered without applying it
 * twice, and a different request under the same key is refused.
 *
 * A key is the client's Idempotency-Key scoped to its caller ("sub key"); with it goes a
 * fingerprint of the request (its path and body).  The table is engine state: entries are made
 * by applying logged commands, so replay rebuilds it.  An entry counts for LDR_IDEM_TTL seconds
 * of command time; lookups ignore older ones, so when they are physically dropped does not matter
 * to determinism.
 */
#ifndef LARDER_IDEMPOTENCY_H
#define LARDER_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#define LDR_IDEM_TTL     86400
#define LDR_IDEM_KEY_MAX 400 /* a 128-byte subject, a space, a 255-byte key, "#NNNN" */

typedef struct ldr_idem ldr_idem_t;

typedef struct ldr_idem_entry {
    uint64_t fingerprint;
    int64_t time; /* the command time of the change it answered */
    uint32_t key_len;
    char key[]; /* not NUL-terminated */
} ldr_idem_entry_t;

ldr_idem_t *ldr_idem_new(void);
void ldr_idem_free(ldr_idem_t *t);
uint32_t ldr_idem_count(const ldr_idem_t *t);

/** The live entry for key at time `now` (one younger than LDR_IDEM_TTL), or NULL. */
const ldr_idem_entry_t *ldr_idem_find(const ldr_idem_t *t, const char *key, size_t len,
                                      int64_t now);
/** Records key (replacing an expired entry of the same key). */
void ldr_idem_put(ldr_idem_t *t, const char *key, size_t len, uint64_t fingerprint, int64_t time);
/** Drops entries that expired by `now`; returns how many. */
uint32_t ldr_idem_purge(ldr_idem_t *t, int64_t now);
/** Calls cb for every entry (table order), live or not yet purged. */
void ldr_idem_each(const ldr_idem_t *t, void (*cb)(void *ctx, const ldr_idem_entry_t *e),
                   void *ctx);

#endif
