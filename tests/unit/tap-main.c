/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "tap.h"

#define MAX_TESTS 512

static struct {
        const char *name;
        mx_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static jmp_buf test_jmp;
static int test_outcome; /* 0 pass, 1 fail, 2 skip */
static char skip_reason[256];
static char tmpdir[256];
static char data_path[4096];

void mx_tap_register(const char *name, mx_test_fn fn)
{
        if (n_tests < MAX_TESTS) {
                tests[n_tests].name = name;
                tests[n_tests].fn = fn;
                n_tests++;
        }
}

void mx_tap_fail(const char *file, int line, const char *fmt, ...)
{
        va_list ap;

        fprintf(stdout, "# %s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        test_outcome = 1;
        longjmp(test_jmp, 1);
}

void mx_tap_skip(const char *why)
{
        snprintf(skip_reason, sizeof(skip_reason), "%s", why);
        test_outcome = 2;
        longjmp(test_jmp, 1);
}

const char *mx_tap_tmpdir(void)
{
        if (!tmpdir[0]) {
                const char *base = getenv("TMPDIR");

                snprintf(tmpdir, sizeof(tmpdir), "%s/mx-test-XXXXXX", base ? base : "/tmp");
                if (!mkdtemp(tmpdir)) {
                        perror("mkdtemp");
                        exit(99);
                }
        }
        return tmpdir;
}

const char *mx_tap_data(const char *rel)
{
        const char *dir = getenv("MX_TEST_DATA_DIR");

        snprintf(data_path, sizeof(data_path), "%s/%s", dir ? dir : "tests", rel);
        return data_path;
}

/* setjmp lives in its own frame so main's counters are never clobbered by longjmp. */
static int run_one(mx_test_fn fn)
{
        test_outcome = 0;
        if (setjmp(test_jmp) == 0)
                fn();
        return test_outcome;
}

int main(int argc, char **argv)
{
        int failed = 0, skipped = 0;
        const char *only = argc > 1 ? argv[1] : NULL;

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("1..%d\n", n_tests);
        for (int i = 0; i < n_tests; i++) {
                test_outcome = 0;
                if (only && strcmp(only, tests[i].name) != 0) {
                        printf("ok %d - %s # SKIP not selected\n", i + 1, tests[i].name);
                        skipped++;
                        continue;
                }
                test_outcome = run_one(tests[i].fn);
                if (tmpdir[0]) {
                        (void)mx_fs_rm_rf(tmpdir, NULL);
                        tmpdir[0] = '\0';
                }
                if (test_outcome == 2) {
                        printf("ok %d - %s # SKIP %s\n", i + 1, tests[i].name, skip_reason);
                        skipped++;
                } else if (test_outcome == 1) {
                        printf("not ok %d - %s\n", i + 1, tests[i].name);
                        failed++;
                } else {
                        printf("ok %d - %s\n", i + 1, tests[i].name);
                }
        }
        if (failed)
                return 1;
        return (n_tests > 0 && skipped == n_tests) ? 77 : 0;
}
