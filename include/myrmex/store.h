/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file store.h
 * The content store: one directory holding content-addressed blobs, unpacked layers and an
 * SQLite database (WAL) that is the single source of truth for images, layers and tags.
 *
 * Layout under the root:
 *   blobs/sha256/<hex>   manifests, configs and compressed layers (OCI image layout naming)
 *   tmp/                 blobs and layers being written (garbage after a crash)
 *   layers/<hex>/        a layer unpacked once, named by the hex of its chain ID
 *   containers/ volumes/ networks/ mounts/   used by later modules
 *   myrmex.db            the database
 *   gc.lock              flock: writers hold it shared, garbage collection exclusive
 *
 * Concurrency: any number of processes may open one store at once. A handle (mx_store) is
 * NOT thread-safe: use one handle per thread. Writes run in BEGIN IMMEDIATE transactions
 * with a 30 s busy timeout and retries.
 *
 * Blobs written through a handle (mx_store_blob_writer_*, mx_store_blob_put) and blobs found
 * present with mx_store_blob_has() are protected from garbage collection from that moment
 * until mx_store_image_add() commits, or the handle is freed (or the process dies). So a
 * load or pull is: write or find every blob, then mx_store_image_add() (the commit point).
 *
 * Errors: every public function wraps its errors in domain MX_D_STORE (reference parsing
 * errors keep their MX_D_IMAGE node as the cause). Outputs are written only on success.
 * Digests are "sha256:<64 lowercase hex>"; other algorithms give MX_EUNSUPPORTED.
 */
#ifndef MYRMEX_STORE_H
#define MYRMEX_STORE_H

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/** Size of a buffer that holds any digest string: "sha512:" + 128 hex + NUL. */
#ifndef MX_DIGEST_BUF
#define MX_DIGEST_BUF 136
#endif

/** An open store. Opaque; free with mx_store_free(). One per thread. */
typedef struct mx_store mx_store;

/* ------------------------------------------------------------------------------------ */
/* Opening                                                                              */
/* ------------------------------------------------------------------------------------ */

/**
 * The default store root: $MYRMEX_ROOT if set and non-empty; otherwise /var/lib/myrmex when
 * running as root; otherwise $XDG_DATA_HOME/myrmex, or ~/.local/share/myrmex.
 * @param out the path; the caller frees it with mx_free().
 * @return 0, MX_ENOMEM, MX_ENOTFOUND when no home directory can be found.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_default_root(char **out, mx_error **err);

/**
 * Open (creating if needed) the store at root. Creates the directory layout and the database,
 * sets WAL mode, foreign keys and the busy timeout, and migrates the schema to the current
 * version (PRAGMA user_version).
 *
 * @param out  the new handle, owned by the caller (mx_store_free()).
 * @param root the store directory, or NULL for mx_store_default_root().
 * @return 0; MX_EDENIED / MX_EIO when the directory or database cannot be created;
 *         MX_ECORRUPT when the database is not a myrmex store or is newer than this library
 *         (MX_EUNSUPPORTED); MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_open(mx_store **out, const char *root, mx_error **err);

/** Close the store, releasing its locks. NULL is fine. Open blob writers must be freed first. */
MX_EXTERN void mx_store_free(mx_store *s);

/** The absolute root directory. Borrowed; valid until mx_store_free(). */
MX_EXTERN const char *mx_store_root(const mx_store *s);

/* ------------------------------------------------------------------------------------ */
/* Blobs                                                                                */
/* ------------------------------------------------------------------------------------ */

/** A blob being written into the store. Opaque. */
typedef struct mx_store_blob_writer mx_store_blob_writer;

/**
 * Start a blob: a temp file under tmp/ whose sha256 is computed while writing. Protects the
 * handle's blobs from garbage collection (see above).
 * @param out the writer, owned by the caller: commit it, then free it (freeing an
 *            uncommitted writer aborts it and removes its temp file).
 * @return 0, MX_EIO / MX_EDENIED, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_writer_new(mx_store_blob_writer **out,
                                                             mx_store *s, mx_error **err);

/** Append len bytes. @return 0, MX_EIO, MX_ETOOBIG (disk full), MX_EINVAL after commit. */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_store_blob_writer_write(mx_store_blob_writer *w, const void *data, size_t len, mx_error **err);

/** Bytes written so far. */
MX_EXTERN uint64_t mx_store_blob_writer_size(const mx_store_blob_writer *w);

/**
 * Finish the blob: fsync, compare the digest with expected (if non-NULL), rename to
 * blobs/sha256/<hex> (replacing an existing copy, which has the same content). The directory
 * is fsynced by mx_store_image_add() before it records an image using the blob. Fault
 * points "store-blob-fsync", "store-blob-rename", "store-blob-renamed".
 *
 * @param expected   the digest the content must have, or NULL to accept any content.
 * @param digest_out if non-NULL, receives the content's digest.
 * @return 0; MX_EINVAL for an invalid expected digest (checked before anything is
 *         renamed); MX_EDIGEST on a mismatch, with a message naming expected and actual
 *         digests (the temp file is removed); MX_EIO; MX_EINVAL when already committed.
 *         After a failure the writer can only be freed.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_writer_commit(mx_store_blob_writer *w,
                                                                const char *expected,
                                                                char digest_out[MX_DIGEST_BUF],
                                                                mx_error **err);

/** Free a writer; an uncommitted one is aborted and its temp file removed. NULL is fine. */
MX_EXTERN void mx_store_blob_writer_free(mx_store_blob_writer *w);

/**
 * Write a blob from memory in one call (writer new + write + commit).
 * @param expected   NULL, or the digest data must have (MX_EDIGEST otherwise).
 * @param digest_out if non-NULL, receives the digest.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_put(mx_store *s, const void *data, size_t len,
                                                      const char *expected,
                                                      char digest_out[MX_DIGEST_BUF],
                                                      mx_error **err);

/**
 * Whether the blob is present (a regular file under blobs/). Its content is not verified.
 * Takes the handle's writer protection, so a caller that skips writing a present blob can
 * rely on it until mx_store_image_add().
 * @return 1 present, 0 absent, MX_EINVAL for an invalid digest, MX_EUNSUPPORTED.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_has(mx_store *s, const char *digest,
                                                      mx_error **err);

/**
 * The path a blob has (or would have) in the store: root/blobs/sha256/<hex>.
 * @param out the path, caller frees with mx_free(). Written whether or not the blob exists.
 * @return 0, MX_EINVAL for an invalid digest, MX_EUNSUPPORTED, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_path(mx_store *s, const char *digest, char **out,
                                                       mx_error **err);

/**
 * Read a whole blob into memory and verify it against its digest.
 * @param max      the largest size accepted (MX_ETOOBIG past it).
 * @param data_out the bytes, NUL-terminated for convenience; caller frees with mx_free().
 * @param len_out  their length.
 * @return 0, MX_EINVAL, MX_ENOTFOUND, MX_ETOOBIG, MX_EDIGEST (the blob is corrupt), MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_read(mx_store *s, const char *digest, size_t max,
                                                       char **data_out, size_t *len_out,
                                                       mx_error **err);

/**
 * Open a blob for streaming reads (O_RDONLY | O_CLOEXEC). The content is not verified:
 * verify while reading if it matters. The caller closes the fd.
 * @return 0, MX_EINVAL, MX_ENOTFOUND, MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_open(mx_store *s, const char *digest, int *fd_out,
                                                       mx_error **err);

/** The size of a stored blob in bytes. @return 0, MX_EINVAL, MX_ENOTFOUND, MX_EIO. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_blob_size(mx_store *s, const char *digest,
                                                       uint64_t *size_out, mx_error **err);

/* ------------------------------------------------------------------------------------ */
/* Image records                                                                        */
/* ------------------------------------------------------------------------------------ */

/** One layer of an image, bottom first. */
typedef struct mx_layer_record {
        char *diff_id;             /**< sha256 of the uncompressed tar ("sha256:...") */
        char *digest;              /**< the blob's digest (compressed, as in the manifest) */
        char *media_type;          /**< the layer's media type from the manifest */
        int64_t size;              /**< compressed (blob) size in bytes */
        int64_t uncompressed_size; /**< size of the tar, or -1 when unknown */
        char *chain_id;            /**< OCI chain ID; filled by the store (ignored by image_add) */
} mx_layer_record;

/** An image as the store records it. Built by callers for mx_store_image_add(). */
typedef struct mx_image_record {
        char *id;                  /**< the config digest, "sha256:..." (Docker's image ID) */
        char *manifest_digest;     /**< the manifest blob's digest */
        char *manifest_media_type; /**< OCI or Docker v2 schema 2 manifest media type */
        int64_t config_size;       /**< config blob size in bytes */
        int64_t size;       /**< total compressed size: config + layers (manifest not counted) */
        char *created;      /**< the config's "created" (RFC 3339), or NULL */
        char *os;           /**< platform os, e.g. "linux", or NULL */
        char *architecture; /**< e.g. "amd64", or NULL */
        char *variant;      /**< e.g. "v8", or NULL */
        int64_t added;      /**< when first recorded, Unix seconds; set by the store */
        int64_t mounts;     /**< image mount holders (mx_store_image_mount_ref); by the store */
        size_t n_layers;    /**< number of entries in layers */
        mx_layer_record *layers; /**< bottom layer first */
        char **tags; /**< full normalized references, sorted, NULL-terminated; by the store */
} mx_image_record;

/** Free a record and everything it points to (all fields are malloc'd). NULL is fine. */
MX_EXTERN void mx_image_record_free(mx_image_record *rec);

/** Free an array of n records as returned by mx_store_image_list(). NULL is fine. */
MX_EXTERN void mx_image_record_list_free(mx_image_record **recs, size_t n);

/**
 * OCI chain ID: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256 of "ChainID(Ln-1) DiffID(Ln)".
 * @param parent_chain_id the chain ID below, or NULL for the bottom layer.
 * @return 0, MX_EINVAL (MX_D_STORE) for an invalid digest.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_chain_id(const char *parent_chain_id,
                                                      const char *diff_id, char out[MX_DIGEST_BUF],
                                                      mx_error **err);

/**
 * Record an image and name it: the commit point of a load, pull, import or build.
 *
 * Checks that the manifest, the config (rec->id) and every layer blob are present
 * (MX_ENOTFOUND naming the first missing one otherwise), then in ONE transaction inserts the
 * image, its ordered layers, the layer rows by chain ID, and a tag for every reference in
 * refs (moving a tag that pointed elsewhere; the old image stays, dangling when it loses its
 * last tag). Idempotent: when the image exists its record is kept and only the tags are added.
 * Fault point "store-image-add-commit" right before COMMIT. Releases the handle's writer
 * protection after committing (inside a caller's open transaction it is kept until
 * mx_store_release() or mx_store_free(), as nothing is committed yet).
 *
 * @param rec   the image; id, manifest_digest, manifest_media_type and every layer's
 *              diff_id, digest and media_type are required. tags, chain_id, added and
 *              mounts are ignored. Borrowed.
 * @param refs  NULL, or a NULL-terminated list of references ("busybox:1"), normalized by
 *              the store; digest references are refused (MX_EINVAL).
 * @return 0, MX_EINVAL (bad record or reference), MX_ENOTFOUND, MX_EBUSY, MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_image_add(mx_store *s, const mx_image_record *rec,
                                                       const char *const *refs, mx_error **err);

/**
 * Find an image the way Docker does: a full 64-hex ID or "sha256:<64 hex>" first; then a
 * reference ("busybox", "docker.io/library/busybox:latest", "x@sha256:<manifest digest>")
 * normalized and looked up among the tags (a digest reference matches the manifest digest);
 * then a unique ID prefix ("3f57d9401f8d", "sha256:3f57").
 *
 * @param id_out the image ID "sha256:...", caller frees with mx_free().
 * @return 0; MX_ENOTFOUND "no such image 'what'"; MX_EAMBIGUOUS when a prefix matches several
 *         images; MX_EINVAL when what is neither a valid reference nor an ID prefix (the
 *         reference error is the cause).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_image_resolve(mx_store *s, const char *what,
                                                           char **id_out, mx_error **err);

/**
 * Get an image's record with its layers (chain IDs filled) and tags.
 * @param what anything mx_store_image_resolve() accepts (usually the full ID).
 * @param out  the record, caller frees with mx_image_record_free().
 * @return 0, or the errors of mx_store_image_resolve().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_image_get(mx_store *s, const char *what,
                                                       mx_image_record **out, mx_error **err);

/**
 * Every image, newest first (by created, then added). Each has its layers and tags.
 * @param out   an array of n records (NULL when n is 0); free with mx_image_record_list_free().
 * @param n_out the number of records.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_image_list(mx_store *s, mx_image_record ***out,
                                                        size_t *n_out, mx_error **err);

/**
 * Give an image another name (docker tag SRC DST). A tag that named another image moves.
 * @param image   anything mx_store_image_resolve() accepts.
 * @param new_ref the new reference; normalized; a digest reference is refused.
 * @return 0, MX_EINVAL, MX_ENOTFOUND, MX_EAMBIGUOUS.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_tag(mx_store *s, const char *image,
                                                 const char *new_ref, mx_error **err);

/**
 * Remove a tag; the image stays (dangling if that was its last tag).
 * @return 0, MX_EINVAL, MX_ENOTFOUND "no such tag 'ref'".
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_untag(mx_store *s, const char *ref, mx_error **err);

/**
 * Remove an image as docker rmi does.
 *
 * - what names a tag: the tag is removed; the image is deleted when that was its last tag.
 * - what is an ID (or prefix): with all of its tags in one repository (or none) they are
 *   removed and the image deleted; with tags in several repositories it is refused without
 *   force (MX_EBUSY, "... (must be forced) ... use -f"); with force every tag goes.
 * - a mounted image (mounts > 0) is not deleted without force (MX_EBUSY); with force the
 *   caller must have unmounted it, as its layers may be collected.
 * - an image referenced by a row of another table (a container; foreign key on images(id))
 *   is not deleted: without force the call fails with MX_EBUSY ("in use") and changes
 *   nothing; with force its tags are removed and it stays, dangling (as docker rmi -f).
 *
 * Rows change in one transaction; unreferenced blobs and layer directories are then removed
 * when no other process is writing to the store (else the next mx_store_gc() removes them).
 *
 * @param untagged_out if non-NULL: NULL-terminated list of the removed tags in familiar form
 *                     ("busybox:latest"); caller frees each string and the array with
 *                     mx_free(). Always a non-NULL (possibly empty) list on success.
 * @param deleted_out  if non-NULL: the deleted image ID followed by the chain IDs of layers
 *                     whose last image it was; empty when the image stays. Same ownership.
 * @return 0, MX_ENOTFOUND, MX_EAMBIGUOUS, MX_EINVAL, MX_EBUSY.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_image_remove(mx_store *s, const char *what, int force,
                                                          char ***untagged_out, char ***deleted_out,
                                                          mx_error **err);

/**
 * Count holders of an image mount (image mount / unmount, as podman counts them).
 * @param id        anything mx_store_image_resolve() accepts.
 * @param delta     +1 to take, -1 to release (0 only reads).
 * @param count_out if non-NULL, receives the count after the change.
 * @return 0; MX_EINVAL when releasing an image that is not mounted; MX_ENOTFOUND.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_image_mount_ref(mx_store *s, const char *id, int delta,
                                                             int *count_out, mx_error **err);

/* ------------------------------------------------------------------------------------ */
/* Unpacked layers                                                                      */
/* ------------------------------------------------------------------------------------ */

/**
 * The directory a layer is (or will be) unpacked in: root/layers/<hex of chain_id>.
 * Unpack into a directory under tmp/ (see mx_store_tmp_path()), rename it here, then call
 * mx_store_layer_set_unpacked(); a directory without that mark is garbage.
 * @param out caller frees with mx_free(). @return 0, MX_EINVAL, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_layer_dir(mx_store *s, const char *chain_id,
                                                       char **out, mx_error **err);

/**
 * Mark a layer unpacked (its directory is complete and synced) with its size on disk.
 * The layer row must exist (created by mx_store_image_add()) and its directory too.
 * Fault point "store-layer-unpacked-commit" before COMMIT.
 * @return 0, MX_EINVAL, MX_ENOTFOUND (no such layer row, or no directory).
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_layer_set_unpacked(mx_store *s, const char *chain_id,
                                                                int64_t size, mx_error **err);

/**
 * Whether a layer is recorded as unpacked. @return 1, 0 (also when no such layer row),
 * MX_EINVAL for a bad chain ID, MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_layer_is_unpacked(mx_store *s, const char *chain_id,
                                                               mx_error **err);

/**
 * A fresh, unique path under tmp/ for work that ends in a rename into the store (e.g. a layer
 * being unpacked). Nothing is created. Takes the handle's writer protection (so gc leaves
 * tmp/ alone) until mx_store_image_add() commits or mx_store_release() is called.
 * @param prefix a short word for the name ("layer"). @param out caller frees with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_tmp_path(mx_store *s, const char *prefix, char **out,
                                                      mx_error **err);

/**
 * Explicitly take the handle's writer protection (gc waits while it is held), e.g. around
 * unpacking layers of an image already recorded. @return 0, MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_hold(mx_store *s, mx_error **err);

/** Release the handle's writer protection (no-op when not held, or while blob writers are
 * open). Unregistered blobs written through this handle become garbage. */
MX_EXTERN void mx_store_release(mx_store *s);

/* ------------------------------------------------------------------------------------ */
/* Maintenance                                                                          */
/* ------------------------------------------------------------------------------------ */

/** What mx_store_gc() removed. Caller-allocated; zeroed by the call. */
typedef struct mx_store_gc_report {
        uint64_t blobs_removed;  /**< unreferenced blob files */
        uint64_t layers_removed; /**< layer directories */
        uint64_t tmp_removed;    /**< entries of tmp/ */
        uint64_t rows_pruned;    /**< layer rows no image used */
        uint64_t bytes_freed;    /**< bytes of blob files removed (layer dirs not counted) */
} mx_store_gc_report;

/**
 * Garbage collection: prune layer rows no image uses, then remove blobs no image references
 * (a blob is referenced when it is the manifest, the config or a layer of a recorded image),
 * layer directories not marked unpacked for a recorded layer, and everything in tmp/.
 * Takes gc.lock exclusively (waits up to 60 s for writers, then MX_EBUSY), so it never
 * removes what a concurrent writer wrote but has not yet registered. Calling it on a handle
 * that holds writer protection gives that protection up.
 * @param report if non-NULL, filled with counts.
 * @return 0, MX_EBUSY, MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_gc(mx_store *s, mx_store_gc_report *report,
                                                mx_error **err);

/** What mx_store_check() found. */
typedef struct mx_store_check_report {
        char **problems; /**< inconsistencies (missing or corrupt blobs, bad rows); NULL-term. */
        char **garbage;  /**< unreferenced blobs, temp files, stray layer dirs; not problems */
        char **repaired; /**< what --repair changed (empty without repair) */
        size_t n_problems;
        size_t n_garbage;
} mx_store_check_report;

/** Free a check report. NULL is fine. */
MX_EXTERN void mx_store_check_report_free(mx_store_check_report *report);

/**
 * Check the store (myrmex system check): every referenced blob present and matching its
 * digest, every image's layers consistent with the layer rows, every layer marked unpacked
 * having its directory, tags pointing to recorded images, no orphan rows, mount counts
 * sane. Garbage (what a crash may leave: unreferenced blobs, tmp/ entries, unmarked layer
 * directories; also the work in progress of other processes writing right now) is listed
 * separately and is not a problem.
 *
 * With repair: images whose blobs are missing or corrupt are deleted with their tags (the
 * corrupt blob files removed), layers marked unpacked without a directory are unmarked,
 * orphan rows are deleted, then garbage is collected as mx_store_gc() does. The report
 * then lists the problems found and what was repaired.
 *
 * @param out the report, caller frees with mx_store_check_report_free(). A store with
 *            problems is still a success (0); look at n_problems.
 * @return 0, MX_EBUSY (repair could not take the lock), MX_EIO, MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_check(mx_store *s, int repair,
                                                   mx_store_check_report **out, mx_error **err);

/** One line of mx_store_df(), as docker system df shows it. */
typedef struct mx_store_df_entry {
        uint64_t total;       /**< number of objects */
        uint64_t active;      /**< of which in use */
        uint64_t size;        /**< bytes on disk */
        uint64_t reclaimable; /**< bytes prune would free */
} mx_store_df_entry;

/** Disk usage by kind. Caller-allocated; zeroed by the call. */
typedef struct mx_store_df_report {
        mx_store_df_entry images;      /**< blobs: size is the unique blob bytes of all images;
                                            active = mounted or used by a container */
        mx_store_df_entry layers;      /**< unpacked layer directories (sizes as recorded) */
        mx_store_df_entry containers;  /**< filled by later modules (0 for now) */
        mx_store_df_entry volumes;     /**< filled by later modules (0 for now) */
        mx_store_df_entry build_cache; /**< filled by later modules (0 for now) */
} mx_store_df_report;

/** Disk usage (myrmex system df). @return 0, MX_EIO. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_df(mx_store *s, mx_store_df_report *out,
                                                mx_error **err);

/** What mx_store_prune() did. */
typedef struct mx_store_prune_report {
        char **untagged;    /**< tags removed (familiar form), NULL-terminated */
        char **deleted;     /**< image IDs deleted, NULL-terminated */
        uint64_t reclaimed; /**< bytes of blobs freed */
        mx_store_gc_report gc;
} mx_store_prune_report;

/** Free a prune report. NULL is fine. */
MX_EXTERN void mx_store_prune_report_free(mx_store_prune_report *report);

/**
 * Remove dangling images (no tag), or with all every image not in use (not mounted, not
 * referenced by a container), then collect garbage (myrmex image prune [-a], system prune).
 * @param out the report, caller frees with mx_store_prune_report_free().
 * @return 0, MX_EBUSY (gc lock), MX_EIO.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_store_prune(mx_store *s, int all,
                                                   mx_store_prune_report **out, mx_error **err);

MX_END_DECLS

#endif
