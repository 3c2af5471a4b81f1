/* SPDX-License-Identifier: Apache-2.0 */
/* Image references as the registry client needs them: host, repository, tag, digest. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "error-internal.h"
#include "registry-internal.h"

#define MAX_REF 1024

void mx_registry__ref_clear(mx_reg_ref *r)
{
        if (!r)
                return;
        free(r->host);
        free(r->repo);
        free(r->tag);
        free(r->digest);
        memset(r, 0, sizeof(*r));
}

static int valid_repo(const char *s)
{
        /* path components of [a-z0-9] separated by '.', '_', '__', '-'+, joined by '/' */
        size_t n = strlen(s);
        int prev_alnum = 0;

        if (n == 0 || n > 255)
                return 0;
        for (const char *p = s; *p; p++) {
                if (islower((unsigned char)*p) || isdigit((unsigned char)*p)) {
                        prev_alnum = 1;
                        continue;
                }
                if (*p == '/' || *p == '.' || *p == '_' || *p == '-') {
                        if (!prev_alnum && !(*p == '_' && p > s && p[-1] == '_') &&
                            !(*p == '-' && p > s && p[-1] == '-'))
                                return 0;
                        if (p[1] == '\0')
                                return 0;
                        prev_alnum = 0;
                        continue;
                }
                return 0;
        }
        return 1;
}

static int valid_tag(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return 0;
        if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
                return 0;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
                        return 0;
        return 1;
}

static int valid_host(const char *s)
{
        if (!*s || strlen(s) > 255)
                return 0;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char)*p) || strchr(".-:[]_", *p)))
                        return 0;
        return 1;
}

/* "http://h:p/" -> "h:p"; sets *plain for http. */
static int host_from_url(char **out, const char *url, int *plain)
{
        const char *s = url;
        size_t n;

        if (strncmp(s, "http://", 7) == 0) {
                s += 7;
                if (plain)
                        *plain = 1;
        } else if (strncmp(s, "https://", 8) == 0) {
                s += 8;
        }
        n = strcspn(s, "/");
        *out = strndup(s, n);
        if (!*out)
                return MX_ENOMEM;
        return valid_host(*out) ? 0 : MX_EINVAL;
}

int mx_registry__ref_parse(mx_reg_ref *out, const char *name, const char *registry_url,
                           int *plain_http, mx_error **err)
{
        cleanup_free char *s = NULL;
        mx_reg_ref r = {0};
        char *at, *slash, *colon, *rest;
        int explicit_host = 0;

        if (!name || !*name || strlen(name) > MAX_REF)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "invalid reference '%s'",
                                    name ? name : "");
        if (strncmp(name, "docker://", 9) == 0)
                name += 9;
        while (*name == '/')
                name++;
        s = strdup(name);
        if (!s)
                return mx_error_oom(err);
        at = strchr(s, '@');
        if (at) {
                *at = '\0';
                if (!mx_digest_is_valid(at + 1))
                        return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                            "invalid digest in reference '%s'", name);
                r.digest = strdup(at + 1);
                if (!r.digest)
                        return mx_error_oom(err);
        }
        rest = s;
        slash = strchr(s, '/');
        if (slash) {
                size_t n = (size_t)(slash - s);

                if (memchr(s, '.', n) || memchr(s, ':', n) ||
                    (n == 9 && strncmp(s, "localhost", 9) == 0) || memchr(s, '[', n)) {
                        r.host = strndup(s, n);
                        rest = slash + 1;
                        explicit_host = 1;
                }
        }
        /* a tag is after the last ':' of the last path component */
        slash = strrchr(rest, '/');
        colon = strrchr(slash ? slash : rest, ':');
        if (colon) {
                *colon = '\0';
                if (!valid_tag(colon + 1)) {
                        mx_registry__ref_clear(&r);
                        return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                            "invalid tag in reference '%s'", name);
                }
                r.tag = strdup(colon + 1);
        }
        if (registry_url && *registry_url) {
                int rr;

                free(r.host);
                r.host = NULL;
                rr = host_from_url(&r.host, registry_url, plain_http);
                if (rr < 0) {
                        mx_registry__ref_clear(&r);
                        if (rr == MX_ENOMEM)
                                return mx_error_oom(err);
                        return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                            "invalid registry URL '%s'", registry_url);
                }
                r.repo = strdup(rest);
        } else if (!explicit_host) {
                r.host = strdup("docker.io");
                if (!strchr(rest, '/')) {
                        if (asprintf(&r.repo, "library/%s", rest) < 0)
                                r.repo = NULL;
                } else {
                        r.repo = strdup(rest);
                }
        } else {
                if (strcmp(r.host, "index.docker.io") == 0 ||
                    strcmp(r.host, "registry-1.docker.io") == 0) {
                        free(r.host);
                        r.host = strdup("docker.io");
                }
                r.repo = strdup(rest);
        }
        if (!r.host || !r.repo || (colon && !r.tag)) {
                mx_registry__ref_clear(&r);
                return mx_error_oom(err);
        }
        if (!valid_host(r.host) || !valid_repo(r.repo)) {
                mx_registry__ref_clear(&r);
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                    "invalid reference '%s': repository names are lowercase", name);
        }
        *out = r;
        return 0;
}

char *mx_registry__ref_format(const mx_reg_ref *r)
{
        char *s = NULL;

        if (asprintf(&s, "%s/%s%s%s%s%s", r->host, r->repo, r->tag ? ":" : "", r->tag ? r->tag : "",
                     r->digest ? "@" : "", r->digest ? r->digest : "") < 0)
                return NULL;
        return s;
}

const char *mx_registry__ref_reference(const mx_reg_ref *r)
{
        if (r->digest)
                return r->digest;
        return r->tag ? r->tag : "latest";
}
