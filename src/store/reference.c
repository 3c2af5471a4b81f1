/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, normalized as distribution/reference's ParseNormalizedNamed does.
 * A hand-written recognizer of the same grammar (no regex engine): each part is checked
 * with a small scanner so the error can say which part is wrong.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/reference.h>

#include "cleanup.h"
#include "digest.h"
#include "error-internal.h"

#define REF_MAGIC       0x72656631u /* "ref1" */
#define NAME_TOTAL_MAX  255
#define DEFAULT_DOMAIN  "docker.io"
#define LEGACY_DOMAIN   "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define TAG_MAX         128

struct mx_ref {
        unsigned magic;
        char *domain;
        char *path;
        char *tag;    /* NULL when none */
        char *digest; /* NULL when none */
        char *name;   /* domain/path */
        char *full;   /* name[:tag][@digest], :latest when neither */
        char *familiar;
        char *familiar_name;
};

void mx_ref_free(mx_ref *ref)
{
        if (!ref)
                return;
        free(ref->domain);
        free(ref->path);
        free(ref->tag);
        free(ref->digest);
        free(ref->name);
        free(ref->full);
        free(ref->familiar);
        free(ref->familiar_name);
        free(ref);
}

MX_DEFINE_FREEP(mx_ref, mx_ref_free)

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
        return is_alnum(c) || c == '_';
}

static bool is_hex_lower(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* count chars of s[0..len) that are lowercase hex */
static bool all_hex(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (!is_hex_lower(s[i]))
                        return false;
        }
        return true;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool valid_path_component(const char *s, size_t len)
{
        size_t i = 0;

        if (len == 0 || !is_lower_alnum(s[0]))
                return false;
        while (i < len) {
                while (i < len && is_lower_alnum(s[i]))
                        i++;
                if (i == len)
                        return true;
                /* a separator, then at least one alnum */
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i++;
                        if (i < len && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < len && s[i] == '-')
                                i++;
                } else {
                        return false;
                }
                if (i == len || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

static bool valid_path(const char *s, size_t len)
{
        size_t start = 0;

        if (len == 0)
                return false;
        for (size_t i = 0; i <= len; i++) {
                if (i == len || s[i] == '/') {
                        if (!valid_path_component(s + start, i - start))
                                return false;
                        start = i + 1;
                }
        }
        return true;
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool valid_domain_component(const char *s, size_t len)
{
        if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++) {
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        }
        return true;
}

/* host [':' port]; host := domain-name | '[' [a-fA-F0-9:]+ ']' */
static bool valid_domain(const char *s, size_t len)
{
        size_t host_len = len;
        const char *colon = NULL;

        if (len == 0)
                return false;
        if (s[0] == '[') {
                const char *close = memchr(s, ']', len);
                size_t i;

                if (!close || close == s + 1)
                        return false;
                for (i = 1; s + i < close; i++) {
                        if (!isxdigit((unsigned char)s[i]) && s[i] != ':')
                                return false;
                }
                host_len = (size_t)(close - s) + 1;
                if (host_len == len)
                        return true;
                if (s[host_len] != ':')
                        return false;
                colon = s + host_len;
        } else {
                size_t start = 0;

                colon = memchr(s, ':', len);
                if (colon)
                        host_len = (size_t)(colon - s);
                for (size_t i = 0; i <= host_len; i++) {
                        if (i == host_len || s[i] == '.') {
                                if (!valid_domain_component(s + start, i - start))
                                        return false;
                                start = i + 1;
                        }
                }
                if (!colon)
                        return true;
        }
        /* port: one or more digits to the end */
        {
                size_t plen = len - (size_t)(colon - s) - 1;

                if (plen == 0)
                        return false;
                for (size_t i = 0; i < plen; i++) {
                        if (colon[1 + i] < '0' || colon[1 + i] > '9')
                                return false;
                }
        }
        return true;
}

/* tag := [\w][\w.-]{0,127} */
static bool valid_tag(const char *s, size_t len)
{
        if (len == 0 || len > TAG_MAX || !is_word(s[0]))
                return false;
        for (size_t i = 1; i < len; i++) {
                if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        }
        return true;
}

static int ref_error(mx_error **err, const char *input, const char *why)
{
        return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid reference '%s': %s", input,
                            why);
}

/* Whether the first component of a docker.io path would be read back as a domain
 * ("docker.io/a.b/c" shown as "a.b/c" would name registry a.b): then the familiar form
 * keeps "docker.io/" so that it always parses back to the same reference. */
static bool first_looks_like_domain(const char *path)
{
        const char *slash = strchr(path, '/');
        size_t n;

        if (!slash)
                return false;
        n = (size_t)(slash - path);
        return memchr(path, '.', n) || memchr(path, ':', n) ||
               (n == 9 && strncmp(path, "localhost", 9) == 0);
}

/* Fill name, full, familiar and familiar_name from domain/path/tag/digest. */
static int ref_finish(mx_ref *r)
{
        const char *fam_path = r->path;
        char *fam_name = NULL;

        if (asprintf(&r->name, "%s/%s", r->domain, r->path) < 0) {
                r->name = NULL;
                return MX_ENOMEM;
        }
        if (asprintf(&r->full, "%s%s%s%s%s", r->name, r->tag || !r->digest ? ":" : "",
                     r->tag ? r->tag : (r->digest ? "" : MX_REF_DEFAULT_TAG), r->digest ? "@" : "",
                     r->digest ? r->digest : "") < 0) {
                r->full = NULL;
                return MX_ENOMEM;
        }
        if (strcmp(r->domain, DEFAULT_DOMAIN) == 0 && !first_looks_like_domain(r->path)) {
                size_t plen = sizeof(OFFICIAL_PREFIX) - 1;

                if (strlen(fam_path) > plen && memcmp(fam_path, OFFICIAL_PREFIX, plen) == 0 &&
                    !memchr(fam_path + plen, '/', strlen(fam_path) - plen))
                        fam_path += plen;
                fam_name = strdup(fam_path);
        } else {
                fam_name = strdup(r->name);
        }
        if (!fam_name)
                return MX_ENOMEM;
        r->familiar_name = fam_name;
        if (asprintf(&r->familiar, "%s%s", fam_name, r->full + strlen(r->name)) < 0) {
                r->familiar = NULL;
                return MX_ENOMEM;
        }
        return 0;
}

static int digest_error(mx_error **err, const char *input, const char *digest)
{
        const char *colon = strchr(digest, ':');

        if (colon && (size_t)(colon - digest) == 6 && strncmp(digest, "sha256", 6) == 0)
                return ref_error(err, input, "invalid sha256 digest (64 lowercase hex expected)");
        if (colon && (size_t)(colon - digest) == 6 && strncmp(digest, "sha512", 6) == 0)
                return ref_error(err, input, "invalid sha512 digest (128 lowercase hex expected)");
        if (colon && colon != digest && colon[1] != '\0')
                return ref_error(err, input, "unsupported digest algorithm");
        return ref_error(err, input, "invalid digest format");
}

int mx_ref_parse(mx_ref **out, const char *s, mx_error **err)
{
        cleanup(mx_ref_freep) mx_ref *r = NULL;
        const char *slash, *rest, *at, *name_end, *colon;
        size_t len, domain_len, path_len;
        bool has_domain;

        if (!out || !s)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid reference: NULL");
        len = strlen(s);
        if (len == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "invalid reference '': empty reference");
        if (len > MX_REF_MAX_INPUT)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "invalid reference: longer than %d bytes", MX_REF_MAX_INPUT);
        if (len == 64 && all_hex(s, 64))
                return ref_error(err, s, "cannot use a 64-character hexadecimal string as a name");

        r = calloc(1, sizeof(*r));
        if (!r)
                return mx_error_oom(err);
        r->magic = REF_MAGIC;

        /* splitDockerDomain: the first component is a domain when it has '.' or ':', is
         * "localhost", or has uppercase letters (a name never does). */
        slash = strchr(s, '/');
        has_domain = false;
        if (slash) {
                size_t first = (size_t)(slash - s);
                bool upper = false;

                for (size_t i = 0; i < first; i++) {
                        if (s[i] >= 'A' && s[i] <= 'Z')
                                upper = true;
                }
                if (memchr(s, '.', first) || memchr(s, ':', first) ||
                    (first == 9 && strncmp(s, "localhost", 9) == 0) || upper)
                        has_domain = true;
        }
        if (has_domain) {
                domain_len = (size_t)(slash - s);
                rest = slash + 1;
                if (!valid_domain(s, domain_len))
                        return ref_error(err, s, "invalid registry domain");
                if (domain_len == strlen(LEGACY_DOMAIN) &&
                    strncmp(s, LEGACY_DOMAIN, domain_len) == 0)
                        r->domain = strdup(DEFAULT_DOMAIN);
                else
                        r->domain = strndup(s, domain_len);
        } else {
                rest = s;
                r->domain = strdup(DEFAULT_DOMAIN);
        }
        if (!r->domain)
                return mx_error_oom(err);

        /* rest := path [':' tag] ['@' digest] */
        at = strchr(rest, '@');
        name_end = at ? at : rest + strlen(rest);
        colon = memchr(rest, ':', (size_t)(name_end - rest));
        path_len = colon ? (size_t)(colon - rest) : (size_t)(name_end - rest);

        for (size_t i = 0; i < path_len; i++) {
                if (rest[i] >= 'A' && rest[i] <= 'Z')
                        return ref_error(err, s, "repository name must be lowercase");
        }
        if (path_len == 0)
                return ref_error(err, s, "missing repository name");
        if (!valid_path(rest, path_len))
                return ref_error(err, s, "invalid repository name");

        if (strcmp(r->domain, DEFAULT_DOMAIN) == 0 && !memchr(rest, '/', path_len)) {
                if (asprintf(&r->path, "%s%.*s", OFFICIAL_PREFIX, (int)path_len, rest) < 0) {
                        r->path = NULL;
                        return mx_error_oom(err);
                }
        } else {
                r->path = strndup(rest, path_len);
                if (!r->path)
                        return mx_error_oom(err);
        }
        if (strlen(r->domain) + 1 + strlen(r->path) > NAME_TOTAL_MAX)
                return ref_error(err, s, "repository name must not be more than 255 characters");

        if (colon) {
                size_t tag_len = (size_t)(name_end - colon - 1);

                if (!valid_tag(colon + 1, tag_len))
                        return ref_error(err, s, "invalid tag");
                r->tag = strndup(colon + 1, tag_len);
                if (!r->tag)
                        return mx_error_oom(err);
        }
        if (at) {
                if (!mx_digest_is_valid(at + 1))
                        return digest_error(err, s, at + 1);
                r->digest = strdup(at + 1);
                if (!r->digest)
                        return mx_error_oom(err);
        }
        if (ref_finish(r) < 0)
                return mx_error_oom(err);

        *out = TAKE_PTR(r);
        return 0;
}

mx_ref *mx_ref_dup(const mx_ref *ref)
{
        cleanup(mx_ref_freep) mx_ref *r = NULL;

        if (!ref)
                return NULL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->magic = REF_MAGIC;
        r->domain = strdup(ref->domain);
        r->path = strdup(ref->path);
        r->tag = ref->tag ? strdup(ref->tag) : NULL;
        r->digest = ref->digest ? strdup(ref->digest) : NULL;
        if (!r->domain || !r->path || (ref->tag && !r->tag) || (ref->digest && !r->digest))
                return NULL;
        if (ref_finish(r) < 0)
                return NULL;
        return TAKE_PTR(r);
}

int mx_ref_with_tag(mx_ref **out, const mx_ref *ref, const char *tag, mx_error **err)
{
        cleanup(mx_ref_freep) mx_ref *r = NULL;

        if (!out || !ref || ref->magic != REF_MAGIC || !tag)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid argument");
        if (!valid_tag(tag, strlen(tag)))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid tag '%s'", tag);
        r = calloc(1, sizeof(*r));
        if (!r)
                return mx_error_oom(err);
        r->magic = REF_MAGIC;
        r->domain = strdup(ref->domain);
        r->path = strdup(ref->path);
        r->tag = strdup(tag);
        if (!r->domain || !r->path || !r->tag || ref_finish(r) < 0)
                return mx_error_oom(err);
        *out = TAKE_PTR(r);
        return 0;
}

const char *mx_ref_domain(const mx_ref *ref)
{
        return ref ? ref->domain : NULL;
}

const char *mx_ref_path(const mx_ref *ref)
{
        return ref ? ref->path : NULL;
}

const char *mx_ref_tag(const mx_ref *ref)
{
        return ref ? ref->tag : NULL;
}

const char *mx_ref_digest(const mx_ref *ref)
{
        return ref ? ref->digest : NULL;
}

const char *mx_ref_name(const mx_ref *ref)
{
        return ref ? ref->name : NULL;
}

const char *mx_ref_string(const mx_ref *ref)
{
        return ref ? ref->full : NULL;
}

const char *mx_ref_familiar(const mx_ref *ref)
{
        return ref ? ref->familiar : NULL;
}

const char *mx_ref_familiar_name(const mx_ref *ref)
{
        return ref ? ref->familiar_name : NULL;
}

int mx_ref_is_id_like(const char *s)
{
        size_t len;

        if (!s)
                return 0;
        if (strncmp(s, "sha256:", 7) == 0) {
                len = strlen(s + 7);
                return len >= 1 && len <= 64 && all_hex(s + 7, len);
        }
        len = strlen(s);
        return len >= 12 && len <= 64 && all_hex(s, len);
}

int mx_ref_is_id_prefix(const char *s)
{
        size_t len;

        if (!s)
                return 0;
        if (strncmp(s, "sha256:", 7) == 0)
                s += 7;
        len = strlen(s);
        return len >= 1 && len <= 64 && all_hex(s, len);
}

int mx_ref_normalize(char **out, const char *s, mx_error **err)
{
        cleanup(mx_ref_freep) mx_ref *r = NULL;
        char *full;
        int ret;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid argument");
        ret = mx_ref_parse(&r, s, err);
        if (ret < 0)
                return ret;
        full = strdup(r->full);
        if (!full)
                return mx_error_oom(err);
        *out = full;
        return 0;
}
