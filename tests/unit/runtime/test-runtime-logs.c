/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON-lines log: writing, partial lines, rotation, parsing, timestamps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fs.h"
#include "runtime/runtime-internal.h"
#include "tap.h"

static char *read_all(const char *path)
{
        mx_buf b = MX_BUF_INIT;

        if (mx_buf_read_file(&b, path, 1 << 24, NULL) < 0)
                return NULL;
        return mx_buf_detach(&b);
}

static size_t count_lines(const char *s)
{
        size_t n = 0;

        for (; s && *s; s++)
                n += *s == '\n';
        return n;
}

MX_TEST(log_writer_writes_dockers_json_lines)
{
        char path[4096];
        mx_logw w;
        char *text;
        mx_buf t = MX_BUF_INIT;
        int stream;
        char tbuf[64];

        snprintf(path, sizeof(path), "%s/c-json.log", mx_tap_tmpdir());
        ASSERT_OK(mx_logw_open(&w, path, 0, 1, NULL));
        ASSERT_OK(mx_logw_write(&w, 1, "hello\nwor", 9));
        ASSERT_OK(mx_logw_write(&w, 2, "oops \"quoted\" <tag>\n", 20));
        ASSERT_OK(mx_logw_write(&w, 1, "ld\n", 3));
        ASSERT_OK(mx_logw_write(&w, 1, "no newline at the end", 21));
        mx_logw_close(&w);
        text = read_all(path);
        ASSERT_NOT_NULL(text);
        ASSERT_EQ(count_lines(text), 4);
        {
                static const char prefix[] =
                        "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"";

                ASSERT_TRUE(strncmp(text, prefix, sizeof(prefix) - 1) == 0);
        }
        ASSERT_TRUE(strstr(text, "\\\"quoted\\\" \\u003ctag\\u003e\\n\",\"stream\":\"stderr\"") !=
                    NULL);
        ASSERT_TRUE(strstr(text, "{\"log\":\"world\\n\"") != NULL);
        /* parse back every line */
        {
                char *line = text;
                int n = 0;

                while (*line) {
                        char *nl = strchr(line, '\n');

                        ASSERT_OK(mx_runtime__log_parse_line(line, (size_t)(nl - line), &t, &stream,
                                                             tbuf, sizeof(tbuf)));
                        if (n == 1) {
                                ASSERT_EQ(stream, 2);
                                ASSERT_STREQ(t.ptr, "oops \"quoted\" <tag>\n");
                        }
                        if (n == 3)
                                ASSERT_STREQ(t.ptr, "no newline at the end");
                        ASSERT_EQ(tbuf[strlen(tbuf) - 1], 'Z');
                        n++;
                        line = nl + 1;
                }
        }
        mx_buf_clear(&t);
        free(text);
}

MX_TEST(log_parse_accepts_other_key_orders_and_refuses_garbage)
{
        mx_buf t = MX_BUF_INIT;
        int stream = 0;
        char tbuf[64];
        const char *docker = "{\"stream\":\"stderr\",\"log\":\"\\u00e9t\\u00e9 \\ud83d\\ude00\\n\","
                             "\"time\":\"2024-01-02T03:04:05.5Z\"}";

        ASSERT_OK(mx_runtime__log_parse_line(docker, strlen(docker), &t, &stream, tbuf,
                                             sizeof(tbuf)));
        ASSERT_EQ(stream, 2);
        ASSERT_STREQ(t.ptr, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\n");
        ASSERT_STREQ(tbuf, "2024-01-02T03:04:05.5Z");
        ASSERT_ERR(mx_runtime__log_parse_line("{not json", 9, &t, &stream, tbuf, sizeof(tbuf)),
                   MX_EFORMAT);
        ASSERT_ERR(
                mx_runtime__log_parse_line("{\"log\":\"x\"}", 11, &t, &stream, tbuf, sizeof(tbuf)),
                MX_EFORMAT);
        mx_buf_clear(&t);
}

MX_TEST(log_escape_keeps_utf8_and_replaces_invalid_bytes)
{
        mx_buf b = MX_BUF_INIT;

        ASSERT_OK(mx_runtime__json_escape(&b, "a\tb\x01\xc3\xa9\xff", 7));
        ASSERT_STREQ(b.ptr, "a\\tb\\u0001\xc3\xa9\\ufffd");
        mx_buf_clear(&b);
}

MX_TEST(log_rotates_by_size_and_count)
{
        char path[4096], p1[4200], p2[4200], p3[4200];
        mx_logw w;
        char line[128];

        snprintf(path, sizeof(path), "%s/r-json.log", mx_tap_tmpdir());
        ASSERT_OK(mx_logw_open(&w, path, 1000, 3, NULL));
        for (int i = 0; i < 100; i++) {
                int n = snprintf(line, sizeof(line), "line %03d\n", i);

                ASSERT_OK(mx_logw_write(&w, 1, line, (size_t)n));
        }
        mx_logw_close(&w);
        snprintf(p1, sizeof(p1), "%s.1", path);
        snprintf(p2, sizeof(p2), "%s.2", path);
        snprintf(p3, sizeof(p3), "%s.3", path);
        ASSERT_TRUE(mx_fs_exists(path));
        ASSERT_TRUE(mx_fs_exists(p1));
        ASSERT_TRUE(mx_fs_exists(p2));
        ASSERT_TRUE(!mx_fs_exists(p3)); /* max-file 3: the live file and two rotated */
        {
                char *live = read_all(path), *old = read_all(p2);

                ASSERT_TRUE(strstr(live, "line 099") != NULL);
                ASSERT_TRUE(strstr(old, "line 000") == NULL); /* the oldest went away */
                free(live);
                free(old);
        }
}

MX_TEST(rfc3339_round_trip)
{
        char buf[64];
        int64_t ns;

        mx_runtime__rfc3339(buf, sizeof(buf), 1704164645123400000LL);
        ASSERT_STREQ(buf, "2024-01-02T03:04:05.1234Z");
        ASSERT_OK(mx_runtime__parse_rfc3339(buf, &ns));
        ASSERT_EQ(ns, 1704164645123400000LL);
        mx_runtime__rfc3339(buf, sizeof(buf), 1704164645000000000LL);
        ASSERT_STREQ(buf, "2024-01-02T03:04:05Z");
        ASSERT_OK(mx_runtime__parse_rfc3339("2024-01-02T05:04:05+02:00", &ns));
        ASSERT_EQ(ns, 1704164645000000000LL);
        ASSERT_ERR(mx_runtime__parse_rfc3339("2024-01-02", &ns), MX_EINVAL);
        ASSERT_ERR(mx_runtime__parse_rfc3339("2024-01-02T03:04:05", &ns), MX_EINVAL);
}
