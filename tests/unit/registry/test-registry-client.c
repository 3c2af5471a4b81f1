/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request runner against a scripted HTTP server in a thread (127.0.0.1, a free port):
 * retries on 5xx and 429 with Retry-After, the bearer and basic challenge flows with token
 * caching, Range resume of a cut download, and the registry's error codes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "registry/registry-internal.h"
#include "tap.h"

#define MAX_SEEN 64

typedef struct request {
        char line[512];
        char auth[512];
        char range[128];
} request;

typedef struct server server;
/* Write the answer for request number n (0-based) to fd. */
typedef void (*answer_fn)(server *srv, int fd, const request *rq, int n);

struct server {
        int listen_fd;
        int port;
        pthread_t thread;
        answer_fn answer;
        request seen[MAX_SEEN];
        int n_seen;
        int stop;
        const char *blob;
        size_t blob_len;
};

static void send_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

                if (w <= 0)
                        return;
                p += w;
                len -= (size_t)w;
        }
}

static void reply(int fd, int status, const char *headers, const char *body)
{
        char head[2048];
        size_t blen = body ? strlen(body) : 0;
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                         status, blen, headers ? headers : "");

        send_all(fd, head, (size_t)n);
        if (blen)
                send_all(fd, body, blen);
}

static void header_value(const char *req, const char *name, char *out, size_t outsize)
{
        const char *p = strcasestr(req, name);

        out[0] = '\0';
        if (!p)
                return;
        p += strlen(name);
        while (*p == ' ')
                p++;
        snprintf(out, outsize, "%.*s", (int)strcspn(p, "\r\n"), p);
}

static void *serve(void *arg)
{
        server *srv = arg;

        for (;;) {
                char buf[8192];
                size_t len = 0;
                request rq = {0};
                int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0 || srv->stop) {
                        if (fd >= 0)
                                close(fd);
                        return NULL;
                }
                while (len < sizeof(buf) - 1) {
                        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

                        if (r <= 0)
                                break;
                        len += (size_t)r;
                        buf[len] = '\0';
                        if (strstr(buf, "\r\n\r\n"))
                                break;
                }
                buf[len] = '\0';
                snprintf(rq.line, sizeof(rq.line), "%.*s", (int)strcspn(buf, "\r\n"), buf);
                header_value(buf, "\nAuthorization:", rq.auth, sizeof(rq.auth));
                header_value(buf, "\nRange:", rq.range, sizeof(rq.range));
                if (srv->n_seen < MAX_SEEN)
                        srv->seen[srv->n_seen] = rq;
                srv->answer(srv, fd, &rq, srv->n_seen++);
                close(fd);
        }
}

static void server_start(server *srv, answer_fn answer)
{
        struct sockaddr_in a = {.sin_family = AF_INET};
        socklen_t alen = sizeof(a);

        memset(srv, 0, sizeof(*srv));
        srv->answer = answer;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        srv->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(srv->listen_fd >= 0);
        ASSERT_EQ(bind(srv->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ASSERT_EQ(listen(srv->listen_fd, 16), 0);
        ASSERT_EQ(getsockname(srv->listen_fd, (struct sockaddr *)&a, &alen), 0);
        srv->port = ntohs(a.sin_port);
        ASSERT_EQ(pthread_create(&srv->thread, NULL, serve, srv), 0);
}

static void server_stop(server *srv)
{
        struct sockaddr_in a = {.sin_family = AF_INET};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        srv->stop = 1;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)srv->port);
        (void)connect(fd, (struct sockaddr *)&a, sizeof(a));
        close(fd);
        pthread_join(srv->thread, NULL);
        close(srv->listen_fd);
}

static mx_registry_client *client_for(server *srv)
{
        mx_reg_client_opts o = {.tls_verify = 1,
                                .plain_http = 1,
                                .no_creds_lookup = 1,
                                .config_path = "/nonexistent/config.json"};
        mx_registry_client *c = NULL;
        char host[64];

        snprintf(host, sizeof(host), "127.0.0.1:%d", srv->port);
        ASSERT_OK(mx_registry__client_new(&c, host, &o, NULL));
        return c;
}

static void get(mx_reg_req *q, const char *path, const char *scope)
{
        memset(q, 0, sizeof(*q));
        q->method = "GET";
        q->url = strdup(path);
        q->scope = scope ? strdup(scope) : NULL;
}

/* ---- retries ---- */

static void answer_flaky(server *srv, int fd, const request *rq, int n)
{
        (void)srv;
        (void)rq;
        if (n == 0)
                reply(fd, 200, NULL, "{}"); /* the /v2/ ping */
        else if (n == 1 || n == 2)
                reply(fd, 503, NULL, "busy");
        else if (n == 3)
                reply(fd, 429, "Retry-After: 1\r\n", "slow down");
        else
                reply(fd, 200, "Content-Type: application/json\r\n", "{\"ok\":true}");
}

MX_TEST(retries_5xx_and_429)
{
        server srv;
        mx_registry_client *c;
        mx_reg_req q;
        struct timespec t0, t1;

        server_start(&srv, answer_flaky);
        c = client_for(&srv);
        get(&q, "/v2/x/manifests/1", NULL);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ASSERT_EQ(q.status, 200);
        ASSERT_EQ(q.attempts, 4);
        ASSERT_STREQ(q.resp.ptr, "{\"ok\":true}");
        /* Retry-After: 1 was honoured */
        ASSERT_TRUE(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9 >= 1.0);
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);
        server_stop(&srv);
}

static void answer_always_500(server *srv, int fd, const request *rq, int n)
{
        (void)srv;
        (void)rq;
        reply(fd, n == 0 ? 200 : 500, NULL, n == 0 ? "{}" : "");
}

MX_TEST(retries_are_bounded)
{
        server srv;
        mx_registry_client *c;
        mx_reg_req q;
        mx_error *err = NULL;

        server_start(&srv, answer_always_500);
        c = client_for(&srv);
        get(&q, "/v2/x/manifests/1", NULL);
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.status, 500);
        ASSERT_EQ(q.attempts, 5);
        ASSERT_EQ(srv.n_seen, 6);
        ASSERT_ERR(mx_registry__status_error(&q, "get manifest", &err), MX_ENET);
        ASSERT_EQ(err->http_status, 500);
        ASSERT_TRUE(strstr(err->message, "after 5 attempts") != NULL);
        mx_error_free(err);
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);
        server_stop(&srv);
}

/* ---- bearer tokens ---- */

static int tokens_issued;

static void answer_bearer(server *srv, int fd, const request *rq, int n)
{
        char chal[256];

        (void)n;
        snprintf(chal, sizeof(chal),
                 "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                 "service=\"svc\"\r\n",
                 srv->port);
        if (strncmp(rq->line, "GET /token?", 11) == 0) {
                char body[128];

                /* the scope and service were asked for */
                if (!strstr(rq->line, "service=svc") ||
                    !strstr(rq->line, "scope=repository%3Ax%3Apull")) {
                        reply(fd, 400, NULL, "bad token request");
                        return;
                }
                tokens_issued++;
                snprintf(body, sizeof(body), "{\"token\":\"tok%d\",\"expires_in\":300}",
                         tokens_issued);
                reply(fd, 200, NULL, body);
                return;
        }
        if (strcmp(rq->line, "GET /v2/ HTTP/1.1") == 0) {
                reply(fd, 401, chal, "{}");
                return;
        }
        /* the first token is refused once, as a registry does for an expired one */
        if (strcmp(rq->auth, "Bearer tok2") == 0 || strcmp(rq->auth, "Bearer tok3") == 0) {
                reply(fd, 200, NULL, "data");
                return;
        }
        reply(fd, 401, chal, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
}

MX_TEST(bearer_challenge_cache_and_refresh)
{
        server srv;
        mx_registry_client *c;
        mx_reg_req q;

        tokens_issued = 0;
        server_start(&srv, answer_bearer);
        c = client_for(&srv);
        get(&q, "/v2/x/manifests/1", "repository:x:pull");
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.status, 200);
        /* tok1 fetched up front and refused, tok2 fetched after the 401 */
        ASSERT_EQ(tokens_issued, 2);
        mx_registry__req_clear(&q);
        /* cached: the next request of the same scope fetches nothing */
        get(&q, "/v2/x/blobs/sha256:00", "repository:x:pull");
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.status, 200);
        ASSERT_EQ(tokens_issued, 2);
        ASSERT_STREQ(srv.seen[srv.n_seen - 1].auth, "Bearer tok2");
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);
        server_stop(&srv);
}

static void answer_basic(server *srv, int fd, const request *rq, int n)
{
        (void)srv;
        (void)n;
        /* alice:pw */
        if (strcmp(rq->auth, "Basic YWxpY2U6cHc=") == 0)
                reply(fd, 200, NULL, "{}");
        else
                reply(fd, 401, "WWW-Authenticate: Basic realm=\"r\"\r\n",
                      "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
                      "required\"}]}");
}

MX_TEST(basic_challenge)
{
        server srv;
        mx_registry_client *c = NULL;
        mx_reg_client_opts o = {.tls_verify = 1,
                                .plain_http = 1,
                                .username = "alice",
                                .password = "pw",
                                .config_path = "/nonexistent"};
        mx_reg_req q;
        mx_error *err = NULL;
        char host[64];

        server_start(&srv, answer_basic);
        snprintf(host, sizeof(host), "127.0.0.1:%d", srv.port);
        ASSERT_OK(mx_registry__client_new(&c, host, &o, NULL));
        get(&q, "/v2/x/tags/list", "repository:x:pull");
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.status, 200);
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);

        /* wrong password: MX_EAUTH with the status, the secret nowhere in the message */
        o.password = "wrong-secret";
        ASSERT_OK(mx_registry__client_new(&c, host, &o, NULL));
        get(&q, "/v2/x/tags/list", "repository:x:pull");
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.status, 401);
        ASSERT_ERR(mx_registry__status_error(&q, "list tags", &err), MX_EAUTH);
        ASSERT_EQ(err->http_status, 401);
        ASSERT_TRUE(strstr(err->message, "wrong-secret") == NULL);
        mx_error_free(err);
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);
        server_stop(&srv);
}

/* ---- Range resume ---- */

typedef struct mem_sink {
        mx_buf b;
        int resets;
} mem_sink;

static int mem_write(void *ctx, const void *data, size_t len, mx_error **err)
{
        (void)err;
        return mx_buf_put(&((mem_sink *)ctx)->b, data, len);
}

static int mem_reset(void *ctx, mx_error **err)
{
        mem_sink *m = ctx;

        (void)err;
        mx_buf_truncate(&m->b, 0);
        m->resets++;
        return 0;
}

static void answer_cut(server *srv, int fd, const request *rq, int n)
{
        char head[256];
        size_t cut = 1000;

        (void)n;
        if (strcmp(rq->line, "GET /v2/ HTTP/1.1") == 0) {
                reply(fd, 200, NULL, "{}");
                return;
        }
        if (!rq->range[0]) {
                /* the whole blob announced, 1000 bytes sent, then the connection drops */
                int k = snprintf(head, sizeof(head),
                                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", srv->blob_len);

                send_all(fd, head, (size_t)k);
                send_all(fd, srv->blob, cut);
                shutdown(fd, SHUT_RDWR);
                return;
        }
        {
                char num[32];
                uint64_t from64 = 0;
                unsigned long long from;

                snprintf(num, sizeof(num), "%.*s", (int)strcspn(rq->range + 6, "-"), rq->range + 6);
                (void)mx_parse_u64(num, &from64);
                from = (unsigned long long)from64;
                int k = snprintf(head, sizeof(head),
                                 "HTTP/1.1 206 Partial\r\nContent-Length: %zu\r\n"
                                 "Content-Range: bytes %llu-%zu/%zu\r\n\r\n",
                                 srv->blob_len - (size_t)from, from, srv->blob_len - 1,
                                 srv->blob_len);

                send_all(fd, head, (size_t)k);
                send_all(fd, srv->blob + from, srv->blob_len - (size_t)from);
        }
}

MX_TEST(cut_download_resumes_with_range)
{
        server srv;
        mx_registry_client *c;
        mx_reg_req q;
        mem_sink m = {MX_BUF_INIT, 0};
        mx_reg_sink sink = {mem_write, mem_reset, &m};
        size_t len = 200000;
        char *blob = malloc(len);

        for (size_t i = 0; i < len; i++)
                blob[i] = (char)(i * 7 + 3);
        server_start(&srv, answer_cut);
        srv.blob = blob;
        srv.blob_len = len;
        c = client_for(&srv);
        get(&q, "/v2/x/blobs/sha256:00", NULL);
        q.sink = &sink;
        q.resumable = 1;
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.status, 206);
        ASSERT_EQ(m.b.len, len);
        ASSERT_EQ(memcmp(m.b.ptr, blob, len), 0);
        ASSERT_EQ(m.resets, 0);
        ASSERT_EQ(q.received, len);
        /* the second GET asked for the rest only */
        ASSERT_STREQ(srv.seen[2].range, "bytes=1000-");
        mx_registry__req_clear(&q);
        mx_buf_clear(&m.b);
        mx_registry__client_free(c);
        server_stop(&srv);
        free(blob);
}

/* ---- error codes ---- */

static void answer_404(server *srv, int fd, const request *rq, int n)
{
        (void)srv;
        (void)n;
        if (strcmp(rq->line, "GET /v2/ HTTP/1.1") == 0)
                reply(fd, 200, NULL, "{}");
        else
                reply(fd, 404, "Content-Type: application/json\r\n",
                      "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\"}]}");
}

MX_TEST(not_found_is_named)
{
        server srv;
        mx_registry_client *c;
        mx_reg_req q;
        mx_error *err = NULL;

        server_start(&srv, answer_404);
        c = client_for(&srv);
        get(&q, "/v2/x/blobs/sha256:00", NULL);
        ASSERT_OK(mx_registry__run1(c, &q, NULL));
        ASSERT_EQ(q.attempts, 1); /* a 404 is not retried */
        ASSERT_ERR(mx_registry__status_error(&q, "get blob", &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "BLOB_UNKNOWN") != NULL);
        ASSERT_EQ(err->http_status, 404);
        mx_error_free(err);
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);
        server_stop(&srv);
}

MX_TEST(connection_refused)
{
        server srv;
        mx_registry_client *c;
        mx_reg_req q;
        mx_error *err = NULL;

        /* a port nobody listens on: start and stop a server to get one */
        server_start(&srv, answer_404);
        server_stop(&srv);
        c = client_for(&srv);
        get(&q, "/v2/x/tags/list", NULL);
        ASSERT_ERR(mx_registry__run1(c, &q, &err), MX_ENET);
        ASSERT_EQ(err->domain, MX_D_REGISTRY);
        ASSERT_TRUE(strstr(err->message, "cannot connect") != NULL);
        mx_error_free(err);
        mx_registry__req_clear(&q);
        mx_registry__client_free(c);
}
