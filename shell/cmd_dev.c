/*
 * `larder dev kafka`: librdkafka's mock cluster (rdkafka_mock.h) on loopback, to try the relay
 * by hand.  It speaks the real Kafka protocol, so kcat and other clients connect to it; it keeps
 * everything in memory and lives as long as this process.  Its brokers listen on ports the
 * library picks; --port adds a listener that forwards to the first broker, for a bootstrap
 * address known in advance (the cluster's metadata then sends clients to the brokers' own ports).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_internal.h"
#include "larder/common.h"
#include "outbox.h"

static const char ldr__dev_usage[] =
    "usage: larder dev kafka [--port N] [--brokers N] [--partitions N]\n"
    "\n"
    "Runs a mock Kafka cluster on 127.0.0.1 (librdkafka's, in memory) until SIGINT or\n"
    "SIGTERM, with the topics the relay writes (order_events, payment_events,\n"
    "delivery_events, inventory_events, or the LARDER_KAFKA_TOPIC_* names) created.  Prints\n"
    "the bootstrap address on stdout as \"bootstrap: HOST:PORT,...\"; then e.g.\n"
    "  LARDER_KAFKA_BROKERS=HOST:PORT larder serve --demo\n"
    "  kcat -b HOST:PORT -C -t order_events -o beginning -J\n"
    "\n"
    "options:\n"
    "  --port N        also listen on 127.0.0.1:N and forward to the first broker, so the\n"
    "                  bootstrap address can be fixed (the brokers' own ports are random)\n"
    "  --brokers N     brokers in the cluster (1..9; default 1)\n"
    "  --partitions N  partitions per topic (1..64; default 3)\n"
    "  -h, --help      show this help\n";

static int ldr__dev_error(const char *what, const char *arg)
{
    fprintf(stderr, "larder dev: %s \"%s\"\nRun `larder dev --help` for usage.\n", what, arg);
    return 2;
}

static bool ldr__int_arg(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* ---- the forwarding listener ---- */

typedef struct ldr__fwd {
    int listen_fd;
    struct sockaddr_in to;
} ldr__fwd_t;

typedef struct ldr__pipe {
    int a, b;
} ldr__pipe_t;

static void *ldr__pipe_main(void *arg)
{
    ldr__pipe_t p = *(ldr__pipe_t *)arg;
    free(arg);
    char buf[65536];
    struct pollfd fds[2] = {{p.a, POLLIN, 0}, {p.b, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int from = (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 0 : 1;
        int in = from == 0 ? p.a : p.b, out = from == 0 ? p.b : p.a;
        ssize_t n = read(in, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w <= 0)
                goto done;
            off += w;
        }
    }
done:
    close(p.a);
    close(p.b);
    return NULL;
}

static void *ldr__fwd_main(void *arg)
{
    ldr__fwd_t *f = arg;
    for (;;) {
        int c = accept(f->listen_fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&f->to, sizeof(f->to)) != 0) {
            close(c);
            if (s >= 0)
                close(s);
            continue;
        }
        ldr__pipe_t *p = malloc(sizeof(*p));
        pthread_t t;
        *p = (ldr__pipe_t){c, s};
        if (p == NULL || pthread_create(&t, NULL, ldr__pipe_main, p) != 0) {
            free(p);
            close(c);
            close(s);
            continue;
        }
        pthread_detach(t);
    }
}

/* Listens on 127.0.0.1:port and forwards to the broker at `bootstrap` (its first HOST:PORT). */
static int ldr__forward(long port, const char *bootstrap, ldr__fwd_t *f)
{
    const char *colon = strchr(bootstrap, ':');
    long bport;
    char tmp[16] = {0};
    const char *end = colon != NULL ? strchr(colon, ',') : NULL;
    size_t n = colon == NULL ? 0 : end != NULL ? (size_t)(end - colon - 1) : strlen(colon + 1);
    if (colon == NULL || n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, colon + 1, n);
    if (!ldr__int_arg(tmp, 1, 65535, &bport))
        return -1;
    memset(&f->to, 0, sizeof(f->to));
    f->to.sin_family = AF_INET;
    f->to.sin_port = htons((uint16_t)bport);
    f->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in a = f->to;
    a.sin_port = htons((uint16_t)port);
    int one = 1;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0 ||
        setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->listen_fd, 64) != 0)
        return -1;
    pthread_t t;
    if (pthread_create(&t, NULL, ldr__fwd_main, f) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

/* ---- the command ---- */

static int ldr__dev_kafka(int argc, char **argv)
{
    long port = 0, brokers = 1, partitions = 3;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(ldr__dev_usage, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return ldr__dev_error("unknown option or missing value:", a);
        const char *v = argv[++i];
        if (strcmp(a, "--port") == 0) {
            if (!ldr__int_arg(v, 1, 65535, &port))
                return ldr__dev_error("--port wants 1..65535, not", v);
        } else if (strcmp(a, "--brokers") == 0) {
            if (!ldr__int_arg(v, 1, 9, &brokers))
                return ldr__dev_error("--brokers wants 1..9, not", v);
        } else if (strcmp(a, "--partitions") == 0) {
            if (!ldr__int_arg(v, 1, 64, &partitions))
                return ldr__dev_error("--partitions wants 1..64, not", v);
        } else {
            return ldr__dev_error("unknown option", a);
        }
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* before any thread: sigwait below takes them */

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "larder dev kafka: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (mc == NULL) {
        fprintf(stderr, "larder dev kafka: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    static const char *const topic_env[LDR_TOPIC_COUNT] = {
        "LARDER_KAFKA_TOPIC_ORDER", "LARDER_KAFKA_TOPIC_PAYMENT", "LARDER_KAFKA_TOPIC_DELIVERY",
        "LARDER_KAFKA_TOPIC_INVENTORY"};
    for (int t = 0; t < LDR_TOPIC_COUNT; t++) {
        const char *name = getenv(topic_env[t]);
        if (name == NULL || name[0] == '\0')
            name = ldr_topic_default_names[t];
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(mc, name, (int)partitions, (int)(brokers < 3 ? brokers : 3));
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            fprintf(stderr, "larder dev kafka: topic %s: %s\n", name, rd_kafka_err2str(e));
    }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    ldr__fwd_t fwd;
    if (port != 0 && ldr__forward(port, bootstrap, &fwd) != 0) {
        fprintf(stderr, "larder dev kafka: cannot listen on 127.0.0.1:%ld: %s\n", port,
                strerror(errno));
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 1;
    }
    if (port != 0)
        printf("bootstrap: 127.0.0.1:%ld (forwarded to %s)\n", port, bootstrap);
    else
        printf("bootstrap: %s\n", bootstrap);
    printf("larder dev kafka: %ld broker(s), %ld partition(s) per topic; SIGINT or SIGTERM stops "
           "it\n",
           brokers, partitions);
    fflush(stdout);
    int sig;
    sigwait(&mask, &sig);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

int ldr_cmd_dev(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(ldr__dev_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "kafka") == 0)
        return ldr__dev_kafka(argc, argv);
    return ldr__dev_error("unknown tool (there is: kafka):", argv[1]);
}
