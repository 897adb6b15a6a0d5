/*
 * Fuzz target for bearer tokens (shell/auth.c): the Authorization header's parsing and the JWT
 * check every write endpoint relies on.
 *
 * The first byte picks what the rest is:
 *  - 0..127, a token: ldr_token_verify never crashes, and accepts it only if, checked here
 *    independently, it is three base64url segments whose signature is the HMAC-SHA256 of the
 *    first two under the secret, and what it says (sub, role, exp) is sane;
 *  - 128..191, an Authorization header: ldr_auth_bearer finds a token only inside it, after a
 *    case-insensitive "Bearer ", made of RFC 6750 token characters;
 *  - 192..255, a subject and a role: a token minted for them (when they are valid) verifies as
 *    theirs, and the same token with one byte changed never does.
 *
 * tests/unit/shell/jwt_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LDR_FUZZ_LINKED /* the fuzz build links common/, engine/, index/ only: bring this in */
#include "../../shell/auth.c"
#else
#include "larder/auth.h"
#include "larder/buf.h"
#endif

#define LDR_FUZZ_NAME "jwt_fuzz"
#include "fuzz.h"

#define FZ_JWT_SECRET "jwt-fuzz-secret-0123456789abcdef0123456789"
#define FZ_JWT_NOW    1795600000

static ldr_auth_t *fz_auth(void)
{
    static ldr_auth_t *a;
    if (a == NULL && ldr_auth_new(FZ_JWT_SECRET, strlen(FZ_JWT_SECRET), &a) != LDR_OK)
        LDR_FUZZ_FAIL("cannot make the secret");
    return a;
}

/* The independent check of an accepted token's signature. */
static bool fz_signed(const char *t, size_t n)
{
    const char *d1 = memchr(t, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - t)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - t)) != NULL)
        return false;
    unsigned char mac[crypto_auth_hmacsha256_BYTES], sig[64];
    size_t sl = 0;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)FZ_JWT_SECRET, strlen(FZ_JWT_SECRET));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, (size_t)(d2 - t));
    crypto_auth_hmacsha256_final(&st, mac);
    if (sodium_base642bin(sig, sizeof(sig), d2 + 1, n - (size_t)(d2 + 1 - t), NULL, &sl, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    return sl == sizeof(mac) && memcmp(sig, mac, sizeof(mac)) == 0;
}

static void fz_token(const char *t, size_t n)
{
    ldr_principal_t p;
    if (ldr_token_verify(fz_auth(), t, n, FZ_JWT_NOW, &p) != LDR_OK)
        return;
    FZ_CHECK(fz_signed(t, n), "accepted a token whose signature is not ours: %.*s", (int)n, t);
    FZ_CHECK(ldr_token_sub_valid(p.sub, strlen(p.sub)), "accepted a bad sub");
    FZ_CHECK(p.role >= LDR_ROLE_CUSTOMER && p.role <= LDR_ROLE_SERVICE, "role %d", (int)p.role);
    FZ_CHECK(p.exp > FZ_JWT_NOW, "accepted an expired token");
}

static void fz_header(const char *h, size_t n)
{
    const char *t = NULL;
    size_t tn = 0;
    if (ldr_auth_bearer(h, n, &t, &tn) != LDR_OK)
        return;
    FZ_CHECK(t > h && t + tn <= h + n && tn > 0, "the token is not inside the header");
    FZ_CHECK(n >= 7 && strncasecmp(h, "bearer ", 7) == 0, "no Bearer scheme: %.*s", (int)n, h);
    for (size_t i = 0; i < tn; i++)
        FZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=",
                        t[i]) != NULL &&
                     t[i] != '\0',
                 "byte 0x%02x in a token", (unsigned char)t[i]);
}

static void fz_mint(const uint8_t *d, size_t n)
{
    if (n < 2)
        return;
    ldr_role_t role = (ldr_role_t)(LDR_ROLE_CUSTOMER + d[0] % 3);
    size_t flip = d[1];
    char sub[80];
    size_t sn = n - 2 < sizeof(sub) - 1 ? n - 2 : sizeof(sub) - 1;
    memcpy(sub, d + 2, sn);
    sub[sn] = '\0';
    ldr_buf_t b = LDR_BUF_INIT;
    int rc = ldr_token_mint(fz_auth(), role, sub, FZ_JWT_NOW - 10, 3600, &b);
    FZ_CHECK(rc == LDR_OK || !ldr_token_sub_valid(sub, strlen(sub)) || strlen(sub) != sn,
             "could not mint for a valid sub \"%s\"", sub);
    if (rc == LDR_OK) {
        ldr_principal_t p;
        FZ_CHECK(ldr_token_verify(fz_auth(), b.base, b.len, FZ_JWT_NOW, &p) == LDR_OK,
                 "a minted token does not verify");
        FZ_CHECK(strcmp(p.sub, sub) == 0 && p.role == role, "a minted token says someone else");
        char *t = malloc(b.len);
        memcpy(t, b.base, b.len);
        size_t at = flip % b.len;
        t[at] = t[at] == 'A' ? 'B' : 'A';
        FZ_CHECK(ldr_token_verify(fz_auth(), t, b.len, FZ_JWT_NOW, &p) != LDR_OK,
                 "a token with byte %zu changed still verifies", at);
        free(t);
    }
    ldr_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] < 128)
        fz_token(rest, n);
    else if (data[0] < 192)
        fz_header(rest, n);
    else
        fz_mint(data + 1, n);
    return 0;
}
