/* SPDX-License-Identifier: Apache-2.0 */
/* Platforms: parsing, the host, containerd's normalization and matching, and choosing a
 * manifest from real-shaped indexes. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "tap.h"
#include "test-image-format.h"

#define D "data/formats/"

static void expect_parse(const char *spec, const char *formatted)
{
        mx_platform *p = NULL;
        mx_error *err = NULL;
        char *f;

        ASSERT_OK_E(mx_platform_parse(&p, spec, &err), err);
        f = mx_platform_format(p);
        if (!f || strcmp(f, formatted) != 0)
                mx_tap_fail(__FILE__, __LINE__, "'%s' parsed as '%s', expected '%s'", spec,
                            f ? f : "(null)", formatted);
        free(f);
        mx_platform_free(p);
}

MX_TEST(platform_parse_and_normalize)
{
        expect_parse("linux/arm64/v8", "linux/arm64/v8");
        expect_parse("linux/arm64", "linux/arm64/v8");
        expect_parse("linux/aarch64", "linux/arm64/v8");
        expect_parse("Linux/AArch64/8", "linux/arm64/v8");
        expect_parse("linux/x86_64", "linux/amd64");
        expect_parse("linux/x86-64", "linux/amd64");
        expect_parse("linux/amd64/v1", "linux/amd64");
        expect_parse("linux/amd64/v3", "linux/amd64/v3");
        expect_parse("linux/armhf", "linux/arm/v7");
        expect_parse("linux/armel", "linux/arm/v6");
        expect_parse("linux/arm", "linux/arm/v7");
        expect_parse("linux/arm/6", "linux/arm/v6");
        expect_parse("linux/i386", "linux/386");
        expect_parse("linux/i686", "linux/386");
        expect_parse("linux/ppc64le", "linux/ppc64le");
        expect_parse("linux/s390x", "linux/s390x");
        expect_parse("linux/riscv64", "linux/riscv64");
        expect_parse("windows/amd64", "windows/amd64");
        expect_parse("arm64", "linux/arm64/v8");
        expect_parse("macos/arm64", "darwin/arm64/v8");
#if defined(__x86_64__)
        expect_parse("linux", "linux/amd64");
#endif
}

MX_TEST(platform_parse_refuses_garbage)
{
        static const char *const bad[] = {"",
                                          "/",
                                          "linux/",
                                          "linux//v7",
                                          "a/b/c/d",
                                          "linux/amd 64",
                                          "linux/amd64/v8;rm",
                                          "linux/\xc3\xa9"};
        mx_platform *p = NULL;
        mx_error *err = NULL;

        for (size_t i = 0; i < MX_ARRAY_SIZE(bad); i++) {
                ASSERT_ERR(mx_platform_parse(&p, bad[i], &err), MX_EINVAL);
                ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "parse platform");
                ASSERT_NULL(p);
        }
        ASSERT_ERR(mx_platform_parse(&p, NULL, &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(platform_host_uses_go_names)
{
        mx_platform *p = NULL;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_platform_host(&p, &err), err);
        ASSERT_STREQ(p->os, "linux");
#if defined(__x86_64__)
        ASSERT_STREQ(p->architecture, "amd64");
        ASSERT_NULL(p->variant);
#elif defined(__aarch64__)
        ASSERT_STREQ(p->architecture, "arm64");
        ASSERT_STREQ(p->variant, "v8");
#endif
        mx_platform_free(p);
        ASSERT_ERR(mx_platform_host(NULL, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "host platform");
        mx_error_free(err);
}

MX_TEST(platform_normalize_and_format)
{
        mx_platform p = {0}, *c = NULL;
        mx_error *err = NULL;
        char *f;

        p.os = strdup("Linux");
        p.architecture = strdup("aarch64");
        p.os_version = strdup("keep");
        ASSERT_OK_E(mx_platform_normalize(&p, &err), err);
        ASSERT_STREQ(p.os, "linux");
        ASSERT_STREQ(p.architecture, "arm64");
        ASSERT_STREQ(p.variant, "v8");
        ASSERT_STREQ(p.os_version, "keep");
        f = mx_platform_format(&p);
        ASSERT_STREQ(f, "linux/arm64/v8");
        free(f);
        ASSERT_OK_E(mx_platform_copy(&c, &p, &err), err);
        ASSERT_STREQ(c->os_version, "keep");
        mx_platform_free(c);
        free(p.os);
        p.os = NULL;
        ASSERT_NULL(mx_platform_format(&p));
        ASSERT_ERR(mx_platform_normalize(&p, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "os and architecture are required");
        ASSERT_ERR(mx_platform_copy(&c, NULL, &err), MX_EINVAL);
        free(p.architecture);
        free(p.variant);
        free(p.os_version);
        mx_error_free(err);
}

static int match(const char *want, const char *have)
{
        mx_platform *w = NULL, *h = NULL;
        int r;

        ASSERT_OK(mx_platform_parse(&w, want, NULL));
        ASSERT_OK(mx_platform_parse(&h, have, NULL));
        r = mx_platform_match(w, h);
        mx_platform_free(w);
        mx_platform_free(h);
        return r;
}

MX_TEST(platform_match_containerd_rules)
{
        ASSERT_TRUE(match("linux/arm/v7", "linux/arm/v7") > match("linux/arm/v7", "linux/arm/v6"));
        ASSERT_TRUE(match("linux/arm/v7", "linux/arm/v6") > match("linux/arm/v7", "linux/arm/v5"));
        ASSERT_TRUE(match("linux/arm/v7", "linux/arm/v5") > 0);
        ASSERT_EQ(match("linux/arm/v6", "linux/arm/v7"), 0);
        ASSERT_EQ(match("linux/arm/v7", "linux/arm64"), 0);
        ASSERT_TRUE(match("linux/arm64", "linux/arm64/v8") > 0);
        ASSERT_TRUE(match("linux/arm64", "linux/aarch64") > 0);
        ASSERT_TRUE(match("linux/arm64", "linux/arm/v7") > 0);
        ASSERT_TRUE(match("linux/amd64", "linux/386") > 0);
        ASSERT_TRUE(match("linux/amd64/v3", "linux/amd64") > match("linux/amd64/v3", "linux/386"));
        ASSERT_EQ(match("linux/amd64", "linux/amd64/v3"), 0);
        ASSERT_EQ(match("linux/386", "linux/amd64"), 0);
        ASSERT_EQ(match("linux/amd64", "windows/amd64"), 0);
        ASSERT_EQ(mx_platform_match(NULL, NULL), 0);
}

static mx_index *load_index(const char *rel)
{
        mx_index *idx = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(rel, &len);

        ASSERT_OK_E(mx_index_parse(&idx, data, len, NULL, &err), err);
        free(data);
        return idx;
}

static size_t select_index(const mx_index *idx, const char *want)
{
        const mx_descriptor *d = NULL;
        mx_platform *w = NULL;
        mx_error *err = NULL;

        if (want)
                ASSERT_OK(mx_platform_parse(&w, want, NULL));
        ASSERT_OK_E(mx_index_select(idx, w, &d, &err), err);
        mx_platform_free(w);
        return (size_t)(d - idx->manifests);
}

MX_TEST(index_select_prefers_exact_then_compatible)
{
        mx_index *idx = load_index(D "oci-index-multiarch.json");
        mx_index *list = load_index(D "docker-manifest-list.json");

        ASSERT_EQ(select_index(idx, "linux/amd64"), 0);
        ASSERT_EQ(select_index(idx, "linux/arm64"), 1);
        ASSERT_EQ(select_index(idx, "linux/aarch64/v8"), 1);
        ASSERT_EQ(select_index(idx, "linux/arm/v7"), 2);
        ASSERT_EQ(select_index(idx, "linux/arm/v6"), 3);
        ASSERT_EQ(select_index(idx, "linux/arm/v8"), 2); /* v8 runs v7 */
        ASSERT_EQ(select_index(idx, "linux/ppc64le"), 4);
        ASSERT_EQ(select_index(idx, "windows/amd64"), 5);
#if defined(__x86_64__)
        ASSERT_EQ(select_index(idx, NULL), 0);
#endif
        ASSERT_EQ(select_index(list, "linux/arm/v7"), 1); /* only v5 on offer */
        ASSERT_EQ(select_index(list, "linux/386"), 2);
        ASSERT_EQ(select_index(list, "linux/amd64/v2"), 0);
        mx_index_free(idx);
        mx_index_free(list);
}

MX_TEST(index_select_not_found_lists_platforms)
{
        mx_index *idx = load_index(D "oci-index-multiarch.json");
        mx_index *plain = load_index(D "oci-index-skopeo.json");
        const mx_descriptor *d = NULL;
        mx_platform *w = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_platform_parse(&w, "linux/riscv64", NULL));
        ASSERT_ERR(mx_index_select(idx, w, &d, &err), MX_ENOTFOUND);
        ASSERT_ERROR(err, MX_ENOTFOUND, MX_D_IMAGE, "no manifest for platform 'linux/riscv64'");
        ASSERT_ERROR(err, MX_ENOTFOUND, MX_D_IMAGE,
                     "available: linux/amd64, linux/arm64/v8, linux/arm/v7, linux/arm/v6, "
                     "linux/ppc64le, windows/amd64, unknown/unknown");
        ASSERT_NULL(d);
        /* An index without platforms (an OCI layout's) has nothing to choose from. */
        mx_platform_free(w);
        ASSERT_OK(mx_platform_parse(&w, "unknown/unknown", NULL));
        ASSERT_ERR(mx_index_select(plain, w, &d, &err), MX_ENOTFOUND);
        ASSERT_ERROR(err, MX_ENOTFOUND, MX_D_IMAGE, "no platforms listed");
        ASSERT_ERR(mx_index_select(NULL, w, &d, &err), MX_EINVAL);
        mx_platform_free(w);
        mx_index_free(idx);
        mx_index_free(plain);
        mx_error_free(err);
}
