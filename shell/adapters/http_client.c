/* The adapters' HTTP client (shell/adapters/http_client.h). */
#include "http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "larder/common.h"

struct ldr_http_client {
    pthread_t thread;
    pthread_mutex_t lock;
    ldr_http_call_t *incoming; /* newest first, under lock */
    bool stopping;             /* under lock */
    CURLM *multi;
    ldr_http_call_t *active;  /* in the multi handle */
    ldr_http_call_t *waiting; /* between attempts */
};

uint64_t ldr_http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static pthread_once_t ldr__curl_once = PTHREAD_ONCE_INIT;

static void ldr__curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void ldr_http_call_clear(ldr_http_call_t *c)
{
    ldr_buf_free(&c->body);
    ldr_buf_free(&c->response);
    if (c->slist != NULL)
        curl_slist_free_all(c->slist);
    c->slist = NULL;
}

/* ---- the rules: breaker, retries ---- */

/* May an attempt of c go now?  Marks the half-open probe. */
static bool ldr__breaker_allows(ldr_http_call_t *c, uint64_t now)
{
    ldr_breaker_t *b = c->breaker;
    if (b == NULL || b->open_until == 0)
        return true;
    if (now < b->open_until || b->probing) {
        atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
        return false;
    }
    b->probing = c->probe = true; /* cooled down: this call finds out */
    return true;
}

static void ldr__breaker_record(ldr_http_call_t *c, bool failed, uint64_t now)
{
    ldr_breaker_t *b = c->breaker;
    if (b == NULL)
        return;
    if (c->probe)
        b->probing = c->probe = false;
    atomic_fetch_add_explicit(&b->attempts, 1, memory_order_relaxed);
    if (!failed) {
        b->failures = 0, b->open_until = 0;
        atomic_store_explicit(&b->open, false, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&b->failed, 1, memory_order_relaxed);
    if (++b->failures >= (b->threshold ? b->threshold : 1) || b->open_until != 0) {
        b->open_until = now + b->cooldown_ms;
        b->failures = 0;
        atomic_fetch_add_explicit(&b->opened, 1, memory_order_relaxed);
        atomic_store_explicit(&b->open, true, memory_order_relaxed);
    }
}

static bool ldr__failed_attempt(const ldr_http_call_t *c)
{
    return c->outcome != LDR_HTTP_OK || c->status == 429 || c->status >= 500;
}

/* When c failed and may go again, the moment it should; 0 when it is done. */
static uint64_t ldr__retry_at(ldr_http_call_t *c, uint64_t now)
{
    uint32_t attempts = c->attempts ? c->attempts : 1;
    if (!ldr__failed_attempt(c) || !c->retry_safe || c->tries >= attempts ||
        (c->breaker != NULL && c->breaker->open_until != 0))
        return 0;
    uint64_t wait = (uint64_t)c->backoff_ms << (c->tries - 1);
    wait += wait > 4 ? (uint64_t)rand() % (wait / 4) : 0; /* jitter: retries do not march */
    return now + wait < c->start_ms + c->deadline_ms ? now + wait : 0;
}

/* ---- one attempt ---- */

static size_t ldr__on_data(char *p, size_t size, size_t n, void *ctx)
{
    ldr_http_call_t *c = ctx;
    if (c->response.len + size * n > (8u << 20))
        return 0; /* no provider answer is this big: the transfer fails */
    ldr_buf_append(&c->response, p, size * n);
    return size * n;
}

/* A configured easy handle for c's next attempt, or NULL when none may go (outcome set). */
static CURL *ldr__prepare(ldr_http_call_t *c, uint64_t now)
{
    if (!ldr__breaker_allows(c, now)) {
        c->outcome = LDR_HTTP_OPEN, c->status = 0;
        return NULL;
    }
    uint64_t end = c->start_ms + c->deadline_ms;
    if (now >= end) {
        c->outcome = LDR_HTTP_TIMEOUT, c->status = 0;
        return NULL;
    }
    if (c->slist == NULL)
        for (size_t i = 0; i < LDR_ARRAY_SIZE(c->headers); i++)
            if (c->headers[i][0] != '\0')
                c->slist = curl_slist_append(c->slist, c->headers[i]);
    CURL *e = curl_easy_init();
    if (e == NULL) {
        c->outcome = LDR_HTTP_FAILED;
        return NULL;
    }
    c->tries++;
    ldr_buf_reset(&c->response);
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    if (strcmp(c->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body.len ? c->body.base : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)c->body.len);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ldr__on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(end - now));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    return e;
}

/* Records the attempt's outcome; true when c is done (no retry). */
static bool ldr__attempted(ldr_http_call_t *c, CURL *e, CURLcode rc, uint64_t now)
{
    c->status = 0;
    if (rc == CURLE_OK) {
        c->outcome = LDR_HTTP_OK;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
    } else {
        c->outcome = rc == CURLE_OPERATION_TIMEDOUT ? LDR_HTTP_TIMEOUT : LDR_HTTP_FAILED;
    }
    curl_easy_cleanup(e);
    c->easy = NULL;
    ldr__breaker_record(c, ldr__failed_attempt(c), now);
    c->retry_at = ldr__retry_at(c, now);
    return c->retry_at == 0;
}

void ldr_http_call_run(ldr_http_call_t *c)
{
    pthread_once(&ldr__curl_once, ldr__curl_init);
    c->start_ms = ldr_http_now_ms(), c->tries = 0;
    for (;;) {
        CURL *e = ldr__prepare(c, ldr_http_now_ms());
        if (e == NULL)
            return;
        CURLcode rc = curl_easy_perform(e);
        if (ldr__attempted(c, e, rc, ldr_http_now_ms()))
            return;
        uint64_t now = ldr_http_now_ms();
        if (c->retry_at > now) {
            struct timespec ts = {(time_t)((c->retry_at - now) / 1000),
                                  (long)((c->retry_at - now) % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- the thread ---- */

static void ldr__start_attempt(ldr_http_client_t *hc, ldr_http_call_t *c, uint64_t now)
{
    CURL *e = ldr__prepare(c, now);
    if (e == NULL) {
        c->done(c);
        return;
    }
    c->easy = e;
    if (curl_multi_add_handle(hc->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        c->easy = NULL, c->outcome = LDR_HTTP_FAILED;
        c->done(c);
        return;
    }
    c->next = hc->active, hc->active = c;
}

static void *ldr__thread_main(void *arg)
{
    ldr_http_client_t *hc = arg;
    for (;;) {
        pthread_mutex_lock(&hc->lock);
        ldr_http_call_t *in = hc->incoming;
        hc->incoming = NULL;
        bool stop = hc->stopping;
        pthread_mutex_unlock(&hc->lock);
        uint64_t now = ldr_http_now_ms();
        ldr_http_call_t *fifo = NULL;
        while (in != NULL) { /* oldest first */
            ldr_http_call_t *next = in->next;
            in->next = fifo, fifo = in, in = next;
        }
        for (ldr_http_call_t *c = fifo, *next; c != NULL; c = next) {
            next = c->next;
            c->next = NULL;
            c->start_ms = now, c->tries = 0;
            if (stop) {
                c->outcome = LDR_HTTP_FAILED;
                c->done(c);
            } else {
                ldr__start_attempt(hc, c, now);
            }
        }
        if (stop)
            break;
        /* retries that are due */
        uint64_t next_retry = UINT64_MAX;
        for (ldr_http_call_t **pp = &hc->waiting; *pp != NULL;) {
            ldr_http_call_t *c = *pp;
            if (c->retry_at <= now) {
                *pp = c->next;
                c->next = NULL;
                ldr__start_attempt(hc, c, now);
            } else {
                next_retry = c->retry_at < next_retry ? c->retry_at : next_retry;
                pp = &c->next;
            }
        }
        int running;
        curl_multi_perform(hc->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(hc->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            CURLcode rc = m->data.result;
            ldr_http_call_t *c;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
            curl_multi_remove_handle(hc->multi, e);
            for (ldr_http_call_t **pp = &hc->active; *pp != NULL; pp = &(*pp)->next)
                if (*pp == c) {
                    *pp = c->next;
                    break;
                }
            c->next = NULL;
            uint64_t t = ldr_http_now_ms();
            if (ldr__attempted(c, e, rc, t)) {
                c->done(c);
            } else {
                c->next = hc->waiting, hc->waiting = c;
                next_retry = c->retry_at < next_retry ? c->retry_at : next_retry;
            }
        }
        now = ldr_http_now_ms();
        int wait = next_retry == UINT64_MAX ? 1000
                   : next_retry <= now      ? 0
                                       : (int)(next_retry - now < 1000 ? next_retry - now : 1000);
        curl_multi_poll(hc->multi, NULL, 0, wait, NULL);
    }
    /* stopping: whatever is under way fails */
    while (hc->active != NULL) {
        ldr_http_call_t *c = hc->active;
        hc->active = c->next;
        curl_multi_remove_handle(hc->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL, c->next = NULL, c->outcome = LDR_HTTP_FAILED;
        c->done(c);
    }
    for (ldr_http_call_t *c = hc->waiting, *next; c != NULL; c = next) {
        next = c->next;
        c->next = NULL, c->outcome = LDR_HTTP_FAILED;
        c->done(c);
    }
    hc->waiting = NULL;
    return NULL;
}

int ldr_http_client_start(ldr_http_client_t **out)
{
    pthread_once(&ldr__curl_once, ldr__curl_init);
    ldr_http_client_t *hc = ldr_calloc(1, sizeof(*hc));
    pthread_mutex_init(&hc->lock, NULL);
    hc->multi = curl_multi_init();
    if (hc->multi == NULL || pthread_create(&hc->thread, NULL, ldr__thread_main, hc) != 0) {
        if (hc->multi != NULL)
            curl_multi_cleanup(hc->multi);
        pthread_mutex_destroy(&hc->lock);
        ldr_free(hc);
        return LDR_EIO;
    }
    *out = hc;
    return LDR_OK;
}

void ldr_http_client_submit(ldr_http_client_t *hc, ldr_http_call_t *c)
{
    if (hc == NULL) { /* no client (it could not start): nothing can be sent */
        c->outcome = LDR_HTTP_FAILED, c->tries = 0;
        c->done(c);
        return;
    }
    pthread_mutex_lock(&hc->lock);
    bool stopped = hc->stopping;
    if (!stopped)
        c->next = hc->incoming, hc->incoming = c;
    pthread_mutex_unlock(&hc->lock);
    if (stopped) {
        c->outcome = LDR_HTTP_FAILED;
        c->done(c);
        return;
    }
    curl_multi_wakeup(hc->multi);
}

void ldr_http_client_stop(ldr_http_client_t *hc)
{
    if (hc == NULL)
        return;
    pthread_mutex_lock(&hc->lock);
    hc->stopping = true;
    pthread_mutex_unlock(&hc->lock);
    curl_multi_wakeup(hc->multi);
    pthread_join(hc->thread, NULL);
    curl_multi_cleanup(hc->multi);
    pthread_mutex_destroy(&hc->lock);
    ldr_free(hc);
}
