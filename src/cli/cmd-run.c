/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex run / create / start / attach, and the hidden __monitor verb the library re-executes
 * for each running container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <myrmex/registry.h>
#include <myrmex/runtime.h>
#include <myrmex/store.h>

#include "cli.h"

#pragma weak mx_registry_pull
#pragma weak mx_registry_result_free

/* ---- the attach loop ----------------------------------------------------------------------- */

static int frame_write(int fd, int type, const void *data, size_t len)
{
        unsigned char hdr[5] = {(unsigned char)type, (unsigned char)(len >> 24),
                                (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                                (unsigned char)len};
        const char *p = data;

        if (write(fd, hdr, 5) != 5)
                return -1;
        while (len) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int read_exact(int fd, void *buf, size_t len)
{
        size_t got = 0;

        while (got < len) {
                ssize_t n = read(fd, (char *)buf + got, len - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                got += (size_t)n;
        }
        return 0;
}

static void write_out(int fd, const char *p, size_t len)
{
        while (len) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                p += n;
                len -= (size_t)n;
        }
}

static int parse_code(const char *s)
{
        int v = 0;

        if (!*s)
                return 255;
        for (; *s >= '0' && *s <= '9'; s++)
                v = v * 10 + (*s - '0');
        return v & 0xff;
}

static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void)
{
        if (tio_saved)
                (void)tcsetattr(0, TCSANOW, &saved_tio);
        tio_saved = false;
}

static void send_winsize(int sock)
{
        struct winsize ws;
        char buf[32];

        if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
                int n = snprintf(buf, sizeof(buf), "%u %u", ws.ws_row, ws.ws_col);

                (void)frame_write(sock, 5 /* resize */, buf, (size_t)n);
        }
}

/* Relay between our stdio and the monitor until the exit frame; returns the exit code, or
 * -1 when the connection ended without one. */
static int attach_loop(int sock, bool in, bool tty, bool send_go, bool sig_proxy)
{
        sigset_t mask;
        int sfd, code = -1;
        bool stdin_open = in;

        sigemptyset(&mask);
        if (sig_proxy && !tty) {
                sigaddset(&mask, SIGINT);
                sigaddset(&mask, SIGTERM);
                sigaddset(&mask, SIGHUP);
                sigaddset(&mask, SIGQUIT);
                sigaddset(&mask, SIGUSR1);
                sigaddset(&mask, SIGUSR2);
        }
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (tty && isatty(0)) {
                struct termios raw;

                if (tcgetattr(0, &saved_tio) == 0) {
                        tio_saved = true;
                        atexit(restore_tty);
                        raw = saved_tio;
                        cfmakeraw(&raw);
                        (void)tcsetattr(0, TCSANOW, &raw);
                }
                send_winsize(sock);
        }
        if (send_go)
                (void)frame_write(sock, 7 /* go */, NULL, 0);
        for (;;) {
                struct pollfd pf[3] = {
                        {sock, POLLIN, 0}, {sfd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};

                if (poll(pf, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pf[0].revents) {
                        unsigned char hdr[5];
                        size_t len;
                        char *data;

                        if (read_exact(sock, hdr, 5) < 0)
                                break;
                        len = ((size_t)hdr[1] << 24) | ((size_t)hdr[2] << 16) |
                              ((size_t)hdr[3] << 8) | hdr[4];
                        if (len > (1u << 20))
                                break;
                        data = mx_cli_xmalloc(len + 1);
                        if (len && read_exact(sock, data, len) < 0) {
                                free(data);
                                break;
                        }
                        data[len] = '\0';
                        if (hdr[0] == 1)
                                write_out(1, data, len);
                        else if (hdr[0] == 2)
                                write_out(2, data, len);
                        else if (hdr[0] == 8) {
                                restore_tty();
                                fprintf(stderr, "myrmex: error: %s\n", data);
                        } else if (hdr[0] == 3) {
                                code = parse_code(data);
                                free(data);
                                break;
                        }
                        free(data);
                }
                if (pf[1].revents) {
                        struct signalfd_siginfo si;

                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH) {
                                        if (tty)
                                                send_winsize(sock);
                                } else {
                                        char num[16];
                                        int n = snprintf(num, sizeof(num), "%u", si.ssi_signo);

                                        (void)frame_write(sock, 6 /* signal */, num, (size_t)n);
                                }
                        }
                }
                if (stdin_open && pf[2].revents) {
                        char buf[32768];
                        ssize_t n = read(0, buf, sizeof(buf));

                        if (n > 0) {
                                (void)frame_write(sock, 0 /* stdin */, buf, (size_t)n);
                        } else if (n == 0 || errno != EINTR) {
                                (void)frame_write(sock, 4 /* stdin closed */, NULL, 0);
                                stdin_open = false;
                        }
                }
        }
        restore_tty();
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        return code;
}

/* ---- run and create ------------------------------------------------------------------------ */

enum {
        OPT_RM = 0x100,
        OPT_ENV_FILE,
        OPT_NAME,
        OPT_ADD_HOST,
        OPT_RESTART,
        OPT_CPUS,
        OPT_PIDS_LIMIT,
        OPT_ULIMIT,
        OPT_ENTRYPOINT,
        OPT_READ_ONLY,
        OPT_TMPFS,
        OPT_CAP_ADD,
        OPT_CAP_DROP,
        OPT_PRIVILEGED,
        OPT_SECURITY_OPT,
        OPT_INIT,
        OPT_PULL,
        OPT_NETWORK,
        OPT_RUNTIME,
        OPT_ROOTFS,
        OPT_STOP_SIGNAL,
        OPT_STOP_TIMEOUT,
        OPT_LOG_OPT,
        OPT_MEM_RES,
        OPT_SIG_PROXY,
        OPT_DETACH_KEYS,
        OPT_CPU_SHARES,
        OPT_MEMORY_SWAP,
        OPT_MOUNT,
        OPT_DNS,
        OPT_DNS_SEARCH,
        OPT_DNS_OPTION,
        OPT_HEALTH_CMD,
        OPT_HEALTH_INTERVAL,
        OPT_HEALTH_TIMEOUT,
        OPT_HEALTH_RETRIES,
        OPT_HEALTH_START_PERIOD,
        OPT_NO_HEALTHCHECK,
        OPT_NETWORK_ALIAS,
};

static const struct option run_opts[] = {
        {"detach", no_argument, NULL, 'd'},
        {"rm", no_argument, NULL, OPT_RM},
        {"interactive", no_argument, NULL, 'i'},
        {"tty", no_argument, NULL, 't'},
        {"env", required_argument, NULL, 'e'},
        {"env-file", required_argument, NULL, OPT_ENV_FILE},
        {"volume", required_argument, NULL, 'v'},
        {"name", required_argument, NULL, OPT_NAME},
        {"hostname", required_argument, NULL, 'h'},
        {"add-host", required_argument, NULL, OPT_ADD_HOST},
        {"restart", required_argument, NULL, OPT_RESTART},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
        {"memory", required_argument, NULL, 'm'},
        {"memory-reservation", required_argument, NULL, OPT_MEM_RES},
        {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
        {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
        {"ulimit", required_argument, NULL, OPT_ULIMIT},
        {"user", required_argument, NULL, 'u'},
        {"workdir", required_argument, NULL, 'w'},
        {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
        {"read-only", no_argument, NULL, OPT_READ_ONLY},
        {"tmpfs", required_argument, NULL, OPT_TMPFS},
        {"cap-add", required_argument, NULL, OPT_CAP_ADD},
        {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
        {"privileged", no_argument, NULL, OPT_PRIVILEGED},
        {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
        {"init", no_argument, NULL, OPT_INIT},
        {"pull", required_argument, NULL, OPT_PULL},
        {"label", required_argument, NULL, 'l'},
        {"network", required_argument, NULL, OPT_NETWORK},
        {"net", required_argument, NULL, OPT_NETWORK},
        {"publish", required_argument, NULL, 'p'},
        {"publish-all", no_argument, NULL, 'P'},
        {"mount", required_argument, NULL, OPT_MOUNT},
        {"dns", required_argument, NULL, OPT_DNS},
        {"dns-search", required_argument, NULL, OPT_DNS_SEARCH},
        {"dns-option", required_argument, NULL, OPT_DNS_OPTION},
        {"health-cmd", required_argument, NULL, OPT_HEALTH_CMD},
        {"health-interval", required_argument, NULL, OPT_HEALTH_INTERVAL},
        {"health-timeout", required_argument, NULL, OPT_HEALTH_TIMEOUT},
        {"health-retries", required_argument, NULL, OPT_HEALTH_RETRIES},
        {"health-start-period", required_argument, NULL, OPT_HEALTH_START_PERIOD},
        {"no-healthcheck", no_argument, NULL, OPT_NO_HEALTHCHECK},
        {"network-alias", required_argument, NULL, OPT_NETWORK_ALIAS},
        {"runtime", required_argument, NULL, OPT_RUNTIME},
        {"rootfs", no_argument, NULL, OPT_ROOTFS},
        {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
        {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
        {"log-opt", required_argument, NULL, OPT_LOG_OPT},
        {"sig-proxy", optional_argument, NULL, OPT_SIG_PROXY},
        {"detach-keys", required_argument, NULL, OPT_DETACH_KEYS},
        {"attach", required_argument, NULL, 'a'},
        {0},
};

typedef struct run_args {
        json_t *cfg;
        bool detach, rm, interactive, tty, sig_proxy, rootfs;
        const char *pull;
        const char *runtime;
} run_args;

static json_t *obj_child(json_t *o, const char *key, bool array)
{
        json_t *v = json_object_get(o, key);

        if (!v) {
                v = array ? json_array() : json_object();
                json_object_set_new(o, key, v);
        }
        return v;
}

static int add_env_file(mx_cli *cli, json_t *env, const char *path)
{
        FILE *f = fopen(path, "re");
        char line[65536];

        if (!f) {
                fprintf(stderr, "myrmex: error: open env file '%s': %s\n", path, strerror(errno));
                (void)cli;
                return -1;
        }
        while (fgets(line, sizeof(line), f)) {
                size_t n = strcspn(line, "\r\n");
                char *p = line;

                line[n] = '\0';
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p || *p == '#')
                        continue;
                json_array_append_new(env, json_string(p));
        }
        fclose(f);
        return 0;
}

static int parse_ulimit(json_t *arr, const char *spec)
{
        /* name=soft[:hard] */
        char name[64], num[64];
        const char *eq = strchr(spec, '='), *colon;
        uint64_t soft = 0, hard = 0;

        if (!eq || (size_t)(eq - spec) >= sizeof(name))
                return -1;
        memcpy(name, spec, (size_t)(eq - spec));
        name[eq - spec] = '\0';
        colon = strchr(eq + 1, ':');
        snprintf(num, sizeof(num), "%.*s", colon ? (int)(colon - eq - 1) : (int)strlen(eq + 1),
                 eq + 1);
        if (mx_cli_parse_u64(num, &soft) < 0 || soft > INT64_MAX)
                return -1;
        hard = soft;
        if (colon && (mx_cli_parse_u64(colon + 1, &hard) < 0 || hard > INT64_MAX))
                return -1;
        json_array_append_new(arr, json_pack("{s:s,s:I,s:I}", "name", name, "soft",
                                             (json_int_t)soft, "hard", (json_int_t)hard));
        return 0;
}

/* Parse run/create options into a container configuration; returns the index of the image
 * argument, or a negative exit code. */
static int parse_run(mx_cli *cli, int argc, char **argv, run_args *ra)
{
        json_t *cfg = json_object();
        json_t *res = json_object();
        int c;

        ra->cfg = cfg;
        ra->sig_proxy = true;
        ra->pull = "missing";
        json_object_set_new(cfg, "resources", res);
        while ((c = mx_cli_getopt(cli, argc, argv, "+dite:v:h:m:u:w:l:p:Pa:c:", run_opts)) != -1) {
                switch (c) {
                case 'd':
                        ra->detach = true;
                        break;
                case OPT_RM:
                        ra->rm = true;
                        json_object_set_new(cfg, "auto_remove", json_true());
                        break;
                case 'i':
                        ra->interactive = true;
                        json_object_set_new(cfg, "stdin_open", json_true());
                        break;
                case 't':
                        ra->tty = true;
                        json_object_set_new(cfg, "tty", json_true());
                        break;
                case 'e':
                        json_array_append_new(obj_child(cfg, "environment", true),
                                              json_string(optarg));
                        break;
                case OPT_ENV_FILE:
                        if (add_env_file(cli, obj_child(cfg, "environment", true), optarg) < 0)
                                return -125;
                        break;
                case 'v':
                        json_array_append_new(obj_child(cfg, "volumes", true), json_string(optarg));
                        break;
                case OPT_NAME:
                        json_object_set_new(cfg, "name", json_string(optarg));
                        break;
                case 'h':
                        json_object_set_new(cfg, "hostname", json_string(optarg));
                        break;
                case OPT_ADD_HOST:
                        json_array_append_new(obj_child(cfg, "extra_hosts", true),
                                              json_string(optarg));
                        break;
                case OPT_RESTART:
                        json_object_set_new(cfg, "restart_policy", json_string(optarg));
                        break;
                case OPT_CPUS:
                        json_object_set_new(res, "cpu_limit", json_string(optarg));
                        break;
                case 'c':
                case OPT_CPU_SHARES: {
                        int64_t v;

                        if (mx_cli_parse_i64(optarg, &v) < 0 || v < 0) {
                                mx_cli_usage_error(cli, "invalid --cpu-shares '%s'", optarg);
                                return -125;
                        }
                        json_object_set_new(res, "cpu_shares", json_integer(v));
                        break;
                }
                case 'm':
                        json_object_set_new(res, "memory_limit", json_string(optarg));
                        break;
                case OPT_MEM_RES:
                        json_object_set_new(res, "memory_reservation", json_string(optarg));
                        break;
                case OPT_MEMORY_SWAP:
                        json_object_set_new(res, "memory_swap", json_string(optarg));
                        break;
                case OPT_PIDS_LIMIT: {
                        int64_t v;

                        if (mx_cli_parse_i64(optarg, &v) < 0) {
                                mx_cli_usage_error(cli, "invalid --pids-limit '%s'", optarg);
                                return -125;
                        }
                        json_object_set_new(res, "pids_limit", json_integer(v));
                        break;
                }
                case OPT_ULIMIT:
                        if (parse_ulimit(obj_child(cfg, "ulimits", true), optarg) < 0) {
                                mx_cli_usage_error(cli, "invalid --ulimit '%s' (name=soft[:hard])",
                                                   optarg);
                                return -125;
                        }
                        break;
                case 'u':
                        json_object_set_new(cfg, "user", json_string(optarg));
                        break;
                case 'w':
                        json_object_set_new(cfg, "working_dir", json_string(optarg));
                        break;
                case OPT_ENTRYPOINT:
                        json_object_set_new(cfg, "entrypoint",
                                            *optarg ? json_pack("[s]", optarg) : json_array());
                        break;
                case OPT_READ_ONLY:
                        json_object_set_new(cfg, "read_only", json_true());
                        break;
                case OPT_TMPFS: {
                        const char *colon = strchr(optarg, ':');
                        char *dst =
                                colon ? strndup(optarg, (size_t)(colon - optarg)) : strdup(optarg);

                        json_object_set_new(obj_child(cfg, "tmpfs", false), dst,
                                            json_string(colon ? colon + 1 : ""));
                        free(dst);
                        break;
                }
                case OPT_CAP_ADD:
                        json_array_append_new(obj_child(cfg, "cap_add", true), json_string(optarg));
                        break;
                case OPT_CAP_DROP:
                        json_array_append_new(obj_child(cfg, "cap_drop", true),
                                              json_string(optarg));
                        break;
                case OPT_PRIVILEGED:
                        json_object_set_new(cfg, "privileged", json_true());
                        break;
                case OPT_SECURITY_OPT:
                        json_array_append_new(obj_child(cfg, "security_opt", true),
                                              json_string(optarg));
                        break;
                case OPT_INIT:
                        json_object_set_new(cfg, "init", json_true());
                        break;
                case OPT_PULL:
                        if (strcmp(optarg, "missing") != 0 && strcmp(optarg, "always") != 0 &&
                            strcmp(optarg, "never") != 0) {
                                mx_cli_usage_error(cli,
                                                   "invalid --pull '%s' (missing, always, never)",
                                                   optarg);
                                return -125;
                        }
                        ra->pull = optarg;
                        break;
                case 'l': {
                        const char *eq = strchr(optarg, '=');
                        char *k = eq ? strndup(optarg, (size_t)(eq - optarg)) : strdup(optarg);

                        json_object_set_new(obj_child(cfg, "labels", false), k,
                                            json_string(eq ? eq + 1 : ""));
                        free(k);
                        break;
                }
                case OPT_NETWORK:
                        /* none, host, bridge (the default) or a user network's name */
                        json_object_set_new(cfg, "network_mode", json_string(optarg));
                        break;
                case 'p':
                        json_array_append_new(obj_child(cfg, "publish", true), json_string(optarg));
                        break;
                case 'P':
                        json_object_set_new(cfg, "publish_all", json_true());
                        break;
                case OPT_MOUNT:
                        json_array_append_new(obj_child(cfg, "mounts", true), json_string(optarg));
                        break;
                case OPT_DNS:
                        json_array_append_new(obj_child(cfg, "dns", true), json_string(optarg));
                        break;
                case OPT_DNS_SEARCH:
                        json_array_append_new(obj_child(cfg, "dns_search", true),
                                              json_string(optarg));
                        break;
                case OPT_DNS_OPTION:
                        json_array_append_new(obj_child(cfg, "dns_options", true),
                                              json_string(optarg));
                        break;
                case OPT_HEALTH_CMD:
                        json_object_set_new(cfg, "health_cmd", json_string(optarg));
                        break;
                case OPT_HEALTH_INTERVAL:
                        json_object_set_new(cfg, "health_interval", json_string(optarg));
                        break;
                case OPT_HEALTH_TIMEOUT:
                        json_object_set_new(cfg, "health_timeout", json_string(optarg));
                        break;
                case OPT_HEALTH_START_PERIOD:
                        json_object_set_new(cfg, "health_start_period", json_string(optarg));
                        break;
                case OPT_HEALTH_RETRIES: {
                        int v;

                        if (mx_cli_parse_int(optarg, 0, 1000000, &v) < 0) {
                                mx_cli_usage_error(cli, "invalid --health-retries '%s'", optarg);
                                return -125;
                        }
                        json_object_set_new(cfg, "health_retries", json_integer(v));
                        break;
                }
                case OPT_NO_HEALTHCHECK:
                        json_object_set_new(cfg, "no_healthcheck", json_true());
                        break;
                case OPT_NETWORK_ALIAS:
                        json_array_append_new(obj_child(cfg, "network_aliases", true),
                                              json_string(optarg));
                        break;
                case OPT_RUNTIME:
                        ra->runtime = optarg;
                        break;
                case OPT_ROOTFS:
                        ra->rootfs = true;
                        break;
                case OPT_STOP_SIGNAL:
                        json_object_set_new(cfg, "stop_signal", json_string(optarg));
                        break;
                case OPT_STOP_TIMEOUT: {
                        int v;

                        if (mx_cli_parse_int(optarg, -1, 86400, &v) < 0) {
                                mx_cli_usage_error(cli, "invalid --stop-timeout '%s'", optarg);
                                return -125;
                        }
                        json_object_set_new(cfg, "stop_timeout", json_integer(v));
                        break;
                }
                case OPT_LOG_OPT: {
                        const char *eq = strchr(optarg, '=');
                        char *k;

                        if (!eq) {
                                mx_cli_usage_error(cli, "invalid --log-opt '%s' (key=value)",
                                                   optarg);
                                return -125;
                        }
                        k = strndup(optarg, (size_t)(eq - optarg));
                        json_object_set_new(obj_child(cfg, "log_opts", false), k,
                                            json_string(eq + 1));
                        free(k);
                        break;
                }
                case OPT_SIG_PROXY:
                        ra->sig_proxy = !optarg || strcmp(optarg, "false") != 0;
                        break;
                case OPT_DETACH_KEYS:
                case 'a':
                        break;
                default:
                        return -cli->exit_code;
                }
        }
        if (optind >= argc) {
                mx_cli_usage_error(cli, "\"%s\" requires at least 1 argument", cli->cmd->name);
                return -125;
        }
        if (ra->rm && json_object_get(cfg, "restart_policy") &&
            strcmp(json_string_value(json_object_get(cfg, "restart_policy")), "no") != 0) {
                fprintf(stderr, "myrmex: error: conflicting options: cannot specify both "
                                "--restart and --rm\n");
                return -125;
        }
        {
                const char *nm = json_string_value(json_object_get(cfg, "network_mode"));

                /* Docker discards published ports in the host's or no network, with a warning */
                if (nm && (strcmp(nm, "none") == 0 || strcmp(nm, "host") == 0) &&
                    (json_object_get(cfg, "publish") || json_object_get(cfg, "publish_all"))) {
                        fprintf(stderr,
                                "WARNING: Published ports are discarded when using %s "
                                "network mode\n",
                                nm);
                        json_object_del(cfg, "publish");
                        json_object_del(cfg, "publish_all");
                }
        }
        if (ra->rootfs)
                json_object_set_new(cfg, "rootfs", json_string(argv[optind]));
        else
                json_object_set_new(cfg, "image", json_string(argv[optind]));
        if (optind + 1 < argc) {
                json_t *cmd = json_array();

                for (int i = optind + 1; i < argc; i++)
                        json_array_append_new(cmd, json_string(argv[i]));
                json_object_set_new(cfg, "command", cmd);
        }
        return optind;
}

static int open_runtime(mx_cli *cli, const char *runtime, mx_runtime **rt, int code)
{
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        int r;

        o.root = cli->root;
        o.runtime = runtime;
        if (mx_runtime_open(rt, &o, &err) < 0) {
                r = mx_cli_fail_code(cli, code, err, "open the container runtime");
                mx_error_free(err);
                return r;
        }
        return 0;
}

static int pull_image(mx_cli *cli, const char *image)
{
        mx_store *s = NULL;
        mx_error *err = NULL;
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        int r;

        if (!mx_registry_pull) {
                fprintf(stderr,
                        "myrmex: error: image '%s' is not in the store and this build "
                        "cannot pull\n",
                        image);
                return 125;
        }
        if (mx_cli_store(cli, &s, &err) < 0) {
                r = mx_cli_fail_code(cli, 125, err, "open the store");
                mx_error_free(err);
                return r;
        }
        o.unpack = 1;
        o.progress = mx_cli_progress_cb;
        o.progress_userdata = cli;
        r = mx_registry_pull(s, image, &o, NULL, &err);
        mx_cli_progress_end(cli);
        if (r < 0) {
                r = mx_cli_fail_code(cli, 125, err, "pull '%s'", image);
                mx_error_free(err);
                return r;
        }
        return 0;
}

/* Whether a create failed because the image is not in the store. */
static bool image_missing(const mx_error *err)
{
        for (const mx_error *e = err; e; e = e->cause) {
                if (e->message && strstr(e->message, "no such image"))
                        return true;
        }
        return false;
}

/* Create the container (pulling per --pull); prints nothing. Returns 0 or the exit code. */
static int do_create(mx_cli *cli, mx_runtime *rt, run_args *ra, char **id_out)
{
        const char *image = json_string_value(json_object_get(ra->cfg, "image"));
        char *text = json_dumps(ra->cfg, JSON_COMPACT);
        mx_error *err = NULL;
        int r;

        if (image && strcmp(ra->pull, "always") == 0) {
                r = pull_image(cli, image);
                if (r) {
                        free(text);
                        return r;
                }
        }
        r = mx_container_create(rt, text, id_out, &err);
        if (r == MX_ENOTFOUND && image && image_missing(err) && strcmp(ra->pull, "missing") == 0 &&
            mx_registry_pull) {
                fprintf(stderr, "Unable to find image '%s' locally\n", image);
                mx_error_free(err);
                err = NULL;
                r = pull_image(cli, image);
                if (r == 0)
                        r = mx_container_create(rt, text, id_out, &err);
        }
        free(text);
        if (r < 0) {
                if (r == MX_ENOTFOUND && image && image_missing(err) &&
                    strcmp(ra->pull, "never") != 0 && !mx_registry_pull)
                        fprintf(stderr,
                                "myrmex: error: image '%s' not found in the store and "
                                "pulling is not available in this build\n",
                                image);
                r = mx_cli_fail_code(cli, 125, err, "create container");
                mx_error_free(err);
                return r;
        }
        return r > 0 ? r : 0;
}

static int cmd_create(mx_cli *cli, int argc, char **argv)
{
        run_args ra = {0};
        mx_runtime *rt = NULL;
        char *id = NULL;
        int r = parse_run(cli, argc, argv, &ra);

        if (r < 0) {
                json_decref(ra.cfg);
                return -r;
        }
        r = open_runtime(cli, ra.runtime, &rt, 125);
        if (r == 0)
                r = do_create(cli, rt, &ra, &id);
        if (r == 0)
                printf("%s\n", id);
        mx_free(id);
        json_decref(ra.cfg);
        mx_runtime_free(rt);
        return r;
}

static int cmd_run(mx_cli *cli, int argc, char **argv)
{
        run_args ra = {0};
        mx_runtime *rt = NULL;
        mx_error *err = NULL;
        char *id = NULL;
        int r = parse_run(cli, argc, argv, &ra), sock = -1, code, pre = -1;

        if (r < 0) {
                json_decref(ra.cfg);
                return -r;
        }
        /* The monitor starts up while the container is created. This process already has
         * the library loaded, so it is forked without exec (saving the exec and the dynamic
         * loading of ~50 libraries), and before any store is open here: no SQLite connection
         * and no thread cross the fork. */
        if (mx_runtime_fork_monitor(cli->root, ra.runtime, &pre, NULL) < 0)
                pre = -1; /* not fatal: start spawns one */
        r = open_runtime(cli, ra.runtime, &rt, 125);
        if (r == 0 && pre >= 0) {
                if (mx_runtime_adopt_monitor(rt, pre, NULL) < 0) {
                        /* not fatal either */
                }
                pre = -1;
        }
        if (pre >= 0)
                close(pre); /* the monitor sees EOF and exits */
        if (r == 0 && mx_runtime_prepare_monitor(rt, NULL) < 0) {
                /* not fatal: start spawns one (a no-op when the forked one is waiting) */
        }
        if (r == 0)
                r = do_create(cli, rt, &ra, &id);
        if (r)
                goto out;
        if (ra.detach) {
                if (mx_container_start(rt, id, 0, &err) < 0) {
                        r = mx_cli_fail_code(cli, 125, err, "start container");
                        goto out;
                }
                printf("%s\n", id);
                goto out;
        }
        if (mx_container_start(rt, id, MX_START_WAIT_ATTACH, &err) < 0 ||
            mx_container_attach(rt, id, &sock, &err) < 0) {
                r = mx_cli_fail_code(cli, 125, err, "start container");
                goto out;
        }
        code = attach_loop(sock, ra.interactive, ra.tty, true, ra.sig_proxy);
        close(sock);
        if (code < 0) {
                /* the monitor went away: the record says what is known */
                int ec = 0;
                char *insp = NULL;
                json_t *j = NULL;

                code = 125;
                if (mx_container_wait(rt, id, &ec, NULL) == 0 &&
                    mx_container_inspect(rt, id, &insp, NULL) == 0)
                        j = json_loads(insp, 0, NULL);
                mx_free(insp);
                if (j &&
                    strcmp(json_string_value(json_object_get(json_object_get(j, "State"), "Status"))
                                   ?: "",
                           "created") != 0)
                        code = ec;
                else
                        fprintf(stderr, "myrmex: error: the container monitor exited before "
                                        "the container started\n");
                json_decref(j);
        }
        r = code;
out:
        mx_error_free(err);
        mx_free(id);
        json_decref(ra.cfg);
        mx_runtime_free(rt);
        return r;
}

MX_CLI_COMMAND(run, "run", cmd_run, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
               "Create and run a new container from an image")
MX_CLI_COMMAND(create, "create", cmd_create, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
               "Create a new container")
MX_CLI_ALIAS(container_run, "container run", "run")
MX_CLI_ALIAS(container_create, "container create", "create")

/* ---- start, attach -------------------------------------------------------------------------- */

static int cmd_start(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"attach", no_argument, NULL, 'a'},
                {"interactive", no_argument, NULL, 'i'},
                {"runtime", required_argument, NULL, 'R'},
                {0},
        };
        bool attach = false, in = false;
        const char *runtime = NULL;
        mx_runtime *rt = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "ai", opts)) != -1) {
                switch (c) {
                case 'a':
                        attach = true;
                        break;
                case 'i':
                        in = true;
                        break;
                case 'R':
                        runtime = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, attach ? 1 : -1))
                return 2;
        r = open_runtime(cli, runtime, &rt, 1);
        if (r)
                return r;
        for (int i = optind; i < argc; i++) {
                mx_error *err = NULL;

                if (attach) {
                        int sock = -1, code;
                        char *id = NULL;
                        char *insp = NULL;
                        bool tty = false;

                        if (mx_container_resolve(rt, argv[i], &id, &err) < 0 ||
                            mx_container_start(rt, id, MX_START_WAIT_ATTACH, &err) < 0 ||
                            mx_container_attach(rt, id, &sock, &err) < 0) {
                                r = mx_cli_fail(cli, err, "start '%s'", argv[i]);
                                mx_error_free(err);
                                mx_free(id);
                                continue;
                        }
                        if (mx_container_inspect(rt, id, &insp, NULL) == 0) {
                                json_t *j = json_loads(insp, 0, NULL);

                                tty = json_is_true(
                                        json_object_get(json_object_get(j, "Config"), "Tty"));
                                json_decref(j);
                                mx_free(insp);
                        }
                        code = attach_loop(sock, in, tty, true, true);
                        close(sock);
                        if (code < 0 && mx_container_wait(rt, id, &code, NULL) < 0)
                                code = 1;
                        r = code;
                        mx_free(id);
                        continue;
                }
                if (mx_container_start(rt, argv[i], 0, &err) < 0) {
                        r = mx_cli_fail(cli, err, "start '%s'", argv[i]);
                        mx_error_free(err);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        mx_runtime_free(rt);
        return r;
}

static int cmd_attach(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"no-stdin", no_argument, NULL, 'n'},
                {"sig-proxy", optional_argument, NULL, 's'},
                {"detach-keys", required_argument, NULL, 'k'},
                {0},
        };
        bool no_stdin = false, sig_proxy = true, tty = false, in = false;
        mx_runtime *rt = NULL;
        mx_error *err = NULL;
        char *insp = NULL;
        int c, r, sock = -1, code;

        while ((c = mx_cli_getopt(cli, argc, argv, "", opts)) != -1) {
                switch (c) {
                case 'n':
                        no_stdin = true;
                        break;
                case 's':
                        sig_proxy = !optarg || strcmp(optarg, "false") != 0;
                        break;
                case 'k':
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, 1))
                return 2;
        r = open_runtime(cli, NULL, &rt, 1);
        if (r)
                return r;
        if (mx_container_inspect(rt, argv[optind], &insp, &err) < 0 ||
            mx_container_attach(rt, argv[optind], &sock, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                mx_free(insp);
                mx_runtime_free(rt);
                return r;
        }
        {
                json_t *j = json_loads(insp, 0, NULL);
                json_t *cc = json_object_get(j, "Config");

                tty = json_is_true(json_object_get(cc, "Tty"));
                in = json_is_true(json_object_get(cc, "OpenStdin")) && !no_stdin;
                json_decref(j);
        }
        mx_free(insp);
        code = attach_loop(sock, in, tty, false, sig_proxy);
        close(sock);
        if (code < 0 && mx_container_wait(rt, argv[optind], &code, NULL) < 0)
                code = 1;
        mx_runtime_free(rt);
        return code;
}

MX_CLI_COMMAND(start, "start", cmd_start, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Start one or more stopped containers")
MX_CLI_COMMAND(attach, "attach", cmd_attach, "[OPTIONS] CONTAINER",
               "Attach local standard input, output, and error streams to a running container")
MX_CLI_ALIAS(container_start, "container start", "start")
MX_CLI_ALIAS(container_attach, "container attach", "attach")

/* ---- the monitor ------------------------------------------------------------------------------
 */

static int cmd_monitor(mx_cli *cli, int argc, char **argv)
{
        unsigned flags = 0;
        int i = 1;

        (void)cli;
        if (i < argc && strcmp(argv[i], "--wait-attach") == 0) {
                flags |= 1u;
                i++;
        }
        if (i + 1 != argc)
                return 2;
        if (strcmp(argv[i], "--pre") == 0)
                return mx_runtime_monitor_main(cli->root ? cli->root : getenv("MYRMEX_ROOT"),
                                               getenv("MYRMEX_RUNTIME"), NULL, flags | 2u);
        return mx_runtime_monitor_main(cli->root ? cli->root : getenv("MYRMEX_ROOT"),
                                       getenv("MYRMEX_RUNTIME"), argv[i], flags);
}

MX_CLI_COMMAND(monitor, "__monitor", cmd_monitor, "[--wait-attach] ID|--pre",
               "(internal) the monitor of one container")

/* ---- info --------------------------------------------------------------------------------------
 */

static void runtime_info(mx_cli *cli, json_t *info)
{
        mx_runtime *rt = NULL;
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        char *text = NULL;

        o.root = cli->root;
        if (mx_runtime_open(&rt, &o, NULL) < 0)
                return;
        if (mx_runtime_info(rt, &text, NULL) == 0) {
                json_t *j = json_loads(text, 0, NULL);

                json_object_set(info, "RuntimePath", json_object_get(j, "runtime_path"));
                json_object_set(info, "RuntimeVersion",
                                json_object_get(j, "runtime_version") ?: json_null());
                json_object_set(info, "RuntimeCgroupMode", json_object_get(j, "cgroup_mode"));
                json_object_set(info, "CrunHybridCgroupWorkaround",
                                json_object_get(j, "crun_hybrid_workaround"));
                json_decref(j);
                mx_free(text);
        }
        mx_runtime_free(rt);
}

MX_CLI_INFO_SECTION(runtime, runtime_info)
