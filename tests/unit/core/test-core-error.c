/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>

#include "core/error-internal.h"
#include "tap.h"

static int inner(mx_error **err)
{
        errno = ENOENT;
        return mx_error_errno(err, MX_D_SYS, "open '%s'", "/nope");
}

static int outer(mx_error **err)
{
        int r = inner(err);

        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "fetch layer '%s'", "sha256:x");
        return 0;
}

MX_TEST(wrap_keeps_code_and_chain)
{
        cleanup(mx_error_freep) mx_error *err = NULL;
        cleanup_free char *line = NULL;

        ASSERT_ERR(outer(&err), MX_ENOTFOUND);
        ASSERT_EQ(err->code, MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_NOT_NULL(err->cause);
        ASSERT_EQ(err->cause->domain, MX_D_SYS);
        ASSERT_EQ(err->cause->sys_errno, ENOENT);
        line = mx_error_format(err);
        ASSERT_STREQ(line, "fetch layer 'sha256:x': open '/nope': No such file or directory");
}

MX_TEST(null_err_is_allowed)
{
        ASSERT_ERR(outer(NULL), MX_ENOTFOUND);
        ASSERT_ERR(mx_error_set(NULL, MX_EINVAL, MX_D_CORE, 0, "x"), MX_EINVAL);
}

MX_TEST(oom_is_static_and_wrappable)
{
        mx_error *err = NULL;

        ASSERT_ERR(mx_error_oom(&err), MX_ENOMEM);
        ASSERT_ERR(mx_error_wrap(&err, MX_D_STORE, "x"), MX_ENOMEM);
        mx_error_free(err);
        mx_error_free(err); /* the static error is never freed, so twice is harmless */
}

MX_TEST(set_replaces_previous_error)
{
        cleanup(mx_error_freep) mx_error *err = NULL;

        (void)mx_error_set(&err, MX_EIO, MX_D_CORE, 0, "first");
        (void)mx_error_set(&err, MX_EINVAL, MX_D_STORE, 0, "second %d", 2);
        ASSERT_STREQ(err->message, "second 2");
        ASSERT_NULL(err->cause);
}
