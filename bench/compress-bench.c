/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compress one tar with one method and print "METHOD LEVEL IN OUT SECONDS" (bench/compress.sh).
 *
 *   myrmex-compress-bench zlib|gzip|zstd LEVEL IN OUT
 *
 * zlib: zlib's streaming deflate, one member (what most tools do, the baseline);
 * gzip: mx_layer_compress (libdeflate, parallel 1 MiB members); zstd: mx_layer_compress.
 * LEVEL 0 is the library default.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "layer-internal.h"
#include "parse.h"

int main(int argc, char **argv)
{
        struct timespec a, b;
        mx_layer_info info;
        mx_error *err = NULL;
        uint64_t lv;
        int in, out, r, level;

        if (argc != 5) {
                fprintf(stderr, "usage: %s zlib|gzip|zstd LEVEL IN OUT\n", argv[0]);
                return 2;
        }
        if (mx_parse_u64(argv[2], &lv) < 0 || lv > 22) {
                fprintf(stderr, "bad level '%s'\n", argv[2]);
                return 2;
        }
        level = (int)lv;
        in = open(argv[3], O_RDONLY | O_CLOEXEC);
        out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (in < 0 || out < 0) {
                perror("open");
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (strcmp(argv[1], "zlib") == 0)
                r = mx_layer__compress_zlib(in, out, level ? level : 6, &info, &err);
        else
                r = mx_layer_compress(in, out,
                                      strcmp(argv[1], "zstd") == 0 ? MX_COMPRESSION_ZSTD
                                                                   : MX_COMPRESSION_GZIP,
                                      level, &info, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (r < 0) {
                char *m = mx_error_format(err);
                fprintf(stderr, "%s\n", m ? m : "failed");
                return 1;
        }
        printf("%s %d %llu %llu %.3f\n", argv[1], level, (unsigned long long)info.uncompressed_size,
               (unsigned long long)info.compressed_size,
               (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
        return 0;
}
