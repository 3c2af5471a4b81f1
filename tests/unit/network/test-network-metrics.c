/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
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
