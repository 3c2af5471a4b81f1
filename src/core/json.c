/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <string.h>

#include "error-internal.h"

int mx_json_parse(json_t **out, const char *data, size_t len, size_t max, int want_object,
                  const char *what, mx_error **err)
{
        json_error_t jerr;
        json_t *j;

        if (len > max)
                return mx_error_set(err, MX_ETOOBIG, MX_D_CORE, 0,
                                    "%s is %zu bytes, more than the %zu allowed", what, len, max);
        j = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!j)
                return mx_error_set(err, MX_EFORMAT, MX_D_CORE, 0,
                                    "%s is not valid JSON (line %d, column %d): %s", what,
                                    jerr.line, jerr.column, jerr.text);
        if (want_object && !json_is_object(j)) {
                json_decref(j);
                return mx_error_set(err, MX_EFORMAT, MX_D_CORE, 0, "%s is not a JSON object", what);
        }
        *out = j;
        return 0;
}

const char *mx_json_str(const json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t mx_json_int(const json_t *obj, const char *key, int64_t dflt)
{
        json_t *v = json_object_get(obj, key);

        return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

char *mx_json_dump_compact(const json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

char *mx_json_dump_ordered(const json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

char *mx_json_dump_pretty(const json_t *j)
{
        return json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
