/*
 * Unit tests for common/buf.c and common/common.c: the growable buffer and its JSON writers,
 * RFC 3339 time parsing and formatting, UTF-8 validation and the status vocabulary.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "larder/buf.h"
#include "larder/common.h"

#include "../unit_helpers.h"

/* Asserts that b holds exactly `want` (b is not NUL-terminated). */
#define ASSERT_BUF(b, want)                                                                        \
    do {                                                                                           \
        const char *want_ = (want);                                                                \
        cr_assert_eq((b)->len, strlen(want_), "len %zu, want %zu: \"%.*s\"", (b)->len,             \
                     strlen(want_), (int)(b)->len, (b)->base);                                     \
        cr_assert(memcmp((b)->base, want_, (b)->len) == 0, "got \"%.*s\", want \"%s\"",            \
                  (int)(b)->len, (b)->base, want_);                                                \
    } while (0)

static int64_t parse_ok(const char *s)
{
    int64_t t = 0;
    int rc = ldr_time_parse_rfc3339(s, strlen(s), &t);
    cr_assert_eq(rc, LDR_OK, "\"%s\" should parse, got %s", s, ldr_status_name(rc));
    return t;
}

static void parse_fails(const char *s)
{
    int64_t t = 12345;
    int rc = ldr_time_parse_rfc3339(s, strlen(s), &t);
    cr_assert_eq(rc, LDR_EPARSE, "\"%s\" should be rejected, got %s", s, ldr_status_name(rc));
    cr_assert_eq(t, 12345, "\"%s\": *out written on failure", s);
}

static void format_is(int64_t t, const char *want)
{
    char out[32];
    size_t n = ldr_time_format_rfc3339(t, out);
    cr_assert_eq(n, strlen(want), "format(%" PRId64 ") length %zu", t, n);
    cr_assert_str_eq(out, want, "format(%" PRId64 ")", t);
}

/* ---- buffer basics ---- */

Test(buf, starts_empty_and_appends)
{
    ldr_buf_t b = LDR_BUF_INIT;
    cr_assert_null(b.base);
    cr_assert_eq(b.len, 0);
    ldr_buf_append(&b, "", 0); /* nothing to add: no allocation needed */
    cr_assert_eq(b.len, 0);
    ldr_buf_puts(&b, "abc");
    ldr_buf_putc(&b, '-');
    ldr_buf_append(&b, "xyz\0q", 5); /* embedded NUL kept */
    cr_assert_eq(b.len, 9);
    cr_assert(memcmp(b.base, "abc-xyz\0q", 9) == 0);
    ldr_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_not_null(b.base, "reset keeps the allocation");
    ldr_buf_puts(&b, "again");
    ASSERT_BUF(&b, "again");
    ldr_buf_free(&b);
    cr_assert_null(b.base);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
}

Test(buf, reserve_returns_free_space_and_keeps_content)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "head");
    char *p = ldr_buf_reserve(&b, 10000);
    cr_assert_geq(b.cap - b.len, 10000);
    cr_assert_eq(p, b.base + b.len);
    memset(p, 'x', 10000);
    b.len += 10000;
    cr_assert(memcmp(b.base, "head", 4) == 0);
    cr_assert_eq(b.base[b.len - 1], 'x');
    ldr_buf_free(&b);
}

Test(buf, many_appends_grow_and_keep_every_byte)
{
    ldr_buf_t b = LDR_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        ldr_buf_putc(&b, (char)('a' + i % 26));
    cr_assert_eq(b.len, 100000);
    cr_assert_geq(b.cap, b.len);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(b.base[i], (char)('a' + i % 26), "byte %d", i);
    ldr_buf_free(&b);
}

/* ---- printf ---- */

Test(buf, printf_short)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_printf(&b, "%s=%d", "n", 42);
    ASSERT_BUF(&b, "n=42");
    ldr_buf_printf(&b, "%s", ""); /* empty output appends nothing */
    ASSERT_BUF(&b, "n=42");
    ldr_buf_free(&b);
}

/* printf reserves 64 bytes up front; outputs longer than that and than the first 256-byte block
 * must take the retry path and still land whole. */
Test(buf, printf_grows_past_64_and_256_bytes)
{
    char want[2048];
    static const size_t sizes[] = {63, 64, 65, 100, 255, 256, 257, 300, 1000, 2000};
    for (size_t k = 0; k < LDR_ARRAY_SIZE(sizes); k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++)
            want[i] = (char)('A' + (i * 7 + k) % 26);
        want[n] = '\0';
        ldr_buf_t b = LDR_BUF_INIT;
        ldr_buf_printf(&b, "%s", want);
        cr_assert_eq(b.len, n, "printf of %zu bytes gave %zu", n, b.len);
        cr_assert(memcmp(b.base, want, n) == 0, "printf of %zu bytes garbled", n);
        ldr_buf_free(&b);
    }
}

Test(buf, printf_appends_after_existing_content_near_capacity)
{
    ldr_buf_t b = LDR_BUF_INIT;
    char fill[251];
    memset(fill, '.', 250);
    fill[250] = '\0';
    ldr_buf_puts(&b, fill); /* 250 of the first 256-byte block used */
    char big[400];
    memset(big, 'z', 399);
    big[399] = '\0';
    ldr_buf_printf(&b, "[%s]%d", big, 7);
    cr_assert_eq(b.len, 250 + 1 + 399 + 1 + 1);
    cr_assert(memcmp(b.base, fill, 250) == 0);
    cr_assert_eq(b.base[250], '[');
    cr_assert(memcmp(b.base + 251, big, 399) == 0);
    cr_assert(memcmp(b.base + 650, "]7", 2) == 0);
    /* and many small printfs in a row */
    ldr_buf_reset(&b);
    for (int i = 0; i < 1000; i++)
        ldr_buf_printf(&b, "%03d,", i);
    cr_assert_eq(b.len, 4000);
    cr_assert(memcmp(b.base + 4 * 999, "999,", 4) == 0);
    cr_assert(memcmp(b.base + 4 * 123, "123,", 4) == 0);
    ldr_buf_free(&b);
}

/* ---- integers ---- */

Test(buf, put_i64_extremes)
{
    static const struct {
        int64_t v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {-7, "-7"},
        {10, "10"},
        {35000, "35000"},
        {-100, "-100"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
        {INT64_MIN + 1, "-9223372036854775807"},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cases); i++) {
        ldr_buf_t b = LDR_BUF_INIT;
        ldr_buf_put_i64(&b, cases[i].v);
        ASSERT_BUF(&b, cases[i].want);
        ldr_buf_free(&b);
    }
}

/* ---- JSON writers ---- */

Test(buf, json_str_escapes_quotes_backslash_and_controls)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_json_str(&b, "", 0);
    ASSERT_BUF(&b, "\"\"");
    ldr_buf_reset(&b);
    ldr_buf_json_str(&b, "say \"hi\"", 8);
    ASSERT_BUF(&b, "\"say \\\"hi\\\"\"");
    ldr_buf_reset(&b);
    ldr_buf_json_str(&b, "a\\b", 3);
    ASSERT_BUF(&b, "\"a\\\\b\"");
    ldr_buf_reset(&b);
    ldr_buf_json_str(&b, "\n\r\t", 3);
    ASSERT_BUF(&b, "\"\\n\\r\\t\"");
    ldr_buf_reset(&b);
    ldr_buf_json_str(&b, "\x01\x08\x0c\x1f\x7f", 5);
    ASSERT_BUF(&b, "\"\\u0001\\u0008\\u000c\\u001f\\u007f\"");
    ldr_buf_reset(&b);
    ldr_buf_json_str(&b, "a\0b", 3); /* an embedded NUL must not end the string */
    ASSERT_BUF(&b, "\"a\\u0000b\"");
    ldr_buf_reset(&b);
    ldr_buf_json_str(&b, "/ ' < > &", 9); /* nothing else is escaped */
    ASSERT_BUF(&b, "\"/ ' < > &\"");
    ldr_buf_free(&b);
}

Test(buf, json_str_passes_utf8_through)
{
    const char *vi = "Cà chua bi Đà Lạt — ổn 🍅";
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_json_str(&b, vi, strlen(vi));
    cr_assert_eq(b.len, strlen(vi) + 2);
    cr_assert_eq(b.base[0], '"');
    cr_assert(memcmp(b.base + 1, vi, strlen(vi)) == 0);
    cr_assert_eq(b.base[b.len - 1], '"');
    ldr_buf_free(&b);
}

Test(buf, json_str_worst_case_all_controls)
{
    /* every byte becomes \u00XX: the 6x reservation must suffice, after existing content too */
    char in[1000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)(i % 2 ? 0x01 : 0x1e);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "xx");
    ldr_buf_json_str(&b, in, sizeof(in));
    cr_assert_eq(b.len, 2 + 2 + 6 * sizeof(in));
    cr_assert(memcmp(b.base, "xx\"\\u001e\\u0001", 15) == 0);
    cr_assert_eq(b.base[b.len - 1], '"');
    ldr_buf_free(&b);
}

Test(buf, json_sv_key_and_time)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_putc(&b, '{');
    ldr_buf_json_key(&b, "sku");
    ldr_buf_json_sv(&b, LDR_STR_LIT("VEG-1"));
    ldr_buf_putc(&b, ',');
    ldr_buf_json_key(&b, "at");
    ldr_buf_json_time(&b, 1764061200); /* 2025-11-25T09:00:00Z */
    ldr_buf_putc(&b, '}');
    ASSERT_BUF(&b, "{\"sku\":\"VEG-1\",\"at\":\"2025-11-25T09:00:00Z\"}");
    ldr_buf_free(&b);
}

Test(buf, write_to_file)
{
    ldr_buf_t b = LDR_BUF_INIT;
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(ldr_buf_write(&b, f), LDR_OK, "an empty buffer writes nothing and succeeds");
    ldr_buf_puts(&b, "hello\n");
    cr_assert_eq(ldr_buf_write(&b, f), LDR_OK);
    rewind(f);
    char got[16] = {0};
    cr_assert_eq(fread(got, 1, sizeof(got), f), 6);
    cr_assert_str_eq(got, "hello\n");
    fclose(f);
    ldr_buf_free(&b);
}

/* ---- RFC 3339 time ---- */

Test(time, parse_known_instants)
{
    cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(parse_ok("2026-11-25T09:00:00Z"), INT64_C(1795597200));
    cr_assert_eq(parse_ok("2000-02-29T12:34:56Z"), INT64_C(951827696));
    cr_assert_eq(parse_ok("1969-12-31T23:59:59Z"), -1);
    cr_assert_eq(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
    cr_assert_eq(parse_ok("2024-02-29T00:00:00Z"), INT64_C(1709164800));
    /* lowercase t/z and a space separator are accepted */
    cr_assert_eq(parse_ok("2026-11-25t09:00:00z"), INT64_C(1795597200));
    cr_assert_eq(parse_ok("2026-11-25 09:00:00Z"), INT64_C(1795597200));
}

Test(time, offsets_are_normalised_to_utc)
{
    int64_t z = parse_ok("2026-11-25T09:00:00Z");
    cr_assert_eq(parse_ok("2026-11-25T16:00:00+07:00"), z);
    cr_assert_eq(parse_ok("2026-11-25T04:30:00-04:30"), z);
    cr_assert_eq(parse_ok("2026-11-25T09:00:00+00:00"), z);
    cr_assert_eq(parse_ok("2026-11-25T09:00:00-00:00"), z);
    /* an offset that crosses midnight and a year boundary */
    cr_assert_eq(parse_ok("2027-01-01T06:59:59+07:00"), parse_ok("2026-12-31T23:59:59Z"));
}

Test(time, fractional_seconds_are_truncated)
{
    int64_t z = parse_ok("2026-11-25T09:00:00Z");
    cr_assert_eq(parse_ok("2026-11-25T09:00:00.5Z"), z);
    cr_assert_eq(parse_ok("2026-11-25T09:00:00.999999999Z"), z);
    cr_assert_eq(parse_ok("2026-11-25T16:00:00.123+07:00"), z);
    parse_fails("2026-11-25T09:00:00.Z");   /* a dot needs digits */
    parse_fails("2026-11-25T09:00:00.5");   /* still needs Z or an offset */
    parse_fails("2026-11-25T09:00:00.5xZ"); /* non-digit in the fraction */
}

Test(time, leap_second_is_clamped)
{
    cr_assert_eq(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2016-12-31T23:59:59Z"));
    parse_fails("2016-12-31T23:59:61Z");
}

Test(time, invalid_dates_and_times_rejected)
{
    parse_fails("2026-02-30T00:00:00Z");
    parse_fails("2025-02-29T00:00:00Z"); /* 2025 is not a leap year */
    parse_fails("1900-02-29T00:00:00Z"); /* divisible by 100, not by 400 */
    parse_fails("2026-04-31T00:00:00Z");
    parse_fails("2026-00-10T00:00:00Z");
    parse_fails("2026-13-10T00:00:00Z");
    parse_fails("2026-01-00T00:00:00Z");
    parse_fails("2026-01-32T00:00:00Z");
    parse_fails("2026-01-01T24:00:00Z");
    parse_fails("2026-01-01T23:60:00Z");
    parse_fails("2026-01-01T00:00:00+24:00");
    parse_fails("2026-01-01T00:00:00+07:60");
}

Test(time, garbage_rejected)
{
    parse_fails("");
    parse_fails("garbage");
    parse_fails("2026-11-25");
    parse_fails("2026-11-25T09:00:00"); /* no zone */
    parse_fails("2026-11-25T09:00Z");   /* no seconds */
    parse_fails("2026/11/25T09:00:00Z");
    parse_fails("2026-11-25X09:00:00Z");
    parse_fails("26-11-25T09:00:00Z0000");
    parse_fails("2026-1a-25T09:00:00Z");
    parse_fails("+026-11-25T09:00:00Z");
    parse_fails("2026-11-25T09:00:00ZZ"); /* trailing bytes */
    parse_fails("2026-11-25T09:00:00Z ");
    parse_fails("2026-11-25T09:00:00+0700"); /* offset needs a colon */
    parse_fails("2026-11-25T09:00:00+07");
    parse_fails("2026-11-25T09:00:00+07:00Z");
    parse_fails("2026-11-25T09:00:00+0a:00");
    parse_fails(" 2026-11-25T09:00:00Z");
    /* the length bounds the parse: a valid prefix is not enough, nor a valid string cut short */
    int64_t t;
    cr_assert_eq(ldr_time_parse_rfc3339("2026-11-25T09:00:00Z", 19, &t), LDR_EPARSE);
}

Test(time, format_known_instants)
{
    format_is(0, "1970-01-01T00:00:00Z");
    format_is(1795597200, "2026-11-25T09:00:00Z");
    format_is(-1, "1969-12-31T23:59:59Z");
    format_is(-86400, "1969-12-31T00:00:00Z");
    format_is(-86401, "1969-12-30T23:59:59Z");
    format_is(951827696, "2000-02-29T12:34:56Z");
    format_is(INT64_C(253402300799), "9999-12-31T23:59:59Z");
}

Test(time, round_trip)
{
    /* every 1,000,003 s across ~1970..2100, plus day and leap-day edges */
    for (int64_t t = -INT64_C(86400) * 366; t < INT64_C(4102444800); t += 1000003) {
        char s[32];
        size_t n = ldr_time_format_rfc3339(t, s);
        cr_assert_eq(n, 20, "%" PRId64 " formatted as %s", t, s);
        int64_t back = -1;
        cr_assert_eq(ldr_time_parse_rfc3339(s, n, &back), LDR_OK, "%s did not parse", s);
        cr_assert_eq(back, t, "%s parsed to %" PRId64 ", want %" PRId64, s, back, t);
    }
    static const char *const fixed[] = {
        "2024-02-29T23:59:59Z", "2024-03-01T00:00:00Z", "2000-02-29T00:00:00Z",
        "2100-02-28T23:59:59Z", "2100-03-01T00:00:00Z", "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(fixed); i++) {
        int64_t t = parse_ok(fixed[i]);
        format_is(t, fixed[i]);
    }
}

/* include/larder/common.h promises the formatter needs a buffer of "at least 21 bytes".  Times
 * past 9999-12-31 (LDR_NO_EXPIRY among them) or before year 0 produce longer text: the formatter
 * must not write past byte 21 for any int64_t (INT64_MIN also overflows `-t` in the day split). */
Test(time, format_stays_within_documented_21_bytes)
{
    static const int64_t times[] = {INT64_C(253402300800) /* 10000-01-01 */,
                                    INT64_MAX /* LDR_NO_EXPIRY */, INT64_MIN};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(times); i++) {
        char out[64];
        memset(out, '#', sizeof(out));
        size_t n = ldr_time_format_rfc3339(times[i], out);
        size_t written = 0; /* one past the last byte the formatter touched */
        for (size_t k = 0; k < sizeof(out); k++)
            if (out[k] != '#')
                written = k + 1;
        cr_expect_leq(written, 21,
                      "format(%" PRId64 ") wrote %zu bytes (\"%.*s\"), past the documented 21",
                      times[i], written, (int)n, out);
        cr_expect_leq(n, 20, "format(%" PRId64 ") returned length %zu", times[i], n);
    }
}

/* ---- UTF-8 ---- */

static bool utf8(const char *s)
{
    return ldr_utf8_valid(s, strlen(s));
}

Test(utf8, valid_text)
{
    cr_assert(ldr_utf8_valid("", 0));
    cr_assert(utf8("plain ascii \x01\x7f"));
    cr_assert(utf8("Cà chua bi"));
    cr_assert(utf8("Đậu phụ non, rau muống xào tỏi, phở bò tái"));
    cr_assert(utf8("Nước mắm Phú Quốc — 500ml"));
    cr_assert(utf8("\xc2\x80"));         /* U+0080, smallest 2-byte */
    cr_assert(utf8("\xdf\xbf"));         /* U+07FF */
    cr_assert(utf8("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
    cr_assert(utf8("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
    cr_assert(utf8("\xee\x80\x80"));     /* U+E000, just above */
    cr_assert(utf8("\xef\xbf\xbf"));     /* U+FFFF */
    cr_assert(utf8("\xf0\x90\x80\x80")); /* U+10000, smallest 4-byte */
    cr_assert(utf8("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last code point */
    cr_assert(utf8("🍅🥬"));
    cr_assert(ldr_utf8_valid("a\0b", 3), "NUL is a valid code point");
}

Test(utf8, overlongs_rejected)
{
    cr_assert_not(utf8("\xc0\xaf")); /* '/' in 2 bytes */
    cr_assert_not(utf8("\xc1\xbf"));
    cr_assert_not(utf8("\xc0\x80"));         /* NUL in 2 bytes */
    cr_assert_not(utf8("\xe0\x80\xaf"));     /* '/' in 3 bytes */
    cr_assert_not(utf8("\xe0\x9f\xbf"));     /* U+07FF in 3 bytes */
    cr_assert_not(utf8("\xf0\x80\x80\xaf")); /* '/' in 4 bytes */
    cr_assert_not(utf8("\xf0\x8f\xbf\xbf")); /* U+FFFF in 4 bytes */
}

Test(utf8, surrogates_rejected)
{
    cr_assert_not(utf8("\xed\xa0\x80"));             /* U+D800 */
    cr_assert_not(utf8("\xed\xbf\xbf"));             /* U+DFFF */
    cr_assert_not(utf8("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
}

Test(utf8, beyond_u10ffff_and_bad_leads_rejected)
{
    cr_assert_not(utf8("\xf4\x90\x80\x80")); /* U+110000 */
    cr_assert_not(utf8("\xf5\x80\x80\x80"));
    cr_assert_not(utf8("\xf7\xbf\xbf\xbf"));
    cr_assert_not(utf8("\xf8\x88\x80\x80\x80")); /* old 5-byte form */
    cr_assert_not(utf8("\xfc\x84\x80\x80\x80\x80"));
    cr_assert_not(utf8("\xfe"));
    cr_assert_not(utf8("\xff"));
    cr_assert_not(utf8("\x80")); /* lone continuation */
    cr_assert_not(utf8("a\xbf"
                       "b"));
}

Test(utf8, truncated_and_broken_sequences_rejected)
{
    cr_assert_not(utf8("\xc3"));
    cr_assert_not(utf8("\xc3\x28")); /* continuation replaced by '(' */
    cr_assert_not(utf8("\xe1\x80"));
    cr_assert_not(utf8("\xe1\x80"
                       "a"));
    cr_assert_not(utf8("\xf0\x9f\x8d"));
    cr_assert_not(utf8("ok then \xf0\x9f\x8d"));
    /* the length is honoured: a valid sequence cut by len is truncated */
    const char *tomato = "\xf0\x9f\x8d\x85";
    cr_assert(ldr_utf8_valid(tomato, 4));
    cr_assert_not(ldr_utf8_valid(tomato, 3));
    cr_assert_not(ldr_utf8_valid("C\xc3\xa0", 2));
    cr_assert(ldr_utf8_valid("C\xc3\xa0", 3));
}

/* ---- status vocabulary ---- */

Test(status, names_and_messages)
{
    cr_assert_str_eq(ldr_status_name(LDR_OK), "OK");
    cr_assert_str_eq(ldr_strerror(LDR_OK), "success");
    cr_assert_str_eq(ldr_status_name(LDR_EINVAL), "EINVAL");
    cr_assert_str_eq(ldr_strerror(LDR_EINVAL), "invalid argument");
    cr_assert_str_eq(ldr_status_name(LDR_ENOENT), "ENOENT");
    cr_assert_str_eq(ldr_strerror(LDR_ENOENT), "not found");
    cr_assert_str_eq(ldr_status_name(LDR_EEXIST), "EEXIST");
    cr_assert_str_eq(ldr_status_name(LDR_EPARSE), "EPARSE");
    cr_assert_str_eq(ldr_strerror(LDR_EPARSE), "malformed input");
    cr_assert_str_eq(ldr_status_name(LDR_ERANGE), "ERANGE");
    cr_assert_str_eq(ldr_strerror(LDR_ERANGE), "value out of range");
    cr_assert_str_eq(ldr_status_name(LDR_EFULL), "EFULL");
}

Test(status, every_code_is_negative_distinct_and_named)
{
#define CHECK_STATUS(name, val, msg)                                                               \
    cr_assert_lt(LDR_##name, 0);                                                                   \
    cr_assert_str_eq(ldr_status_name(LDR_##name), #name);                                          \
    cr_assert_str_eq(ldr_strerror(LDR_##name), msg);
    LDR_STATUS_MAP(CHECK_STATUS)
#undef CHECK_STATUS
    static const int codes[] = {
#define LIST_STATUS(name, val, msg) LDR_##name,
        LDR_STATUS_MAP(LIST_STATUS)
#undef LIST_STATUS
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(codes); i++)
        for (size_t j = i + 1; j < LDR_ARRAY_SIZE(codes); j++)
            cr_assert_neq(codes[i], codes[j]);
}

Test(status, unknown_codes_never_null)
{
    static const int unknown[] = {1, 42, -999, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(unknown); i++) {
        cr_assert_str_eq(ldr_status_name(unknown[i]), "UNKNOWN");
        cr_assert_str_eq(ldr_strerror(unknown[i]), "unknown status");
    }
}
