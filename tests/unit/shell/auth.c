/*
 * Access tokens (shell/auth.c): mint and verify round trips, and every way a token must fail:
 * another secret, tampering, other algorithms (alg none, HS384/HS512 under the same secret, RS256),
 * expiry and clock skew, missing or mistyped claims, malformed and hostile input.  Tokens with odd
 * headers or claims are built by hand and signed with the right secret, so each case fails for
 * the one reason it is about (the test checks the reason, not just LDR_EAUTH).
 */
#include <criterion/criterion.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/auth.h"

#define SECRET "0123456789abcdef0123456789abcdef" /* 32 bytes */
#define OTHER  "fedcba9876543210fedcba9876543210"
#define NOW    ((int64_t)1795564800) /* 2026-11-25T00:00:00Z */

static ldr_auth_t *auth_for(const char *secret)
{
    ldr_auth_t *a = NULL;
    cr_assert_eq(ldr_auth_new(secret, strlen(secret), &a), LDR_OK);
    cr_assert_not_null(a);
    return a;
}

/* A malloc'ed token minted by ldr_token_mint. */
static char *mint(const ldr_auth_t *a, ldr_role_t role, const char *sub, int64_t now, int64_t ttl)
{
    ldr_buf_t b = LDR_BUF_INIT;
    int rc = ldr_token_mint(a, role, sub, now, ttl, &b);
    cr_assert_eq(rc, LDR_OK, "mint: %s", ldr_status_name(rc));
    char *s = strndup(b.base, b.len);
    ldr_buf_free(&b);
    return s;
}

/* Unpadded base64url of p[0..n), malloc'ed. */
static char *b64(const void *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

/* The decoded segment i (0 header, 1 payload) of a token, malloc'ed and NUL-terminated. */
static char *segment(const char *tok, int i)
{
    const char *p = tok;
    for (int k = 0; k < i; k++)
        p = strchr(p, '.') + 1;
    size_t n = strcspn(p, "."), len;
    char *out = calloc(1, n + 1);
    cr_assert_eq(sodium_base642bin((unsigned char *)out, n, p, n, NULL, &len, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                 0);
    return out;
}

/*
 * "b64(header).b64(payload).sig" where sig is the HMAC-SHA256 of the first two under `secret`
 * (any length), or the literal `sig` when it is not NULL.  Malloc'ed.
 */
static char *build(const char *secret, const char *header, const char *payload, const char *sig)
{
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2 + 64;
    char *tok = malloc(n);
    snprintf(tok, n, "%s.%s.", h, p);
    if (sig != NULL) {
        strcat(tok, sig);
    } else {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, strlen(tok) - 1);
        crypto_auth_hmacsha256_final(&st, mac);
        char *s = b64(mac, sizeof(mac));
        strcat(tok, s);
        free(s);
    }
    free(h), free(p);
    return tok;
}

#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* A correctly signed token with the given claims (JSON object text). */
static char *signed_claims(const char *payload)
{
    return build(SECRET, HS256_HEADER, payload, NULL);
}

static ldr_principal_t verify_ok(const ldr_auth_t *a, const char *tok, int64_t now)
{
    ldr_principal_t p;
    memset(&p, 0, sizeof(p));
    const char *why = NULL;
    int rc = ldr_token_verify_why(a, tok, strlen(tok), now, &p, &why);
    cr_assert_eq(rc, LDR_OK, "\"%s\" refused: %s (%s)", tok, why, ldr_status_name(rc));
    return p;
}

/* Asserts that tok[0..len) fails with LDR_EAUTH for a reason containing `reason` (when not
 * NULL), and that the principal is left alone. */
static void refuse_n(const ldr_auth_t *a, const char *tok, size_t len, int64_t now,
                     const char *reason)
{
    ldr_principal_t p;
    memset(&p, 0x5a, sizeof(p));
    const char *why = NULL;
    int rc = ldr_token_verify_why(a, tok, len, now, &p, &why);
    cr_assert_eq(rc, LDR_EAUTH, "\"%.*s\" should be refused (%s), got %s", (int)len, tok,
                 reason ? reason : "any reason", ldr_status_name(rc));
    cr_assert_not_null(why);
    if (reason != NULL)
        cr_assert(strstr(why, reason) != NULL, "\"%.*s\": refused for \"%s\", want \"%s\"",
                  (int)len, tok, why, reason);
    for (size_t i = 0; i < sizeof(p); i++)
        cr_assert_eq(((unsigned char *)&p)[i], 0x5a, "principal written on failure");
    /* the plain entry point agrees */
    cr_assert_eq(ldr_token_verify(a, tok, len, now, &p), LDR_EAUTH);
}

static void refuse(const ldr_auth_t *a, const char *tok, int64_t now, const char *reason)
{
    refuse_n(a, tok, strlen(tok), now, reason);
}

/* A token built with libjwt itself under `alg` and our secret. */
static char *libjwt_token(jwt_alg_t alg)
{
    jwt_t *j;
    cr_assert_eq(jwt_new(&j), 0);
    cr_assert_eq(jwt_add_grant(j, "sub", "usr-1"), 0);
    cr_assert_eq(jwt_add_grant(j, "role", "admin"), 0);
    cr_assert_eq(jwt_add_grant_int(j, "iat", (long)NOW), 0);
    cr_assert_eq(jwt_add_grant_int(j, "exp", (long)NOW + 3600), 0);
    cr_assert_eq(jwt_set_alg(j, alg, (const unsigned char *)SECRET, 32), 0);
    char *s = jwt_encode_str(j);
    cr_assert_not_null(s);
    jwt_free(j);
    return s;
}

#define GOOD_CLAIMS "{\"sub\":\"usr-1\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}"

Test(auth, round_trip_each_role)
{
    ldr_auth_t *a = auth_for(SECRET);
    ldr_role_t roles[] = {LDR_ROLE_CUSTOMER, LDR_ROLE_ADMIN, LDR_ROLE_SERVICE};
    for (size_t i = 0; i < 3; i++) {
        char *tok = mint(a, roles[i], "usr-42", NOW, 3600);
        ldr_principal_t p = verify_ok(a, tok, NOW);
        cr_assert_eq(p.role, roles[i]);
        cr_assert_str_eq(p.sub, "usr-42");
        cr_assert_eq(p.exp, NOW + 3600);
        /* valid to the last second, not at exp */
        verify_ok(a, tok, NOW + 3599);
        refuse(a, tok, NOW + 3600, "expired");
        /* the header and claims are what the header file promises */
        char *h = segment(tok, 0), *c = segment(tok, 1), want[256];
        cr_assert(strstr(h, "\"alg\":\"HS256\"") && strstr(h, "\"typ\":\"JWT\""), "%s", h);
        snprintf(want, sizeof(want), "\"role\":\"%s\"", ldr_role_name(roles[i]));
        cr_assert(strstr(c, want) && strstr(c, "\"sub\":\"usr-42\"") &&
                      strstr(c, "\"iat\":1795564800") && strstr(c, "\"exp\":1795568400"),
                  "%s", c);
        free(h), free(c), free(tok);
    }
    ldr_auth_free(a);
}

Test(auth, hand_built_token_is_accepted)
{
    /* the builder the refusal tests rely on makes tokens the verifier accepts */
    ldr_auth_t *a = auth_for(SECRET);
    char *tok = signed_claims(GOOD_CLAIMS);
    ldr_principal_t p = verify_ok(a, tok, NOW + 10);
    cr_assert_eq(p.role, LDR_ROLE_ADMIN);
    cr_assert_str_eq(p.sub, "usr-1");
    free(tok);
    /* no typ, extra claims and header fields are fine */
    tok = build(SECRET, "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
                "{\"sub\":\"a\",\"role\":\"service\",\"iat\":1795564800,\"exp\":1795568400,"
                "\"jti\":\"x\",\"nbf\":1795564800}",
                NULL);
    cr_assert_eq(verify_ok(a, tok, NOW).role, LDR_ROLE_SERVICE);
    free(tok);
    ldr_auth_free(a);
}

Test(auth, long_secret_round_trip)
{
    /* keys longer than SHA-256's block are hashed first: libsodium and libjwt must agree */
    char secret[201];
    memset(secret, 'k', 200);
    secret[200] = '\0';
    ldr_auth_t *a = auth_for(secret);
    char *tok = mint(a, LDR_ROLE_CUSTOMER, "c", NOW, 60);
    verify_ok(a, tok, NOW);
    free(tok);
    ldr_auth_free(a);
}

Test(auth, wrong_secret)
{
    ldr_auth_t *a = auth_for(SECRET), *b = auth_for(OTHER);
    char *tok = mint(a, LDR_ROLE_ADMIN, "usr-1", NOW, 3600);
    refuse(b, tok, NOW, "bad signature");
    free(tok);
    ldr_auth_free(a), ldr_auth_free(b);
}

Test(auth, tampered_payload)
{
    ldr_auth_t *a = auth_for(SECRET);
    char *tok = mint(a, LDR_ROLE_CUSTOMER, "usr-1", NOW, 3600);
    char *claims = segment(tok, 1), *at = strstr(claims, "\"customer\"");
    cr_assert_not_null(at, "%s", claims);
    char forged[256];
    snprintf(forged, sizeof(forged), "%.*s\"admin\"%s", (int)(at - claims), claims, at + 10);
    char *p = b64(forged, strlen(forged)), out[1024];
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    snprintf(out, sizeof(out), "%.*s.%s%s", (int)(d1 - tok), tok, p, d2);
    refuse(a, out, NOW, "bad signature");
    /* a longer lifetime, same way */
    snprintf(forged, sizeof(forged), "%s", claims);
    char *e = strstr(forged, "\"exp\":1795568400");
    cr_assert_not_null(e, "%s", forged);
    memcpy(e, "\"exp\":1895568400", 16);
    free(p);
    p = b64(forged, strlen(forged));
    snprintf(out, sizeof(out), "%.*s.%s%s", (int)(d1 - tok), tok, p, d2);
    refuse(a, out, NOW, "bad signature");
    free(p), free(claims), free(tok);
    ldr_auth_free(a);
}

Test(auth, tampered_signature)
{
    ldr_auth_t *a = auth_for(SECRET);
    char *tok = mint(a, LDR_ROLE_ADMIN, "usr-1", NOW, 3600);
    size_t n = strlen(tok);
    char *sig = strrchr(tok, '.') + 1;
    cr_assert_eq(strlen(sig), 43);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    refuse(a, tok, NOW, "bad signature");
    free(tok);

    tok = mint(a, LDR_ROLE_ADMIN, "usr-1", NOW, 3600);
    sig = strrchr(tok, '.') + 1;
    /* the last character carries 4 bits and 2 zero bits: setting a zero bit keeps the decoded
     * bytes of a lenient decoder but is another spelling, refused */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *pos = strchr(alphabet, sig[42]);
    cr_assert_not_null(pos);
    cr_assert_eq((pos - alphabet) & 3, 0);
    sig[42] = alphabet[(pos - alphabet) | 1];
    refuse(a, tok, NOW, "signature is not 32 bytes");
    free(tok);

    /* truncated, extended, padded, empty */
    tok = mint(a, LDR_ROLE_ADMIN, "usr-1", NOW, 3600);
    refuse_n(a, tok, n - 1, NOW, "signature is not 32 bytes");
    char longer[1024];
    snprintf(longer, sizeof(longer), "%sA", tok);
    refuse(a, longer, NOW, "signature is not 32 bytes");
    snprintf(longer, sizeof(longer), "%s=", tok);
    refuse(a, longer, NOW, "not base64url");
    refuse_n(a, tok, (size_t)(strrchr(tok, '.') + 1 - tok), NOW, "signature is not 32 bytes");
    free(tok);
    ldr_auth_free(a);
}

Test(auth, tampered_header)
{
    ldr_auth_t *a = auth_for(SECRET);
    char *tok = mint(a, LDR_ROLE_ADMIN, "usr-1", NOW, 3600);
    const char *rest = strchr(tok, '.');
    const char *headers[] = {"{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}",
                             "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", "{\"alg\":\"HS256\"}"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(headers); i++) {
        char *h = b64(headers[i], strlen(headers[i])), out[1024];
        snprintf(out, sizeof(out), "%s%s", h, rest);
        refuse(a, out, NOW, "bad signature");
        free(h);
    }
    /* flip one character of the header */
    tok[5] = tok[5] == 'A' ? 'B' : 'A';
    refuse(a, tok, NOW, NULL);
    free(tok);
    ldr_auth_free(a);
}

Test(auth, alg_none)
{
    ldr_auth_t *a = auth_for(SECRET);
    const char *headers[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"none\"}",
                             "{\"alg\":\"None\",\"typ\":\"JWT\"}", "{\"alg\":\"NONE\"}"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(headers); i++) {
        /* the classic: no signature at all */
        char *tok = build(SECRET, headers[i], GOOD_CLAIMS, "");
        refuse(a, tok, NOW, "alg is not HS256");
        free(tok);
        /* with a signature: a valid HMAC-SHA256 under our own secret, and garbage */
        tok = build(SECRET, headers[i], GOOD_CLAIMS, NULL);
        refuse(a, tok, NOW, "alg is not HS256");
        free(tok);
        tok = build(SECRET, headers[i], GOOD_CLAIMS, "c2lnbmF0dXJl");
        refuse(a, tok, NOW, "alg is not HS256");
        free(tok);
    }
    /* and without the trailing dot */
    char *tok = build(SECRET, headers[0], GOOD_CLAIMS, "");
    tok[strlen(tok) - 1] = '\0';
    refuse(a, tok, NOW, "not three segments");
    free(tok);
    ldr_auth_free(a);
}

Test(auth, other_hmac_algorithms_under_the_same_secret)
{
    ldr_auth_t *a = auth_for(SECRET);
    jwt_alg_t algs[] = {JWT_ALG_HS384, JWT_ALG_HS512};
    for (size_t i = 0; i < 2; i++) {
        char *tok = libjwt_token(algs[i]);
        /* libjwt 1.10 alone would take it: it verifies with whatever alg the header names */
        jwt_t *j = NULL;
        cr_assert_eq(jwt_decode(&j, tok, (const unsigned char *)SECRET, 32), 0);
        jwt_free(j);
        refuse(a, tok, NOW, "alg is not HS256");
        free(tok);
    }
    /* the same path with HS256 is accepted, so the refusal above is about the algorithm */
    char *tok = libjwt_token(JWT_ALG_HS256);
    cr_assert_eq(verify_ok(a, tok, NOW).role, LDR_ROLE_ADMIN);
    free(tok);
    ldr_auth_free(a);
}

Test(auth, headers_that_are_not_exactly_hs256)
{
    ldr_auth_t *a = auth_for(SECRET);
    static const struct {
        const char *header, *reason;
    } cases[] = {
        {"{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "alg is not HS256"},
        {"{\"alg\":\"ES256\"}", "alg is not HS256"},
        {"{\"alg\":\"hs256\"}", "alg is not HS256"}, /* libjwt compares without case */
        {"{\"alg\":\"HS256 \"}", "alg is not HS256"},
        {"{\"alg\":\"HS\\u0032\\u0035\\u0036\"}", "alg is not HS256"},
        {"{\"alg\":[\"HS256\"]}", "alg is not HS256"},
        {"{\"alg\":null}", "alg is not HS256"},
        {"{\"typ\":\"JWT\"}", "alg is not HS256"},
        {"{\"alg\":\"HS256\",\"alg\":\"none\"}", "duplicate key"}, /* jansson keeps the last */
        {"{\"alg\":\"HS256\",\"\\u0061lg\":\"none\"}", "duplicate key"},
        {"{\"alg\":\"HS256\",\"typ\":\"JWS\"}", "typ is not JWT"},
        {"{\"alg\":\"HS256\",\"typ\":\"jwt\"}", "typ is not JWT"},
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "crit"},
        {"[\"HS256\"]", "not an object"},
        {"\"HS256\"", "not an object"},
        {"{\"alg\":\"HS256\"", "not JSON"},
        {"{\"alg\":\"HS256\"}x", "not JSON"},
        {"", "empty header"},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cases); i++) {
        char *tok = build(SECRET, cases[i].header, GOOD_CLAIMS, NULL);
        refuse(a, tok, NOW, cases[i].reason);
        free(tok);
    }
    /* a header too big for its tokens: 17 members */
    char big[512] = "{\"alg\":\"HS256\"";
    for (int i = 0; i < 16; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), ",\"k%d\":%d", i, i);
    strcat(big, "}");
    char *tok = build(SECRET, big, GOOD_CLAIMS, NULL);
    refuse(a, tok, NOW, "too big");
    free(tok);
    ldr_auth_free(a);
}

Test(auth, expired_and_clock_skew)
{
    ldr_auth_t *a = auth_for(SECRET);
    char *tok = mint(a, LDR_ROLE_CUSTOMER, "usr-1", NOW - 7200, 3600);
    refuse(a, tok, NOW, "expired");
    free(tok);
    /* minted on a clock 60 s ahead is fine, 61 s is not */
    tok = mint(a, LDR_ROLE_CUSTOMER, "usr-1", NOW + 60, 3600);
    verify_ok(a, tok, NOW);
    free(tok);
    tok = mint(a, LDR_ROLE_CUSTOMER, "usr-1", NOW + 61, 3600);
    refuse(a, tok, NOW, "issued in the future");
    free(tok);
    tok = mint(a, LDR_ROLE_CUSTOMER, "usr-1", NOW + 86400, 3600);
    refuse(a, tok, NOW, "issued in the future");
    free(tok);
    struct {
        const char *claims, *reason;
    } cases[] = {
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795564800}", "expired"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564700,\"exp\":1795564700}", "expired"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564860,\"exp\":1795564830}",
         "exp not after iat"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400,"
         "\"nbf\":1795564861}",
         "nbf"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400,"
         "\"nbf\":\"0\"}",
         "nbf is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":-9223372036854775807,"
         "\"exp\":9223372036854775807}",
         "not an integer"},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cases); i++) {
        tok = signed_claims(cases[i].claims);
        refuse(a, tok, NOW, cases[i].reason);
        free(tok);
    }
    ldr_auth_free(a);
}

Test(auth, missing_and_mistyped_claims)
{
    ldr_auth_t *a = auth_for(SECRET);
    struct {
        const char *claims, *reason;
    } cases[] = {
        {"{\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", "no sub"},
        {"{\"sub\":\"u\",\"iat\":1795564800,\"exp\":1795568400}", "no role"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800}", "no exp"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"exp\":1795568400}", "no iat"},
        {"{}", "no sub"},
        {"{\"sub\":42,\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", "no sub"},
        {"{\"sub\":\"u\",\"role\":1,\"iat\":1795564800,\"exp\":1795568400}", "no role"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":\"1795568400\"}",
         "exp is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400.0}",
         "exp is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1.7955684e9}",
         "exp is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":null}",
         "exp is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":true,\"exp\":1795568400}",
         "iat is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"admin\",\"iat\":\"0\",\"exp\":1795568400}",
         "iat is not an integer"},
        {"{\"sub\":\"u\",\"role\":\"root\",\"iat\":1795564800,\"exp\":1795568400}", "unknown role"},
        {"{\"sub\":\"u\",\"role\":\"Admin\",\"iat\":1795564800,\"exp\":1795568400}",
         "unknown role"},
        {"{\"sub\":\"u\",\"role\":\"admin \",\"iat\":1795564800,\"exp\":1795568400}",
         "unknown role"},
        {"{\"sub\":\"u\",\"role\":\"\",\"iat\":1795564800,\"exp\":1795568400}", "unknown role"},
        {"{\"sub\":\"\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", "bad sub"},
        {"{\"sub\":\"a b\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", "bad sub"},
        {"{\"sub\":\"a\\\"b\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}",
         "bad sub"},
        {"{\"sub\":\"a\\nb\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", "bad sub"},
        {"{\"sub\":\"\\u00e9\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}",
         "bad sub"},
        {"[1,2]", "no sub"},
        {"not json", "refused by libjwt"},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cases); i++) {
        char *tok = signed_claims(cases[i].claims);
        refuse(a, tok, NOW, cases[i].reason);
        free(tok);
    }
    /* subjects of 128 bytes pass, 129 do not */
    char claims[512], sub[130];
    memset(sub, 'x', 129);
    sub[128] = '\0';
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"%s\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", sub);
    char *tok = signed_claims(claims);
    cr_assert_str_eq(verify_ok(a, tok, NOW).sub, sub);
    free(tok);
    sub[128] = 'x', sub[129] = '\0';
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"%s\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400}", sub);
    tok = signed_claims(claims);
    refuse(a, tok, NOW, "bad sub");
    free(tok);
    ldr_auth_free(a);
}

Test(auth, malformed_and_hostile_input)
{
    ldr_auth_t *a = auth_for(SECRET);
    const char *garbage[] = {"",
                             "a",
                             ".",
                             "..",
                             "...",
                             "a.b",
                             "a.b.c",
                             "a..c",
                             ".b.c",
                             "a.b.c.d",
                             "!!!",
                             "Bearer x.y.z",
                             "eyJhbGciOiJIUzI1NiJ9",
                             "eyJhbGciOiJIUzI1NiJ9.e30",
                             "eyJhbGciOiJIUzI1NiJ9.e30.",
                             "eyJhbGciOiJIUzI1NiJ9.e30.x",
                             "eyJhbGciOiJIUzI1NiJ9=.e30.x",
                             "eyJhbGciOiJIUzI1NiJ9+.e30.x",
                             "eyJhbGciOiJIUzI1NiJ9 .e30.x",
                             "e.e30.x",
                             "\xff\xfe.\xff.\xff"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(garbage); i++)
        refuse(a, garbage[i], NOW, NULL);
    refuse_n(a, NULL, 0, NOW, "empty");

    /* 5000 bytes: refused unread, whatever they are */
    char *big = malloc(5001);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    refuse(a, big, NOW, "too long");
    char *tok = mint(a, LDR_ROLE_ADMIN, "usr-1", NOW, 3600);
    memcpy(big, tok, strlen(tok)); /* a real token followed by filler */
    refuse(a, big, NOW, "too long");
    /* a well-formed token of 4097 bytes (a long claim) is refused; one of 4096 is read */
    char claims[4096];
    int n = snprintf(claims, sizeof(claims),
                     "{\"sub\":\"u\",\"role\":\"admin\",\"iat\":1795564800,\"exp\":1795568400,"
                     "\"pad\":\"");
    bool saw_max = false;
    for (size_t want = 2900; want < 3100; want++) {
        memset(claims + n, 'p', want), memcpy(claims + n + want, "\"}", 3);
        char *t = signed_claims(claims);
        size_t len = strlen(t);
        if (len == 4096)
            verify_ok(a, t, NOW), saw_max = true;
        else if (len > 4096)
            refuse(a, t, NOW, "too long");
        free(t);
    }
    cr_assert(saw_max, "no token of exactly 4096 bytes was tried");
    free(big);

    /* embedded NUL: inside the token, or after it within len */
    size_t len = strlen(tok);
    char *buf = malloc(len + 8);
    memcpy(buf, tok, len + 1);
    buf[20] = '\0';
    refuse_n(a, buf, len, NOW, "not base64url");
    memcpy(buf, tok, len + 1);
    memcpy(buf + len, "\0abc", 4);
    refuse_n(a, buf, len + 4, NOW, "not base64url");
    /* len is honoured: no NUL needed at the end, and a byte short is refused */
    memcpy(buf, tok, len);
    memcpy(buf + len, ".xyz", 4);
    verify_ok(a, tok, NOW);
    cr_assert_eq(ldr_token_verify(a, buf, len, NOW, &(ldr_principal_t){0}), LDR_OK);
    refuse_n(a, buf, len - 1, NOW, NULL);
    refuse_n(a, buf, len + 4, NOW, "not three segments");
    free(buf), free(tok);
    ldr_auth_free(a);
}

Test(auth, every_single_byte_change_is_refused)
{
    ldr_auth_t *a = auth_for(SECRET);
    char *tok = mint(a, LDR_ROLE_SERVICE, "svc-payments", NOW, 3600);
    size_t len = strlen(tok);
    static const unsigned char subst[] = {'A', 'B', 'Q', 'g', 'w', '0',  '-',
                                          '_', '.', '=', ' ', 0,   0x80, 0xff};
    int tried = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof(subst); k++) {
            if ((unsigned char)tok[i] == subst[k])
                continue;
            char saved = tok[i];
            tok[i] = (char)subst[k];
            refuse_n(a, tok, len, NOW, NULL);
            tok[i] = saved;
            tried++;
        }
    cr_assert_gt(tried, 1000);
    verify_ok(a, tok, NOW); /* restored */
    free(tok);
    ldr_auth_free(a);
}

Test(auth, mint_checks_its_arguments)
{
    ldr_auth_t *a = auth_for(SECRET);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "keep");
    cr_assert_eq(ldr_token_mint(a, 0, "u", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, (ldr_role_t)4, "u", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "a b", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "a\"b", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "a\\b", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "caf\xc3\xa9", NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, NULL, NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(NULL, LDR_ROLE_ADMIN, "u", NOW, 60, &b), LDR_EINVAL);
    char sub[200];
    memset(sub, 'x', sizeof(sub) - 1);
    sub[sizeof(sub) - 1] = '\0';
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, sub, NOW, 60, &b), LDR_EINVAL);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "u", NOW, 0, &b), LDR_ERANGE);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "u", NOW, -5, &b), LDR_ERANGE);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "u", NOW, LDR_TOKEN_TTL_MAX + 1, &b),
                 LDR_ERANGE);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "u", -1, 60, &b), LDR_ERANGE);
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "u", INT64_MAX - 10, 60, &b), LDR_ERANGE);
    cr_assert_eq(b.len, 4, "out changed on failure");
    /* appends after what is there */
    cr_assert_eq(ldr_token_mint(a, LDR_ROLE_ADMIN, "u", NOW, LDR_TOKEN_TTL_MAX, &b), LDR_OK);
    cr_assert(b.len > 4 && memcmp(b.base, "keep", 4) == 0);
    ldr_principal_t p;
    cr_assert_eq(ldr_token_verify(a, b.base + 4, b.len - 4, NOW, &p), LDR_OK);
    cr_assert_eq(p.exp, NOW + LDR_TOKEN_TTL_MAX);
    ldr_buf_free(&b);
    ldr_auth_free(a);
}

Test(auth, secrets)
{
    ldr_auth_t *a = (ldr_auth_t *)(uintptr_t)1;
    cr_assert_eq(ldr_auth_new(SECRET, 31, &a), LDR_EINVAL);
    cr_assert_eq(ldr_auth_new(SECRET, 0, &a), LDR_EINVAL);
    cr_assert_eq(ldr_auth_new(NULL, 32, &a), LDR_EINVAL);
    char huge[LDR_AUTH_SECRET_MAX + 1];
    memset(huge, 's', sizeof(huge));
    cr_assert_eq(ldr_auth_new(huge, sizeof(huge), &a), LDR_EINVAL);
    cr_assert_eq(a, (ldr_auth_t *)(uintptr_t)1, "*out written on failure");
    cr_assert_eq(ldr_auth_new(huge, LDR_AUTH_SECRET_MAX, &a), LDR_OK);
    ldr_auth_free(a);
    cr_assert_eq(ldr_auth_new(SECRET, 32, &a), LDR_OK);
    ldr_auth_free(a);
    ldr_auth_free(NULL);
    /* a secret that differs in its last byte is another secret */
    ldr_auth_t *x = auth_for(SECRET), *y = auth_for("0123456789abcdef0123456789abcdeF");
    char *tok = mint(x, LDR_ROLE_ADMIN, "u", NOW, 60);
    refuse(y, tok, NOW, "bad signature");
    free(tok);
    ldr_auth_free(x), ldr_auth_free(y);
    cr_assert_eq(ldr_token_verify(NULL, "a.b.c", 5, NOW, &(ldr_principal_t){0}), LDR_EINVAL);
}

Test(auth, random_secret_is_printed_as_the_secret_itself)
{
    char hex[LDR_AUTH_RANDOM_HEX_LEN + 1], hex2[LDR_AUTH_RANDOM_HEX_LEN + 1];
    ldr_auth_t *r, *r2;
    cr_assert_eq(ldr_auth_new_random(&r, hex, LDR_AUTH_RANDOM_HEX_LEN), LDR_EINVAL);
    cr_assert_eq(ldr_auth_new_random(&r, NULL, 100), LDR_EINVAL);
    cr_assert_eq(ldr_auth_new_random(&r, hex, sizeof(hex)), LDR_OK);
    cr_assert_eq(ldr_auth_new_random(&r2, hex2, sizeof(hex2)), LDR_OK);
    cr_assert_eq(strlen(hex), 64);
    cr_assert_eq(strspn(hex, "0123456789abcdef"), 64, "%s", hex);
    cr_assert_str_neq(hex, hex2);
    /* LARDER_JWT_SECRET=<hex> mints what the random auth accepts, and the other way round */
    ldr_auth_t *op = auth_for(hex);
    char *tok = mint(op, LDR_ROLE_ADMIN, "ops", NOW, 60);
    verify_ok(r, tok, NOW);
    refuse(r2, tok, NOW, "bad signature");
    free(tok);
    tok = mint(r, LDR_ROLE_CUSTOMER, "c", NOW, 60);
    verify_ok(op, tok, NOW);
    free(tok);
    ldr_auth_free(op), ldr_auth_free(r), ldr_auth_free(r2);
}

Test(auth, roles)
{
    ldr_role_t r = 0;
    cr_assert_str_eq(ldr_role_name(LDR_ROLE_CUSTOMER), "customer");
    cr_assert_str_eq(ldr_role_name(LDR_ROLE_ADMIN), "admin");
    cr_assert_str_eq(ldr_role_name(LDR_ROLE_SERVICE), "service");
    cr_assert_str_eq(ldr_role_name(0), "unknown");
    cr_assert_str_eq(ldr_role_name((ldr_role_t)99), "unknown");
    cr_assert_eq(ldr_role_parse("admin", 5, &r), LDR_OK);
    cr_assert_eq(r, LDR_ROLE_ADMIN);
    cr_assert_eq(ldr_role_parse("service", 7, &r), LDR_OK);
    cr_assert_eq(r, LDR_ROLE_SERVICE);
    cr_assert_eq(ldr_role_parse("customerX", 8, &r), LDR_OK); /* len bounds the name */
    cr_assert_eq(r, LDR_ROLE_CUSTOMER);
    r = 0;
    const char *bad[] = {"Admin", "admin ", "adm", "", "unknown", "root"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad); i++)
        cr_assert_eq(ldr_role_parse(bad[i], strlen(bad[i]), &r), LDR_EINVAL, "%s", bad[i]);
    cr_assert_eq(ldr_role_parse("admin", 5, NULL), LDR_EINVAL);
    cr_assert_eq(r, 0);
}

Test(auth, bearer)
{
    static const struct {
        const char *value, *token;
    } good[] = {
        {"Bearer abc.def.ghi", "abc.def.ghi"},
        {"bearer abc", "abc"},
        {"BEARER abc", "abc"},
        {"bEaReR    abc", "abc"},
        {"Bearer a-b_c.d~e+f/g==", "a-b_c.d~e+f/g=="},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(good); i++) {
        const char *t = NULL;
        size_t n = 0;
        int rc = ldr_auth_bearer(good[i].value, strlen(good[i].value), &t, &n);
        cr_assert_eq(rc, LDR_OK, "\"%s\"", good[i].value);
        cr_assert_eq(n, strlen(good[i].token), "\"%s\"", good[i].value);
        cr_assert(memcmp(t, good[i].token, n) == 0, "\"%s\"", good[i].value);
        cr_assert(t >= good[i].value && t + n == good[i].value + strlen(good[i].value));
    }
    static const char *const bad[] = {"",
                                      "Bearer",
                                      "Bearer ",
                                      "Bearer    ",
                                      "Bearerabc",
                                      "Bearer\tabc",
                                      " Bearer abc",
                                      "Basic dXNlcjpwYXNz",
                                      "Bearer abc ",
                                      "Bearer abc def",
                                      "Bearer a=b",
                                      "Bearer =",
                                      "Bearer a\"b",
                                      "Bearer a,b",
                                      "Bearer= abc",
                                      "Bearers abc",
                                      "Bearer \xc3\xa9"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad); i++) {
        const char *t = (const char *)(uintptr_t)1;
        size_t n = 7;
        cr_assert_eq(ldr_auth_bearer(bad[i], strlen(bad[i]), &t, &n), LDR_EINVAL, "\"%s\"", bad[i]);
        cr_assert(t == (const char *)(uintptr_t)1 && n == 7, "written on failure: \"%s\"", bad[i]);
    }
    /* the length is honoured: a NUL or more bytes after len do not count */
    const char *t;
    size_t n;
    cr_assert_eq(ldr_auth_bearer("Bearer abc\0def", 14, &t, &n), LDR_EINVAL);
    cr_assert_eq(ldr_auth_bearer("Bearer abc def", 10, &t, &n), LDR_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(ldr_auth_bearer(NULL, 0, &t, &n), LDR_EINVAL);
    cr_assert_eq(ldr_auth_bearer("Bearer abc", 10, NULL, &n), LDR_EINVAL);
}

Test(auth, sub_validity)
{
    cr_assert(ldr_token_sub_valid("usr-1", 5));
    cr_assert(ldr_token_sub_valid("a@b.example", 11));
    cr_assert(ldr_token_sub_valid("o'brien", 7));
    cr_assert_not(ldr_token_sub_valid("", 0));
    cr_assert_not(ldr_token_sub_valid(NULL, 3));
    cr_assert_not(ldr_token_sub_valid("a b", 3));
    cr_assert_not(ldr_token_sub_valid("a\"b", 3));
    cr_assert_not(ldr_token_sub_valid("a\\b", 3));
    cr_assert_not(ldr_token_sub_valid("a\x7f", 2));
    cr_assert_not(ldr_token_sub_valid("a\0b", 3));
}
