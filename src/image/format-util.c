/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the manifest, index and config code: errors that name the field,
 * strict typed JSON getters, key/value lists, descriptors and their JSON forms. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "digest.h"
#include "format-internal.h"
#include "json.h"
#include "strv.h"

int mx_image__field_error(mx_error **err, int code, const char *doc, const char *path,
                          const char *fmt, ...)
{
        cleanup_free char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return mx_error_oom(err);
        return mx_error_set(err, code, MX_D_IMAGE, 0, "%s field '%s': %s", doc, path, msg);
}

const char *mx_image__excerpt(char buf[MX_EXCERPT_MAX], const char *s)
{
        size_t n = 0;

        if (!s)
                return "(null)";
        for (; s[n] && n < MX_EXCERPT_MAX - 4; n++) {
                unsigned char c = (unsigned char)s[n];

                buf[n] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
        }
        if (s[n]) {
                /* Cut at a character boundary so the message stays valid UTF-8. */
                while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
                        n--;
                if (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0xc0)
                        n--;
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n] = '\0';
        return buf;
}

const char *mx_image__pathf(char buf[MX_FIELD_PATH_MAX], const char *fmt, ...)
{
        va_list ap;

        /* A path cut short still names the field well enough for a message. */
        va_start(ap, fmt);
        (void)vsnprintf(buf, MX_FIELD_PATH_MAX, fmt, ap);
        va_end(ap);
        return buf;
}

const char *mx_image__path(char buf[MX_FIELD_PATH_MAX], const char *path, const char *key)
{
        if (!path || !*path)
                mx_image__pathf(buf, "%s", key);
        else
                mx_image__pathf(buf, "%s.%s", path, key);
        return buf;
}

const char *mx_image__path_index(char buf[MX_FIELD_PATH_MAX], const char *path, size_t i)
{
        mx_image__pathf(buf, "%s[%zu]", path, i);
        return buf;
}

const char *mx_image__str(const json_t *v)
{
        const char *s;

        if (!json_is_string(v))
                return NULL;
        s = json_string_value(v);
        return strlen(s) == json_string_length(v) ? s : NULL;
}

static const char *type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
        default:
                return "null";
        }
}

static int want_string(const char **out, const json_t *v, const char *doc, const char *path,
                       mx_error **err)
{
        if (!json_is_string(v))
                return mx_image__field_error(err, MX_EFORMAT, doc, path, "must be a string, not %s",
                                             type_name(v));
        *out = mx_image__str(v);
        if (!*out)
                return mx_image__field_error(err, MX_EFORMAT, doc, path,
                                             "contains a NUL character");
        return 0;
}

int mx_image__get_string(char **out, const json_t *obj, const char *key, int required,
                         const char *doc, const char *path, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX];
        json_t *v = json_object_get(obj, key);
        const char *s;
        char *copy;
        int r;

        mx_image__path(p, path, key);
        if (!v || json_is_null(v)) {
                if (required)
                        return mx_image__field_error(err, MX_EFORMAT, doc, p, "is missing");
                *out = NULL;
                return 0;
        }
        r = want_string(&s, v, doc, p, err);
        if (r < 0)
                return r;
        copy = strdup(s);
        if (!copy)
                return mx_error_oom(err);
        *out = copy;
        return 0;
}

int mx_image__get_strv(char ***out, const json_t *obj, const char *key, const char *doc,
                       const char *path, mx_error **err)
{
        cleanup_strv char **v = NULL;
        char p[MX_FIELD_PATH_MAX], pi[MX_FIELD_PATH_MAX];
        json_t *a = json_object_get(obj, key);
        size_t n;

        mx_image__path(p, path, key);
        if (!a || json_is_null(a)) {
                *out = NULL;
                return 0;
        }
        if (!json_is_array(a))
                return mx_image__field_error(err, MX_EFORMAT, doc, p, "must be an array, not %s",
                                             type_name(a));
        n = json_array_size(a);
        if (n > MX_IMAGE_MAX_ENTRIES)
                return mx_image__field_error(err, MX_ETOOBIG, doc, p,
                                             "has %zu entries, more than the %d allowed", n,
                                             MX_IMAGE_MAX_ENTRIES);
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return mx_error_oom(err);
        for (size_t i = 0; i < n; i++) {
                const char *s;
                int r = want_string(&s, json_array_get(a, i), doc, mx_image__path_index(pi, p, i),
                                    err);

                if (r < 0)
                        return r;
                v[i] = strdup(s);
                if (!v[i])
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(v);
        return 0;
}

int mx_image__get_kv(char ***out, const json_t *obj, const char *key, const char *doc,
                     const char *path, mx_error **err)
{
        cleanup_strv char **kv = NULL;
        char p[MX_FIELD_PATH_MAX], pk[MX_FIELD_PATH_MAX];
        json_t *o = json_object_get(obj, key);
        const char *k;
        json_t *val;
        size_t n, i = 0;

        mx_image__path(p, path, key);
        if (!o || json_is_null(o)) {
                *out = NULL;
                return 0;
        }
        if (!json_is_object(o))
                return mx_image__field_error(err, MX_EFORMAT, doc, p, "must be an object, not %s",
                                             type_name(o));
        n = json_object_size(o);
        if (n == 0) {
                *out = NULL;
                return 0;
        }
        if (n > MX_IMAGE_MAX_ENTRIES)
                return mx_image__field_error(err, MX_ETOOBIG, doc, p,
                                             "has %zu entries, more than the %d allowed", n,
                                             MX_IMAGE_MAX_ENTRIES);
        kv = calloc(2 * n + 1, sizeof(char *));
        if (!kv)
                return mx_error_oom(err);
        json_object_foreach((json_t *)o, k, val)
        {
                char ex[MX_EXCERPT_MAX];
                const char *s;
                int r;

                mx_image__pathf(pk, "%s['%s']", p, mx_image__excerpt(ex, k));
                if (strlen(k) == 0)
                        return mx_image__field_error(err, MX_EFORMAT, doc, p, "has an empty key");
                r = want_string(&s, val, doc, pk, err);
                if (r < 0)
                        return r;
                kv[i] = strdup(k);
                kv[i + 1] = strdup(s);
                if (!kv[i] || !kv[i + 1])
                        return mx_error_oom(err);
                i += 2;
        }
        *out = TAKE_PTR(kv);
        return 0;
}

int mx_image__get_keys(char ***out, const json_t *obj, const char *key, const char *doc,
                       const char *path, mx_error **err)
{
        cleanup_strv char **v = NULL;
        char p[MX_FIELD_PATH_MAX], pk[MX_FIELD_PATH_MAX];
        json_t *o = json_object_get(obj, key);
        const char *k;
        json_t *val;
        size_t n, i = 0;

        mx_image__path(p, path, key);
        if (!o || json_is_null(o)) {
                *out = NULL;
                return 0;
        }
        if (!json_is_object(o))
                return mx_image__field_error(err, MX_EFORMAT, doc, p, "must be an object, not %s",
                                             type_name(o));
        n = json_object_size(o);
        if (n > MX_IMAGE_MAX_ENTRIES)
                return mx_image__field_error(err, MX_ETOOBIG, doc, p,
                                             "has %zu entries, more than the %d allowed", n,
                                             MX_IMAGE_MAX_ENTRIES);
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return mx_error_oom(err);
        json_object_foreach((json_t *)o, k, val)
        {
                char ex[MX_EXCERPT_MAX];

                mx_image__pathf(pk, "%s['%s']", p, mx_image__excerpt(ex, k));
                if (strlen(k) == 0)
                        return mx_image__field_error(err, MX_EFORMAT, doc, p, "has an empty key");
                if (!json_is_object(val) && !json_is_null(val))
                        return mx_image__field_error(err, MX_EFORMAT, doc, pk,
                                                     "must be an object, not %s", type_name(val));
                v[i] = strdup(k);
                if (!v[i++])
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(v);
        return 0;
}

int mx_image__get_int(int64_t *out, int *present, const json_t *obj, const char *key, int64_t min,
                      int64_t max, const char *doc, const char *path, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX];
        json_t *v = json_object_get(obj, key);
        json_int_t x;

        mx_image__path(p, path, key);
        if (!v || json_is_null(v)) {
                *present = 0;
                *out = 0;
                return 0;
        }
        if (!json_is_integer(v))
                return mx_image__field_error(err, MX_EFORMAT, doc, p, "must be an integer, not %s",
                                             type_name(v));
        x = json_integer_value(v);
        if (x < min)
                return mx_image__field_error(err, MX_EFORMAT, doc, p,
                                             "must be at least %lld, not %lld", (long long)min,
                                             (long long)x);
        if (x > max)
                return mx_image__field_error(err, MX_ETOOBIG, doc, p,
                                             "is %lld, more than the %lld allowed", (long long)x,
                                             (long long)max);
        *out = x;
        *present = 1;
        return 0;
}

/* ---- key/value lists ---- */

const char *mx_kv_get(char *const *kv, const char *key)
{
        if (!key)
                return NULL;
        for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
                if (strcmp(kv[i], key) == 0)
                        return kv[i + 1];
        return NULL;
}

size_t mx_kv_count(char *const *kv)
{
        return mx_strv_length(kv) / 2;
}

int mx_kv_set(char ***kv, const char *key, const char *value, mx_error **err)
{
        char *k = NULL, *v = NULL, **nkv;
        size_t n;

        if (!kv || !key || !value)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "set key/value: missing list, key or value");
        v = strdup(value);
        if (!v)
                return mx_error_oom(err);
        for (size_t i = 0; *kv && (*kv)[i] && (*kv)[i + 1]; i += 2)
                if (strcmp((*kv)[i], key) == 0) {
                        free((*kv)[i + 1]);
                        (*kv)[i + 1] = v;
                        return 0;
                }
        k = strdup(key);
        n = mx_strv_length(*kv);
        nkv = k ? realloc(*kv, (n + 3) * sizeof(char *)) : NULL;
        if (!nkv) {
                free(k);
                free(v);
                return mx_error_oom(err);
        }
        nkv[n] = k;
        nkv[n + 1] = v;
        nkv[n + 2] = NULL;
        *kv = nkv;
        return 0;
}

void mx_kv_unset(char ***kv, const char *key)
{
        size_t n;

        if (!kv || !*kv || !key)
                return;
        n = mx_strv_length(*kv);
        for (size_t i = 0; i + 1 < n; i += 2)
                if (strcmp((*kv)[i], key) == 0) {
                        free((*kv)[i]);
                        free((*kv)[i + 1]);
                        memmove(*kv + i, *kv + i + 2, (n - i - 1) * sizeof(char *));
                        return;
                }
}

void mx_kv_free(char **kv)
{
        mx_strv_free(kv);
}

/* ---- platforms ---- */

int mx_image__platform_parse(mx_platform **out, const json_t *j, const char *doc, const char *path,
                             mx_error **err)
{
        cleanup(mx_platform_freep) mx_platform *p = NULL;
        int r;

        if (!json_is_object(j))
                return mx_image__field_error(err, MX_EFORMAT, doc, path,
                                             "must be an object, not %s", type_name(j));
        p = calloc(1, sizeof(*p));
        if (!p)
                return mx_error_oom(err);
        r = mx_image__get_string(&p->architecture, j, "architecture", 1, doc, path, err);
        if (r < 0)
                return r;
        r = mx_image__get_string(&p->os, j, "os", 1, doc, path, err);
        if (r < 0)
                return r;
        r = mx_image__get_string(&p->os_version, j, "os.version", 0, doc, path, err);
        if (r < 0)
                return r;
        r = mx_image__get_strv(&p->os_features, j, "os.features", doc, path, err);
        if (r < 0)
                return r;
        r = mx_image__get_string(&p->variant, j, "variant", 0, doc, path, err);
        if (r < 0)
                return r;
        if (!*p->os || !*p->architecture) {
                char pp[MX_FIELD_PATH_MAX];

                return mx_image__field_error(
                        err, MX_EFORMAT, doc,
                        mx_image__path(pp, path, *p->os ? "architecture" : "os"), "is empty");
        }
        *out = TAKE_PTR(p);
        return 0;
}

json_t *mx_image__strv_json(char *const *v)
{
        json_t *a = json_array();

        for (size_t i = 0; a && v && v[i]; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

json_t *mx_image__kv_json(char *const *kv)
{
        json_t *o = json_object();

        for (size_t i = 0; o && kv && kv[i] && kv[i + 1]; i += 2)
                if (json_object_set_new(o, kv[i], json_string(kv[i + 1])) < 0) {
                        json_decref(o);
                        return NULL;
                }
        return o;
}

/* Add key: value (stolen) to o; a NULL value means OOM. */
static int put(json_t *o, const char *key, json_t *value)
{
        return value ? json_object_set_new(o, key, value) : -1;
}

json_t *mx_image__platform_json(const mx_platform *p)
{
        cleanup_json json_t *o = json_object();

        /* The order of the OCI Go type (and Docker's manifest list). */
        if (!o || put(o, "architecture", json_string(p->architecture)) < 0 ||
            put(o, "os", json_string(p->os)) < 0)
                return NULL;
        if (p->os_version && put(o, "os.version", json_string(p->os_version)) < 0)
                return NULL;
        if (p->os_features && put(o, "os.features", mx_image__strv_json(p->os_features)) < 0)
                return NULL;
        if (p->variant && put(o, "variant", json_string(p->variant)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* ---- descriptors ---- */

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* Decode standard padded base64; NULL when malformed (or OOM: *oom set). */
static unsigned char *b64_decode(const char *s, size_t *len_out, int *oom)
{
        size_t n = strlen(s), pad = 0, o = 0;
        unsigned char *buf;

        *oom = 0;
        if (n % 4 != 0)
                return NULL;
        if (n > 0 && s[n - 1] == '=')
                pad++;
        if (n > 1 && s[n - 2] == '=')
                pad++;
        buf = malloc(n / 4 * 3 + 1);
        if (!buf) {
                *oom = 1;
                return NULL;
        }
        for (size_t i = 0; i < n; i += 4) {
                int v[4];

                for (int k = 0; k < 4; k++) {
                        v[k] = (s[i + k] == '=' && i + k >= n - pad) ? 0 : b64_value(s[i + k]);
                        if (v[k] < 0) {
                                free(buf);
                                return NULL;
                        }
                }
                buf[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
                buf[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
                buf[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
        }
        *len_out = o - pad;
        return buf;
}

int mx_image__descriptor_check(const mx_descriptor *d, int64_t max_size, int code, const char *doc,
                               const char *path, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];

        if (!d->media_type)
                return mx_image__field_error(err, code, doc, mx_image__path(p, path, "mediaType"),
                                             "is missing");
        if (!mx_media_type_is_valid(d->media_type))
                return mx_image__field_error(err, code, doc, mx_image__path(p, path, "mediaType"),
                                             "invalid media type '%s'",
                                             mx_image__excerpt(ex, d->media_type));
        if (!d->digest)
                return mx_image__field_error(err, code, doc, mx_image__path(p, path, "digest"),
                                             "is missing");
        if (!mx_digest_is_valid(d->digest)) {
                /* Well-formed but of another algorithm is unsupported, not malformed. */
                const char *colon = strchr(d->digest, ':');
                int other = colon && colon != d->digest && strncmp(d->digest, "sha256:", 7) != 0 &&
                            strncmp(d->digest, "sha512:", 7) != 0 && colon[1];

                return mx_image__field_error(
                        err, other && code == MX_EFORMAT ? MX_EUNSUPPORTED : code, doc,
                        mx_image__path(p, path, "digest"), "%s digest '%s'",
                        other ? "unsupported" : "invalid", mx_image__excerpt(ex, d->digest));
        }
        if (d->size < 0)
                return mx_image__field_error(err, code, doc, mx_image__path(p, path, "size"),
                                             "must not be negative, not %lld", (long long)d->size);
        if (d->size > max_size)
                return mx_image__field_error(err, MX_ETOOBIG, doc, mx_image__path(p, path, "size"),
                                             "is %lld bytes, more than the %lld allowed",
                                             (long long)d->size, (long long)max_size);
        if (d->artifact_type && !mx_media_type_is_valid(d->artifact_type))
                return mx_image__field_error(
                        err, code, doc, mx_image__path(p, path, "artifactType"),
                        "invalid media type '%s'", mx_image__excerpt(ex, d->artifact_type));
        if (d->data) {
                cleanup_free unsigned char *bytes = NULL;
                char dg[MX_DIGEST_MAX];
                mx_digest_algo algo = MX_DIGEST_SHA256;
                size_t n = 0;
                int oom;

                bytes = b64_decode(d->data, &n, &oom);
                if (oom)
                        return mx_error_oom(err);
                if (!bytes)
                        return mx_image__field_error(err, code, doc,
                                                     mx_image__path(p, path, "data"),
                                                     "is not valid base64");
                (void)mx_digest_algo_of(d->digest, &algo);
                mx_digest_data(algo, bytes, n, dg);
                if ((int64_t)n != d->size || strcmp(dg, d->digest) != 0)
                        return mx_image__field_error(err, code, doc,
                                                     mx_image__path(p, path, "data"),
                                                     "does not match the descriptor's digest "
                                                     "and size");
        }
        return 0;
}

int mx_image__descriptor_parse(mx_descriptor *out, const json_t *j, int64_t max_size,
                               const char *doc, const char *path, mx_error **err)
{
        mx_descriptor d = {0};
        char p[MX_FIELD_PATH_MAX];
        json_t *v;
        int present, r;

        if (!json_is_object(j))
                return mx_image__field_error(err, MX_EFORMAT, doc, path,
                                             "must be an object, not %s", type_name(j));
        r = mx_image__get_string(&d.media_type, j, "mediaType", 1, doc, path, err);
        if (r >= 0)
                r = mx_image__get_string(&d.digest, j, "digest", 1, doc, path, err);
        if (r >= 0) {
                /* size is required, and must be a JSON integer (not 1e3, not "12"). */
                v = json_object_get(j, "size");
                if (!v || json_is_null(v))
                        r = mx_image__field_error(err, MX_EFORMAT, doc,
                                                  mx_image__path(p, path, "size"), "is missing");
                else
                        r = mx_image__get_int(&d.size, &present, j, "size", INT64_MIN, INT64_MAX,
                                              doc, path, err);
        }
        if (r >= 0)
                r = mx_image__get_strv(&d.urls, j, "urls", doc, path, err);
        if (r >= 0)
                r = mx_image__get_kv(&d.annotations, j, "annotations", doc, path, err);
        if (r >= 0)
                r = mx_image__get_string(&d.data, j, "data", 0, doc, path, err);
        if (r >= 0)
                r = mx_image__get_string(&d.artifact_type, j, "artifactType", 0, doc, path, err);
        if (r >= 0) {
                v = json_object_get(j, "platform");
                if (v && !json_is_null(v))
                        r = mx_image__platform_parse(&d.platform, v, doc,
                                                     mx_image__path(p, path, "platform"), err);
        }
        if (r >= 0)
                r = mx_image__descriptor_check(&d, max_size, MX_EFORMAT, doc, path, err);
        for (size_t i = 0; r >= 0 && d.urls && d.urls[i]; i++)
                if (!*d.urls[i]) {
                        char pu[MX_FIELD_PATH_MAX];

                        r = mx_image__field_error(
                                err, MX_EFORMAT, doc,
                                mx_image__path_index(pu, mx_image__path(p, path, "urls"), i),
                                "is empty");
                }
        if (r < 0) {
                mx_descriptor_clear(&d);
                return r;
        }
        *out = d;
        return 0;
}

json_t *mx_image__descriptor_json(const mx_descriptor *d, int docker)
{
        cleanup_json json_t *o = json_object();

        if (!o || put(o, "mediaType", json_string(d->media_type)) < 0)
                return NULL;
        /* Docker's distribution writes size before digest; the OCI Go type the reverse. */
        if (docker) {
                if (put(o, "size", json_integer(d->size)) < 0 ||
                    put(o, "digest", json_string(d->digest)) < 0)
                        return NULL;
        } else {
                if (put(o, "digest", json_string(d->digest)) < 0 ||
                    put(o, "size", json_integer(d->size)) < 0)
                        return NULL;
        }
        if (d->urls && put(o, "urls", mx_image__strv_json(d->urls)) < 0)
                return NULL;
        if (d->annotations && put(o, "annotations", mx_image__kv_json(d->annotations)) < 0)
                return NULL;
        if (d->data && put(o, "data", json_string(d->data)) < 0)
                return NULL;
        if (d->platform && put(o, "platform", mx_image__platform_json(d->platform)) < 0)
                return NULL;
        if (d->artifact_type && put(o, "artifactType", json_string(d->artifact_type)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

void mx_descriptor_clear(mx_descriptor *d)
{
        if (!d)
                return;
        free(d->media_type);
        free(d->digest);
        mx_strv_free(d->urls);
        mx_kv_free(d->annotations);
        free(d->data);
        mx_platform_free(d->platform);
        free(d->artifact_type);
        memset(d, 0, sizeof(*d));
}

void mx_descriptor_free(mx_descriptor *d)
{
        mx_descriptor_clear(d);
        free(d);
}

static int dup_or_null(char **dst, const char *src)
{
        *dst = NULL;
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : -1;
}

int mx_descriptor_copy(mx_descriptor *dst, const mx_descriptor *src, mx_error **err)
{
        mx_descriptor d = {0};

        if (!dst || !src)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "copy descriptor: no descriptor");
        d.size = src->size;
        if (dup_or_null(&d.media_type, src->media_type) < 0 ||
            dup_or_null(&d.digest, src->digest) < 0 || dup_or_null(&d.data, src->data) < 0 ||
            dup_or_null(&d.artifact_type, src->artifact_type) < 0)
                goto oom;
        if (src->urls && !(d.urls = mx_strv_copy(src->urls)))
                goto oom;
        if (src->annotations && !(d.annotations = mx_strv_copy(src->annotations)))
                goto oom;
        if (src->platform && mx_platform_copy(&d.platform, src->platform, err) < 0)
                goto oom;
        *dst = d;
        return 0;
oom:
        mx_descriptor_clear(&d);
        memset(dst, 0, sizeof(*dst));
        return mx_error_oom(err);
}

int mx_descriptor_set(mx_descriptor *d, const char *media_type, const char *digest, int64_t size,
                      mx_error **err)
{
        mx_descriptor probe = {0};
        char *mt, *dg;
        int r;

        if (!d)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "set descriptor: no descriptor");
        probe.media_type = (char *)(uintptr_t)media_type;
        probe.digest = (char *)(uintptr_t)digest;
        probe.size = size;
        r = mx_image__descriptor_check(&probe, INT64_MAX, MX_EINVAL, "descriptor", "", err);
        if (r < 0)
                return r;
        mt = strdup(media_type);
        dg = strdup(digest);
        if (!mt || !dg) {
                free(mt);
                free(dg);
                return mx_error_oom(err);
        }
        free(d->media_type);
        free(d->digest);
        d->media_type = mt;
        d->digest = dg;
        d->size = size;
        return 0;
}

int mx_image__dump(char **out, size_t *len_out, const json_t *j, mx_error **err)
{
        char *s = mx_json_dump_ordered(j);

        if (!s)
                return mx_error_oom(err);
        if (len_out)
                *len_out = strlen(s);
        *out = s;
        return 0;
}

static int digits(const char *s, int n)
{
        for (int i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        return 1;
}

int mx_image__is_rfc3339(const char *s)
{
        /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), as Go's time.RFC3339Nano parses. */
        if (!s || strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
            s[7] != '-' || !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') ||
            !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
            !digits(s + 17, 2))
                return 0;
        s += 19;
        if (*s == '.') {
                int n = 0;

                for (s++; *s >= '0' && *s <= '9'; s++)
                        n++;
                if (n == 0 || n > 9)
                        return 0;
        }
        if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
                return 1;
        return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) &&
               s[6] == '\0';
}

int mx_image__load_json(json_t **out, const void *data, size_t len, size_t max, const char *doc,
                        mx_error **err)
{
        int r;

        if (!data && len > 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "parse %s: no data", doc);
        if (len > max)
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "%s is %zu bytes, more than the %zu allowed", doc, len, max);
        r = mx_json_parse(out, data ? data : "", len, max, 1, "document", err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "parse %s", doc);
        return 0;
}
