/* SPDX-License-Identifier: Apache-2.0 */
/* Loading archives: every kind, the naming rule, and the hostile corpus. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/store.h>

#include "core/cleanup.h"
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

static char **load_file(mx_store *s, const char *rel, int *code, mx_error **err)
{
        char **loaded = NULL;

        *code = mx_images_load_path(s, mx_tap_data(rel), NULL, &loaded, err);
        return loaded;
}

static size_t image_count(mx_store *s)
{
        mx_image_record **recs = NULL;
        size_t n = 0;

        ASSERT_OK(mx_store_image_list(s, &recs, &n, NULL));
        mx_image_record_list_free(recs, n);
        return n;
}

static void assert_check_clean(mx_store *s)
{
        mx_store_check_report *rep = NULL;

        ASSERT_OK(mx_store_check(s, 0, &rep, NULL));
        for (size_t i = 0; i < rep->n_problems; i++)
                fprintf(stderr, "# problem: %s\n", rep->problems[i]);
        ASSERT_EQ(rep->n_problems, 0);
        mx_store_check_report_free(rep);
}

MX_TEST(load_docker_archive_names_from_repotags)
{
        cleanup(mx_store_freep) mx_store *s = open_store("st");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_strv char **loaded = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        int r;

        loaded = load_file(s, "data/archives/good/docker-basic.tar", &r, &err);
        ASSERT_OK_E(r, err);
        ASSERT_EQ(mx_strv_length(loaded), 1);
        ASSERT_STREQ(loaded[0], "example.com/app:v1");
        ASSERT_OK(mx_store_image_get(s, "example.com/app:v1", &rec, NULL));
        ASSERT_EQ(rec->n_layers, 2);
        /* docker-archive layers are stored uncompressed: digest == diffID */
        ASSERT_STREQ(rec->layers[0].digest, rec->layers[0].diff_id);
        ASSERT_STREQ(rec->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
        assert_check_clean(s);
}

MX_TEST(load_same_image_gzipped_and_twice)
{
        cleanup(mx_store_freep) mx_store *s = open_store("st");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_strv char **a = NULL;
        cleanup_strv char **b = NULL;
        int r;

        a = load_file(s, "data/archives/good/docker-basic.tar.gz", &r, &err);
        ASSERT_OK_E(r, err);
        b = load_file(s, "data/archives/good/docker-basic.tar", &r, &err);
        ASSERT_OK_E(r, err);
        ASSERT_STREQ(a[0], b[0]);
        ASSERT_EQ(image_count(s), 1);
        assert_check_clean(s);
}

MX_TEST(load_naming_rule)
{
        static const struct {
                const char *file;
                const char *first;
                size_t n;
        } cases[] = {
                {"data/archives/good/oci-containerd-name.tar", "example.com/oci/app:2", 1},
                {"data/archives/good/oci-refname-ref.tar", "docker.io/library/h:name", 1},
                {"data/archives/good/oci-refname-bare.tar", "sha256:", 1},
                {"data/archives/good/docker-notag.tar", "sha256:", 1},
                {"data/archives/good/docker25-layout.tar", "example.com/d25:latest", 1},
                {"data/archives/good/docker-skopeo-shape.tar", "localhost/skopeo:shape", 1},
                {"data/archives/good/oci-two-images.tar.gz", "example.com/multi:one", 2},
                {"data/archives/good/docker-three-layers.tar", "example.com/crash:v3", 1},
        };

        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++) {
                char name[32];
                cleanup(mx_store_freep) mx_store *s = NULL;
                cleanup(mx_error_freep) mx_error *err = NULL;
                cleanup_strv char **loaded = NULL;
                int r;

                snprintf(name, sizeof(name), "st%zu", i);
                s = open_store(name);
                loaded = load_file(s, cases[i].file, &r, &err);
                if (r < 0) {
                        char *m = mx_error_format(err);

                        mx_tap_fail(__FILE__, __LINE__, "%s: %s", cases[i].file, m);
                }
                ASSERT_EQ(mx_strv_length(loaded), cases[i].n);
                if (strncmp(loaded[0], cases[i].first, strlen(cases[i].first)) != 0)
                        mx_tap_fail(__FILE__, __LINE__, "%s: loaded '%s', expected '%s'",
                                    cases[i].file, loaded[0], cases[i].first);
                assert_check_clean(s);
        }
}

MX_TEST(load_refuses_hostile_archives)
{
        cleanup(mx_store_freep) mx_store *s = open_store("st");
        const char *dir = mx_tap_data("data/archives/hostile");
        cleanup_strv char **names = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;

        ASSERT_NOT_NULL(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        ASSERT_OK(mx_strv_push(&names, de->d_name));
        closedir(d);
        mx_strv_sort(names);
        ASSERT_TRUE(mx_strv_length(names) >= 20);
        MX_STRV_FOREACH (n, names) {
                char rel[512];
                cleanup(mx_error_freep) mx_error *err = NULL;
                cleanup_strv char **loaded = NULL;
                char *msg;
                int r;

                snprintf(rel, sizeof(rel), "data/archives/hostile/%s", n);
                loaded = load_file(s, rel, &r, &err);
                if (r >= 0)
                        mx_tap_fail(__FILE__, __LINE__, "hostile archive '%s' was loaded", n);
                ASSERT_NULL(loaded);
                ASSERT_NOT_NULL(err);
                ASSERT_EQ(err->code, r);
                ASSERT_EQ(err->domain, MX_D_IMAGE);
                msg = mx_error_format(err);
                fprintf(stderr, "# %s: %s (%s)\n", n, msg, mx_code_name(r));
                free(msg);
                ASSERT_EQ(image_count(s), 0);
        }
        assert_check_clean(s);
}

MX_TEST(load_hostile_codes)
{
        static const struct {
                const char *file;
                int code;
        } cases[] = {
                {"oci-layer-digest-mismatch.tar", MX_EDIGEST},
                {"oci-config-digest-mismatch.tar", MX_EDIGEST},
                {"docker-layer-diffid-mismatch.tar", MX_EDIGEST},
                {"docker-config-digest-mismatch.tar", MX_EDIGEST},
                {"oci-size-absurd.tar", MX_ETOOBIG},
                {"oci-size-negative.tar", MX_EFORMAT},
                {"oci-missing-blob.tar", MX_ENOTFOUND},
                {"docker-missing-layer.tar", MX_ENOTFOUND},
                {"docker-traversal-dotdot.tar", MX_EUNSAFE},
                {"docker-traversal-absolute.tar", MX_EUNSAFE},
                {"oci-traversal-blob.tar", MX_EUNSAFE},
                {"docker-symlink-escape.tar", MX_EUNSAFE},
                {"docker-manifest-path-escape.tar", MX_EUNSAFE},
                {"oci-index-malformed.tar", MX_EFORMAT},
                {"docker-manifestjson-malformed.tar", MX_EFORMAT},
                {"oci-config-malformed.tar", MX_EFORMAT},
                {"docker-truncated.tar.gz", MX_EFORMAT},
                {"empty.tar", MX_EFORMAT},
        };
        cleanup(mx_store_freep) mx_store *s = open_store("st");

        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++) {
                char rel[512];
                cleanup(mx_error_freep) mx_error *err = NULL;
                cleanup_strv char **loaded = NULL;
                int r;

                snprintf(rel, sizeof(rel), "data/archives/hostile/%s", cases[i].file);
                loaded = load_file(s, rel, &r, &err);
                if (r != cases[i].code) {
                        char *m = mx_error_format(err);

                        mx_tap_fail(__FILE__, __LINE__, "%s: got %s (%s), expected %s",
                                    cases[i].file, mx_code_name(r), m ? m : "",
                                    mx_code_name(cases[i].code));
                }
        }
}

MX_TEST(load_from_fd_pipe)
{
        cleanup(mx_store_freep) mx_store *s = open_store("st");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_strv char **loaded = NULL;
        cleanup_close int fd =
                open(mx_tap_data("data/archives/good/oci-two-images.tar.gz"), O_RDONLY | O_CLOEXEC);
        int p[2];
        pid_t pid;
        int r;

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char buf[512];
                ssize_t n;

                close(p[0]);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (write(p[1], buf, (size_t)n) != n)
                                _exit(1);
                _exit(0);
        }
        close(p[1]);
        r = mx_images_load(s, p[0], NULL, &loaded, &err);
        close(p[0]);
        ASSERT_OK_E(r, err);
        ASSERT_EQ(mx_strv_length(loaded), 2);
        ASSERT_STREQ(loaded[1], "example.com/multi:two");
}

MX_TEST(load_selects_platform_from_index)
{
        cleanup(mx_store_freep) mx_store *s = open_store("st");
        cleanup(mx_store_freep) mx_store *s2 = open_store("st2");
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rec2 = NULL;
        mx_images_load_opts o = MX_IMAGES_LOAD_OPTS_INIT;
        char **loaded = NULL;

        o.platform = "linux/amd64";
        ASSERT_OK_E(mx_images_load_path(s, mx_tap_data("data/archives/good/oci-multi-platform.tar"),
                                        &o, &loaded, &err),
                    err);
        ASSERT_STREQ(loaded[0], "example.com/multi-arch:1");
        mx_images_strv_free(loaded);
        ASSERT_OK(mx_store_image_get(s, "example.com/multi-arch:1", &rec, NULL));
        ASSERT_STREQ(rec->architecture, "amd64");
        o.platform = "linux/arm64";
        ASSERT_OK_E(mx_images_load_path(s2,
                                        mx_tap_data("data/archives/good/oci-multi-platform.tar"),
                                        &o, &loaded, &err),
                    err);
        mx_images_strv_free(loaded);
        ASSERT_OK(mx_store_image_get(s2, "example.com/multi-arch:1", &rec2, NULL));
        ASSERT_STREQ(rec2->architecture, "arm64");
        ASSERT_TRUE(strcmp(rec->id, rec2->id) != 0);
        o.platform = "linux/s390x";
        ASSERT_ERR(mx_images_load_path(s2, mx_tap_data("data/archives/good/oci-multi-platform.tar"),
                                       &o, &loaded, &err),
                   MX_ENOTFOUND);
}
