/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI runtime spec (config.json) of a container, from its configuration and its image's
 * configuration, with Docker's defaults for safety. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <myrmex/network.h>

#include "error-internal.h"
#include "fs.h"
#include "json.h"
#include "parse.h"
#include "runtime-internal.h"
#include "strv.h"

const char *const mx_runtime__default_caps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
        NULL,
};

const char *const mx_runtime__all_caps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
        NULL,
};

static const char *const masked_paths[] = {
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        NULL,
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
        {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
        {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
        {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
        {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
        {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
        {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
        {"stack", RLIMIT_STACK},       {"as", RLIMIT_AS},
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int bad(mx_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(mx_error **err, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "%s", msg);
}

int mx_runtime__parse_cpus(const char *s, int64_t *quota_out, uint64_t *period_out)
{
        uint64_t whole = 0, frac = 0, scale = 1;
        const char *p = s;

        if (!s || !*s)
                return MX_EINVAL;
        for (; *p && *p != '.'; p++) {
                if (!isdigit((unsigned char)*p) || whole > 100000)
                        return MX_EINVAL;
                whole = whole * 10 + (uint64_t)(*p - '0');
        }
        if (*p == '.') {
                p++;
                if (!*p)
                        return MX_EINVAL;
                for (; *p; p++) {
                        if (!isdigit((unsigned char)*p))
                                return MX_EINVAL;
                        if (scale < 1000000) {
                                frac = frac * 10 + (uint64_t)(*p - '0');
                                scale *= 10;
                        }
                }
        }
        /* quota in microseconds per 100 ms period; Docker's NanoCPUs / 10^4 */
        {
                uint64_t q = whole * 100000 + frac * 100000 / scale;

                if (q < 1000)
                        return MX_EINVAL; /* the kernel refuses quotas below 1 ms */
                *quota_out = (int64_t)q;
                *period_out = 100000;
        }
        return 0;
}

int mx_runtime__parse_restart(const char *s, int *kind_out, int *max_out)
{
        uint64_t n = 0;

        if (!s || !*s || strcmp(s, "no") == 0) {
                *kind_out = 0;
                *max_out = 0;
                return 0;
        }
        if (strcmp(s, "always") == 0) {
                *kind_out = 1;
                *max_out = 0;
                return 0;
        }
        if (strcmp(s, "unless-stopped") == 0) {
                *kind_out = 2;
                *max_out = 0;
                return 0;
        }
        if (strncmp(s, "on-failure", 10) == 0) {
                if (s[10] == ':') {
                        if (mx_parse_u64(s + 11, &n) < 0 || n > INT_MAX)
                                return MX_EINVAL;
                } else if (s[10] != '\0') {
                        return MX_EINVAL;
                }
                *kind_out = 3;
                *max_out = (int)n;
                return 0;
        }
        return MX_EINVAL;
}

/* ---- users ------------------------------------------------------------------------------ */

/* Find the line whose field 0 (name) or field 2 (id) matches; fields split on ':'. */
static int find_entry(const char *text, const char *key, int by_id, char fields[][256], int nfields)
{
        const char *line = text;

        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                int f = 0;
                size_t pos = 0;

                for (int i = 0; i < nfields; i++)
                        fields[i][0] = '\0';
                for (size_t i = 0; i < len && f < nfields; i++) {
                        if (line[i] == ':') {
                                fields[f][pos] = '\0';
                                f++;
                                pos = 0;
                        } else if (pos < 255) {
                                fields[f][pos++] = line[i];
                        }
                }
                if (f < nfields)
                        fields[f][pos] = '\0';
                if (len > 0 && line[0] != '#' && strcmp(by_id ? fields[2] : fields[0], key) == 0)
                        return 1;
                line = end ? end + 1 : NULL;
        }
        return 0;
}

static int is_number(const char *s)
{
        uint64_t v;

        return mx_parse_u64(s, &v) == 0 && v <= UINT32_MAX;
}

int mx_runtime__resolve_user(const char *spec, const char *passwd, const char *group,
                             uint32_t *uid_out, uint32_t *gid_out, uint32_t **groups_out,
                             size_t *n_groups_out, mx_error **err)
{
        char user[256] = "", grp[256] = "", f[7][256];
        const char *colon;
        uint64_t v;
        uint32_t uid = 0, gid = 0;
        cleanup_free uint32_t *groups = NULL;
        size_t n_groups = 0;
        int have_user_entry = 0;

        if (!spec || !*spec)
                spec = "0";
        colon = strchr(spec, ':');
        if (strlen(spec) >= sizeof(user))
                return bad(err, "user '%s' is too long", spec);
        if (colon) {
                memcpy(user, spec, (size_t)(colon - spec));
                user[colon - spec] = '\0';
                snprintf(grp, sizeof(grp), "%s", colon + 1);
        } else {
                snprintf(user, sizeof(user), "%s", spec);
        }
        if (!*user)
                snprintf(user, sizeof(user), "0");
        if (is_number(user)) {
                (void)mx_parse_u64(user, &v);
                uid = (uint32_t)v;
                if (passwd && find_entry(passwd, user, 1, f, 7)) {
                        have_user_entry = 1;
                        if (mx_parse_u64(f[3], &v) == 0)
                                gid = (uint32_t)v;
                }
        } else {
                if (!passwd || !find_entry(passwd, user, 0, f, 7))
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "unable to find user '%s': no matching entries in "
                                            "passwd file",
                                            user);
                have_user_entry = 1;
                if (mx_parse_u64(f[2], &v) < 0 || v > UINT32_MAX)
                        return bad(err, "passwd entry of user '%s' has a bad uid", user);
                uid = (uint32_t)v;
                if (mx_parse_u64(f[3], &v) == 0 && v <= UINT32_MAX)
                        gid = (uint32_t)v;
        }
        if (*grp) {
                if (is_number(grp)) {
                        (void)mx_parse_u64(grp, &v);
                        gid = (uint32_t)v;
                } else {
                        char g[4][256];

                        if (!group || !find_entry(group, grp, 0, g, 4))
                                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                                    "unable to find group '%s': no matching "
                                                    "entries in group file",
                                                    grp);
                        if (mx_parse_u64(g[2], &v) < 0 || v > UINT32_MAX)
                                return bad(err, "group entry '%s' has a bad gid", grp);
                        gid = (uint32_t)v;
                }
        }
        /* Supplementary groups: every group listing the user's name as a member. */
        if (have_user_entry && group && !*grp) {
                const char *line = group;
                const char *name = f[0];

                while (line && *line) {
                        const char *end = strchr(line, '\n');
                        size_t len = end ? (size_t)(end - line) : strlen(line);
                        char copy[1024], *members, *save = NULL, *fields[4] = {0};
                        int nf = 0;

                        if (len < sizeof(copy) && line[0] != '#') {
                                char *p = copy, *tok;

                                memcpy(copy, line, len);
                                copy[len] = '\0';
                                while (nf < 4 && (tok = strsep(&p, ":")) != NULL)
                                        fields[nf++] = tok;
                                members = nf == 4 ? fields[3] : NULL;
                                for (char *m = members ? strtok_r(members, ",", &save) : NULL; m;
                                     m = strtok_r(NULL, ",", &save)) {
                                        if (strcmp(m, name) == 0 &&
                                            mx_parse_u64(fields[2], &v) == 0 && v <= UINT32_MAX &&
                                            (uint32_t)v != gid) {
                                                uint32_t *ng = realloc(
                                                        groups, (n_groups + 1) * sizeof(uint32_t));

                                                if (!ng)
                                                        return mx_error_oom(err);
                                                groups = ng;
                                                groups[n_groups++] = (uint32_t)v;
                                        }
                                }
                        }
                        line = end ? end + 1 : NULL;
                }
        }
        *uid_out = uid;
        *gid_out = gid;
        if (groups_out) {
                *groups_out = TAKE_PTR(groups);
                *n_groups_out = n_groups;
        }
        return 0;
}

/* Read a small file inside the rootfs without following symlinks out of it. */
static char *read_in_root(const char *rootfs, const char *rel)
{
        mx_buf b = MX_BUF_INIT_CAP(4 << 20);
        cleanup_close int root_fd = -1, fd = -1;
        struct open_how {
                uint64_t flags, mode, resolve;
        } how = {O_RDONLY | O_CLOEXEC, 0, 0x10 /* RESOLVE_IN_ROOT */};

        if (!rootfs)
                return NULL;
        root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return NULL;
        fd = (int)syscall(437 /* openat2 */, root_fd, rel, &how, sizeof(how));
        if (fd < 0)
                return NULL;
        if (mx_buf_read_fd(&b, fd, NULL) < 0) {
                mx_buf_clear(&b);
                return NULL;
        }
        return mx_buf_detach(&b);
}

/* ---- helpers over the configuration ------------------------------------------------------ */

static int json_strv(const json_t *arr, char ***out, const char *key, mx_error **err)
{
        size_t i;
        json_t *v;

        if (!arr || json_is_null(arr))
                return 0;
        if (json_is_string(arr)) {
                /* A string command is split on blanks honoring simple quotes, as docker-py's
                 * shlex.split does for the common cases. */
                const char *s = json_string_value(arr);
                mx_buf cur = MX_BUF_INIT;
                int in_word = 0;
                char quote = 0;

                for (;; s++) {
                        char c = *s;

                        if (c == '\0' || (!quote && isspace((unsigned char)c))) {
                                if (in_word) {
                                        if (mx_strv_push_take(out, mx_buf_detach(&cur)) < 0)
                                                return mx_error_oom(err);
                                        in_word = 0;
                                }
                                if (c == '\0')
                                        break;
                                continue;
                        }
                        in_word = 1;
                        if (quote && c == quote) {
                                quote = 0;
                        } else if (!quote && (c == '\'' || c == '"')) {
                                quote = c;
                        } else if (c == '\\' && quote != '\'' && s[1]) {
                                s++;
                                (void)mx_buf_putc(&cur, *s);
                        } else {
                                (void)mx_buf_putc(&cur, c);
                        }
                }
                mx_buf_clear(&cur);
                if (quote)
                        return bad(err, "unterminated quote in '%s'", key);
                return 0;
        }
        if (!json_is_array(arr))
                return bad(err, "configuration key '%s' must be a list of strings", key);
        json_array_foreach(arr, i, v)
        {
                if (!json_is_string(v))
                        return bad(err, "configuration key '%s' must be a list of strings", key);
                if (mx_strv_push(out, json_string_value(v)) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

static json_t *strv_to_json(char *const *v)
{
        json_t *a = json_array();

        MX_STRV_FOREACH (s, v)
                json_array_append_new(a, json_string(s));
        return a;
}

static int cfg_bool(const json_t *cfg, const char *key)
{
        json_t *v = json_object_get(cfg, key);

        return json_is_true(v);
}

static const char *cfg_str(const json_t *cfg, const char *key)
{
        return mx_json_str(cfg, key);
}

/* Set NAME=value in an env list, replacing an existing NAME. */
static int env_set(char ***env, const char *kv)
{
        const char *eq = strchr(kv, '=');
        size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

        for (char **p = *env; p && *p; p++) {
                if (strncmp(*p, kv, n) == 0 && ((*p)[n] == '=' || (*p)[n] == '\0')) {
                        char *copy = strdup(kv);

                        if (!copy)
                                return MX_ENOMEM;
                        free(*p);
                        *p = copy;
                        return 0;
                }
        }
        return mx_strv_push(env, kv);
}

static int env_has(char *const *env, const char *name)
{
        size_t n = strlen(name);

        MX_STRV_FOREACH (e, env) {
                if (strncmp(e, name, n) == 0 && e[n] == '=')
                        return 1;
        }
        return 0;
}

static json_t *mount_new(const char *dest, const char *type, const char *source,
                         const char *const *opts)
{
        json_t *m = json_object(), *o = json_array();

        json_object_set_new(m, "destination", json_string(dest));
        json_object_set_new(m, "type", json_string(type));
        json_object_set_new(m, "source", json_string(source));
        for (; opts && *opts; opts++)
                json_array_append_new(o, json_string(*opts));
        json_object_set_new(m, "options", o);
        return m;
}

static int cap_valid(const char *name)
{
        for (const char *const *c = mx_runtime__all_caps; *c; c++) {
                if (strcmp(*c, name) == 0)
                        return 1;
        }
        return 0;
}

/* Docker accepts "NET_ADMIN", "CAP_NET_ADMIN", any case, and "ALL". */
static int cap_normalize(char *buf, size_t len, const char *in)
{
        size_t j = 0;

        if (strncasecmp(in, "CAP_", 4) != 0)
                j = (size_t)snprintf(buf, len, "CAP_");
        for (const char *p = in; *p && j + 1 < len; p++)
                buf[j++] = (char)toupper((unsigned char)*p);
        buf[j] = '\0';
        return strcmp(buf, "CAP_ALL") == 0 ? 1 : 0;
}

/* The capabilities the caller holds in its bounding set: a container can get no more (a
 * capset() beyond them fails, so --privileged and ALL stop at what we have). */
static uint64_t bounding_set(const mx_spec_input *in)
{
        FILE *f;
        char line[256];
        uint64_t v = 0;

        if (in->cap_bounding)
                return in->cap_bounding;
        f = fopen("/proc/self/status", "re");
        if (!f)
                return UINT64_MAX;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "CapBnd:", 7) == 0) {
                        for (const char *p = line + 7; *p; p++) {
                                int d = *p >= '0' && *p <= '9'   ? *p - '0'
                                        : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                                                                 : -1;

                                if (d >= 0)
                                        v = v * 16 + (uint64_t)d;
                        }
                }
        }
        fclose(f);
        return v ? v : UINT64_MAX;
}

/* Index of a capability name in mx_runtime__all_caps, which is in kernel number order. */
static int cap_number(const char *name)
{
        for (int i = 0; mx_runtime__all_caps[i]; i++) {
                if (strcmp(mx_runtime__all_caps[i], name) == 0)
                        return i;
        }
        return -1;
}

static int build_caps(json_t **out, const json_t *cfg, int privileged, const mx_spec_input *in,
                      mx_error **err)
{
        uint64_t bnd = bounding_set(in);
        cleanup_strv char **caps = NULL;
        json_t *add = json_object_get(cfg, "cap_add"), *drop = json_object_get(cfg, "cap_drop");
        size_t i;
        json_t *v;
        char name[64];

        for (const char *const *c = privileged ? mx_runtime__all_caps : mx_runtime__default_caps;
             *c; c++) {
                if (!(bnd & (1ULL << cap_number(*c))))
                        continue;
                if (mx_strv_push(&caps, *c) < 0)
                        return mx_error_oom(err);
        }
        if (drop && !json_is_array(drop))
                return bad(err, "configuration key '%s' must be a list", "cap_drop");
        if (add && !json_is_array(add))
                return bad(err, "configuration key '%s' must be a list", "cap_add");
        json_array_foreach(drop, i, v)
        {
                if (!json_is_string(v))
                        return bad(err, "configuration key '%s' must be a list", "cap_drop");
                if (cap_normalize(name, sizeof(name), json_string_value(v))) {
                        mx_strv_free(caps);
                        caps = NULL;
                        continue;
                }
                if (!cap_valid(name))
                        return bad(err, "unknown capability to drop: '%s'", json_string_value(v));
                for (size_t k = 0; caps && caps[k]; k++) {
                        if (strcmp(caps[k], name) == 0) {
                                free(caps[k]);
                                memmove(&caps[k], &caps[k + 1],
                                        (mx_strv_length(caps) - k) * sizeof(char *));
                                break;
                        }
                }
        }
        json_array_foreach(add, i, v)
        {
                if (!json_is_string(v))
                        return bad(err, "configuration key '%s' must be a list", "cap_add");
                if (cap_normalize(name, sizeof(name), json_string_value(v))) {
                        for (const char *const *c = mx_runtime__all_caps; *c; c++) {
                                if (!(bnd & (1ULL << cap_number(*c))))
                                        continue;
                                if (!mx_strv_contains(caps, *c) && mx_strv_push(&caps, *c) < 0)
                                        return mx_error_oom(err);
                        }
                        continue;
                }
                if (!cap_valid(name))
                        return bad(err, "unknown capability to add: '%s'", json_string_value(v));
                if (!(bnd & (1ULL << cap_number(name))))
                        return bad(err,
                                   "cannot add capability '%s': this process does not hold it "
                                   "in its bounding set",
                                   json_string_value(v));
                if (!mx_strv_contains(caps, name) && mx_strv_push(&caps, name) < 0)
                        return mx_error_oom(err);
        }
        {
                json_t *c = json_object();

                json_object_set_new(c, "bounding", strv_to_json(caps));
                json_object_set_new(c, "effective", strv_to_json(caps));
                json_object_set_new(c, "permitted", strv_to_json(caps));
                *out = c;
        }
        return 0;
}

static int add_rlimit(json_t *arr, const char *type, uint64_t soft, uint64_t hard)
{
        json_t *r = json_object();

        json_object_set_new(r, "type", json_string(type));
        json_object_set_new(r, "hard", json_integer((json_int_t)hard));
        json_object_set_new(r, "soft", json_integer((json_int_t)soft));
        return json_array_append_new(arr, r);
}

static uint64_t lim_val(rlim_t v)
{
        return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

/* rlimits: nofile defaults to min(1048576, our hard limit); user ulimits are refused above
 * our hard limits, since raising them needs CAP_SYS_RESOURCE, which root here may lack. */
static int build_rlimits(json_t **out, const json_t *cfg, const mx_spec_input *in, mx_error **err)
{
        json_t *arr = json_array(), *ul = json_object_get(cfg, "ulimits");
        struct rlimit nofile;
        int have_nofile = 0;
        size_t i;
        json_t *v;

        if (in->nofile_hard)
                nofile = *in->nofile_hard;
        else if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
                nofile.rlim_max = 1024;
        if (ul && !json_is_array(ul)) {
                json_decref(arr);
                return bad(err, "configuration key '%s' must be a list", "ulimits");
        }
        json_array_foreach(ul, i, v)
        {
                const char *name = mx_json_str(v, "name");
                json_int_t soft = json_integer_value(json_object_get(v, "soft"));
                json_int_t hard = json_integer_value(json_object_get(v, "hard"));
                int res = -1;
                char type[32];
                struct rlimit cur;

                for (size_t k = 0; name && k < MX_ARRAY_SIZE(rlimit_names); k++) {
                        if (strcmp(rlimit_names[k].name, name) == 0)
                                res = rlimit_names[k].resource;
                }
                if (res < 0) {
                        json_decref(arr);
                        return bad(err, "unknown ulimit '%s'", name ? name : "(none)");
                }
                if (!json_object_get(v, "hard"))
                        hard = soft;
                if (soft < 0 || hard < 0 || soft > hard) {
                        json_decref(arr);
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "ulimit '%s': soft limit %lld above hard limit %lld",
                                            name, (long long)soft, (long long)hard);
                }
                if (res == RLIMIT_NOFILE) {
                        have_nofile = 1;
                        cur = nofile;
                } else if (getrlimit(res, &cur) < 0) {
                        cur.rlim_max = RLIM_INFINITY;
                }
                if ((uint64_t)hard > lim_val(cur.rlim_max)) {
                        json_decref(arr);
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "ulimit '%s': hard limit %lld is above this "
                                            "process's hard limit %llu (raising it needs "
                                            "CAP_SYS_RESOURCE)",
                                            name, (long long)hard,
                                            (unsigned long long)lim_val(cur.rlim_max));
                }
                snprintf(type, sizeof(type), "RLIMIT_");
                for (size_t k = 0; name[k] && k + 8 < sizeof(type); k++) {
                        type[7 + k] = (char)toupper((unsigned char)name[k]);
                        type[8 + k] = '\0';
                }
                add_rlimit(arr, type, (uint64_t)soft, (uint64_t)hard);
        }
        if (!have_nofile) {
                uint64_t n = lim_val(nofile.rlim_max);

                if (n > 1048576)
                        n = 1048576;
                add_rlimit(arr, "RLIMIT_NOFILE", n, n);
        }
        *out = arr;
        return 0;
}

static int parse_size_key(const json_t *obj, const char *key, int64_t *out, mx_error **err)
{
        json_t *v = json_object_get(obj, key);
        uint64_t n;

        if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
                return 0;
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *out = (int64_t)json_integer_value(v);
                return 1;
        }
        if (!json_is_string(v) || mx_parse_size(json_string_value(v), &n) < 0 || n > INT64_MAX)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "invalid size for '%s': '%s' (use 512m, 1g, ...)", key,
                                    json_is_string(v) ? json_string_value(v) : "(not a string)");
        *out = (int64_t)n;
        return 1;
}

static int build_resources(json_t *res, const json_t *cfg, mx_cgroup_mode mode, mx_error **err)
{
        const json_t *r = json_object_get(cfg, "resources");
        json_t *mem = json_object(), *cpu = json_object();
        int64_t limit = -1, reservation = -1, swap = -1;
        int rc;

        (void)mode;
        if (r && !json_is_object(r))
                return bad(err, "configuration key '%s' must be an object", "resources");
        rc = parse_size_key(r, "memory_limit", &limit, err);
        if (rc < 0)
                goto fail;
        rc = parse_size_key(r, "memory_reservation", &reservation, err);
        if (rc < 0)
                goto fail;
        rc = parse_size_key(r, "memory_swap", &swap, err);
        if (rc < 0)
                goto fail;
        if (limit >= 0) {
                if (limit < 6 * 1024 * 1024) {
                        rc = mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                          "minimum memory limit allowed is 6MB");
                        goto fail;
                }
                json_object_set_new(mem, "limit", json_integer(limit));
                /* No swap beyond the limit unless asked: the limit is then what a process can
                 * really use, and exceeding it is an OOM kill, not silent swapping. */
                json_object_set_new(mem, "swap", json_integer(swap >= limit ? swap : limit));
        }
        if (reservation >= 0)
                json_object_set_new(mem, "reservation", json_integer(reservation));
        {
                const char *cpus = mx_json_str(r, "cpu_limit");
                json_t *shares = json_object_get(r, "cpu_shares");

                if (cpus && *cpus) {
                        int64_t quota;
                        uint64_t period;

                        if (mx_runtime__parse_cpus(cpus, &quota, &period) < 0) {
                                rc = bad(err, "invalid value for cpus: '%s'", cpus);
                                goto fail;
                        }
                        json_object_set_new(cpu, "quota", json_integer(quota));
                        json_object_set_new(cpu, "period", json_integer((json_int_t)period));
                }
                if (json_is_integer(shares) && json_integer_value(shares) > 0)
                        json_object_set_new(cpu, "shares", json_incref(shares));
                cpus = mx_json_str(r, "cpu_reservation");
                if (cpus && *cpus && !json_object_get(cpu, "shares")) {
                        /* A reservation becomes a relative weight: 1 CPU = 1024 shares. */
                        int64_t quota;
                        uint64_t period;

                        if (mx_runtime__parse_cpus(cpus, &quota, &period) < 0) {
                                rc = bad(err, "invalid value for cpu_reservation: '%s'", cpus);
                                goto fail;
                        }
                        json_object_set_new(cpu, "shares",
                                            json_integer(quota * 1024 / (int64_t)period));
                }
        }
        if (json_object_size(mem))
                json_object_set_new(res, "memory", mem);
        else
                json_decref(mem);
        if (json_object_size(cpu))
                json_object_set_new(res, "cpu", cpu);
        else
                json_decref(cpu);
        {
                json_t *pl = json_object_get(r, "pids_limit");

                if (json_is_integer(pl) && json_integer_value(pl) != 0) {
                        json_t *p = json_object();

                        json_object_set_new(p, "limit",
                                            json_integer(json_integer_value(pl) < 0
                                                                 ? -1
                                                                 : json_integer_value(pl)));
                        json_object_set_new(res, "pids", p);
                }
        }
        return 0;
fail:
        json_decref(mem);
        json_decref(cpu);
        return rc;
}

static json_t *device_rule(int allow, const char *type, int64_t major, int64_t minor,
                           const char *access)
{
        json_t *d = json_object();

        json_object_set_new(d, "allow", json_boolean(allow));
        if (type)
                json_object_set_new(d, "type", json_string(type));
        if (major >= 0)
                json_object_set_new(d, "major", json_integer(major));
        if (minor >= 0)
                json_object_set_new(d, "minor", json_integer(minor));
        json_object_set_new(d, "access", json_string(access));
        return d;
}

static int add_volume(json_t *mounts, const char *host, const char *dest, const char *mode,
                      mx_error **err)
{
        const char *opts[6] = {"rbind", "rprivate", NULL, NULL, NULL, NULL};
        int n = 2;
        struct stat st;

        if (!host || host[0] != '/')
                return bad(err, "bind mount source '%s' must be an absolute host path",
                           host ? host : "");
        if (!dest || dest[0] != '/')
                return bad(err, "bind mount destination '%s' must be an absolute path",
                           dest ? dest : "");
        if (strcmp(dest, "/") == 0)
                return bad(err, "invalid bind mount destination '%s': cannot be the root", dest);
        if (mode && *mode) {
                char copy[64], *save = NULL;

                snprintf(copy, sizeof(copy), "%s", mode);
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        if (strcmp(t, "ro") == 0)
                                opts[n++] = "ro";
                        else if (strcmp(t, "rw") == 0 || strcmp(t, "z") == 0 || strcmp(t, "Z") == 0)
                                ;
                        else
                                return bad(err, "invalid bind mount mode '%s' (ro or rw)", mode);
                        if (n >= 4)
                                break;
                }
        }
        /* As docker -v does, a missing host directory is created. */
        if (stat(host, &st) < 0) {
                if (errno != ENOENT || mx_fs_mkdir_p(host, 0755, err) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "bind mount source '%s'", host);
        }
        json_array_append_new(mounts, mount_new(dest, "bind", host, opts));
        return 0;
}

static int build_mounts(json_t **out, const json_t *cfg, const mx_spec_input *in, int privileged,
                        mx_error **err)
{
        json_t *m = json_array();
        json_t *vols = json_object_get(cfg, "volumes"), *tmpfs = json_object_get(cfg, "tmpfs");
        const char *k;
        json_t *v;
        int r;
        cleanup_free char *p_hosts = NULL, *p_hostname = NULL, *p_resolv = NULL;
        static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
                                            NULL};
        static const char *const pts_o[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                            "mode=0620", "gid=5",  NULL};
        static const char *const sys_ro[] = {"nosuid", "noexec", "nodev", "ro", NULL};
        static const char *const sys_rw[] = {"nosuid", "noexec", "nodev", "rw", NULL};
        static const char *const cg_ro[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
        static const char *const cg_rw[] = {"nosuid", "noexec", "nodev", "relatime", "rw", NULL};
        static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const shm_o[] = {"nosuid",    "noexec",      "nodev",
                                            "mode=1777", "size=65536k", NULL};
        static const char *const bind_o[] = {"rbind", "rprivate", NULL};

        json_array_append_new(m, mount_new("/proc", "proc", "proc", proc_o));
        json_array_append_new(m, mount_new("/dev", "tmpfs", "tmpfs", dev_o));
        json_array_append_new(m, mount_new("/dev/pts", "devpts", "devpts", pts_o));
        json_array_append_new(m, mount_new("/sys", "sysfs", "sysfs", privileged ? sys_rw : sys_ro));
        json_array_append_new(
                m, mount_new("/sys/fs/cgroup", "cgroup", "cgroup", privileged ? cg_rw : cg_ro));
        json_array_append_new(m, mount_new("/dev/mqueue", "mqueue", "mqueue", mq_o));
        json_array_append_new(m, mount_new("/dev/shm", "tmpfs", "shm", shm_o));
        if (asprintf(&p_hosts, "%s/hosts", in->container_dir) < 0 ||
            asprintf(&p_hostname, "%s/hostname", in->container_dir) < 0 ||
            asprintf(&p_resolv, "%s/resolv.conf", in->container_dir) < 0) {
                json_decref(m);
                return mx_error_oom(err);
        }
        json_array_append_new(m, mount_new("/etc/resolv.conf", "bind", p_resolv, bind_o));
        json_array_append_new(m, mount_new("/etc/hostname", "bind", p_hostname, bind_o));
        json_array_append_new(m, mount_new("/etc/hosts", "bind", p_hosts, bind_o));
        if (in->init_path) {
                static const char *const init_o[] = {"bind", "ro", "nosuid", "nodev", NULL};

                json_array_append_new(
                        m, mount_new("/sbin/docker-init", "bind", in->init_path, init_o));
        }
        if (in->mounts) {
                /* volumes, binds and tmpfs resolved by the caller (netwire.c) */
                size_t i;

                json_array_foreach(in->mounts, i, v) json_array_append(m, v);
        } else if (vols && json_is_object(vols)) {
                /* docker-py: {"/host": {"bind": "/ctr", "mode": "ro"}} */
                json_object_foreach(vols, k, v)
                {
                        const char *bind =
                                json_is_string(v) ? json_string_value(v) : mx_json_str(v, "bind");
                        r = add_volume(m, k, bind,
                                       json_is_object(v) ? mx_json_str(v, "mode") : NULL, err);
                        if (r < 0) {
                                json_decref(m);
                                return r;
                        }
                }
        } else if (vols && json_is_array(vols)) {
                /* "-v" strings: /host:/ctr[:ro] */
                size_t i;

                json_array_foreach(vols, i, v)
                {
                        char buf[4096], *parts[3] = {0}, *p = buf, *t;
                        int np = 0;

                        if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(buf)) {
                                json_decref(m);
                                return bad(err, "bad volume entry in '%s'", "volumes");
                        }
                        snprintf(buf, sizeof(buf), "%s", json_string_value(v));
                        while (np < 3 && (t = strsep(&p, ":")) != NULL)
                                parts[np++] = t;
                        if (np < 2 || p) {
                                json_decref(m);
                                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                                    "invalid volume '%s': expected "
                                                    "/host/path:/container/path[:ro] (named "
                                                    "volumes come with the networking and "
                                                    "volumes issue)",
                                                    json_string_value(v));
                        }
                        r = add_volume(m, parts[0], parts[1], parts[2], err);
                        if (r < 0) {
                                json_decref(m);
                                return r;
                        }
                }
        } else if (vols && !json_is_null(vols)) {
                json_decref(m);
                return bad(err, "configuration key '%s' must be an object or a list", "volumes");
        }
        if (tmpfs && json_is_object(tmpfs)) {
                json_object_foreach(tmpfs, k, v)
                {
                        const char *o[16] = {"nosuid", "nodev", "noexec"};
                        int n = 3;
                        char buf[512], *save = NULL;

                        if (k[0] != '/') {
                                json_decref(m);
                                return bad(err, "tmpfs destination '%s' must be absolute", k);
                        }
                        snprintf(buf, sizeof(buf), "%s",
                                 json_is_string(v) ? json_string_value(v) : "");
                        for (char *t = strtok_r(buf, ",", &save); t && n < 15;
                             t = strtok_r(NULL, ",", &save)) {
                                if (strcmp(t, "exec") == 0)
                                        o[2] = "nosuid";
                                else if (strcmp(t, "noexec") != 0)
                                        o[n++] = t;
                        }
                        o[n] = NULL;
                        json_array_append_new(m, mount_new(k, "tmpfs", "tmpfs", o));
                }
        } else if (tmpfs && !json_is_null(tmpfs)) {
                json_decref(m);
                return bad(err, "configuration key '%s' must be an object", "tmpfs");
        }
        *out = m;
        return 0;
}

static int security_opt(const json_t *cfg, int *nnp, int *seccomp_off, const char **seccomp_file,
                        mx_error **err)
{
        json_t *so = json_object_get(cfg, "security_opt");
        size_t i;
        json_t *v;

        if (so && !json_is_array(so))
                return bad(err, "configuration key '%s' must be a list", "security_opt");
        json_array_foreach(so, i, v)
        {
                const char *s = json_string_value(v);

                if (!s)
                        return bad(err, "configuration key '%s' must be a list", "security_opt");
                if (strcmp(s, "no-new-privileges") == 0 ||
                    strcmp(s, "no-new-privileges=true") == 0 ||
                    strcmp(s, "no-new-privileges:true") == 0)
                        *nnp = 1;
                else if (strcmp(s, "no-new-privileges=false") == 0 ||
                         strcmp(s, "no-new-privileges:false") == 0)
                        *nnp = 0;
                else if (strcmp(s, "seccomp=unconfined") == 0 ||
                         strcmp(s, "seccomp:unconfined") == 0)
                        *seccomp_off = 1;
                else if (strncmp(s, "seccomp=", 8) == 0)
                        *seccomp_file = s + 8;
                else if (strncmp(s, "apparmor=", 9) == 0 || strncmp(s, "label=", 6) == 0)
                        ; /* no LSM on this host's runtime path: accepted, nothing to apply */
                else
                        return bad(err, "invalid --security-opt '%s'", s);
        }
        return 0;
}

static int load_seccomp_file(json_t **out, const char *path, mx_error **err)
{
        mx_buf b = MX_BUF_INIT;
        json_t *j = NULL;
        int r = mx_buf_read_file(&b, path, 4 << 20, err);

        if (r >= 0)
                r = mx_json_parse(&j, b.ptr, b.len, 4 << 20, 1, "seccomp profile", err);
        mx_buf_clear(&b);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "load seccomp profile '%s'", path);
        if (!json_object_get(j, "defaultAction")) {
                json_decref(j);
                return bad(err,
                           "seccomp profile '%s' has no defaultAction (an OCI "
                           "linux.seccomp object is expected)",
                           path);
        }
        *out = j;
        return 0;
}

static int signal_number(const char *s)
{
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                    {"TERM", SIGTERM}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2}, {"STOP", SIGSTOP},
                    {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PWR", SIGPWR}};
        uint64_t n;

        if (!s || !*s)
                return -1;
        if (mx_parse_u64(s, &n) == 0)
                return n > 0 && n < 65 ? (int)n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < MX_ARRAY_SIZE(sigs); i++) {
                if (strcasecmp(sigs[i].name, s) == 0)
                        return sigs[i].sig;
        }
        return -1;
}

int mx_runtime__spec_build(json_t **out, const mx_spec_input *in, mx_error **err)
{
        const json_t *cfg = in->config, *img = in->image_config;
        cleanup_json json_t *spec = json_object();
        json_t *process = json_object(), *linux_ = json_object(), *res = json_object();
        json_t *ns = json_array(), *caps = NULL, *mounts = NULL, *rlimits = NULL;
        cleanup_strv char **args = NULL, **entry = NULL, **cmd = NULL, **env = NULL;
        cleanup_free char *passwd = NULL, *group = NULL;
        cleanup_free uint32_t *groups = NULL;
        size_t n_groups = 0;
        uint32_t uid, gid;
        const char *user, *cwd, *hostname, *netmode;
        int privileged = cfg_bool(cfg, "privileged"), tty = cfg_bool(cfg, "tty");
        int nnp = 1, seccomp_off = 0, r;
        const char *seccomp_file = NULL;
        json_t *ent = json_object_get(cfg, "entrypoint");
        json_t *command = json_object_get(cfg, "command");

        json_object_set_new(spec, "linux", linux_);
        json_object_set_new(spec, "process", process);
        json_object_set_new(linux_, "resources", res);
        json_object_set_new(linux_, "namespaces", ns);
        json_object_set_new(spec, "ociVersion", json_string("1.0.2"));

        /* args: the configuration's entrypoint replaces the image's and drops its Cmd (as
         * docker does); the command replaces Cmd. */
        if (ent && !json_is_null(ent)) {
                r = json_strv(ent, &entry, "entrypoint", err);
                if (r < 0)
                        return r;
        } else if (img) {
                r = json_strv(json_object_get(img, "Entrypoint"), &entry, "Entrypoint", err);
                if (r < 0)
                        return r;
        }
        if (command && !json_is_null(command)) {
                r = json_strv(command, &cmd, "command", err);
                if (r < 0)
                        return r;
        } else if (img && !(ent && !json_is_null(ent))) {
                r = json_strv(json_object_get(img, "Cmd"), &cmd, "Cmd", err);
                if (r < 0)
                        return r;
        }
        if (in->init_path && cfg_bool(cfg, "init")) {
                if (mx_strv_push(&args, "/sbin/docker-init") < 0 || mx_strv_push(&args, "--") < 0)
                        return mx_error_oom(err);
        }
        MX_STRV_FOREACH (a, entry) {
                if (mx_strv_push(&args, a) < 0)
                        return mx_error_oom(err);
        }
        MX_STRV_FOREACH (a, cmd) {
                if (mx_strv_push(&args, a) < 0)
                        return mx_error_oom(err);
        }
        if (mx_strv_length(args) == 0 ||
            (in->init_path && cfg_bool(cfg, "init") && mx_strv_length(args) == 2))
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "no command specified: the image has no Entrypoint or Cmd "
                                    "and none was given");

        /* env: image, then the configuration (object or list), PATH and HOSTNAME defaults */
        if (img) {
                r = json_strv(json_object_get(img, "Env"), &env, "Env", err);
                if (r < 0)
                        return r;
        }
        if (!env_has(env, "PATH") && mx_strv_push(&env, "PATH=" DEFAULT_PATH) < 0)
                return mx_error_oom(err);
        hostname = cfg_str(cfg, "hostname");
        if (!hostname || !*hostname)
                hostname = NULL;
        {
                char hn[64];
                char kv[128];

                if (!hostname) {
                        snprintf(hn, sizeof(hn), "%.12s", in->id);
                        hostname = NULL;
                }
                snprintf(kv, sizeof(kv), "HOSTNAME=%s", hostname ? hostname : hn);
                if (env_set(&env, kv) < 0)
                        return mx_error_oom(err);
        }
        if (tty && !env_has(env, "TERM") && mx_strv_push(&env, "TERM=xterm") < 0)
                return mx_error_oom(err);
        {
                json_t *e = json_object_get(cfg, "environment");
                const char *k;
                json_t *v;
                size_t i;

                if (json_is_object(e)) {
                        json_object_foreach(e, k, v)
                        {
                                cleanup_free char *kv = NULL;
                                json_t *sv = v;
                                char num[64];
                                const char *val = json_string_value(sv);

                                if (!*k || strchr(k, '='))
                                        return bad(err, "invalid environment variable name '%s'",
                                                   k);
                                if (!val && json_is_number(v)) {
                                        snprintf(num, sizeof(num), "%lld",
                                                 (long long)json_integer_value(v));
                                        val = num;
                                }
                                if (asprintf(&kv, "%s=%s", k, val ? val : "") < 0 ||
                                    env_set(&env, kv) < 0)
                                        return mx_error_oom(err);
                        }
                } else if (json_is_array(e)) {
                        json_array_foreach(e, i, v)
                        {
                                const char *s = json_string_value(v);

                                if (!s || !*s || s[0] == '=')
                                        return bad(err, "invalid environment entry in '%s'",
                                                   "environment");
                                if (strchr(s, '=')) {
                                        if (env_set(&env, s) < 0)
                                                return mx_error_oom(err);
                                } else {
                                        /* "NAME" alone takes the caller's value, as -e NAME */
                                        const char *hv = getenv(s);
                                        cleanup_free char *kv = NULL;

                                        if (hv && (asprintf(&kv, "%s=%s", s, hv) < 0 ||
                                                   env_set(&env, kv) < 0))
                                                return mx_error_oom(err);
                                }
                        }
                } else if (e && !json_is_null(e)) {
                        return bad(err, "configuration key '%s' must be an object or a list",
                                   "environment");
                }
        }

        /* user */
        user = cfg_str(cfg, "user");
        if (!user || !*user)
                user = img ? mx_json_str(img, "User") : NULL;
        passwd = read_in_root(in->rootfs, "etc/passwd");
        group = read_in_root(in->rootfs, "etc/group");
        r = mx_runtime__resolve_user(user, passwd, group, &uid, &gid, &groups, &n_groups, err);
        if (r < 0)
                return r;
        {
                json_t *u = json_object(), *ag = json_array();

                json_object_set_new(u, "uid", json_integer(uid));
                json_object_set_new(u, "gid", json_integer(gid));
                for (size_t i = 0; i < n_groups; i++)
                        json_array_append_new(ag, json_integer(groups[i]));
                if (json_array_size(ag))
                        json_object_set_new(u, "additionalGids", ag);
                else
                        json_decref(ag);
                json_object_set_new(process, "user", u);
        }
        cwd = cfg_str(cfg, "working_dir");
        if (!cwd || !*cwd)
                cwd = img ? mx_json_str(img, "WorkingDir") : NULL;
        if (!cwd || !*cwd)
                cwd = "/";
        if (cwd[0] != '/')
                return bad(err,
                           "the working directory '%s' is invalid, it needs to be an "
                           "absolute path",
                           cwd);
        json_object_set_new(process, "terminal", json_boolean(tty));
        json_object_set_new(process, "args", strv_to_json(args));
        json_object_set_new(process, "env", strv_to_json(env));
        json_object_set_new(process, "cwd", json_string(cwd));

        r = security_opt(cfg, &nnp, &seccomp_off, &seccomp_file, err);
        if (r < 0)
                return r;
        r = build_caps(&caps, cfg, privileged, in, err);
        if (r < 0)
                return r;
        json_object_set_new(process, "capabilities", caps);
        r = build_rlimits(&rlimits, cfg, in, err);
        if (r < 0)
                return r;
        json_object_set_new(process, "rlimits", rlimits);
        json_object_set_new(process, "noNewPrivileges", json_boolean(nnp));
        if (!tty)
                ; /* no console size */
        else
                json_object_set_new(process, "consoleSize",
                                    json_pack("{s:i,s:i}", "height", 24, "width", 80));

        /* root, hostname */
        {
                json_t *root = json_object();

                json_object_set_new(root, "path", json_string(in->rootfs ? in->rootfs : "rootfs"));
                json_object_set_new(root, "readonly", json_boolean(cfg_bool(cfg, "read_only")));
                json_object_set_new(spec, "root", root);
        }
        {
                char hn[64];

                snprintf(hn, sizeof(hn), "%.12s", in->id);
                netmode = cfg_str(cfg, "network_mode");
                if (netmode && strcmp(netmode, "host") == 0 && !hostname) {
                        if (gethostname(hn, sizeof(hn)) < 0)
                                snprintf(hn, sizeof(hn), "localhost");
                        hn[sizeof(hn) - 1] = '\0';
                }
                json_object_set_new(spec, "hostname", json_string(hostname ? hostname : hn));
        }
        r = build_mounts(&mounts, cfg, in, privileged, err);
        if (r < 0)
                return r;
        json_object_set_new(spec, "mounts", mounts);

        /* namespaces: network none = a new one with only lo; host = the caller's */
        json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
        json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
        json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
        json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
        if (in->netns_path)
                json_array_append_new(
                        ns, json_pack("{s:s,s:s}", "type", "network", "path", in->netns_path));
        else if (!netmode || strcmp(netmode, "host") != 0)
                json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
        json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));

        /* resources, devices */
        r = build_resources(res, cfg, in->cgroup_mode, err);
        if (r < 0)
                return r;
        {
                json_t *dev = json_array();

                if (privileged) {
                        json_array_append_new(dev, device_rule(1, NULL, -1, -1, "rwm"));
                } else {
                        json_array_append_new(dev, device_rule(0, NULL, -1, -1, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", -1, -1, "m"));
                        json_array_append_new(dev, device_rule(1, "b", -1, -1, "m"));
                        json_array_append_new(dev, device_rule(1, "c", 1, 3, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 1, 5, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 1, 7, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 1, 8, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 1, 9, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 5, 0, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 5, 1, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 5, 2, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 136, -1, "rwm"));
                        json_array_append_new(dev, device_rule(1, "c", 10, 200, "rwm"));
                }
                json_object_set_new(res, "devices", dev);
        }
        {
                cleanup_free char *cg = mx_runtime__cgroup_path(in->id);

                if (!cg)
                        return mx_error_oom(err);
                json_object_set_new(linux_, "cgroupsPath", json_string(cg));
        }
        if (!privileged) {
                json_t *mp = json_array(), *rp = json_array();

                for (const char *const *p = masked_paths; *p; p++)
                        json_array_append_new(mp, json_string(*p));
                for (const char *const *p = readonly_paths; *p; p++)
                        json_array_append_new(rp, json_string(*p));
                json_object_set_new(linux_, "maskedPaths", mp);
                json_object_set_new(linux_, "readonlyPaths", rp);
        }
        if (!privileged && !seccomp_off) {
                json_t *sc = NULL;

                if (seccomp_file) {
                        r = load_seccomp_file(&sc, seccomp_file, err);
                        if (r < 0)
                                return r;
                } else {
                        sc = mx_runtime__seccomp_default(json_object_get(caps, "bounding"));
                        if (!sc)
                                return mx_error_oom(err);
                }
                json_object_set_new(linux_, "seccomp", sc);
        }
        {
                json_t *ann;
                const char *ss = cfg_str(cfg, "stop_signal");

                if (!ss && img)
                        ss = mx_json_str(img, "StopSignal");
                if (ss && signal_number(ss) < 0)
                        return bad(err, "invalid stop signal '%s'", ss);
                ann = json_object();
                json_object_set_new(ann, "io.myrmex.container.name",
                                    json_string(in->name ? in->name : ""));
                if (ss)
                        json_object_set_new(ann, "io.myrmex.stop-signal", json_string(ss));
                json_object_set_new(spec, "annotations", ann);
        }
        *out = TAKE_PTR(spec);
        return 0;
}

int mx_runtime__write_file(const char *path, const void *data, size_t len, mode_t mode,
                           mx_error **err)
{
        cleanup_free char *tmp = NULL;
        int fd;
        size_t off = 0;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return mx_error_oom(err);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "create '%s'", tmp);
        while (off < len) {
                ssize_t n = write(fd, (const char *)data + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = mx_error_errno(err, MX_D_RUNTIME, "write '%s'", tmp);

                        close(fd);
                        (void)unlink(tmp);
                        return r;
                }
                off += (size_t)n;
        }
        close(fd);
        if (rename(tmp, path) < 0) {
                int r = mx_error_errno(err, MX_D_RUNTIME, "rename '%s'", tmp);

                (void)unlink(tmp);
                return r;
        }
        return 0;
}

static int write_file(const char *dir, const char *name, const char *text, mx_error **err)
{
        cleanup_free char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return mx_error_oom(err);
        return mx_runtime__write_file(path, text, strlen(text), 0644, err);
}

int mx_runtime__write_etc_files(const char *container_dir, const json_t *config,
                                const char *hostname, mx_error **err)
{
        mx_buf hosts = MX_BUF_INIT, resolv = MX_BUF_INIT;
        json_t *extra = json_object_get(config, "extra_hosts");
        const char *netmode = mx_json_str(config, "network_mode");
        cleanup_free char *hn = NULL;
        size_t i;
        json_t *v;
        int r;

        if (asprintf(&hn, "%s\n", hostname) < 0)
                return mx_error_oom(err);
        (void)mx_buf_puts(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                  "ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                                  "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        /* on CNI networks the container's own address names it (the network module keeps
         * that block of this file current), as Docker's hosts file does */
        if ((!netmode || strcmp(netmode, "host") != 0) &&
            json_array_size(json_object_get(config, "_networks")) == 0)
                (void)mx_buf_printf(&hosts, "127.0.1.1\t%s\n", hostname);
        if (json_is_object(extra)) {
                const char *k;

                json_object_foreach(extra, k, v)
                {
                        if (!json_is_string(v))
                                continue;
                        (void)mx_buf_printf(&hosts, "%s\t%s\n", json_string_value(v), k);
                }
        } else {
                json_array_foreach(extra, i, v)
                {
                        const char *s = json_string_value(v), *c;

                        c = s ? strchr(s, ':') : NULL;
                        if (!c || c == s || !c[1]) {
                                mx_buf_clear(&hosts);
                                return bad(err, "invalid add-host '%s' (expected host:ip)",
                                           s ? s : "");
                        }
                        (void)mx_buf_printf(&hosts, "%s\t%.*s\n", c + 1, (int)(c - s), s);
                }
        }
        if (mx_buf_read_file(&resolv, "/etc/resolv.conf", 1 << 20, NULL) < 0)
                mx_buf_clear(&resolv);
        if ((netmode && strcmp(netmode, "host") != 0) || json_object_get(config, "dns") ||
            json_object_get(config, "dns_search") || json_object_get(config, "dns_options")) {
                /* --dns, --dns-search, --dns-option; else the host's servers minus loopback
                 * ones, which a network namespace cannot reach (Docker drops them too) */
                cleanup_strv char **dns = NULL, **search = NULL, **opts = NULL;
                char ***lists[3] = {&dns, &search, &opts};
                static const char *const keys[3] = {"dns", "dns_search", "dns_options"};
                char *text = NULL;

                for (int k = 0; k < 3; k++) {
                        json_t *a = json_object_get(config, keys[k]);

                        if (json_is_string(a) && mx_strv_push(lists[k], json_string_value(a)) < 0)
                                r = mx_error_oom(err);
                        json_array_foreach(a, i, v)
                        {
                                if (json_is_string(v) &&
                                    mx_strv_push(lists[k], json_string_value(v)) < 0)
                                        r = mx_error_oom(err);
                        }
                }
                r = mx_network_resolv_conf(&text, resolv.ptr, (const char *const *)dns,
                                           (const char *const *)search, (const char *const *)opts,
                                           err);
                if (r < 0) {
                        mx_buf_clear(&hosts);
                        mx_buf_clear(&resolv);
                        return mx_error_wrap(err, MX_D_RUNTIME, "generate resolv.conf");
                }
                mx_buf_clear(&resolv);
                (void)mx_buf_puts(&resolv, text);
                free(text);
        }
        r = write_file(container_dir, "hosts", hosts.ptr, err);
        if (r >= 0)
                r = write_file(container_dir, "hostname", hn, err);
        if (r >= 0)
                r = write_file(container_dir, "resolv.conf", resolv.ptr, err);
        mx_buf_clear(&hosts);
        mx_buf_clear(&resolv);
        return r;
}
