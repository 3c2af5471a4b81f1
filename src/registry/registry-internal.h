/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI distribution client: internals shared by the registry module's files. */
#ifndef MX_REGISTRY_INTERNAL_H
#define MX_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>

#include <myrmex/error.h>
#include <myrmex/progress.h>

#include "buf.h"
#include "cleanup.h"

/* Caps on what a registry may send us. */
#define MX_REG_MAX_HEADER     (16 * 1024)
#define MX_REG_MAX_MANIFEST   (4 * 1024 * 1024)
#define MX_REG_MAX_SMALL_BODY (1024 * 1024)
#define MX_REG_MAX_TOKEN_BODY (256 * 1024)

/* ---- WWW-Authenticate (auth.c) ---- */

typedef struct mx_reg_challenge {
        char *scheme; /* lowercase: "basic", "bearer", ... */
        char *realm;
        char *service;
        char *scope;
        char *error; /* bearer error="insufficient_scope" etc. */
} mx_reg_challenge;

void mx_registry__challenges_free(mx_reg_challenge *c, size_t n);

/* Parse a WWW-Authenticate header value (RFC 7235: one or more challenges, each a scheme
 * followed by a token68 or comma-separated auth-params with token or quoted-string values).
 * Fails with MX_EFORMAT on malformed input; at most 16 challenges, 8 KiB of header. */
int mx_registry__parse_challenges(mx_reg_challenge **out, size_t *n_out, const char *header,
                                  mx_error **err);

/* Parse a token server's JSON answer ("token" or "access_token", "expires_in"). */
int mx_registry__parse_token_response(char **token_out, long *expires_in_out, const char *body,
                                      size_t len, mx_error **err);

/* Base64 helpers (standard alphabet, padded). Caller frees. */
char *mx_registry__base64_encode(const void *data, size_t len);
int mx_registry__base64_decode(char **out, size_t *len_out, const char *s);

/* ---- credentials (creds.c) ---- */

typedef struct mx_reg_creds {
        char *username;
        char *password;       /* or NULL */
        char *identity_token; /* OAuth refresh token, when the config holds one */
        char *registry_token; /* a bearer token to send as is */
} mx_reg_creds;

void mx_registry__creds_clear(mx_reg_creds *c);

/* The Docker config file path: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
char *mx_registry__docker_config_path(void);

/* Look up credentials for a registry host (as written in references: "docker.io",
 * "127.0.0.1:5000"): Docker config credHelpers[host], auths[host], credsStore, then podman's
 * auth.json ($REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json). Nothing found is
 * success with an empty *out. */
int mx_registry__creds_lookup(mx_reg_creds *out, const char *host, mx_error **err);

/* Same, from one config file only (Docker's or podman's format), for tests. */
int mx_registry__creds_from_file(mx_reg_creds *out, const char *path, const char *host,
                                 int use_helpers, mx_error **err);

/* docker-credential-<helper> get / store / erase. */
int mx_registry__helper_get(mx_reg_creds *out, const char *helper, const char *server,
                            mx_error **err);
int mx_registry__helper_store(const char *helper, const char *server, const char *username,
                              const char *secret, mx_error **err);
int mx_registry__helper_erase(const char *helper, const char *server, mx_error **err);

/* Write (or remove, when username is NULL) the login for host into the Docker config at
 * path, or its credential helper; the file keeps its other keys and gets mode 0600. */
int mx_registry__config_store_login(const char *path, const char *host, const char *username,
                                    const char *password, mx_error **err);

/* ---- configuration (config.c) ---- */

typedef struct mx_reg_config {
        char **mirrors;  /* registry-mirrors (URLs), for docker.io */
        char **insecure; /* insecure-registries: host[:port] or CIDR */
} mx_reg_config;

void mx_registry__config_clear(mx_reg_config *c);
/* Load $MYRMEX_CONFIG (default /etc/myrmex/config.json); a missing file is empty. */
int mx_registry__config_load(mx_reg_config *out, const char *path, mx_error **err);
/* 1 when host[:port] is listed insecure (exact or CIDR match on an IP address). */
int mx_registry__config_is_insecure(const mx_reg_config *c, const char *hostport);
/* 1 for localhost, 127.0.0.0/8 and ::1 (with or without a port). */
int mx_registry__is_loopback(const char *hostport);

/* The certificate directory for hostport: the first of bases[i]/HOST:PORT that exists.
 * *out is NULL when none does. bases NULL means the standard three. */
int mx_registry__certs_dir_find(char **out, const char *const *bases, const char *hostport,
                                mx_error **err);

typedef struct mx_reg_tls {
        char *ca_pem; /* system bundle + the directory's *.crt, or NULL */
        size_t ca_len;
        char *client_cert; /* path of a *.cert */
        char *client_key;  /* path of the matching *.key */
} mx_reg_tls;

void mx_registry__tls_clear(mx_reg_tls *t);
/* Read a certificate directory: *.crt are CAs, X.cert + X.key a client pair. */
int mx_registry__tls_load(mx_reg_tls *out, const char *dir, mx_error **err);

/* ---- references (ref.c) ---- */

typedef struct mx_reg_ref {
        char *host;   /* "docker.io", "127.0.0.1:5000" */
        char *repo;   /* "library/busybox" */
        char *tag;    /* or NULL */
        char *digest; /* or NULL */
} mx_reg_ref;

void mx_registry__ref_clear(mx_reg_ref *r);
/* Docker-style normalization; accepts a "docker://" prefix. With registry_url the
 * repository part of name is placed on that registry. *plain_http set for http:// URLs. */
int mx_registry__ref_parse(mx_reg_ref *out, const char *name, const char *registry_url,
                           int *plain_http, mx_error **err);
/* host/repo[:tag][@digest]; caller frees. */
char *mx_registry__ref_format(const mx_reg_ref *r);
/* The tag-or-digest part used in /manifests/<ref>. */
const char *mx_registry__ref_reference(const mx_reg_ref *r);

/* ---- the client (client.c) ---- */

typedef struct mx_registry_client mx_registry_client;

typedef struct mx_reg_client_opts {
        const char *username;
        const char *password;
        const char *token; /* bearer token to send as is */
        const char *cert_dir;
        const char *auth_file; /* a Docker/podman config to read credentials from */
        const char *config_path;
        int use_mirrors; /* pulls from docker.io may go to registry-mirrors */
        int tls_verify;  /* 1 verify (default), 0 skip verification and allow HTTP */
        int plain_http;  /* 1: use http:// (a URL with that scheme asked for it) */
        int max_retries;
        int no_creds_lookup; /* 1: only the credentials given here */
} mx_reg_client_opts;

/* Sink for response bodies that are not kept in memory (blobs). */
typedef struct mx_reg_sink {
        /* Append data; a negative return (with *err filled) aborts the transfer. */
        int (*write)(void *ctx, const void *data, size_t len, mx_error **err);
        /* Forget everything written (the server ignored our Range request). */
        int (*reset)(void *ctx, mx_error **err);
        void *ctx;
} mx_reg_sink;

/* Source for request bodies that do not sit in memory (blob uploads). */
typedef struct mx_reg_source {
        int fd;          /* read with pread from off */
        uint64_t off;    /* where this request's body starts in fd */
        uint64_t len;    /* bytes to send */
        uint64_t sent;   /* bytes read so far (this attempt) */
        uint64_t *moved; /* a counter the caller watches (progress), or NULL */
} mx_reg_source;

typedef struct mx_reg_req {
        /* in */
        const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
        char *url;          /* absolute, or a path starting with "/" under the endpoint */
        char *scope;        /* auth scope ("repository:x:pull"), or NULL */
        char **headers;     /* extra "Name: value" lines */
        const void *body;   /* request body in memory, or NULL */
        size_t body_len;
        mx_reg_source *source; /* request body from a file, or NULL */
        mx_reg_sink *sink;     /* 2xx response body goes here (else into resp) */
        int resumable;         /* a GET into a sink that may continue with Range */
        size_t resp_cap;       /* cap for resp (default MX_REG_MAX_SMALL_BODY) */
        int no_retry;          /* do not retry on 5xx (e.g. a PATCH whose state is unknown) */
        int no_auth;           /* send no credentials, return a 401 as it is (the ping) */
        /* called once when the request is over (answered, or failed for good), while the
         * others may still run: pull commits each blob as soon as it is whole */
        void (*on_done)(struct mx_reg_req *req, void *userdata);
        void *on_done_data;
        /* out */
        long status;
        mx_buf resp;
        char *location;
        char *docker_digest;
        char *content_type;
        char *link;
        char *range;
        uint64_t content_length;
        int has_content_length;
        uint64_t received; /* body bytes handed to the sink over all attempts */
        /* private */
        char *www_auth;
        long retry_after;
        int attempts;
        int auth_retried;
        int got_status_body; /* first body bytes of this attempt seen */
        int to_sink;
        uint64_t attempt_base; /* sink offset when this attempt started */
        int range_requested;
        int range_broken; /* the server answered a Range request wrongly; ask whole */
        int sink_failed;
        int curl_code; /* CURLcode of the last attempt */
        CURL *easy;
        struct curl_slist *slist;
        char errbuf[CURL_ERROR_SIZE];
        double not_before;
        int state; /* 0 waiting, 1 running, 2 done */
        mx_error *err;
} mx_reg_req;

void mx_registry__req_clear(mx_reg_req *r);

int mx_registry__client_new(mx_registry_client **out, const char *host,
                            const mx_reg_client_opts *opts, mx_error **err);
void mx_registry__client_free(mx_registry_client *c);
MX_DEFINE_FREEP(mx_registry_client, mx_registry__client_free)

/* The base URL in use ("https://registry-1.docker.io"), after the first request. */
const char *mx_registry__client_endpoint(mx_registry_client *c);
const char *mx_registry__client_host(mx_registry_client *c);

/* Call fn(userdata) about every 100 ms while requests run (progress of uploads); NULL to stop. */
void mx_registry__client_set_tick(mx_registry_client *c, void (*fn)(void *), void *userdata);

/* Probe /v2/ and decide the scheme; done implicitly by run. */
int mx_registry__client_ping(mx_registry_client *c, mx_error **err);

/* Run requests, at most parallel at once, with auth, retries and resume. Each request's
 * own err holds its failure; the call fails with the first one (and waits for the rest).
 * A request that got an HTTP answer (any status) is a success here: callers judge status. */
int mx_registry__run(mx_registry_client *c, mx_reg_req **reqs, size_t n, size_t parallel,
                     mx_error **err);
/* Same, but every request runs whatever the others do; failures stay in reqs[i]->err. */
int mx_registry__run_all(mx_registry_client *c, mx_reg_req **reqs, size_t n, size_t parallel,
                         mx_error **err);
int mx_registry__run1(mx_registry_client *c, mx_reg_req *req, mx_error **err);

/* Turn an unexpected status into an error: 401/403 MX_EAUTH, 404 MX_ENOTFOUND (the
 * registry's JSON error codes name what is unknown), 429/5xx MX_ENET, else MX_EFAIL.
 * what names the operation ("get manifest 'x'"). */
int mx_registry__status_error(const mx_reg_req *req, const char *what, mx_error **err);

/* The first error code of a registry error body ("MANIFEST_UNKNOWN"), or NULL; into buf. */
const char *mx_registry__error_code(const char *body, size_t len, char *buf, size_t bufsize);

/* Copy the first HTTP status found down the chain onto the outermost node (after a wrap). */
void mx_registry__lift_http(mx_error **err);

/* Parse a Link header's next URL (`<url>; rel="next"`); caller frees; NULL when none. */
char *mx_registry__link_next(const char *link);

/* Parse Retry-After seconds (integer form); -1 when absent or unparsable. */
long mx_registry__parse_retry_after(const char *value);

/* Mask credentials in a header line for logs ("Authorization: Bearer ***"). */
void mx_registry__mask_header(char *out, size_t outsize, const char *line);

/* ---- protocol operations (ops.c) ---- */

/* The Accept header listing the four manifest media types. */
extern const char mx_registry__accept[];

/* GET (or HEAD when data_out is NULL) a manifest by tag or digest. The content is checked
 * against the digest asked for, else against Docker-Content-Digest. Outputs may be NULL. */
int mx_registry__manifest_get(mx_registry_client *c, const char *repo, const char *reference,
                              char **data_out, size_t *len_out, char **media_type_out,
                              char **digest_out, mx_error **err);

/* PUT a manifest under a tag or digest; digest_out gets its digest. */
int mx_registry__manifest_put(mx_registry_client *c, const char *repo, const char *reference,
                              const void *data, size_t len, const char *media_type,
                              char **digest_out, mx_error **err);

/* DELETE a manifest by digest. */
int mx_registry__manifest_delete(mx_registry_client *c, const char *repo, const char *digest,
                                 mx_error **err);

/* HEAD blobs: present[i] set to 1 for each digest the repository has. */
int mx_registry__blobs_exist(mx_registry_client *c, const char *repo, char *const *digests,
                             size_t n, int *present, size_t parallel, mx_error **err);

/* One blob to upload. */
typedef struct mx_reg_upload {
        const char *digest;
        int fd;
        uint64_t size;
        const char *mount_from; /* another repository on the registry that has it, or NULL */
        uint64_t moved;         /* bytes sent (all attempts) */
        int mounted;            /* 1 when the registry mounted it */
} mx_reg_upload;

/* Upload blobs (monolithic POST+PUT, or PATCH chunks of chunk_size then PUT), with
 * cross-repository mounts where mount_from is set. A failed upload starts over in a new
 * session, at most the client's retry count. */
int mx_registry__blobs_upload(mx_registry_client *c, const char *repo, mx_reg_upload *ups, size_t n,
                              uint64_t chunk_size, size_t parallel, mx_error **err);

/* Tags of a repository / repositories of the registry, following Link. */
int mx_registry__tags(mx_registry_client *c, const char *repo, char ***out, mx_error **err);
int mx_registry__catalog(mx_registry_client *c, char ***out, mx_error **err);

/* The scope strings. Caller frees. */
char *mx_registry__scope(const char *repo, int push);

#endif
