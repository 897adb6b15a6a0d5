/*
 * Text normalisation; the pipeline and the key formats are described in include/larder/text.h.
 *
 * Why a tone suffix instead of a tone placement rule: Vietnamese writes the tone mark on one vowel
 * of the syllable, and two conventions disagree on which ("hòa" vs "hoà", "thủy" vs "thuỷ").
 * Deciding the "right" vowel needs the syllable's phonology; lifting the mark off and writing it
 * once after the word needs nothing and makes both spellings (and NFD input, and a mark typed on a
 * consonant) the same key.  Keys are internal: what users see (highlights, suggestions) is always
 * cut from the original text by the word's byte span.
 *
 * Cost: a pure-ASCII word never reaches utf8proc.  Other words are decomposed and recomposed with
 * utf8proc into stack buffers; nothing here allocates.
 */
#include "larder/text.h"

#include <string.h>
#include <utf8proc.h>

#define LDR__TONE_SEP '\x01'

static uint8_t ldr__tone_of(utf8proc_int32_t cp)
{
    switch (cp) {
    case 0x0300: /* combining grave */
    case 0x0340:
        return LDR_TONE_GRAVE;
    case 0x0301: /* combining acute */
    case 0x0341:
        return LDR_TONE_ACUTE;
    case 0x0309: /* combining hook above */
        return LDR_TONE_HOOK;
    case 0x0303: /* combining tilde */
        return LDR_TONE_TILDE;
    case 0x0323: /* combining dot below */
        return LDR_TONE_DOT;
    }
    return LDR_TONE_NONE;
}

static bool ldr__is_word_cp(utf8proc_int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

static bool ldr__is_mark(utf8proc_int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

/* Appends cp to out[*n..cap) unless it would not fit whole; returns false when full. */
static bool ldr__put_cp(char *out, uint32_t *n, uint32_t cap, utf8proc_int32_t cp)
{
    utf8proc_uint8_t tmp[4];
    utf8proc_ssize_t k = utf8proc_encode_char(cp, tmp);
    if (k <= 0 || *n + (uint32_t)k > cap)
        return false;
    memcpy(out + *n, tmp, (size_t)k);
    *n += (uint32_t)k;
    return true;
}

/* Keys of a word that contains non-ASCII code points. */
static void ldr__keys_unicode(const char *s, size_t len, ldr_word_t *w, char *exact, char *folded)
{
    utf8proc_int32_t cps[LDR_TEXT_WORD_CPS * 4];
    utf8proc_ssize_t n =
        utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, cps,
                           (utf8proc_ssize_t)LDR_ARRAY_SIZE(cps),
                           UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STABLE);
    if (n < 0 || n > (utf8proc_ssize_t)LDR_ARRAY_SIZE(cps))
        n = 0; /* the caller hands in at most LDR_TEXT_WORD_CPS valid code points; see below */
    uint32_t fl = 0, el = 0;
    utf8proc_ssize_t kept = 0;
    w->tone = LDR_TONE_NONE;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        utf8proc_int32_t cp = cps[i];
        uint8_t tone = ldr__tone_of(cp);
        if (tone != LDR_TONE_NONE) {
            if (w->tone == LDR_TONE_NONE)
                w->tone = tone;
            continue;
        }
        cps[kept++] = cp;
        if (ldr__is_mark(cp))
            continue;
        /* đ has no decomposition in Unicode; fold it by hand (Đ was case-folded to đ) */
        ldr__put_cp(folded, &fl, LDR_TEXT_KEY_MAX, cp == 0x0111 ? 'd' : cp);
    }
    n = utf8proc_normalize_utf32(cps, kept, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    for (utf8proc_ssize_t i = 0; i < n; i++)
        if (!ldr__put_cp(exact, &el, LDR_TEXT_KEY_MAX - 2, cps[i]))
            break;
    if (w->tone != LDR_TONE_NONE) {
        exact[el++] = LDR__TONE_SEP;
        exact[el++] = (char)('0' + w->tone);
    }
    w->exact_len = el, w->folded_len = fl;
}

static void ldr__keys(const char *s, size_t len, bool ascii, ldr_word_t *w, char *exact,
                      char *folded)
{
    w->exact = exact, w->folded = folded;
    if (!ascii) {
        ldr__keys_unicode(s, len, w, exact, folded);
        return;
    }
    size_t n = len < LDR_TEXT_KEY_MAX ? len : LDR_TEXT_KEY_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        exact[i] = folded[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    w->exact_len = w->folded_len = (uint32_t)n;
    w->tone = LDR_TONE_NONE;
}

static bool ldr__ascii_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int ldr_text_words(const char *s, size_t len, ldr_word_cb cb, void *ctx)
{
    char exact[LDR_TEXT_KEY_MAX], folded[LDR_TEXT_KEY_MAX];
    const unsigned char *u = (const unsigned char *)s;
    uint32_t position = 0;
    size_t i = 0;
    while (i < len) {
        /* skip separators */
        utf8proc_int32_t cp;
        utf8proc_ssize_t k;
        if (u[i] < 0x80) {
            if (!ldr__ascii_word_char(u[i])) {
                i++;
                continue;
            }
        } else {
            k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(len - i), &cp);
            if (k < 0 || !ldr__is_word_cp(cp)) {
                i += k < 0 ? 1 : (size_t)k;
                continue;
            }
        }
        /* a word: [start, i); `cut` ends the part that reaches the keys */
        size_t start = i, cut = i;
        uint32_t cps = 0;
        bool ascii = true;
        while (i < len) {
            if (u[i] < 0x80) {
                if (!ldr__ascii_word_char(u[i]))
                    break;
                k = 1;
            } else {
                k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(len - i), &cp);
                if (k < 0 || !ldr__is_word_cp(cp))
                    break;
                ascii = false;
            }
            i += (size_t)k;
            if (++cps <= LDR_TEXT_WORD_CPS)
                cut = i;
        }
        ldr_word_t w = {.start = (uint32_t)start, .end = (uint32_t)i, .position = position++};
        ldr__keys(s + start, cut - start, ascii, &w, exact, folded);
        int rc = cb(ctx, &w);
        if (rc != 0)
            return rc;
    }
    return 0;
}

typedef struct ldr__first {
    ldr_word_t *out;
    char *storage;
} ldr__first_t;

static int ldr__first_word(void *ctx, const ldr_word_t *w)
{
    ldr__first_t *f = ctx;
    *f->out = *w;
    memcpy(f->storage, w->exact, w->exact_len);
    memcpy(f->storage + LDR_TEXT_KEY_MAX, w->folded, w->folded_len);
    f->out->exact = f->storage;
    f->out->folded = f->storage + LDR_TEXT_KEY_MAX;
    return 1;
}

int ldr_text_word(const char *s, size_t len, ldr_word_t *out, char *storage)
{
    ldr__first_t f = {out, storage};
    return ldr_text_words(s, len, ldr__first_word, &f) == 1 ? LDR_OK : LDR_ENOENT;
}
