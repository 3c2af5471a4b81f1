/* SPDX-License-Identifier: Apache-2.0 */
/* The diffID of a stored layer blob: sha256 of its uncompressed tar stream. */
#include <archive.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imageops-internal.h"

MX_DEFINE_FREEP(struct archive, archive_read_free)

#define CHUNK (256 * 1024)

int mx_imageops__layer_diff_id(mx_store *s, const char *digest, char diff_id[MX_DIGEST_MAX],
                               mx_compression *comp_out, uint64_t *usize_out, mx_error **err)
{
        cleanup(archive_read_freep) struct archive *a = NULL;
        cleanup(mx_hasher_freep) mx_hasher *h = NULL;
        cleanup_close int fd = -1;
        cleanup_free char *chunk = NULL;
        unsigned char head[8];
        uint64_t size = 0, total = 0;
        mx_compression comp;
        ssize_t n;
        int r;

        r = mx_imageops__blob_open(s, digest, &fd, &size, err);
        if (r < 0)
                return r;
        n = pread(fd, head, sizeof(head), 0);
        if (n < 0)
                return mx_error_errno(err, MX_D_SYS, "read layer '%s'", digest);
        comp = mx_compression_detect(head, (size_t)n);
        if (comp == MX_COMPRESSION_NONE) {
                memcpy(diff_id, digest, strlen(digest) + 1);
                *comp_out = comp;
                *usize_out = size;
                return 0;
        }

        a = archive_read_new();
        chunk = malloc(CHUNK);
        if (!a || !chunk)
                return mx_error_oom(err);
        r = mx_hasher_new(&h, MX_DIGEST_SHA256, err);
        if (r < 0)
                return r;
        if (comp == MX_COMPRESSION_GZIP)
                archive_read_support_filter_gzip(a);
        else
                archive_read_support_filter_zstd(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0, "read layer '%s': %s", digest,
                                    archive_error_string(a));
        {
                struct archive_entry *e;

                if (archive_read_next_header(a, &e) != ARCHIVE_OK)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0, "read layer '%s': %s",
                                            digest, archive_error_string(a));
        }
        for (;;) {
                la_ssize_t got = archive_read_data(a, chunk, CHUNK);

                if (got == 0)
                        break;
                if (got < 0)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "decompress layer '%s': %s", digest,
                                            archive_error_string(a));
                mx_hasher_update(h, chunk, (size_t)got);
                total += (uint64_t)got;
        }
        mx_hasher_final(h, diff_id);
        *comp_out = comp;
        *usize_out = total;
        return 0;
}
