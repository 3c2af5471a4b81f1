/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file layer.h
 * Image layers: compression detection, unpacking a layer blob safely into a directory,
 * creating layers (reproducible tars of a directory, fast compression), and container root
 * filesystems stacked from unpacked layers (overlayfs, with a copy fallback).
 *
 * Thread-safety: every function here is reentrant; independent calls (say, one layer each)
 * may run in parallel threads. Two calls must not write into the same directory at once.
 *
 * Digest strings are "algo:hex" ("sha256:..."), at most MX_LAYER_DIGEST_MAX bytes with NUL.
 */
#ifndef MYRMEX_LAYER_H
#define MYRMEX_LAYER_H

#include <stdint.h>

#include <myrmex/common.h>
#include <myrmex/error.h>
#include <myrmex/progress.h>

MX_BEGIN_DECLS

/** Room for a digest string: "sha512:" + 128 hex digits + NUL. */
#define MX_LAYER_DIGEST_MAX 136

/** How a layer blob is compressed. */
typedef enum mx_compression {
        MX_COMPRESSION_NONE = 0, /**< plain tar */
        MX_COMPRESSION_GZIP = 1, /**< gzip (one or more members) */
        MX_COMPRESSION_ZSTD = 2, /**< zstd (one or more frames) */
        MX_COMPRESSION_AUTO = 3, /**< only as an input: detect from the magic bytes */
} mx_compression;

/**
 * Detect the compression of a blob from its first bytes (gzip 1f 8b, zstd 28 b5 2f fd);
 * anything else is MX_COMPRESSION_NONE. len may be short (0 gives NONE). Never fails.
 */
MX_EXTERN mx_compression mx_compression_detect(const void *head, size_t len);

/** "none", "gzip", "zstd" or "auto"; static storage; NULL for an unknown value. */
MX_EXTERN const char *mx_compression_name(mx_compression c);

/**
 * Parse "none"/"uncompressed", "gzip" or "zstd" (as a user or a media-type suffix gives it).
 * Returns 0, or MX_EINVAL (domain MX_D_IMAGE) for anything else; *out written on success.
 */
MX_EXTERN int mx_compression_parse(mx_compression *out, const char *name,
                                   mx_error **err) MX_WARN_UNUSED_RESULT;

/** What a layer is: both digests and sizes, filled by unpack, compress and tar_dir. */
typedef struct mx_layer_info {
        char digest[MX_LAYER_DIGEST_MAX];  /**< sha256 of the blob (compressed) bytes */
        char diff_id[MX_LAYER_DIGEST_MAX]; /**< sha256 of the uncompressed tar */
        mx_compression compression;        /**< the blob's compression */
        uint64_t compressed_size;          /**< bytes of the blob */
        uint64_t uncompressed_size;        /**< bytes of the tar stream */
        uint64_t entries;                  /**< tar entries read or written */
} mx_layer_info;

/**
 * How whiteouts (".wh.NAME" and ".wh..wh..opq" entries) are handled by mx_layer_unpack().
 */
typedef enum mx_whiteout_mode {
        /**
         * Per-layer directories stacked later by overlayfs (the store's layers/<chainID>/):
         * ".wh.NAME" becomes a character device 0/0 named NAME, and ".wh..wh..opq" sets the
         * xattr trusted.overlay.opaque="y" on its directory. Needs CAP_MKNOD and
         * CAP_SYS_ADMIN (trusted.* xattrs), i.e. root.
         */
        MX_WHITEOUT_OVERLAY = 0,
        /**
         * Flattening layers one after another into one directory: ".wh.NAME" removes NAME
         * (recursively), ".wh..wh..opq" removes what lower layers left in that directory but
         * keeps what this same layer adds to it, whatever the order of the entries.
         */
        MX_WHITEOUT_APPLY = 1,
} mx_whiteout_mode;

/** mx_layer_unpack_opts.flags */
enum {
        /** Refuse device nodes (block and character; overlay whiteouts are still made). */
        MX_LAYER_NO_DEVICES = 1u << 0,
        /** Do not chown entries (files belong to the caller); for unprivileged use. */
        MX_LAYER_NO_CHOWN = 1u << 1,
        /** Do not restore xattrs (security.capability included). */
        MX_LAYER_NO_XATTRS = 1u << 2,
        /** syncfs() the target's filesystem once the layer is complete. */
        MX_LAYER_SYNC = 1u << 3,
        /** Allow target_dir to be non-empty (always the case for APPLY onto lower layers). */
        MX_LAYER_NONEMPTY_OK = 1u << 4,
};

#define MX_LAYER_UNPACK_OPTS_VERSION 1

/** Options of mx_layer_unpack(); start from MX_LAYER_UNPACK_OPTS_INIT. */
typedef struct mx_layer_unpack_opts {
        unsigned int version;         /**< MX_LAYER_UNPACK_OPTS_VERSION */
        mx_compression compression;   /**< MX_COMPRESSION_AUTO (default) detects it */
        mx_whiteout_mode whiteouts;   /**< MX_WHITEOUT_OVERLAY (default) or _APPLY */
        unsigned int flags;           /**< MX_LAYER_* flags */
        const char *expected_digest;  /**< verify the blob digest ("sha256:..."), or NULL */
        const char *expected_diff_id; /**< verify the diffID, or NULL */
        /** Refuse (MX_ETOOBIG) a tar stream larger than this many bytes; 0 = no limit. */
        uint64_t max_uncompressed;
        mx_progress_cb progress; /**< called with action "unpack", compressed bytes; or NULL */
        void *progress_userdata; /**< passed to progress */
        const char *progress_id; /**< the id in progress events (e.g. the digest), or NULL */
        /**
         * OVERLAY mode: the directories of the layers below this one (top first), or NULL.
         * A parent directory the tar omits (say "tmp/x" without "tmp/") is then created with
         * the owner, mode, times and xattrs the stack below shows at that path, as an
         * overlay mount showed it before this layer; without them it is 0755, root, now.
         * They must be complete (unpacked already), so passing them orders the unpacks.
         */
        const char *const *lower_dirs;
        size_t n_lower_dirs; /**< number of lower_dirs */
} mx_layer_unpack_opts;

#define MX_LAYER_UNPACK_OPTS_INIT                                                            \
        {                                                                                    \
                .version = MX_LAYER_UNPACK_OPTS_VERSION, .compression = MX_COMPRESSION_AUTO, \
                .whiteouts = MX_WHITEOUT_OVERLAY                                             \
        }

/**
 * Unpack one layer blob read from blob_fd (read sequentially from its current offset to
 * EOF; it may be a pipe) into target_dir, in one pass: the blob is hashed (digest),
 * decompressed, hashed again (diffID) and its tar entries written, each with *at() system
 * calls under a directory fd of target_dir that never follow a symlink in a parent
 * component (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS where the kernel has it, else a
 * component-by-component walk with O_NOFOLLOW). An entry whose parent path holds a symlink
 * (from this layer or, in APPLY mode, a lower one) is refused, wherever the symlink points.
 * A leading "/" or "./" in a name is taken as relative to the target, as Docker does.
 * Missing parent directories are created (mode 0755, root-owned, as Docker does).
 * Names longer than 4095 bytes or deeper than 1024 components are refused (MX_EFORMAT).
 * trusted.overlay.* xattrs found in the tar are dropped (they would steer overlayfs).
 *
 * Kept: file types, contents (sparse files as plain), modes (setuid/setgid/sticky too),
 * ownership (unless MX_LAYER_NO_CHOWN), mtimes (directories after their contents), xattrs
 * including security.capability (unless MX_LAYER_NO_XATTRS), hardlinks (within the target),
 * symlinks (targets stored verbatim, never followed), device nodes and FIFOs.
 *
 * opts may be NULL (defaults). target_dir must exist; in OVERLAY mode it must be empty
 * unless MX_LAYER_NONEMPTY_OK is set (APPLY mode applies onto whatever is there). A digest mismatch
 * is detected only at the end of the stream: the target then holds the layer's contents but the
 * call fails.
 *
 * On failure the partially written target is the caller's to remove, with
 * mx_layer_remove_tree() (its paths may exceed PATH_MAX); nothing is ever written outside
 * target_dir. In APPLY mode, directories the layer only passes through (a whiteout's
 * parent) keep the times lower layers gave them, as umoci does.
 *
 * Thread-safety: independent calls (different targets) run in parallel; that is how a
 * multi-layer image is unpacked fast in OVERLAY mode (one directory per layer).
 *
 * @param blob_fd   readable fd; not closed; its offset moves to EOF
 * @param target_dir existing directory to unpack into
 * @param opts      options or NULL
 * @param out       filled only on success; may be NULL
 * @param err       filled on failure; may be NULL
 * @return 0, or: MX_EUNSAFE (an entry would escape: "..", symlink or hardlink out, a parent
 *         that is a symlink, a device with MX_LAYER_NO_DEVICES; the message names the entry),
 *         MX_EDIGEST (digest or diffID mismatch), MX_EFORMAT (bad tar header, truncated or
 *         corrupt gzip/zstd, trailing garbage), MX_ETOOBIG (max_uncompressed exceeded),
 *         MX_EINVAL (bad arguments), MX_EEXISTS (OVERLAY target not empty),
 *         MX_ENOTFOUND (target missing), MX_EIO/MX_EDENIED/... from the system, MX_ENOMEM.
 *         The outermost domain is MX_D_IMAGE.
 */
MX_EXTERN int mx_layer_unpack(int blob_fd, const char *target_dir, const mx_layer_unpack_opts *opts,
                              mx_layer_info *out, mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Compress a tar stream read from tar_fd (to EOF) into out_fd, computing the diffID of the
 * input and the digest of the output in the same pass.
 *
 * gzip is written with libdeflate on independent 1 MiB blocks compressed in parallel
 * threads and emitted in order as a multi-member gzip stream (valid gzip that gzip, zlib,
 * Go and libarchive read); zstd uses libzstd's multithreaded streaming. NONE copies.
 * level: 0 picks the default (gzip 4 with libdeflate; zstd 3); gzip 1-12 (libdeflate's
 * scale; 1-9 with zlib when libdeflate is missing), zstd 1-19. The output is reproducible:
 * the same input, compression and level give the same bytes whatever the thread count.
 * See docs/benchmarks.md for the measured speeds behind the default.
 *
 * @param out filled only on success (digest, diff_id, sizes; entries is 0); may be NULL
 * @return 0, MX_EINVAL (bad compression or level), MX_EIO (read/write), MX_ENOMEM;
 *         domain MX_D_IMAGE.
 */
MX_EXTERN int mx_layer_compress(int tar_fd, int out_fd, mx_compression compression, int level,
                                mx_layer_info *out, mx_error **err) MX_WARN_UNUSED_RESULT;

/** mx_layer_tar_opts.flags */
enum {
        /**
         * The directory is an overlay upper directory: character devices 0/0 become
         * ".wh.NAME" entries and directories with trusted.overlay.opaque="y" get a
         * ".wh..wh..opq" entry (and the opaque xattr itself is not written).
         */
        MX_LAYER_TAR_OVERLAY_WHITEOUTS = 1u << 0,
        /** Do not record xattrs. */
        MX_LAYER_TAR_NO_XATTRS = 1u << 1,
};

#define MX_LAYER_TAR_OPTS_VERSION 1

/** Options of mx_layer_tar_dir(); start from MX_LAYER_TAR_OPTS_INIT. */
typedef struct mx_layer_tar_opts {
        unsigned int version; /**< MX_LAYER_TAR_OPTS_VERSION */
        unsigned int flags;   /**< MX_LAYER_TAR_* flags */
        /**
         * Clamp mtimes to at most this many seconds since the epoch. -1 (the default) takes
         * SOURCE_DATE_EPOCH from the environment when it is set, else no clamping.
         */
        int64_t clamp_mtime;
} mx_layer_tar_opts;

#define MX_LAYER_TAR_OPTS_INIT                                                      \
        {                                                                           \
                .version = MX_LAYER_TAR_OPTS_VERSION, .flags = 0, .clamp_mtime = -1 \
        }

/**
 * Write a reproducible uncompressed tar (PAX format) of the directory dir to out_fd:
 * entries in byte order of their paths (a directory before its contents), names relative
 * with no leading "./", uid/gid/mode/mtime (clamped) kept, uname/gname empty, atime/ctime
 * omitted, xattrs kept, hardlinks (same device and inode) written as links to the first
 * name, device nodes and FIFOs kept, sockets skipped. Symlinks are never followed.
 *
 * @param out filled on success: diff_id (= digest, the tar is uncompressed), sizes, entries
 * @return 0, MX_ENOTFOUND (dir missing), MX_EIO, MX_ENOMEM; domain MX_D_IMAGE.
 */
MX_EXTERN int mx_layer_tar_dir(const char *dir, int out_fd, const mx_layer_tar_opts *opts,
                               mx_layer_info *out, mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * The chainID of a layer (OCI image spec): for the bottom layer (parent_chain_id NULL) it
 * is its diffID, otherwise sha256 of "<parent_chain_id> <diff_id>". out gets
 * MX_LAYER_DIGEST_MAX bytes. Returns 0 or MX_EINVAL for a malformed digest.
 */
MX_EXTERN int mx_layer_chain_id(char out[MX_LAYER_DIGEST_MAX], const char *parent_chain_id,
                                const char *diff_id, mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Remove a directory tree that mx_layer_unpack() or mx_rootfs_flatten() wrote (a failed or
 * unwanted target), whatever its depth and path lengths: it works with directory fds, keeps
 * at most two open, never follows a symlink and never crosses into another tree. A missing
 * path is success. Use it rather than path-based removal (nftw), which fails once a path
 * exceeds PATH_MAX. Returns 0, or MX_EIO/MX_EDENIED/... (domain MX_D_IMAGE).
 */
MX_EXTERN int mx_layer_remove_tree(const char *path, mx_error **err) MX_WARN_UNUSED_RESULT;

/* ---- Root filesystems ------------------------------------------------------------------ */

/** mx_rootfs_mount() flags */
enum {
        MX_ROOTFS_NOSUID = 1u << 0, /**< mount nosuid */
        MX_ROOTFS_NODEV = 1u << 1,  /**< mount nodev */
        MX_ROOTFS_NOEXEC = 1u << 2, /**< mount noexec */
};

/**
 * 1 if the running kernel can mount overlayfs here (the filesystem type is known, after
 * trying to load the module), 0 otherwise. Never fails.
 */
MX_EXTERN int mx_rootfs_overlay_supported(void);

/**
 * Mount an overlayfs at target stacking lower_dirs (OVERLAY-mode layer directories, the TOP
 * layer FIRST). With upper == NULL (and work == NULL) the mount is read-only; otherwise upper
 * and work are empty directories on one filesystem, work not inside upper.
 *
 * The mount option string is limited to a page: each directory is opened (O_PATH) and
 * named as "/proc/self/fd/N" in the options, so a stack of up to ~200 layers fits whatever
 * the store's path length; more than that is refused with MX_ETOOBIG. The fds are closed
 * before return. Options: index=off, and xino=off, so directories can be mounted again.
 *
 * @param n number of lower dirs, >= 1 (with one lower and no upper a read-only bind of it
 *          would do, but an overlay is used anyway so unmount is uniform)
 * @return 0, MX_EINVAL (bad args), MX_ENOTFOUND (a directory missing), MX_EUNSUPPORTED
 *         (no overlayfs), MX_EDENIED (not permitted), MX_ETOOBIG; domain MX_D_IMAGE.
 */
MX_EXTERN int mx_rootfs_mount(const char *const *lower_dirs_top_first, size_t n, const char *upper,
                              const char *work, const char *target, int flags,
                              mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Unmount what mx_rootfs_mount() (or anything else) mounted at target; lazy (MNT_DETACH)
 * when the mount is busy. Returns 0, MX_EINVAL when nothing is mounted at target.
 */
MX_EXTERN int mx_rootfs_unmount(const char *target, mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * The copy fallback: build a plain directory tree at target (existing, empty) from
 * OVERLAY-mode layer directories (top layer FIRST), as overlayfs would show them: whiteout
 * devices hide lower entries, opaque directories hide lower contents, and no whiteouts or
 * overlay xattrs appear in the result. Metadata (owner, mode, mtimes, xattrs) is kept;
 * hardlinks within one layer stay hardlinks; file data is copied (reflinked where the
 * filesystem can).
 *
 * @return 0, MX_EINVAL, MX_ENOTFOUND, MX_EIO...; on failure target is the caller's to remove.
 */
MX_EXTERN int mx_rootfs_flatten(const char *const *lower_dirs_top_first, size_t n,
                                const char *target, mx_error **err) MX_WARN_UNUSED_RESULT;

MX_END_DECLS

#endif
