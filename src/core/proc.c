/* SPDX-License-Identifier: Apache-2.0 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error-internal.h"

extern char **environ;

char *mx_proc_which(const char *name)
{
        const char *path = getenv("PATH");
        cleanup_free char *copy = NULL;
        char *save = NULL;

        if (strchr(name, '/'))
                return access(name, X_OK) == 0 ? strdup(name) : NULL;
        copy = strdup(path && *path
                              ? path
                              : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if (!copy)
                return NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *full = NULL;
                struct stat st;

                if (asprintf(&full, "%s/%s", dir, name) < 0)
                        return NULL;
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
                        return full;
                free(full);
        }
        return NULL;
}

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mx_proc_run(const char *const *argv, const mx_proc_opts *opts, int *status_out, mx_error **err)
{
        static const mx_proc_opts no_opts;
        int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
        posix_spawn_file_actions_t fa;
        cleanup_free char *exe = NULL;
        char *const *spawn_argv;
        size_t in_off = 0;
        long long deadline;
        int status, r = 0, timed_out = 0;
        pid_t pid;

        if (!opts)
                opts = &no_opts;
        exe = mx_proc_which(argv[0]);
        if (!exe)
                return mx_error_set(err, MX_ENOTFOUND, MX_D_SYS, ENOENT,
                                    "program '%s' not found in PATH", argv[0]);
        if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
            pipe2(err_pipe, O_CLOEXEC) < 0) {
                r = mx_error_errno(err, MX_D_SYS, "create pipes for '%s'", argv[0]);
                goto out;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
        if (opts->cwd)
                posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
        /* posix_spawn's prototype predates const; it does not write argv. */
        memcpy(&spawn_argv, &argv, sizeof(argv));
        r = posix_spawn(&pid, exe, &fa, NULL, spawn_argv, opts->env ? opts->env : environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                r = mx_error_errno_val(err, r, MX_D_SYS, "run '%s'", argv[0]);
                goto out;
        }
        close(in_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[1]);
        in_pipe[0] = out_pipe[1] = err_pipe[1] = -1;
        if (!opts->stdin_data || opts->stdin_len == 0) {
                close(in_pipe[1]);
                in_pipe[1] = -1;
        }
        deadline = opts->timeout_ms > 0 ? now_ms() + opts->timeout_ms : 0;
        while (out_pipe[0] >= 0 || err_pipe[0] >= 0 || in_pipe[1] >= 0) {
                struct pollfd pfd[3] = {{in_pipe[1], POLLOUT, 0},
                                        {out_pipe[0], POLLIN, 0},
                                        {err_pipe[0], POLLIN, 0}};
                int wait_ms = -1, n;

                if (deadline) {
                        long long left = deadline - now_ms();

                        if (left <= 0) {
                                timed_out = 1;
                                (void)kill(pid, SIGKILL);
                                break;
                        }
                        wait_ms = (int)left;
                }
                n = poll(pfd, 3, wait_ms);
                if (n < 0 && errno != EINTR)
                        break;
                if (n <= 0)
                        continue;
                if (pfd[0].revents) {
                        ssize_t w =
                                (pfd[0].revents & POLLOUT)
                                        ? write(in_pipe[1], (const char *)opts->stdin_data + in_off,
                                                opts->stdin_len - in_off)
                                        : -1;

                        if (w > 0)
                                in_off += (size_t)w;
                        if (w < 0 || in_off >= opts->stdin_len) {
                                close(in_pipe[1]);
                                in_pipe[1] = -1;
                        }
                }
                for (int i = 1; i <= 2; i++) {
                        int *fdp = i == 1 ? &out_pipe[0] : &err_pipe[0];
                        mx_buf *dst = i == 1 ? opts->stdout_buf : opts->stderr_buf;
                        char chunk[16384];
                        ssize_t got;

                        if (!pfd[i].revents)
                                continue;
                        got = read(*fdp, chunk, sizeof(chunk));
                        if (got > 0) {
                                /* Output past a buffer's cap is dropped, never an error. */
                                if (dst)
                                        (void)mx_buf_put(dst, chunk, (size_t)got);
                        } else if (got == 0 || errno != EINTR) {
                                close(*fdp);
                                *fdp = -1;
                        }
                }
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        r = mx_error_errno(err, MX_D_SYS, "wait for '%s'", argv[0]);
                        goto out;
                }
        }
        if (timed_out) {
                r = mx_error_set(err, MX_ETIMEOUT, MX_D_SYS, 0, "'%s' did not finish within %d ms",
                                 argv[0], opts->timeout_ms);
                goto out;
        }
        *status_out = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        r = 0;
out:
        for (int i = 0; i < 2; i++) {
                if (in_pipe[i] >= 0)
                        close(in_pipe[i]);
                if (out_pipe[i] >= 0)
                        close(out_pipe[i]);
                if (err_pipe[i] >= 0)
                        close(err_pipe[i]);
        }
        return r;
}
