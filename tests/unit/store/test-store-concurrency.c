/* SPDX-License-Identifier: Apache-2.0 */
/* Many processes on one store: loads, tags, untags, removals and gc at once lose nothing. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "store-test-child.h"
#include "store-test-util.h"
#include "strv.h"

#define N_PROCS  8
#define N_ROUNDS 12

static const char *const BASE[] = {"shared-base"};

/* Child k: tags the two common images, untags every third of its tags, loads its own image
 * (sharing the base layer with everyone), removes it again when k is odd; child 2 also
 * collects garbage in the middle of it all. */
static int child(const char *root, int k, const char *a, const char *b)
{
        mx_store *s = NULL;
        char name[64], ref[64], id[MX_DIGEST_BUF];
        const char *layers[2] = {"shared-base", NULL};
        int r;

        r = mx_store_open(&s, root, NULL);
        if (r < 0)
                return 10;
        for (int i = 0; i < N_ROUNDS; i++) {
                snprintf(ref, sizeof(ref), "c%d:%d", k, i);
                r = mx_store_tag(s, i % 2 ? a : b, ref, NULL);
                if (r < 0)
                        return 11;
                /* everyone also fights over one shared name */
                r = mx_store_tag(s, k % 2 ? a : b, "contended:latest", NULL);
                if (r < 0)
                        return 12;
                if (i % 3 == 0) {
                        r = mx_store_untag(s, ref, NULL);
                        if (r < 0)
                                return 13;
                }
                if (k == 2 && i == N_ROUNDS / 2) {
                        r = mx_store_gc(s, NULL, NULL);
                        if (r < 0)
                                return 14;
                }
        }
        snprintf(name, sizeof(name), "own%d", k);
        snprintf(ref, sizeof(ref), "img%d:v1", k);
        layers[1] = name;
        r = child_add_image(s, name, layers, 2, (const char *[]){ref, NULL}, id);
        if (r < 0)
                return 15;
        if (k % 2) {
                r = mx_store_image_remove(s, ref, 0, NULL, NULL, NULL);
                if (r < 0)
                        return 16;
        }
        mx_store_free(s);
        return 0;
}

MX_TEST(parallel_tag_untag_load_rmi_gc)
{
        mx_store *s = test_store_open("st");
        char a[MX_DIGEST_BUF], b[MX_DIGEST_BUF], root[1024], *out = NULL;
        pid_t pids[N_PROCS];
        mx_store_check_report *rep = NULL;

        test_add_image(s, "common-a", BASE, 1, (const char *[]){"a:1", NULL}, a);
        test_add_image(s, "common-b", BASE, 1, (const char *[]){"b:1", NULL}, b);
        snprintf(root, sizeof(root), "%s", mx_store_root(s));
        mx_store_free(s);
        s = NULL;

        for (int k = 0; k < N_PROCS; k++) {
                pids[k] = fork();
                ASSERT_TRUE(pids[k] >= 0);
                if (pids[k] == 0)
                        _exit(child(root, k, a, b));
        }
        for (int k = 0; k < N_PROCS; k++) {
                int status = 0;

                ASSERT_EQ(waitpid(pids[k], &status, 0), pids[k]);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        printf("# child %d: status %d\n", k, status);
                ASSERT_TRUE(WIFEXITED(status));
                ASSERT_EQ(WEXITSTATUS(status), 0);
        }

        ASSERT_OK(mx_store_open(&s, root, NULL));
        for (int k = 0; k < N_PROCS; k++) {
                for (int i = 0; i < N_ROUNDS; i++) {
                        char ref[64];
                        mx_error *err = NULL;

                        snprintf(ref, sizeof(ref), "c%d:%d", k, i);
                        if (i % 3 == 0) {
                                ASSERT_ERR(mx_store_image_resolve(s, ref, &out, &err),
                                           MX_ENOTFOUND);
                                mx_error_free(err);
                                continue;
                        }
                        ASSERT_OK_E(mx_store_image_resolve(s, ref, &out, &err), err);
                        ASSERT_STREQ(out, i % 2 ? a : b);
                        free(out);
                        out = NULL;
                }
                {
                        char ref[64];
                        int r;

                        snprintf(ref, sizeof(ref), "img%d:v1", k);
                        r = mx_store_image_resolve(s, ref, &out, NULL);
                        if (k % 2) {
                                ASSERT_EQ(r, MX_ENOTFOUND);
                        } else {
                                ASSERT_EQ(r, 0);
                                free(out);
                                out = NULL;
                        }
                }
        }
        ASSERT_OK(mx_store_image_resolve(s, "contended", &out, NULL));
        ASSERT_TRUE(strcmp(out, a) == 0 || strcmp(out, b) == 0);
        free(out);
        /* 2 common + 4 surviving own images */
        {
                mx_image_record **list = NULL;
                size_t n = 0;

                ASSERT_OK(mx_store_image_list(s, &list, &n, NULL));
                ASSERT_EQ(n, 2 + N_PROCS / 2);
                mx_image_record_list_free(list, n);
        }
        ASSERT_OK(mx_store_check(s, 0, &rep, NULL));
        MX_STRV_FOREACH (p, rep->problems)
                printf("# problem: %s\n", p);
        ASSERT_EQ(rep->n_problems, 0);
        mx_store_check_report_free(rep);
        /* what the removals could not collect while others wrote, gc collects now */
        ASSERT_OK(mx_store_gc(s, NULL, NULL));
        ASSERT_OK(mx_store_check(s, 0, &rep, NULL));
        ASSERT_EQ(rep->n_problems, 0);
        ASSERT_EQ(rep->n_garbage, 0);
        mx_store_check_report_free(rep);
        mx_store_free(s);
}

/* Several processes open a brand-new store at once: one creates the schema, none fails. */
MX_TEST(parallel_first_open)
{
        char root[1024];
        pid_t pids[N_PROCS];

        snprintf(root, sizeof(root), "%s/fresh", mx_tap_tmpdir());
        for (int k = 0; k < N_PROCS; k++) {
                pids[k] = fork();
                ASSERT_TRUE(pids[k] >= 0);
                if (pids[k] == 0) {
                        mx_store *s = NULL;
                        char ref[32];

                        mx_error *err = NULL;

                        if (mx_store_open(&s, root, &err) < 0) {
                                char *m = mx_error_format(err);

                                printf("# child %d: %s\n", k, m ? m : "?");
                                fflush(stdout);
                                _exit(1);
                        }
                        snprintf(ref, sizeof(ref), "p%d", k);
                        if (child_add_image(s, ref, BASE, 1, (const char *[]){ref, NULL}, NULL) < 0)
                                _exit(2);
                        mx_store_free(s);
                        _exit(0);
                }
        }
        for (int k = 0; k < N_PROCS; k++) {
                int status = 0;

                ASSERT_EQ(waitpid(pids[k], &status, 0), pids[k]);
                ASSERT_TRUE(WIFEXITED(status));
                ASSERT_EQ(WEXITSTATUS(status), 0);
        }
        {
                mx_store *s = NULL;
                mx_image_record **list = NULL;
                size_t n = 0;

                ASSERT_OK(mx_store_open(&s, root, NULL));
                ASSERT_OK(mx_store_image_list(s, &list, &n, NULL));
                ASSERT_EQ(n, N_PROCS);
                mx_image_record_list_free(list, n);
                mx_store_free(s);
        }
}
