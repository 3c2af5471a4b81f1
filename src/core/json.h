/* SPDX-License-Identifier: Apache-2.0 */
/* JSON on jansson: bounded parsing with clear errors, typed getters, canonical dumps. */
#ifndef MX_CORE_JSON_H
#define MX_CORE_JSON_H

#include <jansson.h>
#include <stdint.h>

#include <myrmex/error.h>

#include "cleanup.h"

static inline void mx_json_decrefp(json_t **j)
{
        if (*j)
                json_decref(*j);
}
#define cleanup_json cleanup(mx_json_decrefp)

/* Parse len bytes (no NUL needed). what names the input in the error ("manifest 'sha256:..'").
 * Refuses input over max bytes, duplicate keys, and a top level that is not an object when
 * want_object is set. MX_EFORMAT with line and column on bad JSON. */
int mx_json_parse(json_t **out, const char *data, size_t len, size_t max, int want_object,
                  const char *what, mx_error **err);

/* Typed getters: NULL / default when the key is missing or of another type. */
const char *mx_json_str(const json_t *obj, const char *key);
int64_t mx_json_int(const json_t *obj, const char *key, int64_t dflt);

/* Compact dump with sorted keys (stable digests); caller frees with free(). */
char *mx_json_dump_compact(const json_t *j);
/* Dump with keys in insertion order, compact, as registries and Docker write them. */
char *mx_json_dump_ordered(const json_t *j);
/* Pretty dump, 4 spaces, for people. */
char *mx_json_dump_pretty(const json_t *j);

#endif
