/*
 * larder — a zero-allocation JSON reader (RFC 8259, strict).
 *
 * ldr_json_parse() checks one JSON text in one pass and describes it in a flat array of tokens the
 * caller provides; nothing is allocated and nothing is copied.  The accessors below read values
 * out of that array: strings come back as views into the input when they hold no escapes and are
 * unescaped into a caller-provided scratch buffer when they do.
 *
 * Token layout (see the essay in common/json.c): tokens are in document order, token 0 is the
 * root, the first child of a container is the token right after it, and siblings are linked by
 * `next`.  An object's children are its keys (string tokens); the value of key k is token k + 1.
 *
 *     {"a":[1,2],"b":null}   0 OBJECT count 2    1 "a" next 5    2 ARRAY count 2    3 1 next 4
 *                            4 2                 5 "b"           6 null
 *
 * Errors are a constant message and the byte offset of the offending byte (the input length for a
 * text that ends too early), in the manner of yyjson's {code, msg, pos}.
 *
 * Threads: a parsed document is read-only; any number of threads may read it at once.
 */
#ifndef LARDER_JSON_H
#define LARDER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "larder/buf.h"
#include "larder/common.h"

/** Containers may nest this deep; one level more is an error. */
#define LDR_JSON_DEPTH_MAX 32
/** The longest text ldr_json_parse accepts: token offsets are 32-bit. */
#define LDR_JSON_LEN_MAX ((size_t)UINT32_MAX - 1)
/** "No token": an absent member, the end of a sibling chain.  Token 0 is the root, never a child.
 */
#define LDR_JSON_NONE 0u

typedef enum ldr_json_type {
    LDR_JSON_NULL = 1,
    LDR_JSON_FALSE,
    LDR_JSON_TRUE,
    LDR_JSON_NUMBER,
    LDR_JSON_STRING,
    LDR_JSON_ARRAY,
    LDR_JSON_OBJECT,
} ldr_json_type_t;

/** Token flags. */
enum {
    LDR_JSON_ESCAPED = 1, /* a string with at least one backslash escape */
    LDR_JSON_REAL = 2,    /* a number with a fraction or an exponent ("1.0", "1e5") */
};

/** One value (or object key).  Callers allocate arrays of these; the fields are read-only. */
typedef struct ldr_json_tok {
    uint8_t type;   /* ldr_json_type_t */
    uint8_t flags;  /* LDR_JSON_ESCAPED, LDR_JSON_REAL */
    uint32_t start; /* byte offset: a string's first content byte (after the quote), else the
                       first byte of the value */
    uint32_t len;   /* bytes: a string's raw content without the quotes; a container's whole text
                       from bracket to bracket; a number's or literal's text */
    uint32_t count; /* containers: elements, or members (key/value pairs); 0 for scalars */
    uint32_t next;  /* the next element of the same array or the next key of the same object;
                       LDR_JSON_NONE for the last one, for object values and for the root */
} ldr_json_tok_t;

/** A parsed text.  Borrows both the input and the token array; owns nothing. */
typedef struct ldr_json {
    const char *src;
    const ldr_json_tok_t *toks;
    uint32_t len;   /* of src */
    uint32_t ntoks; /* tokens used, >= 1 after a successful parse */
} ldr_json_t;

/** Why a parse failed: a static message (never NULL after a failure) and a byte offset. */
typedef struct ldr_json_err {
    const char *msg;
    uint32_t pos;
} ldr_json_err_t;

/**
 * Parses the JSON text src[0..len) into toks[0..cap) and points *doc at both.  The text must be
 * exactly one value with optional whitespace around it, valid UTF-8 throughout, with no byte
 * order mark; strings may not contain \u0000 or unpaired surrogate escapes, so every string is
 * safe as a C string once unescaped.  Duplicate object keys are accepted here and can be found
 * with ldr_json_dup_key().
 *
 * Returns LDR_OK; LDR_EPARSE for a text that is not valid JSON; LDR_EFULL when the text needs
 * more than `cap` tokens (a text of n bytes never needs more than n); LDR_EINVAL when len exceeds
 * LDR_JSON_LEN_MAX.  On failure err says what and where, and doc->ntoks is 0.
 *
 * src and toks must outlive every use of *doc and must not change meanwhile.
 */
int ldr_json_parse(ldr_json_t *doc, const char *src, size_t len, ldr_json_tok_t *toks, uint32_t cap,
                   ldr_json_err_t *err);

static inline ldr_json_type_t ldr_json_type(const ldr_json_t *doc, uint32_t t)
{
    return (ldr_json_type_t)doc->toks[t].type;
}

static inline bool ldr_json_is_null(const ldr_json_t *doc, uint32_t t)
{
    return doc->toks[t].type == LDR_JSON_NULL;
}

/** True for a number written without fraction or exponent ("-12", not "12.0" or "1e2"). */
static inline bool ldr_json_is_int(const ldr_json_t *doc, uint32_t t)
{
    return doc->toks[t].type == LDR_JSON_NUMBER && !(doc->toks[t].flags & LDR_JSON_REAL);
}

/** Elements of an array, members of an object, 0 for anything else. */
static inline uint32_t ldr_json_count(const ldr_json_t *doc, uint32_t t)
{
    return doc->toks[t].count;
}

/** The first element of an array or the first key of an object; LDR_JSON_NONE when empty. */
static inline uint32_t ldr_json_child(const ldr_json_t *doc, uint32_t t)
{
    return doc->toks[t].count != 0 ? t + 1 : LDR_JSON_NONE;
}

/** The element or key after t in the same container, or LDR_JSON_NONE. */
static inline uint32_t ldr_json_next(const ldr_json_t *doc, uint32_t t)
{
    return doc->toks[t].next;
}

/** The value of the object member whose key is token `key`. */
static inline uint32_t ldr_json_value(uint32_t key)
{
    return key + 1;
}

/**
 * The raw text of a token, borrowed from the input: a string's content without quotes and with
 * its escapes as written, a number's digits, a container's whole text.
 */
static inline ldr_str_t ldr_json_raw(const ldr_json_t *doc, uint32_t t)
{
    return (ldr_str_t){doc->src + doc->toks[t].start, doc->toks[t].len};
}

bool ldr__json_key_eq_escaped(const ldr_json_t *doc, uint32_t key, const char *s, size_t n);

/** True if string token `key`, unescaped, is exactly s[0..n).  No escapes: one memcmp. */
static inline bool ldr_json_key_eq(const ldr_json_t *doc, uint32_t key, const char *s, size_t n)
{
    const ldr_json_tok_t *k = &doc->toks[key];
    if (!(k->flags & LDR_JSON_ESCAPED))
        return k->len == n && (n == 0 || memcmp(doc->src + k->start, s, n) == 0);
    return ldr__json_key_eq_escaped(doc, key, s, n);
}

/**
 * The value of the first member of object `obj` whose key is s[0..n), or LDR_JSON_NONE (also
 * when obj is not an object).  Linear in the number of members.
 */
uint32_t ldr_json_get(const ldr_json_t *doc, uint32_t obj, const char *s, size_t n);

/**
 * The first key of object `obj` that repeats an earlier key of the same object (keys compared
 * after unescaping), or LDR_JSON_NONE.  Objects of up to 16 members are checked pairwise; larger
 * ones through a hash table kept temporarily in the free space of `scratch`, which may therefore
 * grow (moving strings unescaped into it earlier).  Nothing is appended to scratch.
 */
uint32_t ldr_json_dup_key(const ldr_json_t *doc, uint32_t obj, ldr_buf_t *scratch);

/**
 * The unescaped value of string token t.  Without escapes *out points into the input (not
 * NUL-terminated) and scratch is untouched.  With escapes the string is unescaped, appended to
 * scratch with a terminating NUL, and *out points there: valid until scratch is reset, freed or
 * grown.  Unescaping never lengthens a string and the bytes appended for all strings of one text
 * (once each) never exceed the text's length, so after ldr_buf_reserve(scratch, len) nothing
 * appended while reading that text moves.  Unescaped strings contain no NUL byte.
 *
 * Returns LDR_OK or LDR_EINVAL when t is not a string (*out is then {NULL, 0}).
 */
int ldr_json_str(const ldr_json_t *doc, uint32_t t, ldr_buf_t *scratch, ldr_str_t *out);

/**
 * The exact value of an integer token.  Returns LDR_OK; LDR_EINVAL when t is not a number or has
 * a fraction or exponent ("1.0", "1e5" are not integers here); LDR_ERANGE when it lies outside
 * int64_t.  *out is written only on success.  "-0" is 0.
 */
int ldr_json_i64(const ldr_json_t *doc, uint32_t t, int64_t *out);

/** The value of a true or false token: LDR_OK, or LDR_EINVAL for anything else. */
int ldr_json_bool(const ldr_json_t *doc, uint32_t t, bool *out);

#endif
