/* SPDX-License-Identifier: Apache-2.0 */
/* Which names an image gets when it is loaded from an archive. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/reference.h>

#include "imageops-internal.h"
#include "strv.h"

static int push_normalized(char ***v, const char *name, const char *what, mx_error **err)
{
        char *norm = NULL;
        int r;

        r = mx_ref_normalize(&norm, name, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "image name from %s", what);
        /* An archive may list a name twice (RepoTags, several index entries); keep one. */
        if (mx_strv_contains(*v, norm)) {
                free(norm);
                return 0;
        }
        if (mx_strv_push_take(v, norm) < 0)
                return mx_error_oom(err);
        return 0;
}

int mx_imageops__load_names(char ***out, char *const *annotations, char *const *repo_tags,
                            mx_error **err)
{
        cleanup_strv char **names = NULL;
        const char *v;
        int r;

        v = mx_kv_get(annotations, MX_ANNOTATION_CONTAINERD_NAME);
        if (v && *v) {
                r = push_normalized(&names, v, "annotation '" MX_ANNOTATION_CONTAINERD_NAME "'",
                                    err);
                if (r < 0)
                        return r;
                *out = TAKE_PTR(names);
                return 0;
        }
        /* ref.name is often just a tag ("latest", skopeo's oci:DIR:TAG); only a value that
         * holds a repository ("h:name", "example.com/x") names an image. */
        v = mx_kv_get(annotations, MX_ANNOTATION_REF_NAME);
        if (v && (strchr(v, ':') || strchr(v, '/'))) {
                r = push_normalized(&names, v, "annotation '" MX_ANNOTATION_REF_NAME "'", err);
                if (r < 0)
                        return r;
                *out = TAKE_PTR(names);
                return 0;
        }
        MX_STRV_FOREACH (t, repo_tags) {
                r = push_normalized(&names, t, "RepoTags", err);
                if (r < 0)
                        return r;
        }
        *out = TAKE_PTR(names);
        return 0;
}

int mx_imageops__write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

void mx_images_strv_free(char **v)
{
        mx_strv_free(v);
}
