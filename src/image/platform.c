/* SPDX-License-Identifier: Apache-2.0 */
/* Platforms: parsing "os/arch/variant", the host's platform with Go's names, containerd's
 * normalization and matching, and choosing a manifest from an index. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "buf.h"
#include "format-internal.h"
#include "strv.h"

#define PART_MAX 64

/* A platform reduced to what matching compares, in fixed buffers. */
typedef struct triple {
        char os[PART_MAX];
        char arch[PART_MAX];
        char variant[PART_MAX];
} triple;

void mx_platform_free(mx_platform *p)
{
        if (!p)
                return;
        free(p->os);
        free(p->architecture);
        free(p->variant);
        free(p->os_version);
        mx_strv_free(p->os_features);
        free(p);
}

static int dup_opt(char **dst, const char *src)
{
        *dst = NULL;
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : -1;
}

int mx_platform_copy(mx_platform **out, const mx_platform *src, mx_error **err)
{
        cleanup(mx_platform_freep) mx_platform *p = NULL;

        if (!out || !src)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "copy platform: no platform");
        p = calloc(1, sizeof(*p));
        if (!p || dup_opt(&p->os, src->os) < 0 ||
            dup_opt(&p->architecture, src->architecture) < 0 ||
            dup_opt(&p->variant, src->variant) < 0 || dup_opt(&p->os_version, src->os_version) < 0)
                return mx_error_oom(err);
        if (src->os_features && !(p->os_features = mx_strv_copy(src->os_features)))
                return mx_error_oom(err);
        *out = TAKE_PTR(p);
        return 0;
}

static void lower_into(char dst[PART_MAX], const char *src)
{
        size_t i = 0;

        for (; src && src[i] && i < PART_MAX - 1; i++)
                dst[i] = (char)tolower((unsigned char)src[i]);
        dst[i] = '\0';
}

static void set(char dst[PART_MAX], const char *s)
{
        (void)snprintf(dst, PART_MAX, "%s", s);
}

/* containerd's normalizeOS/normalizeArch, with arm64's variant defaulting to v8. */
static void normalize_triple(triple *t)
{
        char *a = t->arch, *v = t->variant;

        if (strcmp(t->os, "macos") == 0)
                set(t->os, "darwin");
        if (strcmp(a, "i386") == 0 || strcmp(a, "i486") == 0 || strcmp(a, "i586") == 0 ||
            strcmp(a, "i686") == 0 || strcmp(a, "x86") == 0 || strcmp(a, "386") == 0) {
                set(a, "386");
                v[0] = '\0';
        } else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 ||
                   strcmp(a, "amd64") == 0) {
                set(a, "amd64");
                if (strcmp(v, "v1") == 0 || strcmp(v, "1") == 0)
                        v[0] = '\0';
                else if (v[0] >= '2' && v[0] <= '4' && v[1] == '\0') {
                        char d = v[0];

                        v[0] = 'v';
                        v[1] = d;
                        v[2] = '\0';
                }
        } else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
                set(a, "arm64");
                if (!v[0] || strcmp(v, "8") == 0 || strcmp(v, "v8.0") == 0 || strcmp(v, "8.0") == 0)
                        set(v, "v8");
                else if (strcmp(v, "9") == 0 || strcmp(v, "9.0") == 0 || strcmp(v, "v9.0") == 0)
                        set(v, "v9");
        } else if (strcmp(a, "armhf") == 0) {
                set(a, "arm");
                set(v, "v7");
        } else if (strcmp(a, "armel") == 0) {
                set(a, "arm");
                set(v, "v6");
        } else if (strcmp(a, "arm") == 0) {
                if (!v[0] || strcmp(v, "7") == 0)
                        set(v, "v7");
                else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0) {
                        char d = v[0];

                        v[0] = 'v';
                        v[1] = d;
                        v[2] = '\0';
                }
        } else if (strcmp(a, "ppc64el") == 0) {
                set(a, "ppc64le");
        }
}

/* 0 when a part is too long to be a real name. */
static int to_triple(triple *t, const mx_platform *p)
{
        if (!p || !p->os || !p->architecture || strlen(p->os) >= PART_MAX ||
            strlen(p->architecture) >= PART_MAX || (p->variant && strlen(p->variant) >= PART_MAX))
                return 0;
        lower_into(t->os, p->os);
        lower_into(t->arch, p->architecture);
        lower_into(t->variant, p->variant ? p->variant : "");
        normalize_triple(t);
        return 1;
}

int mx_platform_normalize(mx_platform *p, mx_error **err)
{
        char *os = NULL, *arch = NULL, *variant = NULL;
        triple t;

        if (!p || !p->os || !p->architecture || !*p->os || !*p->architecture)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "normalize platform: os and architecture are required");
        if (!to_triple(&t, p))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "normalize platform: a component is longer than %d bytes",
                                    PART_MAX - 1);
        os = strdup(t.os);
        arch = strdup(t.arch);
        variant = t.variant[0] ? strdup(t.variant) : NULL;
        if (!os || !arch || (t.variant[0] && !variant)) {
                free(os);
                free(arch);
                free(variant);
                return mx_error_oom(err);
        }
        free(p->os);
        free(p->architecture);
        free(p->variant);
        p->os = os;
        p->architecture = arch;
        p->variant = variant;
        return 0;
}

static void host_triple(triple *t)
{
        set(t->os, "linux");
        t->variant[0] = '\0';
#if defined(__x86_64__)
        set(t->arch, "amd64");
#elif defined(__aarch64__)
        set(t->arch, "arm64");
        set(t->variant, "v8");
#elif defined(__arm__)
        set(t->arch, "arm");
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
        set(t->variant, "v7");
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
        set(t->variant, "v6");
#else
        set(t->variant, "v5");
#endif
#elif defined(__i386__)
        set(t->arch, "386");
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
        set(t->arch, "ppc64le");
#elif defined(__s390x__)
        set(t->arch, "s390x");
#elif defined(__riscv) && __riscv_xlen == 64
        set(t->arch, "riscv64");
#else
        t->arch[0] = '\0';
#endif
}

static int platform_from_triple(mx_platform **out, const triple *t, mx_error **err)
{
        mx_platform *p = calloc(1, sizeof(*p));

        if (!p)
                return mx_error_oom(err);
        p->os = strdup(t->os);
        p->architecture = strdup(t->arch);
        p->variant = t->variant[0] ? strdup(t->variant) : NULL;
        if (!p->os || !p->architecture || (t->variant[0] && !p->variant)) {
                mx_platform_free(p);
                return mx_error_oom(err);
        }
        *out = p;
        return 0;
}

int mx_platform_host(mx_platform **out, mx_error **err)
{
        triple t;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "host platform: no output");
        host_triple(&t);
        if (!t.arch[0])
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                    "host platform: this architecture has no OCI name");
        return platform_from_triple(out, &t, err);
}

static int is_known_os(const char *s)
{
        static const char *const oses[] = {"linux",   "windows", "darwin",  "freebsd", "netbsd",
                                           "openbsd", "illumos", "solaris", "android", "macos"};

        for (size_t i = 0; i < MX_ARRAY_SIZE(oses); i++)
                if (strcmp(s, oses[i]) == 0)
                        return 1;
        return 0;
}

int mx_platform_parse(mx_platform **out, const char *spec, mx_error **err)
{
        char parts[3][PART_MAX];
        size_t n = 0, len = 0;
        const char *s;
        char ex[MX_EXCERPT_MAX];
        triple t, host;

        if (!out || !spec)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "parse platform: no platform");
        for (s = spec;; s++) {
                if (*s == '/' || *s == '\0') {
                        if (len == 0)
                                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                                    "parse platform '%s': empty component",
                                                    mx_image__excerpt(ex, spec));
                        parts[n][len] = '\0';
                        n++;
                        len = 0;
                        if (*s == '\0')
                                break;
                        if (n == 3)
                                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                                    "parse platform '%s': more than "
                                                    "os/architecture/variant",
                                                    mx_image__excerpt(ex, spec));
                        continue;
                }
                if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
                        return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                            "parse platform '%s': invalid character",
                                            mx_image__excerpt(ex, spec));
                if (len >= PART_MAX - 1)
                        return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                            "parse platform '%s': component too long",
                                            mx_image__excerpt(ex, spec));
                parts[n][len++] = (char)tolower((unsigned char)*s);
        }
        host_triple(&host);
        memset(&t, 0, sizeof(t));
        if (n == 1) {
                if (is_known_os(parts[0])) {
                        set(t.os, parts[0]);
                        set(t.arch, host.arch);
                        set(t.variant, host.variant);
                } else {
                        set(t.os, "linux");
                        set(t.arch, parts[0]);
                }
        } else {
                set(t.os, parts[0]);
                set(t.arch, parts[1]);
                if (n == 3)
                        set(t.variant, parts[2]);
        }
        if (!t.arch[0])
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "parse platform '%s': no architecture given and the host's "
                                    "has no OCI name",
                                    mx_image__excerpt(ex, spec));
        normalize_triple(&t);
        return platform_from_triple(out, &t, err);
}

char *mx_platform_format(const mx_platform *p)
{
        char *s = NULL;
        int r;

        if (!p || !p->os || !p->architecture)
                return NULL;
        if (p->variant && *p->variant)
                r = asprintf(&s, "%s/%s/%s", p->os, p->architecture, p->variant);
        else
                r = asprintf(&s, "%s/%s", p->os, p->architecture);
        return r < 0 ? NULL : s;
}

/* "7" -> 7; anything but one or two digits -> 0. */
static int small_version(const char *s)
{
        if (s[0] >= '0' && s[0] <= '9' && s[1] == '\0')
                return s[0] - '0';
        if (s[0] >= '1' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == '\0')
                return (s[0] - '0') * 10 + (s[1] - '0');
        return 0;
}

/* containerd's platformVector: the platforms a wanted one can run, best first. */
static size_t candidates(triple out[16], const triple *want)
{
        size_t n = 0;
        int ver;

        out[n++] = *want;
        if (strcmp(want->arch, "amd64") == 0) {
                ver = want->variant[0] == 'v' ? small_version(want->variant + 1) : 1;
                for (ver--; ver >= 1 && n < 14; ver--) {
                        out[n] = *want;
                        if (ver == 1)
                                out[n].variant[0] = '\0';
                        else
                                (void)snprintf(out[n].variant, PART_MAX, "v%d", ver);
                        n++;
                }
                out[n] = *want;
                set(out[n].arch, "386");
                out[n++].variant[0] = '\0';
        } else if (strcmp(want->arch, "arm") == 0 || strcmp(want->arch, "arm64") == 0) {
                if (strcmp(want->arch, "arm64") == 0) {
                        out[n] = *want;
                        set(out[n++].arch, "arm");
                }
                ver = want->variant[0] == 'v' ? small_version(want->variant + 1) : 0;
                for (ver--; ver >= 5 && n < 16; ver--) {
                        out[n] = *want;
                        set(out[n].arch, "arm");
                        (void)snprintf(out[n].variant, PART_MAX, "v%d", ver);
                        n++;
                }
        }
        return n;
}

#define MAX_CANDIDATES 16

/* 1 when item is one of the ", "-separated items of list. */
static int in_list(const char *list, const char *item)
{
        size_t n = strlen(item);

        for (const char *p = list; *p;) {
                const char *end = strstr(p, ", ");
                size_t len = end ? (size_t)(end - p) : strlen(p);

                if (len == n && memcmp(p, item, n) == 0)
                        return 1;
                if (!end)
                        break;
                p = end + 2;
        }
        return 0;
}

int mx_platform_match(const mx_platform *want, const mx_platform *have)
{
        triple w, h, c[MAX_CANDIDATES];
        size_t n;

        if (!to_triple(&w, want) || !to_triple(&h, have))
                return 0;
        n = candidates(c, &w);
        for (size_t i = 0; i < n; i++)
                if (strcmp(c[i].os, h.os) == 0 && strcmp(c[i].arch, h.arch) == 0 &&
                    strcmp(c[i].variant, h.variant) == 0)
                        return (int)(MAX_CANDIDATES - i);
        return 0;
}

int mx_index_select(const mx_index *idx, const mx_platform *want, const mx_descriptor **out,
                    mx_error **err)
{
        cleanup(mx_platform_freep) mx_platform *host = NULL;
        cleanup_buf mx_buf avail = MX_BUF_INIT_CAP(4096);
        cleanup_free char *wanted = NULL;
        const mx_descriptor *best = NULL;
        int best_rank = 0, r;
        size_t listed = 0;

        if (!idx || !out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "select manifest: no index");
        if (!want) {
                r = mx_platform_host(&host, err);
                if (r < 0)
                        return r;
                want = host;
        }
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const mx_descriptor *d = &idx->manifests[i];
                int rank;

                if (!d->platform || (!mx_media_type_is_manifest(d->media_type) &&
                                     !mx_media_type_is_index(d->media_type)))
                        continue;
                rank = mx_platform_match(want, d->platform);
                if (rank > best_rank) {
                        best_rank = rank;
                        best = d;
                }
        }
        if (best) {
                *out = best;
                return 0;
        }
        /* List what there is, once each, so the user can pick one. */
        for (size_t i = 0; i < idx->n_manifests; i++) {
                cleanup_free char *f = NULL;
                int dup = 0;

                if (!idx->manifests[i].platform)
                        continue;
                f = mx_platform_format(idx->manifests[i].platform);
                if (!f)
                        continue;
                dup = in_list(avail.ptr, f);
                if (dup)
                        continue;
                if (avail.len > 1024) {
                        (void)mx_buf_puts(&avail, ", ...");
                        break;
                }
                (void)mx_buf_printf(&avail, "%s%s", listed++ ? ", " : "", f);
        }
        wanted = mx_platform_format(want);
        return mx_error_set(err, MX_ENOTFOUND, MX_D_IMAGE, 0,
                            "no manifest for platform '%s' in the index (%s%s)",
                            wanted ? wanted : "?", listed ? "available: " : "no platforms listed",
                            avail.ptr);
}
