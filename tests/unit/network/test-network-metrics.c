/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/metrics.h>

#include "tap.h"

MX_TEST(cgroup_v1_recorded)
{
        char cpu[4096], mem[4096], blk[4096];
        mx_cgroup_dirs d = {.version = 1, .cpuacct = cpu, .memory = mem, .blkio = blk};
        mx_metrics_sample s = {0};
        mx_error *err = NULL;

        snprintf(cpu, sizeof(cpu), "%s", mx_tap_data("data/cgroup/v1/cpuacct"));
        snprintf(mem, sizeof(mem), "%s", mx_tap_data("data/cgroup/v1/memory"));
        snprintf(blk, sizeof(blk), "%s", mx_tap_data("data/cgroup/v1/blkio"));
        ASSERT_OK_E(mx_metrics_read_cgroup(&s, &d, &err), err);
        ASSERT_EQ(s.cgroup_version, 1);
        ASSERT_EQ(s.cpu_usage_ns, 135886067ull);
        /* usage_in_bytes 405504 minus total_inactive_file 90112, as docker stats shows */
        ASSERT_EQ(s.memory_usage, 405504ull - 90112ull);
        ASSERT_EQ(s.memory_limit, 268435456ull);
        ASSERT_EQ(s.io_read_bytes, 0);
        ASSERT_EQ(s.io_write_bytes, 0);

        snprintf(blk, sizeof(blk), "%s", mx_tap_data("data/cgroup/v1-blkio"));
        ASSERT_OK_E(mx_metrics_read_cgroup(&s, &d, &err), err);
        ASSERT_EQ(s.io_read_bytes, 4202496ull + 1048576ull);
        ASSERT_EQ(s.io_write_bytes, 8388608ull);
}

MX_TEST(cgroup_v2_recorded)
{
        char dir[4096];
        mx_cgroup_dirs d = {.version = 2, .unified = dir};
        mx_metrics_sample s = {0};
        mx_error *err = NULL;

        snprintf(dir, sizeof(dir), "%s", mx_tap_data("data/cgroup/v2"));
        ASSERT_OK_E(mx_metrics_read_cgroup(&s, &d, &err), err);
        ASSERT_EQ(s.cgroup_version, 2);
        ASSERT_EQ(s.cpu_usage_ns, 2514931000ull);
        ASSERT_EQ(s.memory_usage, 52428800ull - 10485760ull);
        ASSERT_EQ(s.memory_limit, 536870912ull);
        ASSERT_EQ(s.io_read_bytes, 3145728ull + 1048576ull);
        ASSERT_EQ(s.io_write_bytes, 1048576ull + 524288ull);

        snprintf(dir, sizeof(dir), "%s", mx_tap_data("data/cgroup/v2-unlimited"));
        ASSERT_OK_E(mx_metrics_read_cgroup(&s, &d, &err), err);
        ASSERT_EQ(s.memory_limit, 0);
        ASSERT_EQ(s.memory_usage, 4096);
        ASSERT_EQ(s.io_read_bytes, 0);
}

MX_TEST(cgroup_missing_and_malformed)
{
        char dir[4096];
        mx_cgroup_dirs d = {.version = 2, .unified = dir};
        mx_metrics_sample s = {0};
        mx_error *err = NULL;
        FILE *f;

        snprintf(dir, sizeof(dir), "%s/nothing-here", mx_tap_tmpdir());
        ASSERT_ERR(mx_metrics_read_cgroup(&s, &d, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        snprintf(dir, sizeof(dir), "%s", mx_tap_tmpdir());
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/cpu.stat");
        f = fopen(dir, "we");
        fputs("user_usec 5\n", f);
        fclose(f);
        snprintf(dir, sizeof(dir), "%s", mx_tap_tmpdir());
        ASSERT_ERR(mx_metrics_read_cgroup(&s, &d, &err), MX_EFORMAT);
        ASSERT_TRUE(strstr(err->message, "usage_usec") != NULL);
        mx_error_free(err);
        err = NULL;
        d.version = 3;
        ASSERT_ERR(mx_metrics_read_cgroup(&s, &d, &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(net_dev_skips_lo)
{
        const char *text =
                "Inter-|   Receive                                                |  Transmit\n"
                " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
                "packets errs drop fifo colls carrier compressed\n"
                "    lo:    1000      10    0    0    0     0          0         0     1000      "
                "10    0    0    0     0       0          0\n"
                "  eth0: 2500000    1800    0    0    0     0          0         0   120000     "
                "900    0    0    0     0       0          0\n"
                "  eth1:     500       5    0    0    0     0          0         0      700       "
                "7    0    0    0     0       0          0\n";
        uint64_t rx = 0, tx = 0;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_metrics_parse_net_dev(&rx, &tx, text, &err), err);
        ASSERT_EQ(rx, 2500500);
        ASSERT_EQ(tx, 120700);
        ASSERT_ERR(mx_metrics_parse_net_dev(&rx, &tx, "h\nh\neth0 1 2 3\n", &err), MX_EFORMAT);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_metrics_parse_net_dev(&rx, &tx, "h\nh\neth0: 1 2 3\n", &err), MX_EFORMAT);
        mx_error_free(err);
}

MX_TEST(cpu_percent_as_docker_stats)
{
        mx_metrics_sample a = {
                .cpu_usage_ns = 1000000000ull, .system_cpu_ns = 10000000000ull, .online_cpus = 2};
        mx_metrics_sample b = a;
        mx_metrics_context ctx = {.container_name = "web",
                                  .started_unix_ns = 1700000000LL * 1000000000LL,
                                  .now_unix_ns = 1700000090LL * 1000000000LL + 500000000LL,
                                  .restart_count = 1,
                                  .health = "healthy",
                                  .cpu_limit = 0.5,
                                  .host_memory = 1000000000ull};
        mx_container_metrics m;
        char *json;

        /* Over the interval the host spent 2 s of CPU (2 CPUs x 1 s) and the container
         * 0.5 s: docker stats says 0.5 / 2 * 2 * 100 = 50%. */
        b.cpu_usage_ns += 500000000ull;
        b.system_cpu_ns += 2000000000ull;
        b.memory_usage = 250000000ull;
        b.memory_limit = 0; /* unlimited: the host's memory counts */
        b.net_rx_bytes = 3000000;
        b.net_tx_bytes = 1500000;
        b.io_read_bytes = 7000000;
        b.io_write_bytes = 1000000;
        mx_metrics_compute(&m, &a, &b, &ctx);
        ASSERT_STREQ(m.container_name, "web");
        ASSERT_STREQ(m.timestamp, "2023-11-14T22:14:50.500000Z");
        ASSERT_TRUE(m.cpu_usage_percent > 49.99 && m.cpu_usage_percent < 50.01);
        ASSERT_TRUE(m.memory_usage_mb > 249.99 && m.memory_usage_mb < 250.01);
        ASSERT_TRUE(m.memory_limit_mb > 999.99 && m.memory_limit_mb < 1000.01);
        ASSERT_TRUE(m.network_rx_mb > 2.99 && m.network_rx_mb < 3.01);
        ASSERT_TRUE(m.disk_read_mb > 6.99 && m.disk_read_mb < 7.01);
        ASSERT_TRUE(m.uptime_seconds > 90.49 && m.uptime_seconds < 90.51);
        ASSERT_EQ(m.restart_count, 1);
        ASSERT_STREQ(m.health_status, "healthy");
        /* --cpus 0.5 fully used: cpu headroom 0; memory headroom 0.75; healthy; one restart:
         * 100 * (0 + 0.4 * 0.75 + 0.2) - 5 = 45 */
        ASSERT_TRUE(m.performance_score > 44.99 && m.performance_score < 45.01);
        json = mx_metrics_to_json(&m);
        ASSERT_NOT_NULL(json);
        {
                static const char *keys[] = {
                        "\"container_name\":",   "\"timestamp\":",       "\"cpu_usage_percent\":",
                        "\"memory_usage_mb\":",  "\"memory_limit_mb\":", "\"network_rx_mb\":",
                        "\"network_tx_mb\":",    "\"disk_read_mb\":",    "\"disk_write_mb\":",
                        "\"uptime_seconds\":",   "\"restart_count\":",   "\"health_status\":",
                        "\"performance_score\":"};
                const char *prev = json;

                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                        const char *at = strstr(json, keys[i]);

                        ASSERT_NOT_NULL(at);
                        ASSERT_TRUE(at >= prev); /* the seed's order */
                        prev = at;
                }
        }
        free(json);

        /* No previous sample: 0%; "starting" is reported as unknown. */
        ctx.health = "starting";
        mx_metrics_compute(&m, NULL, &b, &ctx);
        ASSERT_EQ(m.cpu_usage_percent, 0);
        ASSERT_STREQ(m.health_status, "unknown");
}

MX_TEST(performance_score_bounds)
{
        ASSERT_EQ(mx_metrics_performance_score(0, 200, 0, 100, NULL, 0), 100);
        ASSERT_EQ(mx_metrics_performance_score(400, 200, 200, 100, "unhealthy", 9), 0);
        ASSERT_EQ(mx_metrics_performance_score(100, 200, 50, 100, "starting", 0), 50);
}

MX_TEST(sample_self_live)
{
        mx_metrics_sample s = {0};
        mx_error *err = NULL;
        int r = mx_metrics_sample_pid(&s, (int)getpid(), NULL, &err);

        if (r < 0) {
                mx_error_free(err);
                SKIP("this process has no readable cpuacct/memory cgroup");
        }
        ASSERT_TRUE(s.cpu_usage_ns > 0);
        ASSERT_TRUE(s.system_cpu_ns > 0);
        ASSERT_TRUE(s.online_cpus >= 1);
        ASSERT_TRUE(s.memory_usage > 0);
        ASSERT_ERR(mx_metrics_sample_pid(&s, 0, NULL, &err), MX_EINVAL);
        mx_error_free(err);
}

/* A controlled load: a busy loop in a cgroup capped at half a CPU (what --cpus 0.5 sets)
 * must read as ~50% CPU, and leave no CPU headroom in the performance score. */
static int write_file(const char *dir, const char *name, const char *text)
{
        char p[512];
        FILE *f;
        int ok;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "we");
        if (!f)
                return -1;
        ok = fputs(text, f) >= 0;
        return fclose(f) == 0 && ok ? 0 : -1;
}

/* utime + stime of a process in ns, from /proc (an independent clock for the check). */
static double proc_cpu_ns(pid_t pid)
{
        char p[64], buf[1024];
        unsigned long long ut = 0, st = 0;
        const char *q;
        FILE *f;
        size_t n;

        snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
        f = fopen(p, "re");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        q = strrchr(buf, ')');
        if (!q ||
            sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -1;
        return (double)(ut + st) * 1e9 / (double)sysconf(_SC_CLK_TCK);
}

static double mono_ns(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

MX_TEST(controlled_load_under_cpu_quota)
{
        double c0 = 0, c1 = 0, w0 = 0, w1 = 0;
        char cpu[256], acct[256], mem[256], pidtxt[32];
        mx_metrics_sample a = {0}, b = {0};
        mx_metrics_context ctx = {.container_name = "burner", .cpu_limit = 0.5};
        mx_container_metrics m;
        mx_error *err = NULL;
        struct timespec ts = {1, 500000000};
        pid_t child;
        int ok = 1;

        if (geteuid() != 0)
                SKIP("creating cgroups needs root");
        if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", W_OK) != 0 ||
            access("/sys/fs/cgroup/cpuacct/cpuacct.usage", R_OK) != 0 ||
            access("/sys/fs/cgroup/memory/memory.usage_in_bytes", R_OK) != 0)
                SKIP("no cgroup v1 cpu, cpuacct and memory hierarchies here");
        snprintf(cpu, sizeof(cpu), "/sys/fs/cgroup/cpu/mx-test-load-%d", (int)getpid());
        snprintf(acct, sizeof(acct), "/sys/fs/cgroup/cpuacct/mx-test-load-%d", (int)getpid());
        snprintf(mem, sizeof(mem), "/sys/fs/cgroup/memory/mx-test-load-%d", (int)getpid());
        /* cpu and cpuacct may be one hierarchy (cpu,cpuacct) or two */
        ASSERT_TRUE(mkdir(cpu, 0755) == 0);
        if (mkdir(acct, 0755) < 0 && errno != EEXIST)
                ok = 0;
        if (mkdir(mem, 0755) < 0)
                ok = 0;
        ASSERT_TRUE(ok);
        ASSERT_OK(write_file(cpu, "cpu.cfs_period_us", "100000"));
        ASSERT_OK(write_file(cpu, "cpu.cfs_quota_us", "50000"));
        child = fork();
        if (child == 0) {
                volatile unsigned long x = 0;

                for (;;)
                        x++;
        }
        snprintf(pidtxt, sizeof(pidtxt), "%d", (int)child);
        ok = write_file(cpu, "cgroup.procs", pidtxt) == 0 &&
             write_file(acct, "cgroup.procs", pidtxt) == 0 &&
             write_file(mem, "cgroup.procs", pidtxt) == 0;
        if (ok) {
                nanosleep(&(struct timespec){0, 300000000}, NULL);
                c0 = proc_cpu_ns(child);
                w0 = mono_ns();
                ok = mx_metrics_sample_pid(&a, (int)child, NULL, &err) == 0;
                nanosleep(&ts, NULL);
                ok = ok && mx_metrics_sample_pid(&b, (int)child, NULL, &err) == 0;
                c1 = proc_cpu_ns(child);
                w1 = mono_ns();
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        rmdir(cpu);
        rmdir(acct);
        rmdir(mem);
        ASSERT_OK_E(ok ? 0 : -1, err);
        mx_metrics_compute(&m, &a, &b, &ctx);
        printf("# controlled load: cpu %.2f%% (the process's own clock: %.2f%%), memory %.3f MB, "
               "score %.2f\n",
               m.cpu_usage_percent, 100 * (c1 - c0) / (w1 - w0), m.memory_usage_mb,
               m.performance_score);
        /* docker stats' formula agrees with the process's own CPU time over wall time */
        ASSERT_TRUE(m.cpu_usage_percent > 100 * (c1 - c0) / (w1 - w0) - 6 &&
                    m.cpu_usage_percent < 100 * (c1 - c0) / (w1 - w0) + 6);
        /* The quota caps the loop at 50% of one CPU; a busy shared host may give it much
         * less (the check against its own clock above is the exact one). */
        ASSERT_TRUE(m.cpu_usage_percent > 5 && m.cpu_usage_percent < 56);
        /* The score follows the documented formula for what was measured: CPU headroom
         * against the 0.5 CPU limit, memory headroom, no health check (counts as 1). */
        {
                double cpu_head = 1 - m.cpu_usage_percent / 50.0;
                double mem_head = 1 - (double)b.memory_usage / (m.memory_limit_mb * 1e6);
                double want;

                if (cpu_head < 0)
                        cpu_head = 0;
                want = 100 * (0.4 * cpu_head + 0.4 * mem_head + 0.2);
                ASSERT_TRUE(m.performance_score > want - 0.1 && m.performance_score < want + 0.1);
                ASSERT_TRUE(m.performance_score < 97); /* a busy container loses points */
        }
}

MX_TEST(collect_self)
{
        mx_container_metrics m;
        mx_metrics_context ctx = {.container_name = "self"};
        mx_error *err = NULL;
        int r = mx_metrics_collect(&m, (int)getpid(), &ctx, 200, &err);

        if (r < 0) {
                mx_error_free(err);
                SKIP("this process has no readable cpuacct/memory cgroup");
        }
        ASSERT_STREQ(m.container_name, "self");
        ASSERT_TRUE(m.cpu_usage_percent >= 0 && m.cpu_usage_percent < 100.0 * 64);
        ASSERT_TRUE(m.memory_limit_mb > 0);
        ASSERT_ERR(mx_metrics_collect(&m, -1, &ctx, 10, &err), MX_EINVAL);
        mx_error_free(err);
}
