/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: Docker's normalization on a table of valid and invalid inputs. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/reference.h>

#include "tap.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
        const char *in;
        const char *full;
        const char *familiar;
        const char *domain;
        const char *path;
        const char *tag;
        const char *digest;
        const char *familiar_name;
} valid[] = {
        {"busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
         "library/busybox", NULL, NULL, "busybox"},
        {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io",
         "library/busybox", "1.36", NULL, "busybox"},
        {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
         "library/busybox", NULL, NULL, "busybox"},
        {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
         "library/busybox", NULL, NULL, "busybox"},
        {"docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest",
         "docker.io", "library/busybox", "latest", NULL, "busybox"},
        {"index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1",
         "docker.io", "library/busybox", "1", NULL, "busybox"},
        {"user/app:v1", "docker.io/user/app:v1", "user/app:v1", "docker.io", "user/app", "v1", NULL,
         "user/app"},
        {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "docker.io",
         "library/a/b", NULL, NULL, "library/a/b"},
        {"localhost/app", "localhost/app:latest", "localhost/app:latest", "localhost", "app", NULL,
         NULL, "localhost/app"},
        {"localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000", "x",
         "1", NULL, "localhost:5000/x"},
        {"localhost", "docker.io/library/localhost:latest", "localhost:latest", "docker.io",
         "library/localhost", NULL, NULL, "localhost"},
        {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "docker.io",
         "library/localhost", "5000", NULL, "localhost"},
        {"ghcr.io/o/r/deep:Tag_1.2-x", "ghcr.io/o/r/deep:Tag_1.2-x", "ghcr.io/o/r/deep:Tag_1.2-x",
         "ghcr.io", "o/r/deep", "Tag_1.2-x", NULL, "ghcr.io/o/r/deep"},
        {"busybox@sha256:" H64, "docker.io/library/busybox@sha256:" H64, "busybox@sha256:" H64,
         "docker.io", "library/busybox", NULL, "sha256:" H64, "busybox"},
        {"busybox:1@sha256:" H64, "docker.io/library/busybox:1@sha256:" H64,
         "busybox:1@sha256:" H64, "docker.io", "library/busybox", "1", "sha256:" H64, "busybox"},
        {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest", "[::1]:5000", "x", NULL,
         NULL, "[::1]:5000/x"},
        {"Example.COM/x", "Example.COM/x:latest", "Example.COM/x:latest", "Example.COM", "x", NULL,
         NULL, "Example.COM/x"},
        {"docker.io/a-b__c/d.e--f", "docker.io/a-b__c/d.e--f:latest", "a-b__c/d.e--f:latest",
         "docker.io", "a-b__c/d.e--f", NULL, NULL, "a-b__c/d.e--f"},
        {"sha256:abc", "docker.io/library/sha256:abc", "sha256:abc", "docker.io", "library/sha256",
         "abc", NULL, "sha256"},
        /* found by fuzz-reference: shown as "a.b/c" it would name registry a.b */
        {"docker.io/a.b/c", "docker.io/a.b/c:latest", "docker.io/a.b/c:latest", "docker.io",
         "a.b/c", NULL, NULL, "docker.io/a.b/c"},
        {"abc123", "docker.io/library/abc123:latest", "abc123:latest", "docker.io",
         "library/abc123", NULL, NULL, "abc123"},
        {"registry.example.com:443/ns/img:TAG", "registry.example.com:443/ns/img:TAG",
         "registry.example.com:443/ns/img:TAG", "registry.example.com:443", "ns/img", "TAG", NULL,
         "registry.example.com:443/ns/img"},
        {"10.0.0.1:5000/a_b", "10.0.0.1:5000/a_b:latest", "10.0.0.1:5000/a_b:latest",
         "10.0.0.1:5000", "a_b", NULL, NULL, "10.0.0.1:5000/a_b"},
};

static const struct {
        const char *in;
        const char *why; /* substring of the message */
} invalid[] = {
        {"", "empty"},
        {"Busybox", "must be lowercase"},
        {"docker.io/Library/x:1", "must be lowercase"},
        {"user/App", "must be lowercase"},
        {"busybox:", "invalid tag"},
        {":tag", "missing repository name"},
        {"busybox@sha256:abc", "invalid sha256 digest"},
        {"busybox@sha256:"
         "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "invalid sha256 digest"},
        {"busybox@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm"},
        {"busybox@", "invalid digest format"},
        {"a//b", "invalid repository name"},
        {"a/", "invalid repository name"},
        {"/a", "invalid repository name"},
        {"-a", "invalid repository name"},
        {"a-", "invalid repository name"},
        {"a..b", "invalid repository name"},
        {"a___b", "invalid repository name"},
        {"busybox:-tag", "invalid tag"},
        {"busybox:1:2", "invalid tag"},
        {"a b", "invalid repository name"},
        {H64, "64-character hexadecimal"},
        {"localhost:abc/x", "invalid registry domain"},
        {"exa_mple.com/x", "invalid registry domain"},
        {"-bad.com/x", "invalid registry domain"},
        {"[zz]:1/x", "invalid registry domain"},
        {"example.com:/x", "invalid registry domain"},
};

MX_TEST(ref_valid_table)
{
        for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
                mx_ref *ref = NULL;
                mx_error *err = NULL;

                printf("# %s\n", valid[i].in);
                ASSERT_OK_E(mx_ref_parse(&ref, valid[i].in, &err), err);
                ASSERT_STREQ(mx_ref_string(ref), valid[i].full);
                ASSERT_STREQ(mx_ref_familiar(ref), valid[i].familiar);
                ASSERT_STREQ(mx_ref_domain(ref), valid[i].domain);
                ASSERT_STREQ(mx_ref_path(ref), valid[i].path);
                ASSERT_STREQ(mx_ref_familiar_name(ref), valid[i].familiar_name);
                if (valid[i].tag)
                        ASSERT_STREQ(mx_ref_tag(ref), valid[i].tag);
                else
                        ASSERT_NULL(mx_ref_tag(ref));
                if (valid[i].digest)
                        ASSERT_STREQ(mx_ref_digest(ref), valid[i].digest);
                else
                        ASSERT_NULL(mx_ref_digest(ref));
                {
                        char name[512];

                        snprintf(name, sizeof(name), "%s/%s", valid[i].domain, valid[i].path);
                        ASSERT_STREQ(mx_ref_name(ref), name);
                }
                /* the normalized form parses to itself */
                {
                        mx_ref *again = NULL;

                        ASSERT_OK(mx_ref_parse(&again, mx_ref_string(ref), NULL));
                        ASSERT_STREQ(mx_ref_string(again), valid[i].full);
                        mx_ref_free(again);
                }
                mx_ref_free(ref);
        }
}

MX_TEST(ref_invalid_table)
{
        for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
                mx_ref *ref = NULL;
                mx_error *err = NULL;

                printf("# '%s'\n", invalid[i].in);
                ASSERT_ERR(mx_ref_parse(&ref, invalid[i].in, &err), MX_EINVAL);
                ASSERT_NULL(ref);
                ASSERT_NOT_NULL(err);
                ASSERT_EQ(err->code, MX_EINVAL);
                ASSERT_EQ(err->domain, MX_D_IMAGE);
                if (!strstr(err->message, invalid[i].why)) {
                        printf("# message: %s\n", err->message);
                        ASSERT_TRUE(strstr(err->message, invalid[i].why) != NULL);
                }
                mx_error_free(err);
        }
}

MX_TEST(ref_length_limits)
{
        char name[400], tag[200];
        mx_ref *ref = NULL;
        mx_error *err = NULL;

        /* docker.io/ + library/ + 237 = 255 exactly: accepted; one more: refused */
        memset(name, 'a', 237);
        name[237] = '\0';
        ASSERT_OK(mx_ref_parse(&ref, name, NULL));
        ASSERT_EQ(strlen(mx_ref_name(ref)), 255);
        mx_ref_free(ref);
        ref = NULL;
        name[237] = 'a';
        name[238] = '\0';
        ASSERT_ERR(mx_ref_parse(&ref, name, &err), MX_EINVAL);
        ASSERT_TRUE(strstr(err->message, "255") != NULL);
        mx_error_free(err);
        err = NULL;

        /* a tag of 128 characters is fine, 129 is not */
        memcpy(name, "x:", 2);
        memset(tag, 'T', 128);
        tag[128] = '\0';
        snprintf(name, sizeof(name), "x:%s", tag);
        ASSERT_OK(mx_ref_parse(&ref, name, NULL));
        mx_ref_free(ref);
        ref = NULL;
        snprintf(name, sizeof(name), "x:%sT", tag);
        ASSERT_ERR(mx_ref_parse(&ref, name, NULL), MX_EINVAL);
        ASSERT_NULL(ref);
}

MX_TEST(ref_null_and_huge_input)
{
        mx_ref *ref = NULL;
        mx_error *err = NULL;
        char *big = malloc(MX_REF_MAX_INPUT + 2);

        ASSERT_ERR(mx_ref_parse(&ref, NULL, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        mx_error_free(err);
        err = NULL;
        ASSERT_NOT_NULL(big);
        memset(big, 'a', MX_REF_MAX_INPUT + 1);
        big[MX_REF_MAX_INPUT + 1] = '\0';
        ASSERT_ERR(mx_ref_parse(&ref, big, &err), MX_EINVAL);
        ASSERT_NULL(ref);
        mx_error_free(err);
        free(big);
}

MX_TEST(ref_dup_with_tag_normalize)
{
        mx_ref *ref = NULL, *dup = NULL, *tagged = NULL;
        mx_error *err = NULL;
        char *s = NULL;

        ASSERT_OK(mx_ref_parse(&ref, "user/app:1@sha256:" H64, NULL));
        dup = mx_ref_dup(ref);
        ASSERT_NOT_NULL(dup);
        ASSERT_STREQ(mx_ref_string(dup), mx_ref_string(ref));
        ASSERT_OK(mx_ref_with_tag(&tagged, ref, "2", NULL));
        ASSERT_STREQ(mx_ref_string(tagged), "docker.io/user/app:2");
        ASSERT_NULL(mx_ref_digest(tagged));
        ASSERT_ERR(mx_ref_with_tag(&tagged, ref, "-bad", &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        ASSERT_STREQ(mx_ref_string(tagged), "docker.io/user/app:2"); /* untouched */
        mx_error_free(err);
        err = NULL;
        ASSERT_OK(mx_ref_normalize(&s, "busybox", NULL));
        ASSERT_STREQ(s, "docker.io/library/busybox:latest");
        free(s);
        s = NULL;
        ASSERT_ERR(mx_ref_normalize(&s, "BUSYBOX", &err), MX_EINVAL);
        ASSERT_NULL(s);
        mx_error_free(err);
        mx_ref_free(ref);
        mx_ref_free(dup);
        mx_ref_free(tagged);
        mx_ref_free(NULL);
        ASSERT_NULL(mx_ref_string(NULL));
}

MX_TEST(ref_id_like)
{
        ASSERT_EQ(mx_ref_is_id_like("0123456789ab"), 1);
        ASSERT_EQ(mx_ref_is_id_like("0123456789a"), 0);
        ASSERT_EQ(mx_ref_is_id_like(H64), 1);
        ASSERT_EQ(mx_ref_is_id_like(H64 "0"), 0);
        ASSERT_EQ(mx_ref_is_id_like("sha256:0"), 1);
        ASSERT_EQ(mx_ref_is_id_like("sha256:" H64), 1);
        ASSERT_EQ(mx_ref_is_id_like("sha256:"), 0);
        ASSERT_EQ(mx_ref_is_id_like("0123456789AB"), 0);
        ASSERT_EQ(mx_ref_is_id_like("busybox"), 0);
        ASSERT_EQ(mx_ref_is_id_like(NULL), 0);
        ASSERT_EQ(mx_ref_is_id_prefix("a"), 1);
        ASSERT_EQ(mx_ref_is_id_prefix("sha256:a"), 1);
        ASSERT_EQ(mx_ref_is_id_prefix("g"), 0);
        ASSERT_EQ(mx_ref_is_id_prefix(""), 0);
        ASSERT_EQ(mx_ref_is_id_prefix(NULL), 0);
}
