/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the image operations: the thin layer over the store's blob and image
 * API, name rules, and layer digests. */
#ifndef MX_IMAGEOPS_INTERNAL_H
#define MX_IMAGEOPS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <myrmex/image.h>
#include <myrmex/images.h>
#include <myrmex/layer.h>

#include "buf.h"
#include "digest.h"
#include "error-internal.h"

/* Small JSON members of an archive (manifest.json, index.json, repositories) are read into
 * memory up to this size; anything larger is refused as absurd. */
#define MX_IMAGEOPS_META_MAX ((size_t)4 << 20)

/* ---- blobs ------------------------------------------------------------------------------ */

/* A blob being written into the store from a stream. */
typedef struct mx_io_blob mx_io_blob;

int mx_imageops__blob_begin(mx_io_blob **out, mx_store *s, mx_error **err);
int mx_imageops__blob_write(mx_io_blob *b, const void *data, size_t len, mx_error **err);
/* Finish: verify against expected (may be NULL), make the blob durable in the store, and
 * return its digest and size. The writer is freed whatever happens. */
int mx_imageops__blob_commit(mx_io_blob *b, const char *expected, char digest_out[MX_DIGEST_MAX],
                             uint64_t *size_out, mx_error **err);
/* Drop an unfinished blob (NULL is fine). */
void mx_imageops__blob_abort(mx_io_blob *b);
/* Store a whole in-memory blob. */
int mx_imageops__blob_put(mx_store *s, const void *data, size_t len, char digest_out[MX_DIGEST_MAX],
                          mx_error **err);
/* Open a stored blob for reading; *size_out may be NULL. */
int mx_imageops__blob_open(mx_store *s, const char *digest, int *fd_out, uint64_t *size_out,
                           mx_error **err);
/* Read a stored blob of at most max bytes into out (MX_ETOOBIG past it). */
int mx_imageops__blob_read(mx_store *s, const char *digest, size_t max, mx_buf *out,
                           mx_error **err);
/* 1 when the store has the blob. */
int mx_imageops__blob_exists(mx_store *s, const char *digest);

/* The diffID (sha256 of the uncompressed stream) and compression of a stored layer blob,
 * with its uncompressed size. A plain tar's diffID is its digest. */
int mx_imageops__layer_diff_id(mx_store *s, const char *digest, char diff_id[MX_DIGEST_MAX],
                               mx_compression *comp_out, uint64_t *usize_out, mx_error **err);

/* ---- names ------------------------------------------------------------------------------ */

/* The names an image gets on load, by the rule in images.h: from the index entry's
 * annotations (may be NULL), else repo_tags (may be NULL). *out is a NULL-terminated list of
 * normalized references, or NULL when the image is to be loaded by ID. */
int mx_imageops__load_names(char ***out, char *const *annotations, char *const *repo_tags,
                            mx_error **err);

/* ---- misc ------------------------------------------------------------------------------- */

/* write(2) all of data or fail with errno set. */
int mx_imageops__write_all(int fd, const void *data, size_t len);

#endif
