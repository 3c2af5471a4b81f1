/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate challenges, token server answers, base64. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "error-internal.h"
#include "json.h"
#include "registry-internal.h"

#define MAX_CHALLENGES 16
#define MAX_HEADER     8192

void mx_registry__challenges_free(mx_reg_challenge *c, size_t n)
{
        if (!c)
                return;
        for (size_t i = 0; i < n; i++) {
                free(c[i].scheme);
                free(c[i].realm);
                free(c[i].service);
                free(c[i].scope);
                free(c[i].error);
        }
        free(c);
}

/* RFC 7230 tchar */
static int is_tchar(char ch)
{
        return isalnum((unsigned char)ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static void skip_ows(const char **p)
{
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

static char *dup_lower(const char *s, size_t n)
{
        char *d = strndup(s, n);

        for (size_t i = 0; d && i < n; i++)
                d[i] = (char)tolower((unsigned char)d[i]);
        return d;
}

/* A quoted-string into a new string, with backslash escapes undone. */
static int parse_quoted(char **out, const char **p)
{
        mx_buf b = MX_BUF_INIT_CAP(MAX_HEADER);
        const char *s = *p + 1;

        for (;;) {
                if (*s == '\0') {
                        mx_buf_clear(&b);
                        return MX_EFORMAT;
                }
                if (*s == '"')
                        break;
                if (*s == '\\') {
                        s++;
                        if (*s == '\0') {
                                mx_buf_clear(&b);
                                return MX_EFORMAT;
                        }
                }
                if (mx_buf_putc(&b, *s) < 0) {
                        mx_buf_clear(&b);
                        return MX_ENOMEM;
                }
                s++;
        }
        *p = s + 1;
        *out = mx_buf_detach(&b);
        return *out ? 0 : MX_ENOMEM;
}

static int set_param(mx_reg_challenge *c, const char *name, size_t name_len, char *value)
{
        char **slot = NULL;

        if (name_len == 5 && strncasecmp(name, "realm", 5) == 0)
                slot = &c->realm;
        else if (name_len == 7 && strncasecmp(name, "service", 7) == 0)
                slot = &c->service;
        else if (name_len == 5 && strncasecmp(name, "scope", 5) == 0)
                slot = &c->scope;
        else if (name_len == 5 && strncasecmp(name, "error", 5) == 0)
                slot = &c->error;
        if (!slot) {
                free(value);
                return 0;
        }
        /* A repeated parameter is ambiguous; keep the first as Go's net/http would not, but
         * refusing is safer than guessing which realm to send credentials to. */
        if (*slot) {
                free(value);
                return MX_EFORMAT;
        }
        *slot = value;
        return 0;
}

int mx_registry__parse_challenges(mx_reg_challenge **out, size_t *n_out, const char *header,
                                  mx_error **err)
{
        mx_reg_challenge *list = NULL;
        size_t n = 0;
        const char *p = header;
        int r = 0;

        if (!header || strlen(header) > MAX_HEADER)
                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                    "WWW-Authenticate header missing or too long");
        list = calloc(MAX_CHALLENGES, sizeof(*list));
        if (!list)
                return mx_error_oom(err);

        skip_ows(&p);
        while (*p) {
                const char *start;
                mx_reg_challenge *c;

                /* empty list elements are allowed */
                if (*p == ',') {
                        p++;
                        skip_ows(&p);
                        continue;
                }
                if (n == MAX_CHALLENGES) {
                        r = MX_EFORMAT;
                        break;
                }
                start = p;
                while (is_tchar(*p))
                        p++;
                if (p == start) {
                        r = MX_EFORMAT;
                        break;
                }
                c = &list[n++];
                c->scheme = dup_lower(start, (size_t)(p - start));
                if (!c->scheme) {
                        r = MX_ENOMEM;
                        break;
                }
                if (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',') {
                        r = MX_EFORMAT;
                        break;
                }
                skip_ows(&p);
                /* auth-params: name = value, comma separated, until a token that is followed
                 * by whitespace and no '=' (the next challenge's scheme) */
                for (;;) {
                        const char *name, *q;
                        size_t name_len;
                        char *value = NULL;

                        skip_ows(&p);
                        while (*p == ',') {
                                p++;
                                skip_ows(&p);
                        }
                        if (*p == '\0')
                                break;
                        name = p;
                        q = p;
                        while (is_tchar(*q))
                                q++;
                        name_len = (size_t)(q - name);
                        if (name_len == 0) {
                                r = MX_EFORMAT;
                                break;
                        }
                        {
                                const char *t = q;

                                skip_ows(&t);
                                if (*t != '=') {
                                        /* token68 ("Basic abc==") or the next scheme */
                                        if (*q == '=' || *t == '\0' || *t == ',') {
                                                /* token68 with trailing '=' padding */
                                                while (*q == '=')
                                                        q++;
                                                p = q;
                                                skip_ows(&p);
                                                if (*p == ',' || *p == '\0')
                                                        continue;
                                        }
                                        break; /* next challenge starts at name */
                                }
                                q = t + 1;
                        }
                        skip_ows(&q);
                        if (*q == '"') {
                                r = parse_quoted(&value, &q);
                                if (r < 0)
                                        break;
                        } else {
                                const char *vs = q;

                                while (is_tchar(*q) || *q == '/' || *q == ':' || *q == '=')
                                        q++;
                                if (q == vs) {
                                        r = MX_EFORMAT;
                                        break;
                                }
                                value = strndup(vs, (size_t)(q - vs));
                                if (!value) {
                                        r = MX_ENOMEM;
                                        break;
                                }
                        }
                        r = set_param(c, name, name_len, value);
                        if (r < 0)
                                break;
                        p = q;
                        skip_ows(&p);
                        if (*p != ',' && *p != '\0') {
                                r = MX_EFORMAT;
                                break;
                        }
                }
                if (r < 0)
                        break;
        }
        if (r == 0 && n == 0)
                r = MX_EFORMAT;
        if (r < 0) {
                mx_registry__challenges_free(list, MAX_CHALLENGES);
                if (r == MX_ENOMEM)
                        return mx_error_oom(err);
                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                    "malformed WWW-Authenticate header from the registry");
        }
        *out = list;
        *n_out = n;
        return 0;
}

int mx_registry__parse_token_response(char **token_out, long *expires_in_out, const char *body,
                                      size_t len, mx_error **err)
{
        cleanup_json json_t *j = NULL;
        const char *tok;
        int64_t expires;
        char *t;
        int r;

        r = mx_json_parse(&j, body, len, MX_REG_MAX_TOKEN_BODY, 1, "token server answer", err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "read bearer token");
        tok = mx_json_str(j, "token");
        if (!tok || !*tok)
                tok = mx_json_str(j, "access_token");
        if (!tok || !*tok)
                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                    "token server answer holds no token");
        expires = mx_json_int(j, "expires_in", 60);
        /* The distribution spec's minimum lifetime is 60 seconds. */
        if (expires < 60)
                expires = 60;
        if (expires > 24 * 3600)
                expires = 24 * 3600;
        t = strdup(tok);
        if (!t)
                return mx_error_oom(err);
        *token_out = t;
        *expires_in_out = (long)expires;
        return 0;
}

char *mx_registry__base64_encode(const void *data, size_t len)
{
        size_t outlen = 4 * ((len + 2) / 3) + 1;
        char *out;

        if (len > (1u << 30))
                return NULL;
        out = malloc(outlen);
        if (!out)
                return NULL;
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
        return out;
}

int mx_registry__base64_decode(char **out, size_t *len_out, const char *s)
{
        size_t len = strlen(s), pad = 0;
        cleanup_free char *d = NULL;
        int n;

        if (len % 4 != 0 || len > (1u << 20))
                return MX_EFORMAT;
        d = malloc(len / 4 * 3 + 1);
        if (!d)
                return MX_ENOMEM;
        n = EVP_DecodeBlock((unsigned char *)d, (const unsigned char *)s, (int)len);
        if (n < 0)
                return MX_EFORMAT;
        if (len >= 1 && s[len - 1] == '=')
                pad++;
        if (len >= 2 && s[len - 2] == '=')
                pad++;
        n -= (int)pad;
        d[n] = '\0';
        *len_out = (size_t)n;
        *out = TAKE_PTR(d);
        return 0;
}
