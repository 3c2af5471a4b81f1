/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The myrmex command framework.
 *
 * Every verb lives in its own src/cli/cmd-<verb>.c and registers itself:
 *
 *         static int cmd_tag(mx_cli *cli, int argc, char **argv) { ... }
 *         MX_CLI_COMMAND(tag, "tag", cmd_tag, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
 *                        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
 *
 * Names may have several words ("image mount", "system check"); the dispatcher picks the
 * longest registered name that matches the words after the global options. Aliases
 * (MX_CLI_ALIAS) map another name onto a registered one ("image ls" -> "images").
 *
 * A handler gets argv with argv[0] = the command's name and returns the process's exit
 * code: 0, 1 for failures (mx_cli_fail/mx_cli_error print "myrmex: error: ..."), 2 for
 * usage errors (mx_cli_usage_error prints the usage line too), 125 for failures of `run`
 * before the container's own process started.
 */
#ifndef MX_CLI_H
#define MX_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <myrmex/error.h>
#include <myrmex/log.h>
#include <myrmex/progress.h>
#include <myrmex/registry.h>
#include <myrmex/store.h>

#define MX_CLI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef struct mx_cli mx_cli;

typedef int (*mx_cli_handler)(mx_cli *cli, int argc, char **argv);

typedef struct mx_cli_command {
        const char *name; /* "images", "image mount" */
        mx_cli_handler handler;
        const char *usage;    /* what follows the name in the usage line: "[OPTIONS] IMAGE" */
        const char *summary;  /* one line for `myrmex --help` */
        const char *alias_of; /* set for aliases; handler is then NULL */
        struct mx_cli_command *next;
} mx_cli_command;

void mx_cli_register(mx_cli_command *cmd);

#define MX_CLI_COMMAND(ident, name_, handler_, usage_, summary_)                   \
        static mx_cli_command mx_cli_cmd_##ident = {                               \
                .name = (name_),                                                   \
                .handler = (handler_),                                             \
                .usage = (usage_),                                                 \
                .summary = (summary_),                                             \
        };                                                                         \
        __attribute__((constructor)) static void mx_cli_cmd_register_##ident(void) \
        {                                                                          \
                mx_cli_register(&mx_cli_cmd_##ident);                              \
        }

/* Another name for a registered command: MX_CLI_ALIAS(image_ls, "image ls", "images"). */
#define MX_CLI_ALIAS(ident, name_, target_)                                          \
        static mx_cli_command mx_cli_alias_##ident = {                               \
                .name = (name_),                                                     \
                .alias_of = (target_),                                               \
        };                                                                           \
        __attribute__((constructor)) static void mx_cli_register_alias_##ident(void) \
        {                                                                            \
                mx_cli_register(&mx_cli_alias_##ident);                              \
        }

typedef struct mx_cli_progress mx_cli_progress;

/* The context every handler gets. */
struct mx_cli {
        const char *root;          /* --root, else $MYRMEX_ROOT, else NULL (the default) */
        mx_log_level log_level;    /* after --log-level / -v */
        bool log_json;             /* --log-format json */
        const mx_cli_command *cmd; /* the command being run */
        bool stdout_tty;
        bool stderr_tty;
        mx_store *store;           /* opened on first mx_cli_store() */
        mx_cli_progress *progress; /* created on first mx_cli_progress_cb use */
        int exit_code;             /* set by mx_cli_getopt when it asks the handler to stop */
};

/* ---- errors and usage ------------------------------------------------------------------ */

/* Print "myrmex: error: <chain>" and return 1. Frees nothing; err may be NULL. */
int mx_cli_error(mx_cli *cli, const mx_error *err);
/* Print "myrmex: error: <fmt>: <chain>" (": <chain>" only when err is non-NULL), return 1. */
int mx_cli_fail(mx_cli *cli, const mx_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Same with an explicit exit code (125 for `run`). */
int mx_cli_fail_code(mx_cli *cli, int code, const mx_error *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Print "myrmex: error: <fmt>" and the usage line of the current command; return 2. */
int mx_cli_usage_error(mx_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "myrmex: warning: <fmt>" on stderr. */
void mx_cli_warn(mx_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the full help of the current command on stdout. */
void mx_cli_print_usage(mx_cli *cli, FILE *f);

/*
 * getopt_long over a verb's arguments with --help (and -h unless the verb claims 'h')
 * handled. Returns the option like getopt_long, -1 at the end, or MX_CLI_OPT_EXIT after
 * printing the help (cli->exit_code = 0) or a usage error (cli->exit_code = 2); the handler
 * then returns cli->exit_code. Long options need no help entry; it is added here.
 * Use a '+' at the start of shortopts to stop at the first non-option (run, exec).
 */
#define MX_CLI_OPT_EXIT (-1000)
int mx_cli_getopt(mx_cli *cli, int argc, char **argv, const char *shortopts,
                  const struct option *longopts);

/* Check the number of positional arguments left after getopt; prints a usage error. */
int mx_cli_want_args(mx_cli *cli, int argc, int min, int max);

/* ---- the store ------------------------------------------------------------------------- */

/* Open the store (cli->root) on first use. On failure fills err and returns < 0. */
int mx_cli_store(mx_cli *cli, mx_store **out, mx_error **err);

/* ---- output ---------------------------------------------------------------------------- */

/* Docker's human sizes: base 1000, "%.*g" with precision significant digits ("1.24MB"). */
void mx_cli_human_size(char *buf, size_t len, double size, int precision);
/* Docker's relative time of a past instant: "2 hours ago", "Less than a second ago". */
void mx_cli_human_since(char *buf, size_t len, time_t when, time_t now);
/* Docker's duration words without " ago": "About an hour", "3 days". */
void mx_cli_human_duration(char *buf, size_t len, int64_t seconds);
/* Go's time.Time.String() of a UTC instant: "2021-12-30 19:19:41 +0000 UTC". */
void mx_cli_go_time(char *buf, size_t len, time_t when);
/* A UTC instant as RFC 3339 in whole seconds: "2021-12-30T19:19:41Z" (inspect's CreatedAt). */
void mx_cli_rfc3339(char *buf, size_t len, int64_t t);
/* RFC 3339 parse ("2021-12-30T19:19:41.123456789Z", offsets too). Returns 0 on success. */
int mx_cli_parse_rfc3339(const char *s, time_t *out);

/* A Docker-like table: columns padded to their widest cell plus 3, at least 10 wide. */
typedef struct mx_table mx_table;
mx_table *mx_table_new(void);
/* Add a row of n cells (copied). The first row is usually the header. */
void mx_table_add(mx_table *t, const char *const *cells, size_t n);
/* Add a row from one string whose cells are separated by '\t'. */
void mx_table_add_tabbed(mx_table *t, const char *line);
void mx_table_print(mx_table *t, FILE *f);
void mx_table_free(mx_table *t);

/*
 * A listing's output: rows are JSON objects with Docker's field names; --format picks
 * "table" (the command's default template), "json" (one compact object per line, sorted
 * keys) or a Go-style template ("{{.ID}}", "table {{.ID}}\t{{.Size}}", "{{json .Labels}}").
 * headers maps field names to column titles for table templates ({"ID": "IMAGE ID"}); fields
 * without one get their name upper-cased.
 */
typedef struct mx_formatter mx_formatter;
/* Returns NULL and fills err when the template does not parse. */
mx_formatter *mx_formatter_new(const char *format, const char *default_table, const json_t *headers,
                               mx_error **err);
/* Print (or buffer, for tables) one row. Returns < 0 with err when a template fails. */
int mx_formatter_row(mx_formatter *f, const json_t *row, mx_error **err);
/* Flush buffered table output; prints the header even without rows. */
void mx_formatter_end(mx_formatter *f);
void mx_formatter_free(mx_formatter *f);
/* mx_formatter_new for a verb's --format; when the template does not parse, prints
 * "invalid --format: <why>" with the usage line and returns NULL (the verb exits 2). */
mx_formatter *mx_cli_formatter(mx_cli *cli, const char *format, const char *default_table,
                               const json_t *headers);
/* mx_formatter_row taking row; when a template fails prints "myrmex: error: [<what>: ]..."
 * and returns 1, else 0. */
int mx_cli_formatter_put(mx_cli *cli, mx_formatter *f, json_t *row, const char *what);

/* Render one template against one value into a malloc'ed string. */
int mx_template_render(char **out, const char *tmpl, const json_t *value, mx_error **err);

/* Labels stored as JSON text (NULL or unparsable: none) as a new object reference. */
json_t *mx_cli_labels_json(const char *text);
/* Add a --label KEY=VALUE to labels; a usage error (returns 2) without '=' or a key. */
int mx_cli_add_label(mx_cli *cli, json_t *labels, const char *kv);

/* Print JSON pretty (Docker's inspect style: 4 spaces) followed by a newline. */
void mx_cli_print_json(FILE *f, const json_t *j);

/* Look name up for `<object> inspect`: 0 with *out = its JSON object (a new reference), or
 * < 0 with err filled when it is not found. */
typedef int (*mx_cli_inspect_fn)(json_t **out, mx_store *s, const char *name, mx_error **err);
/* The whole of `<object> inspect [-f FORMAT] NAME...`: every name through lookup, then one
 * pretty JSON array, or each object through the template. Returns the exit code (1 when any
 * name failed). */
int mx_cli_inspect_verb(mx_cli *cli, int argc, char **argv, mx_cli_inspect_fn lookup);
/* Remove name and say so (or print why not); nonzero when it failed. */
typedef int (*mx_cli_remove_fn)(mx_cli *cli, mx_store *s, const char *name, void *userdata);
/* The rest of `<object> rm NAME...` after its options (from optind): at least one name, then
 * each through remove_fn, going on after failures. Returns the exit code (1 when any failed). */
int mx_cli_remove_each(mx_cli *cli, int argc, char **argv, mx_cli_remove_fn remove_fn,
                       void *userdata);
/* A single object under --format: "json" (compact, in order) or a template, then a newline.
 * A template failure prints "myrmex: error: <what>: ..." and returns 1; else 0. */
int mx_cli_print_formatted(mx_cli *cli, const json_t *v, const char *format, const char *what);

/* ---- progress -------------------------------------------------------------------------- */

/* The callback to hand to library calls with userdata = cli: bars on a terminal (stderr),
 * plain lines otherwise. Call mx_cli_progress_end() when the operation returns. */
void mx_cli_progress_cb(const mx_progress_event *event, void *userdata);
void mx_cli_progress_end(mx_cli *cli);

/* ---- small helpers ---------------------------------------------------------------------- */

/* Abort-on-OOM allocation (allowed in the CLI only). */
void *mx_cli_xmalloc(size_t n);
char *mx_cli_xstrdup(const char *s);
char *mx_cli_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole-string decimal numbers, range-checked (the CLI cannot reach the library's internal
 * mx_parse_*; strtol and friends are banned). MX_EINVAL on anything else. */
int mx_cli_parse_u64(const char *s, uint64_t *out);
int mx_cli_parse_i64(const char *s, int64_t *out);
int mx_cli_parse_int(const char *s, int min, int max, int *out);
/* A count or a size with an optional k/m/g suffix (binary units): "4", "16m". Returns 0, or
 * -1 on anything else (overflow included). */
int mx_cli_parse_count(const char *s, uint64_t *out);

/* Shorten "sha256:<hex>" to 12 hex characters (no prefix) into buf, as Docker shows IDs. */
const char *mx_cli_short_id(char *buf, size_t len, const char *id);

/* ---- shared by image listings (images, system df -v) ----------------------------------- */

/* Column titles of image rows ({"ID": "IMAGE ID", ...}); new reference. */
json_t *mx_cli_image_headers(void);
/* An image's size as Docker shows it (unpacked layers; the blobs when unknown). */
int64_t mx_cli_image_size(const mx_image_record *rec);
/* The config's created time, else when the store recorded the image. */
time_t mx_cli_image_created(const mx_image_record *rec);
/* One `images` row with Docker's fields for rec under tag_ref (NULL: <none>). */
json_t *mx_cli_image_row(const mx_image_record *rec, const char *tag_ref, bool no_trunc,
                         time_t now);

/* Ask "Are you sure you want to continue? [y/N]" after warning; true on y/Y. */
bool mx_cli_confirm(mx_cli *cli, const char *warning);
/* Docker's "Deleted Images: ... Total reclaimed space: X" for a prune report. */
void mx_cli_print_prune(const mx_store_prune_report *rep);

/* ---- registry options (pull, push, login, registry) ------------------------------------ */

/* Options every registry verb takes (--tls-verify, --cert-dir, --authfile, --creds; the
 * codes are in cmd-registry.c). Returns 1 when c was one, 0 when not, 2 after a usage error. */
int mx_cli__registry_opt(mx_cli *cli, mx_registry_opts *o, int c, char *arg);

/* The option code of --parallel N (1 to 64, k/m/g allowed) for pull and push. */
#define MX_CLI_OPT_PARALLEL 0x7111
/* What pull and push share: the registry options, -q (sets *quiet) and --parallel. Returns
 * 1 when c was one, 0 when not, 2 after a usage error. */
int mx_cli_transfer_opt(mx_cli *cli, mx_registry_opts *o, int c, char *arg, int *quiet);

/* ---- info sections ------------------------------------------------------------------------ */

/* Other modules add keys to `myrmex info` (JSON with Docker's names) and lines to its text:
 * MX_CLI_INFO_SECTION(runtime, fn) with void fn(mx_cli *cli, json_t *info). The text view
 * prints every key the sections add. */
typedef void (*mx_cli_info_fn)(mx_cli *cli, json_t *info);
typedef struct mx_cli_info_section {
        const char *name;
        mx_cli_info_fn fn;
        struct mx_cli_info_section *next;
} mx_cli_info_section;
void mx_cli_register_info(mx_cli_info_section *sec);
#define MX_CLI_INFO_SECTION(ident, fn_)                                                 \
        static mx_cli_info_section mx_cli_info_##ident = {.name = #ident, .fn = (fn_)}; \
        __attribute__((constructor)) static void mx_cli_info_register_##ident(void)     \
        {                                                                               \
                mx_cli_register_info(&mx_cli_info_##ident);                             \
        }

#endif
