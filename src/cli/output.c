/* SPDX-License-Identifier: Apache-2.0 */
/* Output helpers: Docker's human sizes and times, aligned tables, pretty JSON. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void mx_cli_human_size(char *buf, size_t len, double size, int precision)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        size_t i = 0;

        while (size >= 1000.0 && i < MX_CLI_ARRAY_SIZE(units) - 1) {
                size /= 1000.0;
                i++;
        }
        snprintf(buf, len, "%.*g%s", precision, size, units[i]);
}

void mx_cli_human_duration(char *buf, size_t len, int64_t seconds)
{
        int64_t minutes = seconds / 60;
        /* Docker rounds to the nearest hour before choosing hour-based words */
        int64_t hours = (seconds + 1800) / 3600;

        if (seconds < 1)
                snprintf(buf, len, "Less than a second");
        else if (seconds == 1)
                snprintf(buf, len, "1 second");
        else if (seconds < 60)
                snprintf(buf, len, "%lld seconds", (long long)seconds);
        else if (minutes == 1)
                snprintf(buf, len, "About a minute");
        else if (minutes < 60)
                snprintf(buf, len, "%lld minutes", (long long)minutes);
        else if (hours == 1)
                snprintf(buf, len, "About an hour");
        else if (hours < 48)
                snprintf(buf, len, "%lld hours", (long long)hours);
        else if (hours < 24 * 7 * 2)
                snprintf(buf, len, "%lld days", (long long)(hours / 24));
        else if (hours < 24 * 30 * 2)
                snprintf(buf, len, "%lld weeks", (long long)(hours / 24 / 7));
        else if (hours < 24 * 365 * 2)
                snprintf(buf, len, "%lld months", (long long)(hours / 24 / 30));
        else
                snprintf(buf, len, "%lld years", (long long)(seconds / 3600 / 24 / 365));
}

void mx_cli_human_since(char *buf, size_t len, time_t when, time_t now)
{
        char d[64];

        if (when <= 0) {
                snprintf(buf, len, "N/A");
                return;
        }
        mx_cli_human_duration(d, sizeof(d), (int64_t)(now - when));
        snprintf(buf, len, "%s ago", d);
}

void mx_cli_go_time(char *buf, size_t len, time_t when)
{
        struct tm tm;

        if (!gmtime_r(&when, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm) == 0)
                snprintf(buf, len, "%lld", (long long)when);
}

static int digits(const char **p, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)(*p)[i]))
                        return -1;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *out = v;
        return 0;
}

int mx_cli_parse_rfc3339(const char *s, time_t *out)
{
        struct tm tm = {0};
        int y, mo, d, h, mi, sec, off = 0;
        const char *p = s;

        if (!s || digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
            digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
                return -1;
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
            digits(&p, 2, &sec) < 0)
                return -1;
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om;

                p++;
                if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0)
                        return -1;
                off = sign * (oh * 3600 + om * 60);
        } else {
                return -1;
        }
        if (*p)
                return -1;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        *out = timegm(&tm) - off;
        return 0;
}

/* ---- tables ------------------------------------------------------------------------------ */

struct mx_table {
        char ***rows;
        size_t *ncells;
        size_t nrows;
};

mx_table *mx_table_new(void)
{
        mx_table *t = calloc(1, sizeof(*t));

        if (!t)
                abort();
        return t;
}

void mx_table_add(mx_table *t, const char *const *cells, size_t n)
{
        char ***rows = realloc(t->rows, sizeof(*rows) * (t->nrows + 1));
        size_t *nc = realloc(t->ncells, sizeof(*nc) * (t->nrows + 1));

        if (!rows || !nc)
                abort();
        t->rows = rows;
        t->ncells = nc;
        t->rows[t->nrows] = mx_cli_xmalloc(sizeof(char *) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
                t->rows[t->nrows][i] = mx_cli_xstrdup(cells[i]);
        t->ncells[t->nrows] = n;
        t->nrows++;
}

void mx_table_add_tabbed(mx_table *t, const char *line)
{
        const char *cells[64];
        char *copy = mx_cli_xstrdup(line), *p = copy, *save = NULL;
        size_t n = 0;

        /* strtok_r would merge empty cells; split by hand */
        (void)save;
        while (n < MX_CLI_ARRAY_SIZE(cells)) {
                char *tab = strchr(p, '\t');

                cells[n++] = p;
                if (!tab)
                        break;
                *tab = '\0';
                p = tab + 1;
        }
        mx_table_add(t, cells, n);
        free(copy);
}

/* Display width of a UTF-8 string: code points, good enough for IDs, names and sizes. */
static size_t width(const char *s)
{
        size_t w = 0;

        for (; *s; s++) {
                if (((unsigned char)*s & 0xC0) != 0x80)
                        w++;
        }
        return w;
}

void mx_table_print(mx_table *t, FILE *f)
{
        size_t ncols = 0;
        size_t *w;

        for (size_t r = 0; r < t->nrows; r++) {
                if (t->ncells[r] > ncols)
                        ncols = t->ncells[r];
        }
        w = calloc(ncols ? ncols : 1, sizeof(*w));
        if (!w)
                abort();
        /* text/tabwriter with minwidth 10, padding 3: the last cell of a row is not a column */
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t c = 0; c + 1 < t->ncells[r]; c++) {
                        size_t cw = width(t->rows[r][c]) + 3;

                        if (cw < 10)
                                cw = 10;
                        if (cw > w[c])
                                w[c] = cw;
                }
        }
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t c = 0; c < t->ncells[r]; c++) {
                        const char *cell = t->rows[r][c];

                        fputs(cell, f);
                        if (c + 1 < t->ncells[r]) {
                                for (size_t pad = width(cell); pad < w[c]; pad++)
                                        fputc(' ', f);
                        }
                }
                fputc('\n', f);
        }
        free(w);
}

void mx_table_free(mx_table *t)
{
        if (!t)
                return;
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t c = 0; c < t->ncells[r]; c++)
                        free(t->rows[r][c]);
                free(t->rows[r]);
        }
        free(t->rows);
        free(t->ncells);
        free(t);
}

void mx_cli_print_json(FILE *f, const json_t *j)
{
        char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

        if (s)
                fprintf(f, "%s\n", s);
        free(s);
}

void mx_cli_rfc3339(char *buf, size_t len, int64_t t)
{
        time_t s = (time_t)t;
        struct tm tm;

        gmtime_r(&s, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *mx_cli_labels_json(const char *text)
{
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;

        return j ? j : json_object();
}

/* ---- numbers ------------------------------------------------------------------------------ */

int mx_cli_parse_u64(const char *s, uint64_t *out)
{
        uint64_t v = 0;

        if (!s || !*s)
                return MX_EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
                        return MX_EINVAL;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        *out = v;
        return 0;
}

int mx_cli_parse_i64(const char *s, int64_t *out)
{
        bool neg = s && *s == '-';
        uint64_t v;

        if (mx_cli_parse_u64(neg ? s + 1 : s, &v) < 0)
                return MX_EINVAL;
        if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
                return MX_EINVAL;
        *out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

int mx_cli_parse_int(const char *s, int min, int max, int *out)
{
        int64_t v;

        if (mx_cli_parse_i64(s, &v) < 0 || v < min || v > max)
                return MX_EINVAL;
        *out = (int)v;
        return 0;
}

int mx_cli_parse_count(const char *s, uint64_t *out)
{
        uint64_t v = 0;

        if (!*s)
                return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > UINT64_MAX / 10 - 10)
                        return -1;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        if (*s == 'k' || *s == 'K')
                v <<= 10, s++;
        else if (*s == 'm' || *s == 'M')
                v <<= 20, s++;
        else if (*s == 'g' || *s == 'G')
                v <<= 30, s++;
        if (*s)
                return -1;
        *out = v;
        return 0;
}

/* ---- allocation and IDs
 * -------------------------------------------------------------------------- */

void *mx_cli_xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);

        if (!p) {
                fputs("myrmex: error: out of memory\n", stderr);
                abort();
        }
        return p;
}

char *mx_cli_xstrdup(const char *s)
{
        char *p = strdup(s ? s : "");

        if (!p) {
                fputs("myrmex: error: out of memory\n", stderr);
                abort();
        }
        return p;
}

char *mx_cli_xasprintf(const char *fmt, ...)
{
        char *p = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (n < 0) {
                fputs("myrmex: error: out of memory\n", stderr);
                abort();
        }
        return p;
}

const char *mx_cli_short_id(char *buf, size_t len, const char *id)
{
        const char *colon = id ? strchr(id, ':') : NULL;
        const char *hex = colon ? colon + 1 : (id ? id : "");

        snprintf(buf, len, "%.12s", hex);
        return buf;
}
