/* SPDX-License-Identifier: Apache-2.0 */
/* Registry credentials: Docker's config.json, podman's auth.json, credential helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error-internal.h"
#include "fs.h"
#include "json.h"
#include "proc.h"
#include "registry-internal.h"

#define MAX_CONFIG_FILE (4 * 1024 * 1024)
#define HELPER_TIMEOUT  (30 * 1000)

static void explicit_free(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

void mx_registry__creds_clear(mx_reg_creds *c)
{
        if (!c)
                return;
        free(c->username);
        explicit_free(c->password);
        explicit_free(c->identity_token);
        explicit_free(c->registry_token);
        memset(c, 0, sizeof(*c));
}

char *mx_registry__docker_config_path(void)
{
        const char *dir = getenv("DOCKER_CONFIG");
        const char *home = getenv("HOME");
        char *p = NULL;

        if (dir && *dir) {
                if (asprintf(&p, "%s/config.json", dir) < 0)
                        return NULL;
                return p;
        }
        if (!home || !*home)
                home = "/root";
        if (asprintf(&p, "%s/.docker/config.json", home) < 0)
                return NULL;
        return p;
}

/* The keys under which a host's login may be stored. Docker Hub's is the old v1 URL. */
static int host_matches_key(const char *key, const char *host)
{
        const char *k = key;
        size_t hl = strlen(host);

        if (strcmp(host, "docker.io") == 0 &&
            (strcmp(key, "https://index.docker.io/v1/") == 0 ||
             strcmp(key, "index.docker.io") == 0 || strcmp(key, "registry-1.docker.io") == 0))
                return 1;
        if (strncmp(k, "https://", 8) == 0)
                k += 8;
        else if (strncmp(k, "http://", 7) == 0)
                k += 7;
        if (strncmp(k, host, hl) != 0)
                return 0;
        k += hl;
        return *k == '\0' || *k == '/';
}

/* The server name given to credential helpers and written as the auths key. */
static const char *server_key(const char *host)
{
        return strcmp(host, "docker.io") == 0 ? "https://index.docker.io/v1/" : host;
}

static int load_json_file(json_t **out, const char *path, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        int r;

        r = mx_buf_read_file(&b, path, MAX_CONFIG_FILE, err);
        if (r < 0)
                return r;
        if (b.len == 0) {
                *out = json_object();
                return *out ? 0 : mx_error_oom(err);
        }
        r = mx_json_parse(out, b.ptr, b.len, MAX_CONFIG_FILE, 1, path, err);
        if (r < 0)
                return r;
        return 0;
}

static int decode_auth(mx_reg_creds *out, const char *auth, const char *path, mx_error **err)
{
        cleanup_free char *dec = NULL;
        size_t len = 0;
        char *colon;

        if (mx_registry__base64_decode(&dec, &len, auth) < 0 || strlen(dec) != len)
                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                    "invalid 'auth' value in '%s'", path);
        colon = strchr(dec, ':');
        if (!colon) {
                explicit_bzero(dec, len);
                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                    "invalid 'auth' value in '%s': no ':'", path);
        }
        *colon = '\0';
        out->username = strdup(dec);
        out->password = strdup(colon + 1);
        explicit_bzero(dec, len);
        if (!out->username || !out->password) {
                mx_registry__creds_clear(out);
                return mx_error_oom(err);
        }
        return 0;
}

int mx_registry__helper_get(mx_reg_creds *out, const char *helper, const char *server,
                            mx_error **err)
{
        cleanup_free char *prog = NULL;
        cleanup_buf mx_buf so = MX_BUF_INIT_CAP(MX_REG_MAX_SMALL_BODY);
        cleanup_buf mx_buf se = MX_BUF_INIT_CAP(64 * 1024);
        cleanup_json json_t *j = NULL;
        mx_proc_opts po = {0};
        const char *user, *secret;
        int status = 0, r;

        if (asprintf(&prog, "docker-credential-%s", helper) < 0)
                return mx_error_oom(err);
        {
                const char *argv[] = {prog, "get", NULL};

                po.stdin_data = server;
                po.stdin_len = strlen(server);
                po.stdout_buf = &so;
                po.stderr_buf = &se;
                po.timeout_ms = HELPER_TIMEOUT;
                r = mx_proc_run(argv, &po, &status, err);
        }
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "run credential helper '%s'", prog);
        if (status != 0) {
                /* The protocol's "not found" answer: no credentials, not an error. */
                if (strstr(so.ptr, "credentials not found") ||
                    strstr(se.ptr, "credentials not found"))
                        return 0;
                return mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0,
                                    "credential helper '%s' failed with status %d", prog, status);
        }
        r = mx_json_parse(&j, so.ptr, so.len, MX_REG_MAX_SMALL_BODY, 1, "credential helper output",
                          err);
        explicit_bzero(so.ptr, so.len);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "read credentials from '%s'", prog);
        user = mx_json_str(j, "Username");
        secret = mx_json_str(j, "Secret");
        if (!secret || !*secret)
                return 0;
        if (user && strcmp(user, "<token>") == 0) {
                out->identity_token = strdup(secret);
                if (!out->identity_token)
                        return mx_error_oom(err);
        } else {
                out->username = strdup(user ? user : "");
                out->password = strdup(secret);
                if (!out->username || !out->password) {
                        mx_registry__creds_clear(out);
                        return mx_error_oom(err);
                }
        }
        return 0;
}

int mx_registry__helper_store(const char *helper, const char *server, const char *username,
                              const char *secret, mx_error **err)
{
        cleanup_free char *prog = NULL;
        cleanup_json json_t *j = NULL;
        cleanup_buf mx_buf se = MX_BUF_INIT_CAP(64 * 1024);
        cleanup_free char *in = NULL;
        mx_proc_opts po = {0};
        int status = 0, r;

        if (asprintf(&prog, "docker-credential-%s", helper) < 0)
                return mx_error_oom(err);
        j = json_pack("{s:s, s:s, s:s}", "ServerURL", server, "Username", username, "Secret",
                      secret);
        if (!j)
                return mx_error_oom(err);
        in = json_dumps(j, JSON_COMPACT);
        if (!in)
                return mx_error_oom(err);
        {
                const char *argv[] = {prog, "store", NULL};

                po.stdin_data = in;
                po.stdin_len = strlen(in);
                po.stderr_buf = &se;
                po.timeout_ms = HELPER_TIMEOUT;
                r = mx_proc_run(argv, &po, &status, err);
        }
        explicit_bzero(in, strlen(in));
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "run credential helper '%s'", prog);
        if (status != 0)
                return mx_error_set(err, MX_EFAIL, MX_D_REGISTRY, 0,
                                    "credential helper '%s' could not store the login (status %d)",
                                    prog, status);
        return 0;
}

int mx_registry__helper_erase(const char *helper, const char *server, mx_error **err)
{
        cleanup_free char *prog = NULL;
        mx_proc_opts po = {0};
        int status = 0, r;

        if (asprintf(&prog, "docker-credential-%s", helper) < 0)
                return mx_error_oom(err);
        {
                const char *argv[] = {prog, "erase", NULL};

                po.stdin_data = server;
                po.stdin_len = strlen(server);
                po.timeout_ms = HELPER_TIMEOUT;
                r = mx_proc_run(argv, &po, &status, err);
        }
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "run credential helper '%s'", prog);
        if (status != 0)
                return mx_error_set(err, MX_EFAIL, MX_D_REGISTRY, 0,
                                    "credential helper '%s' could not erase the login (status %d)",
                                    prog, status);
        return 0;
}

/* The helper configured for host in a Docker config: credHelpers[host], else credsStore. */
static const char *helper_for(const json_t *j, const char *host)
{
        json_t *helpers = json_object_get(j, "credHelpers");
        const char *key;
        json_t *v;

        json_object_foreach(helpers, key, v)
        {
                if (json_is_string(v) && host_matches_key(key, host))
                        return json_string_value(v);
        }
        return mx_json_str(j, "credsStore");
}

int mx_registry__creds_from_file(mx_reg_creds *out, const char *path, const char *host,
                                 int use_helpers, mx_error **err)
{
        cleanup_json json_t *j = NULL;
        mx_reg_creds c = {0};
        json_t *auths, *entry = NULL, *v;
        const char *key, *helper;
        int r;

        if (!mx_fs_exists(path))
                return 0;
        r = load_json_file(&j, path, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "read credentials");
        if (use_helpers) {
                json_t *helpers = json_object_get(j, "credHelpers");
                const char *h = NULL;

                json_object_foreach(helpers, key, v)
                {
                        if (json_is_string(v) && host_matches_key(key, host))
                                h = json_string_value(v);
                }
                if (h) {
                        r = mx_registry__helper_get(&c, h, server_key(host), err);
                        if (r < 0)
                                return r;
                        if (c.username || c.identity_token) {
                                *out = c;
                                return 0;
                        }
                }
        }
        auths = json_object_get(j, "auths");
        json_object_foreach(auths, key, v)
        {
                if (json_is_object(v) && host_matches_key(key, host)) {
                        entry = v;
                        break;
                }
        }
        if (entry) {
                const char *auth = mx_json_str(entry, "auth");
                const char *idt = mx_json_str(entry, "identitytoken");
                const char *user = mx_json_str(entry, "username");
                const char *pass = mx_json_str(entry, "password");
                const char *rtok = mx_json_str(entry, "registrytoken");

                if (auth && *auth) {
                        r = decode_auth(&c, auth, path, err);
                        if (r < 0)
                                return r;
                } else if (user && pass) {
                        c.username = strdup(user);
                        c.password = strdup(pass);
                        if (!c.username || !c.password) {
                                mx_registry__creds_clear(&c);
                                return mx_error_oom(err);
                        }
                }
                if (idt && *idt) {
                        c.identity_token = strdup(idt);
                        if (!c.identity_token) {
                                mx_registry__creds_clear(&c);
                                return mx_error_oom(err);
                        }
                }
                if (rtok && *rtok) {
                        c.registry_token = strdup(rtok);
                        if (!c.registry_token) {
                                mx_registry__creds_clear(&c);
                                return mx_error_oom(err);
                        }
                }
                if (c.username || c.identity_token || c.registry_token) {
                        *out = c;
                        return 0;
                }
        }
        helper = use_helpers ? mx_json_str(j, "credsStore") : NULL;
        if (helper && *helper) {
                r = mx_registry__helper_get(&c, helper, server_key(host), err);
                if (r < 0)
                        return r;
                *out = c;
        }
        return 0;
}

int mx_registry__creds_lookup(mx_reg_creds *out, const char *host, mx_error **err)
{
        cleanup_free char *docker = NULL;
        cleanup_free char *xdg = NULL;
        const char *authfile = getenv("REGISTRY_AUTH_FILE");
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        int r;

        /* podman reads REGISTRY_AUTH_FILE first when it is set. */
        if (authfile && *authfile) {
                r = mx_registry__creds_from_file(out, authfile, host, 1, err);
                if (r < 0 || out->username || out->identity_token || out->registry_token)
                        return r;
        }
        docker = mx_registry__docker_config_path();
        if (!docker)
                return mx_error_oom(err);
        r = mx_registry__creds_from_file(out, docker, host, 1, err);
        if (r < 0 || out->username || out->identity_token || out->registry_token)
                return r;
        if (runtime && *runtime) {
                if (asprintf(&xdg, "%s/containers/auth.json", runtime) < 0)
                        return mx_error_oom(err);
                r = mx_registry__creds_from_file(out, xdg, host, 1, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mx_registry__config_store_login(const char *path, const char *host, const char *username,
                                    const char *password, mx_error **err)
{
        cleanup_json json_t *j = NULL;
        cleanup_free char *dir = NULL;
        cleanup_free char *text = NULL;
        json_t *auths;
        const char *helper;
        char *slash;
        int r;

        if (mx_fs_exists(path)) {
                r = load_json_file(&j, path, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_REGISTRY, "read Docker config");
        } else {
                j = json_object();
                if (!j)
                        return mx_error_oom(err);
        }
        helper = helper_for(j, host);
        if (helper && *helper) {
                if (username)
                        return mx_registry__helper_store(helper, server_key(host), username,
                                                         password, err);
                r = mx_registry__helper_erase(helper, server_key(host), err);
                if (r < 0)
                        return r;
        }
        auths = json_object_get(j, "auths");
        if (!json_is_object(auths)) {
                auths = json_object();
                if (!auths || json_object_set_new(j, "auths", auths) < 0)
                        return mx_error_oom(err);
        }
        if (username && !(helper && *helper)) {
                cleanup_free char *pair = NULL;
                cleanup_free char *b64 = NULL;

                if (asprintf(&pair, "%s:%s", username, password ? password : "") < 0)
                        return mx_error_oom(err);
                b64 = mx_registry__base64_encode(pair, strlen(pair));
                explicit_bzero(pair, strlen(pair));
                if (!b64)
                        return mx_error_oom(err);
                if (json_object_set_new(auths, server_key(host), json_pack("{s:s}", "auth", b64)) <
                    0)
                        return mx_error_oom(err);
                explicit_bzero(b64, strlen(b64));
        } else if (!username) {
                /* logout: every key that names this host */
                const char *key;
                json_t *v;
                void *tmp;
                int found = 0;

                json_object_foreach_safe(auths, tmp, key, v)
                {
                        if (host_matches_key(key, host)) {
                                (void)json_object_del(auths, key);
                                found = 1;
                        }
                }
                if (!found && !(helper && *helper))
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                            "not logged in to '%s'", host);
        }
        dir = strdup(path);
        if (!dir)
                return mx_error_oom(err);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                r = mx_fs_mkdir_p(dir, 0700, err);
                if (r < 0)
                        return r;
        }
        text = json_dumps(j, JSON_INDENT(8));
        if (!text)
                return mx_error_oom(err);
        r = mx_fs_write_atomic(path, text, strlen(text), 0600, err);
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "write Docker config");
        return 0;
}
