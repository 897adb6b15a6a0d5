/*
 * JSON reader: one strict pass over the text into a caller's flat token array.
 *
 * Token layout.  Every value, and every object key, is one ldr_json_tok_t, written in the order
 * its first byte appears, so token 0 is the root and a container's first child is the token right
 * after it.  Siblings are chained by `next` (array elements to the next element, object keys to
 * the next key); an object member's value is simply key + 1 and is not chained.  Containers carry
 * their child count, and all tokens carry (start, len) into the input, so a reader never needs
 * anything but the array and the text: no parent pointers, no allocation, no copies.  Strings are
 * recorded raw, with a flag when they hold escapes; unescaping is done on demand by ldr_json_str,
 * which returns a view into the input in the common no-escape case.  Because every token starts at
 * a distinct byte, a text of n bytes needs at most n tokens: a caller that can afford n tokens
 * never sees LDR_EFULL, and one that cannot may start small and retry with more.
 *
 * Parsing is a goto state machine over an explicit stack of the open containers (at most
 * LDR_JSON_DEPTH_MAX), each remembering its last child so the next sibling can be linked in O(1).
 * Strings are skipped eight bytes at a time while no byte is a quote, a backslash, a control
 * character or non-ASCII; the exceptions are handled byte by byte, which is where UTF-8 is
 * validated.  Outside strings the grammar admits ASCII only, so validating inside strings is
 * validating the whole text.
 *
 * Error rules.  The first violation stops the parse with a constant message and the offset of
 * the byte that is wrong: the start of a bad escape or UTF-8 sequence, the unexpected character,
 * or the text's length when it ends too early.  RFC 8259 is followed to the letter: one value with
 * optional whitespace around it (any value, not only objects), no byte order mark, no comments,
 * no trailing commas, no leading zeros or '+' or bare '.', no NaN, raw control characters only
 * outside strings (as whitespace), and every \u escape must name a scalar value (surrogates only
 * in high-low pairs).  Two limits of our own: \u0000 is refused so that unescaped strings are
 * C-string-safe, and nesting is limited to LDR_JSON_DEPTH_MAX.  Numbers are checked against the
 * grammar only; their range is the accessor's business (ldr_json_i64 reports LDR_ERANGE), and
 * duplicate keys are the caller's (ldr_json_dup_key), so the parser itself stays policy-free.
 */
#include "larder/json.h"

#include <string.h>

#define LDR__STR(x)  #x
#define LDR__XSTR(x) LDR__STR(x)

typedef const unsigned char *ldr__ptr;

static inline bool ldr__digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline ldr__ptr ldr__ws(ldr__ptr p, ldr__ptr end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Length of the well-formed UTF-8 sequence at p (p[0] >= 0x80), or 0 (Unicode table 3-7). */
static inline size_t ldr__utf8_seq(ldr__ptr p, ldr__ptr end)
{
    size_t avail = (size_t)(end - p);
    unsigned char c = p[0];
    if (c >= 0xc2 && c <= 0xdf)
        return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
                       (p[3] & 0xc0) == 0x80
                   ? 4
                   : 0;
    }
    return 0;
}

/* Non-zero when any of the 8 bytes in v is '"', '\\', below 0x20 or above 0x7f.  Each term is
 * the classic exact "has a zero / has a byte less than n" test; the high bit of v ^ '"' and of
 * v ^ '\\' equals that of v, so one ~v serves all three. */
static inline uint64_t ldr__swar_special(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return (((v - ones * 0x20) | (q - ones) | (b - ones)) & ~v & high) | (v & high);
}

static inline int ldr__hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits at p into *cp; false when fewer than four remain or one is not hex. */
static inline bool ldr__hex4(ldr__ptr p, ldr__ptr end, uint32_t *cp)
{
    if (end - p < 4)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = ldr__hexval(p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint32_t)h;
    }
    *cp = v;
    return true;
}

typedef struct ldr__fault {
    const char *msg;
    ldr__ptr at;
} ldr__fault_t;

/* "invalid UTF-8" when the byte at p starts no valid sequence, else the caller's message. */
static const char *ldr__unexpected(ldr__ptr p, ldr__ptr end, const char *msg)
{
    return *p >= 0x80 && ldr__utf8_seq(p, end) == 0 ? "invalid UTF-8" : msg;
}

/* Scans a string body starting just after its opening quote.  Returns the closing quote, or NULL
 * with *f set. */
static ldr__ptr ldr__scan_str(ldr__ptr p, ldr__ptr end, uint8_t *flags, ldr__fault_t *f)
{
    for (;;) {
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            if (ldr__swar_special(v) != 0)
                break;
            p += 8;
        }
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p == end) {
            f->msg = "unterminated string", f->at = end;
            return NULL;
        }
        unsigned char c = *p;
        if (c == '"')
            return p;
        if (c >= 0x80) {
            size_t n = ldr__utf8_seq(p, end);
            if (n == 0) {
                f->msg = "invalid UTF-8", f->at = p;
                return NULL;
            }
            p += n;
            continue;
        }
        if (c < 0x20) {
            f->msg = "control character in string (must be escaped)", f->at = p;
            return NULL;
        }
        /* a backslash */
        ldr__ptr esc = p++;
        *flags |= LDR_JSON_ESCAPED;
        if (p == end) {
            f->msg = "unterminated string", f->at = end;
            return NULL;
        }
        switch (*p) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p++;
            break;
        case 'u': {
            uint32_t cp, lo;
            if (!ldr__hex4(p + 1, end, &cp)) {
                f->msg = "invalid \\u escape (needs four hex digits)", f->at = esc;
                return NULL;
            }
            p += 5;
            if (cp == 0) {
                f->msg = "\\u0000 is not allowed", f->at = esc;
                return NULL;
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                f->msg = "unpaired surrogate in \\u escape", f->at = esc;
                return NULL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !ldr__hex4(p + 2, end, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff) {
                    f->msg = "unpaired surrogate in \\u escape", f->at = esc;
                    return NULL;
                }
                p += 6;
            }
            break;
        }
        default:
            f->msg = "invalid escape", f->at = esc;
            return NULL;
        }
    }
}

/* Scans a number per the RFC 8259 grammar.  Returns the byte after it, or NULL with *f set. */
static ldr__ptr ldr__scan_num(ldr__ptr p, ldr__ptr end, uint8_t *flags, ldr__fault_t *f)
{
    if (*p == '-')
        p++;
    if (p == end || !ldr__digit(*p)) {
        f->msg = "expected a digit", f->at = p;
        return NULL;
    }
    if (*p == '0') {
        if (++p < end && ldr__digit(*p)) {
            f->msg = "leading zeros are not allowed", f->at = p - 1;
            return NULL;
        }
    } else {
        while (p < end && ldr__digit(*p))
            p++;
    }
    if (p < end && *p == '.') {
        if (++p == end || !ldr__digit(*p)) {
            f->msg = "expected a digit after the decimal point", f->at = p;
            return NULL;
        }
        while (p < end && ldr__digit(*p))
            p++;
        *flags |= LDR_JSON_REAL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !ldr__digit(*p)) {
            f->msg = "expected a digit in the exponent", f->at = p;
            return NULL;
        }
        while (p < end && ldr__digit(*p))
            p++;
        *flags |= LDR_JSON_REAL;
    }
    return p;
}

#define LDR__FAIL(m, where)                                                                        \
    do {                                                                                           \
        f.msg = (m), f.at = (where);                                                               \
        goto fail;                                                                                 \
    } while (0)

int ldr_json_parse(ldr_json_t *doc, const char *src, size_t len, ldr_json_tok_t *toks, uint32_t cap,
                   ldr_json_err_t *err)
{
    doc->src = src, doc->toks = toks, doc->len = 0, doc->ntoks = 0;
    if (len > LDR_JSON_LEN_MAX) {
        err->msg = "text longer than 4 GiB", err->pos = 0;
        return LDR_EINVAL;
    }
    ldr__ptr base = (ldr__ptr)src, p = base, end = base + len, q;
    struct {
        uint32_t tok, last; /* the container and its latest child (0: none yet) */
    } open[LDR_JSON_DEPTH_MAX];
    uint32_t depth = 0, n = 0;
    bool member = false; /* the value about to be read belongs to a key: counted and linked
                            through the key */
    ldr__fault_t f;
    int rc = LDR_EPARSE;
    ldr_json_tok_t *t;

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        LDR__FAIL("byte order mark is not allowed", p);
    p = ldr__ws(p, end);

value:
    if (p == end)
        LDR__FAIL("unexpected end of input", p);
    if (n == cap) {
        rc = LDR_EFULL;
        LDR__FAIL("more values than the token array holds", p);
    }
    t = &toks[n];
    t->flags = 0, t->count = 0, t->next = LDR_JSON_NONE, t->start = (uint32_t)(p - base);
    if (depth > 0 && !member) {
        if (open[depth - 1].last != 0)
            toks[open[depth - 1].last].next = n;
        open[depth - 1].last = n;
        toks[open[depth - 1].tok].count++;
    }
    switch (*p) {
    case '{':
    case '[':
        if (depth == LDR_JSON_DEPTH_MAX)
            LDR__FAIL("nesting deeper than " LDR__XSTR(LDR_JSON_DEPTH_MAX) " levels", p);
        t->type = *p == '{' ? LDR_JSON_OBJECT : LDR_JSON_ARRAY;
        open[depth].tok = n++, open[depth].last = 0;
        depth++;
        p = ldr__ws(p + 1, end);
        if (t->type == LDR_JSON_OBJECT) {
            if (p < end && *p == '}')
                goto close;
            goto key;
        }
        if (p < end && *p == ']')
            goto close;
        member = false;
        goto value;
    case '"':
        t->type = LDR_JSON_STRING;
        if ((q = ldr__scan_str(p + 1, end, &t->flags, &f)) == NULL)
            goto fail;
        t->start++, t->len = (uint32_t)(q - p - 1), n++;
        p = q + 1;
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        t->type = LDR_JSON_NUMBER;
        if ((q = ldr__scan_num(p, end, &t->flags, &f)) == NULL)
            goto fail;
        t->len = (uint32_t)(q - p), n++;
        p = q;
        break;
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0)
            LDR__FAIL("invalid literal (expected true, false or null)", p);
        t->type = LDR_JSON_TRUE, t->len = 4, n++;
        p += 4;
        break;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0)
            LDR__FAIL("invalid literal (expected true, false or null)", p);
        t->type = LDR_JSON_FALSE, t->len = 5, n++;
        p += 5;
        break;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0)
            LDR__FAIL("invalid literal (expected true, false or null)", p);
        t->type = LDR_JSON_NULL, t->len = 4, n++;
        p += 4;
        break;
    default:
        LDR__FAIL(ldr__unexpected(p, end, "expected a value"), p);
    }

after:
    p = ldr__ws(p, end);
    if (depth == 0) {
        if (p != end)
            LDR__FAIL(ldr__unexpected(p, end, "unexpected data after the value"), p);
        doc->len = (uint32_t)len, doc->ntoks = n;
        return LDR_OK;
    }
    if (p == end)
        LDR__FAIL("unexpected end of input", p);
    if (toks[open[depth - 1].tok].type == LDR_JSON_ARRAY) {
        if (*p == ',') {
            p = ldr__ws(p + 1, end);
            if (p < end && *p == ']')
                LDR__FAIL("trailing comma", p);
            member = false;
            goto value;
        }
        if (*p == ']')
            goto close;
        LDR__FAIL(ldr__unexpected(p, end, "expected ',' or ']'"), p);
    }
    if (*p == ',') {
        p = ldr__ws(p + 1, end);
        if (p < end && *p == '}')
            LDR__FAIL("trailing comma", p);
        goto key;
    }
    if (*p == '}')
        goto close;
    LDR__FAIL(ldr__unexpected(p, end, "expected ',' or '}'"), p);

close:
    t = &toks[open[--depth].tok];
    t->len = (uint32_t)(p + 1 - base) - t->start;
    p++;
    goto after;

key:
    if (p == end)
        LDR__FAIL("unexpected end of input", p);
    if (*p != '"')
        LDR__FAIL(ldr__unexpected(p, end, "expected a string key"), p);
    if (n == cap) {
        rc = LDR_EFULL;
        LDR__FAIL("more values than the token array holds", p);
    }
    t = &toks[n];
    t->type = LDR_JSON_STRING, t->flags = 0, t->count = 0, t->next = LDR_JSON_NONE;
    t->start = (uint32_t)(p + 1 - base);
    if ((q = ldr__scan_str(p + 1, end, &t->flags, &f)) == NULL)
        goto fail;
    t->len = (uint32_t)(q - p - 1);
    if (open[depth - 1].last != 0)
        toks[open[depth - 1].last].next = n;
    open[depth - 1].last = n;
    toks[open[depth - 1].tok].count++;
    n++;
    p = ldr__ws(q + 1, end);
    if (p == end)
        LDR__FAIL("unexpected end of input", p);
    if (*p != ':')
        LDR__FAIL(ldr__unexpected(p, end, "expected ':'"), p);
    p = ldr__ws(p + 1, end);
    member = true;
    goto value;

fail:
    err->msg = f.msg, err->pos = (uint32_t)(f.at - base);
    return rc;
}

/* ---- unescaping ---- */

static size_t ldr__utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f)), out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the escape at *sp (which the parser validated) into out; advances *sp past it. */
static size_t ldr__unescape_one(const char **sp, char out[4])
{
    ldr__ptr s = (ldr__ptr)*sp;
    uint32_t cp = 0, lo = 0;
    switch (s[1]) {
    case 'b':
        cp = '\b';
        break;
    case 'f':
        cp = '\f';
        break;
    case 'n':
        cp = '\n';
        break;
    case 'r':
        cp = '\r';
        break;
    case 't':
        cp = '\t';
        break;
    case 'u':
        ldr__hex4(s + 2, s + 6, &cp);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            ldr__hex4(s + 8, s + 12, &lo);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            *sp += 6;
        }
        *sp += 6;
        return ldr__utf8_put(cp, out);
    default: /* " \ / stand for themselves */
        cp = s[1];
    }
    *sp += 2;
    out[0] = (char)cp;
    return 1;
}

/* The unescaped bytes of a string token, one at a time: the slow path for keys with escapes. */
typedef struct ldr__unesc {
    const char *p, *end;
    char buf[4];
    uint8_t i, n;
} ldr__unesc_t;

static void ldr__unesc_init(ldr__unesc_t *u, const ldr_json_t *doc, uint32_t t)
{
    u->p = doc->src + doc->toks[t].start;
    u->end = u->p + doc->toks[t].len;
    u->i = u->n = 0;
}

/* The next byte (0..255), or -1 at the end. */
static int ldr__unesc_next(ldr__unesc_t *u)
{
    if (u->i < u->n)
        return (unsigned char)u->buf[u->i++];
    if (u->p == u->end)
        return -1;
    if (*u->p != '\\')
        return (unsigned char)*u->p++;
    u->n = (uint8_t)ldr__unescape_one(&u->p, u->buf);
    u->i = 1;
    return (unsigned char)u->buf[0];
}

bool ldr__json_key_eq_escaped(const ldr_json_t *doc, uint32_t key, const char *s, size_t n)
{
    ldr__unesc_t u;
    ldr__unesc_init(&u, doc, key);
    for (size_t i = 0; i < n; i++)
        if (ldr__unesc_next(&u) != (unsigned char)s[i])
            return false;
    return ldr__unesc_next(&u) < 0;
}

/* Orders two string tokens by their unescaped bytes (memcmp order, shorter first on a tie). */
static int ldr__key_cmp(const ldr_json_t *doc, uint32_t a, uint32_t b)
{
    const ldr_json_tok_t *ta = &doc->toks[a], *tb = &doc->toks[b];
    if (!((ta->flags | tb->flags) & LDR_JSON_ESCAPED)) {
        uint32_t n = ta->len < tb->len ? ta->len : tb->len;
        int c = n ? memcmp(doc->src + ta->start, doc->src + tb->start, n) : 0;
        return c != 0 ? c : (ta->len > tb->len) - (ta->len < tb->len);
    }
    ldr__unesc_t ua, ub;
    ldr__unesc_init(&ua, doc, a);
    ldr__unesc_init(&ub, doc, b);
    for (;;) {
        int ca = ldr__unesc_next(&ua), cb = ldr__unesc_next(&ub);
        if (ca != cb || ca < 0)
            return (ca > cb) - (ca < cb);
    }
}

static bool ldr__key_same(const ldr_json_t *doc, uint32_t a, uint32_t b)
{
    const ldr_json_tok_t *ta = &doc->toks[a], *tb = &doc->toks[b];
    /* without escapes the raw lengths must match, which rules out most pairs at once */
    if (!((ta->flags | tb->flags) & LDR_JSON_ESCAPED) && ta->len != tb->len)
        return false;
    return ldr__key_cmp(doc, a, b) == 0;
}

uint32_t ldr_json_get(const ldr_json_t *doc, uint32_t obj, const char *s, size_t n)
{
    if (doc->toks[obj].type != LDR_JSON_OBJECT)
        return LDR_JSON_NONE;
    for (uint32_t k = ldr_json_child(doc, obj); k != LDR_JSON_NONE; k = doc->toks[k].next)
        if (ldr_json_key_eq(doc, k, s, n))
            return k + 1;
    return LDR_JSON_NONE;
}

/* Key tokens ordered by unescaped key, then by position, for the heap sort below. */
static bool ldr__key_less(const ldr_json_t *doc, uint32_t a, uint32_t b)
{
    int c = ldr__key_cmp(doc, a, b);
    return c < 0 || (c == 0 && a < b);
}

static void ldr__sift(const ldr_json_t *doc, uint32_t *v, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && ldr__key_less(doc, v[child], v[child + 1]))
            child++;
        if (!ldr__key_less(doc, v[root], v[child]))
            return;
        uint32_t tmp = v[root];
        v[root] = v[child], v[child] = tmp;
    }
}

uint32_t ldr_json_dup_key(const ldr_json_t *doc, uint32_t obj, ldr_buf_t *scratch)
{
    const ldr_json_tok_t *o = &doc->toks[obj];
    if (o->type != LDR_JSON_OBJECT || o->count < 2)
        return LDR_JSON_NONE;
    if (o->count <= 16) {
        for (uint32_t k = doc->toks[obj + 1].next; k != LDR_JSON_NONE; k = doc->toks[k].next)
            for (uint32_t j = obj + 1; j != k; j = doc->toks[j].next)
                if (ldr__key_same(doc, j, k))
                    return k;
        return LDR_JSON_NONE;
    }
    /* Large objects: heap sort the keys (in place, O(n log n) even for hostile input, where a
     * hash table's probe chains could be made quadratic), then equal keys are neighbours. */
    size_t n = o->count;
    char *mem = ldr_buf_reserve(scratch, n * sizeof(uint32_t) + sizeof(uint32_t));
    uint32_t *v = (void *)(mem + (-(uintptr_t)mem & (sizeof(uint32_t) - 1)));
    size_t i = 0;
    for (uint32_t k = obj + 1; k != LDR_JSON_NONE; k = doc->toks[k].next)
        v[i++] = k;
    for (size_t r = n / 2; r-- > 0;)
        ldr__sift(doc, v, r, n);
    for (size_t m = n - 1; m > 0; m--) {
        uint32_t tmp = v[0];
        v[0] = v[m], v[m] = tmp;
        ldr__sift(doc, v, 0, m);
    }
    /* within a run of equal keys positions ascend, so every element after a run's first is a
     * repeat and the smallest such position is the answer */
    uint32_t first = LDR_JSON_NONE;
    for (i = 1; i < n; i++)
        if ((first == LDR_JSON_NONE || v[i] < first) && ldr__key_cmp(doc, v[i - 1], v[i]) == 0)
            first = v[i];
    return first;
}

/* ---- scalar accessors ---- */

int ldr_json_str(const ldr_json_t *doc, uint32_t t, ldr_buf_t *scratch, ldr_str_t *out)
{
    const ldr_json_tok_t *k = &doc->toks[t];
    if (k->type != LDR_JSON_STRING) {
        *out = (ldr_str_t){NULL, 0};
        return LDR_EINVAL;
    }
    const char *s = doc->src + k->start, *end = s + k->len;
    if (!(k->flags & LDR_JSON_ESCAPED)) {
        *out = (ldr_str_t){s, k->len};
        return LDR_OK;
    }
    char *dst = ldr_buf_reserve(scratch, (size_t)k->len + 1), *d = dst;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        size_t run = (size_t)((bs ? bs : end) - s);
        memcpy(d, s, run);
        d += run, s += run;
        if (s < end)
            d += ldr__unescape_one(&s, d);
    }
    *d = '\0';
    scratch->len += (size_t)(d - dst) + 1;
    *out = (ldr_str_t){dst, (uint32_t)(d - dst)};
    return LDR_OK;
}

int ldr_json_i64(const ldr_json_t *doc, uint32_t t, int64_t *out)
{
    const ldr_json_tok_t *k = &doc->toks[t];
    if (k->type != LDR_JSON_NUMBER || (k->flags & LDR_JSON_REAL))
        return LDR_EINVAL;
    const char *s = doc->src + k->start, *end = s + k->len;
    bool neg = *s == '-';
    s += neg;
    /* accumulate the magnitude; a negative number may reach one past INT64_MAX */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; s < end; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return LDR_ERANGE;
        v = v * 10 + d;
    }
    *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return LDR_OK;
}

int ldr_json_bool(const ldr_json_t *doc, uint32_t t, bool *out)
{
    uint8_t type = doc->toks[t].type;
    if (type != LDR_JSON_TRUE && type != LDR_JSON_FALSE)
        return LDR_EINVAL;
    *out = type == LDR_JSON_TRUE;
    return LDR_OK;
}
