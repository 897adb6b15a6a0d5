/*
 * The HTTP server: N loop threads, each with its own h2o event loop and its own listening socket
 * on the same port (SO_REUSEPORT: the kernel spreads new connections over them), all answering
 * HTTP/1.1 and cleartext HTTP/2 through one shared handler.  A loop thread owns its connections
 * and whatever its requests cache (ldr_loop_t); engine replies come back to the loop that owns the
 * request (writes.c).
 *
 * Signals are blocked in every thread and read by the calling thread from a signalfd.  Shutdown:
 * every loop is told through its control receiver; it closes its listener, calls
 * h2o_context_request_shutdown() (HTTP/1 closes after the response in flight, HTTP/2 sends
 * GOAWAY) and runs until none of its connections is left or the grace period ends (a second
 * signal ends it at once) -- and in any case until the engine has answered every write it
 * handed over, so that no reply can arrive after its loop is gone.  Then the loops are joined and
 * ldr_server_run returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adapters/delivery.h"
#include "adapters/payment.h"
#include "http_internal.h"
#include "larder/http.h"

typedef struct ldr__server ldr__server_t;

#ifndef SCHED_BATCH
#define SCHED_BATCH 3 /* <linux/sched.h>; glibc declares it only for _GNU_SOURCE */
#endif

/* What an abandoned loop (see ldr__thread_main) still references, kept reachable until exit
 * (`used`: stores to them must not be optimised away, LeakSanitizer looks here). */
__attribute__((used)) static h2o_globalconf_t ldr__kept_config;
__attribute__((used)) static void *volatile ldr__kept_threads;

typedef struct ldr__thread {
    ldr_loop_t loop; /* first: ldr_loop() finds it from the context */
    ldr__server_t *srv;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    int fd;
    h2o_multithread_receiver_t control; /* stop requests from the signal thread */
    h2o_multithread_message_t stop_msg[2];
    int stops; /* stop requests received */
    pthread_t thread;
    bool started;
    bool served;    /* done serving; its stop receiver is gone (under srv->lock) */
    bool abandoned; /* left undisposed (connections outlived the grace period) */
    /* LARDER_ENGINE=loop, loop 0 only: the engine's wake-up eventfd (a dup) in this loop */
    bool engine_turned; /* it owns the engine (ldr_engine_turn) */
    h2o_socket_t *engine_wake;
    int engine_wake_fd;
} ldr__thread_t;

struct ldr__server {
    h2o_globalconf_t config;
    const ldr_server_opts_t *opts;
    ldr_app_t *app;
    ldr__thread_t *threads;
    uint32_t nthreads;
    pthread_mutex_t lock; /* the loops' start-up and shutdown, below */
    pthread_cond_t cond;
    uint32_t ready;   /* loops ready for stop requests */
    uint32_t serving; /* loops not done serving */
    int done_fd;      /* eventfd: the last loop done serving wakes the signal thread (or -1) */
    bool dispose;     /* the engine and the password workers are stopped: loops may go */
};

int ldr_listen_parse(const char *addr, char *host, size_t hostsize, uint16_t *port)
{
    const char *colon, *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':')
            return LDR_EINVAL;
        h = addr + 1, hlen = (size_t)(close - h), colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return LDR_EINVAL;
        hlen = (size_t)(colon - addr);
    }
    if (hlen == 0 || hlen >= hostsize || colon[1] == '\0')
        return LDR_EINVAL;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || errno != 0 || p > 65535 || colon[1] == '-' || colon[1] == '+')
        return LDR_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return LDR_OK;
}

static int ldr__open_listener(const char *addr, char *bound, size_t boundsize)
{
    char host[256], portstr[8];
    uint16_t port;
    if (ldr_listen_parse(addr, host, sizeof(host), &port) != LDR_OK) {
        fprintf(stderr, "larder: bad listen address \"%s\" (want HOST:PORT or [V6]:PORT)\n", addr);
        return -1;
    }
    snprintf(portstr, sizeof(portstr), "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "larder: cannot resolve %s: %s\n", host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "larder: cannot listen on %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char numhost[INET6_ADDRSTRLEN], numport[8];
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    getnameinfo((struct sockaddr *)&ss, sl, numhost, sizeof(numhost), numport, sizeof(numport),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(bound, boundsize, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", numhost, numport);
    return fd;
}

static void ldr__on_accept(h2o_socket_t *listener, const char *err)
{
    ldr__thread_t *t = listener->data;
    h2o_socket_t *sock;
    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&t->accept_ctx, sock);
}

/* A stop request from the signal thread: the first starts the shutdown, a second hurries it. */
static void ldr__on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    ldr__thread_t *t = H2O_STRUCT_FROM_MEMBER(ldr__thread_t, control, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_linklist_unlink(messages->next);
        if (t->stops++ > 0)
            continue;
        if (t->listener != NULL) {
            h2o_socket_read_stop(t->listener);
            h2o_socket_close(t->listener);
            t->listener = NULL;
        }
        h2o_context_request_shutdown(&t->loop.ctx);
    }
}

static int ldr__on_req(h2o_handler_t *self, h2o_req_t *req)
{
    return ldr_route((ldr_handler_t *)self, req);
}

static uint64_t ldr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Everything of a loop is made on its own thread: h2o keeps per-thread state (socket buffers
 * come from a thread-local prototype that each socket remembers), so a socket or context created
 * on one thread and run on another would share that state across threads.
 */
static void ldr__thread_init(ldr__thread_t *t)
{
    ldr__server_t *srv = t->srv;
    h2o_context_init(&t->loop.ctx, h2o_evloop_create(), &srv->config);
    t->loop.cache = ldr_search_cache_new(srv->opts->search_cache, LDR_SEARCH_CACHE_BYTES);
    h2o_timeout_init(t->loop.ctx.loop, &t->loop.payment_timeout, ldr_payment_timeout_ms());
    h2o_multithread_register_receiver(t->loop.ctx.queue, &t->loop.replies, ldr_write_on_replies);
    h2o_multithread_register_receiver(t->loop.ctx.queue, &t->control, ldr__on_control);
    t->accept_ctx.ctx = &t->loop.ctx;
    t->accept_ctx.hosts = srv->config.hosts;
    t->listener = h2o_evloop_socket_create(t->loop.ctx.loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    t->listener->data = t;
    h2o_socket_read_start(t->listener, ldr__on_accept);
    pthread_mutex_lock(&srv->lock);
    srv->ready++;
    pthread_cond_signal(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
}

static void ldr__on_engine_wake(h2o_socket_t *sock, const char *err)
{
    ldr__thread_t *t = sock->data;
    uint64_t v;
    (void)!read(t->engine_wake_fd, &v, sizeof(v)); /* the turn after this one takes the work */
}

/*
 * LARDER_ENGINE=loop: loop 0 owns the engine (engine.h, ldr_engine_start_owned) and turns it
 * after each turn of its own, once the loader has started it; requests from the other loops and
 * threads wake it through the engine's eventfd.  Returns the next epoll timeout it wants (ms, -1:
 * none).
 */
static int ldr__turn_engine(ldr__thread_t *t)
{
    ldr_app_t *app = t->srv->app;
    if (!t->engine_turned) {
        if (!atomic_load_explicit(&app->engine_started, memory_order_acquire))
            return 10; /* still loading (which may submit already): look again soon */
        t->engine_turned = true;
        t->engine_wake_fd = fcntl(ldr_engine_wake_fd(app->engine), F_DUPFD_CLOEXEC, 0);
        if (t->engine_wake_fd >= 0) {
            t->engine_wake = h2o_evloop_socket_create(t->loop.ctx.loop, t->engine_wake_fd,
                                                      H2O_SOCKET_FLAG_DONT_READ);
            t->engine_wake->data = t;
            h2o_socket_read_start(t->engine_wake, ldr__on_engine_wake);
        } else {
            fprintf(stderr,
                    "larder: loop 0 cannot watch the engine's eventfd (%s): it looks every "
                    "10 ms instead\n",
                    strerror(errno));
        }
    }
    int ms = ldr_engine_turn(app->engine);
    if (t->engine_wake == NULL && (ms < 0 || ms > 10))
        ms = 10;
    return ms;
}

static void *ldr__thread_main(void *arg)
{
    ldr__thread_t *t = arg;
    ldr__server_t *srv = t->srv;
    ldr_loop_t *l = &t->loop;
    uint64_t deadline = 0;
    bool idle = false;
    char name[16];
    snprintf(name, sizeof(name), "larder-loop%u", l->index);
    prctl(PR_SET_NAME, name); /* for top -H, ps -L and perf */
    /* see LARDER_LOOP_SCHED in serve --help: under SCHED_BATCH a woken loop does not preempt, so
     * it wakes less often and finds more to do each time (measured in docs/PERFORMANCE.md); set
     * either way, so that "normal" holds under a parent's policy too */
    int policy = srv->opts->loops_preempt ? SCHED_OTHER : SCHED_BATCH;
    struct sched_param none = {0};
    int err = pthread_setschedparam(pthread_self(), policy, &none);
    if (err != 0)
        fprintf(stderr, "larder: loop thread %u keeps its scheduling policy: %s\n", l->index,
                strerror(err));
    ldr__thread_init(t);
    bool owns_engine = l->index == 0 && srv->app->source.engine_on_loop;
    int engine_ms = owns_engine ? 10 : -1;
    for (;;) {
        int32_t timeout = t->stops ? 50 : INT32_MAX;
        if (engine_ms >= 0 && engine_ms < timeout)
            timeout = engine_ms;
        int rc = h2o_evloop_run(l->ctx.loop, timeout);
        if (owns_engine)
            engine_ms = ldr__turn_engine(t);
        ldr_log_flush(l); /* one write per turn of the loop, however many requests it answered */
        if (rc != 0 && errno != EINTR)
            break;
        if (t->stops == 0)
            continue;
        if (deadline == 0)
            deadline = ldr__now_ms() + srv->opts->shutdown_grace_ms;
        idle = h2o_linklist_is_empty(&l->ctx.http1._conns) &&
               h2o_linklist_is_empty(&l->ctx.http2._conns);
        if ((idle || t->stops > 1 || ldr__now_ms() >= deadline) &&
            atomic_load_explicit(&l->inflight, memory_order_relaxed) == 0)
            break;
    }
    /*
     * Done serving.  The stop receiver goes first (under the lock the signal thread sends under),
     * then the loop waits until the engine and the password workers are stopped: one of them may
     * still be inside h2o_multithread_send_message for a message this loop has already taken,
     * about to write to the queue's pipe, so the queue outlives them.
     */
    pthread_mutex_lock(&srv->lock);
    h2o_multithread_unregister_receiver(l->ctx.queue, &t->control);
    t->served = true;
    if (--srv->serving == 0 && srv->done_fd >= 0) {
        uint64_t one = 1;
        (void)!write(srv->done_fd, &one, sizeof(one));
    }
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    /* an engine this loop never turned (stopped while the app loaded) is the main thread's to run:
     * ldr_app_wait_loaded, then ldr_engine_stop */
    if (t->engine_turned) {
        /* the engine's last requests (the other loops', the relay's, ...) until it is stopped */
        if (t->engine_wake != NULL)
            h2o_socket_close(t->engine_wake);
        t->engine_wake = NULL;
        ldr_engine_run(srv->app->engine);
    }
    pthread_mutex_lock(&srv->lock);
    while (!srv->dispose)
        pthread_cond_wait(&srv->cond, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
    h2o_multithread_unregister_receiver(l->ctx.queue, &l->replies);
    ldr_searcher_free(l->searcher);
    ldr_view_release(l->view);
    ldr_search_cache_free(l->cache);
    ldr_token_cache_free(l->tokens);
    ldr_log_flush(l);
    ldr_buf_free(&l->log);
    if (t->listener != NULL)
        h2o_socket_close(t->listener);
    if (!idle) {
        /* connections outlived the grace period (h2o 2.2.5 leaves idle HTTP/1 keep-alives
         * open on request_shutdown): disposing the context would trip h2o's assertions, and
         * the process is about to exit, which closes them */
        fprintf(stderr, "larder: loop %u: connections still open after the grace period\n",
                l->index);
        t->abandoned = true;
        return NULL;
    }
    /* let the loop run the closes it has queued before tearing the context down */
    h2o_evloop_run(l->ctx.loop, 0);
    /* request_shutdown armed HTTP/2's graceful-shutdown timer; disposal asserts it is idle */
    if (h2o_timeout_is_linked(&l->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&l->ctx.http2._graceful_shutdown_timeout);
    h2o_evloop_t *loop = l->ctx.loop;
    h2o_multithread_queue_t *queue = l->ctx.queue;
    h2o_timeout_dispose(loop, &l->payment_timeout); /* empty: its checkouts counted in flight */
    h2o_context_dispose(&l->ctx);
    /* h2o 2.2.5's evloop h2o_multithread_destroy_queue() closes the queue's pipe but never frees
     * the queue itself (later versions do); the pinned Debian library needs us to. */
    free(queue);
    h2o_evloop_run(loop, 0); /* run the close callbacks queued by the disposals */
    h2o_evloop_destroy(loop);
    return NULL;
}

/* Asks every loop still serving to stop (nth: 0 the first signal, 1 the second). */
static void ldr__stop_all(ldr__server_t *srv, int nth)
{
    pthread_mutex_lock(&srv->lock);
    for (uint32_t i = 0; i < srv->nthreads; i++)
        if (srv->threads[i].started && !srv->threads[i].served)
            h2o_multithread_send_message(&srv->threads[i].control, &srv->threads[i].stop_msg[nth]);
    pthread_mutex_unlock(&srv->lock);
}

/*
 * A body over the limit is refused by h2o itself, before any handler runs: HTTP/1.1 gets a 413
 * that h2o_send_error_generic binds to the host's fallback path (the request has no path yet).
 * This filter on that path turns its plain-text body into the API's error shape.  (HTTP/2 resets
 * such a stream instead: there is no response to rewrite.)
 */
typedef struct ldr__json_413 {
    h2o_filter_t super;
    char body[160];
    size_t len;
} ldr__json_413_t;

typedef struct ldr__json_413_stream {
    h2o_ostream_t super;
    const ldr__json_413_t *filter;
    bool sent;
} ldr__json_413_stream_t;

static void ldr__json_413_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs,
                               size_t bufcnt, h2o_send_state_t state)
{
    ldr__json_413_stream_t *os = (ldr__json_413_stream_t *)self;
    if (os->sent) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    os->sent = true; /* h2o's own text goes; ours takes its place */
    h2o_iovec_t body = h2o_iovec_init(os->filter->body, os->filter->len);
    h2o_ostream_send_next(self, req, &body, 1, state);
}

static void ldr__json_413_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (req->res.status == 413) {
        ldr__json_413_t *f = (ldr__json_413_t *)self;
        ldr__json_413_stream_t *os =
            (ldr__json_413_stream_t *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = ldr__json_413_send;
        os->filter = f;
        os->sent = false;
        ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
        if (ct >= 0)
            req->res.headers.entries[ct].value =
                h2o_iovec_init(H2O_STRLIT("application/json; charset=utf-8"));
        req->res.content_length = f->len;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

static void ldr__json_413_register(h2o_pathconf_t *path, size_t max_body)
{
    ldr__json_413_t *f = (ldr__json_413_t *)h2o_create_filter(path, sizeof(*f));
    f->super.on_setup_ostream = ldr__json_413_setup;
    int n = snprintf(f->body, sizeof(f->body),
                     "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"the request body "
                     "is larger than %zu bytes\",\"details\":{\"max_bytes\":%zu}}}\n",
                     max_body, max_body);
    f->len = (size_t)n;
}

int ldr_server_run(const ldr_server_opts_t *opts, ldr_app_t *app)
{
    ldr__server_t srv;
    char bound[300];
    memset(&srv, 0, sizeof(srv));
    srv.opts = opts;
    srv.nthreads = opts->threads > 0 ? opts->threads : 1;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* callers block them before starting threads too */
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "larder: signalfd: %s\n", strerror(errno));
        return LDR_EIO;
    }
    signal(SIGPIPE, SIG_IGN);
    if (ldr_pwhash_start() != LDR_OK) {
        fprintf(stderr, "larder: cannot start the password workers (libsodium)\n");
        close(sfd);
        return LDR_EIO;
    }
    srv.threads = ldr_calloc(srv.nthreads, sizeof(*srv.threads));
    /* the first socket picks the port (when asked for 0); the others join it */
    for (uint32_t i = 0; i < srv.nthreads; i++) {
        srv.threads[i].fd = ldr__open_listener(i == 0 ? opts->listen : bound, bound, sizeof(bound));
        if (srv.threads[i].fd < 0) {
            for (uint32_t j = 0; j < i; j++)
                close(srv.threads[j].fd);
            ldr_free(srv.threads);
            ldr_pwhash_stop();
            close(sfd);
            return LDR_EIO;
        }
    }

    h2o_config_init(&srv.config);
    srv.config.max_request_entity_size = opts->max_body;
    /* explicit, and before any h2o_context_init copies them: a client that sends a request's
     * head and body slower than this, or an HTTP/2 connection idle this long, is closed; HTTP/2
     * runs at most this many requests of one connection at once */
    srv.config.http1.req_timeout = LDR_HTTP1_REQUEST_TIMEOUT_MS;
    srv.config.http2.idle_timeout = LDR_HTTP2_IDLE_TIMEOUT_MS;
    srv.config.http2.graceful_shutdown_timeout = opts->shutdown_grace_ms;
    srv.config.http2.max_concurrent_requests_per_connection = LDR_HTTP2_STREAMS_MAX;
    h2o_hostconf_t *host =
        h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    ldr__json_413_register(&host->fallback_path, opts->max_body);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    ldr_handler_t *handler = (ldr_handler_t *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = ldr__on_req;
    handler->app = app;
    srv.app = app;
    handler->auth = opts->auth;
    /* the adapter thread, when a provider that needs it is configured */
    if ((ldr_stripe() != NULL || ldr_momo() != NULL || ldr_couriers_need_http()) &&
        ldr_http_client_start(&handler->adapters) != LDR_OK) {
        fprintf(stderr, "larder: cannot start the adapters' HTTP client (libcurl)\n");
        handler->adapters = NULL; /* checkouts through Stripe then answer 503 */
    }
    /* the booking desk: couriers for same-day orders (it waits for the state to load) */
    if (ldr_deliveries_start(app, handler->adapters, &handler->deliveries) != LDR_OK) {
        fprintf(stderr, "larder: cannot start the delivery booking thread\n");
        handler->deliveries = NULL; /* orders keep `pending` deliveries until a restart */
    }
    handler->loops = ldr_calloc(srv.nthreads, sizeof(*handler->loops));
    handler->nloops = srv.nthreads;
    for (uint32_t i = 0; i < srv.nthreads; i++)
        handler->loops[i] = &srv.threads[i].loop;
    for (uint32_t r = 0; r < ldr_route_count(); r++)
        ldr_route_name(r); /* names are built here, before any thread reads them */

    pthread_mutex_init(&srv.lock, NULL);
    pthread_cond_init(&srv.cond, NULL);
    srv.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* without it: a look every 50 ms */
    uint32_t started = 0;
    for (uint32_t i = 0; i < srv.nthreads; i++) {
        ldr__thread_t *t = &srv.threads[i];
        t->srv = &srv;
        t->loop.index = i;
        t->loop.log_requests = opts->log_requests;
        pthread_mutex_lock(&srv.lock);
        srv.serving++;
        pthread_mutex_unlock(&srv.lock);
        if (pthread_create(&t->thread, NULL, ldr__thread_main, t) != 0) {
            fprintf(stderr, "larder: cannot start loop thread %u\n", i);
            pthread_mutex_lock(&srv.lock);
            srv.serving--;
            pthread_mutex_unlock(&srv.lock);
            break;
        }
        t->started = true;
        started++;
    }
    /* stop requests go to receivers that the loops register themselves */
    pthread_mutex_lock(&srv.lock);
    while (srv.ready < started)
        pthread_cond_wait(&srv.cond, &srv.lock);
    pthread_mutex_unlock(&srv.lock);

    if (opts->announce != NULL) {
        fprintf(opts->announce,
                "larder: listening on http://%s (HTTP/1.1 and h2c, %u loop thread%s); try: curl "
                "http://%s/healthz\n",
                bound, srv.nthreads, srv.nthreads == 1 ? "" : "s", bound);
        fflush(opts->announce);
    }

    /* this thread reads the signals; the loops stop themselves once told */
    int nsignals = started == srv.nthreads ? 0 : 1;
    if (nsignals == 1)
        ldr__stop_all(&srv, 0); /* a loop did not start: shut the others down */
    for (;;) {
        pthread_mutex_lock(&srv.lock);
        uint32_t serving = srv.serving;
        pthread_mutex_unlock(&srv.lock);
        if (serving == 0)
            break;
        struct pollfd p[2] = {{sfd, POLLIN, 0}, {srv.done_fd, POLLIN, 0}};
        if (poll(p, srv.done_fd >= 0 ? 2 : 1, srv.done_fd >= 0 ? -1 : 50) <= 0 ||
            !(p[0].revents & POLLIN))
            continue; /* a loop done serving (or the 50 ms look): count them again */
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si) || nsignals >= 2)
            continue;
        if (nsignals++ == 0)
            fprintf(stderr, "larder: shutting down\n");
        ldr__stop_all(&srv, nsignals - 1);
    }
    /* every loop is done serving and has no write in flight: stop what sends to their queues
     * (completing nothing: nothing is pending), then let the loops dispose of them */
    ldr_deliveries_stop(handler->deliveries); /* no new bookings; its calls fail below */
    ldr_http_client_stop(handler->adapters);  /* idle: no loop waits for it any more */
    handler->adapters = NULL;
    ldr_deliveries_join(handler->deliveries); /* its last records, while the engine runs */
    handler->deliveries = NULL;
    /* a load still under way may wait for the engine (the checkouts it resumes): it ends first,
     * loop 0 running the engine meanwhile or, if it never did, this thread (ldr_app_wait_loaded);
     * then what the load started stops */
    ldr_app_wait_loaded(app);
    if (atomic_load_explicit(&app->engine_started, memory_order_acquire))
        ldr_app_stop_engine(app);
    ldr_pwhash_stop();
    pthread_mutex_lock(&srv.lock);
    srv.dispose = true;
    pthread_cond_broadcast(&srv.cond);
    pthread_mutex_unlock(&srv.lock);
    for (uint32_t i = 0; i < srv.nthreads; i++)
        if (srv.threads[i].started)
            pthread_join(srv.threads[i].thread, NULL);
    close(sfd);
    if (srv.done_fd >= 0)
        close(srv.done_fd);
    for (uint32_t i = started; i < srv.nthreads; i++)
        close(srv.threads[i].fd);
    pthread_cond_destroy(&srv.cond);
    pthread_mutex_destroy(&srv.lock);
    ldr_free(handler->loops);
    bool abandoned = false;
    for (uint32_t i = 0; i < srv.nthreads; i++)
        abandoned = abandoned || srv.threads[i].abandoned;
    if (abandoned) {
        /* an undisposed loop still holds what the configuration and its thread record point
         * to: keep both reachable until the process exits, which it is about to */
        ldr__kept_config = srv.config;
        ldr__kept_threads = srv.threads;
    } else {
        h2o_config_dispose(&srv.config);
        ldr_free(srv.threads);
    }
    fprintf(stderr, "larder: stopped\n");
    return LDR_OK;
}
