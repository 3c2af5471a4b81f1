/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "error-internal.h"
#include "layer-internal.h"
#include "strv.h"

bool mx_layer__xattr_is_overlay(const char *name)
{
        return strncmp(name, "trusted.overlay.", 16) == 0 ||
               strncmp(name, "user.overlay.", 13) == 0;
}

int mx_layer__pwrite_all(int fd, const void *data, size_t len, off_t offset)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, offset);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
                offset += n;
        }
        return 0;
}

int mx_layer__write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

ssize_t mx_layer__read_full(int fd, void *buf, size_t len)
{
        size_t got = 0;

        while (got < len) {
                ssize_t n = read(fd, (char *)buf + got, len - got);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

unsigned mx_layer__cpus(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        if (n < 1)
                return 1;
        return n > 16 ? 16 : (unsigned)n;
}

char *mx_layer__clean_name(const char *name, bool *unsafe)
{
        size_t len = strlen(name);
        char *out = malloc(len + 1);
        size_t o = 0;
        const char *p = name;

        *unsafe = false;
        if (!out)
                return NULL;
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t)(slash - p) : strlen(p);

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        free(out);
                        *unsafe = true;
                        return NULL;
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
                if (*p == '/')
                        p++;
        }
        out[o] = '\0';
        return out;
}

static int openat2_dir(int rootfd, const char *path, int oflags)
{
        static int have_openat2 = -1; /* -1 unknown, 0 no, 1 yes; a benign race */
        struct open_how how = {
                .flags = (unsigned)(oflags | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        if (have_openat2 == 0)
                return -ENOSYS;
        fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        if (fd < 0) {
                if (errno == ENOSYS || errno == EPERM) /* EPERM: seccomp filters */
                        have_openat2 = 0;
                return -errno;
        }
        have_openat2 = 1;
        return (int)fd;
}

static int walk_error(int cur, const char *comp, const char *shown, size_t shown_len,
                      const char *what, int errnum, mx_error **err)
{
        struct stat st;

        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(st.st_mode))
                        return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                            "refusing entry '%s': its parent '%.*s' is a "
                                            "symbolic link",
                                            what, (int)shown_len, shown);
                if (!S_ISDIR(st.st_mode))
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "entry '%s': its parent '%.*s' is not a directory",
                                            what, (int)shown_len, shown);
        }
        return mx_error_errno_val(err, errnum, MX_D_IMAGE, "entry '%s': open directory '%.*s'",
                                  what, (int)shown_len, shown);
}

int mx_layer__open_dir_beneath(int rootfd, const char *path, int oflags, bool create,
                               const char *what, mx_error **err)
{
        cleanup_free char *copy = NULL;
        char *save = NULL, *comp;
        int cur, fd;

        if (path[0] == '\0') {
                fd = openat(rootfd, ".", oflags | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': open target", what);
                return fd;
        }
        fd = openat2_dir(rootfd, path, oflags);
        if (fd >= 0)
                return fd;
        if (fd == -ENAMETOOLONG)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, ENAMETOOLONG,
                                    "entry '%.200s...': name too long", what);

        /* Slow path, also the one that explains failures: one component at a time. */
        copy = strdup(path);
        if (!copy)
                return mx_error_oom(err);
        cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': open target", what);
        for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                size_t shown_len = (size_t)(comp - copy) + strlen(comp);
                bool last = false;
                int next;

                {
                        char *rest = save;
                        while (rest && *rest == '/')
                                rest++;
                        last = !rest || *rest == '\0';
                }
                next = openat(cur, comp,
                              (last ? oflags : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
                                int r = mx_error_errno(err, MX_D_IMAGE,
                                                       "entry '%s': create directory '%.*s'", what,
                                                       (int)shown_len, path);
                                close(cur);
                                return r;
                        }
                        if (fchmodat(cur, comp, 0755, 0) < 0) {
                                /* the umask made it narrower; harmless */
                        }
                        next = openat(cur, comp,
                                      (last ? oflags : O_PATH) | O_DIRECTORY | O_NOFOLLOW |
                                              O_CLOEXEC);
                }
                if (next < 0) {
                        int e = errno, r;

                        if (e == ENOENT)
                                r = mx_error_set(err, MX_ENOTFOUND, MX_D_IMAGE, ENOENT,
                                                 "entry '%s': no directory '%.*s'", what,
                                                 (int)shown_len, path);
                        else
                                r = walk_error(cur, comp, path, shown_len, what, e, err);
                        close(cur);
                        return r;
                }
                close(cur);
                cur = next;
        }
        return cur;
}

/* Depth-first removal that keeps only the current directory open: after emptying a child
 * it climbs back with "..", which is safe here because nothing else renames inside a tree
 * being unpacked or removed. */
int mx_layer__rm_at(int dirfd, const char *name, mx_error **err)
{
        cleanup_strv char **stack = NULL;
        size_t depth = 0, cap = 0;
        struct stat top, st;
        int cur;

        if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return mx_error_errno(err, MX_D_IMAGE, "remove '%s'", name);
        cur = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cur < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open '%s' for removal", name);
        if (fstat(cur, &top) < 0) {
                int r = mx_error_errno(err, MX_D_IMAGE, "stat '%s'", name);
                close(cur);
                return r;
        }
        for (;;) {
                char *child = NULL;
                int dfd = fcntl(cur, F_DUPFD_CLOEXEC, 0);
                DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
                struct dirent *de;

                if (!d) {
                        int r = mx_error_errno(err, MX_D_IMAGE, "read directory '%s'", name);
                        if (dfd >= 0)
                                close(dfd);
                        close(cur);
                        return r;
                }
                while ((de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        if (de->d_type != DT_DIR) {
                                if (unlinkat(cur, de->d_name, 0) == 0 || errno == ENOENT)
                                        continue;
                                if (errno != EISDIR && errno != EPERM) {
                                        int r = mx_error_errno(err, MX_D_IMAGE,
                                                               "remove '%s' in '%s'", de->d_name,
                                                               name);
                                        closedir(d);
                                        close(cur);
                                        return r;
                                }
                        }
                        child = strdup(de->d_name);
                        if (!child) {
                                closedir(d);
                                close(cur);
                                return mx_error_oom(err);
                        }
                        break;
                }
                closedir(d);
                if (child) {
                        int next =
                                openat(cur, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (next < 0) {
                                int r = mx_error_errno(err, MX_D_IMAGE, "open '%s' for removal",
                                                       child);
                                free(child);
                                close(cur);
                                return r;
                        }
                        /* Never descend into another filesystem (a mount inside the tree). */
                        if (fstat(next, &st) < 0 || st.st_dev != top.st_dev) {
                                int r = mx_error_set(err, MX_EBUSY, MX_D_IMAGE, 0,
                                                     "'%s' in '%s' is a mount point", child, name);
                                free(child);
                                close(next);
                                close(cur);
                                return r;
                        }
                        if (depth + 2 > cap) {
                                size_t ncap = cap ? cap * 2 : 16;
                                char **n = realloc(stack, ncap * sizeof(*stack));
                                if (!n) {
                                        free(child);
                                        close(next);
                                        close(cur);
                                        return mx_error_oom(err);
                                }
                                stack = n;
                                cap = ncap;
                        }
                        stack[depth++] = child;
                        stack[depth] = NULL;
                        close(cur);
                        cur = next;
                        continue;
                }
                if (depth == 0) {
                        close(cur);
                        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                                return mx_error_errno(err, MX_D_IMAGE, "remove directory '%s'",
                                                      name);
                        return 0;
                }
                {
                        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        char *done = stack[--depth];

                        stack[depth] = NULL;
                        close(cur);
                        if (up < 0) {
                                free(done);
                                return mx_error_errno(err, MX_D_IMAGE, "climb out of '%s'", name);
                        }
                        if (unlinkat(up, done, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                                int r = mx_error_errno(err, MX_D_IMAGE, "remove directory '%s'",
                                                       done);
                                free(done);
                                close(up);
                                return r;
                        }
                        free(done);
                        cur = up;
                }
        }
}

int mx_layer_remove_tree(const char *path, mx_error **err)
{
        if (!path || !*path)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "remove tree: no path");
        if (mx_layer__rm_at(AT_FDCWD, path, err) < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "remove '%s'", path);
        return 0;
}
