/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

#include <stdlib.h>
#include <string.h>

#include <myrmex/error.h>

size_t mx_strv_length(char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

int mx_strv_push_take(char ***v, char *s)
{
        size_t n = mx_strv_length(*v);
        char **nv;

        if (!s)
                return MX_ENOMEM;
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return MX_ENOMEM;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int mx_strv_push(char ***v, const char *s)
{
        return mx_strv_push_take(v, strdup(s));
}

void mx_strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

char **mx_strv_copy(char *const *v)
{
        size_t n = mx_strv_length(v);
        char **c = calloc(n + 1, sizeof(char *));

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        mx_strv_free(c);
                        return NULL;
                }
        }
        return c;
}

int mx_strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return 1;
        return 0;
}

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void mx_strv_sort(char **v)
{
        if (mx_strv_length(v) > 1)
                qsort(v, mx_strv_length(v), sizeof(char *), cmp);
}
