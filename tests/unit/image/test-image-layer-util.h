/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the layer tests: writing small tars with libarchive, and a textual manifest
 * of a directory tree (types, modes, owners, mtimes, contents, link targets, xattrs,
 * hardlink identity) so two trees can be compared line by line. */
#ifndef MX_TEST_IMAGE_LAYER_UTIL_H
#define MX_TEST_IMAGE_LAYER_UTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"

struct tent {
        const char *name;
        char type;        /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' chr, 'p' fifo */
        const char *data; /* file content, or link target */
        unsigned mode;    /* permission bits (0 = 0644/0755 defaults) */
        unsigned uid, gid;
        const char *xname, *xval; /* one xattr, or NULL */
        long long mtime;          /* 0 = 1700000000 */
        size_t xlen;              /* xattr value length, 0 = strlen(xval) */
};

/* Write the entries as a PAX tar to path; returns 0 or -1. */
static inline int make_tar(const char *path, const struct tent *ents, size_t n)
{
        struct archive *a = archive_write_new();
        int ret = 0;

        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
                archive_write_free(a);
                return -1;
        }
        for (size_t i = 0; i < n && ret == 0; i++) {
                const struct tent *t = &ents[i];
                struct archive_entry *e = archive_entry_new();
                size_t len = t->type == 'f' && t->data ? strlen(t->data) : 0;

                archive_entry_set_pathname(e, t->name);
                archive_entry_set_uid(e, t->uid);
                archive_entry_set_gid(e, t->gid);
                archive_entry_set_mtime(e, t->mtime ? t->mtime : 1700000000, 123456789);
                switch (t->type) {
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0755);
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_perm(e, 0777);
                        archive_entry_set_symlink(e, t->data);
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_hardlink(e, t->data);
                        break;
                case 'c':
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0666);
                        archive_entry_set_rdevmajor(e, 1);
                        archive_entry_set_rdevminor(e, 3);
                        break;
                case 'p':
                        archive_entry_set_filetype(e, AE_IFIFO);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0644);
                        break;
                default:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, t->mode ? t->mode : 0644);
                        archive_entry_set_size(e, (la_int64_t)len);
                        break;
                }
                if (t->xname)
                        archive_entry_xattr_add_entry(e, t->xname, t->xval,
                                                      t->xlen ? t->xlen : strlen(t->xval));
                if (archive_write_header(a, e) != ARCHIVE_OK)
                        ret = -1;
                if (len && archive_write_data(a, t->data, len) != (la_ssize_t)len)
                        ret = -1;
                archive_entry_free(e);
        }
        if (archive_write_close(a) != ARCHIVE_OK)
                ret = -1;
        archive_write_free(a);
        return ret;
}

struct inode_seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct manifest_ctx {
        mx_buf *out;
        struct inode_seen *seen;
        size_t nseen, cap;
        bool skip_overlay_xattrs;
        bool skip_dir_mtimes;
};

static inline int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void manifest_xattrs(struct manifest_ctx *c, const char *procpath)
{
        char names[4096], val[4096];
        ssize_t n = llistxattr(procpath, names, sizeof(names));
        char *sorted[64];
        size_t k = 0;

        for (ssize_t off = 0; n > 0 && off < n && k < 64; off += (ssize_t)strlen(names + off) + 1)
                sorted[k++] = names + off;
        if (k > 1)
                qsort(sorted, k, sizeof(*sorted), cmp_names);
        for (size_t i = 0; i < k; i++) {
                ssize_t vn;
                if (c->skip_overlay_xattrs && strncmp(sorted[i], "trusted.overlay.", 16) == 0)
                        continue;
                vn = lgetxattr(procpath, sorted[i], val, sizeof(val));
                (void)mx_buf_printf(c->out, " x:%s=", sorted[i]);
                for (ssize_t j = 0; j < vn; j++)
                        (void)mx_buf_printf(c->out, "%02x", (unsigned char)val[j]);
        }
}

static inline void manifest_walk(struct manifest_ctx *c, int dirfd, const char *rel)
{
        int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fdopendir(dfd);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 32;
                        names = realloc(names, cap * sizeof(*names));
                }
                names[n++] = strdup(de->d_name);
        }
        if (d)
                closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n; i++) {
                char path[4096], proc[256];
                struct stat st;

                snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", names[i]);
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (c->skip_dir_mtimes && S_ISDIR(st.st_mode))
                        st.st_mtim.tv_sec = st.st_mtim.tv_nsec = 0;
                (void)mx_buf_printf(c->out, "%s %o %u:%u mt=%lld.%09ld", path, (unsigned)st.st_mode,
                                    (unsigned)st.st_uid, (unsigned)st.st_gid,
                                    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
                if (S_ISREG(st.st_mode)) {
                        char dg[MX_DIGEST_MAX] = "";
                        const char *first = NULL;
                        if (st.st_nlink > 1) {
                                for (size_t j = 0; j < c->nseen; j++)
                                        if (c->seen[j].ino == st.st_ino &&
                                            c->seen[j].dev == st.st_dev)
                                                first = c->seen[j].path;
                                if (!first) {
                                        if (c->nseen == c->cap) {
                                                c->cap = c->cap ? c->cap * 2 : 64;
                                                c->seen =
                                                        realloc(c->seen, c->cap * sizeof(*c->seen));
                                        }
                                        c->seen[c->nseen++] = (struct inode_seen){
                                                st.st_dev, st.st_ino, strdup(path)};
                                }
                        }
                        {
                                mx_buf data = MX_BUF_INIT;
                                int fd = openat(dirfd, names[i], O_RDONLY | O_CLOEXEC);
                                if (fd >= 0) {
                                        (void)mx_buf_read_fd(&data, fd, NULL);
                                        close(fd);
                                }
                                mx_digest_data(MX_DIGEST_SHA256, data.ptr, data.len, dg);
                                mx_buf_clear(&data);
                        }
                        (void)mx_buf_printf(c->out, " size=%lld %s", (long long)st.st_size, dg + 7);
                        if (first)
                                (void)mx_buf_printf(c->out, " link=%s", first);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t tn = readlinkat(dirfd, names[i], target, sizeof(target) - 1);
                        target[tn > 0 ? tn : 0] = '\0';
                        (void)mx_buf_printf(c->out, " -> %s", target);
                } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                        (void)mx_buf_printf(c->out, " dev=%u,%u", major(st.st_rdev),
                                            minor(st.st_rdev));
                }
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, names[i]);
                if (strlen(names[i]) < 200)
                        manifest_xattrs(c, proc);
                (void)mx_buf_putc(c->out, '\n');
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd, names[i],
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0) {
                                manifest_walk(c, sub, path);
                                close(sub);
                        }
                }
                free(names[i]);
        }
        free(names);
}

/* The manifest of the tree under dir (not including dir itself); caller clears out. */
static inline void tree_manifest_ex(mx_buf *out, const char *dir, bool skip_overlay_xattrs,
                                    bool skip_dir_mtimes)
{
        struct manifest_ctx c = {.out = out,
                                 .skip_overlay_xattrs = skip_overlay_xattrs,
                                 .skip_dir_mtimes = skip_dir_mtimes};
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0) {
                manifest_walk(&c, fd, "");
                close(fd);
        }
        for (size_t i = 0; i < c.nseen; i++)
                free(c.seen[i].path);
        free(c.seen);
}

static inline void tree_manifest(mx_buf *out, const char *dir, bool skip_overlay_xattrs)
{
        tree_manifest_ex(out, dir, skip_overlay_xattrs, false);
}

/* First differing line of two manifests into a static buffer, or NULL when equal. */
static inline const char *manifest_diff(const char *a, const char *b)
{
        static char msg[2048];

        while (*a || *b) {
                const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
                size_t la = ea ? (size_t)(ea - a) : strlen(a);
                size_t lb = eb ? (size_t)(eb - b) : strlen(b);
                if (la != lb || memcmp(a, b, la) != 0) {
                        snprintf(msg, sizeof(msg), "\n  < %.*s\n  > %.*s",
                                 (int)(la > 900 ? 900 : la), a, (int)(lb > 900 ? 900 : lb), b);
                        return msg;
                }
                a += la + (ea ? 1 : 0);
                b += lb + (eb ? 1 : 0);
        }
        return NULL;
}

/* Run a shell command quietly; returns its exit status. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
        char cmd[8192];
        va_list ap;
        pid_t pid;
        int status;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        pid = fork();
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
