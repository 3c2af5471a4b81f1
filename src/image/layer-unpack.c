/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unpacking one layer blob in one pass: read -> hash (digest) -> decompress -> hash
 * (diffID) -> libarchive's tar reader -> entries written with *at() calls under the
 * target's fd, never following a symlink in a parent component.
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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#if MX_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include <myrmex/layer.h>

#include "digest.h"
#include "error-internal.h"
#include "layer-internal.h"

/* ---- the decompressing reader -------------------------------------------------------- */

struct reader {
        int fd;
        mx_compression comp;
        unsigned char *in;
        size_t in_len, in_pos; /* valid bytes in `in`, and how many were consumed */
        bool in_eof;
        unsigned char *out;
        z_stream z;
        bool z_init;
        bool z_boundary; /* between gzip members: only a new member or EOF may follow */
#if MX_HAVE_ISAL
        struct inflate_state *isal;
#endif
        ZSTD_DCtx *zd;
        size_t zret; /* last ZSTD_decompressStream hint: 0 = frame complete */
        bool done;
        mx_hasher *blob_h, *diff_h;
        uint64_t csize, usize, max_usize;
        uint64_t progress_next;
        const mx_layer_unpack_opts *opts;
        mx_error *err; /* set when a read fails, reported instead of libarchive's text */
        int code;
};

static int reader_fail(struct reader *r, int code, const char *msg)
{
        if (!r->err)
                r->code = mx_error_set(&r->err, code, MX_D_IMAGE, 0, "%s", msg);
        return -1;
}

static void progress(struct reader *r, mx_progress_state state)
{
        mx_progress_event ev = {
                .state = state,
                .action = "unpack",
                .id = r->opts->progress_id ? r->opts->progress_id : "",
                .current = r->csize,
        };

        if (r->opts->progress)
                r->opts->progress(&ev, r->opts->progress_userdata);
}

/* Refill the compressed input; returns bytes now available, 0 at EOF, -1 on error. */
static ssize_t fill(struct reader *r)
{
        ssize_t n;

        if (r->in_pos < r->in_len)
                return (ssize_t)(r->in_len - r->in_pos);
        if (r->in_eof)
                return 0;
        n = mx_layer__read_full(r->fd, r->in, MX_LAYER_IO_CHUNK);
        if (n < 0) {
                if (!r->err)
                        r->code =
                                mx_error_errno_val(&r->err, (int)-n, MX_D_IMAGE, "read layer blob");
                return -1;
        }
        if ((size_t)n < MX_LAYER_IO_CHUNK)
                r->in_eof = true;
        r->in_len = (size_t)n;
        r->in_pos = 0;
        r->csize += (uint64_t)n;
        mx_hasher_update(r->blob_h, r->in, (size_t)n);
        if (r->opts->progress && r->csize >= r->progress_next) {
                progress(r, MX_PROGRESS_UPDATE);
                r->progress_next = r->csize + ((uint64_t)4 << 20);
        }
        return n;
}

static ssize_t emit(struct reader *r, size_t n)
{
        r->usize += n;
        if (r->max_usize && r->usize > r->max_usize) {
                if (!r->err)
                        r->code = mx_error_set(&r->err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                               "uncompressed layer larger than %llu bytes",
                                               (unsigned long long)r->max_usize);
                return -1;
        }
        return (ssize_t)n;
}

static ssize_t next_gzip(struct reader *r, const void **buf)
{
        for (;;) {
                ssize_t avail = fill(r);
                size_t before_in;
                int zr;

                if (avail < 0)
                        return -1;
                if (avail == 0) {
                        if (r->z_boundary) {
                                r->done = true;
                                return 0;
                        }
                        return reader_fail(r, MX_EFORMAT, "truncated gzip stream");
                }
                r->z.next_in = r->in + r->in_pos;
                r->z.avail_in = (uInt)avail;
                r->z.next_out = r->out;
                r->z.avail_out = (uInt)MX_LAYER_IO_CHUNK;
                before_in = r->z.avail_in;
                zr = inflate(&r->z, Z_NO_FLUSH);
                r->in_pos += before_in - r->z.avail_in;
                if (zr == Z_STREAM_END) {
                        /* Another member may follow (pigz-style streams): only that or EOF. */
                        if (inflateReset(&r->z) != Z_OK)
                                return reader_fail(r, MX_EFORMAT, "corrupt gzip stream");
                        r->z_boundary = true;
                } else if (zr == Z_OK || zr == Z_BUF_ERROR) {
                        if (r->z.avail_out < MX_LAYER_IO_CHUNK || before_in != r->z.avail_in)
                                r->z_boundary = false;
                } else if (r->z_boundary) {
                        return reader_fail(r, MX_EFORMAT, "garbage after the gzip stream");
                } else {
                        char msg[160];
                        snprintf(msg, sizeof(msg), "corrupt gzip stream: %s",
                                 r->z.msg ? r->z.msg : "inflate failed");
                        return reader_fail(r, MX_EFORMAT, msg);
                }
                if (r->z.avail_out < MX_LAYER_IO_CHUNK) {
                        size_t n = MX_LAYER_IO_CHUNK - r->z.avail_out;
                        mx_hasher_update(r->diff_h, r->out, n);
                        *buf = r->out;
                        return emit(r, n);
                }
        }
}

#if MX_HAVE_ISAL
/* Move unconsumed input to the front and read more after it: for a decoder that wants more
 * bytes than it was given before it makes progress. Returns 0 at EOF, -1 on error. */
static ssize_t fill_more(struct reader *r)
{
        size_t rem = r->in_len - r->in_pos;
        ssize_t n;

        if (r->in_eof)
                return 0;
        memmove(r->in, r->in + r->in_pos, rem);
        r->in_len = rem;
        r->in_pos = 0;
        n = mx_layer__read_full(r->fd, r->in + rem, MX_LAYER_IO_CHUNK - rem);
        if (n < 0) {
                if (!r->err)
                        r->code =
                                mx_error_errno_val(&r->err, (int)-n, MX_D_IMAGE, "read layer blob");
                return -1;
        }
        if ((size_t)n < MX_LAYER_IO_CHUNK - rem)
                r->in_eof = true;
        mx_hasher_update(r->blob_h, r->in + rem, (size_t)n);
        r->csize += (uint64_t)n;
        r->in_len += (size_t)n;
        return n;
}

/* ISA-L's igzip: the same contract as next_gzip, about twice as fast. */
static ssize_t next_gzip_isal(struct reader *r, const void **buf)
{
        struct inflate_state *st = r->isal;

        for (;;) {
                ssize_t avail = fill(r);
                size_t consumed, produced;
                int ir;

                if (avail < 0)
                        return -1;
                if (avail == 0 && r->z_boundary) {
                        r->done = true;
                        return 0;
                }
                st->next_in = r->in + r->in_pos;
                st->avail_in = (uint32_t)avail;
                st->next_out = r->out;
                st->avail_out = (uint32_t)MX_LAYER_IO_CHUNK;
                ir = isal_inflate(st);
                consumed = (size_t)avail - st->avail_in;
                produced = MX_LAYER_IO_CHUNK - st->avail_out;
                r->in_pos += consumed;
                if (ir < 0 || ir == ISAL_NEED_DICT) {
                        if (r->z_boundary)
                                return reader_fail(r, MX_EFORMAT, "garbage after the gzip stream");
                        return reader_fail(r, MX_EFORMAT, "corrupt gzip stream");
                }
                if (st->block_state == ISAL_BLOCK_FINISH) {
                        /* Another member may follow (pigz-style streams): only that or EOF. */
                        isal_inflate_reset(st);
                        st->crc_flag = ISAL_GZIP;
                        r->z_boundary = true;
                } else if (produced || consumed) {
                        r->z_boundary = false;
                }
                if (produced) {
                        mx_hasher_update(r->diff_h, r->out, produced);
                        *buf = r->out;
                        return emit(r, produced);
                }
                if (consumed == 0 && !r->z_boundary) {
                        /* No progress: the decoder needs more input than is buffered. */
                        ssize_t more = fill_more(r);
                        if (more < 0)
                                return -1;
                        if (more == 0 && avail == 0)
                                return reader_fail(r, MX_EFORMAT, "truncated gzip stream");
                        if (more == 0 && r->in_pos == r->in_len)
                                return reader_fail(r, MX_EFORMAT, "truncated gzip stream");
                }
        }
}
#endif

static ssize_t next_zstd(struct reader *r, const void **buf)
{
        for (;;) {
                ssize_t avail = fill(r);
                ZSTD_inBuffer zin;
                ZSTD_outBuffer zout = {r->out, MX_LAYER_IO_CHUNK, 0};

                if (avail < 0)
                        return -1;
                if (avail == 0) {
                        if (r->zret == 0) {
                                r->done = true;
                                return 0;
                        }
                        return reader_fail(r, MX_EFORMAT, "truncated zstd stream");
                }
                zin.src = r->in + r->in_pos;
                zin.size = (size_t)avail;
                zin.pos = 0;
                r->zret = ZSTD_decompressStream(r->zd, &zout, &zin);
                r->in_pos += zin.pos;
                if (ZSTD_isError(r->zret)) {
                        char msg[160];
                        snprintf(msg, sizeof(msg), "corrupt zstd stream: %s",
                                 ZSTD_getErrorName(r->zret));
                        return reader_fail(r, MX_EFORMAT, msg);
                }
                if (zout.pos > 0) {
                        mx_hasher_update(r->diff_h, r->out, zout.pos);
                        *buf = r->out;
                        return emit(r, zout.pos);
                }
        }
}

static ssize_t next_plain(struct reader *r, const void **buf)
{
        ssize_t n = fill(r);

        if (n <= 0) {
                if (n == 0)
                        r->done = true;
                return n;
        }
        mx_hasher_update(r->diff_h, r->in + r->in_pos, (size_t)n);
        *buf = r->in + r->in_pos;
        r->in_pos = r->in_len;
        return emit(r, (size_t)n);
}

static ssize_t next_chunk(struct reader *r, const void **buf)
{
        if (r->done)
                return 0;
        switch (r->comp) {
        case MX_COMPRESSION_GZIP:
#if MX_HAVE_ISAL
                if (r->isal)
                        return next_gzip_isal(r, buf);
#endif
                return next_gzip(r, buf);
        case MX_COMPRESSION_ZSTD:
                return next_zstd(r, buf);
        default:
                return next_plain(r, buf);
        }
}

static la_ssize_t read_cb(struct archive *a, void *userdata, const void **buf)
{
        (void)a;
        return next_chunk(userdata, buf);
}

static int reader_init(struct reader *r, int fd, const mx_layer_unpack_opts *opts,
                       mx_digest_algo blob_algo, mx_digest_algo diff_algo, mx_error **err)
{
        ssize_t n;
        int ret;

        r->fd = fd;
        r->opts = opts;
        r->max_usize = opts->max_uncompressed;
        r->zret = 0;
        r->z_boundary = true;
        r->in = malloc(MX_LAYER_IO_CHUNK);
        r->out = malloc(MX_LAYER_IO_CHUNK);
        if (!r->in || !r->out)
                return mx_error_oom(err);
        ret = mx_hasher_new(&r->blob_h, blob_algo, err);
        if (ret < 0)
                return ret;
        ret = mx_hasher_new(&r->diff_h, diff_algo, err);
        if (ret < 0)
                return ret;
        n = fill(r);
        if (n < 0) {
                mx_error_move(err, &r->err);
                return r->code;
        }
        r->comp = opts->compression;
        if (r->comp == MX_COMPRESSION_AUTO)
                r->comp = mx_compression_detect(r->in, r->in_len);
        if (r->comp == MX_COMPRESSION_GZIP) {
#if MX_HAVE_ISAL
                const char *force_zlib = getenv("MYRMEX_LAYER_ZLIB"); /* keeps zlib tested */
                if (!force_zlib || !*force_zlib) {
                        r->isal = calloc(1, sizeof(*r->isal));
                        if (!r->isal)
                                return mx_error_oom(err);
                        isal_inflate_init(r->isal);
                        r->isal->crc_flag = ISAL_GZIP;
                }
#endif
                if (inflateInit2(&r->z, 15 + 16) != Z_OK)
                        return mx_error_oom(err);
                r->z_init = true;
                /* An empty blob is not a gzip stream. */
                r->z_boundary = n > 0;
        } else if (r->comp == MX_COMPRESSION_ZSTD) {
                r->zd = ZSTD_createDCtx();
                if (!r->zd)
                        return mx_error_oom(err);
                /* Bound the window a hostile frame may ask for (zstd's default: 128 MiB). */
                (void)ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax, 27);
                r->zret = n > 0 ? 0 : 1;
        } else if (r->comp != MX_COMPRESSION_NONE) {
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "unknown compression %d",
                                    (int)r->comp);
        }
        return 0;
}

static void reader_clear(struct reader *r)
{
        if (r->z_init)
                inflateEnd(&r->z);
#if MX_HAVE_ISAL
        free(r->isal);
#endif
        ZSTD_freeDCtx(r->zd);
        free(r->in);
        free(r->out);
        mx_hasher_free(r->blob_h);
        mx_hasher_free(r->diff_h);
        mx_error_free(r->err);
}

/* ---- the set of paths this layer wrote (APPLY mode's opaque directories) ------------- */

struct pathset {
        char **slots;
        size_t cap, len;
};

static uint64_t hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ull;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

static bool pathset_has(const struct pathset *ps, const char *s)
{
        if (!ps->cap)
                return false;
        for (size_t i = hash_str(s) & (ps->cap - 1);; i = (i + 1) & (ps->cap - 1)) {
                if (!ps->slots[i])
                        return false;
                if (strcmp(ps->slots[i], s) == 0)
                        return true;
        }
}

static int pathset_add_len(struct pathset *ps, const char *s, size_t n)
{
        char *copy;

        if ((ps->len + 1) * 2 > ps->cap) {
                size_t ncap = ps->cap ? ps->cap * 2 : 1024;
                char **nslots = calloc(ncap, sizeof(*nslots));
                if (!nslots)
                        return -ENOMEM;
                for (size_t i = 0; i < ps->cap; i++) {
                        if (!ps->slots[i])
                                continue;
                        size_t j = hash_str(ps->slots[i]) & (ncap - 1);
                        while (nslots[j])
                                j = (j + 1) & (ncap - 1);
                        nslots[j] = ps->slots[i];
                }
                free(ps->slots);
                ps->slots = nslots;
                ps->cap = ncap;
        }
        copy = strndup(s, n);
        if (!copy)
                return -ENOMEM;
        if (pathset_has(ps, copy)) {
                free(copy);
                return 1;
        }
        size_t i = hash_str(copy) & (ps->cap - 1);
        while (ps->slots[i])
                i = (i + 1) & (ps->cap - 1);
        ps->slots[i] = copy;
        ps->len++;
        return 0;
}

/* Add path and all its ancestors (stopping at the first ancestor already present). */
static int pathset_add(struct pathset *ps, const char *path)
{
        size_t n = strlen(path);

        while (n > 0) {
                int r = pathset_add_len(ps, path, n);
                if (r < 0)
                        return r;
                if (r == 1)
                        return 0;
                while (n > 0 && path[n - 1] != '/')
                        n--;
                if (n > 0)
                        n--;
        }
        return 0;
}

static void pathset_clear(struct pathset *ps)
{
        for (size_t i = 0; i < ps->cap; i++)
                free(ps->slots[i]);
        free(ps->slots);
}

/* ---- writing entries --------------------------------------------------------------------- */

struct dir_meta {
        char *path;
        mode_t mode;
        struct timespec ts[2];
};

struct unpack {
        const mx_layer_unpack_opts *opts;
        int rootfd;
        char *cache_path; /* parent directory of the last entry, and its O_PATH fd */
        int cache_fd;
        struct dir_meta *dirs;
        size_t ndirs, dirs_cap;
        struct pathset written; /* APPLY mode only */
        struct pathset remembered;
        int *lower_fds; /* OVERLAY mode: the layers below, top first (opts->lower_dirs) */
        size_t n_lower;
        struct dir_meta *saved; /* APPLY mode: directory times before this layer */
        size_t nsaved, saved_cap;
        uint64_t entries;
        bool data_failed;
};

static void cache_drop(struct unpack *u)
{
        free(u->cache_path);
        u->cache_path = NULL;
        if (u->cache_fd >= 0)
                close(u->cache_fd);
        u->cache_fd = -1;
}

/* APPLY mode: the times of each existing directory this layer touches, taken before the
 * first change, so a directory that is not itself an entry of this layer keeps the times the
 * lower layers gave it (as umoci does) instead of "now". */
static int remember_dir(struct unpack *u, const char *path, int fd)
{
        struct stat st;
        struct dir_meta *d;
        int r;

        if (u->opts->whiteouts != MX_WHITEOUT_APPLY)
                return 0;
        if (pathset_has(&u->remembered, path))
                return 0;
        if (fstat(fd, &st) < 0)
                return 0;
        r = pathset_add_len(&u->remembered, path, strlen(path));
        if (r < 0)
                return r;
        if (u->nsaved == u->saved_cap) {
                size_t ncap = u->saved_cap ? u->saved_cap * 2 : 64;
                struct dir_meta *n = realloc(u->saved, ncap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                u->saved = n;
                u->saved_cap = ncap;
        }
        d = &u->saved[u->nsaved];
        d->path = strdup(path);
        if (!d->path)
                return -ENOMEM;
        d->mode = st.st_mode;
        d->ts[0] = st.st_atim;
        d->ts[1] = st.st_mtim;
        u->nsaved++;
        return 0;
}

static int defer_meta(struct unpack *u, const char *path, mode_t mode, const struct timespec ts[2],
                      mx_error **err);

static int copy_dir_xattrs(int from, int to, const char *path, mx_error **err)
{
        char names[8192], val[8192];
        ssize_t n = flistxattr(from, names, sizeof(names));

        for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
                const char *x = names + off;
                ssize_t vn;

                if (mx_layer__xattr_is_overlay(x))
                        continue;
                vn = fgetxattr(from, x, val, sizeof(val));
                if (vn >= 0 && fsetxattr(to, x, val, (size_t)vn, 0) < 0 && errno != ENOTSUP)
                        return mx_error_errno(err, MX_D_IMAGE, "directory '%s': set xattr '%s'",
                                              path, x);
        }
        return 0;
}

/* A directory the tar omits but needs, just made at (pfd, name): in OVERLAY mode with the
 * layers below known, it takes the owner, mode, times and xattrs of the directory the stack
 * below shows there (what an overlay mount showed before this layer), so a layer adding
 * tmp/x without tmp/ does not turn a 1777 /tmp into 0755. Otherwise 0755 and now. */
static int implicit_dir_meta(struct unpack *u, int pfd, const char *name, const char *path,
                             mx_error **err)
{
        for (size_t i = 0; i < u->n_lower; i++) {
                mx_error *local = NULL;
                cleanup_close int lower = -1;
                cleanup_close int made = -1;
                struct stat st;
                struct timespec ts[2];
                int r;

                lower = mx_layer__open_dir_beneath(u->lower_fds[i], path, O_RDONLY, false, path,
                                                   &local);
                mx_error_free(local);
                if (lower == MX_ENOTFOUND)
                        continue; /* not in this layer: look further down */
                if (lower < 0)
                        break; /* a file, whiteout or link hides what is below */
                if (fstat(lower, &st) < 0)
                        break;
                made = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (made < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "directory '%s': open", path);
                if (!(u->opts->flags & MX_LAYER_NO_CHOWN) && fchown(made, st.st_uid, st.st_gid) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "directory '%s': chown", path);
                if (!(u->opts->flags & MX_LAYER_NO_XATTRS)) {
                        r = copy_dir_xattrs(lower, made, path, err);
                        if (r < 0)
                                return r;
                }
                ts[0] = st.st_atim;
                ts[1] = st.st_mtim;
                return defer_meta(u, path, st.st_mode & 07777, ts, err);
        }
        if (fchmodat(pfd, name, 0755, 0) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "directory '%s': chmod", path);
        return 0;
}

/* Open the directory at path under the target, creating what is missing (see
 * implicit_dir_meta). Returns a new fd. */
static int open_or_create_dir(struct unpack *u, const char *path, int oflags, const char *what,
                              mx_error **err)
{
        mx_error *local = NULL;
        size_t len = strlen(path);
        int fd;

        fd = mx_layer__open_dir_beneath(u->rootfd, path, oflags, false, what, &local);
        if (fd != MX_ENOTFOUND) {
                if (fd < 0)
                        mx_error_move(err, &local);
                return fd;
        }
        mx_error_free(local);
        /* Shortest missing prefix first; rare (tars list parents), so simple. */
        for (size_t end = 1; end <= len; end++) {
                cleanup_free char *prefix = NULL;
                cleanup_free char *parent = NULL;
                cleanup_close int pfd = -1;
                const char *slash, *name;
                int r;

                if (end < len && path[end] != '/')
                        continue;
                prefix = strndup(path, end);
                if (!prefix)
                        return mx_error_oom(err);
                local = NULL;
                fd = mx_layer__open_dir_beneath(u->rootfd, prefix, O_PATH, false, what, &local);
                if (fd >= 0) {
                        close(fd);
                        continue;
                }
                if (fd != MX_ENOTFOUND) {
                        mx_error_move(err, &local);
                        return fd;
                }
                mx_error_free(local);
                slash = strrchr(prefix, '/');
                name = slash ? slash + 1 : prefix;
                parent = strndup(prefix, slash ? (size_t)(slash - prefix) : 0);
                if (!parent)
                        return mx_error_oom(err);
                pfd = mx_layer__open_dir_beneath(u->rootfd, parent, O_PATH, false, what, err);
                if (pfd < 0)
                        return pfd;
                if (mkdirat(pfd, name, 0755) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': create directory '%s'",
                                              what, prefix);
                if (u->opts->whiteouts == MX_WHITEOUT_APPLY && pathset_add(&u->written, prefix) < 0)
                        return mx_error_oom(err);
                r = implicit_dir_meta(u, pfd, name, prefix, err);
                if (r < 0)
                        return r;
        }
        return mx_layer__open_dir_beneath(u->rootfd, path, oflags, false, what, err);
}

/* The directory containing `path`; returns an fd owned by u (do not close). */
static int parent_fd(struct unpack *u, const char *path, const char **base, mx_error **err)
{
        const char *slash = strrchr(path, '/');
        size_t plen = slash ? (size_t)(slash - path) : 0;
        char *ppath;
        int fd;

        *base = slash ? slash + 1 : path;
        if (!slash)
                return u->rootfd;
        if (u->cache_path && strlen(u->cache_path) == plen &&
            memcmp(u->cache_path, path, plen) == 0)
                return u->cache_fd;
        ppath = strndup(path, plen);
        if (!ppath)
                return mx_error_oom(err);
        fd = open_or_create_dir(u, ppath, O_PATH, path, err);
        if (fd < 0) {
                free(ppath);
                return fd;
        }
        cache_drop(u);
        u->cache_path = ppath;
        u->cache_fd = fd;
        if (remember_dir(u, ppath, fd) < 0)
                return mx_error_oom(err);
        return fd;
}

/* Make room for a new entry at (pfd, base): returns 1 if an existing directory stays
 * (want_dir), 0 when the name is free. */
static int clear_slot(struct unpack *u, int pfd, const char *base, bool want_dir, const char *path,
                      mx_error **err)
{
        struct stat st;

        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': stat", path);
        }
        if (S_ISDIR(st.st_mode)) {
                int r;
                if (want_dir)
                        return 1;
                /* The cached parent may live below what goes away. */
                cache_drop(u);
                r = mx_layer__rm_at(pfd, base, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "entry '%s': replace directory",
                                             path);
                return 0;
        }
        if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': replace", path);
        return 0;
}

static int set_xattrs(struct unpack *u, struct archive_entry *e, int fd, int pfd, const char *base,
                      const char *path, mx_error **err)
{
        const char *name;
        const void *value;
        size_t size;

        if (u->opts->flags & MX_LAYER_NO_XATTRS)
                return 0;
        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                int r;

                if (!name || mx_layer__xattr_is_overlay(name))
                        continue;
                if (fd >= 0) {
                        r = fsetxattr(fd, name, value, size, 0);
                } else {
                        char p[64 + 256];
                        snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", pfd, base);
                        r = lsetxattr(p, name, value, size, 0);
                }
                if (r < 0 && errno != ENOTSUP)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': set xattr '%s'", path,
                                              name);
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (archive_entry_atime_is_set(e)) {
                ts[0].tv_sec = archive_entry_atime(e);
                ts[0].tv_nsec = archive_entry_atime_nsec(e);
        } else {
                ts[0] = ts[1];
        }
        if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999)
                ts[0].tv_nsec = 0;
        if (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999)
                ts[1].tv_nsec = 0;
}

static int chown_at(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
                    const char *path, mx_error **err)
{
        if (u->opts->flags & MX_LAYER_NO_CHOWN)
                return 0;
        if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                     AT_SYMLINK_NOFOLLOW | (base[0] ? 0 : AT_EMPTY_PATH)) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': chown", path);
        return 0;
}

static int defer_meta(struct unpack *u, const char *path, mode_t mode, const struct timespec ts[2],
                      mx_error **err)
{
        struct dir_meta *d;

        if (u->ndirs == u->dirs_cap) {
                size_t ncap = u->dirs_cap ? u->dirs_cap * 2 : 256;
                struct dir_meta *n = realloc(u->dirs, ncap * sizeof(*n));
                if (!n)
                        return mx_error_oom(err);
                u->dirs = n;
                u->dirs_cap = ncap;
        }
        d = &u->dirs[u->ndirs];
        d->path = strdup(path);
        if (!d->path)
                return mx_error_oom(err);
        d->mode = mode;
        d->ts[0] = ts[0];
        d->ts[1] = ts[1];
        u->ndirs++;
        return 0;
}

static int defer_dir(struct unpack *u, const char *path, struct archive_entry *e, mx_error **err)
{
        struct timespec ts[2];

        entry_times(e, ts);
        return defer_meta(u, path, archive_entry_perm(e), ts, err);
}

static int write_dir(struct unpack *u, struct archive_entry *e, const char *path, mx_error **err)
{
        const char *base;
        int pfd, r;

        if (path[0] == '\0') {
                /* The root entry ("./"): its metadata goes on the target itself. */
                r = chown_at(u, e, u->rootfd, "", "./", err);
                if (r < 0)
                        return r;
                r = set_xattrs(u, e, u->rootfd, -1, NULL, "./", err);
                if (r < 0)
                        return r;
                return defer_dir(u, "", e, err);
        }
        pfd = parent_fd(u, path, &base, err);
        if (pfd < 0)
                return pfd;
        if (mkdirat(pfd, base, 0700) < 0) {
                if (errno != EEXIST)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': mkdir", path);
                r = clear_slot(u, pfd, base, true, path, err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        pfd = parent_fd(u, path, &base, err);
                        if (pfd < 0)
                                return pfd;
                        if (mkdirat(pfd, base, 0700) < 0)
                                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': mkdir", path);
                }
        }
        r = chown_at(u, e, pfd, base, path, err);
        if (r < 0)
                return r;
        if (!(u->opts->flags & MX_LAYER_NO_XATTRS) && archive_entry_xattr_count(e) > 0) {
                int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': open", path);
                r = set_xattrs(u, e, fd, -1, NULL, path, err);
                close(fd);
                if (r < 0)
                        return r;
        }
        return defer_dir(u, path, e, err);
}

static int write_file(struct unpack *u, struct archive *a, struct archive_entry *e,
                      const char *path, mx_error **err)
{
        const char *base;
        cleanup_close int fd = -1;
        struct timespec ts[2];
        off_t end = 0;
        int pfd, r;

        pfd = parent_fd(u, path, &base, err);
        if (pfd < 0)
                return pfd;
        fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
                r = clear_slot(u, pfd, base, false, path, err);
                if (r < 0)
                        return r;
                pfd = parent_fd(u, path, &base, err);
                if (pfd < 0)
                        return pfd;
                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        }
        if (fd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': create", path);
        for (;;) {
                const void *block;
                size_t size;
                la_int64_t offset;

                r = archive_read_data_block(a, &block, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        u->data_failed = true; /* the caller reports the reader's error */
                        return MX_EFORMAT;
                }
                if (size == 0)
                        continue;
                r = mx_layer__pwrite_all(fd, block, size, (off_t)offset);
                if (r < 0)
                        return mx_error_errno_val(err, -r, MX_D_IMAGE, "entry '%s': write", path);
                if ((off_t)offset + (off_t)size > end)
                        end = (off_t)offset + (off_t)size;
        }
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > end &&
            ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': extend", path);
        if (!(u->opts->flags & MX_LAYER_NO_CHOWN) &&
            fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': chown", path);
        /* After chown, which clears setuid/setgid bits. */
        if (fchmod(fd, archive_entry_perm(e)) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': chmod", path);
        r = set_xattrs(u, e, fd, -1, NULL, path, err);
        if (r < 0)
                return r;
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': set times", path);
        return 0;
}

static int finish_at(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
                     const char *path, bool chmod_it, mx_error **err)
{
        struct timespec ts[2];
        int r;

        r = chown_at(u, e, pfd, base, path, err);
        if (r < 0)
                return r;
        if (chmod_it && fchmodat(pfd, base, archive_entry_perm(e), 0) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': chmod", path);
        r = set_xattrs(u, e, -1, pfd, base, path, err);
        if (r < 0)
                return r;
        entry_times(e, ts);
        if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "entry '%s': set times", path);
        return 0;
}

static int write_symlink(struct unpack *u, struct archive_entry *e, const char *path,
                         mx_error **err)
{
        const char *target = archive_entry_symlink(e);
        const char *base;
        int pfd, r;

        if (!target)
                target = archive_entry_symlink_utf8(e);
        if (!target || !*target)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "entry '%s': symbolic link without a target", path);
        pfd = parent_fd(u, path, &base, err);
        if (pfd < 0)
                return pfd;
        if (symlinkat(target, pfd, base) < 0) {
                if (errno != EEXIST)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': symlink", path);
                r = clear_slot(u, pfd, base, false, path, err);
                if (r < 0)
                        return r;
                pfd = parent_fd(u, path, &base, err);
                if (pfd < 0)
                        return pfd;
                if (symlinkat(target, pfd, base) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': symlink", path);
        }
        return finish_at(u, e, pfd, base, path, false, err);
}

static int write_node(struct unpack *u, struct archive_entry *e, const char *path, mode_t type,
                      mx_error **err)
{
        dev_t dev = type == S_IFIFO
                            ? 0
                            : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        const char *base;
        int pfd, r;

        if (type != S_IFIFO && (u->opts->flags & MX_LAYER_NO_DEVICES))
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing entry '%s': device nodes are not allowed", path);
        pfd = parent_fd(u, path, &base, err);
        if (pfd < 0)
                return pfd;
        if (mknodat(pfd, base, type | 0600, dev) < 0) {
                if (errno != EEXIST)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': mknod", path);
                r = clear_slot(u, pfd, base, false, path, err);
                if (r < 0)
                        return r;
                pfd = parent_fd(u, path, &base, err);
                if (pfd < 0)
                        return pfd;
                if (mknodat(pfd, base, type | 0600, dev) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "entry '%s': mknod", path);
        }
        return finish_at(u, e, pfd, base, path, true, err);
}

static int write_hardlink(struct unpack *u, const char *path, const char *link, mx_error **err)
{
        cleanup_free char *target = NULL;
        cleanup_free char *tdir = NULL;
        cleanup_close int tfd = -1;
        const char *tbase, *slash, *base;
        struct stat st, cur;
        bool unsafe;
        int pfd, r;

        target = mx_layer__clean_name(link, &unsafe);
        if (!target) {
                if (!unsafe)
                        return mx_error_oom(err);
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing hardlink '%s': its target '%s' leaves the target "
                                    "directory",
                                    path, link);
        }
        if (!*target)
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing hardlink '%s' to the root directory", path);
        slash = strrchr(target, '/');
        tbase = slash ? slash + 1 : target;
        tdir = strndup(target, slash ? (size_t)(slash - target) : 0);
        if (!tdir)
                return mx_error_oom(err);
        {
                mx_error *local = NULL;

                tfd = mx_layer__open_dir_beneath(u->rootfd, tdir, O_PATH, false, path, &local);
                if (tfd == MX_ENOTFOUND) {
                        mx_error_free(local);
                        return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                            "refusing hardlink '%s': its target '%s' does not "
                                            "exist",
                                            path, link);
                }
                if (tfd < 0) {
                        mx_error_move(err, &local);
                        return tfd;
                }
        }
        if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                            "refusing hardlink '%s': its target '%s' does not "
                                            "exist",
                                            path, link);
                return mx_error_errno(err, MX_D_IMAGE, "hardlink '%s': stat '%s'", path, link);
        }
        if (S_ISDIR(st.st_mode))
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing hardlink '%s' to directory '%s'", path, link);
        pfd = parent_fd(u, path, &base, err);
        if (pfd < 0)
                return pfd;
        if (linkat(tfd, tbase, pfd, base, 0) < 0) {
                if (errno != EEXIST)
                        return mx_error_errno(err, MX_D_IMAGE, "hardlink '%s' to '%s'", path, link);
                if (fstatat(pfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
                    cur.st_dev == st.st_dev)
                        return 0;
                r = clear_slot(u, pfd, base, false, path, err);
                if (r < 0)
                        return r;
                pfd = parent_fd(u, path, &base, err);
                if (pfd < 0)
                        return pfd;
                if (linkat(tfd, tbase, pfd, base, 0) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "hardlink '%s' to '%s'", path, link);
        }
        return 0;
}

/* APPLY mode: empty dirfd of everything this layer did not write (recursively). */
static int opaque_clear(struct unpack *u, int dirfd, const char *dirpath, mx_error **err)
{
        int dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (dfd >= 0)
                        close(dfd);
                return mx_error_errno(err, MX_D_IMAGE, "opaque directory '%s': read", dirpath);
        }
        while ((de = readdir(d))) {
                cleanup_free char *child = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (asprintf(&child, "%s%s%s", dirpath, *dirpath ? "/" : "", de->d_name) < 0) {
                        child = NULL;
                        r = mx_error_oom(err);
                        break;
                }
                if (!pathset_has(&u->written, child)) {
                        r = mx_layer__rm_at(dirfd, de->d_name, err);
                } else if (de->d_type == DT_DIR) {
                        int cfd = openat(dirfd, de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0) {
                                r = mx_error_errno(err, MX_D_IMAGE, "open '%s'", child);
                        } else {
                                r = opaque_clear(u, cfd, child, err);
                                close(cfd);
                        }
                }
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int whiteout(struct unpack *u, const char *path, const char *dirpath, const char *name,
                    mx_error **err)
{
        cleanup_close int dfd = -1;
        bool opaque = strcmp(name, ".wh..opq") == 0;
        const char *hidden = name;

        if (!opaque && strncmp(name, ".wh.", 4) == 0)
                return 0; /* other ".wh..wh.*" metadata (aufs hardlink dirs): not content */
        if (!opaque && (!*hidden || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0))
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing whiteout '%s': it names no entry", path);
        if (u->opts->whiteouts == MX_WHITEOUT_APPLY) {
                mx_error *local = NULL;

                /* Nothing below to delete when the directory does not exist. */
                dfd = mx_layer__open_dir_beneath(u->rootfd, dirpath, O_RDONLY, false, path, &local);
                if (dfd == MX_ENOTFOUND) {
                        mx_error_free(local);
                        return 0;
                }
                if (dfd < 0) {
                        mx_error_move(err, &local);
                        return dfd;
                }
                if (remember_dir(u, dirpath, dfd) < 0)
                        return mx_error_oom(err);
        } else {
                dfd = open_or_create_dir(u, dirpath, opaque ? O_RDONLY : O_PATH, path, err);
                if (dfd < 0)
                        return dfd;
        }
        if (u->opts->whiteouts == MX_WHITEOUT_OVERLAY) {
                if (opaque) {
                        if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                                return mx_error_errno(err, MX_D_IMAGE,
                                                      "opaque whiteout '%s': set xattr", path);
                        return 0;
                }
                if (mknodat(dfd, hidden, S_IFCHR | 0, 0) < 0) {
                        int r;
                        if (errno != EEXIST)
                                return mx_error_errno(err, MX_D_IMAGE, "whiteout '%s': mknod",
                                                      path);
                        cache_drop(u);
                        r = mx_layer__rm_at(dfd, hidden, err);
                        if (r < 0)
                                return r;
                        if (mknodat(dfd, hidden, S_IFCHR | 0, 0) < 0)
                                return mx_error_errno(err, MX_D_IMAGE, "whiteout '%s': mknod",
                                                      path);
                }
                return 0;
        }
        cache_drop(u);
        if (opaque)
                return opaque_clear(u, dfd, dirpath, err);
        return mx_layer__rm_at(dfd, hidden, err);
}

static int handle_entry(struct unpack *u, struct archive *a, struct archive_entry *e,
                        mx_error **err)
{
        const char *raw = archive_entry_pathname(e);
        const char *link = archive_entry_hardlink(e);
        cleanup_free char *path = NULL;
        const char *base;
        bool unsafe;
        mode_t type;

        if (!raw)
                raw = archive_entry_pathname_utf8(e);
        if (!raw)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "tar entry %llu has no usable name",
                                    (unsigned long long)u->entries);
        if (strlen(raw) >= 4096)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "entry '%.100s...': name too long (over 4095 bytes)", raw);
        path = mx_layer__clean_name(raw, &unsafe);
        if (!path) {
                if (!unsafe)
                        return mx_error_oom(err);
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing entry '%s': path leaves the target directory", raw);
        }
        {
                /* Deeper trees are no real image's and would defeat path-based removal. */
                size_t depth = 1;
                for (const char *c = path; *c; c++)
                        depth += *c == '/';
                if (depth > MX_LAYER_MAX_DEPTH)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "entry '%.100s...': path too deep (over %d levels)",
                                            raw, MX_LAYER_MAX_DEPTH);
        }
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strncmp(base, ".wh.", 4) == 0) {
                cleanup_free char *dir =
                        strndup(path, (size_t)(base - path) ? (size_t)(base - path) - 1 : 0);
                if (!dir)
                        return mx_error_oom(err);
                return whiteout(u, path, dir, base + 4, err);
        }
        if (u->opts->whiteouts == MX_WHITEOUT_APPLY && pathset_add(&u->written, path) < 0)
                return mx_error_oom(err);
        if (!link)
                link = archive_entry_hardlink_utf8(e);
        if (link) {
                if (!*path)
                        return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                            "refusing hardlink entry for the root directory");
                return write_hardlink(u, path, link, err);
        }
        type = archive_entry_filetype(e);
        if (!*path && type != AE_IFDIR)
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "refusing entry '%s': the root must be a directory", raw);
        switch (type) {
        case AE_IFDIR:
                return write_dir(u, e, path, err);
        case AE_IFREG:
                return write_file(u, a, e, path, err);
        case AE_IFLNK:
                return write_symlink(u, e, path, err);
        case AE_IFCHR:
                return write_node(u, e, path, S_IFCHR, err);
        case AE_IFBLK:
                return write_node(u, e, path, S_IFBLK, err);
        case AE_IFIFO:
                return write_node(u, e, path, S_IFIFO, err);
        default:
                return 0; /* sockets and unknown types carry no content */
        }
}

static int finish_dirs(struct unpack *u, mx_error **err)
{
        for (size_t i = u->nsaved; i-- > 0;) {
                struct dir_meta *d = &u->saved[i];
                mx_error *ignored = NULL;
                int fd = mx_layer__open_dir_beneath(u->rootfd, d->path, O_RDONLY, false, d->path,
                                                    &ignored);

                mx_error_free(ignored);
                if (fd < 0)
                        continue;
                if (futimens(fd, d->ts) < 0) {
                        int r = mx_error_errno(err, MX_D_IMAGE, "directory '%s': set times",
                                               d->path);
                        close(fd);
                        return r;
                }
                close(fd);
        }
        /* In entry order, so a later entry for the same directory wins. */
        for (size_t i = 0; i < u->ndirs; i++) {
                struct dir_meta *d = &u->dirs[i];
                cleanup_close int fd = -1;
                mx_error *ignored = NULL;

                /* A later entry may have replaced it (by a symlink even): skip, never follow. */
                fd = mx_layer__open_dir_beneath(u->rootfd, d->path, O_RDONLY, false, d->path,
                                                &ignored);
                mx_error_free(ignored);
                if (fd < 0)
                        continue;
                if (fchmod(fd, d->mode) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "directory '%s': chmod", d->path);
                if (futimens(fd, d->ts) < 0)
                        return mx_error_errno(err, MX_D_IMAGE, "directory '%s': set times",
                                              d->path);
        }
        return 0;
}

static void unpack_clear(struct unpack *u)
{
        cache_drop(u);
        for (size_t i = 0; i < u->ndirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
        pathset_clear(&u->written);
        pathset_clear(&u->remembered);
        for (size_t i = 0; i < u->n_lower; i++)
                if (u->lower_fds[i] >= 0)
                        close(u->lower_fds[i]);
        free(u->lower_fds);
        for (size_t i = 0; i < u->nsaved; i++)
                free(u->saved[i].path);
        free(u->saved);
        if (u->rootfd >= 0)
                close(u->rootfd);
}

static int archive_failure(struct reader *r, struct archive *a, mx_error **err)
{
        if (r->err) {
                int code = r->code;
                mx_error_move(err, &r->err);
                return code;
        }
        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0, "bad tar stream: %s",
                            archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

static int unpack_stream(struct reader *r, struct unpack *u, mx_error **err)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int ret = 0;

        if (!a)
                return mx_error_oom(err);
        archive_read_support_format_tar(a);
        archive_read_support_format_empty(a);
        if (archive_read_open(a, r, NULL, read_cb, NULL) != ARCHIVE_OK) {
                ret = archive_failure(r, a, err);
                archive_read_free(a);
                return ret;
        }
        for (;;) {
                int ar = archive_read_next_header(a, &e);

                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        ret = archive_failure(r, a, err);
                        break;
                }
                u->entries++;
                ret = handle_entry(u, a, e, err);
                if (ret < 0 && u->data_failed)
                        ret = archive_failure(r, a, err);
                if (ret < 0)
                        break;
        }
        archive_read_free(a);
        if (ret < 0)
                return ret;
        /* Hash what follows the end-of-archive blocks: the diffID covers the whole stream. */
        for (;;) {
                const void *buf;
                ssize_t n = next_chunk(r, &buf);
                if (n == 0)
                        break;
                if (n < 0) {
                        ret = r->code;
                        mx_error_move(err, &r->err);
                        return ret;
                }
        }
        return 0;
}

int mx_layer_unpack(int blob_fd, const char *target_dir, const mx_layer_unpack_opts *opts,
                    mx_layer_info *out, mx_error **err)
{
        static const mx_layer_unpack_opts defaults = MX_LAYER_UNPACK_OPTS_INIT;
        struct reader r = {0};
        struct unpack u = {.rootfd = -1, .cache_fd = -1};
        mx_digest_algo blob_algo = MX_DIGEST_SHA256, diff_algo = MX_DIGEST_SHA256;
        char digest[MX_DIGEST_MAX], diff_id[MX_DIGEST_MAX];
        int ret;

        if (!opts)
                opts = &defaults;
        if (blob_fd < 0 || !target_dir || opts->version != MX_LAYER_UNPACK_OPTS_VERSION ||
            (opts->whiteouts != MX_WHITEOUT_OVERLAY && opts->whiteouts != MX_WHITEOUT_APPLY) ||
            (unsigned)opts->compression > MX_COMPRESSION_AUTO)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "unpack layer: invalid arguments");
        if (opts->expected_digest && mx_digest_algo_of(opts->expected_digest, &blob_algo) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid digest '%s'",
                                    opts->expected_digest);
        if (opts->expected_diff_id && mx_digest_algo_of(opts->expected_diff_id, &diff_algo) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid diffID '%s'",
                                    opts->expected_diff_id);
        u.opts = opts;
        u.rootfd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (u.rootfd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "open unpack target '%s'", target_dir);
        if (!(opts->flags & MX_LAYER_NONEMPTY_OK) && opts->whiteouts == MX_WHITEOUT_OVERLAY) {
                int dfd = fcntl(u.rootfd, F_DUPFD_CLOEXEC, 0);
                DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
                struct dirent *de;
                bool empty = true;

                while (d && (de = readdir(d)))
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                empty = false;
                if (d)
                        closedir(d);
                else if (dfd >= 0)
                        close(dfd);
                if (!empty) {
                        unpack_clear(&u);
                        return mx_error_set(err, MX_EEXISTS, MX_D_IMAGE, 0,
                                            "unpack target '%s' is not empty", target_dir);
                }
        }

        if (opts->whiteouts == MX_WHITEOUT_OVERLAY && opts->lower_dirs && opts->n_lower_dirs) {
                u.lower_fds = calloc(opts->n_lower_dirs, sizeof(*u.lower_fds));
                if (!u.lower_fds) {
                        unpack_clear(&u);
                        return mx_error_oom(err);
                }
                for (size_t i = 0; i < opts->n_lower_dirs; i++)
                        u.lower_fds[i] = -1;
                u.n_lower = opts->n_lower_dirs;
                for (size_t i = 0; i < opts->n_lower_dirs; i++) {
                        const char *l = opts->lower_dirs[i];

                        u.lower_fds[i] = l ? open(l, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
                        if (u.lower_fds[i] < 0) {
                                int code = mx_error_errno(err, MX_D_IMAGE, "open lower layer '%s'",
                                                          l ? l : "(null)");
                                unpack_clear(&u);
                                return code;
                        }
                }
        }
        if (remember_dir(&u, "", u.rootfd) < 0) {
                unpack_clear(&u);
                return mx_error_oom(err);
        }
        ret = reader_init(&r, blob_fd, opts, blob_algo, diff_algo, err);
        if (ret >= 0) {
                if (opts->progress)
                        progress(&r, MX_PROGRESS_START);
                ret = unpack_stream(&r, &u, err);
        }
        if (ret >= 0)
                ret = finish_dirs(&u, err);
        if (ret >= 0) {
                mx_hasher_final(r.blob_h, digest);
                mx_hasher_final(r.diff_h, diff_id);
                if (opts->expected_digest && strcmp(digest, opts->expected_digest) != 0)
                        ret = mx_error_set(err, MX_EDIGEST, MX_D_IMAGE, 0,
                                           "layer digest is '%s', expected '%s'", digest,
                                           opts->expected_digest);
                else if (opts->expected_diff_id && strcmp(diff_id, opts->expected_diff_id) != 0)
                        ret = mx_error_set(err, MX_EDIGEST, MX_D_IMAGE, 0,
                                           "layer diffID is '%s', expected '%s'", diff_id,
                                           opts->expected_diff_id);
        }
        if (ret >= 0 && (opts->flags & MX_LAYER_SYNC) && syncfs(u.rootfd) < 0)
                ret = mx_error_errno(err, MX_D_IMAGE, "sync '%s'", target_dir);
        if (ret >= 0 && out) {
                memset(out, 0, sizeof(*out));
                memcpy(out->digest, digest, sizeof(out->digest));
                memcpy(out->diff_id, diff_id, sizeof(out->diff_id));
                out->compression = r.comp;
                out->compressed_size = r.csize;
                out->uncompressed_size = r.usize;
                out->entries = u.entries;
        }
        if (opts->progress)
                progress(&r, ret >= 0 ? MX_PROGRESS_DONE : MX_PROGRESS_FAILED);
        reader_clear(&r);
        unpack_clear(&u);
        if (ret < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "unpack layer into '%s'", target_dir);
        return 0;
}
