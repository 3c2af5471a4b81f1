/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the image-format tests. */
#ifndef MX_TEST_IMAGE_FORMAT_H
#define MX_TEST_IMAGE_FORMAT_H

#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "buf.h"
#include "tap.h"

/* The bytes of tests/<rel>; *len set. Never NULL (the test fails instead). */
static inline char *fmt_slurp(const char *rel, size_t *len)
{
        mx_buf b = MX_BUF_INIT;
        mx_error *err = NULL;
        char *s;

        if (mx_buf_read_file(&b, mx_tap_data(rel), (size_t)64 << 20, &err) < 0)
                mx_tap_fail(__FILE__, __LINE__, "read '%s': %s", rel,
                            err && err->message ? err->message : "?");
        *len = b.len;
        s = mx_buf_detach(&b);
        if (!s)
                mx_tap_fail(__FILE__, __LINE__, "out of memory");
        return s;
}

/* err must hold code and domain, and its whole chain must contain every fragment. */
#define ASSERT_ERROR(err, c, dom, fragment)                                        \
        do {                                                                       \
                char *_m;                                                          \
                ASSERT_NOT_NULL(err);                                              \
                ASSERT_EQ((err)->code, (c));                                       \
                ASSERT_EQ((err)->domain, (dom));                                   \
                _m = mx_error_format(err);                                         \
                if (!_m || !strstr(_m, (fragment)))                                \
                        mx_tap_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", \
                                    _m ? _m : "(null)", (fragment));               \
                free(_m);                                                          \
        } while (0)

#endif
