/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file images.h
 * Image operations on the store: load and save archives (docker-archive, oci-archive, OCI
 * layout directories), import a root filesystem tarball, unpack layers, mount an image
 * read-only, and the data behind `inspect IMAGE` and `history`.
 *
 * Images are named as the store's lookups accept them: a reference ("busybox",
 * "docker.io/library/busybox:latest"), a full ID ("sha256:<hex>") or a unique ID prefix.
 *
 * Every function opens its own transactions on the store; several processes (and threads
 * with their own mx_store handles) may run them at once. Errors come back in domain
 * MX_D_IMAGE (wrapping the store's, the layer code's or the system's).
 */
#ifndef MYRMEX_IMAGES_H
#define MYRMEX_IMAGES_H

#include <stdint.h>

#include <myrmex/common.h>
#include <myrmex/error.h>
#include <myrmex/progress.h>
#include <myrmex/store.h>

MX_BEGIN_DECLS

/** Free a NULL-terminated string vector returned by this module (loaded_out). NULL is fine. */
MX_EXTERN void mx_images_strv_free(char **v);

/* ---- load ------------------------------------------------------------------------------- */

#define MX_IMAGES_LOAD_OPTS_VERSION 1

/** Options of mx_images_load(); start from MX_IMAGES_LOAD_OPTS_INIT. */
typedef struct mx_images_load_opts {
        unsigned int version;    /**< MX_IMAGES_LOAD_OPTS_VERSION */
        mx_progress_cb progress; /**< action "load", one item per blob; or NULL */
        void *progress_userdata; /**< passed to progress */
        /**
         * "os/arch[/variant]" to pick from an image index inside an OCI layout; NULL means
         * the host platform.
         */
        const char *platform;
} mx_images_load_opts;

#define MX_IMAGES_LOAD_OPTS_INIT            \
        {                                   \
                MX_IMAGES_LOAD_OPTS_VERSION \
        }

/**
 * Load every image of an archive read from fd (a pipe is fine: it is read once, in order,
 * and layers are streamed into the store without being held in memory).
 *
 * The kind is detected from the content: a docker-archive tar (`manifest.json`, layers as
 * `<id>/layer.tar`, `<hex>.tar` or `blobs/sha256/<hex>`), an OCI image layout in a tar
 * (oci-archive, also Docker 25's archives that hold both), each optionally compressed
 * (gzip, zstd, xz, bzip2).
 *
 * Names: each image is tagged with `io.containerd.image.name` when its index entry has it,
 * else `org.opencontainers.image.ref.name` when that holds a reference (it contains ':' or
 * '/'; "h:name" becomes "docker.io/library/h:name"), else the docker-archive's RepoTags
 * (every one of them). An image with only a bare tag, or none, is loaded by ID.
 *
 * Everything is verified before the image record is written: member names (no absolute
 * names, no "..", links only to other members), every blob against its digest and declared
 * size, media types, the manifest and config (parsed strictly), the config's diff_ids
 * against the layers' uncompressed digests. A refused archive leaves no image record and no
 * tag; blobs already copied into the store are unreferenced garbage for the store's gc.
 *
 * @param loaded_out on success a NULL-terminated list, one entry per loaded name: the full
 *                   normalized reference ("docker.io/library/busybox:latest"), or the ID
 *                   ("sha256:<hex>") of an image loaded without a name. Free with
 *                   mx_images_strv_free(). May be NULL.
 * @return 0; MX_EFORMAT (not an archive, malformed JSON, no manifest, truncated data),
 *         MX_EDIGEST (a blob or diff_id mismatch), MX_EUNSUPPORTED (media type), MX_EUNSAFE
 *         (member name or link escapes), MX_ETOOBIG (declared size past a cap),
 *         MX_ENOTFOUND (a manifest names a missing member), MX_EIO...
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_load(mx_store *s, int fd,
                                                   const mx_images_load_opts *opts,
                                                   char ***loaded_out, mx_error **err);

/**
 * As mx_images_load() from a path: a file (any archive kind above) or a directory holding
 * an OCI image layout (`oci-layout`, `index.json`, `blobs/`).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_load_path(mx_store *s, const char *path,
                                                        const mx_images_load_opts *opts,
                                                        char ***loaded_out, mx_error **err);

/* ---- save ------------------------------------------------------------------------------- */

/** Archive kinds of mx_images_save(), with podman's names. */
typedef enum mx_save_format {
        MX_SAVE_DOCKER_ARCHIVE = 0, /**< "docker-archive": Docker's `docker save` tar */
        MX_SAVE_OCI_ARCHIVE = 1,    /**< "oci-archive": a tar of an OCI image layout */
        MX_SAVE_OCI_DIR = 2,        /**< "oci-dir": an OCI image layout directory */
} mx_save_format;

/** Parse "docker-archive", "oci-archive" or "oci-dir"; MX_EINVAL otherwise. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_save_format_parse(mx_save_format *out, const char *name,
                                                         mx_error **err);

#define MX_IMAGES_SAVE_OPTS_VERSION 1

/** Options of mx_images_save(); start from MX_IMAGES_SAVE_OPTS_INIT. */
typedef struct mx_images_save_opts {
        unsigned int version;    /**< MX_IMAGES_SAVE_OPTS_VERSION */
        mx_progress_cb progress; /**< action "save", one item per blob; or NULL */
        void *progress_userdata;
} mx_images_save_opts;

#define MX_IMAGES_SAVE_OPTS_INIT            \
        {                                   \
                MX_IMAGES_SAVE_OPTS_VERSION \
        }

/**
 * Write the images (references or IDs, at least one) as an archive to out_fd.
 *
 * docker-archive: Docker's layout (`manifest.json`, `repositories`, the config as
 * `<hex>.json`, each layer as an uncompressed `<diffID hex>/layer.tar`); RepoTags are the
 * references given (familiar form), none for an image named by ID.
 * oci-archive: `oci-layout`, `index.json`, `blobs/sha256/<hex>` with the stored blobs as they
 * are (manifest digests kept). Each index.json entry of an image given by reference is
 * annotated with `org.opencontainers.image.ref.name` = the tag and `io.containerd.image.name`
 * = the full reference; an image given by ID has no name annotation.
 *
 * The output is reproducible: entries sorted by name, fixed owners and mtimes.
 * MX_SAVE_OCI_DIR is refused here (MX_EINVAL): it needs a path.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_save(mx_store *s, const char *const *images,
                                                   mx_save_format fmt, int out_fd,
                                                   const mx_images_save_opts *opts, mx_error **err);

/**
 * As mx_images_save() into path: a new file for the archive kinds (written to a temporary
 * name and renamed), or for MX_SAVE_OCI_DIR a directory that is created or added to as
 * skopeo does (blobs already there are kept, index.json entries of other tags kept, an entry
 * with the same ref.name replaced; index.json written atomically last).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_save_path(mx_store *s, const char *const *images,
                                                        mx_save_format fmt, const char *path,
                                                        const mx_images_save_opts *opts,
                                                        mx_error **err);

/* ---- import ----------------------------------------------------------------------------- */

#define MX_IMAGES_IMPORT_OPTS_VERSION 1

/** Options of mx_images_import(); start from MX_IMAGES_IMPORT_OPTS_INIT. */
typedef struct mx_images_import_opts {
        unsigned int version; /**< MX_IMAGES_IMPORT_OPTS_VERSION */
        /** The history entry's comment; NULL gives "Imported from -" as Docker writes. */
        const char *message;
        /** The source named in the default message ("-" for stdin); NULL is "-". */
        const char *source;
        /** Seconds since the epoch for "created"; < 0 (the default) means now. */
        int64_t created;
        mx_progress_cb progress;
        void *progress_userdata;
} mx_images_import_opts;

#define MX_IMAGES_IMPORT_OPTS_INIT                            \
        {                                                     \
                MX_IMAGES_IMPORT_OPTS_VERSION, NULL, NULL, -1 \
        }

/**
 * Make a one-layer image from a root filesystem tarball read from fd (plain, gzip, zstd, xz
 * or bzip2; the first block must be a tar header). The layer is stored gzip-compressed
 * (mx_layer_compress() default level), the config is for the host platform with one history
 * entry, the manifest is OCI. ref (may be NULL) is tagged to it.
 *
 * @param id_out on success the image ID "sha256:<hex>" (free with mx_free()); may be NULL.
 * @return 0, MX_EFORMAT (not a tar, corrupt compression), MX_EINVAL (bad ref), MX_EIO...
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_import(mx_store *s, int fd, const char *ref,
                                                     const mx_images_import_opts *opts,
                                                     char **id_out, mx_error **err);

/* ---- layers on disk and mounts ---------------------------------------------------------- */

/**
 * Make sure every layer of the image is unpacked once under the store's
 * `layers/<chainID>/` (whiteouts as overlayfs markers). Missing layers are unpacked into a
 * temporary directory under the store, renamed into place, then recorded; independent
 * layers are unpacked in parallel threads. Safe against concurrent callers.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_unpack(mx_store *s, const char *image,
                                                     mx_progress_cb progress, void *userdata,
                                                     mx_error **err);

/**
 * Mount the image's root filesystem read-only at the store's `mounts/<hex id>` (an
 * overlayfs of its layers, or a flattened copy where overlayfs is missing), unpacking layers
 * first. Each call counts one mount (as podman does); the image stays mounted until as many
 * unmounts, and `rmi` of a mounted image is refused without force.
 *
 * @param path_out the mount point (free with mx_free()); may be NULL.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_image_mount(mx_store *s, const char *image, char **path_out,
                                                   mx_error **err);

/**
 * Drop one mount count of image (the mount goes away at zero); image NULL means every
 * mounted image. force unmounts at once whatever the count.
 * @return 0, MX_ENOTFOUND (no such image), MX_EINVAL (image not mounted).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_image_unmount(mx_store *s, const char *image, int force,
                                                     mx_error **err);

/* ---- inspect and history ---------------------------------------------------------------- */

/**
 * Docker's `inspect` object for an image: Id, RepoTags, RepoDigests, Parent, Comment,
 * Created, Config, Architecture, Os, Variant (when set), Size, RootFS {Type, Layers},
 * Metadata {LastTagTime}. *json_out is one JSON object (pretty, 4-space indent, Docker's key
 * order); free with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_inspect_json(mx_store *s, const char *image,
                                                           char **json_out, mx_error **err);

/**
 * The image's history as `docker history` shows it, newest first: a JSON array of objects
 * {"ID", "CreatedAt" (RFC 3339), "CreatedBy", "Size" (bytes, a number), "Comment", "Tags"
 * (array)}. ID is the image ID on the top row and "<missing>" below it, as Docker prints
 * for images that were not built locally. Free with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_images_history_json(mx_store *s, const char *image,
                                                           char **json_out, mx_error **err);

MX_END_DECLS

#endif
