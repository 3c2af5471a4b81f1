/* SPDX-License-Identifier: Apache-2.0 */
/* Unpacking layers once, read-only mounts counted per caller, and history rows. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/store.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/error-internal.h"
#include "core/json.h"
#include "store/store-internal.h"
#include "tap.h"

static mx_store *open_loaded(const char *archive)
{
        char path[512];
        mx_store *s = NULL;
        mx_error *err = NULL;
        char **loaded = NULL;

        if (geteuid() != 0)
                SKIP("needs root (whiteout devices, overlay mounts)");
        snprintf(path, sizeof(path), "%s/st", mx_tap_tmpdir());
        ASSERT_OK_E(mx_store_open(&s, path, &err), err);
        ASSERT_OK_E(mx_images_load_path(s, mx_tap_data(archive), NULL, &loaded, &err), err);
        mx_images_strv_free(loaded);
        return s;
}

static char *read_text(const char *dir, const char *rel)
{
        char path[1024];
        mx_buf b = MX_BUF_INIT;

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        if (mx_buf_read_file(&b, path, 1 << 20, NULL) < 0)
                return NULL;
        return mx_buf_detach(&b);
}

MX_TEST(unpack_layers_once_with_overlay_whiteouts)
{
        cleanup(mx_store_freep) mx_store *s = open_loaded("data/archives/good/docker-basic.tar");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup_free char *top = NULL;
        char path[1024];
        struct stat st, st2;

        ASSERT_OK_E(mx_images_unpack(s, "example.com/app:v1", NULL, NULL, &err), err);
        ASSERT_OK(mx_store_image_get(s, "example.com/app:v1", &rec, NULL));
        for (size_t i = 0; i < rec->n_layers; i++)
                ASSERT_EQ(mx_store_layer_is_unpacked(s, rec->layers[i].chain_id, NULL), 1);
        ASSERT_OK(mx_store_layer_dir(s, rec->layers[1].chain_id, &top, NULL));
        /* layer 2 deletes etc/motd: an overlay whiteout (character device 0/0) */
        snprintf(path, sizeof(path), "%s/etc/motd", top);
        ASSERT_OK(lstat(path, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, makedev(0, 0));
        /* a second unpack leaves the directories alone */
        ASSERT_OK(stat(top, &st));
        ASSERT_OK_E(mx_images_unpack(s, rec->id, NULL, NULL, &err), err);
        ASSERT_OK(stat(top, &st2));
        ASSERT_EQ(st.st_ino, st2.st_ino);
        ASSERT_ERR(mx_images_unpack(s, "no/such:image", NULL, NULL, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
}

MX_TEST(mount_counts_holders_and_blocks_rmi)
{
        cleanup(mx_store_freep) mx_store *s = open_loaded("data/archives/good/docker-basic.tar");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_free char *p1 = NULL;
        cleanup_free char *p2 = NULL;
        cleanup_free char *text = NULL;
        char path[1024];
        int count = 0;

        ASSERT_OK_E(mx_image_mount(s, "example.com/app:v1", &p1, &err), err);
        ASSERT_OK_E(mx_image_mount(s, "example.com/app:v1", &p2, &err), err);
        ASSERT_STREQ(p1, p2);
        ASSERT_OK(mx_store_image_mount_ref(s, "example.com/app:v1", 0, &count, NULL));
        ASSERT_EQ(count, 2);
        text = read_text(p1, "etc/version");
        ASSERT_STREQ(text, "2\n");
        snprintf(path, sizeof(path), "%s/etc/motd", p1);
        ASSERT_TRUE(access(path, F_OK) != 0);
        snprintf(path, sizeof(path), "%s/etc/probe", p1);
        ASSERT_TRUE(mkdir(path, 0755) < 0); /* read-only */
        ASSERT_ERR(mx_store_image_remove(s, "example.com/app:v1", 0, NULL, NULL, &err), MX_EBUSY);
        mx_error_free(err);
        err = NULL;
        ASSERT_OK_E(mx_image_unmount(s, "example.com/app:v1", 0, &err), err);
        free(text);
        text = read_text(p1, "etc/version");
        ASSERT_STREQ(text, "2\n"); /* still one holder */
        ASSERT_OK_E(mx_image_unmount(s, "example.com/app:v1", 0, &err), err);
        ASSERT_TRUE(access(p1, F_OK) != 0);
        ASSERT_ERR(mx_image_unmount(s, "example.com/app:v1", 0, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_OK_E(mx_store_image_remove(s, "example.com/app:v1", 0, NULL, NULL, &err), err);
        ASSERT_ERR(mx_image_mount(s, "example.com/app:v1", NULL, &err), MX_ENOTFOUND);
}

MX_TEST(mount_single_layer_and_unmount_all)
{
        cleanup(mx_store_freep) mx_store *s =
                open_loaded("data/archives/good/oci-two-images.tar.gz");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_free char *p1 = NULL;
        cleanup_free char *p2 = NULL;
        cleanup_free char *text = NULL;

        ASSERT_OK_E(mx_image_mount(s, "example.com/multi:one", &p1, &err), err);
        ASSERT_OK_E(mx_image_mount(s, "example.com/multi:two", &p2, &err), err);
        text = read_text(p1, "etc/motd");
        ASSERT_STREQ(text, "hello from layer one\n");
        free(text);
        text = read_text(p2, "srv/data");
        ASSERT_NOT_NULL(text);
        ASSERT_EQ(strlen(text), 3000);
        ASSERT_OK_E(mx_image_unmount(s, NULL, 1, &err), err);
        ASSERT_TRUE(access(p1, F_OK) != 0);
        ASSERT_TRUE(access(p2, F_OK) != 0);
}

MX_TEST(history_rows_newest_first)
{
        cleanup(mx_store_freep) mx_store *s =
                open_loaded("data/archives/good/docker-three-layers.tar");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_json json_t *rows = NULL;
        char *text = NULL;

        ASSERT_OK_E(mx_images_history_json(s, "example.com/crash:v3", &text, &err), err);
        ASSERT_OK(mx_json_parse(&rows, text, strlen(text), 1 << 20, 0, "history", NULL));
        mx_free(text);
        ASSERT_EQ(json_array_size(rows), 3);
        ASSERT_STREQ(mx_json_str(json_array_get(rows, 0), "CreatedBy"), "layer 2");
        ASSERT_TRUE(strncmp(mx_json_str(json_array_get(rows, 0), "ID"), "sha256:", 7) == 0);
        ASSERT_STREQ(mx_json_str(json_array_get(rows, 2), "ID"), "<missing>");
        ASSERT_EQ(json_integer_value(json_object_get(json_array_get(rows, 0), "Size")), 10240);
        ASSERT_STREQ(json_string_value(
                             json_array_get(json_object_get(json_array_get(rows, 0), "Tags"), 0)),
                     "example.com/crash:v3");
        ASSERT_ERR(mx_images_history_json(s, "nope:1", &text, &err), MX_ENOTFOUND);
        ASSERT_ERR(mx_images_inspect_json(s, "nope:1", &text, NULL), MX_ENOTFOUND);
}

static void count_events(const mx_progress_event *ev, void *userdata)
{
        int *n = userdata;

        if (strcmp(ev->action, "unpack") == 0)
                (*n)++;
}

MX_TEST(unpack_reports_progress_from_its_threads)
{
        cleanup(mx_store_freep) mx_store *s =
                open_loaded("data/archives/good/docker-three-layers.tar");
        cleanup(mx_error_freep) mx_error *err = NULL;
        int events = 0;

        ASSERT_OK_E(mx_images_unpack(s, "example.com/crash:v3", count_events, &events, &err), err);
        ASSERT_TRUE(events >= 3);
        events = 0;
        ASSERT_OK_E(mx_images_unpack(s, "example.com/crash:v3", count_events, &events, &err), err);
        ASSERT_EQ(events, 0); /* nothing left to unpack */
}
