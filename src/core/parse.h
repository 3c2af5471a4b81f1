/* SPDX-License-Identifier: Apache-2.0 */
/* The only way numbers are parsed in myrmex: whole strings, range-checked. */
#ifndef MX_CORE_PARSE_H
#define MX_CORE_PARSE_H

#include <stdint.h>

/* Decimal only, no sign, no spaces, the whole string. MX_EINVAL otherwise. */
int mx_parse_u64(const char *s, uint64_t *out);
/* Optional leading '-'. */
int mx_parse_i64(const char *s, int64_t *out);
/* Sizes as Docker takes them: "512", "512b", "10k", "512m", "1g", "1.5g" (binary units). */
int mx_parse_size(const char *s, uint64_t *out);
/* Durations: "10", "10s", "500ms", "2m", "1h", "1h30m"; into nanoseconds. */
int mx_parse_duration_ns(const char *s, uint64_t *out);

#endif
