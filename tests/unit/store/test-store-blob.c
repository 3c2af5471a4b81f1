/* SPDX-License-Identifier: Apache-2.0 */
/* Opening the store and its blobs: layout, writer, put, has, path, read, open, size. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "store-test-util.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HELLO_SHA256 "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static int dir_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        }
        closedir(d);
        return n;
}

MX_TEST(open_creates_layout)
{
        mx_store *s = test_store_open("st");
        const char *subs[] = {"blobs/sha256", "tmp",    "layers",    "containers", "volumes",
                              "networks",     "mounts", "myrmex.db", "gc.lock"};
        char p[1200];
        struct stat st;
        mx_store *again = NULL;

        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", mx_store_root(s), subs[i]);
                ASSERT_EQ(stat(p, &st), 0);
        }
        ASSERT_EQ(mx_store_root(s)[0], '/');
        /* WAL mode, foreign keys and the schema version */
        {
                sqlite3_stmt *q = NULL;

                ASSERT_EQ(sqlite3_prepare_v2(mx_store__db(s), "PRAGMA journal_mode", -1, &q, NULL),
                          SQLITE_OK);
                ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
                ASSERT_STREQ((const char *)sqlite3_column_text(q, 0), "wal");
                sqlite3_finalize(q);
                ASSERT_EQ(sqlite3_prepare_v2(mx_store__db(s), "PRAGMA foreign_keys", -1, &q, NULL),
                          SQLITE_OK);
                ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
                ASSERT_EQ(sqlite3_column_int(q, 0), 1);
                sqlite3_finalize(q);
                ASSERT_EQ(sqlite3_prepare_v2(mx_store__db(s), "PRAGMA user_version", -1, &q, NULL),
                          SQLITE_OK);
                ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
                ASSERT_EQ(sqlite3_column_int(q, 0), 1);
                sqlite3_finalize(q);
        }
        /* reopening an existing store works */
        ASSERT_OK(mx_store_open(&again, mx_store_root(s), NULL));
        mx_store_free(again);
        mx_store_free(s);
        mx_store_free(NULL);
}

MX_TEST(open_default_root_from_env)
{
        char p[1200], *root = NULL;
        mx_store *s = NULL;

        snprintf(p, sizeof(p), "%s/envroot", mx_tap_tmpdir());
        setenv("MYRMEX_ROOT", p, 1);
        ASSERT_OK(mx_store_default_root(&root, NULL));
        ASSERT_STREQ(root, p);
        free(root);
        ASSERT_OK(mx_store_open(&s, NULL, NULL));
        ASSERT_STREQ(mx_store_root(s), p);
        mx_store_free(s);
        unsetenv("MYRMEX_ROOT");
        ASSERT_OK(mx_store_default_root(&root, NULL));
        if (geteuid() == 0)
                ASSERT_STREQ(root, "/var/lib/myrmex");
        free(root);
}

MX_TEST(open_failures)
{
        mx_store *s = NULL;
        mx_error *err = NULL;
        char p[1200];
        int fd;

        /* root is a file */
        snprintf(p, sizeof(p), "%s/file", mx_tap_tmpdir());
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        ASSERT_TRUE(mx_store_open(&s, p, &err) < 0);
        ASSERT_NULL(s);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "open store"));
        mx_error_free(err);
        err = NULL;

        /* the database is not a database */
        snprintf(p, sizeof(p), "%s/bad", mx_tap_tmpdir());
        ASSERT_EQ(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/bad/myrmex.db", mx_tap_tmpdir());
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, "this is not sqlite, not at all, no no no no no no no no no no", 61),
                  61);
        for (int i = 0; i < 100; i++)
                ASSERT_EQ(write(fd, "garbage garbage garbage garbage garbage!", 40), 40);
        close(fd);
        snprintf(p, sizeof(p), "%s/bad", mx_tap_tmpdir());
        ASSERT_ERR(mx_store_open(&s, p, &err), MX_ECORRUPT);
        ASSERT_NULL(s);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        err = NULL;

        ASSERT_ERR(mx_store_open(NULL, p, &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(open_refuses_newer_schema)
{
        mx_store *s = test_store_open("st");
        char root[1200];
        mx_error *err = NULL;

        snprintf(root, sizeof(root), "%s", mx_store_root(s));
        ASSERT_EQ(sqlite3_exec(mx_store__db(s), "PRAGMA user_version = 99", NULL, NULL, NULL),
                  SQLITE_OK);
        mx_store_free(s);
        s = NULL;
        ASSERT_ERR(mx_store_open(&s, root, &err), MX_EUNSUPPORTED);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "newer"));
        mx_error_free(err);
}

MX_TEST(writer_streams_and_commits)
{
        mx_store *s = test_store_open("st");
        mx_store_blob_writer *w = NULL;
        char digest[MX_DIGEST_BUF], *path = NULL, *data = NULL;
        size_t len = 0;
        uint64_t size = 0;
        mx_error *err = NULL;
        int fd = -1;

        ASSERT_OK_E(mx_store_blob_writer_new(&w, s, &err), err);
        ASSERT_OK(mx_store_blob_writer_write(w, "hel", 3, NULL));
        ASSERT_OK(mx_store_blob_writer_write(w, "lo", 2, NULL));
        ASSERT_EQ(mx_store_blob_writer_size(w), 5);
        ASSERT_EQ(dir_entries(mx_store__tmp_dir(s)), 1);
        ASSERT_OK_E(mx_store_blob_writer_commit(w, HELLO_SHA256, digest, &err), err);
        ASSERT_STREQ(digest, HELLO_SHA256);
        /* a committed writer refuses more */
        ASSERT_ERR(mx_store_blob_writer_write(w, "x", 1, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_writer_commit(w, NULL, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        mx_store_blob_writer_free(w);
        ASSERT_EQ(dir_entries(mx_store__tmp_dir(s)), 0);

        ASSERT_EQ(mx_store_blob_has(s, HELLO_SHA256, NULL), 1);
        ASSERT_OK(mx_store_blob_path(s, HELLO_SHA256, &path, NULL));
        ASSERT_TRUE(strstr(path, "/blobs/sha256/2cf24dba") != NULL);
        free(path);
        ASSERT_OK(mx_store_blob_read(s, HELLO_SHA256, 100, &data, &len, NULL));
        ASSERT_EQ(len, 5);
        ASSERT_STREQ(data, "hello");
        free(data);
        ASSERT_OK(mx_store_blob_size(s, HELLO_SHA256, &size, NULL));
        ASSERT_EQ(size, 5);
        ASSERT_OK(mx_store_blob_open(s, HELLO_SHA256, &fd, NULL));
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
        mx_store_free(s);
}

MX_TEST(writer_digest_mismatch_removes_temp)
{
        mx_store *s = test_store_open("st");
        mx_store_blob_writer *w = NULL;
        char digest[MX_DIGEST_BUF] = "untouched";
        mx_error *err = NULL;

        ASSERT_OK(mx_store_blob_writer_new(&w, s, NULL));
        ASSERT_OK(mx_store_blob_writer_write(w, "hello", 5, NULL));
        ASSERT_ERR(mx_store_blob_writer_commit(w, EMPTY_SHA256, digest, &err), MX_EDIGEST);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, EMPTY_SHA256));
        ASSERT_TRUE(test_msg_has(err, HELLO_SHA256));
        ASSERT_STREQ(digest, "untouched");
        mx_error_free(err);
        err = NULL;
        ASSERT_EQ(dir_entries(mx_store__tmp_dir(s)), 0);
        ASSERT_EQ(mx_store_blob_has(s, HELLO_SHA256, NULL), 0);
        ASSERT_EQ(mx_store_blob_has(s, EMPTY_SHA256, NULL), 0);
        mx_store_blob_writer_free(w);
        mx_store_free(s);
}

MX_TEST(writer_invalid_expected_digest)
{
        mx_store *s = test_store_open("st");
        mx_store_blob_writer *w = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_store_blob_writer_new(&w, s, NULL));
        ASSERT_OK(mx_store_blob_writer_write(w, "hello", 5, NULL));
        ASSERT_ERR(mx_store_blob_writer_commit(w, "sha256:zz", NULL, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "invalid expected digest 'sha256:zz'"));
        mx_error_free(err);
        err = NULL;
        /* still usable after a refused argument */
        ASSERT_OK(mx_store_blob_writer_commit(w, NULL, NULL, NULL));
        mx_store_blob_writer_free(w);
        ASSERT_EQ(mx_store_blob_has(s, HELLO_SHA256, NULL), 1);
        mx_store_free(s);
}

MX_TEST(writer_abort_on_free)
{
        mx_store *s = test_store_open("st");
        mx_store_blob_writer *w = NULL;

        ASSERT_OK(mx_store_blob_writer_new(&w, s, NULL));
        ASSERT_OK(mx_store_blob_writer_write(w, "hello", 5, NULL));
        ASSERT_EQ(dir_entries(mx_store__tmp_dir(s)), 1);
        mx_store_blob_writer_free(w);
        ASSERT_EQ(dir_entries(mx_store__tmp_dir(s)), 0);
        ASSERT_EQ(mx_store_blob_has(s, HELLO_SHA256, NULL), 0);
        mx_store_blob_writer_free(NULL);
        mx_store_free(s);
}

MX_TEST(put_and_empty_blob)
{
        mx_store *s = test_store_open("st");
        char digest[MX_DIGEST_BUF], *data = NULL;
        size_t len = 99;
        mx_error *err = NULL;

        ASSERT_OK(mx_store_blob_put(s, "", 0, EMPTY_SHA256, digest, NULL));
        ASSERT_STREQ(digest, EMPTY_SHA256);
        ASSERT_OK(mx_store_blob_read(s, EMPTY_SHA256, 0, &data, &len, NULL));
        ASSERT_EQ(len, 0);
        ASSERT_NOT_NULL(data);
        free(data);
        /* putting again is idempotent */
        ASSERT_OK(mx_store_blob_put(s, "", 0, NULL, NULL, NULL));
        ASSERT_ERR(mx_store_blob_put(s, "x", 1, EMPTY_SHA256, NULL, &err), MX_EDIGEST);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_put(s, "x", 1, "md5:abc", NULL, &err), MX_EINVAL);
        mx_error_free(err);
        mx_store_free(s);
}

MX_TEST(digest_arguments_checked)
{
        mx_store *s = test_store_open("st");
        char *path = NULL;
        mx_error *err = NULL;
        const char *sha512 =
                "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

        ASSERT_ERR(mx_store_blob_has(s, "sha256:abc", &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "'sha256:abc'"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_path(s, "../../etc/passwd", &path, &err), MX_EINVAL);
        ASSERT_NULL(path);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_has(s, sha512, &err), MX_EUNSUPPORTED);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_has(NULL, EMPTY_SHA256, &err), MX_EINVAL);
        mx_error_free(err);
        mx_store_free(s);
}

MX_TEST(read_missing_too_big_and_corrupt)
{
        mx_store *s = test_store_open("st");
        char *data = NULL, *path = NULL;
        size_t len = 0;
        uint64_t size = 0;
        mx_error *err = NULL;
        int fd = -1;

        ASSERT_ERR(mx_store_blob_read(s, HELLO_SHA256, 100, &data, &len, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, HELLO_SHA256));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_size(s, HELLO_SHA256, &size, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_open(s, HELLO_SHA256, &fd, &err), MX_ENOTFOUND);
        ASSERT_EQ(fd, -1);
        mx_error_free(err);
        err = NULL;

        ASSERT_OK(mx_store_blob_put(s, "hello", 5, HELLO_SHA256, NULL, NULL));
        ASSERT_ERR(mx_store_blob_read(s, HELLO_SHA256, 4, &data, &len, &err), MX_ETOOBIG);
        ASSERT_NULL(data);
        mx_error_free(err);
        err = NULL;

        /* corrupt it behind the store's back */
        ASSERT_OK(mx_store_blob_path(s, HELLO_SHA256, &path, NULL));
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, "jello", 5), 5);
        close(fd);
        free(path);
        ASSERT_ERR(mx_store_blob_read(s, HELLO_SHA256, 100, &data, &len, &err), MX_EDIGEST);
        ASSERT_NULL(data);
        ASSERT_TRUE(test_msg_has(err, "corrupt"));
        mx_error_free(err);
        err = NULL;
        /* writing it again heals it */
        ASSERT_OK(mx_store_blob_put(s, "hello", 5, HELLO_SHA256, NULL, NULL));
        ASSERT_OK(mx_store_blob_read(s, HELLO_SHA256, 100, &data, &len, NULL));
        ASSERT_STREQ(data, "hello");
        free(data);
        mx_store_free(s);
}

MX_TEST(tmp_path_is_unique_and_under_tmp)
{
        mx_store *s = test_store_open("st");
        char *a = NULL, *b = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_store_tmp_path(s, "layer", &a, NULL));
        ASSERT_OK(mx_store_tmp_path(s, "layer", &b, NULL));
        ASSERT_TRUE(strncmp(a, mx_store__tmp_dir(s), strlen(mx_store__tmp_dir(s))) == 0);
        ASSERT_TRUE(strcmp(a, b) != 0);
        ASSERT_ERR(mx_store_tmp_path(s, "a/b", &a, &err), MX_EINVAL);
        mx_error_free(err);
        free(a);
        free(b);
        mx_store_free(s);
}

MX_TEST(module_schema_migrations)
{
        mx_store *s = test_store_open("st");
        static const char *const v1[] = {"CREATE TABLE t_demo (a TEXT)"};
        static const char *const v2[] = {"CREATE TABLE t_demo (a TEXT)",
                                         "ALTER TABLE t_demo ADD COLUMN b INTEGER"};
        static const char *const bad[] = {"CREATE TABLE t_demo (a TEXT)",
                                          "ALTER TABLE t_demo ADD COLUMN b INTEGER",
                                          "THIS IS NOT SQL"};
        mx_error *err = NULL;

        ASSERT_OK(mx_store__schema(s, "demo", v1, 1, NULL));
        ASSERT_OK(mx_store__schema(s, "demo", v1, 1, NULL)); /* idempotent */
        ASSERT_OK(mx_store__schema(s, "demo", v2, 2, NULL));
        ASSERT_EQ(sqlite3_exec(mx_store__db(s), "INSERT INTO t_demo (a, b) VALUES ('x', 1)", NULL,
                               NULL, NULL),
                  SQLITE_OK);
        ASSERT_TRUE(mx_store__schema(s, "demo", bad, 3, &err) < 0);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "'demo' to version 3"));
        mx_error_free(err);
        err = NULL;
        /* the failed step left version 2 and no open transaction */
        ASSERT_TRUE(sqlite3_get_autocommit(mx_store__db(s)));
        ASSERT_ERR(mx_store__schema(s, "demo", v1, 1, &err), MX_EUNSUPPORTED);
        mx_error_free(err);
        mx_store_free(s);
}
