/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer creation: a reproducible PAX tar of a directory (sorted, clamped mtimes, numeric
 * owners only, hardlinks detected, overlay whiteouts translated), and chain IDs.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "digest.h"
#include "error-internal.h"
#include "layer-internal.h"
#include "parse.h"

int mx_layer_chain_id(char out[MX_LAYER_DIGEST_MAX], const char *parent_chain_id,
                      const char *diff_id, mx_error **err)
{
        char text[2 * MX_LAYER_DIGEST_MAX + 2];

        if (!out || !diff_id || !mx_digest_is_valid(diff_id))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid diffID '%s'",
                                    diff_id ? diff_id : "(null)");
        if (!parent_chain_id) {
                snprintf(out, MX_LAYER_DIGEST_MAX, "%s", diff_id);
                return 0;
        }
        if (!mx_digest_is_valid(parent_chain_id))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid chainID '%s'",
                                    parent_chain_id);
        snprintf(text, sizeof(text), "%s %s", parent_chain_id, diff_id);
        mx_digest_data(MX_DIGEST_SHA256, text, strlen(text), out);
        return 0;
}

struct link_seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct tarw {
        struct archive *a;
        int fd;
        mx_hasher *h;
        uint64_t bytes, entries;
        int64_t clamp; /* -1: none */
        unsigned flags;
        struct link_seen *links;
        size_t nlinks, links_cap;
        unsigned char *buf;
        mx_error *werr;
        int wcode;
};

static la_ssize_t tar_write_cb(struct archive *a, void *userdata, const void *data, size_t len)
{
        struct tarw *t = userdata;
        int r = mx_layer__write_all(t->fd, data, len);

        (void)a;
        if (r < 0) {
                if (!t->werr)
                        t->wcode = mx_error_errno_val(&t->werr, -r, MX_D_IMAGE, "write tar stream");
                return -1;
        }
        mx_hasher_update(t->h, data, len);
        t->bytes += len;
        return (la_ssize_t)len;
}

static int archive_fail(struct tarw *t, const char *what, mx_error **err)
{
        if (t->werr) {
                int code = t->wcode;
                mx_error_move(err, &t->werr);
                return code;
        }
        return mx_error_set(err, MX_EIO, MX_D_IMAGE, 0, "%s: %s", what,
                            archive_error_string(t->a) ? archive_error_string(t->a) : "failed");
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_times(struct tarw *t, struct archive_entry *e, const struct stat *st)
{
        if (t->clamp >= 0 && st->st_mtim.tv_sec >= t->clamp)
                archive_entry_set_mtime(e, (time_t)t->clamp, 0);
        else
                archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

static int add_xattrs(struct tarw *t, struct archive_entry *e, int dirfd, const char *name,
                      bool *opaque, const char *rel, mx_error **err)
{
        char proc[64 + 256];
        char *names = NULL, *sorted_buf[256];
        ssize_t n;
        size_t k = 0;
        int ret = 0;

        *opaque = false;
        if (strlen(name) > 255)
                return 0;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
        n = llistxattr(proc, NULL, 0);
        if (n <= 0)
                return 0;
        names = malloc((size_t)n);
        if (!names)
                return mx_error_oom(err);
        n = llistxattr(proc, names, (size_t)n);
        for (ssize_t off = 0; n > 0 && off < n && k < MX_ARRAY_SIZE(sorted_buf);
             off += (ssize_t)strlen(names + off) + 1)
                sorted_buf[k++] = names + off;
        if (k > 1)
                qsort(sorted_buf, k, sizeof(*sorted_buf), cmp_str);
        for (size_t i = 0; i < k && ret == 0; i++) {
                char small[4096];
                ssize_t vn;

                if (strcmp(sorted_buf[i], "trusted.overlay.opaque") == 0) {
                        vn = lgetxattr(proc, sorted_buf[i], small, sizeof(small));
                        *opaque = vn == 1 && small[0] == 'y';
                        continue;
                }
                if (mx_layer__xattr_is_overlay(sorted_buf[i]) ||
                    (t->flags & MX_LAYER_TAR_NO_XATTRS))
                        continue;
                vn = lgetxattr(proc, sorted_buf[i], small, sizeof(small));
                if (vn < 0) {
                        if (errno == ENODATA || errno == ENOTSUP)
                                continue;
                        ret = mx_error_errno(err, MX_D_IMAGE, "read xattr '%s' of '%s'",
                                             sorted_buf[i], rel);
                        break;
                }
                archive_entry_xattr_add_entry(e, sorted_buf[i], small, (size_t)vn);
        }
        free(names);
        return ret;
}

static int write_header(struct tarw *t, struct archive_entry *e, const char *rel, mx_error **err)
{
        if (archive_write_header(t->a, e) != ARCHIVE_OK)
                return archive_fail(t, rel, err);
        t->entries++;
        return 0;
}

static int write_marker(struct tarw *t, const char *path, const struct stat *st, mx_error **err)
{
        struct archive_entry *e = archive_entry_new();
        int r;

        if (!e)
                return mx_error_oom(err);
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0);
        archive_entry_set_size(e, 0);
        archive_entry_set_uid(e, st->st_uid);
        archive_entry_set_gid(e, st->st_gid);
        set_times(t, e, st);
        r = write_header(t, e, path, err);
        archive_entry_free(e);
        return r;
}

static int copy_data(struct tarw *t, int dirfd, const char *name, const char *rel, off_t size,
                     mx_error **err)
{
        cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        off_t done = 0;

        if (fd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open '%s'", rel);
        while (done < size) {
                size_t want = (size_t)(size - done) < MX_LAYER_IO_CHUNK ? (size_t)(size - done)
                                                                        : MX_LAYER_IO_CHUNK;
                ssize_t n = mx_layer__read_full(fd, t->buf, want);

                if (n < 0)
                        return mx_error_errno_val(err, (int)-n, MX_D_IMAGE, "read '%s'", rel);
                if (n == 0) /* shrank while we read: pad with zeros, as tar does */
                        memset(t->buf, 0, want), n = (ssize_t)want;
                if (archive_write_data(t->a, t->buf, (size_t)n) != n)
                        return archive_fail(t, rel, err);
                done += n;
        }
        return 0;
}

static int walk(struct tarw *t, int dirfd, const char *rel, mx_error **err);

static int one_entry(struct tarw *t, int dirfd, const char *name, const char *rel, mx_error **err)
{
        struct archive_entry *e = NULL;
        cleanup_free char *path = NULL;
        struct stat st;
        bool opaque = false;
        int r = 0;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "stat '%s'", rel);
        if (S_ISSOCK(st.st_mode))
                return 0;
        if ((t->flags & MX_LAYER_TAR_OVERLAY_WHITEOUTS) && mx_layer__is_whiteout(&st)) {
                const char *slash = strrchr(rel, '/');
                if (asprintf(&path, "%.*s.wh.%s", slash ? (int)(slash - rel + 1) : 0, rel, name) <
                    0)
                        return mx_error_oom(err);
                return write_marker(t, path, &st, err);
        }
        if (asprintf(&path, "%s%s", rel, S_ISDIR(st.st_mode) ? "/" : "") < 0)
                return mx_error_oom(err);
        e = archive_entry_new();
        if (!e)
                return mx_error_oom(err);
        archive_entry_set_pathname(e, path);
        archive_entry_set_uid(e, st.st_uid);
        archive_entry_set_gid(e, st.st_gid);
        archive_entry_set_perm(e, st.st_mode & 07777);
        set_times(t, e, &st);
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < t->nlinks; i++) {
                        if (t->links[i].ino == st.st_ino && t->links[i].dev == st.st_dev) {
                                archive_entry_set_filetype(e, AE_IFREG);
                                archive_entry_set_hardlink(e, t->links[i].path);
                                archive_entry_set_size(e, 0);
                                r = write_header(t, e, rel, err);
                                archive_entry_free(e);
                                return r;
                        }
                }
                if (t->nlinks == t->links_cap) {
                        size_t ncap = t->links_cap ? t->links_cap * 2 : 64;
                        struct link_seen *n = realloc(t->links, ncap * sizeof(*n));
                        if (!n) {
                                archive_entry_free(e);
                                return mx_error_oom(err);
                        }
                        t->links = n;
                        t->links_cap = ncap;
                }
                t->links[t->nlinks].dev = st.st_dev;
                t->links[t->nlinks].ino = st.st_ino;
                t->links[t->nlinks].path = strdup(rel);
                if (!t->links[t->nlinks].path) {
                        archive_entry_free(e);
                        return mx_error_oom(err);
                }
                t->nlinks++;
        }
        r = add_xattrs(t, e, dirfd, name, &opaque, rel, err);
        if (r < 0) {
                archive_entry_free(e);
                return r;
        }
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                archive_entry_set_filetype(e, AE_IFDIR);
                break;
        case S_IFREG:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_size(e, st.st_size);
                break;
        case S_IFLNK: {
                char target[4096];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        archive_entry_free(e);
                        return mx_error_errno(err, MX_D_IMAGE, "read link '%s'", rel);
                }
                target[n] = '\0';
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_symlink(e, target);
                break;
        }
        case S_IFCHR:
        case S_IFBLK:
                archive_entry_set_filetype(e, S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
                archive_entry_set_rdev(e, st.st_rdev);
                break;
        case S_IFIFO:
                archive_entry_set_filetype(e, AE_IFIFO);
                break;
        default:
                archive_entry_free(e);
                return 0;
        }
        r = write_header(t, e, rel, err);
        archive_entry_free(e);
        if (r < 0)
                return r;
        if (S_ISREG(st.st_mode) && st.st_size > 0)
                return copy_data(t, dirfd, name, rel, st.st_size, err);
        if (S_ISDIR(st.st_mode)) {
                cleanup_close int sub = -1;
                if (opaque && (t->flags & MX_LAYER_TAR_OVERLAY_WHITEOUTS)) {
                        cleanup_free char *marker = NULL;
                        if (asprintf(&marker, "%s/.wh..wh..opq", rel) < 0)
                                return mx_error_oom(err);
                        r = write_marker(t, marker, &st, err);
                        if (r < 0)
                                return r;
                }
                sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "open directory '%s'", rel);
                return walk(t, sub, rel, err);
        }
        return 0;
}

static int walk(struct tarw *t, int dirfd, const char *rel, mx_error **err)
{
        int dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (dfd >= 0)
                        close(dfd);
                return mx_error_errno(err, MX_D_IMAGE, "read directory '%s'", *rel ? rel : ".");
        }
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 32;
                        char **nn = realloc(names, ncap * sizeof(*nn));
                        if (!nn) {
                                r = mx_error_oom(err);
                                break;
                        }
                        names = nn;
                        cap = ncap;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = mx_error_oom(err);
                        break;
                }
                n++;
        }
        closedir(d);
        if (r == 0 && n > 1)
                qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++) {
                if (r == 0) {
                        cleanup_free char *child = NULL;
                        if (asprintf(&child, "%s%s%s", rel, *rel ? "/" : "", names[i]) < 0)
                                r = mx_error_oom(err);
                        else
                                r = one_entry(t, dirfd, names[i], child, err);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int mx_layer_tar_dir(const char *dir, int out_fd, const mx_layer_tar_opts *opts, mx_layer_info *out,
                     mx_error **err)
{
        static const mx_layer_tar_opts defaults = MX_LAYER_TAR_OPTS_INIT;
        cleanup(mx_hasher_freep) mx_hasher *h = NULL;
        cleanup_close int dirfd = -1;
        struct tarw t = {.fd = out_fd};
        int ret;

        if (!opts)
                opts = &defaults;
        if (!dir || out_fd < 0 || opts->version != MX_LAYER_TAR_OPTS_VERSION)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "tar directory: bad arguments");
        t.flags = opts->flags;
        t.clamp = opts->clamp_mtime;
        if (t.clamp < 0) {
                const char *sde = getenv("SOURCE_DATE_EPOCH");
                uint64_t v;
                t.clamp = -1;
                if (sde && *sde) {
                        if (mx_parse_u64(sde, &v) < 0 || v > INT64_MAX)
                                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                                    "invalid SOURCE_DATE_EPOCH '%s'", sde);
                        t.clamp = (int64_t)v;
                }
        }
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open directory '%s'", dir);
        ret = mx_hasher_new(&h, MX_DIGEST_SHA256, err);
        if (ret < 0)
                return ret;
        t.h = h;
        t.buf = malloc(MX_LAYER_IO_CHUNK);
        t.a = archive_write_new();
        if (!t.buf || !t.a) {
                free(t.buf);
                if (t.a)
                        archive_write_free(t.a);
                return mx_error_oom(err);
        }
        /* Full PAX keeps sub-second mtimes; xattrs only as SCHILY.xattr.*, which Go's
         * archive/tar (Docker, containerd, umoci) reads. */
        archive_write_set_format_pax(t.a);
        (void)archive_write_set_format_option(t.a, "pax", "xattrheader", "SCHILY");
        if (archive_write_open(t.a, &t, NULL, tar_write_cb, NULL) != ARCHIVE_OK)
                ret = archive_fail(&t, "start tar stream", err);
        if (ret >= 0)
                ret = walk(&t, dirfd, "", err);
        if (ret >= 0 && archive_write_close(t.a) != ARCHIVE_OK)
                ret = archive_fail(&t, "finish tar stream", err);
        archive_write_free(t.a);
        free(t.buf);
        for (size_t i = 0; i < t.nlinks; i++)
                free(t.links[i].path);
        free(t.links);
        mx_error_free(t.werr);
        if (ret < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "tar directory '%s'", dir);
        if (out) {
                memset(out, 0, sizeof(*out));
                mx_hasher_final(h, out->diff_id);
                memcpy(out->digest, out->diff_id, sizeof(out->digest));
                out->compression = MX_COMPRESSION_NONE;
                out->compressed_size = out->uncompressed_size = t.bytes;
                out->entries = t.entries;
        }
        return 0;
}
