/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file volume.h
 * Named volumes (`volumes/<name>/_data` in the store, records in its database) and the
 * parsing of `-v` and `--mount` values into mount specifications.
 *
 * Errors carry the domain MX_D_RUNTIME (volumes are part of manage_containers). Safe from
 * several processes on one store.
 */
#ifndef MYRMEX_VOLUME_H
#define MYRMEX_VOLUME_H

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

struct mx_store;

/* ------------------------------------------------------------------------------------ */
/* Mount specifications (pure parsing)                                                   */

typedef enum mx_mount_type {
        MX_MOUNT_BIND = 0,
        MX_MOUNT_VOLUME,
        MX_MOUNT_TMPFS,
} mx_mount_type;

/** One mount for a container. Free with mx_mount_spec_free(). */
typedef struct mx_mount_spec {
        mx_mount_type type;
        char *source; /**< bind: absolute host path; volume: name, NULL = anonymous;
                           tmpfs: NULL */
        char *target; /**< absolute path in the container */
        int read_only;
        char *propagation;   /**< bind only: "rprivate" (default), "private", "rshared",
                                  "shared", "rslave", "slave" */
        int volume_nocopy;   /**< volume only: do not seed from the image */
        uint64_t tmpfs_size; /**< tmpfs only: bytes, 0 = kernel default */
        uint32_t tmpfs_mode; /**< tmpfs only: mode bits, 0 = 01777 */
        int selinux_relabel; /**< 'z' or 'Z' given (accepted, no effect here) */
} mx_mount_spec;

MX_EXTERN void mx_mount_spec_free(mx_mount_spec *m);

/**
 * Parse a `-v` / `--volume` value: `NAME:/path[:OPTS]` (named volume), `/host:/path[:OPTS]`
 * (bind mount), or `/path` (anonymous volume). OPTS is a comma list of ro, rw, z, Z,
 * nocopy and the propagation modes.
 * @return 0, or MX_EINVAL (domain MX_D_RUNTIME) with what is wrong
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_mount_parse_volume(mx_mount_spec **out, const char *spec,
                                                          mx_error **err);

/**
 * Parse a `--mount` value: comma-separated `key=value` with type=bind|volume|tmpfs,
 * source|src, target|destination|dst, readonly|ro[=true|false|1|0], bind-propagation,
 * volume-nocopy, tmpfs-size (Docker's size syntax), tmpfs-mode (octal), consistency
 * (ignored).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_mount_parse_mount(mx_mount_spec **out, const char *spec,
                                                         mx_error **err);

/**
 * The seed's ContainerConfig `volumes` (docker-py's shapes) as mount specifications:
 * `{"/host/path": {"bind": "/path", "mode": "ro"}}` (bind), `{"name": {"bind": "/data"}}`
 * (named volume), `{"/host": "/path"}` and `["/anon", "name:/data:ro"]` (the -v syntax).
 * @param out receives an array of *n_out specs; free each with mx_mount_spec_free() and the
 *            array with mx_free()
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_mount_parse_seed(mx_mount_spec ***out, size_t *n_out,
                                                        const char *volumes_json, mx_error **err);

/* ------------------------------------------------------------------------------------ */
/* Volumes                                                                               */

typedef struct mx_volume_info {
        char *name;
        char *driver;      /**< "local" */
        char *mountpoint;  /**< .../volumes/<name>/_data */
        int64_t created;   /**< Unix seconds */
        int anonymous;     /**< created for a container without a name */
        char *labels_json; /**< JSON object text */
        size_t ref_count;  /**< containers using it */
} mx_volume_info;

MX_EXTERN void mx_volume_info_free(mx_volume_info *v);
MX_EXTERN void mx_volume_info_list_free(mx_volume_info **list, size_t n);

#define MX_VOLUME_CREATE_OPTS_VERSION 1
typedef struct mx_volume_create_opts {
        int version;             /**< MX_VOLUME_CREATE_OPTS_VERSION */
        const char *name;        /**< NULL: an anonymous volume with a random 64-hex name */
        const char *driver;      /**< NULL or "local" */
        const char *labels_json; /**< NULL or a JSON object */
} mx_volume_create_opts;
#define MX_VOLUME_CREATE_OPTS_INIT                              \
        {                                                       \
                MX_VOLUME_CREATE_OPTS_VERSION, NULL, NULL, NULL \
        }

/**
 * Create a volume. Creating a name that exists returns the existing volume, as Docker.
 * @param out NULL or receives the record (caller frees)
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_create(mx_volume_info **out, struct mx_store *store,
                                                     const mx_volume_create_opts *opts,
                                                     mx_error **err);
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_inspect(mx_volume_info **out, struct mx_store *store,
                                                      const char *name, mx_error **err);
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_list(mx_volume_info ***out, size_t *n_out,
                                                   struct mx_store *store, mx_error **err);
/**
 * Remove a volume and its data. MX_EBUSY while a container uses it unless force (which
 * drops the references too); MX_ENOTFOUND when absent.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_remove(struct mx_store *store, const char *name,
                                                     int force, mx_error **err);
/**
 * Remove unused volumes: anonymous ones, or every unused one with all set.
 * @param removed_out NULL or a NULL-terminated list of names (mx_free each and the list)
 * @param reclaimed_out NULL or the bytes freed
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_prune(char ***removed_out, uint64_t *reclaimed_out,
                                                    struct mx_store *store, int all,
                                                    mx_error **err);

/**
 * What the runtime calls at container create for each volume mount: create the volume when
 * it does not exist (a random name for an anonymous one), record that the container uses it,
 * and on its first use seed it from the image: when the volume is empty and nocopy is not
 * set, the content of image_rootfs/mount_point (files, modes, owners, links) is copied in,
 * as Docker does.
 * @param image_rootfs the image's root filesystem (read only; NULL: no seeding)
 * @param out          receives the volume record; its mountpoint is the bind source
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_use(mx_volume_info **out, struct mx_store *store,
                                                  const mx_mount_spec *spec,
                                                  const char *container_id,
                                                  const char *image_rootfs, mx_error **err);

/**
 * What the runtime calls at container removal: drop the container's references; with
 * remove_anonymous (`rm -v`) also remove its anonymous volumes no other container uses.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_release(struct mx_store *store,
                                                      const char *container_id,
                                                      int remove_anonymous, mx_error **err);

/**
 * Copy image_rootfs/mount_point into data_dir when data_dir is empty (modes, owners, times,
 * symlinks, hardlinks as copies). Nothing is read outside image_rootfs: links are not
 * followed. A missing mount point in the image is success (nothing to seed).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_volume_seed(const char *data_dir, const char *image_rootfs,
                                                   const char *mount_point, mx_error **err);

MX_END_DECLS

#endif
