/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex info: the store, the runtimes found and the host, as docker info shows them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <myrmex/common.h>
#include <myrmex/runtime.h>
#include <myrmex/store.h>

#include "cli.h"

#pragma weak mx_runtime_open
#pragma weak mx_runtime_free
#pragma weak mx_runtime_info

#define CGROUP2_MAGIC 0x63677270

static mx_cli_info_section *sections;

void mx_cli_register_info(mx_cli_info_section *sec)
{
        sec->next = sections;
        sections = sec;
}

/* "v2" (unified), "hybrid" (v1 controllers plus a cgroup2 mount) or "v1". */
static const char *cgroup_mode(void)
{
        struct statfs st;

        if (statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_MAGIC)
                return "v2";
        if (statfs("/sys/fs/cgroup/unified", &st) == 0 && st.f_type == CGROUP2_MAGIC)
                return "hybrid";
        return "v1";
}

static bool have_overlay(void)
{
        FILE *f = fopen("/proc/filesystems", "re");
        char line[256];
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, "\toverlay\n") != NULL;
        fclose(f);
        return found;
}

static char *os_pretty_name(void)
{
        FILE *f = fopen("/etc/os-release", "re");
        char line[512];
        char *name = NULL;

        if (!f)
                return mx_cli_xstrdup("Linux");
        while (!name && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
                        char *v = line + 12;
                        size_t n = strcspn(v, "\n");

                        v[n] = '\0';
                        if (v[0] == '"' && n >= 2 && v[n - 1] == '"') {
                                v[n - 1] = '\0';
                                v++;
                        }
                        name = mx_cli_xstrdup(v);
                }
        }
        fclose(f);
        return name ? name : mx_cli_xstrdup("Linux");
}

static long long mem_total(void)
{
        FILE *f = fopen("/proc/meminfo", "re");
        long long kb = 0;
        char line[256];

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
                        break;
        }
        fclose(f);
        return kb * 1024;
}

/* Docker's BytesSize: base 1024, 4 significant digits ("7.768GiB"). */
static void bytes_size(char *buf, size_t len, double size)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        size_t i = 0;

        while (size >= 1024.0 && i < MX_CLI_ARRAY_SIZE(units) - 1) {
                size /= 1024.0;
                i++;
        }
        snprintf(buf, len, "%.4g%s", size, units[i]);
}

static json_t *collect(mx_cli *cli)
{
        struct utsname u;
        mx_store *s = NULL;
        mx_error *err = NULL;
        json_t *info = json_object(), *runtimes = json_object(), *warnings = json_array();
        const char *mode = cgroup_mode();
        char *os = os_pretty_name();

        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        json_object_set_new(info, "ServerVersion", json_string(mx_version()));
        if (mx_cli_store(cli, &s, &err) == 0) {
                mx_image_record **recs = NULL;
                size_t n = 0;
                mx_store_df_report df;

                json_object_set_new(info, "RootDir", json_string(mx_store_root(s)));
                if (mx_store_image_list(s, &recs, &n, &err) == 0) {
                        json_object_set_new(info, "Images", json_integer((json_int_t)n));
                        mx_image_record_list_free(recs, n);
                }
                if (!err && mx_store_df(s, &df, &err) == 0) {
                        json_object_set_new(info, "StoreSize",
                                            json_pack("{s:I, s:I, s:I}", "Blobs",
                                                      (json_int_t)df.images.size, "Layers",
                                                      (json_int_t)df.layers.size, "Reclaimable",
                                                      (json_int_t)(df.images.reclaimable +
                                                                   df.layers.reclaimable)));
                }
        }
        if (err) {
                char *msg = mx_error_format(err);

                json_array_append_new(warnings, json_string(msg ? msg : "store unavailable"));
                mx_free(msg);
                mx_error_free(err);
                err = NULL;
        }
        json_object_set_new(info, "Driver", json_string(have_overlay() ? "overlay" : "vfs"));
        json_object_set_new(info, "CgroupDriver", json_string("cgroupfs"));
        json_object_set_new(info, "CgroupVersion", json_string(strcmp(mode, "v2") ? "1" : "2"));
        json_object_set_new(info, "CgroupMode", json_string(mode));
        {
                static const char *const names[] = {"crun", "runc"};

                for (size_t i = 0; i < MX_CLI_ARRAY_SIZE(names); i++) {
                        const char *path = getenv("PATH");
                        char *copy = mx_cli_xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL;

                        for (char *d = strtok_r(copy, ":", &save); d;
                             d = strtok_r(NULL, ":", &save)) {
                                char *p = mx_cli_xasprintf("%s/%s", d, names[i]);

                                if (access(p, X_OK) == 0 && !json_object_get(runtimes, names[i]))
                                        json_object_set_new(runtimes, names[i],
                                                            json_pack("{s:s}", "path", p));
                                free(p);
                        }
                        free(copy);
                }
        }
        json_object_set_new(info, "Runtimes", runtimes);
        if (mx_runtime_open && mx_runtime_info) {
                mx_runtime_opts opts = MX_RUNTIME_OPTS_INIT;
                mx_runtime *rt = NULL;
                char *text = NULL;

                opts.root = cli->root;
                if (mx_runtime_open(&rt, &opts, &err) == 0 &&
                    mx_runtime_info(rt, &text, &err) == 0) {
                        json_t *ri = json_loads(text, 0, NULL);

                        if (json_is_string(json_object_get(ri, "runtime")))
                                json_object_set(info, "DefaultRuntime",
                                                json_object_get(ri, "runtime"));
                        if (json_is_integer(json_object_get(ri, "containers")))
                                json_object_set(info, "Containers",
                                                json_object_get(ri, "containers"));
                        if (json_is_integer(json_object_get(ri, "running")))
                                json_object_set(info, "ContainersRunning",
                                                json_object_get(ri, "running"));
                        json_decref(ri);
                }
                mx_free(text);
                mx_error_free(err);
                err = NULL;
                if (rt)
                        mx_runtime_free(rt);
        }
        if (!json_object_get(info, "DefaultRuntime")) {
                if (json_object_get(runtimes, "crun"))
                        json_object_set_new(info, "DefaultRuntime", json_string("crun"));
                else if (json_object_get(runtimes, "runc"))
                        json_object_set_new(info, "DefaultRuntime", json_string("runc"));
        }
        json_object_set_new(info, "KernelVersion", json_string(u.release));
        json_object_set_new(info, "OperatingSystem", json_string(os));
        json_object_set_new(info, "OSType", json_string("linux"));
        json_object_set_new(info, "Architecture", json_string(u.machine));
        json_object_set_new(info, "NCPU", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
        json_object_set_new(info, "MemTotal", json_integer(mem_total()));
        json_object_set_new(info, "Warnings", warnings);
        free(os);
        for (mx_cli_info_section *sec = sections; sec; sec = sec->next)
                sec->fn(cli, info);
        return info;
}

static void print_text(const json_t *info)
{
        static const char *const known[] = {
                "ServerVersion", "RootDir",         "Images",        "StoreSize",
                "Driver",        "CgroupDriver",    "CgroupVersion", "CgroupMode",
                "Runtimes",      "DefaultRuntime",  "Containers",    "ContainersRunning",
                "KernelVersion", "OperatingSystem", "OSType",        "Architecture",
                "NCPU",          "MemTotal",        "Warnings",
        };
        const json_t *runtimes = json_object_get(info, "Runtimes");
        const json_t *store = json_object_get(info, "StoreSize");
        const char *k;
        json_t *v;
        char a[32], b[32], mem[32];

        printf("Client:\n Version:    %s\n Context:    daemonless\n\n", mx_version());
        printf("Server:\n");
        printf(" Containers: %lld\n",
               (long long)json_integer_value(json_object_get(info, "Containers")));
        printf("  Running: %lld\n",
               (long long)json_integer_value(json_object_get(info, "ContainersRunning")));
        printf(" Images: %lld\n", (long long)json_integer_value(json_object_get(info, "Images")));
        printf(" Server Version: %s\n", json_string_value(json_object_get(info, "ServerVersion")));
        printf(" Storage Driver: %s\n", json_string_value(json_object_get(info, "Driver")));
        if (store) {
                mx_cli_human_size(a, sizeof(a),
                                  (double)json_integer_value(json_object_get(store, "Blobs")), 4);
                mx_cli_human_size(b, sizeof(b),
                                  (double)json_integer_value(json_object_get(store, "Layers")), 4);
                printf(" Store Size: %s blobs, %s unpacked layers\n", a, b);
        }
        printf(" Cgroup Driver: %s\n", json_string_value(json_object_get(info, "CgroupDriver")));
        printf(" Cgroup Version: %s (%s)\n",
               json_string_value(json_object_get(info, "CgroupVersion")),
               json_string_value(json_object_get(info, "CgroupMode")));
        printf(" Runtimes:");
        json_object_foreach((json_t *)(uintptr_t)runtimes, k, v) printf(" %s", k);
        printf("%s\n", json_object_size(runtimes) ? "" : " none found");
        if (json_object_get(info, "DefaultRuntime"))
                printf(" Default Runtime: %s\n",
                       json_string_value(json_object_get(info, "DefaultRuntime")));
        /* keys added by other modules' sections */
        json_object_foreach((json_t *)(uintptr_t)info, k, v)
        {
                bool is_known = false;

                for (size_t i = 0; i < MX_CLI_ARRAY_SIZE(known) && !is_known; i++)
                        is_known = strcmp(k, known[i]) == 0;
                if (is_known)
                        continue;
                if (json_is_string(v)) {
                        printf(" %s: %s\n", k, json_string_value(v));
                } else {
                        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

                        printf(" %s: %s\n", k, t ? t : "");
                        free(t);
                }
        }
        printf(" Kernel Version: %s\n", json_string_value(json_object_get(info, "KernelVersion")));
        printf(" Operating System: %s\n",
               json_string_value(json_object_get(info, "OperatingSystem")));
        printf(" OSType: linux\n");
        printf(" Architecture: %s\n", json_string_value(json_object_get(info, "Architecture")));
        printf(" CPUs: %lld\n", (long long)json_integer_value(json_object_get(info, "NCPU")));
        bytes_size(mem, sizeof(mem), (double)json_integer_value(json_object_get(info, "MemTotal")));
        printf(" Total Memory: %s\n", mem);
        printf(" Root Dir: %s\n", json_string_value(json_object_get(info, "RootDir"))
                                          ? json_string_value(json_object_get(info, "RootDir"))
                                          : "(unavailable)");
        {
                size_t i;
                json_t *w;

                json_array_foreach(json_object_get(info, "Warnings"), i, w)
                        fprintf(stderr, "WARNING: %s\n", json_string_value(w));
        }
}

static int cmd_info(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {0},
        };
        const char *format = NULL;
        json_t *info;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        info = collect(cli);
        if (!format)
                print_text(info);
        else
                r = mx_cli_print_formatted(cli, info, format, "template");
        json_decref(info);
        return r;
}

MX_CLI_COMMAND(info, "info", cmd_info, "[OPTIONS]", "Display system-wide information")
