/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifests, indexes and content sniffing: every parser sees the input; whatever parses
 * must serialize, re-parse, and serialize to the same bytes again (canonical output is what
 * gets hashed), and must survive conversion and platform selection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
        if (!ok)
                abort();
}

static void manifest_round_trip(const mx_manifest *m)
{
        mx_manifest *again = NULL;
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;

        check(mx_manifest_to_json(&a, &alen, m, NULL) == 0);
        check(mx_manifest_parse(&again, a, alen, m->media_type, NULL) == 0);
        check(mx_manifest_to_json(&b, &blen, again, NULL) == 0);
        check(alen == blen && memcmp(a, b, alen) == 0);
        mx_manifest_free(again);
        mx_free(a);
        mx_free(b);
}

static void fuzz_manifest(const uint8_t *data, size_t size, const char *declared)
{
        static const char *const targets[] = {MX_MT_OCI_MANIFEST, MX_MT_DOCKER_MANIFEST};
        mx_manifest *m = NULL;
        mx_error *err = NULL;

        if (mx_manifest_parse(&m, data, size, declared, &err) < 0) {
                /* A refusal always says why, in the image domain. */
                check(err && err->code < 0 && err->message && err->domain == MX_D_IMAGE);
                mx_error_free(err);
                return;
        }
        check(m->media_type && mx_media_type_is_manifest(m->media_type));
        manifest_round_trip(m);
        for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
                mx_manifest *c = NULL;

                if (mx_manifest_convert(&c, m, targets[i], NULL) == 0) {
                        manifest_round_trip(c);
                        mx_manifest_free(c);
                }
        }
        mx_manifest_free(m);
}

static void fuzz_index(const uint8_t *data, size_t size, const char *declared)
{
        const mx_descriptor *d = NULL;
        mx_index *idx = NULL, *again = NULL;
        mx_platform *p = NULL;
        mx_error *err = NULL;
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;

        if (mx_index_parse(&idx, data, size, declared, &err) < 0) {
                check(err && err->code < 0 && err->message && err->domain == MX_D_IMAGE);
                mx_error_free(err);
                return;
        }
        check(mx_index_to_json(&a, &alen, idx, NULL) == 0);
        check(mx_index_parse(&again, a, alen, idx->media_type, NULL) == 0);
        check(mx_index_to_json(&b, &blen, again, NULL) == 0);
        check(alen == blen && memcmp(a, b, alen) == 0);
        for (size_t i = 0; i < 2; i++) {
                static const char *const targets[] = {MX_MT_OCI_INDEX, MX_MT_DOCKER_MANIFEST_LIST};
                mx_index *c = NULL;
                char *cj = NULL;

                if (mx_index_convert(&c, idx, targets[i], NULL) == 0) {
                        check(mx_index_to_json(&cj, NULL, c, NULL) == 0);
                        mx_free(cj);
                        mx_index_free(c);
                }
        }
        if (mx_index_select(idx, NULL, &d, &err) == 0)
                check(d >= idx->manifests && d < idx->manifests + idx->n_manifests);
        else
                check(err && err->code == MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        if (mx_platform_parse(&p, "linux/arm/v7", NULL) == 0) {
                if (mx_index_select(idx, p, &d, NULL) == 0)
                        check(mx_platform_match(p, d->platform) > 0);
                mx_platform_free(p);
        }
        mx_index_free(idx);
        mx_index_free(again);
        mx_free(a);
        mx_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mx_content_kind k;

        if (size > MX_MANIFEST_MAX_BYTES + 16)
                return 0;
        k = mx_content_sniff(data, size, NULL);
        fuzz_manifest(data, size, NULL);
        fuzz_index(data, size, NULL);
        /* With the type a registry would have declared for what the content looks like. */
        if (k == MX_CONTENT_MANIFEST)
                fuzz_manifest(data, size, MX_MT_DOCKER_MANIFEST);
        else if (k == MX_CONTENT_INDEX)
                fuzz_index(data, size, MX_MT_DOCKER_MANIFEST_LIST);
        return 0;
}
