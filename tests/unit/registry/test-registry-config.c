/* SPDX-License-Identifier: Apache-2.0 */
/* Registry configuration: mirrors, insecure registries, loopback, certificate directories. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "registry/registry-internal.h"
#include "tap.h"

static void write_file(const char *dir, const char *name, const char *text)
{
        char *p = NULL;
        FILE *f;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        f = fopen(p, "we");
        ASSERT_NOT_NULL(f);
        fputs(text, f);
        fclose(f);
        free(p);
}

MX_TEST(config_load)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_config c = {0};
        char path[512];

        write_file(dir, "config.json",
                   "{\"registry-mirrors\": [\"https://mirror.example\"], "
                   "\"insecure-registries\": [\"reg.lan:5000\", \"10.0.0.0/8\", \"http://h2\"],"
                   "\"other\": 1}");
        snprintf(path, sizeof(path), "%s/config.json", dir);
        ASSERT_OK(mx_registry__config_load(&c, path, NULL));
        ASSERT_STREQ(c.mirrors[0], "https://mirror.example");
        ASSERT_EQ(mx_registry__config_is_insecure(&c, "reg.lan:5000"), 1);
        ASSERT_EQ(mx_registry__config_is_insecure(&c, "reg.lan:5001"), 0);
        ASSERT_EQ(mx_registry__config_is_insecure(&c, "10.1.2.3:443"), 1);
        ASSERT_EQ(mx_registry__config_is_insecure(&c, "11.1.2.3"), 0);
        ASSERT_EQ(mx_registry__config_is_insecure(&c, "h2"), 1);
        mx_registry__config_clear(&c);
}

MX_TEST(config_missing_and_bad)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_config c = {0};
        mx_error *err = NULL;
        char path[512];

        snprintf(path, sizeof(path), "%s/absent.json", dir);
        ASSERT_OK(mx_registry__config_load(&c, path, NULL));
        ASSERT_NULL(c.mirrors);
        write_file(dir, "bad.json", "{\"insecure-registries\": \"x\"}");
        snprintf(path, sizeof(path), "%s/bad.json", dir);
        ASSERT_ERR(mx_registry__config_load(&c, path, &err), MX_EFORMAT);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        mx_error_free(err);
        err = NULL;
        write_file(dir, "broken.json", "{");
        snprintf(path, sizeof(path), "%s/broken.json", dir);
        ASSERT_ERR(mx_registry__config_load(&c, path, &err), MX_EFORMAT);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NOT_NULL(err->cause);
        mx_error_free(err);
}

MX_TEST(loopback)
{
        ASSERT_EQ(mx_registry__is_loopback("localhost"), 1);
        ASSERT_EQ(mx_registry__is_loopback("localhost:5001"), 1);
        ASSERT_EQ(mx_registry__is_loopback("127.0.0.1:5001"), 1);
        ASSERT_EQ(mx_registry__is_loopback("127.200.3.4"), 1);
        ASSERT_EQ(mx_registry__is_loopback("[::1]:5001"), 1);
        ASSERT_EQ(mx_registry__is_loopback("::1"), 1);
        ASSERT_EQ(mx_registry__is_loopback("128.0.0.1"), 0);
        ASSERT_EQ(mx_registry__is_loopback("docker.io"), 0);
        ASSERT_EQ(mx_registry__is_loopback("localhost.evil.com"), 0);
}

MX_TEST(certs_dir_lookup)
{
        const char *dir = mx_tap_tmpdir();
        char a[512], b[512], hp[600];
        const char *bases[] = {a, b, NULL};
        char *found = NULL;
        mx_error *err = NULL;

        snprintf(a, sizeof(a), "%s/first", dir);
        snprintf(b, sizeof(b), "%s/second", dir);
        snprintf(hp, sizeof(hp), "%s/127.0.0.1:5001", b);
        ASSERT_OK(mx_fs_mkdir_p(hp, 0755, NULL));
        ASSERT_OK(mx_registry__certs_dir_find(&found, bases, "127.0.0.1:5001", NULL));
        ASSERT_STREQ(found, hp);
        free(found);
        snprintf(hp, sizeof(hp), "%s/127.0.0.1:5001", a);
        ASSERT_OK(mx_fs_mkdir_p(hp, 0755, NULL));
        ASSERT_OK(mx_registry__certs_dir_find(&found, bases, "127.0.0.1:5001", NULL));
        ASSERT_STREQ(found, hp); /* the first base wins */
        free(found);
        ASSERT_OK(mx_registry__certs_dir_find(&found, bases, "other:1", NULL));
        ASSERT_NULL(found);
        ASSERT_ERR(mx_registry__certs_dir_find(&found, bases, "../etc", &err), MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(tls_dir_contents)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_tls t = {0};
        mx_error *err = NULL;
        char d[512], cert[600];

        snprintf(d, sizeof(d), "%s/certs", dir);
        ASSERT_OK(mx_fs_mkdir_p(d, 0755, NULL));
        write_file(d, "ca.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
        write_file(d, "b.crt", "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n");
        write_file(d, "client.cert", "CERT");
        write_file(d, "client.key", "KEY");
        ASSERT_OK(mx_registry__tls_load(&t, d, NULL));
        ASSERT_NOT_NULL(t.ca_pem);
        ASSERT_TRUE(strstr(t.ca_pem, "AAAA") != NULL);
        ASSERT_TRUE(strstr(t.ca_pem, "BBBB") != NULL);
        ASSERT_EQ(strlen(t.ca_pem), t.ca_len);
        snprintf(cert, sizeof(cert), "%s/client.cert", d);
        ASSERT_STREQ(t.client_cert, cert);
        snprintf(cert, sizeof(cert), "%s/client.key", d);
        ASSERT_STREQ(t.client_key, cert);
        mx_registry__tls_clear(&t);

        /* a certificate without its key is refused */
        write_file(d, "lonely.cert", "CERT");
        ASSERT_ERR(mx_registry__tls_load(&t, d, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NULL(t.ca_pem);
        mx_error_free(err);
        err = NULL;
        snprintf(cert, sizeof(cert), "%s/nope", dir);
        ASSERT_ERR(mx_registry__tls_load(&t, cert, &err), MX_ENOTFOUND);
        mx_error_free(err);
}
