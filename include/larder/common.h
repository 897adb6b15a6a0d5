/*
 * larder — shared vocabulary: status codes, allocation wrappers, string views, time.
 *
 * Status codes: 0 is success, negative values are errors.  The list is defined once in
 * LDR_STATUS_MAP, which also yields ldr_strerror() and ldr_status_name().
 */
#ifndef LARDER_COMMON_H
#define LARDER_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(NAME, value, message) */
#define LDR_STATUS_MAP(X)                                                                          \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ENOENT, -3, "not found")                                                                     \
    X(EEXIST, -4, "already exists")                                                                \
    X(EIO, -5, "input/output error")                                                               \
    X(EPARSE, -6, "malformed input")                                                               \
    X(ERANGE, -7, "value out of range")                                                            \
    X(EFULL, -8, "capacity exhausted")                                                             \
    X(ESHORT, -9, "insufficient stock")                                                            \
    X(ECORRUPT, -10, "stored data is corrupt")                                                     \
    X(ESTORAGE, -11, "storage failed; reopen required")                                            \
    X(EBUSY, -12, "resource busy")                                                                 \
    X(EAUTH, -13, "not authenticated")                                                             \
    X(ECONFLICT, -14, "conflicts with an earlier request")

enum {
    LDR_OK = 0,
#define LDR__STATUS_ENUM(name, val, msg) LDR_##name = (val),
    LDR_STATUS_MAP(LDR__STATUS_ENUM)
#undef LDR__STATUS_ENUM
};

/** A human-readable message for a status code; never NULL, static storage. */
const char *ldr_strerror(int status);
/** The symbolic name of a status code ("EINVAL"); never NULL, static storage. */
const char *ldr_status_name(int status);

/** Allocation for internal sizes: aborts the process with a message when memory runs out. */
void *ldr_malloc(size_t size);
void *ldr_calloc(size_t n, size_t size);
void *ldr_realloc(void *p, size_t size);
char *ldr_strndup(const char *s, size_t len);
/** Allocation for sizes a client controls: returns NULL when memory runs out. */
void *ldr_try_malloc(size_t size);
void *ldr_try_realloc(void *p, size_t size);
void ldr_free(void *p);

/** A borrowed, not necessarily NUL-terminated string.  The owner is whoever handed it out. */
typedef struct ldr_str {
    const char *ptr;
    uint32_t len;
} ldr_str_t;

#define LDR_STR_LIT(s) ((ldr_str_t){(s), (uint32_t)(sizeof(s) - 1)})

static inline bool ldr_str_eq(ldr_str_t a, const char *b, size_t blen)
{
    return a.len == blen && (blen == 0 || __builtin_memcmp(a.ptr, b, blen) == 0);
}

/**
 * Parses an RFC 3339 UTC timestamp ("2026-11-25T09:00:00Z"; fractional seconds and numeric offsets
 * are accepted and normalised) into seconds since the Unix epoch.  Returns LDR_OK or LDR_EPARSE.
 */
int ldr_time_parse_rfc3339(const char *s, size_t len, int64_t *out);
/**
 * Formats seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes); times
 * outside years 0000..9999 are clamped to that range.  Returns the length, 20.
 */
size_t ldr_time_format_rfc3339(int64_t t, char *buf);

/** True if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool ldr_utf8_valid(const char *s, size_t len);

#define LDR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LDR_VERSION "0.1.0"

#endif
