/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include <myrmex/volume.h>

#include "cleanup.h"
#include "tap.h"

static mx_mount_spec *vol(const char *spec)
{
        mx_mount_spec *m = NULL;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_mount_parse_volume(&m, spec, &err), err);
        return m;
}

static mx_mount_spec *mnt(const char *spec)
{
        mx_mount_spec *m = NULL;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_mount_parse_mount(&m, spec, &err), err);
        return m;
}

MX_TEST(volume_named)
{
        mx_mount_spec *m = vol("data:/var/lib/data:ro");

        ASSERT_EQ(m->type, MX_MOUNT_VOLUME);
        ASSERT_STREQ(m->source, "data");
        ASSERT_STREQ(m->target, "/var/lib/data");
        ASSERT_EQ(m->read_only, 1);
        mx_mount_spec_free(m);
}

MX_TEST(volume_bind_and_anonymous)
{
        mx_mount_spec *m = vol("/srv/www:/usr/share/nginx/html:rw,rshared");

        ASSERT_EQ(m->type, MX_MOUNT_BIND);
        ASSERT_STREQ(m->source, "/srv/www");
        ASSERT_EQ(m->read_only, 0);
        ASSERT_STREQ(m->propagation, "rshared");
        mx_mount_spec_free(m);
        m = vol("/cache");
        ASSERT_EQ(m->type, MX_MOUNT_VOLUME);
        ASSERT_NULL(m->source);
        ASSERT_STREQ(m->target, "/cache");
        mx_mount_spec_free(m);
        m = vol("v1:/d:nocopy,Z");
        ASSERT_EQ(m->volume_nocopy, 1);
        ASSERT_EQ(m->selinux_relabel, 1);
        mx_mount_spec_free(m);
}

MX_TEST(volume_rejects)
{
        static const char *bad[] = {"",           "rel/path:/x", "./x:/y",       "name:relative",
                                    "v:/x:bogus", "v:/x:ro,rw",  "/h:/x:nocopy", "v:/x:rshared",
                                    "a:b:c:d:e",  "v::/x",       "-bad:/x",      "v:/",
                                    "v:/a/../b",  ":/x"};

        for (size_t i = 0; i < MX_ARRAY_SIZE(bad); i++) {
                mx_mount_spec *m = NULL;
                mx_error *err = NULL;

                ASSERT_ERR(mx_mount_parse_volume(&m, bad[i], &err), MX_EINVAL);
                ASSERT_NULL(m);
                ASSERT_EQ(err->domain, MX_D_RUNTIME);
                mx_error_free(err);
        }
}

MX_TEST(mount_types)
{
        mx_mount_spec *m =
                mnt("type=bind,source=/etc,target=/host-etc,readonly,bind-propagation=rslave");

        ASSERT_EQ(m->type, MX_MOUNT_BIND);
        ASSERT_STREQ(m->source, "/etc");
        ASSERT_STREQ(m->target, "/host-etc");
        ASSERT_EQ(m->read_only, 1);
        ASSERT_STREQ(m->propagation, "rslave");
        mx_mount_spec_free(m);

        m = mnt("type=volume,src=cache,dst=/cache,volume-nocopy=true,ro=false");
        ASSERT_EQ(m->type, MX_MOUNT_VOLUME);
        ASSERT_STREQ(m->source, "cache");
        ASSERT_EQ(m->volume_nocopy, 1);
        ASSERT_EQ(m->read_only, 0);
        mx_mount_spec_free(m);

        m = mnt("type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1770");
        ASSERT_EQ(m->type, MX_MOUNT_TMPFS);
        ASSERT_EQ(m->tmpfs_size, 64ull << 20);
        ASSERT_EQ(m->tmpfs_mode, 01770);
        mx_mount_spec_free(m);

        m = mnt("target=/anon");
        ASSERT_EQ(m->type, MX_MOUNT_VOLUME);
        ASSERT_NULL(m->source);
        mx_mount_spec_free(m);
}

MX_TEST(mount_rejects)
{
        static const char *bad[] = {"type=nfs,target=/x",
                                    "type=bind,target=/x",
                                    "type=bind,source=rel,target=/x",
                                    "type=tmpfs,source=/x,target=/y",
                                    "type=volume,source=v,target=/x,bind-propagation=shared",
                                    "type=volume,source=v,target=/x,tmpfs-size=1m",
                                    "type=tmpfs,target=/x,tmpfs-size=lots",
                                    "type=tmpfs,target=/x,tmpfs-mode=999",
                                    "type=volume,source=v",
                                    "type=volume,source=v,target=/x,readonly=maybe",
                                    "type=volume,source=v,target=/x,colour=blue",
                                    "type=bind,source=/a,target=relative"};

        for (size_t i = 0; i < MX_ARRAY_SIZE(bad); i++) {
                mx_mount_spec *m = NULL;
                mx_error *err = NULL;

                ASSERT_ERR(mx_mount_parse_mount(&m, bad[i], &err), MX_EINVAL);
                ASSERT_NULL(m);
                ASSERT_TRUE(err->message != NULL);
                mx_error_free(err);
        }
}

MX_TEST(mount_seed_shapes)
{
        mx_mount_spec **v = NULL;
        size_t n = 0;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_mount_parse_seed(&v, &n,
                                        "{\"/srv/www\": {\"bind\": \"/usr/share/html\", \"mode\": "
                                        "\"ro\"}, \"data\": {\"bind\": \"/data\", \"mode\": "
                                        "\"rw\"}, \"/etc/x\": \"/x\"}",
                                        &err),
                    err);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(v[0]->type, MX_MOUNT_BIND);
        ASSERT_STREQ(v[0]->target, "/usr/share/html");
        ASSERT_EQ(v[0]->read_only, 1);
        ASSERT_EQ(v[1]->type, MX_MOUNT_VOLUME);
        ASSERT_STREQ(v[1]->source, "data");
        ASSERT_EQ(v[1]->read_only, 0);
        ASSERT_EQ(v[2]->type, MX_MOUNT_BIND);
        ASSERT_STREQ(v[2]->target, "/x");
        for (size_t i = 0; i < n; i++)
                mx_mount_spec_free(v[i]);
        free(v);
        ASSERT_OK(mx_mount_parse_seed(&v, &n, "[\"/anon\", \"named:/d:ro\"]", &err));
        ASSERT_EQ(n, 2);
        ASSERT_NULL(v[0]->source);
        ASSERT_STREQ(v[1]->source, "named");
        for (size_t i = 0; i < n; i++)
                mx_mount_spec_free(v[i]);
        free(v);
        v = NULL;
        ASSERT_ERR(mx_mount_parse_seed(&v, &n, "{\"/h\": {\"mode\": \"ro\"}}", &err), MX_EFORMAT);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_mount_parse_seed(&v, &n, "{\"/h\": {\"bind\": \"rel\"}}", &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_mount_parse_seed(&v, &n, "7", &err), MX_EFORMAT);
        mx_error_free(err);
        ASSERT_NULL(v);
}
