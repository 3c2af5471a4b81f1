/* SPDX-License-Identifier: Apache-2.0 */
/* save round trips, oci-dir merging, import, inspect and history. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <myrmex/image.h>
#include <myrmex/images.h>
#include <myrmex/store.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/digest.h"
#include "core/error-internal.h"
#include "core/json.h"
#include "core/strv.h"
#include "store/store-internal.h"
#include "tap.h"

static mx_store *open_store(const char *name)
{
        char path[512];
        mx_store *s = NULL;
        mx_error *err = NULL;

        snprintf(path, sizeof(path), "%s/%s", mx_tap_tmpdir(), name);
        ASSERT_OK_E(mx_store_open(&s, path, &err), err);
        return s;
}

static void load(mx_store *s, const char *path)
{
        cleanup(mx_error_freep) mx_error *err = NULL;
        char **loaded = NULL;

        ASSERT_OK_E(mx_images_load_path(s, path, NULL, &loaded, &err), err);
        mx_images_strv_free(loaded);
}

static char *tmp(const char *name)
{
        static char buf[4][512];
        static int i;

        i = (i + 1) % 4;
        snprintf(buf[i], sizeof(buf[i]), "%s/%s", mx_tap_tmpdir(), name);
        return buf[i];
}

MX_TEST(save_docker_archive_round_trip_keeps_id)
{
        cleanup(mx_store_freep) mx_store *a = open_store("a");
        cleanup(mx_store_freep) mx_store *b = open_store("b");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup(mx_image_record_freep) mx_image_record *ra = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rb = NULL;
        const char *imgs[] = {"example.com/oci/app:2", NULL};
        char da[MX_DIGEST_MAX], db[MX_DIGEST_MAX];

        load(a, mx_tap_data("data/archives/good/oci-containerd-name.tar"));
        ASSERT_OK_E(mx_images_save_path(a, imgs, MX_SAVE_DOCKER_ARCHIVE, tmp("x.tar"), NULL, &err),
                    err);
        ASSERT_OK_E(mx_images_save_path(a, imgs, MX_SAVE_DOCKER_ARCHIVE, tmp("y.tar"), NULL, &err),
                    err);
        /* reproducible */
        ASSERT_OK(mx_digest_file(tmp("x.tar"), MX_DIGEST_SHA256, da, NULL));
        ASSERT_OK(mx_digest_file(tmp("y.tar"), MX_DIGEST_SHA256, db, NULL));
        ASSERT_STREQ(da, db);
        load(b, tmp("x.tar"));
        ASSERT_OK(mx_store_image_get(a, "example.com/oci/app:2", &ra, NULL));
        ASSERT_OK(mx_store_image_get(b, "example.com/oci/app:2", &rb, NULL));
        ASSERT_STREQ(ra->id, rb->id);
        ASSERT_EQ(ra->n_layers, rb->n_layers);
        for (size_t i = 0; i < ra->n_layers; i++)
                ASSERT_STREQ(ra->layers[i].diff_id, rb->layers[i].diff_id);
}

MX_TEST(save_oci_archive_round_trip_keeps_manifest)
{
        cleanup(mx_store_freep) mx_store *a = open_store("a");
        cleanup(mx_store_freep) mx_store *b = open_store("b");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup(mx_image_record_freep) mx_image_record *ra = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rb = NULL;
        const char *imgs[] = {"example.com/multi:one", "example.com/multi:two", NULL};
        cleanup_close int fd = -1;

        load(a, mx_tap_data("data/archives/good/oci-two-images.tar.gz"));
        fd = open(tmp("o.tar"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK_E(mx_images_save(a, imgs, MX_SAVE_OCI_ARCHIVE, fd, NULL, &err), err);
        load(b, tmp("o.tar"));
        ASSERT_OK(mx_store_image_get(a, "example.com/multi:two", &ra, NULL));
        ASSERT_OK(mx_store_image_get(b, "example.com/multi:two", &rb, NULL));
        ASSERT_STREQ(ra->manifest_digest, rb->manifest_digest);
        ASSERT_STREQ(ra->layers[1].digest, rb->layers[1].digest);
}

MX_TEST(save_oci_dir_merges_index)
{
        cleanup(mx_store_freep) mx_store *a = open_store("a");
        cleanup(mx_error_freep) mx_error *err = NULL;
        const char *one[] = {"example.com/multi:one", NULL};
        const char *two[] = {"example.com/multi:two", NULL};
        const char *again[] = {"example.com/multi:one", NULL};
        mx_buf b = MX_BUF_INIT;
        cleanup_json json_t *idx = NULL;
        char path[600];
        json_t *m;

        load(a, mx_tap_data("data/archives/good/oci-two-images.tar.gz"));
        ASSERT_OK_E(mx_images_save_path(a, one, MX_SAVE_OCI_DIR, tmp("dir"), NULL, &err), err);
        ASSERT_OK_E(mx_images_save_path(a, two, MX_SAVE_OCI_DIR, tmp("dir"), NULL, &err), err);
        ASSERT_OK_E(mx_images_save_path(a, again, MX_SAVE_OCI_DIR, tmp("dir"), NULL, &err), err);
        snprintf(path, sizeof(path), "%s/index.json", tmp("dir"));
        ASSERT_OK(mx_buf_read_file(&b, path, 1 << 20, NULL));
        ASSERT_OK(mx_json_parse(&idx, b.ptr, b.len, 1 << 20, 1, "index", NULL));
        mx_buf_clear(&b);
        m = json_object_get(idx, "manifests");
        ASSERT_EQ(json_array_size(m), 2);
        ASSERT_STREQ(mx_json_str(json_object_get(json_array_get(m, 0), "annotations"),
                                 "org.opencontainers.image.ref.name"),
                     "two");
        ASSERT_STREQ(mx_json_str(json_object_get(json_array_get(m, 1), "annotations"),
                                 "io.containerd.image.name"),
                     "example.com/multi:one");
        /* a saved layout loads back, from the directory */
        {
                cleanup(mx_store_freep) mx_store *c = open_store("c");
                char **loaded = NULL;

                ASSERT_OK_E(mx_images_load_path(c, tmp("dir"), NULL, &loaded, &err), err);
                ASSERT_EQ(mx_strv_length(loaded), 2);
                mx_images_strv_free(loaded);
        }
}

MX_TEST(save_by_id_has_no_name)
{
        cleanup(mx_store_freep) mx_store *a = open_store("a");
        cleanup(mx_store_freep) mx_store *b = open_store("b");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup(mx_image_record_freep) mx_image_record *ra = NULL;
        char **loaded = NULL;
        const char *imgs[2] = {NULL, NULL};

        load(a, mx_tap_data("data/archives/good/docker-basic.tar"));
        ASSERT_OK(mx_store_image_get(a, "example.com/app:v1", &ra, NULL));
        imgs[0] = ra->id;
        ASSERT_OK_E(mx_images_save_path(a, imgs, MX_SAVE_OCI_ARCHIVE, tmp("id.tar"), NULL, &err),
                    err);
        ASSERT_OK_E(mx_images_load_path(b, tmp("id.tar"), NULL, &loaded, &err), err);
        ASSERT_STREQ(loaded[0], ra->id);
        mx_images_strv_free(loaded);
        ASSERT_ERR(mx_images_save(a, imgs, MX_SAVE_OCI_DIR, 1, NULL, NULL), MX_EINVAL);
        imgs[0] = "no/such:image";
        ASSERT_ERR(mx_images_save_path(a, imgs, MX_SAVE_DOCKER_ARCHIVE, tmp("n.tar"), NULL, &err),
                   MX_ENOTFOUND);
        ASSERT_TRUE(access(tmp("n.tar"), F_OK) != 0);
}

static int make_rootfs_tar(const char *out, int gzip)
{
        char cmd[2048];
        const char *dir = tmp("rootfs");

        snprintf(cmd, sizeof(cmd),
                 "mkdir -p %s/etc %s/bin && echo hi > %s/etc/greeting && ln -sf ../etc/greeting "
                 "%s/bin/link && tar -C %s -c%sf %s .",
                 dir, dir, dir, dir, dir, gzip ? "z" : "", out);
        {
                char sh[] = "sh", dash_c[] = "-c";
                char *argv[] = {sh, dash_c, cmd, NULL};
                pid_t pid = fork();
                int st = 0;

                if (pid == 0) {
                        execvp("sh", argv);
                        _exit(127);
                }
                waitpid(pid, &st, 0);
                return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        }
}

MX_TEST(import_makes_one_layer_image)
{
        cleanup(mx_store_freep) mx_store *s = open_store("a");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup_json json_t *insp = NULL;
        cleanup_json json_t *hist = NULL;
        mx_images_import_opts o = MX_IMAGES_IMPORT_OPTS_INIT;
        char *id = NULL, *json = NULL;
        cleanup_close int fd = -1;

        ASSERT_EQ(make_rootfs_tar(tmp("r.tgz"), 1), 0);
        fd = open(tmp("r.tgz"), O_RDONLY | O_CLOEXEC);
        o.created = 1700000000;
        ASSERT_OK_E(mx_images_import(s, fd, "imported:1", &o, &id, &err), err);
        ASSERT_TRUE(mx_digest_is_valid(id));
        ASSERT_OK(mx_store_image_get(s, "imported:1", &rec, NULL));
        ASSERT_STREQ(rec->id, id);
        ASSERT_EQ(rec->n_layers, 1);
        ASSERT_STREQ(rec->layers[0].media_type, MX_MT_OCI_LAYER_GZIP);
        ASSERT_OK_E(mx_images_inspect_json(s, "imported:1", &json, &err), err);
        ASSERT_OK(mx_json_parse(&insp, json, strlen(json), 1 << 20, 1, "inspect", NULL));
        mx_free(json);
        ASSERT_STREQ(mx_json_str(insp, "Id"), id);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(insp, "RepoTags"), 0)),
                     "imported:1");
        ASSERT_STREQ(mx_json_str(insp, "Created"), "2023-11-14T22:13:20Z");
        ASSERT_STREQ(mx_json_str(insp, "Comment"), "Imported from -");
        ASSERT_STREQ(mx_json_str(json_object_get(insp, "RootFS"), "Type"), "layers");
        ASSERT_TRUE(json_integer_value(json_object_get(insp, "Size")) >= 10240);
        ASSERT_OK_E(mx_images_history_json(s, id, &json, &err), err);
        ASSERT_OK(mx_json_parse(&hist, json, strlen(json), 1 << 20, 0, "history", NULL));
        mx_free(json);
        ASSERT_EQ(json_array_size(hist), 1);
        ASSERT_STREQ(mx_json_str(json_array_get(hist, 0), "ID"), id);
        ASSERT_STREQ(mx_json_str(json_array_get(hist, 0), "Comment"), "Imported from -");
        mx_free(id);
        id = NULL;
        /* a plain tar of the same tree with the same time gives the same image */
        ASSERT_EQ(make_rootfs_tar(tmp("r.tar"), 0), 0);
        close(fd);
        fd = open(tmp("r.tar"), O_RDONLY | O_CLOEXEC);
        ASSERT_OK_E(mx_images_import(s, fd, NULL, &o, &id, &err), err);
        ASSERT_STREQ(id, rec->id);
        mx_free(id);
}

MX_TEST(import_refuses_non_tar)
{
        cleanup(mx_store_freep) mx_store *s = open_store("a");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_close int fd =
                open(mx_tap_data("data/archives/hostile/not-an-archive.bin"), O_RDONLY | O_CLOEXEC);
        char *id = NULL;
        mx_image_record **recs = NULL;
        size_t n = 9;

        ASSERT_ERR(mx_images_import(s, fd, "x:1", NULL, &id, &err), MX_EFORMAT);
        ASSERT_NULL(id);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_OK(mx_store_image_list(s, &recs, &n, NULL));
        ASSERT_EQ(n, 0);
        mx_image_record_list_free(recs, n);
        ASSERT_ERR(mx_images_import(s, 0, "Bad:Ref:x", NULL, &id, NULL), MX_EINVAL);
}
