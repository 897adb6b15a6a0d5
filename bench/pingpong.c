/*
 * bench/pingpong — one client, one keep-alive connection, one request at a time: the latency
 * distribution a lone shopper sees, without a load generator's own queueing in it (wrk's
 * one-connection percentiles are not to be trusted, docs/PERFORMANCE.md).
 *
 * Sends the bytes of REQUEST_FILE N times over one TCP connection, each after the answer to the
 * one before has fully arrived, and prints the percentiles of the round trips.  An answer is an
 * HTTP/1.1 response (its headers and Content-Length bytes of body; anything but 2xx is an error)
 * or, for Redis, one RESP line (`:42\r\n`; an error line `-...` is an error).  The requests whose
 * round trip passed SLOW_MS are counted, with the median time between the starts of two such in
 * a row: a fixed period there points at something periodic (a timer, the machine's CPU quota).
 *
 * usage: pingpong HOST:PORT N REQUEST_FILE [SLOW_MS]   (IPv4; SLOW_MS default 2)
 * prints: n N rate R/s p50 A p99 B p99.9 C max D ms; over SLOW_MS: K, median gap G ms
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double pp_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int pp_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * Whether buf[0..len) holds one whole answer: 1 yes, 0 not yet, -1 an error answer (its first
 * line is printed).  An HTTP answer ends after its headers and Content-Length bytes.
 */
static int pp_complete(const char *buf, size_t len)
{
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        const char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end == NULL)
            return 0;
        const char *cl = memmem(buf, (size_t)(end - buf), "\r\ncontent-length:", 17);
        if (cl == NULL)
            cl = memmem(buf, (size_t)(end - buf), "\r\nContent-Length:", 17);
        size_t body = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
        if ((size_t)(end + 4 - buf) + body > len)
            return 0;
        if (len < 10 || buf[9] != '2') {
            fprintf(stderr, "pingpong: answered %.*s\n", (int)(strchr(buf, '\r') - buf), buf);
            return -1;
        }
        return 1;
    }
    const char *nl = memmem(buf, len, "\r\n", 2);
    if (nl == NULL)
        return 0;
    if (buf[0] == '-') {
        fprintf(stderr, "pingpong: answered %.*s\n", (int)(nl - buf), buf);
        return -1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: pingpong HOST:PORT N REQUEST_FILE [SLOW_MS]\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(argv[1], ':');
    long n = strtol(argv[2], NULL, 10);
    double slow = argc == 5 ? atof(argv[4]) / 1e3 : 2e-3;
    if (colon == NULL || (size_t)(colon - argv[1]) >= sizeof(host) || n < 1 || !(slow > 0)) {
        fprintf(stderr, "pingpong: expected HOST:PORT, N >= 1 and SLOW_MS > 0\n");
        return 2;
    }
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "pingpong: %s is not an IPv4 address\n", host);
        return 2;
    }
    static char req[(64 << 10) + 1], buf[1 << 16];
    FILE *f = fopen(argv[3], "rb");
    size_t reqlen = f != NULL ? fread(req, 1, sizeof(req), f) : 0;
    if (f != NULL)
        fclose(f);
    if (reqlen == 0 || reqlen == sizeof(req)) {
        fprintf(stderr, "pingpong: cannot read a request (1 byte to 64 KB) from %s\n", argv[3]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "pingpong: cannot connect to %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    double *lat = malloc((size_t)n * sizeof(double)), *starts = malloc((size_t)n * sizeof(double));
    if (lat == NULL || starts == NULL)
        return 1;
    double begin = pp_now();
    for (long i = 0; i < n; i++) {
        double t0 = pp_now();
        for (size_t off = 0; off < reqlen;) {
            ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
            if (w <= 0) {
                fprintf(stderr, "pingpong: write: %s\n", w < 0 ? strerror(errno) : "closed");
                return 1;
            }
            off += (size_t)w;
        }
        size_t len = 0;
        int done = 0;
        while (done == 0) {
            ssize_t r = read(fd, buf + len, sizeof(buf) - len);
            if (r <= 0 || (len += (size_t)r) == sizeof(buf)) {
                fprintf(stderr, "pingpong: read: %s\n",
                        r < 0 ? strerror(errno) : "closed or too long");
                return 1;
            }
            done = pp_complete(buf, len);
        }
        if (done < 0)
            return 1;
        starts[i] = t0;
        lat[i] = pp_now() - t0;
    }
    double elapsed = pp_now() - begin;
    /* the gaps between the starts of consecutive slow requests, before the sort */
    long nslow = 0;
    double prev = -1, *gaps = malloc((size_t)n * sizeof(double));
    if (gaps == NULL)
        return 1;
    for (long i = 0; i < n; i++) {
        if (lat[i] <= slow)
            continue;
        if (prev >= 0)
            gaps[nslow - 1] = starts[i] - prev;
        prev = starts[i];
        nslow++;
    }
    qsort(lat, (size_t)n, sizeof(double), pp_cmp);
    double gap = 0;
    if (nslow >= 2) {
        qsort(gaps, (size_t)nslow - 1, sizeof(double), pp_cmp);
        gap = gaps[(nslow - 1) / 2];
    }
#define PCT(q) (lat[(long)((double)(n - 1) * (q))] * 1e3)
    printf("n %ld rate %.0f/s p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms; over %g ms: %ld, median "
           "gap %.1f ms\n",
           n, (double)n / elapsed, PCT(0.5), PCT(0.99), PCT(0.999), lat[n - 1] * 1e3, slow * 1e3,
           nslow, gap * 1e3);
    close(fd);
    free(lat);
    free(starts);
    free(gaps);
    return 0;
}
