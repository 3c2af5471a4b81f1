/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/common.h>
#include <myrmex/error.h>

#include "buf.h"
#include "error-internal.h"

/* Returned when allocation fails; recognised by address so it is never freed. */
static char oom_message[] = "out of memory";
static mx_error oom_error = {
        .code = MX_ENOMEM,
        .domain = MX_D_SYS,
        .sys_errno = ENOMEM,
        .message = oom_message,
};

/* The code of the last error raised on this thread, so that mx_error_wrap() keeps the code
 * also for callers that passed no err at all. */
static __thread int last_code = MX_EFAIL;

void mx_free(void *ptr)
{
        free(ptr);
}

void mx_error_free(mx_error *err)
{
        while (err && err != &oom_error) {
                mx_error *cause = err->cause;

                free(err->message);
                free(err);
                err = cause;
        }
}

int mx_error_oom(mx_error **err)
{
        last_code = MX_ENOMEM;
        if (err) {
                mx_error_free(*err);
                *err = &oom_error;
        }
        return MX_ENOMEM;
}

int mx_code_from_errno(int errnum)
{
        switch (errnum) {
        case ENOMEM:
                return MX_ENOMEM;
        case ENOENT:
        case ENOTDIR:
                return MX_ENOTFOUND;
        case EEXIST:
        case ENOTEMPTY:
                return MX_EEXISTS;
        case EINVAL:
                return MX_EINVAL;
        case EACCES:
        case EPERM:
        case EROFS:
                return MX_EDENIED;
        case EBUSY:
                return MX_EBUSY;
        case ETIMEDOUT:
                return MX_ETIMEOUT;
        case EFBIG:
        case ENOSPC:
        case E2BIG:
                return MX_ETOOBIG;
        case ECANCELED:
                return MX_ECANCELED;
        case ECONNREFUSED:
        case ECONNRESET:
        case ENETUNREACH:
        case EHOSTUNREACH:
                return MX_ENET;
        default:
                return MX_EIO;
        }
}

static mx_error *error_new(int code, mx_domain domain, int sys_errno, char *message)
{
        mx_error *e = calloc(1, sizeof(*e));

        if (!e)
                return NULL;
        e->code = code;
        e->domain = domain;
        e->sys_errno = sys_errno;
        e->message = message;
        return e;
}

__attribute__((format(printf, 6, 0))) static int push(mx_error **err, int code, mx_domain domain,
                                                      int sys_errno, const char *suffix,
                                                      const char *fmt, va_list ap)
{
        char *msg = NULL;
        mx_error *e;

        last_code = code;
        if (!err)
                return code;
        if (vasprintf(&msg, fmt, ap) < 0)
                return mx_error_oom(err);
        if (suffix) {
                char *full = NULL;

                if (asprintf(&full, "%s: %s", msg, suffix) < 0) {
                        free(msg);
                        return mx_error_oom(err);
                }
                free(msg);
                msg = full;
        }
        e = error_new(code, domain, sys_errno, msg);
        if (!e) {
                free(msg);
                return mx_error_oom(err);
        }
        /* A chain that ended in the static OOM error keeps it as its innermost cause. */
        e->cause = *err;
        *err = e;
        return code;
}

int mx_error_set(mx_error **err, int code, mx_domain domain, int sys_errno, const char *fmt, ...)
{
        va_list ap;
        int r;

        if (err) {
                mx_error_free(*err);
                *err = NULL;
        }
        va_start(ap, fmt);
        r = push(err, code, domain, sys_errno, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int mx_error_errno_val(mx_error **err, int errnum, mx_domain domain, const char *fmt, ...)
{
        va_list ap;
        int r;

        if (err) {
                mx_error_free(*err);
                *err = NULL;
        }
        va_start(ap, fmt);
        r = push(err, mx_code_from_errno(errnum), domain, errnum, strerror(errnum), fmt, ap);
        va_end(ap);
        return r;
}

int mx_error_errno(mx_error **err, mx_domain domain, const char *fmt, ...)
{
        int errnum = errno;
        va_list ap;
        int r;

        if (err) {
                mx_error_free(*err);
                *err = NULL;
        }
        va_start(ap, fmt);
        r = push(err, mx_code_from_errno(errnum), domain, errnum, strerror(errnum), fmt, ap);
        va_end(ap);
        return r;
}

int mx_error_wrap(mx_error **err, mx_domain domain, const char *fmt, ...)
{
        int code = (err && *err) ? (*err)->code : last_code;
        va_list ap;
        int r;

        if (err && *err == &oom_error)
                return MX_ENOMEM;
        va_start(ap, fmt);
        r = push(err, code, domain, 0, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int mx_error_wrap_code(mx_error **err, int code, mx_domain domain, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = push(err, code, domain, 0, NULL, fmt, ap);
        va_end(ap);
        return r;
}

void mx_error_set_http(mx_error **err, int status)
{
        if (err && *err && *err != &oom_error)
                (*err)->http_status = status;
}

void mx_error_move(mx_error **dst, mx_error **src)
{
        if (!dst) {
                if (src) {
                        mx_error_free(*src);
                        *src = NULL;
                }
                return;
        }
        mx_error_free(*dst);
        *dst = src ? *src : NULL;
        if (src)
                *src = NULL;
}

const mx_error *mx_error_root(const mx_error *err)
{
        while (err && err->cause)
                err = err->cause;
        return err;
}

char *mx_error_format(const mx_error *err)
{
        mx_buf b = MX_BUF_INIT;

        if (!err)
                return NULL;
        for (; err; err = err->cause) {
                if (mx_buf_puts(&b, err->message ? err->message : mx_code_name(err->code)) < 0 ||
                    (err->cause && mx_buf_puts(&b, ": ") < 0)) {
                        mx_buf_clear(&b);
                        return NULL;
                }
        }
        return mx_buf_detach(&b);
}

const char *mx_domain_name(mx_domain domain)
{
        static const char *const names[] = {
                [MX_D_NONE] = "none",         [MX_D_SYS] = "system",
                [MX_D_CORE] = "core",         [MX_D_STORE] = "store",
                [MX_D_IMAGE] = "image",       [MX_D_BUILD] = "build",
                [MX_D_RUNTIME] = "runtime",   [MX_D_KUBE] = "kube",
                [MX_D_SCAN] = "scan",         [MX_D_REGISTRY] = "registry",
                [MX_D_OPTIMIZE] = "optimize", [MX_D_NETWORK] = "network",
        };

        if ((unsigned)domain >= sizeof(names) / sizeof(names[0]) || !names[domain])
                return "unknown";
        return names[domain];
}

const char *mx_code_name(int code)
{
        switch (code) {
        case MX_OK:
                return "success";
        case MX_EFAIL:
                return "failed";
        case MX_ENOMEM:
                return "out of memory";
        case MX_EINVAL:
                return "invalid argument";
        case MX_ENOTFOUND:
                return "not found";
        case MX_EEXISTS:
                return "already exists";
        case MX_EIO:
                return "i/o error";
        case MX_EDIGEST:
                return "digest mismatch";
        case MX_EFORMAT:
                return "malformed input";
        case MX_EUNSUPPORTED:
                return "not supported";
        case MX_EBUSY:
                return "in use";
        case MX_EAMBIGUOUS:
                return "ambiguous";
        case MX_EAUTH:
                return "authentication failed";
        case MX_ENET:
                return "network error";
        case MX_ETIMEOUT:
                return "timed out";
        case MX_EUNSAFE:
                return "unsafe";
        case MX_ECORRUPT:
                return "store inconsistent";
        case MX_EDENIED:
                return "permission denied";
        case MX_ECANCELED:
                return "canceled";
        case MX_ETOOBIG:
                return "too big";
        case MX_ETLS:
                return "tls verification failed";
        default:
                return "unknown error";
        }
}
