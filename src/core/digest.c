/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error-internal.h"

struct mx_hasher {
        EVP_MD_CTX *ctx;
        mx_digest_algo algo;
};

static const EVP_MD *md_of(mx_digest_algo algo)
{
        return algo == MX_DIGEST_SHA512 ? EVP_sha512() : EVP_sha256();
}

static const char *prefix_of(mx_digest_algo algo)
{
        return algo == MX_DIGEST_SHA512 ? "sha512:" : "sha256:";
}

int mx_hasher_new(mx_hasher **out, mx_digest_algo algo, mx_error **err)
{
        mx_hasher *h = calloc(1, sizeof(*h));

        if (!h)
                return mx_error_oom(err);
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx || EVP_DigestInit_ex(h->ctx, md_of(algo), NULL) != 1) {
                mx_hasher_free(h);
                return mx_error_set(err, MX_EFAIL, MX_D_CORE, 0, "initialise digest");
        }
        h->algo = algo;
        *out = h;
        return 0;
}

void mx_hasher_update(mx_hasher *h, const void *data, size_t len)
{
        if (len)
                (void)EVP_DigestUpdate(h->ctx, data, len);
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[in[i] >> 4];
                out[2 * i + 1] = hex[in[i] & 15];
        }
        out[2 * n] = '\0';
}

void mx_hasher_final(mx_hasher *h, char out[MX_DIGEST_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        size_t plen;

        (void)EVP_DigestFinal_ex(h->ctx, md, &n);
        plen = strlen(prefix_of(h->algo));
        memcpy(out, prefix_of(h->algo), plen);
        hex_encode(md, n, out + plen);
        (void)EVP_DigestInit_ex(h->ctx, md_of(h->algo), NULL);
}

void mx_hasher_reset(mx_hasher *h)
{
        (void)EVP_DigestInit_ex(h->ctx, md_of(h->algo), NULL);
}

void mx_hasher_free(mx_hasher *h)
{
        if (!h)
                return;
        EVP_MD_CTX_free(h->ctx);
        free(h);
}

void mx_digest_data(mx_digest_algo algo, const void *data, size_t len, char out[MX_DIGEST_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        size_t plen = strlen(prefix_of(algo));

        (void)EVP_Digest(data, len, md, &n, md_of(algo), NULL);
        memcpy(out, prefix_of(algo), plen);
        hex_encode(md, n, out + plen);
}

int mx_digest_file(const char *path, mx_digest_algo algo, char out[MX_DIGEST_MAX], mx_error **err)
{
        cleanup(mx_hasher_freep) mx_hasher *h = NULL;
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        static __thread unsigned char chunk[1 << 16];
        int r;

        if (fd < 0)
                return mx_error_errno(err, MX_D_SYS, "open '%s'", path);
        r = mx_hasher_new(&h, algo, err);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return mx_error_errno(err, MX_D_SYS, "read '%s'", path);
                }
                if (n == 0)
                        break;
                mx_hasher_update(h, chunk, (size_t)n);
        }
        mx_hasher_final(h, out);
        return 0;
}

static int is_lower_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return 0;
        }
        return s[n] == '\0';
}

int mx_digest_is_valid(const char *d)
{
        if (!d)
                return 0;
        if (strncmp(d, "sha256:", 7) == 0)
                return strlen(d) == 71 && is_lower_hex(d + 7, 64);
        if (strncmp(d, "sha512:", 7) == 0)
                return strlen(d) == 135 && is_lower_hex(d + 7, 128);
        return 0;
}

int mx_digest_algo_of(const char *digest, mx_digest_algo *out)
{
        if (!mx_digest_is_valid(digest))
                return MX_EINVAL;
        *out = strncmp(digest, "sha512:", 7) == 0 ? MX_DIGEST_SHA512 : MX_DIGEST_SHA256;
        return 0;
}

const char *mx_digest_hex(const char *digest)
{
        const char *colon = strchr(digest, ':');

        return colon ? colon + 1 : digest;
}
