/*
 * Access tokens: HS256 JWTs, minted with libjwt and verified behind our own gate.
 *
 * Minting is plain libjwt: jwt_new, the claims sub, role, iat and exp, jwt_set_alg(HS256) and
 * jwt_encode_str.
 *
 * Verifying cannot be left to libjwt 1.10 (Debian bookworm's 1.10.2) when the token comes from a
 * stranger:
 *   - jwt_decode believes the header.  It verifies with whatever "alg" names, compared without
 *     regard to case, so HS384 and HS512 tokens signed with our secret pass; "none" passes
 *     whenever the key is NULL or empty; an RS or ES alg makes it read our secret as a PEM key.
 *     1.10 cannot pin the algorithm, and jansson keeps the last of duplicate "alg" keys.
 *   - Its base64 decoding (libb64 in Debian's build) writes a byte past a malloc(0) for an empty
 *     header or payload segment (valgrind shows it), sizes alloca() by the token, and is lenient
 *     about bytes outside the alphabet.
 *   - It never looks at exp, iat or nbf, and jwt_get_grant_int() answers -1 for a missing claim
 *     and 0 for a string or real one, so a claim's type cannot be read from it.
 * So ldr_token_verify checks, itself and strictly, everything a token's author controls before
 * libjwt sees a byte: the length, three non-empty segments of canonical unpadded base64url, a
 * header that is one JSON object (larder/json.h) without duplicate keys whose alg is exactly
 * "HS256", and the HMAC-SHA256 of "header.payload", computed with libsodium from a state keyed once
 * per secret and compared in constant time.  Only a token that passes all of that, which is to say
 * one minted with our secret, reaches jwt_decode, which checks the MAC a second time and parses
 * the claims.  We then require jwt_get_alg() to be HS256 and check each claim's type through
 * jwt_get_grants_json(), and its value against `now`.
 *
 * Every failure is one status, LDR_EAUTH, so a caller cannot leak which check failed; the reason
 * is a static phrase for logs (ldr_token_verify_why).
 */
#include "larder/auth.h"

#include <errno.h>
#include <jwt.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "larder/json.h"

/* An HMAC-SHA256 tag is 32 bytes: 43 characters of unpadded base64url. */
#define LDR__MAC_LEN     32
#define LDR__MAC_B64_LEN 43
/* A header needs a handful of tokens; 33 also bounds an object to 16 members, which
 * ldr_json_dup_key checks pairwise without scratch memory. */
#define LDR__HEADER_TOKS 33

struct ldr_auth {
    crypto_auth_hmacsha256_state mac; /* keyed with the secret once; copied for each token */
    size_t len;
    unsigned char secret[]; /* for libjwt, which wants the key itself */
};

static const char *const ldr__role_names[] = {NULL, "customer", "admin", "service"};

const char *ldr_role_name(ldr_role_t role)
{
    return role >= LDR_ROLE_CUSTOMER && role <= LDR_ROLE_SERVICE ? ldr__role_names[role]
                                                                 : "unknown";
}

int ldr_role_parse(const char *s, size_t len, ldr_role_t *out)
{
    if (s == NULL || out == NULL)
        return LDR_EINVAL;
    for (int r = LDR_ROLE_CUSTOMER; r <= LDR_ROLE_SERVICE; r++)
        if (strlen(ldr__role_names[r]) == len && memcmp(ldr__role_names[r], s, len) == 0) {
            *out = (ldr_role_t)r;
            return LDR_OK;
        }
    return LDR_EINVAL;
}

bool ldr_token_sub_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > LDR_TOKEN_SUB_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static ldr_auth_t *ldr__auth_make(const void *secret, size_t len)
{
    ldr_auth_t *a = ldr_malloc(sizeof(*a) + len);
    a->len = len;
    memcpy(a->secret, secret, len);
    crypto_auth_hmacsha256_init(&a->mac, a->secret, len);
    return a;
}

int ldr_auth_new(const void *secret, size_t len, ldr_auth_t **out)
{
    if (secret == NULL || out == NULL || len < LDR_AUTH_SECRET_MIN || len > LDR_AUTH_SECRET_MAX)
        return LDR_EINVAL;
    if (sodium_init() < 0)
        return LDR_EIO;
    *out = ldr__auth_make(secret, len);
    return LDR_OK;
}

int ldr_auth_new_random(ldr_auth_t **out, char *hex_out, size_t hex_cap)
{
    unsigned char raw[LDR_AUTH_RANDOM_HEX_LEN / 2];
    char hex[LDR_AUTH_RANDOM_HEX_LEN + 1];
    if (out == NULL || hex_out == NULL || hex_cap < sizeof(hex))
        return LDR_EINVAL;
    if (sodium_init() < 0)
        return LDR_EIO;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    /* the hex text is the secret, so that LARDER_JWT_SECRET=<hex> names the same key */
    *out = ldr__auth_make(hex, LDR_AUTH_RANDOM_HEX_LEN);
    memcpy(hex_out, hex, sizeof(hex));
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(hex, sizeof(hex));
    return LDR_OK;
}

void ldr_auth_free(ldr_auth_t *a)
{
    if (a == NULL)
        return;
    sodium_memzero(a, sizeof(*a) + a->len);
    ldr_free(a);
}

int ldr_token_mint(const ldr_auth_t *a, ldr_role_t role, const char *sub, int64_t now,
                   int64_t ttl_seconds, ldr_buf_t *out)
{
    if (a == NULL || sub == NULL || out == NULL || role < LDR_ROLE_CUSTOMER ||
        role > LDR_ROLE_SERVICE || !ldr_token_sub_valid(sub, strnlen(sub, LDR_TOKEN_SUB_MAX + 1)))
        return LDR_EINVAL;
    /* libjwt keeps integer claims in a long */
    if (now < 0 || ttl_seconds < 1 || ttl_seconds > LDR_TOKEN_TTL_MAX ||
        now > (int64_t)LONG_MAX - ttl_seconds)
        return LDR_ERANGE;
    jwt_t *jwt = NULL;
    char *s = NULL;
    int err = jwt_new(&jwt);
    if (err == 0)
        err = jwt_add_grant(jwt, "sub", sub);
    if (err == 0)
        err = jwt_add_grant(jwt, "role", ldr_role_name(role));
    if (err == 0)
        err = jwt_add_grant_int(jwt, "iat", (long)now);
    if (err == 0)
        err = jwt_add_grant_int(jwt, "exp", (long)(now + ttl_seconds));
    if (err == 0)
        err = jwt_set_alg(jwt, JWT_ALG_HS256, a->secret, (int)a->len);
    if (err == 0 && (s = jwt_encode_str(jwt)) == NULL)
        err = errno != 0 ? errno : ENOMEM;
    if (err == 0)
        ldr_buf_append(out, s, strlen(s));
    free(s); /* libjwt 1.10 has no jwt_free_str(); its strings come from malloc */
    jwt_free(jwt);
    return err == 0 ? LDR_OK : err == ENOMEM ? LDR_ENOMEM : LDR_EINVAL;
}

static inline bool ldr__b64url_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Unpadded base64url, strictly: libsodium refuses stray bytes, a dangling sixth of a byte and
 * non-zero trailing bits, so each byte string has exactly one accepted spelling. */
static bool ldr__b64url_decode(const char *src, size_t n, unsigned char *dst, size_t cap,
                               size_t *len)
{
    return sodium_base642bin(dst, cap, src, n, NULL, len, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0;
}

/* True if token t is a string written exactly as s, without escapes. */
static bool ldr__json_is(const ldr_json_t *doc, uint32_t t, const char *s)
{
    return ldr_json_type(doc, t) == LDR_JSON_STRING && !(doc->toks[t].flags & LDR_JSON_ESCAPED) &&
           ldr_str_eq(ldr_json_raw(doc, t), s, strlen(s));
}

static const char *ldr__check_header(const unsigned char *h, size_t n)
{
    ldr_json_tok_t toks[LDR__HEADER_TOKS];
    ldr_json_t doc;
    ldr_json_err_t jerr;
    if (ldr_json_parse(&doc, (const char *)h, n, toks, LDR__HEADER_TOKS, &jerr) != LDR_OK)
        return "header is not JSON, or too big";
    if (ldr_json_type(&doc, 0) != LDR_JSON_OBJECT)
        return "header is not an object";
    ldr_buf_t scratch = LDR_BUF_INIT;
    uint32_t dup = ldr_json_dup_key(&doc, 0, &scratch);
    ldr_buf_free(&scratch);
    if (dup != LDR_JSON_NONE)
        return "duplicate key in header";
    uint32_t alg = ldr_json_get(&doc, 0, "alg", 3), typ = ldr_json_get(&doc, 0, "typ", 3);
    if (alg == LDR_JSON_NONE || !ldr__json_is(&doc, alg, "HS256"))
        return "alg is not HS256";
    if (typ != LDR_JSON_NONE && !ldr__json_is(&doc, typ, "JWT"))
        return "typ is not JWT";
    if (ldr_json_get(&doc, 0, "crit", 4) != LDR_JSON_NONE)
        return "crit in header";
    return NULL;
}

/*
 * An integer claim: LDR_OK, LDR_ENOENT when absent, LDR_EINVAL otherwise.  Presence comes from
 * jwt_get_grant_int's ENOENT; the value from the claim's JSON text, since jwt_get_grant_int reads
 * "123", 1.5e9 and true as 0.  Eighteen digits cannot overflow.
 */
static int ldr__claim_i64(jwt_t *jwt, const char *name, int64_t *out)
{
    errno = 0;
    (void)jwt_get_grant_int(jwt, name);
    if (errno == ENOENT)
        return LDR_ENOENT;
    char *js = jwt_get_grants_json(jwt, name);
    if (js == NULL)
        return LDR_EINVAL;
    const char *p = js + (js[0] == '-');
    size_t digits = strspn(p, "0123456789");
    int rc = LDR_EINVAL;
    if (digits >= 1 && digits <= 18 && p[digits] == '\0') {
        int64_t v = 0;
        for (size_t i = 0; i < digits; i++)
            v = v * 10 + (p[i] - '0');
        *out = js[0] == '-' ? -v : v;
        rc = LDR_OK;
    }
    free(js);
    return rc;
}

/* True if t lies more than LDR_TOKEN_LEEWAY seconds after now (without overflow). */
static bool ldr__too_late(int64_t t, int64_t now)
{
    return t > now && (uint64_t)t - (uint64_t)now > LDR_TOKEN_LEEWAY;
}

static const char *ldr__check_claims(jwt_t *jwt, int64_t now, ldr_principal_t *p)
{
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        return "alg is not HS256";
    const char *sub = jwt_get_grant(jwt, "sub"), *role = jwt_get_grant(jwt, "role");
    if (sub == NULL)
        return "no sub (or not a string)";
    size_t sub_len = strnlen(sub, LDR_TOKEN_SUB_MAX + 1);
    if (!ldr_token_sub_valid(sub, sub_len))
        return "bad sub";
    ldr_role_t r;
    if (role == NULL)
        return "no role (or not a string)";
    if (ldr_role_parse(role, strlen(role), &r) != LDR_OK)
        return "unknown role";
    int64_t iat, exp, nbf;
    int rc = ldr__claim_i64(jwt, "exp", &exp);
    if (rc != LDR_OK)
        return rc == LDR_ENOENT ? "no exp" : "exp is not an integer";
    rc = ldr__claim_i64(jwt, "iat", &iat);
    if (rc != LDR_OK)
        return rc == LDR_ENOENT ? "no iat" : "iat is not an integer";
    rc = ldr__claim_i64(jwt, "nbf", &nbf);
    if (rc != LDR_OK && rc != LDR_ENOENT)
        return "nbf is not an integer";
    if (exp <= now)
        return "expired";
    if (ldr__too_late(iat, now))
        return "issued in the future";
    if (exp <= iat)
        return "exp not after iat";
    if (rc == LDR_OK && ldr__too_late(nbf, now))
        return "not valid yet (nbf)";
    p->role = r;
    memcpy(p->sub, sub, sub_len);
    p->sub[sub_len] = '\0';
    p->exp = exp;
    return NULL;
}

static const char *ldr__verify(const ldr_auth_t *a, const char *token, size_t len, int64_t now,
                               ldr_principal_t *p)
{
    if (token == NULL || len == 0)
        return "empty";
    if (len > LDR_TOKEN_LEN_MAX)
        return "too long";
    size_t dot[2], ndots = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots == 2)
                return "not three segments";
            dot[ndots++] = i;
        } else if (!ldr__b64url_byte((unsigned char)token[i])) {
            return "not base64url";
        }
    }
    if (ndots != 2)
        return "not three segments";
    const char *payload = token + dot[0] + 1, *sig_b64 = token + dot[1] + 1;
    size_t head_len = dot[0], payload_len = dot[1] - dot[0] - 1, sig_len = len - dot[1] - 1, n;
    if (head_len == 0 || payload_len == 0)
        return "empty header or payload";

    unsigned char buf[LDR_TOKEN_LEN_MAX / 4 * 3], mac[LDR__MAC_LEN], sig[LDR__MAC_LEN];
    if (!ldr__b64url_decode(token, head_len, buf, sizeof(buf), &n))
        return "bad header encoding";
    const char *bad = ldr__check_header(buf, n);
    if (bad != NULL)
        return bad;
    if (!ldr__b64url_decode(payload, payload_len, buf, sizeof(buf), &n))
        return "bad payload encoding";
    if (sig_len != LDR__MAC_B64_LEN ||
        !ldr__b64url_decode(sig_b64, sig_len, sig, sizeof(sig), &n) || n != LDR__MAC_LEN)
        return "signature is not 32 bytes of base64url";

    crypto_auth_hmacsha256_state st = a->mac;
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, dot[1]);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
    if (sodium_memcmp(mac, sig, LDR__MAC_LEN) != 0)
        return "bad signature";

    /* Authentic, so ours: from here on libjwt may read it. */
    char copy[LDR_TOKEN_LEN_MAX + 1];
    memcpy(copy, token, len);
    copy[len] = '\0';
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, copy, a->secret, (int)a->len) != 0)
        return "refused by libjwt";
    bad = ldr__check_claims(jwt, now, p);
    jwt_free(jwt);
    return bad;
}

int ldr_token_verify_why(const ldr_auth_t *a, const char *token, size_t len, int64_t now,
                         ldr_principal_t *out, const char **why)
{
    if (a == NULL || out == NULL) {
        if (why != NULL)
            *why = "no secret or no output";
        return LDR_EINVAL;
    }
    ldr_principal_t p;
    const char *bad = ldr__verify(a, token, len, now, &p);
    if (why != NULL)
        *why = bad;
    if (bad != NULL)
        return LDR_EAUTH;
    *out = p;
    return LDR_OK;
}

int ldr_token_verify(const ldr_auth_t *a, const char *token, size_t len, int64_t now,
                     ldr_principal_t *out)
{
    return ldr_token_verify_why(a, token, len, now, out, NULL);
}

/* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then *"=". */
static inline bool ldr__b64token_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int ldr_auth_bearer(const char *header_value, size_t len, const char **token, size_t *token_len)
{
    static const char scheme[] = "bearer";
    const size_t slen = sizeof(scheme) - 1;
    if (header_value == NULL || token == NULL || token_len == NULL || len < slen + 2)
        return LDR_EINVAL;
    for (size_t i = 0; i < slen; i++) {
        unsigned char c = (unsigned char)header_value[i];
        if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) != (unsigned char)scheme[i])
            return LDR_EINVAL;
    }
    size_t p = slen;
    if (header_value[p] != ' ')
        return LDR_EINVAL;
    while (p < len && header_value[p] == ' ')
        p++;
    size_t start = p;
    while (p < len && ldr__b64token_byte((unsigned char)header_value[p]))
        p++;
    if (p == start)
        return LDR_EINVAL;
    while (p < len && header_value[p] == '=')
        p++;
    if (p != len)
        return LDR_EINVAL;
    *token = header_value + start;
    *token_len = len - start;
    return LDR_OK;
}
