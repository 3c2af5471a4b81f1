/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container root filesystems from OVERLAY-mode layer directories: an overlayfs mount, or a
 * flattened copy where overlayfs is missing.
 *
 * The overlay mount options are limited to one page, and store paths are long
 * (layers/<64 hex>/): every directory is opened O_PATH and named "/proc/self/fd/N" in the
 * options, about 17 bytes per layer whatever the store's location, with no chdir (which
 * would be process-wide and race with other threads). Stacks too long even for that use the
 * new mount API, appending one layer at a time ("lowerdir+", Linux 6.8+).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "buf.h"
#include "error-internal.h"
#include "layer-internal.h"

int mx_rootfs_overlay_supported(void)
{
        cleanup_fclose FILE *f = fopen("/proc/filesystems", "re");
        char line[256];

        while (f && fgets(line, sizeof(line), f)) {
                char *tab = strrchr(line, '\t');
                if (tab && strcmp(tab + 1, "overlay\n") == 0)
                        return 1;
        }
        return 0;
}

static int open_dir_path(const char *path, int *out, mx_error **err)
{
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open layer directory '%s'", path);
        *out = fd;
        return 0;
}

static int mount_errno(mx_error **err, const char *target)
{
        int e = errno;

        if (e == ENODEV)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, e,
                                    "mount overlay at '%s': overlayfs is not available", target);
        return mx_error_errno_val(err, e, MX_D_IMAGE, "mount overlay at '%s'", target);
}

static unsigned long ms_flags(int flags, bool rdonly)
{
        unsigned long f = 0;

        if (flags & MX_ROOTFS_NOSUID)
                f |= MS_NOSUID;
        if (flags & MX_ROOTFS_NODEV)
                f |= MS_NODEV;
        if (flags & MX_ROOTFS_NOEXEC)
                f |= MS_NOEXEC;
        if (rdonly)
                f |= MS_RDONLY;
        return f;
}

/* The new mount API, one lower layer per fsconfig call: no length limit. */
static int mount_fsopen(const int *lower, size_t n, int upper, int work, const char *target,
                        int flags, mx_error **err)
{
        cleanup_close int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        cleanup_close int mfd = -1;
        char path[64];
        unsigned int attrs = 0;

        if (fsfd < 0)
                return mount_errno(err, target);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", lower[i]);
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0)
                        return mx_error_errno(err, MX_D_IMAGE,
                                              "mount overlay at '%s': add layer %zu", target, i);
        }
        if (upper >= 0) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", upper);
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", path, 0) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "mount overlay at '%s': upper",
                                              target);
                snprintf(path, sizeof(path), "/proc/self/fd/%d", work);
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", path, 0) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "mount overlay at '%s': work",
                                              target);
        }
        (void)fsconfig(fsfd, FSCONFIG_SET_STRING, "index", "off", 0);
        (void)fsconfig(fsfd, FSCONFIG_SET_STRING, "xino", "off", 0);
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return mount_errno(err, target);
        if (flags & MX_ROOTFS_NOSUID)
                attrs |= MOUNT_ATTR_NOSUID;
        if (flags & MX_ROOTFS_NODEV)
                attrs |= MOUNT_ATTR_NODEV;
        if (flags & MX_ROOTFS_NOEXEC)
                attrs |= MOUNT_ATTR_NOEXEC;
        if (upper < 0)
                attrs |= MOUNT_ATTR_RDONLY;
        mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
        if (mfd < 0)
                return mount_errno(err, target);
        if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return mount_errno(err, target);
        return 0;
}

int mx_rootfs_mount(const char *const *lower_dirs, size_t n, const char *upper, const char *work,
                    const char *target, int flags, mx_error **err)
{
        cleanup_free int *fds = NULL;
        cleanup_close int ufd = -1;
        cleanup_close int wfd = -1;
        mx_buf opts = MX_BUF_INIT_CAP(1 << 20);
        long page = sysconf(_SC_PAGESIZE);
        int ret = 0;

        if (!lower_dirs || n == 0 || !target || (!upper) != (!work))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "mount root filesystem: invalid arguments");
        fds = malloc(n * sizeof(*fds));
        if (!fds)
                return mx_error_oom(err);
        for (size_t i = 0; i < n; i++)
                fds[i] = -1;
        for (size_t i = 0; i < n && ret == 0; i++) {
                if (!lower_dirs[i])
                        ret = mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "layer %zu is NULL", i);
                else
                        ret = open_dir_path(lower_dirs[i], &fds[i], err);
        }
        if (ret == 0 && upper) {
                ret = open_dir_path(upper, &ufd, err);
                if (ret == 0)
                        ret = open_dir_path(work, &wfd, err);
        }
        if (ret == 0) {
                ret = mx_buf_puts(&opts, "lowerdir=");
                for (size_t i = 0; i < n && ret == 0; i++)
                        ret = mx_buf_printf(&opts, "%s/proc/self/fd/%d", i ? ":" : "", fds[i]);
                if (ret == 0 && upper)
                        ret = mx_buf_printf(&opts,
                                            ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d",
                                            ufd, wfd);
                if (ret == 0)
                        ret = mx_buf_puts(&opts, ",index=off,xino=off");
                if (ret < 0)
                        ret = mx_error_oom(err);
        }
        if (ret == 0) {
                if ((long)opts.len < page) {
                        if (mount("overlay", target, "overlay", ms_flags(flags, !upper), opts.ptr) <
                            0)
                                ret = mount_errno(err, target);
                } else {
                        ret = mount_fsopen(fds, n, ufd, wfd, target, flags, err);
                        if (ret == MX_EINVAL)
                                ret = mx_error_wrap_code(
                                        err, MX_ETOOBIG, MX_D_IMAGE,
                                        "%zu layers do not fit one overlay mount here", n);
                }
        }
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        mx_buf_clear(&opts);
        if (ret < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "mount root filesystem at '%s'", target);
        return 0;
}

int mx_rootfs_unmount(const char *target, mx_error **err)
{
        if (!target)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "unmount: no target");
        if (umount2(target, UMOUNT_NOFOLLOW) == 0)
                return 0;
        if (errno == EBUSY && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                return 0;
        if (errno == EINVAL)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, EINVAL,
                                    "unmount '%s': nothing is mounted there", target);
        return mx_error_errno(err, MX_D_IMAGE, "unmount '%s'", target);
}

/* ---- the copy fallback -------------------------------------------------------------------- */

struct flat_link {
        dev_t dev;
        ino_t ino;
        char *path; /* relative to the target root */
};

struct flat {
        int dst_root;
        struct flat_link *links;
        size_t nlinks, cap;
        unsigned char *buf;
};

static void proc_path(char *out, size_t size, int dirfd, const char *name)
{
        snprintf(out, size, "/proc/self/fd/%d/%s", dirfd, name);
}

static bool is_opaque(int dirfd, const char *name)
{
        char p[64 + 256], v[2];

        proc_path(p, sizeof(p), dirfd, name);
        return lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

static int copy_xattrs(int sdir, int ddir, const char *name, const char *rel, bool is_link,
                       mx_error **err)
{
        char sp[64 + 256], dp[64 + 256];
        cleanup_free char *names = NULL;
        cleanup_free char *val = NULL;
        ssize_t n;

        proc_path(sp, sizeof(sp), sdir, name);
        proc_path(dp, sizeof(dp), ddir, name);
        n = llistxattr(sp, NULL, 0);
        if (n <= 0)
                return 0;
        names = malloc((size_t)n);
        val = malloc(65536);
        if (!names || !val)
                return mx_error_oom(err);
        n = llistxattr(sp, names, (size_t)n);
        for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
                const char *x = names + off;
                ssize_t vn;

                if (mx_layer__xattr_is_overlay(x))
                        continue;
                vn = lgetxattr(sp, x, val, 65536);
                if (vn < 0)
                        continue;
                if (lsetxattr(dp, x, val, (size_t)vn, 0) < 0 && errno != ENOTSUP &&
                    !(is_link && errno == EPERM))
                        return mx_error_errno(err, MX_D_IMAGE, "'%s': set xattr '%s'", rel, x);
        }
        return 0;
}

static int finish_meta(int sdir, int ddir, const char *name, const struct stat *st, const char *rel,
                       mx_error **err)
{
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        bool link = S_ISLNK(st->st_mode);
        int r;

        if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "'%s': chown", rel);
        if (!link && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "'%s': chmod", rel);
        r = copy_xattrs(sdir, ddir, name, rel, link, err);
        if (r < 0)
                return r;
        if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "'%s': set times", rel);
        return 0;
}

static int copy_regular(struct flat *f, int sdir, int ddir, const char *name, const char *rel,
                        const struct stat *st, mx_error **err)
{
        cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int out = -1;
        off_t left = st->st_size;

        if (in < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open '%s'", rel);
        out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return mx_error_errno(err, MX_D_IMAGE, "create '%s'", rel);
        if (left > 0 && ioctl(out, FICLONE, in) == 0)
                return 0;
        while (left > 0) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
                if (n < 0 &&
                    (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
                        n = read(in, f->buf, MX_LAYER_IO_CHUNK);
                        if (n > 0 && mx_layer__write_all(out, f->buf, (size_t)n) < 0)
                                n = -1;
                }
                if (n < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "copy '%s'", rel);
                if (n == 0)
                        break;
                left -= n;
        }
        return 0;
}

static int flatten_dir(struct flat *f, int sdir, int ddir, const char *rel, mx_error **err);

static int flatten_entry(struct flat *f, int sdir, int ddir, const char *name, const char *rel,
                         mx_error **err)
{
        struct stat st, dst;
        bool exists;
        int r;

        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "stat '%s'", rel);
        exists = fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
        if (mx_layer__is_whiteout(&st))
                return exists ? mx_layer__rm_at(ddir, name, err) : 0;
        if (S_ISSOCK(st.st_mode))
                return 0;
        if (S_ISDIR(st.st_mode)) {
                cleanup_close int s = -1;
                cleanup_close int d = -1;

                /* A lower directory merges with this one unless this one is opaque. */
                if (exists && (!S_ISDIR(dst.st_mode) || is_opaque(sdir, name))) {
                        r = mx_layer__rm_at(ddir, name, err);
                        if (r < 0)
                                return r;
                        exists = false;
                }
                if (!exists && mkdirat(ddir, name, 0700) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "mkdir '%s'", rel);
                s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "open directory '%s'", rel);
                r = flatten_dir(f, s, d, rel, err);
                if (r < 0)
                        return r;
                return finish_meta(sdir, ddir, name, &st, rel, err);
        }
        if (exists) {
                r = mx_layer__rm_at(ddir, name, err);
                if (r < 0)
                        return r;
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < f->nlinks; i++) {
                        struct flat_link *l = &f->links[i];
                        const char *slash;
                        cleanup_free char *pdir = NULL;
                        cleanup_close int pfd = -1;

                        if (l->ino != st.st_ino || l->dev != st.st_dev)
                                continue;
                        slash = strrchr(l->path, '/');
                        pdir = strndup(l->path, slash ? (size_t)(slash - l->path) : 0);
                        if (!pdir)
                                return mx_error_oom(err);
                        pfd = mx_layer__open_dir_beneath(f->dst_root, pdir, O_PATH, false, rel,
                                                         err);
                        if (pfd < 0)
                                return pfd;
                        if (linkat(pfd, slash ? slash + 1 : l->path, ddir, name, 0) == 0)
                                return 0;
                        break; /* the first copy went away (a later whiteout): copy again */
                }
        }
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                r = copy_regular(f, sdir, ddir, name, rel, &st, err);
                if (r == 0 && st.st_nlink > 1) {
                        if (f->nlinks == f->cap) {
                                size_t ncap = f->cap ? f->cap * 2 : 64;
                                struct flat_link *nl = realloc(f->links, ncap * sizeof(*nl));
                                if (!nl)
                                        return mx_error_oom(err);
                                f->links = nl;
                                f->cap = ncap;
                        }
                        f->links[f->nlinks].dev = st.st_dev;
                        f->links[f->nlinks].ino = st.st_ino;
                        f->links[f->nlinks].path = strdup(rel);
                        if (!f->links[f->nlinks].path)
                                return mx_error_oom(err);
                        f->nlinks++;
                }
                break;
        case S_IFLNK: {
                char target[4096];
                ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "read link '%s'", rel);
                target[n] = '\0';
                r = symlinkat(target, ddir, name) < 0
                            ? mx_error_errno(err, MX_D_IMAGE, "symlink '%s'", rel)
                            : 0;
                break;
        }
        default:
                r = mknodat(ddir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0
                            ? mx_error_errno(err, MX_D_IMAGE, "mknod '%s'", rel)
                            : 0;
                break;
        }
        if (r < 0)
                return r;
        return finish_meta(sdir, ddir, name, &st, rel, err);
}

static int flatten_dir(struct flat *f, int sdir, int ddir, const char *rel, mx_error **err)
{
        int dfd = fcntl(sdir, F_DUPFD_CLOEXEC, 0);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (dfd >= 0)
                        close(dfd);
                return mx_error_errno(err, MX_D_IMAGE, "read directory '%s'", *rel ? rel : ".");
        }
        while (r == 0 && (de = readdir(d))) {
                cleanup_free char *child = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (asprintf(&child, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
                        child = NULL;
                        r = mx_error_oom(err);
                        break;
                }
                r = flatten_entry(f, sdir, ddir, de->d_name, child, err);
        }
        closedir(d);
        return r;
}

int mx_rootfs_flatten(const char *const *lower_dirs, size_t n, const char *target, mx_error **err)
{
        struct flat f = {.dst_root = -1};
        int ret = 0;

        if (!lower_dirs || n == 0 || !target)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "flatten root filesystem: invalid arguments");
        f.dst_root = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f.dst_root < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open '%s'", target);
        f.buf = malloc(MX_LAYER_IO_CHUNK);
        if (!f.buf)
                ret = mx_error_oom(err);
        /* Bottom layer first, each applied over what is below, as overlayfs shows them. */
        for (size_t i = n; ret == 0 && i-- > 0;) {
                cleanup_close int s = -1;

                if (!lower_dirs[i]) {
                        ret = mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "layer %zu is NULL", i);
                        break;
                }
                s = open(lower_dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (s < 0) {
                        ret = mx_error_errno(err, MX_D_IMAGE, "open layer directory '%s'",
                                             lower_dirs[i]);
                        break;
                }
                ret = flatten_dir(&f, s, f.dst_root, "", err);
                for (size_t j = 0; j < f.nlinks; j++)
                        free(f.links[j].path);
                f.nlinks = 0;
                if (ret < 0)
                        ret = mx_error_wrap(err, MX_D_IMAGE, "apply layer '%s'", lower_dirs[i]);
        }
        free(f.links);
        free(f.buf);
        close(f.dst_root);
        if (ret < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "flatten root filesystem into '%s'", target);
        return 0;
}
