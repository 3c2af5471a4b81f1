/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials: Docker config, podman auth.json, credential helpers, login/logout files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fs.h"
#include "registry/registry-internal.h"
#include "tap.h"

static char *write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
        char *p = NULL;
        FILE *f;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        f = fopen(p, "we");
        ASSERT_NOT_NULL(f);
        fputs(text, f);
        fclose(f);
        chmod(p, mode);
        return p;
}

MX_TEST(docker_config_auths)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_creds c = {0};
        /* dXNlcjpwYTpzcw== is user:pa:ss */
        char *p = write_file(dir, "config.json",
                             "{\"auths\": {\"https://127.0.0.1:5001/v1/\": {\"auth\": "
                             "\"dXNlcjpwYTpzcw==\"}, \"reg.io\": {\"auth\": \"\", "
                             "\"identitytoken\": \"refresh\"}, \"https://index.docker.io/v1/\":"
                             " {\"auth\": \"aHViOmh1YnBhc3M=\"}}}",
                             0600);

        ASSERT_OK(mx_registry__creds_from_file(&c, p, "127.0.0.1:5001", 0, NULL));
        ASSERT_STREQ(c.username, "user");
        ASSERT_STREQ(c.password, "pa:ss");
        mx_registry__creds_clear(&c);
        ASSERT_OK(mx_registry__creds_from_file(&c, p, "reg.io", 0, NULL));
        ASSERT_NULL(c.username);
        ASSERT_STREQ(c.identity_token, "refresh");
        mx_registry__creds_clear(&c);
        ASSERT_OK(mx_registry__creds_from_file(&c, p, "docker.io", 0, NULL));
        ASSERT_STREQ(c.username, "hub");
        mx_registry__creds_clear(&c);
        /* a host that is a prefix of a key does not match */
        ASSERT_OK(mx_registry__creds_from_file(&c, p, "127.0.0.1:500", 0, NULL));
        ASSERT_NULL(c.username);
        free(p);
}

MX_TEST(docker_config_errors)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_creds c = {0};
        mx_error *err = NULL;
        char *p = write_file(dir, "bad.json", "{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}",
                             0600);

        /* "nocolon" */
        ASSERT_ERR(mx_registry__creds_from_file(&c, p, "h", 0, &err), MX_EFORMAT);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NULL(c.username);
        /* the secret does not leak into the message */
        ASSERT_TRUE(strstr(err->message, "nocolon") == NULL);
        mx_error_free(err);
        free(p);
}

MX_TEST(podman_auth_json_lookup)
{
        const char *dir = mx_tap_tmpdir();
        char *p = write_file(dir, "auth.json",
                             "{\"auths\": {\"reg.lan:5000\": {\"auth\": \"cG9kOm1hbg==\"}}}", 0600);
        char cfgdir[512];
        mx_reg_creds c = {0};

        /* an empty Docker config dir, and REGISTRY_AUTH_FILE pointing at podman's file */
        snprintf(cfgdir, sizeof(cfgdir), "%s/docker", dir);
        ASSERT_OK(mx_fs_mkdir_p(cfgdir, 0700, NULL));
        setenv("DOCKER_CONFIG", cfgdir, 1);
        setenv("REGISTRY_AUTH_FILE", p, 1);
        unsetenv("XDG_RUNTIME_DIR");
        ASSERT_OK(mx_registry__creds_lookup(&c, "reg.lan:5000", NULL));
        ASSERT_STREQ(c.username, "pod");
        ASSERT_STREQ(c.password, "man");
        mx_registry__creds_clear(&c);
        unsetenv("REGISTRY_AUTH_FILE");
        /* ${XDG_RUNTIME_DIR}/containers/auth.json */
        {
                char xdg[512], cont[600];

                snprintf(xdg, sizeof(xdg), "%s/run", dir);
                snprintf(cont, sizeof(cont), "%s/containers", xdg);
                ASSERT_OK(mx_fs_mkdir_p(cont, 0700, NULL));
                free(write_file(cont, "auth.json",
                                "{\"auths\": {\"reg.lan:5000\": {\"auth\": \"eDp5\"}}}", 0600));
                setenv("XDG_RUNTIME_DIR", xdg, 1);
                ASSERT_OK(mx_registry__creds_lookup(&c, "reg.lan:5000", NULL));
                ASSERT_STREQ(c.username, "x");
                ASSERT_STREQ(c.password, "y");
                mx_registry__creds_clear(&c);
                unsetenv("XDG_RUNTIME_DIR");
        }
        unsetenv("DOCKER_CONFIG");
        free(p);
}

/* A credential helper in a directory put first on PATH: keeps logins in a file. */
static void install_helper(const char *dir)
{
        char *path = NULL;
        const char *old = getenv("PATH");
        char *script = write_file(
                dir, "docker-credential-mxtest",
                "#!/bin/sh\n"
                "store=\"$(dirname \"$0\")/helper-store\"\n"
                "case \"$1\" in\n"
                "get) read -r server; if [ -f \"$store\" ] && grep -q \"\\\"$server\\\"\" "
                "\"$store\"; then cat \"$store\"; else echo 'credentials not found in native "
                "keychain'; exit 1; fi;;\n"
                "store) cat > \"$store\";;\n"
                "erase) read -r server; rm -f \"$store\";;\n"
                "*) exit 2;;\n"
                "esac\n",
                0755);

        free(script);
        ASSERT_TRUE(asprintf(&path, "%s:%s", dir, old ? old : "/usr/bin:/bin") > 0);
        setenv("PATH", path, 1);
        free(path);
}

MX_TEST(credential_helper_protocol)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_creds c = {0};
        char store[512];
        mx_buf b = MX_BUF_INIT;

        install_helper(dir);
        /* nothing stored: "credentials not found" is no credentials, not an error */
        ASSERT_OK(mx_registry__helper_get(&c, "mxtest", "reg.lan:5000", NULL));
        ASSERT_NULL(c.username);
        ASSERT_OK(mx_registry__helper_store("mxtest", "reg.lan:5000", "alice", "s3cret", NULL));
        snprintf(store, sizeof(store), "%s/helper-store", dir);
        ASSERT_OK(mx_buf_read_file(&b, store, 4096, NULL));
        ASSERT_TRUE(strstr(b.ptr, "\"ServerURL\":\"reg.lan:5000\"") != NULL);
        mx_buf_clear(&b);
        ASSERT_OK(mx_registry__helper_get(&c, "mxtest", "reg.lan:5000", NULL));
        ASSERT_STREQ(c.username, "alice");
        ASSERT_STREQ(c.password, "s3cret");
        mx_registry__creds_clear(&c);
        ASSERT_OK(mx_registry__helper_erase("mxtest", "reg.lan:5000", NULL));
        ASSERT_EQ(mx_fs_exists(store), 0);
}

MX_TEST(credential_helper_missing)
{
        mx_reg_creds c = {0};
        mx_error *err = NULL;

        ASSERT_ERR(mx_registry__helper_get(&c, "does-not-exist-xyz", "h", &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NOT_NULL(err->cause);
        mx_error_free(err);
}

MX_TEST(config_uses_cred_helpers)
{
        const char *dir = mx_tap_tmpdir();
        mx_reg_creds c = {0};
        char *p;

        install_helper(dir);
        p = write_file(dir, "config.json",
                       "{\"credHelpers\": {\"reg.lan:5000\": \"mxtest\"}, \"auths\": {}}", 0600);
        /* login through the helper, then look up through the config */
        ASSERT_OK(mx_registry__config_store_login(p, "reg.lan:5000", "bob", "pw", NULL));
        ASSERT_OK(mx_registry__creds_from_file(&c, p, "reg.lan:5000", 1, NULL));
        ASSERT_STREQ(c.username, "bob");
        ASSERT_STREQ(c.password, "pw");
        mx_registry__creds_clear(&c);
        {
                mx_buf b = MX_BUF_INIT;

                /* the secret went to the helper, not into the file */
                ASSERT_OK(mx_buf_read_file(&b, p, 65536, NULL));
                ASSERT_TRUE(strstr(b.ptr, "cHc") == NULL && strstr(b.ptr, "bob") == NULL);
                mx_buf_clear(&b);
        }
        ASSERT_OK(mx_registry__config_store_login(p, "reg.lan:5000", NULL, NULL, NULL));
        ASSERT_OK(mx_registry__creds_from_file(&c, p, "reg.lan:5000", 1, NULL));
        ASSERT_NULL(c.username);
        free(p);
}

MX_TEST(login_writes_auths_0600)
{
        const char *dir = mx_tap_tmpdir();
        char path[512];
        struct stat st;
        mx_reg_creds c = {0};
        mx_buf b = MX_BUF_INIT;
        mx_error *err = NULL;
        char *p = write_file(dir, "config.json", "{\"psFormat\": \"table\"}", 0644);

        snprintf(path, sizeof(path), "%s/new/sub/config.json", dir);
        ASSERT_OK(mx_registry__config_store_login(path, "127.0.0.1:5001", "u", "p:w", NULL));
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(mx_registry__creds_from_file(&c, path, "127.0.0.1:5001", 1, NULL));
        ASSERT_STREQ(c.username, "u");
        ASSERT_STREQ(c.password, "p:w");
        mx_registry__creds_clear(&c);

        /* an existing file keeps its other keys and becomes 0600 */
        ASSERT_OK(mx_registry__config_store_login(p, "docker.io", "hub", "x", NULL));
        ASSERT_EQ(stat(p, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(mx_buf_read_file(&b, p, 65536, NULL));
        ASSERT_TRUE(strstr(b.ptr, "\"psFormat\": \"table\"") != NULL);
        ASSERT_TRUE(strstr(b.ptr, "https://index.docker.io/v1/") != NULL);
        mx_buf_clear(&b);

        /* logout removes it; a second logout says there was nothing */
        ASSERT_OK(mx_registry__config_store_login(p, "docker.io", NULL, NULL, NULL));
        ASSERT_OK(mx_registry__creds_from_file(&c, p, "docker.io", 1, NULL));
        ASSERT_NULL(c.username);
        ASSERT_ERR(mx_registry__config_store_login(p, "docker.io", NULL, NULL, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        mx_error_free(err);
        free(p);
}
