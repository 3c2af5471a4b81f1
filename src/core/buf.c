/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error-internal.h"

char mx_buf__empty[1];

int mx_buf_grow(mx_buf *b, size_t extra)
{
        size_t cap = b->cap ? b->cap : MX_BUF_DEFAULT_CAP;
        size_t need, n;
        char *p;

        if (extra > cap || b->len > cap - extra)
                return MX_ETOOBIG;
        need = b->len + extra + 1;
        if (need <= b->size)
                return 0;
        n = b->size ? b->size : 64;
        while (n < need)
                n = n > SIZE_MAX / 2 ? need : n * 2;
        p = realloc(b->size ? b->ptr : NULL, n);
        if (!p)
                return MX_ENOMEM;
        if (!b->size)
                p[0] = '\0';
        b->ptr = p;
        b->size = n;
        return 0;
}

int mx_buf_put(mx_buf *b, const void *data, size_t len)
{
        int r;

        if (len == 0)
                return 0;
        r = mx_buf_grow(b, len);
        if (r < 0)
                return r;
        memcpy(b->ptr + b->len, data, len);
        b->len += len;
        b->ptr[b->len] = '\0';
        return 0;
}

int mx_buf_puts(mx_buf *b, const char *s)
{
        return mx_buf_put(b, s, strlen(s));
}

int mx_buf_putc(mx_buf *b, char c)
{
        return mx_buf_put(b, &c, 1);
}

int mx_buf_vprintf(mx_buf *b, const char *fmt, va_list ap)
{
        va_list copy;
        int n, r;

        va_copy(copy, ap);
        n = vsnprintf(NULL, 0, fmt, copy);
        va_end(copy);
        if (n < 0)
                return MX_EINVAL;
        r = mx_buf_grow(b, (size_t)n);
        if (r < 0)
                return r;
        (void)vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int mx_buf_printf(mx_buf *b, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = mx_buf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void mx_buf_truncate(mx_buf *b, size_t len)
{
        if (len >= b->len)
                return;
        b->len = len;
        b->ptr[len] = '\0';
}

void mx_buf_clear(mx_buf *b)
{
        if (b->size)
                free(b->ptr);
        b->ptr = mx_buf__empty;
        b->len = 0;
        b->size = 0;
}

char *mx_buf_detach(mx_buf *b)
{
        char *p;

        if (!b->size) {
                p = strdup("");
        } else {
                p = b->ptr;
        }
        b->ptr = mx_buf__empty;
        b->len = 0;
        b->size = 0;
        return p;
}

int mx_buf_read_fd(mx_buf *b, int fd, mx_error **err)
{
        size_t cap = b->cap ? b->cap : MX_BUF_DEFAULT_CAP;

        for (;;) {
                size_t room = cap - b->len;
                ssize_t n;
                int r;

                if (room == 0) {
                        char probe;

                        /* Exactly at the cap is fine; one byte more is not. */
                        do {
                                n = read(fd, &probe, 1);
                        } while (n < 0 && errno == EINTR);
                        if (n == 0)
                                return 0;
                        return mx_error_set(err, MX_ETOOBIG, MX_D_CORE, 0,
                                            "input larger than %zu bytes", cap);
                }
                if (room > 65536)
                        room = 65536;
                r = mx_buf_grow(b, room);
                if (r < 0)
                        return mx_error_oom(err);
                n = read(fd, b->ptr + b->len, room);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return mx_error_errno(err, MX_D_SYS, "read");
                }
                if (n == 0)
                        return 0;
                b->len += (size_t)n;
                b->ptr[b->len] = '\0';
        }
}

int mx_buf_read_file(mx_buf *b, const char *path, size_t max, mx_error **err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t saved_cap = b->cap;
        int r;

        if (fd < 0)
                return mx_error_errno(err, MX_D_SYS, "open '%s'", path);
        b->cap = max;
        r = mx_buf_read_fd(b, fd, err);
        b->cap = saved_cap;
        if (r < 0)
                return mx_error_wrap(err, MX_D_CORE, "read '%s'", path);
        return 0;
}
