/* JSON Lines iteration and typed field access with precise messages; see jsonl_internal.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonl_internal.h"

/* Enough for any valid product or stock line (a product with full tag and substitute lists needs
 * about 100); a longer line grows the array by doubling and is parsed again. */
#define LDR__TOKS_INITIAL 128

int ldr__json_error(ldr_error_t *err, const char *field, const char *fmt, ...)
{
    int n = 0;
    if (field != NULL) {
        n = snprintf(err->message, sizeof(err->message), "field \"%s\": ", field);
        snprintf(err->field, sizeof(err->field), "%s", field);
    }
    if (n < 0 || (size_t)n >= sizeof(err->message))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
    va_end(ap);
    return LDR_EPARSE;
}

int ldr__jsonl_each(const char *buf, size_t len, ldr__line_cb cb, void *arg, ldr_reject_cb reject,
                    void *ctx, ldr_load_result_t *result)
{
    ldr_load_result_t r = {0, 0, 0};
    uint64_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        size_t i = 0;
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == n)
            continue;
        r.lines++;
        ldr_error_t err = {.position = -1};
        int rc;
        if (n > LDR_JSONL_LINE_MAX)
            rc = ldr__json_error(&err, NULL, "line longer than %d bytes", LDR_JSONL_LINE_MAX);
        else
            rc = cb(arg, line, n, &err);
        if (rc == LDR_OK) {
            r.loaded++;
        } else {
            r.rejected++;
            if (reject != NULL)
                reject(ctx, lineno, err.message);
        }
    }
    if (result != NULL)
        *result = r;
    return LDR_OK;
}

void ldr__jsonl_scratch_free(ldr__jsonl_scratch_t *s)
{
    ldr_free(s->toks);
    ldr_buf_free(&s->strings);
    s->toks = NULL, s->cap = 0;
}

static int ldr__json_syntax_error(ldr_error_t *err, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* `invalid JSON at byte N: ...`, the wording jansson's errors had, with the position recorded. */
static int ldr__json_syntax_error(ldr_error_t *err, uint32_t pos, const char *fmt, ...)
{
    int n = snprintf(err->message, sizeof(err->message), "invalid JSON at byte %u: ", pos);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
    va_end(ap);
    err->position = pos;
    return LDR_EPARSE;
}

int ldr__json_object(ldr__jsonl_scratch_t *scratch, const char *s, size_t len,
                     ldr__json_line_t *out, ldr_error_t *err)
{
    ldr_json_err_t je;
    int rc;
    if (scratch->cap == 0) {
        scratch->toks = ldr_malloc(LDR__TOKS_INITIAL * sizeof(*scratch->toks));
        scratch->cap = LDR__TOKS_INITIAL;
    }
    /* A text of n bytes needs at most n tokens, so doubling ends; callers bound n (the loaders
     * by LDR_JSONL_LINE_MAX), which makes the array an internal size. */
    while ((rc = ldr_json_parse(&out->doc, s, len, scratch->toks, scratch->cap, &je)) ==
           LDR_EFULL) {
        ldr_free(scratch->toks);
        scratch->cap *= 2;
        scratch->toks = ldr_malloc(scratch->cap * sizeof(*scratch->toks));
    }
    if (rc != LDR_OK)
        return ldr__json_syntax_error(err, je.pos, "%s", je.msg);
    if (ldr_json_type(&out->doc, 0) != LDR_JSON_OBJECT)
        return ldr__json_error(err, NULL, "expected a JSON object");
    /* all unescaped strings of one text fit in its length, so they never move (json.h) */
    ldr_buf_reset(&scratch->strings);
    ldr_buf_reserve(&scratch->strings, len + 1);
    out->strings = &scratch->strings;
    return LDR_OK;
}

int ldr__json_fields(const ldr__json_line_t *ln, uint32_t obj, const char *prefix,
                     const ldr__json_key_t *keys, size_t nkeys, uint32_t *vals, ldr_error_t *err)
{
    const ldr_json_t *doc = &ln->doc;
    for (size_t i = 0; i < nkeys; i++)
        vals[i] = LDR_JSON_NONE;
    /* Writers list keys in a stable order, usually ours, so the search starts after the key
     * matched last and typically succeeds at once. */
    size_t hint = 0;
    for (uint32_t k = ldr_json_child(doc, obj); k != LDR_JSON_NONE; k = ldr_json_next(doc, k)) {
        size_t i = nkeys;
        for (size_t j = 0, c = hint; j < nkeys; j++, c = c + 1 == nkeys ? 0 : c + 1)
            if (ldr_json_key_eq(doc, k, keys[c].name, keys[c].len)) {
                i = c;
                break;
            }
        if (i < nkeys && vals[i] == LDR_JSON_NONE) {
            vals[i] = ldr_json_value(k);
            hint = i + 1 == nkeys ? 0 : i + 1;
            continue;
        }
        ldr_str_t key;
        ldr_json_str(doc, k, ln->strings, &key);
        int shown = key.len > 64 ? 64 : (int)key.len;
        if (i < nkeys)
            return ldr__json_syntax_error(err, doc->toks[k].start - 1, "duplicate key \"%.*s\"",
                                          shown, key.ptr);
        /* named in the message and as the field, so an HTTP answer gives details.field */
        char name[sizeof(err->message)];
        snprintf(name, sizeof(name), "%s%s%.*s", prefix ? prefix : "", prefix ? "." : "", shown,
                 key.ptr);
        snprintf(err->field, sizeof(err->field), "%.*s", (int)sizeof(err->field) - 1, name);
        return ldr__json_error(err, NULL, "unknown field \"%s\"", name);
    }
    return LDR_OK;
}

const char *ldr__json_type_name(const ldr_json_t *doc, uint32_t v)
{
    switch (ldr_json_type(doc, v)) {
    case LDR_JSON_OBJECT:
        return "an object";
    case LDR_JSON_ARRAY:
        return "an array";
    case LDR_JSON_STRING:
        return "a string";
    case LDR_JSON_NUMBER:
        return ldr_json_is_int(doc, v) ? "an integer" : "a number with a fraction";
    case LDR_JSON_TRUE:
    case LDR_JSON_FALSE:
        return "a boolean";
    case LDR_JSON_NULL:
        return "null";
    }
    return "something else";
}

int ldr__json_text(const ldr__json_line_t *ln, uint32_t v, const char *field, bool required,
                   size_t max, bool multiline, ldr_str_t *out, ldr_error_t *err)
{
    const ldr_json_t *doc = &ln->doc;
    *out = (ldr_str_t){NULL, 0};
    if (v == LDR_JSON_NONE || ldr_json_is_null(doc, v))
        return required ? ldr__json_error(err, field, "is required") : LDR_OK;
    if (ldr_json_type(doc, v) != LDR_JSON_STRING)
        return ldr__json_error(err, field, "expected a string, got %s",
                               ldr__json_type_name(doc, v));
    ldr_str_t s;
    ldr_json_str(doc, v, ln->strings, &s);
    if (s.len == 0)
        return ldr__json_error(err, field, "must not be empty");
    if (s.len > max)
        return ldr__json_error(err, field, "longer than %zu bytes", max);
    if (doc->toks[v].flags & LDR_JSON_ESCAPED) {
        for (uint32_t i = 0; i < s.len; i++)
            if (((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f) &&
                !(multiline && (s.ptr[i] == '\n' || s.ptr[i] == '\t')))
                return ldr__json_error(err, field, "control character at byte %u", i);
    } else {
        /* the parser refuses raw bytes below 0x20 in strings: only DEL can be left */
        const char *del = memchr(s.ptr, 0x7f, s.len);
        if (del != NULL)
            return ldr__json_error(err, field, "control character at byte %zu",
                                   (size_t)(del - s.ptr));
    }
    *out = s;
    return LDR_OK;
}

int ldr__json_int(const ldr__json_line_t *ln, uint32_t v, const char *field, bool required,
                  int64_t min, int64_t max, int64_t *out, bool *present, ldr_error_t *err)
{
    const ldr_json_t *doc = &ln->doc;
    if (present != NULL)
        *present = false;
    if (v == LDR_JSON_NONE || ldr_json_is_null(doc, v))
        return required ? ldr__json_error(err, field, "is required") : LDR_OK;
    if (!ldr_json_is_int(doc, v))
        return ldr__json_error(err, field, "expected integer, got %s", ldr__json_type_name(doc, v));
    int64_t x;
    if (ldr_json_i64(doc, v, &x) != LDR_OK) /* jansson refused such a text outright */
        return ldr__json_syntax_error(err, doc->toks[v].start, "integer does not fit in 64 bits");
    if (x < min && min == 0)
        return ldr__json_error(err, field, "must not be negative");
    if (x < min || x > max)
        return ldr__json_error(err, field, "must be between %lld and %lld", (long long)min,
                               (long long)max);
    *out = x;
    if (present != NULL)
        *present = true;
    return LDR_OK;
}
