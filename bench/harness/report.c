/*
 * The verdict and the report files of a run: results.json for machines, report.md for people,
 * and two SVG charts drawn by hand (log-scale latency axes): each endpoint's percentiles against
 * its SLA bound, and each endpoint's p99 per time window.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static const char *const ldr__colors[LDR_EP_COUNT] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

static double ldr__ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

void ldr_judge(const ldr_run_opts_t *o, const ldr_stats_t *s, ldr_verdict_t *v)
{
    if (v->sla_quantile <= 0)
        v->sla_quantile = 0.99;
    if (v->success_min <= 0)
        v->success_min = 0.999;
    v->pass = true;
    bool any = false;
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        const ldr_ep_stats_t *st = &s->ep[e];
        uint64_t tries = st->ok + st->errors + st->timeouts;
        v->ep_pass[e] = true;
        if (st->scheduled == 0)
            continue;
        any = true;
        double q = ldr__ms(ldr_hist_quantile(&st->latency, v->sla_quantile));
        double success = tries ? (double)st->ok / (double)tries : 0;
        v->ep_pass[e] = tries > 0 && success >= v->success_min && q <= ldr_ep_info[e].sla_ms;
        v->pass = v->pass && v->ep_pass[e];
    }
    v->pass = v->pass && any;
    (void)o;
}

static FILE *ldr__open(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "larder-bench: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static int ldr__close(FILE *f, const char *dir, const char *name)
{
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "larder-bench: cannot write %s/%s\n", dir, name);
        return LDR_EIO;
    }
    return LDR_OK;
}

static const double ldr__qs[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
static const char *const ldr__qnames[5] = {"p50", "p90", "p99", "p99.9", "max"};

/* ------------------------------------------------------------------------------------------ */
/* SVG                                                                                         */

typedef struct ldr__axis {
    double lo, hi; /* decades, log10 */
    double top, height;
} ldr__axis_t;

static void ldr__axis_fit(ldr__axis_t *a, double vmin, double vmax)
{
    if (!(vmin > 0))
        vmin = 0.01;
    if (vmin < 0.001)
        vmin = 0.001;
    if (!(vmax > vmin))
        vmax = vmin * 10;
    a->lo = floor(log10(vmin));
    a->hi = ceil(log10(vmax));
    if (a->hi <= a->lo)
        a->hi = a->lo + 1;
}

static double ldr__y(const ldr__axis_t *a, double v)
{
    double l = v > 0 ? log10(v) : a->lo;
    if (l < a->lo)
        l = a->lo;
    if (l > a->hi)
        l = a->hi;
    return a->top + (a->hi - l) / (a->hi - a->lo) * a->height;
}

static void ldr__axis_draw(FILE *f, const ldr__axis_t *a, double x0, double x1)
{
    for (double d = a->lo; d <= a->hi + 1e-9; d++) {
        double y = ldr__y(a, pow(10, d));
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>%g ms</text>\n",
                x0, y, x1, y, x0 - 4, y + 4, pow(10, d));
    }
}

static void ldr__svg_percentiles(FILE *f, const ldr_stats_t *s)
{
    int eps[LDR_EP_COUNT], n = 0;
    double vmin = 1e18, vmax = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        if (s->ep[e].latency.total == 0)
            continue;
        eps[n++] = e;
        double lo = ldr__ms(ldr_hist_quantile(&s->ep[e].latency, 0.5));
        double hi = ldr__ms(s->ep[e].latency.max);
        vmin = lo < vmin ? lo : vmin;
        vmax = hi > vmax ? hi : vmax;
        vmax = ldr_ep_info[e].sla_ms > vmax ? ldr_ep_info[e].sla_ms : vmax;
    }
    double W = 960, H = 440, left = 70, right = 20, top = 40, bottom = 70;
    ldr__axis_t a = {.top = top, .height = H - top - bottom};
    ldr__axis_fit(&a, vmin, vmax);
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
            "<text x='%.0f' y='22' font-size='15'>Latency percentiles per endpoint (from intended "
            "send time; red: SLA bound)</text>\n",
            W, H, left);
    ldr__axis_draw(f, &a, left, W - right);
    static const char *const shades[5] = {"#c6dbef", "#6baed6", "#2171b5", "#08519c", "#08306b"};
    double gw = n > 0 ? (W - left - right) / n : 0, bw = gw / 7;
    for (int i = 0; i < n; i++) {
        int e = eps[i];
        double gx = left + i * gw + bw;
        for (int q = 0; q < 5; q++) {
            double v = ldr__ms(ldr_hist_quantile(&s->ep[e].latency, ldr__qs[q]));
            double y = ldr__y(&a, v), base = a.top + a.height;
            fprintf(f,
                    "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'>"
                    "<title>%s %s %.3f ms</title></rect>\n",
                    gx + q * bw, y, bw - 1, base - y, shades[q], ldr_ep_info[e].name,
                    ldr__qnames[q], v);
        }
        double sy = ldr__y(&a, ldr_ep_info[e].sla_ms);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='red' stroke-width='2' "
                "stroke-dasharray='5,3'/>\n<text x='%.1f' y='%.1f' text-anchor='middle' "
                "font-size='12'>%s</text>\n",
                gx - bw / 2, sy, gx + 5.5 * bw, sy, gx + 2.5 * bw, H - bottom + 18,
                ldr_ep_info[e].name);
    }
    for (int q = 0; q < 5; q++)
        fprintf(f,
                "<rect x='%.0f' y='%.0f' width='12' height='12' fill='%s'/><text x='%.0f' "
                "y='%.0f' font-size='12'>%s</text>\n",
                left + q * 90, H - 28, shades[q], left + q * 90 + 16, H - 18, ldr__qnames[q]);
    fputs("</svg>\n", f);
}

static void ldr__svg_timeline(FILE *f, const ldr_stats_t *s, double duration)
{
    double W = 960, H = 440, left = 70, right = 150, top = 40, bottom = 50;
    double vmin = 1e18, vmax = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++)
        for (uint32_t w = 0; w < s->nwindows; w++) {
            const ldr_hist_t *h = &s->ep[e].windows[w];
            if (h->total == 0)
                continue;
            double v = ldr__ms(ldr_hist_quantile(h, 0.99));
            vmin = v < vmin ? v : vmin;
            vmax = v > vmax ? v : vmax;
        }
    ldr__axis_t a = {.top = top, .height = H - top - bottom};
    ldr__axis_fit(&a, vmin, vmax);
    double pw = W - left - right, span = (double)s->nwindows * (double)s->window_ns / 1e9;
    if (span < duration)
        span = duration;
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
            "<text x='%.0f' y='22' font-size='15'>p99 latency per %.0f s window (by intended send "
            "time)</text>\n",
            W, H, left, (double)s->window_ns / 1e9);
    ldr__axis_draw(f, &a, left, left + pw);
    for (int k = 0; k <= 10; k++) {
        double x = left + pw * k / 10;
        fprintf(f, "<text x='%.1f' y='%.0f' text-anchor='middle' font-size='11'>%.0f s</text>\n", x,
                H - bottom + 16, span * k / 10);
    }
    int li = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        if (s->ep[e].latency.total == 0)
            continue;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", ldr__colors[e]);
        for (uint32_t w = 0; w < s->nwindows; w++) {
            const ldr_hist_t *h = &s->ep[e].windows[w];
            if (h->total == 0)
                continue;
            double t = ((double)w + 0.5) * (double)s->window_ns / 1e9;
            fprintf(f, "%.1f,%.1f ", left + pw * t / span,
                    ldr__y(&a, ldr__ms(ldr_hist_quantile(h, 0.99))));
        }
        fputs("'/>\n", f);
        fprintf(f,
                "<rect x='%.0f' y='%.0f' width='12' height='12' fill='%s'/><text x='%.0f' "
                "y='%.0f' font-size='12'>%s</text>\n",
                W - right + 15, top + li * 20, ldr__colors[e], W - right + 32, top + li * 20 + 10,
                ldr_ep_info[e].name);
        li++;
    }
    fputs("</svg>\n", f);
}

/* ------------------------------------------------------------------------------------------ */

int ldr_report_write(const char *dir, const ldr_run_opts_t *o, const ldr_workload_t *w,
                     const ldr_stats_t *s, const ldr_verdict_t *v, const char *command)
{
    double rates[LDR_EP_COUNT];
    ldr_run_rates(o, rates);
    char started[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
    char url[64];
    unsigned char *ip = (unsigned char *)&o->addr;
    snprintf(url, sizeof(url), "http://%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], o->port);

    /* results.json */
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"tool\":\"larder-bench\",\"mode\":\"sla\",\"url\":");
    ldr_buf_json_str(&b, url, strlen(url));
    ldr_buf_printf(&b,
                   ",\"finished_at\":\"%s\",\"rate\":%.3f,\"duration_s\":%.3f,\"timeout_s\":%.3f,"
                   "\"threads\":%u,\"connections\":%u,\"protocol\":\"%s\",\"sla_percentile\":%.4f,"
                   "\"success_min\":%.5f,\"pass\":%s,\"command\":",
                   started, o->rate, o->duration, o->timeout, o->threads, o->connections,
                   o->http2 ? "h2c" : "http/1.1", v->sla_quantile * 100, v->success_min,
                   v->pass ? "true" : "false");
    ldr_buf_json_str(&b, command, strlen(command));
    ldr_buf_puts(&b, ",\"endpoints\":{");
    bool first = true;
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        const ldr_ep_stats_t *st = &s->ep[e];
        if (st->scheduled == 0 && rates[e] <= 0)
            continue;
        uint64_t tries = st->ok + st->errors + st->timeouts;
        ldr_buf_printf(&b, "%s\"%s\":{\"route\":", first ? "" : ",", ldr_ep_info[e].name);
        first = false;
        ldr_buf_json_str(&b, ldr_ep_info[e].route, strlen(ldr_ep_info[e].route));
        ldr_buf_printf(&b,
                       ",\"offered_rate\":%.3f,\"scheduled\":%llu,\"achieved_rate\":%.3f,"
                       "\"requests\":%llu,\"ok\":%llu,\"errors\":%llu,\"timeouts\":%llu,"
                       "\"status_4xx\":%llu,\"status_5xx\":%llu,\"connection_errors\":%llu,"
                       "\"success_ratio\":%.6f,\"sla_ms\":%.0f,\"pass\":%s,\"latency_ms\":{",
                       rates[e], (unsigned long long)st->scheduled,
                       (double)(st->ok + st->errors) / o->duration, (unsigned long long)tries,
                       (unsigned long long)st->ok, (unsigned long long)st->errors,
                       (unsigned long long)st->timeouts, (unsigned long long)st->status_4xx,
                       (unsigned long long)st->status_5xx, (unsigned long long)st->conn_errors,
                       tries ? (double)st->ok / (double)tries : 0, ldr_ep_info[e].sla_ms,
                       v->ep_pass[e] ? "true" : "false");
        for (int q = 0; q < 5; q++)
            ldr_buf_printf(&b, "\"%s\":%.3f,", ldr__qnames[q],
                           ldr__ms(ldr_hist_quantile(&st->latency, ldr__qs[q])));
        ldr_buf_printf(&b, "\"mean\":%.3f}", ldr_hist_mean(&st->latency) / 1e6);
        if (st->first_error[0] != '\0') {
            ldr_buf_puts(&b, ",\"first_error\":");
            ldr_buf_json_str(&b, st->first_error, strlen(st->first_error));
        }
        ldr_buf_printf(&b, ",\"timeline\":[");
        for (uint32_t wi = 0; wi < s->nwindows; wi++) {
            const ldr_hist_t *h = &st->windows[wi];
            ldr_buf_printf(&b,
                           "%s{\"t\":%.0f,\"answered\":%llu,\"p50\":%.3f,\"p99\":%.3f,"
                           "\"max\":%.3f}",
                           wi ? "," : "", (double)wi * (double)s->window_ns / 1e9,
                           (unsigned long long)h->total, ldr__ms(ldr_hist_quantile(h, 0.5)),
                           ldr__ms(ldr_hist_quantile(h, 0.99)), ldr__ms(h->max));
        }
        ldr_buf_puts(&b, "]}");
    }
    ldr_buf_printf(&b,
                   "},\"window_s\":%.0f,\"workload\":{\"skus\":%zu,\"search_queries\":%zu,"
                   "\"suggest_queries\":%zu}}\n",
                   (double)s->window_ns / 1e9, w->nskus, w->nsearch, w->nsuggest);
    FILE *f = ldr__open(dir, "results.json");
    if (f == NULL) {
        ldr_buf_free(&b);
        return LDR_EIO;
    }
    fwrite(b.base, 1, b.len, f);
    ldr_buf_free(&b);
    if (ldr__close(f, dir, "results.json") != LDR_OK)
        return LDR_EIO;

    /* report.md */
    if ((f = ldr__open(dir, "report.md")) == NULL)
        return LDR_EIO;
    fprintf(f, "# larder-bench SLA report\n\n");
    fprintf(f,
            "**Result: %s** — every endpoint's p%g within its SLA bound and at least %.1f %% of "
            "its requests answered 2xx in time.\n\n",
            v->pass ? "PASS" : "FAIL", v->sla_quantile * 100, v->success_min * 100);
    fprintf(f, "- Command: `%s`\n", command);
    fprintf(f, "- Target: %s; finished %s\n", url, started);
    fprintf(f,
            "- Offered: %.0f requests/s for %.0f s, open loop, over %u %s connections on %u "
            "thread(s); timeout %.1f s\n",
            o->rate, o->duration, o->connections, o->http2 ? "HTTP/2 (h2c)" : "HTTP/1.1 keep-alive",
            o->threads, o->timeout);
    fprintf(f, "- Latency counts from each request's intended send time (coordinated omission "
               "corrected); histograms good to 1 %%.\n");
    fprintf(f,
            "- Workload: %zu SKUs, %zu search and %zu suggest queries drawn from the catalog "
            "(docs/WORKLOAD.md)\n\n",
            w->nskus, w->nsearch, w->nsuggest);
    fprintf(f, "| endpoint | route | offered/s | achieved/s | requests | errors | timeouts | "
               "success | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | SLA | result |\n");
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        const ldr_ep_stats_t *st = &s->ep[e];
        if (st->scheduled == 0 && rates[e] <= 0)
            continue;
        uint64_t tries = st->ok + st->errors + st->timeouts;
        fprintf(f, "| %s | `%s` | %.1f | %.1f | %llu | %llu | %llu | %.3f %% ", ldr_ep_info[e].name,
                ldr_ep_info[e].route, rates[e], (double)(st->ok + st->errors) / o->duration,
                (unsigned long long)tries, (unsigned long long)st->errors,
                (unsigned long long)st->timeouts,
                tries ? 100.0 * (double)st->ok / (double)tries : 0.0);
        for (int q = 0; q < 5; q++)
            fprintf(f, "| %.2f ", ldr__ms(ldr_hist_quantile(&st->latency, ldr__qs[q])));
        fprintf(f, "| %s ≤ %.0f ms | %s |\n", ldr_ep_info[e].sla, ldr_ep_info[e].sla_ms,
                st->scheduled == 0 ? "—"
                : v->ep_pass[e]    ? "pass"
                                   : "**FAIL**");
    }
    fprintf(f, "\n## The seed's SLAs\n\n");
    static const char *const slas[4] = {"search", "checkout", "inventory update", "delivery slots"};
    static const double bounds[4] = {500, 1000, 100, 500};
    for (int k = 0; k < 4; k++) {
        bool seen = false, ok = true;
        char names[128] = "";
        for (int e = 0; e < LDR_EP_COUNT; e++)
            if (strcmp(ldr_ep_info[e].sla, slas[k]) == 0 && s->ep[e].scheduled > 0) {
                seen = true;
                ok = ok && v->ep_pass[e];
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                         names[0] ? ", " : "", ldr_ep_info[e].name);
            }
        fprintf(f, "- %s ≤ %.0f ms (p%g): %s%s%s%s\n", slas[k], bounds[k], v->sla_quantile * 100,
                seen ? (ok ? "pass" : "**FAIL**") : "not measured", seen ? " (" : "", names,
                seen ? ")" : "");
    }
    uint64_t ok_all = 0, tries_all = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        ok_all += s->ep[e].ok;
        tries_all += s->ep[e].ok + s->ep[e].errors + s->ep[e].timeouts;
    }
    fprintf(f, "- success ≥ %.1f %%: %.4f %% of %llu requests answered 2xx in time\n",
            v->success_min * 100, tries_all ? 100.0 * (double)ok_all / (double)tries_all : 0.0,
            (unsigned long long)tries_all);
    bool errs = false;
    for (int e = 0; e < LDR_EP_COUNT; e++)
        if (s->ep[e].first_error[0] != '\0') {
            if (!errs)
                fprintf(f, "\n## First error per endpoint\n\n");
            errs = true;
            fprintf(f, "- %s: `%s`\n", ldr_ep_info[e].name, s->ep[e].first_error);
        }
    fprintf(f, "\n## Charts\n\n![latency percentiles per endpoint](latency.svg)\n\n"
               "![p99 latency over time](timeline.svg)\n\n");
    fprintf(f, "## Search queries\n\n");
    for (int k = 0; k < 6; k++)
        fprintf(f, "- %s: %u\n", ldr_query_kind_names[k], w->query_kinds[k]);
    fprintf(f,
            "\n(`%s/results.json` has every figure, and each endpoint's p50/p99/max per %.0f s "
            "window.)\n",
            dir, (double)s->window_ns / 1e9);
    if (ldr__close(f, dir, "report.md") != LDR_OK)
        return LDR_EIO;

    if ((f = ldr__open(dir, "latency.svg")) == NULL)
        return LDR_EIO;
    ldr__svg_percentiles(f, s);
    if (ldr__close(f, dir, "latency.svg") != LDR_OK)
        return LDR_EIO;
    if ((f = ldr__open(dir, "timeline.svg")) == NULL)
        return LDR_EIO;
    ldr__svg_timeline(f, s, o->duration);
    return ldr__close(f, dir, "timeline.svg");
}

int ldr_report_capacity(const char *dir, const ldr_run_opts_t *o, const ldr_capacity_step_t *steps,
                        size_t n, double best, const char *command)
{
    FILE *f = ldr__open(dir, "capacity.json");
    if (f == NULL)
        return LDR_EIO;
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_printf(&b,
                   "{\"tool\":\"larder-bench\",\"mode\":\"capacity\",\"best_rate\":%.3f,"
                   "\"step_duration_s\":%.3f,\"command\":",
                   best, o->duration);
    ldr_buf_json_str(&b, command, strlen(command));
    ldr_buf_puts(&b, ",\"steps\":[");
    for (size_t i = 0; i < n; i++) {
        ldr_buf_printf(&b,
                       "%s{\"rate\":%.3f,\"achieved\":%.3f,\"success_ratio\":%.6f,\"pass\":%s,"
                       "\"p99_ms\":{",
                       i ? "," : "", steps[i].rate, steps[i].achieved, steps[i].success,
                       steps[i].pass ? "true" : "false");
        bool first = true;
        for (int e = 0; e < LDR_EP_COUNT; e++)
            if (steps[i].p99_ms[e] >= 0) {
                ldr_buf_printf(&b, "%s\"%s\":%.3f", first ? "" : ",", ldr_ep_info[e].name,
                               steps[i].p99_ms[e]);
                first = false;
            }
        ldr_buf_puts(&b, "}}");
    }
    ldr_buf_puts(&b, "]}\n");
    fwrite(b.base, 1, b.len, f);
    ldr_buf_free(&b);
    if (ldr__close(f, dir, "capacity.json") != LDR_OK)
        return LDR_EIO;

    if ((f = ldr__open(dir, "capacity.md")) == NULL)
        return LDR_EIO;
    fprintf(f, "# larder-bench capacity\n\n");
    if (best > 0)
        fprintf(f,
                "**Highest rate meeting every SLA: %.0f requests/s** (%.1f× the modelled peak "
                "of %.0f/s).\n\n",
                best, best / LDR_PEAK_RATE, LDR_PEAK_RATE);
    else
        fprintf(f, "**No rate tried met every SLA.**\n\n");
    fprintf(f,
            "- Command: `%s`\n- Each step: %.0f s open loop, %u connections, %u thread(s); the "
            "SLA test of `larder-bench sla`.\n\n",
            command, o->duration, o->connections, o->threads);
    fprintf(f, "| offered/s | achieved/s | success |");
    for (int e = 0; e < LDR_EP_COUNT; e++)
        if (n > 0 && steps[0].p99_ms[e] >= 0)
            fprintf(f, " %s p99 ms |", ldr_ep_info[e].name);
    fprintf(f, " result |\n|---:|---:|---:|");
    for (int e = 0; e < LDR_EP_COUNT; e++)
        if (n > 0 && steps[0].p99_ms[e] >= 0)
            fprintf(f, "---:|");
    fprintf(f, "---|\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "| %.0f | %.0f | %.3f %% |", steps[i].rate, steps[i].achieved,
                steps[i].success * 100);
        for (int e = 0; e < LDR_EP_COUNT; e++)
            if (steps[0].p99_ms[e] >= 0)
                fprintf(f, " %.2f |", steps[i].p99_ms[e]);
        fprintf(f, " %s |\n", steps[i].pass ? "pass" : "**FAIL**");
    }
    fprintf(f, "\n![p99 per endpoint against the offered rate](capacity.svg)\n");
    if (ldr__close(f, dir, "capacity.md") != LDR_OK)
        return LDR_EIO;

    if ((f = ldr__open(dir, "capacity.svg")) == NULL)
        return LDR_EIO;
    double W = 960, H = 440, left = 70, right = 150, top = 40, bottom = 50;
    double vmin = 1e18, vmax = 0, rmax = 0;
    for (size_t i = 0; i < n; i++) {
        rmax = steps[i].rate > rmax ? steps[i].rate : rmax;
        for (int e = 0; e < LDR_EP_COUNT; e++)
            if (steps[i].p99_ms[e] > 0) {
                vmin = steps[i].p99_ms[e] < vmin ? steps[i].p99_ms[e] : vmin;
                vmax = steps[i].p99_ms[e] > vmax ? steps[i].p99_ms[e] : vmax;
            }
    }
    ldr__axis_t a = {.top = top, .height = H - top - bottom};
    ldr__axis_fit(&a, vmin, vmax > 1000 ? vmax : 1000);
    double pw = W - left - right;
    if (rmax <= 0)
        rmax = 1;
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
            "<text x='%.0f' y='22' font-size='15'>p99 per endpoint against the offered rate "
            "(dashed: best passing rate)</text>\n",
            W, H, left);
    ldr__axis_draw(f, &a, left, left + pw);
    for (int k = 0; k <= 5; k++)
        fprintf(f, "<text x='%.1f' y='%.0f' text-anchor='middle' font-size='11'>%.0f/s</text>\n",
                left + pw * k / 5, H - bottom + 16, rmax * k / 5);
    int li = 0;
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        if (n == 0 || steps[0].p99_ms[e] < 0)
            continue;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", ldr__colors[e]);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%.1f,%.1f ", left + pw * steps[i].rate / rmax,
                    ldr__y(&a, steps[i].p99_ms[e]));
        fputs("'/>\n", f);
        fprintf(f,
                "<rect x='%.0f' y='%.0f' width='12' height='12' fill='%s'/><text x='%.0f' "
                "y='%.0f' font-size='12'>%s</text>\n",
                W - right + 15, top + li * 20, ldr__colors[e], W - right + 32, top + li * 20 + 10,
                ldr_ep_info[e].name);
        li++;
    }
    if (best > 0)
        fprintf(f,
                "<line x1='%.1f' y1='%.0f' x2='%.1f' y2='%.0f' stroke='black' "
                "stroke-dasharray='4,4'/>\n",
                left + pw * best / rmax, top, left + pw * best / rmax, H - bottom);
    fputs("</svg>\n", f);
    return ldr__close(f, dir, "capacity.svg");
}
