/*
 * A judged relevance suite for the search index (index/search.c, rules in include/larder/index.h).
 *
 * Two fixtures:
 *   - `small`: the hand-written catalog of relevance_catalog.h (52 products built to probe one rule
 *     each) with stock in two stores; every judgment is its own parameterized test;
 *   - `generated`: the demo catalog (gen-catalog --skus 50000 --seed 1 --stores 3, today
 *     2026-11-25), built once per test process, so its judgments run grouped in a few tests.
 *
 * A judgment is one row of a table: a query, its options, what a shopper expects and how strictly.
 * Expectations were chosen by reading the catalogs and asking what a shopper who typed the query
 * wants — not by copying what the engine returns; some of them fail on purpose and stay failing
 * until the ranking is fixed.  Adding a judgment is adding a row.
 *
 * Options, ";"-separated:  cat=PATH-PREFIX  brand=X  perishable=0|1  min=VND  max=VND  store=ID
 *                          in_stock  sort=relevance|price_asc|price_desc|name
 * Predicates on a hit:     vi^X  Vietnamese name starts with X     vi~X   Vietnamese name has X
 *                          en~X  English name has X (any case)      cat^P  category under P
 *                          brand=X;  "&" joins terms, "|" separates alternatives
 */
#define _GNU_SOURCE /* strcasestr */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "larder/catalog.h"
#include "larder/gen.h"
#include "larder/index.h"
#include "larder/stock.h"

#include "relevance_catalog.h"

/* ---- judgments ------------------------------------------------------------------------------- */

typedef enum {
    TOP,    /* every SKU of `a` (space-separated) is within the top n */
    ABOVE,  /* a and b both match and a ranks above b */
    ABSENT, /* no SKU of `a` is within the top n (n = 0: none of them matches at all) */
    ZERO,   /* nothing matches: total 0, no hits */
    TOTAL,  /* exactly n products match */
    ALL,    /* each of the top n hits satisfies predicate a (and there are n of them) */
    ANY,    /* at least one of the top n hits satisfies predicate a */
    NONE,   /* none of the top n hits satisfies predicate a */
    COVERS, /* every product query b matches, the query matches too (typing less finds more) */
    FILTER, /* the filtered matches are the unfiltered matches that pass the filters, in order */
    LIST,   /* empty q: the matches are exactly the catalog's products that pass the filters */
    SORTED, /* all matches come in the order of the sort; a, when given, comes first */
    PAGES,  /* pages of n continue each other without overlap or gaps; totals stay the same */
    FACETS, /* facet counts are the counts of the matches; they add up to the total */
} kind_t;

typedef struct judgment {
    const char *q;
    const char *opts;
    kind_t kind;
    unsigned n;
    const char *a, *b;
} judgment_t;

/* "nước mắm" decomposed (NFD): u + horn, o + horn + acute, a + breve + acute */
#define NFD_NUOC_MAM                                                                               \
    "nu\xcc\x9bo\xcc\x9b\xcc\x81"                                                                  \
    "c ma\xcc\x86\xcc\x81"                                                                         \
    "m"

/* The hand-written catalog.  Queries that carry no option use "". */
static const judgment_t small_judgments[] = {
    /* Cà / Cá: the shopper's diacritics pick the word; without them the phrase decides */
    {"cà chua", "", TOP, 1, "VEG-CACHUA", NULL},
    {"cà chua", "", ABOVE, 0, "PAN-TUONGCA", "FRZ-CANHCHUA"}, /* adjacent beats scattered */
    {"ca chua", "", TOP, 1, "VEG-CACHUA", NULL},
    {"ca chua", "", ABOVE, 0, "VEG-CACHUA", "PAN-TUONGCA"}, /* the name starts with the words */
    {"cá", "", TOP, 3, "SEA-CATHU SEA-CACHEP FRZ-CANHCHUA", NULL},
    {"cá", "", ABOVE, 0, "SEA-CACHEP", "VEG-CATIM"},
    {"cà", "", TOP, 2, "VEG-CATIM VEG-CACHUA", NULL},
    {"cà", "", ABOVE, 0, "VEG-CATIM", "SEA-CACHEP"},
    /* prefixes of the last word, as the shopper types */
    {"ca ch", "", TOP, 2, "VEG-CACHUA", NULL},
    {"cà ch", "", TOP, 1, "VEG-CACHUA", NULL}, /* she typed the grave: Cà chua, not Cá chép */
    {"sữa t", "", TOP, 3, "DAI-THFRESH DAI-VNMFRESH DAI-SUADAU", NULL},
    {"thit b", "", TOP, 1, "MEA-THITBO", NULL},
    {"nuoc m", "", TOP, 1, "PAN-NUOCMAM", NULL},
    {"tomatoe", "", ABOVE, 0, "VEG-CACHUA", "PAN-TUONGCA"}, /* a completion beats a typo */
    /* Đậu / Dâu / Dầu */
    {"đậu", "", TOP, 3, "PAN-DAUXANH VEG-DAUPHU DFR-DAUNANH", NULL},
    {"đậu", "", ABOVE, 0, "VEG-DAUPHU", "VEG-DAUTAY"},
    {"dâu", "", TOP, 2, "VEG-DAUTAY DAI-SUADAU", NULL},
    {"dâu", "", ABOVE, 0, "VEG-DAUTAY", "VEG-DAUPHU"},
    {"dầu", "", TOP, 1, "PAN-DAUAN", NULL},
    {"dau", "", TOTAL, 6, NULL, NULL}, /* folded: all of them */
    {"dau phu", "", TOP, 1, "VEG-DAUPHU", NULL},
    {"dâu tây", "", TOP, 1, "VEG-DAUTAY", NULL},
    /* Bò / Bơ / Bó, and the grass-fed butter that holds both bơ and bò */
    {"bò", "", TOP, 2, "MEA-THITBO MEA-BAPBO", NULL},
    {"bò", "", ABOVE, 0, "MEA-THITBO", "DAI-BOLAT"},
    {"bơ", "", TOP, 3, "VEG-BOSAP DAI-BOLAT DAI-BOBO", NULL},
    {"bơ", "", ABOVE, 0, "DAI-BOLAT", "MEA-THITBO"},
    {"bó", "", TOP, 1, "VEG-RAUMUONG", NULL},
    {"thịt bò", "", TOP, 1, "MEA-THITBO", NULL},
    {"bơ sáp", "", TOP, 1, "VEG-BOSAP", NULL},
    /* Cháo / Chảo, chó / cho / chợ, mè / mẹ */
    {"cháo", "", TOP, 1, "PAN-CHAO", NULL},
    {"chảo", "", TOP, 1, "HOU-CHAO", NULL},
    {"chó", "", TOP, 2, "PET-CHO PET-DAYDAT", NULL},
    {"chó", "", ABOVE, 0, "PET-DAYDAT", "MEA-LAPXUONG"}, /* chó must not drown in Chợ Lớn */
    {"chó", "", ABOVE, 0, "PET-CHO", "PET-MEO"},
    {"chợ", "", TOP, 1, "MEA-LAPXUONG", NULL},
    {"thức ăn cho mèo", "", TOP, 1, "PET-MEO", NULL},
    {"mè", "", TOP, 1, "PAN-ME", NULL},
    {"mẹ", "", TOP, 1, "DAI-SUAME", NULL},
    /* old and new tone placement */
    {"hòa lộc", "", TOP, 1, "VEG-XOAI", NULL},
    {"hoà tan", "", TOP, 1, "DRK-CAPHE", NULL},
    {"hòa", "", TOP, 2, "VEG-XOAI DRK-CAPHE", NULL},
    {"thủy canh", "", TOP, 1, "VEG-THUYCANH", NULL},
    {"thủy", "", ABOVE, 0, "VEG-THUYCANH", "DRK-TRASEN"},
    {"thúy", "", ABOVE, 0, "DRK-TRASEN", "VEG-THUYCANH"},
    {"xà lách thuỷ canh", "", TOP, 1, "VEG-THUYCANH", NULL},
    /* the NFD-encoded name, found by NFC, NFD and folded queries */
    {"nước mắm", "", TOP, 1, "PAN-NUOCMAM", NULL},
    {NFD_NUOC_MAM, "", TOP, 1, "PAN-NUOCMAM", NULL},
    {"nuoc mam", "", TOP, 1, "PAN-NUOCMAM", NULL},
    {"mắm", "", TOP, 2, "PAN-MAMTOM PAN-NUOCMAM", NULL},
    {"mắm tôm", "", TOP, 1, "PAN-MAMTOM", NULL},
    /* thể / The */
    {"thể", "", ABOVE, 0, "DRK-THETHAO", "PAN-THEBEST"},
    {"the", "", TOP, 1, "PAN-THEBEST", NULL},
    {"the thao", "", TOP, 1, "DRK-THETHAO", NULL},
    {"the best", "", TOP, 1, "PAN-THEBEST", NULL},
    {"the best", "", ABSENT, 0, "DRK-THETHAO", NULL},
    /* the name starts with the word, or has it later */
    {"gạo", "", TOP, 2, "PAN-ST25 PAN-THEBEST", NULL},
    {"gạo", "", ABOVE, 0, "PAN-ST25", "SNK-BANHGAO"},
    {"gạo", "", ABOVE, 0, "PAN-ST25", "DFR-SUAGAO"},
    /* a phrase against its scattered syllables */
    {"bánh mì chà bông", "", TOP, 1, "BAK-BMCB", NULL},
    {"banh mi cha bong", "", TOP, 1, "BAK-BMCB", NULL},
    {"bánh mì chà bông", "", ABOVE, 0, "BAK-BONGLAN", "MEA-CHABONG"},
    /* brands, categories, tags, descriptions */
    {"vinamilk", "", TOP, 3, "DAI-SUAME DAI-VNMFRESH DAI-VNMYOG", NULL},
    {"vinamilk", "", TOTAL, 3, NULL, NULL},
    {"vinamilk sữa tươi", "", TOP, 1, "DAI-VNMFRESH", NULL},
    {"cholimex", "", TOP, 1, "PAN-TUONGCA", NULL},
    {"seafood", "", TOP, 3, "SEA-CATHU SEA-CACHEP SEA-TOMSU", NULL},
    {"seafood", "", ABOVE, 0, "SEA-TOMSU", "FRZ-CHAGIO"}, /* category beats description */
    {"bakery", "", TOTAL, 4, NULL, NULL},
    {"organic", "", TOP, 2, "VEG-CAITHIA VEG-CACHUA", NULL},
    {"vegan", "", TOP, 2, "DFR-DAUNANH DFR-SUAGAO", NULL},
    {"toast", "", ABOVE, 0, "BAK-TOAST", "BAK-SANDWICH"}, /* name beats description */
    {"breakfast", "", TOP, 1, "BAK-SANDWICH", NULL},
    /* typos: 1 edit from 4 characters, 2 from 8; never more */
    {"tomatos", "", TOP, 2, "VEG-CACHUA", NULL},
    {"bannana", "", TOP, 1, "VEG-CHUOI", NULL},
    {"xoaii", "", TOP, 1, "VEG-XOAI", NULL},
    {"vinamlik", "", TOP, 3, "DAI-SUAME DAI-VNMFRESH DAI-VNMYOG", NULL},
    {"mozarela", "", TOP, 1, "DAI-MOZZA", NULL},
    {"tmaot", "", ZERO, 0, NULL, NULL},
    /* nothing to find */
    {"xyzzyq", "", ZERO, 0, NULL, NULL},
    {"qwertyuiop", "", ZERO, 0, NULL, NULL},
    {"!!! ???", "", ZERO, 0, NULL, NULL},
    {"!!!", "cat=dairy", ZERO, 0, NULL, NULL}, /* symbols are not an empty query */
    /* filters */
    {"sữa", "cat=dairy", FILTER, 0, NULL, NULL},
    {"sữa", "cat=dairy", ABSENT, 0, "DFR-DAUNANH DFR-SUAGAO", NULL}, /* dairy is not dairy-free */
    {"sữa", "brand=Vinamilk", FILTER, 0, NULL, NULL},
    {"sữa", "min=9000;max=32000", FILTER, 0, NULL, NULL},
    {"bơ", "perishable=0", FILTER, 0, NULL, NULL},
    {"sữa tươi", "store=default;in_stock", FILTER, 0, NULL, NULL},
    {"sữa tươi", "store=default;in_stock", ABSENT, 0, "DAI-THFRESH", NULL},
    /* without a store DAI-THFRESH ranks first; out of stock at "default", it drops below */
    {"sữa tươi", "store=default", ABOVE, 0, "DAI-VNMFRESH", "DAI-THFRESH"},
    {"sữa tươi", "store=q7;in_stock", TOP, 1, "DAI-THFRESH", NULL},
    {"", "cat=dairy", LIST, 0, NULL, NULL},
    {"", "cat=produce;perishable=1;max=30000", LIST, 0, NULL, NULL},
    {"", "brand=Vinamilk", LIST, 0, NULL, NULL},
    {"", "store=q7;in_stock", LIST, 0, NULL, NULL},
    {"  ", "cat=meat/beef", TOTAL, 2, NULL, NULL},
    {"", "brand=NoSuchBrand", ZERO, 0, NULL, NULL},
    /* sorting, pages, facets */
    {"", "cat=produce;sort=price_asc", SORTED, 0, "VEG-DAUPHU", NULL},
    {"sữa", "sort=price_desc", SORTED, 0, "DAI-SUAME", NULL},
    {"", "sort=name", SORTED, 0, "DRK-CAPHE", NULL},
    {"", "", PAGES, 7, NULL, NULL},
    {"sữa", "sort=price_asc", PAGES, 3, NULL, NULL},
    {"dau", "", FACETS, 0, NULL, NULL},
    {"", "", FACETS, 0, NULL, NULL},
};

/* The generated catalog. */
static const judgment_t generated_judgments[] = {
    /* tomatoes */
    {"tomatoes", "", ALL, 10, "cat^produce/vegetables&en~tomato", NULL},
    {"cà chua", "", ALL, 10, "vi^Cà chua", NULL},
    {"ca chua", "", ALL, 10, "vi^Cà chua", NULL},
    {"tomatos", "", ALL, 10, "cat^produce/vegetables&en~tomato", NULL},
    {"tomato", "", ANY, 5, "cat^produce/vegetables&en~tomato", NULL},
    {"ca ch", "", ANY, 10, "vi^Cà chua", NULL},
    {"cà ch", "", ALL, 5, "vi^Cà ch", NULL},
    /* exact diacritics over folded ones */
    {"cá", "", ALL, 10, "vi~cá|vi~Cá", NULL},
    {"cà", "", ALL, 10, "vi~cà|vi~Cà", NULL},
    {"đậu phụ", "", ALL, 10, "vi^Đậu phụ", NULL},
    {"dau phu", "", ALL, 10, "vi^Đậu phụ", NULL},
    {"dâu tây", "", ALL, 10, "vi^Dâu tây", NULL},
    {"đậu", "", NONE, 10, "cat^pantry/cooking-oil", NULL},
    {"dâu", "", NONE, 10, "vi^Đậu|vi^Dầu", NULL},
    {"bò", "", NONE, 10, "cat^dairy", NULL},
    {"bơ", "", NONE, 10, "cat^meat", NULL},
    {"thịt bò", "", ALL, 10, "cat^meat&vi~bò", NULL},
    /* every hit spells chó as typed (walnuts, "hạt óc chó", legitimately among them) */
    {"chó", "", ALL, 10, "vi~chó", NULL},
    {"thức ăn cho mèo", "", ALL, 10, "cat^pets/cat-food", NULL},
    {"cà phê chồn", "", ALL, 10, "vi^Cà phê chồn", NULL},
    {"phở bò", "", ALL, 5, "vi^Phở bò", NULL},
    {"pho bo", "", ANY, 3, "vi^Phở bò", NULL},
    {"phô mai", "", ALL, 10, "cat^dairy/cheese", NULL},
    /* English and Vietnamese names of the same things */
    {"bananas", "", ALL, 10, "cat^produce/fruits&en~banana", NULL},
    /* banana products (fresh ones are "bananas"; chips rank first: a known weakness, see notes) */
    {"banana", "", ALL, 5, "en~banana", NULL},
    {"chuối", "", ANY, 10, "cat^produce/fruits", NULL},
    {"milk", "", ALL, 3, "cat^dairy", NULL},
    {"fresh milk", "", ALL, 10, "cat^dairy/milk&en~fresh milk", NULL},
    {"sữa tươi", "", ALL, 10, "vi^Sữa tươi", NULL},
    {"sua tuoi", "", ALL, 10, "vi^Sữa tươi", NULL},
    {"nước mắm", "", ALL, 10, "vi^Nước mắm", NULL},
    {"nuoc mam", "", ALL, 10, "vi^Nước mắm", NULL},
    {"fish sauce", "", ALL, 10, "en~fish sauce", NULL},
    {"thit ba chi", "", ALL, 10, "vi^Thịt ba chỉ", NULL},
    {"pork belly", "", ALL, 10, "vi^Thịt ba chỉ", NULL},
    {"instant noodles", "", ALL, 10, "cat^pantry/noodles&en~instant noodles", NULL},
    {"mì ly", "", ALL, 10, "vi^Mì ly", NULL},
    {"rice", "", ANY, 5, "cat^pantry/rice", NULL},
    {"gạo", "", ALL, 10, "cat^pantry/rice", NULL},
    {"coffee", "", ALL, 10, "cat^drinks/coffee", NULL},
    {"ca phe", "", ALL, 10, "cat^drinks/coffee", NULL},
    {"beer", "", ALL, 10, "cat^drinks/beer", NULL},
    {"tôm sú", "", ALL, 10, "vi^Tôm sú", NULL},
    {"sầu riêng", "", ALL, 5, "cat^produce/fruits", NULL},
    {"nước dừa", "", ALL, 5, "vi^Nước dừa", NULL},
    {"trà sữa", "", ALL, 5, "vi^Trà sữa", NULL},
    {"organic", "", ALL, 10, "en~organic|vi~hữu cơ", NULL},
    /* named products, picked from the catalog */
    {"vinamilk fresh milk", "", TOP, 5, "DAI-039587 DAI-007838 DAI-009494", NULL},
    {"sữa tươi vinamilk", "", TOP, 10, "DAI-039587 DAI-007838 DAI-009494", NULL},
    {"weasel coffee trung nguyen", "", TOP, 2, "DRK-005711 DRK-005712", NULL},
    {"dâu tây đà lạt", "", TOP, 3, "VEG-011906 VEG-014774", NULL},
    /* brands */
    {"vinamilk", "", ALL, 10, "brand=Vinamilk", NULL},
    {"vinamlik", "", ALL, 10, "brand=Vinamilk", NULL},
    /* prefixes of the last word */
    {"sữa t", "", ANY, 10, "vi^Sữa tươi", NULL},
    {"sữa tư", "", ANY, 10, "vi^Sữa tươi", NULL},
    {"nuoc ma", "", ANY, 10, "vi^Nước mắm", NULL},
    {"thit b", "", ANY, 10, "vi^Thịt bò|vi^Thịt ba chỉ", NULL},
    {"avocado b", "", COVERS, 0, NULL, "avocado bơ"},
    {"cà phê s", "", COVERS, 0, NULL, "cà phê sữa"},
    {"thịt c", "", COVERS, 0, NULL, "thịt cua"},
    /* typos */
    {"bannana", "", ALL, 10, "en~banana", NULL},
    {"shrimpp", "", ALL, 10, "en~shrimp", NULL},
    {"cofee", "", ALL, 10, "cat^drinks/coffee", NULL},
    {"noodels", "", ALL, 10, "en~noodles", NULL},
    {"brocolli", "", ALL, 10, "en~broccoli", NULL},
    {"mozarela", "", ALL, 10, "en~mozzarella", NULL},
    /* nothing to find */
    {"xyzzyq", "", ZERO, 0, NULL, NULL},
    {"qwertyuiop", "", ZERO, 0, NULL, NULL},
};

/* The generated catalog: filters, sorting, pages, facets. */
static const judgment_t generated_listings[] = {
    {"milk", "cat=dairy/milk", FILTER, 0, NULL, NULL},
    {"milk", "cat=dairy", ALL, 20, "cat^dairy", NULL},
    {"sữa", "brand=Vinamilk", FILTER, 0, NULL, NULL},
    {"rice", "cat=pantry/rice;min=100000;max=200000", FILTER, 0, NULL, NULL},
    {"cà chua", "perishable=1", FILTER, 0, NULL, NULL},
    {"beer", "store=default;in_stock", FILTER, 0, NULL, NULL},
    {"tôm", "store=hn-caugiay;in_stock;cat=seafood", FILTER, 0, NULL, NULL},
    {"", "cat=seafood/crab", LIST, 0, NULL, NULL},
    {"", "cat=seafood/crab", TOTAL, 156, NULL, NULL},
    {"", "brand=Vinamilk;perishable=0", LIST, 0, NULL, NULL},
    {"", "cat=produce;store=hn-caugiay;in_stock;min=20000;max=30000", LIST, 0, NULL, NULL},
    {"", "cat=seafood/crab;sort=price_asc", SORTED, 0, NULL, NULL},
    {"beer", "sort=price_desc", SORTED, 0, NULL, NULL},
    {"", "cat=dairy/eggs;sort=name", SORTED, 0, NULL, NULL},
    {"sữa", "", PAGES, 20, NULL, NULL},
    {"", "cat=produce", PAGES, 33, NULL, NULL},
    {"tomatoes", "sort=price_asc", PAGES, 10, NULL, NULL},
    {"sữa", "", FACETS, 0, NULL, NULL},
    {"", "cat=produce", FACETS, 0, NULL, NULL},
    {"organic", "store=default", FACETS, 0, NULL, NULL},
};

/* ---- fixtures -------------------------------------------------------------------------------- */

typedef struct fixture {
    ldr_catalog_t *cat;
    ldr_stock_t *st;
    ldr_index_t *idx;
    ldr_searcher_t *s;
} fixture_t;

static void fixture_index(fixture_t *fx)
{
    fx->idx = ldr_index_build(fx->cat);
    fx->s = ldr_searcher_new(fx->idx);
}

static uint32_t doc_of(const fixture_t *fx, const char *sku)
{
    uint32_t doc = UINT32_MAX;
    cr_assert_not_null(ldr_catalog_find(fx->cat, sku, strlen(sku), &doc), "no product %s", sku);
    return doc;
}

static void receive(fixture_t *fx, const char *store, const char *sku, int64_t quantity)
{
    uint32_t id = ldr_stock_store_put(fx->st, store, strlen(store));
    cr_assert_eq(ldr_stock_receive(fx->st, id, doc_of(fx, sku), "L1", 2, quantity, LDR_NO_EXPIRY),
                 LDR_OK);
}

/* The hand-written catalog; store "default" holds everything but DAI-THFRESH and VEG-DAUTAY,
 * store "q7" holds three dairy products. */
static void small_fixture(fixture_t *fx)
{
    fx->cat = ldr_catalog_new();
    fx->st = ldr_stock_new();
    ldr_load_result_t res;
    cr_assert_eq(ldr_catalog_load_jsonl(fx->cat, relevance_catalog, strlen(relevance_catalog), NULL,
                                        NULL, &res),
                 LDR_OK);
    cr_assert_eq(res.rejected, 0, "the relevance catalog has %llu bad lines",
                 (unsigned long long)res.rejected);
    cr_assert_eq(res.loaded, 52);
    for (uint32_t doc = 0; doc < ldr_catalog_doc_limit(fx->cat); doc++) {
        const ldr_product_t *p = ldr_catalog_doc(fx->cat, doc);
        if (strcmp(p->sku.ptr, "DAI-THFRESH") != 0 && strcmp(p->sku.ptr, "VEG-DAUTAY") != 0)
            receive(fx, "default", p->sku.ptr, 10);
    }
    receive(fx, "q7", "DAI-THFRESH", 5);
    receive(fx, "q7", "DAI-VNMFRESH", 5);
    receive(fx, "q7", "DAI-VNMYOG", 5);
    fixture_index(fx);
}

/* gen-catalog --skus 50000 --seed 1 --stores 3 --today 2026-11-25, loaded from memory. */
static void generated_fixture(fixture_t *fx)
{
    char *cbuf = NULL, *sbuf = NULL;
    size_t clen = 0, slen = 0;
    FILE *cf = open_memstream(&cbuf, &clen), *sf = open_memstream(&sbuf, &slen);
    cr_assert(cf != NULL && sf != NULL);
    ldr_gen_opts_t o = {50000, 1, 3, 1795564800};
    cr_assert_eq(ldr_gen_catalog(&o, cf, sf), LDR_OK);
    fclose(cf);
    fclose(sf);
    fx->cat = ldr_catalog_new();
    fx->st = ldr_stock_new();
    ldr_load_result_t res;
    cr_assert_eq(ldr_catalog_load_jsonl(fx->cat, cbuf, clen, NULL, NULL, &res), LDR_OK);
    cr_assert_eq(res.loaded, 50000);
    cr_assert_eq(ldr_stock_load_jsonl(fx->st, fx->cat, sbuf, slen, NULL, NULL, &res), LDR_OK);
    cr_assert_eq(res.rejected, 0);
    free(cbuf);
    free(sbuf);
    fixture_index(fx);
}

static void fixture_free(fixture_t *fx)
{
    ldr_searcher_free(fx->s);
    ldr_index_free(fx->idx);
    ldr_stock_free(fx->st);
    ldr_catalog_free(fx->cat);
}

/* ---- queries --------------------------------------------------------------------------------- */

typedef struct options {
    char category[128], brand[128], store[64];
    int perishable; /* -1 any */
    int64_t price_min, price_max;
    bool in_stock;
    int sort;
} options_t;

static bool has_filters(const options_t *o)
{
    return o->category[0] || o->brand[0] || o->perishable >= 0 || o->price_min >= 0 ||
           o->price_max >= 0 || o->in_stock;
}

static options_t parse_options(const char *s)
{
    options_t o = {.perishable = -1, .price_min = -1, .price_max = -1, .sort = LDR_SORT_RELEVANCE};
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ";", &save); t != NULL; t = strtok_r(NULL, ";", &save)) {
        char *v = strchr(t, '=');
        if (v != NULL)
            *v++ = '\0';
        if (strcmp(t, "cat") == 0 && v)
            snprintf(o.category, sizeof(o.category), "%s", v);
        else if (strcmp(t, "brand") == 0 && v)
            snprintf(o.brand, sizeof(o.brand), "%s", v);
        else if (strcmp(t, "store") == 0 && v)
            snprintf(o.store, sizeof(o.store), "%s", v);
        else if (strcmp(t, "perishable") == 0 && v)
            o.perishable = atoi(v);
        else if (strcmp(t, "min") == 0 && v)
            o.price_min = atoll(v);
        else if (strcmp(t, "max") == 0 && v)
            o.price_max = atoll(v);
        else if (strcmp(t, "in_stock") == 0)
            o.in_stock = true;
        else if (strcmp(t, "sort") == 0 && v && strcmp(v, "price_asc") == 0)
            o.sort = LDR_SORT_PRICE_ASC;
        else if (strcmp(t, "sort") == 0 && v && strcmp(v, "price_desc") == 0)
            o.sort = LDR_SORT_PRICE_DESC;
        else if (strcmp(t, "sort") == 0 && v && strcmp(v, "name") == 0)
            o.sort = LDR_SORT_NAME;
        else if (!(strcmp(t, "sort") == 0 && v && strcmp(v, "relevance") == 0))
            cr_assert_fail("bad option \"%s\" in \"%s\"", t, s);
    }
    return o;
}

static uint32_t store_id(const fixture_t *fx, const options_t *o)
{
    if (!o->store[0])
        return UINT32_MAX;
    uint32_t id = ldr_stock_store_find(fx->st, o->store, strlen(o->store));
    cr_assert_neq(id, UINT32_MAX, "no store %s", o->store);
    return id;
}

static void run(fixture_t *fx, const char *q, const options_t *o, uint32_t page, uint32_t per_page,
                ldr_search_result_t *r)
{
    ldr_search_query_t sq = {.q = q,
                             .q_len = strlen(q),
                             .perishable = o->perishable,
                             .price_min = o->price_min,
                             .price_max = o->price_max,
                             .store = store_id(fx, o),
                             .in_stock = o->in_stock,
                             .sort = o->sort,
                             .page = page,
                             .per_page = per_page,
                             .facets = LDR_FACET_CATEGORY | LDR_FACET_BRAND | LDR_FACET_PERISHABLE};
    if (o->category[0])
        sq.category = o->category, sq.category_len = strlen(o->category);
    if (o->brand[0])
        sq.brand = o->brand, sq.brand_len = strlen(o->brand);
    if (o->store[0])
        sq.stock = fx->st;
    cr_assert_eq(ldr_search(fx->s, &sq, r), LDR_OK, "search \"%s\" failed", q);
}

/* Every match, in result order (at most the search window). */
typedef struct matches {
    uint32_t total, n;
    uint32_t *docs;
} matches_t;

static matches_t all_matches(fixture_t *fx, const char *q, const options_t *o)
{
    static ldr_search_result_t r;
    matches_t m = {0, 0, malloc(LDR_SEARCH_WINDOW_MAX * sizeof(uint32_t))};
    for (uint32_t page = 1; page <= LDR_SEARCH_WINDOW_MAX / 100; page++) {
        run(fx, q, o, page, 100, &r);
        m.total = r.total;
        for (uint32_t i = 0; i < r.nhits; i++)
            m.docs[m.n++] = r.hits[i].doc;
        if (r.nhits < 100)
            break;
    }
    return m;
}

static int rank_of(const matches_t *m, uint32_t doc)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->docs[i] == doc)
            return (int)i;
    return -1;
}

/* ---- what a product is ----------------------------------------------------------------------- */

static ldr_str_t category_of(const fixture_t *fx, const ldr_product_t *p)
{
    return ldr_intern_str(ldr_catalog_categories(fx->cat), p->category);
}

static bool category_under(ldr_str_t c, const char *prefix)
{
    size_t n = strlen(prefix);
    return c.len >= n && memcmp(c.ptr, prefix, n) == 0 && (c.len == n || c.ptr[n] == '/');
}

static bool brand_is(const fixture_t *fx, const ldr_product_t *p, const char *brand)
{
    if (p->brand == LDR_NO_BRAND)
        return false;
    ldr_str_t b = ldr_intern_str(ldr_catalog_brands(fx->cat), p->brand);
    return b.len == strlen(brand) && memcmp(b.ptr, brand, b.len) == 0;
}

/* One term of a predicate: "vi^x", "vi~x", "en~x", "cat^x" or "brand=x" (t[0..len)). */
static bool term_holds(const fixture_t *fx, const ldr_product_t *p, const char *t, size_t len)
{
    static const char *const tags[] = {"vi^", "vi~", "en~", "cat^", "brand="};
    size_t k, tag_len = 0;
    for (k = 0; k < 5; k++) {
        tag_len = strlen(tags[k]);
        if (len > tag_len && strncmp(t, tags[k], tag_len) == 0)
            break;
    }
    cr_assert_lt(k, 5, "bad predicate term \"%.*s\"", (int)len, t);
    char want[256];
    cr_assert_lt(len - tag_len, sizeof(want));
    memcpy(want, t + tag_len, len - tag_len);
    want[len - tag_len] = '\0';
    const char *vi = p->name[LDR_LANG_VI].ptr ? p->name[LDR_LANG_VI].ptr : "";
    const char *en = p->name[LDR_LANG_EN].ptr ? p->name[LDR_LANG_EN].ptr : "";
    switch (k) {
    case 0:
        return strncmp(vi, want, strlen(want)) == 0;
    case 1:
        return strstr(vi, want) != NULL;
    case 2:
        return strcasestr(en, want) != NULL;
    case 3:
        return category_under(category_of(fx, p), want);
    default:
        return brand_is(fx, p, want);
    }
}

/* pred: alternatives separated by '|', each a list of terms joined by '&' */
static bool satisfies(const fixture_t *fx, uint32_t doc, const char *pred)
{
    const ldr_product_t *p = ldr_catalog_doc(fx->cat, doc);
    for (const char *alt = pred;;) {
        const char *alt_end = alt + strcspn(alt, "|");
        bool ok = true;
        for (const char *t = alt; t < alt_end && ok;) {
            size_t len = strcspn(t, "&|");
            ok = term_holds(fx, p, t, len);
            t += len + 1;
        }
        if (ok)
            return true;
        if (*alt_end == '\0')
            return false;
        alt = alt_end + 1;
    }
}

/* Does the product pass the query's filters?  Worked out from the product and the stock table. */
static bool passes(const fixture_t *fx, const options_t *o, uint32_t doc)
{
    const ldr_product_t *p = ldr_catalog_doc(fx->cat, doc);
    if (p == NULL)
        return false;
    if (o->category[0] && !category_under(category_of(fx, p), o->category))
        return false;
    if (o->brand[0] && !brand_is(fx, p, o->brand))
        return false;
    if (o->perishable >= 0 && p->perishable != (o->perishable == 1))
        return false;
    if (o->price_min >= 0 && p->price < o->price_min)
        return false;
    if (o->price_max >= 0 && p->price > o->price_max)
        return false;
    if (o->in_stock && ldr_stock_available(ldr_stock_get(fx->st, store_id(fx, o), doc)) <= 0)
        return false;
    return true;
}

static const char *display_name(const ldr_product_t *p)
{
    return p->name[LDR_LANG_EN].ptr ? p->name[LDR_LANG_EN].ptr : p->name[LDR_LANG_VI].ptr;
}

/* ---- judging --------------------------------------------------------------------------------- */

/* "the top hits were: ..." for failure messages */
static const char *show_top(const fixture_t *fx, const matches_t *m, uint32_t n)
{
    static char buf[2048];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "total %u; top:", m->total);
    for (uint32_t i = 0; i < m->n && i < n && len < sizeof(buf); i++) {
        const ldr_product_t *p = ldr_catalog_doc(fx->cat, m->docs[i]);
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, " %u. %s \"%s\";", i + 1, p->sku.ptr,
                             p->name[LDR_LANG_VI].ptr ? p->name[LDR_LANG_VI].ptr : display_name(p));
    }
    return buf;
}

/* Calls fn for every space-separated SKU of list; false as soon as fn says so. */
static bool each_sku(const char *list, bool (*fn)(void *, const char *), void *ctx)
{
    char buf[512], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
        if (!fn(ctx, t))
            return false;
    return true;
}

typedef struct sku_check {
    fixture_t *fx;
    const matches_t *m;
    unsigned n;
    char failed[128];
} sku_check_t;

static bool in_top(void *ctx, const char *sku)
{
    sku_check_t *c = ctx;
    int r = rank_of(c->m, doc_of(c->fx, sku));
    if (r >= 0 && (unsigned)r < c->n)
        return true;
    snprintf(c->failed, sizeof(c->failed), "%s is %s%d", sku, r < 0 ? "not matched" : "at rank ",
             r < 0 ? 0 : r + 1);
    return false;
}

static bool not_in_top(void *ctx, const char *sku)
{
    sku_check_t *c = ctx;
    int r = rank_of(c->m, doc_of(c->fx, sku));
    if (r < 0 || (c->n > 0 && (unsigned)r >= c->n))
        return true;
    snprintf(c->failed, sizeof(c->failed), "%s is at rank %d", sku, r + 1);
    return false;
}

static const char *kind_name(kind_t k)
{
    static const char *names[] = {"TOP",  "ABOVE",  "ABSENT", "ZERO", "TOTAL",  "ALL",   "ANY",
                                  "NONE", "COVERS", "FILTER", "LIST", "SORTED", "PAGES", "FACETS"};
    return names[k];
}

static int64_t sort_key_cmp(const fixture_t *fx, int sort, uint32_t a, uint32_t b)
{
    const ldr_product_t *x = ldr_catalog_doc(fx->cat, a), *y = ldr_catalog_doc(fx->cat, b);
    if (sort == LDR_SORT_PRICE_ASC)
        return x->price - y->price;
    if (sort == LDR_SORT_PRICE_DESC)
        return y->price - x->price;
    return strcasecmp(display_name(x), display_name(y));
}

/* Judges one row; returns true when it holds.  Failures are reported through cr_expect. */
static bool judge(fixture_t *fx, const judgment_t *j)
{
    options_t o = parse_options(j->opts);
    char what[512];
    snprintf(what, sizeof(what), "%s \"%s\" [%s] %u %s %s", kind_name(j->kind), j->q, j->opts, j->n,
             j->a ? j->a : "", j->b ? j->b : "");
    matches_t m = all_matches(fx, j->q, &o);
    bool ok = true;
    char why[256] = "";

    switch (j->kind) {
    case TOP: {
        sku_check_t c = {fx, &m, j->n, ""};
        ok = each_sku(j->a, in_top, &c);
        snprintf(why, sizeof(why), "%s", c.failed);
        break;
    }
    case ABSENT: {
        sku_check_t c = {fx, &m, j->n, ""};
        ok = each_sku(j->a, not_in_top, &c);
        snprintf(why, sizeof(why), "%s", c.failed);
        break;
    }
    case ABOVE: {
        int ra = rank_of(&m, doc_of(fx, j->a)), rb = rank_of(&m, doc_of(fx, j->b));
        ok = ra >= 0 && rb >= 0 && ra < rb;
        snprintf(why, sizeof(why), "%s at rank %d, %s at rank %d (0 = not matched)", j->a, ra + 1,
                 j->b, rb + 1);
        break;
    }
    case ZERO:
        ok = m.total == 0 && m.n == 0;
        break;
    case TOTAL:
        ok = m.total == j->n && m.n == j->n;
        break;
    case ALL:
    case ANY:
    case NONE: {
        uint32_t n = m.n < j->n ? m.n : j->n, hits = 0, first_bad = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            bool s = satisfies(fx, m.docs[i], j->a);
            hits += s;
            if (first_bad == UINT32_MAX && s == (j->kind == NONE))
                first_bad = i;
        }
        if (j->kind == ALL)
            ok = n == j->n && hits == n;
        else if (j->kind == ANY)
            ok = hits > 0;
        else
            ok = hits == 0;
        if (j->kind == ANY && !ok)
            snprintf(why, sizeof(why), "none of the top %u fits", n);
        else if (j->kind == ALL && n < j->n)
            snprintf(why, sizeof(why), "only %u hits", n);
        else if (first_bad != UINT32_MAX)
            snprintf(why, sizeof(why), "rank %u %s", first_bad + 1,
                     j->kind == NONE ? "fits" : "does not fit");
        break;
    }
    case COVERS: {
        matches_t more = all_matches(fx, j->b, &o);
        uint32_t missing = 0, example = UINT32_MAX;
        for (uint32_t i = 0; i < more.n; i++)
            if (rank_of(&m, more.docs[i]) < 0 && missing++ == 0)
                example = more.docs[i];
        ok = missing == 0 && m.total >= more.total;
        if (!ok)
            snprintf(why, sizeof(why),
                     "\"%s\" matches %u, \"%s\" %u; %u of the latter missing, e.g. %s", j->q,
                     m.total, j->b, more.total, missing,
                     example == UINT32_MAX ? "-" : ldr_catalog_doc(fx->cat, example)->sku.ptr);
        free(more.docs);
        break;
    }
    case FILTER: {
        cr_assert(has_filters(&o), "FILTER needs filters: %s", what);
        options_t plain = parse_options("");
        plain.sort = o.sort;
        matches_t all = all_matches(fx, j->q, &plain);
        cr_assert_lt(all.total, LDR_SEARCH_WINDOW_MAX, "unfiltered \"%s\" overflows the window",
                     j->q);
        uint32_t k = 0;
        bool same_order = true;
        for (uint32_t i = 0; i < all.n; i++) {
            if (!passes(fx, &o, all.docs[i]))
                continue;
            int r = rank_of(&m, all.docs[i]);
            if (r < 0) {
                ok = false;
                snprintf(why, sizeof(why), "%s passes the filters but is not listed",
                         ldr_catalog_doc(fx->cat, all.docs[i])->sku.ptr);
                break;
            }
            same_order = same_order && (uint32_t)r == k;
            k++;
        }
        if (ok && (k != m.total || k != m.n)) {
            ok = false;
            snprintf(why, sizeof(why), "%u unfiltered matches pass the filters, %u listed", k,
                     m.total);
        }
        /* a store changes scores (out of stock halves them); without one the order must hold */
        if (ok && !o.store[0] && !same_order) {
            ok = false;
            snprintf(why, sizeof(why), "the filters reordered the matches");
        }
        free(all.docs);
        break;
    }
    case LIST: {
        uint32_t k = 0;
        for (uint32_t doc = 0; doc < ldr_catalog_doc_limit(fx->cat); doc++) {
            if (!passes(fx, &o, doc))
                continue;
            k++;
            if (ok && rank_of(&m, doc) < 0) {
                ok = false;
                snprintf(why, sizeof(why), "%s passes the filters but is not listed",
                         ldr_catalog_doc(fx->cat, doc)->sku.ptr);
            }
        }
        if (ok && (k != m.total || k != m.n)) {
            ok = false;
            snprintf(why, sizeof(why), "%u products pass the filters, %u listed", k, m.total);
        }
        break;
    }
    case SORTED: {
        ok = m.n == m.total && m.n > 0;
        for (uint32_t i = 1; i < m.n && ok; i++)
            if (sort_key_cmp(fx, o.sort, m.docs[i - 1], m.docs[i]) > 0) {
                ok = false;
                snprintf(why, sizeof(why), "ranks %u and %u are out of order", i, i + 1);
            }
        if (ok && j->a != NULL && m.docs[0] != doc_of(fx, j->a)) {
            ok = false;
            snprintf(why, sizeof(why), "%s is not first", j->a);
        }
        break;
    }
    case PAGES: {
        static ldr_search_result_t whole, page;
        cr_assert_leq(3 * j->n, LDR_SEARCH_PER_PAGE_MAX);
        run(fx, j->q, &o, 1, 3 * j->n, &whole);
        for (uint32_t p = 1; p <= 3 && ok; p++) {
            run(fx, j->q, &o, p, j->n, &page);
            uint32_t want = whole.nhits > (p - 1) * j->n ? whole.nhits - (p - 1) * j->n : 0;
            if (want > j->n)
                want = j->n;
            ok = page.total == whole.total && page.nhits == want;
            for (uint32_t i = 0; i < page.nhits && ok; i++)
                ok = page.hits[i].doc == whole.hits[(p - 1) * j->n + i].doc;
            if (!ok)
                snprintf(why, sizeof(why), "page %u of %u does not continue the pages before it", p,
                         j->n);
        }
        /* and a page past the end is empty, with the same total */
        uint32_t last = whole.total / j->n + 2;
        if (ok && (uint64_t)last * j->n <= LDR_SEARCH_WINDOW_MAX) {
            run(fx, j->q, &o, last, j->n, &page);
            ok = page.nhits == 0 && page.total == whole.total;
            if (!ok)
                snprintf(why, sizeof(why), "page %u past the end has %u hits", last, page.nhits);
        }
        /* no SKU twice across all the pages */
        for (uint32_t i = 0; i < m.n && ok; i++)
            if (rank_of(&m, m.docs[i]) != (int)i) {
                ok = false;
                snprintf(why, sizeof(why), "rank %u repeats an earlier hit", i + 1);
            }
        ok = ok && m.n == m.total;
        break;
    }
    case FACETS: {
        static ldr_search_result_t r;
        run(fx, j->q, &o, 1, 10, &r);
        cr_assert_eq(m.n, m.total, "FACETS needs every match within the window: %s", what);
        uint32_t ncat = ldr_intern_count(ldr_catalog_categories(fx->cat));
        uint32_t nbrand = ldr_intern_count(ldr_catalog_brands(fx->cat));
        uint32_t *cat = calloc(ncat + 1, sizeof(uint32_t)), *brand = calloc(nbrand + 1, 4);
        uint32_t per[2] = {0, 0}, unbranded = 0;
        for (uint32_t i = 0; i < m.n; i++) {
            const ldr_product_t *p = ldr_catalog_doc(fx->cat, m.docs[i]);
            cat[p->category]++;
            if (p->brand == LDR_NO_BRAND)
                unbranded++;
            else
                brand[p->brand]++;
            per[p->perishable]++;
        }
        uint64_t sum_cat = 0, sum_brand = 0, sum_per = 0;
        for (uint32_t i = 0; i < r.category.n && ok; i++) {
            ok = r.category.values[i].count == cat[r.category.values[i].id];
            sum_cat += r.category.values[i].count;
        }
        for (uint32_t i = 0; i < r.brand.n && ok; i++) {
            ok = r.brand.values[i].count == brand[r.brand.values[i].id];
            sum_brand += r.brand.values[i].count;
        }
        for (uint32_t i = 0; i < r.perishable.n && ok; i++) {
            ok = r.perishable.values[i].count == per[r.perishable.values[i].id];
            sum_per += r.perishable.values[i].count;
        }
        if (!ok)
            snprintf(why, sizeof(why), "a facet count differs from the matches");
        /* the facet lists hold the 50 most frequent values; below that they must add up */
        if (ok && ((r.category.n < 50 && sum_cat != r.total) ||
                   (r.brand.n < 50 && sum_brand + unbranded != r.total) || sum_per != r.total)) {
            ok = false;
            snprintf(why, sizeof(why),
                     "facets add up to category %llu, brand %llu + %u unbranded, perishable %llu "
                     "for a total of %u",
                     (unsigned long long)sum_cat, (unsigned long long)sum_brand, unbranded,
                     (unsigned long long)sum_per, r.total);
        }
        free(cat);
        free(brand);
        break;
    }
    }
    cr_expect(ok, "%s: %s; %s", what, why, show_top(fx, &m, 5));
    free(m.docs);
    return ok;
}

/* Judges a table on one fixture, reporting every failing row, and how many held. */
static void judge_all(fixture_t *fx, const judgment_t *t, size_t n, const char *name)
{
    size_t held = 0;
    for (size_t i = 0; i < n; i++)
        held += judge(fx, &t[i]);
    cr_log_info("%s: %zu of %zu judgments hold", name, held, n);
}

/* ---- tests ----------------------------------------------------------------------------------- */

ParameterizedTestParameters(search, small)
{
    static size_t rows[sizeof(small_judgments) / sizeof(small_judgments[0])];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        rows[i] = i;
    return cr_make_param_array(size_t, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(size_t *row, search, small)
{
    fixture_t fx;
    small_fixture(&fx);
    judge(&fx, &small_judgments[*row]);
    fixture_free(&fx);
}

Test(search, generated_relevance, .timeout = 60)
{
    fixture_t fx;
    generated_fixture(&fx);
    judge_all(&fx, generated_judgments,
              sizeof(generated_judgments) / sizeof(generated_judgments[0]), "generated relevance");
    fixture_free(&fx);
}

Test(search, generated_listings, .timeout = 60)
{
    fixture_t fx;
    generated_fixture(&fx);
    judge_all(&fx, generated_listings, sizeof(generated_listings) / sizeof(generated_listings[0]),
              "generated listings");
    fixture_free(&fx);
}
