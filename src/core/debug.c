/* SPDX-License-Identifier: Apache-2.0 */
/* Test entry points for the bindings (include/myrmex/debug.h). */
#include <string.h>

#include <myrmex/debug.h>
#include <myrmex/error.h>

#include "error-internal.h"
#include "json.h"

int mx_debug_make_error(int domain, int code, const char *message, int inner_domain, int inner_code,
                        const char *inner_message, int inner_errno, mx_error **err)
{
        if (code >= 0 || !message)
                return mx_error_set(err, MX_EINVAL, MX_D_CORE, 0,
                                    "debug error needs a negative code and a message");
        if (!inner_message)
                return mx_error_set(err, code, (mx_domain)domain, 0, "%s", message);
        (void)mx_error_set(err, inner_code, (mx_domain)inner_domain, inner_errno, "%s",
                           inner_message);
        /* the outer node gets its own code on purpose: the test chooses both */
        return mx_error_wrap_code(err, code, (mx_domain)domain, "%s", message);
}

int mx_debug_echo_json(const char *in_json, char **result_json, mx_error **err)
{
        cleanup_json json_t *obj = NULL;
        char *out;
        int r;

        if (!in_json || !result_json)
                return mx_error_set(err, MX_EINVAL, MX_D_CORE, 0, "echo json: missing argument");
        r = mx_json_parse(&obj, in_json, strlen(in_json), 1 << 20, 1, "echo input", err);
        if (r < 0)
                return r;
        if (json_object_set_new(obj, "echo", json_true()) < 0)
                return mx_error_oom(err);
        out = mx_json_dump_ordered(obj);
        if (!out)
                return mx_error_oom(err);
        *result_json = out;
        return 0;
}
