/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the store's unit tests: scratch stores and synthetic images. */
#ifndef MX_STORE_TEST_UTIL_H
#define MX_STORE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/store.h>

#include "digest.h"
#include "store/store-internal.h"
#include "tap.h"

/* A store under the test's scratch directory; name distinguishes several per test. */
static inline mx_store *test_store_open(const char *name)
{
        mx_store *s = NULL;
        mx_error *err = NULL;
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s", mx_tap_tmpdir(), name);
        ASSERT_OK_E(mx_store_open(&s, path, &err), err);
        return s;
}

static inline char *test_strdup(const char *s)
{
        char *d = strdup(s);

        ASSERT_NOT_NULL(d);
        return d;
}

/* Put text as a blob; returns its digest (static buffer rotation is not needed: caller copies). */
static inline void test_put(mx_store *s, const char *text, char digest[MX_DIGEST_BUF])
{
        mx_error *err = NULL;

        ASSERT_OK_E(mx_store_blob_put(s, text, strlen(text), NULL, digest, &err), err);
}

/*
 * A synthetic image: the config is "config:<name>", layer i has blob "layer:<layer_names[i]>"
 * and diff ID sha256("tar:<layer_names[i]>"), the manifest is "manifest:<name>". Blobs are
 * written unless write_blobs is 0 (then the record names blobs that are missing).
 */
static inline mx_image_record *test_image_record(mx_store *s, const char *name,
                                                 const char *const *layer_names, size_t n,
                                                 int write_blobs)
{
        mx_image_record *rec = calloc(1, sizeof(*rec));
        char buf[512], d[MX_DIGEST_BUF];

        ASSERT_NOT_NULL(rec);
        snprintf(buf, sizeof(buf), "config:%s", name);
        if (write_blobs)
                test_put(s, buf, d);
        else
                mx_digest_data(MX_DIGEST_SHA256, buf, strlen(buf), d);
        rec->id = test_strdup(d);
        rec->config_size = (int64_t)strlen(buf);
        snprintf(buf, sizeof(buf), "manifest:%s", name);
        if (write_blobs)
                test_put(s, buf, d);
        else
                mx_digest_data(MX_DIGEST_SHA256, buf, strlen(buf), d);
        rec->manifest_digest = test_strdup(d);
        rec->manifest_media_type = test_strdup("application/vnd.oci.image.manifest.v1+json");
        rec->created = test_strdup("2024-01-02T03:04:05Z");
        rec->os = test_strdup("linux");
        rec->architecture = test_strdup("amd64");
        rec->size = rec->config_size;
        rec->n_layers = n;
        rec->layers = n ? calloc(n, sizeof(mx_layer_record)) : NULL;
        for (size_t i = 0; i < n; i++) {
                mx_layer_record *l = &rec->layers[i];

                snprintf(buf, sizeof(buf), "layer:%s", layer_names[i]);
                if (write_blobs)
                        test_put(s, buf, d);
                else
                        mx_digest_data(MX_DIGEST_SHA256, buf, strlen(buf), d);
                l->digest = test_strdup(d);
                l->size = (int64_t)strlen(buf);
                rec->size += l->size;
                snprintf(buf, sizeof(buf), "tar:%s", layer_names[i]);
                mx_digest_data(MX_DIGEST_SHA256, buf, strlen(buf), d);
                l->diff_id = test_strdup(d);
                l->media_type = test_strdup("application/vnd.oci.image.layer.v1.tar+gzip");
                l->uncompressed_size = -1;
        }
        return rec;
}

/* Write and record an image with the given tags (NULL-terminated, may be NULL). The ID is
 * copied to id_out when non-NULL. */
static inline void test_add_image(mx_store *s, const char *name, const char *const *layer_names,
                                  size_t n, const char *const *tags, char id_out[MX_DIGEST_BUF])
{
        mx_image_record *rec = test_image_record(s, name, layer_names, n, 1);
        mx_error *err = NULL;

        ASSERT_OK_E(mx_store_image_add(s, rec, tags, &err), err);
        if (id_out)
                snprintf(id_out, MX_DIGEST_BUF, "%s", rec->id);
        mx_image_record_free(rec);
}

/* mx_store_image_get's return code, freeing the record. */
static inline int test_image_get_rc(mx_store *s, const char *what)
{
        mx_image_record *rec = NULL;
        int r = mx_store_image_get(s, what, &rec, NULL);

        mx_image_record_free(rec);
        return r;
}

/* The cause chain holds a node with this domain. */
static inline int test_chain_has_domain(const mx_error *e, mx_domain d)
{
        for (; e; e = e->cause) {
                if (e->domain == d)
                        return 1;
        }
        return 0;
}

static inline int test_msg_has(const mx_error *e, const char *needle)
{
        char *m = mx_error_format(e);
        int found = m && strstr(m, needle) != NULL;

        if (!found)
                printf("# message: %s\n", m ? m : "(none)");
        free(m);
        return found;
}

#endif
