/*
 * larder-sim — the deterministic simulator (issue 9).
 *
 * For each seed: the engine (the synchronous core: ldr_engine_execute, ldr_engine_sync) runs on a
 * simulated disk (tests/sim/disk.h) with faults drawn from the seed, and takes a random mix of
 * stock receipts, adjusts and sets, reservations with TTLs, commits, releases, orders placed,
 * paid, picked and cancelled, and ticks that advance the clock and expire holds and unpaid
 * orders.  Syncs acknowledge what ran before them; crashes (the disk keeps only what it must and
 * any part of the rest), failed writes and syncs, and clean restarts come in between.  After
 * every recovery the engine's state is compared with a reference model — plain arrays that apply
 * the acknowledged commands by the rules of the API:
 *
 *   - it must equal the model after every acknowledged command plus some prefix of those run but
 *     not acknowledged (the log is a prefix: nothing unacknowledged is half there);
 *   - no negative on_hand, reserved or available, reserved <= on_hand, every SKU's reserved is
 *     the sum of the holds on it, every order's hold is there exactly while it should be;
 *   - opening the same log again gives the same state hash (replay is deterministic).
 *
 * A failure prints the seed and what differed; `larder-sim --seed N` runs that one again, the same
 * way.  `--break KIND` switches on a deliberate bug in the WAL (ack-before-sync, ignore-sync-error,
 * ignore-write-error, no-checksum: one for each kind of fault) and `--expect-failure` then exits 0
 * only if some seed caught it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../engine/wal_internal.h"
#include "../helpers.h"
#include "disk.h"
#include "larder/catalog.h"
#include "larder/command.h"
#include "larder/engine.h"
#include "larder/orders.h"
#include "larder/reservations.h"
#include "larder/stock.h"

#define SKUS      6
#define OWNERS    64 /* holds and orders a seed makes at most */
#define LINES_MAX 3
#define OPS_MAX   4096
#define T0        1800000000

/* ---- the reference model ---- */

typedef enum { M_NONE, M_PENDING, M_PAID, M_PICKING, M_CANCELLED } mstatus_t;

typedef struct mhold {
    bool live, order;
    int n, sku[LINES_MAX], qty[LINES_MAX];
    int64_t exp;      /* INT64_MAX: none */
    mstatus_t status; /* orders */
} mhold_t;

typedef struct model {
    int64_t on_hand[SKUS], reserved[SKUS];
    mhold_t h[OWNERS];
} model_t;

typedef enum {
    OP_RECEIVE,
    OP_ADJUST,
    OP_SET,
    OP_RESERVE,
    OP_COMMIT,
    OP_RELEASE,
    OP_PLACE,
    OP_PAID,
    OP_CANCEL,
    OP_PICKING,
    OP_TICK,
    OP_KINDS
} opkind_t;

typedef struct op {
    opkind_t kind;
    int sku, owner;
    int64_t v; /* quantity, delta, new on_hand */
    int n, skus[LINES_MAX], qty[LINES_MAX];
    int64_t now, exp;
} op_t;

static void m_unhold(model_t *m, mhold_t *h, bool consume)
{
    if (!h->live)
        return;
    for (int i = 0; i < h->n; i++) {
        m->reserved[h->sku[i]] -= h->qty[i];
        if (consume)
            m->on_hand[h->sku[i]] -= h->qty[i];
    }
    h->live = false;
}

static void m_apply(model_t *m, const op_t *o)
{
    mhold_t *h = &m->h[o->owner];
    switch (o->kind) {
    case OP_RECEIVE:
    case OP_ADJUST:
        m->on_hand[o->sku] += o->v;
        break;
    case OP_SET:
        m->on_hand[o->sku] = o->v;
        break;
    case OP_RESERVE:
    case OP_PLACE:
        *h = (mhold_t){.live = true, .order = o->kind == OP_PLACE, .n = o->n, .exp = o->exp};
        for (int i = 0; i < o->n; i++) {
            h->sku[i] = o->skus[i], h->qty[i] = o->qty[i];
            m->reserved[o->skus[i]] += o->qty[i];
        }
        h->status = o->kind == OP_PLACE ? M_PENDING : M_NONE;
        break;
    case OP_COMMIT:
    case OP_PICKING:
        m_unhold(m, h, true);
        if (o->kind == OP_PICKING)
            h->status = M_PICKING;
        break;
    case OP_RELEASE:
    case OP_CANCEL:
        m_unhold(m, h, false);
        if (o->kind == OP_CANCEL)
            h->status = M_CANCELLED;
        break;
    case OP_PAID:
        h->status = M_PAID, h->exp = INT64_MAX;
        break;
    case OP_TICK:
        for (int k = 0; k < OWNERS; k++)
            if (m->h[k].live && m->h[k].exp <= o->now) {
                m_unhold(m, &m->h[k], false);
                if (m->h[k].order && m->h[k].status == M_PENDING)
                    m->h[k].status = M_CANCELLED;
            }
        break;
    default:
        break;
    }
}

/* ---- the run of one seed ---- */

typedef struct run {
    uint64_t seed, rng;
    sim_disk_t disk;
    ldr_catalog_t *cat;
    char *dir;
    ldr_engine_t *e;
    model_t acked;         /* every acknowledged command applied */
    op_t pending[OPS_MAX]; /* run since the last acknowledgement */
    int npending;
    int64_t now;
    int next_owner, lots;
    char why[512];
    /* counts */
    uint64_t commands, syncs, crashes, failures, recoveries, detected, unacked_kept;
} run_t;

static uint64_t rnd(run_t *r, uint64_t n)
{
    return sim_rand(&r->rng) % n;
}

static void owner_name(char *buf, size_t size, int k, bool order)
{
    snprintf(buf, size, "%s-%02d", order ? "ord" : "res", k);
}

static int fail(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    return -1;
}

static int open_engine(run_t *r)
{
    for (int attempt = 0;; attempt++) {
        ldr_engine_opts_t o = {
            .wal_dir = r->dir, .catalog = r->cat, .wal_segment_bytes = 8192, .wal_io = &r->disk.io};
        ldr_wal_recovery_t rep;
        int rc = ldr_engine_open(&o, &r->e, &rep);
        if (getenv("SIM_TRACE"))
            fprintf(stderr, "open: %s, lsn %llu..%llu, torn %d: %s\n", ldr_strerror(rc),
                    (unsigned long long)rep.first_lsn, (unsigned long long)rep.last_lsn, rep.torn,
                    rep.message);
        if (rc == LDR_OK)
            return 0;
        r->e = NULL;
        /* a bit flipped by a read is found (and not believed): the next open reads right */
        if (rc == LDR_ECORRUPT && r->disk.injected.read_flips > 0 && attempt < 3) {
            r->detected++;
            continue;
        }
        if (rc == LDR_EIO || rc == LDR_ESTORAGE) {
            if (attempt < 50)
                continue; /* an injected write fault while cutting a torn tail: again */
        }
        return fail(r, "the engine does not open: %s: %s", ldr_strerror(rc), rep.message);
    }
}

/* The engine's view of everything the model knows, against a model. */
static bool same(run_t *r, const model_t *m, char *diff, size_t size)
{
    const ldr_state_t *s = ldr_engine_state(r->e);
    uint32_t store = ldr_stock_store_find(s->stock, "default", 7);
    for (int k = 0; k < SKUS; k++) {
        char sku[8];
        uint32_t doc;
        snprintf(sku, sizeof(sku), "S-%d", k);
        ldr_catalog_lookup(s->catalog, sku, strlen(sku), &doc);
        const ldr_stock_entry_t *st =
            store == UINT32_MAX ? NULL : ldr_stock_get(s->stock, store, doc);
        int64_t on = st ? st->on_hand : 0, res = st ? st->reserved : 0;
        if (on != m->on_hand[k] || res != m->reserved[k]) {
            snprintf(diff, size,
                     "%s: on_hand %" PRId64 " reserved %" PRId64 ", model %" PRId64 " and %" PRId64,
                     sku, on, res, m->on_hand[k], m->reserved[k]);
            return false;
        }
    }
    for (int k = 0; k < r->next_owner; k++) {
        char name[16];
        owner_name(name, sizeof(name), k, m->h[k].order);
        bool held = ldr_reservations_find(s->reservations, name, strlen(name)) != NULL;
        if (held != m->h[k].live) {
            snprintf(diff, size, "%s: held %d, model %d", name, held, m->h[k].live);
            return false;
        }
        if (m->h[k].order || m->h[k].status != M_NONE) {
            const ldr_order_t *o = ldr_orders_find(s->orders, name, strlen(name));
            int want = m->h[k].status == M_PENDING     ? LDR_ORDER_PENDING_PAYMENT
                       : m->h[k].status == M_PAID      ? LDR_ORDER_PAID
                       : m->h[k].status == M_PICKING   ? LDR_ORDER_PICKING
                       : m->h[k].status == M_CANCELLED ? LDR_ORDER_CANCELLED
                                                       : -1;
            int got = o != NULL ? o->status : -1;
            if (got != want) {
                snprintf(diff, size, "%s: status %d, model %d", name, got, want);
                return false;
            }
        }
    }
    return true;
}

typedef struct sums {
    int64_t held[SKUS];
    const ldr_catalog_t *cat;
} sums_t;

static void sum_hold(void *ctx, const ldr_reservation_t *res)
{
    sums_t *s = ctx;
    for (uint32_t i = 0; i < res->nlines; i++) {
        ldr_str_t sku = ldr_catalog_record(s->cat, res->lines[i].doc)->sku;
        s->held[sku.ptr[2] - '0'] += res->lines[i].quantity;
    }
}

static int invariants(run_t *r)
{
    const ldr_state_t *s = ldr_engine_state(r->e);
    uint32_t store = ldr_stock_store_find(s->stock, "default", 7);
    sums_t sums = {{0}, s->catalog};
    ldr_reservations_each(s->reservations, sum_hold, &sums);
    for (int k = 0; k < SKUS && store != UINT32_MAX; k++) {
        char sku[8];
        uint32_t doc;
        snprintf(sku, sizeof(sku), "S-%d", k);
        ldr_catalog_lookup(s->catalog, sku, strlen(sku), &doc);
        const ldr_stock_entry_t *st = ldr_stock_get(s->stock, store, doc);
        if (st == NULL)
            continue;
        if (st->on_hand < 0 || st->reserved < 0 || st->reserved > st->on_hand)
            return fail(r, "%s: on_hand %" PRId64 ", reserved %" PRId64, sku, st->on_hand,
                        st->reserved);
        if (st->reserved != sums.held[k])
            return fail(r, "%s: reserved %" PRId64 " but the holds on it add up to %" PRId64, sku,
                        st->reserved, sums.held[k]);
    }
    return 0;
}

/* After a recovery: the state is the acknowledged model plus a prefix of the rest. */
static int verify(run_t *r)
{
    r->recoveries++;
    model_t m = r->acked;
    char diff[256] = "", first[256] = "";
    int k = 0;
    for (;; k++) {
        if (same(r, &m, diff, sizeof(diff)))
            break;
        if (k == 0)
            snprintf(first, sizeof(first), "%s", diff);
        if (k == r->npending)
            return fail(r,
                        "recovered state is no prefix of the commands run: with every "
                        "acknowledged one, %s (%d unacknowledged tried)",
                        first, r->npending);
        m_apply(&m, &r->pending[k]);
    }
    r->unacked_kept += (uint64_t)k;
    r->acked = m; /* what the log now holds is acknowledged by the recovery that read it */
    r->npending = 0;
    if (invariants(r) != 0)
        return -1;
    /* deterministic replay: the same log opens to the same state */
    uint64_t h = ldr_state_hash(ldr_engine_state(r->e));
    ldr_engine_close(r->e);
    r->e = NULL;
    if (open_engine(r) != 0)
        return -1;
    if (ldr_state_hash(ldr_engine_state(r->e)) != h)
        return fail(r, "opening the same log twice gave two states");
    return 0;
}

/* The process dies: no more I/O from it, then the disk keeps what it keeps. */
static int crash(run_t *r)
{
    r->crashes++;
    if (getenv("SIM_TRACE"))
        fprintf(stderr, "crash (pending %d)\n", r->npending);
    sim_faults_t keep = r->disk.faults;
    r->disk.faults = (sim_faults_t){.eio = 1000000, .sync_eio = 1000000};
    ldr_engine_close(r->e); /* every write it tries now fails: nothing more reaches the disk */
    r->e = NULL;
    r->disk.faults = keep;
    sim_disk_crash(&r->disk);
    if (open_engine(r) != 0)
        return -1;
    return verify(r);
}

/* A random command, as valid as a client would send (the engine may still refuse it). */
static void gen(run_t *r, op_t *o, ldr_cmd_t *c, ldr_cmd_line_t *lines, char *owner, size_t osize,
                char *lot)
{
    static const char *const skus[SKUS] = {"S-0", "S-1", "S-2", "S-3", "S-4", "S-5"};
    memset(o, 0, sizeof(*o));
    memset(c, 0, sizeof(*c));
    o->kind = (opkind_t)rnd(r, OP_KINDS);
    o->sku = (int)rnd(r, SKUS);
    o->now = r->now;
    c->store = (ldr_str_t){"default", 7};
    c->sku = (ldr_str_t){skus[o->sku], 3};
    /* holds and orders are made new; the rest pick an existing one */
    bool makes = o->kind == OP_RESERVE || o->kind == OP_PLACE;
    if (makes && r->next_owner == OWNERS)
        o->kind = OP_TICK, makes = false;
    o->owner = makes ? r->next_owner : r->next_owner ? (int)rnd(r, (uint64_t)r->next_owner) : 0;
    bool order = makes ? o->kind == OP_PLACE : r->acked.h[o->owner].order;
    for (int k = 0; !makes && k < r->npending; k++) /* made since the last acknowledgement */
        if (r->pending[k].owner == o->owner &&
            (r->pending[k].kind == OP_RESERVE || r->pending[k].kind == OP_PLACE))
            order = r->pending[k].kind == OP_PLACE;
    /* the stock API's commit and release go to plain holds, order moves to orders */
    bool for_hold = o->kind == OP_COMMIT || o->kind == OP_RELEASE;
    bool for_order = o->kind == OP_PAID || o->kind == OP_CANCEL || o->kind == OP_PICKING;
    if ((for_hold && order) || (for_order && !order))
        o->kind = OP_TICK;
    owner_name(owner, osize, o->owner, order);
    c->owner = c->order = (ldr_str_t){owner, strlen(owner)};
    switch (o->kind) {
    case OP_RECEIVE:
        o->v = 1 + (int64_t)rnd(r, 20);
        snprintf(lot, 16, "L%d", r->lots++);
        *c = (ldr_cmd_t){.type = LDR_CMD_RECEIVE,
                         .store = c->store,
                         .sku = c->sku,
                         .lot = {lot, strlen(lot)},
                         .quantity = o->v,
                         .expires_at = LDR_NO_EXPIRY};
        break;
    case OP_ADJUST:
        o->v = (int64_t)rnd(r, 21) - 10;
        if (o->v == 0)
            o->v = 1;
        *c = (ldr_cmd_t){.type = LDR_CMD_ADJUST,
                         .store = c->store,
                         .sku = c->sku,
                         .reason = {"count", 5},
                         .quantity = o->v};
        break;
    case OP_SET:
        o->v = (int64_t)rnd(r, 30);
        *c = (ldr_cmd_t){.type = LDR_CMD_SET,
                         .store = c->store,
                         .sku = c->sku,
                         .reason = {"count", 5},
                         .quantity = o->v};
        break;
    case OP_RESERVE:
    case OP_PLACE: {
        o->n = 1 + (int)rnd(r, LINES_MAX);
        int first = (int)rnd(r, SKUS);
        for (int i = 0; i < o->n; i++) {
            o->skus[i] = (first + i) % SKUS, o->qty[i] = 1 + (int)rnd(r, 5);
            lines[i] = (ldr_cmd_line_t){c->store, {skus[o->skus[i]], 3}, o->qty[i], 100, {NULL, 0}};
        }
        o->exp = r->now + 1 + (int64_t)rnd(r, 40);
        if (o->kind == OP_RESERVE) {
            *c = (ldr_cmd_t){.type = LDR_CMD_RESERVE,
                             .owner = c->owner,
                             .expires_at = o->exp,
                             .lines = lines,
                             .nlines = (uint32_t)o->n};
        } else {
            *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_PLACE,
                             .order = c->order,
                             .owner = {"usr-1", 5},
                             .store = c->store,
                             .expires_at = o->exp,
                             .provider = {"fake", 4},
                             .pay_token = {"fake_ok", 7},
                             .lines = lines,
                             .nlines = (uint32_t)o->n};
        }
        break;
    }
    case OP_COMMIT:
    case OP_RELEASE:
        *c = (ldr_cmd_t){.type = o->kind == OP_COMMIT ? LDR_CMD_COMMIT : LDR_CMD_RELEASE,
                         .owner = c->owner};
        break;
    case OP_PAID:
        *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = c->order};
        break;
    case OP_CANCEL:
        *c = (ldr_cmd_t){
            .type = LDR_CMD_ORDER_CANCEL, .order = c->order, .reason = {"customer_cancelled", 18}};
        break;
    case OP_PICKING:
        *c =
            (ldr_cmd_t){.type = LDR_CMD_ORDER_STATUS, .order = c->order, .role = LDR_ORDER_PICKING};
        break;
    default:
        o->kind = OP_TICK;
        r->now += (int64_t)rnd(r, 30);
        o->now = r->now;
        *c = (ldr_cmd_t){.type = LDR_CMD_TICK};
        break;
    }
}

static int step(run_t *r)
{
    uint64_t x = rnd(r, 100);
    if (x < 72) { /* a command */
        op_t o;
        ldr_cmd_t c;
        ldr_cmd_line_t lines[LINES_MAX];
        char owner[16], lot[16];
        gen(r, &o, &c, lines, owner, sizeof(owner), lot);
        ldr_cmd_result_t res;
        uint64_t lsn = 0;
        r->commands++;
        int rc = ldr_engine_execute(r->e, &c, o.now, &res, &lsn);
        if (getenv("SIM_TRACE"))
            fprintf(stderr, "op %d sku %d owner %d v %lld n %d now %lld exp %lld -> %s lsn %llu\n",
                    o.kind, o.sku, o.owner, (long long)o.v, o.n, (long long)o.now, (long long)o.exp,
                    ldr_strerror(rc), (unsigned long long)lsn);
        if (o.kind == OP_RESERVE || o.kind == OP_PLACE)
            r->next_owner += rc == LDR_OK;
        if (rc == LDR_OK && lsn != 0) {
            if (r->npending == OPS_MAX)
                return fail(r, "too many commands without an acknowledgement");
            r->pending[r->npending++] = o;
        }
        if (rc == LDR_ESTORAGE) {
            r->failures++;
            return crash(r);
        }
        return 0;
    }
    if (x < 88) { /* acknowledge */
        r->syncs++;
        if (ldr_engine_sync(r->e) != LDR_OK) {
            r->failures++;
            return crash(r);
        }
        for (int k = 0; k < r->npending; k++)
            m_apply(&r->acked, &r->pending[k]);
        r->npending = 0;
        return 0;
    }
    if (x < 97)
        return crash(r);
    /* a clean restart: what close makes durable is acknowledged by it */
    int rc = ldr_engine_close(r->e);
    r->e = NULL;
    if (rc == LDR_OK) {
        for (int k = 0; k < r->npending; k++)
            m_apply(&r->acked, &r->pending[k]);
        r->npending = 0;
    }
    if (open_engine(r) != 0)
        return -1;
    return verify(r);
}

static const char catalog_jsonl[] =
    "{\"sku\":\"S-0\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce/fruit\",\"price\":1}\n"
    "{\"sku\":\"S-1\",\"name\":{\"en\":\"Bean\"},\"category\":\"produce/beans\",\"price\":2}\n"
    "{\"sku\":\"S-2\",\"name\":{\"en\":\"Corn\"},\"category\":\"produce/grain\",\"price\":3}\n"
    "{\"sku\":\"S-3\",\"name\":{\"en\":\"Date\"},\"category\":\"produce/fruit\",\"price\":4}\n"
    "{\"sku\":\"S-4\",\"name\":{\"en\":\"Egg\"},\"category\":\"dairy/eggs\",\"price\":5}\n"
    "{\"sku\":\"S-5\",\"name\":{\"en\":\"Fig\"},\"category\":\"produce/fruit\",\"price\":6}\n";

typedef struct totals {
    uint64_t seeds, failed, commands, syncs, crashes, failures, recoveries, detected, kept;
    uint64_t eio, enospc, short_writes, sync_eio, read_flips, torn;
} totals_t;

/* One seed; 0 when every check held. */
static int run_seed(uint64_t seed, int steps, const char *dir, totals_t *t, bool verbose)
{
    run_t *r = calloc(1, sizeof(*r));
    r->seed = seed, r->rng = seed ^ 0x5bd1e995u, r->dir = (char *)dir, r->now = T0;
    /* each seed its own mix of faults: some none, some many */
    uint64_t mix = sim_rand(&r->rng) % 4;
    sim_faults_t f = {.keep_unsynced = (uint32_t)(sim_rand(&r->rng) % 1000000)};
    if (mix >= 1)
        f.eio = 3000, f.enospc = 2000, f.short_write = 3000, f.sync_eio = 5000;
    if (mix >= 2)
        f.read_flip = 20000;
    sim_disk_init(&r->disk, seed, &f);
    r->cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(r->cat, catalog_jsonl, sizeof(catalog_jsonl) - 1, NULL, NULL, NULL);
    int rc = open_engine(r);
    for (int i = 0; rc == 0 && i < steps; i++)
        rc = step(r);
    if (rc == 0)
        rc = crash(r); /* and a last one */
    if (r->e != NULL)
        ldr_engine_close(r->e);
    t->seeds++;
    t->commands += r->commands, t->syncs += r->syncs, t->crashes += r->crashes;
    t->failures += r->failures, t->recoveries += r->recoveries, t->detected += r->detected;
    t->kept += r->unacked_kept;
    t->eio += r->disk.injected.eio, t->enospc += r->disk.injected.enospc;
    t->short_writes += r->disk.injected.short_writes, t->sync_eio += r->disk.injected.sync_eio;
    t->read_flips += r->disk.injected.read_flips, t->torn += r->disk.injected.torn_writes;
    if (rc != 0) {
        t->failed++;
        if (verbose || t->failed == 1)
            fprintf(stderr,
                    "larder-sim: seed %" PRIu64 " failed: %s\n  again: larder-sim --seed %" PRIu64
                    "\n",
                    seed, r->why, seed);
    }
    sim_disk_free(&r->disk);
    ldr_catalog_free(r->cat);
    free(r);
    return rc;
}

static const char usage[] =
    "usage: larder-sim [--seeds N] [--seed S] [--steps N] [--break KIND [--expect-failure]]\n"
    "\n"
    "Runs the engine on a simulated disk with faults and crashes, seed after seed, and checks\n"
    "every recovery against a reference model (see tests/sim/sim.c).\n"
    "  --seeds N         seeds to run (default 300), from --seed on (default: from the clock)\n"
    "  --seed S          the first seed; alone, runs that one seed\n"
    "  --steps N         steps per seed (default 200)\n"
    "  --break KIND      switch on a deliberate bug: ack-before-sync, ignore-sync-error,\n"
    "                    ignore-write-error, no-checksum\n"
    "  --expect-failure  exit 0 only if some seed fails (with --break)\n"
    "SIM_TRACE=1 in the environment prints every step, fault and recovery (with --seed S).\n"
    "exit status: 0 all seeds held (or, with --expect-failure, one failed), 1 otherwise, 2 usage\n";

int main(int argc, char **argv)
{
    uint64_t first = (uint64_t)time(NULL) * 1000003u, seeds = 300;
    int steps = 200;
    bool seed_given = false, seeds_given = false, expect_failure = false;
    const char *brk = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--expect-failure") == 0) {
            expect_failure = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (v == NULL) {
            fprintf(stderr, "larder-sim: %s needs a value\n%s", a, usage);
            return 2;
        }
        i++;
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        bool num = *end == '\0' && v[0] >= '0' && v[0] <= '9';
        if (strcmp(a, "--seeds") == 0 && num && n > 0)
            seeds = n, seeds_given = true;
        else if (strcmp(a, "--seed") == 0 && num)
            first = n, seed_given = true;
        else if (strcmp(a, "--steps") == 0 && num && n > 0 && n <= 100000)
            steps = (int)n;
        else if (strcmp(a, "--break") == 0)
            brk = v;
        else {
            fprintf(stderr, "larder-sim: bad option %s %s\n%s", a, v, usage);
            return 2;
        }
    }
    if (brk != NULL) {
        ldr__wal_break = strcmp(brk, "ack-before-sync") == 0     ? LDR__WAL_BREAK_ACK_BEFORE_SYNC
                         : strcmp(brk, "ignore-sync-error") == 0 ? LDR__WAL_BREAK_IGNORE_SYNC_ERROR
                         : strcmp(brk, "ignore-write-error") == 0
                             ? LDR__WAL_BREAK_IGNORE_WRITE_ERROR
                         : strcmp(brk, "no-checksum") == 0 ? LDR__WAL_BREAK_NO_CHECKSUM
                                                           : -1;
        if (ldr__wal_break < 0) {
            fprintf(stderr, "larder-sim: unknown --break %s\n%s", brk, usage);
            return 2;
        }
    }
    if (seed_given && !seeds_given)
        seeds = 1;
    char *dir = ldr_test_tmpdir(); /* real and empty: the log itself lives on the simulated disk */
    totals_t t = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t s = first; s < first + seeds; s++) {
        run_seed(s, steps, dir, &t, seeds == 1);
        if (expect_failure && t.failed > 0)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ldr_test_rmtree(dir);
    free(dir);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("larder-sim: %s: %" PRIu64 " seeds from %" PRIu64 " (%s), %" PRIu64 " failed; %" PRIu64
           " commands, %" PRIu64 " syncs, %" PRIu64 " crashes (%" PRIu64
           " after a failed write or sync), %" PRIu64 " recoveries checked, %" PRIu64
           " unacknowledged commands found whole; faults: %" PRIu64 " EIO, %" PRIu64
           " ENOSPC, %" PRIu64 " short writes, %" PRIu64 " failed fdatasyncs, %" PRIu64
           " torn writes, %" PRIu64 " bit flips on read (%" PRIu64 " caught at open); %.1f s\n",
           t.failed == 0 ? "ok" : "FAIL", t.seeds, first, brk != NULL ? brk : "no bug", t.failed,
           t.commands, t.syncs, t.crashes, t.failures, t.recoveries, t.kept, t.eio, t.enospc,
           t.short_writes, t.sync_eio, t.torn, t.read_flips, t.detected, secs);
    if (expect_failure) {
        printf("larder-sim: --break %s %s\n", brk ? brk : "(none)",
               t.failed > 0 ? "was caught" : "WAS NOT CAUGHT");
        return t.failed > 0 ? 0 : 1;
    }
    return t.failed == 0 ? 0 : 1;
}
