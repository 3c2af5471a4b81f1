/* SPDX-License-Identifier: Apache-2.0 */
/* Media types, key/value lists, descriptors, manifests, indexes and sniffing, on documents
 * written by umoci and skopeo and on hand-made hostile ones. */
#include "test-image-format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "buf.h"
#include "digest.h"
#include "tap.h"

#define D "data/formats/"

/* ---- media types ---- */

MX_TEST(media_type_classification)
{
        ASSERT_TRUE(mx_media_type_is_manifest(MX_MT_OCI_MANIFEST));
        ASSERT_TRUE(mx_media_type_is_manifest(MX_MT_DOCKER_MANIFEST));
        ASSERT_TRUE(mx_media_type_is_manifest(MX_MT_OCI_MANIFEST "; charset=utf-8"));
        ASSERT_TRUE(!mx_media_type_is_manifest(MX_MT_OCI_INDEX));
        ASSERT_TRUE(!mx_media_type_is_manifest(MX_MT_DOCKER_SCHEMA1));
        ASSERT_TRUE(!mx_media_type_is_manifest(NULL));
        ASSERT_TRUE(mx_media_type_is_index(MX_MT_OCI_INDEX));
        ASSERT_TRUE(mx_media_type_is_index(MX_MT_DOCKER_MANIFEST_LIST));
        ASSERT_TRUE(!mx_media_type_is_index(MX_MT_OCI_MANIFEST));
        ASSERT_TRUE(mx_media_type_is_config(MX_MT_OCI_CONFIG));
        ASSERT_TRUE(mx_media_type_is_config(MX_MT_DOCKER_CONFIG));
        ASSERT_TRUE(!mx_media_type_is_config(MX_MT_OCI_EMPTY));
        ASSERT_TRUE(mx_media_type_is_layer(MX_MT_OCI_LAYER_ND_ZSTD));
        ASSERT_TRUE(mx_media_type_is_layer(MX_MT_DOCKER_FOREIGN_GZIP));
        ASSERT_TRUE(!mx_media_type_is_layer("application/vnd.oci.image.layer.v1.tar+lz4"));
        ASSERT_TRUE(mx_media_type_is_nondistributable(MX_MT_OCI_LAYER_ND_GZIP));
        ASSERT_TRUE(mx_media_type_is_nondistributable(MX_MT_DOCKER_FOREIGN_GZIP));
        ASSERT_TRUE(!mx_media_type_is_nondistributable(MX_MT_OCI_LAYER_GZIP));
        ASSERT_TRUE(mx_media_type_is_docker(MX_MT_DOCKER_CONFIG));
        ASSERT_TRUE(!mx_media_type_is_docker(MX_MT_OCI_CONFIG));
        ASSERT_EQ(mx_media_type_compression(MX_MT_OCI_LAYER), MX_MEDIA_COMPRESSION_NONE);
        ASSERT_EQ(mx_media_type_compression(MX_MT_OCI_LAYER_GZIP), MX_MEDIA_COMPRESSION_GZIP);
        ASSERT_EQ(mx_media_type_compression(MX_MT_OCI_LAYER_ZSTD), MX_MEDIA_COMPRESSION_ZSTD);
        ASSERT_EQ(mx_media_type_compression(MX_MT_DOCKER_LAYER_GZIP), MX_MEDIA_COMPRESSION_GZIP);
        ASSERT_EQ(mx_media_type_compression(MX_MT_DOCKER_LAYER), MX_MEDIA_COMPRESSION_NONE);
        ASSERT_EQ(mx_media_type_compression(MX_MT_OCI_CONFIG), MX_MEDIA_COMPRESSION_UNKNOWN);
        ASSERT_EQ(mx_media_type_compression(NULL), MX_MEDIA_COMPRESSION_UNKNOWN);
}

MX_TEST(media_type_syntax)
{
        char long_type[300];

        ASSERT_TRUE(mx_media_type_is_valid(MX_MT_OCI_LAYER_GZIP));
        ASSERT_TRUE(mx_media_type_is_valid("application/spdx+json"));
        ASSERT_TRUE(!mx_media_type_is_valid("application"));
        ASSERT_TRUE(!mx_media_type_is_valid("application/"));
        ASSERT_TRUE(!mx_media_type_is_valid("/json"));
        ASSERT_TRUE(!mx_media_type_is_valid("not a media type"));
        ASSERT_TRUE(!mx_media_type_is_valid("application/json; charset=utf-8"));
        ASSERT_TRUE(!mx_media_type_is_valid("a/b/c"));
        ASSERT_TRUE(!mx_media_type_is_valid(NULL));
        memset(long_type, 'a', sizeof(long_type) - 1);
        long_type[sizeof(long_type) - 1] = '\0';
        long_type[100] = '/';
        ASSERT_TRUE(!mx_media_type_is_valid(long_type));
}

MX_TEST(media_type_conversion)
{
        ASSERT_STREQ(mx_media_type_to_docker(MX_MT_OCI_MANIFEST), MX_MT_DOCKER_MANIFEST);
        ASSERT_STREQ(mx_media_type_to_docker(MX_MT_OCI_INDEX), MX_MT_DOCKER_MANIFEST_LIST);
        ASSERT_STREQ(mx_media_type_to_docker(MX_MT_OCI_CONFIG), MX_MT_DOCKER_CONFIG);
        ASSERT_STREQ(mx_media_type_to_docker(MX_MT_OCI_LAYER_GZIP), MX_MT_DOCKER_LAYER_GZIP);
        ASSERT_STREQ(mx_media_type_to_docker(MX_MT_OCI_LAYER_ND_GZIP), MX_MT_DOCKER_FOREIGN_GZIP);
        ASSERT_STREQ(mx_media_type_to_docker(MX_MT_DOCKER_CONFIG), MX_MT_DOCKER_CONFIG);
        ASSERT_NULL(mx_media_type_to_docker(MX_MT_OCI_LAYER_ZSTD));
        ASSERT_NULL(mx_media_type_to_docker(MX_MT_OCI_EMPTY));
        ASSERT_NULL(mx_media_type_to_docker("application/x-unknown"));
        ASSERT_STREQ(mx_media_type_to_oci(MX_MT_DOCKER_MANIFEST), MX_MT_OCI_MANIFEST);
        ASSERT_STREQ(mx_media_type_to_oci(MX_MT_DOCKER_MANIFEST_LIST), MX_MT_OCI_INDEX);
        ASSERT_STREQ(mx_media_type_to_oci(MX_MT_DOCKER_LAYER_GZIP), MX_MT_OCI_LAYER_GZIP);
        ASSERT_STREQ(mx_media_type_to_oci(MX_MT_DOCKER_FOREIGN_GZIP), MX_MT_OCI_LAYER_ND_GZIP);
        ASSERT_STREQ(mx_media_type_to_oci(MX_MT_OCI_LAYER_ZSTD), MX_MT_OCI_LAYER_ZSTD);
        ASSERT_NULL(mx_media_type_to_oci(MX_MT_DOCKER_SCHEMA1));
        ASSERT_NULL(mx_media_type_to_oci(NULL));
}

/* ---- key/value lists ---- */

MX_TEST(kv_set_get_unset)
{
        mx_error *err = NULL;
        char **kv = NULL;

        ASSERT_EQ(mx_kv_count(kv), 0);
        ASSERT_NULL(mx_kv_get(kv, "a"));
        ASSERT_OK_E(mx_kv_set(&kv, "a", "1", &err), err);
        ASSERT_OK_E(mx_kv_set(&kv, "b", "2", &err), err);
        ASSERT_OK_E(mx_kv_set(&kv, "a", "3", &err), err);
        ASSERT_EQ(mx_kv_count(kv), 2);
        ASSERT_STREQ(kv[0], "a"); /* replaced in place: order kept */
        ASSERT_STREQ(mx_kv_get(kv, "a"), "3");
        ASSERT_STREQ(mx_kv_get(kv, "b"), "2");
        mx_kv_unset(&kv, "a");
        ASSERT_EQ(mx_kv_count(kv), 1);
        ASSERT_NULL(mx_kv_get(kv, "a"));
        ASSERT_STREQ(mx_kv_get(kv, "b"), "2");
        mx_kv_unset(&kv, "missing");
        ASSERT_EQ(mx_kv_count(kv), 1);
        mx_kv_free(kv);
}

MX_TEST(kv_set_refuses_null)
{
        mx_error *err = NULL;
        char **kv = NULL;

        ASSERT_ERR(mx_kv_set(&kv, NULL, "v", &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "key");
        ASSERT_NULL(kv);
        mx_error_free(err);
}

/* ---- descriptors ---- */

MX_TEST(descriptor_set_copy_clear)
{
        static const char dg[] =
                "sha256:c0aa8db9c857060e0cd388011fac8cd87f943f311a2352b0882bb83aa6aa96ba";
        mx_descriptor d = {0}, c = {0};
        mx_error *err = NULL;

        ASSERT_OK_E(mx_descriptor_set(&d, MX_MT_OCI_LAYER_GZIP, dg, 141, &err), err);
        ASSERT_OK_E(mx_kv_set(&d.annotations, "k", "v", &err), err);
        ASSERT_OK_E(mx_platform_parse(&d.platform, "linux/arm64", &err), err);
        ASSERT_OK_E(mx_descriptor_copy(&c, &d, &err), err);
        ASSERT_STREQ(c.media_type, MX_MT_OCI_LAYER_GZIP);
        ASSERT_STREQ(c.digest, dg);
        ASSERT_EQ(c.size, 141);
        ASSERT_STREQ(mx_kv_get(c.annotations, "k"), "v");
        ASSERT_STREQ(c.platform->architecture, "arm64");
        ASSERT_TRUE(c.digest != d.digest);
        mx_descriptor_clear(&d);
        ASSERT_NULL(d.digest);
        mx_descriptor_clear(&c);
}

MX_TEST(descriptor_set_refuses_bad_values)
{
        mx_descriptor d = {0};
        mx_error *err = NULL;

        ASSERT_ERR(mx_descriptor_set(&d, MX_MT_OCI_LAYER, "sha256:ABC", 1, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'digest'");
        ASSERT_ERR(mx_descriptor_set(
                           &d, "bad type",
                           "sha256:"
                           "0000000000000000000000000000000000000000000000000000000000000000",
                           1, &err),
                   MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'mediaType'");
        ASSERT_ERR(
                mx_descriptor_set(
                        &d, MX_MT_OCI_LAYER,
                        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        -5, &err),
                MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'size'");
        ASSERT_NULL(d.digest); /* untouched on failure */
        ASSERT_ERR(mx_descriptor_copy(&d, NULL, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "copy descriptor");
        ASSERT_NULL(d.media_type);
        mx_error_free(err);
}

/* ---- manifests ---- */

/* Parse, serialize, and when identical is set expect the very bytes back. */
static void round_trip_manifest(const char *rel, const char *declared, int identical)
{
        mx_manifest *m = NULL, *m2 = NULL;
        mx_error *err = NULL;
        char *out = NULL, *out2 = NULL;
        size_t len, out_len, out2_len;
        char *data = fmt_slurp(rel, &len);

        ASSERT_OK_E(mx_manifest_parse(&m, data, len, declared, &err), err);
        ASSERT_OK_E(mx_manifest_to_json(&out, &out_len, m, &err), err);
        ASSERT_EQ(out_len, strlen(out));
        if (identical && (out_len != len || memcmp(out, data, len) != 0))
                mx_tap_fail(__FILE__, __LINE__, "%s: not byte-identical:\n%s\n%s", rel, data, out);
        ASSERT_OK_E(mx_manifest_parse(&m2, out, out_len, NULL, &err), err);
        ASSERT_OK_E(mx_manifest_to_json(&out2, &out2_len, m2, &err), err);
        ASSERT_STREQ(out, out2);
        mx_manifest_free(m);
        mx_manifest_free(m2);
        mx_free(out);
        mx_free(out2);
        free(data);
}

MX_TEST(manifest_parse_umoci_without_media_type)
{
        mx_manifest *m = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(D "oci-manifest-umoci.json", &len);

        ASSERT_OK_E(mx_manifest_parse(&m, data, len, NULL, &err), err);
        ASSERT_EQ(m->schema_version, 2);
        ASSERT_STREQ(m->media_type, MX_MT_OCI_MANIFEST);
        ASSERT_STREQ(m->config.media_type, MX_MT_OCI_CONFIG);
        ASSERT_EQ(m->config.size, 524);
        ASSERT_EQ(m->n_layers, 1);
        ASSERT_STREQ(m->layers[0].media_type, MX_MT_OCI_LAYER_GZIP);
        ASSERT_STREQ(m->layers[0].digest,
                     "sha256:c0aa8db9c857060e0cd388011fac8cd87f943f311a2352b0882bb83aa6aa96ba");
        ASSERT_EQ(m->layers[0].size, 141);
        ASSERT_TRUE(mx_manifest_is_image(m));
        ASSERT_NULL(m->subject);
        ASSERT_NULL(m->annotations);
        mx_manifest_free(m);
        free(data);
        round_trip_manifest(D "oci-manifest-umoci.json", NULL, 0);
}

MX_TEST(manifest_round_trips_are_byte_identical)
{
        round_trip_manifest(D "oci-manifest-skopeo.json", NULL, 1);
        round_trip_manifest(D "oci-manifest-skopeo.json", MX_MT_OCI_MANIFEST, 1);
        round_trip_manifest(D "docker-manifest-skopeo.json", MX_MT_DOCKER_MANIFEST, 1);
        round_trip_manifest(D "docker-manifest-foreign.json", NULL, 1);
        round_trip_manifest(D "oci-manifest-artifact.json", NULL, 1);
        round_trip_manifest(D "oci-manifest-zstd.json", NULL, 0);
        round_trip_manifest(D "oci-manifest-no-layers.json", NULL, 0);
}

MX_TEST(manifest_parse_docker_and_artifact_fields)
{
        mx_manifest *m = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(D "docker-manifest-foreign.json", &len);

        ASSERT_OK_E(mx_manifest_parse(&m, data, len, MX_MT_DOCKER_MANIFEST "; charset=utf-8", &err),
                    err);
        ASSERT_STREQ(m->media_type, MX_MT_DOCKER_MANIFEST);
        ASSERT_EQ(m->n_layers, 2);
        ASSERT_TRUE(mx_media_type_is_nondistributable(m->layers[0].media_type));
        ASSERT_STREQ(m->layers[0].urls[0], "https://example.invalid/layer.tar.gz");
        ASSERT_NULL(m->layers[0].urls[1]);
        mx_manifest_free(m);
        free(data);

        data = fmt_slurp(D "oci-manifest-artifact.json", &len);
        ASSERT_OK_E(mx_manifest_parse(&m, data, len, NULL, &err), err);
        ASSERT_TRUE(!mx_manifest_is_image(m));
        ASSERT_STREQ(m->artifact_type, "application/vnd.example.sbom.v1+json");
        ASSERT_STREQ(m->config.media_type, MX_MT_OCI_EMPTY);
        ASSERT_STREQ(m->config.data, "e30=");
        ASSERT_STREQ(m->layers[0].media_type, "application/spdx+json");
        ASSERT_NOT_NULL(m->subject);
        ASSERT_STREQ(m->subject->media_type, MX_MT_OCI_MANIFEST);
        ASSERT_STREQ(mx_kv_get(m->annotations, MX_ANNOTATION_CREATED), "2024-01-01T00:00:00Z");
        ASSERT_STREQ(mx_kv_get(m->layers[0].annotations, "org.opencontainers.image.title"),
                     "sbom.spdx.json");
        mx_manifest_free(m);
        free(data);
}

typedef struct bad_case {
        const char *file;
        const char *declared;
        int code;
        const char *fragment;
} bad_case;

static void expect_manifest_failure(const bad_case *c)
{
        mx_manifest *m = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(c->file, &len);
        int r = mx_manifest_parse(&m, data, len, c->declared, &err);

        if (r != c->code) {
                char *msg = mx_error_format(err);

                mx_tap_fail(__FILE__, __LINE__, "%s: got %d (%s), expected %d: %s", c->file, r,
                            mx_code_name(r), c->code, msg ? msg : "(no error)");
        }
        ASSERT_NULL(m);
        ASSERT_ERROR(err, c->code, MX_D_IMAGE, c->fragment);
        mx_error_free(err);
        free(data);
}

MX_TEST(manifest_parse_refuses_hostile_documents)
{
        static const bad_case cases[] = {
                {D "bad/malformed.json", NULL, MX_EFORMAT, "not valid JSON"},
                {D "bad/manifest-index-mediatype.json", NULL, MX_EFORMAT, "'mediaType'"},
                {D "bad/manifest-unknown-mediatype.json", NULL, MX_EUNSUPPORTED,
                 "application/vnd.example.unknown+json"},
                {D "bad/digest-uppercase.json", NULL, MX_EFORMAT, "'layers[0].digest'"},
                {D "bad/digest-md5.json", NULL, MX_EUNSUPPORTED, "'layers[0].digest'"},
                {D "bad/size-negative.json", NULL, MX_EFORMAT, "'layers[0].size'"},
                {D "bad/size-absurd.json", NULL, MX_ETOOBIG, "'layers[0].size'"},
                {D "bad/config-size-absurd.json", NULL, MX_ETOOBIG, "'config.size'"},
                {D "bad/size-float.json", NULL, MX_EFORMAT, "'layers[0].size': must be an integer"},
                {D "bad/missing-config.json", NULL, MX_EFORMAT, "'config': is missing"},
                {D "bad/schema-version-3.json", NULL, MX_EFORMAT, "'schemaVersion'"},
                {D "bad/schema-version-missing.json", NULL, MX_EFORMAT, "'schemaVersion'"},
                {D "bad/schema1.json", NULL, MX_EUNSUPPORTED, "schema 1"},
                {D "bad/layer-unknown-mediatype.json", NULL, MX_EUNSUPPORTED,
                 "'layers[0].mediaType': unsupported layer media type "
                 "'application/vnd.example.layer.v1.tar+lz4'"},
                {D "bad/layer-invalid-mediatype.json", NULL, MX_EFORMAT,
                 "'layers[0].mediaType': invalid media type"},
                {D "bad/duplicate-keys.json", NULL, MX_EFORMAT, "duplicate"},
                {D "bad/deep-nesting.json", NULL, MX_EFORMAT, "not valid JSON"},
                {D "bad/annotation-not-string.json", NULL, MX_EFORMAT, "'annotations['a']'"},
                {D "bad/layer-not-object.json", NULL, MX_EFORMAT, "'layers[1]'"},
                {D "bad/nul-in-digest.json", NULL, MX_EFORMAT, "NUL"},
                {D "bad/not-an-object.json", NULL, MX_EFORMAT, "not a JSON object"},
                {D "bad/empty.json", NULL, MX_EFORMAT, "not valid JSON"},
                {D "bad/data-not-base64.json", NULL, MX_EFORMAT, "'config.data'"},
                {D "bad/data-mismatch.json", NULL, MX_EFORMAT, "'config.data': does not match"},
                {D "oci-manifest-skopeo.json", MX_MT_DOCKER_MANIFEST, MX_EFORMAT,
                 "does not match the declared"},
                {D "oci-manifest-skopeo.json", MX_MT_OCI_INDEX, MX_EFORMAT, "not a manifest"},
                {D "oci-manifest-skopeo.json", MX_MT_DOCKER_SCHEMA1_SIGNED, MX_EUNSUPPORTED,
                 "schema 1"},
                {D "oci-manifest-skopeo.json", "application/x-tar", MX_EUNSUPPORTED,
                 "'application/x-tar'"},
                {D "oci-manifest-umoci.json", MX_MT_DOCKER_MANIFEST, MX_EFORMAT,
                 "'mediaType': is missing"},
                {D "oci-index-multiarch.json", NULL, MX_EFORMAT, "'mediaType'"},
                {D "oci-index-umoci.json", NULL, MX_EFORMAT,
                 "'config': is missing (the document "
                 "is an index)"},
        };

        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++)
                expect_manifest_failure(&cases[i]);
}

MX_TEST(manifest_parse_refuses_10001_layers)
{
        mx_buf b = MX_BUF_INIT;
        mx_manifest *m = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_buf_puts(&b,
                              "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MX_MT_OCI_CONFIG
                              "\",\"digest\":\"sha256:"
                              "0000000000000000000000000000000000000000000000000000000000000000"
                              "\",\"size\":2},\"layers\":["));
        for (int i = 0; i < 10001; i++)
                ASSERT_OK(mx_buf_printf(&b,
                                        "%s{\"mediaType\":\"%s\",\"digest\":\"sha256:%064d\","
                                        "\"size\":%d}",
                                        i ? "," : "", MX_MT_OCI_LAYER_GZIP, i, i));
        ASSERT_OK(mx_buf_puts(&b, "]}"));
        ASSERT_TRUE(b.len < MX_MANIFEST_MAX_BYTES);
        ASSERT_ERR(mx_manifest_parse(&m, b.ptr, b.len, NULL, &err), MX_ETOOBIG);
        ASSERT_ERROR(err, MX_ETOOBIG, MX_D_IMAGE, "'layers': has 10001 entries");
        ASSERT_NULL(m);
        mx_error_free(err);
        err = NULL;

        /* 10,000 is allowed. */
        mx_buf_truncate(&b, 0);
        ASSERT_OK(mx_buf_puts(&b,
                              "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MX_MT_OCI_CONFIG
                              "\",\"digest\":\"sha256:"
                              "0000000000000000000000000000000000000000000000000000000000000000"
                              "\",\"size\":2},\"layers\":["));
        for (int i = 0; i < 10000; i++)
                ASSERT_OK(mx_buf_printf(&b,
                                        "%s{\"mediaType\":\"%s\",\"digest\":\"sha256:%064d\","
                                        "\"size\":%d}",
                                        i ? "," : "", MX_MT_OCI_LAYER_GZIP, i, i));
        ASSERT_OK(mx_buf_puts(&b, "]}"));
        ASSERT_OK_E(mx_manifest_parse(&m, b.ptr, b.len, NULL, &err), err);
        ASSERT_EQ(m->n_layers, 10000);
        mx_manifest_free(m);
        mx_buf_clear(&b);
}

MX_TEST(manifest_parse_refuses_oversized_document)
{
        size_t len = MX_MANIFEST_MAX_BYTES + 1;
        char *data = malloc(len);
        mx_manifest *m = NULL;
        mx_error *err = NULL;

        ASSERT_NOT_NULL(data);
        memset(data, ' ', len);
        data[0] = '{';
        data[len - 1] = '}';
        ASSERT_ERR(mx_manifest_parse(&m, data, len, NULL, &err), MX_ETOOBIG);
        ASSERT_ERROR(err, MX_ETOOBIG, MX_D_IMAGE, "more than the 4194304 allowed");
        ASSERT_ERR(mx_manifest_parse(NULL, data, len, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        free(data);
}

MX_TEST(manifest_build_and_serialize)
{
        static const char cfg[] =
                "sha256:2336635938be4156baab69a930985f369e35ee5badc9accc674b0a58bfdcd397";
        static const char layer[] =
                "sha256:c0aa8db9c857060e0cd388011fac8cd87f943f311a2352b0882bb83aa6aa96ba";
        mx_manifest *m = NULL, *p = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len, exp_len;
        char *expected = fmt_slurp(D "docker-manifest-skopeo.json", &exp_len);

        ASSERT_OK_E(mx_manifest_new(&m, MX_MT_DOCKER_MANIFEST, &err), err);
        ASSERT_OK_E(mx_descriptor_set(&m->config, MX_MT_DOCKER_CONFIG, cfg, 524, &err), err);
        ASSERT_OK_E(mx_manifest_add_layer(m, MX_MT_DOCKER_LAYER_GZIP, layer, 141, &err), err);
        ASSERT_OK_E(mx_manifest_to_json(&out, &len, m, &err), err);
        /* What skopeo wrote for the same image, byte for byte. */
        ASSERT_STREQ(out, expected);
        ASSERT_EQ(len, exp_len);
        ASSERT_OK_E(mx_manifest_parse(&p, out, len, MX_MT_DOCKER_MANIFEST, &err), err);
        ASSERT_EQ(p->n_layers, 1);
        mx_manifest_free(p);
        mx_manifest_free(m);
        mx_free(out);
        free(expected);
}

MX_TEST(manifest_build_refuses_bad_input)
{
        mx_manifest *m = NULL;
        mx_error *err = NULL;
        char *out = NULL;

        ASSERT_ERR(mx_manifest_new(&m, MX_MT_OCI_INDEX, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "media type must be");
        ASSERT_NULL(m);
        ASSERT_OK_E(mx_manifest_new(&m, MX_MT_OCI_MANIFEST, &err), err);
        /* No config yet. */
        ASSERT_ERR(mx_manifest_to_json(&out, NULL, m, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'config.mediaType': is missing");
        ASSERT_NULL(out);
        ASSERT_ERR(mx_manifest_add_layer(m, MX_MT_OCI_LAYER, "sha256:nothex", 1, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'digest'");
        ASSERT_ERR(
                mx_manifest_add_layer(
                        m, MX_MT_OCI_LAYER,
                        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        MX_LAYER_MAX_SIZE + 1, &err),
                MX_ETOOBIG);
        ASSERT_EQ(m->n_layers, 0);
        /* An image manifest with an unknown layer type cannot be written either. */
        ASSERT_OK_E(
                mx_descriptor_set(
                        &m->config, MX_MT_OCI_CONFIG,
                        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        2, &err),
                err);
        ASSERT_OK_E(
                mx_manifest_add_layer(
                        m, "application/x-lz4",
                        "sha256:0000000000000000000000000000000000000000000000000000000000000001",
                        3, &err),
                err);
        ASSERT_ERR(mx_manifest_to_json(&out, NULL, m, &err), MX_EUNSUPPORTED);
        ASSERT_ERROR(err, MX_EUNSUPPORTED, MX_D_IMAGE, "'layers[0].mediaType'");
        mx_manifest_free(m);
        mx_error_free(err);
}

MX_TEST(manifest_convert_between_oci_and_docker)
{
        mx_manifest *oci = NULL, *docker = NULL, *back = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len, exp_len;
        char *data = fmt_slurp(D "oci-manifest-umoci.json", &len);
        char *expected = fmt_slurp(D "docker-manifest-skopeo.json", &exp_len);

        ASSERT_OK_E(mx_manifest_parse(&oci, data, len, NULL, &err), err);
        ASSERT_OK_E(mx_kv_set(&oci->annotations, "a", "b", &err), err);
        ASSERT_OK_E(mx_manifest_convert(&docker, oci, MX_MT_DOCKER_MANIFEST, &err), err);
        ASSERT_STREQ(docker->media_type, MX_MT_DOCKER_MANIFEST);
        ASSERT_STREQ(docker->config.media_type, MX_MT_DOCKER_CONFIG);
        ASSERT_STREQ(docker->layers[0].media_type, MX_MT_DOCKER_LAYER_GZIP);
        ASSERT_NULL(docker->annotations);
        /* skopeo's conversion of the same image, byte for byte. */
        ASSERT_OK_E(mx_manifest_to_json(&out, &len, docker, &err), err);
        ASSERT_STREQ(out, expected);
        ASSERT_OK_E(mx_manifest_convert(&back, docker, MX_MT_OCI_MANIFEST, &err), err);
        ASSERT_STREQ(back->config.media_type, MX_MT_OCI_CONFIG);
        ASSERT_STREQ(back->layers[0].media_type, MX_MT_OCI_LAYER_GZIP);
        ASSERT_STREQ(oci->layers[0].media_type, MX_MT_OCI_LAYER_GZIP); /* source untouched */
        mx_manifest_free(oci);
        mx_manifest_free(docker);
        mx_manifest_free(back);
        mx_free(out);
        free(data);
        free(expected);
}

MX_TEST(manifest_convert_refuses_what_docker_cannot_hold)
{
        mx_manifest *m = NULL, *c = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len;
        char *data = fmt_slurp(D "oci-manifest-zstd.json", &len);

        ASSERT_OK_E(mx_manifest_parse(&m, data, len, NULL, &err), err);
        ASSERT_ERR(mx_manifest_convert(&c, m, MX_MT_DOCKER_MANIFEST, &err), MX_EUNSUPPORTED);
        ASSERT_ERROR(err, MX_EUNSUPPORTED, MX_D_IMAGE, "'layers[0].mediaType'");
        ASSERT_NULL(c);
        ASSERT_ERR(mx_manifest_convert(&c, m, MX_MT_OCI_INDEX, &err), MX_EINVAL);
        mx_manifest_free(m);
        free(data);

        data = fmt_slurp(D "oci-manifest-artifact.json", &len);
        ASSERT_OK_E(mx_manifest_parse(&m, data, len, NULL, &err), err);
        ASSERT_ERR(mx_manifest_convert(&c, m, MX_MT_DOCKER_MANIFEST, &err), MX_EUNSUPPORTED);
        ASSERT_ERROR(err, MX_EUNSUPPORTED, MX_D_IMAGE, "artifacts have no Docker form");
        /* Nor can a Docker manifest carry a subject. */
        free(m->media_type);
        m->media_type = strdup(MX_MT_DOCKER_MANIFEST);
        ASSERT_ERR(mx_manifest_to_json(&out, NULL, m, &err), MX_EUNSUPPORTED);
        ASSERT_ERROR(err, MX_EUNSUPPORTED, MX_D_IMAGE, "'artifactType'");
        ASSERT_NULL(out);
        mx_manifest_free(m);
        mx_error_free(err);
        free(data);
}

/* ---- indexes ---- */

static void round_trip_index(const char *rel, const char *declared, int identical)
{
        mx_index *idx = NULL, *idx2 = NULL;
        mx_error *err = NULL;
        char *out = NULL, *out2 = NULL;
        size_t len, out_len;
        char *data = fmt_slurp(rel, &len);

        ASSERT_OK_E(mx_index_parse(&idx, data, len, declared, &err), err);
        ASSERT_OK_E(mx_index_to_json(&out, &out_len, idx, &err), err);
        if (identical && (out_len != len || memcmp(out, data, len) != 0))
                mx_tap_fail(__FILE__, __LINE__, "%s: not byte-identical:\n%s\n%s", rel, data, out);
        ASSERT_OK_E(mx_index_parse(&idx2, out, out_len, NULL, &err), err);
        ASSERT_OK_E(mx_index_to_json(&out2, NULL, idx2, &err), err);
        ASSERT_STREQ(out, out2);
        mx_index_free(idx);
        mx_index_free(idx2);
        mx_free(out);
        mx_free(out2);
        free(data);
}

MX_TEST(index_parse_real_documents)
{
        mx_index *idx = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(D "oci-index-skopeo.json", &len);

        ASSERT_OK_E(mx_index_parse(&idx, data, len, NULL, &err), err);
        ASSERT_STREQ(idx->media_type, MX_MT_OCI_INDEX);
        ASSERT_EQ(idx->n_manifests, 2);
        ASSERT_STREQ(mx_kv_get(idx->manifests[1].annotations, MX_ANNOTATION_REF_NAME),
                     "fromdocker");
        ASSERT_EQ(idx->manifests[1].size, 401);
        ASSERT_NULL(idx->manifests[0].platform);
        mx_index_free(idx);
        free(data);

        data = fmt_slurp(D "oci-index-multiarch.json", &len);
        ASSERT_OK_E(mx_index_parse(&idx, data, len, MX_MT_OCI_INDEX, &err), err);
        ASSERT_EQ(idx->n_manifests, 7);
        ASSERT_STREQ(idx->manifests[1].platform->variant, "v8");
        ASSERT_STREQ(idx->manifests[5].platform->os_version, "10.0.17763.4499");
        ASSERT_STREQ(idx->manifests[5].platform->os_features[0], "win32k");
        ASSERT_STREQ(mx_kv_get(idx->annotations, MX_ANNOTATION_CREATED), "2023-06-14T09:21:33Z");
        mx_index_free(idx);
        free(data);

        data = fmt_slurp(D "docker-manifest-list.json", &len);
        ASSERT_OK_E(mx_index_parse(&idx, data, len, NULL, &err), err);
        ASSERT_STREQ(idx->media_type, MX_MT_DOCKER_MANIFEST_LIST);
        ASSERT_EQ(idx->n_manifests, 4);
        ASSERT_STREQ(idx->manifests[1].platform->architecture, "arm");
        mx_index_free(idx);
        free(data);

        round_trip_index(D "oci-index-multiarch.json", NULL, 1);
        round_trip_index(D "docker-manifest-list.json", MX_MT_DOCKER_MANIFEST_LIST, 1);
        round_trip_index(D "oci-index-skopeo.json", NULL, 0);
        round_trip_index(D "oci-index-umoci.json", NULL, 0);
}

static void expect_index_failure(const bad_case *c)
{
        mx_index *idx = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(c->file, &len);
        int r = mx_index_parse(&idx, data, len, c->declared, &err);

        if (r != c->code) {
                char *msg = mx_error_format(err);

                mx_tap_fail(__FILE__, __LINE__, "%s: got %d (%s), expected %d: %s", c->file, r,
                            mx_code_name(r), c->code, msg ? msg : "(no error)");
        }
        ASSERT_NULL(idx);
        ASSERT_ERROR(err, c->code, MX_D_IMAGE, c->fragment);
        mx_error_free(err);
        free(data);
}

MX_TEST(index_parse_refuses_hostile_documents)
{
        static const bad_case cases[] = {
                {D "bad/index-platform-no-arch.json", NULL, MX_EFORMAT,
                 "'manifests[0].platform.architecture': is missing"},
                {D "bad/list-missing-platform.json", NULL, MX_EFORMAT,
                 "'manifests[1].platform': is missing"},
                {D "bad/list-missing-mediatype.json", MX_MT_DOCKER_MANIFEST_LIST, MX_EFORMAT,
                 "'mediaType': is missing"},
                {D "bad/index-manifests-not-array.json", NULL, MX_EFORMAT, "'manifests'"},
                {D "bad/malformed.json", NULL, MX_EFORMAT, "not valid JSON"},
                {D "bad/deep-nesting.json", NULL, MX_EFORMAT, "not valid JSON"},
                {D "oci-manifest-skopeo.json", NULL, MX_EFORMAT, "'mediaType'"},
                {D "oci-manifest-umoci.json", NULL, MX_EFORMAT,
                 "'manifests': is missing (the document is a manifest)"},
                {D "oci-index-multiarch.json", MX_MT_DOCKER_MANIFEST_LIST, MX_EFORMAT,
                 "does not match the declared"},
                {D "oci-index-umoci.json", MX_MT_OCI_MANIFEST, MX_EFORMAT, "not an index"},
        };

        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++)
                expect_index_failure(&cases[i]);
}

MX_TEST(index_build_and_serialize)
{
        mx_descriptor d = {0};
        mx_index *idx = NULL, *p = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len;

        ASSERT_OK_E(mx_index_new(&idx, MX_MT_OCI_INDEX, &err), err);
        ASSERT_OK_E(
                mx_descriptor_set(
                        &d, MX_MT_OCI_MANIFEST,
                        "sha256:c3638806bcc9cc90655790daca0e64c4752e86357a2ddcd7f22c5300a3349977",
                        345, &err),
                err);
        ASSERT_OK_E(mx_kv_set(&d.annotations, MX_ANNOTATION_REF_NAME, "base", &err), err);
        ASSERT_OK_E(mx_index_add(idx, &d, &err), err);
        ASSERT_OK_E(mx_index_to_json(&out, &len, idx, &err), err);
        ASSERT_STREQ(out, "{\"schemaVersion\":2,\"mediaType\":\"" MX_MT_OCI_INDEX
                          "\",\"manifests\":[{\"mediaType\":\"" MX_MT_OCI_MANIFEST
                          "\",\"digest\":\"sha256:"
                          "c3638806bcc9cc90655790daca0e64c4752e86357a2ddcd7f22c5300a3349977\","
                          "\"size\":345,\"annotations\":{\"org.opencontainers.image.ref.name\":"
                          "\"base\"}}]}");
        ASSERT_OK_E(mx_index_parse(&p, out, len, NULL, &err), err);
        ASSERT_EQ(p->n_manifests, 1);
        mx_index_free(p);
        mx_index_free(idx);
        mx_free(out);
        mx_descriptor_clear(&d);
}

MX_TEST(index_build_refuses_bad_input)
{
        mx_descriptor d = {0};
        mx_index *idx = NULL;
        mx_error *err = NULL;
        char *out = NULL;

        ASSERT_ERR(mx_index_new(&idx, MX_MT_OCI_MANIFEST, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "media type must be");
        ASSERT_OK_E(mx_index_new(&idx, MX_MT_DOCKER_MANIFEST_LIST, &err), err);
        ASSERT_ERR(mx_index_add(idx, &d, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'mediaType': is missing");
        ASSERT_OK_E(
                mx_descriptor_set(
                        &d, MX_MT_DOCKER_MANIFEST,
                        "sha256:c3638806bcc9cc90655790daca0e64c4752e86357a2ddcd7f22c5300a3349977",
                        345, &err),
                err);
        ASSERT_OK_E(mx_index_add(idx, &d, &err), err);
        /* A Docker manifest list needs a platform on every entry. */
        ASSERT_ERR(mx_index_to_json(&out, NULL, idx, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'manifests[0]': needs a platform");
        ASSERT_NULL(out);
        mx_index_free(idx);
        mx_descriptor_clear(&d);
        mx_error_free(err);
}

MX_TEST(index_convert_between_oci_and_docker)
{
        mx_index *idx = NULL, *docker = NULL, *back = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len;
        char *data = fmt_slurp(D "oci-index-multiarch.json", &len);

        ASSERT_OK_E(mx_index_parse(&idx, data, len, NULL, &err), err);
        ASSERT_OK_E(mx_index_convert(&docker, idx, MX_MT_DOCKER_MANIFEST_LIST, &err), err);
        ASSERT_STREQ(docker->media_type, MX_MT_DOCKER_MANIFEST_LIST);
        ASSERT_EQ(docker->n_manifests, 7);
        for (size_t i = 0; i < docker->n_manifests; i++)
                ASSERT_STREQ(docker->manifests[i].media_type, MX_MT_DOCKER_MANIFEST);
        ASSERT_STREQ(docker->manifests[1].platform->variant, "v8");
        ASSERT_STREQ(docker->manifests[0].digest, idx->manifests[0].digest);
        ASSERT_NULL(docker->annotations);
        ASSERT_OK_E(mx_index_to_json(&out, &len, docker, &err), err);
        ASSERT_TRUE(strstr(out, "\"size\":") < strstr(out, "\"digest\":"));
        ASSERT_OK_E(mx_index_convert(&back, docker, MX_MT_OCI_INDEX, &err), err);
        ASSERT_STREQ(back->manifests[3].media_type, MX_MT_OCI_MANIFEST);
        ASSERT_STREQ(idx->manifests[3].media_type, MX_MT_OCI_MANIFEST); /* source untouched */
        mx_index_free(idx);
        mx_index_free(docker);
        mx_index_free(back);
        mx_free(out);
        free(data);
}

MX_TEST(index_convert_refuses_what_docker_cannot_hold)
{
        mx_index *idx = NULL, *c = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(D "oci-index-skopeo.json", &len);

        ASSERT_OK_E(mx_index_parse(&idx, data, len, NULL, &err), err);
        /* An OCI layout's index names images, not platforms. */
        ASSERT_ERR(mx_index_convert(&c, idx, MX_MT_DOCKER_MANIFEST_LIST, &err), MX_EUNSUPPORTED);
        ASSERT_ERROR(err, MX_EUNSUPPORTED, MX_D_IMAGE, "'manifests[0].platform'");
        ASSERT_NULL(c);
        free(idx->manifests[1].media_type);
        idx->manifests[1].media_type = strdup("application/vnd.example.thing+json");
        ASSERT_OK_E(mx_platform_parse(&idx->manifests[0].platform, "linux/amd64", &err), err);
        ASSERT_OK_E(mx_platform_parse(&idx->manifests[1].platform, "linux/arm64", &err), err);
        ASSERT_ERR(mx_index_convert(&c, idx, MX_MT_DOCKER_MANIFEST_LIST, &err), MX_EUNSUPPORTED);
        ASSERT_ERROR(err, MX_EUNSUPPORTED, MX_D_IMAGE,
                     "'manifests[1].mediaType': 'application/vnd.example.thing+json'");
        ASSERT_ERR(mx_index_convert(&c, idx, MX_MT_OCI_MANIFEST, &err), MX_EINVAL);
        mx_index_free(idx);
        mx_error_free(err);
        free(data);
}

/* ---- sniffing ---- */

static mx_content_kind sniff_file(const char *rel, const char *declared)
{
        size_t len;
        char *data = fmt_slurp(rel, &len);
        mx_content_kind k = mx_content_sniff(data, len, declared);

        free(data);
        return k;
}

MX_TEST(content_sniff_tells_documents_apart)
{
        ASSERT_EQ(sniff_file(D "oci-manifest-umoci.json", NULL), MX_CONTENT_MANIFEST);
        ASSERT_EQ(sniff_file(D "oci-manifest-skopeo.json", NULL), MX_CONTENT_MANIFEST);
        ASSERT_EQ(sniff_file(D "docker-manifest-skopeo.json", NULL), MX_CONTENT_MANIFEST);
        ASSERT_EQ(sniff_file(D "oci-index-umoci.json", NULL), MX_CONTENT_INDEX);
        ASSERT_EQ(sniff_file(D "oci-index-umoci.json", "application/json"), MX_CONTENT_INDEX);
        ASSERT_EQ(sniff_file(D "docker-manifest-list.json", NULL), MX_CONTENT_INDEX);
        ASSERT_EQ(sniff_file(D "oci-config-umoci.json", NULL), MX_CONTENT_CONFIG);
        ASSERT_EQ(sniff_file(D "docker-config-daemon.json", NULL), MX_CONTENT_CONFIG);
        ASSERT_EQ(sniff_file(D "bad/schema1.json", NULL), MX_CONTENT_SCHEMA1);
        /* The declared type wins when it is known. */
        ASSERT_EQ(sniff_file(D "oci-manifest-umoci.json", MX_MT_OCI_INDEX), MX_CONTENT_INDEX);
        ASSERT_EQ(sniff_file(D "oci-index-umoci.json", MX_MT_DOCKER_SCHEMA1_SIGNED),
                  MX_CONTENT_SCHEMA1);
}

MX_TEST(content_sniff_unknown_on_garbage)
{
        ASSERT_EQ(sniff_file(D "bad/malformed.json", NULL), MX_CONTENT_UNKNOWN);
        ASSERT_EQ(sniff_file(D "bad/not-an-object.json", NULL), MX_CONTENT_UNKNOWN);
        ASSERT_EQ(sniff_file(D "docker-archive-manifest.json", NULL), MX_CONTENT_UNKNOWN);
        ASSERT_EQ(sniff_file(D "bad/empty.json", NULL), MX_CONTENT_UNKNOWN);
        ASSERT_EQ(mx_content_sniff(NULL, 0, NULL), MX_CONTENT_UNKNOWN);
        ASSERT_EQ(mx_content_sniff("{}", 2, "text/plain"), MX_CONTENT_UNKNOWN);
}
