/*
 * larder — access tokens: HS256 JSON Web Tokens for `Authorization: Bearer` and `larder token`.
 *
 * A token is a compact JWS (RFC 7515) signed with HMAC-SHA256 under one server secret
 * (LARDER_JWT_SECRET).  Its header is {"alg":"HS256","typ":"JWT"}; its claims are
 *
 *     sub   who: a user id or a service name (see ldr_token_sub_valid)
 *     role  "customer", "admin" or "service"
 *     iat   issued at, seconds since the Unix epoch
 *     exp   expires at, seconds since the Unix epoch, after iat
 *
 * Verification trusts no byte of a token before its MAC is checked and accepts no algorithm but
 * HS256, whatever the header says; the essay at the top of shell/auth.c explains why libjwt alone
 * is not enough for that.
 *
 * Threads: an ldr_auth_t never changes once made; any number of threads may mint and verify with
 * one at once.
 */
#ifndef LARDER_AUTH_H
#define LARDER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/buf.h"
#include "larder/common.h"

/** A secret shorter than this many bytes is refused (256 bits, the size of the HS256 key). */
#define LDR_AUTH_SECRET_MIN 32
/** A secret longer than this many bytes is refused. */
#define LDR_AUTH_SECRET_MAX 1024
/** Hex digits ldr_auth_new_random writes (hex_cap must be at least one more, for the NUL). */
#define LDR_AUTH_RANDOM_HEX_LEN 64
/** The longest token ldr_token_verify looks at; longer ones fail unread. */
#define LDR_TOKEN_LEN_MAX 4096
/** The longest subject, in bytes. */
#define LDR_TOKEN_SUB_MAX 128
/** The longest lifetime ldr_token_mint gives a token: one year, in seconds. */
#define LDR_TOKEN_TTL_MAX 31536000
/** How far in the future iat (and nbf, when present) may lie: clock skew between hosts. */
#define LDR_TOKEN_LEEWAY 60

/** Who a token speaks for.  Zero is no role, so a zeroed principal authorises nothing. */
typedef enum ldr_role {
    LDR_ROLE_CUSTOMER = 1,
    LDR_ROLE_ADMIN,
    LDR_ROLE_SERVICE,
} ldr_role_t;

/**
 * The claim value of a role ("customer", "admin", "service"); "unknown" for anything else.  Never
 * NULL, static storage.
 */
const char *ldr_role_name(ldr_role_t role);
/**
 * Parses a role name s[0..len), exactly as ldr_role_name spells it (lower case, nothing around it).
 * Returns LDR_OK, or LDR_EINVAL for anything else; *out is written only on success.
 */
int ldr_role_parse(const char *s, size_t len, ldr_role_t *out);

/**
 * True if s[0..len) may be a token's subject: 1..LDR_TOKEN_SUB_MAX bytes of visible ASCII
 * (0x21..0x7e) other than '"' and '\'.  No space, control byte or non-ASCII byte.
 */
bool ldr_token_sub_valid(const char *s, size_t len);

/** The signing secret; opaque. */
typedef struct ldr_auth ldr_auth_t;

/**
 * Makes an ldr_auth_t that signs and verifies with a copy of secret[0..len) (any bytes; the
 * caller's copy may be wiped afterwards).  Free it with ldr_auth_free, which wipes the copy.
 *
 * Returns LDR_OK; LDR_EINVAL when secret or out is NULL or len lies outside
 * LDR_AUTH_SECRET_MIN..LDR_AUTH_SECRET_MAX (a secret shorter than 32 bytes is refused: an HS256 key
 * needs 256 bits, and short ones are passwords that can be brute-forced offline from one token);
 * LDR_EIO when libsodium cannot initialise.  *out is written only on success.
 */
int ldr_auth_new(const void *secret, size_t len, ldr_auth_t **out);
/**
 * Makes an ldr_auth_t with a fresh secret (for `serve --demo` without LARDER_JWT_SECRET): 32
 * bytes from libsodium's randombytes_buf, written as LDR_AUTH_RANDOM_HEX_LEN lower-case hex digits
 * and a NUL into hex_out.  The secret is that hex text itself (its 64 ASCII bytes), so an operator
 * who sets LARDER_JWT_SECRET to the printed hex mints, with `larder token`, tokens this auth
 * accepts.
 *
 * Returns LDR_OK; LDR_EINVAL when out or hex_out is NULL or hex_cap < LDR_AUTH_RANDOM_HEX_LEN + 1;
 * LDR_EIO when libsodium cannot initialise.  Nothing is written on failure.
 */
int ldr_auth_new_random(ldr_auth_t **out, char *hex_out, size_t hex_cap);
/** Wipes and frees an ldr_auth_t; NULL is a no-op. */
void ldr_auth_free(ldr_auth_t *a);

/**
 * Mints a token for (role, sub) issued at `now` (seconds since the epoch) and valid for
 * ttl_seconds: claims sub, role, iat = now, exp = now + ttl_seconds.  Appends it (ASCII, no NUL,
 * no newline) to out.
 *
 * Returns LDR_OK; LDR_EINVAL for an unknown role or a subject ldr_token_sub_valid refuses (or NULL
 * arguments); LDR_ERANGE when now < 0 or ttl_seconds lies outside 1..LDR_TOKEN_TTL_MAX; LDR_ENOMEM
 * when libjwt runs out of memory.  out is unchanged on failure.
 */
int ldr_token_mint(const ldr_auth_t *a, ldr_role_t role, const char *sub, int64_t now,
                   int64_t ttl_seconds, ldr_buf_t *out);

/** What a verified token says.  sub is NUL-terminated and passes ldr_token_sub_valid. */
typedef struct ldr_principal {
    ldr_role_t role;
    char sub[LDR_TOKEN_SUB_MAX + 1];
    int64_t exp;
} ldr_principal_t;

/**
 * Verifies token[0..len) (need not be NUL-terminated) at time `now` and says whom it speaks for.
 * Any input is safe here, of any length and content; nothing is kept.
 *
 * Accepted: at most LDR_TOKEN_LEN_MAX bytes; exactly three non-empty base64url segments (no
 * padding, canonical); a header that is a JSON object without duplicate keys whose "alg" is
 * exactly "HS256", whose "typ", if any, is exactly "JWT", and without "crit"; a valid HMAC-SHA256
 * under the secret; claims with a valid string sub, a known string role, integer iat no more than
 * LDR_TOKEN_LEEWAY seconds after now, integer exp after now and after iat, and, if present, an
 * integer nbf no more than LDR_TOKEN_LEEWAY seconds after now.
 *
 * Returns LDR_OK and fills *out; LDR_EAUTH for every token that fails any check (malformed, other
 * algorithm, bad signature, expired, missing or bad claims — callers answer 401 and need not know
 * which; ldr_token_verify_why says it for logs); LDR_EINVAL when a or out is NULL.  *out is
 * written only on success.
 */
int ldr_token_verify(const ldr_auth_t *a, const char *token, size_t len, int64_t now,
                     ldr_principal_t *out);
/**
 * ldr_token_verify, and on failure *why (when why is not NULL) points at a static phrase naming
 * the first check that failed ("bad signature", "expired", ...).  For logs and tests; never tell
 * a client which check failed.
 */
int ldr_token_verify_why(const ldr_auth_t *a, const char *token, size_t len, int64_t now,
                         ldr_principal_t *out, const char **why);

/**
 * Finds the token in an Authorization header value header_value[0..len): the scheme "Bearer" in
 * any case, one or more spaces, then one RFC 6750 b64token (letters, digits, "-._~+/", then
 * optional "=" padding) and nothing after it.  *token points into header_value (not
 * NUL-terminated; it lives as long as the header value).
 *
 * Returns LDR_OK, or LDR_EINVAL for any other value (another scheme, no token, stray bytes, NULL
 * arguments); *token and *token_len are written only on success.
 */
int ldr_auth_bearer(const char *header_value, size_t len, const char **token, size_t *token_len);

#endif
