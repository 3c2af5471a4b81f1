/* SPDX-License-Identifier: Apache-2.0 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error-internal.h"
#include "fault.h"

static int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static char *dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t)(slash - path));
}

int mx_fs_fsync_dir(const char *path, mx_error **err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return mx_error_errno(err, MX_D_SYS, "open directory '%s'", path);
        if (fsync(fd) < 0 && errno != EINVAL)
                return mx_error_errno(err, MX_D_SYS, "fsync directory '%s'", path);
        return 0;
}

int mx_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, mx_error **err)
{
        cleanup_free char *tmp = NULL;
        cleanup_free char *dir = NULL;
        cleanup_close int fd = -1;

        if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
                return mx_error_oom(err);
        dir = dir_of(path);
        if (!dir)
                return mx_error_oom(err);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return mx_error_errno(err, MX_D_SYS, "create '%s'", tmp);
        if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
                int r = mx_error_errno(err, MX_D_SYS, "write '%s'", tmp);

                (void)unlink(tmp);
                return r;
        }
        (void)fchmod(fd, mode);
        mx_fault_point("fs.write_atomic.before_rename");
        if (rename(tmp, path) < 0) {
                int r = mx_error_errno(err, MX_D_SYS, "rename '%s' to '%s'", tmp, path);

                (void)unlink(tmp);
                return r;
        }
        return mx_fs_fsync_dir(dir, err);
}

int mx_fs_mkdir_p(const char *path, mode_t mode, mx_error **err)
{
        cleanup_free char *copy = strdup(path);
        char *p;

        if (!copy)
                return mx_error_oom(err);
        for (p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return mx_error_errno(err, MX_D_SYS, "create directory '%s'", copy);
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return mx_error_errno(err, MX_D_SYS, "create directory '%s'", copy);
        return 0;
}

static int rm_entry(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
        (void)sb;
        (void)ftwbuf;
        if (typeflag == FTW_DP)
                return rmdir(fpath) < 0 && errno != ENOENT ? -1 : 0;
        if (unlink(fpath) < 0 && errno != ENOENT) {
                /* Immutable or odd entries: make the parent writable once and retry. */
                return -1;
        }
        return 0;
}

int mx_fs_rm_rf(const char *path, mx_error **err)
{
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return mx_error_errno(err, MX_D_SYS, "stat '%s'", path);
        }
        if (!S_ISDIR(st.st_mode)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return mx_error_errno(err, MX_D_SYS, "remove '%s'", path);
                return 0;
        }
        if (nftw(path, rm_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                return mx_error_errno(err, MX_D_SYS, "remove '%s'", path);
        return 0;
}

int mx_fs_exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

int mx_fs_clean_rel(char **out, const char *name, mx_error **err)
{
        mx_buf b = MX_BUF_INIT;
        const char *p = name;

        while (*p) {
                const char *start, *end;
                size_t n;

                while (*p == '/')
                        p++;
                start = p;
                while (*p && *p != '/')
                        p++;
                end = p;
                n = (size_t)(end - start);
                if (n == 0 || (n == 1 && start[0] == '.'))
                        continue;
                if (n == 2 && start[0] == '.' && start[1] == '.') {
                        mx_buf_clear(&b);
                        return mx_error_set(err, MX_EUNSAFE, MX_D_CORE, 0,
                                            "path '%s' climbs out of its root", name);
                }
                if ((b.len && mx_buf_putc(&b, '/') < 0) || mx_buf_put(&b, start, n) < 0) {
                        mx_buf_clear(&b);
                        return mx_error_oom(err);
                }
        }
        *out = mx_buf_detach(&b);
        return *out ? 0 : mx_error_oom(err);
}

int mx_fs_join_under(char **out, const char *root, const char *name, mx_error **err)
{
        cleanup_free char *rel = NULL;
        char *joined = NULL;
        int r;

        r = mx_fs_clean_rel(&rel, name, err);
        if (r < 0)
                return r;
        if (*rel == '\0')
                joined = strdup(root);
        else if (asprintf(&joined, "%s/%s", root, rel) < 0)
                joined = NULL;
        if (!joined)
                return mx_error_oom(err);
        *out = joined;
        return 0;
}

int mx_fs_copy_file(const char *src, const char *dst, mode_t mode, mx_error **err)
{
        cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
        cleanup_close int outfd = -1;
        char chunk[65536];

        if (in < 0)
                return mx_error_errno(err, MX_D_SYS, "open '%s'", src);
        outfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (outfd < 0)
                return mx_error_errno(err, MX_D_SYS, "create '%s'", dst);
        if (ioctl(outfd, FICLONE, in) == 0)
                return 0;
        for (;;) {
                ssize_t n = read(in, chunk, sizeof(chunk));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return mx_error_errno(err, MX_D_SYS, "read '%s'", src);
                }
                if (n == 0)
                        return 0;
                if (write_all(outfd, chunk, (size_t)n) < 0)
                        return mx_error_errno(err, MX_D_SYS, "write '%s'", dst);
        }
}
