/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drawing mx_progress_cb events: one bar per item on a terminal (redrawn in place, as
 * docker pull does), one plain line per finished item otherwise, so logs stay readable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct item {
        char *action;
        char *id;
        uint64_t current, total;
        mx_progress_state state;
} item;

struct mx_cli_progress {
        item *items;
        size_t n;
        size_t drawn; /* lines currently on screen (terminal mode) */
        struct timespec last_draw;
        size_t cols; /* terminal width */
        bool tty;
};

/* Long hex runs (digests, IDs) shortened to 12 characters and "…":
 * "sha256:<64 hex>" -> "sha256:abcdef012345…", "<64 hex>/layer.tar" -> "abcdef012345…/layer.tar" */
static void short_name(char *buf, size_t len, const char *id)
{
        const char *colon, *hex;
        size_t run;

        if (!id) {
                snprintf(buf, len, "-");
                return;
        }
        colon = strchr(id, ':');
        hex = colon ? colon + 1 : id;
        run = strspn(hex, "0123456789abcdef");
        if (run >= 32)
                snprintf(buf, len, "%.*s%.12s\u2026%s", (int)(hex - id), id, hex, hex + run);
        else
                snprintf(buf, len, "%s", id);
}

static const char *state_word(mx_progress_state s)
{
        switch (s) {
        case MX_PROGRESS_START:
                return "waiting";
        case MX_PROGRESS_UPDATE:
                return "working";
        case MX_PROGRESS_DONE:
                return "done";
        case MX_PROGRESS_SKIPPED:
                return "already exists";
        case MX_PROGRESS_FAILED:
                return "failed";
        }
        return "";
}

static void draw_line(FILE *f, const item *it)
{
        char name[256], cur[32], tot[32];

        short_name(name, sizeof(name), it->id);
        mx_cli_human_size(cur, sizeof(cur), (double)it->current, 3);
        if (it->state == MX_PROGRESS_UPDATE || (it->state == MX_PROGRESS_START && it->total)) {
                if (it->total) {
                        int bar = 40;
                        int filled = (int)((double)it->current / (double)it->total * bar);

                        if (filled > bar)
                                filled = bar;
                        mx_cli_human_size(tot, sizeof(tot), (double)it->total, 3);
                        fprintf(f, "%s %s [", it->action, name);
                        for (int i = 0; i < bar; i++)
                                fputc(i < filled ? '=' : (i == filled ? '>' : ' '), f);
                        fprintf(f, "] %s/%s", cur, tot);
                } else {
                        fprintf(f, "%s %s %s", it->action, name, cur);
                }
        } else if (it->state == MX_PROGRESS_DONE) {
                fprintf(f, "%s %s done %s", it->action, name, cur);
        } else {
                fprintf(f, "%s %s %s", it->action, name, state_word(it->state));
        }
}

static void redraw(mx_cli_progress *p, bool force)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!force) {
                long ms = (now.tv_sec - p->last_draw.tv_sec) * 1000 +
                          (now.tv_nsec - p->last_draw.tv_nsec) / 1000000;
                if (ms < 100)
                        return;
        }
        p->last_draw = now;
        if (p->drawn)
                fprintf(stderr, "\033[%zuA", p->drawn);
        for (size_t i = 0; i < p->n; i++) {
                char *line = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&line, &len);

                if (!m)
                        abort();
                draw_line(m, &p->items[i]);
                fclose(m);
                /* a wrapped line would break the cursor arithmetic: clip to the width */
                fprintf(stderr, "\r\033[2K%.*s\n", (int)(len < p->cols ? len : p->cols), line);
                free(line);
        }
        p->drawn = p->n;
        fflush(stderr);
}

static item *find_item(mx_cli_progress *p, const char *action, const char *id)
{
        for (size_t i = 0; i < p->n; i++) {
                if (strcmp(p->items[i].action, action) == 0 && strcmp(p->items[i].id, id) == 0)
                        return &p->items[i];
        }
        item *v = realloc(p->items, sizeof(*v) * (p->n + 1));
        if (!v)
                abort();
        p->items = v;
        item *it = &p->items[p->n++];
        memset(it, 0, sizeof(*it));
        it->action = mx_cli_xstrdup(action);
        it->id = mx_cli_xstrdup(id);
        return it;
}

void mx_cli_progress_cb(const mx_progress_event *ev, void *userdata)
{
        mx_cli *cli = userdata;
        mx_cli_progress *p = cli->progress;
        item *it;

        if (!ev)
                return;
        if (!p) {
                p = calloc(1, sizeof(*p));
                if (!p)
                        abort();
                p->tty = cli->stderr_tty && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
                p->cols = 80;
                if (p->tty) {
                        struct winsize ws;

                        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
                                p->cols = ws.ws_col - 1;
                }
                cli->progress = p;
        }
        it = find_item(p, ev->action ? ev->action : "work", ev->id ? ev->id : "-");
        it->state = ev->state;
        it->current = ev->current;
        if (ev->total)
                it->total = ev->total;
        if (p->tty) {
                redraw(p, ev->state != MX_PROGRESS_UPDATE);
                return;
        }
        if (ev->state == MX_PROGRESS_DONE || ev->state == MX_PROGRESS_SKIPPED ||
            ev->state == MX_PROGRESS_FAILED) {
                draw_line(stderr, it);
                fputc('\n', stderr);
        }
}

void mx_cli_progress_end(mx_cli *cli)
{
        mx_cli_progress *p = cli->progress;

        if (!p)
                return;
        if (p->tty && p->n)
                redraw(p, true);
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].action);
                free(p->items[i].id);
        }
        free(p->items);
        free(p);
        cli->progress = NULL;
}
