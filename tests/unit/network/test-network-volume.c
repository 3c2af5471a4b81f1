/* SPDX-License-Identifier: Apache-2.0 */
/* Paths here are short scratch paths; truncation cannot happen. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs.h"
#include "network/network-internal.h"
#include "tap.h"

static sqlite3 *db;
static mx_netctx ctx;
static char root[4096];

static int mx_fs_mkdir_p_for_test(const char *p)
{
        return mx_fs_mkdir_p(p, 0755, NULL);
}

static void setup(void)
{
        char path[8192];

        snprintf(root, sizeof(root), "%s/store", mx_tap_tmpdir());
        mkdir(root, 0700);
        snprintf(path, sizeof(path), "%s/myrmex.db", root);
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 30000);
        ctx.db = db;
        ctx.root = root;
}

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
        char p[8192];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        chmod(p, mode);
}

static int exists(const char *dir, const char *rel)
{
        char p[8192];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        return lstat(p, &st) == 0;
}

MX_TEST(volume_create_list_inspect_remove)
{
        mx_volume_create_opts o = MX_VOLUME_CREATE_OPTS_INIT;
        mx_volume_info *v = NULL, *again = NULL, **all = NULL;
        mx_error *err = NULL;
        size_t n = 0;
        struct stat st;

        setup();
        o.name = "data";
        o.labels_json = "{\"team\":\"web\"}";
        ASSERT_OK_E(mx_volume__create(&v, &ctx, &o, 0, &err), err);
        ASSERT_STREQ(v->name, "data");
        ASSERT_STREQ(v->driver, "local");
        ASSERT_EQ(v->anonymous, 0);
        ASSERT_TRUE(strstr(v->mountpoint, "/volumes/data/_data") != NULL);
        ASSERT_EQ(stat(v->mountpoint, &st), 0);
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        /* Creating it again returns the same volume, as Docker does. */
        ASSERT_OK(mx_volume__create(&again, &ctx, &o, 0, &err));
        ASSERT_EQ(again->created, v->created);
        mx_volume_info_free(again);
        /* Anonymous volume: random 64-hex name. */
        ASSERT_OK(mx_volume__create(&again, &ctx, NULL, 0, &err));
        ASSERT_EQ(strlen(again->name), 64);
        ASSERT_EQ(again->anonymous, 1);
        mx_volume_info_free(again);

        ASSERT_OK(mx_volume__list(&all, &n, &ctx, &err));
        ASSERT_EQ(n, 2);
        mx_volume_info_list_free(all, n);

        o.name = "bad/name";
        ASSERT_ERR(mx_volume__create(&again, &ctx, &o, 0, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_RUNTIME);
        mx_error_free(err);
        err = NULL;
        o.name = "x";
        o.driver = "nfs";
        ASSERT_ERR(mx_volume__create(&again, &ctx, &o, 0, &err), MX_EUNSUPPORTED);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_volume__inspect(&again, &ctx, "nope", &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "'nope'") != NULL);
        mx_error_free(err);
        err = NULL;

        put(v->mountpoint, "file", "hello", 0644);
        ASSERT_OK_E(mx_volume__remove(&ctx, "data", 0, &err), err);
        ASSERT_TRUE(stat(v->mountpoint, &st) < 0);
        ASSERT_ERR(mx_volume__remove(&ctx, "data", 0, &err), MX_ENOTFOUND);
        mx_error_free(err);
        mx_volume_info_free(v);
        sqlite3_close(db);
}

MX_TEST(volume_debris_is_not_content)
{
        mx_volume_create_opts o = MX_VOLUME_CREATE_OPTS_INIT;
        mx_volume_info *v = NULL;
        mx_error *err = NULL;
        char dir[8192];

        setup();
        /* A directory left by an interrupted removal (no row) must not show up. */
        snprintf(dir, sizeof(dir), "%s/volumes/old/_data", root);
        ASSERT_OK(mx_fs_mkdir_p_for_test(dir));
        put(dir, "stale", "secret", 0600);
        o.name = "old";
        ASSERT_OK_E(mx_volume__create(&v, &ctx, &o, 0, &err), err);
        ASSERT_TRUE(!exists(v->mountpoint, "stale"));
        mx_volume_info_free(v);
        sqlite3_close(db);
}

MX_TEST(volume_use_seeds_from_image_and_release)
{
        mx_mount_spec spec = {.type = MX_MOUNT_VOLUME, .target = (char *)(uintptr_t) "/srv/app"};
        mx_volume_info *v = NULL, *v2 = NULL, **all = NULL;
        mx_error *err = NULL;
        char rootfs[8192], dir[8192];
        size_t n = 0;
        char **removed = NULL;
        uint64_t bytes = 0;
        struct stat st;

        setup();
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", mx_tap_tmpdir());
        snprintf(dir, sizeof(dir), "%s/srv/app/sub", rootfs);
        ASSERT_OK(mx_fs_mkdir_p_for_test(dir));
        snprintf(dir, sizeof(dir), "%s/srv/app", rootfs);
        put(dir, "index.html", "<h1>seeded</h1>", 0640);
        put(dir, "sub/run.sh", "#!/bin/sh\n", 0755);
        snprintf(dir, sizeof(dir), "%s/srv/app/link", rootfs);
        ASSERT_EQ(symlink("../../etc/passwd", dir), 0);
        snprintf(dir, sizeof(dir), "%s/srv/app", rootfs);
        ASSERT_EQ(chmod(dir, 0750), 0);

        /* Anonymous volume for container c1 from the image's /srv/app. */
        ASSERT_OK_E(mx_volume__use(&v, &ctx, &spec, "c1", rootfs, &err), err);
        ASSERT_EQ(v->anonymous, 1);
        ASSERT_EQ(v->ref_count, 1);
        ASSERT_TRUE(exists(v->mountpoint, "index.html"));
        ASSERT_TRUE(exists(v->mountpoint, "sub/run.sh"));
        snprintf(dir, sizeof(dir), "%s/sub/run.sh", v->mountpoint);
        ASSERT_EQ(stat(dir, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0755);
        snprintf(dir, sizeof(dir), "%s/link", v->mountpoint);
        ASSERT_EQ(lstat(dir, &st), 0);
        ASSERT_TRUE(S_ISLNK(st.st_mode)); /* copied as a link, not followed */
        ASSERT_EQ(stat(v->mountpoint, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0750); /* the mount point's mode, as Docker */

        /* Named volume: seeded once; data written later survives the next use. */
        spec.source = (char *)(uintptr_t) "appdata";
        ASSERT_OK_E(mx_volume__use(&v2, &ctx, &spec, "c1", rootfs, &err), err);
        ASSERT_TRUE(exists(v2->mountpoint, "index.html"));
        snprintf(dir, sizeof(dir), "%s/index.html", v2->mountpoint);
        unlink(dir);
        put(v2->mountpoint, "written", "by c1", 0644);
        mx_volume_info_free(v2);
        ASSERT_OK_E(mx_volume__use(&v2, &ctx, &spec, "c2", rootfs, &err), err);
        ASSERT_TRUE(!exists(v2->mountpoint, "index.html"));
        ASSERT_TRUE(exists(v2->mountpoint, "written"));
        ASSERT_EQ(v2->ref_count, 2);

        /* In use: rm refuses, prune skips. */
        ASSERT_ERR(mx_volume__remove(&ctx, "appdata", 0, &err), MX_EBUSY);
        mx_error_free(err);
        err = NULL;
        ASSERT_OK(mx_volume__prune(&removed, &bytes, &ctx, 1, &err));
        ASSERT_NULL(removed);

        /* rm -v of c1: its anonymous volume goes, the named one stays. */
        ASSERT_OK_E(mx_volume__release(&ctx, "c1", 1, &err), err);
        ASSERT_TRUE(stat(v->mountpoint, &st) < 0);
        ASSERT_OK(mx_volume__list(&all, &n, &ctx, &err));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(all[0]->name, "appdata");
        ASSERT_EQ(all[0]->ref_count, 1);
        mx_volume_info_list_free(all, n);
        ASSERT_OK_E(mx_volume__release(&ctx, "c2", 0, &err), err);
        /* Prune without all keeps named volumes; with all it removes them. */
        ASSERT_OK(mx_volume__prune(&removed, &bytes, &ctx, 0, &err));
        ASSERT_NULL(removed);
        ASSERT_OK(mx_volume__prune(&removed, &bytes, &ctx, 1, &err));
        ASSERT_STREQ(removed[0], "appdata");
        ASSERT_TRUE(bytes >= 5);
        mx_net__strv_free(removed);

        /* nocopy: no seeding. */
        spec.source = (char *)(uintptr_t) "empty";
        spec.volume_nocopy = 1;
        mx_volume_info_free(v2);
        ASSERT_OK_E(mx_volume__use(&v2, &ctx, &spec, "c3", rootfs, &err), err);
        ASSERT_TRUE(!exists(v2->mountpoint, "index.html"));
        mx_volume_info_free(v2);
        mx_volume_info_free(v);
        sqlite3_close(db);
}

MX_TEST(volume_seed_stays_inside_the_image)
{
        char rootfs[8192], data[8192], p[8192];
        mx_error *err = NULL;

        snprintf(rootfs, sizeof(rootfs), "%s/r2", mx_tap_tmpdir());
        snprintf(data, sizeof(data), "%s/d2", mx_tap_tmpdir());
        snprintf(p, sizeof(p), "%s/etc", rootfs);
        ASSERT_OK(mx_fs_mkdir_p_for_test(p));
        ASSERT_OK(mx_fs_mkdir_p_for_test(data));
        put(p, "inside", "ok", 0644);
        /* /data in the image is an absolute link: it resolves inside the image root. */
        snprintf(p, sizeof(p), "%s/data", rootfs);
        ASSERT_EQ(symlink("/etc", p), 0);
        snprintf(p, sizeof(p), "%s/etc/fifo", rootfs);
        ASSERT_EQ(mkfifo(p, 0600), 0);
        snprintf(p, sizeof(p), "%s/etc/null", rootfs);
        if (geteuid() == 0)
                ASSERT_EQ(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
        ASSERT_OK_E(mx_volume_seed(data, rootfs, "/data", &err), err);
        ASSERT_TRUE(exists(data, "inside"));
        ASSERT_TRUE(exists(data, "fifo"));
        ASSERT_TRUE(!exists(data, "null")); /* no device node planted on the host */
        ASSERT_TRUE(!exists(data, "passwd"));
        /* A missing mount point seeds nothing, without error. */
        ASSERT_OK(mx_volume_seed(data, rootfs, "/nope", &err));
        ASSERT_ERR(mx_volume_seed(data, rootfs, "/", &err), MX_EINVAL);
        mx_error_free(err);
}
