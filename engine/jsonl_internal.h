/*
 * JSON Lines and JSON field helpers shared by the catalog and stock loaders (jansson underneath).
 *
 * Field helpers take the dotted field path for messages ("name.en") and fill err with messages
 * of the form `field "price": expected integer`.  Absent and null optional fields are the same.
 */
#ifndef LARDER_ENGINE_JSONL_INTERNAL_H
#define LARDER_ENGINE_JSONL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "larder/catalog.h"

#define LDR_JSONL_LINE_MAX (1024 * 1024)

typedef int (*ldr__line_cb)(void *arg, const char *line, size_t len, ldr_error_t *err);

/** Calls `cb` for every non-blank line; a non-zero return rejects the line with err's message. */
int ldr__jsonl_each(const char *buf, size_t len, ldr__line_cb cb, void *arg, ldr_reject_cb reject,
                    void *ctx, ldr_load_result_t *result);

/** Parses `s` as one JSON object; the caller json_decref()s *out. */
int ldr__json_object(const char *s, size_t len, json_t **out, ldr_error_t *err);

/** Fails with `unknown field "x"` when obj has a key outside the NULL-terminated `allowed`. */
int ldr__json_known_keys(json_t *obj, const char *prefix, const char *const *allowed,
                         ldr_error_t *err);

int ldr__json_error(ldr_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** String field of 1..max bytes without control characters; *out stays {NULL,0} when absent. */
int ldr__json_str(json_t *obj, const char *key, const char *field, bool required, size_t max,
                  ldr_str_t *out, ldr_error_t *err);
/** The same for a value that is not an object member (an array item); v may be NULL. */
int ldr__json_str_value(json_t *v, const char *field, bool required, size_t max, ldr_str_t *out,
                        ldr_error_t *err);
/** Like ldr__json_str_value; `multiline` also admits newlines and tabs (descriptions). */
int ldr__json_text_value(json_t *v, const char *field, bool required, size_t max, bool multiline,
                         ldr_str_t *out, ldr_error_t *err);
/** Integer field within [min, max]; *present tells whether it was given. */
int ldr__json_int(json_t *obj, const char *key, const char *field, bool required, int64_t min,
                  int64_t max, int64_t *out, bool *present, ldr_error_t *err);

#endif
