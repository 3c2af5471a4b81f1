/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file log.h
 * Levelled logging to a handler the application sets. The library logs only at DEBUG and
 * TRACE; everything a user must see travels in mx_error.
 */
#ifndef MYRMEX_LOG_H
#define MYRMEX_LOG_H

#include <myrmex/common.h>

MX_BEGIN_DECLS

typedef enum mx_log_level {
        MX_LOG_ERROR = 0,
        MX_LOG_WARN,
        MX_LOG_INFO,
        MX_LOG_DEBUG,
        MX_LOG_TRACE,
} mx_log_level;

typedef void (*mx_log_handler)(mx_log_level level, const char *message, void *userdata);

/** Set the handler (NULL discards everything). Not thread-safe against concurrent logging. */
MX_EXTERN void mx_log_set_handler(mx_log_handler handler, void *userdata);

/** Messages above this level are dropped before formatting. Default MX_LOG_WARN. */
MX_EXTERN void mx_log_set_level(mx_log_level level);
MX_EXTERN mx_log_level mx_log_get_level(void);

/** Parse "error", "warn", "info", "debug", "trace"; returns MX_EINVAL on anything else. */
MX_EXTERN int mx_log_level_parse(const char *name, mx_log_level *out);

MX_EXTERN const char *mx_log_level_name(mx_log_level level);

MX_EXTERN void mx_log(mx_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

MX_END_DECLS

#endif
