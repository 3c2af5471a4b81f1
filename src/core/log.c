/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <myrmex/error.h>
#include <myrmex/log.h>

static mx_log_handler log_handler;
static void *log_userdata;
static mx_log_level log_level = MX_LOG_WARN;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void mx_log_set_handler(mx_log_handler handler, void *userdata)
{
        log_handler = handler;
        log_userdata = userdata;
}

void mx_log_set_level(mx_log_level level)
{
        log_level = level;
}

mx_log_level mx_log_get_level(void)
{
        return log_level;
}

const char *mx_log_level_name(mx_log_level level)
{
        if ((unsigned)level > MX_LOG_TRACE)
                return "unknown";
        return level_names[level];
}

int mx_log_level_parse(const char *name, mx_log_level *out)
{
        for (unsigned i = 0; i <= MX_LOG_TRACE; i++) {
                if (strcasecmp(name, level_names[i]) == 0) {
                        *out = (mx_log_level)i;
                        return 0;
                }
        }
        if (strcasecmp(name, "warning") == 0) {
                *out = MX_LOG_WARN;
                return 0;
        }
        return MX_EINVAL;
}

void mx_log(mx_log_level level, const char *fmt, ...)
{
        char *msg = NULL;
        va_list ap;

        if (level > log_level || !log_handler)
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg)
                log_handler(level, msg, log_userdata);
        free(msg);
}
