/*
 * The h2o event loop: listening socket, accept, signals and graceful shutdown.
 *
 * Signals are blocked in every thread and read through a signalfd that the loop watches like a
 * socket, so shutdown starts on the loop thread with no async-signal-safety concerns.  Shutdown
 * closes the listener, calls h2o_context_request_shutdown() and keeps the loop running until no
 * HTTP/1 or HTTP/2 connection is left or the grace period ends.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "larder/http.h"

typedef struct ldr__server {
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_multithread_receiver_t replies; /* engine replies for this loop's requests */
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_socket_t *signals;
    int signal_count;
} ldr__server_t;

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
    ldr__server_t *srv = listener->data;
    h2o_socket_t *sock;
    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&srv->accept_ctx, sock);
}

static void ldr__on_signal(h2o_socket_t *sock, const char *err)
{
    ldr__server_t *srv = sock->data;
    if (err != NULL)
        return;
    h2o_buffer_consume(&sock->input, sock->input->size);
    if (srv->signal_count++ > 0)
        return; /* the loop notices the second signal and stops waiting */
    fprintf(stderr, "larder: shutting down\n");
    if (srv->listener != NULL) {
        h2o_socket_read_stop(srv->listener);
        h2o_socket_close(srv->listener);
        srv->listener = NULL;
    }
    h2o_context_request_shutdown(&srv->ctx);
}

h2o_multithread_receiver_t *ldr_server_receiver(h2o_context_t *ctx)
{
    return &H2O_STRUCT_FROM_MEMBER(ldr__server_t, ctx, ctx)->replies;
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

int ldr_server_run(const ldr_server_opts_t *opts, ldr_app_t *app)
{
    ldr__server_t srv;
    char bound[300];
    memset(&srv, 0, sizeof(srv));

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* callers block them before starting threads too */
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "larder: signalfd: %s\n", strerror(errno));
        return LDR_EIO;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = ldr__open_listener(opts->listen, bound, sizeof(bound));
    if (fd < 0) {
        close(sfd);
        return LDR_EIO;
    }

    h2o_config_init(&srv.config);
    srv.config.max_request_entity_size = opts->max_body;
    h2o_hostconf_t *host =
        h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    ldr_handler_t *handler = (ldr_handler_t *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = ldr__on_req;
    handler->app = app;
    handler->cache = ldr_search_cache_new(opts->search_cache, LDR_SEARCH_CACHE_BYTES);
    handler->auth = opts->auth;

    h2o_context_init(&srv.ctx, h2o_evloop_create(), &srv.config);
    h2o_multithread_register_receiver(srv.ctx.queue, &srv.replies, ldr_write_on_replies);
    srv.accept_ctx.ctx = &srv.ctx;
    srv.accept_ctx.hosts = srv.config.hosts;
    srv.listener = h2o_evloop_socket_create(srv.ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    srv.listener->data = &srv;
    h2o_socket_read_start(srv.listener, ldr__on_accept);
    srv.signals = h2o_evloop_socket_create(srv.ctx.loop, sfd, 0);
    srv.signals->data = &srv;
    h2o_socket_read_start(srv.signals, ldr__on_signal);

    if (opts->announce != NULL) {
        fprintf(opts->announce,
                "larder: listening on http://%s (HTTP/1.1 and h2c); try: curl http://%s/healthz\n",
                bound, bound);
        fflush(opts->announce);
    }

    uint64_t deadline = 0;
    for (;;) {
        if (h2o_evloop_run(srv.ctx.loop, srv.signal_count ? 50 : INT32_MAX) != 0 && errno != EINTR)
            break;
        if (srv.signal_count == 0)
            continue;
        if (deadline == 0)
            deadline = ldr__now_ms() + opts->shutdown_grace_ms;
        bool idle = h2o_linklist_is_empty(&srv.ctx.http1._conns) &&
                    h2o_linklist_is_empty(&srv.ctx.http2._conns);
        if (idle || srv.signal_count > 1 || ldr__now_ms() >= deadline)
            break;
    }

    /* writes still in the engine are completed, and their replies run (or are dropped) here,
     * before anything they point to goes away */
    if (ldr_app_ready(app)) {
        ldr_app_stop_engine(app);
        h2o_evloop_run(srv.ctx.loop, 0);
    }
    h2o_multithread_unregister_receiver(srv.ctx.queue, &srv.replies);
    ldr_searcher_free(handler->searcher);
    ldr_search_cache_free(handler->cache);
    ldr_token_cache_free(handler->tokens);
    h2o_socket_read_stop(srv.signals);
    h2o_socket_close(srv.signals);
    if (srv.listener != NULL)
        h2o_socket_close(srv.listener);
    /* let the loop run the closes it has queued before tearing the context down */
    h2o_evloop_run(srv.ctx.loop, 0);
    /* request_shutdown armed HTTP/2's graceful-shutdown timer; disposal asserts it is idle */
    if (h2o_timeout_is_linked(&srv.ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&srv.ctx.http2._graceful_shutdown_timeout);
    h2o_evloop_t *loop = srv.ctx.loop;
    h2o_multithread_queue_t *queue = srv.ctx.queue;
    h2o_context_dispose(&srv.ctx);
    h2o_config_dispose(&srv.config);
    /* h2o 2.2.5's evloop h2o_multithread_destroy_queue() closes the queue's pipe but never frees
     * the queue itself (later versions do); the pinned Debian library needs us to. */
    free(queue);
    h2o_evloop_run(loop, 0); /* run the close callbacks queued by the disposals */
    h2o_evloop_destroy(loop);
    fprintf(stderr, "larder: stopped\n");
    return LDR_OK;
}
