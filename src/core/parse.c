/* SPDX-License-Identifier: Apache-2.0 */
#include "parse.h"

#include <ctype.h>
#include <string.h>

#include <myrmex/error.h>

int mx_parse_u64(const char *s, uint64_t *out)
{
        uint64_t v = 0;

        if (!s || !*s)
                return MX_EINVAL;
        for (const char *p = s; *p; p++) {
                unsigned d;

                if (*p < '0' || *p > '9')
                        return MX_EINVAL;
                d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return MX_EINVAL;
                v = v * 10 + d;
        }
        *out = v;
        return 0;
}

int mx_parse_i64(const char *s, int64_t *out)
{
        uint64_t v;
        int neg = 0;

        if (s && *s == '-') {
                neg = 1;
                s++;
        }
        if (mx_parse_u64(s, &v) < 0)
                return MX_EINVAL;
        if (neg) {
                if (v > (uint64_t)INT64_MAX + 1)
                        return MX_EINVAL;
                *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        } else {
                if (v > INT64_MAX)
                        return MX_EINVAL;
                *out = (int64_t)v;
        }
        return 0;
}

/* Parse "digits[.digits]" into a value scaled by 10^6 so "1.5" works without floats. */
static int parse_decimal_micro(const char **sp, uint64_t *out)
{
        const char *p = *sp;
        uint64_t whole = 0, frac = 0, scale = 1000000;
        int digits = 0;

        while (isdigit((unsigned char)*p)) {
                if (whole > (UINT64_MAX / 10000000))
                        return MX_EINVAL;
                whole = whole * 10 + (uint64_t)(*p++ - '0');
                digits++;
        }
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p)) {
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t)(*p - '0') * scale;
                        }
                        p++;
                        digits++;
                }
        }
        if (!digits)
                return MX_EINVAL;
        *out = whole * 1000000 + frac;
        *sp = p;
        return 0;
}

int mx_parse_size(const char *s, uint64_t *out)
{
        uint64_t micro, mult = 1;
        const char *p = s;

        if (!s || parse_decimal_micro(&p, &micro) < 0)
                return MX_EINVAL;
        switch (tolower((unsigned char)*p)) {
        case '\0':
        case 'b':
                break;
        case 'k':
                mult = 1ULL << 10;
                break;
        case 'm':
                mult = 1ULL << 20;
                break;
        case 'g':
                mult = 1ULL << 30;
                break;
        case 't':
                mult = 1ULL << 40;
                break;
        default:
                return MX_EINVAL;
        }
        if (*p) {
                p++;
                if (mult > 1 && (*p == 'b' || *p == 'B'))
                        p++;
                if (*p)
                        return MX_EINVAL;
        }
        if (micro / 1000000 > UINT64_MAX / mult)
                return MX_EINVAL;
        *out = (micro / 1000000) * mult + (micro % 1000000) * mult / 1000000;
        return 0;
}

int mx_parse_duration_ns(const char *s, uint64_t *out)
{
        uint64_t total = 0;
        const char *p = s;

        if (!s || !*s)
                return MX_EINVAL;
        while (*p) {
                uint64_t micro, unit_ns;

                if (parse_decimal_micro(&p, &micro) < 0)
                        return MX_EINVAL;
                if (strncmp(p, "ms", 2) == 0) {
                        unit_ns = 1000000ULL;
                        p += 2;
                } else if (strncmp(p, "us", 2) == 0) {
                        unit_ns = 1000ULL;
                        p += 2;
                } else if (strncmp(p, "ns", 2) == 0) {
                        unit_ns = 1ULL;
                        p += 2;
                } else if (*p == 's' || *p == '\0') {
                        unit_ns = 1000000000ULL;
                        p += *p ? 1 : 0;
                } else if (*p == 'm') {
                        unit_ns = 60000000000ULL;
                        p++;
                } else if (*p == 'h') {
                        unit_ns = 3600000000000ULL;
                        p++;
                } else {
                        return MX_EINVAL;
                }
                if (micro / 1000000 > (UINT64_MAX - total) / unit_ns / 2)
                        return MX_EINVAL;
                total += (micro / 1000000) * unit_ns + (micro % 1000000) * unit_ns / 1000000;
        }
        *out = total;
        return 0;
}
