/* JSON Lines iteration and typed field access with precise messages; see jsonl_internal.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonl_internal.h"

int ldr__json_error(ldr_error_t *err, const char *field, const char *fmt, ...)
{
    int n = 0;
    if (field != NULL)
        n = snprintf(err->message, sizeof(err->message), "field \"%s\": ", field);
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

int ldr__json_object(const char *s, size_t len, json_t **out, ldr_error_t *err)
{
    json_error_t je;
    /* jansson rejects invalid UTF-8 and \u0000; duplicate keys are refused to avoid ambiguity */
    json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        err->position = je.position;
        return ldr__json_error(err, NULL, "invalid JSON at byte %d: %s", je.position, je.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return ldr__json_error(err, NULL, "expected a JSON object");
    }
    *out = j;
    return LDR_OK;
}

int ldr__json_known_keys(json_t *obj, const char *prefix, const char *const *allowed,
                         ldr_error_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *const *a = allowed;
        while (*a != NULL && strcmp(*a, key) != 0)
            a++;
        if (*a == NULL)
            return ldr__json_error(err, NULL, "unknown field \"%s%s%.64s\"", prefix ? prefix : "",
                                   prefix ? "." : "", key);
    }
    return LDR_OK;
}

static const char *ldr__json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

int ldr__json_str(json_t *obj, const char *key, const char *field, bool required, size_t max,
                  ldr_str_t *out, ldr_error_t *err)
{
    return ldr__json_str_value(json_object_get(obj, key), field, required, max, out, err);
}

int ldr__json_str_value(json_t *v, const char *field, bool required, size_t max, ldr_str_t *out,
                        ldr_error_t *err)
{
    return ldr__json_text_value(v, field, required, max, false, out, err);
}

int ldr__json_text_value(json_t *v, const char *field, bool required, size_t max, bool multiline,
                         ldr_str_t *out, ldr_error_t *err)
{
    *out = (ldr_str_t){NULL, 0};
    if (v == NULL || json_is_null(v))
        return required ? ldr__json_error(err, field, "is required") : LDR_OK;
    if (!json_is_string(v))
        return ldr__json_error(err, field, "expected a string, got %s", ldr__json_type(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return ldr__json_error(err, field, "must not be empty");
    if (len > max)
        return ldr__json_error(err, field, "longer than %zu bytes", max);
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] < 0x20 || s[i] == 0x7f) &&
            !(multiline && (s[i] == '\n' || s[i] == '\t')))
            return ldr__json_error(err, field, "control character at byte %zu", i);
    *out = (ldr_str_t){s, (uint32_t)len};
    return LDR_OK;
}

int ldr__json_int(json_t *obj, const char *key, const char *field, bool required, int64_t min,
                  int64_t max, int64_t *out, bool *present, ldr_error_t *err)
{
    json_t *v = json_object_get(obj, key);
    if (present != NULL)
        *present = false;
    if (v == NULL || json_is_null(v))
        return required ? ldr__json_error(err, field, "is required") : LDR_OK;
    if (!json_is_integer(v))
        return ldr__json_error(err, field, "expected integer, got %s", ldr__json_type(v));
    json_int_t x = json_integer_value(v);
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
