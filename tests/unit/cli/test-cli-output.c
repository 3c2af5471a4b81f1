/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tap.h"

static void size_is(double size, int precision, const char *want)
{
        char buf[32];

        mx_cli_human_size(buf, sizeof(buf), size, precision);
        if (strcmp(buf, want) != 0)
                mx_tap_fail(__FILE__, __LINE__, "size %.0f: '%s' != '%s'", size, buf, want);
}

MX_TEST(human_sizes_as_docker)
{
        size_is(0, 3, "0B");
        size_is(999, 3, "999B");
        size_is(1000, 3, "1kB");
        size_is(2129920, 3, "2.13MB");
        size_is(5200000, 3, "5.2MB");
        size_is(1048576, 4, "1.049MB");
        size_is(1e9, 3, "1GB");
        size_is(123456789012.0, 3, "123GB");
}

static void since_is(long long ago, const char *want)
{
        char buf[64];

        mx_cli_human_since(buf, sizeof(buf), 1000000000 - ago, 1000000000);
        if (strcmp(buf, want) != 0)
                mx_tap_fail(__FILE__, __LINE__, "%llds: '%s' != '%s'", ago, buf, want);
}

MX_TEST(relative_times_as_docker)
{
        since_is(0, "Less than a second ago");
        since_is(1, "1 second ago");
        since_is(59, "59 seconds ago");
        since_is(60, "About a minute ago");
        since_is(119, "About a minute ago");
        since_is(120, "2 minutes ago");
        since_is(3599, "59 minutes ago");
        since_is(3600, "About an hour ago");
        since_is(5399, "About an hour ago");
        since_is(5400, "2 hours ago");
        since_is(47 * 3600, "47 hours ago");
        since_is(48 * 3600, "2 days ago");
        since_is(14 * 86400, "2 weeks ago");
        since_is(60 * 86400, "2 months ago");
        since_is(2 * 365 * 86400, "2 years ago");
}

MX_TEST(go_time_and_rfc3339)
{
        char buf[64];
        time_t t = 0;

        ASSERT_EQ(mx_cli_parse_rfc3339("2021-12-30T19:19:41.123456789Z", &t), 0);
        ASSERT_EQ(t, 1640891981);
        mx_cli_go_time(buf, sizeof(buf), t);
        ASSERT_STREQ(buf, "2021-12-30 19:19:41 +0000 UTC");
        ASSERT_EQ(mx_cli_parse_rfc3339("2021-12-30T20:19:41+01:00", &t), 0);
        ASSERT_EQ(t, 1640891981);
        ASSERT_TRUE(mx_cli_parse_rfc3339("2021-12-30", &t) < 0);
        ASSERT_TRUE(mx_cli_parse_rfc3339("2021-12-30T19:19:41", &t) < 0);
        ASSERT_TRUE(mx_cli_parse_rfc3339("2021-12-30T19:19:41Zjunk", &t) < 0);
}

MX_TEST(numbers)
{
        uint64_t u = 7;
        int64_t i = 7;
        int n = 7;

        ASSERT_EQ(mx_cli_parse_u64("18446744073709551615", &u), 0);
        ASSERT_TRUE(u == UINT64_MAX);
        ASSERT_EQ(mx_cli_parse_u64("18446744073709551616", &u), MX_EINVAL);
        ASSERT_EQ(mx_cli_parse_u64("", &u), MX_EINVAL);
        ASSERT_EQ(mx_cli_parse_u64("12a", &u), MX_EINVAL);
        ASSERT_EQ(mx_cli_parse_u64("-1", &u), MX_EINVAL);
        ASSERT_EQ(mx_cli_parse_u64(" 1", &u), MX_EINVAL);
        ASSERT_EQ(mx_cli_parse_i64("-9223372036854775808", &i), 0);
        ASSERT_TRUE(i == INT64_MIN);
        ASSERT_EQ(mx_cli_parse_i64("9223372036854775808", &i), MX_EINVAL);
        ASSERT_EQ(mx_cli_parse_int("10", 0, 9, &n), MX_EINVAL);
        ASSERT_EQ(n, 7);
        ASSERT_EQ(mx_cli_parse_int("-3", -5, 5, &n), 0);
        ASSERT_EQ(n, -3);
}

MX_TEST(short_ids)
{
        char buf[80];

        ASSERT_STREQ(mx_cli_short_id(buf, sizeof(buf),
                                     "sha256:fa2e95cb085044d1408b1c0bb49a7563ae3664e8"),
                     "fa2e95cb0850");
        ASSERT_STREQ(mx_cli_short_id(buf, sizeof(buf), "abc"), "abc");
}

/* Print a table into a string. */
static char *table_text(mx_table *t)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        mx_table_print(t, f);
        fclose(f);
        return s;
}

MX_TEST(table_alignment_as_tabwriter)
{
        mx_table *t = mx_table_new();
        char *s;

        mx_table_add_tabbed(t, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE");
        mx_table_add_tabbed(t, "busybox\tlatest\tbeae173ccac6\t2 years ago\t1.24MB");
        mx_table_add_tabbed(t, "a\t\tb\tc\td");
        s = table_text(t);
        ASSERT_STREQ(s, "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n"
                        "busybox      latest    beae173ccac6   2 years ago   1.24MB\n"
                        "a                      b              c             d\n");
        free(s);
        mx_table_free(t);
}

static char *render(const char *tmpl, const char *json)
{
        json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
        mx_error *err = NULL;
        char *out = NULL;

        if (!v)
                mx_tap_fail(__FILE__, __LINE__, "bad test JSON %s", json);
        if (mx_template_render(&out, tmpl, v, &err) < 0) {
                out = mx_cli_xasprintf("ERROR: %s", err && err->message ? err->message : "?");
                mx_error_free(err);
        }
        json_decref(v);
        return out;
}

#define RENDERS(tmpl, json, want)                                                            \
        do {                                                                                 \
                char *_o = render(tmpl, json);                                               \
                int _ok = strcmp(_o, want) == 0;                                             \
                if (!_ok)                                                                    \
                        mx_tap_fail(__FILE__, __LINE__, "%s: '%s' != '%s'", tmpl, _o, want); \
                free(_o);                                                                    \
        } while (0)

MX_TEST(templates)
{
        const char *img = "{\"ID\":\"abc\",\"Tags\":[\"a\",\"b\"],\"Labels\":{\"z\":\"1\","
                          "\"k\":\"v\"},\"Size\":12,\"Ok\":true,\"Ratio\":1.5,\"None\":null,"
                          "\"Empty\":\"\",\"Nested\":{\"Inner\":{\"X\":\"deep\"}}}";

        RENDERS("{{.ID}}", img, "abc");
        RENDERS("id={{.ID}} size={{.Size}}", img, "id=abc size=12");
        RENDERS("{{.Nested.Inner.X}}", img, "deep");
        RENDERS("{{.Missing}}", img, "<no value>");
        RENDERS("{{.None}}", img, "<nil>");
        RENDERS("{{.Tags}}", img, "[a b]");
        RENDERS("{{.Labels}}", img, "map[k:v z:1]");
        RENDERS("{{.Ok}} {{.Ratio}}", img, "true 1.5");
        RENDERS("{{json .Tags}}", img, "[\"a\",\"b\"]");
        RENDERS("{{json .Labels}}", img, "{\"z\":\"1\",\"k\":\"v\"}");
        RENDERS("{{.Tags | json}}", img, "[\"a\",\"b\"]");
        RENDERS("{{upper .ID}}{{lower \"XY\"}}{{title \"hello world\"}}", img, "ABCxyHello World");
        RENDERS("{{join .Tags \", \"}}", img, "a, b");
        RENDERS("{{index .Labels \"k\"}}{{index .Tags 1}}", img, "vb");
        RENDERS("{{len .Tags}}{{len .Labels}}{{len .ID}}", img, "223");
        RENDERS("{{truncate .ID 2}}", img, "ab");
        RENDERS("{{range .Tags}}<{{.}}>{{end}}", img, "<a><b>");
        RENDERS("{{range .Nope}}x{{else}}none{{end}}", img, "none");
        RENDERS("{{if .Ok}}yes{{else}}no{{end}}{{if .Empty}}yes{{else}}no{{end}}", img, "yesno");
        RENDERS("{{if .Missing}}yes{{end}}", img, "");
        RENDERS("a {{- .ID -}} b", img, "aabcb");
        RENDERS("{{/* comment */}}x", img, "x");
        RENDERS("{{json .}}", "[1,2]", "[1,2]");
        RENDERS("{{.}}", "\"plain\"", "plain");
        RENDERS("{{split .ID \"b\"}}", img, "[a c]");
        RENDERS("{{println .ID}}", img, "abc\n");
        /* errors */
        RENDERS("{{.ID", img, "ERROR: template: unclosed action");
        RENDERS("{{nofunc .ID}}", img, "ERROR: template: function \"nofunc\" not defined");
        RENDERS("{{end}}", img, "ERROR: template: unexpected {{end}}");
        RENDERS("{{if .Ok}}x", img, "ERROR: template: unexpected end, missing {{end}}");
        RENDERS("{{.ID.X}}", img, "ERROR: template: can't evaluate field X in type string");
        RENDERS("{{index .Tags 5}}", img, "ERROR: template: index out of range: 5");
}

/* The formatter writes to stdout: redirect it into a file for the check. */
static char *format_rows(const char *format, const char *rows_json)
{
        json_t *rows = json_loads(rows_json, 0, NULL);
        json_t *headers = json_pack("{s:s}", "ID", "IMAGE ID");
        mx_error *err = NULL;
        char path[] = "/tmp/mx-cli-test-XXXXXX";
        int fd = mkstemp(path), saved = dup2(1, 100);
        mx_formatter *f;
        size_t i;
        json_t *row;
        char *out = NULL;

        fflush(stdout);
        (void)dup2(fd, 1);
        f = mx_formatter_new(format, "table {{.ID}}\t{{.Name}}", headers, &err);
        if (f) {
                json_array_foreach(rows, i, row)(void) mx_formatter_row(f, row, &err);
                mx_formatter_end(f);
                mx_formatter_free(f);
        }
        fflush(stdout);
        (void)dup2(saved, 1);
        close(saved);
        {
                FILE *in = fopen(path, "re");
                size_t n = 0;
                ssize_t got;

                out = calloc(1, 4096);
                got = (ssize_t)fread(out, 1, 4095, in);
                n = got > 0 ? (size_t)got : 0;
                out[n] = '\0';
                fclose(in);
        }
        close(fd);
        unlink(path);
        mx_error_free(err);
        json_decref(headers);
        json_decref(rows);
        return out;
}

MX_TEST(formatter_modes)
{
        const char *rows = "[{\"ID\":\"abc\",\"Name\":\"one\"},{\"ID\":\"d\",\"Name\":\"two\"}]";
        char *s;

        s = format_rows(NULL, rows);
        ASSERT_STREQ(s, "IMAGE ID   NAME\nabc        one\nd          two\n");
        free(s);
        s = format_rows("table", rows);
        ASSERT_STREQ(s, "IMAGE ID   NAME\nabc        one\nd          two\n");
        free(s);
        s = format_rows("json", rows);
        ASSERT_STREQ(s, "{\"ID\":\"abc\",\"Name\":\"one\"}\n{\"ID\":\"d\",\"Name\":\"two\"}\n");
        free(s);
        s = format_rows("{{.Name}}", rows);
        ASSERT_STREQ(s, "one\ntwo\n");
        free(s);
        s = format_rows("table {{.Name}}\\t{{.ID}}", rows);
        ASSERT_STREQ(s, "NAME      IMAGE ID\none       abc\ntwo       d\n");
        free(s);
        s = format_rows(NULL, "[]");
        ASSERT_STREQ(s, "IMAGE ID   NAME\n");
        free(s);
}
