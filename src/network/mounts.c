/* SPDX-License-Identifier: Apache-2.0 */
/* `-v` and `--mount` values into mount specifications, as Docker reads them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/volume.h>

#include "error-internal.h"
#include "json.h"
#include "network-internal.h"
#include "parse.h"
#include "strv.h"

#define SPEC_MAX 4096

void mx_mount_spec_free(mx_mount_spec *m)
{
        if (!m)
                return;
        free(m->source);
        free(m->target);
        free(m->propagation);
        free(m);
}

int mx_net__valid_name(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > 128)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                int alnum =
                        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

                if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
                        return 0;
        }
        return 1;
}

static int is_propagation(const char *s)
{
        static const char *const modes[] = {"rprivate", "private", "rshared",
                                            "shared",   "rslave",  "slave"};

        for (size_t i = 0; i < MX_ARRAY_SIZE(modes); i++)
                if (strcmp(s, modes[i]) == 0)
                        return 1;
        return 0;
}

static int invalid(mx_error **err, const char *what, const char *spec, const char *why)
{
        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid %s '%s': %s", what, spec,
                            why);
}

static int check_target(mx_error **err, const char *what, const char *spec, const char *target)
{
        if (!target || target[0] != '/')
                return invalid(err, what, spec, "the destination must be an absolute path");
        if (strcmp(target, "/") == 0)
                return invalid(err, what, spec, "the destination cannot be '/'");
        /* A ".." component would let the runtime resolve outside the intended place. */
        for (const char *p = target; (p = strstr(p, "..")) != NULL; p += 2)
                if ((p == target || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
                        return invalid(err, what, spec, "the destination contains '..'");
        return 0;
}

int mx_mount_parse_volume(mx_mount_spec **out, const char *spec, mx_error **err)
{
        cleanup(mx_mount_spec_freep) mx_mount_spec *m = NULL;
        cleanup_free char *copy = NULL;
        char *parts[4] = {NULL};
        size_t n = 0;
        char *save = NULL;
        int r;

        if (!out || !spec)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no volume specification");
        if (!*spec || strlen(spec) > SPEC_MAX)
                return invalid(err, "volume specification", spec, "empty or too long");
        copy = strdup(spec);
        m = calloc(1, sizeof(*m));
        if (!copy || !m)
                return mx_error_oom(err);
        /* Empty fields ("a::b") are an error, so split by hand rather than strtok_r. */
        for (char *p = copy, *tok;; p = NULL) {
                tok = strtok_r(p, ":", &save);
                if (!tok)
                        break;
                if (n == MX_ARRAY_SIZE(parts))
                        return invalid(err, "volume specification", spec, "too many colons");
                parts[n++] = tok;
        }
        if (strstr(spec, "::") || spec[0] == ':' || spec[strlen(spec) - 1] == ':')
                return invalid(err, "volume specification", spec, "empty field");
        if (n == 1) {
                m->type = MX_MOUNT_VOLUME;
                m->target = strdup(parts[0]);
        } else {
                if (n == 2 && parts[1][0] != '/')
                        return invalid(err, "volume specification", spec,
                                       "the destination must be an absolute path");
                m->target = strdup(parts[1]);
                if (parts[0][0] == '/') {
                        m->type = MX_MOUNT_BIND;
                        m->source = strdup(parts[0]);
                } else if (parts[0][0] == '.' || parts[0][0] == '~') {
                        return invalid(err, "volume specification", spec,
                                       "a bind mount source must be an absolute path");
                } else {
                        if (!mx_net__valid_name(parts[0]))
                                return mx_error_set(
                                        err, MX_EINVAL, MX_D_RUNTIME, 0,
                                        "invalid volume name '%s': use letters, digits and "
                                        "'_.-', starting with a letter or digit",
                                        parts[0]);
                        m->type = MX_MOUNT_VOLUME;
                        m->source = strdup(parts[0]);
                }
                if (!m->source)
                        return mx_error_oom(err);
        }
        if (!m->target)
                return mx_error_oom(err);
        r = check_target(err, "volume specification", spec, m->target);
        if (r < 0)
                return r;
        if (n == 3) {
                cleanup_free char *opts = strdup(parts[2]);
                char *s2 = NULL;
                int rw_seen = 0;

                if (!opts)
                        return mx_error_oom(err);
                for (char *o = strtok_r(opts, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
                        if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0) {
                                if (rw_seen++)
                                        return invalid(err, "volume specification", spec,
                                                       "'ro' and 'rw' given twice");
                                m->read_only = o[1] == 'o';
                        } else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0) {
                                m->selinux_relabel = 1;
                        } else if (strcmp(o, "nocopy") == 0) {
                                if (m->type != MX_MOUNT_VOLUME)
                                        return invalid(err, "volume specification", spec,
                                                       "'nocopy' applies to volumes only");
                                m->volume_nocopy = 1;
                        } else if (is_propagation(o)) {
                                if (m->type != MX_MOUNT_BIND)
                                        return invalid(err, "volume specification", spec,
                                                       "propagation applies to bind mounts only");
                                free(m->propagation);
                                m->propagation = strdup(o);
                                if (!m->propagation)
                                        return mx_error_oom(err);
                        } else {
                                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                                    "invalid volume specification '%s': unknown "
                                                    "option '%s'",
                                                    spec, o);
                        }
                }
        }
        *out = TAKE_PTR(m);
        return 0;
}

static int parse_bool(const char *v, int *out)
{
        if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
                *out = 1;
                return 0;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
                *out = 0;
                return 0;
        }
        return -1;
}

int mx_mount_parse_mount(mx_mount_spec **out, const char *spec, mx_error **err)
{
        cleanup(mx_mount_spec_freep) mx_mount_spec *m = NULL;
        cleanup_free char *copy = NULL;
        char *save = NULL;
        int type_seen = 0, r;

        if (!out || !spec)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no mount specification");
        if (!*spec || strlen(spec) > SPEC_MAX)
                return invalid(err, "mount specification", spec, "empty or too long");
        copy = strdup(spec);
        m = calloc(1, sizeof(*m));
        if (!copy || !m)
                return mx_error_oom(err);
        m->type = MX_MOUNT_VOLUME; /* Docker's default type */
        for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');
                const char *k = kv, *v = NULL;

                if (eq) {
                        *eq = '\0';
                        v = eq + 1;
                }
                if (strcmp(k, "type") == 0) {
                        if (!v)
                                return invalid(err, "mount specification", spec,
                                               "type needs a value");
                        if (strcmp(v, "bind") == 0)
                                m->type = MX_MOUNT_BIND;
                        else if (strcmp(v, "volume") == 0)
                                m->type = MX_MOUNT_VOLUME;
                        else if (strcmp(v, "tmpfs") == 0)
                                m->type = MX_MOUNT_TMPFS;
                        else
                                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                                    "invalid mount specification '%s': unknown "
                                                    "type '%s' (bind, volume or tmpfs)",
                                                    spec, v);
                        type_seen = 1;
                } else if (strcmp(k, "source") == 0 || strcmp(k, "src") == 0) {
                        if (!v || !*v)
                                return invalid(err, "mount specification", spec,
                                               "source needs a value");
                        free(m->source);
                        m->source = strdup(v);
                        if (!m->source)
                                return mx_error_oom(err);
                } else if (strcmp(k, "target") == 0 || strcmp(k, "destination") == 0 ||
                           strcmp(k, "dst") == 0) {
                        if (!v || !*v)
                                return invalid(err, "mount specification", spec,
                                               "target needs a value");
                        free(m->target);
                        m->target = strdup(v);
                        if (!m->target)
                                return mx_error_oom(err);
                } else if (strcmp(k, "readonly") == 0 || strcmp(k, "ro") == 0) {
                        if (parse_bool(v, &m->read_only) < 0)
                                return invalid(err, "mount specification", spec,
                                               "readonly takes true or false");
                } else if (strcmp(k, "bind-propagation") == 0) {
                        if (!v || !is_propagation(v))
                                return invalid(err, "mount specification", spec,
                                               "unknown bind-propagation");
                        free(m->propagation);
                        m->propagation = strdup(v);
                        if (!m->propagation)
                                return mx_error_oom(err);
                } else if (strcmp(k, "volume-nocopy") == 0) {
                        if (parse_bool(v, &m->volume_nocopy) < 0)
                                return invalid(err, "mount specification", spec,
                                               "volume-nocopy takes true or false");
                } else if (strcmp(k, "tmpfs-size") == 0) {
                        if (!v || mx_parse_size(v, &m->tmpfs_size) < 0)
                                return invalid(err, "mount specification", spec,
                                               "tmpfs-size is not a size");
                } else if (strcmp(k, "tmpfs-mode") == 0) {
                        char *end = NULL;
                        unsigned long mode;

                        if (!v || !*v || strspn(v, "01234567") != strlen(v) || strlen(v) > 5)
                                return invalid(err, "mount specification", spec,
                                               "tmpfs-mode is not an octal mode");
                        mode = 0;
                        for (const char *c = v; *c; c++)
                                mode = mode * 8 + (unsigned long)(*c - '0');
                        (void)end;
                        if (mode > 07777)
                                return invalid(err, "mount specification", spec,
                                               "tmpfs-mode is not an octal mode");
                        m->tmpfs_mode = (uint32_t)mode;
                } else if (strcmp(k, "consistency") == 0) {
                        /* macOS-only in Docker; accepted and ignored as Docker on Linux does */
                } else {
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "invalid mount specification '%s': unknown key '%s'",
                                            spec, k);
                }
        }
        (void)type_seen;
        r = check_target(err, "mount specification", spec, m->target);
        if (r < 0)
                return r;
        switch (m->type) {
        case MX_MOUNT_BIND:
                if (!m->source || m->source[0] != '/')
                        return invalid(err, "mount specification", spec,
                                       "a bind mount needs an absolute source");
                if (m->volume_nocopy || m->tmpfs_size || m->tmpfs_mode)
                        return invalid(err, "mount specification", spec,
                                       "volume and tmpfs options do not apply to bind mounts");
                break;
        case MX_MOUNT_VOLUME:
                if (m->source && !mx_net__valid_name(m->source))
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "invalid volume name '%s'", m->source);
                if (m->propagation || m->tmpfs_size || m->tmpfs_mode)
                        return invalid(err, "mount specification", spec,
                                       "bind and tmpfs options do not apply to volumes");
                break;
        case MX_MOUNT_TMPFS:
                if (m->source)
                        return invalid(err, "mount specification", spec,
                                       "a tmpfs mount takes no source");
                if (m->propagation || m->volume_nocopy)
                        return invalid(err, "mount specification", spec,
                                       "bind and volume options do not apply to tmpfs");
                break;
        }
        *out = TAKE_PTR(m);
        return 0;
}

int mx_mount_parse_seed(mx_mount_spec ***out, size_t *n_out, const char *volumes_json,
                        mx_error **err)
{
        cleanup_json json_t *j = NULL;
        mx_mount_spec **v = NULL;
        size_t n = 0, cap;
        int r;

        if (!out || !n_out || !volumes_json)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no volumes");
        r = mx_json_parse(&j, volumes_json, strlen(volumes_json), 1024 * 1024, 0, "volumes", err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "read the volumes of the configuration");
        if (!json_is_object(j) && !json_is_array(j))
                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                    "volumes must be an object or a list");
        cap = json_is_object(j) ? json_object_size(j) : json_array_size(j);
        v = calloc(cap ? cap : 1, sizeof(*v));
        if (!v)
                return mx_error_oom(err);
        if (json_is_array(j)) {
                size_t i;
                json_t *e;

                json_array_foreach(j, i, e)
                {
                        if (!json_is_string(e)) {
                                r = mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                                 "volumes entry %zu is not a string", i);
                                break;
                        }
                        r = mx_mount_parse_volume(&v[n], json_string_value(e), err);
                        if (r < 0)
                                break;
                        n++;
                }
        } else {
                const char *key;
                json_t *e;

                json_object_foreach(j, key, e)
                {
                        cleanup_free char *spec = NULL;
                        const char *bind = NULL, *mode = NULL;

                        if (json_is_string(e)) {
                                bind = json_string_value(e);
                        } else if (json_is_object(e)) {
                                bind = mx_json_str(e, "bind");
                                mode = mx_json_str(e, "mode");
                        }
                        if (!bind) {
                                r = mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                                 "volumes entry '%s' has no \"bind\" path", key);
                                break;
                        }
                        if (asprintf(&spec, "%s:%s%s%s", key, bind, mode ? ":" : "",
                                     mode ? mode : "") < 0) {
                                r = mx_error_oom(err);
                                break;
                        }
                        r = mx_mount_parse_volume(&v[n], spec, err);
                        if (r < 0)
                                break;
                        n++;
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        mx_mount_spec_free(v[i]);
                free(v);
                return r;
        }
        *out = v;
        *n_out = n;
        return 0;
}
