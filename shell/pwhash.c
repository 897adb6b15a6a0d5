/*
 * Password hashing off the event loops: Argon2id (libsodium crypto_pwhash_str, the
 * INTERACTIVE limits: 64 MiB and about 0.1 s a hash) would stall a loop thread and every request
 * on it, so hashes and verifications run on LDR_PWHASH_THREADS worker threads.  A job is a write
 * (writes.c) whose reply runs on its loop when the worker is done; the loop's in-flight count
 * covers it, so shutdown waits for it like for an engine write.
 */
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <sys/prctl.h>

#include "http_internal.h"

#define LDR_PWHASH_THREADS 2

typedef struct ldr__pw_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    ldr_write_t *head, *tail;
    bool stopping;
    pthread_t threads[LDR_PWHASH_THREADS];
    uint32_t nthreads;
} ldr__pw_pool_t;

static ldr__pw_pool_t ldr__pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                   .cond = PTHREAD_COND_INITIALIZER};

/* a hash of nothing anybody knows: an unknown account's login verifies against it, so that it
 * costs what a wrong password costs (made once, by the first worker that needs it) */
static char ldr__dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t ldr__dummy_once = PTHREAD_ONCE_INIT;

static void ldr__make_dummy(void)
{
    char pw[32];
    randombytes_buf(pw, sizeof(pw));
    if (crypto_pwhash_str(ldr__dummy_hash, pw, sizeof(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        ldr__dummy_hash[0] = '\0';
}

static void ldr__pw_run(ldr_pw_job_t *job)
{
    if (job->verify && job->hash[0] == '\0') { /* no such account */
        pthread_once(&ldr__dummy_once, ldr__make_dummy);
        if (ldr__dummy_hash[0] != '\0')
            (void)!crypto_pwhash_str_verify(ldr__dummy_hash, job->password, strlen(job->password));
        job->ok = false;
    } else if (job->verify) {
        job->ok = crypto_pwhash_str_verify(job->hash, job->password, strlen(job->password)) == 0;
    } else {
        job->ok = crypto_pwhash_str(job->hash, job->password, strlen(job->password),
                                    crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
    }
    sodium_memzero(job->password, sizeof(job->password));
}

static void *ldr__pw_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-pwhash"); /* for top -H, ps -L and perf */
    for (;;) {
        pthread_mutex_lock(&ldr__pool.lock);
        while (ldr__pool.head == NULL && !ldr__pool.stopping)
            pthread_cond_wait(&ldr__pool.cond, &ldr__pool.lock);
        ldr_write_t *w = ldr__pool.head;
        if (w != NULL) {
            ldr__pool.head = (ldr_write_t *)w->msg.link.next;
            if (ldr__pool.head == NULL)
                ldr__pool.tail = NULL;
        }
        pthread_mutex_unlock(&ldr__pool.lock);
        if (w == NULL)
            return NULL; /* stopping, and nothing left */
        w->msg.link = (h2o_linklist_t){NULL, NULL};
        ldr__pw_run(w->aux);
        h2o_multithread_send_message(&w->loop->replies, &w->msg);
    }
}

int ldr_pwhash_start(void)
{
    if (sodium_init() < 0)
        return LDR_EIO;
    for (; ldr__pool.nthreads < LDR_PWHASH_THREADS; ldr__pool.nthreads++)
        if (pthread_create(&ldr__pool.threads[ldr__pool.nthreads], NULL, ldr__pw_main, NULL) != 0)
            return ldr__pool.nthreads > 0 ? LDR_OK : LDR_ENOMEM;
    return LDR_OK;
}

void ldr_pwhash_stop(void)
{
    pthread_mutex_lock(&ldr__pool.lock);
    ldr__pool.stopping = true;
    pthread_cond_broadcast(&ldr__pool.cond);
    pthread_mutex_unlock(&ldr__pool.lock);
    for (uint32_t i = 0; i < ldr__pool.nthreads; i++)
        pthread_join(ldr__pool.threads[i], NULL);
    ldr__pool.nthreads = 0;
    ldr__pool.stopping = false;
}

void ldr_pwhash_submit(ldr_write_t *w)
{
    atomic_fetch_add_explicit(&w->loop->inflight, 1, memory_order_relaxed);
    /* the message link doubles as the queue's: the write is in exactly one of the two */
    w->msg.link.next = NULL;
    pthread_mutex_lock(&ldr__pool.lock);
    if (ldr__pool.tail != NULL)
        ldr__pool.tail->msg.link.next = (h2o_linklist_t *)w;
    else
        ldr__pool.head = w;
    ldr__pool.tail = w;
    pthread_cond_signal(&ldr__pool.cond);
    pthread_mutex_unlock(&ldr__pool.lock);
}
