/* SPDX-License-Identifier: Apache-2.0 */
/* ContainerMetrics from cgroup v1 and v2 files and /proc/<pid>/net/dev. */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/metrics.h>

#include "buf.h"
#include "error-internal.h"
#include "json.h"
#include "network-internal.h"
#include "parse.h"

#define STAT_FILE_MAX (1024 * 1024)
#define V1_UNLIMITED  ((uint64_t)1 << 62) /* v1 reports ~2^63 rounded to pages */

static int read_text(mx_buf *b, const char *dir, const char *name, mx_error **err)
{
        cleanup_free char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return mx_error_oom(err);
        mx_buf_truncate(b, 0);
        return mx_buf_read_file(b, path, STAT_FILE_MAX, err);
}

/* A file holding one number (or "max" when max_ok). */
static int read_u64_file(uint64_t *out, const char *dir, const char *name, int max_ok,
                         mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        int r = read_text(&b, dir, name, err);

        if (r < 0)
                return r;
        while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
                b.ptr[--b.len] = '\0';
        if (max_ok && strcmp(b.ptr, "max") == 0) {
                *out = UINT64_MAX;
                return 0;
        }
        if (mx_parse_u64(b.ptr, out) < 0)
                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                    "'%s/%s' does not hold a number", dir, name);
        return 0;
}

/* "key value" lines: the value of key, or not found (returns 0, *found = 0). */
static int kv_lookup(const char *text, const char *key, uint64_t *out, int *found)
{
        size_t klen = strlen(key);

        *found = 0;
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);

                if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
                        char num[32];
                        size_t vl = len - klen - 1;

                        if (vl == 0 || vl >= sizeof(num))
                                return -1;
                        memcpy(num, line + klen + 1, vl);
                        num[vl] = '\0';
                        if (mx_parse_u64(num, out) < 0)
                                return -1;
                        *found = 1;
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* blkio.throttle.io_service_bytes: "MAJ:MIN Read N" / "MAJ:MIN Write N" / "Total N". */
static int parse_blkio_v1(const char *text, uint64_t *rd, uint64_t *wr)
{
        *rd = *wr = 0;
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                char dev[32], op[16];
                unsigned long long v;

                if (sscanf(line, "%31s %15s %llu", dev, op, &v) == 3) {
                        if (strcmp(op, "Read") == 0)
                                *rd += v;
                        else if (strcmp(op, "Write") == 0)
                                *wr += v;
                } else if (strncmp(line, "Total", 5) != 0 && nl != line) {
                        return -1;
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device. */
static int parse_io_v2(const char *text, uint64_t *rd, uint64_t *wr)
{
        *rd = *wr = 0;
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char buf[512];
                char *save = NULL, *tok;

                if (len >= sizeof(buf))
                        return -1;
                memcpy(buf, line, len);
                buf[len] = '\0';
                tok = strtok_r(buf, " ", &save); /* device */
                while (tok && (tok = strtok_r(NULL, " ", &save)) != NULL) {
                        char *eq = strchr(tok, '=');
                        uint64_t v;

                        if (!eq || mx_parse_u64(eq + 1, &v) < 0)
                                return -1;
                        *eq = '\0';
                        if (strcmp(tok, "rbytes") == 0)
                                *rd += v;
                        else if (strcmp(tok, "wbytes") == 0)
                                *wr += v;
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

static uint64_t minus_inactive(uint64_t usage, const char *stat, const char *key)
{
        uint64_t inactive = 0;
        int found = 0;

        if (stat && kv_lookup(stat, key, &inactive, &found) == 0 && found && inactive < usage)
                return usage - inactive;
        return usage;
}

int mx_metrics_read_cgroup(mx_metrics_sample *out, const mx_cgroup_dirs *d, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        uint64_t cpu = 0, mem = 0, lim = 0, rd = 0, wr = 0;
        int r, found;

        if (!out || !d)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no cgroup directories");
        if (d->version == 2) {
                if (!d->unified)
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "no cgroup v2 directory");
                r = read_text(&b, d->unified, "cpu.stat", err);
                if (r < 0)
                        return r;
                if (kv_lookup(b.ptr, "usage_usec", &cpu, &found) < 0 || !found)
                        return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                            "'%s/cpu.stat' has no usage_usec", d->unified);
                cpu *= 1000;
                r = read_u64_file(&mem, d->unified, "memory.current", 0, err);
                if (r < 0)
                        return r;
                r = read_u64_file(&lim, d->unified, "memory.max", 1, err);
                if (r < 0)
                        return r;
                if (read_text(&b, d->unified, "memory.stat", NULL) == 0)
                        mem = minus_inactive(mem, b.ptr, "inactive_file");
                /* io.stat exists only with the io controller enabled: absent means 0. */
                if (read_text(&b, d->unified, "io.stat", NULL) == 0 &&
                    parse_io_v2(b.ptr, &rd, &wr) < 0)
                        return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                            "'%s/io.stat' is malformed", d->unified);
        } else if (d->version == 1) {
                if (!d->cpuacct || !d->memory)
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "no cgroup v1 cpuacct or memory directory");
                r = read_u64_file(&cpu, d->cpuacct, "cpuacct.usage", 0, err);
                if (r < 0)
                        return r;
                r = read_u64_file(&mem, d->memory, "memory.usage_in_bytes", 0, err);
                if (r < 0)
                        return r;
                r = read_u64_file(&lim, d->memory, "memory.limit_in_bytes", 0, err);
                if (r < 0)
                        return r;
                if (lim >= V1_UNLIMITED)
                        lim = UINT64_MAX;
                if (read_text(&b, d->memory, "memory.stat", NULL) == 0)
                        mem = minus_inactive(mem, b.ptr, "total_inactive_file");
                if (d->blkio) {
                        /* The recursive file covers child cgroups too; fall back to the
                         * flat one on kernels without it. */
                        r = read_text(&b, d->blkio, "blkio.throttle.io_service_bytes_recursive",
                                      NULL);
                        if (r < 0)
                                r = read_text(&b, d->blkio, "blkio.throttle.io_service_bytes",
                                              NULL);
                        if (r == 0 && parse_blkio_v1(b.ptr, &rd, &wr) < 0)
                                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                                    "'%s/blkio.throttle.io_service_bytes' is "
                                                    "malformed",
                                                    d->blkio);
                }
        } else {
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "unknown cgroup version %d",
                                    d->version);
        }
        out->cpu_usage_ns = cpu;
        out->memory_usage = mem;
        out->memory_limit = lim == UINT64_MAX ? 0 : lim;
        out->io_read_bytes = rd;
        out->io_write_bytes = wr;
        out->cgroup_version = d->version;
        return 0;
}

int mx_metrics_parse_net_dev(uint64_t *rx_out, uint64_t *tx_out, const char *text, mx_error **err)
{
        uint64_t rx = 0, tx = 0;
        int lineno = 0;

        if (!rx_out || !tx_out || !text)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no net/dev text");
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                const char *colon;
                unsigned long long f[16];
                char name[64];
                size_t nlen;

                lineno++;
                if (lineno <= 2) { /* two header lines */
                        line = nl ? nl + 1 : NULL;
                        continue;
                }
                colon = strchr(line, ':');
                if (!colon || (nl && colon > nl))
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "net/dev line %d has no interface name", lineno);
                while (*line == ' ')
                        line++;
                nlen = (size_t)(colon - line);
                if (nlen == 0 || nlen >= sizeof(name))
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "net/dev line %d has a bad interface name", lineno);
                memcpy(name, line, nlen);
                name[nlen] = '\0';
                if (sscanf(colon + 1,
                           "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
                           "%llu %llu %llu %llu",
                           &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
                           &f[10], &f[11], &f[12], &f[13], &f[14], &f[15]) != 16)
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "net/dev line %d does not hold 16 counters", lineno);
                if (strcmp(name, "lo") != 0) {
                        rx += f[0];
                        tx += f[8];
                }
                line = nl ? nl + 1 : NULL;
        }
        *rx_out = rx;
        *tx_out = tx;
        return 0;
}

static int host_cpu_ns(uint64_t *out, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        unsigned long long v[8];
        long tck = sysconf(_SC_CLK_TCK);
        uint64_t sum = 0;
        int r = mx_buf_read_file(&b, "/proc/stat", STAT_FILE_MAX, err);

        if (r < 0)
                return r;
        if (sscanf(b.ptr, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) != 8)
                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0, "/proc/stat is malformed");
        for (int i = 0; i < 8; i++)
                sum += v[i];
        if (tck <= 0)
                tck = 100;
        *out = sum * (1000000000ULL / (uint64_t)tck);
        return 0;
}

/* The cgroup path of one controller from /proc/<pid>/cgroup ("" controller: v2). */
static char *cgroup_path_of(const char *text, const char *controller)
{
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                const char *c1 = memchr(line, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;

                if (c2) {
                        size_t clen = (size_t)(c2 - c1 - 1);
                        const char *list = c1 + 1;
                        int match = 0;

                        if (!*controller) {
                                match = clen == 0;
                        } else {
                                /* "cpu,cpuacct" lists several controllers */
                                for (const char *p = list; p < c2;) {
                                        const char *comma = memchr(p, ',', (size_t)(c2 - p));
                                        const char *end = comma ? comma : c2;

                                        if ((size_t)(end - p) == strlen(controller) &&
                                            strncmp(p, controller, (size_t)(end - p)) == 0)
                                                match = 1;
                                        p = end + 1;
                                }
                        }
                        if (match)
                                return strndup(c2 + 1, len - (size_t)(c2 + 1 - line));
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

int mx_metrics_sample_pid(mx_metrics_sample *out, int pid, const char *cgroup_root, mx_error **err)
{
        cleanup_buf mx_buf cg = MX_BUF_INIT;
        cleanup_buf mx_buf nd = MX_BUF_INIT;
        cleanup_free char *path = NULL, *p_cpu = NULL, *p_mem = NULL, *p_blk = NULL;
        cleanup_free char *d_cpu = NULL, *d_mem = NULL, *d_blk = NULL, *d_uni = NULL;
        mx_metrics_sample s = {0};
        mx_cgroup_dirs dirs = {0};
        struct statfs sf;
        struct timespec ts;
        long ncpu;
        int r;

        if (!out || pid <= 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no process to sample");
        if (!cgroup_root)
                cgroup_root = "/sys/fs/cgroup";
        if (asprintf(&path, "/proc/%d/cgroup", pid) < 0)
                return mx_error_oom(err);
        r = mx_buf_read_file(&cg, path, STAT_FILE_MAX, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "read the cgroup of process %d", pid);
        if (statfs(cgroup_root, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
                cleanup_free char *p = cgroup_path_of(cg.ptr, "");

                if (!p || asprintf(&d_uni, "%s%s", cgroup_root, p) < 0)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0,
                                            "process %d has no cgroup v2 path", pid);
                dirs.version = 2;
                dirs.unified = d_uni;
        } else {
                p_cpu = cgroup_path_of(cg.ptr, "cpuacct");
                p_mem = cgroup_path_of(cg.ptr, "memory");
                p_blk = cgroup_path_of(cg.ptr, "blkio");
                if (!p_cpu || !p_mem)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0,
                                            "process %d has no cpuacct or memory cgroup", pid);
                if (asprintf(&d_cpu, "%s/cpuacct%s", cgroup_root, p_cpu) < 0 ||
                    asprintf(&d_mem, "%s/memory%s", cgroup_root, p_mem) < 0 ||
                    (p_blk && asprintf(&d_blk, "%s/blkio%s", cgroup_root, p_blk) < 0))
                        return mx_error_oom(err);
                dirs.version = 1;
                dirs.cpuacct = d_cpu;
                dirs.memory = d_mem;
                dirs.blkio = d_blk;
        }
        r = mx_metrics_read_cgroup(&s, &dirs, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "read the cgroup of process %d", pid);
        free(path);
        path = NULL;
        if (asprintf(&path, "/proc/%d/net/dev", pid) < 0)
                return mx_error_oom(err);
        r = mx_buf_read_file(&nd, path, STAT_FILE_MAX, err);
        if (r < 0)
                return r;
        r = mx_metrics_parse_net_dev(&s.net_rx_bytes, &s.net_tx_bytes, nd.ptr, err);
        if (r < 0)
                return r;
        r = host_cpu_ns(&s.system_cpu_ns, err);
        if (r < 0)
                return r;
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        s.online_cpus = ncpu > 0 ? (uint32_t)ncpu : 1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s.mono_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        *out = s;
        return 0;
}

/* Two decimals, half away from zero (no libm needed). */
static double round2(double v)
{
        double s = v * 100.0;

        if (isnan(s) || s > 9e15 || s < -9e15)
                return v;
        return (double)(long long)(s < 0 ? s - 0.5 : s + 0.5) / 100.0;
}

static double clamp01(double v)
{
        if (isnan(v) || v < 0)
                return 0;
        return v > 1 ? 1 : v;
}

double mx_metrics_performance_score(double cpu_percent, double cpu_capacity_percent,
                                    double mem_used, double mem_limit, const char *health,
                                    int64_t restart_count)
{
        double cpu_head =
                cpu_capacity_percent > 0 ? 1 - clamp01(cpu_percent / cpu_capacity_percent) : 1;
        double mem_head = mem_limit > 0 ? 1 - clamp01(mem_used / mem_limit) : 1;
        double h = 1;
        double penalty = restart_count > 0 ? 5.0 * (double)restart_count : 0;
        double score;

        if (health && strcmp(health, "unhealthy") == 0)
                h = 0;
        else if (health && strcmp(health, "starting") == 0)
                h = 0.5;
        if (penalty > 20)
                penalty = 20;
        score = 100.0 * (0.4 * cpu_head + 0.4 * mem_head + 0.2 * h) - penalty;
        if (score < 0)
                score = 0;
        if (score > 100)
                score = 100;
        return round2(score);
}

static uint64_t host_memory(void)
{
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

        return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

static double mb(uint64_t bytes)
{
        return (double)bytes / 1e6;
}

void mx_metrics_compute(mx_container_metrics *out, const mx_metrics_sample *prev,
                        const mx_metrics_sample *cur, const mx_metrics_context *ctx)
{
        mx_container_metrics m;
        struct timespec ts;
        int64_t now;
        time_t secs;
        struct tm tm;
        double cpu = 0, capacity;
        uint64_t limit;

        memset(&m, 0, sizeof(m));
        if (ctx && ctx->now_unix_ns) {
                now = ctx->now_unix_ns;
        } else {
                clock_gettime(CLOCK_REALTIME, &ts);
                now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        }
        snprintf(m.container_name, sizeof(m.container_name), "%s",
                 ctx && ctx->container_name ? ctx->container_name : "");
        secs = (time_t)(now / 1000000000LL);
        gmtime_r(&secs, &tm);
        snprintf(m.timestamp, sizeof(m.timestamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long long)((now % 1000000000LL) / 1000) % 1000000);
        if (prev && cur->cpu_usage_ns >= prev->cpu_usage_ns &&
            cur->system_cpu_ns > prev->system_cpu_ns) {
                double cpu_delta = (double)(cur->cpu_usage_ns - prev->cpu_usage_ns);
                double sys_delta = (double)(cur->system_cpu_ns - prev->system_cpu_ns);

                cpu = cpu_delta / sys_delta * (double)(cur->online_cpus ? cur->online_cpus : 1) *
                      100.0;
        }
        m.cpu_usage_percent = round2(cpu);
        limit = cur->memory_limit;
        if (!limit)
                limit = ctx && ctx->host_memory ? ctx->host_memory : host_memory();
        m.memory_usage_mb = mb(cur->memory_usage);
        m.memory_limit_mb = mb(limit);
        m.network_rx_mb = mb(cur->net_rx_bytes);
        m.network_tx_mb = mb(cur->net_tx_bytes);
        m.disk_read_mb = mb(cur->io_read_bytes);
        m.disk_write_mb = mb(cur->io_write_bytes);
        if (ctx && ctx->started_unix_ns > 0 && now > ctx->started_unix_ns)
                m.uptime_seconds = (double)(now - ctx->started_unix_ns) / 1e9;
        m.restart_count = ctx ? ctx->restart_count : 0;
        /* The seed has three values; "starting" is neither healthy nor unhealthy yet. */
        snprintf(m.health_status, sizeof(m.health_status), "%s",
                 ctx && ctx->health &&
                                 (strcmp(ctx->health, "healthy") == 0 ||
                                  strcmp(ctx->health, "unhealthy") == 0)
                         ? ctx->health
                         : "unknown");
        capacity = 100.0 * (ctx && ctx->cpu_limit > 0
                                    ? ctx->cpu_limit
                                    : (double)(cur->online_cpus ? cur->online_cpus : 1));
        m.performance_score = mx_metrics_performance_score(
                m.cpu_usage_percent, capacity, (double)cur->memory_usage, (double)limit,
                ctx ? ctx->health : NULL, m.restart_count);
        *out = m;
}

char *mx_metrics_to_json(const mx_container_metrics *m)
{
        cleanup_json json_t *o = NULL;

        if (!m)
                return NULL;
        o = json_pack("{s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:s,s:f}", "container_name",
                      m->container_name, "timestamp", m->timestamp, "cpu_usage_percent",
                      m->cpu_usage_percent, "memory_usage_mb", m->memory_usage_mb,
                      "memory_limit_mb", m->memory_limit_mb, "network_rx_mb", m->network_rx_mb,
                      "network_tx_mb", m->network_tx_mb, "disk_read_mb", m->disk_read_mb,
                      "disk_write_mb", m->disk_write_mb, "uptime_seconds", m->uptime_seconds,
                      "restart_count", (json_int_t)m->restart_count, "health_status",
                      m->health_status, "performance_score", m->performance_score);
        if (!o)
                return NULL;
        return json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
}

int mx_metrics_collect(mx_container_metrics *out, int pid, const mx_metrics_context *ctx,
                       int interval_ms, mx_error **err)
{
        mx_metrics_sample a, b;
        struct timespec ts;
        int r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no output for metrics");
        if (interval_ms <= 0)
                interval_ms = 1000;
        r = mx_metrics_sample_pid(&a, pid, NULL, err);
        if (r < 0)
                return r;
        ts.tv_sec = interval_ms / 1000;
        ts.tv_nsec = (long)(interval_ms % 1000) * 1000000L;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        r = mx_metrics_sample_pid(&b, pid, NULL, err);
        if (r < 0)
                return r;
        mx_metrics_compute(out, &a, &b, ctx);
        return 0;
}
