/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup layouts and a container's cgroup files, v2 against files in tests/data/cgroup-v2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fs.h"
#include "runtime/runtime-internal.h"
#include "tap.h"

#define FULL    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NOLIMIT "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static char *slurp(const char *rel)
{
        mx_buf b = MX_BUF_INIT;

        if (mx_buf_read_file(&b, mx_tap_data(rel), 1 << 20, NULL) < 0)
                mx_tap_fail(__FILE__, __LINE__, "cannot read %s", rel);
        return mx_buf_detach(&b);
}

MX_TEST(cgroup_mode_from_recorded_mountinfo)
{
        mx_cgroup_mode mode;
        char *unified = NULL;
        char *text;

        text = slurp("data/cgroup-v2/mountinfo-v2");
        ASSERT_OK(mx_runtime__cgroup_mode_parse(text, &mode, &unified));
        ASSERT_EQ(mode, MX_CGROUP_V2);
        ASSERT_NULL(unified);
        free(text);

        text = slurp("data/cgroup-v2/mountinfo-hybrid");
        ASSERT_OK(mx_runtime__cgroup_mode_parse(text, &mode, &unified));
        ASSERT_EQ(mode, MX_CGROUP_HYBRID);
        ASSERT_STREQ(unified, "/sys/fs/cgroup/unified");
        free(unified);
        free(text);

        text = slurp("data/cgroup-v2/mountinfo-v1");
        ASSERT_OK(mx_runtime__cgroup_mode_parse(text, &mode, NULL));
        ASSERT_EQ(mode, MX_CGROUP_V1);
        free(text);

        ASSERT_ERR(mx_runtime__cgroup_mode_parse("garbage\n", &mode, NULL), MX_ENOTFOUND);
        ASSERT_STREQ(mx_runtime__cgroup_mode_name(MX_CGROUP_HYBRID), "hybrid");
}

MX_TEST(cgroup_dirs_for_v1_and_v2)
{
        char *cg = mx_runtime__cgroup_path("abc");
        char *d;

        ASSERT_STREQ(cg, "/myrmex/abc");
        d = mx_runtime__cgroup_dir("/sys/fs/cgroup", MX_CGROUP_V2, "memory", cg);
        ASSERT_STREQ(d, "/sys/fs/cgroup/myrmex/abc");
        free(d);
        d = mx_runtime__cgroup_dir("/sys/fs/cgroup", MX_CGROUP_V1, "memory", cg);
        ASSERT_STREQ(d, "/sys/fs/cgroup/memory/myrmex/abc");
        free(d);
        free(cg);
}

MX_TEST(cgroup_v2_stats_from_recorded_files)
{
        char fsroot[4096];
        mx_cgroup_stats s;
        mx_error *err = NULL;

        snprintf(fsroot, sizeof(fsroot), "%s", mx_tap_data("data/cgroup-v2/fs"));
        ASSERT_OK_E(mx_runtime__cgroup_stats(fsroot, MX_CGROUP_V2, "/myrmex/" FULL, &s, &err), err);
        ASSERT_EQ(s.memory_limit, 67108864);
        ASSERT_EQ(s.memory_usage, 41943040);
        ASSERT_EQ(s.oom_kills, 2);
        ASSERT_EQ(s.pids_current, 2);
        ASSERT_EQ(s.pids_limit, 50);
        ASSERT_EQ(s.cpu_quota_us, 150000);
        ASSERT_EQ(s.cpu_period_us, 100000);
        ASSERT_TRUE(s.cpu_usage_ns > 0);

        ASSERT_OK_E(mx_runtime__cgroup_stats(fsroot, MX_CGROUP_V2, "/myrmex/" NOLIMIT, &s, &err),
                    err);
        ASSERT_EQ(s.memory_limit, -1); /* "max" */
        ASSERT_EQ(s.pids_limit, -1);
        ASSERT_EQ(s.cpu_quota_us, -1);
        ASSERT_EQ(s.cpu_period_us, 100000);
        ASSERT_EQ(s.oom_kills, 0);
        ASSERT_EQ(s.cpu_usage_ns, 9000);

        ASSERT_ERR(mx_runtime__cgroup_stats(fsroot, MX_CGROUP_V2, "/myrmex/missing", &s, &err),
                   MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_RUNTIME);
        mx_error_free(err);
}

MX_TEST(cgroup_v2_pids_from_recorded_files)
{
        char fsroot[4096];
        pid_t *pids = NULL;
        size_t n = 0;
        mx_error *err = NULL;

        snprintf(fsroot, sizeof(fsroot), "%s", mx_tap_data("data/cgroup-v2/fs"));
        ASSERT_OK_E(mx_runtime__cgroup_pids(fsroot, MX_CGROUP_V2, "/myrmex/" FULL, &pids, &n, &err),
                    err);
        ASSERT_EQ(n, 2);
        ASSERT_TRUE(pids[0] > 0 && pids[1] > 0);
        free(pids);
        ASSERT_OK_E(
                mx_runtime__cgroup_pids(fsroot, MX_CGROUP_V2, "/myrmex/" NOLIMIT, &pids, &n, &err),
                err);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pids[0], 31337);
        free(pids);
        ASSERT_ERR(mx_runtime__cgroup_pids(fsroot, MX_CGROUP_V2, "/myrmex/none", &pids, &n, &err),
                   MX_ENOTFOUND);
        mx_error_free(err);
}

MX_TEST(cgroup_v1_stats_read_the_controllers)
{
        /* a v1 layout built in the scratch directory with the v1 file names */
        char dir[4096], path[4200];
        const char *files[][2] = {
                {"memory/myrmex/x/memory.usage_in_bytes", "1000\n"},
                {"memory/myrmex/x/memory.limit_in_bytes", "9223372036854771712\n"},
                {"memory/myrmex/x/memory.oom_control",
                 "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"},
                {"pids/myrmex/x/pids.current", "3\n"},
                {"pids/myrmex/x/pids.max", "max\n"},
                {"cpu/myrmex/x/cpu.cfs_quota_us", "50000\n"},
                {"cpu/myrmex/x/cpu.cfs_period_us", "100000\n"},
                {"cpuacct/myrmex/x/cpuacct.usage", "777\n"},
        };
        mx_cgroup_stats s;
        mx_error *err = NULL;

        snprintf(dir, sizeof(dir), "%s/v1", mx_tap_tmpdir());
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char *slash;
                FILE *f;

                snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
                slash = strrchr(path, '/');
                *slash = '\0';
                ASSERT_OK(mx_fs_mkdir_p(path, 0755, NULL));
                *slash = '/';
                f = fopen(path, "we");
                ASSERT_NOT_NULL(f);
                fputs(files[i][1], f);
                fclose(f);
        }
        ASSERT_OK_E(mx_runtime__cgroup_stats(dir, MX_CGROUP_V1, "/myrmex/x", &s, &err), err);
        ASSERT_EQ(s.memory_usage, 1000);
        ASSERT_EQ(s.memory_limit, -1);
        ASSERT_EQ(s.oom_kills, 1);
        ASSERT_EQ(s.pids_current, 3);
        ASSERT_EQ(s.pids_limit, -1);
        ASSERT_EQ(s.cpu_quota_us, 50000);
        ASSERT_EQ(s.cpu_usage_ns, 777);
}
