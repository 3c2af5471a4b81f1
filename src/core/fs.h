/* SPDX-License-Identifier: Apache-2.0 */
/* File helpers: atomic writes, directories, safe joins under a root. */
#ifndef MX_CORE_FS_H
#define MX_CORE_FS_H

#include <stddef.h>
#include <sys/types.h>

#include <myrmex/error.h>

/* Write data to path atomically: a temp file in the same directory, fsync, rename,
 * fsync of the directory. mode applies to the new file. */
int mx_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, mx_error **err);

/* mkdir -p with mode for every directory created. */
int mx_fs_mkdir_p(const char *path, mode_t mode, mx_error **err);

/* rm -rf that never follows symlinks and stays on the starting filesystem's tree.
 * A missing path is success. */
int mx_fs_rm_rf(const char *path, mx_error **err);

/* fsync a directory (after renames or creations inside it). */
int mx_fs_fsync_dir(const char *path, mx_error **err);

/* 1 if path exists (lstat), 0 if not. */
int mx_fs_exists(const char *path);

/* Join root and a relative name lexically: "." and empty parts dropped, ".." refused with
 * MX_EUNSAFE, leading "/" ignored. Caller frees *out. Never touches the filesystem. */
int mx_fs_join_under(char **out, const char *root, const char *name, mx_error **err);

/* Clean a relative path lexically ("./a//b/" -> "a/b"); MX_EUNSAFE if it climbs out. */
int mx_fs_clean_rel(char **out, const char *name, mx_error **err);

/* Copy a regular file's data (reflink where possible). */
int mx_fs_copy_file(const char *src, const char *dst, mode_t mode, mx_error **err);

#endif
