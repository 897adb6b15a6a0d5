/*
 * Unit tests for bench/harness/load.c, the open-loop core, driven by a fake clock: intended send
 * times follow the rate exactly (and interleave across endpoints and phase-shifted threads), a
 * stalled connection delays nothing that another connection can send, latency counts from the
 * intended time (so a slow server's queueing shows, as an open-loop user would see it), and
 * requests that wait past the timeout are counted as timeouts, not lost.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../../../bench/harness/load.h"

#define MS 1000000LL
#define S  1000000000LL

static ldr_load_opts_t opts(double rate0, double rate1, int64_t duration, int64_t timeout)
{
    ldr_load_opts_t o = {
        .nep = 2, .start_ns = 5 * S, .duration_ns = duration, .timeout_ns = timeout};
    o.rate[0] = rate0;
    o.rate[1] = rate1;
    return o;
}

Test(load, intended_times_follow_the_rate)
{
    ldr_load_opts_t o = opts(1000, 0, 1 * S, 10 * S);
    ldr_load_t l;
    ldr_load_init(&l, &o);
    cr_assert_eq(ldr_load_next_due(&l), 5 * S);
    cr_assert_eq(ldr_load_due(&l, 5 * S - 1), 0, "nothing before start");
    /* at start + 2.5 ms: the requests of 0, 1 and 2 ms are due */
    cr_assert_eq(ldr_load_due(&l, 5 * S + 2 * MS + MS / 2), 3);
    ldr_load_req_t r;
    for (int k = 0; k < 3; k++) {
        cr_assert(ldr_load_take(&l, &r));
        cr_assert_eq(r.intended, 5 * S + k * MS);
        cr_assert_eq(r.seq, (uint32_t)k);
        cr_assert_eq(r.ep, 0);
    }
    cr_assert_not(ldr_load_take(&l, &r));
    /* long after the end: the rest of the second, and nothing past it */
    cr_assert_eq(ldr_load_due(&l, 100 * S), 997);
    cr_assert_eq(l.stats.ep[0].scheduled, 1000);
    cr_assert_eq(ldr_load_next_due(&l), INT64_MAX);
    int64_t last = 0;
    while (ldr_load_take(&l, &r))
        last = r.intended;
    cr_assert_eq(last, 5 * S + 999 * MS);
    ldr_load_free(&l);
}

Test(load, endpoints_interleave_in_time_order)
{
    ldr_load_opts_t o = opts(100, 300, 1 * S, 10 * S); /* every 10 ms and every 3.33 ms */
    ldr_load_t l;
    ldr_load_init(&l, &o);
    ldr_load_due(&l, 6 * S);
    cr_assert_eq(l.stats.ep[0].scheduled, 100);
    cr_assert_eq(l.stats.ep[1].scheduled, 300);
    ldr_load_req_t r;
    int64_t prev = 0;
    while (ldr_load_take(&l, &r)) {
        cr_assert_geq(r.intended, prev, "the FIFO is in intended-time order");
        prev = r.intended;
    }
    ldr_load_free(&l);
}

Test(load, phase_shifted_threads_interleave_evenly)
{
    /* two threads each at half of 1000/s: together one request per millisecond */
    ldr_load_t a, b;
    ldr_load_opts_t o = opts(500, 0, 1 * S, 10 * S);
    ldr_load_init(&a, &o);
    o.phase = 0.5;
    ldr_load_init(&b, &o);
    ldr_load_due(&a, 10 * S);
    ldr_load_due(&b, 10 * S);
    ldr_load_req_t ra, rb;
    for (int k = 0; k < 500; k++) {
        cr_assert(ldr_load_take(&a, &ra));
        cr_assert(ldr_load_take(&b, &rb));
        cr_assert_eq(ra.intended, 5 * S + 2 * k * MS);
        cr_assert_eq(rb.intended, 5 * S + (2 * k + 1) * MS);
    }
    ldr_load_free(&a);
    ldr_load_free(&b);
}

/*
 * A fake driver: `nconn` connections, each answering `service` ns after it sends, except those
 * marked stalled, which never answer (the driver times them out as client.c does).  The clock
 * jumps from event to event.
 */
typedef struct fake_conn {
    bool busy, stalled;
    ldr_load_req_t req;
    int64_t done_at;
    int sent;
} fake_conn_t;

static void drive(ldr_load_t *l, fake_conn_t *c, int nconn, int64_t service, int64_t until)
{
    int64_t now = l->o.start_ns;
    while (now <= until) {
        ldr_load_due(l, now);
        ldr_load_expire(l, now);
        for (int i = 0; i < nconn; i++) {
            if (c[i].busy && !c[i].stalled && c[i].done_at <= now) {
                ldr_load_done(l, &c[i].req, c[i].done_at, LDR_OUTCOME_OK, 200, NULL);
                c[i].busy = false;
            }
            if (c[i].busy && now - c[i].req.intended >= l->o.timeout_ns) {
                ldr_load_done(l, &c[i].req, now, LDR_OUTCOME_TIMEOUT, 0, "timeout");
                c[i].busy = false;
                c[i].stalled = false; /* reconnected */
            }
        }
        for (int i = 0; i < nconn; i++)
            if (!c[i].busy && ldr_load_take(l, &c[i].req)) {
                c[i].busy = true;
                c[i].done_at = now + service;
                c[i].sent++;
            }
        /* the next event: a due request, an answer, a timeout */
        int64_t next = ldr_load_next_due(l);
        for (int i = 0; i < nconn; i++) {
            if (!c[i].busy)
                continue;
            int64_t t = c[i].stalled ? c[i].req.intended + l->o.timeout_ns : c[i].done_at;
            if (t < next)
                next = t;
        }
        if (ldr_load_waiting(l) > 0 && l->fifo[l->head].intended + l->o.timeout_ns < next)
            next = l->fifo[l->head].intended + l->o.timeout_ns;
        if (next == INT64_MAX)
            break;
        now = next > now ? next : now + 1;
    }
}

Test(load, a_stalled_connection_does_not_delay_the_schedule)
{
    /* 100 requests/s for 1 s over 2 connections; the first connection stalls on its first
     * request for the whole 2 s timeout.  The other one carries every other request on time. */
    ldr_load_opts_t o = opts(100, 0, 1 * S, 2 * S);
    ldr_load_t l;
    ldr_load_init(&l, &o);
    fake_conn_t c[2] = {{.stalled = true}, {0}};
    drive(&l, c, 2, 1 * MS, 20 * S);
    const ldr_ep_stats_t *st = &l.stats.ep[0];
    cr_assert_eq(st->scheduled, 100, "the schedule kept its rate");
    cr_assert_eq(st->timeouts, 1, "the stalled request timed out");
    cr_assert_eq(st->ok, 99);
    cr_assert_eq(c[0].sent, 1, "the stalled connection took no second request");
    cr_assert_eq(c[1].sent, 99);
    /* every answered request was sent at its intended time: 1 ms of service, nothing more */
    cr_assert_eq(st->latency.max, 1 * MS);
    cr_assert_eq(st->latency.min, 1 * MS);
    ldr_load_free(&l);
}

Test(load, latency_counts_from_the_intended_time)
{
    /* 1000 requests/s for 0.1 s into one connection whose server takes 3 ms: request k (due at
     * k ms) is sent when k - 1 is answered, at 3k ms, and answered at 3k + 3 ms, so its latency
     * is 2k + 3 ms.  A closed-loop tool would report 3 ms for every one. */
    ldr_load_opts_t o = opts(1000, 0, 100 * MS, 10 * S);
    ldr_load_t l;
    ldr_load_init(&l, &o);
    fake_conn_t c[1] = {{0}};
    drive(&l, c, 1, 3 * MS, 60 * S);
    const ldr_ep_stats_t *st = &l.stats.ep[0];
    cr_assert_eq(st->ok, 100);
    cr_assert_eq(st->latency.min, 3 * MS);
    cr_assert_eq(st->latency.max, 201 * MS);
    double p50 = (double)ldr_hist_quantile(&st->latency, 0.5); /* rank 50: k = 49, 101 ms */
    cr_assert(p50 > 101 * MS * (1 - 1.0 / 256) && p50 < 101 * MS * (1 + 1.0 / 256), "p50 %.0f",
              p50);
    cr_assert_float_eq(ldr_hist_mean(&st->latency), 102.0 * MS, 1.0);
    ldr_load_free(&l);
}

Test(load, waiting_past_the_timeout_counts_as_timeouts)
{
    /* no connection at all: every request waits, and each is counted once its timeout passes */
    ldr_load_opts_t o = opts(1000, 0, 1 * S, 100 * MS);
    ldr_load_t l;
    ldr_load_init(&l, &o);
    ldr_load_due(&l, 5 * S + 500 * MS);
    cr_assert_eq(ldr_load_waiting(&l), 501);
    cr_assert_eq(ldr_load_expire(&l, 5 * S + 500 * MS), 401, "due at 0..400 ms are 100 ms old");
    cr_assert_eq(ldr_load_waiting(&l), 100, "the FIFO holds at most rate x timeout");
    ldr_load_due(&l, 7 * S);
    ldr_load_expire(&l, 7 * S);
    cr_assert_eq(ldr_load_waiting(&l), 0);
    cr_assert_eq(l.stats.ep[0].timeouts, 1000);
    cr_assert_eq(l.stats.ep[0].ok + l.stats.ep[0].errors, 0);
    cr_assert_eq(l.stats.ep[0].latency.total, 0, "a timeout is no latency sample");
    ldr_load_free(&l);
}

Test(load, outcomes_and_windows_merge)
{
    ldr_load_opts_t o = opts(10, 10, 3 * S, 10 * S);
    ldr_load_t a, b;
    ldr_load_init(&a, &o);
    ldr_load_init(&b, &o);
    ldr_load_due(&a, 100 * S);
    ldr_load_due(&b, 100 * S);
    ldr_load_req_t r;
    int i = 0;
    while (ldr_load_take(&a, &r))
        ldr_load_done(&a, &r, r.intended + 2 * MS, i++ % 2 ? LDR_OUTCOME_OK : LDR_OUTCOME_ERROR,
                      503, "HTTP 503");
    while (ldr_load_take(&b, &r))
        ldr_load_done(&b, &r, r.intended + 4 * MS, LDR_OUTCOME_OK, 200, NULL);
    ldr_stats_t m;
    ldr_stats_init(&m, 2, 3 * S);
    cr_assert(ldr_stats_merge(&m, &a.stats));
    cr_assert(ldr_stats_merge(&m, &b.stats));
    cr_assert_eq(m.ep[0].scheduled + m.ep[1].scheduled, 120);
    cr_assert_eq(m.ep[0].ok + m.ep[1].ok, 90);
    cr_assert_eq(m.ep[0].errors + m.ep[1].errors, 30);
    cr_assert_eq(m.ep[0].status_5xx + m.ep[1].status_5xx, 30);
    cr_assert_str_eq(m.ep[0].first_error, "HTTP 503");
    cr_assert_eq(m.nwindows, 3);
    for (uint32_t w = 0; w < 3; w++)
        cr_assert_eq(m.ep[0].windows[w].total, 20, "window %u", w);
    ldr_stats_free(&m);
    ldr_load_free(&a);
    ldr_load_free(&b);
}
