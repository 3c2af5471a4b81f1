/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash safety: a child process runs a load, an unpack, tag, rmi and gc scenario and is
 * killed at the Nth durable step (MYRMEX_FAULT_AT=N), for every N the scenario reaches.
 * After each kill the store must check clean (garbage allowed), every image must be wholly
 * present or absent, and repair must leave no garbage.
 *
 * The child is this test binary re-executed with MX_STORE_CRASH_ROOT set: the fault hook
 * reads its environment once per process, so a plain fork would inherit the parent's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "fault.h"
#include "store-test-child.h"
#include "store-test-util.h"
#include "strv.h"

static const char *const CRASH_LAYERS[] = {"c-base", "c-mid", "c-top"};
static const char *const OLD_LAYERS[] = {"old-only"};

static int scenario(const char *root)
{
        mx_store *s = NULL;
        mx_image_record *rec = NULL;
        char id[MX_DIGEST_BUF], *tmp = NULL, *dir = NULL, file[1200];
        int fd, r;

        if (mx_store_open(&s, root, NULL) < 0)
                return 20;
        /* a load: blobs, then the commit point */
        r = child_add_image(s, "crash", CRASH_LAYERS, 3, (const char *[]){"crash:1", NULL}, id);
        if (r < 0)
                return 21;
        /* an unpack of the bottom layer as image operations do it */
        if (mx_store_image_get(s, id, &rec, NULL) < 0)
                return 22;
        if (mx_store_tmp_path(s, "layer", &tmp, NULL) < 0 || mkdir(tmp, 0755) < 0)
                return 23;
        snprintf(file, sizeof(file), "%s/hello", tmp);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "hi\n", 3) != 3 || fsync(fd) < 0)
                return 24;
        close(fd);
        if (mx_store_layer_dir(s, rec->layers[0].chain_id, &dir, NULL) < 0 || rename(tmp, dir) < 0)
                return 25;
        if (mx_store_layer_set_unpacked(s, rec->layers[0].chain_id, 3, NULL) < 0)
                return 26;
        mx_store_release(s);
        /* names come and go */
        if (mx_store_tag(s, "crash:1", "crash:2", NULL) < 0)
                return 27;
        if (mx_store_image_remove(s, "old:1", 0, NULL, NULL, NULL) < 0)
                return 28;
        if (mx_store_untag(s, "crash:2", NULL) < 0)
                return 29;
        if (mx_store_gc(s, NULL, NULL) < 0)
                return 30;
        free(tmp);
        free(dir);
        mx_image_record_free(rec);
        mx_store_free(s);
        return 0;
}

__attribute__((constructor)) static void crash_child_entry(void)
{
        const char *root = getenv("MX_STORE_CRASH_ROOT");

        if (root)
                _exit(scenario(root));
}

/* A fresh store holding "old:1"; returns its root in root_out. */
static void prepare_store(const char *name, char *root_out, size_t size)
{
        mx_store *s = test_store_open(name);

        test_add_image(s, "old", OLD_LAYERS, 1, (const char *[]){"old:1", NULL}, NULL);
        snprintf(root_out, size, "%s", mx_store_root(s));
        mx_store_free(s);
}

/* Run the scenario in a re-executed child; returns its wait status. */
static int run_child(const char *root, const char *fault_at, const char *fault_log)
{
        pid_t pid = fork();
        int status = 0;

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char *const argv[] = {(char *)(uintptr_t) "test-store-crash-child", NULL};

                setenv("MX_STORE_CRASH_ROOT", root, 1);
                if (fault_at)
                        setenv("MYRMEX_FAULT_AT", fault_at, 1);
                else
                        unsetenv("MYRMEX_FAULT_AT");
                if (fault_log)
                        setenv("MYRMEX_FAULT_LOG", fault_log, 1);
                else
                        unsetenv("MYRMEX_FAULT_LOG");
                execv("/proc/self/exe", argv);
                _exit(127);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        return status;
}

static void assert_whole_or_absent(mx_store *s, const char *name, const char *const *layers,
                                   size_t n)
{
        mx_image_record *expect = test_image_record(s, name, layers, n, 0), *got = NULL;
        int r = mx_store_image_get(s, expect->id, &got, NULL);

        if (r == 0) {
                ASSERT_EQ(got->n_layers, n);
                ASSERT_EQ(mx_store_blob_has(s, got->manifest_digest, NULL), 1);
                ASSERT_EQ(mx_store_blob_has(s, got->id, NULL), 1);
                for (size_t i = 0; i < n; i++)
                        ASSERT_EQ(mx_store_blob_has(s, got->layers[i].digest, NULL), 1);
                mx_image_record_free(got);
        } else {
                ASSERT_EQ(r, MX_ENOTFOUND);
        }
        mx_store_release(s);
        mx_image_record_free(expect);
}

MX_TEST(crash_at_every_durable_step)
{
        char root[1024], log[1200], line[256], at[32];
        char **names = NULL;
        int status, total = 0;
        FILE *f;

        /* 1. A full run, logging every point reached. */
        prepare_store("logrun", root, sizeof(root));
        snprintf(log, sizeof(log), "%s/fault.log", mx_tap_tmpdir());
        status = run_child(root, NULL, log);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        f = fopen(log, "re");
        ASSERT_NOT_NULL(f);
        while (fgets(line, sizeof(line), f)) {
                char *sp = strchr(line, ' ');

                ASSERT_NOT_NULL(sp);
                sp[strcspn(sp, "\n")] = '\0';
                ASSERT_OK(mx_strv_push(&names, sp + 1));
                total++;
        }
        fclose(f);
        printf("# %d durable steps reached\n", total);
        ASSERT_TRUE(total >= 20);
        {
                const char *must[] = {"store-blob-fsync",          "store-blob-rename",
                                      "store-blob-renamed",        "store-image-add-commit",
                                      "store-image-add-committed", "store-layer-unpacked-commit",
                                      "store-tag-commit",          "store-image-remove-commit",
                                      "store-gc-blob-unlink",      "store-untag-commit",
                                      "store-gc-rows-commit"};

                for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
                        if (!mx_strv_contains(names, must[i]))
                                printf("# point '%s' not reached\n", must[i]);
                        ASSERT_TRUE(mx_strv_contains(names, must[i]));
                }
        }

        /* 2. Kill at each step in turn. */
        for (int n = 1; n <= total; n++) {
                mx_store *s = NULL;
                mx_store_check_report *rep = NULL;
                char name[32];
                mx_error *err = NULL;

                snprintf(name, sizeof(name), "kill%d", n);
                prepare_store(name, root, sizeof(root));
                snprintf(at, sizeof(at), "%d", n);
                status = run_child(root, at, NULL);
                printf("# killed at %d (%s)\n", n, names[n - 1]);
                ASSERT_TRUE(WIFSIGNALED(status));
                ASSERT_EQ(WTERMSIG(status), SIGKILL);

                ASSERT_OK_E(mx_store_open(&s, root, &err), err);
                ASSERT_OK_E(mx_store_check(s, 0, &rep, &err), err);
                MX_STRV_FOREACH (p, rep->problems)
                        printf("#   problem: %s\n", p);
                ASSERT_EQ(rep->n_problems, 0);
                mx_store_check_report_free(rep);
                assert_whole_or_absent(s, "crash", CRASH_LAYERS, 3);
                assert_whole_or_absent(s, "old", OLD_LAYERS, 1);

                ASSERT_OK(mx_store_check(s, 1, &rep, NULL));
                mx_store_check_report_free(rep);
                ASSERT_OK(mx_store_check(s, 0, &rep, NULL));
                MX_STRV_FOREACH (g, rep->garbage)
                        printf("#   garbage after repair: %s\n", g);
                ASSERT_EQ(rep->n_problems, 0);
                ASSERT_EQ(rep->n_garbage, 0);
                mx_store_check_report_free(rep);
                assert_whole_or_absent(s, "crash", CRASH_LAYERS, 3);
                mx_store_free(s);
        }
        mx_strv_free(names);
}
