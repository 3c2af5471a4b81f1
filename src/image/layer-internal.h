/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the layer, compression and root filesystem code. */
#ifndef MX_IMAGE_LAYER_INTERNAL_H
#define MX_IMAGE_LAYER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include <myrmex/error.h>
#include <myrmex/layer.h>

/* Read/write buffer sizes of the streaming paths: big enough to amortize syscalls, small
 * enough that a dozen layers in parallel stay far below the memory budget. */
#define MX_LAYER_IO_CHUNK ((size_t)256 * 1024)

/* Entries deeper than this many components are refused. */
#define MX_LAYER_MAX_DEPTH 1024

/* Remove name under dirfd recursively without following symlinks and with at most two
 * open fds whatever the depth. A missing name is success. */
int mx_layer__rm_at(int dirfd, const char *name, mx_error **err);

/* Resolve a relative, already cleaned path ("a/b", never "..") to a directory under rootfd
 * without following any symlink: openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) when the
 * kernel has it, else component by component with O_NOFOLLOW. With create, missing
 * components are made (mode 0755). oflags is O_PATH or O_RDONLY (plus O_DIRECTORY implied).
 * An empty path opens rootfd itself again. Returns the new fd (owned by the caller), or a
 * negative code: MX_EUNSAFE (a symlink on the way), MX_EFORMAT (a component is not a
 * directory), MX_ENOTFOUND (missing and !create), others from the system. The message
 * names what_entry (the tar entry the path came from). */
int mx_layer__open_dir_beneath(int rootfd, const char *path, int oflags, bool create,
                               const char *what_entry, mx_error **err);

/* Clean a tar entry name: leading "/" and "./" dropped, empty and "." components dropped.
 * Returns a malloc'd string ("" for the root), NULL with *unsafe set when a ".." component
 * is present, NULL with *unsafe unset on OOM. */
char *mx_layer__clean_name(const char *name, bool *unsafe);

/* An overlayfs whiteout: a character device 0/0. */
static inline bool mx_layer__is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

/* xattrs that steer overlayfs: never taken from a tar, never copied into a flat tree. */
bool mx_layer__xattr_is_overlay(const char *name);

/* Write all of data at offset (pwrite loop); -errno on failure. */
int mx_layer__pwrite_all(int fd, const void *data, size_t len, off_t offset);
/* Write all of data (write loop); -errno on failure. */
int mx_layer__write_all(int fd, const void *data, size_t len);
/* Read up to len bytes, retrying on EINTR and short reads until len or EOF; -errno. */
ssize_t mx_layer__read_full(int fd, void *buf, size_t len);

/* Number of worker threads for CPU-bound stages: online CPUs, capped. */
unsigned mx_layer__cpus(void);

/* gzip through zlib's streaming deflate (single member): the benchmark's baseline. */
int mx_layer__compress_zlib(int tar_fd, int out_fd, int level, mx_layer_info *out, mx_error **err);

#endif
