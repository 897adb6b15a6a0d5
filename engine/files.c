/* Numbered files of the engine's directory: see files_internal.h. */
#include "files_internal.h"

#include <stdlib.h>
#include <string.h>

#include "larder/common.h"

bool ldr__hex_name_parse(const char *name, const char *prefix, const char *suffix, uint64_t *v)
{
    size_t p = strlen(prefix), s = strlen(suffix);
    if (strlen(name) != p + 16 + s || memcmp(name, prefix, p) != 0 ||
        memcmp(name + p + 16, suffix, s) != 0)
        return false;
    uint64_t x = 0;
    for (size_t i = p; i < p + 16; i++) {
        char c = name[i];
        if (c >= '0' && c <= '9')
            x = (x << 4) | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x = (x << 4) | (uint64_t)(c - 'a' + 10);
        else
            return false;
    }
    *v = x;
    return true;
}

static int ldr__cmp_up(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int ldr__cmp_down(const void *a, const void *b)
{
    return ldr__cmp_up(b, a);
}

int ldr__list_numbered(DIR *d, bool (*parse)(const char *name, uint64_t *v), bool descending,
                       uint64_t **out, uint32_t *count)
{
    uint64_t *v = NULL;
    uint32_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t x;
        if (!parse(de->d_name, &x))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = ldr_realloc(v, cap * sizeof(*v));
        }
        v[n++] = x;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof(*v), descending ? ldr__cmp_down : ldr__cmp_up);
    *out = v;
    *count = n;
    return LDR_OK;
}
