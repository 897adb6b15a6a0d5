/*
 * larder — users: accounts that log in (customers) and staff accounts (admins), engine state made
 * durable by the log like stock.  A user has an id ("usr-" and 16 hex digits, or any token
 * subject for accounts made offline), a unique email (compared in lower case), a name, a locale
 * (vi or en), a role and an Argon2id password hash in libsodium's string form.  Passwords never
 * reach the engine: the shell hashes them on a worker thread.
 */
#ifndef LARDER_USERS_H
#define LARDER_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/common.h"

#define LDR_USER_ID_MAX    64
#define LDR_USER_EMAIL_MAX 254
#define LDR_USER_NAME_MAX  200
#define LDR_USER_HASH_MAX  128 /* crypto_pwhash_STRBYTES */

typedef struct ldr_user {
    char id[LDR_USER_ID_MAX + 1];
    char email[LDR_USER_EMAIL_MAX + 1]; /* lower case */
    char name[LDR_USER_NAME_MAX + 1];
    char locale[3]; /* "vi" or "en" */
    uint8_t role;   /* ldr_role_t of larder/auth.h */
    char hash[LDR_USER_HASH_MAX + 1];
    int64_t created_at;
} ldr_user_t;

typedef struct ldr_users ldr_users_t;

ldr_users_t *ldr_users_new(void);
void ldr_users_free(ldr_users_t *u);
uint32_t ldr_users_count(const ldr_users_t *u);

/** True for an email address we accept: 3..254 bytes, one '@' with text on both sides, a dot
 *  after it, visible ASCII only. */
bool ldr_email_valid(const char *s, size_t len);
/** True for a user id: 1..64 of [A-Za-z0-9._-]. */
bool ldr_user_id_valid(const char *s, size_t len);

/** The user with this email (any case), or NULL; valid until the next change to the table. */
const ldr_user_t *ldr_users_by_email(const ldr_users_t *u, const char *email, size_t len);
/** The user with this id, or NULL. */
const ldr_user_t *ldr_users_by_id(const ldr_users_t *u, const char *id, size_t len);
/** Adds a user (the email is lower-cased).  LDR_ECONFLICT when the email or the id is taken. */
int ldr_users_add(ldr_users_t *u, const ldr_user_t *user);
/** Calls cb for every user, in the order they were added. */
void ldr_users_each(const ldr_users_t *u, void (*cb)(void *ctx, const ldr_user_t *user), void *ctx);

#endif
