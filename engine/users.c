/*
 * The users table: an array in the order users were added, and two open-addressing indexes over
 * it (by lower-cased email, by id).  Users are never removed in this version.
 */
#include "larder/users.h"

#include <string.h>

#include "larder/intern.h"

struct ldr_users {
    ldr_user_t **all;
    uint32_t count, cap;
    uint32_t *by_email, *by_id; /* index + 1 into all; 0: empty */
    uint32_t mask;
};

ldr_users_t *ldr_users_new(void)
{
    ldr_users_t *u = ldr_calloc(1, sizeof(*u));
    u->mask = 63;
    u->by_email = ldr_calloc(u->mask + 1, sizeof(uint32_t));
    u->by_id = ldr_calloc(u->mask + 1, sizeof(uint32_t));
    return u;
}

void ldr_users_free(ldr_users_t *u)
{
    if (u == NULL)
        return;
    for (uint32_t i = 0; i < u->count; i++)
        ldr_free(u->all[i]);
    ldr_free(u->all);
    ldr_free(u->by_email);
    ldr_free(u->by_id);
    ldr_free(u);
}

uint32_t ldr_users_count(const ldr_users_t *u)
{
    return u->count;
}

bool ldr_email_valid(const char *s, size_t len)
{
    if (len < 3 || len > LDR_USER_EMAIL_MAX)
        return false;
    const char *at = memchr(s, '@', len);
    if (at == NULL || at == s || at == s + len - 1 ||
        memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return false;
    const char *dot = memchr(at + 1, '.', len - (size_t)(at - s) - 1);
    if (dot == NULL || dot == at + 1 || dot == s + len - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}

bool ldr_user_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > LDR_USER_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static uint64_t ldr__email_hash(const char *s, size_t len, char *lower)
{
    for (size_t i = 0; i < len; i++)
        lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    return ldr_hash(lower, len);
}

/* The slot of `key` in an index, or the empty slot where it would go. */
static uint32_t ldr__slot(const ldr_users_t *u, const uint32_t *index, bool email, const char *key,
                          size_t len, uint64_t h)
{
    uint32_t i = (uint32_t)h & u->mask;
    for (; index[i] != 0; i = (i + 1) & u->mask) {
        const ldr_user_t *x = u->all[index[i] - 1];
        const char *k = email ? x->email : x->id;
        if (strlen(k) == len && memcmp(k, key, len) == 0)
            break;
    }
    return i;
}

const ldr_user_t *ldr_users_by_email(const ldr_users_t *u, const char *email, size_t len)
{
    char lower[LDR_USER_EMAIL_MAX];
    if (len > LDR_USER_EMAIL_MAX)
        return NULL;
    uint64_t h = ldr__email_hash(email, len, lower);
    uint32_t i = ldr__slot(u, u->by_email, true, lower, len, h);
    return u->by_email[i] ? u->all[u->by_email[i] - 1] : NULL;
}

const ldr_user_t *ldr_users_by_id(const ldr_users_t *u, const char *id, size_t len)
{
    if (len > LDR_USER_ID_MAX)
        return NULL;
    uint32_t i = ldr__slot(u, u->by_id, false, id, len, ldr_hash(id, len));
    return u->by_id[i] ? u->all[u->by_id[i] - 1] : NULL;
}

static void ldr__index(ldr_users_t *u, uint32_t n)
{
    const ldr_user_t *x = u->all[n];
    size_t el = strlen(x->email), il = strlen(x->id);
    u->by_email[ldr__slot(u, u->by_email, true, x->email, el, ldr_hash(x->email, el))] = n + 1;
    u->by_id[ldr__slot(u, u->by_id, false, x->id, il, ldr_hash(x->id, il))] = n + 1;
}

int ldr_users_add(ldr_users_t *u, const ldr_user_t *user)
{
    if (ldr_users_by_email(u, user->email, strlen(user->email)) != NULL ||
        ldr_users_by_id(u, user->id, strlen(user->id)) != NULL)
        return LDR_ECONFLICT;
    if (u->count == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 16;
        u->all = ldr_realloc(u->all, u->cap * sizeof(*u->all));
    }
    ldr_user_t *x = ldr_malloc(sizeof(*x));
    *x = *user;
    for (char *c = x->email; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    u->all[u->count++] = x;
    if (u->count * 2 > u->mask + 1) { /* grow both indexes and rebuild them */
        u->mask = u->mask * 2 + 1;
        ldr_free(u->by_email);
        ldr_free(u->by_id);
        u->by_email = ldr_calloc(u->mask + 1, sizeof(uint32_t));
        u->by_id = ldr_calloc(u->mask + 1, sizeof(uint32_t));
        for (uint32_t i = 0; i < u->count; i++)
            ldr__index(u, i);
    } else {
        ldr__index(u, u->count - 1);
    }
    return LDR_OK;
}

void ldr_users_each(const ldr_users_t *u, void (*cb)(void *ctx, const ldr_user_t *user), void *ctx)
{
    for (uint32_t i = 0; i < u->count; i++)
        cb(ctx, u->all[i]);
}
