/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side of the distribution client: one handle per registry host, requests run on
 * one curl multi handle (connections reused, several transfers at once), the
 * WWW-Authenticate challenge flow, retries with back-off, and resumable downloads.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/log.h>

#include "error-internal.h"
#include "json.h"
#include "mx-config.h"
#include "parse.h"
#include "registry-internal.h"
#include "strv.h"

#define CLIENT_MAGIC      0x6d787267u
#define DEFAULT_RETRIES   5
#define MAX_RETRY_AFTER_S 60.0
#define TOKEN_SLACK_S     10.0

typedef enum auth_kind {
        AUTH_NONE = 0,
        AUTH_BASIC,
        AUTH_BEARER,
} auth_kind;

typedef struct token_entry {
        char *scope;
        char *token;
        double expires;
        struct token_entry *next;
} token_entry;

struct mx_registry_client {
        unsigned magic;
        char *host;     /* as in references */
        char *api_host; /* as in URLs */
        char *endpoint; /* scheme://api_host once decided */
        char **mirrors;
        int decided;
        int plain_http;   /* asked for http:// */
        int http_allowed; /* insecure or loopback: plain HTTP when TLS is not spoken */
        int verify;       /* verify the peer's certificate */
        int max_retries;
        mx_reg_tls tls;
        mx_reg_creds creds;
        auth_kind auth;
        char *realm;
        char *service;
        token_entry *tokens;
        CURLM *multi;
        CURLSH *share;
        void (*tick)(void *);
        void *tick_data;
        double last_tick;
};

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void curl_init_once(void)
{
        static int done;

        /* curl_global_init is not thread-safe before 7.84; the CLI is single-threaded when
         * it first gets here, and later calls are no-ops. */
        if (!done) {
                (void)curl_global_init(CURL_GLOBAL_DEFAULT);
                done = 1;
        }
}

void mx_registry__req_clear(mx_reg_req *r)
{
        if (!r)
                return;
        if (r->easy)
                curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->slist);
        free(r->url);
        free(r->scope);
        mx_strv_free(r->headers);
        mx_buf_clear(&r->resp);
        free(r->location);
        free(r->docker_digest);
        free(r->content_type);
        free(r->link);
        free(r->range);
        free(r->www_auth);
        mx_error_free(r->err);
        memset(r, 0, sizeof(*r));
}

static void tokens_free(token_entry *t)
{
        while (t) {
                token_entry *n = t->next;

                free(t->scope);
                if (t->token) {
                        explicit_bzero(t->token, strlen(t->token));
                        free(t->token);
                }
                free(t);
                t = n;
        }
}

void mx_registry__client_free(mx_registry_client *c)
{
        if (!c)
                return;
        if (c->multi)
                curl_multi_cleanup(c->multi);
        if (c->share)
                curl_share_cleanup(c->share);
        free(c->host);
        free(c->api_host);
        free(c->endpoint);
        mx_strv_free(c->mirrors);
        mx_registry__tls_clear(&c->tls);
        mx_registry__creds_clear(&c->creds);
        free(c->realm);
        free(c->service);
        tokens_free(c->tokens);
        c->magic = 0;
        free(c);
}

static int dup_opt(char **dst, const char *src)
{
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : MX_ENOMEM;
}

int mx_registry__client_new(mx_registry_client **out, const char *host,
                            const mx_reg_client_opts *opts, mx_error **err)
{
        static const mx_reg_client_opts no_opts = {.tls_verify = 1};
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_config conf = {0};
        cleanup_free char *cert_dir = NULL;
        int r, insecure;

        if (!opts)
                opts = &no_opts;
        curl_init_once();
        c = calloc(1, sizeof(*c));
        if (!c)
                return mx_error_oom(err);
        c->magic = CLIENT_MAGIC;
        c->host = strdup(host);
        c->api_host = strdup(strcmp(host, "docker.io") == 0 ? "registry-1.docker.io" : host);
        if (!c->host || !c->api_host)
                return mx_error_oom(err);
        c->max_retries = opts->max_retries > 0 ? opts->max_retries : DEFAULT_RETRIES;
        c->plain_http = opts->plain_http;

        r = mx_registry__config_load(&conf, opts->config_path, err);
        if (r < 0)
                return r;
        insecure = mx_registry__config_is_insecure(&conf, host);
        if (opts->use_mirrors && strcmp(host, "docker.io") == 0)
                c->mirrors = TAKE_PTR(conf.mirrors);
        mx_registry__config_clear(&conf);

        /* Verification is off only for configured-insecure registries or on request;
         * loopback only allows plain HTTP when the server speaks no TLS at all. */
        c->verify = opts->tls_verify && !insecure;
        c->http_allowed = insecure || !opts->tls_verify || mx_registry__is_loopback(host);

        if (opts->cert_dir) {
                cert_dir = strdup(opts->cert_dir);
                if (!cert_dir)
                        return mx_error_oom(err);
        } else {
                r = mx_registry__certs_dir_find(&cert_dir, NULL, host, err);
                if (r < 0)
                        return r;
        }
        if (cert_dir && c->verify) {
                r = mx_registry__tls_load(&c->tls, cert_dir, err);
                if (r < 0)
                        return r;
        }

        if (dup_opt(&c->creds.username, opts->username) < 0 ||
            dup_opt(&c->creds.password, opts->password) < 0 ||
            dup_opt(&c->creds.registry_token, opts->token) < 0)
                return mx_error_oom(err);
        if (!opts->username && !opts->token && !opts->no_creds_lookup) {
                if (opts->auth_file)
                        r = mx_registry__creds_from_file(&c->creds, opts->auth_file, host, 1, err);
                else
                        r = mx_registry__creds_lookup(&c->creds, host, err);
                if (r < 0)
                        return r;
        }

        c->multi = curl_multi_init();
        c->share = curl_share_init();
        if (!c->multi || !c->share)
                return mx_error_oom(err);
        (void)curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        (void)curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        (void)curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
        *out = TAKE_PTR(c);
        return 0;
}

void mx_registry__client_set_tick(mx_registry_client *c, void (*fn)(void *), void *userdata)
{
        c->tick = fn;
        c->tick_data = userdata;
}

const char *mx_registry__client_endpoint(mx_registry_client *c)
{
        return c->endpoint;
}

const char *mx_registry__client_host(mx_registry_client *c)
{
        return c->host;
}

/* ---- small parsers ---- */

void mx_registry__lift_http(mx_error **err)
{
        if (!err || !*err || (*err)->http_status)
                return;
        for (const mx_error *e = (*err)->cause; e; e = e->cause) {
                if (e->http_status) {
                        mx_error_set_http(err, e->http_status);
                        return;
                }
        }
}

long mx_registry__parse_retry_after(const char *value)
{
        uint64_t v;
        char buf[32];
        size_t n;

        if (!value)
                return -1;
        while (*value == ' ')
                value++;
        n = strcspn(value, " \r\n");
        if (n == 0 || n >= sizeof(buf))
                return -1;
        memcpy(buf, value, n);
        buf[n] = '\0';
        if (mx_parse_u64(buf, &v) < 0 || v > 86400)
                return -1;
        return (long)v;
}

char *mx_registry__link_next(const char *link)
{
        const char *p = link;

        /* Link: <url>; rel="next", <url2>; rel="prev" */
        while (p && *p) {
                const char *lt = strchr(p, '<'), *gt, *end;

                if (!lt)
                        return NULL;
                gt = strchr(lt, '>');
                if (!gt)
                        return NULL;
                end = strchr(gt, ',');
                if (!end)
                        end = gt + strlen(gt);
                {
                        size_t plen = (size_t)(end - gt);
                        cleanup_free char *params = strndup(gt + 1, plen - 1);

                        if (!params)
                                return NULL;
                        if (strstr(params, "rel=\"next\"") || strstr(params, "rel=next"))
                                return strndup(lt + 1, (size_t)(gt - lt - 1));
                }
                p = *end ? end + 1 : end;
        }
        return NULL;
}

void mx_registry__mask_header(char *out, size_t outsize, const char *line)
{
        const char *hit = strcasestr(line, "authorization");
        const char *tok = strcasestr(line, "refresh_token=");

        /* "Authorization: Bearer x", "Proxy-Authorization: Basic x", and curl's HTTP/2
         * text "h2h3 [authorization: Basic x]": keep the scheme, hide the credentials */
        if (hit) {
                const char *v = hit + 13;
                const char *end;

                while (*v == ':' || *v == ' ')
                        v++;
                end = v;
                while (*end && *end != ' ' && *end != ']')
                        end++;
                snprintf(out, outsize, "%.*s ***%s", (int)(end - line), line,
                         strchr(hit, ']') ? "]" : "");
                return;
        }
        if (tok) {
                const char *end = tok + 14;

                while (*end && *end != '&' && *end != ' ')
                        end++;
                snprintf(out, outsize, "%.*s***%s", (int)(tok + 14 - line), line, end);
                return;
        }
        snprintf(out, outsize, "%s", line);
}

const char *mx_registry__error_code(const char *body, size_t len, char *buf, size_t bufsize)
{
        cleanup_json json_t *j = NULL;
        json_t *errs, *e;
        const char *code;

        if (!body || len == 0 ||
            mx_json_parse(&j, body, len, MX_REG_MAX_SMALL_BODY, 1, "error", NULL) < 0)
                return NULL;
        errs = json_object_get(j, "errors");
        e = json_array_get(errs, 0);
        code = mx_json_str(e, "code");
        if (!code)
                return NULL;
        snprintf(buf, bufsize, "%s", code);
        return buf;
}

/* The registry's message for the first error, into buf. */
static const char *error_message(const char *body, size_t len, char *buf, size_t bufsize)
{
        cleanup_json json_t *j = NULL;
        const char *m;

        if (!body || len == 0 ||
            mx_json_parse(&j, body, len, MX_REG_MAX_SMALL_BODY, 1, "error", NULL) < 0)
                return NULL;
        m = mx_json_str(json_array_get(json_object_get(j, "errors"), 0), "message");
        if (!m)
                return NULL;
        snprintf(buf, bufsize, "%s", m);
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return buf;
}

int mx_registry__status_error(const mx_reg_req *req, const char *what, mx_error **err)
{
        char code_buf[64], msg_buf[256];
        const char *code =
                mx_registry__error_code(req->resp.ptr, req->resp.len, code_buf, sizeof(code_buf));
        const char *msg = error_message(req->resp.ptr, req->resp.len, msg_buf, sizeof(msg_buf));
        int r;

        switch (req->status) {
        case 401:
                r = mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0,
                                 "%s: authentication required or credentials refused%s%s", what,
                                 msg ? ": " : "", msg ? msg : "");
                break;
        case 403:
                r = mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0, "%s: access denied%s%s", what,
                                 msg ? ": " : "", msg ? msg : "");
                break;
        case 404:
                if (code && strcmp(code, "NAME_UNKNOWN") == 0)
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                         "%s: repository not found (NAME_UNKNOWN)", what);
                else if (code && strcmp(code, "MANIFEST_UNKNOWN") == 0)
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                         "%s: manifest not found (MANIFEST_UNKNOWN)", what);
                else if (code && strcmp(code, "BLOB_UNKNOWN") == 0)
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                         "%s: blob not found (BLOB_UNKNOWN)", what);
                else
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0, "%s: not found%s%s",
                                         what, code ? " " : "", code ? code : "");
                break;
        case 405:
                r = mx_error_set(err, MX_EUNSUPPORTED, MX_D_REGISTRY, 0,
                                 "%s: the registry does not allow this operation%s%s", what,
                                 msg ? ": " : "", msg ? msg : "");
                break;
        case 429:
                r = mx_error_set(err, MX_ENET, MX_D_REGISTRY, 0,
                                 "%s: too many requests, still refused after %d attempts", what,
                                 req->attempts);
                break;
        default:
                if (req->status >= 500)
                        r = mx_error_set(err, MX_ENET, MX_D_REGISTRY, 0,
                                         "%s: registry error %ld after %d attempts%s%s", what,
                                         req->status, req->attempts, msg ? ": " : "",
                                         msg ? msg : "");
                else
                        r = mx_error_set(err, MX_EFAIL, MX_D_REGISTRY, 0,
                                         "%s: unexpected HTTP status %ld%s%s%s%s", what,
                                         req->status, code ? " " : "", code ? code : "",
                                         msg ? ": " : "", msg ? msg : "");
                break;
        }
        mx_error_set_http(err, (int)req->status);
        return r;
}

/* ---- curl callbacks ---- */

static char *header_value(const char *line, size_t len, const char *name)
{
        size_t nl = strlen(name);
        const char *v, *end = line + len;

        if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return NULL;
        v = line + nl + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return strndup(v, (size_t)(end - v));
}

static void set_hdr(char **slot, char *v)
{
        if (!v)
                return;
        free(*slot);
        *slot = v;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        mx_reg_req *req = userdata;
        size_t len = size * n;

        if (len > MX_REG_MAX_HEADER)
                return len; /* ignored, not kept */
        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                /* a new response (after a redirect or a 100): forget the last one's headers */
                free(req->location);
                free(req->docker_digest);
                free(req->content_type);
                free(req->link);
                free(req->range);
                free(req->www_auth);
                req->location = req->docker_digest = req->content_type = req->link = NULL;
                req->range = req->www_auth = NULL;
                req->retry_after = -1;
                req->has_content_length = 0;
                return len;
        }
        set_hdr(&req->location, header_value(data, len, "Location"));
        set_hdr(&req->docker_digest, header_value(data, len, "Docker-Content-Digest"));
        set_hdr(&req->content_type, header_value(data, len, "Content-Type"));
        set_hdr(&req->link, header_value(data, len, "Link"));
        set_hdr(&req->range, header_value(data, len, "Range"));
        set_hdr(&req->www_auth, header_value(data, len, "WWW-Authenticate"));
        {
                cleanup_free char *ra = header_value(data, len, "Retry-After");
                cleanup_free char *cl = header_value(data, len, "Content-Length");
                uint64_t v;

                if (ra)
                        req->retry_after = mx_registry__parse_retry_after(ra);
                if (cl && mx_parse_u64(cl, &v) == 0) {
                        req->content_length = v;
                        req->has_content_length = 1;
                }
        }
        return len;
}

/* Where the body of a 206 starts, from Content-Range; -1 when unknown. */
static int64_t content_range_start(CURL *easy)
{
        struct curl_header *h = NULL;
        uint64_t v;
        char buf[32];
        const char *s;
        size_t n;

        if (curl_easy_header(easy, "Content-Range", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
                return -1;
        s = h->value;
        if (strncmp(s, "bytes ", 6) != 0)
                return -1;
        s += 6;
        n = strcspn(s, "-");
        if (n == 0 || n >= sizeof(buf))
                return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (mx_parse_u64(buf, &v) < 0)
                return -1;
        return (int64_t)v;
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
        mx_reg_req *req = userdata;
        size_t len = size * n;

        if (!req->got_status_body) {
                long status = 0;

                req->got_status_body = 1;
                (void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
                req->to_sink = req->sink && (status == 200 || status == 206);
                if (req->to_sink && status == 206) {
                        if (!req->range_requested ||
                            content_range_start(req->easy) != (int64_t)req->received) {
                                req->range_broken = 1;
                                return CURL_WRITEFUNC_ERROR;
                        }
                } else if (req->to_sink && req->received > 0) {
                        /* a whole answer to a Range request: start over */
                        if (req->sink->reset(req->sink->ctx, &req->err) < 0) {
                                req->sink_failed = 1;
                                return CURL_WRITEFUNC_ERROR;
                        }
                        req->received = 0;
                }
        }
        if (req->to_sink) {
                if (req->sink->write(req->sink->ctx, data, len, &req->err) < 0) {
                        req->sink_failed = 1;
                        return CURL_WRITEFUNC_ERROR;
                }
                req->received += len;
                return len;
        }
        if (req->resp.cap == 0)
                req->resp.cap = req->resp_cap ? req->resp_cap : MX_REG_MAX_SMALL_BODY;
        if (mx_buf_put(&req->resp, data, len) < 0) {
                (void)mx_error_set(&req->err, MX_ETOOBIG, MX_D_REGISTRY, 0,
                                   "response from '%s' larger than %zu bytes", req->url,
                                   req->resp.cap);
                req->sink_failed = 1;
                return CURL_WRITEFUNC_ERROR;
        }
        return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *userdata)
{
        mx_reg_source *src = userdata;
        size_t want = size * n;
        ssize_t got;

        if (src->sent >= src->len)
                return 0;
        if (want > src->len - src->sent)
                want = (size_t)(src->len - src->sent);
        got = pread(src->fd, buf, want, (off_t)(src->off + src->sent));
        if (got < 0 && errno == EINTR)
                got = pread(src->fd, buf, want, (off_t)(src->off + src->sent));
        if (got <= 0)
                return CURL_READFUNC_ABORT;
        src->sent += (uint64_t)got;
        if (src->moved)
                *src->moved += (uint64_t)got;
        return (size_t)got;
}

static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        char line[512], masked[600];
        size_t n;

        (void)easy;
        (void)userdata;
        if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN && type != CURLINFO_TEXT)
                return 0;
        /* one log line per header line, with credentials masked */
        while (size > 0) {
                n = 0;
                while (n < size && data[n] != '\n')
                        n++;
                if (n > 0) {
                        size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

                        memcpy(line, data, m);
                        line[m] = '\0';
                        if (m && line[m - 1] == '\r')
                                line[m - 1] = '\0';
                        mx_registry__mask_header(masked, sizeof(masked), line);
                        mx_log(MX_LOG_TRACE, "http %s %s",
                               type == CURLINFO_HEADER_OUT  ? ">"
                               : type == CURLINFO_HEADER_IN ? "<"
                                                            : "*",
                               masked);
                }
                data += n < size ? n + 1 : n;
                size -= n < size ? n + 1 : n;
        }
        return 0;
}

/* ---- auth ---- */

static token_entry *token_find(mx_registry_client *c, const char *scope)
{
        for (token_entry *t = c->tokens; t; t = t->next)
                if (strcmp(t->scope, scope ? scope : "") == 0)
                        return t;
        return NULL;
}

static void apply_tls(mx_registry_client *c, CURL *e)
{
        (void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
        (void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
        if (c->tls.ca_pem) {
                struct curl_blob blob = {
                        .data = c->tls.ca_pem, .len = c->tls.ca_len, .flags = CURL_BLOB_NOCOPY};

                (void)curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (c->tls.client_cert) {
                (void)curl_easy_setopt(e, CURLOPT_SSLCERT, c->tls.client_cert);
                (void)curl_easy_setopt(e, CURLOPT_SSLKEY, c->tls.client_key);
        }
}

/* curl's sockets, close-on-exec like every fd of ours (credential helpers are spawned
 * while connections are open) */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
        (void)clientp;
        (void)purpose;
        return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void apply_common(mx_registry_client *c, CURL *e)
{
        (void)curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        (void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(e, CURLOPT_USERAGENT, "myrmex/" MX_VERSION);
        (void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
        /* a transfer slower than 1 KB/s for 60 s counts as dropped */
        (void)curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        (void)curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
        (void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        (void)curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        (void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024L);
        if (mx_log_get_level() >= MX_LOG_TRACE) {
                (void)curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
                (void)curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
        }
        apply_tls(c, e);
}

static int curl_tls_error(CURLcode cc)
{
        return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
               cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_ISSUER_ERROR ||
               cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || cc == CURLE_SSL_CRL_BADFILE;
}

static int basic_header(char **out, const mx_reg_creds *cr)
{
        cleanup_free char *pair = NULL;
        cleanup_free char *b64 = NULL;

        if (asprintf(&pair, "%s:%s", cr->username, cr->password ? cr->password : "") < 0)
                return MX_ENOMEM;
        b64 = mx_registry__base64_encode(pair, strlen(pair));
        explicit_bzero(pair, strlen(pair));
        if (!b64)
                return MX_ENOMEM;
        if (asprintf(out, "Authorization: Basic %s", b64) < 0)
                return MX_ENOMEM;
        explicit_bzero(b64, strlen(b64));
        return 0;
}

/* Ask the token server for a token covering scope (space-separated scopes). */
static int fetch_token(mx_registry_client *c, const char *scope, mx_error **err)
{
        cleanup_buf mx_buf url = MX_BUF_INIT;
        cleanup_buf mx_buf form = MX_BUF_INIT;
        cleanup_free char *auth = NULL;
        cleanup_free char *token = NULL;
        mx_reg_req req = {0};
        struct curl_slist *sl = NULL;
        CURL *e;
        CURLcode cc;
        long expires = 60;
        int r = 0;

        if (!c->realm)
                return mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0,
                                    "registry '%s' asks for a bearer token but names no realm",
                                    c->host);
        if (strncmp(c->realm, "https://", 8) != 0 && strncmp(c->realm, "http://", 7) != 0)
                return mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0,
                                    "registry '%s' names an invalid token realm", c->host);
        e = curl_easy_init();
        if (!e)
                return mx_error_oom(err);
        if (mx_buf_puts(&url, c->realm) < 0) {
                curl_easy_cleanup(e);
                return mx_error_oom(err);
        }
        {
                char sep = strchr(c->realm, '?') ? '&' : '?';
                mx_buf *q = c->creds.identity_token ? &form : &url;

                if (c->creds.identity_token)
                        sep = '\0';
                if (c->service) {
                        char *esc = curl_easy_escape(e, c->service, 0);

                        r |= sep ? mx_buf_putc(q, sep) : 0;
                        r |= mx_buf_printf(q, "service=%s", esc ? esc : "");
                        curl_free(esc);
                        sep = '&';
                }
                if (scope && *scope) {
                        cleanup_free char *copy = strdup(scope);
                        char *save = NULL;

                        if (!copy) {
                                curl_easy_cleanup(e);
                                return mx_error_oom(err);
                        }
                        for (char *s = strtok_r(copy, " ", &save); s;
                             s = strtok_r(NULL, " ", &save)) {
                                char *esc = curl_easy_escape(e, s, 0);

                                r |= sep ? mx_buf_putc(q, sep) : 0;
                                r |= mx_buf_printf(q, "scope=%s", esc ? esc : "");
                                curl_free(esc);
                                sep = '&';
                        }
                }
                if (c->creds.identity_token) {
                        char *esc = curl_easy_escape(e, c->creds.identity_token, 0);

                        r |= mx_buf_printf(q,
                                           "%sgrant_type=refresh_token&client_id=myrmex"
                                           "&refresh_token=%s",
                                           sep ? "&" : "", esc ? esc : "");
                        curl_free(esc);
                }
        }
        if (r < 0) {
                curl_easy_cleanup(e);
                return mx_error_oom(err);
        }
        if (c->creds.username && !c->creds.identity_token) {
                if (basic_header(&auth, &c->creds) < 0) {
                        curl_easy_cleanup(e);
                        return mx_error_oom(err);
                }
                sl = curl_slist_append(sl, auth);
        }
        req.url = url.ptr;
        req.resp.cap = MX_REG_MAX_TOKEN_BODY;
        req.retry_after = -1;
        apply_common(c, e);
        (void)curl_easy_setopt(e, CURLOPT_URL, url.ptr);
        (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl);
        (void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, &req);
        (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, &req);
        (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req.errbuf);
        if (c->creds.identity_token) {
                (void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, form.ptr);
                (void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form.len);
        }
        req.easy = e;
        for (int attempt = 0;; attempt++) {
                mx_buf_clear(&req.resp);
                req.resp.cap = MX_REG_MAX_TOKEN_BODY;
                req.got_status_body = 0;
                cc = curl_easy_perform(e);
                (void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &req.status);
                if (cc == CURLE_OK && req.status != 429 && req.status < 500)
                        break;
                if (attempt + 1 >= c->max_retries || curl_tls_error(cc))
                        break;
                usleep((useconds_t)(200000u << (attempt < 4 ? attempt : 4)));
        }
        req.easy = NULL;
        curl_easy_cleanup(e);
        if (auth)
                explicit_bzero(auth, strlen(auth));
        curl_slist_free_all(sl);
        if (form.len)
                explicit_bzero(form.ptr, form.len);
        req.url = NULL;
        if (cc != CURLE_OK) {
                r = mx_error_set(err, curl_tls_error(cc) ? MX_ETLS : MX_ENET, MX_D_REGISTRY, 0,
                                 "get a token from the token server of '%s': %s", c->host,
                                 req.errbuf[0] ? req.errbuf : curl_easy_strerror(cc));
                mx_registry__req_clear(&req);
                return r;
        }
        if (req.status == 401 || req.status == 403) {
                r = mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0,
                                 "the token server of '%s' refused the credentials%s", c->host,
                                 c->creds.username ? " (wrong username or password?)" : "");
                mx_error_set_http(err, (int)req.status);
                mx_registry__req_clear(&req);
                return r;
        }
        if (req.status != 200) {
                r = mx_error_set(err, MX_EAUTH, MX_D_REGISTRY, 0,
                                 "the token server of '%s' answered HTTP %ld", c->host, req.status);
                mx_error_set_http(err, (int)req.status);
                mx_registry__req_clear(&req);
                return r;
        }
        r = mx_registry__parse_token_response(&token, &expires, req.resp.ptr, req.resp.len, err);
        explicit_bzero(req.resp.ptr, req.resp.len);
        mx_registry__req_clear(&req);
        if (r < 0)
                return r;
        {
                token_entry *t = token_find(c, scope);

                if (!t) {
                        t = calloc(1, sizeof(*t));
                        if (!t)
                                return mx_error_oom(err);
                        t->scope = strdup(scope ? scope : "");
                        if (!t->scope) {
                                free(t);
                                return mx_error_oom(err);
                        }
                        t->next = c->tokens;
                        c->tokens = t;
                }
                if (t->token) {
                        explicit_bzero(t->token, strlen(t->token));
                        free(t->token);
                }
                t->token = TAKE_PTR(token);
                t->expires = now_s() + (double)expires;
        }
        mx_log(MX_LOG_DEBUG, "registry %s: got a token for scope '%s'", c->host,
               scope ? scope : "");
        return 0;
}

/* The Authorization header for a request, or NULL for none. */
static int auth_header(char **out, mx_registry_client *c, const mx_reg_req *req, mx_error **err)
{
        *out = NULL;
        if (req->no_auth)
                return 0;
        if (c->creds.registry_token) {
                if (asprintf(out, "Authorization: Bearer %s", c->creds.registry_token) < 0)
                        return mx_error_oom(err);
                return 0;
        }
        if (c->auth == AUTH_BASIC && c->creds.username) {
                if (basic_header(out, &c->creds) < 0)
                        return mx_error_oom(err);
                return 0;
        }
        if (c->auth == AUTH_BEARER) {
                token_entry *t = token_find(c, req->scope);
                int r;

                if (!t || !t->token || t->expires < now_s() + TOKEN_SLACK_S) {
                        r = fetch_token(c, req->scope, err);
                        if (r < 0)
                                return r;
                        t = token_find(c, req->scope);
                }
                if (asprintf(out, "Authorization: Bearer %s", t->token) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

/* Learn the auth scheme from a challenge. Returns 1 when something changed. */
static int learn_challenge(mx_registry_client *c, const char *header)
{
        mx_reg_challenge *ch = NULL;
        size_t n = 0;
        int changed = 0;

        if (!header || mx_registry__parse_challenges(&ch, &n, header, NULL) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(ch[i].scheme, "bearer") == 0) {
                        changed = c->auth != AUTH_BEARER || !c->realm || !ch[i].realm ||
                                  strcmp(c->realm, ch[i].realm) != 0;
                        c->auth = AUTH_BEARER;
                        free(c->realm);
                        free(c->service);
                        c->realm = ch[i].realm ? strdup(ch[i].realm) : NULL;
                        c->service = ch[i].service ? strdup(ch[i].service) : NULL;
                        break;
                }
                if (strcmp(ch[i].scheme, "basic") == 0) {
                        changed = c->auth != AUTH_BASIC;
                        c->auth = AUTH_BASIC;
                        break;
                }
        }
        mx_registry__challenges_free(ch, 16);
        return changed;
}

/* ---- running requests ---- */

static int start_req(mx_registry_client *c, mx_reg_req *req, mx_error **err)
{
        cleanup_free char *auth = NULL;
        cleanup_free char *url = NULL;
        CURL *e = req->easy;
        int r;

        if (!e) {
                e = curl_easy_init();
                if (!e)
                        return mx_error_oom(err);
                req->easy = e;
        } else {
                curl_easy_reset(e);
        }
        curl_slist_free_all(req->slist);
        req->slist = NULL;
        mx_buf_clear(&req->resp);
        req->status = 0;
        req->got_status_body = 0;
        req->to_sink = 0;
        req->range_requested = 0;
        req->retry_after = -1;
        req->errbuf[0] = '\0';
        req->attempts++;

        if (req->url[0] == '/') {
                if (asprintf(&url, "%s%s", c->endpoint, req->url) < 0)
                        return mx_error_oom(err);
        } else {
                url = strdup(req->url);
                if (!url)
                        return mx_error_oom(err);
        }
        r = auth_header(&auth, c, req, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (h, req->headers) {
                struct curl_slist *n = curl_slist_append(req->slist, h);

                if (!n)
                        return mx_error_oom(err);
                req->slist = n;
        }
        if (auth) {
                struct curl_slist *n = curl_slist_append(req->slist, auth);

                explicit_bzero(auth, strlen(auth));
                if (!n)
                        return mx_error_oom(err);
                req->slist = n;
        }
        req->slist = curl_slist_append(req->slist, "Expect:");
        if (req->sink && req->resumable && req->received > 0 && !req->range_broken) {
                char range[64];

                snprintf(range, sizeof(range), "Range: bytes=%llu-",
                         (unsigned long long)req->received);
                req->slist = curl_slist_append(req->slist, range);
                req->range_requested = 1;
        }
        if (!req->slist)
                return mx_error_oom(err);
        if (req->source) {
                req->source->sent = 0;
        }

        apply_common(c, e);
        (void)curl_easy_setopt(e, CURLOPT_URL, url);
        (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->slist);
        (void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
        (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
        (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
        (void)curl_easy_setopt(e, CURLOPT_PRIVATE, req);
        if (strcmp(req->method, "GET") == 0) {
                (void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
                (void)curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
        } else if (strcmp(req->method, "HEAD") == 0) {
                (void)curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
                (void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
                (void)curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
        } else if (req->source) {
                (void)curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                (void)curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
                (void)curl_easy_setopt(e, CURLOPT_READDATA, req->source);
                (void)curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->source->len);
                (void)curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024L);
                (void)curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        } else if (strcmp(req->method, "DELETE") == 0) {
                (void)curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        } else {
                (void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
                (void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                                       (curl_off_t)(req->body ? req->body_len : 0));
                (void)curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        }
        if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
                return mx_error_set(err, MX_EFAIL, MX_D_REGISTRY, 0, "start request to '%s'", url);
        req->state = 1;
        mx_log(MX_LOG_DEBUG, "registry %s: %s %s (attempt %d)", c->host, req->method, req->url,
               req->attempts);
        return 0;
}

static double backoff_s(const mx_reg_req *req)
{
        double d;

        if (req->retry_after >= 0)
                return req->retry_after > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S
                                                            : (double)req->retry_after;
        d = 0.2 * (double)(1u << (req->attempts < 6 ? req->attempts - 1 : 5));
        /* up to 25 % jitter so parallel retries do not march in step */
        d += d * 0.25 * ((double)(rand() % 1000) / 1000.0);
        return d > 10.0 ? 10.0 : d;
}

/* What to do with a finished attempt: 0 done, 1 retry, <0 failed (req->err filled). */
static int finish_req(mx_registry_client *c, mx_reg_req *req, CURLcode cc)
{
        const char *what = req->url;

        (void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
        req->curl_code = (int)cc;
        if (cc == CURLE_SSL_CONNECT_ERROR)
                return mx_error_set(&req->err, MX_ETLS, MX_D_REGISTRY, 0,
                                    "TLS handshake with '%s' failed: %s", c->host,
                                    req->errbuf[0] ? req->errbuf : curl_easy_strerror(cc));
        if (cc != CURLE_OK) {
                if (req->sink_failed)
                        return req->err ? req->err->code : MX_EFAIL;
                if (req->range_broken) {
                        req->not_before = now_s();
                        return 1;
                }
                if (curl_tls_error(cc))
                        return mx_error_set(&req->err, MX_ETLS, MX_D_REGISTRY, 0,
                                            "TLS verification of '%s' failed: %s", c->host,
                                            req->errbuf[0] ? req->errbuf : curl_easy_strerror(cc));
                if (cc == CURLE_COULDNT_RESOLVE_HOST)
                        return mx_error_set(&req->err, MX_ENET, MX_D_REGISTRY, 0,
                                            "cannot resolve registry host '%s'", c->api_host);
                if (cc == CURLE_COULDNT_CONNECT && req->attempts >= 2)
                        return mx_error_set(&req->err, MX_ENET, MX_D_REGISTRY, ECONNREFUSED,
                                            "cannot connect to registry '%s': %s", c->host,
                                            req->errbuf[0] ? req->errbuf : "connection refused");
                if (req->no_retry || req->attempts >= c->max_retries)
                        return mx_error_set(&req->err, MX_ENET, MX_D_REGISTRY, 0,
                                            "%s %s on '%s' failed after %d attempts: %s",
                                            req->method, what, c->host, req->attempts,
                                            req->errbuf[0] ? req->errbuf : curl_easy_strerror(cc));
                req->retry_after = -1;
                req->not_before = now_s() + backoff_s(req);
                mx_log(MX_LOG_DEBUG, "registry %s: %s %s: %s, retrying", c->host, req->method, what,
                       req->errbuf[0] ? req->errbuf : curl_easy_strerror(cc));
                return 1;
        }
        if (req->status == 401 && !req->no_auth && !req->auth_retried && !c->creds.registry_token) {
                int changed = learn_challenge(c, req->www_auth);

                req->auth_retried = 1;
                if (c->auth == AUTH_BEARER) {
                        token_entry *t = token_find(c, req->scope);

                        /* a refused token is dropped so that a fresh one is fetched */
                        if (t && t->token) {
                                explicit_bzero(t->token, strlen(t->token));
                                free(t->token);
                                t->token = NULL;
                        }
                        req->not_before = now_s();
                        return 1;
                }
                if (c->auth == AUTH_BASIC && c->creds.username && changed) {
                        req->not_before = now_s();
                        return 1;
                }
                return 0;
        }
        if ((req->status == 429 || req->status == 500 || req->status == 502 || req->status == 503 ||
             req->status == 504) &&
            !req->no_retry && req->attempts < c->max_retries) {
                req->not_before = now_s() + backoff_s(req);
                mx_log(MX_LOG_DEBUG, "registry %s: %s %s: HTTP %ld, retrying in %.1f s", c->host,
                       req->method, what, req->status, req->not_before - now_s());
                if (req->sink && req->received > 0 && !req->resumable) {
                        /* cannot continue: start the sink over */
                        if (req->sink->reset(req->sink->ctx, &req->err) < 0)
                                return req->err->code;
                        req->received = 0;
                }
                return 1;
        }
        return 0;
}

static int run_reqs(mx_registry_client *c, mx_reg_req **reqs, size_t n, size_t parallel,
                    int keep_going, mx_error **err)
{
        size_t running = 0, done = 0;
        int first_err = 0;

        if (parallel == 0)
                parallel = 1;
        for (size_t i = 0; i < n; i++) {
                reqs[i]->state = 0;
                reqs[i]->not_before = 0;
                reqs[i]->attempts = 0;
                reqs[i]->auth_retried = 0;
                reqs[i]->received = 0;
                reqs[i]->range_broken = 0;
                reqs[i]->sink_failed = 0;
                mx_error_free(reqs[i]->err);
                reqs[i]->err = NULL;
        }
        while (done < n) {
                double now = now_s(), next_wake = 1e300;
                int still = 0, msgs = 0, timeout_ms;
                CURLMsg *m;

                for (size_t i = 0; i < n && running < parallel && !first_err; i++) {
                        mx_reg_req *q = reqs[i];

                        if (q->state != 0)
                                continue;
                        if (q->not_before > now) {
                                if (q->not_before < next_wake)
                                        next_wake = q->not_before;
                                continue;
                        }
                        if (start_req(c, q, &q->err) < 0) {
                                q->state = 2;
                                done++;
                                if (q->on_done)
                                        q->on_done(q, q->on_done_data);
                                if (!keep_going)
                                        first_err = first_err ? first_err : q->err->code;
                                continue;
                        }
                        running++;
                }
                if (first_err) {
                        /* stop what has not started; let running transfers end */
                        for (size_t i = 0; i < n; i++)
                                if (reqs[i]->state == 0) {
                                        reqs[i]->state = 2;
                                        done++;
                                }
                }
                if (running == 0) {
                        if (done >= n)
                                break;
                        if (next_wake < 1e300 && next_wake > now)
                                usleep((useconds_t)((next_wake - now) * 1e6));
                        continue;
                }
                (void)curl_multi_perform(c->multi, &still);
                while ((m = curl_multi_info_read(c->multi, &msgs))) {
                        mx_reg_req *q = NULL;
                        int r;

                        if (m->msg != CURLMSG_DONE)
                                continue;
                        (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
                        {
                                CURLcode cc = m->data.result;

                                (void)curl_multi_remove_handle(c->multi, m->easy_handle);
                                running--;
                                r = finish_req(c, q, cc);
                        }
                        if (r == 1) {
                                q->state = 0;
                                continue;
                        }
                        q->state = 2;
                        done++;
                        if (q->on_done)
                                q->on_done(q, q->on_done_data);
                        if (r < 0 && !first_err && !keep_going)
                                first_err = r;
                }
                timeout_ms = 1000;
                if (next_wake < 1e300) {
                        double left = (next_wake - now_s()) * 1000.0;

                        timeout_ms = left < 0 ? 0 : left < 1000 ? (int)left : 1000;
                }
                if (c->tick && now_s() - c->last_tick >= 0.1) {
                        c->last_tick = now_s();
                        c->tick(c->tick_data);
                }
                if (timeout_ms > 100 && c->tick)
                        timeout_ms = 100;
                if (running > 0)
                        (void)curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
        }
        if (first_err) {
                for (size_t i = 0; i < n; i++)
                        if (reqs[i]->err) {
                                mx_error_move(err, &reqs[i]->err);
                                return first_err;
                        }
                return mx_error_set(err, first_err, MX_D_REGISTRY, 0, "registry request failed");
        }
        return 0;
}

static int ping_at(mx_registry_client *c, const char *endpoint, mx_reg_req *req, mx_error **err)
{
        mx_reg_req *one = req;
        int r;

        free(c->endpoint);
        c->endpoint = strdup(endpoint);
        if (!c->endpoint)
                return mx_error_oom(err);
        mx_registry__req_clear(req);
        req->method = "GET";
        req->url = strdup("/v2/");
        req->no_auth = 1;
        if (!req->url)
                return mx_error_oom(err);
        r = run_reqs(c, &one, 1, 1, 0, err);
        return r;
}

int mx_registry__client_ping(mx_registry_client *c, mx_error **err)
{
        mx_reg_req req = {0};
        cleanup_free char *https = NULL;
        cleanup_free char *http = NULL;
        int r;

        if (c->decided)
                return 0;
        if (asprintf(&https, "https://%s", c->api_host) < 0 ||
            asprintf(&http, "http://%s", c->api_host) < 0)
                return mx_error_oom(err);
        /* mirrors first, for pulls from Docker Hub; any failure falls through to the hub */
        MX_STRV_FOREACH (m, c->mirrors) {
                cleanup_free char *ep = strdup(m);
                size_t l;

                if (!ep)
                        return mx_error_oom(err);
                l = strlen(ep);
                while (l > 0 && ep[l - 1] == '/')
                        ep[--l] = '\0';
                if (ping_at(c, ep, &req, NULL) == 0 && (req.status == 200 || req.status == 401)) {
                        (void)learn_challenge(c, req.www_auth);
                        mx_registry__req_clear(&req);
                        c->decided = 1;
                        return 0;
                }
                mx_registry__req_clear(&req);
        }
        if (c->plain_http) {
                r = ping_at(c, http, &req, err);
        } else {
                mx_error *tls_err = NULL;

                r = ping_at(c, https, &req, &tls_err);
                /* HTTPS first; plain HTTP only where allowed and only when the server does not
                 * speak TLS at all (a failed handshake, never a refused certificate) */
                if (r < 0 && c->http_allowed && req.curl_code == CURLE_SSL_CONNECT_ERROR) {
                        mx_error *http_err = NULL;

                        r = ping_at(c, http, &req, &http_err);
                        if (r < 0 || (req.status == 400 && strstr(req.resp.ptr, "HTTPS"))) {
                                mx_error_free(http_err);
                                mx_error_move(err, &tls_err);
                                r = err && *err ? (*err)->code : MX_ETLS;
                        }
                } else if (r < 0) {
                        mx_error_move(err, &tls_err);
                }
                mx_error_free(tls_err);
        }
        if (r < 0) {
                mx_registry__req_clear(&req);
                return r;
        }
        if (req.status != 200 && req.status != 401) {
                r = mx_registry__status_error(&req, "check the registry API at /v2/", err);
                mx_registry__req_clear(&req);
                return r;
        }
        (void)learn_challenge(c, req.www_auth);
        mx_registry__req_clear(&req);
        c->decided = 1;
        mx_log(MX_LOG_DEBUG, "registry %s: endpoint %s", c->host, c->endpoint);
        return 0;
}

int mx_registry__run(mx_registry_client *c, mx_reg_req **reqs, size_t n, size_t parallel,
                     mx_error **err)
{
        int r;

        if (!c || c->magic != CLIENT_MAGIC)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "invalid registry client");
        r = mx_registry__client_ping(c, err);
        if (r < 0)
                return r;
        return run_reqs(c, reqs, n, parallel, 0, err);
}

int mx_registry__run_all(mx_registry_client *c, mx_reg_req **reqs, size_t n, size_t parallel,
                         mx_error **err)
{
        int r;

        if (!c || c->magic != CLIENT_MAGIC)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "invalid registry client");
        r = mx_registry__client_ping(c, err);
        if (r < 0)
                return r;
        return run_reqs(c, reqs, n, parallel, 1, err);
}

int mx_registry__run1(mx_registry_client *c, mx_reg_req *req, mx_error **err)
{
        return mx_registry__run(c, &req, 1, 1, err);
}
