/* SPDX-License-Identifier: Apache-2.0 */
/* The image operations' view of the store's blobs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <myrmex/store.h>

#include "imageops-internal.h"
#include "store/store-internal.h"

struct mx_io_blob {
        mx_store_blob_writer *w;
};

int mx_imageops__blob_begin(mx_io_blob **out, mx_store *s, mx_error **err)
{
        mx_io_blob *b = calloc(1, sizeof(*b));
        int r;

        if (!b)
                return mx_error_oom(err);
        r = mx_store_blob_writer_new(&b->w, s, err);
        if (r < 0) {
                free(b);
                return r;
        }
        *out = b;
        return 0;
}

int mx_imageops__blob_write(mx_io_blob *b, const void *data, size_t len, mx_error **err)
{
        return mx_store_blob_writer_write(b->w, data, len, err);
}

int mx_imageops__blob_commit(mx_io_blob *b, const char *expected, char digest_out[MX_DIGEST_MAX],
                             uint64_t *size_out, mx_error **err)
{
        uint64_t size = mx_store_blob_writer_size(b->w);
        int r;

        r = mx_store_blob_writer_commit(b->w, expected, digest_out, err);
        mx_store_blob_writer_free(b->w);
        free(b);
        if (r < 0)
                return r;
        if (size_out)
                *size_out = size;
        return 0;
}

void mx_imageops__blob_abort(mx_io_blob *b)
{
        if (!b)
                return;
        mx_store_blob_writer_free(b->w);
        free(b);
}

int mx_imageops__blob_put(mx_store *s, const void *data, size_t len, char digest_out[MX_DIGEST_MAX],
                          mx_error **err)
{
        return mx_store_blob_put(s, data, len, NULL, digest_out, err);
}

int mx_imageops__blob_open(mx_store *s, const char *digest, int *fd_out, uint64_t *size_out,
                           mx_error **err)
{
        cleanup_close int fd = -1;
        struct stat st;
        int r;

        r = mx_store_blob_open(s, digest, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return mx_error_errno(err, MX_D_SYS, "stat blob '%s'", digest);
        if (size_out)
                *size_out = (uint64_t)st.st_size;
        *fd_out = TAKE_FD(fd);
        return 0;
}

int mx_imageops__blob_read(mx_store *s, const char *digest, size_t max, mx_buf *out, mx_error **err)
{
        cleanup_free char *data = NULL;
        size_t len = 0;
        int r;

        r = mx_store_blob_read(s, digest, max, &data, &len, err);
        if (r < 0)
                return r;
        if (mx_buf_put(out, data, len) < 0)
                return mx_error_oom(err);
        return 0;
}

int mx_imageops__blob_exists(mx_store *s, const char *digest)
{
        return mx_store_blob_has(s, digest, NULL) == 1;
}
