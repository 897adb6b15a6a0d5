/*
 * Fuzz target for common/json.c (libFuzzer: `make fuzz`).
 *
 * For every input it parses the bytes and compares the outcome with a plain reference validator
 * and decoder written independently below: the same texts accepted, the same token types in the
 * same order, the same decoded strings.  Then it checks what must hold either way:
 *  - a failure has a message and a position inside the text, "invalid UTF-8" only for text that
 *    is not UTF-8, and a smaller token array fails the same way or runs out first;
 *  - a text of n bytes never needs more than n tokens;
 *  - an accepted text is valid UTF-8, its tokens form a well-nested tree whose counts, sibling
 *    links and byte spans agree, and every string unescapes to NUL-free UTF-8.
 * Then the round trip: every accepted value is re-encoded canonically, strings through
 * ldr_buf_json_str (the writer the API uses); the encoding must parse back to the same tree, and
 * re-encoding that must give the same bytes.  Integers go through ldr_buf_put_i64 and back;
 * member lookup and duplicate-key detection are checked against brute force.
 *
 * tests/unit/common/json_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/buf.h"
#include "larder/common.h"
#include "larder/json.h"

#define LDR_FUZZ_NAME "json_fuzz"
#include "fuzz.h"

/* The unescaped string t, valid until the next call that appends to scratch. */
static ldr_str_t fz_str(const ldr_json_t *doc, uint32_t t, ldr_buf_t *scratch)
{
    ldr_str_t s;
    FZ_CHECK(ldr_json_str(doc, t, scratch, &s) == LDR_OK, "token %u is not a string", t);
    return s;
}

static bool fz_str_eq(ldr_str_t a, ldr_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/*
 * The oracle: a deliberately plain recursive-descent RFC 8259 validator and decoder, written
 * apart from common/json.c (it uses common.c's ldr_utf8_valid for UTF-8).  It records the type of
 * every token in document order and every string's decoded bytes; the reader must accept exactly
 * what this accepts and produce the same tokens and strings.
 */
typedef struct fz_ref {
    const unsigned char *p, *end;
    uint32_t depth;
    ldr_buf_t types; /* one ldr_json_type_t per token */
    ldr_buf_t strs;  /* each string decoded, then a NUL (decoded strings hold none) */
} fz_ref_t;

static void fz_ref_tok(fz_ref_t *r, ldr_json_type_t type)
{
    ldr_buf_putc(&r->types, (char)type);
}

/* UTF-8 for a scalar value, spelled out from the table in RFC 3629 section 3. */
static void fz_ref_put_cp(fz_ref_t *r, long cp)
{
    if (cp < 0x80) {
        ldr_buf_putc(&r->strs, (char)cp);
    } else if (cp < 0x800) {
        ldr_buf_putc(&r->strs, (char)(0xc0 + cp / 64));
        ldr_buf_putc(&r->strs, (char)(0x80 + cp % 64));
    } else if (cp < 0x10000) {
        ldr_buf_putc(&r->strs, (char)(0xe0 + cp / 4096));
        ldr_buf_putc(&r->strs, (char)(0x80 + cp / 64 % 64));
        ldr_buf_putc(&r->strs, (char)(0x80 + cp % 64));
    } else {
        ldr_buf_putc(&r->strs, (char)(0xf0 + cp / 262144));
        ldr_buf_putc(&r->strs, (char)(0x80 + cp / 4096 % 64));
        ldr_buf_putc(&r->strs, (char)(0x80 + cp / 64 % 64));
        ldr_buf_putc(&r->strs, (char)(0x80 + cp % 64));
    }
}

static bool fz_ref_value(fz_ref_t *r);

static void fz_ref_ws(fz_ref_t *r)
{
    while (r->p < r->end && strchr(" \t\n\r", *r->p) != NULL && *r->p != '\0')
        r->p++;
}

static bool fz_ref_eat(fz_ref_t *r, char c)
{
    if (r->p == r->end || *r->p != (unsigned char)c)
        return false;
    r->p++;
    return true;
}

static long fz_ref_hex4(fz_ref_t *r)
{
    long v = 0;
    for (int i = 0; i < 4; i++, r->p++) {
        if (r->p == r->end || strchr("0123456789abcdefABCDEF", *r->p) == NULL || *r->p == '\0')
            return -1;
        char c = (char)*r->p;
        v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static bool fz_ref_string(fz_ref_t *r)
{
    if (!fz_ref_eat(r, '"'))
        return false;
    fz_ref_tok(r, LDR_JSON_STRING);
    for (;;) {
        if (r->p == r->end)
            return false;
        unsigned char c = *r->p;
        if (c == '"') {
            r->p++;
            ldr_buf_putc(&r->strs, '\0');
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            r->p++;
            if (r->p == r->end)
                return false;
            c = *r->p++;
            if (c == 'u') {
                long cp = fz_ref_hex4(r);
                if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff)) /* \u0000 is refused too */
                    return false;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (!fz_ref_eat(r, '\\') || !fz_ref_eat(r, 'u'))
                        return false;
                    long lo = fz_ref_hex4(r);
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return false;
                    cp = 0x10000 + (cp - 0xd800) * 1024 + (lo - 0xdc00);
                }
                fz_ref_put_cp(r, cp);
            } else if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL) {
                return false;
            } else {
                static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
                ldr_buf_putc(&r->strs, to[strchr(from, c) - from]);
            }
        } else if (c >= 0x80) {
            size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if ((size_t)(r->end - r->p) < n || !ldr_utf8_valid((const char *)r->p, n))
                return false;
            ldr_buf_append(&r->strs, r->p, n);
            r->p += n;
        } else {
            ldr_buf_putc(&r->strs, (char)c);
            r->p++;
        }
    }
}

static bool fz_ref_digits(fz_ref_t *r)
{
    const unsigned char *start = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
        r->p++;
    return r->p > start;
}

static bool fz_ref_number(fz_ref_t *r)
{
    fz_ref_tok(r, LDR_JSON_NUMBER);
    fz_ref_eat(r, '-');
    if (fz_ref_eat(r, '0')) {
        /* a digit may not follow a leading zero */
    } else if (r->p == r->end || *r->p < '1' || *r->p > '9' || !fz_ref_digits(r)) {
        return false;
    }
    if (fz_ref_eat(r, '.') && !fz_ref_digits(r))
        return false;
    if (fz_ref_eat(r, 'e') || fz_ref_eat(r, 'E')) {
        if (!fz_ref_eat(r, '+'))
            fz_ref_eat(r, '-');
        if (!fz_ref_digits(r))
            return false;
    }
    return r->p == r->end || *r->p < '0' || *r->p > '9';
}

static bool fz_ref_literal(fz_ref_t *r, const char *lit, ldr_json_type_t type)
{
    size_t n = strlen(lit);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
        return false;
    r->p += n;
    fz_ref_tok(r, type);
    return true;
}

static bool fz_ref_container(fz_ref_t *r, char close)
{
    r->p++;
    fz_ref_tok(r, close == '}' ? LDR_JSON_OBJECT : LDR_JSON_ARRAY);
    if (++r->depth > LDR_JSON_DEPTH_MAX)
        return false;
    fz_ref_ws(r);
    if (!fz_ref_eat(r, close)) {
        do {
            fz_ref_ws(r);
            if (close == '}') {
                if (!fz_ref_string(r))
                    return false;
                fz_ref_ws(r);
                if (!fz_ref_eat(r, ':'))
                    return false;
            }
            if (!fz_ref_value(r))
                return false;
            fz_ref_ws(r);
        } while (fz_ref_eat(r, ','));
        if (!fz_ref_eat(r, close))
            return false;
    }
    r->depth--;
    return true;
}

static bool fz_ref_value(fz_ref_t *r)
{
    fz_ref_ws(r);
    if (r->p == r->end)
        return false;
    switch (*r->p) {
    case '{':
        return fz_ref_container(r, '}');
    case '[':
        return fz_ref_container(r, ']');
    case '"':
        return fz_ref_string(r);
    case 't':
        return fz_ref_literal(r, "true", LDR_JSON_TRUE);
    case 'f':
        return fz_ref_literal(r, "false", LDR_JSON_FALSE);
    case 'n':
        return fz_ref_literal(r, "null", LDR_JSON_NULL);
    default:
        return (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) && fz_ref_number(r);
    }
}

/* True when the reference accepts src[0..len); r->types and r->strs then describe it. */
static bool fz_ref_accepts(fz_ref_t *r, const char *src, size_t len)
{
    r->p = (const unsigned char *)src, r->end = r->p + len, r->depth = 0;
    ldr_buf_reset(&r->types);
    ldr_buf_reset(&r->strs);
    if (!fz_ref_value(r))
        return false;
    fz_ref_ws(r);
    return r->p == r->end;
}

/* The reader's tokens against the reference's: same types in the same order, same strings. */
static void fz_ref_compare(const ldr_json_t *doc, fz_ref_t *r, ldr_buf_t *scratch)
{
    FZ_CHECK(doc->ntoks == r->types.len, "%u tokens, the reference counts %zu", doc->ntoks,
             r->types.len);
    size_t at = 0;
    for (uint32_t t = 0; t < doc->ntoks; t++) {
        FZ_CHECK(doc->toks[t].type == (uint8_t)r->types.base[t], "token %u: type %u, want %u", t,
                 doc->toks[t].type, (unsigned)(uint8_t)r->types.base[t]);
        if (doc->toks[t].type != LDR_JSON_STRING)
            continue;
        size_t mark = scratch->len;
        ldr_str_t s = fz_str(doc, t, scratch);
        const char *want = r->strs.base + at;
        size_t wlen = strlen(want);
        FZ_CHECK(s.len == wlen && memcmp(s.ptr, want, wlen) == 0,
                 "string %u decodes to \"%.*s\", the reference to \"%s\"", t, (int)s.len, s.ptr,
                 want);
        at += wlen + 1;
        scratch->len = mark;
    }
}

/* Checks the subtree at t, which `depth` containers enclose; returns one past its last token. */
static uint32_t fz_tree(const ldr_json_t *doc, uint32_t t, uint32_t depth, ldr_buf_t *scratch)
{
    FZ_CHECK(t < doc->ntoks, "token %u past %u", t, doc->ntoks);
    const ldr_json_tok_t *tok = &doc->toks[t];
    FZ_CHECK((uint64_t)tok->start + tok->len <= doc->len, "token %u spans past the text", t);
    if (tok->type == LDR_JSON_STRING) {
        size_t mark = scratch->len;
        ldr_str_t s = fz_str(doc, t, scratch);
        FZ_CHECK(memchr(s.ptr, 0, s.len) == NULL, "string %u holds a NUL", t);
        FZ_CHECK(ldr_utf8_valid(s.ptr, s.len), "string %u unescapes to invalid UTF-8", t);
        FZ_CHECK(ldr_json_key_eq(doc, t, s.ptr, s.len), "string %u unequal to itself", t);
        FZ_CHECK(s.len <= tok->len, "string %u grew when unescaped", t);
        FZ_CHECK(!(tok->flags & LDR_JSON_ESCAPED) == (s.ptr == doc->src + tok->start),
                 "string %u: views only without escapes", t);
        scratch->len = mark;
        return t + 1;
    }
    if (tok->type != LDR_JSON_ARRAY && tok->type != LDR_JSON_OBJECT) {
        FZ_CHECK(tok->count == 0, "scalar %u has children", t);
        FZ_CHECK(tok->type >= LDR_JSON_NULL && tok->type <= LDR_JSON_NUMBER, "type %u", tok->type);
        return t + 1;
    }
    FZ_CHECK(depth < LDR_JSON_DEPTH_MAX, "container %u nested in %u others", t, depth);
    FZ_CHECK(doc->src[tok->start] == (tok->type == LDR_JSON_ARRAY ? '[' : '{') &&
                 doc->src[tok->start + tok->len - 1] == (tok->type == LDR_JSON_ARRAY ? ']' : '}'),
             "container %u does not span its brackets", t);
    uint32_t n = 0, expect = t + 1, prev_end = tok->start;
    for (uint32_t c = ldr_json_child(doc, t); c != LDR_JSON_NONE; c = ldr_json_next(doc, c)) {
        FZ_CHECK(c == expect, "child %u of %u, expected %u", c, t, expect);
        FZ_CHECK(doc->toks[c].start > prev_end, "children of %u out of order", t);
        if (tok->type == LDR_JSON_OBJECT) {
            FZ_CHECK(doc->toks[c].type == LDR_JSON_STRING, "key %u is not a string", c);
            FZ_CHECK(doc->toks[c + 1].next == LDR_JSON_NONE, "a member value is linked");
            expect = fz_tree(doc, c + 1, depth + 1, scratch);
        } else {
            expect = fz_tree(doc, c, depth + 1, scratch);
        }
        prev_end = doc->toks[expect - 1].start;
        n++;
    }
    FZ_CHECK(n == tok->count, "container %u: %u children, count %u", t, n, tok->count);
    FZ_CHECK(expect == t + 1 || doc->toks[expect - 1].start < tok->start + tok->len,
             "container %u ends before its last child", t);
    return expect;
}

/* Canonical re-encoding: no whitespace, strings through ldr_buf_json_str, numbers as written. */
static void fz_emit(const ldr_json_t *doc, uint32_t t, ldr_buf_t *out, ldr_buf_t *scratch)
{
    const ldr_json_tok_t *tok = &doc->toks[t];
    size_t mark = scratch->len;
    switch (tok->type) {
    case LDR_JSON_OBJECT:
    case LDR_JSON_ARRAY: {
        bool obj = tok->type == LDR_JSON_OBJECT;
        ldr_buf_putc(out, obj ? '{' : '[');
        for (uint32_t c = ldr_json_child(doc, t); c != LDR_JSON_NONE; c = ldr_json_next(doc, c)) {
            if (c != t + 1)
                ldr_buf_putc(out, ',');
            if (obj) {
                ldr_buf_json_sv(out, fz_str(doc, c, scratch));
                scratch->len = mark;
                ldr_buf_putc(out, ':');
                fz_emit(doc, c + 1, out, scratch);
            } else {
                fz_emit(doc, c, out, scratch);
            }
        }
        ldr_buf_putc(out, obj ? '}' : ']');
        break;
    }
    case LDR_JSON_STRING:
        ldr_buf_json_sv(out, fz_str(doc, t, scratch));
        scratch->len = mark;
        break;
    default: {
        ldr_str_t raw = ldr_json_raw(doc, t);
        ldr_buf_append(out, raw.ptr, raw.len);
    }
    }
}

/* Same tree: types, counts, unescaped strings and keys, numbers and literals as written. */
static bool fz_same(const ldr_json_t *a, uint32_t ta, const ldr_json_t *b, uint32_t tb,
                    ldr_buf_t *sa, ldr_buf_t *sb)
{
    const ldr_json_tok_t *x = &a->toks[ta], *y = &b->toks[tb];
    if (x->type != y->type || x->count != y->count)
        return false;
    size_t ma = sa->len, mb = sb->len;
    bool same = true;
    switch (x->type) {
    case LDR_JSON_STRING:
        same = fz_str_eq(fz_str(a, ta, sa), fz_str(b, tb, sb));
        break;
    case LDR_JSON_ARRAY:
    case LDR_JSON_OBJECT:
        for (uint32_t ca = ldr_json_child(a, ta), cb = ldr_json_child(b, tb);
             same && ca != LDR_JSON_NONE; ca = ldr_json_next(a, ca), cb = ldr_json_next(b, cb)) {
            if (cb == LDR_JSON_NONE)
                return false;
            same = fz_same(a, ca, b, cb, sa, sb) &&
                   (x->type == LDR_JSON_ARRAY || fz_same(a, ca + 1, b, cb + 1, sa, sb));
        }
        break;
    default:
        same = fz_str_eq(ldr_json_raw(a, ta), ldr_json_raw(b, tb));
    }
    sa->len = ma, sb->len = mb;
    return same;
}

/* Integers, lookups and duplicate keys, for every token. */
static void fz_accessors(const ldr_json_t *doc, ldr_buf_t *scratch, ldr_buf_t *tmp)
{
    for (uint32_t t = 0; t < doc->ntoks; t++) {
        const ldr_json_tok_t *tok = &doc->toks[t];
        int64_t v;
        if (tok->type == LDR_JSON_NUMBER) {
            int rc = ldr_json_i64(doc, t, &v);
            if (tok->flags & LDR_JSON_REAL) {
                FZ_CHECK(rc == LDR_EINVAL, "a real number %u read as an integer", t);
            } else if (rc == LDR_ERANGE) {
                uint32_t digits = tok->len - (doc->src[tok->start] == '-');
                FZ_CHECK(digits >= 19, "%u digits out of range", digits);
            } else {
                FZ_CHECK(rc == LDR_OK, "integer %u: %d", t, rc);
                ldr_json_tok_t one[1];
                ldr_json_t back;
                ldr_json_err_t err;
                int64_t w = 0;
                ldr_buf_reset(tmp);
                ldr_buf_put_i64(tmp, v);
                FZ_CHECK(ldr_json_parse(&back, tmp->base, tmp->len, one, 1, &err) == LDR_OK &&
                             ldr_json_i64(&back, 0, &w) == LDR_OK && w == v,
                         "integer %lld does not round-trip", (long long)v);
            }
        } else {
            FZ_CHECK(ldr_json_i64(doc, t, &v) == LDR_EINVAL, "a non-number read as integer");
        }
        bool b;
        FZ_CHECK((ldr_json_bool(doc, t, &b) == LDR_OK) ==
                     (tok->type == LDR_JSON_TRUE || tok->type == LDR_JSON_FALSE),
                 "bool of type %u", tok->type);
        if (tok->type != LDR_JSON_OBJECT) {
            FZ_CHECK(ldr_json_get(doc, t, "", 0) == LDR_JSON_NONE, "lookup in a non-object");
            FZ_CHECK(ldr_json_dup_key(doc, t, scratch) == LDR_JSON_NONE, "dup in a non-object");
            continue;
        }
        /* brute force: the first key equal to an earlier one, and each key's first value */
        uint32_t want_dup = LDR_JSON_NONE;
        for (uint32_t k = ldr_json_child(doc, t); k != LDR_JSON_NONE; k = ldr_json_next(doc, k)) {
            ldr_buf_reset(tmp);
            ldr_str_t ks = fz_str(doc, k, tmp);
            uint32_t first = k;
            for (uint32_t j = ldr_json_child(doc, t); j != k; j = ldr_json_next(doc, j))
                if (ldr_json_key_eq(doc, j, ks.ptr, ks.len)) {
                    first = j;
                    break;
                }
            if (first != k && want_dup == LDR_JSON_NONE)
                want_dup = k;
            FZ_CHECK(ldr_json_get(doc, t, ks.ptr, ks.len) == first + 1,
                     "lookup of key %u found another member", k);
        }
        size_t mark = scratch->len;
        uint32_t got = ldr_json_dup_key(doc, t, scratch);
        FZ_CHECK(got == want_dup, "object %u: duplicate %u, want %u", t, got, want_dup);
        FZ_CHECK(scratch->len == mark, "dup_key appended to scratch");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    ldr_json_tok_t *toks = malloc((size + 1) * sizeof(*toks));
    ldr_json_t doc;
    ldr_json_err_t err = {NULL, 0};
    /* exactly `size` tokens: a text of n bytes never needs more */
    int rc = ldr_json_parse(&doc, src, size, toks, (uint32_t)size, &err);
    FZ_CHECK(rc == LDR_OK || rc == LDR_EPARSE, "status %d (%s) with %zu tokens for %zu bytes", rc,
             err.msg ? err.msg : "?", size, size);

    /* a smaller array: the same outcome, or it runs out first */
    uint32_t small = (uint32_t)(size / 3);
    ldr_json_t doc2;
    ldr_json_err_t err2 = {NULL, 0};
    int rc2 = ldr_json_parse(&doc2, src, size, toks, small, &err2);
    if (rc2 == LDR_EFULL)
        FZ_CHECK(rc == LDR_EPARSE ? err2.pos <= err.pos : doc.ntoks > small,
                 "ran out at %u of %u tokens", err2.pos, small);
    else
        FZ_CHECK(rc2 == rc &&
                     (rc != LDR_EPARSE || (err2.pos == err.pos && strcmp(err2.msg, err.msg) == 0)),
                 "token limit %u changed the outcome", small);
    /* the second parse reused the array: parse again for the checks below */
    rc = ldr_json_parse(&doc, src, size, toks, (uint32_t)size, &err);
    fz_ref_t ref = {.types = LDR_BUF_INIT, .strs = LDR_BUF_INIT};
    bool ref_ok = fz_ref_accepts(&ref, src, size);
    FZ_CHECK((rc == LDR_OK) == ref_ok, "the reference %s what the reader %s (%s at %u)",
             ref_ok ? "accepts" : "rejects", rc == LDR_OK ? "accepts" : "rejects",
             rc == LDR_OK ? "-" : err.msg, rc == LDR_OK ? 0 : err.pos);

    if (rc != LDR_OK) {
        FZ_CHECK(err.msg != NULL && err.pos <= size, "error without message or position");
        FZ_CHECK(doc.ntoks == 0, "tokens left after a failure");
        if (strcmp(err.msg, "invalid UTF-8") == 0)
            FZ_CHECK(!ldr_utf8_valid(src, size), "valid UTF-8 reported invalid at %u", err.pos);
        free(toks);
        ldr_buf_free(&ref.types);
        ldr_buf_free(&ref.strs);
        return 0;
    }
    FZ_CHECK(ldr_utf8_valid(src, size), "accepted invalid UTF-8");
    FZ_CHECK(!(size >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0), "accepted a BOM");

    ldr_buf_t scratch = LDR_BUF_INIT, s2 = LDR_BUF_INIT, enc = LDR_BUF_INIT, enc2 = LDR_BUF_INIT,
              tmp = LDR_BUF_INIT;
    fz_ref_compare(&doc, &ref, &scratch);
    FZ_CHECK(fz_tree(&doc, 0, 0, &scratch) == doc.ntoks, "tokens outside the root's tree");
    fz_accessors(&doc, &scratch, &tmp);

    /* round trip through the canonical encoding */
    fz_emit(&doc, 0, &enc, &scratch);
    ldr_json_tok_t *toks2 = malloc((enc.len + 1) * sizeof(*toks2));
    ldr_json_t back;
    rc = ldr_json_parse(&back, enc.base, enc.len, toks2, (uint32_t)enc.len, &err);
    FZ_CHECK(rc == LDR_OK, "re-encoding does not parse: %s at %u: %.*s", err.msg, err.pos,
             (int)enc.len, enc.base);
    FZ_CHECK(back.ntoks == doc.ntoks, "re-encoding has %u tokens, not %u", back.ntoks, doc.ntoks);
    FZ_CHECK(fz_same(&doc, 0, &back, 0, &scratch, &s2), "re-encoding differs: %.*s", (int)enc.len,
             enc.base);
    fz_emit(&back, 0, &enc2, &s2);
    FZ_CHECK(enc2.len == enc.len && memcmp(enc.base, enc2.base, enc.len) == 0,
             "the canonical encoding is not a fixed point");

    free(toks2);
    free(toks);
    ldr_buf_free(&scratch);
    ldr_buf_free(&s2);
    ldr_buf_free(&enc);
    ldr_buf_free(&enc2);
    ldr_buf_free(&tmp);
    ldr_buf_free(&ref.types);
    ldr_buf_free(&ref.strs);
    return 0;
}
