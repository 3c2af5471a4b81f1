/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "error-internal.h"
#include "tap.h"
#include "test-image-layer-util.h"

static char *tpath(const char *name)
{
        char *p = NULL;

        if (asprintf(&p, "%s/%s", mx_tap_tmpdir(), name) < 0)
                abort();
        return p;
}

static char *fresh_dir(const char *name)
{
        char *p = tpath(name);

        if (mkdir(p, 0755) < 0)
                mx_tap_fail(__FILE__, __LINE__, "mkdir %s", p);
        return p;
}

static int unpack_file(const char *blob, const char *dir, const mx_layer_unpack_opts *opts,
                       mx_layer_info *info, mx_error **err)
{
        int fd = open(blob, O_RDONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return MX_EIO;
        r = mx_layer_unpack(fd, dir, opts, info, err);
        close(fd);
        return r;
}

static int compress_file(const char *in, const char *out, mx_compression c, int level,
                         mx_layer_info *info, mx_error **err)
{
        int ifd = open(in, O_RDONLY | O_CLOEXEC);
        int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int r = mx_layer_compress(ifd, ofd, c, level, info, err);

        close(ifd);
        close(ofd);
        return r;
}

static const struct tent rich[] = {
        {"etc/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
        {"etc/hostname", 'f', "box\n", 0644, 0, 0, NULL, NULL, 0},
        {"bin/", 'd', NULL, 0750, 12, 34, "user.dir", "d", 1600000000},
        {"bin/ping", 'f', "ELF...", 04755, 0, 0, "security.capability",
         "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 0, 20},
        {"bin/tool", 'f', "#!/bin/sh\n", 0711, 1234, 5678, "user.note", "hello", 0},
        {"bin/tool-link", 'h', "bin/tool", 0, 0, 0, NULL, NULL, 0},
        {"bin/sh", 'l', "/bin/busybox", 0, 7, 8, NULL, NULL, 0},
        {"dev/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
        {"dev/null", 'c', NULL, 0666, 0, 0, NULL, NULL, 0},
        {"run/fifo", 'p', NULL, 0620, 0, 0, NULL, NULL, 0},
        {"/abs/file", 'f', "leading slash is relative\n", 0, 0, 0, NULL, NULL, 0},
        {"./dot/file", 'f', "leading dot\n", 0, 0, 0, NULL, NULL, 0},
        {"tmp/", 'd', NULL, 01777, 0, 0, NULL, NULL, 0},
};

/* rich with its implicit parents spelled out, so two unpacks give identical trees */
static struct tent rich_full[MX_ARRAY_SIZE(rich) + 3] = {
        {"run/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0, 0},
        {"abs/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0, 0},
        {"dot/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0, 0},
};

__attribute__((constructor)) static void fill_rich_full(void)
{
        memcpy(rich_full + 3, rich, sizeof(rich));
}

MX_TEST(compression_detect_and_names)
{
        const unsigned char gz[] = {0x1f, 0x8b, 8};
        const unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd, 0};
        mx_compression c = MX_COMPRESSION_AUTO;
        mx_error *err = NULL;

        ASSERT_EQ(mx_compression_detect(gz, sizeof(gz)), MX_COMPRESSION_GZIP);
        ASSERT_EQ(mx_compression_detect(zs, sizeof(zs)), MX_COMPRESSION_ZSTD);
        ASSERT_EQ(mx_compression_detect(zs, 3), MX_COMPRESSION_NONE);
        ASSERT_EQ(mx_compression_detect("ustar", 5), MX_COMPRESSION_NONE);
        ASSERT_EQ(mx_compression_detect(NULL, 0), MX_COMPRESSION_NONE);
        ASSERT_STREQ(mx_compression_name(MX_COMPRESSION_ZSTD), "zstd");
        ASSERT_NULL(mx_compression_name((mx_compression)42));
        ASSERT_OK(mx_compression_parse(&c, "gzip", NULL));
        ASSERT_EQ(c, MX_COMPRESSION_GZIP);
        ASSERT_OK(mx_compression_parse(&c, "uncompressed", NULL));
        ASSERT_EQ(c, MX_COMPRESSION_NONE);
        ASSERT_ERR(mx_compression_parse(&c, "bzip2", &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_TRUE(strstr(err->message, "'bzip2'") != NULL);
        ASSERT_EQ(c, MX_COMPRESSION_NONE); /* untouched on failure */
        mx_error_free(err);
}

MX_TEST(unpack_plain_keeps_metadata)
{
        cleanup_free char *tar = tpath("rich.tar");
        cleanup_free char *dir = fresh_dir("rich");
        cleanup_free char *p = NULL;
        char digest[MX_DIGEST_MAX], link[64];
        mx_layer_info info;
        mx_error *err = NULL;
        struct stat st, st2;
        char buf[64];
        ssize_t n;

        ASSERT_OK(make_tar(tar, rich, MX_ARRAY_SIZE(rich)));
        ASSERT_OK_E(unpack_file(tar, dir, NULL, &info, &err), err);
        ASSERT_OK(mx_digest_file(tar, MX_DIGEST_SHA256, digest, NULL));
        ASSERT_STREQ(info.digest, digest);
        ASSERT_STREQ(info.diff_id, digest);
        ASSERT_EQ(info.compression, MX_COMPRESSION_NONE);
        ASSERT_EQ(info.entries, MX_ARRAY_SIZE(rich));
        ASSERT_TRUE(info.uncompressed_size == info.compressed_size);

        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/bin/ping", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 04755);
        n = getxattr(p, "security.capability", buf, sizeof(buf));
        ASSERT_EQ(n, 20);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/bin/tool", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_uid, 1234);
        ASSERT_EQ(st.st_gid, 5678);
        ASSERT_EQ(st.st_mode & 07777, 0711);
        ASSERT_EQ(st.st_mtim.tv_sec, 1700000000);
        ASSERT_EQ(st.st_mtim.tv_nsec, 123456789);
        ASSERT_EQ(st.st_nlink, 2);
        n = getxattr(p, "user.note", buf, sizeof(buf));
        ASSERT_EQ(n, 5);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/bin/tool-link", dir) > 0);
        ASSERT_OK(lstat(p, &st2));
        ASSERT_EQ(st2.st_ino, st.st_ino);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/bin/sh", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        ASSERT_EQ(st.st_uid, 7);
        ASSERT_EQ(st.st_mtim.tv_sec, 1700000000);
        n = readlink(p, link, sizeof(link) - 1);
        ASSERT_EQ(n, 12);
        link[n] = '\0';
        ASSERT_STREQ(link, "/bin/busybox");
        free(p), p = NULL;
        /* directory metadata is applied after its contents */
        ASSERT_TRUE(asprintf(&p, "%s/bin", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0750);
        ASSERT_EQ(st.st_uid, 12);
        ASSERT_EQ(st.st_mtim.tv_sec, 1600000000);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/dev/null", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(major(st.st_rdev), 1);
        ASSERT_EQ(minor(st.st_rdev), 3);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/run/fifo", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISFIFO(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0620);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/run", dir) > 0); /* implicit parent */
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0755);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/abs/file", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/dot/file", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/tmp", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 01777);
}

MX_TEST(compress_then_unpack_gzip_zstd)
{
        cleanup_free char *tar = tpath("c.tar");
        cleanup_free char *plain = fresh_dir("c-plain");
        mx_compression kinds[] = {MX_COMPRESSION_GZIP, MX_COMPRESSION_ZSTD, MX_COMPRESSION_NONE};
        mx_layer_info pinfo;
        mx_buf want = MX_BUF_INIT;
        mx_error *err = NULL;

        ASSERT_OK(make_tar(tar, rich_full, MX_ARRAY_SIZE(rich_full)));
        ASSERT_OK_E(unpack_file(tar, plain, NULL, &pinfo, &err), err);
        tree_manifest(&want, plain, false);
        for (size_t i = 0; i < MX_ARRAY_SIZE(kinds); i++) {
                cleanup_free char *blob = NULL, *dir = NULL, *name = NULL;
                char digest[MX_DIGEST_MAX];
                mx_layer_info cinfo, uinfo;
                mx_buf got = MX_BUF_INIT;
                mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
                const char *diff;

                ASSERT_TRUE(asprintf(&name, "c-%zu", i) > 0);
                blob = tpath(name);
                ASSERT_OK_E(compress_file(tar, blob, kinds[i], 0, &cinfo, &err), err);
                ASSERT_OK(mx_digest_file(blob, MX_DIGEST_SHA256, digest, NULL));
                ASSERT_STREQ(cinfo.digest, digest);
                ASSERT_STREQ(cinfo.diff_id, pinfo.diff_id);
                ASSERT_EQ(cinfo.uncompressed_size, pinfo.uncompressed_size);
                ASSERT_EQ(cinfo.compression, kinds[i]);
                free(name);
                ASSERT_TRUE(asprintf(&name, "c-%zu-dir", i) > 0);
                dir = fresh_dir(name);
                o.expected_digest = cinfo.digest;
                o.expected_diff_id = cinfo.diff_id;
                ASSERT_OK_E(unpack_file(blob, dir, &o, &uinfo, &err), err);
                ASSERT_EQ(uinfo.compression, kinds[i]);
                ASSERT_STREQ(uinfo.digest, cinfo.digest);
                ASSERT_EQ(uinfo.compressed_size, cinfo.compressed_size);
                tree_manifest(&got, dir, false);
                diff = manifest_diff(want.ptr, got.ptr);
                if (diff)
                        mx_tap_fail(__FILE__, __LINE__, "trees differ:%s", diff);
                mx_buf_clear(&got);
        }
        /* What we write, the standard tools read. */
        {
                cleanup_free char *blob = tpath("c-0");
                ASSERT_EQ(sh("gzip -dc '%s' | cmp -s - '%s'", blob, tar), 0);
                free(blob);
                blob = tpath("c-1");
                ASSERT_EQ(sh("zstd -qdc '%s' | cmp -s - '%s'", blob, tar), 0);
        }
        mx_buf_clear(&want);
}

MX_TEST(compress_multi_member_gzip_is_reproducible)
{
        cleanup_free char *big = tpath("big.bin");
        cleanup_free char *a = tpath("big-a.gz");
        cleanup_free char *b = tpath("big-b.gz");
        cleanup_free char *dir = NULL;
        mx_layer_info ia, ib;
        mx_error *err = NULL;

        /* ~6.4 MB of text: several 1 MiB members compressed in parallel. */
        ASSERT_EQ(sh("head -c 1300000 /dev/urandom | od -x > '%s'", big), 0);
        ASSERT_OK_E(compress_file(big, a, MX_COMPRESSION_GZIP, 0, &ia, &err), err);
        ASSERT_OK_E(compress_file(big, b, MX_COMPRESSION_GZIP, 0, &ib, &err), err);
        ASSERT_STREQ(ia.digest, ib.digest);
        ASSERT_EQ(sh("gzip -t '%s' && gzip -dc '%s' | cmp -s - '%s'", a, a, big), 0);
        ASSERT_EQ(sh("python3 -c 'import gzip,sys; sys.exit(0 if gzip.open(sys.argv[1]).read()"
                     "==open(sys.argv[2],\"rb\").read() else 1)' '%s' '%s'",
                     a, big),
                  0);
        ASSERT_OK_E(compress_file(big, a, MX_COMPRESSION_GZIP, 12, &ia, &err), err);
        ASSERT_EQ(sh("gzip -dc '%s' | cmp -s - '%s'", a, big), 0);
        ASSERT_OK_E(compress_file(big, a, MX_COMPRESSION_ZSTD, 9, &ia, &err), err);
        ASSERT_OK_E(compress_file(big, b, MX_COMPRESSION_ZSTD, 9, &ib, &err), err);
        ASSERT_STREQ(ia.digest, ib.digest);
}

MX_TEST(compress_refuses_bad_arguments)
{
        cleanup_free char *in = tpath("in");
        cleanup_free char *out = tpath("out");
        mx_layer_info info;
        mx_error *err = NULL;

        ASSERT_EQ(sh("echo hi > '%s'", in), 0);
        memset(&info, 0x5a, sizeof(info));
        ASSERT_ERR(compress_file(in, out, MX_COMPRESSION_GZIP, 13, &info, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_EQ((unsigned char)info.digest[0], 0x5a); /* untouched */
        mx_error_free(err), err = NULL;
        ASSERT_ERR(compress_file(in, out, MX_COMPRESSION_ZSTD, 20, NULL, &err), MX_EINVAL);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(compress_file(in, out, MX_COMPRESSION_AUTO, 0, NULL, &err), MX_EINVAL);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(mx_layer_compress(-1, 1, MX_COMPRESSION_GZIP, 0, NULL, &err), MX_EINVAL);
        mx_error_free(err), err = NULL;
        /* a write failure is an I/O error naming what failed */
        {
                int ifd = open(in, O_RDONLY | O_CLOEXEC);
                int ofd = open(in, O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(mx_layer_compress(ifd, ofd, MX_COMPRESSION_NONE, 0, NULL, &err) < 0);
                ASSERT_EQ(err->domain, MX_D_IMAGE);
                ASSERT_NOT_NULL(err->cause);
                ASSERT_EQ(err->cause->sys_errno, EBADF);
                close(ifd);
                close(ofd);
        }
        mx_error_free(err);
}

MX_TEST(unpack_digest_mismatch)
{
        cleanup_free char *tar = tpath("d.tar");
        cleanup_free char *dir = fresh_dir("d");
        cleanup_free char *dir2 = fresh_dir("d2");
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_layer_info info;
        mx_error *err = NULL;

        ASSERT_OK(make_tar(tar, rich, 3));
        memset(&info, 0x5a, sizeof(info));
        o.expected_digest =
                "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        ASSERT_ERR(unpack_file(tar, dir, &o, &info, &err), MX_EDIGEST);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_NOT_NULL(err->cause);
        ASSERT_EQ(err->cause->code, MX_EDIGEST);
        ASSERT_TRUE(strstr(err->cause->message, "digest") != NULL);
        ASSERT_EQ((unsigned char)info.digest[0], 0x5a);
        mx_error_free(err), err = NULL;
        o.expected_digest = NULL;
        o.expected_diff_id =
                "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        ASSERT_ERR(unpack_file(tar, dir2, &o, NULL, &err), MX_EDIGEST);
        ASSERT_TRUE(strstr(err->cause->message, "diffID") != NULL);
        mx_error_free(err), err = NULL;
        o.expected_diff_id = "sha256:nothex";
        ASSERT_ERR(unpack_file(tar, dir2, &o, NULL, &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(unpack_refuses_bad_targets_and_args)
{
        cleanup_free char *tar = tpath("t.tar");
        cleanup_free char *dir = fresh_dir("t");
        cleanup_free char *p = NULL;
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_error *err = NULL;

        ASSERT_OK(make_tar(tar, rich, 2));
        ASSERT_TRUE(asprintf(&p, "%s/already", dir) > 0);
        ASSERT_EQ(mkdir(p, 0755), 0);
        ASSERT_ERR(unpack_file(tar, dir, NULL, NULL, &err), MX_EEXISTS);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err), err = NULL;
        o.flags = MX_LAYER_NONEMPTY_OK;
        ASSERT_OK_E(unpack_file(tar, dir, &o, NULL, &err), err);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/missing", dir) > 0);
        ASSERT_ERR(unpack_file(tar, p, NULL, NULL, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_EQ(err->sys_errno, ENOENT);
        mx_error_free(err), err = NULL;
        o.version = 99;
        ASSERT_ERR(unpack_file(tar, dir, &o, NULL, &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(unpack_no_devices_and_size_cap)
{
        cleanup_free char *tar = tpath("n.tar");
        cleanup_free char *dir = fresh_dir("n");
        cleanup_free char *dir2 = fresh_dir("n2");
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_error *err = NULL;

        ASSERT_OK(make_tar(tar, rich, MX_ARRAY_SIZE(rich)));
        o.flags = MX_LAYER_NO_DEVICES;
        ASSERT_ERR(unpack_file(tar, dir, &o, NULL, &err), MX_EUNSAFE);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_TRUE(strstr(err->cause->message, "'dev/null'") != NULL);
        mx_error_free(err), err = NULL;
        o.flags = 0;
        o.max_uncompressed = 4096;
        ASSERT_ERR(unpack_file(tar, dir2, &o, NULL, &err), MX_ETOOBIG);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err);
}

MX_TEST(unpack_overlay_whiteouts)
{
        static const struct tent l2[] = {
                {"a/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
                {"a/.wh..wh..opq", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"a/new", 'f', "n\n", 0, 0, 0, NULL, NULL, 0},
                {".wh.gone", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"x/.wh..wh.plnk", 'd', NULL, 0, 0, 0, NULL, NULL, 0},
                {"bad/", 'd', NULL, 0755, 0, 0, "trusted.overlay.redirect", "/etc", 0},
        };
        cleanup_free char *tar = tpath("w.tar");
        cleanup_free char *dir = fresh_dir("w");
        cleanup_free char *p = NULL;
        mx_error *err = NULL;
        struct stat st;
        char v[8];

        ASSERT_OK(make_tar(tar, l2, MX_ARRAY_SIZE(l2)));
        ASSERT_OK_E(unpack_file(tar, dir, NULL, NULL, &err), err);
        ASSERT_TRUE(asprintf(&p, "%s/gone", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, 0);
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/a", dir) > 0);
        ASSERT_EQ(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
        ASSERT_EQ(v[0], 'y');
        free(p), p = NULL;
        ASSERT_TRUE(asprintf(&p, "%s/a/.wh..wh..opq", dir) > 0);
        ASSERT_TRUE(lstat(p, &st) < 0);
        free(p), p = NULL;
        /* overlay-steering xattrs from the tar are dropped */
        ASSERT_TRUE(asprintf(&p, "%s/bad", dir) > 0);
        ASSERT_TRUE(getxattr(p, "trusted.overlay.redirect", v, sizeof(v)) < 0);
}

MX_TEST(unpack_apply_whiteouts)
{
        static const struct tent l1[] = {
                {"a/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
                {"a/x", 'f', "x\n", 0, 0, 0, NULL, NULL, 0},
                {"a/sub/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
                {"a/sub/deep", 'f', "deep\n", 0, 0, 0, NULL, NULL, 0},
                {"a/keep/lower", 'f', "lower\n", 0, 0, 0, NULL, NULL, 0},
                {"b", 'f', "b\n", 0, 0, 0, NULL, NULL, 0},
                {"c/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
                {"c/y", 'f', "y\n", 0, 0, 0, NULL, NULL, 0},
                {"d", 'l', "/etc", 0, 0, 0, NULL, NULL, 0},
        };
        /* the opaque marker comes after one of this layer's own entries */
        static const struct tent l2[] = {
                {"a/z", 'f', "z\n", 0, 0, 0, NULL, NULL, 0},
                {"a/keep/upper", 'f', "upper\n", 0, 0, 0, NULL, NULL, 0},
                {"a/.wh..wh..opq", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"a/after", 'f', "after\n", 0, 0, 0, NULL, NULL, 0},
                {".wh.b", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {".wh.c", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"nowhere/.wh.thing", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"d/", 'd', NULL, 0700, 0, 0, NULL, NULL, 0},
                {"d/f", 'f', "inside\n", 0, 0, 0, NULL, NULL, 0},
        };
        cleanup_free char *t1 = tpath("a1.tar");
        cleanup_free char *t2 = tpath("a2.tar");
        cleanup_free char *dir = fresh_dir("apply");
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_buf got = MX_BUF_INIT;
        mx_error *err = NULL;

        ASSERT_OK(make_tar(t1, l1, MX_ARRAY_SIZE(l1)));
        ASSERT_OK(make_tar(t2, l2, MX_ARRAY_SIZE(l2)));
        o.whiteouts = MX_WHITEOUT_APPLY;
        o.flags = MX_LAYER_NONEMPTY_OK;
        ASSERT_OK_E(unpack_file(t1, dir, &o, NULL, &err), err);
        ASSERT_OK_E(unpack_file(t2, dir, &o, NULL, &err), err);
        ASSERT_EQ(sh("cd '%s' && test \"$(find . | sort | tr '\\n' ' ')\" = "
                     "'. ./a ./a/after ./a/keep ./a/keep/upper ./a/z ./d ./d/f '",
                     dir),
                  0);
        ASSERT_EQ(sh("test -d '%s/d' && ! test -L '%s/d'", dir, dir), 0);
        mx_buf_clear(&got);
}

MX_TEST(chain_id)
{
        const char *l1 = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
        const char *l2 = "sha256:e8c1d0b5b5c6b3d6dc4b6c6a0e3b3d8b1e0cf5c1d2cbe0e0d26bd2a5fe3c2f8e";
        char out[MX_LAYER_DIGEST_MAX], want[MX_DIGEST_MAX], text[200];
        mx_error *err = NULL;

        ASSERT_OK(mx_layer_chain_id(out, NULL, l1, NULL));
        ASSERT_STREQ(out, l1);
        snprintf(text, sizeof(text), "%s %s", l1, l2);
        mx_digest_data(MX_DIGEST_SHA256, text, strlen(text), want);
        ASSERT_OK(mx_layer_chain_id(out, l1, l2, NULL));
        ASSERT_STREQ(out, want);
        ASSERT_ERR(mx_layer_chain_id(out, l1, "sha256:xyz", &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err);
}

MX_TEST(tar_dir_roundtrip_and_reproducible)
{
        cleanup_free char *tar = tpath("src.tar");
        cleanup_free char *src = fresh_dir("src");
        cleanup_free char *back = fresh_dir("back");
        cleanup_free char *out1 = tpath("out1.tar");
        cleanup_free char *out2 = tpath("out2.tar");
        mx_layer_tar_opts to = MX_LAYER_TAR_OPTS_INIT;
        mx_layer_info i1, i2, iu;
        mx_buf a = MX_BUF_INIT, b = MX_BUF_INIT;
        mx_error *err = NULL;
        const char *diff;
        int fd;

        ASSERT_OK(make_tar(tar, rich_full, MX_ARRAY_SIZE(rich_full)));
        ASSERT_OK_E(unpack_file(tar, src, NULL, NULL, &err), err);
        fd = open(out1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK_E(mx_layer_tar_dir(src, fd, &to, &i1, &err), err);
        close(fd);
        ASSERT_EQ(i1.entries, 16); /* the 13 entries plus the implicit run/, abs/, dot/ */
        ASSERT_OK_E(unpack_file(out1, back, NULL, &iu, &err), err);
        ASSERT_STREQ(iu.diff_id, i1.diff_id);
        tree_manifest(&a, src, false);
        tree_manifest(&b, back, false);
        diff = manifest_diff(a.ptr, b.ptr);
        if (diff)
                mx_tap_fail(__FILE__, __LINE__, "roundtrip differs:%s", diff);
        /* touching mtimes does not change the tar when they are clamped below */
        ASSERT_EQ(sh("touch '%s/etc/hostname'", src), 0);
        to.clamp_mtime = 1000;
        fd = open(out1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK_E(mx_layer_tar_dir(src, fd, &to, &i1, &err), err);
        close(fd);
        ASSERT_EQ(sh("touch '%s/bin/tool'", src), 0);
        fd = open(out2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK_E(mx_layer_tar_dir(src, fd, &to, &i2, &err), err);
        close(fd);
        ASSERT_STREQ(i1.diff_id, i2.diff_id);
        ASSERT_EQ(sh("tar -tvf '%s' | grep -q 'bin/tool-link link to bin/tool'", out2), 0);
        /* SOURCE_DATE_EPOCH is honoured by default */
        to.clamp_mtime = -1;
        setenv("SOURCE_DATE_EPOCH", "1000", 1);
        fd = open(out2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK_E(mx_layer_tar_dir(src, fd, &to, &i2, &err), err);
        close(fd);
        unsetenv("SOURCE_DATE_EPOCH");
        ASSERT_STREQ(i1.diff_id, i2.diff_id);
        mx_buf_clear(&a);
        mx_buf_clear(&b);
}

MX_TEST(tar_dir_overlay_whiteouts)
{
        static const struct tent up[] = {
                {".wh.gone", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"o/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0},
                {"o/.wh..wh..opq", 'f', "", 0, 0, 0, NULL, NULL, 0},
                {"o/f", 'f', "f\n", 0, 0, 0, NULL, NULL, 0},
        };
        cleanup_free char *tar = tpath("up.tar");
        cleanup_free char *dir = fresh_dir("up");
        cleanup_free char *out = tpath("up-out.tar");
        mx_layer_tar_opts to = MX_LAYER_TAR_OPTS_INIT;
        mx_error *err = NULL;
        int fd;

        ASSERT_OK(make_tar(tar, up, MX_ARRAY_SIZE(up)));
        ASSERT_OK_E(unpack_file(tar, dir, NULL, NULL, &err), err);
        to.flags = MX_LAYER_TAR_OVERLAY_WHITEOUTS;
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK_E(mx_layer_tar_dir(dir, fd, &to, NULL, &err), err);
        close(fd);
        ASSERT_EQ(sh("test \"$(tar -tf '%s' | tr '\\n' ' ')\" = "
                     "'.wh.gone o/ o/.wh..wh..opq o/f '",
                     out),
                  0);
        ASSERT_EQ(sh("! tar --xattrs -tvvf '%s' 2>/dev/null | grep -q overlay", out), 0);
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_ERR(mx_layer_tar_dir("/nonexistent-dir-for-test", fd, &to, NULL, &err),
                   MX_ENOTFOUND);
        close(fd);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err);
}

static void count_progress(const mx_progress_event *ev, void *userdata)
{
        int *counts = userdata;

        if (ev->state <= MX_PROGRESS_FAILED && strcmp(ev->action, "unpack") == 0 &&
            strcmp(ev->id, "layer-x") == 0)
                counts[ev->state]++;
}

MX_TEST(unpack_progress_and_flags)
{
        cleanup_free char *tar = tpath("p.tar");
        cleanup_free char *dir = fresh_dir("p");
        cleanup_free char *bad = fresh_dir("p-bad");
        cleanup_free char *p = NULL;
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        int counts[MX_PROGRESS_FAILED + 1] = {0};
        mx_error *err = NULL;
        struct stat st;
        char v[16];

        ASSERT_OK(make_tar(tar, rich, MX_ARRAY_SIZE(rich)));
        o.progress = count_progress;
        o.progress_userdata = counts;
        o.progress_id = "layer-x";
        o.flags = MX_LAYER_SYNC | MX_LAYER_NO_CHOWN | MX_LAYER_NO_XATTRS;
        ASSERT_OK_E(unpack_file(tar, dir, &o, NULL, &err), err);
        ASSERT_EQ(counts[MX_PROGRESS_START], 1);
        ASSERT_EQ(counts[MX_PROGRESS_DONE], 1);
        ASSERT_EQ(counts[MX_PROGRESS_FAILED], 0);
        ASSERT_TRUE(asprintf(&p, "%s/bin/tool", dir) > 0);
        ASSERT_OK(lstat(p, &st));
        ASSERT_EQ(st.st_uid, geteuid()); /* not chowned to 1234 */
        ASSERT_EQ(st.st_mode & 07777, 0711);
        ASSERT_TRUE(getxattr(p, "user.note", v, sizeof(v)) < 0);
        /* a failing unpack reports FAILED */
        o.expected_diff_id =
                "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        ASSERT_ERR(unpack_file(tar, bad, &o, NULL, &err), MX_EDIGEST);
        ASSERT_EQ(counts[MX_PROGRESS_FAILED], 1);
        mx_error_free(err);
}

/* Names real images carry: UTF-8 in PAX headers, raw non-UTF-8 bytes, GNU long names and
 * long link targets, and sparse files (made by GNU tar -S), whatever the process locale. */
MX_TEST(unpack_names_and_sparse_files)
{
        cleanup_free char *pax = tpath("names-pax.tar");
        cleanup_free char *gnu = tpath("names-gnu.tar");
        cleanup_free char *sparse = tpath("sparse.tar");
        cleanup_free char *src = fresh_dir("sparse-src");
        cleanup_free char *d1 = fresh_dir("names-pax");
        cleanup_free char *d2 = fresh_dir("names-gnu");
        cleanup_free char *d3 = fresh_dir("sparse");
        mx_error *err = NULL;

        ASSERT_EQ(sh("python3 - '%s' '%s' <<'PY'\n"
                     "import io, sys, tarfile\n"
                     "for fmt, path in ((tarfile.PAX_FORMAT, sys.argv[1]), (tarfile.GNU_FORMAT, "
                     "sys.argv[2])):\n"
                     "    with tarfile.open(path, 'w', format=fmt, encoding='utf-8', "
                     "errors='surrogateescape') as tf:\n"
                     "        for n in ['caf\\u00e9/na\\u00efve', 'x' * 150 + '/' + 'y' * 120, "
                     "'\\u65e5\\u672c', 'raw-\\udce9']:\n"
                     "            ti = tarfile.TarInfo(n); ti.size = 2; tf.addfile(ti, "
                     "io.BytesIO(b'ok'))\n"
                     "        ti = tarfile.TarInfo('sl'); ti.type = tarfile.SYMTYPE; ti.linkname "
                     "= 'l' * 300; tf.addfile(ti)\n"
                     "PY",
                     pax, gnu),
                  0);
        ASSERT_OK_E(unpack_file(pax, d1, NULL, NULL, &err), err);
        ASSERT_OK_E(unpack_file(gnu, d2, NULL, NULL, &err), err);
        ASSERT_EQ(sh("cd '%s' && test -f café/naïve && test -f 日本 && test -f \"$(printf "
                     "'raw-\\351')\" && test \"$(readlink sl | wc -c)\" = 301 && "
                     "test -f xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxx/yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
                     "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy && "
                     "diff -r --no-dereference . '%s'",
                     d1, d2),
                  0);
        ASSERT_EQ(sh("cd '%s' && truncate -s 64M holes && printf middle | dd of=holes bs=1 "
                     "seek=33554432 conv=notrunc 2>/dev/null && tar -cSf '%s' holes",
                     src, sparse),
                  0);
        ASSERT_OK_E(unpack_file(sparse, d3, NULL, NULL, &err), err);
        ASSERT_EQ(sh("cmp '%s/holes' '%s/holes' && test \"$(stat -c %%s '%s/holes')\" = 67108864",
                     src, d3, d3),
                  0);
}

MX_TEST(remove_tree_deep_long_and_mounts)
{
        cleanup_free char *tar = tpath("long.tar");
        cleanup_free char *outer =
                fresh_dir("outer-with-a-long-name-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        cleanup_free char *canary = fresh_dir("canary");
        cleanup_free char *dir = NULL, *name = NULL, *mnt = NULL;
        struct tent ents[3] = {{0}};
        mx_buf path = MX_BUF_INIT;
        mx_error *err = NULL;
        char comp[201];

        memset(comp, 'c', 200);
        comp[200] = '\0';
        for (int i = 0; i < 20; i++)
                ASSERT_OK(mx_buf_printf(&path, "%s%s", i ? "/" : "", comp));
        ASSERT_OK(mx_buf_puts(&path, "/f"));
        ents[0] = (struct tent){path.ptr, 'f', "deep\n", 0, 0, 0, NULL, NULL, 0, 0};
        ents[1] = (struct tent){"out", 'l', canary, 0, 0, 0, NULL, NULL, 0, 0};
        ASSERT_OK(make_tar(tar, ents, 2));
        ASSERT_TRUE(asprintf(&dir, "%s/%s", outer, comp) > 0); /* target path + names > 4096 */
        ASSERT_EQ(mkdir(dir, 0755), 0);
        ASSERT_EQ(sh("echo keep > '%s/keep'", canary), 0);
        ASSERT_OK_E(unpack_file(tar, dir, NULL, NULL, &err), err);
        ASSERT_TRUE(strlen(dir) + path.len > 4096);
        ASSERT_OK_E(mx_layer_remove_tree(dir, &err), err);
        ASSERT_EQ(sh("! test -e '%s' && test -f '%s/keep'", dir, canary), 0);
        ASSERT_OK(mx_layer_remove_tree(dir, NULL)); /* missing: fine */
        ASSERT_ERR(mx_layer_remove_tree("", &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err), err = NULL;
        if (geteuid() == 0) {
                ASSERT_TRUE(asprintf(&mnt, "%s/m", outer) > 0);
                ASSERT_EQ(mkdir(mnt, 0755), 0);
                ASSERT_EQ(sh("mount -t tmpfs none '%s' && echo x > '%s/inside'", mnt, mnt), 0);
                ASSERT_ERR(mx_layer_remove_tree(outer, &err), MX_EBUSY);
                ASSERT_EQ(err->domain, MX_D_IMAGE);
                mx_error_free(err), err = NULL;
                ASSERT_EQ(sh("test -f '%s/inside' && umount '%s'", mnt, mnt), 0);
        }
        ASSERT_OK_E(mx_layer_remove_tree(outer, &err), err);
        mx_buf_clear(&path);
}

/* Empty input: a valid empty gzip member / zstd frame / nothing, each unpacking to nothing,
 * with the diffID of the empty stream. An empty blob is a valid empty layer too. */
MX_TEST(compress_and_unpack_empty)
{
        static const char empty_sha[] =
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        mx_compression kinds[] = {MX_COMPRESSION_GZIP, MX_COMPRESSION_ZSTD, MX_COMPRESSION_NONE};
        cleanup_free char *in = tpath("empty");
        mx_error *err = NULL;

        ASSERT_EQ(sh(": > '%s'", in), 0);
        for (size_t i = 0; i < MX_ARRAY_SIZE(kinds); i++) {
                cleanup_free char *out = NULL, *dir = NULL, *name = NULL;
                mx_layer_info ci, ui;

                ASSERT_TRUE(asprintf(&name, "empty-%zu", i) > 0);
                out = tpath(name);
                free(name);
                ASSERT_TRUE(asprintf(&name, "empty-%zu-dir", i) > 0);
                dir = fresh_dir(name);
                ASSERT_OK_E(compress_file(in, out, kinds[i], 0, &ci, &err), err);
                ASSERT_STREQ(ci.diff_id, empty_sha);
                ASSERT_EQ(ci.uncompressed_size, 0);
                ASSERT_TRUE(kinds[i] == MX_COMPRESSION_NONE ? ci.compressed_size == 0
                                                            : ci.compressed_size > 0);
                ASSERT_OK_E(unpack_file(out, dir, NULL, &ui, &err), err);
                ASSERT_EQ(ui.compression, kinds[i]);
                ASSERT_STREQ(ui.diff_id, empty_sha);
                ASSERT_EQ(ui.entries, 0);
        }
}
