/* SPDX-License-Identifier: Apache-2.0 */
/* Maintenance: gc, check (and repair), df, prune, and gc's lock against live writers. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "fs.h"
#include "store-test-util.h"
#include "strv.h"

static const char *const L2[] = {"base", "app"};

static int blob_exists(mx_store *s, const char *digest)
{
        char *p = NULL;
        int r;

        ASSERT_OK(mx_store_blob_path(s, digest, &p, NULL));
        r = mx_fs_exists(p);
        free(p);
        return r;
}

static void write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
        close(fd);
}

static mx_store_check_report *check(mx_store *s, int repair)
{
        mx_store_check_report *rep = NULL;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_store_check(s, repair, &rep, &err), err);
        MX_STRV_FOREACH (p, rep->problems)
                printf("# problem: %s\n", p);
        MX_STRV_FOREACH (g, rep->garbage)
                printf("# garbage: %s\n", g);
        MX_STRV_FOREACH (g, rep->repaired)
                printf("# repaired: %s\n", g);
        return rep;
}

MX_TEST(gc_keeps_registered_and_removes_unregistered)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF], loose[MX_DIGEST_BUF], *tmpf = NULL, *layer = NULL;
        mx_store_gc_report rep;
        mx_image_record *got = NULL;

        test_add_image(s, "keep", L2, 2, (const char *[]){"keep:1", NULL}, id);
        test_put(s, "nobody references me", loose);
        mx_store_release(s); /* the writer is done; the loose blob is garbage now */
        /* a temp file and a stray layer directory */
        ASSERT_OK(mx_store_tmp_path(s, "junk", &tmpf, NULL));
        write_file(tmpf, "junk");
        mx_store_release(s);
        ASSERT_OK(mx_store_layer_dir(
                s, "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
                &layer, NULL));
        ASSERT_EQ(mkdir(layer, 0755), 0);

        ASSERT_OK(mx_store_gc(s, &rep, NULL));
        ASSERT_EQ(rep.blobs_removed, 1);
        ASSERT_EQ(rep.bytes_freed, strlen("nobody references me"));
        ASSERT_EQ(rep.tmp_removed, 1);
        ASSERT_EQ(rep.layers_removed, 1);
        ASSERT_EQ(blob_exists(s, loose), 0);
        ASSERT_EQ(mx_fs_exists(tmpf), 0);
        ASSERT_EQ(mx_fs_exists(layer), 0);
        /* everything of the image is still there */
        ASSERT_OK(mx_store_image_get(s, id, &got, NULL));
        ASSERT_EQ(blob_exists(s, got->manifest_digest), 1);
        ASSERT_EQ(blob_exists(s, got->id), 1);
        for (size_t i = 0; i < got->n_layers; i++)
                ASSERT_EQ(blob_exists(s, got->layers[i].digest), 1);
        mx_image_record_free(got);
        /* a second run finds nothing */
        ASSERT_OK(mx_store_gc(s, &rep, NULL));
        ASSERT_EQ(rep.blobs_removed + rep.tmp_removed + rep.layers_removed, 0);
        free(tmpf);
        free(layer);
        mx_store_free(s);
}

/* Another handle (as another process would) holds unregistered blobs: gc must wait. */
MX_TEST(gc_waits_for_writer_in_another_handle)
{
        mx_store *w = test_store_open("st");
        mx_store *g = NULL;
        mx_image_record *rec = NULL;
        mx_error *err = NULL;
        char loose[MX_DIGEST_BUF];

        ASSERT_OK(mx_store_open(&g, mx_store_root(w), NULL));
        mx_store__set_lock_timeout(g, 200);
        rec = test_image_record(w, "pending", L2, 2, 1); /* blobs written, not registered */
        test_put(w, "unregistered but in progress", loose);
        ASSERT_ERR(mx_store__lock_exclusive(g, 200, &err), MX_EBUSY);
        ASSERT_TRUE(test_msg_has(err, "being written"));
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_check(g, 1, &(mx_store_check_report *){NULL}, &err), MX_EBUSY);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_store_gc(g, NULL, &err), MX_EBUSY);
        ASSERT_EQ(err->domain, MX_D_STORE);
        ASSERT_TRUE(test_msg_has(err, "collect garbage"));
        mx_error_free(err);
        err = NULL;
        /* the writer registers its image and lets go */
        ASSERT_OK(mx_store_image_add(w, rec, NULL, NULL));
        ASSERT_OK(mx_store_gc(g, NULL, NULL));
        ASSERT_EQ(blob_exists(g, rec->manifest_digest), 1);
        ASSERT_EQ(blob_exists(g, rec->layers[1].digest), 1);
        ASSERT_EQ(blob_exists(g, loose), 0); /* this one nobody registered */
        mx_image_record_free(rec);
        mx_store_free(g);
        mx_store_free(w);
}

/* The same with a real second process that registers after a delay. */
MX_TEST(gc_waits_for_writer_process)
{
        mx_store *s = test_store_open("st");
        char root[1024];
        int ready[2];
        pid_t pid;
        int status = 0;
        char c;

        snprintf(root, sizeof(root), "%s", mx_store_root(s));
        mx_store_free(s);
        ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                mx_store *cs = NULL;
                mx_image_record *rec;
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 500 * 1000000L};

                close(ready[0]);
                if (mx_store_open(&cs, root, NULL) < 0)
                        _exit(2);
                rec = test_image_record(cs, "slow", L2, 2, 1);
                if (write(ready[1], "x", 1) != 1)
                        _exit(3);
                nanosleep(&ts, NULL); /* gc starts meanwhile and must wait */
                if (mx_store_image_add(cs, rec, (const char *[]){"slow:1", NULL}, NULL) < 0)
                        _exit(4);
                mx_image_record_free(rec);
                mx_store_free(cs);
                _exit(0);
        }
        close(ready[1]);
        ASSERT_EQ(read(ready[0], &c, 1), 1);
        close(ready[0]);
        s = NULL;
        ASSERT_OK(mx_store_open(&s, root, NULL));
        ASSERT_OK(mx_store_gc(s, NULL, NULL));
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        {
                mx_store_check_report *rep = check(s, 0);

                ASSERT_EQ(rep->n_problems, 0);
                ASSERT_EQ(rep->n_garbage, 0);
                mx_store_check_report_free(rep);
        }
        {
                mx_image_record *got = NULL;

                ASSERT_OK(mx_store_image_get(s, "slow:1", &got, NULL));
                mx_image_record_free(got);
        }
        mx_store_free(s);
}

MX_TEST(check_clean_store_and_garbage_is_not_a_problem)
{
        mx_store *s = test_store_open("st");
        mx_store_check_report *rep;
        char loose[MX_DIGEST_BUF], *tmpf = NULL;

        test_add_image(s, "c", L2, 2, (const char *[]){"c:1", NULL}, NULL);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 0);
        ASSERT_EQ(rep->n_garbage, 0);
        ASSERT_NULL(rep->problems[0]);
        ASSERT_NULL(rep->repaired[0]);
        mx_store_check_report_free(rep);

        test_put(s, "loose", loose);
        ASSERT_OK(mx_store_tmp_path(s, "t", &tmpf, NULL));
        write_file(tmpf, "partial");
        mx_store_release(s);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 0);
        ASSERT_EQ(rep->n_garbage, 2);
        mx_store_check_report_free(rep);
        /* repair collects it */
        rep = check(s, 1);
        ASSERT_EQ(rep->n_problems, 0);
        ASSERT_EQ(mx_strv_length(rep->repaired), 1);
        mx_store_check_report_free(rep);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_garbage, 0);
        mx_store_check_report_free(rep);
        free(tmpf);
        mx_store_free(s);
}

MX_TEST(check_detects_corrupt_blob_and_repair_fixes)
{
        mx_store *s = test_store_open("st");
        char bad[MX_DIGEST_BUF], good[MX_DIGEST_BUF], *path = NULL;
        mx_image_record *got = NULL;
        mx_store_check_report *rep;

        test_add_image(s, "bad", L2, 2, (const char *[]){"bad:1", NULL}, bad);
        test_add_image(s, "good", (const char *[]){"base"}, 1, (const char *[]){"good:1", NULL},
                       good);
        ASSERT_OK(mx_store_image_get(s, bad, &got, NULL));
        /* corrupt the layer only "bad" uses */
        ASSERT_OK(mx_store_blob_path(s, got->layers[1].digest, &path, NULL));
        write_file(path, "flipped bits");
        free(path);
        path = NULL;

        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 1);
        ASSERT_TRUE(strstr(rep->problems[0], "corrupt") != NULL);
        ASSERT_TRUE(strstr(rep->problems[0], got->layers[1].digest) != NULL);
        ASSERT_TRUE(strstr(rep->problems[0], bad) != NULL);
        mx_store_check_report_free(rep);

        rep = check(s, 1);
        ASSERT_EQ(rep->n_problems, 1); /* what was found */
        ASSERT_TRUE(mx_strv_length(rep->repaired) >= 2);
        mx_store_check_report_free(rep);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 0);
        ASSERT_EQ(rep->n_garbage, 0);
        mx_store_check_report_free(rep);
        /* the corrupt image is gone, its tag too; the good one and the shared base stay */
        ASSERT_EQ(test_image_get_rc(s, bad), MX_ENOTFOUND);
        ASSERT_ERR(mx_store_image_resolve(s, "bad:1", &path, NULL), MX_ENOTFOUND);
        ASSERT_EQ(blob_exists(s, got->layers[1].digest), 0);
        ASSERT_EQ(blob_exists(s, got->layers[0].digest), 1);
        ASSERT_EQ(blob_exists(s, good), 1);
        mx_image_record_free(got);
        mx_store_free(s);
}

MX_TEST(check_detects_missing_blob_and_layer_dir)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF], *path = NULL, *dir = NULL;
        mx_image_record *got = NULL;
        mx_store_check_report *rep;

        test_add_image(s, "miss", L2, 2, (const char *[]){"miss:1", NULL}, id);
        ASSERT_OK(mx_store_image_get(s, id, &got, NULL));
        /* a layer marked unpacked whose directory vanished */
        ASSERT_OK(mx_store_layer_dir(s, got->layers[0].chain_id, &dir, NULL));
        ASSERT_EQ(mkdir(dir, 0755), 0);
        ASSERT_OK(mx_store_layer_set_unpacked(s, got->layers[0].chain_id, 5, NULL));
        ASSERT_EQ(rmdir(dir), 0);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 1);
        ASSERT_TRUE(strstr(rep->problems[0], "marked unpacked") != NULL);
        mx_store_check_report_free(rep);
        rep = check(s, 1);
        mx_store_check_report_free(rep);
        ASSERT_EQ(mx_store_layer_is_unpacked(s, got->layers[0].chain_id, NULL), 0);
        /* the image stays: its blobs are fine */
        ASSERT_EQ(test_image_get_rc(s, id), 0);

        /* now a missing manifest */
        ASSERT_OK(mx_store_blob_path(s, got->manifest_digest, &path, NULL));
        ASSERT_EQ(unlink(path), 0);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 1);
        ASSERT_TRUE(strstr(rep->problems[0], "missing") != NULL);
        mx_store_check_report_free(rep);
        rep = check(s, 1);
        mx_store_check_report_free(rep);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 0);
        ASSERT_EQ(rep->n_garbage, 0);
        mx_store_check_report_free(rep);
        ASSERT_EQ(test_image_get_rc(s, id), MX_ENOTFOUND);
        /* everything of it was collected */
        ASSERT_EQ(blob_exists(s, got->layers[0].digest), 0);
        free(path);
        free(dir);
        mx_image_record_free(got);
        mx_store_free(s);
}

MX_TEST(check_detects_bad_rows)
{
        mx_store *s = test_store_open("st");
        char id[MX_DIGEST_BUF];
        mx_store_check_report *rep;
        sqlite3 *db;

        test_add_image(s, "rows", L2, 2, (const char *[]){"rows:1", NULL}, id);
        db = mx_store__db(s);
        /* damage the database behind the schema's back */
        ASSERT_EQ(sqlite3_exec(db,
                               "PRAGMA foreign_keys = OFF;"
                               "INSERT INTO tags VALUES ('docker.io/library/ghost:1', "
                               "'sha256:0000000000000000000000000000000000000000000000000000000000"
                               "000000', 1);"
                               "INSERT INTO layers (chain_id, diff_id) VALUES ('sha256:1111111111"
                               "111111111111111111111111111111111111111111111111111111', "
                               "'sha256:1111111111111111111111111111111111111111111111111111111111"
                               "111111');"
                               "UPDATE images SET mounts = -3;"
                               "PRAGMA foreign_keys = ON;",
                               NULL, NULL, NULL),
                  SQLITE_OK);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 3);
        mx_store_check_report_free(rep);
        rep = check(s, 1);
        mx_store_check_report_free(rep);
        rep = check(s, 0);
        ASSERT_EQ(rep->n_problems, 0);
        mx_store_check_report_free(rep);
        ASSERT_EQ(test_image_get_rc(s, "rows:1"), 0);
        mx_store_free(s);
}

MX_TEST(df_counts_images_and_layers)
{
        mx_store *s = test_store_open("st");
        mx_store_df_report df;
        mx_image_record *got = NULL;
        char a[MX_DIGEST_BUF], *dir = NULL;
        uint64_t expect;
        mx_error *err = NULL;

        memset(&df, 0xff, sizeof(df));
        ASSERT_OK(mx_store_df(s, &df, NULL));
        ASSERT_EQ(df.images.total, 0);
        ASSERT_EQ(df.images.size, 0);
        test_add_image(s, "dfa", L2, 2, (const char *[]){"a:1", NULL}, a);
        test_add_image(s, "dfb", (const char *[]){"base"}, 1, NULL, NULL);
        ASSERT_OK(mx_store_image_mount_ref(s, a, 1, NULL, NULL));
        ASSERT_OK(mx_store_image_get(s, a, &got, NULL));
        ASSERT_OK(mx_store_layer_dir(s, got->layers[0].chain_id, &dir, NULL));
        ASSERT_EQ(mkdir(dir, 0755), 0);
        ASSERT_OK(mx_store_layer_set_unpacked(s, got->layers[0].chain_id, 1000, NULL));
        ASSERT_OK(mx_store_df(s, &df, NULL));
        ASSERT_EQ(df.images.total, 2);
        ASSERT_EQ(df.images.active, 1);
        /* unique blobs: 2 manifests, 2 configs, layers base + app */
        expect = strlen("manifest:dfa") + strlen("manifest:dfb") + strlen("config:dfa") +
                 strlen("config:dfb") + strlen("layer:base") + strlen("layer:app");
        ASSERT_EQ(df.images.size, expect);
        /* b's own blobs are reclaimable; the shared base is not */
        ASSERT_EQ(df.images.reclaimable, strlen("manifest:dfb") + strlen("config:dfb"));
        ASSERT_EQ(df.layers.total, 1);
        ASSERT_EQ(df.layers.active, 1);
        ASSERT_EQ(df.layers.size, 1000);
        ASSERT_EQ(df.layers.reclaimable, 0);
        ASSERT_EQ(df.containers.total, 0);
        /* an image a container (any table with a foreign key on images) uses is active */
        {
                char sql[300];
                mx_image_record *b = test_image_record(s, "dfb", (const char *[]){"base"}, 1, 0);

                ASSERT_EQ(sqlite3_exec(mx_store__db(s),
                                       "CREATE TABLE t_ctr (id TEXT, img TEXT REFERENCES "
                                       "images(id))",
                                       NULL, NULL, NULL),
                          SQLITE_OK);
                snprintf(sql, sizeof(sql), "INSERT INTO t_ctr VALUES ('c1', '%s')", b->id);
                ASSERT_EQ(sqlite3_exec(mx_store__db(s), sql, NULL, NULL, NULL), SQLITE_OK);
                mx_image_record_free(b);
                ASSERT_OK(mx_store_df(s, &df, NULL));
                ASSERT_EQ(df.images.active, 2);
                ASSERT_EQ(df.images.reclaimable, 0);
        }
        ASSERT_ERR(mx_store_df(s, NULL, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_STORE);
        mx_error_free(err);
        free(dir);
        mx_image_record_free(got);
        mx_store_free(s);
}

MX_TEST(prune_dangling_then_all)
{
        mx_store *s = test_store_open("st");
        char tagged[MX_DIGEST_BUF], dangling[MX_DIGEST_BUF], mounted[MX_DIGEST_BUF];
        mx_store_prune_report *rep = NULL;
        mx_error *err = NULL;

        test_add_image(s, "tagged", L2, 2, (const char *[]){"t:1", NULL}, tagged);
        test_add_image(s, "dangling", (const char *[]){"solo"}, 1, NULL, dangling);
        test_add_image(s, "mounted", NULL, 0, NULL, mounted);
        ASSERT_OK(mx_store_image_mount_ref(s, mounted, 1, NULL, NULL));
        /* one more, tagged and used by a "container" row: prune -a skips it */
        {
                char used[MX_DIGEST_BUF], sql[300];

                test_add_image(s, "used", NULL, 0, (const char *[]){"used:1", NULL}, used);
                ASSERT_EQ(sqlite3_exec(mx_store__db(s),
                                       "CREATE TABLE t_ctr (img TEXT REFERENCES images(id))", NULL,
                                       NULL, NULL),
                          SQLITE_OK);
                snprintf(sql, sizeof(sql), "INSERT INTO t_ctr VALUES ('%s')", used);
                ASSERT_EQ(sqlite3_exec(mx_store__db(s), sql, NULL, NULL, NULL), SQLITE_OK);
        }

        ASSERT_OK_E(mx_store_prune(s, 0, &rep, &err), err);
        ASSERT_EQ(mx_strv_length(rep->deleted), 1);
        ASSERT_STREQ(rep->deleted[0], dangling);
        ASSERT_EQ(mx_strv_length(rep->untagged), 0);
        ASSERT_EQ(rep->reclaimed,
                  strlen("manifest:dangling") + strlen("config:dangling") + strlen("layer:solo"));
        ASSERT_EQ(rep->gc.rows_pruned, 1);
        mx_store_prune_report_free(rep);
        rep = NULL;

        ASSERT_OK(mx_store_prune(s, 1, &rep, NULL));
        ASSERT_EQ(mx_strv_length(rep->deleted), 1); /* the mounted one stays */
        ASSERT_STREQ(rep->deleted[0], tagged);
        ASSERT_EQ(mx_strv_length(rep->untagged), 1);
        ASSERT_STREQ(rep->untagged[0], "t:1");
        mx_store_prune_report_free(rep);
        rep = NULL;
        ASSERT_EQ(test_image_get_rc(s, mounted), 0);
        ASSERT_EQ(test_image_get_rc(s, "used:1"), 0); /* untouched, tag included */
        ASSERT_ERR(mx_store_prune(s, 0, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        {
                mx_store_check_report *c = check(s, 0);

                ASSERT_EQ(c->n_problems, 0);
                ASSERT_EQ(c->n_garbage, 0);
                mx_store_check_report_free(c);
        }
        mx_store_free(s);
}
