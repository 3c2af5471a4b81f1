/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate parsing, token answers, base64, Link and Retry-After, header masking. */
#include <stdlib.h>
#include <string.h>

#include "registry/registry-internal.h"
#include "tap.h"

MX_TEST(challenge_bearer)
{
        mx_reg_challenge *c = NULL;
        size_t n = 0;

        ASSERT_OK(mx_registry__parse_challenges(
                &c, &n,
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                "scope=\"repository:library/busybox:pull\"",
                NULL));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(c[0].scheme, "bearer");
        ASSERT_STREQ(c[0].realm, "https://auth.docker.io/token");
        ASSERT_STREQ(c[0].service, "registry.docker.io");
        ASSERT_STREQ(c[0].scope, "repository:library/busybox:pull");
        ASSERT_NULL(c[0].error);
        mx_registry__challenges_free(c, 16);
}

MX_TEST(challenge_basic_and_case)
{
        mx_reg_challenge *c = NULL;
        size_t n = 0;

        ASSERT_OK(mx_registry__parse_challenges(&c, &n, "BASIC realm=\"Registry Realm\"", NULL));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(c[0].scheme, "basic");
        ASSERT_STREQ(c[0].realm, "Registry Realm");
        mx_registry__challenges_free(c, 16);
}

MX_TEST(challenge_several_and_escapes)
{
        mx_reg_challenge *c = NULL;
        size_t n = 0;

        ASSERT_OK(mx_registry__parse_challenges(
                &c, &n,
                "Negotiate abc==, Bearer realm=\"http://x/t\\\"q\", error=insufficient_scope , "
                "Basic realm=r",
                NULL));
        ASSERT_EQ(n, 3);
        ASSERT_STREQ(c[0].scheme, "negotiate");
        ASSERT_STREQ(c[1].scheme, "bearer");
        ASSERT_STREQ(c[1].realm, "http://x/t\"q");
        ASSERT_STREQ(c[1].error, "insufficient_scope");
        ASSERT_STREQ(c[2].scheme, "basic");
        ASSERT_STREQ(c[2].realm, "r");
        mx_registry__challenges_free(c, 16);
}

MX_TEST(challenge_malformed)
{
        mx_reg_challenge *c = NULL;
        mx_error *err = NULL;
        size_t n = 0;
        static const char *const bad[] = {
                "",
                "   ",
                "Bearer realm=\"unterminated",
                "Bearer realm=",
                "=x",
                "Bearer realm=\"a\" realm2",
                "Bearer realm=\"a\", realm=\"b\"",
                "Bea rer@",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_ERR(mx_registry__parse_challenges(&c, &n, bad[i], &err), MX_EFORMAT);
                ASSERT_EQ(err->domain, MX_D_REGISTRY);
                ASSERT_NULL(c);
                mx_error_free(err);
                err = NULL;
        }
        /* too long */
        {
                char *big = malloc(9000);

                memset(big, 'a', 8999);
                big[8999] = '\0';
                ASSERT_ERR(mx_registry__parse_challenges(&c, &n, big, NULL), MX_EFORMAT);
                free(big);
        }
}

MX_TEST(token_response)
{
        char *tok = NULL;
        long exp = 0;
        mx_error *err = NULL;
        const char *a =
                "{\"token\":\"abc\",\"expires_in\":300,\"issued_at\":\"2020-01-01T00:00:00Z\"}";
        const char *b = "{\"access_token\":\"xyz\"}";
        const char *c = "{\"token\":\"\",\"access_token\":\"q\",\"expires_in\":5}";

        ASSERT_OK(mx_registry__parse_token_response(&tok, &exp, a, strlen(a), NULL));
        ASSERT_STREQ(tok, "abc");
        ASSERT_EQ(exp, 300);
        free(tok);
        ASSERT_OK(mx_registry__parse_token_response(&tok, &exp, b, strlen(b), NULL));
        ASSERT_STREQ(tok, "xyz");
        ASSERT_EQ(exp, 60);
        free(tok);
        ASSERT_OK(mx_registry__parse_token_response(&tok, &exp, c, strlen(c), NULL));
        ASSERT_STREQ(tok, "q");
        ASSERT_EQ(exp, 60); /* below the spec's minimum: raised */
        free(tok);
        tok = NULL;
        ASSERT_ERR(mx_registry__parse_token_response(&tok, &exp, "{}", 2, &err), MX_EFORMAT);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NULL(tok);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_registry__parse_token_response(&tok, &exp, "nope", 4, &err), MX_EFORMAT);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NOT_NULL(err->cause);
        mx_error_free(err);
}

MX_TEST(base64_round_trip)
{
        char *e = mx_registry__base64_encode("user:pa:ss", 10);
        char *d = NULL;
        size_t len = 0;

        ASSERT_STREQ(e, "dXNlcjpwYTpzcw==");
        ASSERT_OK(mx_registry__base64_decode(&d, &len, e));
        ASSERT_EQ(len, 10);
        ASSERT_STREQ(d, "user:pa:ss");
        free(d);
        free(e);
        ASSERT_ERR(mx_registry__base64_decode(&d, &len, "abc"), MX_EFORMAT);
        ASSERT_ERR(mx_registry__base64_decode(&d, &len, "ab!="), MX_EFORMAT);
}

MX_TEST(link_next)
{
        char *n = mx_registry__link_next("</v2/x/tags/list?last=b&n=2>; rel=\"next\"");

        ASSERT_STREQ(n, "/v2/x/tags/list?last=b&n=2");
        free(n);
        n = mx_registry__link_next("<http://a/prev>; rel=\"prev\", <http://a/next>; rel=\"next\"");
        ASSERT_STREQ(n, "http://a/next");
        free(n);
        ASSERT_NULL(mx_registry__link_next("<http://a/prev>; rel=\"prev\""));
        ASSERT_NULL(mx_registry__link_next("garbage"));
        ASSERT_NULL(mx_registry__link_next(""));
}

MX_TEST(retry_after)
{
        ASSERT_EQ(mx_registry__parse_retry_after("3"), 3);
        ASSERT_EQ(mx_registry__parse_retry_after(" 120\r\n"), 120);
        ASSERT_EQ(mx_registry__parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
        ASSERT_EQ(mx_registry__parse_retry_after("-1"), -1);
        ASSERT_EQ(mx_registry__parse_retry_after(NULL), -1);
}

MX_TEST(mask_authorization)
{
        char out[256];

        mx_registry__mask_header(out, sizeof(out), "Authorization: Bearer eyJhbGciOi.secret");
        ASSERT_STREQ(out, "Authorization: Bearer ***");
        ASSERT_TRUE(strstr(out, "secret") == NULL);
        mx_registry__mask_header(out, sizeof(out), "authorization: Basic dXNlcjpwYXNz");
        ASSERT_STREQ(out, "authorization: Basic ***");
        mx_registry__mask_header(out, sizeof(out), "Proxy-Authorization: Basic abc");
        ASSERT_STREQ(out, "Proxy-Authorization: Basic ***");
        mx_registry__mask_header(out, sizeof(out),
                                 "h2h3 [authorization: Basic YWxpY2U6czNjcmV0LVBhNTU=]");
        ASSERT_STREQ(out, "h2h3 [authorization: Basic ***]");
        mx_registry__mask_header(out, sizeof(out),
                                 "grant_type=refresh_token&refresh_token=SECRET&service=x");
        ASSERT_STREQ(out, "grant_type=refresh_token&refresh_token=***&service=x");
        mx_registry__mask_header(out, sizeof(out), "Accept: */*");
        ASSERT_STREQ(out, "Accept: */*");
}

MX_TEST(registry_error_codes)
{
        char buf[64];
        const char *body = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name "
                           "not known to registry\"}]}";

        ASSERT_STREQ(mx_registry__error_code(body, strlen(body), buf, sizeof(buf)), "NAME_UNKNOWN");
        ASSERT_NULL(mx_registry__error_code("<html>", 6, buf, sizeof(buf)));
        ASSERT_NULL(mx_registry__error_code("{\"errors\":[]}", 13, buf, sizeof(buf)));
}

MX_TEST(status_errors_are_distinct)
{
        mx_reg_req q = {0};
        mx_error *err = NULL;
        static char name[] = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}";
        static char man[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}";

        q.status = 401;
        ASSERT_ERR(mx_registry__status_error(&q, "get", &err), MX_EAUTH);
        ASSERT_EQ(err->http_status, 401);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        mx_error_free(err);
        err = NULL;
        q.status = 404;
        q.resp.ptr = name;
        q.resp.len = strlen(name);
        ASSERT_ERR(mx_registry__status_error(&q, "get", &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "repository not found") != NULL);
        mx_error_free(err);
        err = NULL;
        q.resp.ptr = man;
        q.resp.len = strlen(man);
        ASSERT_ERR(mx_registry__status_error(&q, "get", &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "manifest not found") != NULL);
        mx_error_free(err);
        err = NULL;
        q.resp.ptr = NULL;
        q.resp.len = 0;
        q.status = 503;
        q.attempts = 5;
        ASSERT_ERR(mx_registry__status_error(&q, "get", &err), MX_ENET);
        ASSERT_EQ(err->http_status, 503);
        mx_error_free(err);
}
