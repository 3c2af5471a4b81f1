/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file registry.h
 * The OCI distribution client: pull into and push out of the store, tags, catalog,
 * manifests, delete, copy between registries, login and logout.
 *
 * References are Docker's ("busybox" is "docker.io/library/busybox:latest"); a "docker://"
 * prefix is accepted. Registries on loopback addresses and those listed in
 * "insecure-registries" of $MYRMEX_CONFIG (default /etc/myrmex/config.json) may be reached
 * over plain HTTP when they do not speak TLS; every HTTPS certificate is verified (extra CAs
 * and client certificates from opts->cert_dir or /etc/{myrmex,containers,docker}/certs.d/
 * HOST:PORT/) unless the registry is configured insecure or tls_verify is 0.
 *
 * Credentials: the options' username/password or token, else the Docker config
 * ($DOCKER_CONFIG/config.json or ~/.docker/config.json: auths, credHelpers, credsStore),
 * else podman's auth.json ($REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json).
 * Secrets never appear in errors, logs or process arguments.
 *
 * Errors are in domain MX_D_REGISTRY with http_status set when a registry answered:
 * MX_EAUTH (credentials refused, access denied), MX_ENOTFOUND (unknown repository, tag,
 * manifest or blob; the message says which), MX_ETLS (certificate verification or TLS
 * handshake failed), MX_ENET (connection refused, dropped, or retries exhausted),
 * MX_EDIGEST (content does not match its digest), MX_EINVAL (bad reference or option).
 *
 * Thread-safety: functions are reentrant; a store handle must not be shared by threads.
 */
#ifndef MYRMEX_REGISTRY_H
#define MYRMEX_REGISTRY_H

#include <stdint.h>

#include <myrmex/common.h>
#include <myrmex/error.h>
#include <myrmex/progress.h>
#include <myrmex/store.h>

MX_BEGIN_DECLS

#define MX_REGISTRY_OPTS_VERSION 1

/** Options shared by every registry operation; start from MX_REGISTRY_OPTS_INIT. */
typedef struct mx_registry_opts {
        unsigned int version;    /**< MX_REGISTRY_OPTS_VERSION */
        const char *username;    /**< with password: basic credentials, or NULL */
        const char *password;    /**< borrowed; never copied into errors or logs */
        const char *token;       /**< a bearer token sent as is, or NULL */
        const char *cert_dir;    /**< directory of CA files (.crt) and client pairs (.cert, .key) */
        const char *auth_file;   /**< a Docker/podman auth file to read instead, or NULL */
        int tls_verify;          /**< 1 (default): verify; 0: skip verification, allow HTTP */
        int plain_http;          /**< 1: talk plain HTTP (as a registry URL with http: asks) */
        const char *platform;    /**< "os/arch[/variant]" to pick from an index; NULL: host */
        int all_platforms;       /**< copy: keep every platform of an index */
        int unpack;              /**< pull: also unpack the layers (a runnable image) */
        int parallel;            /**< blob transfers at once; 0: 4 */
        int max_retries;         /**< attempts per request on 429/5xx/drops; 0: 5 */
        uint64_t chunk_size;     /**< push: 0 uploads each blob in one PUT; else PATCH chunks */
        mx_progress_cb progress; /**< per blob: action "pull"/"push", id = digest; or NULL */
        void *progress_userdata;
} mx_registry_opts;

#define MX_REGISTRY_OPTS_INIT                                         \
        {                                                             \
                .version = MX_REGISTRY_OPTS_VERSION, .tls_verify = 1, \
        }

/** What a pull, push or copy did. */
typedef struct mx_registry_result {
        char *reference;        /**< the remote reference, normalized */
        char *digest;           /**< what the reference resolved to (an index's digest for a
                                     multi-platform image), "sha256:..." */
        char *manifest_digest;  /**< the image manifest's digest (the platform's) */
        char *image_id;         /**< the config digest (the store's image ID), or NULL (copy) */
        uint64_t bytes_moved;   /**< bytes sent or received (compressed), all attempts */
        uint64_t image_size;    /**< compressed size of config + layers */
        unsigned blobs_moved;   /**< blobs transferred */
        unsigned blobs_skipped; /**< blobs already there (store or registry) */
} mx_registry_result;

/** Free a result. NULL is fine. */
MX_EXTERN void mx_registry_result_free(mx_registry_result *res);

/** Free a NULL-terminated list returned by this module. NULL is fine. */
MX_EXTERN void mx_registry_strv_free(char **v);

/**
 * Pull ref into the store: the manifest (an index's entry for opts->platform), the config
 * and every layer blob the store lacks, each verified against its digest while streaming,
 * then the image recorded and tagged with ref in one transaction; with opts->unpack the
 * layers are unpacked too. A pull that was interrupted resumes: blobs already in the store
 * are not fetched again.
 * @param out the result (caller frees with mx_registry_result_free()), or NULL.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_pull(mx_store *s, const char *ref,
                                                     const mx_registry_opts *opts,
                                                     mx_registry_result **out, mx_error **err);

/**
 * Push a stored image (anything mx_store_image_resolve() accepts) to dest, or to the
 * image's own name when dest is NULL: blobs the registry has (HEAD) are skipped, others
 * mounted from another repository of the same registry where the image is known to be,
 * else uploaded; then the manifest is put under dest's tag.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_push(mx_store *s, const char *image,
                                                     const char *dest, const mx_registry_opts *opts,
                                                     mx_registry_result **out, mx_error **err);

/**
 * Copy src to dst from registry to registry without unpacking (cross-repository mounts
 * when both are on one registry). With opts->all_platforms an index is copied whole;
 * otherwise the platform's manifest only.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_copy(const char *src, const char *dst,
                                                     const mx_registry_opts *opts,
                                                     mx_registry_result **out, mx_error **err);

/**
 * The tags of a repository (following Link pagination), in the registry's order.
 * @param tags_out NULL-terminated list, free with mx_registry_strv_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_list_tags(const char *repo,
                                                          const mx_registry_opts *opts,
                                                          char ***tags_out, mx_error **err);

/**
 * The repositories of a registry ("host[:port]"), following pagination.
 * @param repos_out NULL-terminated list, free with mx_registry_strv_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_catalog(const char *registry,
                                                        const mx_registry_opts *opts,
                                                        char ***repos_out, mx_error **err);

/**
 * A remote image as JSON: {"Name", "Digest", "MediaType", "Manifest": the raw manifest (or
 * index), "Config": the config of the platform's image (absent for an index with
 * all_platforms)}. Free *json_out with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_registry_inspect(const char *ref, const mx_registry_opts *opts, char **json_out, mx_error **err);

/**
 * The raw manifest bytes ref names, verified against their digest.
 * @param data_out, len_out the bytes (free with mx_free()); media_type_out and digest_out
 *        (free with mx_free()) may be NULL.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_registry_get_manifest(const char *ref, const mx_registry_opts *opts, char **data_out,
                         size_t *len_out, char **media_type_out, char **digest_out, mx_error **err);

/**
 * Delete the manifest ref names from the registry. A tag is resolved to its digest first
 * (registries delete by digest), which removes every tag that points to that manifest.
 * @param digest_out the deleted digest (free with mx_free()), or NULL.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_delete(const char *ref,
                                                       const mx_registry_opts *opts,
                                                       char **digest_out, mx_error **err);

/**
 * Tag in the registry without pulling: put src's manifest (byte for byte) under target,
 * a tag or a full reference on the same registry (another repository gets the blobs by
 * cross-repository mounts first, an index with all its platforms).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_tag(const char *src, const char *target,
                                                    const mx_registry_opts *opts, char **digest_out,
                                                    mx_error **err);

/**
 * Check credentials against the registry (a token or an authenticated /v2/), then store
 * them: the credential helper configured for server, else "auths" in the Docker config
 * (written atomically with mode 0600). server is "host[:port]" or a URL.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_login(const char *server, const char *username,
                                                      const char *password,
                                                      const mx_registry_opts *opts, mx_error **err);

/** Remove the stored login of server. MX_ENOTFOUND when there was none. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_registry_logout(const char *server, mx_error **err);

/**
 * The seed's manage_container_registry in one call, shared by the Python binding and the CLI.
 *
 * @param operation    "push", "pull", "tag", "list" or "delete".
 * @param image_name   the image (push: a stored image; else a remote reference).
 * @param registry_url "host[:port]" or "http(s)://host[:port]" naming the registry that
 *                     image_name's repository is on, or NULL to use image_name's own.
 * @param options_json NULL or a JSON object: username, password, token, target (tag),
 *                     platform, root (store directory), tls_verify, cert_dir, unpack.
 * @param result_json  on success the seed's dictionary as JSON: operation, image_name,
 *                     registry_url, success, image_digest, tags, size_mb, error_message.
 *                     Free with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_manage_container_registry(const char *operation, const char *image_name,
                             const char *registry_url, const char *options_json, char **result_json,
                             mx_error **err);

MX_END_DECLS

#endif
