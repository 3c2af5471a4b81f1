/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "error-internal.h"
#include "tap.h"
#include "test-image-layer-util.h"

static const struct tent l1[] = {
        {"a/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0, 0},
        {"a/x", 'f', "x\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"a/y", 'f', "y\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"b", 'f', "b\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"c/", 'd', NULL, 0700, 5, 5, "user.c", "lower", 0, 0},
        {"c/z", 'f', "z\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"d", 'l', "/etc", 0, 0, 0, NULL, NULL, 0, 0},
        {"h1", 'f', "linked\n", 0640, 3, 4, "user.h", "v", 0, 0},
        {"h2", 'h', "h1", 0, 0, 0, NULL, NULL, 0, 0},
        {"keep", 'f', "keep\n", 0, 0, 0, NULL, NULL, 0, 0},
};
static const struct tent l2[] = {
        {".wh.b", 'f', "", 0, 0, 0, NULL, NULL, 0, 0},
        {"a/", 'd', NULL, 0711, 0, 0, NULL, NULL, 1650000000, 0},
        {"a/.wh..wh..opq", 'f', "", 0, 0, 0, NULL, NULL, 0, 0},
        {"a/new", 'f', "new\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"c/", 'd', NULL, 0750, 6, 6, "user.c", "upper", 0, 0},
        {"c/w", 'f', "w\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"d/", 'd', NULL, 0755, 0, 0, NULL, NULL, 0, 0},
        {"d/f", 'f', "inside\n", 0, 0, 0, NULL, NULL, 0, 0},
        {"p", 'p', NULL, 0600, 0, 0, NULL, NULL, 0, 0},
};
static const struct tent l3[] = {
        {"c/", 'd', NULL, 0750, 6, 6, "user.c", "upper", 0, 0},
        {"c/.wh.z", 'f', "", 0, 0, 0, NULL, NULL, 0, 0},
        {"top", 'f', "top\n", 04711, 0, 0, NULL, NULL, 0, 0},
};

static char *tpath(const char *name)
{
        char *p = NULL;

        if (asprintf(&p, "%s/%s", mx_tap_tmpdir(), name) < 0)
                abort();
        return p;
}

static char *mkdir_t(const char *name)
{
        char *p = tpath(name);

        if (mkdir(p, 0755) < 0)
                mx_tap_fail(__FILE__, __LINE__, "mkdir %s", p);
        return p;
}

static char *make_layer(const char *name, const struct tent *ents, size_t n)
{
        cleanup_free char *tar = NULL;
        char *dir = mkdir_t(name);
        mx_error *err = NULL;
        int fd;

        if (asprintf(&tar, "%s.tar", dir) < 0)
                abort();
        if (make_tar(tar, ents, n) < 0)
                mx_tap_fail(__FILE__, __LINE__, "make_tar %s", tar);
        fd = open(tar, O_RDONLY | O_CLOEXEC);
        ASSERT_OK_E(mx_layer_unpack(fd, dir, NULL, NULL, &err), err);
        close(fd);
        return dir;
}

static void need_root_overlay(void)
{
        if (geteuid() != 0)
                SKIP("overlay mounts need root");
        if (!mx_rootfs_overlay_supported())
                SKIP("this kernel has no overlayfs");
}

MX_TEST(rootfs_flatten_equals_overlay_mount)
{
        cleanup_free char *d1 = NULL, *d2 = NULL, *d3 = NULL;
        cleanup_free char *flat = NULL, *mnt = NULL;
        mx_buf a = MX_BUF_INIT, b = MX_BUF_INIT;
        mx_error *err = NULL;
        const char *diff;

        need_root_overlay();
        d1 = make_layer("l1", l1, MX_ARRAY_SIZE(l1));
        d2 = make_layer("l2", l2, MX_ARRAY_SIZE(l2));
        d3 = make_layer("l3", l3, MX_ARRAY_SIZE(l3));
        flat = mkdir_t("flat");
        mnt = mkdir_t("mnt");
        {
                const char *layers[] = {d3, d2, d1};
                ASSERT_OK_E(mx_rootfs_flatten(layers, 3, flat, &err), err);
                ASSERT_OK_E(mx_rootfs_mount(layers, 3, NULL, NULL, mnt, MX_ROOTFS_NODEV, &err),
                            err);
        }
        tree_manifest(&a, mnt, true);
        tree_manifest(&b, flat, true);
        ASSERT_OK_E(mx_rootfs_unmount(mnt, &err), err);
        diff = manifest_diff(a.ptr, b.ptr);
        if (diff)
                mx_tap_fail(__FILE__, __LINE__, "overlay and flatten differ:%s\n%s\n---\n%s", diff,
                            a.ptr, b.ptr);
        /* and what they show is right */
        ASSERT_EQ(sh("cd '%s' && test \"$(find . | sort | tr '\\n' ' ')\" = "
                     "'. ./a ./a/new ./c ./c/w ./d ./d/f ./h1 ./h2 ./keep ./p ./top '",
                     flat),
                  0);
        ASSERT_EQ(sh("test \"$(stat -c %%i '%s/h1')\" = \"$(stat -c %%i '%s/h2')\"", flat, flat),
                  0);
        ASSERT_EQ(sh("test \"$(stat -c %%a:%%u '%s/c')\" = 750:6", flat), 0);
        ASSERT_EQ(sh("test \"$(getfattr --only-values -n user.c '%s/c' 2>/dev/null)\" = upper "
                     "|| ! command -v getfattr",
                     flat),
                  0);
        mx_buf_clear(&a);
        mx_buf_clear(&b);
}

MX_TEST(rootfs_mount_with_upper_writes_to_upper)
{
        cleanup_free char *d1 = NULL, *up = NULL, *work = NULL, *mnt = NULL;
        mx_error *err = NULL;

        need_root_overlay();
        d1 = make_layer("w1", l1, MX_ARRAY_SIZE(l1));
        up = mkdir_t("upper");
        work = mkdir_t("work");
        mnt = mkdir_t("mnt-rw");
        {
                const char *layers[] = {d1};
                ASSERT_OK_E(mx_rootfs_mount(layers, 1, up, work, mnt, 0, &err), err);
        }
        ASSERT_EQ(sh("echo hi > '%s/created' && rm '%s/keep'", mnt, mnt), 0);
        ASSERT_OK_E(mx_rootfs_unmount(mnt, &err), err);
        ASSERT_EQ(sh("test -f '%s/created' && test -c '%s/keep' && test -f '%s/keep'", up, up, d1),
                  0);
}

MX_TEST(rootfs_mount_many_layers)
{
        enum { N = 300 };
        char **dirs = calloc(N, sizeof(*dirs));
        cleanup_free char *mnt = NULL;
        mx_error *err = NULL;

        need_root_overlay();
        mnt = mkdir_t("mnt-many");
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof(name), "many-%03d", i);
                dirs[i] = mkdir_t(name);
                ASSERT_EQ(sh("echo %d > '%s/f%d' && echo %d > '%s/top'", i, dirs[i], i, i, dirs[i]),
                          0);
        }
        /* 300 * "/proc/self/fd/NNN:" is more than a page: the one-layer-at-a-time path */
        if (mx_rootfs_mount((const char *const *)dirs, N, NULL, NULL, mnt, 0, &err) < 0) {
                ASSERT_EQ(err->code, MX_ETOOBIG); /* a kernel without "lowerdir+" */
                mx_error_free(err);
        } else {
                ASSERT_EQ(sh("test \"$(cat '%s/top')\" = 0 && test -f '%s/f299'", mnt, mnt), 0);
                ASSERT_OK_E(mx_rootfs_unmount(mnt, &err), err);
        }
        for (int i = 0; i < N; i++)
                free(dirs[i]);
        free(dirs);
}

MX_TEST(rootfs_failures)
{
        cleanup_free char *d1 = mkdir_t("f1");
        cleanup_free char *mnt = mkdir_t("mnt-fail");
        cleanup_free char *missing = tpath("missing");
        mx_error *err = NULL;
        const char *layers[] = {d1};
        const char *bad[] = {missing};

        ASSERT_ERR(mx_rootfs_unmount(mnt, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_TRUE(strstr(err->message, "nothing is mounted") != NULL);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(mx_rootfs_mount(layers, 1, d1, NULL, mnt, 0, &err), MX_EINVAL);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(mx_rootfs_mount(layers, 0, NULL, NULL, mnt, 0, &err), MX_EINVAL);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(mx_rootfs_mount(bad, 1, NULL, NULL, mnt, 0, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_NOT_NULL(err->cause);
        ASSERT_EQ(err->cause->sys_errno, ENOENT);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(mx_rootfs_flatten(bad, 1, mnt, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err), err = NULL;
        ASSERT_ERR(mx_rootfs_flatten(layers, 1, missing, &err), MX_ENOTFOUND);
        mx_error_free(err);
}

/* A layer whose tar omits parents ("tmp/x" without "tmp/"): given the layers below, the
 * parents it creates carry what the stack below shows, so the mounted /tmp stays 1777. */
MX_TEST(rootfs_implicit_parents_take_lower_metadata)
{
        static const struct tent low[] = {
                {"tmp/", 'd', NULL, 01777, 0, 0, "user.t", "v", 1500000000, 0},
                {"etc/", 'd', NULL, 0750, 5, 6, NULL, NULL, 1500000001, 0},
                {"etc/f", 'f', "f\n", 0, 0, 0, NULL, NULL, 0, 0},
        };
        static const struct tent up[] = {
                {"tmp/x", 'f', "x\n", 0, 0, 0, NULL, NULL, 0, 0},
                {"etc/.wh.f", 'f', "", 0, 0, 0, NULL, NULL, 0, 0},
                {"new/deeper/y", 'f', "y\n", 0, 0, 0, NULL, NULL, 0, 0},
        };
        cleanup_free char *d1 = NULL, *d2 = NULL, *d3 = NULL, *tar = NULL, *mnt = NULL;
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_error *err = NULL;
        int fd;

        d1 = make_layer("impl-low", low, MX_ARRAY_SIZE(low));
        d2 = mkdir_t("impl-up");
        d3 = mkdir_t("impl-up-alone");
        tar = tpath("impl-up.tar");
        ASSERT_OK(make_tar(tar, up, MX_ARRAY_SIZE(up)));
        {
                const char *lowers[] = {d1};
                o.lower_dirs = lowers;
                o.n_lower_dirs = 1;
                fd = open(tar, O_RDONLY | O_CLOEXEC);
                ASSERT_OK_E(mx_layer_unpack(fd, d2, &o, NULL, &err), err);
                close(fd);
        }
        ASSERT_EQ(sh("test \"$(stat -c %%a:%%u:%%g:%%Y '%s/tmp')\" = 1777:0:0:1500000000", d2), 0);
        ASSERT_EQ(sh("test \"$(stat -c %%a:%%u:%%g:%%Y '%s/etc')\" = 750:5:6:1500000001", d2), 0);
        ASSERT_EQ(sh("test \"$(stat -c %%a:%%u '%s/new/deeper')\" = 755:0 && test -c '%s/etc/f'",
                     d2, d2),
                  0);
        ASSERT_EQ(sh("! command -v getfattr >/dev/null || "
                     "test \"$(getfattr --only-values -n user.t '%s/tmp')\" = v",
                     d2),
                  0);
        /* without the layers below: Docker's defaults */
        o.lower_dirs = NULL;
        o.n_lower_dirs = 0;
        fd = open(tar, O_RDONLY | O_CLOEXEC);
        ASSERT_OK_E(mx_layer_unpack(fd, d3, &o, NULL, &err), err);
        close(fd);
        ASSERT_EQ(sh("test \"$(stat -c %%a '%s/tmp')\" = 755", d3), 0);
        /* a missing lower is an error naming it */
        {
                const char *bad[] = {"/nonexistent-lower-layer"};
                cleanup_free char *d4 = mkdir_t("impl-bad");
                o.lower_dirs = bad;
                o.n_lower_dirs = 1;
                fd = open(tar, O_RDONLY | O_CLOEXEC);
                ASSERT_ERR(mx_layer_unpack(fd, d4, &o, NULL, &err), MX_ENOTFOUND);
                close(fd);
                ASSERT_EQ(err->domain, MX_D_IMAGE);
                ASSERT_TRUE(strstr(err->message, "nonexistent-lower-layer") != NULL);
                mx_error_free(err), err = NULL;
        }
        if (geteuid() != 0 || !mx_rootfs_overlay_supported())
                return;
        mnt = mkdir_t("impl-mnt");
        {
                const char *layers[] = {d2, d1};
                ASSERT_OK_E(mx_rootfs_mount(layers, 2, NULL, NULL, mnt, 0, &err), err);
        }
        ASSERT_EQ(sh("test \"$(stat -c %%a '%s/tmp')\" = 1777 && test -f '%s/tmp/x' && "
                     "! test -e '%s/etc/f'",
                     mnt, mnt, mnt),
                  0);
        ASSERT_OK_E(mx_rootfs_unmount(mnt, &err), err);
}
