/*
 * `larder token --role ROLE --sub ID [--ttl SECONDS]`: mint an access token with the server's
 * secret, LARDER_JWT_SECRET, for operators and tests.
 *
 * Exit status: 0 with the token on stdout, 1 when it cannot be written, 2 on bad usage, including
 * a missing or too short secret.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"
#include "larder/auth.h"
#include "larder/buf.h"

#define LDR__TOKEN_TTL_DEFAULT 3600

static const char ldr__token_usage[] =
    "usage: larder token --role customer|admin|service --sub ID [--ttl SECONDS]\n"
    "\n"
    "Prints an access token and a newline on stdout: a JWT signed with HS256 under\n"
    "LARDER_JWT_SECRET, with the claims sub, role, iat (now) and exp (now + SECONDS).  Send it\n"
    "as `Authorization: Bearer TOKEN`; a server started with the same LARDER_JWT_SECRET accepts\n"
    "it until it expires.\n"
    "\n"
    "options:\n"
    "  --role ROLE    customer, admin or service (required)\n"
    "  --sub ID       whom the token speaks for: a user id or a service name, 1..128 visible\n"
    "                 ASCII characters other than '\"' and '\\' (required)\n"
    "  --ttl SECONDS  lifetime, 1..31536000 (one year); default 3600\n"
    "  -h, --help     show this help\n"
    "\n"
    "environment:\n"
    "  LARDER_JWT_SECRET  the signing secret, 32..1024 bytes, used as given (required).\n"
    "                     Make one with `openssl rand -hex 32`.\n"
    "\n"
    "exit status: 0 printed, 1 cannot write, 2 bad usage or a missing or short secret.\n";

__attribute__((format(printf, 1, 2))) static int ldr__token_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("larder token: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nRun `larder token --help` for usage.\n", stderr);
    return 2;
}

static bool ldr__parse_ttl(const char *s, int64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > LDR_TOKEN_TTL_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

int ldr_cmd_token(int argc, char **argv)
{
    static const struct option longopts[] = {{"role", required_argument, NULL, 'r'},
                                             {"sub", required_argument, NULL, 's'},
                                             {"ttl", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    ldr_role_t role = 0;
    const char *sub = NULL;
    int64_t ttl = LDR__TOKEN_TTL_DEFAULT;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (ldr_role_parse(optarg, strlen(optarg), &role) != LDR_OK)
                return ldr__token_usage_error("--role wants customer, admin or service, not \"%s\"",
                                              optarg);
            break;
        case 's':
            if (!ldr_token_sub_valid(optarg, strlen(optarg)))
                return ldr__token_usage_error(
                    "--sub wants 1..%d visible ASCII characters other than '\"' and '\\', not "
                    "\"%s\"",
                    LDR_TOKEN_SUB_MAX, optarg);
            sub = optarg;
            break;
        case 't':
            if (!ldr__parse_ttl(optarg, &ttl))
                return ldr__token_usage_error("--ttl wants 1..%d seconds, not \"%s\"",
                                              LDR_TOKEN_TTL_MAX, optarg);
            break;
        case 'h':
            fputs(ldr__token_usage, stdout);
            return 0;
        default:
            return ldr__token_usage_error("unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ldr__token_usage_error("unexpected argument \"%s\"", argv[optind]);
    if (role == 0)
        return ldr__token_usage_error("%s", "missing --role (customer, admin or service)");
    if (sub == NULL)
        return ldr__token_usage_error("%s", "missing --sub ID");

    const char *secret = getenv("LARDER_JWT_SECRET");
    size_t secret_len = secret != NULL ? strlen(secret) : 0;
    if (secret_len == 0)
        return ldr__token_usage_error("LARDER_JWT_SECRET is not set; it must hold the signing "
                                      "secret, at least %d bytes",
                                      LDR_AUTH_SECRET_MIN);
    if (secret_len < LDR_AUTH_SECRET_MIN || secret_len > LDR_AUTH_SECRET_MAX)
        return ldr__token_usage_error("LARDER_JWT_SECRET is %zu bytes; it must be %d..%d bytes",
                                      secret_len, LDR_AUTH_SECRET_MIN, LDR_AUTH_SECRET_MAX);
    ldr_auth_t *auth;
    int rc = ldr_auth_new(secret, secret_len, &auth);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder token: cannot use the secret: %s\n", ldr_strerror(rc));
        return 1;
    }
    ldr_buf_t out = LDR_BUF_INIT;
    rc = ldr_token_mint(auth, role, sub, (int64_t)time(NULL), ttl, &out);
    ldr_auth_free(auth);
    if (rc == LDR_OK) {
        ldr_buf_putc(&out, '\n');
        rc = ldr_buf_write(&out, stdout);
        if (rc == LDR_OK && fflush(stdout) != 0)
            rc = LDR_EIO;
    }
    ldr_buf_free(&out);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder token: %s\n",
                rc == LDR_EIO ? "cannot write the token" : ldr_strerror(rc));
        return 1;
    }
    return 0;
}
