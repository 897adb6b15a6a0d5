/* The synchronous engine: log what changed, recover by replay, torn tails, unreadable records. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../helpers.h"
#include "larder/engine.h"
#include "larder/snapshot.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})

static ldr_catalog_t *cat;
static char *dir;

static void setup(void)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce/"
        "fruits\",\"price\":1}\n"
        "{\"sku\":\"B-2\",\"name\":{\"en\":\"Bean\"},\"category\":\"produce/beans\",\"price\":2}\n";
    cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    dir = ldr_test_tmpdir();
}

static void teardown(void)
{
    ldr_catalog_free(cat);
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(engine, .init = setup, .fini = teardown);

static ldr_engine_t *open_engine(ldr_wal_recovery_t *rep)
{
    ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e;
    int rc = ldr_engine_open(&o, &e, rep);
    cr_assert_eq(rc, LDR_OK, "open: %s", rep ? rep->message : ldr_strerror(rc));
    return e;
}

static int exec(ldr_engine_t *e, ldr_cmd_t c, int64_t now, uint64_t *lsn)
{
    ldr_cmd_result_t r;
    return ldr_engine_execute(e, &c, now, &r, lsn);
}

static ldr_cmd_t receive(const char *sku, const char *lot, int64_t qty, int64_t expires)
{
    return (ldr_cmd_t){.type = LDR_CMD_RECEIVE,
                       .store = S("default"),
                       .sku = {sku, (uint32_t)strlen(sku)},
                       .lot = {lot, (uint32_t)strlen(lot)},
                       .quantity = qty,
                       .expires_at = expires};
}

Test(engine, reopen_replays_to_the_same_state)
{
    ldr_engine_t *e = open_engine(NULL);
    uint64_t lsn;
    cr_assert_eq(exec(e, receive("A-1", "L1", 10, 500), 0, &lsn), LDR_OK);
    cr_assert_eq(lsn, 1);
    cr_assert_eq(exec(e, receive("NOPE", "L1", 1, 500), 0, &lsn), LDR_ENOENT);
    cr_assert_eq(lsn, 0, "a refusal was logged");
    ldr_cmd_line_t lines[] = {{S("default"), S("A-1"), 3, 0, {NULL, 0}}};
    cr_assert_eq(exec(e,
                      (ldr_cmd_t){.type = LDR_CMD_RESERVE,
                                  .owner = S("ord-1"),
                                  .expires_at = 100,
                                  .nlines = 1,
                                  .lines = lines},
                      1, &lsn),
                 LDR_OK);
    cr_assert_eq(exec(e, (ldr_cmd_t){.type = LDR_CMD_TICK}, 50, &lsn), LDR_OK);
    cr_assert_eq(lsn, 0, "a tick that expired nothing was logged");
    cr_assert_eq(exec(e, (ldr_cmd_t){.type = LDR_CMD_TICK}, 100, &lsn), LDR_OK);
    cr_assert_eq(lsn, 3);
    cr_assert_eq(
        exec(e,
             (ldr_cmd_t){
                 .type = LDR_CMD_ADJUST, .store = S("default"), .sku = S("A-1"), .quantity = -4},
             101, &lsn),
        LDR_OK);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    uint64_t live = ldr_state_hash(ldr_engine_state(e));
    cr_assert_eq(ldr_engine_close(e), LDR_OK);

    ldr_wal_recovery_t rep;
    e = open_engine(&rep);
    cr_assert_eq(rep.last_lsn, 4);
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live);
    const ldr_stock_entry_t *en = ldr_stock_get(ldr_engine_state(e)->stock, 0, 0);
    cr_assert_eq(en->on_hand, 6);
    cr_assert_eq(en->reserved, 0, "the reservation expired at 100 and stays expired");
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

Test(engine, a_torn_tail_loses_only_the_unsynced_batch)
{
    ldr_engine_t *e = open_engine(NULL);
    cr_assert_eq(exec(e, receive("A-1", "L1", 10, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(exec(e, receive("B-2", "L1", 5, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    uint64_t synced = ldr_state_hash(ldr_engine_state(e));
    cr_assert_eq(exec(e, receive("A-1", "L2", 7, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    /* the crash: the last batch reached the disk only in part */
    char seg[600];
    snprintf(seg, sizeof(seg), "%s/wal-0000000000000001.log", dir);
    cr_assert_eq(truncate(seg, (off_t)ldr_test_wal_end(dir) - 3), 0);
    ldr_wal_recovery_t rep;
    e = open_engine(&rep);
    cr_assert(rep.torn, "the torn tail was not reported");
    cr_assert_eq(rep.last_lsn, 2);
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), synced);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

Test(engine, an_unreadable_record_stops_the_open)
{
    ldr_wal_opts_t wo = {.dir = dir};
    ldr_wal_t *w;
    cr_assert_eq(ldr_wal_open(&wo, &w, NULL), LDR_OK);
    cr_assert_eq(ldr_wal_append(w, 99, 0, "junk", 4, NULL), LDR_OK);
    cr_assert_eq(ldr_wal_close(w), LDR_OK);
    ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e = NULL;
    cr_assert_eq(ldr_engine_open(&o, &e, NULL), LDR_ECORRUPT);
    cr_assert_null(e);
}

/* ---- the engine thread ---- */

#include <pthread.h>
#include <stdatomic.h>

static atomic_uint done_ok, done_refused, done_other, early;
static ldr_engine_t *running;

static void on_done(ldr_engine_req_t *req)
{
    /* replies come only after what they rest on is durable (counted: this is not the test's
     * thread, so it cannot assert) */
    if (req->lsn > ldr_engine_durable_lsn(running))
        atomic_fetch_add(&early, 1);
    if (req->result.status == LDR_OK)
        atomic_fetch_add(&done_ok, 1);
    else if (req->result.status == LDR_ESHORT || req->result.status == LDR_ENOENT)
        atomic_fetch_add(&done_refused, 1);
    else
        atomic_fetch_add(&done_other, 1);
}

static int64_t fixed_clock(void *ctx)
{
    return 1000;
}

typedef struct submitter {
    int id;
    ldr_engine_req_t reqs[2000];
} submitter_t;

static void *submit_many(void *arg)
{
    submitter_t *s = arg;
    static const char *skus[] = {"A-1", "B-2"};
    for (int i = 0; i < 2000; i++) {
        ldr_engine_req_t *r = &s->reqs[i];
        memset(r, 0, sizeof(*r));
        const char *sku = skus[(s->id + i) % 2];
        r->cmd = (ldr_cmd_t){.type = LDR_CMD_ADJUST,
                             .store = S("default"),
                             .sku = {sku, 3},
                             .quantity = i % 3 == 0 ? -2 : 1};
        r->done = on_done;
        ldr_engine_submit(running, r);
    }
    return NULL;
}

/*
 * An engine whose log holds 100 of A-1 and 100 of B-2, opened again so that the thread that runs
 * it owns the log from its first flush; it is also `running`, the one on_done checks against.
 */
static ldr_engine_t *open_stocked(void)
{
    ldr_engine_t *e = open_engine(NULL);
    cr_assert_eq(exec(e, receive("A-1", "L1", 100, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(exec(e, receive("B-2", "L1", 100, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    ldr_engine_close(e);
    running = open_engine(NULL);
    return running;
}

/* 8,000 adjusts of A-1 and B-2 to `running`, from four threads at once; returns when all are in. */
static void submit_from_four_threads(void)
{
    static submitter_t subs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        subs[i].id = i;
        pthread_create(&t[i], NULL, submit_many, &subs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

Test(engine, the_thread_applies_logs_and_replies_after_durability)
{
    ldr_engine_t *e = open_stocked();
    cr_assert_eq(ldr_engine_start(e, fixed_clock, NULL), LDR_OK);
    submit_from_four_threads();
    ldr_engine_stop(e);
    cr_assert_eq(atomic_load(&done_ok) + atomic_load(&done_refused), 8000,
                 "%u ok, %u refused, %u other", atomic_load(&done_ok), atomic_load(&done_refused),
                 atomic_load(&done_other));
    cr_assert_gt(atomic_load(&done_ok), 4000);
    cr_assert_eq(atomic_load(&early), 0, "%u replies came before their change was durable",
                 atomic_load(&early));
    /* every acknowledged change is in the log: reopening rebuilds the same state */
    uint64_t live = ldr_state_hash(ldr_engine_state(e));
    int64_t on_hand = ldr_stock_get(ldr_engine_state(e)->stock, 0, 0)->on_hand +
                      ldr_stock_get(ldr_engine_state(e)->stock, 0, 1)->on_hand;
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    ldr_wal_recovery_t rep;
    e = open_engine(&rep);
    cr_assert_eq(rep.last_lsn, 2 + atomic_load(&done_ok));
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live);
    cr_assert_eq(ldr_stock_get(ldr_engine_state(e)->stock, 0, 0)->on_hand +
                     ldr_stock_get(ldr_engine_state(e)->stock, 0, 1)->on_hand,
                 on_hand);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

static _Atomic int64_t moving_now = 1000;

static int64_t moving_clock(void *ctx)
{
    return atomic_load(&moving_now);
}

Test(engine, the_thread_ticks_lots_out_when_they_expire)
{
    ldr_engine_t *e = open_engine(NULL);
    ldr_engine_set_tick(e, 1);
    cr_assert_eq(ldr_engine_start(e, moving_clock, NULL), LDR_OK);
    ldr_engine_req_t r = {.cmd = receive("A-1", "SOON", 5, 1010), .done = on_done};
    running = e;
    ldr_engine_submit(e, &r);
    ldr_engine_req_t r2 = {.cmd = receive("A-1", "LATER", 3, 5000), .done = on_done};
    ldr_engine_submit(e, &r2);
    for (int i = 0; i < 300 && atomic_load(&done_ok) < 2; i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&done_ok), 2);
    /* nothing is submitted from here on: the clock alone must expire SOON */
    atomic_store(&moving_now, 1011);
    int64_t on_hand = -1;
    for (int i = 0; i < 300 && on_hand != 3; i++) {
        usleep(10000);
        ldr_engine_read_lock(e);
        const ldr_stock_entry_t *en = ldr_stock_get(ldr_engine_state(e)->stock, 0, 0);
        on_hand = en != NULL ? en->on_hand : -1;
        ldr_engine_read_unlock(e);
    }
    cr_assert_eq(on_hand, 3, "the expired lot is still counted: %lld", (long long)on_hand);
    ldr_engine_stop(e);
    uint64_t live = ldr_state_hash(ldr_engine_state(e));
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    /* the expiry was logged as a TICK: replay reaches the same state */
    ldr_wal_recovery_t rep;
    e = open_engine(&rep);
    cr_assert_eq(rep.records, 3, "want RECEIVE, RECEIVE, TICK; got %llu records",
                 (unsigned long long)rep.records);
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

/* fsyncs fail while `failing` is set: a disk that is full or gone, then back */
static atomic_bool failing;

static int failing_fsync(void *ctx, int op, int res)
{
    bool sync = op == 2 /* LDR__WAL_OP_FSYNC */ || op == 5 /* LDR__WAL_OP_WRITE_DSYNC */;
    return atomic_load(&failing) && sync ? -EIO : res;
}

static void submit_adjust(ldr_engine_req_t *r, int64_t delta)
{
    memset(r, 0, sizeof(*r));
    r->cmd = (ldr_cmd_t){
        .type = LDR_CMD_ADJUST, .store = S("default"), .sku = S("A-1"), .quantity = delta};
    r->done = on_done;
    ldr_engine_submit(running, r);
}

static int64_t on_hand_of_a1(ldr_engine_t *e)
{
    ldr_engine_read_lock(e);
    const ldr_stock_entry_t *en = ldr_stock_get(ldr_engine_state(e)->stock, 0, 0);
    int64_t v = en != NULL ? en->on_hand : -1;
    ldr_engine_read_unlock(e);
    return v;
}

Test(engine, the_thread_refuses_writes_while_the_log_fails_then_reopens_it)
{
    ldr_engine_t *e = open_engine(NULL);
    cr_assert_eq(exec(e, receive("A-1", "L1", 100, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    ldr_engine_close(e);
    e = open_engine(NULL);
    running = e;
    ldr_engine_set_wal_fault(e, failing_fsync, NULL);
    cr_assert_eq(ldr_engine_start(e, fixed_clock, NULL), LDR_OK);
    static ldr_engine_req_t r[4];
    submit_adjust(&r[0], 5); /* durable */
    for (int i = 0; i < 300 && atomic_load(&done_ok) < 1; i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&done_ok), 1);
    atomic_store(&failing, true);
    submit_adjust(&r[1], 7); /* its fsync fails: refused, and must never count */
    for (int i = 0; i < 300 && atomic_load(&done_other) < 1; i++)
        usleep(10000);
    cr_assert_eq(r[1].result.status, LDR_ESTORAGE);
    submit_adjust(&r[2], 1); /* the log is down: refused at once */
    for (int i = 0; i < 300 && atomic_load(&done_other) < 2; i++)
        usleep(10000);
    cr_assert_eq(r[2].result.status, LDR_ESTORAGE);
    atomic_store(&failing, false); /* the disk is back: the engine reopens the log by itself */
    int64_t v = -1;
    for (int i = 0; i < 500 && (v = on_hand_of_a1(e)) != 105; i++)
        usleep(10000);
    cr_assert_eq(v, 105, "the refused +7 is still counted after reopening: %lld", (long long)v);
    unsigned ok_before = atomic_load(&done_ok);
    for (int i = 0; i < 500 && atomic_load(&done_ok) == ok_before; i++) {
        unsigned seen = atomic_load(&done_ok) + atomic_load(&done_other);
        submit_adjust(&r[3], 2);
        while (atomic_load(&done_ok) + atomic_load(&done_other) == seen)
            usleep(2000);
        if (atomic_load(&done_ok) == ok_before)
            usleep(10000); /* refused: still reopening */
    }
    cr_assert_eq(atomic_load(&done_ok), ok_before + 1, "writes are not accepted again");
    ldr_engine_stop(e);
    uint64_t live = ldr_state_hash(ldr_engine_state(e));
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    e = open_engine(NULL);
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live);
    cr_assert_eq(ldr_stock_get(ldr_engine_state(e)->stock, 0, 0)->on_hand, 107);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

/* ---- the engine on its owner's thread (ldr_engine_start_owned) ---- */

#include <poll.h>
#include <stdint.h>

static bool readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

static void *turn_elsewhere(void *arg)
{
    return (void *)(intptr_t)ldr_engine_turn(arg);
}

static void *stop_elsewhere(void *arg)
{
    ldr_engine_stop(arg);
    return NULL;
}

static void wait_and_turn(ldr_engine_t *e)
{
    struct pollfd p = {ldr_engine_wake_fd(e), POLLIN, 0};
    uint64_t v;
    if (poll(&p, 1, 100) == 1)
        (void)!read(p.fd, &v, sizeof(v));
    ldr_engine_turn(e);
}

Test(engine, an_owned_engine_runs_on_its_owners_turns_and_stops_through_run)
{
    ldr_engine_t *e = open_stocked();
    cr_assert_eq(ldr_engine_start_owned(e, fixed_clock, NULL), LDR_OK);
    int wake = ldr_engine_wake_fd(e);
    /* this thread's first turn makes it the owner: its own submits then take no wake-up, and a
     * turn returns with everything it took durable and answered */
    cr_assert_eq(ldr_engine_turn(e), -1, "no ticks, no snapshots: nothing to do by itself");
    static ldr_engine_req_t own[100];
    for (int i = 0; i < 100; i++)
        submit_adjust(&own[i], 1);
    cr_assert_not(readable(wake), "the owner's own submit wrote the wake-up eventfd");
    cr_assert_eq(atomic_load(&done_ok), 0, "answered before a turn");
    ldr_engine_turn(e);
    cr_assert_eq(atomic_load(&done_ok), 100);
    cr_assert_eq(ldr_engine_durable_lsn(e), 102);
    cr_assert_eq(ldr_engine_applied_lsn(e), 102);
    /* another thread's submits wake the owner; another thread's turn does nothing */
    submit_from_four_threads();
    pthread_t other;
    void *ret;
    pthread_create(&other, NULL, turn_elsewhere, e);
    pthread_join(other, &ret);
    cr_assert_eq((intptr_t)ret, -1);
    ldr_engine_metrics_t m;
    ldr_engine_metrics(e, &m);
    cr_assert_eq(m.queued, 8000, "another thread's turn took %llu requests",
                 (unsigned long long)(8000 - m.queued));
    cr_assert_eq(atomic_load(&done_ok), 100);
    cr_assert(readable(wake), "another thread's submit did not wake the owner");
    wait_and_turn(e); /* one turn takes everything queued */
    cr_assert_eq(atomic_load(&done_ok) + atomic_load(&done_refused), 8100,
                 "%u ok, %u refused, %u other", atomic_load(&done_ok), atomic_load(&done_refused),
                 atomic_load(&done_other));
    cr_assert_eq(atomic_load(&early), 0, "%u replies came before their change was durable",
                 atomic_load(&early));
    /* each turn asks for the next wake-up again */
    cr_assert_not(readable(wake));
    static submitter_t more;
    more.id = 9;
    pthread_t one;
    pthread_create(&one, NULL, submit_many, &more);
    pthread_join(one, NULL);
    cr_assert(readable(wake), "a submit after a turn did not wake the owner");
    wait_and_turn(e);
    cr_assert_eq(atomic_load(&done_ok) + atomic_load(&done_refused), 10100);
    /* the end: requests submitted meanwhile are run out by the owner's ldr_engine_run, which
     * returns once another thread's ldr_engine_stop has everything durable */
    static ldr_engine_req_t last[3];
    for (int i = 0; i < 3; i++)
        submit_adjust(&last[i], 1);
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_elsewhere, e);
    ldr_engine_run(e);
    pthread_join(stopper, NULL);
    unsigned ok = atomic_load(&done_ok);
    cr_assert_eq(ok + atomic_load(&done_refused), 10103);
    uint64_t live = ldr_state_hash(ldr_engine_state(e));
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    ldr_wal_recovery_t rep;
    e = open_engine(&rep);
    cr_assert_eq(rep.last_lsn, 2 + ok, "every acknowledged change, and only those, is logged");
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

/* The failing disk of the engine-thread test above, on an owned engine: turns answer ESTORAGE,
 * ask for the turn that reopens the log in time, and the refused change never counts. */
Test(engine, an_owned_engine_refuses_writes_while_the_log_fails_then_reopens_it)
{
    ldr_engine_t *e = open_stocked();
    ldr_engine_set_wal_fault(e, failing_fsync, NULL);
    cr_assert_eq(ldr_engine_start_owned(e, fixed_clock, NULL), LDR_OK);
    static ldr_engine_req_t r[4];
    submit_adjust(&r[0], 5); /* before the first turn: taken by it */
    ldr_engine_turn(e);
    cr_assert_eq(r[0].result.status, LDR_OK);
    atomic_store(&failing, true);
    submit_adjust(&r[1], 7);
    int ms = ldr_engine_turn(e);
    cr_assert_eq(r[1].result.status, LDR_ESTORAGE);
    cr_assert(ms >= 0 && ms <= 1000, "the reopening is not asked for in time: %d ms", ms);
    submit_adjust(&r[2], 1);
    ldr_engine_turn(e);
    cr_assert_eq(r[2].result.status, LDR_ESTORAGE, "a write taken while the log is down");
    atomic_store(&failing, false);
    for (int i = 0; i < 100 && on_hand_of_a1(e) != 105; i++) {
        usleep((useconds_t)(ms > 0 ? ms : 1) * 1000);
        ms = ldr_engine_turn(e);
    }
    cr_assert_eq(on_hand_of_a1(e), 105, "not reopened, or the refused +7 still counts");
    submit_adjust(&r[3], 2);
    ldr_engine_turn(e);
    cr_assert_eq(r[3].result.status, LDR_OK, "writes are not accepted again");
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_elsewhere, e);
    ldr_engine_run(e);
    pthread_join(stopper, NULL);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    e = open_engine(NULL);
    cr_assert_eq(ldr_stock_get(ldr_engine_state(e)->stock, 0, 0)->on_hand, 107);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

Test(engine, an_owned_engine_nobody_turned_is_run_out_by_stop)
{
    ldr_engine_t *e = open_engine(NULL);
    running = e;
    cr_assert_eq(ldr_engine_start_owned(e, fixed_clock, NULL), LDR_OK);
    static ldr_engine_req_t r[2];
    ldr_engine_req_t rc = {.cmd = receive("A-1", "L1", 10, LDR_NO_EXPIRY), .done = on_done};
    ldr_engine_submit(e, &rc);
    submit_adjust(&r[0], 1);
    submit_adjust(&r[1], -3);
    cr_assert(readable(ldr_engine_wake_fd(e)), "no owner yet: a submit must wake one");
    ldr_engine_stop(e); /* nobody ever turned it: this thread does, to the end */
    cr_assert_eq(atomic_load(&done_ok), 3, "%u ok, %u refused, %u other", atomic_load(&done_ok),
                 atomic_load(&done_refused), atomic_load(&done_other));
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    ldr_wal_recovery_t rep;
    e = open_engine(&rep);
    cr_assert_eq(rep.last_lsn, 3);
    cr_assert_eq(ldr_stock_get(ldr_engine_state(e)->stock, 0, 0)->on_hand, 8);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

static int count_files(const char *d, const char *prefix)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^%s' 2>/dev/null", d, prefix);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p != NULL && fscanf(p, "%d", &n) != 1)
        n = 0;
    if (p != NULL)
        pclose(p);
    return n;
}

static void snap_log(void *ctx, const char *msg)
{
    cr_log_info("engine: %s", msg);
}

static ldr_engine_t *open_snapshotting(uint64_t every, ldr_wal_recovery_t *rep)
{
    ldr_engine_opts_t o = {.wal_dir = dir,
                           .catalog = cat,
                           .wal_segment_bytes = 4096,
                           .snapshot_every = every,
                           .log = snap_log};
    ldr_engine_t *e;
    int rc = ldr_engine_open(&o, &e, rep);
    cr_assert_eq(rc, LDR_OK, "open: %s", rep ? rep->message : ldr_strerror(rc));
    return e;
}

Test(engine, snapshots_bound_recovery_and_the_log)
{
    ldr_engine_t *e = open_snapshotting(200, NULL);
    cr_assert_eq(exec(e, receive("A-1", "L1", 1000000, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(exec(e, receive("B-2", "L1", 1000000, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    ldr_engine_close(e);
    e = open_snapshotting(200, NULL);
    running = e;
    cr_assert_eq(ldr_engine_start(e, fixed_clock, NULL), LDR_OK);
    static submitter_t subs[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        subs[i].id = i;
        pthread_create(&t[i], NULL, submit_many, &subs[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 500 && atomic_load(&done_ok) < 4000; i++)
        usleep(10000);
    usleep(100000); /* the last snapshot child finishes */
    ldr_engine_stop(e);
    cr_assert_eq(atomic_load(&done_ok), 4000, "%u ok", atomic_load(&done_ok));
    uint64_t live = ldr_state_hash(ldr_engine_state(e));
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    int snaps = count_files(dir, "snap-"), segs = count_files(dir, "wal-");
    cr_assert(snaps >= 1 && snaps <= 2, "%d snapshots kept", snaps);
    cr_assert_eq(count_files(dir, ".*tmp$"), 0);
    /* the log no longer starts at its first record: segments behind the older kept snapshot
     * went (when only one snapshot was ever written, nothing could go yet) */
    char first[600];
    snprintf(first, sizeof(first), "%s/wal-0000000000000001.log", dir);
    if (snaps == 2)
        cr_assert_neq(access(first, F_OK), 0, "the first segment is still there (%d kept)", segs);
    ldr_wal_recovery_t rep;
    e = open_snapshotting(200, &rep);
    cr_assert_lt(rep.records, 600, "replayed %llu records: the snapshot was not used",
                 (unsigned long long)rep.records);
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    /* a damaged newest snapshot: recovery falls back to the older one and the longer log */
    if (snaps == 2) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd),
                 "f=$(ls %s/snap-* | sort | tail -n 1); printf 'X' | dd of=$f bs=1 seek=100 "
                 "conv=notrunc status=none",
                 dir);
        cr_assert_eq(system(cmd), 0);
        e = open_snapshotting(200, &rep);
        cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), live, "fallback lost state");
        cr_assert_eq(ldr_engine_close(e), LDR_OK);
    }
}

static ldr_cmd_t put_product(const char *json)
{
    return (ldr_cmd_t){.type = LDR_CMD_PRODUCT_PUT, .product = {json, (uint32_t)strlen(json)}};
}

static ldr_cmd_t del_product(const char *sku)
{
    return (ldr_cmd_t){.type = LDR_CMD_PRODUCT_DEL, .sku = {sku, (uint32_t)strlen(sku)}};
}

#define C3                                                                                         \
    "{\"sku\":\"C-3\",\"name\":{\"vi\":\"C\\u00e0 "                                                \
    "chua\"},\"category\":\"produce/veg\",\"price\":3}"
#define A1_NEW                                                                                     \
    "{\"sku\":\"A-1\",\"name\":{\"en\":\"Green "                                                   \
    "apple\"},\"category\":\"produce/fruits\",\"price\":9}"

/* The products the catalog serves, as "SKU:PRICE " in doc order. */
static void products_of(const ldr_catalog_t *c, char *out, size_t size)
{
    out[0] = '\0';
    for (uint32_t d = 0; d < ldr_catalog_doc_limit(c); d++) {
        const ldr_product_t *p = ldr_catalog_doc(c, d);
        if (p != NULL)
            snprintf(out + strlen(out), size - strlen(out), "%s:%lld ", p->sku.ptr,
                     (long long)p->price);
    }
}

static ldr_catalog_t *base_catalog(void)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce/"
        "fruits\",\"price\":1}\n"
        "{\"sku\":\"B-2\",\"name\":{\"en\":\"Bean\"},\"category\":\"produce/beans\",\"price\":2}\n";
    ldr_catalog_t *c = ldr_catalog_new();
    ldr_catalog_load_jsonl(c, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    return c;
}

Test(engine, product_changes_are_logged_replayed_and_snapshotted)
{
    ldr_engine_t *e = open_engine(NULL);
    uint64_t lsn;
    cr_assert_eq(exec(e, put_product(C3), 0, &lsn), LDR_OK);
    cr_assert_gt(lsn, 0);
    cr_assert_eq(exec(e, receive("C-3", "L1", 5, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(exec(e, receive("B-2", "L1", 7, LDR_NO_EXPIRY), 0, NULL), LDR_OK);
    cr_assert_eq(exec(e, put_product(A1_NEW), 0, &lsn), LDR_OK);
    cr_assert_gt(lsn, 0);
    cr_assert_eq(exec(e, put_product(A1_NEW), 0, &lsn), LDR_OK);
    cr_assert_eq(lsn, 0, "putting a product as it is was logged");
    cr_assert_eq(exec(e, del_product("B-2"), 0, &lsn), LDR_OK);
    cr_assert_gt(lsn, 0);
    cr_assert_eq(exec(e, del_product("B-2"), 0, &lsn), LDR_OK);
    cr_assert_eq(lsn, 0, "deleting what is not there was logged");
    cr_assert_eq(exec(e, put_product("{\"sku\":\"X-1\"}"), 0, &lsn), LDR_EINVAL);
    cr_assert_eq(lsn, 0, "a bad product was logged");
    /* a deleted product's stock stays, under its SKU */
    cr_assert_null(ldr_catalog_find(cat, "B-2", 3, NULL));
    cr_assert_not_null(ldr_catalog_lookup(cat, "B-2", 3, NULL));
    char want[256], got[256];
    products_of(cat, want, sizeof(want));
    cr_assert_str_eq(want, "A-1:9 C-3:3 ");
    uint64_t hash = ldr_state_hash(ldr_engine_state(e));
    /* a snapshot of it, loaded over the base catalog, gives the same products and stock */
    char path[600];
    snprintf(path, sizeof(path), "%s/p.snap", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    cr_assert_eq(ldr_snapshot_write(fd, ldr_engine_state(e), 99, 0, NULL), LDR_OK);
    close(fd);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    ldr_catalog_t *c2 = base_catalog();
    ldr_state_t st = {.stock = ldr_stock_new(), .reservations = ldr_reservations_new()};
    char err[256];
    cr_assert_eq(ldr_snapshot_read(path, c2, &st, NULL, err, sizeof(err)), LDR_OK, "%s", err);
    products_of(c2, got, sizeof(got));
    cr_assert_str_eq(got, want);
    cr_assert_eq(ldr_state_hash(&st), hash);
    /* every product the log touched is marked so the next snapshot keeps it */
    cr_assert(ldr_catalog_logged(c2, 0) && ldr_catalog_logged(c2, 1) && ldr_catalog_logged(c2, 2));
    ldr_stock_free(st.stock);
    ldr_reservations_free(st.reservations);
    ldr_catalog_free(c2);
    /* the log replayed onto the base catalog gives them too */
    ldr_catalog_free(cat);
    cat = base_catalog();
    e = open_engine(NULL);
    products_of(cat, got, sizeof(got));
    cr_assert_str_eq(got, want);
    cr_assert_eq(ldr_state_hash(ldr_engine_state(e)), hash);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
}

Test(engine, a_fixed_catalog_ignores_product_commands)
{
    ldr_state_t st = {.catalog = cat,
                      .stock = ldr_stock_new(),
                      .reservations = ldr_reservations_new(),
                      .catalog_fixed = true};
    ldr_cmd_t c = put_product(C3);
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_apply(&st, &c, 0, &res), LDR_OK);
    cr_assert(res.noop);
    c = del_product("A-1");
    cr_assert_eq(ldr_cmd_apply(&st, &c, 0, &res), LDR_OK);
    cr_assert(res.noop);
    cr_assert_null(ldr_catalog_find(cat, "C-3", 3, NULL));
    cr_assert_not_null(ldr_catalog_find(cat, "A-1", 3, NULL));
    ldr_stock_free(st.stock);
    ldr_reservations_free(st.reservations);
}
