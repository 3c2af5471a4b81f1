/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex stop, restart, kill, wait, pause, unpause, rm and container prune. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/runtime.h>

#include "cli.h"

static int open_rt(mx_cli *cli, mx_runtime **rt)
{
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        int r;

        o.root = cli->root;
        if (mx_runtime_open(rt, &o, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        return 0;
}

static int parse_int(const char *s, long *out)
{
        int v;

        if (mx_cli_parse_int(s, -1, 1 << 30, &v) < 0)
                return -1;
        *out = v;
        return 0;
}

static int signal_number(const char *s)
{
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                    {"TERM", SIGTERM}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2}, {"STOP", SIGSTOP},
                    {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PWR", SIGPWR},
                    {"ABRT", SIGABRT}, {"PIPE", SIGPIPE}};
        long n;

        if (parse_int(s, &n) == 0)
                return n > 0 && n < 65 ? (int)n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < MX_CLI_ARRAY_SIZE(sigs); i++) {
                if (strcasecmp(sigs[i].name, s) == 0)
                        return sigs[i].sig;
        }
        return -1;
}

typedef enum { OP_STOP, OP_RESTART, OP_KILL, OP_WAIT, OP_PAUSE, OP_UNPAUSE, OP_RM } op_kind;

static int each(mx_cli *cli, int argc, char **argv, op_kind op, long timeout, int signo,
                unsigned flags)
{
        mx_runtime *rt = NULL;
        int r = open_rt(cli, &rt), rc = 0;

        if (r)
                return r;
        for (int i = optind; i < argc; i++) {
                mx_error *err = NULL;
                int code = 0;

                switch (op) {
                case OP_STOP:
                        r = mx_container_stop(rt, argv[i], (int)timeout, &err);
                        break;
                case OP_RESTART:
                        r = mx_container_stop(rt, argv[i], (int)timeout, &err);
                        if (r >= 0)
                                r = mx_container_start(rt, argv[i], 0, &err);
                        break;
                case OP_KILL:
                        r = mx_container_kill(rt, argv[i], signo, &err);
                        break;
                case OP_WAIT:
                        r = mx_container_wait(rt, argv[i], &code, &err);
                        break;
                case OP_PAUSE:
                        r = mx_container_pause(rt, argv[i], &err);
                        break;
                case OP_UNPAUSE:
                        r = mx_container_unpause(rt, argv[i], &err);
                        break;
                case OP_RM:
                        r = mx_container_remove(rt, argv[i], flags, &err);
                        break;
                }
                if (r < 0) {
                        rc = mx_cli_error(cli, err);
                        mx_error_free(err);
                        continue;
                }
                if (op == OP_WAIT)
                        printf("%d\n", code);
                else
                        printf("%s\n", argv[i]);
        }
        mx_runtime_free(rt);
        return rc;
}

static int cmd_stop_like(mx_cli *cli, int argc, char **argv, op_kind op)
{
        static const struct option opts[] = {
                {"time", required_argument, NULL, 't'},
                {"timeout", required_argument, NULL, 't'},
                {0},
        };
        long timeout = -1;
        int c;

        while ((c = mx_cli_getopt(cli, argc, argv, "t:", opts)) != -1) {
                if (c != 't')
                        return cli->exit_code;
                if (parse_int(optarg, &timeout) < 0)
                        return mx_cli_usage_error(cli, "invalid --time '%s'", optarg);
        }
        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        return each(cli, argc, argv, op, timeout, 0, 0);
}

static int cmd_stop(mx_cli *cli, int argc, char **argv)
{
        return cmd_stop_like(cli, argc, argv, OP_STOP);
}

static int cmd_restart(mx_cli *cli, int argc, char **argv)
{
        return cmd_stop_like(cli, argc, argv, OP_RESTART);
}

static int cmd_kill(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"signal", required_argument, NULL, 's'},
                {0},
        };
        int signo = SIGKILL, c;

        while ((c = mx_cli_getopt(cli, argc, argv, "s:", opts)) != -1) {
                if (c != 's')
                        return cli->exit_code;
                signo = signal_number(optarg);
                if (signo < 0)
                        return mx_cli_usage_error(cli, "invalid signal '%s'", optarg);
        }
        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        return each(cli, argc, argv, OP_KILL, 0, signo, 0);
}

static int cmd_simple(mx_cli *cli, int argc, char **argv, op_kind op)
{
        int c;

        while ((c = mx_cli_getopt(cli, argc, argv, "", NULL)) != -1)
                return cli->exit_code;
        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        return each(cli, argc, argv, op, 0, 0, 0);
}

static int cmd_wait(mx_cli *cli, int argc, char **argv)
{
        return cmd_simple(cli, argc, argv, OP_WAIT);
}

static int cmd_pause(mx_cli *cli, int argc, char **argv)
{
        return cmd_simple(cli, argc, argv, OP_PAUSE);
}

static int cmd_unpause(mx_cli *cli, int argc, char **argv)
{
        return cmd_simple(cli, argc, argv, OP_UNPAUSE);
}

static int cmd_rm(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {"volumes", no_argument, NULL, 'v'},
                {0},
        };
        unsigned flags = 0;
        int c;

        while ((c = mx_cli_getopt(cli, argc, argv, "fv", opts)) != -1) {
                if (c == 'f')
                        flags |= MX_REMOVE_FORCE;
                else if (c == 'v')
                        flags |= MX_REMOVE_VOLUMES;
                else
                        return cli->exit_code;
        }
        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        return each(cli, argc, argv, OP_RM, 0, 0, flags);
}

static int cmd_prune(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {0},
        };
        bool force = false;
        mx_runtime *rt = NULL;
        mx_error *err = NULL;
        char *text = NULL;
        json_t *j, *v;
        size_t i;
        int c, r;

        while ((c = mx_cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                if (c != 'f')
                        return cli->exit_code;
                force = true;
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (!force && !mx_cli_confirm(cli, "WARNING! This will remove all stopped containers."))
                return 0;
        r = open_rt(cli, &rt);
        if (r)
                return r;
        if (mx_container_prune(rt, &text, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                mx_runtime_free(rt);
                return r;
        }
        j = json_loads(text, 0, NULL);
        if (json_array_size(json_object_get(j, "ContainersDeleted")))
                printf("Deleted Containers:\n");
        json_array_foreach(json_object_get(j, "ContainersDeleted"), i, v)
                printf("%s\n", json_string_value(v));
        printf("\nTotal reclaimed space: 0B\n");
        json_decref(j);
        mx_free(text);
        mx_runtime_free(rt);
        return 0;
}

MX_CLI_COMMAND(stop, "stop", cmd_stop, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Stop one or more running containers")
MX_CLI_COMMAND(restart, "restart", cmd_restart, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Restart one or more containers")
MX_CLI_COMMAND(kill, "kill", cmd_kill, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Kill one or more running containers")
MX_CLI_COMMAND(wait, "wait", cmd_wait, "CONTAINER [CONTAINER...]",
               "Block until one or more containers stop, then print their exit codes")
MX_CLI_COMMAND(pause, "pause", cmd_pause, "CONTAINER [CONTAINER...]",
               "Pause all processes within one or more containers")
MX_CLI_COMMAND(unpause, "unpause", cmd_unpause, "CONTAINER [CONTAINER...]",
               "Unpause all processes within one or more containers")
MX_CLI_COMMAND(rm, "rm", cmd_rm, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Remove one or more containers")
MX_CLI_COMMAND(container_prune, "container prune", cmd_prune, "[OPTIONS]",
               "Remove all stopped containers")
MX_CLI_ALIAS(container_stop, "container stop", "stop")
MX_CLI_ALIAS(container_restart, "container restart", "restart")
MX_CLI_ALIAS(container_kill, "container kill", "kill")
MX_CLI_ALIAS(container_wait, "container wait", "wait")
MX_CLI_ALIAS(container_pause, "container pause", "pause")
MX_CLI_ALIAS(container_unpause, "container unpause", "unpause")
MX_CLI_ALIAS(container_rm, "container rm", "rm")
