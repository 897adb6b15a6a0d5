/* Text normalisation: word splitting, exact keys (one tone placement) and folded keys. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "larder/text.h"

#define MAXW 64

typedef struct words {
    size_t n;
    char exact[MAXW][LDR_TEXT_KEY_MAX + 1];
    char folded[MAXW][LDR_TEXT_KEY_MAX + 1];
    uint32_t start[MAXW], end[MAXW], position[MAXW];
    uint8_t tone[MAXW];
} words_t;

static int collect(void *ctx, const ldr_word_t *w)
{
    words_t *ws = ctx;
    cr_assert_lt(ws->n, MAXW);
    cr_assert_leq(w->exact_len, LDR_TEXT_KEY_MAX);
    cr_assert_leq(w->folded_len, LDR_TEXT_KEY_MAX);
    memcpy(ws->exact[ws->n], w->exact, w->exact_len);
    ws->exact[ws->n][w->exact_len] = '\0';
    memcpy(ws->folded[ws->n], w->folded, w->folded_len);
    ws->folded[ws->n][w->folded_len] = '\0';
    ws->start[ws->n] = w->start, ws->end[ws->n] = w->end, ws->position[ws->n] = w->position;
    ws->tone[ws->n] = w->tone;
    ws->n++;
    return 0;
}

static words_t split(const char *s)
{
    words_t ws;
    memset(&ws, 0, sizeof(ws));
    cr_assert_eq(ldr_text_words(s, strlen(s), collect, &ws), 0);
    return ws;
}

/* the exact and folded keys of a text that holds one word */
static void keys(const char *s, char *exact, char *folded)
{
    words_t ws = split(s);
    cr_assert_eq(ws.n, 1, "\"%s\" has %zu words", s, ws.n);
    strcpy(exact, ws.exact[0]);
    strcpy(folded, ws.folded[0]);
}

/* both texts give the same words with the same keys */
static void same_exact(const char *a, const char *b)
{
    words_t wa = split(a), wb = split(b);
    cr_assert_eq(wa.n, wb.n, "\"%s\" and \"%s\" split differently", a, b);
    for (size_t i = 0; i < wa.n; i++) {
        cr_assert_str_eq(wa.exact[i], wb.exact[i], "exact keys of \"%s\" and \"%s\" differ", a, b);
        cr_assert_str_eq(wa.folded[i], wb.folded[i]);
    }
}

Test(text, ascii_words_are_lowercased_and_split)
{
    words_t ws = split("  Cherry TOMATOES, sugar-free; Baker's 500g!");
    const char *want[] = {"cherry", "tomatoes", "sugar", "free", "baker", "s", "500g"};
    cr_assert_eq(ws.n, 7);
    for (size_t i = 0; i < 7; i++) {
        cr_assert_str_eq(ws.exact[i], want[i]);
        cr_assert_str_eq(ws.folded[i], want[i]);
        cr_assert_eq(ws.position[i], i);
        cr_assert_eq(ws.tone[i], LDR_TONE_NONE);
    }
    cr_assert_eq(ws.start[0], 2);
    cr_assert_eq(ws.end[0], 8);
    cr_assert_eq(ws.start[6], 39);
    cr_assert_eq(ws.end[6], 43);
}

Test(text, vietnamese_exact_and_folded_keys)
{
    words_t ws = split("C\xc3\xa0 chua bi \xc4\x90\xe1\xba\xadu ph\xe1\xbb\xa5");
    cr_assert_eq(ws.n, 5);
    cr_assert_str_eq(ws.exact[0], "ca\x01"
                                  "1");
    cr_assert_str_eq(ws.folded[0], "ca");
    cr_assert_eq(ws.tone[0], LDR_TONE_GRAVE);
    cr_assert_str_eq(ws.exact[1], "chua");
    cr_assert_str_eq(ws.folded[3], "dau");
    /* đ and the circumflex stay in the exact key; the dot below becomes the suffix */
    cr_assert_str_eq(ws.exact[3], "\xc4\x91\xc3\xa2u\x01"
                                  "5");
    cr_assert_str_eq(ws.folded[4], "phu");
    cr_assert_eq(ws.start[3], strlen("C\xc3\xa0 chua bi "));
}

Test(text, case_is_folded_in_both_keys)
{
    same_exact("C\xc3\x80 CHUA", "c\xc3\xa0 chua");
    same_exact("\xc4\x90\xe1\xba\xac"
               "U",
               "\xc4\x91\xe1\xba\xadu");
}

Test(text, tones_differ_in_exact_keys_only)
{
    char e1[LDR_TEXT_KEY_MAX + 1], f1[LDR_TEXT_KEY_MAX + 1], e2[LDR_TEXT_KEY_MAX + 1],
        f2[LDR_TEXT_KEY_MAX + 1];
    keys("c\xc3\xa0", e1, f1); /* cà */
    keys("c\xc3\xa1", e2, f2); /* cá */
    cr_assert_str_neq(e1, e2);
    cr_assert_str_eq(f1, f2);
    keys("th\xe1\xbb\x83", e1, f1); /* thể */
    keys("th\xe1\xba\xbf", e2, f2); /* thế */
    cr_assert_str_neq(e1, e2);
    cr_assert_str_eq(f1, "the");
    cr_assert_str_eq(f2, "the");
    keys("ch\xc3\xb3", e1, f1); /* chó */
    keys("ch\xc3\xb2", e2, f2); /* chò */
    cr_assert_str_neq(e1, e2);
}

Test(text, nfd_input_matches_nfc)
{
    same_exact("C\xc3\xa0", "Ca\xcc\x80");           /* cà */
    same_exact("\xe1\xbb\x87", "e\xcc\xa3\xcc\x82"); /* ệ as e + dot below + circumflex */
    same_exact("\xe1\xbb\x87", "e\xcc\x82\xcc\xa3"); /* ... in the other order */
    same_exact("\xe1\xbb\x87", "\xc3\xaa\xcc\xa3");  /* ... ê + dot below */
    same_exact("ng\xc6\xb0\xe1\xbb\x9di", "ngu\xcc\x9bo\xcc\x9b\xcc\x80i"); /* người */
}

Test(text, old_and_new_tone_placement_agree)
{
    same_exact("ho\xc3\xa0", "h\xc3\xb2"
                             "a");                    /* hoà / hòa */
    same_exact("thu\xe1\xbb\xb7", "th\xe1\xbb\xa7y"); /* thuỷ / thủy */
    same_exact("kho\xe1\xba\xbb", "kh\xe1\xbb\x8f"
                                  "e"); /* khoẻ / khỏe */
    same_exact("Ho\xc3\xa0", "H\xc3\x92"
                             "A");
}

Test(text, invalid_utf8_and_symbols_separate_words)
{
    words_t ws = split("ab\xff"
                       "cd\xc3(ef \xf0\x9f\x8d\x85tomato\xe2\x80\x94vn");
    const char *want[] = {"ab", "cd", "ef", "tomato", "vn"};
    cr_assert_eq(ws.n, 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_str_eq(ws.exact[i], want[i]);
    cr_assert_eq(split("").n, 0);
    cr_assert_eq(split(" ,.;!? -- ... ").n, 0);
    cr_assert_eq(split("\x01\x02\t\n").n, 0);
}

Test(text, long_words_are_cut_but_span_whole)
{
    char s[600];
    memset(s, 'a', 500);
    s[500] = '\0';
    words_t ws = split(s);
    cr_assert_eq(ws.n, 1);
    cr_assert_eq(strlen(ws.exact[0]), LDR_TEXT_WORD_CPS);
    cr_assert_eq(ws.end[0], 500);
    /* a long Vietnamese word is cut on a code point boundary */
    s[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(s, "\xe1\xbb\x87"); /* ệ */
    ws = split(s);
    cr_assert_eq(ws.n, 1);
    cr_assert_eq(ws.end[0], 300);
    cr_assert_eq(strlen(ws.folded[0]), LDR_TEXT_WORD_CPS);
}

Test(text, other_scripts_and_casefold_expansions)
{
    char e[LDR_TEXT_KEY_MAX + 1], f[LDR_TEXT_KEY_MAX + 1];
    keys("Stra\xc3\x9f"
         "e",
         e, f); /* Straße */
    cr_assert_str_eq(f, "strasse");
    keys("\xd0\x9c\xd0\xbe\xd0\xbb\xd0\xbe\xd0\xba\xd0\xbe", e, f); /* Молоко */
    cr_assert_str_eq(f, "\xd0\xbc\xd0\xbe\xd0\xbb\xd0\xbe\xd0\xba\xd0\xbe");
    keys("caf\xc3\xa9", e, f);
    cr_assert_str_eq(f, "cafe");
    words_t ws = split("\xe7\x89\x9b\xe5\xa5\xb6 milk"); /* 牛奶 milk */
    cr_assert_eq(ws.n, 2);
}

static int stop_at_second(void *ctx, const ldr_word_t *w)
{
    return ++*(int *)ctx == 2 ? 7 : 0;
}

Test(text, callback_can_stop_and_single_word_helper)
{
    int seen = 0;
    cr_assert_eq(ldr_text_words("one two three", 13, stop_at_second, &seen), 7);
    cr_assert_eq(seen, 2);
    char storage[2 * LDR_TEXT_KEY_MAX];
    ldr_word_t w;
    cr_assert_eq(ldr_text_word("  N\xc6\xb0\xe1\xbb\x9b"
                               "c m\xe1\xba\xafm",
                               19, &w, storage),
                 LDR_OK);
    cr_assert_eq(w.folded_len, 4);
    cr_assert(memcmp(w.folded, "nuoc", 4) == 0);
    cr_assert_eq(ldr_text_word(" -- ", 4, &w, storage), LDR_ENOENT);
}
