/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex: global options, command dispatch, error printing. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/common.h>
#include <myrmex/error.h>
#include <myrmex/log.h>
#include <myrmex/store.h>

#include "cli.h"

static mx_cli_command *commands;

void mx_cli_register(mx_cli_command *cmd)
{
        cmd->next = commands;
        commands = cmd;
}

/* Aliases Docker has for verbs whose command files may not be written yet; an alias of a
 * missing command is simply not offered. */
MX_CLI_ALIAS(image_ls, "image ls", "images")
MX_CLI_ALIAS(image_list, "image list", "images")
MX_CLI_ALIAS(image_rm, "image rm", "rmi")
MX_CLI_ALIAS(image_remove, "image remove", "rmi")
MX_CLI_ALIAS(image_inspect, "image inspect", "inspect")
MX_CLI_ALIAS(image_history, "image history", "history")
MX_CLI_ALIAS(image_tag, "image tag", "tag")
MX_CLI_ALIAS(image_load, "image load", "load")
MX_CLI_ALIAS(image_save, "image save", "save")
MX_CLI_ALIAS(image_import, "image import", "import")
MX_CLI_ALIAS(image_pull, "image pull", "pull")
MX_CLI_ALIAS(image_push, "image push", "push")
MX_CLI_ALIAS(image_build, "image build", "build")
MX_CLI_ALIAS(image_umount, "image umount", "image unmount")
MX_CLI_ALIAS(container_ls, "container ls", "ps")
MX_CLI_ALIAS(container_list, "container list", "ps")
MX_CLI_ALIAS(container_create, "container create", "create")
MX_CLI_ALIAS(container_run, "container run", "run")
MX_CLI_ALIAS(container_start, "container start", "start")
MX_CLI_ALIAS(container_stop, "container stop", "stop")
MX_CLI_ALIAS(container_restart, "container restart", "restart")
MX_CLI_ALIAS(container_rm, "container rm", "rm")
MX_CLI_ALIAS(container_logs, "container logs", "logs")
MX_CLI_ALIAS(container_exec, "container exec", "exec")
MX_CLI_ALIAS(container_stats, "container stats", "stats")
MX_CLI_ALIAS(container_kill, "container kill", "kill")
MX_CLI_ALIAS(container_wait, "container wait", "wait")

static const mx_cli_command *find_exact(const char *name)
{
        for (const mx_cli_command *c = commands; c; c = c->next) {
                if (strcmp(c->name, name) == 0)
                        return c;
        }
        return NULL;
}

/* Resolve aliases (at most a few hops; a cycle ends as "not found"). */
static const mx_cli_command *resolve(const char *name)
{
        const mx_cli_command *c = find_exact(name);

        for (int hops = 0; c && c->alias_of && hops < 4; hops++)
                c = find_exact(c->alias_of);
        if (c && c->alias_of)
                return NULL;
        return c;
}

/* The longest registered name made of the words argv[0..]; *nwords_out gets its length. */
#define MAX_WORDS 3
static const mx_cli_command *lookup(int argc, char **argv, int *nwords_out)
{
        for (int k = argc < MAX_WORDS ? argc : MAX_WORDS; k >= 1; k--) {
                char name[256] = "";
                size_t used = 0;
                bool ok = true;

                for (int i = 0; i < k && ok; i++) {
                        int n = snprintf(name + used, sizeof(name) - used, "%s%s", i ? " " : "",
                                         argv[i]);
                        if (n < 0 || (size_t)n >= sizeof(name) - used)
                                ok = false;
                        else
                                used += (size_t)n;
                }
                if (!ok)
                        continue;
                const mx_cli_command *c = resolve(name);
                if (c) {
                        *nwords_out = k;
                        return c;
                }
        }
        return NULL;
}

static int cmp_cmd(const void *a, const void *b)
{
        const mx_cli_command *const *x = a, *const *y = b;

        return strcmp((*x)->name, (*y)->name);
}

/* Commands (not aliases) whose name starts with prefix + " " (or all when prefix is NULL),
 * sorted by name. */
static void list_commands(FILE *f, const char *prefix)
{
        const mx_cli_command *v[512];
        size_t n = 0, plen = prefix ? strlen(prefix) : 0;
        size_t skip = prefix ? plen + 1 : 0;
        int width = 0;

        for (const mx_cli_command *c = commands; c && n < MX_CLI_ARRAY_SIZE(v); c = c->next) {
                /* aliases are listed under their group ("image ls") when they lead somewhere */
                if (c->alias_of && (!prefix || !resolve(c->name)))
                        continue;
                /* internal verbs ("__monitor") are not for people */
                if (c->name[0] == '_')
                        continue;
                if (prefix && (strncmp(c->name, prefix, plen) != 0 || c->name[plen] != ' '))
                        continue;
                v[n++] = c;
                if ((int)(strlen(c->name) - skip) > width)
                        width = (int)(strlen(c->name) - skip);
        }
        qsort(v, n, sizeof(v[0]), cmp_cmd);
        for (size_t i = 0; i < n; i++) {
                const mx_cli_command *t = resolve(v[i]->name);

                fprintf(f, "  %-*s  %s\n", width, v[i]->name + skip,
                        t && t->summary ? t->summary : "");
        }
}

static bool is_group(const char *word)
{
        size_t len = strlen(word);

        for (const mx_cli_command *c = commands; c; c = c->next) {
                if (strncmp(c->name, word, len) == 0 && c->name[len] == ' ' && resolve(c->name))
                        return true;
        }
        return false;
}

static void print_main_help(FILE *f)
{
        fprintf(f, "Usage:  myrmex [OPTIONS] COMMAND\n\n"
                   "A daemonless OCI container toolkit\n\n"
                   "Options:\n"
                   "      --root DIR           store directory (default $MYRMEX_ROOT, else "
                   "/var/lib/myrmex)\n"
                   "      --log-level LEVEL    error, warn, info, debug or trace (default warn)\n"
                   "      --log-format FORMAT  text or json (default text)\n"
                   "  -v, --verbose            same as --log-level debug\n"
                   "  -h, --help               print this help\n"
                   "      --version            print the version\n\n"
                   "Commands:\n");
        list_commands(f, NULL);
        fprintf(f, "\nRun 'myrmex COMMAND --help' for more information on a command.\n");
}

/* ---- errors --------------------------------------------------------------------------- */

static void print_fail(const mx_error *err, const char *prefix)
{
        char *chain = err ? mx_error_format(err) : NULL;

        fflush(stdout);
        fputs("myrmex: error: ", stderr);
        if (prefix) {
                fputs(prefix, stderr);
                if (err)
                        fputs(": ", stderr);
        }
        if (err)
                fputs(chain ? chain : "out of memory", stderr);
        else if (!prefix)
                fputs("failed", stderr);
        fputc('\n', stderr);
        mx_free(chain);
}

static void vfail(const mx_error *err, const char *fmt, va_list ap)
{
        char *prefix = NULL;

        if (vasprintf(&prefix, fmt, ap) < 0)
                prefix = NULL;
        print_fail(err, prefix);
        free(prefix);
}

int mx_cli_error(mx_cli *cli, const mx_error *err)
{
        (void)cli;
        print_fail(err, NULL);
        return 1;
}

int mx_cli_fail(mx_cli *cli, const mx_error *err, const char *fmt, ...)
{
        va_list ap;

        (void)cli;
        va_start(ap, fmt);
        vfail(err, fmt, ap);
        va_end(ap);
        return 1;
}

int mx_cli_fail_code(mx_cli *cli, int code, const mx_error *err, const char *fmt, ...)
{
        va_list ap;

        (void)cli;
        va_start(ap, fmt);
        vfail(err, fmt, ap);
        va_end(ap);
        return code;
}

void mx_cli_warn(mx_cli *cli, const char *fmt, ...)
{
        va_list ap;

        (void)cli;
        fflush(stdout);
        fputs("myrmex: warning: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void print_usage_line(mx_cli *cli, FILE *f)
{
        if (cli->cmd)
                fprintf(f, "Usage:  myrmex %s %s\n", cli->cmd->name,
                        cli->cmd->usage ? cli->cmd->usage : "");
        else
                fputs("Usage:  myrmex [OPTIONS] COMMAND\n", f);
}

void mx_cli_print_usage(mx_cli *cli, FILE *f)
{
        print_usage_line(cli, f);
        if (cli->cmd && cli->cmd->summary)
                fprintf(f, "\n%s\n", cli->cmd->summary);
}

int mx_cli_usage_error(mx_cli *cli, const char *fmt, ...)
{
        va_list ap;

        fflush(stdout);
        fputs("myrmex: error: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        print_usage_line(cli, stderr);
        if (cli->cmd)
                fprintf(stderr, "See 'myrmex %s --help'.\n", cli->cmd->name);
        return 2;
}

/* ---- per-verb options ----------------------------------------------------------------- */

/* The option list of a verb's help, from its getopt tables (flags have no descriptions). */
static void print_options(const char *shortopts, const struct option *longopts, bool short_h,
                          FILE *f)
{
        fputs("\nOptions:\n", f);
        for (size_t i = 0; longopts && longopts[i].name; i++) {
                int v = longopts[i].val;
                bool has_short = v > ' ' && v < 127 && v != ':' && strchr(shortopts, v);

                if (has_short)
                        fprintf(f, "  -%c, --%s%s\n", v, longopts[i].name,
                                longopts[i].has_arg == required_argument ? " string" : "");
                else
                        fprintf(f, "      --%s%s\n", longopts[i].name,
                                longopts[i].has_arg == required_argument ? " string" : "");
        }
        fputs(short_h ? "  -h, --help\n" : "      --help\n", f);
}

int mx_cli_getopt(mx_cli *cli, int argc, char **argv, const char *shortopts,
                  const struct option *longopts)
{
        struct option opts[64];
        char shorts[128];
        size_t n = 0;
        bool short_h = !strchr(shortopts, 'h');
        int c, idx = 0;

        /* getopt prints its own messages; ours say which command they belong to */
        opterr = 0;
        for (; longopts && longopts[n].name && n < MX_CLI_ARRAY_SIZE(opts) - 2; n++)
                opts[n] = longopts[n];
        opts[n++] = (struct option){"help", no_argument, NULL, 0x7001};
        opts[n] = (struct option){0};
        /* leading ':' so a missing argument is told apart from an unknown option */
        if (shortopts[0] == '+')
                snprintf(shorts, sizeof(shorts), "+:%s%s", shortopts + 1, short_h ? "h" : "");
        else
                snprintf(shorts, sizeof(shorts), ":%s%s", shortopts, short_h ? "h" : "");

        c = getopt_long(argc, argv, shorts, opts, &idx);
        if (c == 0x7001 || (c == 'h' && short_h)) {
                mx_cli_print_usage(cli, stdout);
                print_options(shortopts, longopts, short_h, stdout);
                cli->exit_code = 0;
                return MX_CLI_OPT_EXIT;
        }
        if (c == '?') {
                if (optopt)
                        cli->exit_code =
                                mx_cli_usage_error(cli, "unknown shorthand flag: '%c'", optopt);
                else
                        cli->exit_code =
                                mx_cli_usage_error(cli, "unknown flag: %s", argv[optind - 1]);
                return MX_CLI_OPT_EXIT;
        }
        if (c == ':') {
                cli->exit_code =
                        mx_cli_usage_error(cli, "flag needs an argument: %s", argv[optind - 1]);
                return MX_CLI_OPT_EXIT;
        }
        return c;
}

int mx_cli_want_args(mx_cli *cli, int argc, int min, int max)
{
        if (argc < min) {
                if (min == 1)
                        return mx_cli_usage_error(cli, "\"%s\" requires at least 1 argument",
                                                  cli->cmd->name);
                return mx_cli_usage_error(cli, "\"%s\" requires at least %d arguments",
                                          cli->cmd->name, min);
        }
        if (max >= 0 && argc > max) {
                if (max == 0)
                        return mx_cli_usage_error(cli, "\"%s\" accepts no arguments",
                                                  cli->cmd->name);
                return mx_cli_usage_error(cli, "\"%s\" requires at most %d argument%s",
                                          cli->cmd->name, max, max == 1 ? "" : "s");
        }
        return 0;
}

/* ---- logging -------------------------------------------------------------------------- */

static void log_handler(mx_log_level level, const char *message, void *userdata)
{
        mx_cli *cli = userdata;

        if (cli->log_json) {
                json_t *o =
                        json_pack("{s:s, s:s}", "level", mx_log_level_name(level), "msg", message);
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

                if (s)
                        fprintf(stderr, "%s\n", s);
                free(s);
                json_decref(o);
                return;
        }
        fprintf(stderr, "myrmex: %s: %s\n", mx_log_level_name(level), message);
}

/* ---- main ----------------------------------------------------------------------------- */

enum {
        OPT_ROOT = 0x100,
        OPT_LOG_LEVEL,
        OPT_LOG_FORMAT,
        OPT_VERSION,
};

static int finish(int code)
{
        /* A reader that went away (myrmex images | head -1) is not an error. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                if (errno == EPIPE)
                        return code;
                fprintf(stderr, "myrmex: error: write standard output: %s\n", strerror(errno));
                return code ? code : 1;
        }
        return code;
}

static void store_close(mx_cli *cli);

int main(int argc, char **argv)
{
        static const struct option global_opts[] = {
                {"root", required_argument, NULL, OPT_ROOT},
                {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {0},
        };
        mx_cli cli = {.log_level = MX_LOG_WARN};
        const mx_cli_command *cmd;
        char **sub_argv;
        int c, nwords = 0, r;

        (void)signal(SIGPIPE, SIG_IGN);
        cli.root = getenv("MYRMEX_ROOT");
        if (cli.root && !*cli.root)
                cli.root = NULL;
        cli.stdout_tty = isatty(STDOUT_FILENO);
        cli.stderr_tty = isatty(STDERR_FILENO);
        {
                const char *lvl = getenv("MYRMEX_LOG_LEVEL");
                mx_log_level l;

                if (lvl && mx_log_level_parse(lvl, &l) == 0)
                        cli.log_level = l;
        }

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:vh", global_opts, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        cli.root = optarg;
                        break;
                case OPT_LOG_LEVEL:
                        if (mx_log_level_parse(optarg, &cli.log_level) < 0) {
                                fprintf(stderr,
                                        "myrmex: error: invalid log level '%s' (error, warn, "
                                        "info, debug, trace)\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case OPT_LOG_FORMAT:
                        if (strcmp(optarg, "json") == 0) {
                                cli.log_json = true;
                        } else if (strcmp(optarg, "text") == 0) {
                                cli.log_json = false;
                        } else {
                                fprintf(stderr,
                                        "myrmex: error: invalid log format '%s' (text, json)\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'v':
                        cli.log_level = MX_LOG_DEBUG;
                        break;
                case 'h':
                        print_main_help(stdout);
                        return finish(0);
                case OPT_VERSION:
                        printf("myrmex version %s\n", mx_version());
                        return finish(0);
                case ':':
                        fprintf(stderr, "myrmex: error: flag needs an argument: %s\n",
                                argv[optind - 1]);
                        return 2;
                default:
                        fprintf(stderr, "myrmex: error: unknown flag: %s\n", argv[optind - 1]);
                        fputs("See 'myrmex --help'.\n", stderr);
                        return 2;
                }
        }
        mx_log_set_level(cli.log_level);
        mx_log_set_handler(log_handler, &cli);

        if (optind >= argc) {
                print_main_help(stderr);
                return 2;
        }
        if (strcmp(argv[optind], "help") == 0) {
                if (optind + 1 >= argc) {
                        print_main_help(stdout);
                        return finish(0);
                }
                cmd = lookup(argc - optind - 1, argv + optind + 1, &nwords);
                if (!cmd) {
                        if (is_group(argv[optind + 1])) {
                                printf("Usage:  myrmex %s COMMAND\n\nCommands:\n",
                                       argv[optind + 1]);
                                list_commands(stdout, argv[optind + 1]);
                                return finish(0);
                        }
                        fprintf(stderr, "myrmex: error: unknown command '%s'\n", argv[optind + 1]);
                        return 2;
                }
                cli.cmd = cmd;
                mx_cli_print_usage(&cli, stdout);
                return finish(0);
        }

        cmd = lookup(argc - optind, argv + optind, &nwords);
        if (!cmd) {
                const char *w = argv[optind];

                if (is_group(w)) {
                        FILE *f = optind + 1 < argc ? stderr : stdout;

                        if (optind + 1 < argc && strcmp(argv[optind + 1], "--help") != 0 &&
                            strcmp(argv[optind + 1], "-h") != 0)
                                fprintf(stderr, "myrmex: error: unknown command '%s %s'\n", w,
                                        argv[optind + 1]);
                        else
                                f = stdout;
                        fprintf(f, "Usage:  myrmex %s COMMAND\n\nCommands:\n", w);
                        list_commands(f, w);
                        return finish(f == stdout ? 0 : 2);
                }
                fprintf(stderr, "myrmex: error: unknown command '%s'\nSee 'myrmex --help'.\n", w);
                return 2;
        }
        cli.cmd = cmd;

        /* The handler sees argv[0] = the command's full name, then its own arguments. */
        int sub_argc = argc - optind - nwords + 1;
        sub_argv = mx_cli_xmalloc(sizeof(char *) * ((size_t)sub_argc + 1));
        sub_argv[0] = (char *)(uintptr_t)cmd->name;
        for (int i = 1; i < sub_argc; i++)
                sub_argv[i] = argv[optind + nwords + i - 1];
        sub_argv[sub_argc] = NULL;
        optind = 0; /* glibc: full re-initialisation for the verb's own getopt */

        r = cmd->handler(&cli, sub_argc, sub_argv);
        mx_cli_progress_end(&cli);
        store_close(&cli);
        free(sub_argv);
        return finish(r);
}

/* ---- the store ------------------------------------------------------------------------ */

/* Weak until the store module lands in libmyrmex, so the CLI links meanwhile. */
#pragma weak mx_store_open
#pragma weak mx_store_free

int mx_cli_store(mx_cli *cli, mx_store **out, mx_error **err)
{
        if (!mx_store_open) {
                (void)err;
                fputs("myrmex: error: this build has no store\n", stderr);
                return MX_EUNSUPPORTED;
        }
        if (!cli->store) {
                int r = mx_store_open(&cli->store, cli->root, err);

                if (r < 0)
                        return r;
        }
        *out = cli->store;
        return 0;
}

static void store_close(mx_cli *cli)
{
        if (cli->store)
                mx_store_free(cli->store);
        cli->store = NULL;
}
