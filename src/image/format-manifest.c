/* SPDX-License-Identifier: Apache-2.0 */
/* Image manifests and indexes (OCI and Docker v2 schema 2): strict bounded parsing,
 * canonical serialization, building, conversion, and telling documents apart. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "format-internal.h"
#include "json.h"
#include "strv.h"

#define DECLARED_MAX 256

static int is_schema1(const char *mt)
{
        return mt && (strcmp(mt, MX_MT_DOCKER_SCHEMA1) == 0 ||
                      strcmp(mt, MX_MT_DOCKER_SCHEMA1_SIGNED) == 0);
}

/*
 * Work out a document's media type from the declared one and its own "mediaType".
 * want_index selects which family is acceptable. *effective points at static storage.
 */
static int resolve_media_type(const char **effective, const json_t *j, const char *declared,
                              int want_index, const char *doc, mx_error **err)
{
        char buf[DECLARED_MAX], ex[MX_EXCERPT_MAX], ex2[MX_EXCERPT_MAX];
        const char *decl = mx_image__declared(buf, sizeof(buf), declared);
        const char *what = want_index ? "an index" : "a manifest";
        cleanup_free char *in_doc = NULL;
        const char *mt;
        int r;

        if (decl) {
                if (strlen(decl) >= sizeof(buf))
                        return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                            "%s declared with an unsupported media type '%s'", doc,
                                            mx_image__excerpt(ex, decl));
                if (is_schema1(decl))
                        return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                            "%s is a Docker schema 1 manifest ('%s'), which is "
                                            "not supported",
                                            doc, decl);
                if (want_index ? mx_media_type_is_manifest(decl) : mx_media_type_is_index(decl))
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "%s was declared as '%s', which is not %s", doc, decl,
                                            what);
                if (want_index ? !mx_media_type_is_index(decl) : !mx_media_type_is_manifest(decl))
                        return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                            "%s declared with an unsupported media type '%s'", doc,
                                            mx_image__excerpt(ex, decl));
        }
        r = mx_image__get_string(&in_doc, j, "mediaType", 0, doc, "", err);
        if (r < 0)
                return r;
        if (in_doc) {
                if (is_schema1(in_doc))
                        return mx_image__field_error(err, MX_EUNSUPPORTED, doc, "mediaType",
                                                     "Docker schema 1 ('%s') is not supported",
                                                     in_doc);
                if (want_index ? mx_media_type_is_manifest(in_doc) : mx_media_type_is_index(in_doc))
                        return mx_image__field_error(err, MX_EFORMAT, doc, "mediaType",
                                                     "'%s' is not %s", in_doc, what);
                mt = mx_image__media_type_static(in_doc);
                if (!mt || strcmp(mt, in_doc) != 0 ||
                    (want_index ? !mx_media_type_is_index(mt) : !mx_media_type_is_manifest(mt)))
                        return mx_image__field_error(err, MX_EUNSUPPORTED, doc, "mediaType",
                                                     "unsupported media type '%s'",
                                                     mx_image__excerpt(ex, in_doc));
                if (decl && strcmp(decl, mt) != 0)
                        return mx_image__field_error(err, MX_EFORMAT, doc, "mediaType",
                                                     "'%s' does not match the declared '%s'",
                                                     mx_image__excerpt(ex, mt),
                                                     mx_image__excerpt(ex2, decl));
                *effective = mt;
                return 0;
        }
        mt = decl ? mx_image__media_type_static(decl)
                  : (want_index ? MX_MT_OCI_INDEX : MX_MT_OCI_MANIFEST);
        /* Docker's distribution refuses its own documents without mediaType; so do we. */
        if (mx_media_type_is_docker(mt))
                return mx_image__field_error(err, MX_EFORMAT, doc, "mediaType",
                                             "is missing (required in Docker documents)");
        *effective = mt;
        return 0;
}

static int parse_schema_version(const json_t *j, const char *doc, mx_error **err)
{
        int64_t v;
        int present, r;

        r = mx_image__get_int(&v, &present, j, "schemaVersion", INT64_MIN, INT64_MAX, doc, "", err);
        if (r < 0)
                return r;
        if (!present)
                return mx_image__field_error(err, MX_EFORMAT, doc, "schemaVersion", "is missing");
        if (v == 1)
                return mx_image__field_error(err, MX_EUNSUPPORTED, doc, "schemaVersion",
                                             "Docker schema 1 manifests are not supported");
        if (v != 2)
                return mx_image__field_error(err, MX_EFORMAT, doc, "schemaVersion",
                                             "must be 2, not %lld", (long long)v);
        return 0;
}

/* Parse the array at key into *out / *n_out as descriptors. */
static int parse_descriptor_array(mx_descriptor **out, size_t *n_out, const json_t *j,
                                  const char *key, int64_t max_size, const char *doc,
                                  mx_error **err)
{
        json_t *a = json_object_get(j, key);
        char p[MX_FIELD_PATH_MAX];
        mx_descriptor *v;
        size_t n;

        if (!a || json_is_null(a))
                return mx_image__field_error(err, MX_EFORMAT, doc, key, "is missing");
        if (!json_is_array(a))
                return mx_image__field_error(err, MX_EFORMAT, doc, key, "must be an array");
        n = json_array_size(a);
        if (n > MX_IMAGE_MAX_ENTRIES)
                return mx_image__field_error(err, MX_ETOOBIG, doc, key,
                                             "has %zu entries, more than the %d allowed", n,
                                             MX_IMAGE_MAX_ENTRIES);
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return mx_error_oom(err);
        for (size_t i = 0; i < n; i++) {
                int r = mx_image__descriptor_parse(&v[i], json_array_get(a, i), max_size, doc,
                                                   mx_image__path_index(p, key, i), err);

                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                mx_descriptor_clear(&v[k]);
                        free(v);
                        return r;
                }
        }
        *out = v;
        *n_out = n;
        return 0;
}

static int parse_subject(mx_descriptor **out, const json_t *j, const char *doc, mx_error **err)
{
        json_t *v = json_object_get(j, "subject");
        mx_descriptor *d;
        int r;

        *out = NULL;
        if (!v || json_is_null(v))
                return 0;
        d = calloc(1, sizeof(*d));
        if (!d)
                return mx_error_oom(err);
        r = mx_image__descriptor_parse(d, v, MX_MANIFEST_MAX_SIZE, doc, "subject", err);
        if (r < 0) {
                free(d);
                return r;
        }
        *out = d;
        return 0;
}

void mx_manifest_free(mx_manifest *m)
{
        if (!m)
                return;
        free(m->media_type);
        free(m->artifact_type);
        mx_descriptor_clear(&m->config);
        for (size_t i = 0; m->layers && i < m->n_layers; i++)
                mx_descriptor_clear(&m->layers[i]);
        free(m->layers);
        mx_descriptor_free(m->subject);
        mx_kv_free(m->annotations);
        free(m);
}

int mx_manifest_is_image(const mx_manifest *m)
{
        return m && mx_media_type_is_config(m->config.media_type);
}

static int check_layer_type(const mx_descriptor *d, size_t i, const char *doc, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];

        if (mx_media_type_is_layer(d->media_type))
                return 0;
        mx_image__pathf(p, "layers[%zu].mediaType", i);
        return mx_image__field_error(err, MX_EUNSUPPORTED, doc, p,
                                     "unsupported layer media type '%s'",
                                     mx_image__excerpt(ex, d->media_type));
}

/* The shared head of both parsers: bounded JSON, schemaVersion 2, the effective media type. */
static int load_document(json_t **j_out, const char **mt_out, const char *data, size_t len,
                         const char *declared_media_type, int is_index, const char *doc,
                         mx_error **err)
{
        cleanup_json json_t *j = NULL;
        int r;

        r = mx_image__load_json(&j, data, len, MX_MANIFEST_MAX_BYTES, doc, err);
        if (r < 0)
                return r;
        r = parse_schema_version(j, doc, err);
        if (r < 0)
                return r;
        r = resolve_media_type(mt_out, j, declared_media_type, is_index, doc, err);
        if (r < 0)
                return r;
        *j_out = TAKE_PTR(j);
        return 0;
}

int mx_manifest_parse(mx_manifest **out, const void *data, size_t len,
                      const char *declared_media_type, mx_error **err)
{
        static const char doc[] = "manifest";
        cleanup(mx_manifest_freep) mx_manifest *m = NULL;
        cleanup_json json_t *j = NULL;
        const char *mt = NULL;
        json_t *cfg;
        int docker, r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "parse manifest: no output");
        r = load_document(&j, &mt, data, len, declared_media_type, 0, doc, err);
        if (r < 0)
                return r;
        docker = mx_media_type_is_docker(mt);
        m = calloc(1, sizeof(*m));
        if (!m)
                return mx_error_oom(err);
        m->schema_version = 2;
        m->media_type = strdup(mt);
        if (!m->media_type)
                return mx_error_oom(err);
        cfg = json_object_get(j, "config");
        if (!cfg || json_is_null(cfg))
                return mx_image__field_error(err, MX_EFORMAT, doc, "config",
                                             json_object_get(j, "manifests")
                                                     ? "is missing (the document is an index)"
                                                     : "is missing");
        r = mx_image__descriptor_parse(&m->config, cfg, MX_CONFIG_MAX_SIZE, doc, "config", err);
        if (r < 0)
                return r;
        r = parse_descriptor_array(&m->layers, &m->n_layers, j, "layers", MX_LAYER_MAX_SIZE, doc,
                                   err);
        if (r < 0)
                return r;
        if (mx_manifest_is_image(m))
                for (size_t i = 0; i < m->n_layers; i++) {
                        r = check_layer_type(&m->layers[i], i, doc, err);
                        if (r < 0)
                                return r;
                }
        /* Docker's schema 2 has no artifactType, subject or top-level annotations: like
         * Docker, ignore them there rather than carry what its form cannot write. */
        if (!docker) {
                r = mx_image__get_string(&m->artifact_type, j, "artifactType", 0, doc, "", err);
                if (r < 0)
                        return r;
                if (m->artifact_type && !mx_media_type_is_valid(m->artifact_type)) {
                        char ex[MX_EXCERPT_MAX];

                        return mx_image__field_error(err, MX_EFORMAT, doc, "artifactType",
                                                     "invalid media type '%s'",
                                                     mx_image__excerpt(ex, m->artifact_type));
                }
                r = parse_subject(&m->subject, j, doc, err);
                if (r < 0)
                        return r;
                r = mx_image__get_kv(&m->annotations, j, "annotations", doc, "", err);
                if (r < 0)
                        return r;
        }
        *out = TAKE_PTR(m);
        return 0;
}

static int check_manifest(const mx_manifest *m, mx_error **err)
{
        static const char doc[] = "manifest";
        char p[MX_FIELD_PATH_MAX];
        int docker, r;

        if (!m)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "serialize manifest: none given");
        if (m->schema_version != 2)
                return mx_image__field_error(err, MX_EINVAL, doc, "schemaVersion",
                                             "must be 2, not %d", m->schema_version);
        if (!mx_media_type_is_manifest(m->media_type) ||
            strcmp(mx_image__media_type_static(m->media_type), m->media_type) != 0)
                return mx_image__field_error(err, MX_EINVAL, doc, "mediaType",
                                             "must be an OCI or Docker manifest type");
        docker = mx_media_type_is_docker(m->media_type);
        if (docker && (m->artifact_type || m->subject || m->annotations))
                return mx_image__field_error(err, MX_EUNSUPPORTED, doc,
                                             m->artifact_type ? "artifactType"
                                             : m->subject     ? "subject"
                                                              : "annotations",
                                             "has no place in a Docker manifest");
        if (m->artifact_type && !mx_media_type_is_valid(m->artifact_type))
                return mx_image__field_error(err, MX_EINVAL, doc, "artifactType",
                                             "invalid media type");
        r = mx_image__descriptor_check(&m->config, MX_CONFIG_MAX_SIZE, MX_EINVAL, doc, "config",
                                       err);
        if (r < 0)
                return r;
        if (m->n_layers > MX_IMAGE_MAX_ENTRIES || (m->n_layers && !m->layers))
                return mx_image__field_error(err, MX_ETOOBIG, doc, "layers",
                                             "has %zu entries, more than the %d allowed",
                                             m->n_layers, MX_IMAGE_MAX_ENTRIES);
        for (size_t i = 0; i < m->n_layers; i++) {
                r = mx_image__descriptor_check(&m->layers[i], MX_LAYER_MAX_SIZE, MX_EINVAL, doc,
                                               mx_image__path_index(p, "layers", i), err);
                if (r < 0)
                        return r;
                if (mx_manifest_is_image(m)) {
                        r = check_layer_type(&m->layers[i], i, doc, err);
                        if (r < 0)
                                return r;
                }
        }
        if (m->subject) {
                r = mx_image__descriptor_check(m->subject, MX_MANIFEST_MAX_SIZE, MX_EINVAL, doc,
                                               "subject", err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Add key: value (stolen) to o; a NULL value means OOM. */
static int put(json_t *o, const char *key, json_t *value)
{
        return value ? json_object_set_new(o, key, value) : -1;
}

static json_t *descriptor_array(const mx_descriptor *v, size_t n, int docker)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, mx_image__descriptor_json(&v[i], docker)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

int mx_manifest_to_json(char **out, size_t *len_out, const mx_manifest *m, mx_error **err)
{
        cleanup_json json_t *o = NULL;
        int docker, r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "serialize manifest: no output");
        r = check_manifest(m, err);
        if (r < 0)
                return r;
        docker = mx_media_type_is_docker(m->media_type);
        o = json_object();
        /* The order of the OCI Go type and of Docker's distribution. */
        if (!o || put(o, "schemaVersion", json_integer(2)) < 0 ||
            put(o, "mediaType", json_string(m->media_type)) < 0 ||
            (m->artifact_type && put(o, "artifactType", json_string(m->artifact_type)) < 0) ||
            put(o, "config", mx_image__descriptor_json(&m->config, docker)) < 0 ||
            put(o, "layers", descriptor_array(m->layers, m->n_layers, docker)) < 0 ||
            (m->subject && put(o, "subject", mx_image__descriptor_json(m->subject, docker)) < 0) ||
            (m->annotations && put(o, "annotations", mx_image__kv_json(m->annotations)) < 0))
                return mx_error_oom(err);
        return mx_image__dump(out, len_out, o, err);
}

int mx_manifest_new(mx_manifest **out, const char *media_type, mx_error **err)
{
        mx_manifest *m;

        if (!out || !media_type ||
            (strcmp(media_type, MX_MT_OCI_MANIFEST) != 0 &&
             strcmp(media_type, MX_MT_DOCKER_MANIFEST) != 0))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "new manifest: media type must be '%s' or '%s'",
                                    MX_MT_OCI_MANIFEST, MX_MT_DOCKER_MANIFEST);
        m = calloc(1, sizeof(*m));
        if (!m)
                return mx_error_oom(err);
        m->schema_version = 2;
        m->media_type = strdup(media_type);
        if (!m->media_type) {
                free(m);
                return mx_error_oom(err);
        }
        *out = m;
        return 0;
}

/* Grow a descriptor array by one zeroed slot. */
static int grow(mx_descriptor **v, size_t n, const char *doc, const char *key, mx_error **err)
{
        mx_descriptor *nv;

        if (n >= MX_IMAGE_MAX_ENTRIES)
                return mx_image__field_error(err, MX_ETOOBIG, doc, key,
                                             "already has the %d entries allowed",
                                             MX_IMAGE_MAX_ENTRIES);
        nv = realloc(*v, (n + 1) * sizeof(**v));
        if (!nv)
                return mx_error_oom(err);
        memset(&nv[n], 0, sizeof(nv[n]));
        *v = nv;
        return 0;
}

int mx_manifest_add_layer(mx_manifest *m, const char *media_type, const char *digest, int64_t size,
                          mx_error **err)
{
        mx_descriptor d = {0};
        int r;

        if (!m)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "add layer: no manifest");
        r = mx_descriptor_set(&d, media_type, digest, size, err);
        if (r < 0)
                return r;
        if (size > MX_LAYER_MAX_SIZE) {
                mx_descriptor_clear(&d);
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "add layer '%s': %lld bytes is more than the %lld allowed",
                                    digest, (long long)size, (long long)MX_LAYER_MAX_SIZE);
        }
        r = grow(&m->layers, m->n_layers, "manifest", "layers", err);
        if (r < 0) {
                mx_descriptor_clear(&d);
                return r;
        }
        m->layers[m->n_layers++] = d;
        return 0;
}

static int copy_manifest(mx_manifest **out, const mx_manifest *m, mx_error **err)
{
        cleanup(mx_manifest_freep) mx_manifest *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return mx_error_oom(err);
        c->schema_version = m->schema_version;
        if ((m->media_type && !(c->media_type = strdup(m->media_type))) ||
            (m->artifact_type && !(c->artifact_type = strdup(m->artifact_type))) ||
            (m->annotations && !(c->annotations = mx_strv_copy(m->annotations))))
                return mx_error_oom(err);
        r = mx_descriptor_copy(&c->config, &m->config, err);
        if (r < 0)
                return r;
        if (m->n_layers) {
                c->layers = calloc(m->n_layers, sizeof(*c->layers));
                if (!c->layers)
                        return mx_error_oom(err);
                for (size_t i = 0; i < m->n_layers; i++) {
                        r = mx_descriptor_copy(&c->layers[i], &m->layers[i], err);
                        if (r < 0)
                                return r;
                        c->n_layers = i + 1;
                }
        }
        if (m->subject) {
                c->subject = calloc(1, sizeof(*c->subject));
                if (!c->subject)
                        return mx_error_oom(err);
                r = mx_descriptor_copy(c->subject, m->subject, err);
                if (r < 0)
                        return r;
        }
        *out = TAKE_PTR(c);
        return 0;
}

static int retype(char **field, const char *media_type)
{
        char *s = strdup(media_type);

        if (!s)
                return -1;
        free(*field);
        *field = s;
        return 0;
}

int mx_manifest_convert(mx_manifest **out, const mx_manifest *m, const char *target_media_type,
                        mx_error **err)
{
        static const char doc[] = "manifest";
        cleanup(mx_manifest_freep) mx_manifest *c = NULL;
        char p[MX_FIELD_PATH_MAX], pi[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];
        const char *(*map)(const char *);
        const char *mt;
        int to_docker, r;

        if (!out || !m || !target_media_type ||
            (strcmp(target_media_type, MX_MT_OCI_MANIFEST) != 0 &&
             strcmp(target_media_type, MX_MT_DOCKER_MANIFEST) != 0))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "convert manifest: the target must be '%s' or '%s'",
                                    MX_MT_OCI_MANIFEST, MX_MT_DOCKER_MANIFEST);
        to_docker = strcmp(target_media_type, MX_MT_DOCKER_MANIFEST) == 0;
        map = to_docker ? mx_media_type_to_docker : mx_media_type_to_oci;
        if (to_docker) {
                if (!mx_manifest_is_image(m))
                        return mx_image__field_error(err, MX_EUNSUPPORTED, doc, "config.mediaType",
                                                     "'%s' is not an image config; artifacts "
                                                     "have no Docker form",
                                                     mx_image__excerpt(ex, m->config.media_type));
                if (m->artifact_type || m->subject)
                        return mx_image__field_error(err, MX_EUNSUPPORTED, doc,
                                                     m->artifact_type ? "artifactType" : "subject",
                                                     "has no place in a Docker manifest");
        }
        r = copy_manifest(&c, m, err);
        if (r < 0)
                return r;
        if (retype(&c->media_type, target_media_type) < 0)
                return mx_error_oom(err);
        if (to_docker) {
                /* Docker's schema 2 has no top-level annotations. */
                mx_kv_free(c->annotations);
                c->annotations = NULL;
        }
        mt = map(c->config.media_type);
        if (mt && mx_media_type_is_config(mt) && retype(&c->config.media_type, mt) < 0)
                return mx_error_oom(err);
        for (size_t i = 0; i < c->n_layers; i++) {
                mt = map(c->layers[i].media_type);
                if (!mt && to_docker)
                        return mx_image__field_error(
                                err, MX_EUNSUPPORTED, doc,
                                mx_image__path(p, mx_image__path_index(pi, "layers", i),
                                               "mediaType"),
                                "'%s' has no Docker equivalent", c->layers[i].media_type);
                if (mt && retype(&c->layers[i].media_type, mt) < 0)
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(c);
        return 0;
}

/* ---- indexes ---- */

void mx_index_free(mx_index *idx)
{
        if (!idx)
                return;
        free(idx->media_type);
        free(idx->artifact_type);
        for (size_t i = 0; idx->manifests && i < idx->n_manifests; i++)
                mx_descriptor_clear(&idx->manifests[i]);
        free(idx->manifests);
        mx_descriptor_free(idx->subject);
        mx_kv_free(idx->annotations);
        free(idx);
}

int mx_index_parse(mx_index **out, const void *data, size_t len, const char *declared_media_type,
                   mx_error **err)
{
        static const char doc[] = "index";
        cleanup(mx_index_freep) mx_index *idx = NULL;
        cleanup_json json_t *j = NULL;
        const char *mt = NULL;
        char p[MX_FIELD_PATH_MAX];
        int docker, r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "parse index: no output");
        r = load_document(&j, &mt, data, len, declared_media_type, 1, doc, err);
        if (r < 0)
                return r;
        docker = mx_media_type_is_docker(mt);
        idx = calloc(1, sizeof(*idx));
        if (!idx)
                return mx_error_oom(err);
        idx->schema_version = 2;
        idx->media_type = strdup(mt);
        if (!idx->media_type)
                return mx_error_oom(err);
        if (!json_object_get(j, "manifests") && json_object_get(j, "config"))
                return mx_image__field_error(err, MX_EFORMAT, doc, "manifests",
                                             "is missing (the document is a manifest)");
        r = parse_descriptor_array(&idx->manifests, &idx->n_manifests, j, "manifests",
                                   MX_MANIFEST_MAX_SIZE, doc, err);
        if (r < 0)
                return r;
        if (docker)
                for (size_t i = 0; i < idx->n_manifests; i++) {
                        char pi[MX_FIELD_PATH_MAX];

                        if (!idx->manifests[i].platform)
                                return mx_image__field_error(
                                        err, MX_EFORMAT, doc,
                                        mx_image__path(p, mx_image__path_index(pi, "manifests", i),
                                                       "platform"),
                                        "is missing (required in a Docker manifest list)");
                }
        if (!docker) {
                r = mx_image__get_string(&idx->artifact_type, j, "artifactType", 0, doc, "", err);
                if (r < 0)
                        return r;
                if (idx->artifact_type && !mx_media_type_is_valid(idx->artifact_type))
                        return mx_image__field_error(err, MX_EFORMAT, doc, "artifactType",
                                                     "invalid media type");
                r = parse_subject(&idx->subject, j, doc, err);
                if (r < 0)
                        return r;
                r = mx_image__get_kv(&idx->annotations, j, "annotations", doc, "", err);
                if (r < 0)
                        return r;
        }
        *out = TAKE_PTR(idx);
        return 0;
}

int mx_index_to_json(char **out, size_t *len_out, const mx_index *idx, mx_error **err)
{
        static const char doc[] = "index";
        cleanup_json json_t *o = NULL;
        char p[MX_FIELD_PATH_MAX];
        int docker, r;

        if (!out || !idx)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "serialize index: none given");
        if (idx->schema_version != 2)
                return mx_image__field_error(err, MX_EINVAL, doc, "schemaVersion",
                                             "must be 2, not %d", idx->schema_version);
        if (!mx_media_type_is_index(idx->media_type) ||
            strcmp(mx_image__media_type_static(idx->media_type), idx->media_type) != 0)
                return mx_image__field_error(err, MX_EINVAL, doc, "mediaType",
                                             "must be an OCI index or Docker manifest list type");
        docker = mx_media_type_is_docker(idx->media_type);
        if (docker && (idx->artifact_type || idx->subject || idx->annotations))
                return mx_image__field_error(err, MX_EUNSUPPORTED, doc,
                                             idx->artifact_type ? "artifactType"
                                             : idx->subject     ? "subject"
                                                                : "annotations",
                                             "has no place in a Docker manifest list");
        if (idx->artifact_type && !mx_media_type_is_valid(idx->artifact_type))
                return mx_image__field_error(err, MX_EINVAL, doc, "artifactType",
                                             "invalid media type");
        if (idx->n_manifests > MX_IMAGE_MAX_ENTRIES || (idx->n_manifests && !idx->manifests))
                return mx_image__field_error(err, MX_ETOOBIG, doc, "manifests",
                                             "has %zu entries, more than the %d allowed",
                                             idx->n_manifests, MX_IMAGE_MAX_ENTRIES);
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const mx_descriptor *d = &idx->manifests[i];

                mx_image__path_index(p, "manifests", i);
                r = mx_image__descriptor_check(d, MX_MANIFEST_MAX_SIZE, MX_EINVAL, doc, p, err);
                if (r < 0)
                        return r;
                if (d->platform && (!d->platform->os || !d->platform->architecture ||
                                    !*d->platform->os || !*d->platform->architecture))
                        return mx_image__field_error(err, MX_EINVAL, doc, p,
                                                     "platform needs os and architecture");
                if (docker && !d->platform)
                        return mx_image__field_error(err, MX_EINVAL, doc, p,
                                                     "needs a platform in a Docker manifest list");
        }
        if (idx->subject) {
                r = mx_image__descriptor_check(idx->subject, MX_MANIFEST_MAX_SIZE, MX_EINVAL, doc,
                                               "subject", err);
                if (r < 0)
                        return r;
        }
        o = json_object();
        if (!o || put(o, "schemaVersion", json_integer(2)) < 0 ||
            put(o, "mediaType", json_string(idx->media_type)) < 0 ||
            (idx->artifact_type && put(o, "artifactType", json_string(idx->artifact_type)) < 0) ||
            put(o, "manifests", descriptor_array(idx->manifests, idx->n_manifests, docker)) < 0 ||
            (idx->subject &&
             put(o, "subject", mx_image__descriptor_json(idx->subject, docker)) < 0) ||
            (idx->annotations && put(o, "annotations", mx_image__kv_json(idx->annotations)) < 0))
                return mx_error_oom(err);
        return mx_image__dump(out, len_out, o, err);
}

int mx_index_new(mx_index **out, const char *media_type, mx_error **err)
{
        mx_index *idx;

        if (!out || !media_type ||
            (strcmp(media_type, MX_MT_OCI_INDEX) != 0 &&
             strcmp(media_type, MX_MT_DOCKER_MANIFEST_LIST) != 0))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "new index: media type must be '%s' or '%s'", MX_MT_OCI_INDEX,
                                    MX_MT_DOCKER_MANIFEST_LIST);
        idx = calloc(1, sizeof(*idx));
        if (!idx)
                return mx_error_oom(err);
        idx->schema_version = 2;
        idx->media_type = strdup(media_type);
        if (!idx->media_type) {
                free(idx);
                return mx_error_oom(err);
        }
        *out = idx;
        return 0;
}

int mx_index_add(mx_index *idx, const mx_descriptor *desc, mx_error **err)
{
        mx_descriptor d = {0};
        int r;

        if (!idx || !desc)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "add to index: none given");
        r = mx_image__descriptor_check(desc, MX_MANIFEST_MAX_SIZE, MX_EINVAL, "descriptor", "",
                                       err);
        if (r < 0)
                return r;
        r = mx_descriptor_copy(&d, desc, err);
        if (r < 0)
                return r;
        r = grow(&idx->manifests, idx->n_manifests, "index", "manifests", err);
        if (r < 0) {
                mx_descriptor_clear(&d);
                return r;
        }
        idx->manifests[idx->n_manifests++] = d;
        return 0;
}

int mx_index_convert(mx_index **out, const mx_index *idx, const char *target_media_type,
                     mx_error **err)
{
        static const char doc[] = "index";
        cleanup(mx_index_freep) mx_index *c = NULL;
        char p[MX_FIELD_PATH_MAX], pi[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];
        const char *(*map)(const char *);
        int to_docker, r;

        if (!out || !idx || !target_media_type ||
            (strcmp(target_media_type, MX_MT_OCI_INDEX) != 0 &&
             strcmp(target_media_type, MX_MT_DOCKER_MANIFEST_LIST) != 0))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "convert index: the target must be '%s' or '%s'",
                                    MX_MT_OCI_INDEX, MX_MT_DOCKER_MANIFEST_LIST);
        to_docker = strcmp(target_media_type, MX_MT_DOCKER_MANIFEST_LIST) == 0;
        map = to_docker ? mx_media_type_to_docker : mx_media_type_to_oci;
        if (to_docker && (idx->artifact_type || idx->subject))
                return mx_image__field_error(err, MX_EUNSUPPORTED, doc,
                                             idx->artifact_type ? "artifactType" : "subject",
                                             "has no place in a Docker manifest list");
        r = mx_index_new(&c, target_media_type, err);
        if (r < 0)
                return r;
        if (!to_docker &&
            ((idx->artifact_type && !(c->artifact_type = strdup(idx->artifact_type))) ||
             (idx->annotations && !(c->annotations = mx_strv_copy(idx->annotations)))))
                return mx_error_oom(err);
        if (!to_docker && idx->subject) {
                c->subject = calloc(1, sizeof(*c->subject));
                if (!c->subject)
                        return mx_error_oom(err);
                r = mx_descriptor_copy(c->subject, idx->subject, err);
                if (r < 0)
                        return r;
        }
        if (idx->n_manifests > MX_IMAGE_MAX_ENTRIES || (idx->n_manifests && !idx->manifests))
                return mx_image__field_error(err, MX_ETOOBIG, doc, "manifests",
                                             "has more than the %d entries allowed",
                                             MX_IMAGE_MAX_ENTRIES);
        if (idx->n_manifests) {
                c->manifests = calloc(idx->n_manifests, sizeof(*c->manifests));
                if (!c->manifests)
                        return mx_error_oom(err);
        }
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const mx_descriptor *d = &idx->manifests[i];
                const char *mt = map(d->media_type);

                mx_image__path_index(pi, "manifests", i);
                if (to_docker && (!mt || !mx_media_type_is_docker(mt) ||
                                  mx_media_type_is_layer(mt) || mx_media_type_is_config(mt)))
                        return mx_image__field_error(err, MX_EUNSUPPORTED, doc,
                                                     mx_image__path(p, pi, "mediaType"),
                                                     "'%s' has no Docker equivalent",
                                                     mx_image__excerpt(ex, d->media_type));
                if (to_docker && !d->platform)
                        return mx_image__field_error(err, MX_EUNSUPPORTED, doc,
                                                     mx_image__path(p, pi, "platform"),
                                                     "is missing (required in a Docker manifest "
                                                     "list)");
                r = mx_descriptor_copy(&c->manifests[i], d, err);
                if (r < 0)
                        return r;
                c->n_manifests = i + 1;
                if (mt && retype(&c->manifests[i].media_type, mt) < 0)
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(c);
        return 0;
}

/* ---- sniffing ---- */

static mx_content_kind kind_of(const char *mt)
{
        if (!mt)
                return MX_CONTENT_UNKNOWN;
        if (is_schema1(mt))
                return MX_CONTENT_SCHEMA1;
        if (mx_media_type_is_manifest(mt))
                return MX_CONTENT_MANIFEST;
        if (mx_media_type_is_index(mt))
                return MX_CONTENT_INDEX;
        if (mx_media_type_is_config(mt))
                return MX_CONTENT_CONFIG;
        return MX_CONTENT_UNKNOWN;
}

mx_content_kind mx_content_sniff(const void *data, size_t len, const char *declared_media_type)
{
        char buf[DECLARED_MAX];
        const char *decl = mx_image__declared(buf, sizeof(buf), declared_media_type);
        cleanup_json json_t *j = NULL;
        mx_content_kind k;
        json_error_t jerr;

        k = decl && strlen(decl) < sizeof(buf) ? kind_of(decl) : MX_CONTENT_UNKNOWN;
        if (k != MX_CONTENT_UNKNOWN)
                return k;
        if (!data || len == 0 || len > MX_CONFIG_MAX_BYTES)
                return MX_CONTENT_UNKNOWN;
        j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(j))
                return MX_CONTENT_UNKNOWN;
        k = kind_of(mx_image__str(json_object_get(j, "mediaType")));
        if (k != MX_CONTENT_UNKNOWN)
                return k;
        if (json_integer_value(json_object_get(j, "schemaVersion")) == 1 &&
            json_object_get(j, "fsLayers"))
                return MX_CONTENT_SCHEMA1;
        if (json_is_array(json_object_get(j, "manifests")))
                return MX_CONTENT_INDEX;
        if (json_is_object(json_object_get(j, "config")) &&
            json_is_array(json_object_get(j, "layers")))
                return MX_CONTENT_MANIFEST;
        if (json_is_object(json_object_get(j, "rootfs")) ||
            json_is_string(json_object_get(j, "architecture")))
                return MX_CONTENT_CONFIG;
        return MX_CONTENT_UNKNOWN;
}
