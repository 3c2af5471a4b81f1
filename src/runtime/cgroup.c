/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup layouts (v1, hybrid, v2) and reading a container's cgroup files for both. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error-internal.h"
#include "parse.h"
#include "runtime-internal.h"

int mx_runtime__cgroup_mode_parse(const char *mountinfo, mx_cgroup_mode *mode_out,
                                  char **unified_out)
{
        const char *line = mountinfo;
        int root_v2 = 0, have_v1 = 0;
        char unified[4096] = "";

        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                char buf[8192], *fields[16], *p = buf, *t, *fstype = NULL, *mnt;
                int n = 0, sep = -1;

                if (len < sizeof(buf)) {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        while (n < 16 && (t = strsep(&p, " ")) != NULL) {
                                if (strcmp(t, "-") == 0 && sep < 0)
                                        sep = n;
                                fields[n++] = t;
                        }
                        if (sep > 4 && sep + 1 < n) {
                                fstype = fields[sep + 1];
                                mnt = fields[4];
                                if (strcmp(fstype, "cgroup2") == 0) {
                                        if (strcmp(mnt, "/sys/fs/cgroup") == 0)
                                                root_v2 = 1;
                                        else if (!unified[0])
                                                snprintf(unified, sizeof(unified), "%s", mnt);
                                } else if (strcmp(fstype, "cgroup") == 0) {
                                        have_v1 = 1;
                                }
                        }
                }
                line = end ? end + 1 : NULL;
        }
        if (root_v2)
                *mode_out = MX_CGROUP_V2;
        else if (have_v1 && unified[0])
                *mode_out = MX_CGROUP_HYBRID;
        else if (have_v1)
                *mode_out = MX_CGROUP_V1;
        else
                return MX_ENOTFOUND;
        if (unified_out) {
                *unified_out = NULL;
                if (*mode_out == MX_CGROUP_HYBRID) {
                        *unified_out = strdup(unified);
                        if (!*unified_out)
                                return MX_ENOMEM;
                }
        }
        return 0;
}

mx_cgroup_mode mx_runtime__cgroup_mode(char **unified_out)
{
        static mx_cgroup_mode cached;
        static char *cached_unified;
        mx_buf b = MX_BUF_INIT;

        if (!cached) {
                mx_cgroup_mode m = MX_CGROUP_V1;

                if (mx_buf_read_file(&b, "/proc/self/mountinfo", 4 << 20, NULL) >= 0)
                        (void)mx_runtime__cgroup_mode_parse(b.ptr, &m, &cached_unified);
                mx_buf_clear(&b);
                cached = m;
        }
        if (unified_out)
                *unified_out = cached_unified ? strdup(cached_unified) : NULL;
        return cached;
}

const char *mx_runtime__cgroup_mode_name(mx_cgroup_mode mode)
{
        switch (mode) {
        case MX_CGROUP_V2:
                return "v2";
        case MX_CGROUP_HYBRID:
                return "hybrid";
        case MX_CGROUP_V1:
        default:
                return "v1";
        }
}

char *mx_runtime__cgroup_path(const char *id)
{
        char *p = NULL;

        if (asprintf(&p, "/myrmex/%s", id) < 0)
                return NULL;
        return p;
}

char *mx_runtime__cgroup_dir(const char *fsroot, mx_cgroup_mode mode, const char *controller,
                             const char *cgpath)
{
        char *p = NULL;
        int r;

        while (*cgpath == '/')
                cgpath++;
        if (mode == MX_CGROUP_V2)
                r = asprintf(&p, "%s/%s", fsroot, cgpath);
        else
                r = asprintf(&p, "%s/%s/%s", fsroot, controller, cgpath);
        return r < 0 ? NULL : p;
}

/* First whitespace-separated token of a file as an int64; "max" is -1. */
static int read_i64(const char *dir, const char *file, int64_t *out)
{
        char path[4096], buf[64];
        FILE *f;
        size_t n;
        uint64_t v;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        f = fopen(path, "re");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        buf[strcspn(buf, " \n")] = '\0';
        if (strcmp(buf, "max") == 0) {
                *out = -1;
                return 0;
        }
        if (mx_parse_u64(buf, &v) < 0 || v > INT64_MAX)
                return -1;
        *out = (int64_t)v;
        return 0;
}

/* Value of "key N" in a flat keyed file (memory.events, cpu.stat, memory.oom_control). */
static int read_keyed(const char *dir, const char *file, const char *key, int64_t *out)
{
        char path[4096], line[256];
        size_t klen = strlen(key);
        FILE *f;
        int found = -1;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                uint64_t v;

                line[strcspn(line, "\n")] = '\0';
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ' &&
                    mx_parse_u64(line + klen + 1, &v) == 0 && v <= INT64_MAX) {
                        *out = (int64_t)v;
                        found = 0;
                        break;
                }
        }
        fclose(f);
        return found;
}

int mx_runtime__cgroup_stats(const char *fsroot, mx_cgroup_mode mode, const char *cgpath,
                             mx_cgroup_stats *out, mx_error **err)
{
        mx_cgroup_stats s = {-1, -1, -1, -1, -1, -1, -1, -1};
        cleanup_free char *mem = mx_runtime__cgroup_dir(fsroot, mode, "memory", cgpath);
        cleanup_free char *pids = mx_runtime__cgroup_dir(fsroot, mode, "pids", cgpath);
        cleanup_free char *cpu = mx_runtime__cgroup_dir(fsroot, mode, "cpu", cgpath);
        cleanup_free char *cpuacct = mx_runtime__cgroup_dir(fsroot, mode, "cpuacct", cgpath);
        struct stat st;

        if (!mem || !pids || !cpu || !cpuacct)
                return mx_error_oom(err);
        if (stat(mem, &st) < 0 && stat(pids, &st) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "cgroup of '%s'", cgpath);
        if (mode == MX_CGROUP_V2) {
                int64_t q;

                (void)read_i64(mem, "memory.current", &s.memory_usage);
                (void)read_i64(mem, "memory.max", &s.memory_limit);
                (void)read_keyed(mem, "memory.events", "oom_kill", &s.oom_kills);
                (void)read_i64(pids, "pids.current", &s.pids_current);
                (void)read_i64(pids, "pids.max", &s.pids_limit);
                if (read_keyed(cpu, "cpu.stat", "usage_usec", &q) == 0)
                        s.cpu_usage_ns = q * 1000;
                {
                        /* cpu.max: "QUOTA PERIOD" or "max PERIOD" */
                        char path[4096], buf[64];
                        FILE *f;

                        snprintf(path, sizeof(path), "%s/cpu.max", cpu);
                        f = fopen(path, "re");
                        if (f) {
                                if (fgets(buf, sizeof(buf), f)) {
                                        char *sp = strchr(buf, ' ');
                                        uint64_t v;

                                        if (sp) {
                                                *sp++ = '\0';
                                                sp[strcspn(sp, "\n")] = '\0';
                                                if (mx_parse_u64(sp, &v) == 0)
                                                        s.cpu_period_us = (int64_t)v;
                                        }
                                        if (strcmp(buf, "max") != 0 && mx_parse_u64(buf, &v) == 0)
                                                s.cpu_quota_us = (int64_t)v;
                                }
                                fclose(f);
                        }
                }
        } else {
                int64_t lim;

                (void)read_i64(mem, "memory.usage_in_bytes", &s.memory_usage);
                /* v1 reports "no limit" as a huge page-rounded number */
                if (read_i64(mem, "memory.limit_in_bytes", &lim) == 0)
                        s.memory_limit = lim >= (INT64_MAX / 4096) * 4096 / 2 ? -1 : lim;
                if (read_keyed(mem, "memory.oom_control", "oom_kill", &s.oom_kills) < 0) {
                        /* kernels before 4.13 lack the oom_kill counter: under_oom tells
                         * at least that the limit was hit */
                        (void)read_keyed(mem, "memory.oom_control", "under_oom", &s.oom_kills);
                }
                (void)read_i64(pids, "pids.current", &s.pids_current);
                (void)read_i64(pids, "pids.max", &s.pids_limit);
                (void)read_i64(cpuacct, "cpuacct.usage", &s.cpu_usage_ns);
                (void)read_i64(cpu, "cpu.cfs_quota_us", &s.cpu_quota_us);
                (void)read_i64(cpu, "cpu.cfs_period_us", &s.cpu_period_us);
        }
        *out = s;
        return 0;
}

int mx_runtime__cgroup_pids(const char *fsroot, mx_cgroup_mode mode, const char *cgpath,
                            pid_t **pids_out, size_t *n_out, mx_error **err)
{
        const char *ctl[] = {"pids", "memory", "cpu"};
        cleanup_free pid_t *pids = NULL;
        size_t n = 0;
        FILE *f = NULL;
        char line[64];

        for (size_t i = 0; i < 3 && !f; i++) {
                cleanup_free char *dir = mx_runtime__cgroup_dir(fsroot, mode, ctl[i], cgpath);
                char path[4096];

                if (!dir)
                        return mx_error_oom(err);
                snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
                f = fopen(path, "re");
        }
        if (!f)
                return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, ENOENT, "no cgroup for '%s'",
                                    cgpath);
        while (fgets(line, sizeof(line), f)) {
                uint64_t v;
                pid_t *np;

                line[strcspn(line, "\n")] = '\0';
                if (mx_parse_u64(line, &v) < 0)
                        continue;
                np = realloc(pids, (n + 1) * sizeof(pid_t));
                if (!np) {
                        fclose(f);
                        return mx_error_oom(err);
                }
                pids = np;
                pids[n++] = (pid_t)v;
        }
        fclose(f);
        *pids_out = TAKE_PTR(pids);
        *n_out = n;
        return 0;
}
