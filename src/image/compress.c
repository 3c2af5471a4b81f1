/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer compression. gzip: libdeflate on independent 1 MiB blocks compressed in parallel
 * and written in order as a multi-member gzip stream (pigz-style; every gzip reader takes
 * it); zlib when libdeflate is missing. zstd: libzstd's own worker threads. The digest of
 * the output and the diffID of the input are computed on the way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <myrmex/layer.h>

#include "digest.h"
#include "error-internal.h"
#include "layer-internal.h"
#include "mx-config.h"

#if MX_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define GZIP_BLOCK       ((size_t)1 << 20)
#define GZIP_DEFAULT_LVL 4
#define ZSTD_DEFAULT_LVL 3

mx_compression mx_compression_detect(const void *head, size_t len)
{
        const unsigned char *p = head;

        if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return MX_COMPRESSION_GZIP;
        if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
                return MX_COMPRESSION_ZSTD;
        return MX_COMPRESSION_NONE;
}

const char *mx_compression_name(mx_compression c)
{
        switch (c) {
        case MX_COMPRESSION_NONE:
                return "none";
        case MX_COMPRESSION_GZIP:
                return "gzip";
        case MX_COMPRESSION_ZSTD:
                return "zstd";
        case MX_COMPRESSION_AUTO:
                return "auto";
        }
        return NULL;
}

int mx_compression_parse(mx_compression *out, const char *name, mx_error **err)
{
        mx_compression c;

        if (!name || !out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "no compression name");
        if (strcmp(name, "none") == 0 || strcmp(name, "uncompressed") == 0 ||
            strcmp(name, "tar") == 0)
                c = MX_COMPRESSION_NONE;
        else if (strcmp(name, "gzip") == 0)
                c = MX_COMPRESSION_GZIP;
        else if (strcmp(name, "zstd") == 0)
                c = MX_COMPRESSION_ZSTD;
        else
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "unknown compression '%s' (gzip, zstd or none)", name);
        *out = c;
        return 0;
}

struct sink {
        int fd;
        mx_hasher *h;
        uint64_t n;
};

static int sink_put(struct sink *s, const void *data, size_t len, mx_error **err)
{
        int r = mx_layer__write_all(s->fd, data, len);

        if (r < 0)
                return mx_error_errno_val(err, -r, MX_D_IMAGE, "write compressed layer");
        mx_hasher_update(s->h, data, len);
        s->n += len;
        return 0;
}

static ssize_t source_read(int fd, void *buf, size_t len, mx_hasher *h, uint64_t *total,
                           mx_error **err)
{
        ssize_t n = mx_layer__read_full(fd, buf, len);

        if (n < 0)
                return mx_error_errno_val(err, (int)-n, MX_D_IMAGE, "read tar stream");
        mx_hasher_update(h, buf, (size_t)n);
        *total += (uint64_t)n;
        return n;
}

static int compress_none(int in, struct sink *s, mx_hasher *dh, uint64_t *usize, mx_error **err)
{
        cleanup_free unsigned char *buf = malloc(MX_LAYER_IO_CHUNK);

        if (!buf)
                return mx_error_oom(err);
        for (;;) {
                ssize_t n = source_read(in, buf, MX_LAYER_IO_CHUNK, dh, usize, err);
                int r;

                if (n < 0)
                        return (int)n;
                if (n == 0)
                        return 0;
                r = sink_put(s, buf, (size_t)n, err);
                if (r < 0)
                        return r;
        }
}

#if MX_HAVE_LIBDEFLATE
struct gz_job {
        unsigned char *in, *out;
        size_t in_len, out_len, out_cap;
        int level;
        pthread_t thread;
        bool started;
};

static void *gz_job_run(void *arg)
{
        struct gz_job *j = arg;
        struct libdeflate_compressor *c = libdeflate_alloc_compressor(j->level);

        j->out_len = c ? libdeflate_gzip_compress(c, j->in, j->in_len, j->out, j->out_cap) : 0;
        libdeflate_free_compressor(c);
        return NULL;
}

static int compress_gzip_parallel(int in, struct sink *s, int level, mx_hasher *dh, uint64_t *usize,
                                  mx_error **err)
{
        unsigned nthreads = mx_layer__cpus();
        size_t bound = libdeflate_gzip_compress_bound(NULL, GZIP_BLOCK);
        struct gz_job *jobs = calloc(nthreads, sizeof(*jobs));
        bool eof = false, any = false;
        int ret = 0;

        if (!jobs)
                return mx_error_oom(err);
        for (unsigned i = 0; i < nthreads; i++) {
                jobs[i].in = malloc(GZIP_BLOCK);
                jobs[i].out = malloc(bound);
                jobs[i].out_cap = bound;
                jobs[i].level = level;
                if (!jobs[i].in || !jobs[i].out) {
                        ret = mx_error_oom(err);
                        goto out;
                }
        }
        /* Rounds of up to nthreads blocks: read them all, compress in parallel (the last
         * one on this thread), write in order. Memory stays at nthreads * ~2 MiB. */
        while (!eof && ret >= 0) {
                unsigned used = 0;

                while (used < nthreads && !eof) {
                        ssize_t n = source_read(in, jobs[used].in, GZIP_BLOCK, dh, usize, err);
                        if (n < 0) {
                                ret = (int)n;
                                break;
                        }
                        if ((size_t)n < GZIP_BLOCK)
                                eof = true;
                        /* An empty input still makes one (empty) gzip member. */
                        if (n == 0 && any)
                                break;
                        jobs[used].in_len = (size_t)n;
                        any = true;
                        used++;
                }
                if (ret < 0)
                        break;
                for (unsigned i = 0; i + 1 < used; i++)
                        jobs[i].started =
                                pthread_create(&jobs[i].thread, NULL, gz_job_run, &jobs[i]) == 0;
                if (used > 0)
                        gz_job_run(&jobs[used - 1]);
                for (unsigned i = 0; i + 1 < used; i++) {
                        if (jobs[i].started)
                                pthread_join(jobs[i].thread, NULL);
                        else
                                gz_job_run(&jobs[i]);
                        jobs[i].started = false;
                }
                for (unsigned i = 0; i < used && ret >= 0; i++) {
                        if (jobs[i].out_len == 0)
                                ret = mx_error_set(err, MX_ENOMEM, MX_D_IMAGE, 0,
                                                   "gzip compression failed");
                        else
                                ret = sink_put(s, jobs[i].out, jobs[i].out_len, err);
                }
        }
out:
        for (unsigned i = 0; i < nthreads; i++) {
                free(jobs[i].in);
                free(jobs[i].out);
        }
        free(jobs);
        return ret;
}
#endif

static int compress_gzip_zlib(int in, struct sink *s, int level, mx_hasher *dh, uint64_t *usize,
                              mx_error **err)
{
        cleanup_free unsigned char *ibuf = malloc(MX_LAYER_IO_CHUNK);
        cleanup_free unsigned char *obuf = malloc(MX_LAYER_IO_CHUNK);
        z_stream z = {0};
        int ret = 0, flush = Z_NO_FLUSH;

        if (!ibuf || !obuf)
                return mx_error_oom(err);
        /* windowBits 31: gzip wrapper; mtime 0 and no name, so the output is reproducible. */
        if (deflateInit2(&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return mx_error_oom(err);
        while (flush != Z_FINISH && ret >= 0) {
                ssize_t n = source_read(in, ibuf, MX_LAYER_IO_CHUNK, dh, usize, err);
                if (n < 0) {
                        ret = (int)n;
                        break;
                }
                flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
                z.next_in = ibuf;
                z.avail_in = (uInt)n;
                do {
                        z.next_out = obuf;
                        z.avail_out = (uInt)MX_LAYER_IO_CHUNK;
                        (void)deflate(&z, flush);
                        ret = sink_put(s, obuf, MX_LAYER_IO_CHUNK - z.avail_out, err);
                } while (ret >= 0 && z.avail_out == 0);
        }
        deflateEnd(&z);
        return ret;
}

static int compress_zstd(int in, struct sink *s, int level, mx_hasher *dh, uint64_t *usize,
                         mx_error **err)
{
        cleanup_free unsigned char *ibuf = malloc(MX_LAYER_IO_CHUNK);
        size_t osize = ZSTD_CStreamOutSize();
        cleanup_free unsigned char *obuf = malloc(osize);
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        bool last = false;
        int ret = 0;

        if (!ibuf || !obuf || !cc) {
                ZSTD_freeCCtx(cc);
                return mx_error_oom(err);
        }
        (void)ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
        /* Always at least one worker: multithreaded output does not depend on the count,
         * so the same input gives the same blob on any machine. */
        (void)ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, (int)mx_layer__cpus());
        while (!last && ret >= 0) {
                ssize_t n = source_read(in, ibuf, MX_LAYER_IO_CHUNK, dh, usize, err);
                ZSTD_inBuffer zin = {ibuf, 0, 0};
                size_t rem;

                if (n < 0) {
                        ret = (int)n;
                        break;
                }
                zin.size = (size_t)n;
                last = n == 0;
                do {
                        ZSTD_outBuffer zout = {obuf, osize, 0};
                        rem = ZSTD_compressStream2(cc, &zout, &zin,
                                                   last ? ZSTD_e_end : ZSTD_e_continue);
                        if (ZSTD_isError(rem)) {
                                ret = mx_error_set(err, MX_EFAIL, MX_D_IMAGE, 0,
                                                   "zstd compression failed: %s",
                                                   ZSTD_getErrorName(rem));
                                break;
                        }
                        ret = sink_put(s, obuf, zout.pos, err);
                } while (ret >= 0 && (last ? rem != 0 : zin.pos < zin.size));
        }
        ZSTD_freeCCtx(cc);
        return ret;
}

int mx_layer_compress(int tar_fd, int out_fd, mx_compression compression, int level,
                      mx_layer_info *out, mx_error **err)
{
        cleanup(mx_hasher_freep) mx_hasher *dh = NULL;
        cleanup(mx_hasher_freep) mx_hasher *ch = NULL;
        struct sink s = {.fd = out_fd};
        uint64_t usize = 0;
        int ret;

        if (tar_fd < 0 || out_fd < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "compress layer: bad fd");
        switch (compression) {
        case MX_COMPRESSION_NONE:
                break;
        case MX_COMPRESSION_GZIP:
                if (level == 0)
                        level = GZIP_DEFAULT_LVL;
#if MX_HAVE_LIBDEFLATE
                if (level < 1 || level > 12)
#else
                if (level < 1 || level > 9)
#endif
                        return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid gzip level %d",
                                            level);
                break;
        case MX_COMPRESSION_ZSTD:
                if (level == 0)
                        level = ZSTD_DEFAULT_LVL;
                if (level < 1 || level > 19)
                        return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid zstd level %d",
                                            level);
                break;
        default:
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "compress layer: invalid compression %d", (int)compression);
        }
        ret = mx_hasher_new(&dh, MX_DIGEST_SHA256, err);
        if (ret < 0)
                return ret;
        ret = mx_hasher_new(&ch, MX_DIGEST_SHA256, err);
        if (ret < 0)
                return ret;
        s.h = ch;
        if (compression == MX_COMPRESSION_NONE)
                ret = compress_none(tar_fd, &s, dh, &usize, err);
        else if (compression == MX_COMPRESSION_ZSTD)
                ret = compress_zstd(tar_fd, &s, level, dh, &usize, err);
        else
#if MX_HAVE_LIBDEFLATE
                ret = compress_gzip_parallel(tar_fd, &s, level, dh, &usize, err);
#else
                ret = compress_gzip_zlib(tar_fd, &s, level, dh, &usize, err);
#endif
        if (ret < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "compress layer (%s)",
                                     mx_compression_name(compression));
        if (out) {
                memset(out, 0, sizeof(*out));
                mx_hasher_final(dh, out->diff_id);
                mx_hasher_final(ch, out->digest);
                out->compression = compression;
                out->compressed_size = s.n;
                out->uncompressed_size = usize;
        }
        return 0;
}

/* zlib's own streaming gzip, kept for the benchmark's comparison and libdeflate-less builds. */
int mx_layer__compress_zlib(int tar_fd, int out_fd, int level, mx_layer_info *out, mx_error **err)
{
        cleanup(mx_hasher_freep) mx_hasher *dh = NULL;
        cleanup(mx_hasher_freep) mx_hasher *ch = NULL;
        struct sink s = {.fd = out_fd};
        uint64_t usize = 0;
        int ret;

        ret = mx_hasher_new(&dh, MX_DIGEST_SHA256, err);
        if (ret >= 0)
                ret = mx_hasher_new(&ch, MX_DIGEST_SHA256, err);
        if (ret < 0)
                return ret;
        s.h = ch;
        ret = compress_gzip_zlib(tar_fd, &s, level, dh, &usize, err);
        if (ret < 0)
                return ret;
        if (out) {
                memset(out, 0, sizeof(*out));
                mx_hasher_final(dh, out->diff_id);
                mx_hasher_final(ch, out->digest);
                out->compression = MX_COMPRESSION_GZIP;
                out->compressed_size = s.n;
                out->uncompressed_size = usize;
        }
        return 0;
}
