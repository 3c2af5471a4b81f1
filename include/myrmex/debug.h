/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file debug.h
 * Entry points for testing the bindings: they build errors and JSON results the way
 * capability functions do, so the Python (or any other) binding can test its error mapping
 * and calling convention without a real failure. Not for production use.
 */
#ifndef MYRMEX_DEBUG_H
#define MYRMEX_DEBUG_H

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/**
 * Fill *err with a chain of one or two errors and return code: when inner_message is
 * non-NULL, an innermost error (inner_domain, inner_code, inner_message, sys_errno
 * inner_errno) wrapped by (domain, code, message); otherwise just (domain, code, message).
 * The caller frees *err with mx_error_free().
 * @return code (which should be negative); MX_EINVAL when code >= 0 or message is NULL;
 *         MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_debug_make_error(int domain, int code, const char *message,
                                                        int inner_domain, int inner_code,
                                                        const char *inner_message, int inner_errno,
                                                        mx_error **err);

/**
 * The JSON calling convention in its simplest form: parse in_json (an object) and hand it
 * back re-serialized in *result_json, with "echo": true added.
 * @param result_json caller frees with mx_free(); written only on success.
 * @return 0; MX_EFORMAT (domain MX_D_CORE) for malformed JSON or a non-object; MX_EINVAL
 *         for NULL arguments; MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_debug_echo_json(const char *in_json, char **result_json,
                                                       mx_error **err);

MX_END_DECLS

#endif
