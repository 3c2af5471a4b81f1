/* SPDX-License-Identifier: Apache-2.0 */
/* Media types of the OCI image spec and Docker's distribution: classification, syntax and
 * the mapping between the two families. */
#include <stdio.h>
#include <string.h>

#include <myrmex/image.h>

#include "format-internal.h"

typedef struct mt_info {
        const char *name;
        enum { K_MANIFEST, K_INDEX, K_CONFIG, K_LAYER, K_OTHER } kind;
        mx_media_compression compression;
        int nondistributable;
        const char *docker; /* the Docker equivalent, or NULL */
        const char *oci;    /* the OCI equivalent, or NULL */
} mt_info;

static const mt_info known[] = {
        {MX_MT_OCI_INDEX, K_INDEX, MX_MEDIA_COMPRESSION_UNKNOWN, 0, MX_MT_DOCKER_MANIFEST_LIST,
         MX_MT_OCI_INDEX},
        {MX_MT_OCI_MANIFEST, K_MANIFEST, MX_MEDIA_COMPRESSION_UNKNOWN, 0, MX_MT_DOCKER_MANIFEST,
         MX_MT_OCI_MANIFEST},
        {MX_MT_OCI_CONFIG, K_CONFIG, MX_MEDIA_COMPRESSION_UNKNOWN, 0, MX_MT_DOCKER_CONFIG,
         MX_MT_OCI_CONFIG},
        {MX_MT_OCI_LAYER, K_LAYER, MX_MEDIA_COMPRESSION_NONE, 0, MX_MT_DOCKER_LAYER,
         MX_MT_OCI_LAYER},
        {MX_MT_OCI_LAYER_GZIP, K_LAYER, MX_MEDIA_COMPRESSION_GZIP, 0, MX_MT_DOCKER_LAYER_GZIP,
         MX_MT_OCI_LAYER_GZIP},
        {MX_MT_OCI_LAYER_ZSTD, K_LAYER, MX_MEDIA_COMPRESSION_ZSTD, 0, NULL, MX_MT_OCI_LAYER_ZSTD},
        {MX_MT_OCI_LAYER_ND, K_LAYER, MX_MEDIA_COMPRESSION_NONE, 1, NULL, MX_MT_OCI_LAYER_ND},
        {MX_MT_OCI_LAYER_ND_GZIP, K_LAYER, MX_MEDIA_COMPRESSION_GZIP, 1, MX_MT_DOCKER_FOREIGN_GZIP,
         MX_MT_OCI_LAYER_ND_GZIP},
        {MX_MT_OCI_LAYER_ND_ZSTD, K_LAYER, MX_MEDIA_COMPRESSION_ZSTD, 1, NULL,
         MX_MT_OCI_LAYER_ND_ZSTD},
        {MX_MT_OCI_EMPTY, K_OTHER, MX_MEDIA_COMPRESSION_UNKNOWN, 0, NULL, MX_MT_OCI_EMPTY},
        {MX_MT_OCI_LAYOUT_HEADER, K_OTHER, MX_MEDIA_COMPRESSION_UNKNOWN, 0, NULL,
         MX_MT_OCI_LAYOUT_HEADER},
        {MX_MT_DOCKER_MANIFEST, K_MANIFEST, MX_MEDIA_COMPRESSION_UNKNOWN, 0, MX_MT_DOCKER_MANIFEST,
         MX_MT_OCI_MANIFEST},
        {MX_MT_DOCKER_MANIFEST_LIST, K_INDEX, MX_MEDIA_COMPRESSION_UNKNOWN, 0,
         MX_MT_DOCKER_MANIFEST_LIST, MX_MT_OCI_INDEX},
        {MX_MT_DOCKER_CONFIG, K_CONFIG, MX_MEDIA_COMPRESSION_UNKNOWN, 0, MX_MT_DOCKER_CONFIG,
         MX_MT_OCI_CONFIG},
        {MX_MT_DOCKER_LAYER_GZIP, K_LAYER, MX_MEDIA_COMPRESSION_GZIP, 0, MX_MT_DOCKER_LAYER_GZIP,
         MX_MT_OCI_LAYER_GZIP},
        {MX_MT_DOCKER_LAYER, K_LAYER, MX_MEDIA_COMPRESSION_NONE, 0, MX_MT_DOCKER_LAYER,
         MX_MT_OCI_LAYER},
        {MX_MT_DOCKER_FOREIGN_GZIP, K_LAYER, MX_MEDIA_COMPRESSION_GZIP, 1,
         MX_MT_DOCKER_FOREIGN_GZIP, MX_MT_OCI_LAYER_ND_GZIP},
        {MX_MT_DOCKER_SCHEMA1, K_OTHER, MX_MEDIA_COMPRESSION_UNKNOWN, 0, MX_MT_DOCKER_SCHEMA1,
         NULL},
        {MX_MT_DOCKER_SCHEMA1_SIGNED, K_OTHER, MX_MEDIA_COMPRESSION_UNKNOWN, 0,
         MX_MT_DOCKER_SCHEMA1_SIGNED, NULL},
};

/* Length of the type proper: up to ';' with trailing blanks dropped. */
static size_t type_len(const char *s)
{
        size_t n = strcspn(s, ";");

        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        return n;
}

static const mt_info *lookup(const char *media_type)
{
        size_t n;

        if (!media_type)
                return NULL;
        n = type_len(media_type);
        for (size_t i = 0; i < MX_ARRAY_SIZE(known); i++)
                if (strlen(known[i].name) == n && memcmp(known[i].name, media_type, n) == 0)
                        return &known[i];
        return NULL;
}

const char *mx_image__media_type_static(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i ? i->name : NULL;
}

int mx_media_type_is_manifest(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i && i->kind == K_MANIFEST;
}

int mx_media_type_is_index(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i && i->kind == K_INDEX;
}

int mx_media_type_is_config(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i && i->kind == K_CONFIG;
}

int mx_media_type_is_layer(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i && i->kind == K_LAYER;
}

int mx_media_type_is_nondistributable(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i && i->nondistributable;
}

int mx_media_type_is_docker(const char *media_type)
{
        return media_type && strncmp(media_type, "application/vnd.docker.", 23) == 0;
}

mx_media_compression mx_media_type_compression(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i && i->kind == K_LAYER ? i->compression : MX_MEDIA_COMPRESSION_UNKNOWN;
}

static int restricted_name(const char *s, size_t n)
{
        /* RFC 6838 section 4.2 restricted-name: 1-127 chars, first alphanumeric. */
        if (n < 1 || n > 127)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                int alnum =
                        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

                if (i == 0 && !alnum)
                        return 0;
                if (!alnum && !strchr("!#$&^_.+-", c))
                        return 0;
        }
        return 1;
}

int mx_media_type_is_valid(const char *media_type)
{
        const char *slash;
        size_t len;

        if (!media_type)
                return 0;
        len = strlen(media_type);
        if (len > 255)
                return 0;
        slash = memchr(media_type, '/', len);
        if (!slash)
                return 0;
        return restricted_name(media_type, (size_t)(slash - media_type)) &&
               restricted_name(slash + 1, len - (size_t)(slash - media_type) - 1);
}

const char *mx_media_type_to_docker(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i ? i->docker : NULL;
}

const char *mx_media_type_to_oci(const char *media_type)
{
        const mt_info *i = lookup(media_type);

        return i ? i->oci : NULL;
}

const char *mx_image__declared(char *buf, size_t size, const char *declared)
{
        size_t n;

        if (!declared)
                return NULL;
        while (*declared == ' ' || *declared == '\t')
                declared++;
        n = type_len(declared);
        if (n == 0 || n >= size)
                return n == 0 ? NULL : declared; /* too long: let the caller refuse it */
        memcpy(buf, declared, n);
        buf[n] = '\0';
        if (strcmp(buf, "application/json") == 0 || strcmp(buf, "application/octet-stream") == 0 ||
            strcmp(buf, "text/plain") == 0)
                return NULL;
        return buf;
}
