/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the image-format code: field-naming errors, strict JSON getters,
 * descriptor and platform (de)serialization. */
#ifndef MX_IMAGE_FORMAT_INTERNAL_H
#define MX_IMAGE_FORMAT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <myrmex/image.h>

#include "error-internal.h"

MX_DEFINE_FREEP(mx_platform, mx_platform_free)
MX_DEFINE_FREEP(mx_manifest, mx_manifest_free)
MX_DEFINE_FREEP(mx_index, mx_index_free)
MX_DEFINE_FREEP(mx_image_config, mx_image_config_free)

/* Longest field path a message names ("manifests[9999].platform.os.features[12]"). */
#define MX_FIELD_PATH_MAX 160
/* Room for a quoted excerpt of a user value in a message. */
#define MX_EXCERPT_MAX 84

/* "<doc> field '<path>': <message>" in domain MX_D_IMAGE; returns code. */
int mx_image__field_error(mx_error **err, int code, const char *doc, const char *path,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A printable, length-limited copy of s for messages (non-printable bytes become '?'). */
const char *mx_image__excerpt(char buf[MX_EXCERPT_MAX], const char *s);

/* printf into a field path buffer (truncating). */
const char *mx_image__pathf(char buf[MX_FIELD_PATH_MAX], const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* path + "." + key (or key alone when path is empty) into buf. */
const char *mx_image__path(char buf[MX_FIELD_PATH_MAX], const char *path, const char *key);
/* path + "[i]" into buf. */
const char *mx_image__path_index(char buf[MX_FIELD_PATH_MAX], const char *path, size_t i);

/* The media type without parameters (";..."), trailing blanks, into buf; NULL when it is
 * NULL, empty, generic (application/json, application/octet-stream, text/plain) or too long. */
const char *mx_image__declared(char *buf, size_t size, const char *declared);

/* Strict getters. A key that is absent or JSON null gives NULL (error only if required).
 * Wrong types, embedded NULs and over-long arrays are MX_EFORMAT / MX_ETOOBIG naming the
 * field. Outputs are written only on success. */
int mx_image__get_string(char **out, const json_t *obj, const char *key, int required,
                         const char *doc, const char *path, mx_error **err);
/* An array of strings; [] gives an empty vector, absent/null gives NULL. */
int mx_image__get_strv(char ***out, const json_t *obj, const char *key, const char *doc,
                       const char *path, mx_error **err);
/* An object of string values as a key/value list; {} and absent give NULL. */
int mx_image__get_kv(char ***out, const json_t *obj, const char *key, const char *doc,
                     const char *path, mx_error **err);
/* The keys of an object whose values are objects (ExposedPorts, Volumes). */
int mx_image__get_keys(char ***out, const json_t *obj, const char *key, const char *doc,
                       const char *path, mx_error **err);
/* An integer in [min, max]. *present set to whether the key was there (not null). */
int mx_image__get_int(int64_t *out, int *present, const json_t *obj, const char *key, int64_t min,
                      int64_t max, const char *doc, const char *path, mx_error **err);
/* The string value, or NULL when v is not a string or holds a NUL. */
const char *mx_image__str(const json_t *v);

/* Parse a descriptor object at path. max_size bounds "size" (MX_ETOOBIG past it). */
int mx_image__descriptor_parse(mx_descriptor *out, const json_t *j, int64_t max_size,
                               const char *doc, const char *path, mx_error **err);
/* Check a descriptor's fields (for serializers and setters); code for a bad value. */
int mx_image__descriptor_check(const mx_descriptor *d, int64_t max_size, int code, const char *doc,
                               const char *path, mx_error **err);
int mx_image__platform_parse(mx_platform **out, const json_t *j, const char *doc, const char *path,
                             mx_error **err);

/* JSON builders; NULL on OOM. docker selects Docker's key order for descriptors. */
json_t *mx_image__descriptor_json(const mx_descriptor *d, int docker);
json_t *mx_image__platform_json(const mx_platform *p);
json_t *mx_image__strv_json(char *const *v);
json_t *mx_image__kv_json(char *const *kv);

/* Parse a JSON object of at most max bytes; errors in MX_D_IMAGE ("parse <doc>: ..."). */
int mx_image__load_json(json_t **out, const void *data, size_t len, size_t max, const char *doc,
                        mx_error **err);

/* Dump compactly in insertion order into *out (mx_free) and *len_out (may be NULL). */
int mx_image__dump(char **out, size_t *len_out, const json_t *j, mx_error **err);

/* 1 when s is an RFC 3339 date-time as Go's time package accepts it. */
int mx_image__is_rfc3339(const char *s);

/* The static canonical spelling of a known media type, or NULL. */
const char *mx_image__media_type_static(const char *media_type);

#endif
