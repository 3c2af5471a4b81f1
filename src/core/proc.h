/* SPDX-License-Identifier: Apache-2.0 */
/* Running helper programs (runtimes, plugins, credential helpers) with captured output. */
#ifndef MX_CORE_PROC_H
#define MX_CORE_PROC_H

#include <stddef.h>

#include <myrmex/error.h>

#include "buf.h"

typedef struct mx_proc_opts {
        char *const *env;       /* NULL: inherit */
        const char *cwd;        /* NULL: inherit */
        const void *stdin_data; /* written to the child's stdin, then closed; NULL: /dev/null */
        size_t stdin_len;
        mx_buf *stdout_buf; /* NULL: /dev/null */
        mx_buf *stderr_buf; /* NULL: /dev/null */
        int timeout_ms;     /* 0: none; the child is killed when it passes */
} mx_proc_opts;

/* Run argv[0] (looked up in PATH when it has no '/') and wait. *status_out gets the exit
 * code, or 128+signal. Fails only when the program could not be run or timed out. */
int mx_proc_run(const char *const *argv, const mx_proc_opts *opts, int *status_out, mx_error **err);

/* Find an executable in PATH; caller frees. NULL when absent. */
char *mx_proc_which(const char *name);

#endif
