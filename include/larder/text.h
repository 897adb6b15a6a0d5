/*
 * larder — text normalisation for search: words, their exact keys and their folded keys.
 *
 * Every text (product fields and queries alike) goes through one pipeline, so a query matches a
 * document exactly when their keys are equal:
 *
 *   split into words  — a word is a run of letters, digits and combining marks (Unicode L*, N*,
 *                       M*); everything else separates words ("sugar-free" is two words)
 *   NFD + case fold   — utf8proc; NFC and NFD input give the same result
 *   exact key         — the word with its Vietnamese tone mark (grave, acute, hook above, tilde,
 *                       dot below) lifted off and written once, after the word, as "\x01" and a
 *                       digit (LDR_TONE_*); the rest recomposed to NFC.  Old and new tone
 *                       placement therefore agree ("hoà" and "hòa" both give "hoa\x01" "1"),
 *                       and "cà" differs from "cá".  Vowel-quality marks (â ă ê ô ơ ư) and đ
 *                       stay: the exact key of "đâu" is not "dau".
 *   folded key        — every combining mark stripped and đ/Đ → d: "Đậu" → "dau", "thể" → "the".
 *
 * For a pure-ASCII word both keys are its lowercase form.  Keys are at most LDR_TEXT_KEY_MAX
 * bytes: a longer word is cut at a code point boundary (and still spans all its bytes).
 */
#ifndef LARDER_TEXT_H
#define LARDER_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "larder/common.h"

#define LDR_TEXT_KEY_MAX  96
#define LDR_TEXT_WORD_CPS 48 /* code points of a word that reach its keys */

enum {
    LDR_TONE_NONE = 0,
    LDR_TONE_GRAVE = 1, /* huyền: à */
    LDR_TONE_ACUTE = 2, /* sắc: á */
    LDR_TONE_HOOK = 3,  /* hỏi: ả */
    LDR_TONE_TILDE = 4, /* ngã: ã */
    LDR_TONE_DOT = 5    /* nặng: ạ */
};

typedef struct ldr_word {
    const char *exact;  /* exact key; valid during the callback only */
    const char *folded; /* folded key; valid during the callback only */
    uint32_t exact_len, folded_len;
    uint32_t start, end; /* byte span of the word in the input */
    uint32_t position;   /* 0-based ordinal of the word in the input */
    uint8_t tone;        /* LDR_TONE_* of the word (the first one, if it has several) */
} ldr_word_t;

/** Called for every word in order; a non-zero return stops the walk and is returned. */
typedef int (*ldr_word_cb)(void *ctx, const ldr_word_t *w);

/**
 * Splits s[0..len) into words and calls cb for each.  Invalid UTF-8 bytes separate words.  Uses no
 * heap memory.  Returns 0 after the last word, or the callback's non-zero value.
 */
int ldr_text_words(const char *s, size_t len, ldr_word_cb cb, void *ctx);

/**
 * The keys of a single word (the first word of s, if s holds several) into out; returns LDR_OK or
 * LDR_ENOENT when s holds no word.  out's key pointers refer to `storage` (2 * LDR_TEXT_KEY_MAX).
 */
int ldr_text_word(const char *s, size_t len, ldr_word_t *out, char *storage);

#endif
