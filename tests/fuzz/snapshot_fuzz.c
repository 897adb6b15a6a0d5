/*
 * Fuzz target for the snapshot reader (libFuzzer: `make fuzz`).
 *
 * Input: a snapshot file's bytes.  Most inputs fail the checksum at once, so the target also
 * reseals every input (recomputes its trailer: length and XXH3) and reads it again: that is what
 * exercises the field-by-field checks behind the checksum, as a writer with a bug or a crafted
 * file would.  Whatever loads must write back to bytes that load to the same state hash.
 *
 * tests/unit/engine/snapshot_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "larder/intern.h"
#include "larder/snapshot.h"

#define LDR_FUZZ_NAME "snapshot_fuzz"
#include "fuzz.h"

/* A catalog of its own for every state: a snapshot's products are applied to it. */
static ldr_catalog_t *sf_catalog(void)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"A\"},\"category\":\"a\",\"price\":1}\n"
        "{\"sku\":\"B-2\",\"name\":{\"en\":\"B\"},\"category\":\"b\",\"price\":2}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    return cat;
}

static ldr_state_t sf_state(void)
{
    return (ldr_state_t){.catalog = sf_catalog(),
                         .stock = ldr_stock_new(),
                         .reservations = ldr_reservations_new(),
                         .idem = ldr_idem_new(),
                         .users = ldr_users_new(),
                         .carts = ldr_carts_new(),
                         .orders = ldr_orders_new()};
}

static void sf_free(ldr_state_t *s)
{
    ldr_orders_free(s->orders);
    ldr_catalog_free(s->catalog);
    ldr_carts_free(s->carts);
    ldr_users_free(s->users);
    ldr_idem_free(s->idem);
    ldr_reservations_free(s->reservations);
    ldr_stock_free(s->stock);
}

/* Loads data; when it loads, writes it back and checks the copy loads to the same state. */
static void sf_try(const uint8_t *data, size_t size)
{
    ldr_state_t s = sf_state();
    char err[256];
    if (ldr_snapshot_decode(data, size, s.catalog, &s, NULL, err, sizeof(err)) == LDR_OK) {
        char path[] = "/tmp/larder-snapshot-fuzz-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            LDR_FUZZ_FAIL("mkstemp failed");
        if (ldr_snapshot_write(fd, &s, 1, 0, NULL) != LDR_OK)
            LDR_FUZZ_FAIL("a loaded state does not write");
        close(fd);
        ldr_state_t t = sf_state();
        if (ldr_snapshot_read(path, t.catalog, &t, NULL, err, sizeof(err)) != LDR_OK)
            LDR_FUZZ_FAIL("a written state does not read back: %s", err);
        if (ldr_state_hash(&s) != ldr_state_hash(&t))
            LDR_FUZZ_FAIL("the state changed through a write and a read");
        if (ldr_catalog_count(s.catalog) != ldr_catalog_count(t.catalog) ||
            ldr_catalog_doc_limit(s.catalog) != ldr_catalog_doc_limit(t.catalog) ||
            ldr_orders_count(s.orders) != ldr_orders_count(t.orders))
            LDR_FUZZ_FAIL("the products changed through a write and a read");
        unlink(path);
        sf_free(&t);
    }
    sf_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_try(data, size);
    if (size >= 16 && size < (1u << 20)) { /* resealed: the checks behind the checksum */
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        uint64_t len = size, h;
        for (int i = 0; i < 8; i++)
            copy[size - 16 + i] = (uint8_t)(len >> (8 * i));
        h = ldr_hash(copy, size - 8);
        for (int i = 0; i < 8; i++)
            copy[size - 8 + i] = (uint8_t)(h >> (8 * i));
        sf_try(copy, size);
        free(copy);
    }
    return 0;
}
