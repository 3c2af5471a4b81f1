/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file runtime.h
 * Containers: OCI runtime bundles driven through an OCI runtime's command line (crun, runc,
 * or any other), a small detached monitor per container (the myrmex binary itself) that
 * owns the container's stdio, writes its log and applies its restart policy, and the
 * lifecycle operations (create, start, stop, kill, remove, wait, list, inspect, logs, exec,
 * pause, top, prune).
 *
 * There is no daemon: the state lives in the store's database (table `containers`) and in
 * `containers/<id>/` under the store root, and liveness comes from the processes themselves
 * (pid plus start time from /proc), so every call reports the truth after any crash.
 *
 * Container configurations are JSON documents: the seed's ContainerConfig (image, name,
 * command, environment, ports, volumes, networks, resources, restart_policy, labels) with
 * docker-py's value shapes, plus the keys listed in docs/internals/runtime.md (entrypoint,
 * hostname, extra_hosts, user, working_dir, tty, stdin_open, read_only, tmpfs, cap_add,
 * cap_drop, privileged, security_opt, init, ulimits, auto_remove, rootfs, network_mode,
 * log_opts, stop_signal, stop_timeout, env; for networks, ports, volumes and health checks:
 * publish, publish_all, network_aliases, dns, dns_search, dns_options, mounts, healthcheck,
 * health_cmd, health_interval, health_timeout, health_start_period, health_retries,
 * no_healthcheck).
 *
 * Errors are in domain #MX_D_RUNTIME. Handles are not thread-safe; use one per thread.
 * Several processes may use one store at once.
 */
#ifndef MYRMEX_RUNTIME_H
#define MYRMEX_RUNTIME_H

#include <stdint.h>

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/** An open runtime context on one store root. Opaque; free with mx_runtime_free(). */
typedef struct mx_runtime mx_runtime;

#define MX_RUNTIME_OPTS_VERSION 1

/** Options of mx_runtime_open(); start from MX_RUNTIME_OPTS_INIT. */
typedef struct mx_runtime_opts {
        unsigned int version; /**< MX_RUNTIME_OPTS_VERSION */
        /** Store root; NULL: $MYRMEX_ROOT, else /var/lib/myrmex. Borrowed during the call. */
        const char *root;
        /**
         * OCI runtime: "crun", "runc", or a path to any runtime with the standard command line.
         * NULL: $MYRMEX_RUNTIME, else crun when installed, else runc.
         */
        const char *runtime;
} mx_runtime_opts;

#define MX_RUNTIME_OPTS_INIT            \
        {                               \
                MX_RUNTIME_OPTS_VERSION \
        }

/**
 * Open the runtime context: creates the store directories it needs and the containers table.
 * @param out caller owns, free with mx_runtime_free()
 * @return 0, MX_EINVAL, MX_ENOTFOUND (no runtime found), MX_EIO, MX_EDENIED
 */
MX_EXTERN int mx_runtime_open(mx_runtime **out, const mx_runtime_opts *opts,
                              mx_error **err) MX_WARN_UNUSED_RESULT;

/** Free a runtime context. NULL is fine. */
MX_EXTERN void mx_runtime_free(mx_runtime *rt);

/**
 * What is in use, as a JSON object: {"runtime": "crun", "runtime_path": "/usr/bin/crun",
 * "runtime_version": "...", "cgroup_mode": "v1"|"v2"|"hybrid", "crun_hybrid_workaround":
 * true|false, "root": "...", "containers": N, "running": N}. Caller frees *json_out with
 * mx_free().
 */
MX_EXTERN int mx_runtime_info(mx_runtime *rt, char **json_out,
                              mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Create a container from a configuration (see the file comment): resolves the image, mounts
 * its root filesystem, writes the OCI bundle and records the container in state "created".
 * @param id_out the full 64-hex ID; caller frees with mx_free()
 * Networks (`network_mode` "none", "host", "bridge" (the default) or a network's name, and
 * the seed's `networks` list) are checked here and attached when the container starts;
 * `ports` (docker-py's shapes or `-p` strings), `publish`, `publish_all` are parsed here
 * (ignored under none/host, flagged by `_ports_discarded` in the stored configuration);
 * named and anonymous volumes in `volumes` and `mounts` (`--mount` strings) are created and
 * seeded from the image here; the HEALTHCHECK merges the image's with `health_cmd`,
 * `health_interval`, `health_timeout`, `health_start_period`, `health_retries`,
 * `no_healthcheck` or docker-py's `healthcheck` object.
 * @return 0, MX_EINVAL (bad configuration, with the key named), MX_ENOTFOUND (image,
 *         network), MX_EEXISTS (name in use), MX_EIO
 */
MX_EXTERN int mx_container_create(mx_runtime *rt, const char *config_json, char **id_out,
                                  mx_error **err) MX_WARN_UNUSED_RESULT;

/** mx_container_start() flags */
enum {
        /**
         * The monitor waits (up to 30 s) for a first mx_container_attach() before it starts
         * the process, so an attached client sees all of its output.
         */
        MX_START_WAIT_ATTACH = 1u << 0,
};

/**
 * Start a created or exited container: spawns its detached monitor, which runs the process.
 * Returns once the monitor reports the process started (or failed to).
 * @return 0, MX_ENOTFOUND, MX_EBUSY (already running), MX_EFAIL (the runtime failed; the
 *         error carries its message); with MX_START_WAIT_ATTACH it returns at once.
 */
MX_EXTERN int mx_container_start(mx_runtime *rt, const char *ref, unsigned int flags,
                                 mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Spawn a container monitor ahead of time, so that its start-up overlaps the caller's own
 * work (creating the container); the next mx_container_start() on this handle hands it the
 * container instead of spawning one. A monitor that gets no container (the handle is freed
 * first) exits. Optional: mx_container_start() spawns one when none is waiting.
 * @return 0, MX_ENOTFOUND (no myrmex binary), MX_EIO
 */
MX_EXTERN int mx_runtime_prepare_monitor(mx_runtime *rt, mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Fork a container monitor ahead of time WITHOUT re-executing the myrmex binary: the child
 * (detached: new session, adopted by init, stdio on /dev/null, every other inherited fd
 * closed, signal handlers reset) runs the monitor's body in this process image, which saves
 * the exec and the dynamic loading of the whole library. Only for a program that links the
 * library and has opened no store, database or thread yet (the myrmex CLI, at the start of
 * `run`): SQLite connections and threads must not cross a fork. root and runtime are what the
 * caller will pass to mx_runtime_open() (may be NULL for the defaults). *ctl_out gets the
 * control socket to give to mx_runtime_adopt_monitor(); the caller owns it. The child
 * rewrites the caller's command line in place to `ARGV0 __monitor --pre` (as an exec'ed
 * monitor's); when it is too short for that, nothing is forked: MX_EUNSUPPORTED, and
 * mx_runtime_prepare_monitor() is the way.
 * @return 0, MX_EUNSUPPORTED, MX_EIO
 */
MX_EXTERN int mx_runtime_fork_monitor(const char *root, const char *runtime, int *ctl_out,
                                      mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Give a handle the monitor of mx_runtime_fork_monitor(): the next mx_container_start() hands
 * it the container, as with mx_runtime_prepare_monitor(). Takes ownership of ctl_fd (closed
 * when the handle already has a monitor waiting, or on error).
 * @return 0, MX_EINVAL
 */
MX_EXTERN int mx_runtime_adopt_monitor(mx_runtime *rt, int ctl_fd,
                                       mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Connect to a running container's monitor. *fd_out is a stream socket speaking frames of
 * [type:1][length:4, big endian][payload]: from the monitor 1 = stdout, 2 = stderr,
 * 3 = exit (payload: decimal exit code), 8 = error (payload: message); to the monitor
 * 0 = stdin, 4 = stdin closed, 5 = resize ("ROWS COLS"), 6 = signal (decimal number),
 * 7 = go (start the process when the monitor waits for an attach).
 * @param fd_out caller owns and closes
 */
MX_EXTERN int mx_container_attach(mx_runtime *rt, const char *ref, int *fd_out,
                                  mx_error **err) MX_WARN_UNUSED_RESULT;

/** Frame types of the attach protocol. */
enum {
        MX_ATTACH_STDIN = 0,
        MX_ATTACH_STDOUT = 1,
        MX_ATTACH_STDERR = 2,
        MX_ATTACH_EXIT = 3,
        MX_ATTACH_STDIN_EOF = 4,
        MX_ATTACH_RESIZE = 5,
        MX_ATTACH_SIGNAL = 6,
        MX_ATTACH_GO = 7,
        MX_ATTACH_ERROR = 8,
};

/**
 * Stop: the stop signal (the image's, else SIGTERM), then SIGKILL after timeout_s seconds
 * (-1: the container's stop_timeout, else 10). The restart policy does not restart it.
 * Stopping a container that is not running is success.
 */
MX_EXTERN int mx_container_stop(mx_runtime *rt, const char *ref, int timeout_s,
                                mx_error **err) MX_WARN_UNUSED_RESULT;

/** Send a signal to the container's process. MX_EBUSY... MX_EINVAL when it is not running. */
MX_EXTERN int mx_container_kill(mx_runtime *rt, const char *ref, int signo,
                                mx_error **err) MX_WARN_UNUSED_RESULT;

/** mx_container_remove() flags */
enum {
        MX_REMOVE_FORCE = 1u << 0,   /**< kill a running container first */
        MX_REMOVE_VOLUMES = 1u << 1, /**< also remove its anonymous volumes (rm -v) */
};

/** Remove a container, its bundle, log and record. MX_EBUSY when running without FORCE. */
MX_EXTERN int mx_container_remove(mx_runtime *rt, const char *ref, unsigned int flags,
                                  mx_error **err) MX_WARN_UNUSED_RESULT;

/** Wait until the container is not running; *exit_code_out gets its exit code. */
MX_EXTERN int mx_container_wait(mx_runtime *rt, const char *ref, int *exit_code_out,
                                mx_error **err) MX_WARN_UNUSED_RESULT;

/** Resolve a name, full ID or unique ID prefix. MX_ENOTFOUND, MX_EAMBIGUOUS. */
MX_EXTERN int mx_container_resolve(mx_runtime *rt, const char *ref, char **id_out,
                                   mx_error **err) MX_WARN_UNUSED_RESULT;

/** mx_container_list() flags */
enum {
        MX_LIST_ALL = 1u << 0, /**< include containers that are not running */
};

/**
 * The containers as a JSON array, newest first, each object with Docker's `ps --format json`
 * field names (ID full, Names, Image, Command, CreatedAt, RunningFor, Status, State, Ports,
 * Labels, Mounts, Networks) plus Created (unix seconds), ExitCode, Pid and RestartCount.
 * Caller frees *json_out with mx_free().
 */
MX_EXTERN int mx_container_list(mx_runtime *rt, unsigned int flags, char **json_out,
                                mx_error **err) MX_WARN_UNUSED_RESULT;

/** One container as Docker's `inspect` object (Id, Name, State, Config, HostConfig...). */
MX_EXTERN int mx_container_inspect(mx_runtime *rt, const char *ref, char **json_out,
                                   mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * The seed's ContainerMetrics of a running container as a JSON object (one line, the seed's
 * keys in its order): two samples of its cgroup, /proc/stat and its network namespace's
 * counters interval_ms apart (0: 1000), CPU percent as `docker stats` computes it, and
 * performance_score (docs/internals/network.md). Blocks for the interval.
 * Caller frees *json_out with mx_free().
 * @return 0, MX_ENOTFOUND, MX_EINVAL (not running), MX_EIO
 */
MX_EXTERN int mx_container_stats(mx_runtime *rt, const char *ref, int interval_ms, char **json_out,
                                 mx_error **err) MX_WARN_UNUSED_RESULT;

/** Freeze / thaw all the container's processes. */
MX_EXTERN int mx_container_pause(mx_runtime *rt, const char *ref,
                                 mx_error **err) MX_WARN_UNUSED_RESULT;
MX_EXTERN int mx_container_unpause(mx_runtime *rt, const char *ref,
                                   mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * The container's processes as JSON {"Titles": [...], "Processes": [[...], ...]} (Docker's
 * top shape: UID PID PPID C STIME TTY TIME CMD).
 */
MX_EXTERN int mx_container_top(mx_runtime *rt, const char *ref, char **json_out,
                               mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Run a process in a running container with the caller's stdin, stdout and stderr (a
 * terminal when tty is set and stdin is one). exec_json: {"args": [...], "env": ["K=V"],
 * "user": "u[:g]", "working_dir": "/", "tty": false}. *exit_code_out gets the process's
 * exit code (126 / 127 when it cannot be invoked / is not found). "interactive": false gives
 * the process /dev/null as stdin (the default passes the caller's).
 */
MX_EXTERN int mx_container_exec(mx_runtime *rt, const char *ref, const char *exec_json,
                                int *exit_code_out, mx_error **err) MX_WARN_UNUSED_RESULT;

#define MX_LOGS_OPTS_VERSION 1

/** Options of mx_container_logs(); start from MX_LOGS_OPTS_INIT. */
typedef struct mx_logs_opts {
        unsigned int version; /**< MX_LOGS_OPTS_VERSION */
        int follow;           /**< keep reading until the container stops */
        int64_t tail;         /**< only the last N lines; -1 for all */
        int64_t since_ns;     /**< only lines at or after this unix time in ns; 0 for all */
        int64_t until_ns;     /**< only lines before this time; 0 for no bound */
} mx_logs_opts;

#define MX_LOGS_OPTS_INIT                         \
        {                                         \
                MX_LOGS_OPTS_VERSION, 0, -1, 0, 0 \
        }

/**
 * One log line: stream 1 = stdout, 2 = stderr; time_ns since the epoch; rfc3339 is the
 * recorded timestamp text; data/len the bytes (with their newline when they had one).
 * Return non-zero to stop reading.
 */
typedef int (*mx_log_line_cb)(int stream, int64_t time_ns, const char *rfc3339, const char *data,
                              size_t len, void *userdata);

/** Read a container's log (JSON lines, rotated files in order). */
MX_EXTERN int mx_container_logs(mx_runtime *rt, const char *ref, const mx_logs_opts *opts,
                                mx_log_line_cb cb, void *userdata,
                                mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * Copy between a container's root filesystem and the host: exactly one of src and dst has
 * the form "CONTAINER:PATH"; paths inside the container are resolved inside its root (no
 * symlink escapes). Files and directory trees are copied with their modes.
 */
MX_EXTERN int mx_container_copy(mx_runtime *rt, const char *src, const char *dst,
                                mx_error **err) MX_WARN_UNUSED_RESULT;

/** Remove every container that is not running. *json_out: {"ContainersDeleted": [...]}. */
MX_EXTERN int mx_container_prune(mx_runtime *rt, char **json_out,
                                 mx_error **err) MX_WARN_UNUSED_RESULT;

/**
 * The monitor's body, for the CLI's hidden `__monitor` verb: never returns on success paths
 * that matter to the caller; returns an exit status for the process. Do not call otherwise.
 */
MX_EXTERN int mx_runtime_monitor_main(const char *root, const char *runtime, const char *id,
                                      unsigned int flags);

/**
 * The Python face's entry point: operation "create", "start", "stop", "remove", "restart",
 * "logs" or "stats" on container_name, with config_json (ContainerConfig, for create; may be
 * NULL) and options_json (kwargs: {"root": ..., "runtime": ..., "timeout": 10, "force":
 * false, "volumes": false, "tail": N, "start": true, "interval_ms": 1000}). *result_json gets
 * the seed's dictionary (operation, container_name, success, container_id, status,
 * execution_time, logs, error_message; "metrics" with the seed's ContainerMetrics for stats)
 * on success; on failure the function returns < 0 and fills err. Caller frees with
 * mx_free().
 */
MX_EXTERN int mx_manage_containers(const char *operation, const char *container_name,
                                   const char *config_json, const char *options_json,
                                   char **result_json, mx_error **err) MX_WARN_UNUSED_RESULT;

MX_END_DECLS

#endif
