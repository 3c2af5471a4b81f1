/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the container runtime module: bundle generation, cgroups, the state
 * database, the OCI runtime driver, the monitor and the log files. */
#ifndef MX_RUNTIME_INTERNAL_H
#define MX_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <myrmex/runtime.h>

#include "buf.h"
#include "cleanup.h"

/* ---- cgroups (cgroup.c) ---------------------------------------------------------------- */

typedef enum mx_cgroup_mode {
        MX_CGROUP_V1 = 1,     /* only v1 hierarchies */
        MX_CGROUP_HYBRID = 2, /* v1 hierarchies plus a cgroup2 mount (unified) */
        MX_CGROUP_V2 = 3,     /* /sys/fs/cgroup is cgroup2 */
} mx_cgroup_mode;

/* Classify the layout from a mountinfo text (as /proc/self/mountinfo). The cgroup2 mount
 * point of hybrid layouts goes to unified_out (caller frees; may be NULL). */
int mx_runtime__cgroup_mode_parse(const char *mountinfo, mx_cgroup_mode *mode_out,
                                  char **unified_out);
/* The same from the running system (cached per process). */
mx_cgroup_mode mx_runtime__cgroup_mode(char **unified_out);
const char *mx_runtime__cgroup_mode_name(mx_cgroup_mode mode);

/* The relative cgroup path myrmex asks the runtime for: "/myrmex/<id>". */
char *mx_runtime__cgroup_path(const char *id);

/* Directory of a controller's cgroup for a container: v2 "<fsroot>/<cgpath>", v1
 * "<fsroot>/<controller>/<cgpath>". fsroot is "/sys/fs/cgroup" except in tests. */
char *mx_runtime__cgroup_dir(const char *fsroot, mx_cgroup_mode mode, const char *controller,
                             const char *cgpath);

typedef struct mx_cgroup_stats {
        int64_t memory_usage;  /* bytes, -1 unknown */
        int64_t memory_limit;  /* bytes, -1 unlimited or unknown */
        int64_t oom_kills;     /* -1 unknown */
        int64_t pids_current;  /* -1 unknown */
        int64_t pids_limit;    /* -1 unlimited or unknown */
        int64_t cpu_usage_ns;  /* -1 unknown */
        int64_t cpu_quota_us;  /* -1 unlimited */
        int64_t cpu_period_us; /* -1 unknown */
} mx_cgroup_stats;

/* Read what is there; missing files leave -1. Fails only on an absent cgroup. */
int mx_runtime__cgroup_stats(const char *fsroot, mx_cgroup_mode mode, const char *cgpath,
                             mx_cgroup_stats *out, mx_error **err);
/* PIDs in the container's cgroup (v2 cgroup.procs, v1 the pids or memory controller's). */
int mx_runtime__cgroup_pids(const char *fsroot, mx_cgroup_mode mode, const char *cgpath,
                            pid_t **pids_out, size_t *n_out, mx_error **err);

/* ---- bundle generation (spec.c, seccomp.c) --------------------------------------------- */

typedef struct mx_spec_input {
        const json_t *config;       /* the container configuration (see runtime.h) */
        const json_t *image_config; /* the image's "config" object (Entrypoint, Cmd...); NULL */
        const char *id;
        const char *name;
        const char *rootfs;        /* the rootfs directory, to read /etc/passwd and /etc/group */
        const char *container_dir; /* holds hosts, hostname, resolv.conf */
        const char *init_path;     /* static init binary for "init": true, or NULL */
        mx_cgroup_mode cgroup_mode;
        const struct rlimit *nofile_hard; /* caller limits; NULL: getrlimit() */
        uint64_t cap_bounding;            /* the caller's capability bounding set; 0: read CapBnd */
        const char *netns_path; /* join this network namespace (CNI networks); NULL: a new one */
        const json_t *mounts;   /* OCI mounts for volumes, binds and tmpfs resolved at create;
                                   NULL: bind mounts from the configuration's "volumes" */
} mx_spec_input;

/* The OCI runtime spec (config.json) for a container. Writes nothing to disk. */
int mx_runtime__spec_build(json_t **out, const mx_spec_input *in, mx_error **err);

/* Resolve "user", "user:group", "uid", "uid:gid" against passwd and group texts (either may be
 * NULL). additional gids from group membership of the user name. */
int mx_runtime__resolve_user(const char *spec, const char *passwd, const char *group, uint32_t *uid,
                             uint32_t *gid, uint32_t **groups, size_t *n_groups, mx_error **err);

/* Docker's default capability set, as OCI names ("CAP_CHOWN"...); static storage. */
extern const char *const mx_runtime__default_caps[];
extern const char *const mx_runtime__all_caps[];

/* Docker's default seccomp profile as an OCI linux.seccomp object for the given
 * capability names (some syscalls are allowed only with a capability). */
json_t *mx_runtime__seccomp_default(const json_t *caps);

/* Parse "1.5" CPUs into a CFS quota for period 100000 us. MX_EINVAL. */
int mx_runtime__parse_cpus(const char *s, int64_t *quota_out, uint64_t *period_out);
/* Parse "on-failure:3" etc. kind: 0 no, 1 always, 2 unless-stopped, 3 on-failure. */
int mx_runtime__parse_restart(const char *s, int *kind_out, int *max_out);

/* Write a file through a temporary name and rename, without fsync: for the bundle and the
 * generated files, which are regenerated or useless after a power loss. */
int mx_runtime__write_file(const char *path, const void *data, size_t len, mode_t mode,
                           mx_error **err);

/* Generated files in the container directory: hosts, hostname, resolv.conf. */
int mx_runtime__write_etc_files(const char *container_dir, const json_t *config,
                                const char *hostname, mx_error **err);

/* ---- the state database (db.c) ---------------------------------------------------------- */

typedef struct mx_ctr {
        char *id;
        char *name;
        char *image;
        char *image_id;
        char *config_json; /* the creation configuration */
        char *state;       /* created running paused restarting removing exited dead */
        int64_t pid;
        int64_t pid_start; /* start time of pid in clock ticks since boot (/proc/PID/stat 22) */
        int64_t monitor_pid;
        int64_t monitor_start;
        int64_t exit_code;
        int64_t created;     /* unix ns */
        int64_t started_at;  /* unix ns, 0 never */
        int64_t finished_at; /* unix ns, 0 never */
        int64_t restart_count;
        int64_t oom_killed;
        int64_t stop_requested;
        char *error;
        char *command; /* the process's args joined by spaces, as ps shows them */
} mx_ctr;

void mx_ctr_free(mx_ctr *c);
MX_DEFINE_FREEP(mx_ctr, mx_ctr_free)

typedef struct mx_store mx_store;
int mx_runtime__db_schema(mx_store *store, mx_error **err);
int mx_runtime__db_insert(sqlite3 *db, const mx_ctr *c, mx_error **err);
int mx_runtime__db_get(sqlite3 *db, const char *id, mx_ctr **out, mx_error **err);
/* ref: name, full id, unique prefix. */
int mx_runtime__db_resolve(sqlite3 *db, const char *ref, mx_ctr **out, mx_error **err);
int mx_runtime__db_list(sqlite3 *db, mx_ctr ***out, size_t *n_out, mx_error **err);
void mx_runtime__ctr_list_free(mx_ctr **list, size_t n);
int mx_runtime__db_delete(sqlite3 *db, const char *id, mx_error **err);
/* Run a statement "UPDATE containers SET ... WHERE id=?" with printf-formatted SET clause;
 * the id is bound as the last parameter. The format is sqlite3_mprintf()'s (%Q quotes). */
int mx_runtime__db_update(sqlite3 *db, const char *id, mx_error **err, const char *set_fmt, ...);

/* ---- processes ------------------------------------------------------------------------- */

/* Start time (field 22 of /proc/PID/stat), or -1 when the process is gone. */
int64_t mx_runtime__proc_start_time(pid_t pid);
/* 1 if pid is alive with that start time. */
int mx_runtime__proc_alive(pid_t pid, int64_t start);
int64_t mx_runtime__now_ns(void);
/* RFC 3339 with nanoseconds, UTC: buf of 40 bytes. */
void mx_runtime__rfc3339(char *buf, size_t len, int64_t ns);
int mx_runtime__parse_rfc3339(const char *s, int64_t *ns_out);

/* ---- the OCI runtime driver (driver.c) -------------------------------------------------- */

typedef struct mx_driver {
        char *path;                /* the runtime's executable */
        char *name;                /* "crun", "runc", or the file name */
        char *state_root;          /* --root */
        int hide_controllers;      /* apply the hybrid-cgroup workaround (crun only) */
        char *unified_controllers; /* the file to hide */
} mx_driver;

int mx_driver_init(mx_driver *d, const char *runtime, const char *store_root, mx_error **err);
void mx_driver_clear(mx_driver *d);

typedef struct mx_driver_io {
        int in, out, err;    /* fds for the runtime's stdio; -1: /dev/null */
        mx_buf *capture_err; /* capture stderr instead (when err == -1) */
        mx_buf *capture_out; /* capture stdout instead (when out == -1) */
} mx_driver_io;

/* Run the runtime with args (after the global --root). Returns 0 and *status (exit code or
 * 128+signal). */
int mx_driver_run(const mx_driver *d, const char *const *args, const mx_driver_io *io, int *status,
                  mx_error **err);
/* Spawn without waiting; returns the pid. */
int mx_driver_spawn(const mx_driver *d, const char *const *args, const mx_driver_io *io,
                    pid_t *pid_out, mx_error **err);
/* Simple verbs: "delete" (with --force), "kill ID SIG", "pause", "resume". Runtime's stderr
 * goes into the error message. */
int mx_driver_simple(const mx_driver *d, const char *const *args, mx_error **err);
/* The runtime's version line. */
char *mx_driver_version(const mx_driver *d);

/* ---- the runtime handle ---------------------------------------------------------------- */

struct mx_runtime {
        char *root;
        mx_store *store;
        sqlite3 *db; /* the store's connection, borrowed */
        mx_driver drv;
        mx_cgroup_mode cgroup_mode;
        int pre_ctl; /* control socket of a monitor spawned ahead, or -1 */
};

char *mx_runtime__ctr_dir(const mx_runtime *rt, const char *id);
/* Liveness check that fixes the record when both process and monitor are gone. */
int mx_runtime__refresh(mx_runtime *rt, mx_ctr *c, mx_error **err);
/* The myrmex binary for the monitor: $MYRMEX_BINARY, beside libmyrmex.so, PATH. */
char *mx_runtime__find_binary(void);

/* ---- logs (logs.c) --------------------------------------------------------------------- */

typedef struct mx_logw {
        char *path;
        int fd;
        uint64_t size;
        uint64_t max_size; /* 0: no rotation */
        unsigned max_files;
        mx_buf partial[3]; /* per stream, bytes waiting for a newline */
} mx_logw;

int mx_logw_open(mx_logw *w, const char *path, uint64_t max_size, unsigned max_files,
                 mx_error **err);
/* Add bytes of a stream; complete lines are written, a partial one is kept (up to 16 KiB). */
int mx_logw_write(mx_logw *w, int stream, const char *data, size_t len);
/* Write the partial lines too. */
void mx_logw_flush(mx_logw *w);
void mx_logw_close(mx_logw *w);
/* JSON-escape into b. */
int mx_runtime__json_escape(mx_buf *b, const char *s, size_t len);
/* Parse one JSON log line (fast path for our own format, jansson otherwise). The decoded log
 * text goes to text (cleared first). */
int mx_runtime__log_parse_line(const char *line, size_t len, mx_buf *text, int *stream,
                               char *time_buf, size_t time_len);

/* ---- monitor (monitor.c) --------------------------------------------------------------- */

#define MX_MONITOR_WAIT_ATTACH 1u
#define MX_MONITOR_PRE         2u /* spawned ahead: the assignment comes over fd 3 */

/* Frame I/O on the attach socket. */
int mx_runtime__frame_write(int fd, int type, const void *data, size_t len);
/* Read a whole frame; payload malloc'ed into *data (NUL-terminated). 0 on EOF, 1 on frame. */
int mx_runtime__frame_read(int fd, int *type, char **data, size_t *len);

#endif
