/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex login / logout: check and store registry credentials in the Docker config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <myrmex/registry.h>

#include "cli.h"

#define OPT_TLS_VERIFY     0x7101
#define OPT_CERT_DIR       0x7102
#define OPT_PASSWORD_STDIN 0x7120
#define MAX_SECRET         4096

int mx_cli__registry_opt(mx_cli *cli, mx_registry_opts *o, int c, char *arg);

/* One line from f without its newline, at most MAX_SECRET bytes; NULL at EOF. */
static char *read_line(FILE *f)
{
        char *buf = mx_cli_xmalloc(MAX_SECRET + 1);
        size_t n;

        if (!fgets(buf, MAX_SECRET + 1, f)) {
                free(buf);
                return NULL;
        }
        n = strcspn(buf, "\r\n");
        buf[n] = '\0';
        return buf;
}

static char *prompt(const char *what, int echo)
{
        struct termios old, quiet;
        int tty = isatty(STDIN_FILENO);
        char *line;

        fprintf(stderr, "%s: ", what);
        fflush(stderr);
        if (!echo && tty && tcgetattr(STDIN_FILENO, &old) == 0) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t)ECHO;
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
                line = read_line(stdin);
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                fputc('\n', stderr);
                return line;
        }
        return read_line(stdin);
}

static int cmd_login(mx_cli *cli, int argc, char **argv)
{
        static const struct option longopts[] = {
                {"username", required_argument, NULL, 'u'},
                {"password", required_argument, NULL, 'p'},
                {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
                {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
                {"cert-dir", required_argument, NULL, OPT_CERT_DIR},
                {0},
        };
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        mx_error *err = NULL;
        char *user = NULL, *pass = NULL;
        int c, k, from_stdin = 0, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "u:p:", longopts)) != -1) {
                k = mx_cli__registry_opt(cli, &o, c, optarg);
                if (k == 2)
                        return 2;
                if (k == 1)
                        continue;
                switch (c) {
                case 'u':
                        free(user);
                        user = mx_cli_xstrdup(optarg);
                        break;
                case 'p':
                        free(pass);
                        pass = mx_cli_xstrdup(optarg);
                        /* hide it from ps as far as we can */
                        explicit_bzero(optarg, strlen(optarg));
                        break;
                case OPT_PASSWORD_STDIN:
                        from_stdin = 1;
                        break;
                default:
                        free(user);
                        free(pass);
                        return cli->exit_code;
                }
        }
        if (argc - optind != 1) {
                free(user);
                free(pass);
                return mx_cli_usage_error(cli, "\"login\" requires exactly 1 argument (SERVER)");
        }
        if (pass && !from_stdin)
                mx_cli_warn(cli, "using --password on the command line is insecure; use "
                                 "--password-stdin");
        if (from_stdin) {
                if (pass || !user) {
                        free(user);
                        free(pass);
                        return mx_cli_usage_error(cli, "--password-stdin needs --username and "
                                                       "no --password");
                }
                pass = read_line(stdin);
        }
        if (!user)
                user = prompt("Username", 1);
        if (!pass)
                pass = prompt("Password", 0);
        if (!user || !*user || !pass || !*pass) {
                r = mx_cli_fail(cli, NULL, "username and password are required");
        } else if (mx_registry_login(argv[optind], user, pass, &o, &err) < 0) {
                r = mx_cli_error(cli, err);
        } else {
                printf("Login Succeeded\n");
        }
        if (pass)
                explicit_bzero(pass, strlen(pass));
        free(pass);
        free(user);
        mx_error_free(err);
        return r;
}

static int cmd_logout(mx_cli *cli, int argc, char **argv)
{
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "", NULL)) != -1)
                return cli->exit_code;
        if (argc - optind != 1)
                return mx_cli_usage_error(cli, "\"logout\" requires exactly 1 argument (SERVER)");
        if (mx_registry_logout(argv[optind], &err) < 0)
                r = mx_cli_error(cli, err);
        else
                printf("Removing login credentials for %s\n", argv[optind]);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(login, "login", cmd_login, "[OPTIONS] SERVER", "Log in to a registry")
MX_CLI_COMMAND(logout, "logout", cmd_logout, "SERVER", "Log out from a registry")
