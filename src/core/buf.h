/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer: always NUL-terminated, ptr never NULL, with a size cap. */
#ifndef MX_CORE_BUF_H
#define MX_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include <myrmex/error.h>

#include "cleanup.h"

typedef struct mx_buf {
        char *ptr;   /* never NULL; points at mx_buf__empty until the first growth */
        size_t len;  /* bytes used, not counting the NUL */
        size_t size; /* bytes allocated, 0 while ptr is the shared empty string */
        size_t cap;  /* growth past this fails with MX_ETOOBIG; 0 means the default cap */
} mx_buf;

extern char mx_buf__empty[1];

/* Default cap: 1 GiB; set .cap for anything fed from outside. */
#define MX_BUF_DEFAULT_CAP ((size_t)1 << 30)
#define MX_BUF_INIT                                                 \
        {                                                           \
                .ptr = mx_buf__empty, .len = 0, .size = 0, .cap = 0 \
        }
#define MX_BUF_INIT_CAP(c)                                            \
        {                                                             \
                .ptr = mx_buf__empty, .len = 0, .size = 0, .cap = (c) \
        }

/* Ensure room for extra more bytes; MX_ENOMEM or MX_ETOOBIG (no err: callers add context). */
int mx_buf_grow(mx_buf *b, size_t extra);
int mx_buf_put(mx_buf *b, const void *data, size_t len);
int mx_buf_puts(mx_buf *b, const char *s);
int mx_buf_putc(mx_buf *b, char c);
int mx_buf_printf(mx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mx_buf_vprintf(mx_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void mx_buf_truncate(mx_buf *b, size_t len);
/* Free the contents; the buffer is reusable (keeps its cap). */
void mx_buf_clear(mx_buf *b);
/* Take the bytes (caller frees with free()); the buffer is reset. Never NULL unless OOM. */
char *mx_buf_detach(mx_buf *b);

/* Read everything from fd (up to the buffer's cap), appending. Fills err on failure. */
int mx_buf_read_fd(mx_buf *b, int fd, mx_error **err);
/* Read a whole file, at most max bytes (MX_ETOOBIG past it). */
int mx_buf_read_file(mx_buf *b, const char *path, size_t max, mx_error **err);

static inline void mx_buf_clearp(mx_buf *b)
{
        mx_buf_clear(b);
}
#define cleanup_buf cleanup(mx_buf_clearp)

#endif
