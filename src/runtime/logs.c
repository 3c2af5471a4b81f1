/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container logs in Docker's json-file format: one JSON object per line,
 * {"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}, in
 * <id>-json.log with rotated files <id>-json.log.1 (newest) ... .N-1 (oldest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error-internal.h"
#include "json.h"
#include "runtime-internal.h"

#define PARTIAL_MAX 16384

int64_t mx_runtime__now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mx_runtime__rfc3339(char *buf, size_t len, int64_t ns)
{
        time_t secs = (time_t)(ns / 1000000000);
        long frac = (long)(ns % 1000000000);
        struct tm tm;
        size_t n;

        gmtime_r(&secs, &tm);
        n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
        if (frac) {
                char f[16];
                int k = snprintf(f, sizeof(f), "%09ld", frac);

                /* Go's RFC3339Nano drops trailing zeros */
                while (k > 0 && f[k - 1] == '0')
                        f[--k] = '\0';
                n += (size_t)snprintf(buf + n, len - n, ".%s", f);
        }
        snprintf(buf + n, len - n, "Z");
}

static int digits(const char *s, int n, int *out)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return 0;
}

int mx_runtime__parse_rfc3339(const char *s, int64_t *ns_out)
{
        struct tm tm = {0};
        int y, mo, d, h, mi, sec, off = 0;
        int64_t frac = 0;
        const char *p;

        if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
            s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
            digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
            digits(s + 17, 2, &sec))
                return MX_EINVAL;
        p = s + 19;
        if (*p == '.') {
                int k = 0;

                p++;
                while (*p >= '0' && *p <= '9') {
                        if (k < 9) {
                                frac = frac * 10 + (*p - '0');
                                k++;
                        }
                        p++;
                }
                while (k++ < 9)
                        frac *= 10;
        }
        if (*p == 'Z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int oh, om;

                if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
                        return MX_EINVAL;
                off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
                p += 6;
        } else {
                return MX_EINVAL;
        }
        if (*p)
                return MX_EINVAL;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        *ns_out = ((int64_t)timegm(&tm) - off) * 1000000000 + frac;
        return 0;
}

int mx_runtime__json_escape(mx_buf *b, const char *s, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        size_t start = 0;

        if (mx_buf_grow(b, len + 16) < 0)
                return MX_ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[8];
                size_t elen = 0;

                if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' &&
                    c < 0x80)
                        continue;
                if (c >= 0x80) {
                        /* keep valid UTF-8 as is; escape invalid bytes as U+FFFD */
                        size_t need = (c & 0xE0) == 0xC0   ? 2
                                      : (c & 0xF0) == 0xE0 ? 3
                                      : (c & 0xF8) == 0xF0 ? 4
                                                           : 0;
                        size_t k;

                        for (k = 1; need && k < need && i + k < len; k++) {
                                if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                                        break;
                        }
                        if (need && k == need) {
                                i += need - 1;
                                continue;
                        }
                        memcpy(esc, "\\ufffd", 6);
                        elen = 6;
                } else {
                        switch (c) {
                        case '"':
                                memcpy(esc, "\\\"", 2);
                                elen = 2;
                                break;
                        case '\\':
                                memcpy(esc, "\\\\", 2);
                                elen = 2;
                                break;
                        case '\n':
                                memcpy(esc, "\\n", 2);
                                elen = 2;
                                break;
                        case '\r':
                                memcpy(esc, "\\r", 2);
                                elen = 2;
                                break;
                        case '\t':
                                memcpy(esc, "\\t", 2);
                                elen = 2;
                                break;
                        default:
                                /* Go's encoder escapes <, >, & too (HTML-safe) */
                                esc[0] = '\\';
                                esc[1] = 'u';
                                esc[2] = '0';
                                esc[3] = '0';
                                esc[4] = hex[c >> 4];
                                esc[5] = hex[c & 15];
                                elen = 6;
                        }
                }
                if (mx_buf_put(b, s + start, i - start) < 0 || mx_buf_put(b, esc, elen) < 0)
                        return MX_ENOMEM;
                start = i + 1;
        }
        return mx_buf_put(b, s + start, len - start);
}

/* ---- writer ------------------------------------------------------------------------------ */

int mx_logw_open(mx_logw *w, const char *path, uint64_t max_size, unsigned max_files,
                 mx_error **err)
{
        struct stat st;

        memset(w, 0, sizeof(*w));
        for (int i = 0; i < 3; i++)
                w->partial[i] = (mx_buf)MX_BUF_INIT;
        w->path = strdup(path);
        if (!w->path)
                return mx_error_oom(err);
        w->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (w->fd < 0) {
                free(w->path);
                w->path = NULL;
                return mx_error_errno(err, MX_D_RUNTIME, "open log '%s'", path);
        }
        if (fstat(w->fd, &st) == 0)
                w->size = (uint64_t)st.st_size;
        w->max_size = max_size;
        w->max_files = max_files ? max_files : 1;
        return 0;
}

static void rotate(mx_logw *w)
{
        char from[4096], to[4096];

        if (w->max_files <= 1) {
                if (ftruncate(w->fd, 0) == 0)
                        w->size = 0;
                return;
        }
        for (unsigned k = w->max_files - 1; k >= 1; k--) {
                if (k == 1)
                        snprintf(from, sizeof(from), "%s", w->path);
                else
                        snprintf(from, sizeof(from), "%s.%u", w->path, k - 1);
                snprintf(to, sizeof(to), "%s.%u", w->path, k);
                (void)rename(from, to);
        }
        close(w->fd);
        w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        w->size = 0;
}

static int emit(mx_logw *w, mx_buf *out, int stream, const char *data, size_t len, const char *now)
{
        if (mx_buf_puts(out, "{\"log\":\"") < 0 || mx_runtime__json_escape(out, data, len) < 0 ||
            mx_buf_puts(out, stream == 2 ? "\",\"stream\":\"stderr\",\"time\":\""
                                         : "\",\"stream\":\"stdout\",\"time\":\"") < 0 ||
            mx_buf_puts(out, now) < 0 || mx_buf_puts(out, "\"}\n") < 0)
                return MX_ENOMEM;
        (void)w;
        return 0;
}

static int flush_out(mx_logw *w, mx_buf *out)
{
        size_t off = 0;

        while (off < out->len) {
                ssize_t n = write(w->fd, out->ptr + off, out->len - off);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return MX_EIO;
                }
                off += (size_t)n;
        }
        w->size += out->len;
        mx_buf_truncate(out, 0);
        if (w->max_size && w->size >= w->max_size)
                rotate(w);
        return 0;
}

int mx_logw_write(mx_logw *w, int stream, const char *data, size_t len)
{
        mx_buf out = MX_BUF_INIT;
        mx_buf *part = &w->partial[stream == 2 ? 2 : 1];
        char now[48];
        size_t start = 0;
        int r = 0;

        if (w->fd < 0)
                return MX_EIO;
        mx_runtime__rfc3339(now, sizeof(now), mx_runtime__now_ns());
        for (size_t i = 0; i < len; i++) {
                if (data[i] != '\n')
                        continue;
                if (part->len) {
                        if (mx_buf_put(part, data + start, i + 1 - start) < 0) {
                                r = MX_ENOMEM;
                                break;
                        }
                        r = emit(w, &out, stream, part->ptr, part->len, now);
                        mx_buf_truncate(part, 0);
                } else {
                        r = emit(w, &out, stream, data + start, i + 1 - start, now);
                }
                if (r < 0)
                        break;
                start = i + 1;
                /* flush at 64 KiB, or when the file reaches its size limit: a file holds at
                 * most max-size plus one line */
                if ((out.len > 65536 || (w->max_size && w->size + out.len >= w->max_size)) &&
                    (r = flush_out(w, &out)) < 0)
                        break;
        }
        if (r >= 0 && start < len) {
                if (mx_buf_put(part, data + start, len - start) < 0)
                        r = MX_ENOMEM;
                else if (part->len >= PARTIAL_MAX) {
                        r = emit(w, &out, stream, part->ptr, part->len, now);
                        mx_buf_truncate(part, 0);
                }
        }
        if (r >= 0 && out.len)
                r = flush_out(w, &out);
        mx_buf_clear(&out);
        return r;
}

void mx_logw_flush(mx_logw *w)
{
        char now[48];

        mx_runtime__rfc3339(now, sizeof(now), mx_runtime__now_ns());
        for (int s = 1; s <= 2; s++) {
                mx_buf out = MX_BUF_INIT;

                if (!w->partial[s].len)
                        continue;
                if (emit(w, &out, s, w->partial[s].ptr, w->partial[s].len, now) == 0)
                        (void)flush_out(w, &out);
                mx_buf_truncate(&w->partial[s], 0);
                mx_buf_clear(&out);
        }
}

void mx_logw_close(mx_logw *w)
{
        if (w->fd >= 0) {
                mx_logw_flush(w);
                close(w->fd);
        }
        w->fd = -1;
        for (int i = 0; i < 3; i++)
                mx_buf_clear(&w->partial[i]);
        free(w->path);
        w->path = NULL;
}

/* ---- reader ------------------------------------------------------------------------------ */

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static void put_utf8(mx_buf *b, unsigned cp)
{
        char u[4];

        if (cp < 0x80) {
                u[0] = (char)cp;
                (void)mx_buf_put(b, u, 1);
        } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | (cp >> 6));
                u[1] = (char)(0x80 | (cp & 0x3F));
                (void)mx_buf_put(b, u, 2);
        } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | (cp >> 12));
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F));
                (void)mx_buf_put(b, u, 3);
        } else {
                u[0] = (char)(0xF0 | (cp >> 18));
                u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[3] = (char)(0x80 | (cp & 0x3F));
                (void)mx_buf_put(b, u, 4);
        }
}

/* Decode a JSON string starting after its opening quote; returns the index after the closing
 * quote or 0 on malformed input. */
static size_t decode_string(const char *s, size_t len, size_t i, mx_buf *out)
{
        size_t start = i;

        while (i < len) {
                char c = s[i];

                if (c == '"') {
                        (void)mx_buf_put(out, s + start, i - start);
                        return i + 1;
                }
                if (c != '\\') {
                        i++;
                        continue;
                }
                (void)mx_buf_put(out, s + start, i - start);
                if (i + 1 >= len)
                        return 0;
                switch (s[i + 1]) {
                case 'n':
                        (void)mx_buf_putc(out, '\n');
                        break;
                case 't':
                        (void)mx_buf_putc(out, '\t');
                        break;
                case 'r':
                        (void)mx_buf_putc(out, '\r');
                        break;
                case 'b':
                        (void)mx_buf_putc(out, '\b');
                        break;
                case 'f':
                        (void)mx_buf_putc(out, '\f');
                        break;
                case '/':
                case '"':
                case '\\':
                        (void)mx_buf_putc(out, s[i + 1]);
                        break;
                case 'u': {
                        unsigned cp = 0;

                        if (i + 6 > len)
                                return 0;
                        for (int k = 0; k < 4; k++) {
                                int h = hexval(s[i + 2 + k]);

                                if (h < 0)
                                        return 0;
                                cp = cp * 16 + (unsigned)h;
                        }
                        i += 4;
                        if (cp >= 0xD800 && cp < 0xDC00 && i + 8 <= len && s[i + 2] == '\\' &&
                            s[i + 3] == 'u') {
                                unsigned lo = 0;
                                int ok = 1;

                                for (int k = 0; k < 4; k++) {
                                        int h = hexval(s[i + 4 + k]);

                                        if (h < 0)
                                                ok = 0;
                                        lo = lo * 16 + (unsigned)(h < 0 ? 0 : h);
                                }
                                if (ok && lo >= 0xDC00 && lo < 0xE000) {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                        i += 6;
                                }
                        }
                        put_utf8(out, cp);
                        break;
                }
                default:
                        return 0;
                }
                i += 2;
                start = i;
        }
        return 0;
}

int mx_runtime__log_parse_line(const char *line, size_t len, mx_buf *text, int *stream,
                               char *time_buf, size_t time_len)
{
        static const char p_log[] = "{\"log\":\"";
        static const char p_out[] = ",\"stream\":\"stdout\",\"time\":\"";
        static const char p_err[] = ",\"stream\":\"stderr\",\"time\":\"";
        size_t i;

        mx_buf_truncate(text, 0);
        if (len > sizeof(p_log) && memcmp(line, p_log, sizeof(p_log) - 1) == 0) {
                i = decode_string(line, len, sizeof(p_log) - 1, text);
                if (i && len - i > sizeof(p_out) - 1) {
                        const char *t;
                        const char *q;

                        if (memcmp(line + i, p_out, sizeof(p_out) - 1) == 0)
                                *stream = 1;
                        else if (memcmp(line + i, p_err, sizeof(p_err) - 1) == 0)
                                *stream = 2;
                        else
                                goto slow;
                        t = line + i + sizeof(p_out) - 1;
                        q = memchr(t, '"', len - (size_t)(t - line));
                        if (!q || (size_t)(q - t) >= time_len)
                                goto slow;
                        memcpy(time_buf, t, (size_t)(q - t));
                        time_buf[q - t] = '\0';
                        return 0;
                }
        }
slow:
        /* any other spelling of the same object (Docker's own files, key order) */
        {
                json_error_t je;
                json_t *j = json_loadb(line, len, 0, &je);
                const char *s, *st, *tm;

                mx_buf_truncate(text, 0);
                if (!j)
                        return MX_EFORMAT;
                s = mx_json_str(j, "log");
                st = mx_json_str(j, "stream");
                tm = mx_json_str(j, "time");
                if (!s || !st || !tm || strlen(tm) >= time_len) {
                        json_decref(j);
                        return MX_EFORMAT;
                }
                (void)mx_buf_put(text, s, json_string_length(json_object_get(j, "log")));
                *stream = strcmp(st, "stderr") == 0 ? 2 : 1;
                snprintf(time_buf, time_len, "%s", tm);
                json_decref(j);
        }
        return 0;
}
