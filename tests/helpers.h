/*
 * Helpers for tests that drive the real `larder` binary: run a command and capture its output,
 * start a server on an ephemeral loopback port, and speak HTTP/1.1 or HTTP/2 to it through libcurl.
 * The binary is $LARDER_BIN (set by `make check`), else build/larder.
 */
#ifndef LARDER_TESTS_HELPERS_H
#define LARDER_TESTS_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ldr_test_server {
    pid_t pid;
    int port;
    char base[64]; /* "http://127.0.0.1:PORT" */
    char stderr_path[256];
} ldr_test_server_t;

enum { LDR_TEST_HTTP1 = 1, LDR_TEST_H2_PRIOR = 2, LDR_TEST_H2_UPGRADE = 3 };

typedef struct ldr_test_resp {
    long status;
    long http_version; /* 11 or 2 */
    char *body;        /* NUL-terminated, malloc'ed */
    size_t len;
    char *headers; /* raw response headers, lower-cased names, malloc'ed */
} ldr_test_resp_t;

/** Path of the larder binary under test. */
const char *ldr_test_bin(void);
/** A fresh temporary directory (mkdtemp); the path is malloc'ed. */
char *ldr_test_tmpdir(void);
/** Removes a directory tree (rm -rf). */
void ldr_test_rmtree(const char *dir);

/**
 * Runs `larder ARGS...` (NULL-terminated) to completion with stdin closed and returns its exit
 * status (or -1 on a signal).  Captured stdout/stderr go to *out / *err when not NULL (malloc'ed).
 */
int ldr_test_run(const char *const *args, char **out, char **err);
/** The same with `input` as stdin. */
int ldr_test_run_input(const char *const *args, const char *input, char **out, char **err);

/**
 * Starts `larder serve --listen 127.0.0.1:0 ARGS...` and waits (up to 120 s) until it prints its
 * address and /readyz answers 200 (or, when wait_ready is 0, only the address).  Returns 0 or -1.
 */
int ldr_test_server_start(ldr_test_server_t *s, const char *const *args, int wait_ready);
/**
 * Runs `larder gen-catalog GEN_ARGS... --out DIR/gen` (NULL-terminated) and starts a server on the
 * result with --data-dir DIR, waiting until ready.  Returns 0 or -1.
 */
int ldr_test_server_start_generated(ldr_test_server_t *s, const char *dir,
                                    const char *const *gen_args);
/** Sends SIGTERM and waits up to 10 s; returns the exit status, or -1 (then SIGKILLs). */
int ldr_test_server_stop(ldr_test_server_t *s);
/** Starts `python3 SCRIPT --port 0` (an emulator of tests/fakes/) and reads where it listens from
 *  its first line ("listening on URL") into url (size bytes); returns its pid, or -1. */
pid_t ldr_test_start_emulator(const char *script, char *url, size_t size);

/** Raw bytes over a fresh TCP connection to 127.0.0.1:port: sends len bytes (stopping early if
 *  the server closes), half-closes, and reads what comes back until the server closes or is quiet
 *  for 1 s; the reply is NUL-terminated (at most cap - 1 bytes).  Returns the bytes read, or -1
 *  if nothing listens there. */
ssize_t ldr_test_exchange(int port, const void *data, size_t len, char *reply, size_t cap);

/** One request; `mode` is LDR_TEST_HTTP1, _H2_PRIOR or _H2_UPGRADE.  Returns 0 or -1. */
int ldr_test_http(int mode, const char *method, const char *url, const char *body,
                  ldr_test_resp_t *resp);
/** The same with `Authorization: Bearer <token>` when token is not NULL. */
int ldr_test_http_auth(int mode, const char *method, const char *url, const char *body,
                       const char *token, ldr_test_resp_t *resp);

/** The same with an `Idempotency-Key` header too when key is not NULL. */
int ldr_test_http_idem(int mode, const char *method, const char *url, const char *body,
                       const char *token, const char *key, ldr_test_resp_t *resp);

/** The same with any headers: NULL-terminated name, value pairs (NULL: none). */
int ldr_test_http_headers(int mode, const char *method, const char *url, const char *body,
                          const char *const *headers, ldr_test_resp_t *resp);
/** The JWT secret test servers get (unless LARDER_JWT_SECRET is already set). */
#define LDR_TEST_JWT_SECRET "larder-tests-secret-0123456789abcdef0123456789"
/** A token for `role` ("admin", "service", "customer") signed with it, valid 1 h; malloc'ed. */
char *ldr_test_token(const char *role, const char *sub);
void ldr_test_resp_free(ldr_test_resp_t *resp);

/** Reads a whole file (malloc'ed, NUL-terminated) or returns NULL. */
char *ldr_test_slurp(const char *path, size_t *len);
/** The SKU of the first product of a catalog file (JSON Lines, "sku" first, as gen-catalog writes
 *  it) into sku (size bytes); returns 0, or -1 when the file has none. */
int ldr_test_first_sku(const char *catalog, char *sku, size_t size);

/** A new product `sku` (category produce/fruit, `price` VND) with `units` in the default store,
 *  through a server's HTTP API at base as `admin`.  Returns 0, or -1 with a message on stderr. */
int ldr_test_product(const char *base, const char *admin, const char *sku, const char *name,
                     int64_t price, int units);

/** An order placed straight into the log of a stopped server's DATA_DIR (as a checkout does
 *  before it asks the provider): one line of `quantity` of sku at `price`, pickup, in the
 *  default store, payment due in 15 minutes.  Returns 0, or -1 with a message on stderr. */
int ldr_test_place_in_log(const char *data_dir, const char *id, const char *owner, const char *sku,
                          int64_t quantity, int64_t price, const char *provider, const char *token);

/** Where the records of the last segment of the log in wal_dir end (the segments are
 *  zero-filled ahead of their writes, so the file size says nothing); UINT64_MAX on error. */
uint64_t ldr_test_wal_end(const char *wal_dir);

/** A Stripe-Signature header for payload at time t under secret ("t=T,v1=HEX") into header. */
void ldr_test_stripe_sign(char *header, size_t size, const char *secret, int64_t t,
                          const char *payload);

#endif
