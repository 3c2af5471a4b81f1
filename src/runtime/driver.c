/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driving an OCI runtime through its standard command line.
 *
 * crun 1.8 refuses hybrid cgroup hosts whose cgroup2 mount lists a controller in
 * cgroup.controllers ("cgroups in hybrid mode not supported"). On such hosts every crun
 * invocation runs in a private mount namespace where that one file is hidden under
 * /dev/null: crun then treats the cgroup2 mount as empty and uses the v1 controllers, which
 * is the layout's real state for everything but hugetlb.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error-internal.h"
#include "fs.h"
#include "proc.h"
#include "runtime-internal.h"

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s ? s + 1 : path;
}

int mx_driver_init(mx_driver *d, const char *runtime, const char *store_root, mx_error **err)
{
        cleanup_free char *path = NULL, *unified = NULL;
        mx_driver nd = {0};
        int r;

        if (!runtime || !*runtime)
                runtime = getenv("MYRMEX_RUNTIME");
        if (runtime && *runtime) {
                path = mx_proc_which(runtime);
                if (!path)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, ENOENT,
                                            "OCI runtime '%s' not found", runtime);
        } else {
                path = mx_proc_which("crun");
                if (!path)
                        path = mx_proc_which("runc");
                if (!path)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, ENOENT,
                                            "no OCI runtime found: install crun or runc, or "
                                            "name one with --runtime");
        }
        nd.name = strdup(base_name(path));
        if (!nd.name || asprintf(&nd.state_root, "%s/run/%s", store_root, nd.name) < 0) {
                free(nd.name);
                return mx_error_oom(err);
        }
        r = mx_fs_mkdir_p(nd.state_root, 0700, err);
        if (r < 0) {
                mx_driver_clear(&nd);
                return r;
        }
        if (strstr(nd.name, "crun") && mx_runtime__cgroup_mode(&unified) == MX_CGROUP_HYBRID &&
            unified) {
                cleanup_free char *file = NULL;
                mx_buf b = MX_BUF_INIT;

                if (asprintf(&file, "%s/cgroup.controllers", unified) < 0) {
                        mx_driver_clear(&nd);
                        return mx_error_oom(err);
                }
                if (mx_buf_read_file(&b, file, 65536, NULL) >= 0 && b.len > strspn(b.ptr, " \n")) {
                        nd.hide_controllers = 1;
                        nd.unified_controllers = TAKE_PTR(file);
                }
                mx_buf_clear(&b);
        }
        nd.path = TAKE_PTR(path);
        *d = nd;
        return 0;
}

void mx_driver_clear(mx_driver *d)
{
        free(d->path);
        free(d->name);
        free(d->state_root);
        free(d->unified_controllers);
        memset(d, 0, sizeof(*d));
}

/* In the forked child: hide the controllers file, wire stdio, exec. Only async-signal-safe
 * calls here. */
static void __attribute__((noreturn))
child_exec(const mx_driver *d, char *const *argv, int in, int out, int errfd)
{
        sigset_t all;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (d->hide_controllers) {
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("/dev/null", d->unified_controllers, NULL, MS_BIND, NULL) < 0)
                        _exit(125);
        }
        if (in < 0)
                in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0)
                out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (errfd < 0)
                errfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        /* move above 2 first so dup2 never clobbers one we still need */
        in = fcntl(in, F_DUPFD_CLOEXEC, 3);
        out = fcntl(out, F_DUPFD_CLOEXEC, 3);
        errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
        if (in < 0 || out < 0 || errfd < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(errfd, 2) < 0)
                _exit(125);
        execv(d->path, argv);
        _exit(errno == ENOENT ? 127 : 126);
}

static char **build_argv(const mx_driver *d, const char *const *args)
{
        size_t n = 0;
        char **argv;

        while (args[n])
                n++;
        argv = calloc(n + 4, sizeof(char *));
        if (!argv)
                return NULL;
        /* argv strings are not written by exec; the casts only drop const for execv */
        argv[0] = (char *)(uintptr_t)d->path;
        argv[1] = (char *)(uintptr_t) "--root";
        argv[2] = d->state_root;
        for (size_t i = 0; i < n; i++)
                argv[3 + i] = (char *)(uintptr_t)args[i];
        return argv;
}

int mx_driver_spawn(const mx_driver *d, const char *const *args, const mx_driver_io *io,
                    pid_t *pid_out, mx_error **err)
{
        cleanup_free char **argv = build_argv(d, args);
        pid_t pid;

        if (!argv)
                return mx_error_oom(err);
        pid = fork();
        if (pid < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "fork for '%s'", d->name);
        if (pid == 0)
                child_exec(d, argv, io ? io->in : -1, io ? io->out : -1, io ? io->err : -1);
        *pid_out = pid;
        return 0;
}

int mx_driver_run(const mx_driver *d, const char *const *args, const mx_driver_io *io,
                  int *status_out, mx_error **err)
{
        mx_driver_io local = {-1, -1, -1, NULL, NULL};
        int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
        pid_t pid;
        int r, status;

        if (io)
                local = *io;
        if (local.capture_out && local.out < 0) {
                if (pipe2(out_pipe, O_CLOEXEC) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "pipe");
                local.out = out_pipe[1];
        }
        if (local.capture_err && local.err < 0) {
                if (pipe2(err_pipe, O_CLOEXEC) < 0) {
                        if (out_pipe[0] >= 0) {
                                close(out_pipe[0]);
                                close(out_pipe[1]);
                        }
                        return mx_error_errno(err, MX_D_RUNTIME, "pipe");
                }
                local.err = err_pipe[1];
        }
        r = mx_driver_spawn(d, args, &local, &pid, err);
        if (out_pipe[1] >= 0)
                close(out_pipe[1]);
        if (err_pipe[1] >= 0)
                close(err_pipe[1]);
        if (r < 0) {
                if (out_pipe[0] >= 0)
                        close(out_pipe[0]);
                if (err_pipe[0] >= 0)
                        close(err_pipe[0]);
                return r;
        }
        while (out_pipe[0] >= 0 || err_pipe[0] >= 0) {
                struct pollfd pfd[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};

                if (poll(pfd, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &out_pipe[0] : &err_pipe[0];
                        mx_buf *b = i == 0 ? local.capture_out : local.capture_err;
                        char chunk[8192];
                        ssize_t n;

                        if (*fd < 0 || !pfd[i].revents)
                                continue;
                        n = read(*fd, chunk, sizeof(chunk));
                        if (n > 0) {
                                (void)mx_buf_put(b, chunk, (size_t)n);
                        } else if (n == 0 || errno != EINTR) {
                                close(*fd);
                                *fd = -1;
                        }
                }
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return mx_error_errno(err, MX_D_RUNTIME, "wait for '%s'", d->name);
        }
        *status_out = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

/* The runtime's message: its JSON log lines ("msg") or plain text, trimmed. */
static void trim(mx_buf *b)
{
        while (b->len && (b->ptr[b->len - 1] == '\n' || b->ptr[b->len - 1] == ' '))
                mx_buf_truncate(b, b->len - 1);
}

int mx_driver_simple(const mx_driver *d, const char *const *args, mx_error **err)
{
        mx_buf eb = MX_BUF_INIT_CAP(65536);
        mx_driver_io io = {-1, -1, -1, &eb, NULL};
        int status = 0, r;

        r = mx_driver_run(d, args, &io, &status, err);
        if (r >= 0 && status != 0) {
                trim(&eb);
                r = mx_error_set(err, MX_EFAIL, MX_D_RUNTIME, 0, "%s %s: %s", d->name, args[0],
                                 eb.len ? eb.ptr : "failed");
        }
        mx_buf_clear(&eb);
        return r;
}

char *mx_driver_version(const mx_driver *d)
{
        mx_buf out = MX_BUF_INIT_CAP(65536);
        const char *args[] = {"--version", NULL};
        mx_driver_io io = {-1, -1, -1, NULL, &out};
        int status;
        char *nl;

        if (mx_driver_run(d, args, &io, &status, NULL) < 0 || status != 0) {
                mx_buf_clear(&out);
                return NULL;
        }
        nl = strchr(out.ptr, '\n');
        if (nl)
                mx_buf_truncate(&out, (size_t)(nl - out.ptr));
        return mx_buf_detach(&out);
}
