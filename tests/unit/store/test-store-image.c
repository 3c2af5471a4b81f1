/* SPDX-License-Identifier: Apache-2.0 */
/* Image records: add, resolve, get, list, tag, untag, remove, mounts, layers. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <myrmex/store.h>

#include "fs.h"
#include "store-test-util.h"
#include "strv.h"

static const char *const L2[] = {"base", "app"};
static const char *const L1[] = {"base"};

MX_TEST(chain_ids_follow_oci)
{
        char out[MX_DIGEST_BUF], expect[MX_DIGEST_BUF], text[300];
        const char *d0 = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        mx_error *err = NULL;

        ASSERT_OK(mx_store_chain_id(NULL, d0, out, NULL));
        ASSERT_STREQ(out, d0);
        ASSERT_OK(mx_store_chain_id(d0, d1, out, NULL));
        snprintf(text, sizeof(text), "%s %s", d0, d1);
        mx_digest_data(MX_DIGEST_SHA256, text, strlen(text), expect);
        ASSERT_STREQ(out, expect);
        ASSERT_ERR(mx_store_chain_id(d0, "sha256:bad", out, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
}

MX_TEST(add_get_records_everything)
{
        mx_store *s = test_store_open("st");
        mx_image_record *rec = test_image_record(s, "one", L2, 2, 1), *got = NULL;
        const char *tags[] = {"busybox", "example.com/x/y:2", NULL};
        char chain1[MX_DIGEST_BUF];
        mx_error *err = NULL;

        ASSERT_OK_E(mx_store_image_add(s, rec, tags, &err), err);
        ASSERT_OK_E(mx_store_image_get(s, rec->id, &got, &err), err);
        ASSERT_STREQ(got->id, rec->id);
        ASSERT_STREQ(got->manifest_digest, rec->manifest_digest);
        ASSERT_STREQ(got->manifest_media_type, rec->manifest_media_type);
        ASSERT_EQ(got->config_size, rec->config_size);
        ASSERT_EQ(got->size, rec->size);
        ASSERT_STREQ(got->created, "2024-01-02T03:04:05Z");
        ASSERT_STREQ(got->os, "linux");
        ASSERT_STREQ(got->architecture, "amd64");
        ASSERT_NULL(got->variant);
        ASSERT_TRUE(got->added > 0);
        ASSERT_EQ(got->mounts, 0);
        ASSERT_EQ(got->n_layers, 2);
        for (size_t i = 0; i < 2; i++) {
                ASSERT_STREQ(got->layers[i].digest, rec->layers[i].digest);
                ASSERT_STREQ(got->layers[i].diff_id, rec->layers[i].diff_id);
                ASSERT_STREQ(got->layers[i].media_type, rec->layers[i].media_type);
                ASSERT_EQ(got->layers[i].size, rec->layers[i].size);
                ASSERT_EQ(got->layers[i].uncompressed_size, -1);
        }
        ASSERT_STREQ(got->layers[0].chain_id, rec->layers[0].diff_id);
        ASSERT_OK(mx_store_chain_id(rec->layers[0].diff_id, rec->layers[1].diff_id, chain1, NULL));
        ASSERT_STREQ(got->layers[1].chain_id, chain1);
        ASSERT_EQ(mx_strv_length(got->tags), 2);
        ASSERT_STREQ(got->tags[0], "docker.io/library/busybox:latest");
        ASSERT_STREQ(got->tags[1], "example.com/x/y:2");
        mx_image_record_free(got);

        /* idempotent: adding again only adds tags */
        {
                const char *more[] = {"busybox:2", NULL};

                ASSERT_OK(mx_store_image_add(s, rec, more, NULL));
                ASSERT_OK(mx_store_image_get(s, "busybox:2", &got, NULL));
                ASSERT_EQ(mx_strv_length(got->tags), 3);
                mx_image_record_free(got);
        }
        mx_image_record_free(rec);
        mx_store_free(s);
}

MX_TEST(add_refuses_missing_blobs_and_bad_records)
{
        mx_store *s = test_store_open("st");
        mx_image_record *rec = test_image_record(s, "ghost", L2, 2, 0), *got = NULL;
        mx_error *err = NULL;
        char *keep, nothex[] = "sha256:nothex";

        ASSERT_ERR(mx_store_image_add(s, rec, NULL, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "manifest blob"));
        ASSERT_TRUE(test_msg_has(err, rec->manifest_digest));
        /* the public entry point wraps: "add image 'id': manifest blob ... is not in the store" */
        ASSERT_TRUE(strstr(err->message, "add image") != NULL);
        ASSERT_NOT_NULL(err->cause);
        ASSERT_EQ(err->cause->code, MX_ENOTFOUND);
        ASSERT_EQ(err->cause->domain, MX_D_STORE);
        mx_error_free(err);
        err = NULL;
        /* with manifest and config present, the first missing layer is named */
        test_put(s, "manifest:ghost", (char[MX_DIGEST_BUF]){0});
        test_put(s, "config:ghost", (char[MX_DIGEST_BUF]){0});
        ASSERT_ERR(mx_store_image_add(s, rec, NULL, &err), MX_ENOTFOUND);
        ASSERT_TRUE(test_msg_has(err, "layer blob"));
        ASSERT_TRUE(test_msg_has(err, rec->layers[0].digest));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_get(s, rec->id, &got, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;

        /* an invalid layer digest */
        keep = rec->layers[1].diff_id;
        rec->layers[1].diff_id = nothex;
        ASSERT_ERR(mx_store_image_add(s, rec, NULL, &err), MX_EINVAL);
        ASSERT_TRUE(test_msg_has(err, "diff ID"));
        rec->layers[1].diff_id = keep;
        mx_error_free(err);
        err = NULL;
        /* a bad reference */
        {
                const char *bad[] = {"UPPER", NULL};
                const char *dig[] = {
                        "x@sha256:"
                        "0000000000000000000000000000000000000000000000000000000000000000",
                        NULL};

                for (size_t i = 0; i < 2; i++)
                        test_put(s, i ? "layer:app" : "layer:base", (char[MX_DIGEST_BUF]){0});
                ASSERT_ERR(mx_store_image_add(s, rec, bad, &err), MX_EINVAL);
                ASSERT_EQ(err->domain, MX_D_STORE);
                ASSERT_TRUE(test_chain_has_domain(err, MX_D_IMAGE));
                mx_error_free(err);
                err = NULL;
                ASSERT_ERR(mx_store_image_add(s, rec, dig, &err), MX_EINVAL);
                ASSERT_TRUE(test_msg_has(err, "digest reference"));
                mx_error_free(err);
                err = NULL;
                /* nothing was recorded */
                ASSERT_ERR(mx_store_image_get(s, rec->id, &got, NULL), MX_ENOTFOUND);
        }
        ASSERT_ERR(mx_store_image_add(s, NULL, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        mx_image_record_free(rec);
        mx_store_free(s);
}

MX_TEST(resolve_names_ids_and_prefixes)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF], *out = NULL, prefix[32];
        const char *tags[] = {"busybox:1", NULL};
        mx_image_record *rec = NULL;
        mx_error *err = NULL;

        test_add_image(s, "r1", L1, 1, tags, id);
        rec = test_image_record(s, "r1", L1, 1, 0);

        const char *ok[] = {"busybox:1", "docker.io/library/busybox:1", "library/busybox:1", id,
                            id + 7};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                printf("# %s\n", ok[i]);
                ASSERT_OK_E(mx_store_image_resolve(s, ok[i], &out, &err), err);
                ASSERT_STREQ(out, id);
                free(out);
                out = NULL;
        }
        /* unique prefixes, with and without sha256: */
        snprintf(prefix, sizeof(prefix), "%.12s", id + 7);
        ASSERT_OK(mx_store_image_resolve(s, prefix, &out, NULL));
        ASSERT_STREQ(out, id);
        free(out);
        snprintf(prefix, sizeof(prefix), "sha256:%.3s", id + 7);
        ASSERT_OK(mx_store_image_resolve(s, prefix, &out, NULL));
        ASSERT_STREQ(out, id);
        free(out);
        out = NULL;
        /* by manifest digest */
        {
                char ref[300];

                snprintf(ref, sizeof(ref), "busybox@%s", rec->manifest_digest);
                ASSERT_OK(mx_store_image_resolve(s, ref, &out, NULL));
                ASSERT_STREQ(out, id);
                free(out);
                out = NULL;
        }

        /* misses name what was asked */
        ASSERT_ERR(mx_store_image_resolve(s, "busybox", &out, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "no such image 'busybox'"));
        ASSERT_NULL(out);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_resolve(s, "sha256:ffff", &out, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_resolve(s, "BAD NAME", &out, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_chain_has_domain(err, MX_D_IMAGE));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_resolve(s, "", &out, &err), MX_EINVAL);
        mx_error_free(err);
        mx_image_record_free(rec);
        mx_store_free(s);
}

/* Find two images whose IDs share a first hex digit, to test ambiguity. */
MX_TEST(resolve_ambiguous_prefix_and_names_first)
{
        mx_store *s = test_store_open("st");
        char ids[40][MX_DIGEST_BUF], name[32], *out = NULL, prefix[16];
        mx_error *err = NULL;
        int a = -1, b = -1;

        for (int i = 0; i < 40 && a < 0; i++) {
                snprintf(name, sizeof(name), "amb%d", i);
                test_add_image(s, name, NULL, 0, NULL, ids[i]);
                for (int j = 0; j < i; j++) {
                        if (ids[i][7] == ids[j][7]) {
                                a = j;
                                b = i;
                                break;
                        }
                }
        }
        ASSERT_TRUE(a >= 0);
        snprintf(prefix, sizeof(prefix), "%c", ids[a][7]);
        ASSERT_ERR(mx_store_image_resolve(s, prefix, &out, &err), MX_EAMBIGUOUS);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "ambiguous"));
        mx_error_free(err);
        err = NULL;
        /* a name that looks like a prefix wins over the prefix */
        ASSERT_OK(mx_store_tag(s, ids[b], prefix, NULL));
        ASSERT_OK(mx_store_image_resolve(s, prefix, &out, NULL));
        ASSERT_STREQ(out, ids[b]);
        free(out);
        mx_store_free(s);
}

MX_TEST(tag_moves_and_leaves_dangling)
{
        mx_store *s = test_store_open("st");
        char a[MX_DIGEST_BUF], b[MX_DIGEST_BUF], *out = NULL;
        const char *ta[] = {"app:1", NULL};
        mx_image_record *got = NULL;
        mx_error *err = NULL;

        test_add_image(s, "a", L1, 1, ta, a);
        test_add_image(s, "b", L2, 2, NULL, b);
        ASSERT_OK(mx_store_tag(s, b, "app:1", NULL)); /* moves */
        ASSERT_OK(mx_store_image_resolve(s, "app:1", &out, NULL));
        ASSERT_STREQ(out, b);
        free(out);
        ASSERT_OK(mx_store_image_get(s, a, &got, NULL));
        ASSERT_NOT_NULL(got->tags);
        ASSERT_NULL(got->tags[0]); /* dangling, still there */
        mx_image_record_free(got);
        ASSERT_OK(mx_store_tag(s, "app:1", "other/app:latest", NULL));
        ASSERT_OK(mx_store_image_get(s, b, &got, NULL));
        ASSERT_EQ(mx_strv_length(got->tags), 2);
        mx_image_record_free(got);

        ASSERT_ERR(mx_store_tag(s, "nope", "x:1", &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_tag(s, b, "Bad:1", &err), MX_EINVAL);
        ASSERT_TRUE(test_chain_has_domain(err, MX_D_IMAGE));
        mx_error_free(err);
        err = NULL;

        ASSERT_OK(mx_store_untag(s, "docker.io/other/app", NULL));
        ASSERT_ERR(mx_store_untag(s, "other/app", &err), MX_ENOTFOUND);
        ASSERT_TRUE(test_msg_has(err, "no such tag 'other/app'"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_untag(s, "-x", &err), MX_EINVAL);
        mx_error_free(err);
        /* the image stays after untag */
        ASSERT_OK(mx_store_image_get(s, b, &got, NULL));
        mx_image_record_free(got);
        mx_store_free(s);
}

MX_TEST(list_newest_first)
{
        mx_store *s = test_store_open("st");
        mx_image_record *r1 = test_image_record(s, "old", L1, 1, 1);
        mx_image_record *r2 = test_image_record(s, "new", L2, 2, 1);
        mx_image_record **list = NULL;
        size_t n = 99;

        ASSERT_OK(mx_store_image_list(s, &list, &n, NULL));
        ASSERT_EQ(n, 0);
        ASSERT_NULL(list);
        free(r1->created);
        r1->created = test_strdup("2020-01-01T00:00:00Z");
        free(r2->created);
        r2->created = test_strdup("2023-01-01T00:00:00Z");
        ASSERT_OK(mx_store_image_add(s, r1, NULL, NULL));
        ASSERT_OK(mx_store_image_add(s, r2, (const char *[]){"n:1", NULL}, NULL));
        ASSERT_OK(mx_store_image_list(s, &list, &n, NULL));
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(list[0]->id, r2->id);
        ASSERT_STREQ(list[1]->id, r1->id);
        ASSERT_EQ(list[0]->n_layers, 2);
        ASSERT_STREQ(list[0]->tags[0], "docker.io/library/n:1");
        mx_image_record_list_free(list, n);
        mx_image_record_free(r1);
        mx_image_record_free(r2);
        mx_store_free(s);
}

MX_TEST(remove_by_tag_then_last_tag_deletes)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF], *path = NULL;
        const char *tags[] = {"a:1", "a:2", NULL};
        char **untagged = NULL, **deleted = NULL;
        mx_image_record *rec = test_image_record(s, "rm", L2, 2, 0);
        mx_error *err = NULL;

        test_add_image(s, "rm", L2, 2, tags, id);
        ASSERT_OK(mx_store_image_remove(s, "a:1", 0, &untagged, &deleted, NULL));
        ASSERT_EQ(mx_strv_length(untagged), 1);
        ASSERT_STREQ(untagged[0], "a:1");
        ASSERT_EQ(mx_strv_length(deleted), 0);
        mx_strv_free(untagged);
        mx_strv_free(deleted);
        ASSERT_OK(mx_store_image_remove(s, "a:2", 0, &untagged, &deleted, NULL));
        ASSERT_STREQ(untagged[0], "a:2");
        ASSERT_EQ(mx_strv_length(deleted), 3); /* the image and its two layers */
        ASSERT_STREQ(deleted[0], id);
        mx_strv_free(untagged);
        mx_strv_free(deleted);
        ASSERT_EQ(test_image_get_rc(s, id), MX_ENOTFOUND);
        /* no one was writing: the files went right away */
        ASSERT_OK(mx_store_blob_path(s, rec->layers[0].digest, &path, NULL));
        ASSERT_EQ(mx_fs_exists(path), 0);
        free(path);
        ASSERT_EQ(mx_store_blob_has(s, id, NULL), 0);
        ASSERT_ERR(mx_store_image_remove(s, "a:2", 0, NULL, NULL, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        mx_image_record_free(rec);
        mx_store_free(s);
}

MX_TEST(remove_by_id_rules)
{
        mx_store *s = test_store_open("st");
        char one[MX_DIGEST_BUF], multi[MX_DIGEST_BUF], shared[MX_DIGEST_BUF];
        const char *t1[] = {"same:1", "same:2", NULL};
        const char *t2[] = {"repo1:1", "repo2:1", NULL};
        char **untagged = NULL, **deleted = NULL;
        mx_image_record *got = NULL;
        mx_error *err = NULL;

        test_add_image(s, "one", L1, 1, t1, one);
        test_add_image(s, "multi", L2, 2, t2, multi);
        test_add_image(s, "shared", L1, 1, NULL, shared); /* shares layer "base" */

        /* tags all in one repository: removed with the image */
        ASSERT_OK(mx_store_image_remove(s, one + 7, 0, &untagged, &deleted, NULL));
        ASSERT_EQ(mx_strv_length(untagged), 2);
        ASSERT_EQ(mx_strv_length(deleted), 1); /* base is still used by multi and shared */
        mx_strv_free(untagged);
        mx_strv_free(deleted);

        /* several repositories: refused without force */
        ASSERT_ERR(mx_store_image_remove(s, multi, 0, NULL, NULL, &err), MX_EBUSY);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "must be forced"));
        ASSERT_TRUE(test_msg_has(err, "-f"));
        mx_error_free(err);
        err = NULL;
        ASSERT_OK(mx_store_image_get(s, multi, &got, NULL));
        ASSERT_EQ(mx_strv_length(got->tags), 2);
        mx_image_record_free(got);
        ASSERT_OK(mx_store_image_remove(s, multi, 1, &untagged, &deleted, NULL));
        ASSERT_EQ(mx_strv_length(untagged), 2);
        ASSERT_EQ(mx_strv_length(deleted), 2); /* image + layer "app" */
        mx_strv_free(untagged);
        mx_strv_free(deleted);

        /* a dangling image by ID */
        ASSERT_OK(mx_store_image_remove(s, shared, 0, NULL, NULL, NULL));
        ASSERT_ERR(mx_store_image_get(s, shared, &got, NULL), MX_ENOTFOUND);
        mx_store_free(s);
}

MX_TEST(remove_refuses_mounted_and_used)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF];
        const char *tags[] = {"m:1", NULL};
        int count = -1;
        mx_error *err = NULL;

        test_add_image(s, "mnt", L1, 1, tags, id);
        ASSERT_OK(mx_store_image_mount_ref(s, "m:1", 1, &count, NULL));
        ASSERT_EQ(count, 1);
        ASSERT_OK(mx_store_image_mount_ref(s, id, 1, &count, NULL));
        ASSERT_EQ(count, 2);
        ASSERT_ERR(mx_store_image_remove(s, "m:1", 0, NULL, NULL, &err), MX_EBUSY);
        ASSERT_TRUE(test_msg_has(err, "mounted"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_remove(s, id, 0, NULL, NULL, &err), MX_EBUSY);
        mx_error_free(err);
        err = NULL;
        ASSERT_OK(mx_store_image_mount_ref(s, id, -1, &count, NULL));
        ASSERT_OK(mx_store_image_mount_ref(s, id, -1, &count, NULL));
        ASSERT_EQ(count, 0);
        ASSERT_ERR(mx_store_image_mount_ref(s, id, -1, &count, &err), MX_EINVAL);
        ASSERT_TRUE(test_msg_has(err, "not mounted"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_mount_ref(s, "nope:1", 1, &count, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;

        /* a table of another module referencing the image blocks removal, even forced */
        ASSERT_EQ(sqlite3_exec(mx_store__db(s),
                               "CREATE TABLE t_users (image_id TEXT REFERENCES images(id));", NULL,
                               NULL, NULL),
                  SQLITE_OK);
        {
                char sql[300];

                snprintf(sql, sizeof(sql), "INSERT INTO t_users VALUES ('%s')", id);
                ASSERT_EQ(sqlite3_exec(mx_store__db(s), sql, NULL, NULL, NULL), SQLITE_OK);
        }
        ASSERT_ERR(mx_store_image_remove(s, id, 0, NULL, NULL, &err), MX_EBUSY);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "in use"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_remove(s, "m:1", 0, NULL, NULL, &err), MX_EBUSY);
        mx_error_free(err);
        err = NULL;
        /* nothing changed: the tag is still there */
        {
                char *out = NULL;

                ASSERT_OK(mx_store_image_resolve(s, "m:1", &out, NULL));
                free(out);
        }
        /* forced: the names go, the image stays for its user, dangling (docker rmi -f) */
        {
                char **untagged = NULL, **deleted = NULL;
                mx_image_record *got = NULL;

                ASSERT_OK_E(mx_store_image_remove(s, "m:1", 1, &untagged, &deleted, &err), err);
                ASSERT_EQ(mx_strv_length(untagged), 1);
                ASSERT_STREQ(untagged[0], "m:1");
                ASSERT_EQ(mx_strv_length(deleted), 0);
                mx_strv_free(untagged);
                mx_strv_free(deleted);
                ASSERT_OK(mx_store_image_get(s, id, &got, NULL));
                ASSERT_NULL(got->tags[0]);
                mx_image_record_free(got);
        }
        /* once the user is gone it can be removed */
        ASSERT_EQ(sqlite3_exec(mx_store__db(s), "DELETE FROM t_users", NULL, NULL, NULL),
                  SQLITE_OK);
        ASSERT_OK(mx_store_image_remove(s, id, 0, NULL, NULL, NULL));
        ASSERT_EQ(test_image_get_rc(s, id), MX_ENOTFOUND);
        mx_store_free(s);
}

MX_TEST(layer_unpacked_marks)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF], *dir = NULL, *tmp = NULL;
        mx_image_record *got = NULL;
        mx_error *err = NULL;

        test_add_image(s, "lay", L2, 2, NULL, id);
        ASSERT_OK(mx_store_image_get(s, id, &got, NULL));
        const char *chain = got->layers[1].chain_id;

        ASSERT_EQ(mx_store_layer_is_unpacked(s, chain, NULL), 0);
        ASSERT_OK(mx_store_layer_dir(s, chain, &dir, NULL));
        ASSERT_TRUE(strstr(dir, "/layers/") != NULL);
        ASSERT_TRUE(strstr(dir, chain + 7) != NULL);
        /* no directory yet */
        ASSERT_ERR(mx_store_layer_set_unpacked(s, chain, 10, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        err = NULL;
        /* the documented dance: tmp, rename, mark */
        ASSERT_OK(mx_store_tmp_path(s, "layer", &tmp, NULL));
        ASSERT_EQ(mkdir(tmp, 0755), 0);
        ASSERT_EQ(rename(tmp, dir), 0);
        ASSERT_OK(mx_store_layer_set_unpacked(s, chain, 1234, NULL));
        ASSERT_EQ(mx_store_layer_is_unpacked(s, chain, NULL), 1);
        mx_store_release(s);

        /* unknown layer row */
        {
                const char *other =
                        "sha256:abababababababababababababababababababababababababababababababab";
                char *odir = NULL;

                ASSERT_OK(mx_store_layer_dir(s, other, &odir, NULL));
                ASSERT_EQ(mkdir(odir, 0755), 0);
                ASSERT_ERR(mx_store_layer_set_unpacked(s, other, 1, &err), MX_ENOTFOUND);
                ASSERT_TRUE(test_msg_has(err, "no layer"));
                mx_error_free(err);
                err = NULL;
                ASSERT_EQ(mx_store_layer_is_unpacked(s, other, NULL), 0);
                free(odir);
        }
        ASSERT_ERR(mx_store_layer_is_unpacked(s, "sha256:x", &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_layer_dir(s, "../x", &tmp, &err), MX_EINVAL);
        mx_error_free(err);
        free(dir);
        free(tmp);
        mx_image_record_free(got);
        mx_store_free(s);
}

MX_TEST(argument_checks)
{
        mx_store *s = test_store_open("st");
        mx_store_blob_writer *w = NULL;
        mx_image_record **list = NULL;
        size_t n = 0;
        mx_error *err = NULL;

        ASSERT_ERR(mx_store_blob_writer_new(&w, NULL, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_NULL(w);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_blob_writer_write(NULL, "x", 1, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_list(NULL, &list, &n, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_list(s, NULL, &n, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_hold(NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_gc(NULL, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_check(s, 0, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_resolve(s, "x", NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_tag(s, "x", NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_image_remove(s, NULL, 0, NULL, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        mx_store_release(NULL);
        mx_image_record_free(NULL);
        mx_image_record_list_free(NULL, 3);
        mx_store_check_report_free(NULL);
        mx_store_prune_report_free(NULL);
        ASSERT_NULL(mx_store_root(NULL));
        mx_store_free(s);
}

/* Sibling modules call the store inside their own transactions. */
MX_TEST(public_calls_nest_in_transactions)
{
        mx_store *s = test_store_open("st"), *other = NULL;
        char id[MX_DIGEST_BUF], *out = NULL;
        mx_image_record *got = NULL, *rec = NULL;
        mx_error *err = NULL;
        sqlite3 *db = mx_store__db(s);

        test_add_image(s, "nest", L1, 1, (const char *[]){"nest:1", NULL}, id);

        /* the store's own begin, rolled back: the inner tag goes with it */
        ASSERT_OK(mx_store__begin_immediate(s, NULL));
        ASSERT_OK_E(mx_store_tag(s, id, "nest:2", &err), err);
        ASSERT_OK(mx_store_image_resolve(s, "nest:2", &out, NULL));
        free(out);
        out = NULL;
        mx_store__rollback(s);
        ASSERT_EQ(mx_store_image_resolve(s, "nest:2", &out, NULL), MX_ENOTFOUND);
        ASSERT_TRUE(sqlite3_get_autocommit(db));

        /* a caller's raw BEGIN: reads and writes work inside, commit with it */
        ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_OK_E(mx_store_image_get(s, "nest:1", &got, &err), err);
        mx_image_record_free(got);
        got = NULL;
        ASSERT_OK(mx_store_tag(s, id, "nest:3", NULL));
        mx_store__rollback(s); /* never touches a transaction it did not open */
        ASSERT_TRUE(!sqlite3_get_autocommit(db));
        /* gc waits for other processes: refused inside a transaction */
        ASSERT_ERR(mx_store_gc(s, NULL, &err), MX_EINVAL);
        ASSERT_TRUE(test_msg_has(err, "inside a database transaction"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_prune(s, 0, &(mx_store_prune_report *){NULL}, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_EQ(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_OK(mx_store_image_resolve(s, "nest:3", &out, NULL));
        ASSERT_STREQ(out, id);
        free(out);
        out = NULL;

        /* image_add inside an open transaction keeps gc away until the outer commit */
        ASSERT_OK(mx_store_open(&other, mx_store_root(s), NULL));
        mx_store__set_lock_timeout(other, 100);
        rec = test_image_record(s, "inner", L2, 2, 1);
        ASSERT_OK(mx_store__begin_immediate(s, NULL));
        ASSERT_OK(mx_store_image_add(s, rec, NULL, NULL));
        ASSERT_OK(mx_store__commit(s, NULL));                 /* the outer one */
        ASSERT_ERR(mx_store_gc(other, NULL, &err), MX_EBUSY); /* still held */
        mx_error_free(err);
        err = NULL;
        mx_store_release(s);
        ASSERT_OK(mx_store_gc(other, NULL, NULL));
        ASSERT_EQ(test_image_get_rc(other, rec->id), 0);
        ASSERT_EQ(mx_store_blob_has(other, rec->layers[1].digest, NULL), 1);
        ASSERT_ERR(mx_store__commit(s, &err), MX_EINVAL); /* nothing open */
        mx_error_free(err);
        mx_image_record_free(rec);
        mx_store_free(other);
        mx_store_free(s);
}
