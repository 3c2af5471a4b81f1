/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the serializers write is what skopeo and umoci read and write: an OCI layout built
 * from mx_image_config_new_for_layers(), mx_manifest_new() and mx_index_new() is inspected
 * by skopeo, converted by skopeo to Docker v2s2 (which must equal mx_manifest_convert()'s
 * bytes) and unpacked by umoci.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "buf.h"
#include "digest.h"
#include "fs.h"
#include "json.h"
#include "proc.h"
#include "strv.h"
#include "tap.h"
#include "test-image-format.h"

/* A one-file tar ("hello" = "hello\n"), gzipped when gzip is set. */
static void make_layer(mx_buf *out, int gzip)
{
        static const char content[] = "hello\n";
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        size_t used = 0;
        static char mem[1 << 16];

        ASSERT_NOT_NULL(a);
        ASSERT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        if (gzip) {
                ASSERT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
                /* No name or time in the gzip header: the same bytes every run. */
                ASSERT_EQ(archive_write_set_filter_option(a, "gzip", "timestamp", NULL),
                          ARCHIVE_OK);
        }
        ASSERT_EQ(archive_write_open_memory(a, mem, sizeof(mem), &used), ARCHIVE_OK);
        archive_entry_set_pathname(e, "hello");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_size(e, (la_int64_t)strlen(content));
        archive_entry_set_mtime(e, 1700000000, 0);
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
        ASSERT_EQ(archive_write_data(a, content, strlen(content)), (la_ssize_t)strlen(content));
        ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
        archive_entry_free(e);
        archive_write_free(a);
        ASSERT_OK(mx_buf_put(out, mem, used));
}

static void write_blob(const char *layout, const void *data, size_t len, char digest[MX_DIGEST_MAX])
{
        char path[4096];
        mx_error *err = NULL;

        mx_digest_data(MX_DIGEST_SHA256, data, len, digest);
        snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, mx_digest_hex(digest));
        ASSERT_OK_E(mx_fs_write_atomic(path, data, len, 0644, &err), err);
}

static void run(const char *const *argv, mx_buf *out)
{
        mx_buf errb = MX_BUF_INIT;
        mx_proc_opts o = {.stdout_buf = out, .stderr_buf = &errb, .timeout_ms = 120000};
        mx_error *err = NULL;
        int status = -1;

        ASSERT_OK_E(mx_proc_run(argv, &o, &status, &err), err);
        if (status != 0)
                mx_tap_fail(__FILE__, __LINE__, "%s %s exited with %d: %s", argv[0], argv[1],
                            status, errb.ptr);
        mx_buf_clear(&errb);
}

MX_TEST(skopeo_and_umoci_read_what_we_write)
{
        char *skopeo = mx_proc_which("skopeo"), *umoci = mx_proc_which("umoci");
        const char *tmp = mx_tap_tmpdir();
        char layout[2048], ref[2100], dirref[2100], bundle[2100], path[4096];
        char layer_digest[MX_DIGEST_MAX], diff_id[MX_DIGEST_MAX], cfg_digest[MX_DIGEST_MAX],
                man_digest[MX_DIGEST_MAX];
        mx_buf tar = MX_BUF_INIT, tgz = MX_BUF_INIT, out = MX_BUF_INIT, file = MX_BUF_INIT;
        mx_image_config *cfg = NULL;
        mx_manifest *m = NULL, *docker = NULL, *theirs = NULL;
        mx_index *idx = NULL;
        mx_descriptor d = {0};
        mx_error *err = NULL;
        char *cfg_json = NULL, *man_json = NULL, *idx_json = NULL, *docker_json = NULL;
        size_t cfg_len, man_len, idx_len, docker_len;
        const char *ids[1];
        json_t *info = NULL;

        if (!skopeo || !umoci)
                SKIP("skopeo or umoci is not installed");
        free(skopeo);
        free(umoci);
        snprintf(layout, sizeof(layout), "%s/oci", tmp);
        snprintf(path, sizeof(path), "%s/blobs/sha256", layout);
        ASSERT_OK_E(mx_fs_mkdir_p(path, 0755, &err), err);

        make_layer(&tar, 0);
        make_layer(&tgz, 1);
        mx_digest_data(MX_DIGEST_SHA256, tar.ptr, tar.len, diff_id);
        write_blob(layout, tgz.ptr, tgz.len, layer_digest);

        ids[0] = diff_id;
        ASSERT_OK_E(mx_image_config_new_for_layers(&cfg, ids, 1, "myrmex test", 1700000000, &err),
                    err);
        ASSERT_OK(mx_strv_push(&cfg->config.cmd, "/hello"));
        ASSERT_OK_E(mx_kv_set(&cfg->config.labels, "org.example", "yes", &err), err);
        ASSERT_OK_E(mx_image_config_to_json(&cfg_json, &cfg_len, cfg, &err), err);
        write_blob(layout, cfg_json, cfg_len, cfg_digest);

        ASSERT_OK_E(mx_manifest_new(&m, MX_MT_OCI_MANIFEST, &err), err);
        ASSERT_OK_E(
                mx_descriptor_set(&m->config, MX_MT_OCI_CONFIG, cfg_digest, (int64_t)cfg_len, &err),
                err);
        ASSERT_OK_E(mx_manifest_add_layer(m, MX_MT_OCI_LAYER_GZIP, layer_digest, (int64_t)tgz.len,
                                          &err),
                    err);
        ASSERT_OK_E(mx_manifest_to_json(&man_json, &man_len, m, &err), err);
        write_blob(layout, man_json, man_len, man_digest);

        ASSERT_OK_E(mx_index_new(&idx, MX_MT_OCI_INDEX, &err), err);
        ASSERT_OK_E(mx_descriptor_set(&d, MX_MT_OCI_MANIFEST, man_digest, (int64_t)man_len, &err),
                    err);
        ASSERT_OK_E(mx_kv_set(&d.annotations, MX_ANNOTATION_REF_NAME, "v1", &err), err);
        ASSERT_OK_E(mx_index_add(idx, &d, &err), err);
        ASSERT_OK_E(mx_index_to_json(&idx_json, &idx_len, idx, &err), err);
        snprintf(path, sizeof(path), "%s/index.json", layout);
        ASSERT_OK_E(mx_fs_write_atomic(path, idx_json, idx_len, 0644, &err), err);
        snprintf(path, sizeof(path), "%s/oci-layout", layout);
        ASSERT_OK_E(mx_fs_write_atomic(path, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644, &err),
                    err);

        /* skopeo returns our manifest bytes unchanged and reads our config. */
        snprintf(ref, sizeof(ref), "oci:%s:v1", layout);
        {
                const char *argv[] = {"skopeo", "inspect", "--raw", ref, NULL};

                run(argv, &out);
                ASSERT_STREQ(out.ptr, man_json);
        }
        mx_buf_truncate(&out, 0);
        {
                const char *argv[] = {"skopeo", "inspect", ref, NULL};

                run(argv, &out);
                ASSERT_OK_E(mx_json_parse(&info, out.ptr, out.len, 1 << 20, 1, "inspect", &err),
                            err);
                ASSERT_STREQ(mx_json_str(info, "Architecture"), cfg->architecture);
                ASSERT_STREQ(mx_json_str(info, "Os"), "linux");
                ASSERT_STREQ(mx_json_str(info, "Digest"), man_digest);
                ASSERT_STREQ(json_string_value(json_array_get(json_object_get(info, "Layers"), 0)),
                             layer_digest);
                ASSERT_STREQ(mx_json_str(json_object_get(info, "Labels"), "org.example"), "yes");
                json_decref(info);
        }

        /* skopeo's Docker conversion is byte for byte ours. */
        snprintf(dirref, sizeof(dirref), "dir:%s/docker", tmp);
        {
                const char *argv[] = {"skopeo", "copy", "-q",   "--format",
                                      "v2s2",   ref,    dirref, NULL};

                run(argv, NULL);
        }
        snprintf(path, sizeof(path), "%s/docker/manifest.json", tmp);
        ASSERT_OK_E(mx_buf_read_file(&file, path, 1 << 20, &err), err);
        ASSERT_OK_E(mx_manifest_convert(&docker, m, MX_MT_DOCKER_MANIFEST, &err), err);
        ASSERT_OK_E(mx_manifest_to_json(&docker_json, &docker_len, docker, &err), err);
        ASSERT_STREQ(file.ptr, docker_json);
        ASSERT_OK_E(mx_manifest_parse(&theirs, file.ptr, file.len, MX_MT_DOCKER_MANIFEST, &err),
                    err);
        ASSERT_STREQ(theirs->layers[0].digest, layer_digest);

        /* umoci unpacks it and takes the runtime defaults from our config. */
        snprintf(bundle, sizeof(bundle), "%s/bundle", tmp);
        snprintf(ref, sizeof(ref), "%s:v1", layout);
        {
                const char *argv[] = {"umoci", "unpack", "--image", ref, bundle, NULL};

                run(argv, NULL);
        }
        mx_buf_truncate(&file, 0);
        snprintf(path, sizeof(path), "%s/rootfs/hello", bundle);
        ASSERT_OK_E(mx_buf_read_file(&file, path, 1 << 20, &err), err);
        ASSERT_STREQ(file.ptr, "hello\n");
        mx_buf_truncate(&file, 0);
        snprintf(path, sizeof(path), "%s/config.json", bundle);
        ASSERT_OK_E(mx_buf_read_file(&file, path, 1 << 20, &err), err);
        ASSERT_TRUE(strstr(file.ptr, "\"/hello\"") != NULL);

        mx_image_config_free(cfg);
        mx_manifest_free(m);
        mx_manifest_free(docker);
        mx_manifest_free(theirs);
        mx_index_free(idx);
        mx_descriptor_clear(&d);
        mx_free(cfg_json);
        mx_free(man_json);
        mx_free(idx_json);
        mx_free(docker_json);
        mx_buf_clear(&tar);
        mx_buf_clear(&tgz);
        mx_buf_clear(&out);
        mx_buf_clear(&file);
}
