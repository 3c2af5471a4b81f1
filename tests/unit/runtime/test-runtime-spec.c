/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI runtime spec generated for a container: Docker's defaults and the options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fs.h"
#include "json.h"
#include "runtime/runtime-internal.h"
#include "tap.h"

static const char *make_rootfs(void)
{
        static char root[4096];
        char path[4200];
        FILE *f;

        snprintf(root, sizeof(root), "%s/rootfs", mx_tap_tmpdir());
        snprintf(path, sizeof(path), "%s/etc", root);
        if (mx_fs_mkdir_p(path, 0755, NULL) < 0)
                return NULL;
        snprintf(path, sizeof(path), "%s/etc/passwd", root);
        f = fopen(path, "we");
        fputs("root:x:0:0:root:/root:/bin/sh\n"
              "# a comment\n"
              "app:x:1000:1001:app:/home/app:/bin/sh\n"
              "nobody:x:65534:65534:nobody:/:/bin/false\n",
              f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/etc/group", root);
        f = fopen(path, "we");
        fputs("root:x:0:\napp:x:1001:\naudio:x:29:app,other\nvideo:x:44:app\nstaff:x:50:\n", f);
        fclose(f);
        return root;
}

static json_t *build(const char *config_text, const char *image_text, int *rc, mx_error **err)
{
        json_t *cfg = json_loads(config_text, 0, NULL), *img = NULL, *spec = NULL;
        mx_spec_input in = {0};
        struct rlimit lim = {1024, 20000};

        if (image_text)
                img = json_loads(image_text, 0, NULL);
        in.config = cfg;
        in.image_config = img;
        in.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        in.name = "test";
        in.rootfs = make_rootfs();
        in.container_dir = mx_tap_tmpdir();
        in.cgroup_mode = MX_CGROUP_HYBRID;
        in.nofile_hard = &lim;
        *rc = mx_runtime__spec_build(&spec, &in, err);
        json_decref(cfg);
        json_decref(img);
        return spec;
}

static int has_string(const json_t *arr, const char *s)
{
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v)
        {
                if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
                        return 1;
        }
        return 0;
}

static const json_t *find_mount(const json_t *spec, const char *dest)
{
        size_t i;
        json_t *m;

        json_array_foreach(json_object_get(spec, "mounts"), i, m)
        {
                if (strcmp(mx_json_str(m, "destination"), dest) == 0)
                        return m;
        }
        return NULL;
}

static int has_ns(const json_t *spec, const char *type)
{
        size_t i;
        json_t *n;

        json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n)
        {
                if (strcmp(mx_json_str(n, "type"), type) == 0)
                        return 1;
        }
        return 0;
}

MX_TEST(spec_defaults_are_dockers)
{
        mx_error *err = NULL;
        int rc;
        json_t *spec = build("{\"command\": [\"echo\", \"hi\"]}", NULL, &rc, &err);
        const json_t *proc, *lin, *caps, *sc;

        ASSERT_OK_E(rc, err);
        proc = json_object_get(spec, "process");
        lin = json_object_get(spec, "linux");
        ASSERT_STREQ(mx_json_str(spec, "ociVersion"), "1.0.2");
        ASSERT_EQ(json_array_size(json_object_get(proc, "args")), 2);
        ASSERT_STREQ(mx_json_str(proc, "cwd"), "/");
        ASSERT_TRUE(json_is_true(json_object_get(proc, "noNewPrivileges")));
        ASSERT_TRUE(json_is_false(json_object_get(proc, "terminal")));
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")), 0);
        caps = json_object_get(json_object_get(proc, "capabilities"), "bounding");
        ASSERT_EQ(json_array_size(caps), 14);
        ASSERT_TRUE(has_string(caps, "CAP_NET_BIND_SERVICE"));
        ASSERT_TRUE(!has_string(caps, "CAP_SYS_ADMIN"));
        ASSERT_TRUE(!has_string(caps, "CAP_SYS_MODULE"));
        /* namespaces: network none means a new one */
        ASSERT_TRUE(has_ns(spec, "pid"));
        ASSERT_TRUE(has_ns(spec, "network"));
        ASSERT_TRUE(has_ns(spec, "mount"));
        ASSERT_TRUE(has_ns(spec, "ipc"));
        ASSERT_TRUE(has_ns(spec, "uts"));
        ASSERT_TRUE(has_ns(spec, "cgroup"));
        ASSERT_TRUE(has_string(json_object_get(lin, "maskedPaths"), "/proc/kcore"));
        ASSERT_TRUE(has_string(json_object_get(lin, "readonlyPaths"), "/proc/sys"));
        ASSERT_STREQ(mx_json_str(lin, "cgroupsPath"),
                     "/myrmex/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        sc = json_object_get(lin, "seccomp");
        ASSERT_STREQ(mx_json_str(sc, "defaultAction"), "SCMP_ACT_ERRNO");
        /* mounts Docker gives every container, sysfs and cgroup read-only */
        ASSERT_NOT_NULL(find_mount(spec, "/proc"));
        ASSERT_NOT_NULL(find_mount(spec, "/dev/pts"));
        ASSERT_NOT_NULL(find_mount(spec, "/dev/shm"));
        ASSERT_NOT_NULL(find_mount(spec, "/dev/mqueue"));
        ASSERT_TRUE(has_string(json_object_get(find_mount(spec, "/sys"), "options"), "ro"));
        ASSERT_TRUE(
                has_string(json_object_get(find_mount(spec, "/sys/fs/cgroup"), "options"), "ro"));
        ASSERT_STREQ(mx_json_str(find_mount(spec, "/etc/hosts"), "type"), "bind");
        ASSERT_STREQ(mx_json_str(find_mount(spec, "/etc/resolv.conf"), "type"), "bind");
        ASSERT_STREQ(mx_json_str(spec, "hostname"), "0123456789ab");
        /* nofile defaults to the caller's hard limit when below 1048576 */
        {
                json_t *rl = json_array_get(json_object_get(proc, "rlimits"), 0);

                ASSERT_STREQ(mx_json_str(rl, "type"), "RLIMIT_NOFILE");
                ASSERT_EQ(json_integer_value(json_object_get(rl, "hard")), 20000);
        }
        json_decref(spec);
}

MX_TEST(spec_seccomp_blocks_dangerous_syscalls)
{
        mx_error *err = NULL;
        int rc;
        json_t *spec = build("{\"command\": [\"true\"]}", NULL, &rc, &err);
        json_t *sys = json_object_get(json_object_get(json_object_get(spec, "linux"), "seccomp"),
                                      "syscalls");
        size_t i;
        json_t *rule;
        int allows_mount = 0, allows_read = 0, allows_init_module = 0, clone_masked = 0;

        ASSERT_OK_E(rc, err);
        json_array_foreach(sys, i, rule)
        {
                const json_t *names = json_object_get(rule, "names");
                int allow = strcmp(mx_json_str(rule, "action"), "SCMP_ACT_ALLOW") == 0;

                if (allow && has_string(names, "mount"))
                        allows_mount = 1;
                if (allow && has_string(names, "read"))
                        allows_read = 1;
                if (allow && has_string(names, "init_module"))
                        allows_init_module = 1;
                if (allow && has_string(names, "clone") && json_object_get(rule, "args"))
                        clone_masked = 1;
        }
        ASSERT_TRUE(allows_read);
        ASSERT_TRUE(!allows_mount);
        ASSERT_TRUE(!allows_init_module);
        ASSERT_TRUE(clone_masked);
        json_decref(spec);
}

MX_TEST(spec_entrypoint_and_command_follow_docker)
{
        mx_error *err = NULL;
        int rc;
        const char *img = "{\"Entrypoint\": [\"/bin/ep\"], \"Cmd\": [\"dflt\"], \"Env\": "
                          "[\"PATH=/img/bin\", \"A=1\"], \"WorkingDir\": \"/srv\", "
                          "\"User\": \"app\"}";
        json_t *spec = build("{}", img, &rc, &err);
        const json_t *proc = json_object_get(spec, "process");

        ASSERT_OK_E(rc, err);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(proc, "args"), 0)),
                     "/bin/ep");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(proc, "args"), 1)), "dflt");
        ASSERT_STREQ(mx_json_str(proc, "cwd"), "/srv");
        ASSERT_TRUE(has_string(json_object_get(proc, "env"), "PATH=/img/bin"));
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")), 1000);
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(proc, "user"), "gid")), 1001);
        json_decref(spec);

        /* a command replaces Cmd and keeps the entrypoint; env overrides the image's */
        spec = build("{\"command\": \"x 'y z'\", \"environment\": {\"A\": \"2\"}}", img, &rc, &err);
        ASSERT_OK_E(rc, err);
        proc = json_object_get(spec, "process");
        ASSERT_EQ(json_array_size(json_object_get(proc, "args")), 3);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(proc, "args"), 2)), "y z");
        ASSERT_TRUE(has_string(json_object_get(proc, "env"), "A=2"));
        ASSERT_TRUE(!has_string(json_object_get(proc, "env"), "A=1"));
        json_decref(spec);

        /* an entrypoint override drops the image's Cmd */
        spec = build("{\"entrypoint\": [\"/bin/other\"]}", img, &rc, &err);
        ASSERT_OK_E(rc, err);
        ASSERT_EQ(json_array_size(json_object_get(json_object_get(spec, "process"), "args")), 1);
        json_decref(spec);

        /* nothing to run at all */
        spec = build("{}", "{}", &rc, &err);
        ASSERT_EQ(rc, MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_RUNTIME);
        ASSERT_NULL(spec);
        mx_error_free(err);
}

MX_TEST(spec_users_resolve_from_the_rootfs)
{
        mx_error *err = NULL;
        int rc;
        json_t *spec = build("{\"command\": [\"id\"], \"user\": \"app\"}", NULL, &rc, &err);
        json_t *user;

        ASSERT_OK_E(rc, err);
        user = json_object_get(json_object_get(spec, "process"), "user");
        ASSERT_EQ(json_integer_value(json_object_get(user, "uid")), 1000);
        ASSERT_EQ(json_integer_value(json_object_get(user, "gid")), 1001);
        ASSERT_EQ(json_array_size(json_object_get(user, "additionalGids")), 2);
        json_decref(spec);

        spec = build("{\"command\": [\"id\"], \"user\": \"65534:staff\"}", NULL, &rc, &err);
        ASSERT_OK_E(rc, err);
        user = json_object_get(json_object_get(spec, "process"), "user");
        ASSERT_EQ(json_integer_value(json_object_get(user, "uid")), 65534);
        ASSERT_EQ(json_integer_value(json_object_get(user, "gid")), 50);
        json_decref(spec);

        /* a uid without an entry is fine (gid 0), a name without one is not */
        spec = build("{\"command\": [\"id\"], \"user\": \"4242\"}", NULL, &rc, &err);
        ASSERT_OK_E(rc, err);
        json_decref(spec);
        spec = build("{\"command\": [\"id\"], \"user\": \"ghost\"}", NULL, &rc, &err);
        ASSERT_EQ(rc, MX_EINVAL);
        ASSERT_TRUE(strstr(err->message, "'ghost'") != NULL);
        mx_error_free(err);
        err = NULL;
        spec = build("{\"command\": [\"id\"], \"user\": \"app:nogroup\"}", NULL, &rc, &err);
        ASSERT_EQ(rc, MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(spec_options_map_to_the_oci_spec)
{
        mx_error *err = NULL;
        int rc;
        char cfg[8192];
        json_t *spec, *res, *proc, *caps;

        snprintf(cfg, sizeof(cfg),
                 "{\"command\": [\"sh\"], \"tty\": true, \"read_only\": true, "
                 "\"hostname\": \"box\", \"network_mode\": \"host\", "
                 "\"volumes\": {\"%s\": {\"bind\": \"/data\", \"mode\": \"ro\"}}, "
                 "\"tmpfs\": {\"/run\": \"size=64m\"}, \"cap_add\": [\"net_admin\"], "
                 "\"cap_drop\": [\"CHOWN\"], \"ulimits\": [{\"name\": \"nofile\", \"soft\": "
                 "100, \"hard\": 200}], \"resources\": {\"memory_limit\": \"512m\", "
                 "\"memory_reservation\": \"256m\", \"cpu_limit\": \"1.5\", \"pids_limit\": "
                 "64}, \"security_opt\": [\"no-new-privileges=false\"]}",
                 mx_tap_tmpdir());
        spec = build(cfg, NULL, &rc, &err);
        ASSERT_OK_E(rc, err);
        proc = json_object_get(spec, "process");
        ASSERT_TRUE(json_is_true(json_object_get(proc, "terminal")));
        ASSERT_TRUE(has_string(json_object_get(proc, "env"), "TERM=xterm"));
        ASSERT_TRUE(json_is_false(json_object_get(proc, "noNewPrivileges")));
        ASSERT_TRUE(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")));
        ASSERT_STREQ(mx_json_str(spec, "hostname"), "box");
        ASSERT_TRUE(!has_ns(spec, "network"));
        ASSERT_TRUE(has_string(json_object_get(find_mount(spec, "/data"), "options"), "ro"));
        ASSERT_STREQ(mx_json_str(find_mount(spec, "/run"), "type"), "tmpfs");
        ASSERT_TRUE(has_string(json_object_get(find_mount(spec, "/run"), "options"), "size=64m"));
        caps = json_object_get(json_object_get(proc, "capabilities"), "effective");
        ASSERT_TRUE(has_string(caps, "CAP_NET_ADMIN"));
        ASSERT_TRUE(!has_string(caps, "CAP_CHOWN"));
        res = json_object_get(json_object_get(spec, "linux"), "resources");
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
                  512 << 20);
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "memory"), "swap")),
                  512 << 20);
        ASSERT_EQ(
                json_integer_value(json_object_get(json_object_get(res, "memory"), "reservation")),
                256 << 20);
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")),
                  150000);
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "cpu"), "period")),
                  100000);
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), 64);
        json_decref(spec);
}

MX_TEST(spec_privileged_lifts_the_confinement)
{
        mx_error *err = NULL;
        int rc;
        json_t *spec = build("{\"command\": [\"sh\"], \"privileged\": true}", NULL, &rc, &err);
        json_t *lin;

        ASSERT_OK_E(rc, err);
        lin = json_object_get(spec, "linux");
        ASSERT_NULL(json_object_get(lin, "seccomp"));
        ASSERT_NULL(json_object_get(lin, "maskedPaths"));
        ASSERT_TRUE(has_string(
                json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"),
                                "bounding"),
                "CAP_SYS_ADMIN"));
        json_decref(spec);
        spec = build("{\"command\": [\"sh\"], \"security_opt\": [\"seccomp=unconfined\"]}", NULL,
                     &rc, &err);
        ASSERT_OK_E(rc, err);
        ASSERT_NULL(json_object_get(json_object_get(spec, "linux"), "seccomp"));
        json_decref(spec);
}

MX_TEST(spec_refuses_bad_options)
{
        static const char *const bad[] = {
                "{\"command\": [\"sh\"], \"ulimits\": [{\"name\": \"nofile\", \"soft\": 1, "
                "\"hard\": 999999}]}",
                "{\"command\": [\"sh\"], \"ulimits\": [{\"name\": \"bogus\", \"soft\": 1}]}",
                "{\"command\": [\"sh\"], \"resources\": {\"memory_limit\": \"lots\"}}",
                "{\"command\": [\"sh\"], \"resources\": {\"memory_limit\": \"1m\"}}",
                "{\"command\": [\"sh\"], \"resources\": {\"cpu_limit\": \"-1\"}}",
                "{\"command\": [\"sh\"], \"cap_add\": [\"CAP_FLY\"]}",
                "{\"command\": [\"sh\"], \"working_dir\": \"relative\"}",
                "{\"command\": [\"sh\"], \"volumes\": [\"relative:/x\"]}",
                "{\"command\": [\"sh\"], \"volumes\": [\"/tmp:/\"]}",
                "{\"command\": [\"sh\"], \"security_opt\": [\"nonsense\"]}",
                "{\"command\": [\"sh\"], \"stop_signal\": \"SIGNOPE\"}",
                "{\"command\": \"unterminated 'quote\"}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                mx_error *err = NULL;
                int rc;
                json_t *spec = build(bad[i], NULL, &rc, &err);

                if (rc != MX_EINVAL)
                        mx_tap_fail(__FILE__, __LINE__, "config %zu accepted: %s", i, bad[i]);
                ASSERT_NULL(spec);
                ASSERT_NOT_NULL(err);
                ASSERT_EQ(err->domain, MX_D_RUNTIME);
                mx_error_free(err);
        }
}

MX_TEST(parse_cpus_and_restart_policies)
{
        int64_t q;
        uint64_t p;
        int kind, max;

        ASSERT_OK(mx_runtime__parse_cpus("1.5", &q, &p));
        ASSERT_EQ(q, 150000);
        ASSERT_EQ(p, 100000);
        ASSERT_OK(mx_runtime__parse_cpus("0.01", &q, &p));
        ASSERT_EQ(q, 1000);
        ASSERT_ERR(mx_runtime__parse_cpus("0.001", &q, &p), MX_EINVAL);
        ASSERT_ERR(mx_runtime__parse_cpus("abc", &q, &p), MX_EINVAL);
        ASSERT_ERR(mx_runtime__parse_cpus("1.", &q, &p), MX_EINVAL);
        ASSERT_OK(mx_runtime__parse_restart("on-failure:3", &kind, &max));
        ASSERT_EQ(kind, 3);
        ASSERT_EQ(max, 3);
        ASSERT_OK(mx_runtime__parse_restart("unless-stopped", &kind, &max));
        ASSERT_EQ(kind, 2);
        ASSERT_OK(mx_runtime__parse_restart(NULL, &kind, &max));
        ASSERT_EQ(kind, 0);
        ASSERT_ERR(mx_runtime__parse_restart("sometimes", &kind, &max), MX_EINVAL);
        ASSERT_ERR(mx_runtime__parse_restart("on-failure:x", &kind, &max), MX_EINVAL);
}

MX_TEST(etc_files_are_generated)
{
        mx_error *err = NULL;
        json_t *cfg = json_loads("{\"extra_hosts\": [\"db:10.0.0.2\"]}", 0, NULL);
        mx_buf b = MX_BUF_INIT;
        char path[4096];

        ASSERT_OK_E(mx_runtime__write_etc_files(mx_tap_tmpdir(), cfg, "box", &err), err);
        snprintf(path, sizeof(path), "%s/hosts", mx_tap_tmpdir());
        ASSERT_OK(mx_buf_read_file(&b, path, 65536, NULL));
        ASSERT_TRUE(strstr(b.ptr, "10.0.0.2\tdb\n") != NULL);
        ASSERT_TRUE(strstr(b.ptr, "127.0.0.1\tlocalhost") != NULL);
        ASSERT_TRUE(strstr(b.ptr, "\tbox\n") != NULL);
        mx_buf_clear(&b);
        snprintf(path, sizeof(path), "%s/hostname", mx_tap_tmpdir());
        ASSERT_OK(mx_buf_read_file(&b, path, 65536, NULL));
        ASSERT_STREQ(b.ptr, "box\n");
        mx_buf_clear(&b);
        json_decref(cfg);
        cfg = json_loads("{\"extra_hosts\": [\"nocolon\"]}", 0, NULL);
        ASSERT_ERR(mx_runtime__write_etc_files(mx_tap_tmpdir(), cfg, "box", &err), MX_EINVAL);
        mx_error_free(err);
        json_decref(cfg);
}
