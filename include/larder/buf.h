/*
 * larder — a growable byte buffer with JSON writing helpers.
 *
 * The buffer owns its memory (ldr_malloc'ed); ldr_buf_free releases it.  Appends abort on memory
 * exhaustion (internal sizes); callers building client-sized output bound it before appending.
 */
#ifndef LARDER_BUF_H
#define LARDER_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "larder/common.h"

typedef struct ldr_buf {
    char *base;
    size_t len;
    size_t cap;
} ldr_buf_t;

#define LDR_BUF_INIT ((ldr_buf_t){NULL, 0, 0})

void ldr_buf_free(ldr_buf_t *b);
/** Ensures room for `extra` more bytes; returns a pointer to the first free byte. */
char *ldr_buf_reserve(ldr_buf_t *b, size_t extra);
void ldr_buf_append(ldr_buf_t *b, const void *p, size_t len);
void ldr_buf_putc(ldr_buf_t *b, char c);
void ldr_buf_puts(ldr_buf_t *b, const char *s);
void ldr_buf_printf(ldr_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ldr_buf_put_i64(ldr_buf_t *b, int64_t v);
static inline void ldr_buf_reset(ldr_buf_t *b)
{
    b->len = 0;
}

/** Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters. */
void ldr_buf_json_str(ldr_buf_t *b, const char *s, size_t len);
static inline void ldr_buf_json_sv(ldr_buf_t *b, ldr_str_t s)
{
    ldr_buf_json_str(b, s.ptr, s.len);
}
/** Appends `"key":` (key must need no escaping). */
void ldr_buf_json_key(ldr_buf_t *b, const char *key);
/** Appends an RFC 3339 timestamp as a JSON string. */
void ldr_buf_json_time(ldr_buf_t *b, int64_t t);

/** Writes the whole buffer to f; returns LDR_OK or LDR_EIO. */
int ldr_buf_write(const ldr_buf_t *b, FILE *f);

#endif
