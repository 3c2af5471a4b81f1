/* SPDX-License-Identifier: Apache-2.0 */
/* NULL-terminated string vectors for argv, env and lists. */
#ifndef MX_CORE_STRV_H
#define MX_CORE_STRV_H

#include <stddef.h>

#include "cleanup.h"

typedef char **mx_strv;

size_t mx_strv_length(char *const *v);
/* Append a copy of s; *v may be NULL. Returns MX_ENOMEM on failure. */
int mx_strv_push(char ***v, const char *s);
/* Append s itself (taken over, also on failure). */
int mx_strv_push_take(char ***v, char *s);
void mx_strv_free(char **v);
char **mx_strv_copy(char *const *v);
int mx_strv_contains(char *const *v, const char *s);
/* Sort in place with strcmp. */
void mx_strv_sort(char **v);

MX_DEFINE_FREEP(char *, mx_strv_free)
#define cleanup_strv cleanup(mx_strv_freep)

#define MX_STRV_FOREACH(s, v) for (char *const *_p_##s = (v), *s; _p_##s && (s = *_p_##s); _p_##s++)

#endif
