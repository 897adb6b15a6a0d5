/*
 * The open-loop schedule (see load.h).  Intended times are computed from the request's number,
 * start + (phase + k) * period, never by adding periods up, so a long run does not drift.
 */
#include "load.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "larder/common.h"

void ldr_stats_init(ldr_stats_t *s, uint32_t nep, int64_t duration_ns)
{
    memset(s, 0, sizeof(*s));
    s->nep = nep;
    int64_t sec = 1000000000;
    int64_t w = (duration_ns + LDR_LOAD_WINDOWS_MAX * sec - 1) / (LDR_LOAD_WINDOWS_MAX * sec);
    s->window_ns = (w < 1 ? 1 : w) * sec;
    s->nwindows = (uint32_t)((duration_ns + s->window_ns - 1) / s->window_ns);
    if (s->nwindows < 1)
        s->nwindows = 1;
    for (uint32_t e = 0; e < nep; e++) {
        ldr_hist_init(&s->ep[e].latency, LDR_HIST_FINE_BITS);
        s->ep[e].windows = ldr_calloc(s->nwindows, sizeof(ldr_hist_t));
        for (uint32_t w2 = 0; w2 < s->nwindows; w2++)
            ldr_hist_init(&s->ep[e].windows[w2], LDR_HIST_COARSE_BITS);
    }
}

void ldr_stats_free(ldr_stats_t *s)
{
    for (uint32_t e = 0; e < s->nep; e++) {
        ldr_hist_free(&s->ep[e].latency);
        for (uint32_t w = 0; w < s->nwindows; w++)
            ldr_hist_free(&s->ep[e].windows[w]);
        ldr_free(s->ep[e].windows);
    }
    memset(s, 0, sizeof(*s));
}

bool ldr_stats_merge(ldr_stats_t *dst, const ldr_stats_t *src)
{
    if (dst->nep != src->nep || dst->nwindows != src->nwindows)
        return false;
    for (uint32_t e = 0; e < dst->nep; e++) {
        ldr_ep_stats_t *d = &dst->ep[e];
        const ldr_ep_stats_t *s = &src->ep[e];
        d->scheduled += s->scheduled;
        d->ok += s->ok;
        d->errors += s->errors;
        d->timeouts += s->timeouts;
        d->status_4xx += s->status_4xx;
        d->status_5xx += s->status_5xx;
        d->conn_errors += s->conn_errors;
        ldr_hist_merge(&d->latency, &s->latency);
        for (uint32_t w = 0; w < dst->nwindows; w++)
            ldr_hist_merge(&d->windows[w], &s->windows[w]);
        if (d->first_error[0] == '\0')
            memcpy(d->first_error, s->first_error, sizeof(d->first_error));
    }
    return true;
}

static int64_t ldr__load_at(const ldr_load_t *l, uint32_t e, uint64_t k)
{
    return l->o.start_ns + (int64_t)llround((l->o.phase + (double)k) * l->period[e]);
}

void ldr_load_init(ldr_load_t *l, const ldr_load_opts_t *o)
{
    memset(l, 0, sizeof(*l));
    l->o = *o;
    for (uint32_t e = 0; e < o->nep; e++) {
        l->period[e] = o->rate[e] > 0 ? 1e9 / o->rate[e] : 0;
        l->next[e] = INT64_MAX;
        if (o->rate[e] > 0) {
            int64_t t = ldr__load_at(l, e, 0);
            if (t < o->start_ns + o->duration_ns)
                l->next[e] = t;
        }
    }
    l->cap = 1024;
    l->fifo = ldr_malloc(l->cap * sizeof(ldr_load_req_t));
    ldr_stats_init(&l->stats, o->nep, o->duration_ns);
}

void ldr_load_free(ldr_load_t *l)
{
    ldr_free(l->fifo);
    ldr_stats_free(&l->stats);
    memset(l, 0, sizeof(*l));
}

static void ldr__load_push(ldr_load_t *l, ldr_load_req_t r)
{
    if (l->count == l->cap) {
        ldr_load_req_t *n = ldr_malloc(2 * l->cap * sizeof(ldr_load_req_t));
        for (size_t i = 0; i < l->count; i++)
            n[i] = l->fifo[(l->head + i) % l->cap];
        ldr_free(l->fifo);
        l->fifo = n;
        l->head = 0;
        l->cap *= 2;
    }
    l->fifo[(l->head + l->count) % l->cap] = r;
    l->count++;
}

int64_t ldr_load_next_due(const ldr_load_t *l)
{
    int64_t t = INT64_MAX;
    for (uint32_t e = 0; e < l->o.nep; e++)
        if (l->next[e] < t)
            t = l->next[e];
    return t;
}

size_t ldr_load_due(ldr_load_t *l, int64_t now)
{
    size_t n = 0;
    int64_t end = l->o.start_ns + l->o.duration_ns;
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (uint32_t e = 0; e < l->o.nep; e++)
            if (l->next[e] <= now && (best == UINT32_MAX || l->next[e] < l->next[best]))
                best = e;
        if (best == UINT32_MAX)
            return n;
        ldr_load_req_t r = {l->next[best], best, (uint32_t)l->k[best]};
        ldr__load_push(l, r);
        l->stats.ep[best].scheduled++;
        n++;
        l->k[best]++;
        int64_t t = ldr__load_at(l, best, l->k[best]);
        l->next[best] = t < end ? t : INT64_MAX;
    }
}

bool ldr_load_take(ldr_load_t *l, ldr_load_req_t *req)
{
    if (l->count == 0)
        return false;
    *req = l->fifo[l->head];
    l->head = (l->head + 1) % l->cap;
    l->count--;
    return true;
}

size_t ldr_load_expire(ldr_load_t *l, int64_t now)
{
    size_t n = 0;
    while (l->count > 0 && now - l->fifo[l->head].intended >= l->o.timeout_ns) {
        ldr_load_req_t r;
        ldr_load_take(l, &r);
        ldr_load_done(l, &r, now, LDR_OUTCOME_TIMEOUT, 0, "no free connection within the timeout");
        n++;
    }
    return n;
}

void ldr_load_done(ldr_load_t *l, const ldr_load_req_t *req, int64_t now, ldr_outcome_t outcome,
                   int status, const char *error)
{
    ldr_ep_stats_t *s = &l->stats.ep[req->ep];
    if (outcome == LDR_OUTCOME_TIMEOUT) {
        s->timeouts++;
    } else {
        int64_t lat = now - req->intended;
        if (lat < 0)
            lat = 0;
        ldr_hist_record(&s->latency, (uint64_t)lat);
        int64_t w = (req->intended - l->o.start_ns) / l->stats.window_ns;
        if (w < 0)
            w = 0;
        if (w >= (int64_t)l->stats.nwindows)
            w = l->stats.nwindows - 1;
        ldr_hist_record(&s->windows[w], (uint64_t)lat);
        if (outcome == LDR_OUTCOME_OK) {
            s->ok++;
        } else {
            s->errors++;
            if (status >= 500)
                s->status_5xx++;
            else if (status >= 400)
                s->status_4xx++;
            else
                s->conn_errors++;
        }
    }
    if (outcome != LDR_OUTCOME_OK && s->first_error[0] == '\0' && error != NULL)
        snprintf(s->first_error, sizeof(s->first_error), "%s", error);
}
