/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container monitor: `myrmex __monitor ID`, detached, one per running container. It is a
 * child subreaper, so the container's process (forked by the runtime's `run -d`, whose own
 * process exits) becomes its child and its exit status arrives by waitpid(). It owns the
 * container's stdio (pipes, or the pty master the runtime passes over the console socket),
 * writes the JSON-lines log, serves attach clients on containers/<id>/attach.sock, records
 * every state change in the database, and applies the restart policy with Docker's back-off
 * (100 ms doubling, reset after 10 s of running).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/volume.h>

#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "json.h"
#include "netwire.h"
#include "parse.h"
#include "runtime-internal.h"
#include "strv.h"

int mx_runtime__attach_listen(mx_runtime *rt, const char *id, mx_error **err);
int mx_runtime__rootfs_ensure(mx_runtime *rt, const char *id, mx_error **err);
void mx_runtime__remove_files(mx_runtime *rt, const char *id, int runtime_delete);

#define MAX_CLIENTS 32
#define FRAME_MAX   (1u << 20)

/* ---- frames ------------------------------------------------------------------------------ */

static int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

                if (n < 0 && errno == ENOTSOCK)
                        n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd pf = {fd, POLLOUT, 0};

                                (void)poll(&pf, 1, 1000);
                                continue;
                        }
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int mx_runtime__frame_write(int fd, int type, const void *data, size_t len)
{
        unsigned char hdr[5];

        hdr[0] = (unsigned char)type;
        hdr[1] = (unsigned char)(len >> 24);
        hdr[2] = (unsigned char)(len >> 16);
        hdr[3] = (unsigned char)(len >> 8);
        hdr[4] = (unsigned char)len;
        if (write_all(fd, hdr, 5) < 0)
                return -1;
        return len ? write_all(fd, data, len) : 0;
}

static int read_exact(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t got = 0;

        while (got < len) {
                ssize_t n = read(fd, p + got, len - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd pf = {fd, POLLIN, 0};

                        (void)poll(&pf, 1, 1000);
                        continue;
                }
                if (n <= 0)
                        return got == 0 && n == 0 ? 0 : -1;
                got += (size_t)n;
        }
        return 1;
}

int mx_runtime__frame_read(int fd, int *type, char **data, size_t *len)
{
        unsigned char hdr[5];
        size_t n;
        char *buf;
        int r = read_exact(fd, hdr, 5);

        if (r <= 0)
                return r;
        n = ((size_t)hdr[1] << 24) | ((size_t)hdr[2] << 16) | ((size_t)hdr[3] << 8) | hdr[4];
        if (n > FRAME_MAX)
                return -1;
        buf = malloc(n + 1);
        if (!buf)
                return -1;
        if (n && read_exact(fd, buf, n) != 1) {
                free(buf);
                return -1;
        }
        buf[n] = '\0';
        *type = hdr[0];
        *data = buf;
        *len = n;
        return 1;
}

/* ---- state -------------------------------------------------------------------------------- */

typedef struct monitor {
        mx_runtime *rt;
        char *id;
        char *dir;
        json_t *cfg;
        int ready_fd;
        int listen_fd;
        int clients[MAX_CLIENTS];
        int n_clients;
        int sig_fd;
        int tty, open_stdin;
        int restart_kind, restart_max;
        int auto_remove;
        mx_logw log;
        /* per run */
        int out_fd, err_fd, in_fd, master_fd;
        pid_t pid;
        int go; /* an attach client said go */
        /* health checks: one probe at a time, run through the runtime's exec */
        mx_health_config *hc;
        mx_health *health;
        pid_t probe_pid;
        int probe_fd;
        int probe_timed_out;
        mx_buf probe_out;
        int64_t probe_start_unix, probe_deadline;
        int net_attached;
} monitor;

static void report(monitor *m, char kind, const char *msg)
{
        char line[2048];
        int n;

        if (m->ready_fd < 0)
                return;
        n = snprintf(line, sizeof(line), "%c%s\n", kind, msg ? msg : "");
        if (n > 0)
                (void)write_all(m->ready_fd, line,
                                (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        if (kind != 'L') {
                close(m->ready_fd);
                m->ready_fd = -1;
        }
}

static void broadcast(monitor *m, int type, const void *data, size_t len)
{
        for (int i = 0; i < m->n_clients; i++) {
                if (mx_runtime__frame_write(m->clients[i], type, data, len) < 0) {
                        close(m->clients[i]);
                        m->clients[i] = m->clients[--m->n_clients];
                        i--;
                }
        }
}

static void drop_client(monitor *m, int idx)
{
        close(m->clients[idx]);
        m->clients[idx] = m->clients[--m->n_clients];
}

static void accept_clients(monitor *m)
{
        for (;;) {
                int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0)
                        return;
                if (m->n_clients >= MAX_CLIENTS) {
                        close(fd);
                        continue;
                }
                m->clients[m->n_clients++] = fd;
        }
}

static void handle_frame(monitor *m, int idx)
{
        int type;
        char *data = NULL;
        size_t len;
        int r = mx_runtime__frame_read(m->clients[idx], &type, &data, &len);

        if (r <= 0) {
                drop_client(m, idx);
                return;
        }
        switch (type) {
        case MX_ATTACH_STDIN: {
                int fd = m->tty ? m->master_fd : m->in_fd;

                if (fd >= 0 && write_all(fd, data, len) < 0 && !m->tty) {
                        close(m->in_fd);
                        m->in_fd = -1;
                }
                break;
        }
        case MX_ATTACH_STDIN_EOF:
                if (!m->tty && m->in_fd >= 0) {
                        close(m->in_fd);
                        m->in_fd = -1;
                }
                break;
        case MX_ATTACH_RESIZE:
                if (m->master_fd >= 0) {
                        unsigned rows = 0, cols = 0;
                        struct winsize ws = {0};

                        if (sscanf(data, "%u %u", &rows, &cols) == 2) {
                                ws.ws_row = (unsigned short)rows;
                                ws.ws_col = (unsigned short)cols;
                                (void)ioctl(m->master_fd, TIOCSWINSZ, &ws);
                        }
                }
                break;
        case MX_ATTACH_SIGNAL: {
                uint64_t sig;

                if (m->pid > 0 && mx_parse_u64(data, &sig) == 0 && sig > 0 && sig < 65)
                        (void)kill(m->pid, (int)sig);
                break;
        }
        case MX_ATTACH_GO:
                m->go = 1;
                break;
        default:
                break;
        }
        free(data);
}

/* ---- one run of the container ------------------------------------------------------------ */

static int recv_fd(int sock)
{
        char name[4096];
        struct iovec iov = {name, sizeof(name)};
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {0};
        struct cmsghdr *cm;
        int fd = -1;

        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0)
                return -1;
        for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        }
        return fd;
}

/* The runtime's failure message from its JSON log, and the exit code Docker would give. */
static int runtime_failure(const char *logpath, char *msg, size_t msg_len)
{
        mx_buf b = MX_BUF_INIT_CAP(1 << 20);
        int code = 125;

        snprintf(msg, msg_len, "the OCI runtime failed");
        if (mx_buf_read_file(&b, logpath, 1 << 20, NULL) >= 0) {
                char *line = b.ptr, *save = NULL;

                for (char *t = strtok_r(line, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                        json_t *j = json_loads(t, 0, NULL);
                        const char *lvl = mx_json_str(j, "level"), *m = mx_json_str(j, "msg");

                        if (m && lvl && (strcmp(lvl, "error") == 0 || strcmp(lvl, "fatal") == 0))
                                snprintf(msg, msg_len, "%s", m);
                        else if (!j && *t)
                                snprintf(msg, msg_len, "%s", t);
                        json_decref(j);
                }
        }
        mx_buf_clear(&b);
        if (strcasestr(msg, "executable file not found") || strcasestr(msg, "not found in $PATH") ||
            strcasestr(msg, "no such file or directory"))
                code = 127;
        else if (strcasestr(msg, "permission denied"))
                code = 126;
        return code;
}

static int set_nonblock(int fd)
{
        int fl = fcntl(fd, F_GETFL);

        return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Start the process; 0 with m->pid set, or the exit code to record (125/126/127). */
static int start_process(monitor *m, char *msg, size_t msg_len)
{
        cleanup_free char *pidfile = NULL, *rtlog = NULL, *sock_path = NULL;
        int out[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1};
        int csock = -1;
        mx_driver_io io = {-1, -1, -1, NULL, NULL};
        mx_error *err = NULL;
        pid_t rpid;
        int status = 0, r;
        const char *args[16];
        int n = 0;

        m->out_fd = m->err_fd = m->in_fd = m->master_fd = -1;
        m->pid = 0;
        r = mx_runtime__rootfs_ensure(m->rt, m->id, &err);
        if (r < 0) {
                cleanup_free char *s = mx_error_format(err);

                snprintf(msg, msg_len, "%s", s ? s : "mount the root filesystem");
                mx_error_free(err);
                return 125;
        }
        if (asprintf(&pidfile, "%s/pidfile", m->dir) < 0 ||
            asprintf(&rtlog, "%s/runtime.log", m->dir) < 0)
                return 125;
        (void)unlink(pidfile);
        (void)unlink(rtlog);
        args[n++] = "--log";
        args[n++] = rtlog;
        args[n++] = "--log-format";
        args[n++] = "json";
        args[n++] = "run";
        args[n++] = "--detach";
        args[n++] = "--pid-file";
        args[n++] = pidfile;
        if (m->tty) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};

                /* a short path: the runtime connects to it by name */
                if (asprintf(&sock_path, "/tmp/mx-console-%.12s-%d.sock", m->id, (int)getpid()) < 0)
                        return 125;
                (void)unlink(sock_path);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
                csock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (csock < 0 || bind(csock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
                    listen(csock, 1) < 0) {
                        snprintf(msg, msg_len, "console socket: %s", strerror(errno));
                        if (csock >= 0)
                                close(csock);
                        return 125;
                }
                args[n++] = "--console-socket";
                args[n++] = sock_path;
        } else {
                if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
                    (m->open_stdin && pipe2(in, O_CLOEXEC) < 0)) {
                        snprintf(msg, msg_len, "pipes: %s", strerror(errno));
                        return 125;
                }
                io.out = out[1];
                io.err = errp[1];
                io.in = in[0];
        }
        args[n++] = "--bundle";
        args[n++] = m->dir;
        args[n++] = m->id;
        args[n] = NULL;
        mx_fault_point("runtime-monitor-before-run");
        r = mx_driver_spawn(&m->rt->drv, args, &io, &rpid, &err);
        if (out[1] >= 0)
                close(out[1]);
        if (errp[1] >= 0)
                close(errp[1]);
        if (in[0] >= 0)
                close(in[0]);
        if (r < 0) {
                cleanup_free char *s = mx_error_format(err);

                snprintf(msg, msg_len, "%s", s ? s : "spawn the runtime");
                mx_error_free(err);
                goto fail;
        }
        if (m->tty) {
                /* the runtime sends the pty master, then exits */
                for (;;) {
                        struct pollfd pf = {csock, POLLIN, 0};
                        pid_t w;

                        if (poll(&pf, 1, 50) > 0) {
                                int c = accept4(csock, NULL, NULL, SOCK_CLOEXEC);

                                if (c >= 0) {
                                        m->master_fd = recv_fd(c);
                                        close(c);
                                        break;
                                }
                        }
                        w = waitpid(rpid, &status, WNOHANG);
                        if (w == rpid) {
                                rpid = 0;
                                break;
                        }
                }
        }
        if (rpid > 0) {
                while (waitpid(rpid, &status, 0) < 0 && errno == EINTR)
                        ;
        }
        if (csock >= 0) {
                close(csock);
                (void)unlink(sock_path);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                int code = runtime_failure(rtlog, msg, msg_len);
                const char *dargs[] = {"delete", "--force", m->id, NULL};

                (void)mx_driver_simple(&m->rt->drv, dargs, NULL);
                if (m->master_fd >= 0)
                        close(m->master_fd);
                m->master_fd = -1;
                if (out[0] >= 0)
                        close(out[0]);
                if (errp[0] >= 0)
                        close(errp[0]);
                if (in[1] >= 0)
                        close(in[1]);
                return code;
        }
        {
                mx_buf b = MX_BUF_INIT;
                uint64_t v;

                if (mx_buf_read_file(&b, pidfile, 64, NULL) < 0) {
                        mx_buf_clear(&b);
                        snprintf(msg, msg_len, "the runtime wrote no pid file");
                        goto fail;
                }
                while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
                        mx_buf_truncate(&b, b.len - 1);
                if (mx_parse_u64(b.ptr, &v) < 0 || v == 0 || v > INT32_MAX) {
                        mx_buf_clear(&b);
                        snprintf(msg, msg_len, "bad pid file");
                        goto fail;
                }
                mx_buf_clear(&b);
                m->pid = (pid_t)v;
        }
        m->out_fd = out[0];
        m->err_fd = errp[0];
        m->in_fd = in[1];
        if (m->out_fd >= 0)
                (void)set_nonblock(m->out_fd);
        if (m->err_fd >= 0)
                (void)set_nonblock(m->err_fd);
        if (m->master_fd >= 0)
                (void)set_nonblock(m->master_fd);
        return 0;
fail:
        if (out[0] >= 0)
                close(out[0]);
        if (errp[0] >= 0)
                close(errp[0]);
        if (in[1] >= 0)
                close(in[1]);
        return 125;
}

/* Read what a stream has: 2 more may follow, 1 nothing now (EAGAIN), 0 finished (EOF/EIO). */
static int pump(monitor *m, int *fd, int stream)
{
        char buf[65536];

        for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t n = read(*fd, buf, sizeof(buf));

                if (n > 0) {
                        (void)mx_logw_write(&m->log, stream, buf, (size_t)n);
                        broadcast(m, stream, buf, (size_t)n);
                        continue;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 1;
                close(*fd);
                *fd = -1;
                return 0;
        }
        return 2;
}

/* After the process exited: what is still in the pipes, without waiting for a child that
 * inherited them and lives on. */
static void drain(monitor *m, int *fd, int stream)
{
        while (*fd >= 0 && pump(m, fd, stream) == 2)
                ;
}

/* ---- health checks ------------------------------------------------------------------------ */

static int64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void health_save(monitor *m)
{
        cleanup_free char *path = mx_runtime__health_path(m->rt, m->id);
        cleanup_free char *text = m->health ? mx_health_to_json(m->health) : NULL;

        if (path && text)
                (void)mx_runtime__write_file(path, text, strlen(text), 0644, NULL);
}

/* A new run of the process: the status starts over at "starting", as Docker's does. */
static void health_begin(monitor *m)
{
        if (!m->hc)
                return;
        mx_health_free(m->health);
        m->health = NULL;
        if (mx_health_new(&m->health, m->hc, mono_ns(), NULL) < 0)
                return;
        health_save(m);
}

static void probe_spawn(monitor *m)
{
        char **argv = mx_health_probe_argv(m->hc);
        const char **args = NULL;
        size_t n = mx_strv_length(argv);
        int p[2] = {-1, -1};
        mx_driver_io io = {-1, -1, -1, NULL, NULL};
        pid_t pid;

        args = calloc(n + 3, sizeof(*args));
        if (!argv || !args || pipe2(p, O_CLOEXEC) < 0)
                goto out;
        args[0] = "exec";
        args[1] = m->id;
        for (size_t i = 0; i < n; i++)
                args[2 + i] = argv[i];
        io.out = io.err = p[1];
        m->probe_start_unix = mx_runtime__now_ns();
        if (mx_driver_spawn(&m->rt->drv, args, &io, &pid, NULL) < 0) {
                close(p[0]);
                close(p[1]);
                /* a probe that cannot start is a failed probe */
                (void)mx_health_record(m->health, mono_ns(), m->probe_start_unix,
                                       mx_runtime__now_ns(), 1, 0, "cannot run the probe");
                health_save(m);
                goto out;
        }
        close(p[1]);
        (void)set_nonblock(p[0]);
        m->probe_pid = pid;
        m->probe_fd = p[0];
        m->probe_timed_out = 0;
        mx_buf_clear(&m->probe_out);
        m->probe_deadline =
                mono_ns() + (m->hc->timeout_ns > 0 ? m->hc->timeout_ns : 30LL * 1000000000);
out:
        free(args);
        for (size_t i = 0; argv && i < n; i++)
                free(argv[i]);
        free(argv);
}

static void probe_read(monitor *m)
{
        char buf[4096];

        for (;;) {
                ssize_t n = read(m->probe_fd, buf, sizeof(buf));

                if (n > 0) {
                        if (m->probe_out.len < 8192)
                                (void)mx_buf_put(&m->probe_out, buf, (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0 || errno != EAGAIN) {
                        close(m->probe_fd);
                        m->probe_fd = -1;
                }
                return;
        }
}

static void probe_done(monitor *m, int status)
{
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

        if (m->probe_fd >= 0) {
                probe_read(m);
                if (m->probe_fd >= 0)
                        close(m->probe_fd);
                m->probe_fd = -1;
        }
        if (m->probe_timed_out)
                code = -1;
        (void)mx_health_record(m->health, mono_ns(), m->probe_start_unix, mx_runtime__now_ns(),
                               code, m->probe_timed_out, m->probe_out.ptr);
        m->probe_pid = 0;
        mx_buf_clear(&m->probe_out);
        health_save(m);
}

/* Kill a probe past its timeout (or at the process's exit) and record it. */
static void probe_kill(monitor *m, int timed_out)
{
        int st = 0;

        if (m->probe_pid <= 0)
                return;
        (void)kill(m->probe_pid, SIGKILL);
        while (waitpid(m->probe_pid, &st, 0) < 0 && errno == EINTR)
                ;
        m->probe_timed_out = timed_out;
        if (timed_out) {
                probe_done(m, st);
        } else {
                if (m->probe_fd >= 0)
                        close(m->probe_fd);
                m->probe_fd = -1;
                m->probe_pid = 0;
                mx_buf_clear(&m->probe_out);
        }
}

/* Milliseconds until the next health event (-1: none); starts a due probe. */
static int health_tick(monitor *m)
{
        int64_t now, next;

        if (!m->health)
                return -1;
        now = mono_ns();
        if (m->probe_pid > 0) {
                if (now >= m->probe_deadline) {
                        probe_kill(m, 1);
                        return 0;
                }
                return (int)((m->probe_deadline - now) / 1000000) + 1;
        }
        next = mx_health_next_probe_ns(m->health);
        if (now >= next) {
                probe_spawn(m);
                return m->probe_pid > 0 ? (int)((m->probe_deadline - now) / 1000000) + 1 : 0;
        }
        return (int)((next - now) / 1000000) + 1;
}

/* Serve the streams and clients until the process exits; returns its wait status. */
static int run_loop(monitor *m)
{
        int status = 0, exited = 0;

        while (!exited) {
                struct pollfd pf[5 + MAX_CLIENTS];
                int nf = 0, timeout_ms = health_tick(m);
                int i_out = -1, i_err = -1, i_master = -1, i_probe = -1, i_sig, i_listen, i_cl;

                if (m->out_fd >= 0) {
                        i_out = nf;
                        pf[nf++] = (struct pollfd){m->out_fd, POLLIN, 0};
                }
                if (m->err_fd >= 0) {
                        i_err = nf;
                        pf[nf++] = (struct pollfd){m->err_fd, POLLIN, 0};
                }
                if (m->master_fd >= 0) {
                        i_master = nf;
                        pf[nf++] = (struct pollfd){m->master_fd, POLLIN, 0};
                }
                if (m->probe_fd >= 0) {
                        i_probe = nf;
                        pf[nf++] = (struct pollfd){m->probe_fd, POLLIN, 0};
                }
                i_sig = nf;
                pf[nf++] = (struct pollfd){m->sig_fd, POLLIN, 0};
                i_listen = nf;
                pf[nf++] = (struct pollfd){m->listen_fd, POLLIN, 0};
                i_cl = nf;
                for (int i = 0; i < m->n_clients; i++)
                        pf[nf++] = (struct pollfd){m->clients[i], POLLIN, 0};
                if (poll(pf, (nfds_t)nf, timeout_ms) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (i_probe >= 0 && pf[i_probe].revents)
                        probe_read(m);
                if (i_out >= 0 && pf[i_out].revents)
                        (void)pump(m, &m->out_fd, MX_ATTACH_STDOUT);
                if (i_err >= 0 && pf[i_err].revents)
                        (void)pump(m, &m->err_fd, MX_ATTACH_STDERR);
                if (i_master >= 0 && pf[i_master].revents)
                        (void)pump(m, &m->master_fd, MX_ATTACH_STDOUT);
                if (pf[i_sig].revents) {
                        struct signalfd_siginfo si;

                        while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si))
                                ;
                        for (;;) {
                                int st;
                                pid_t w = waitpid(-1, &st, WNOHANG);

                                if (w <= 0)
                                        break;
                                if (w == m->pid) {
                                        status = st;
                                        exited = 1;
                                } else if (m->probe_pid > 0 && w == m->probe_pid) {
                                        probe_done(m, st);
                                }
                        }
                }
                if (pf[i_listen].revents)
                        accept_clients(m);
                for (int i = m->n_clients - 1; i >= 0; i--) {
                        if (i_cl + i < nf && pf[i_cl + i].revents)
                                handle_frame(m, i);
                }
        }
        probe_kill(m, 0);
        drain(m, &m->out_fd, MX_ATTACH_STDOUT);
        drain(m, &m->err_fd, MX_ATTACH_STDERR);
        drain(m, &m->master_fd, MX_ATTACH_STDOUT);
        if (m->out_fd >= 0)
                close(m->out_fd);
        if (m->err_fd >= 0)
                close(m->err_fd);
        if (m->master_fd >= 0)
                close(m->master_fd);
        if (m->in_fd >= 0)
                close(m->in_fd);
        m->out_fd = m->err_fd = m->master_fd = m->in_fd = -1;
        mx_logw_flush(&m->log);
        return status;
}

static int stop_requested(monitor *m)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;

        if (mx_runtime__db_get(m->rt->db, m->id, &c, NULL) < 0)
                return 1; /* removed */
        return c->stop_requested != 0;
}

/* Sleep ms while serving clients; returns 1 when a stop was requested meanwhile. */
static int backoff_sleep(monitor *m, int64_t ms)
{
        int64_t end = mx_runtime__now_ns() + ms * 1000000;

        for (;;) {
                int64_t left = (end - mx_runtime__now_ns()) / 1000000;
                struct pollfd pf[1 + MAX_CLIENTS];
                int nf = 0;

                if (stop_requested(m))
                        return 1;
                if (left <= 0)
                        return 0;
                pf[nf++] = (struct pollfd){m->listen_fd, POLLIN, 0};
                for (int i = 0; i < m->n_clients; i++)
                        pf[nf++] = (struct pollfd){m->clients[i], POLLIN, 0};
                if (poll(pf, (nfds_t)nf, (int)(left < 100 ? left : 100)) > 0) {
                        if (pf[0].revents)
                                accept_clients(m);
                        for (int i = m->n_clients - 1; i >= 0; i--) {
                                if (pf[1 + i].revents)
                                        handle_frame(m, i);
                        }
                }
        }
}

static int wait_for_go(monitor *m)
{
        int64_t end = mx_runtime__now_ns() + 30LL * 1000000000;

        while (!m->go && mx_runtime__now_ns() < end) {
                struct pollfd pf[1 + MAX_CLIENTS];
                int nf = 0;

                pf[nf++] = (struct pollfd){m->listen_fd, POLLIN, 0};
                for (int i = 0; i < m->n_clients; i++)
                        pf[nf++] = (struct pollfd){m->clients[i], POLLIN, 0};
                if (poll(pf, (nfds_t)nf, 100) > 0) {
                        if (pf[0].revents)
                                accept_clients(m);
                        for (int i = m->n_clients - 1; i >= 0; i--) {
                                if (pf[1 + i].revents)
                                        handle_frame(m, i);
                        }
                }
        }
        return m->go;
}

static void setup_config(monitor *m)
{
        const char *rp = mx_json_str(m->cfg, "restart_policy");
        json_t *lo = json_object_get(m->cfg, "log_opts");

        if (json_is_object(json_object_get(m->cfg, "restart_policy"))) {
                json_t *o = json_object_get(m->cfg, "restart_policy");
                json_t *mx = json_object_get(o, "MaximumRetryCount");

                rp = mx_json_str(o, "Name");
                if (mx_runtime__parse_restart(rp, &m->restart_kind, &m->restart_max) == 0 &&
                    json_is_integer(mx))
                        m->restart_max = (int)json_integer_value(mx);
        } else {
                (void)mx_runtime__parse_restart(rp, &m->restart_kind, &m->restart_max);
        }
        m->tty = json_is_true(json_object_get(m->cfg, "tty"));
        m->open_stdin = json_is_true(json_object_get(m->cfg, "stdin_open"));
        m->auto_remove = json_is_true(json_object_get(m->cfg, "auto_remove"));
        (void)mx_runtime__health_config(&m->hc, m->cfg);
        {
                uint64_t max_size = 0, max_file = 1;
                const char *s = mx_json_str(lo, "max-size");
                const char *f = mx_json_str(lo, "max-file");
                cleanup_free char *path = NULL;

                if (s)
                        (void)mx_parse_size(s, &max_size);
                if (f)
                        (void)mx_parse_u64(f, &max_file);
                if (asprintf(&path, "%s/%s-json.log", m->dir, m->id) >= 0)
                        (void)mx_logw_open(&m->log, path, max_size,
                                           (unsigned)(max_file ? max_file : 1), NULL);
        }
}

/* Read "ID FLAGS" and the listening socket from the control socket. */
static int receive_assignment(monitor *m, char *id, size_t id_len, unsigned int *flags)
{
        char buf[128];
        struct iovec iov = {buf, sizeof(buf) - 1};
        union {
                char b[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {0};
        struct cmsghdr *cm;
        unsigned long f = 0;
        ssize_t n;
        int lfd = -1;

        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = u.b;
        msg.msg_controllen = sizeof(u.b);
        do {
                n = recvmsg(m->ready_fd, &msg, MSG_CMSG_CLOEXEC);
        } while (n < 0 && errno == EINTR);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        memcpy(&lfd, CMSG_DATA(cm), sizeof(int));
        }
        if (sscanf(buf, "%70s %lu", id, &f) != 2 || strlen(id) >= id_len) {
                if (lfd >= 0)
                        close(lfd);
                return -1;
        }
        if (lfd >= 0) {
                (void)fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
                m->listen_fd = lfd;
        }
        *flags = (unsigned int)f;
        return 0;
}

int mx_runtime_monitor_main(const char *root, const char *runtime, const char *id,
                            unsigned int flags)
{
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        monitor m = {0};
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        const char *rfd = getenv("MYRMEX_MONITOR_READY_FD");
        uint64_t v;
        sigset_t mask;
        int64_t delay_ms = 0;
        int rc = 0;
        mx_error *err = NULL;
        char pre_id[80];

        m.ready_fd = rfd && mx_parse_u64(rfd, &v) == 0 && v < 1024 ? (int)v : -1;
        if (m.ready_fd >= 0)
                (void)fcntl(m.ready_fd, F_SETFD, FD_CLOEXEC);
        m.listen_fd = m.sig_fd = m.probe_fd = -1;
        m.probe_out = (mx_buf)MX_BUF_INIT;
        m.log.fd = -1;
        (void)unsetenv("MYRMEX_MONITOR_READY_FD");
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
        (void)signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        o.root = root;
        o.runtime = runtime;
        if (mx_runtime_open(&m.rt, &o, &err) < 0) {
                cleanup_free char *s = mx_error_format(err);

                report(&m, 'E', s);
                mx_error_free(err);
                return 1;
        }
        if (flags & MX_MONITOR_PRE) {
                /* spawned ahead of its container: the ID, the flags and the attach socket the
                 * client bound come over the control socket when the container exists */
                if (receive_assignment(&m, pre_id, sizeof(pre_id), &flags) < 0) {
                        mx_runtime_free(m.rt);
                        return 0; /* the client went away without a container for us */
                }
                id = pre_id;
        }
        if (mx_runtime__db_get(m.rt->db, id, &c, &err) < 0) {
                cleanup_free char *s = mx_error_format(err);

                report(&m, 'E', s);
                mx_error_free(err);
                mx_runtime_free(m.rt);
                return 1;
        }
        m.id = c->id;
        m.dir = mx_runtime__ctr_dir(m.rt, id);
        if (mx_json_parse(&m.cfg, c->config_json, strlen(c->config_json), 1 << 20, 1, "config",
                          NULL) < 0)
                m.cfg = json_object();
        setup_config(&m);
        if (mx_runtime__db_update(
                    m.rt->db, id, NULL, "monitor_pid = %d, monitor_start = %lld, error = ''",
                    (int)getpid(), (long long)mx_runtime__proc_start_time(getpid())) < 0) {
                report(&m, 'E', "record the monitor");
                rc = 1;
                goto out;
        }
        if (m.listen_fd < 0)
                m.listen_fd = mx_runtime__attach_listen(m.rt, id, &err);
        if (m.listen_fd < 0) {
                cleanup_free char *s = mx_error_format(err);

                report(&m, 'E', s);
                mx_error_free(err);
                rc = 1;
                goto out;
        }
        mx_fault_point("runtime-monitor-listening");
        if (flags & MX_MONITOR_WAIT_ATTACH)
                report(&m, 'L', NULL);
        /* Networks are attached once per monitor (the attaching monitor is their owner) and
         * kept across policy restarts, so a restarted container keeps its address; an
         * attached client's "go" waits in the socket meanwhile. */
        if (mx_runtime__net_wanted(m.cfg)) {
                if (mx_runtime__net_setup(m.rt, id, c->name, m.cfg, &err) < 0) {
                        cleanup_free char *s = mx_error_format(err);
                        char num[8] = "125";
                        const char *msg = s ? s : "attach the container's networks";

                        mx_error_free(err);
                        err = NULL;
                        (void)mx_runtime__db_update(m.rt->db, id, NULL,
                                                    "state = 'exited', exit_code = 125, "
                                                    "finished_at = %lld, pid = 0, error = %Q",
                                                    (long long)mx_runtime__now_ns(), msg);
                        if (flags & MX_MONITOR_WAIT_ATTACH)
                                (void)wait_for_go(&m);
                        report(&m, 'E', msg);
                        broadcast(&m, MX_ATTACH_ERROR, msg, strlen(msg));
                        broadcast(&m, MX_ATTACH_EXIT, num, strlen(num));
                        if (m.auto_remove) {
                                mx_runtime__net_teardown(m.rt, id, 1, 1);
                                mx_runtime__remove_files(m.rt, id, 1);
                                (void)mx_runtime__db_delete(m.rt->db, id, NULL);
                        }
                        rc = 1;
                        goto out;
                }
                m.net_attached = 1;
                mx_fault_point("runtime-monitor-network");
        }
        if (flags & MX_MONITOR_WAIT_ATTACH)
                (void)wait_for_go(&m);
        for (;;) {
                char msg[1024];
                int code, status, exit_code;
                int64_t started, finished;
                mx_cgroup_stats cs;
                cleanup_free char *cg = mx_runtime__cgroup_path(id);
                int oom = 0;

                code = start_process(&m, msg, sizeof(msg));
                if (code != 0) {
                        char num[16];

                        (void)mx_runtime__db_update(
                                m.rt->db, id, NULL,
                                "state = 'exited', exit_code = %d, finished_at = %lld, pid = 0, "
                                "error = %Q",
                                code, (long long)mx_runtime__now_ns(), msg);
                        report(&m, 'E', msg);
                        broadcast(&m, MX_ATTACH_ERROR, msg, strlen(msg));
                        if (m.net_attached)
                                mx_runtime__net_teardown(m.rt, id, m.auto_remove, 1);
                        m.net_attached = 0;
                        if (m.auto_remove) {
                                mx_runtime__remove_files(m.rt, id, 1);
                                (void)mx_runtime__db_delete(m.rt->db, id, NULL);
                        }
                        snprintf(num, sizeof(num), "%d", code);
                        broadcast(&m, MX_ATTACH_EXIT, num, strlen(num));
                        break;
                }
                started = mx_runtime__now_ns();
                (void)mx_runtime__db_update(
                        m.rt->db, id, NULL,
                        "state = 'running', pid = %d, pid_start = %lld, started_at = %lld, "
                        "exit_code = 0, oom_killed = 0",
                        (int)m.pid, (long long)mx_runtime__proc_start_time(m.pid),
                        (long long)started);
                mx_fault_point("runtime-monitor-running");
                report(&m, 'S', NULL);
                health_begin(&m);
                status = run_loop(&m);
                finished = mx_runtime__now_ns();
                exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                            : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                  : 255;
                if (cg &&
                    mx_runtime__cgroup_stats("/sys/fs/cgroup",
                                             m.rt->cgroup_mode == MX_CGROUP_V2 ? MX_CGROUP_V2
                                                                               : MX_CGROUP_V1,
                                             cg, &cs, NULL) == 0 &&
                    cs.oom_kills > 0)
                        oom = 1;
                /* The exit is recorded and told to attached clients first; the runtime's own
                 * cleanup (delete, unmount, removal) comes after, off the caller's path. */
                {
                        int restart = 0;
                        char num[16];
                        const char *dargs[] = {"delete", "--force", id, NULL};
                        cleanup(mx_ctr_freep) mx_ctr *now = NULL;

                        if (mx_runtime__db_get(m.rt->db, id, &now, NULL) < 0) {
                                (void)mx_driver_simple(&m.rt->drv, dargs, NULL);
                                if (m.net_attached)
                                        mx_runtime__net_teardown(m.rt, id, 1, 0);
                                m.net_attached = 0;
                                break; /* removed meanwhile */
                        }
                        if (!now->stop_requested) {
                                if (m.restart_kind == 1 || m.restart_kind == 2)
                                        restart = 1;
                                else if (m.restart_kind == 3 && exit_code != 0 &&
                                         (m.restart_max == 0 || now->restart_count < m.restart_max))
                                        restart = 1;
                        }
                        snprintf(num, sizeof(num), "%d", exit_code);
                        /* The network goes before the exit is recorded and told, so that
                         * `stop` (or `run -p` of the same port right after) finds the
                         * ports free and no veth, rule or lease left. Only --rm without
                         * published ports keeps the CNI DEL off the caller's path: the
                         * next container gets another address anyway. */
                        if (!restart && m.net_attached &&
                            (!m.auto_remove ||
                             json_array_size(json_object_get(m.cfg, "_ports")) > 0)) {
                                mx_runtime__net_teardown(m.rt, id, m.auto_remove, m.auto_remove);
                                m.net_attached = 0;
                        }
                        if (!restart && m.auto_remove) {
                                (void)mx_runtime__db_delete(m.rt->db, id, NULL);
                                mx_fault_point("runtime-monitor-exited");
                                broadcast(&m, MX_ATTACH_EXIT, num, strlen(num));
                                (void)mx_driver_simple(&m.rt->drv, dargs, NULL);
                                /* --rm: addresses, ports and anonymous volumes go too */
                                if (m.net_attached)
                                        mx_runtime__net_teardown(m.rt, id, 1, 1);
                                else
                                        mx_runtime__volumes_release(m.rt, id, 1);
                                m.net_attached = 0;
                                mx_runtime__remove_files(m.rt, id, 0);
                                break;
                        }
                        (void)mx_runtime__db_update(m.rt->db, id, NULL,
                                                    "state = 'exited', exit_code = %d, "
                                                    "finished_at = %lld, pid = 0, oom_killed = %d",
                                                    exit_code, (long long)finished, oom);
                        mx_fault_point("runtime-monitor-exited");
                        /* with a restart policy the attached client still sees this exit */
                        broadcast(&m, MX_ATTACH_EXIT, num, strlen(num));
                        (void)mx_driver_simple(&m.rt->drv, dargs, NULL);
                        if (!restart) {
                                if (m.net_attached)
                                        mx_runtime__net_teardown(m.rt, id, 0, 0);
                                m.net_attached = 0;
                                break;
                        }
                        /* Docker's back-off: 100 ms doubling, back to 100 ms after a run of
                         * at least 10 s */
                        if (finished - started >= 10LL * 1000000000 || delay_ms == 0)
                                delay_ms = 100;
                        else
                                delay_ms *= 2;
                        if (delay_ms > 60000)
                                delay_ms = 60000;
                        (void)mx_runtime__db_update(m.rt->db, id, NULL,
                                                    "state = 'restarting', restart_count = "
                                                    "restart_count + 1");
                        if (backoff_sleep(&m, delay_ms)) {
                                (void)mx_runtime__db_update(m.rt->db, id, NULL, "state = 'exited'");
                                if (m.net_attached)
                                        mx_runtime__net_teardown(m.rt, id, 0, 0);
                                m.net_attached = 0;
                                break;
                        }
                }
        }
out:
        if (m.net_attached && m.rt)
                mx_runtime__net_teardown(m.rt, id, 0, 0);
        mx_health_free(m.health);
        mx_health_config_free(m.hc);
        mx_buf_clear(&m.probe_out);
        for (int i = 0; i < m.n_clients; i++)
                close(m.clients[i]);
        if (m.listen_fd >= 0) {
                cleanup_free char *sock = NULL;

                close(m.listen_fd);
                if (m.dir && asprintf(&sock, "%s/attach.sock", m.dir) >= 0)
                        (void)unlink(sock);
        }
        if (m.rt)
                (void)mx_runtime__db_update(m.rt->db, id, NULL, "monitor_pid = 0");
        if (m.ready_fd >= 0)
                report(&m, 'E', "the monitor stopped");
        mx_logw_close(&m.log);
        json_decref(m.cfg);
        free(m.dir);
        if (m.sig_fd >= 0)
                close(m.sig_fd);
        mx_runtime_free(m.rt);
        return rc;
}
