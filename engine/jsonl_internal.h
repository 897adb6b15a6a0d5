/*
 * JSON Lines and JSON field helpers shared by the catalog and stock loaders (larder/json.h
 * underneath).
 *
 * A load keeps one ldr__jsonl_scratch_t for all its lines: the token array grows to the largest
 * line's need and the string buffer is reset per line, so a steady-state line allocates nothing.
 * Field helpers take the dotted field path for messages ("name.en") and fill err with messages
 * of the form `field "price": expected integer`.  Absent and null optional fields are the same.
 * Strings they return point into the line or into the scratch string buffer and are valid until
 * the next line is parsed with the same scratch.
 */
#ifndef LARDER_ENGINE_JSONL_INTERNAL_H
#define LARDER_ENGINE_JSONL_INTERNAL_H

#include <stdbool.h>

#include "larder/buf.h"
#include "larder/catalog.h"
#include "larder/json.h"

#define LDR_JSONL_LINE_MAX (1024 * 1024)

typedef int (*ldr__line_cb)(void *arg, const char *line, size_t len, ldr_error_t *err);

/** Calls `cb` for every non-blank line; a non-zero return rejects the line with err's message. */
int ldr__jsonl_each(const char *buf, size_t len, ldr__line_cb cb, void *arg, ldr_reject_cb reject,
                    void *ctx, ldr_load_result_t *result);

/** Memory one load reuses across lines; zero-initialise, release with ldr__jsonl_scratch_free. */
typedef struct ldr__jsonl_scratch {
    ldr_json_tok_t *toks;
    uint32_t cap;
    ldr_buf_t strings; /* unescaped strings of the current line */
} ldr__jsonl_scratch_t;

void ldr__jsonl_scratch_free(ldr__jsonl_scratch_t *s);

/** One parsed line: the document (root object is token 0) and where its strings unescape to. */
typedef struct ldr__json_line {
    ldr_json_t doc;
    ldr_buf_t *strings; /* reserved to the line's length, so nothing in it moves */
} ldr__json_line_t;

/**
 * Parses `s` as one JSON object into scratch, growing the token array when the line needs it.
 * Fails with `invalid JSON at byte N: ...` (err->position set) or `expected a JSON object`.
 * The line must stay unchanged while *out is used.
 */
int ldr__json_object(ldr__jsonl_scratch_t *scratch, const char *s, size_t len,
                     ldr__json_line_t *out, ldr_error_t *err);

/** An allowed object key; LDR__KEY("sku") spells one. */
typedef struct ldr__json_key {
    const char *name;
    uint32_t len;
} ldr__json_key_t;

#define LDR__KEY(s)                                                                                \
    {                                                                                              \
        (s), (uint32_t)(sizeof(s) - 1)                                                             \
    }

/**
 * One pass over the members of object `obj`: fails with `unknown field "prefix.x"` for a key
 * outside keys[0..nkeys) and with `invalid JSON at byte N: duplicate key "x"` for a key given
 * twice (as jansson's JSON_REJECT_DUPLICATES did), else stores in vals[i] the value token of
 * keys[i], or LDR_JSON_NONE when absent.
 */
int ldr__json_fields(const ldr__json_line_t *ln, uint32_t obj, const char *prefix,
                     const ldr__json_key_t *keys, size_t nkeys, uint32_t *vals, ldr_error_t *err);

int ldr__json_error(ldr_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** "a string", "an integer", "a number with a fraction", ... for messages. */
const char *ldr__json_type_name(const ldr_json_t *doc, uint32_t v);

/**
 * String value v (LDR_JSON_NONE when absent) of 1..max bytes without control characters;
 * `multiline` also admits newlines and tabs (descriptions).  *out stays {NULL,0} when absent.
 */
int ldr__json_text(const ldr__json_line_t *ln, uint32_t v, const char *field, bool required,
                   size_t max, bool multiline, ldr_str_t *out, ldr_error_t *err);

static inline int ldr__json_str(const ldr__json_line_t *ln, uint32_t v, const char *field,
                                bool required, size_t max, ldr_str_t *out, ldr_error_t *err)
{
    return ldr__json_text(ln, v, field, required, max, false, out, err);
}

/** Integer value v within [min, max]; *present (may be NULL) tells whether it was given. */
int ldr__json_int(const ldr__json_line_t *ln, uint32_t v, const char *field, bool required,
                  int64_t min, int64_t max, int64_t *out, bool *present, ldr_error_t *err);

/**
 * Validates the product object of a parsed line into *in (engine/product.c).  Strings borrow from
 * the line and ln->strings; in->_strings is left empty.  On failure *in is zeroed.
 */
int ldr__product_from_json(const ldr__json_line_t *ln, ldr_product_input_t *in, ldr_error_t *err);

#endif
