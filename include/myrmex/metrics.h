/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file metrics.h
 * The seed's ContainerMetrics from the cgroup (v1 and v2) and the container's network
 * namespace, and the HEALTHCHECK state machine the monitor drives.
 *
 * Everything here is pure or reads files only; nothing is thread-shared.
 */
#ifndef MYRMEX_METRICS_H
#define MYRMEX_METRICS_H

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/* ------------------------------------------------------------------------------------ */
/* Raw samples                                                                           */

/** One reading of a container's counters. */
typedef struct mx_metrics_sample {
        int64_t mono_ns;        /**< CLOCK_MONOTONIC when read */
        uint64_t cpu_usage_ns;  /**< cumulative CPU time of the cgroup */
        uint64_t system_cpu_ns; /**< cumulative CPU time of the host (/proc/stat) */
        uint32_t online_cpus;
        uint64_t memory_usage; /**< bytes (v1 usage_in_bytes minus cache, v2 current
                                    minus inactive_file, as docker stats shows) */
        uint64_t memory_limit; /**< bytes; 0 when unlimited */
        uint64_t io_read_bytes;
        uint64_t io_write_bytes;
        uint64_t net_rx_bytes; /**< summed over the namespace's interfaces but lo */
        uint64_t net_tx_bytes;
        int cgroup_version; /**< 1 or 2 */
} mx_metrics_sample;

/** Where a container's cgroup files are. v1: one directory per controller. */
typedef struct mx_cgroup_dirs {
        int version;         /**< 1 or 2 */
        const char *unified; /**< v2: the cgroup directory */
        const char *cpuacct; /**< v1 */
        const char *memory;  /**< v1 */
        const char *blkio;   /**< v1 */
} mx_cgroup_dirs;

/**
 * Read the cgroup counters from explicit directories (recorded files in tests). Fills
 * cpu, memory, io and cgroup_version; leaves the other fields untouched.
 * @return 0; MX_ENOTFOUND when a required file is missing; MX_EFORMAT when malformed
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_metrics_read_cgroup(mx_metrics_sample *out, const mx_cgroup_dirs *dirs, mx_error **err);

/** Sum rx/tx bytes of a /proc/<pid>/net/dev text, skipping "lo". MX_EFORMAT if malformed. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_metrics_parse_net_dev(uint64_t *rx_out, uint64_t *tx_out,
                                                             const char *text, mx_error **err);

/**
 * A full sample for a running container: its cgroup found through /proc/<pid>/cgroup
 * under cgroup_root (NULL: /sys/fs/cgroup; v2 when it is a cgroup2 mount, else v1), its
 * network bytes from /proc/<pid>/net/dev (the pid's namespace), host CPU from /proc/stat.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_metrics_sample_pid(mx_metrics_sample *out, int pid,
                                                          const char *cgroup_root, mx_error **err);

/* ------------------------------------------------------------------------------------ */
/* ContainerMetrics                                                                      */

/** The seed's ContainerMetrics, field for field. */
typedef struct mx_container_metrics {
        char container_name[256];
        char timestamp[64];       /**< RFC 3339 UTC */
        double cpu_usage_percent; /**< docker stats' formula: 100% = one CPU */
        double memory_usage_mb;   /**< 10^6 bytes */
        double memory_limit_mb;   /**< the cgroup limit, or the host's memory */
        double network_rx_mb;
        double network_tx_mb;
        double disk_read_mb;
        double disk_write_mb;
        double uptime_seconds;
        int64_t restart_count;
        char health_status[16];   /**< "healthy", "unhealthy" or "unknown" */
        double performance_score; /**< 0-100, formula in docs/internals/network.md */
} mx_container_metrics;

/** What the samples do not know. */
typedef struct mx_metrics_context {
        const char *container_name;
        int64_t started_unix_ns; /**< when the container started (wall clock) */
        int64_t now_unix_ns;     /**< 0: now */
        int64_t restart_count;
        const char *health;   /**< "healthy", "unhealthy", "starting", NULL: no check */
        double cpu_limit;     /**< --cpus, 0: none (the host's CPUs count) */
        uint64_t host_memory; /**< bytes, used when the cgroup has no limit; 0: read */
} mx_metrics_context;

/**
 * Compute ContainerMetrics from two samples (prev may be NULL: CPU percent 0) as
 * `docker stats` does: cpu% = (cpu delta / host cpu delta) * online cpus * 100.
 */
MX_EXTERN void mx_metrics_compute(mx_container_metrics *out, const mx_metrics_sample *prev,
                                  const mx_metrics_sample *cur, const mx_metrics_context *ctx);

/**
 * performance_score (0-100): 100 * (0.4 * cpu headroom + 0.4 * memory headroom + 0.2 *
 * health) - 5 per restart (at most 20), clamped. See docs/internals/network.md.
 */
MX_EXTERN double mx_metrics_performance_score(double cpu_percent, double cpu_capacity_percent,
                                              double mem_used, double mem_limit, const char *health,
                                              int64_t restart_count);

/**
 * The whole measurement for a running container in one call (what `stats --no-stream` and
 * `manage_containers("stats", name)` need): sample pid, wait interval_ms (0: 1000), sample
 * again, compute. Blocks for the interval. Fails like mx_metrics_sample_pid().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_metrics_collect(mx_container_metrics *out, int pid,
                                                       const mx_metrics_context *ctx,
                                                       int interval_ms, mx_error **err);

/** The seed's JSON object (one line, keys in the seed's order). Caller frees with mx_free(). */
MX_EXTERN char *mx_metrics_to_json(const mx_container_metrics *m);

/* ------------------------------------------------------------------------------------ */
/* Health checks                                                                         */

typedef enum mx_health_status {
        MX_HEALTH_NONE = 0, /**< no health check */
        MX_HEALTH_STARTING,
        MX_HEALTH_HEALTHY,
        MX_HEALTH_UNHEALTHY,
} mx_health_status;

/** A HEALTHCHECK: Docker's defaults are interval 30 s, timeout 30 s, retries 3. */
typedef struct mx_health_config {
        char **test; /**< NULL-terminated: {"CMD", argv...} or {"CMD-SHELL", cmd};
                          NULL or {"NONE"}: disabled */
        int64_t interval_ns;
        int64_t timeout_ns;
        int64_t start_period_ns;
        int64_t start_interval_ns; /**< probe interval during the start period, 0: interval */
        int retries;
} mx_health_config;

MX_EXTERN void mx_health_config_free(mx_health_config *c);

/**
 * Parse the image config's Healthcheck object ({"Test":[..],"Interval":ns,...}) text, then
 * apply the flags that are set (NULL / negative = not given). no_healthcheck disables.
 * @param out receives a config, or NULL when the check is disabled or absent
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_health_config_build(mx_health_config **out, const char *image_healthcheck_json,
                       const char *health_cmd, const char *interval, const char *timeout,
                       const char *start_period, int retries, int no_healthcheck, mx_error **err);

/** The argv to exec in the container for one probe (CMD-SHELL -> /bin/sh -c). NULL-terminated,
 * borrowed from nothing: caller frees each and the list with mx_free(). */
MX_EXTERN char **mx_health_probe_argv(const mx_health_config *c);

/** The health state of one container. Opaque; free with mx_health_free(). */
typedef struct mx_health mx_health;

/** New state at container start (status starting). started_ns: any monotonic clock. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_health_new(mx_health **out, const mx_health_config *c,
                                                  int64_t started_ns, mx_error **err);
MX_EXTERN void mx_health_free(mx_health *h);

/** When the next probe is due, on the same clock as started_ns. */
MX_EXTERN int64_t mx_health_next_probe_ns(const mx_health *h);

/**
 * Record one probe: exit code 0 is success, anything else (timed_out set, or a code) a
 * failure. Failures inside the start period do not count; retries consecutive counted
 * failures make the status unhealthy; one success makes it healthy. The last 5 results
 * are kept, output capped at 4096 bytes.
 * @param start_unix_ns, end_unix_ns wall clock for the log; mono_end_ns the monotonic end
 * @return the new status
 */
MX_EXTERN mx_health_status mx_health_record(mx_health *h, int64_t mono_end_ns,
                                            int64_t start_unix_ns, int64_t end_unix_ns,
                                            int exit_code, int timed_out, const char *output);

MX_EXTERN mx_health_status mx_health_get_status(const mx_health *h);
MX_EXTERN int mx_health_failing_streak(const mx_health *h);
/** "starting", "healthy", "unhealthy", "none". Static storage. */
MX_EXTERN const char *mx_health_status_name(mx_health_status s);

/** Docker's State.Health JSON: {"Status":..,"FailingStreak":..,"Log":[{"Start","End",
 * "ExitCode","Output"}]}. Caller frees with mx_free(). */
MX_EXTERN char *mx_health_to_json(const mx_health *h);
/** Restore a state saved with mx_health_to_json (the monitor restarting). */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_health_from_json(mx_health **out, const mx_health_config *c,
                                                        const char *json, int64_t now_ns,
                                                        mx_error **err);

MX_END_DECLS

#endif
