/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file image.h
 * OCI and Docker image formats: media types, descriptors, manifests, indexes (manifest
 * lists), image configurations, platforms and chain IDs.
 *
 * The documents are plain C99 structs the caller may read directly. Every string and array
 * in them is allocated with malloc() by the library and owned by the enclosing object; free
 * an object only with its _free function (never free() a library object itself). A caller
 * building or editing an object by hand may replace a field with a malloc()ed value (the old
 * one freed with free()), or better use the helpers below.
 *
 * Parsers are bounded and strict: they refuse documents larger than their cap, more than
 * #MX_IMAGE_MAX_ENTRIES layers or manifests, duplicate JSON keys, wrong field types,
 * invalid digests, negative or absurd sizes, and unknown layer media types in image
 * manifests. Errors are in domain #MX_D_IMAGE and their message names the field, e.g.
 * "manifest field 'layers[2].digest': invalid digest 'sha256:ABC'". Unknown fields are
 * ignored, as the OCI image spec requires.
 *
 * Serializers produce canonical bytes (compact JSON, keys in the order the OCI Go types and
 * Docker's distribution write them), so the same struct always gives the same digest.
 *
 * Nothing here keeps global state; all functions are thread-safe on distinct objects.
 */
#ifndef MYRMEX_IMAGE_H
#define MYRMEX_IMAGE_H

#include <stdint.h>

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/**
 * Bytes needed for a digest string: "sha512:" + 128 hex digits + NUL. The store's header
 * may define the same macro with the same value.
 */
#ifndef MX_DIGEST_BUF
#define MX_DIGEST_BUF 136
#endif

/** @name Caps applied by the parsers */
/**@{*/
#define MX_MANIFEST_MAX_BYTES ((size_t)4 << 20)  /**< manifest or index document, 4 MiB */
#define MX_CONFIG_MAX_BYTES   ((size_t)8 << 20)  /**< image configuration, 8 MiB */
#define MX_IMAGE_MAX_ENTRIES  10000              /**< layers, manifests, diff_ids, history */
#define MX_LAYER_MAX_SIZE     ((int64_t)1 << 40) /**< declared size of a layer blob, 1 TiB */
#define MX_CONFIG_MAX_SIZE    ((int64_t)8 << 20) /**< declared size of a config blob */
#define MX_MANIFEST_MAX_SIZE  ((int64_t)4 << 20) /**< declared size of a manifest blob */
/**@}*/

/** @name OCI media types */
/**@{*/
#define MX_MT_OCI_INDEX         "application/vnd.oci.image.index.v1+json"
#define MX_MT_OCI_MANIFEST      "application/vnd.oci.image.manifest.v1+json"
#define MX_MT_OCI_CONFIG        "application/vnd.oci.image.config.v1+json"
#define MX_MT_OCI_LAYER         "application/vnd.oci.image.layer.v1.tar"
#define MX_MT_OCI_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define MX_MT_OCI_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"
#define MX_MT_OCI_LAYER_ND      "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define MX_MT_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define MX_MT_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define MX_MT_OCI_EMPTY         "application/vnd.oci.empty.v1+json"
#define MX_MT_OCI_LAYOUT_HEADER "application/vnd.oci.layout.header.v1+json"
/**@}*/

/** @name Docker media types */
/**@{*/
#define MX_MT_DOCKER_MANIFEST      "application/vnd.docker.distribution.manifest.v2+json"
#define MX_MT_DOCKER_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MX_MT_DOCKER_CONFIG        "application/vnd.docker.container.image.v1+json"
#define MX_MT_DOCKER_LAYER_GZIP    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MX_MT_DOCKER_LAYER         "application/vnd.docker.image.rootfs.diff.tar"
#define MX_MT_DOCKER_FOREIGN_GZIP  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/** Docker schema 1 manifests: recognised only to be refused with MX_EUNSUPPORTED. */
#define MX_MT_DOCKER_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define MX_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
/**@}*/

/** @name Well-known annotation keys */
/**@{*/
#define MX_ANNOTATION_REF_NAME        "org.opencontainers.image.ref.name"
#define MX_ANNOTATION_CREATED         "org.opencontainers.image.created"
#define MX_ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"
/**@}*/

/** Compression of a layer, from its media type. */
typedef enum mx_media_compression {
        MX_MEDIA_COMPRESSION_UNKNOWN = -1, /**< not a layer media type this library knows */
        MX_MEDIA_COMPRESSION_NONE = 0,     /**< plain tar */
        MX_MEDIA_COMPRESSION_GZIP = 1,     /**< tar+gzip */
        MX_MEDIA_COMPRESSION_ZSTD = 2,     /**< tar+zstd */
} mx_media_compression;

/**
 * @name Media type classification
 * All take a media type string (parameters after ';' are ignored; NULL gives 0) and never fail.
 */
/**@{*/
/** 1 for an OCI image manifest or a Docker v2 schema 2 manifest, else 0. */
MX_EXTERN int mx_media_type_is_manifest(const char *media_type);
/** 1 for an OCI image index or a Docker manifest list, else 0. */
MX_EXTERN int mx_media_type_is_index(const char *media_type);
/** 1 for an OCI or Docker image configuration, else 0. */
MX_EXTERN int mx_media_type_is_config(const char *media_type);
/** 1 for every OCI or Docker layer media type listed above (incl. non-distributable). */
MX_EXTERN int mx_media_type_is_layer(const char *media_type);
/** 1 for OCI non-distributable layers and Docker foreign layers. */
MX_EXTERN int mx_media_type_is_nondistributable(const char *media_type);
/** 1 for any application/vnd.docker.* type, else 0. */
MX_EXTERN int mx_media_type_is_docker(const char *media_type);
/** Compression of a layer media type; #MX_MEDIA_COMPRESSION_UNKNOWN for anything else. */
MX_EXTERN mx_media_compression mx_media_type_compression(const char *media_type);
/**
 * 1 when the string is a syntactically valid media type (RFC 6838 "type/subtype" as the
 * OCI descriptor grammar restricts it, at most 255 bytes, no parameters), else 0.
 */
MX_EXTERN int mx_media_type_is_valid(const char *media_type);
/**
 * The Docker media type for an OCI one (manifest, index, config, layer kinds), or the
 * argument itself when it is already a Docker type. Static storage. NULL when Docker has no
 * equivalent (zstd layers, the empty descriptor, unknown types).
 */
MX_EXTERN const char *mx_media_type_to_docker(const char *media_type);
/**
 * The OCI media type for a Docker one, or the argument's OCI canonical spelling when it is
 * already OCI. Static storage. NULL for unknown types.
 */
MX_EXTERN const char *mx_media_type_to_oci(const char *media_type);
/**@}*/

/**
 * Key/value lists (annotations, labels): a NULL-terminated array of alternating keys and
 * values, { "k1", "v1", "k2", "v2", NULL }, in document order, keys unique. An absent list
 * is NULL.
 */
/** The value of key in kv, or NULL. Borrowed from kv. */
MX_EXTERN const char *mx_kv_get(char *const *kv, const char *key);
/** Number of pairs in kv (0 for NULL). */
MX_EXTERN size_t mx_kv_count(char *const *kv);
/**
 * Set key to value in *kv (replacing an existing value in place, else appending), copying
 * both. *kv may be NULL. MX_EINVAL for a NULL key or value, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_kv_set(char ***kv, const char *key, const char *value,
                                              mx_error **err);
/** Remove key from *kv if present. */
MX_EXTERN void mx_kv_unset(char ***kv, const char *key);
/** Free a key/value list. NULL is fine. */
MX_EXTERN void mx_kv_free(char **kv);

/** An OCI platform: where an image runs. */
typedef struct mx_platform {
        char *os;           /**< "linux", required */
        char *architecture; /**< Go-style: "amd64", "arm64", "arm", "386", ... required */
        char *variant;      /**< "v7", "v8", or NULL */
        char *os_version;   /**< "os.version" (Windows builds), or NULL */
        char **os_features; /**< "os.features", NULL-terminated, or NULL */
} mx_platform;

/** Free a platform and its fields. NULL is fine. */
MX_EXTERN void mx_platform_free(mx_platform *p);

/** A deep copy of src into *out (caller frees with mx_platform_free()). */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_platform_copy(mx_platform **out, const mx_platform *src,
                                                     mx_error **err);

/**
 * Parse "os[/arch[/variant]]" or a bare "arch" as containerd does, then normalize it (see
 * mx_platform_normalize()). A single component that is a known OS ("linux", "windows",
 * "darwin", "freebsd") takes the host's architecture; any other single component is an
 * architecture on linux. The caller frees *out with mx_platform_free().
 * @return 0, or MX_EINVAL (empty, too many components, bad characters) in domain MX_D_IMAGE.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_platform_parse(mx_platform **out, const char *spec,
                                                      mx_error **err);

/**
 * The platform this library was built for, with Go's names: amd64, arm64 (variant v8),
 * arm (variant v5/v6/v7 as compiled), 386, ppc64le, s390x, riscv64, on linux.
 * Caller frees *out with mx_platform_free().
 * @return 0, MX_ENOMEM, or MX_EUNSUPPORTED on an architecture Go has no name for.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_platform_host(mx_platform **out, mx_error **err);

/**
 * Normalize in place as containerd does: lowercase; os "macos" -> "darwin";
 * arch "x86_64"/"x86-64"/"amd64" -> "amd64" (variant "v1" dropped), "aarch64"/"arm64" ->
 * "arm64" (variant "8"/"v8"/none -> "v8"), "armhf" -> arm/v7, "armel" -> arm/v6,
 * "arm" (variant "5"/"6"/"7"/"8" -> "vN", none -> "v7"), "i386"/"i486"/"i586"/"i686"/"x86"
 * -> "386". Fields other than os/architecture/variant are untouched.
 * @return 0, MX_EINVAL when os or architecture is missing, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_platform_normalize(mx_platform *p, mx_error **err);

/**
 * "os/arch" or "os/arch/variant". Caller frees with mx_free(). NULL when p is NULL, lacks
 * os or architecture, or memory is exhausted.
 */
MX_EXTERN char *mx_platform_format(const mx_platform *p);

/**
 * How well a platform on offer serves the wanted one, containerd-style, after normalizing
 * both: 0 = cannot run it; otherwise a rank where a higher number is a better match (an
 * exact match ranks highest; arm v7 accepts v6 then v5; arm64 accepts arm v8..v5; amd64
 * accepts lower amd64 variants then 386). os and architecture are compared exactly after
 * normalization; os_version/os_features are ignored.
 */
MX_EXTERN int mx_platform_match(const mx_platform *want, const mx_platform *have);

/** A content descriptor: what a manifest or index points to. */
typedef struct mx_descriptor {
        char *media_type;      /**< "mediaType", required */
        char *digest;          /**< "digest": "sha256:<64 lowercase hex>" or "sha512:<128>" */
        int64_t size;          /**< "size" in bytes, >= 0 */
        char **urls;           /**< "urls", NULL-terminated, or NULL */
        char **annotations;    /**< "annotations" as a key/value list (see mx_kv_get), or NULL */
        char *data;            /**< "data": embedded content, base64 as in the JSON, or NULL */
        mx_platform *platform; /**< "platform" (index entries), or NULL */
        char *artifact_type;   /**< "artifactType", or NULL */
} mx_descriptor;

/** Free the fields of a descriptor (not the struct itself) and zero it. NULL is fine. */
MX_EXTERN void mx_descriptor_clear(mx_descriptor *d);
/** Free a heap-allocated descriptor (as mx_manifest::subject) and its fields. */
MX_EXTERN void mx_descriptor_free(mx_descriptor *d);
/**
 * Deep-copy src into *dst. dst's old contents are not freed (pass a zeroed or cleared
 * struct). On failure *dst is left zeroed.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_descriptor_copy(mx_descriptor *dst, const mx_descriptor *src,
                                                       mx_error **err);
/**
 * Fill a descriptor's required fields, copying the strings and freeing previous values of
 * those three fields. Validates: media type syntax, digest, size >= 0.
 * @return 0, MX_EINVAL (field named in the message), MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_descriptor_set(mx_descriptor *d, const char *media_type,
                                                      const char *digest, int64_t size,
                                                      mx_error **err);

/** An image manifest (OCI or Docker v2 schema 2). */
typedef struct mx_manifest {
        int schema_version;    /**< always 2 */
        char *media_type;      /**< never NULL after parsing: the document's mediaType, else
                                    the declared type, else MX_MT_OCI_MANIFEST */
        char *artifact_type;   /**< "artifactType" (OCI 1.1), or NULL */
        mx_descriptor config;  /**< "config", required */
        mx_descriptor *layers; /**< "layers", n_layers entries (may be 0 for artifacts) */
        size_t n_layers;
        mx_descriptor *subject; /**< "subject" (OCI 1.1), or NULL */
        char **annotations;     /**< key/value list, or NULL */
} mx_manifest;

/** Free a manifest. NULL is fine. */
MX_EXTERN void mx_manifest_free(mx_manifest *m);

/**
 * Parse an image manifest.
 *
 * @param out                 the manifest; caller frees with mx_manifest_free()
 * @param data, len           the JSON bytes (no NUL needed), at most #MX_MANIFEST_MAX_BYTES
 * @param declared_media_type the type the transport declared (HTTP Content-Type, an index
 *                            entry's mediaType), or NULL. Parameters after ';' are ignored,
 *                            and "application/json", "application/octet-stream" and "" count
 *                            as absent. When both it and the document's mediaType are
 *                            present they must be equal.
 * @return 0; MX_ETOOBIG (document or count over a cap, declared size over its cap);
 *         MX_EFORMAT (bad JSON, duplicate key, wrong type, schemaVersion not 2, mediaType
 *         mismatch, missing config, invalid digest, negative size, an index given where a
 *         manifest was expected); MX_EUNSUPPORTED (Docker schema 1, an unknown manifest
 *         media type, an unknown layer media type in an image manifest). Domain MX_D_IMAGE;
 *         the message names the field.
 *
 * An image manifest is one whose config has an image config media type; its layers must
 * have known layer media types. Other manifests (OCI 1.1 artifacts: any other config type,
 * e.g. MX_MT_OCI_EMPTY) may have layers of any valid media type; see mx_manifest_is_image().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_manifest_parse(mx_manifest **out, const void *data,
                                                      size_t len, const char *declared_media_type,
                                                      mx_error **err);

/** 1 when m's config media type is an OCI or Docker image config, else 0 (an artifact). */
MX_EXTERN int mx_manifest_is_image(const mx_manifest *m);

/**
 * Canonical JSON bytes of m: compact, keys in the order the OCI Go types (OCI media type)
 * or Docker's distribution (Docker media type) write them, optional fields only when set.
 * The Docker form refuses OCI-only fields (artifactType, subject) with MX_EUNSUPPORTED.
 * *out is NUL-terminated and freed with mx_free(); *len_out (may be NULL) excludes the NUL.
 * @return 0, MX_EINVAL (m incomplete: the field is named), MX_EUNSUPPORTED, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_manifest_to_json(char **out, size_t *len_out,
                                                        const mx_manifest *m, mx_error **err);

/**
 * An empty manifest of the given media type (MX_MT_OCI_MANIFEST or MX_MT_DOCKER_MANIFEST)
 * with schema_version 2, to be filled with mx_descriptor_set(&m->config, ...) and
 * mx_manifest_add_layer(). Caller frees with mx_manifest_free().
 * @return 0, MX_EINVAL for another media type, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_manifest_new(mx_manifest **out, const char *media_type,
                                                    mx_error **err);

/**
 * Append a layer descriptor (strings copied). Validates like mx_descriptor_set() and
 * refuses more than #MX_IMAGE_MAX_ENTRIES layers (MX_ETOOBIG).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_manifest_add_layer(mx_manifest *m, const char *media_type,
                                                          const char *digest, int64_t size,
                                                          mx_error **err);

/**
 * A copy of m converted to target_media_type (MX_MT_OCI_MANIFEST or MX_MT_DOCKER_MANIFEST):
 * the manifest, config and layer media types are mapped with mx_media_type_to_docker() /
 * mx_media_type_to_oci(); everything else is copied. Converting to Docker refuses, with
 * MX_EUNSUPPORTED naming the field, zstd layers, artifact manifests, artifactType and subject.
 * Caller frees *out with mx_manifest_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_manifest_convert(mx_manifest **out, const mx_manifest *m,
                                                        const char *target_media_type,
                                                        mx_error **err);

/** An image index (OCI) or manifest list (Docker). */
typedef struct mx_index {
        int schema_version;       /**< always 2 */
        char *media_type;         /**< never NULL after parsing (see mx_manifest::media_type;
                                       the default is MX_MT_OCI_INDEX) */
        char *artifact_type;      /**< "artifactType", or NULL */
        mx_descriptor *manifests; /**< "manifests", n_manifests entries */
        size_t n_manifests;
        mx_descriptor *subject; /**< "subject", or NULL */
        char **annotations;     /**< key/value list, or NULL */
} mx_index;

/** Free an index. NULL is fine. */
MX_EXTERN void mx_index_free(mx_index *idx);

/**
 * Parse an OCI image index or Docker manifest list (also an OCI layout's index.json).
 * Arguments and errors as mx_manifest_parse(). Entries may have any valid media type
 * (unknown ones are kept, and skipped by mx_index_select()); a Docker manifest list's entries
 * must carry a platform. A platform, when present, needs os and architecture.
 * Caller frees *out with mx_index_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_index_parse(mx_index **out, const void *data, size_t len,
                                                   const char *declared_media_type, mx_error **err);

/** Canonical JSON bytes of idx, as mx_manifest_to_json(). */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_index_to_json(char **out, size_t *len_out,
                                                     const mx_index *idx, mx_error **err);

/**
 * An empty index (MX_MT_OCI_INDEX or MX_MT_DOCKER_MANIFEST_LIST), schema_version 2.
 * Caller frees *out with mx_index_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_index_new(mx_index **out, const char *media_type,
                                                 mx_error **err);

/**
 * Append a deep copy of desc to idx->manifests (validated as mx_descriptor_set(); at most
 * #MX_IMAGE_MAX_ENTRIES entries).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_index_add(mx_index *idx, const mx_descriptor *desc,
                                                 mx_error **err);

/**
 * A copy of idx converted to target_media_type (MX_MT_OCI_INDEX or
 * MX_MT_DOCKER_MANIFEST_LIST): the index's and each entry's media type are mapped with
 * mx_media_type_to_docker() / mx_media_type_to_oci(). Converting to Docker drops the
 * top-level annotations and refuses, with MX_EUNSUPPORTED naming the field, entries of a
 * media type Docker has no name for, entries without a platform, artifactType and subject.
 * Caller frees *out with mx_index_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_index_convert(mx_index **out, const mx_index *idx,
                                                     const char *target_media_type, mx_error **err);

/**
 * Choose the manifest for a platform from an index, as containerd does: among entries whose
 * media type is a manifest or index type and that carry a platform, the best
 * mx_platform_match() wins (the first in document order on ties). want NULL means
 * mx_platform_host().
 * @param out borrowed pointer into idx->manifests, valid while idx lives.
 * @return 0; MX_ENOTFOUND (domain MX_D_IMAGE) whose message lists the available platforms
 *         when none matches; MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_index_select(const mx_index *idx, const mx_platform *want,
                                                    const mx_descriptor **out, mx_error **err);

/** What a JSON document is, from mx_content_sniff(). */
typedef enum mx_content_kind {
        MX_CONTENT_UNKNOWN = 0,  /**< not JSON, or none of the below */
        MX_CONTENT_MANIFEST = 1, /**< an image manifest: use mx_manifest_parse() */
        MX_CONTENT_INDEX = 2,    /**< an index or manifest list: use mx_index_parse() */
        MX_CONTENT_CONFIG = 3,   /**< an image configuration: use mx_image_config_parse() */
        MX_CONTENT_SCHEMA1 = 4,  /**< a Docker schema 1 manifest (unsupported) */
} mx_content_kind;

/**
 * Tell what a document is. A known declared media type decides; otherwise the document's
 * mediaType; otherwise its shape ("manifests" -> index, "config" + "layers" -> manifest,
 * "rootfs" or "architecture" -> config, schemaVersion 1 with "fsLayers" -> schema 1).
 * Reads at most #MX_CONFIG_MAX_BYTES. Never fails; MX_CONTENT_UNKNOWN when unsure.
 */
MX_EXTERN mx_content_kind mx_content_sniff(const void *data, size_t len,
                                           const char *declared_media_type);

/** A HEALTHCHECK; durations in nanoseconds, 0 when unset. */
typedef struct mx_healthcheck {
        char **test;            /**< "Test", e.g. {"CMD-SHELL", "curl -f x", NULL}, or NULL */
        int64_t interval;       /**< "Interval" */
        int64_t timeout;        /**< "Timeout" */
        int64_t start_period;   /**< "StartPeriod" */
        int64_t start_interval; /**< "StartInterval" */
        int64_t retries;        /**< "Retries" */
} mx_healthcheck;

/**
 * The runtime defaults of an image ("config" in the image configuration). String vectors
 * are NULL-terminated; NULL means the key is absent or null, an empty vector ({NULL}) means
 * an empty JSON array (Docker tells these apart for Cmd and Entrypoint).
 */
typedef struct mx_container_config {
        char *user;                  /**< "User", or NULL */
        char **exposed_ports;        /**< keys of "ExposedPorts" ("80/tcp"), or NULL */
        char **env;                  /**< "Env" ("K=V"), or NULL */
        char **entrypoint;           /**< "Entrypoint", or NULL */
        char **cmd;                  /**< "Cmd", or NULL */
        char **volumes;              /**< keys of "Volumes", or NULL */
        char *working_dir;           /**< "WorkingDir", or NULL */
        char **labels;               /**< "Labels" as a key/value list, or NULL */
        char *stop_signal;           /**< "StopSignal", or NULL */
        int args_escaped;            /**< "ArgsEscaped" (Windows), 0 when absent */
        mx_healthcheck *healthcheck; /**< "Healthcheck" (Docker), or NULL */
        char **shell;                /**< "Shell" (Docker), or NULL */
        char **onbuild;              /**< "OnBuild" (Docker), or NULL */
} mx_container_config;

/** One "history" entry. */
typedef struct mx_history {
        char *created;    /**< RFC 3339 time, or NULL */
        char *created_by; /**< the command that made the layer, or NULL */
        char *author;     /**< or NULL */
        char *comment;    /**< or NULL */
        int empty_layer;  /**< 1 when this step made no layer */
} mx_history;

/** An image configuration (OCI image config or Docker container image v1). */
typedef struct mx_image_config {
        char *created;              /**< "created", RFC 3339 as written, or NULL */
        char *author;               /**< "author", or NULL */
        char *architecture;         /**< "architecture", required */
        char *os;                   /**< "os", required */
        char *os_version;           /**< "os.version", or NULL */
        char **os_features;         /**< "os.features", or NULL */
        char *variant;              /**< "variant", or NULL */
        int has_config;             /**< 1 when the document had a "config" object */
        mx_container_config config; /**< "config" (all NULL/0 when absent) */
        char *rootfs_type;          /**< "rootfs.type", always "layers" */
        char **diff_ids; /**< "rootfs.diff_ids", NULL-terminated (never NULL after parse) */
        size_t n_diff_ids;
        mx_history *history; /**< "history", n_history entries */
        size_t n_history;
        /** The original bytes this was parsed from (NULL for built configs); use
         *  mx_image_config_raw(). Owned by the config. */
        char *raw;
        size_t raw_len;
} mx_image_config;

/** Free an image configuration. NULL is fine. */
MX_EXTERN void mx_image_config_free(mx_image_config *cfg);

/**
 * Parse an image configuration, at most #MX_CONFIG_MAX_BYTES. Requires os, architecture
 * and rootfs {type "layers", diff_ids of valid digests}; at most #MX_IMAGE_MAX_ENTRIES
 * diff_ids and history entries. Keeps a copy of the bytes (mx_image_config_raw()).
 * Caller frees *out with mx_image_config_free().
 * @return 0, MX_ETOOBIG, MX_EFORMAT naming the field (domain MX_D_IMAGE), MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_image_config_parse(mx_image_config **out, const void *data,
                                                          size_t len, mx_error **err);

/**
 * A deep copy of cfg (its fields, and its raw bytes when it has them), e.g. to derive a new
 * image's configuration from a base image's. Fails as mx_image_config_to_json() on a config
 * that could not be written. Caller frees *out with mx_image_config_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_image_config_copy(mx_image_config **out, const mx_image_config *cfg, mx_error **err);

/**
 * The bytes cfg was parsed from, for printing fields verbatim (inspect) or re-hashing.
 * Borrowed from cfg. NULL (and *len_out 0) for a config that was built, not parsed.
 * len_out may be NULL.
 */
MX_EXTERN const char *mx_image_config_raw(const mx_image_config *cfg, size_t *len_out);

/**
 * Canonical JSON bytes of cfg (keys in the OCI Go order: created, author, architecture, os,
 * os.version, os.features, variant, config, rootfs, history; Docker's Healthcheck, Shell,
 * OnBuild inside config when set). Fields this struct does not model are not written; use
 * mx_image_config_raw() to keep a parsed document byte for byte.
 * *out is freed with mx_free(); *len_out (may be NULL) excludes the NUL.
 * @return 0, MX_EINVAL (missing os/architecture, bad diff_id: the field is named), MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_image_config_to_json(char **out, size_t *len_out, const mx_image_config *cfg, mx_error **err);

/**
 * A new configuration for an image made of the given layers: os/architecture/variant of
 * mx_platform_host(), created = created_unix as RFC 3339 UTC (created_unix < 0: now),
 * rootfs.type "layers", diff_ids copied, and one history entry per layer with that time and
 * created_by (NULL: no created_by). Caller frees *out with mx_image_config_free(); extend it
 * with mx_image_config_add_layer() or by setting fields.
 * @return 0, MX_EINVAL (an invalid diff_id, named), MX_ETOOBIG, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_image_config_new_for_layers(mx_image_config **out, const char *const *diff_ids,
                               size_t n_diff_ids, const char *created_by, int64_t created_unix,
                               mx_error **err);

/**
 * Append a layer (diff_id != NULL) or an empty step (diff_id NULL: history only, empty_layer
 * set) with a history entry (created_by may be NULL; created_unix < 0: now). Also updates
 * cfg->created. Drops cfg->raw (the config no longer matches it).
 * @return 0, MX_EINVAL (invalid diff_id), MX_ETOOBIG, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_image_config_add_layer(mx_image_config *cfg,
                                                              const char *diff_id,
                                                              const char *created_by,
                                                              int64_t created_unix, mx_error **err);

/**
 * The ChainID of the first n layers (OCI image spec): ChainID(L0) = DiffID(L0);
 * ChainID(Ln) = sha256 of "ChainID(Ln-1) DiffID(Ln)" (one space). Written into out only on
 * success.
 * @return 0, MX_EINVAL (n == 0, or a diff_id that is not a valid digest, named).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_chain_id(char out[MX_DIGEST_BUF], const char *const *diff_ids, size_t n, mx_error **err);

/**
 * One step of the chain: out = parent_chain_id == NULL ? diff_id
 * : sha256("parent_chain_id diff_id"). out may alias parent_chain_id.
 * @return 0, MX_EINVAL for an invalid digest.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_chain_id_next(char out[MX_DIGEST_BUF],
                                                     const char *parent_chain_id,
                                                     const char *diff_id, mx_error **err);

MX_END_DECLS

#endif
