/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex images: list images as docker images does, one row per tag. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "cli.h"

#define IMAGES_TABLE "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define IMAGES_TABLE_DIGESTS \
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

json_t *mx_cli_image_headers(void)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository",
                         "REPOSITORY", "Tag", "TAG", "ID", "IMAGE ID", "CreatedSince", "CREATED",
                         "CreatedAt", "CREATED AT", "Size", "SIZE", "Digest", "DIGEST",
                         "SharedSize", "SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "VirtualSize",
                         "VIRTUAL SIZE", "Containers", "CONTAINERS");
}

int64_t mx_cli_image_size(const mx_image_record *rec)
{
        int64_t total = 0;

        /* Docker shows the unpacked size; fall back to the blobs when a layer's is unknown */
        for (size_t i = 0; i < rec->n_layers; i++) {
                if (rec->layers[i].uncompressed_size < 0)
                        return rec->size;
                total += rec->layers[i].uncompressed_size;
        }
        return total;
}

time_t mx_cli_image_created(const mx_image_record *rec)
{
        time_t t;

        if (rec->created && mx_cli_parse_rfc3339(rec->created, &t) == 0)
                return t;
        return (time_t)rec->added;
}

json_t *mx_cli_image_row(const mx_image_record *rec, const char *tag_ref, bool no_trunc, time_t now)
{
        char id[80], since[64], at[64], size[32];
        const char *repo = "<none>", *tag = "<none>";
        mx_ref *ref = NULL;
        time_t created = mx_cli_image_created(rec);
        json_t *row;

        if (tag_ref && mx_ref_parse(&ref, tag_ref, NULL) == 0) {
                repo = mx_ref_familiar_name(ref);
                tag = mx_ref_tag(ref) ? mx_ref_tag(ref) : "<none>";
        }
        if (no_trunc)
                snprintf(id, sizeof(id), "%s", rec->id);
        else
                mx_cli_short_id(id, sizeof(id), rec->id);
        mx_cli_human_since(since, sizeof(since), created, now);
        mx_cli_go_time(at, sizeof(at), created);
        mx_cli_human_size(size, sizeof(size), (double)mx_cli_image_size(rec), 3);
        row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Containers",
                        "N/A", "CreatedAt", at, "CreatedSince", since, "Digest",
                        rec->manifest_digest ? rec->manifest_digest : "<none>", "ID", id,
                        "Repository", repo, "SharedSize", "N/A", "Size", size, "Tag", tag,
                        "UniqueSize", "N/A", "VirtualSize", size);
        mx_ref_free(ref);
        return row;
}

typedef struct filters {
        int dangling; /* -1 any, 0 only tagged, 1 only dangling */
        char **reference;
        size_t n_reference;
        time_t before, since; /* 0 = none */
} filters;

static bool match_reference(const filters *f, const char *tag_ref)
{
        mx_ref *ref = NULL;
        bool ok = false;

        if (f->n_reference == 0)
                return true;
        if (!tag_ref || mx_ref_parse(&ref, tag_ref, NULL) < 0)
                return false;
        for (size_t i = 0; i < f->n_reference && !ok; i++) {
                const char *pat = f->reference[i];

                ok = fnmatch(pat, mx_ref_familiar(ref), FNM_PATHNAME) == 0 ||
                     fnmatch(pat, mx_ref_familiar_name(ref), FNM_PATHNAME) == 0;
        }
        mx_ref_free(ref);
        return ok;
}

/* before=/since= name an image; compare creation times as Docker does. */
static int resolve_time(mx_cli *cli, mx_store *s, const char *what, time_t *out)
{
        mx_image_record *rec = NULL;
        mx_error *err = NULL;

        if (mx_store_image_get(s, what, &rec, &err) < 0) {
                int r = mx_cli_fail(cli, err, "filter '%s'", what);

                mx_error_free(err);
                return -r;
        }
        *out = mx_cli_image_created(rec);
        mx_image_record_free(rec);
        return 0;
}

static int parse_filter(mx_cli *cli, filters *f, const char *arg, char **before, char **since)
{
        const char *eq = strchr(arg, '=');

        if (!eq)
                return mx_cli_usage_error(cli, "bad format of filter (expected name=value)");
        size_t klen = (size_t)(eq - arg);
        const char *v = eq + 1;

        if (klen == 8 && strncmp(arg, "dangling", 8) == 0) {
                if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                        f->dangling = 1;
                else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                        f->dangling = 0;
                else
                        return mx_cli_usage_error(cli, "invalid filter 'dangling=%s'", v);
        } else if (klen == 9 && strncmp(arg, "reference", 9) == 0) {
                char **nv = realloc(f->reference, sizeof(*nv) * (f->n_reference + 1));

                if (!nv)
                        abort();
                f->reference = nv;
                f->reference[f->n_reference++] = (char *)(uintptr_t)v;
        } else if (klen == 6 && strncmp(arg, "before", 6) == 0) {
                *before = (char *)(uintptr_t)v;
        } else if (klen == 5 && strncmp(arg, "since", 5) == 0) {
                *since = (char *)(uintptr_t)v;
        } else {
                return mx_cli_usage_error(cli, "invalid filter '%.*s'", (int)klen, arg);
        }
        return 0;
}

static int cmd_images(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {"quiet", no_argument, NULL, 'q'},
                {"no-trunc", no_argument, NULL, 'T'},
                {"digests", no_argument, NULL, 'D'},
                {"filter", required_argument, NULL, 'f'},
                {"format", required_argument, NULL, 'F'},
                {0},
        };
        bool quiet = false, no_trunc = false, digests = false;
        const char *format = NULL;
        char *before = NULL, *since = NULL;
        filters flt = {.dangling = -1};
        mx_ref *want = NULL;
        mx_store *s = NULL;
        mx_image_record **recs = NULL;
        size_t n = 0;
        mx_error *err = NULL;
        mx_formatter *fmt = NULL;
        json_t *headers = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "aqf:", opts)) != -1) {
                switch (c) {
                case 'a':
                        break; /* no intermediate images in a daemonless store */
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'D':
                        digests = true;
                        break;
                case 'f':
                        r = parse_filter(cli, &flt, optarg, &before, &since);
                        if (r) {
                                free(flt.reference);
                                return r;
                        }
                        break;
                case 'F':
                        format = optarg;
                        break;
                default:
                        free(flt.reference);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 1)) {
                free(flt.reference);
                return 2;
        }
        if (optind < argc && mx_ref_parse(&want, argv[optind], &err) < 0) {
                r = mx_cli_fail(cli, err, "images");
                goto out;
        }
        if (mx_cli_store(cli, &s, &err) < 0 || mx_store_image_list(s, &recs, &n, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        if (before && resolve_time(cli, s, before, &flt.before) < 0) {
                r = 1;
                goto out;
        }
        if (since && resolve_time(cli, s, since, &flt.since) < 0) {
                r = 1;
                goto out;
        }
        if (!quiet) {
                headers = mx_cli_image_headers();
                fmt = mx_cli_formatter(cli, format, digests ? IMAGES_TABLE_DIGESTS : IMAGES_TABLE,
                                       headers);
                if (!fmt) {
                        r = 2;
                        goto out;
                }
        }

        time_t now = time(NULL);
        for (size_t i = 0; i < n; i++) {
                const mx_image_record *rec = recs[i];
                size_t ntags = 0;
                time_t created = mx_cli_image_created(rec);

                while (rec->tags && rec->tags[ntags])
                        ntags++;
                if ((flt.dangling == 1 && ntags) || (flt.dangling == 0 && !ntags))
                        continue;
                if ((flt.before && created >= flt.before) || (flt.since && created <= flt.since))
                        continue;
                for (size_t t = 0; t < (ntags ? ntags : 1); t++) {
                        const char *tag = ntags ? rec->tags[t] : NULL;
                        json_t *row;

                        if (!match_reference(&flt, tag))
                                continue;
                        if (want) {
                                mx_ref *have = NULL;
                                bool ok = tag && mx_ref_parse(&have, tag, NULL) == 0 &&
                                          strcmp(mx_ref_name(have), mx_ref_name(want)) == 0 &&
                                          (!mx_ref_tag(want) ||
                                           strcmp(mx_ref_tag(have), mx_ref_tag(want)) == 0);

                                mx_ref_free(have);
                                if (!ok)
                                        continue;
                        }
                        if (quiet) {
                                char id[80];

                                printf("%s\n", no_trunc ? rec->id
                                                        : mx_cli_short_id(id, sizeof(id), rec->id));
                                continue;
                        }
                        row = mx_cli_image_row(rec, tag, no_trunc, now);
                        if (!row)
                                abort();
                        r = mx_cli_formatter_put(cli, fmt, row, "format");
                        if (r)
                                goto out;
                }
        }
        mx_formatter_end(fmt);
out:
        mx_formatter_free(fmt);
        json_decref(headers);
        mx_image_record_list_free(recs, n);
        mx_ref_free(want);
        mx_error_free(err);
        free(flt.reference);
        return r;
}

MX_CLI_COMMAND(images, "images", cmd_images, "[OPTIONS] [REPOSITORY[:TAG]]", "List images")
