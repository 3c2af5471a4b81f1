/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for `myrmex load`: the input is an image archive (docker-archive or OCI
 * layout, tar or compressed tar) fed to mx_images_load() on a scratch store. Covers the
 * outer tar reader, member names and links, manifest.json / index.json / oci-layout
 * parsing, and the checks before the commit point. The store is made once per process
 * (in $TMPDIR) and its garbage collected every few hundred inputs.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/store.h>

#include "core/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mx_store *store;
static char root[256];
static unsigned long runs;

static void drop_store(void)
{
        mx_store_free(store);
        store = NULL;
        /* leave nothing behind in TMPDIR */
        if (root[0])
                (void)mx_fs_rm_rf(root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char **loaded = NULL;
        int fd;

        if (size > (1 << 20))
                return 0;
        if (!store) {
                const char *tmp = getenv("TMPDIR");

                snprintf(root, sizeof(root), "%s/mx-fuzz-archive-XXXXXX", tmp ? tmp : "/tmp");
                if (!mkdtemp(root) || mx_store_open(&store, root, NULL) < 0)
                        abort();
                atexit(drop_store);
        }
        fd = memfd_create("archive", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
                abort();
        if (mx_images_load(store, fd, NULL, &loaded, NULL) == 0)
                mx_images_strv_free(loaded);
        close(fd);
        if (++runs % 256 == 0)
                (void)!mx_store_gc(store, NULL, NULL);
        return 0;
}
