/* SPDX-License-Identifier: Apache-2.0 */
/*
 * myrmex import: a root filesystem tarball becomes a one-layer image.
 *
 * A three-stage pipeline, so nothing is held in memory and the input is read once:
 * a thread decompresses the input (whatever libarchive recognizes) into a pipe and checks
 * that it starts with a tar header; a second thread runs mx_layer_compress() (parallel
 * gzip, diffID and digest in one pass) from that pipe into another; this thread writes the
 * result into a store blob.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/image.h>
#include <myrmex/images.h>
#include <myrmex/layer.h>
#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "fault.h"
#include "imageops-internal.h"

MX_DEFINE_FREEP(mx_manifest, mx_manifest_free)
MX_DEFINE_FREEP(mx_image_config, mx_image_config_free)
MX_DEFINE_FREEP(mx_ref, mx_ref_free)

#define CHUNK (256 * 1024)

typedef struct feeder {
        int in_fd;
        int out_fd; /* write end of the pipe; closed by the thread */
        int code;
        mx_error *err;
} feeder;

static int tar_header_ok(const unsigned char *h)
{
        /* POSIX ustar ("ustar\0") and GNU ("ustar  ") both have "ustar" at offset 257. */
        return memcmp(h + 257, "ustar", 5) == 0;
}

static void *feed_thread(void *arg)
{
        feeder *f = arg;
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *chunk = malloc(CHUNK);
        size_t have = 0;
        bool checked = false;

        if (!a || !chunk) {
                f->code = mx_error_oom(&f->err);
                goto out;
        }
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, f->in_fd, CHUNK) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                f->code = mx_error_set(
                        &f->err, MX_EFORMAT, MX_D_IMAGE, 0, "read root filesystem archive: %s",
                        archive_error_string(a) ? archive_error_string(a) : "empty input");
                goto out;
        }
        for (;;) {
                la_ssize_t n = archive_read_data(a, chunk + have, CHUNK - have);

                if (n < 0) {
                        f->code = mx_error_set(&f->err, MX_EFORMAT, MX_D_IMAGE, 0,
                                               "read root filesystem archive: %s",
                                               archive_error_string(a));
                        goto out;
                }
                have += (size_t)n;
                /* Hold the first block back until it can be checked. */
                if (!checked && have < 512 && n > 0)
                        continue;
                if (!checked) {
                        if (have < 512 || !tar_header_ok((unsigned char *)chunk)) {
                                f->code = mx_error_set(&f->err, MX_EFORMAT, MX_D_IMAGE, 0,
                                                       "the input is not a tar archive");
                                goto out;
                        }
                        checked = true;
                }
                if (have > 0 && mx_imageops__write_all(f->out_fd, chunk, have) < 0) {
                        f->code = mx_error_errno(&f->err, MX_D_SYS, "write layer pipe");
                        goto out;
                }
                have = 0;
                if (n == 0)
                        break;
        }
out:
        (void)close(f->out_fd);
        f->out_fd = -1;
        archive_read_free(a);
        free(chunk);
        return NULL;
}

typedef struct compressor {
        int in_fd;
        int out_fd;
        int code;
        mx_layer_info info;
        mx_error *err;
} compressor;

static void *compress_thread(void *arg)
{
        compressor *c = arg;

        c->code = mx_layer_compress(c->in_fd, c->out_fd, MX_COMPRESSION_GZIP, 0, &c->info, &c->err);
        (void)close(c->out_fd);
        c->out_fd = -1;
        /* Drain so the feeder never blocks on a full pipe after a failure. */
        if (c->code < 0) {
                char buf[4096];

                while (read(c->in_fd, buf, sizeof(buf)) > 0)
                        ;
        }
        return NULL;
}

static int store_layer(mx_store *s, int fd, mx_layer_info *info, mx_error **err)
{
        int pa[2] = {-1, -1}, pb[2] = {-1, -1};
        feeder f = {.in_fd = fd, .out_fd = -1};
        compressor comp = {.out_fd = -1};
        pthread_t tf, tc;
        bool started_f = false, started_c = false;
        mx_io_blob *b = NULL;
        char *chunk = NULL;
        char digest[MX_DIGEST_MAX];
        int r = 0;

        if (pipe2(pa, O_CLOEXEC) < 0 || pipe2(pb, O_CLOEXEC) < 0) {
                r = mx_error_errno(err, MX_D_SYS, "create pipe");
                goto out;
        }
        chunk = malloc(CHUNK);
        if (!chunk) {
                r = mx_error_oom(err);
                goto out;
        }
        r = mx_imageops__blob_begin(&b, s, err);
        if (r < 0)
                goto out;
        f.out_fd = pa[1];
        pa[1] = -1;
        comp.in_fd = pa[0];
        comp.out_fd = pb[1];
        pb[1] = -1;
        if (pthread_create(&tf, NULL, feed_thread, &f) != 0) {
                (void)close(f.out_fd);
                (void)close(comp.out_fd);
                r = mx_error_set(err, MX_EIO, MX_D_SYS, 0, "start import thread");
                goto out;
        }
        started_f = true;
        if (pthread_create(&tc, NULL, compress_thread, &comp) != 0) {
                (void)close(comp.out_fd);
                r = mx_error_set(err, MX_EIO, MX_D_SYS, 0, "start compression thread");
                goto out;
        }
        started_c = true;
        for (;;) {
                ssize_t n = read(pb[0], chunk, CHUNK);

                if (n == 0)
                        break;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = mx_error_errno(err, MX_D_SYS, "read compressed layer");
                        break;
                }
                if (r >= 0)
                        r = mx_imageops__blob_write(b, chunk, (size_t)n, err);
                /* after a failure keep draining so the threads finish */
        }
out:
        if (started_c)
                (void)pthread_join(tc, NULL);
        else if (pa[0] >= 0 && started_f) {
                char buf[4096];

                while (read(pa[0], buf, sizeof(buf)) > 0)
                        ;
        }
        if (started_f)
                (void)pthread_join(tf, NULL);
        for (int i = 0; i < 2; i++) {
                if (pa[i] >= 0)
                        (void)close(pa[i]);
                if (pb[i] >= 0)
                        (void)close(pb[i]);
        }
        free(chunk);
        if (r >= 0 && f.code < 0) {
                mx_error_move(err, &f.err);
                r = f.code;
        }
        if (r >= 0 && comp.code < 0) {
                mx_error_move(err, &comp.err);
                r = comp.code;
        }
        mx_error_free(f.err);
        mx_error_free(comp.err);
        if (r < 0) {
                mx_imageops__blob_abort(b);
                return r;
        }
        r = mx_imageops__blob_commit(b, comp.info.digest, digest, NULL, err);
        if (r < 0)
                return r;
        *info = comp.info;
        return 0;
}

int mx_images_import(mx_store *s, int fd, const char *ref, const mx_images_import_opts *opts,
                     char **id_out, mx_error **err)
{
        cleanup(mx_image_config_freep) mx_image_config *cfg = NULL;
        cleanup(mx_manifest_freep) mx_manifest *man = NULL;
        cleanup(mx_ref_freep) mx_ref *parsed = NULL;
        cleanup_free char *cfg_json = NULL;
        cleanup_free char *man_json = NULL;
        cleanup_free char *comment = NULL;
        const char *diff_ids[1];
        const char *refs[2] = {NULL, NULL};
        char cfg_digest[MX_DIGEST_MAX], man_digest[MX_DIGEST_MAX];
        size_t cfg_len = 0, man_len = 0;
        mx_layer_info info;
        char layer_mt[] = MX_MT_OCI_LAYER_GZIP;
        char manifest_mt[] = MX_MT_OCI_MANIFEST;
        mx_layer_record lr = {0};
        mx_image_record rec = {0};
        int64_t created = opts ? opts->created : -1;
        int r;

        if (!s || fd < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "import: invalid arguments");
        if (ref) {
                r = mx_ref_parse(&parsed, ref, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "import");
                if (mx_ref_digest(parsed))
                        return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                            "import: cannot name an image by digest '%s'", ref);
                refs[0] = mx_ref_string(parsed);
        }
        r = store_layer(s, fd, &info, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "import");
        mx_fault_point("imageops-import-layer-stored");

        diff_ids[0] = info.diff_id;
        r = mx_image_config_new_for_layers(&cfg, diff_ids, 1, NULL, created, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "import");
        if (opts && opts->message)
                comment = strdup(opts->message);
        else if (asprintf(&comment, "Imported from %s", opts && opts->source ? opts->source : "-") <
                 0)
                comment = NULL;
        if (!comment)
                return mx_error_oom(err);
        if (cfg->n_history > 0) {
                free(cfg->history[0].comment);
                cfg->history[0].comment = TAKE_PTR(comment);
        }
        r = mx_image_config_to_json(&cfg_json, &cfg_len, cfg, err);
        if (r >= 0 && cfg->n_history > 0 && cfg->history[0].comment) {
                /* Docker also keeps the message as the image's top-level "comment" (what
                 * inspect shows as Comment); the config struct does not model it. */
                json_t *j = json_loadb(cfg_json, cfg_len, JSON_PRESERVE_ORDER, NULL);
                char *with = NULL;

                if (j &&
                    json_object_set_new(j, "comment", json_string(cfg->history[0].comment)) == 0)
                        with = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
                json_decref(j);
                if (!with)
                        return mx_error_oom(err);
                free(cfg_json);
                cfg_json = with;
                cfg_len = strlen(with);
        }
        if (r >= 0)
                r = mx_imageops__blob_put(s, cfg_json, cfg_len, cfg_digest, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "import: store config");
        mx_fault_point("imageops-import-config-stored");

        r = mx_manifest_new(&man, MX_MT_OCI_MANIFEST, err);
        if (r >= 0)
                r = mx_descriptor_set(&man->config, MX_MT_OCI_CONFIG, cfg_digest, (int64_t)cfg_len,
                                      err);
        if (r >= 0)
                r = mx_manifest_add_layer(man, MX_MT_OCI_LAYER_GZIP, info.digest,
                                          (int64_t)info.compressed_size, err);
        if (r >= 0)
                r = mx_manifest_to_json(&man_json, &man_len, man, err);
        if (r >= 0)
                r = mx_imageops__blob_put(s, man_json, man_len, man_digest, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "import: store manifest");
        mx_fault_point("imageops-import-manifest-stored");

        lr.diff_id = info.diff_id;
        lr.digest = info.digest;
        lr.media_type = layer_mt;
        lr.size = (int64_t)info.compressed_size;
        lr.uncompressed_size = (int64_t)info.uncompressed_size;
        rec.id = cfg_digest;
        rec.manifest_digest = man_digest;
        rec.manifest_media_type = manifest_mt;
        rec.config_size = (int64_t)cfg_len;
        rec.size = (int64_t)(cfg_len + info.compressed_size);
        rec.created = cfg->created;
        rec.os = cfg->os;
        rec.architecture = cfg->architecture;
        rec.variant = cfg->variant;
        rec.n_layers = 1;
        rec.layers = &lr;
        r = mx_store_image_add(s, &rec, refs[0] ? refs : NULL, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "import");
        if (id_out) {
                *id_out = strdup(cfg_digest);
                if (!*id_out)
                        return mx_error_oom(err);
        }
        return 0;
}
