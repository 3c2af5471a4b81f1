/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/digest.h"
#include "core/error-internal.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/parse.h"
#include "core/proc.h"
#include "core/strv.h"
#include "tap.h"

MX_TEST(buf_grows_and_caps)
{
        mx_buf b = MX_BUF_INIT_CAP(8);

        ASSERT_STREQ(b.ptr, "");
        ASSERT_OK(mx_buf_puts(&b, "abcd"));
        ASSERT_OK(mx_buf_printf(&b, "%d", 123));
        ASSERT_STREQ(b.ptr, "abcd123");
        ASSERT_ERR(mx_buf_puts(&b, "xy"), MX_ETOOBIG);
        ASSERT_STREQ(b.ptr, "abcd123");
        mx_buf_clear(&b);
}

MX_TEST(parse_numbers)
{
        uint64_t u;
        int64_t i;

        ASSERT_OK(mx_parse_u64("18446744073709551615", &u));
        ASSERT_TRUE(u == UINT64_MAX);
        ASSERT_ERR(mx_parse_u64("18446744073709551616", &u), MX_EINVAL);
        ASSERT_ERR(mx_parse_u64("12a", &u), MX_EINVAL);
        ASSERT_ERR(mx_parse_u64("", &u), MX_EINVAL);
        ASSERT_ERR(mx_parse_u64("-1", &u), MX_EINVAL);
        ASSERT_OK(mx_parse_i64("-9223372036854775808", &i));
        ASSERT_TRUE(i == INT64_MIN);
        ASSERT_OK(mx_parse_size("512m", &u));
        ASSERT_EQ(u, 512ULL << 20);
        ASSERT_OK(mx_parse_size("1.5g", &u));
        ASSERT_EQ(u, 3ULL << 29);
        ASSERT_OK(mx_parse_size("10kb", &u));
        ASSERT_EQ(u, 10240);
        ASSERT_ERR(mx_parse_size("10x", &u), MX_EINVAL);
        ASSERT_OK(mx_parse_duration_ns("1h30m", &u));
        ASSERT_EQ(u, 5400ULL * 1000000000ULL);
        ASSERT_OK(mx_parse_duration_ns("250ms", &u));
        ASSERT_EQ(u, 250000000ULL);
        ASSERT_OK(mx_parse_duration_ns("10", &u));
        ASSERT_EQ(u, 10000000000ULL);
        ASSERT_ERR(mx_parse_duration_ns("5d", &u), MX_EINVAL);
}

MX_TEST(digest_known_values)
{
        char d[MX_DIGEST_MAX];

        mx_digest_data(MX_DIGEST_SHA256, "", 0, d);
        ASSERT_STREQ(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ASSERT_TRUE(mx_digest_is_valid(d));
        ASSERT_TRUE(!mx_digest_is_valid("sha256:E3B0"));
        ASSERT_TRUE(!mx_digest_is_valid("md5:abc"));
        mx_digest_data(MX_DIGEST_SHA512, "abc", 3, d);
        ASSERT_TRUE(mx_digest_is_valid(d));
        ASSERT_TRUE(strncmp(d, "sha512:ddaf35a193617aba", 23) == 0);
}

MX_TEST(digest_streaming_equals_oneshot)
{
        cleanup(mx_hasher_freep) mx_hasher *h = NULL;
        char a[MX_DIGEST_MAX], b[MX_DIGEST_MAX];

        ASSERT_OK(mx_hasher_new(&h, MX_DIGEST_SHA256, NULL));
        mx_hasher_update(h, "hello ", 6);
        mx_hasher_update(h, "world", 5);
        mx_hasher_final(h, a);
        mx_digest_data(MX_DIGEST_SHA256, "hello world", 11, b);
        ASSERT_STREQ(a, b);
}

MX_TEST(fs_atomic_write_and_read)
{
        cleanup_free char *path = NULL;
        cleanup_buf mx_buf b = MX_BUF_INIT;
        struct stat st;

        ASSERT_TRUE(asprintf(&path, "%s/a/b/file", mx_tap_tmpdir()) > 0);
        {
                cleanup_free char *dir = strndup(path, strrchr(path, '/') - path);
                ASSERT_OK(mx_fs_mkdir_p(dir, 0755, NULL));
        }
        ASSERT_OK(mx_fs_write_atomic(path, "data", 4, 0600, NULL));
        ASSERT_OK(mx_buf_read_file(&b, path, 100, NULL));
        ASSERT_STREQ(b.ptr, "data");
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        mx_buf_clear(&b);
        ASSERT_ERR(mx_buf_read_file(&b, path, 2, NULL), MX_ETOOBIG);
}

MX_TEST(fs_join_refuses_escape)
{
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_free char *p = NULL;
        char *q = NULL;

        ASSERT_OK(mx_fs_join_under(&p, "/root", "/a/./b//c/", NULL));
        ASSERT_STREQ(p, "/root/a/b/c");
        ASSERT_ERR(mx_fs_join_under(&q, "/root", "a/../../etc", &err), MX_EUNSAFE);
        ASSERT_NULL(q);
        ASSERT_TRUE(strstr(err->message, "a/../../etc") != NULL);
}

MX_TEST(json_parse_errors_are_clear)
{
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_json json_t *j = NULL;
        const char bad[] = "{\"a\": 1,}";
        const char dup[] = "{\"a\": 1, \"a\": 2}";

        ASSERT_ERR(mx_json_parse(&j, bad, strlen(bad), 1024, 1, "manifest 'x'", &err), MX_EFORMAT);
        ASSERT_TRUE(strstr(err->message, "manifest 'x' is not valid JSON") != NULL);
        ASSERT_ERR(mx_json_parse(&j, dup, strlen(dup), 1024, 1, "config", NULL), MX_EFORMAT);
        ASSERT_ERR(mx_json_parse(&j, "[1]", 3, 1024, 1, "config", NULL), MX_EFORMAT);
        ASSERT_ERR(mx_json_parse(&j, "{}", 2, 1, 1, "config", NULL), MX_ETOOBIG);
        ASSERT_OK(mx_json_parse(&j, "{\"b\":\"x\",\"n\":5}", 15, 1024, 1, "config", NULL));
        ASSERT_STREQ(mx_json_str(j, "b"), "x");
        ASSERT_EQ(mx_json_int(j, "n", 0), 5);
        ASSERT_NULL(mx_json_str(j, "n"));
}

MX_TEST(proc_captures_output_and_status)
{
        const char *argv[] = {"sh", "-c", "read x; echo out:$x; echo err >&2; exit 3", NULL};
        const char *missing[] = {"myrmex-no-such-program", NULL};
        cleanup_buf mx_buf out = MX_BUF_INIT;
        cleanup_buf mx_buf errb = MX_BUF_INIT;
        mx_proc_opts o = {
                .stdin_data = "hi\n", .stdin_len = 3, .stdout_buf = &out, .stderr_buf = &errb};
        int status = -1;

        ASSERT_OK(mx_proc_run(argv, &o, &status, NULL));
        ASSERT_EQ(status, 3);
        ASSERT_STREQ(out.ptr, "out:hi\n");
        ASSERT_STREQ(errb.ptr, "err\n");
        ASSERT_ERR(mx_proc_run(missing, NULL, &status, NULL), MX_ENOTFOUND);
}

MX_TEST(proc_timeout_kills)
{
        const char *argv[] = {"sleep", "5", NULL};
        mx_proc_opts o = {.timeout_ms = 100};
        int status = -1;

        ASSERT_ERR(mx_proc_run(argv, &o, &status, NULL), MX_ETIMEOUT);
}

MX_TEST(strv_basics)
{
        cleanup_strv char **v = NULL;

        ASSERT_OK(mx_strv_push(&v, "b"));
        ASSERT_OK(mx_strv_push(&v, "a"));
        mx_strv_sort(v);
        ASSERT_STREQ(v[0], "a");
        ASSERT_EQ(mx_strv_length(v), 2);
        ASSERT_TRUE(mx_strv_contains(v, "b"));
}
