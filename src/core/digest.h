/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming content digests ("sha256:<hex>", "sha512:<hex>") on OpenSSL. */
#ifndef MX_CORE_DIGEST_H
#define MX_CORE_DIGEST_H

#include <stddef.h>

#include <myrmex/error.h>

#include "cleanup.h"

typedef enum mx_digest_algo {
        MX_DIGEST_SHA256 = 0,
        MX_DIGEST_SHA512,
} mx_digest_algo;

/* "sha512:" + 128 hex + NUL */
#define MX_DIGEST_MAX 136

typedef struct mx_hasher mx_hasher;

int mx_hasher_new(mx_hasher **out, mx_digest_algo algo, mx_error **err);
void mx_hasher_update(mx_hasher *h, const void *data, size_t len);
/* Write "algo:hex" into out (MX_DIGEST_MAX bytes); the hasher may be reused after reset. */
void mx_hasher_final(mx_hasher *h, char out[MX_DIGEST_MAX]);
void mx_hasher_reset(mx_hasher *h);
void mx_hasher_free(mx_hasher *h);
MX_DEFINE_FREEP(mx_hasher, mx_hasher_free)

/* One-shot digest of a memory block. */
void mx_digest_data(mx_digest_algo algo, const void *data, size_t len, char out[MX_DIGEST_MAX]);
/* Digest of a file's whole content. */
int mx_digest_file(const char *path, mx_digest_algo algo, char out[MX_DIGEST_MAX], mx_error **err);

/* A well-formed digest: "sha256:" + 64 lowercase hex, or "sha512:" + 128; 1 if valid. */
int mx_digest_is_valid(const char *digest);
/* Parse the algorithm of a valid digest; MX_EINVAL / MX_EUNSUPPORTED otherwise. */
int mx_digest_algo_of(const char *digest, mx_digest_algo *out);
/* Pointer to the hex part of a valid digest. */
const char *mx_digest_hex(const char *digest);

#endif
