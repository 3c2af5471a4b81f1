/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer reader: the input is a layer blob (compression detected from its magic bytes)
 * unpacked into a fresh temporary directory, in OVERLAY and then APPLY whiteout mode, which
 * is then removed. Besides crashes and sanitizer reports, it checks that nothing appears
 * beside the target: the target lives alone in a fresh parent directory, which must hold
 * only it afterwards.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "image/layer-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_alone(const char *parent)
{
        DIR *d = opendir(parent);
        struct dirent *de;

        if (!d)
                abort();
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    strcmp(de->d_name, "t") != 0) {
                        fprintf(stderr, "escaped: '%s' appeared beside the target\n", de->d_name);
                        abort();
                }
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const mx_whiteout_mode modes[] = {MX_WHITEOUT_OVERLAY, MX_WHITEOUT_APPLY};
        char parent[] = "/tmp/mx-fuzz-layer-XXXXXX";
        char target[64];

        if (size > (1u << 20))
                return 0;
        if (!mkdtemp(parent))
                abort();
        snprintf(target, sizeof(target), "%s/t", parent);
        for (size_t m = 0; m < 2; m++) {
                mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
                mx_error *err = NULL;
                int fd = memfd_create("layer", MFD_CLOEXEC);

                if (fd < 0 || mkdir(target, 0755) < 0)
                        abort();
                if (size && write(fd, data, size) != (ssize_t)size)
                        abort();
                (void)lseek(fd, 0, SEEK_SET);
                o.whiteouts = modes[m];
                o.max_uncompressed = 64u << 20; /* bound a decompression bomb */
                if (mx_layer_unpack(fd, target, &o, NULL, &err) < 0 && (!err || !err->message))
                        abort(); /* every failure explains itself */
                mx_error_free(err);
                close(fd);
                check_alone(parent);
                if (mx_layer__rm_at(AT_FDCWD, target, NULL) < 0)
                        abort();
        }
        if (rmdir(parent) < 0)
                abort();
        return 0;
}
