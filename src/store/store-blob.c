/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content-addressed blobs: written to tmp/, hashed while written, fsynced, verified, then
 * renamed to blobs/sha256/<hex> and the directory fsynced. A crash before the rename leaves
 * a temp file (garbage); after it, an unreferenced blob (garbage until an image names it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "buf.h"
#include "digest.h"
#include "error-internal.h"
#include "fault.h"
#include "store-priv.h"

#define WRITER_MAGIC 0x6d786277u /* "mxbw" */

enum { W_OPEN = 0, W_COMMITTED, W_FAILED };

struct mx_store_blob_writer {
        unsigned magic;
        mx_store *s;
        int fd;
        char *tmp_path;
        mx_hasher *hasher;
        uint64_t size;
        int state;
};

int mx_store__check_digest(const char *digest, const char *what, mx_error **err)
{
        if (!digest || !mx_digest_is_valid(digest))
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid %s digest '%s'",
                                    what ? what : "blob", digest ? digest : "(null)");
        if (strncmp(digest, "sha256:", 7) != 0)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_STORE, 0,
                                    "unsupported digest algorithm in '%s' (the store keeps "
                                    "sha256 blobs)",
                                    digest);
        return 0;
}

char *store_blob_file(mx_store *s, const char *digest)
{
        char *p = NULL;

        if (asprintf(&p, "%s/%s", s->blobs_dir, mx_digest_hex(digest)) < 0)
                return NULL;
        return p;
}

char *store_layer_file(mx_store *s, const char *chain_id)
{
        char *p = NULL;

        if (asprintf(&p, "%s/%s", s->layers_dir, mx_digest_hex(chain_id)) < 0)
                return NULL;
        return p;
}

void mx_store_blob_writer_free(mx_store_blob_writer *w)
{
        if (!w)
                return;
        if (w->fd >= 0)
                (void)close(w->fd);
        if (w->state != W_COMMITTED && w->tmp_path)
                (void)unlink(w->tmp_path);
        free(w->tmp_path);
        mx_hasher_free(w->hasher);
        if (w->s && w->s->open_writers > 0)
                w->s->open_writers--;
        w->magic = 0;
        free(w);
}

int mx_store_blob_writer_new(mx_store_blob_writer **out, mx_store *s, mx_error **err)
{
        cleanup(mx_store_blob_writer_freep) mx_store_blob_writer *w = NULL;
        int r;

        r = store_check_handle_out(s, out, err);
        if (r < 0)
                return r;
        r = mx_store__lock_shared(s, err);
        if (r < 0)
                return r;
        w = calloc(1, sizeof(*w));
        if (!w)
                return mx_error_oom(err);
        w->magic = WRITER_MAGIC;
        w->fd = -1;
        w->s = s;
        s->open_writers++;
        if (asprintf(&w->tmp_path, "%s/blob-XXXXXX", s->tmp_dir) < 0) {
                w->tmp_path = NULL;
                return mx_error_oom(err);
        }
        w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
        if (w->fd < 0) {
                int e = errno;

                free(w->tmp_path);
                w->tmp_path = NULL;
                return mx_error_errno_val(err, e, MX_D_STORE, "create a temp file in '%s'",
                                          s->tmp_dir);
        }
        (void)fchmod(w->fd, 0644);
        r = mx_hasher_new(&w->hasher, MX_DIGEST_SHA256, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "start blob");
        *out = TAKE_PTR(w);
        return 0;
}

int mx_store_blob_writer_write(mx_store_blob_writer *w, const void *data, size_t len,
                               mx_error **err)
{
        const char *p = data;

        if (!w || w->magic != WRITER_MAGIC || (!data && len))
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        if (w->state != W_OPEN)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                    "write to a blob writer that is already %s",
                                    w->state == W_COMMITTED ? "committed" : "failed");
        mx_hasher_update(w->hasher, data, len);
        w->size += len;
        while (len > 0) {
                ssize_t n = write(w->fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        w->state = W_FAILED;
                        return mx_error_errno(err, MX_D_STORE, "write '%s'", w->tmp_path);
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

uint64_t mx_store_blob_writer_size(const mx_store_blob_writer *w)
{
        return w ? w->size : 0;
}

int mx_store_blob_writer_commit(mx_store_blob_writer *w, const char *expected,
                                char digest_out[MX_DIGEST_BUF], mx_error **err)
{
        char digest[MX_DIGEST_MAX];
        cleanup_free char *dest = NULL;
        mx_store *s;
        int r;

        if (!w || w->magic != WRITER_MAGIC)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid blob writer");
        if (w->state != W_OPEN)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                    "commit a blob writer that is already %s",
                                    w->state == W_COMMITTED ? "committed" : "failed");
        s = w->s;
        if (expected) {
                r = mx_store__check_digest(expected, "expected", err);
                if (r < 0)
                        return r;
        }
        if (fsync(w->fd) < 0) {
                w->state = W_FAILED;
                return mx_error_errno(err, MX_D_STORE, "fsync '%s'", w->tmp_path);
        }
        mx_fault_point("store-blob-fsync");
        mx_hasher_final(w->hasher, digest);
        if (expected && strcmp(expected, digest) != 0) {
                w->state = W_FAILED;
                (void)unlink(w->tmp_path);
                return mx_error_set(err, MX_EDIGEST, MX_D_STORE, 0,
                                    "blob digest mismatch: expected '%s', got '%s' (%llu bytes)",
                                    expected, digest, (unsigned long long)w->size);
        }
        dest = store_blob_file(s, digest);
        if (!dest)
                return mx_error_oom(err);
        mx_fault_point("store-blob-rename");
        /* Replacing an existing copy is fine (same content) and heals a corrupt one. */
        if (rename(w->tmp_path, dest) < 0) {
                w->state = W_FAILED;
                return mx_error_errno(err, MX_D_STORE, "rename '%s' to '%s'", w->tmp_path, dest);
        }
        w->state = W_COMMITTED;
        mx_fault_point("store-blob-renamed");
        (void)close(w->fd);
        w->fd = -1;
        /* The directory entry is made durable once per image, by mx_store_image_add() before
         * its commit: until an image references it, a blob lost to a power cut is only a
         * blob to fetch again. */
        if (digest_out)
                memcpy(digest_out, digest, strlen(digest) + 1);
        return 0;
}

int mx_store_blob_put(mx_store *s, const void *data, size_t len, const char *expected,
                      char digest_out[MX_DIGEST_BUF], mx_error **err)
{
        cleanup(mx_store_blob_writer_freep) mx_store_blob_writer *w = NULL;
        int r;

        if (expected) {
                r = mx_store__check_digest(expected, "expected", err);
                if (r < 0)
                        return r;
        }
        r = mx_store_blob_writer_new(&w, s, err);
        if (r < 0)
                return r;
        r = mx_store_blob_writer_write(w, data, len, err);
        if (r < 0)
                return r;
        return mx_store_blob_writer_commit(w, expected, digest_out, err);
}

int mx_store_blob_has(mx_store *s, const char *digest, mx_error **err)
{
        cleanup_free char *p = NULL;
        struct stat st;
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(digest, NULL, err);
        if (r < 0)
                return r;
        /* Protect what we find from gc until it is registered. */
        r = mx_store__lock_shared(s, err);
        if (r < 0)
                return r;
        p = store_blob_file(s, digest);
        if (!p)
                return mx_error_oom(err);
        if (lstat(p, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return mx_error_errno(err, MX_D_STORE, "stat blob '%s'", p);
        }
        return S_ISREG(st.st_mode) ? 1 : 0;
}

int mx_store_blob_path(mx_store *s, const char *digest, char **out, mx_error **err)
{
        char *p;
        int r;

        r = store_check_handle_out(s, out, err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(digest, NULL, err);
        if (r < 0)
                return r;
        p = store_blob_file(s, digest);
        if (!p)
                return mx_error_oom(err);
        *out = p;
        return 0;
}

static int open_blob(mx_store *s, const char *digest, int *fd_out, mx_error **err)
{
        cleanup_free char *p = NULL;
        int fd, r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(digest, NULL, err);
        if (r < 0)
                return r;
        p = store_blob_file(s, digest);
        if (!p)
                return mx_error_oom(err);
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, ENOENT,
                                            "blob '%s' is not in the store", digest);
                return mx_error_errno(err, MX_D_STORE, "open blob '%s'", p);
        }
        *fd_out = fd;
        return 0;
}

int mx_store_blob_open(mx_store *s, const char *digest, int *fd_out, mx_error **err)
{
        if (!fd_out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        return open_blob(s, digest, fd_out, err);
}

int mx_store_blob_size(mx_store *s, const char *digest, uint64_t *size_out, mx_error **err)
{
        cleanup_close int fd = -1;
        struct stat st;
        int r;

        if (!size_out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        r = open_blob(s, digest, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return mx_error_errno(err, MX_D_STORE, "stat blob '%s'", digest);
        *size_out = (uint64_t)st.st_size;
        return 0;
}

int mx_store_blob_read(mx_store *s, const char *digest, size_t max, char **data_out,
                       size_t *len_out, mx_error **err)
{
        cleanup_close int fd = -1;
        cleanup_buf mx_buf buf = MX_BUF_INIT_CAP(max ? max : 1);
        char actual[MX_DIGEST_MAX];
        struct stat st;
        char *data;
        size_t len;
        int r;

        if (!data_out || !len_out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        r = open_blob(s, digest, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return mx_error_errno(err, MX_D_STORE, "stat blob '%s'", digest);
        if ((uint64_t)st.st_size > (uint64_t)max)
                return mx_error_set(err, MX_ETOOBIG, MX_D_STORE, 0,
                                    "blob '%s' is %lld bytes, more than the %zu allowed", digest,
                                    (long long)st.st_size, max);
        r = mx_buf_read_fd(&buf, fd, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "read blob '%s'", digest);
        mx_digest_data(MX_DIGEST_SHA256, buf.ptr, buf.len, actual);
        if (strcmp(actual, digest) != 0)
                return mx_error_set(err, MX_EDIGEST, MX_D_STORE, 0,
                                    "blob '%s' is corrupt: its content has digest '%s'", digest,
                                    actual);
        len = buf.len;
        data = mx_buf_detach(&buf);
        if (!data)
                return mx_error_oom(err);
        *data_out = data;
        *len_out = len;
        return 0;
}
