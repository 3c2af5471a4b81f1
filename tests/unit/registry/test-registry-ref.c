/* SPDX-License-Identifier: Apache-2.0 */
/* References as the registry client reads them. */
#include <stdlib.h>
#include <string.h>

#include "registry/registry-internal.h"
#include "tap.h"

static void check(const char *in, const char *url, const char *host, const char *repo,
                  const char *tag, const char *digest, int plain)
{
        mx_reg_ref r = {0};
        int p = 0;

        ASSERT_OK(mx_registry__ref_parse(&r, in, url, &p, NULL));
        ASSERT_STREQ(r.host, host);
        ASSERT_STREQ(r.repo, repo);
        if (tag)
                ASSERT_STREQ(r.tag, tag);
        else
                ASSERT_NULL(r.tag);
        if (digest)
                ASSERT_STREQ(r.digest, digest);
        else
                ASSERT_NULL(r.digest);
        ASSERT_EQ(p, plain);
        mx_registry__ref_clear(&r);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

MX_TEST(ref_normalize)
{
        check("busybox", NULL, "docker.io", "library/busybox", NULL, NULL, 0);
        check("busybox:1.36", NULL, "docker.io", "library/busybox", "1.36", NULL, 0);
        check("docker://busybox:1", NULL, "docker.io", "library/busybox", "1", NULL, 0);
        check("user/app", NULL, "docker.io", "user/app", NULL, NULL, 0);
        check("index.docker.io/library/x", NULL, "docker.io", "library/x", NULL, NULL, 0);
        check("127.0.0.1:5001/a/b:t", NULL, "127.0.0.1:5001", "a/b", "t", NULL, 0);
        check("localhost/x@" D, NULL, "localhost", "x", NULL, D, 0);
        check("h.io/x:t@" D, NULL, "h.io", "x", "t", D, 0);
}

MX_TEST(ref_with_registry_url)
{
        check("busybox:1", "127.0.0.1:5001", "127.0.0.1:5001", "busybox", "1", NULL, 0);
        check("busybox", "http://127.0.0.1:5001", "127.0.0.1:5001", "busybox", NULL, NULL, 1);
        check("busybox", "https://reg.example:443/", "reg.example:443", "busybox", NULL, NULL, 0);
        check("other.io/team/app:2", "127.0.0.1:5001", "127.0.0.1:5001", "team/app", "2", NULL, 0);
}

MX_TEST(ref_invalid)
{
        mx_reg_ref r = {0};
        mx_error *err = NULL;
        static const char *const bad[] = {"",     "UPPER", "x:bad tag", "x@sha256:12",
                                          "a//b", "x:-t",  "h.io/",     "a/b/"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_ERR(mx_registry__ref_parse(&r, bad[i], NULL, NULL, &err), MX_EINVAL);
                ASSERT_EQ(err->domain, MX_D_REGISTRY);
                ASSERT_NULL(r.host);
                mx_error_free(err);
                err = NULL;
        }
        ASSERT_ERR(mx_registry__ref_parse(&r, "x", "bad url!", NULL, &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(ref_format)
{
        mx_reg_ref r = {0};
        char *s;

        ASSERT_OK(mx_registry__ref_parse(&r, "busybox", NULL, NULL, NULL));
        s = mx_registry__ref_format(&r);
        ASSERT_STREQ(s, "docker.io/library/busybox");
        ASSERT_STREQ(mx_registry__ref_reference(&r), "latest");
        free(s);
        mx_registry__ref_clear(&r);
}
