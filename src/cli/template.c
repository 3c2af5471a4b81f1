/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Go-style templates over JSON values, the subset people use with docker --format:
 * {{.Field}}, {{.A.B}}, {{.}}, {{json .X}}, {{upper .X}}, {{lower .X}}, {{title .X}},
 * {{join .List ","}}, {{index .Map "key"}}, {{truncate .X 12}}, {{len .X}}, {{println .X}},
 * pipelines ({{.X | json}}), {{if .X}}..{{else}}..{{end}}, {{range .List}}..{{end}},
 * and {{- / -}} trimming.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/error.h>

#include "cli.h"

/* ---- a tiny growable string ------------------------------------------------------------- */

typedef struct sbuf {
        char *p;
        size_t len, size;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->size) {
                size_t ns = b->size ? b->size * 2 : 128;

                while (ns < b->len + n + 1)
                        ns *= 2;
                char *np = realloc(b->p, ns);
                if (!np) {
                        fputs("myrmex: error: out of memory\n", stderr);
                        abort();
                }
                b->p = np;
                b->size = ns;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
        sb_put(b, s, strlen(s));
}

static char *sb_take(sbuf *b)
{
        char *p = b->p ? b->p : mx_cli_xstrdup("");

        b->p = NULL;
        b->len = b->size = 0;
        return p;
}

/* Errors are plain MX_EINVAL in the core domain: the template is the user's input. */
static int terr(mx_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int terr(mx_error **err, const char *fmt, ...)
{
        va_list ap;
        char *msg = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (err) {
                mx_error *e = calloc(1, sizeof(*e));

                if (e) {
                        e->code = MX_EINVAL;
                        e->domain = MX_D_CORE;
                        e->message = msg;
                        msg = NULL;
                        mx_error_free(*err);
                        *err = e;
                }
        }
        free(msg);
        return MX_EINVAL;
}

/* ---- parse tree ------------------------------------------------------------------------- */

typedef enum { ARG_FIELD, ARG_STRING, ARG_NUMBER, ARG_FUNC, ARG_DOT } arg_kind;

typedef struct arg {
        arg_kind kind;
        char *text; /* field path without the leading dot ("A.B"), string, number, func name */
} arg;

typedef struct command {
        arg *args; /* args[0] is the function or the value */
        size_t nargs;
} command;

typedef struct pipeline {
        command *cmds;
        size_t ncmds;
} pipeline;

typedef enum { NODE_TEXT, NODE_ACTION, NODE_IF, NODE_RANGE } node_kind;

typedef struct node node;
typedef struct nodelist {
        node **v;
        size_t n;
} nodelist;

struct node {
        node_kind kind;
        char *text;      /* NODE_TEXT */
        pipeline pipe;   /* NODE_ACTION, NODE_IF, NODE_RANGE */
        nodelist body;   /* IF/RANGE */
        nodelist orelse; /* IF/RANGE {{else}} */
};

static void nodelist_free(nodelist *l);

static void pipeline_free(pipeline *p)
{
        for (size_t i = 0; i < p->ncmds; i++) {
                for (size_t j = 0; j < p->cmds[i].nargs; j++)
                        free(p->cmds[i].args[j].text);
                free(p->cmds[i].args);
        }
        free(p->cmds);
}

static void node_free(node *n)
{
        if (!n)
                return;
        free(n->text);
        pipeline_free(&n->pipe);
        nodelist_free(&n->body);
        nodelist_free(&n->orelse);
        free(n);
}

static void nodelist_free(nodelist *l)
{
        for (size_t i = 0; i < l->n; i++)
                node_free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

static void nodelist_push(nodelist *l, node *n)
{
        node **nv = realloc(l->v, sizeof(*nv) * (l->n + 1));

        if (!nv) {
                fputs("myrmex: error: out of memory\n", stderr);
                abort();
        }
        l->v = nv;
        l->v[l->n++] = n;
}

/* Parse the inside of one action ("json .Labels | upper") into a pipeline. */
static int parse_pipeline(pipeline *out, const char *s, size_t len, mx_error **err)
{
        const char *p = s, *end = s + len;
        command cur = {0};

        memset(out, 0, sizeof(*out));
        for (;;) {
                while (p < end && isspace((unsigned char)*p))
                        p++;
                if (p >= end || *p == '|') {
                        if (cur.nargs == 0) {
                                pipeline_free(out);
                                return terr(err, "template: missing value in '%.*s'", (int)len, s);
                        }
                        command *nc = realloc(out->cmds, sizeof(*nc) * (out->ncmds + 1));
                        if (!nc) {
                                fputs("myrmex: error: out of memory\n", stderr);
                                abort();
                        }
                        out->cmds = nc;
                        out->cmds[out->ncmds++] = cur;
                        memset(&cur, 0, sizeof(cur));
                        if (p >= end)
                                break;
                        p++;
                        continue;
                }
                arg a = {0};
                const char *start = p;
                if (*p == '"') {
                        sbuf b = {0};

                        p++;
                        while (p < end && *p != '"') {
                                if (*p == '\\' && p + 1 < end) {
                                        p++;
                                        char ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                                        sb_put(&b, &ch, 1);
                                } else {
                                        sb_put(&b, p, 1);
                                }
                                p++;
                        }
                        if (p >= end) {
                                free(b.p);
                                pipeline_free(out);
                                for (size_t j = 0; j < cur.nargs; j++)
                                        free(cur.args[j].text);
                                free(cur.args);
                                return terr(err, "template: unterminated string in '%.*s'",
                                            (int)len, s);
                        }
                        p++;
                        a.kind = ARG_STRING;
                        a.text = sb_take(&b);
                } else if (*p == '`') {
                        p++;
                        while (p < end && *p != '`')
                                p++;
                        a.kind = ARG_STRING;
                        a.text = strndup(start + 1, (size_t)(p - start - 1));
                        if (p < end)
                                p++;
                } else {
                        while (p < end && !isspace((unsigned char)*p) && *p != '|')
                                p++;
                        a.text = strndup(start, (size_t)(p - start));
                        if (a.text && strcmp(a.text, ".") == 0) {
                                a.kind = ARG_DOT;
                        } else if (a.text && a.text[0] == '.') {
                                a.kind = ARG_FIELD;
                                memmove(a.text, a.text + 1, strlen(a.text));
                        } else if (a.text &&
                                   (isdigit((unsigned char)a.text[0]) || a.text[0] == '-')) {
                                a.kind = ARG_NUMBER;
                        } else {
                                a.kind = ARG_FUNC;
                        }
                }
                if (!a.text) {
                        fputs("myrmex: error: out of memory\n", stderr);
                        abort();
                }
                arg *na = realloc(cur.args, sizeof(*na) * (cur.nargs + 1));
                if (!na) {
                        fputs("myrmex: error: out of memory\n", stderr);
                        abort();
                }
                cur.args = na;
                cur.args[cur.nargs++] = a;
        }
        return 0;
}

/* Parse text into nodes until {{end}}/{{else}} (when nested) or the end. */
typedef enum { STOP_EOF, STOP_END, STOP_ELSE } stop_kind;

static int parse_list(nodelist *out, const char **pp, bool nested, stop_kind *stop, mx_error **err)
{
        const char *p = *pp;
        bool trim_next = false;

        for (;;) {
                const char *open = strstr(p, "{{");
                const char *text_end = open ? open : p + strlen(p);
                const char *body, *close;
                bool trim_left = false, trim_right = false;

                const char *ts = p;
                if (trim_next)
                        while (ts < text_end && isspace((unsigned char)*ts))
                                ts++;
                trim_next = false;
                if (open && open[2] == '-' && open[3] == ' ')
                        trim_left = true;
                const char *te = text_end;
                if (trim_left)
                        while (te > ts && isspace((unsigned char)te[-1]))
                                te--;
                if (te > ts) {
                        node *n = calloc(1, sizeof(*n));

                        if (!n)
                                abort();
                        n->kind = NODE_TEXT;
                        n->text = strndup(ts, (size_t)(te - ts));
                        nodelist_push(out, n);
                }
                if (!open) {
                        *pp = text_end;
                        if (nested)
                                return terr(err, "template: unexpected end, missing {{end}}");
                        *stop = STOP_EOF;
                        return 0;
                }
                body = open + 2 + (trim_left ? 2 : 0);
                close = strstr(body, "}}");
                if (!close)
                        return terr(err, "template: unclosed action");
                const char *bend = close;
                if (bend - body >= 2 && bend[-1] == '-' && bend[-2] == ' ') {
                        trim_right = true;
                        bend -= 2;
                }
                p = close + 2;
                trim_next = trim_right;
                while (body < bend && isspace((unsigned char)*body))
                        body++;
                while (bend > body && isspace((unsigned char)bend[-1]))
                        bend--;
                size_t blen = (size_t)(bend - body);

                if (blen == 3 && strncmp(body, "end", 3) == 0) {
                        if (!nested)
                                return terr(err, "template: unexpected {{end}}");
                        *pp = p;
                        *stop = STOP_END;
                        return 0;
                }
                if (blen == 4 && strncmp(body, "else", 4) == 0) {
                        if (!nested)
                                return terr(err, "template: unexpected {{else}}");
                        *pp = p;
                        *stop = STOP_ELSE;
                        return 0;
                }
                if (blen >= 2 && strncmp(body, "/*", 2) == 0)
                        continue; /* a comment */
                node *n = calloc(1, sizeof(*n));
                if (!n)
                        abort();
                int r;
                if ((blen > 3 && strncmp(body, "if ", 3) == 0) ||
                    (blen > 6 && strncmp(body, "range ", 6) == 0)) {
                        size_t kw = body[0] == 'i' ? 3 : 6;
                        stop_kind st;

                        n->kind = body[0] == 'i' ? NODE_IF : NODE_RANGE;
                        r = parse_pipeline(&n->pipe, body + kw, blen - kw, err);
                        if (r == 0)
                                r = parse_list(&n->body, &p, true, &st, err);
                        if (r == 0 && st == STOP_ELSE) {
                                r = parse_list(&n->orelse, &p, true, &st, err);
                                if (r == 0 && st != STOP_END)
                                        r = terr(err, "template: {{else}} after {{else}}");
                        }
                } else {
                        n->kind = NODE_ACTION;
                        r = parse_pipeline(&n->pipe, body, blen, err);
                }
                if (r < 0) {
                        node_free(n);
                        return r;
                }
                nodelist_push(out, n);
        }
}

/* ---- evaluation ------------------------------------------------------------------------- */

/* Go's %v of a JSON value. */
static void print_value(sbuf *b, const json_t *v)
{
        char num[64];

        if (!v) {
                sb_puts(b, "<no value>");
                return;
        }
        switch (json_typeof(v)) {
        case JSON_STRING:
                sb_put(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                sb_puts(b, num);
                break;
        case JSON_REAL: {
                double d = json_real_value(v);

                if (d >= 1e21 || d <= -1e21 || (d != 0 && d > -1e-4 && d < 1e-4))
                        snprintf(num, sizeof(num), "%g", d);
                else
                        snprintf(num, sizeof(num), "%.17g", d);
                /* shortest round-tripping form, as Go prints */
                for (int prec = 1; prec <= 17; prec++) {
                        char t[64];

                        snprintf(t, sizeof(t), "%.*g", prec, d);
                        if (strtod(t, NULL) == d) {
                                snprintf(num, sizeof(num), "%s", t);
                                break;
                        }
                }
                sb_puts(b, num);
                break;
        }
        case JSON_TRUE:
                sb_puts(b, "true");
                break;
        case JSON_FALSE:
                sb_puts(b, "false");
                break;
        case JSON_NULL:
                sb_puts(b, "<nil>");
                break;
        case JSON_ARRAY: {
                size_t i;
                json_t *e;

                sb_puts(b, "[");
                json_array_foreach(v, i, e)
                {
                        if (i)
                                sb_puts(b, " ");
                        print_value(b, e);
                }
                sb_puts(b, "]");
                break;
        }
        case JSON_OBJECT: {
                const char **keys = NULL;
                size_t n = json_object_size(v), i = 0;
                const char *k;
                json_t *e;

                keys = mx_cli_xmalloc(sizeof(*keys) * (n + 1));
                json_object_foreach((json_t *)(uintptr_t)v, k, e) keys[i++] = k;
                for (size_t x = 1; x < n; x++) {
                        for (size_t y = x; y > 0 && strcmp(keys[y - 1], keys[y]) > 0; y--) {
                                const char *t = keys[y];
                                keys[y] = keys[y - 1];
                                keys[y - 1] = t;
                        }
                }
                sb_puts(b, "map[");
                for (i = 0; i < n; i++) {
                        if (i)
                                sb_puts(b, " ");
                        sb_puts(b, keys[i]);
                        sb_puts(b, ":");
                        print_value(b, json_object_get(v, keys[i]));
                }
                sb_puts(b, "]");
                free(keys);
                break;
        }
        }
}

static bool truthy(const json_t *v)
{
        if (!v)
                return false;
        switch (json_typeof(v)) {
        case JSON_STRING:
                return json_string_length(v) > 0;
        case JSON_INTEGER:
                return json_integer_value(v) != 0;
        case JSON_REAL:
                return json_real_value(v) != 0;
        case JSON_TRUE:
                return true;
        case JSON_FALSE:
        case JSON_NULL:
                return false;
        case JSON_ARRAY:
                return json_array_size(v) > 0;
        case JSON_OBJECT:
                return json_object_size(v) > 0;
        }
        return false;
}

/* Look a dotted path up from dot; NULL when missing. Returns a new reference. */
static int lookup_field(json_t **out, const json_t *dot, const char *path, mx_error **err)
{
        const json_t *cur = dot;
        const char *p = path;

        while (*p) {
                const char *dotp = strchr(p, '.');
                size_t n = dotp ? (size_t)(dotp - p) : strlen(p);
                char key[256];

                if (n == 0 || n >= sizeof(key))
                        return terr(err, "template: bad field name '.%s'", path);
                memcpy(key, p, n);
                key[n] = '\0';
                if (!cur || json_is_null(cur)) {
                        cur = NULL;
                        break;
                }
                if (!json_is_object(cur))
                        return terr(err, "template: can't evaluate field %s in type %s", key,
                                    json_is_array(cur) ? "slice" : "string");
                cur = json_object_get(cur, key);
                if (!cur)
                        break;
                p += n;
                if (*p == '.')
                        p++;
        }
        *out = cur ? json_incref((json_t *)(uintptr_t)cur) : NULL;
        return 0;
}

static char *value_to_string(const json_t *v)
{
        sbuf b = {0};

        print_value(&b, v);
        return sb_take(&b);
}

static int eval_arg(json_t **out, const arg *a, const json_t *dot, mx_error **err)
{
        switch (a->kind) {
        case ARG_DOT:
                *out = dot ? json_incref((json_t *)(uintptr_t)dot) : NULL;
                return 0;
        case ARG_FIELD:
                return lookup_field(out, dot, a->text, err);
        case ARG_STRING:
                *out = json_string(a->text);
                return 0;
        case ARG_NUMBER: {
                char *end = NULL;
                double d = strtod(a->text, &end);

                if (!end || *end)
                        return terr(err, "template: bad number '%s'", a->text);
                if (d == (double)(json_int_t)d)
                        *out = json_integer((json_int_t)d);
                else
                        *out = json_real(d);
                return 0;
        }
        case ARG_FUNC:
                break;
        }
        return terr(err, "template: function '%s' used as a value", a->text);
}

static void title_case(char *s)
{
        bool start = true;

        for (; *s; s++) {
                if (isalpha((unsigned char)*s)) {
                        if (start)
                                *s = (char)toupper((unsigned char)*s);
                        start = false;
                } else {
                        start = true;
                }
        }
}

/* Call a function with already evaluated arguments (final piped value last). */
static int call_func(json_t **out, const char *name, json_t **av, size_t ac, mx_error **err)
{
        if (strcmp(name, "json") == 0) {
                char *s;

                if (ac != 1)
                        return terr(err, "template: json takes one argument");
                if (!av[0]) {
                        *out = json_string("null");
                        return 0;
                }
                s = json_dumps(av[0], JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
                *out = json_string(s ? s : "null");
                free(s);
                return 0;
        }
        if (strcmp(name, "upper") == 0 || strcmp(name, "lower") == 0 ||
            strcmp(name, "title") == 0) {
                if (ac != 1)
                        return terr(err, "template: %s takes one argument", name);
                char *s = value_to_string(av[0]);
                for (char *c = s; *c && name[0] != 't'; c++)
                        *c = (char)(name[0] == 'u' ? toupper((unsigned char)*c)
                                                   : tolower((unsigned char)*c));
                if (name[0] == 't')
                        title_case(s);
                *out = json_string(s);
                free(s);
                return 0;
        }
        if (strcmp(name, "join") == 0) {
                sbuf b = {0};
                size_t i;
                json_t *e;

                if (ac != 2 || !json_is_string(av[1]))
                        return terr(err, "template: join takes a list and a separator");
                if (json_is_array(av[0])) {
                        json_array_foreach(av[0], i, e)
                        {
                                if (i)
                                        sb_puts(&b, json_string_value(av[1]));
                                print_value(&b, e);
                        }
                } else if (av[0]) {
                        print_value(&b, av[0]);
                }
                char *s = sb_take(&b);
                *out = json_string(s);
                free(s);
                return 0;
        }
        if (strcmp(name, "index") == 0) {
                if (ac != 2)
                        return terr(err, "template: index takes two arguments");
                if (json_is_object(av[0]) && json_is_string(av[1])) {
                        json_t *v = json_object_get(av[0], json_string_value(av[1]));
                        *out = v ? json_incref(v) : NULL;
                        return 0;
                }
                if (json_is_array(av[0]) && json_is_integer(av[1])) {
                        json_int_t i = json_integer_value(av[1]);
                        if (i < 0 || (size_t)i >= json_array_size(av[0]))
                                return terr(err, "template: index out of range: %lld",
                                            (long long)i);
                        *out = json_incref(json_array_get(av[0], (size_t)i));
                        return 0;
                }
                *out = NULL;
                return 0;
        }
        if (strcmp(name, "len") == 0) {
                if (ac != 1)
                        return terr(err, "template: len takes one argument");
                size_t n = json_is_array(av[0])    ? json_array_size(av[0])
                           : json_is_object(av[0]) ? json_object_size(av[0])
                           : json_is_string(av[0]) ? json_string_length(av[0])
                                                   : 0;
                *out = json_integer((json_int_t)n);
                return 0;
        }
        if (strcmp(name, "truncate") == 0) {
                if (ac != 2 || !json_is_integer(av[1]))
                        return terr(err, "template: truncate takes a value and a length");
                char *s = value_to_string(av[0]);
                json_int_t n = json_integer_value(av[1]);
                if (n >= 0 && (size_t)n < strlen(s))
                        s[n] = '\0';
                *out = json_string(s);
                free(s);
                return 0;
        }
        if (strcmp(name, "println") == 0 || strcmp(name, "print") == 0) {
                sbuf b = {0};

                for (size_t i = 0; i < ac; i++) {
                        if (i)
                                sb_puts(&b, " ");
                        print_value(&b, av[i]);
                }
                if (name[5] == 'l')
                        sb_puts(&b, "\n");
                char *s = sb_take(&b);
                *out = json_string(s);
                free(s);
                return 0;
        }
        if (strcmp(name, "split") == 0) {
                if (ac != 2 || !json_is_string(av[1]))
                        return terr(err, "template: split takes a string and a separator");
                char *s = value_to_string(av[0]);
                const char *sep = json_string_value(av[1]);
                json_t *arr = json_array();
                char *p = s;
                size_t sl = strlen(sep);

                for (;;) {
                        char *q = sl ? strstr(p, sep) : NULL;
                        if (!q) {
                                json_array_append_new(arr, json_string(p));
                                break;
                        }
                        json_array_append_new(arr, json_stringn(p, (size_t)(q - p)));
                        p = q + sl;
                }
                free(s);
                *out = arr;
                return 0;
        }
        if (strcmp(name, "pad") == 0) {
                /* docker's pad: value with n spaces on each side */
                if (ac != 3 || !json_is_integer(av[1]) || !json_is_integer(av[2]))
                        return terr(err, "template: pad takes a value and two counts");
                char *s = value_to_string(av[0]);
                char *r = mx_cli_xasprintf("%*s%s%*s", (int)json_integer_value(av[1]), "", s,
                                           (int)json_integer_value(av[2]), "");
                *out = json_string(r);
                free(s);
                free(r);
                return 0;
        }
        return terr(err, "template: function \"%s\" not defined", name);
}

static int eval_command(json_t **out, const command *c, const json_t *dot, json_t *piped,
                        bool has_piped, mx_error **err)
{
        json_t *av[16] = {0};
        size_t ac = 0;
        int r = 0;

        if (c->args[0].kind != ARG_FUNC) {
                if (c->nargs > 1 || has_piped)
                        return terr(err, "template: can't give arguments to a non-function");
                return eval_arg(out, &c->args[0], dot, err);
        }
        if (c->nargs > MX_CLI_ARRAY_SIZE(av) - 1)
                return terr(err, "template: too many arguments");
        for (size_t i = 1; i < c->nargs && r == 0; i++)
                r = eval_arg(&av[ac++], &c->args[i], dot, err);
        if (r == 0 && has_piped)
                av[ac++] = piped ? json_incref(piped) : NULL;
        if (r == 0)
                r = call_func(out, c->args[0].text, av, ac, err);
        for (size_t i = 0; i < ac; i++)
                json_decref(av[i]);
        return r;
}

static int eval_pipeline(json_t **out, const pipeline *p, const json_t *dot, mx_error **err)
{
        json_t *val = NULL;

        for (size_t i = 0; i < p->ncmds; i++) {
                json_t *next = NULL;
                int r = eval_command(&next, &p->cmds[i], dot, val, i > 0, err);

                json_decref(val);
                if (r < 0)
                        return r;
                val = next;
        }
        *out = val;
        return 0;
}

static int exec_list(sbuf *b, const nodelist *l, const json_t *dot, mx_error **err);

static int exec_node(sbuf *b, const node *n, const json_t *dot, mx_error **err)
{
        json_t *v = NULL;
        int r = 0;

        if (n->kind == NODE_TEXT) {
                sb_puts(b, n->text);
                return 0;
        }
        r = eval_pipeline(&v, &n->pipe, dot, err);
        if (r < 0)
                return r;
        switch (n->kind) {
        case NODE_ACTION:
                print_value(b, v);
                break;
        case NODE_IF:
                r = exec_list(b, truthy(v) ? &n->body : &n->orelse, dot, err);
                break;
        case NODE_RANGE:
                if (!truthy(v)) {
                        r = exec_list(b, &n->orelse, dot, err);
                } else if (json_is_array(v)) {
                        size_t i;
                        json_t *e;

                        json_array_foreach(v, i, e)
                        {
                                r = exec_list(b, &n->body, e, err);
                                if (r < 0)
                                        break;
                        }
                } else if (json_is_object(v)) {
                        const char *k;
                        json_t *e;

                        json_object_foreach(v, k, e)
                        {
                                r = exec_list(b, &n->body, e, err);
                                if (r < 0)
                                        break;
                        }
                } else {
                        r = terr(err, "template: range can't iterate over %s",
                                 json_is_string(v) ? json_string_value(v) : "a value");
                }
                break;
        case NODE_TEXT:
                break;
        }
        json_decref(v);
        return r;
}

static int exec_list(sbuf *b, const nodelist *l, const json_t *dot, mx_error **err)
{
        for (size_t i = 0; i < l->n; i++) {
                int r = exec_node(b, l->v[i], dot, err);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* Docker lets people write \t and \n in --format on a shell command line. */
static char *unescape_format(const char *s)
{
        sbuf b = {0};

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] == 't') {
                        sb_puts(&b, "\t");
                        s++;
                } else if (s[0] == '\\' && s[1] == 'n') {
                        sb_puts(&b, "\n");
                        s++;
                } else {
                        sb_put(&b, s, 1);
                }
        }
        return sb_take(&b);
}

typedef struct tmpl {
        nodelist nodes;
} tmpl;

static void tmpl_free(tmpl *t)
{
        if (t) {
                nodelist_free(&t->nodes);
                free(t);
        }
}

static int tmpl_parse(tmpl **out, const char *text, mx_error **err)
{
        tmpl *t = calloc(1, sizeof(*t));
        const char *p = text;
        stop_kind st;
        int r;

        if (!t)
                abort();
        r = parse_list(&t->nodes, &p, false, &st, err);
        if (r < 0) {
                tmpl_free(t);
                return r;
        }
        *out = t;
        return 0;
}

static int tmpl_exec(char **out, const tmpl *t, const json_t *dot, mx_error **err)
{
        sbuf b = {0};
        int r = exec_list(&b, &t->nodes, dot, err);

        if (r < 0) {
                free(b.p);
                return r;
        }
        *out = sb_take(&b);
        return 0;
}

int mx_template_render(char **out, const char *text, const json_t *value, mx_error **err)
{
        tmpl *t = NULL;
        int r = tmpl_parse(&t, text, err);

        if (r < 0)
                return r;
        r = tmpl_exec(out, t, value, err);
        tmpl_free(t);
        return r;
}

/* ---- formatter -------------------------------------------------------------------------- */

typedef enum { FMT_TABLE, FMT_JSON, FMT_TEMPLATE } fmt_kind;

struct mx_formatter {
        fmt_kind kind;
        tmpl *t;
        mx_table *table;
        char *header; /* the header line for tables, cells separated by \t */
};

/* The header of a table template: each action's first field, mapped through headers. */
static void header_of_list(sbuf *b, const nodelist *l, const json_t *headers)
{
        for (size_t i = 0; i < l->n; i++) {
                const node *n = l->v[i];
                const char *field = NULL;

                if (n->kind == NODE_TEXT) {
                        sb_puts(b, n->text);
                        continue;
                }
                for (size_t c = 0; c < n->pipe.ncmds && !field; c++) {
                        for (size_t a = 0; a < n->pipe.cmds[c].nargs && !field; a++) {
                                if (n->pipe.cmds[c].args[a].kind == ARG_FIELD)
                                        field = n->pipe.cmds[c].args[a].text;
                        }
                }
                if (!field)
                        continue;
                const char *h = json_string_value(json_object_get(headers, field));
                if (h) {
                        sb_puts(b, h);
                } else {
                        /* "Config.Env" -> "ENV", as Docker names unknown columns by the field */
                        const char *lastdot = strrchr(field, '.');
                        char *up = mx_cli_xstrdup(lastdot ? lastdot + 1 : field);

                        for (char *c = up; *c; c++)
                                *c = (char)toupper((unsigned char)*c);
                        sb_puts(b, up);
                        free(up);
                }
        }
}

mx_formatter *mx_formatter_new(const char *format, const char *default_table, const json_t *headers,
                               mx_error **err)
{
        mx_formatter *f = calloc(1, sizeof(*f));
        char *text = NULL;
        const char *body;

        if (!f)
                abort();
        if (!format || !*format || strcmp(format, "table") == 0)
                format = default_table;
        if (strcmp(format, "json") == 0) {
                f->kind = FMT_JSON;
                return f;
        }
        if (strncmp(format, "table", 5) == 0 && (format[5] == ' ' || format[5] == '\0')) {
                f->kind = FMT_TABLE;
                body = format + 5;
                while (*body == ' ')
                        body++;
        } else {
                f->kind = FMT_TEMPLATE;
                body = format;
        }
        text = unescape_format(body);
        if (tmpl_parse(&f->t, text, err) < 0) {
                free(text);
                free(f);
                return NULL;
        }
        free(text);
        if (f->kind == FMT_TABLE) {
                sbuf b = {0};

                header_of_list(&b, &f->t->nodes, headers);
                f->header = sb_take(&b);
                f->table = mx_table_new();
                mx_table_add_tabbed(f->table, f->header);
        }
        return f;
}

int mx_formatter_row(mx_formatter *f, const json_t *row, mx_error **err)
{
        char *s = NULL;

        if (f->kind == FMT_JSON) {
                s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
                if (s)
                        printf("%s\n", s);
                free(s);
                return 0;
        }
        if (tmpl_exec(&s, f->t, row, err) < 0)
                return MX_EINVAL;
        if (f->kind == FMT_TABLE)
                mx_table_add_tabbed(f->table, s);
        else
                printf("%s\n", s);
        free(s);
        return 0;
}

void mx_formatter_end(mx_formatter *f)
{
        if (f && f->table) {
                mx_table_print(f->table, stdout);
                mx_table_free(f->table);
                f->table = mx_table_new();
        }
}

void mx_formatter_free(mx_formatter *f)
{
        if (!f)
                return;
        tmpl_free(f->t);
        mx_table_free(f->table);
        free(f->header);
        free(f);
}
