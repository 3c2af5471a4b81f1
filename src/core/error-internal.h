/* SPDX-License-Identifier: Apache-2.0 */
/* Building and wrapping error chains inside the library. */
#ifndef MX_CORE_ERROR_INTERNAL_H
#define MX_CORE_ERROR_INTERNAL_H

#include <myrmex/error.h>

#include "cleanup.h"

MX_DEFINE_FREEP(mx_error, mx_error_free)

/* Fill *err with a new error; returns code (negative) so callers can `return mx_error_set(..)`. */
int mx_error_set(mx_error **err, int code, mx_domain domain, int sys_errno, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Like mx_error_set with sys_errno = errno and the code derived from errno;
 * the message gets ": strerror(errno)" appended. */
int mx_error_errno(mx_error **err, mx_domain domain, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Same with an explicit errno value. */
int mx_error_errno_val(mx_error **err, int errnum, mx_domain domain, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Put a new node on top of *err keeping its code; returns that code. When *err is NULL
 * (the callee did not fill it, or err itself is NULL) it returns MX_EFAIL or the code of
 * the existing chain. */
int mx_error_wrap(mx_error **err, mx_domain domain, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Same but with a new code on purpose (say why at the call site). */
int mx_error_wrap_code(mx_error **err, int code, mx_domain domain, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Record the HTTP status on the outermost node. */
void mx_error_set_http(mx_error **err, int status);

/* The static out-of-memory error; never allocates. */
int mx_error_oom(mx_error **err);

/* Map errno to an MX_E* code. */
int mx_code_from_errno(int errnum);

/* Take the chain out of *src into *dst (freeing whatever was in *dst). */
void mx_error_move(mx_error **dst, mx_error **src);

/* The innermost error in the chain. */
const mx_error *mx_error_root(const mx_error *err);

#endif
