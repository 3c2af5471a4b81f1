/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostile layer corpus (tests/data/hostile/layer-*, made by make-layer-hostile.py):
 * each blob is unpacked into a fresh target inside a sandbox directory, in both whiteout
 * modes, and must fail with the right code and a message naming the entry, or (where the
 * entry is harmless) succeed confined to the target. Whatever the outcome, nothing may
 * appear beside the target (the sandbox's canary directory stays as it was), nothing under
 * /tmp/mx-hostile-canary*, and /etc/passwd stays unchanged.
 */
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "error-internal.h"
#include "fs.h"
#include "tap.h"
#include "test-image-layer-util.h"

struct hcase {
        const char *file;
        int code;            /* expected result: 0 or MX_E* */
        const char *needle;  /* must appear in the error chain (NULL: no check) */
        unsigned flags;      /* extra unpack flags */
        const char *diff_id; /* expected_diff_id, or NULL */
        const char *exists;  /* on success, this path must exist under the target */
};

static const struct hcase cases[] = {
        {"layer-dotdot.tar", MX_EUNSAFE, "'../escaped'", 0, NULL, NULL},
        {"layer-dotdot-mid.tar", MX_EUNSAFE, "'a/../../escaped'", 0, NULL, NULL},
        {"layer-absolute.tar", 0, NULL, 0, NULL, "tmp/mx-hostile-canary-abs"},
        {"layer-symlink-escape.tar", MX_EUNSAFE, "'l/passwd'", 0, NULL, NULL},
        {"layer-symlink-escape-rel.tar", MX_EUNSAFE, "symbolic link", 0, NULL, NULL},
        {"layer-symlink-parent.tar", MX_EUNSAFE, "'s/x'", 0, NULL, NULL},
        {"layer-symlink-overwrite.tar", 0, NULL, 0, NULL, "l"},
        {"layer-hardlink-escape-rel.tar", MX_EUNSAFE, "'../../etc/passwd'", 0, NULL, NULL},
        {"layer-hardlink-escape-abs.tar", MX_EUNSAFE, "'/etc/passwd'", 0, NULL, NULL},
        {"layer-hardlink-missing.tar", MX_EUNSAFE, "does not exist", 0, NULL, NULL},
        {"layer-hardlink-via-symlink.tar", MX_EUNSAFE, "symbolic link", 0, NULL, NULL},
        {"layer-replace-2-noparent.tar", 0, NULL, 0, NULL, "d/f"}, /* alone: harmless */
        {"layer-truncated.tar.gz", MX_EFORMAT, "truncated gzip", 0, NULL, NULL},
        {"layer-garbage-after.tar.gz", MX_EFORMAT, "garbage after", 0, NULL, NULL},
        {"layer-diffid-mismatch.tar", MX_EDIGEST, "diffID", 0,
         "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL},
        {"layer-absurd-size.tar", MX_EFORMAT, "tar", 0, NULL, NULL},
        {"layer-device.tar", MX_EUNSAFE, "'dev/null'", MX_LAYER_NO_DEVICES, NULL, NULL},
        {"layer-device.tar", 0, NULL, 0, NULL, "dev/null"},
        {"layer-deep.tar.gz", MX_EFORMAT, "too deep", 0, NULL, NULL},
        {"layer-whiteout-empty.tar", MX_EUNSAFE, "'a/.wh.'", 0, NULL, NULL},
        {"layer-not-a-tar.tar", MX_EFORMAT, "tar", 0, NULL, NULL},
};

static char passwd_before[MX_DIGEST_MAX];

static void clean_canaries(void)
{
        (void)sh("rm -rf /tmp/mx-hostile-canary*");
}

/* Nothing outside the target: the sandbox holds only canary/ and target/, canary/ only
 * its file, no /tmp/mx-hostile-canary*, and /etc/passwd unchanged. */
static void assert_confined(const char *sandbox, const char *what)
{
        char now[MX_DIGEST_MAX];
        glob_t g;

        if (sh("test \"$(ls -A '%s' | tr '\\n' ' ')\" = 'canary target '", sandbox) != 0)
                mx_tap_fail(__FILE__, __LINE__, "%s: something appeared in the sandbox", what);
        if (sh("test \"$(find '%s/canary' | wc -l)\" = 2 && "
               "test \"$(cat '%s/canary/keep')\" = keep",
               sandbox, sandbox) != 0)
                mx_tap_fail(__FILE__, __LINE__, "%s: the canary directory changed", what);
        if (glob("/tmp/mx-hostile-canary*", 0, NULL, &g) == 0) {
                globfree(&g);
                mx_tap_fail(__FILE__, __LINE__, "%s: wrote under /tmp/mx-hostile-canary*", what);
        }
        globfree(&g);
        ASSERT_OK(mx_digest_file("/etc/passwd", MX_DIGEST_SHA256, now, NULL));
        if (strcmp(now, passwd_before) != 0)
                mx_tap_fail(__FILE__, __LINE__, "%s: /etc/passwd changed", what);
}

static char *make_sandbox(const char *tag)
{
        char *sb = NULL;

        if (asprintf(&sb, "%s/sandbox-%s", mx_tap_tmpdir(), tag) < 0)
                abort();
        if (sh("rm -rf '%s' && mkdir -p '%s/canary' '%s/target' && echo keep > '%s/canary/keep'",
               sb, sb, sb, sb) != 0)
                mx_tap_fail(__FILE__, __LINE__, "cannot make sandbox %s", sb);
        return sb;
}

static int unpack_into(const char *blob, const char *target, mx_whiteout_mode mode, unsigned flags,
                       const char *diff_id, mx_error **err)
{
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        int fd = open(blob, O_RDONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                mx_tap_fail(__FILE__, __LINE__, "open %s", blob);
        o.whiteouts = mode;
        o.flags = flags | MX_LAYER_NONEMPTY_OK;
        o.expected_diff_id = diff_id;
        r = mx_layer_unpack(fd, target, &o, NULL, err);
        close(fd);
        return r;
}

static void check_case(const struct hcase *c, mx_whiteout_mode mode)
{
        cleanup_free char *blob = NULL, *sb = NULL, *target = NULL, *tag = NULL;
        mx_error *err = NULL;
        char what[256];
        int r;

        snprintf(what, sizeof(what), "%s (%s)", c->file,
                 mode == MX_WHITEOUT_APPLY ? "apply" : "overlay");
        if (asprintf(&blob, "data/hostile/%s", c->file) < 0 || asprintf(&tag, "%d", rand()) < 0)
                abort();
        sb = make_sandbox(tag);
        if (asprintf(&target, "%s/target", sb) < 0)
                abort();
        clean_canaries();
        r = unpack_into(mx_tap_data(blob), target, mode, c->flags, c->diff_id, &err);
        if (r != c->code) {
                char *m = mx_error_format(err);
                mx_tap_fail(__FILE__, __LINE__, "%s: returned %d (%s), expected %d: %s", what, r,
                            mx_code_name(r), c->code, m ? m : "(no error)");
        }
        if (c->code != 0) {
                char *m = mx_error_format(err);
                ASSERT_EQ(err->domain, MX_D_IMAGE);
                ASSERT_EQ(err->code, c->code);
                ASSERT_NOT_NULL(err->cause); /* "unpack layer into ...": the cause says why */
                if (c->needle && (!m || !strstr(m, c->needle)))
                        mx_tap_fail(__FILE__, __LINE__, "%s: message '%s' lacks '%s'", what,
                                    m ? m : "", c->needle);
                free(m);
                mx_error_free(err);
        } else if (c->exists) {
                if (sh("test -e '%s/%s' || test -L '%s/%s'", target, c->exists, target,
                       c->exists) != 0)
                        mx_tap_fail(__FILE__, __LINE__, "%s: '%s' missing in the target", what,
                                    c->exists);
        }
        assert_confined(sb, what);
        ASSERT_OK(mx_fs_rm_rf(sb, NULL));
}

MX_TEST(hostile_corpus_overlay_mode)
{
        ASSERT_OK(mx_digest_file("/etc/passwd", MX_DIGEST_SHA256, passwd_before, NULL));
        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++)
                check_case(&cases[i], MX_WHITEOUT_OVERLAY);
        clean_canaries();
}

MX_TEST(hostile_corpus_apply_mode)
{
        ASSERT_OK(mx_digest_file("/etc/passwd", MX_DIGEST_SHA256, passwd_before, NULL));
        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++)
                check_case(&cases[i], MX_WHITEOUT_APPLY);
        clean_canaries();
}

MX_TEST(hostile_every_corpus_file_is_covered)
{
        glob_t g;
        cleanup_free char *pattern = NULL;

        if (asprintf(&pattern, "%s", mx_tap_data("data/hostile/layer-*")) < 0)
                abort();
        ASSERT_EQ(glob(pattern, 0, NULL, &g), 0);
        for (size_t i = 0; i < g.gl_pathc; i++) {
                const char *base = strrchr(g.gl_pathv[i], '/') + 1;
                bool found = strncmp(base, "layer-replace-", 14) == 0;
                for (size_t j = 0; j < MX_ARRAY_SIZE(cases) && !found; j++)
                        found = strcmp(cases[j].file, base) == 0;
                if (!found)
                        mx_tap_fail(__FILE__, __LINE__, "corpus file %s has no expectation", base);
        }
        globfree(&g);
}

/* A symlink in one layer replaced by a directory in the next, applied in order: the
 * directory wins and the file lands inside the target. Without the directory entry, the
 * second layer would write through the link: refused. */
MX_TEST(hostile_symlink_replaced_by_directory_across_layers)
{
        cleanup_free char *sb = make_sandbox("replace");
        cleanup_free char *sb2 = make_sandbox("replace-noparent");
        cleanup_free char *target = NULL, *target2 = NULL;
        mx_error *err = NULL;
        char *m;

        ASSERT_OK(mx_digest_file("/etc/passwd", MX_DIGEST_SHA256, passwd_before, NULL));
        clean_canaries();
        ASSERT_TRUE(asprintf(&target, "%s/target", sb) > 0);
        ASSERT_OK_E(unpack_into(mx_tap_data("data/hostile/layer-replace-1.tar"), target,
                                MX_WHITEOUT_APPLY, 0, NULL, &err),
                    err);
        ASSERT_OK_E(unpack_into(mx_tap_data("data/hostile/layer-replace-2.tar"), target,
                                MX_WHITEOUT_APPLY, 0, NULL, &err),
                    err);
        ASSERT_EQ(sh("test -d '%s/d' && ! test -L '%s/d' && grep -q inside '%s/d/f'", target,
                     target, target),
                  0);
        assert_confined(sb, "replace");

        ASSERT_TRUE(asprintf(&target2, "%s/target", sb2) > 0);
        ASSERT_OK_E(unpack_into(mx_tap_data("data/hostile/layer-replace-1.tar"), target2,
                                MX_WHITEOUT_APPLY, 0, NULL, &err),
                    err);
        ASSERT_ERR(unpack_into(mx_tap_data("data/hostile/layer-replace-2-noparent.tar"), target2,
                               MX_WHITEOUT_APPLY, 0, NULL, &err),
                   MX_EUNSAFE);
        m = mx_error_format(err);
        ASSERT_TRUE(m && strstr(m, "'d/f'") && strstr(m, "symbolic link"));
        free(m);
        mx_error_free(err);
        assert_confined(sb2, "replace-noparent");
        clean_canaries();
}

MX_TEST(hostile_truncated_zstd)
{
        cleanup_free char *sb = make_sandbox("zstd");
        cleanup_free char *tar = NULL, *zst = NULL, *target = NULL;
        mx_error *err = NULL;
        struct stat st;
        int in, out;

        ASSERT_OK(mx_digest_file("/etc/passwd", MX_DIGEST_SHA256, passwd_before, NULL));
        ASSERT_TRUE(asprintf(&tar, "%s/l.tar", mx_tap_tmpdir()) > 0);
        ASSERT_TRUE(asprintf(&zst, "%s/l.tar.zst", mx_tap_tmpdir()) > 0);
        ASSERT_TRUE(asprintf(&target, "%s/target", sb) > 0);
        ASSERT_EQ(sh("cd / && tar -cf '%s' etc/os-release usr/bin/env", tar), 0);
        in = open(tar, O_RDONLY | O_CLOEXEC);
        out = open(zst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(mx_layer_compress(in, out, MX_COMPRESSION_ZSTD, 3, NULL, NULL));
        close(in);
        ASSERT_OK(fstat(out, &st));
        ASSERT_OK(ftruncate(out, st.st_size / 2));
        close(out);
        ASSERT_ERR(unpack_into(zst, target, MX_WHITEOUT_OVERLAY, 0, NULL, &err), MX_EFORMAT);
        ASSERT_EQ(err->domain, MX_D_IMAGE);
        {
                char *m = mx_error_format(err);
                ASSERT_TRUE(m && strstr(m, "zstd"));
                free(m);
        }
        mx_error_free(err);
        assert_confined(sb, "truncated zstd");
}

/* The same gzip cases through zlib's inflate (the fallback when ISA-L is missing), plus a
 * multi-member stream split at every member boundary it can meet. */
MX_TEST(hostile_gzip_cases_with_zlib)
{
        cleanup_free char *sb = NULL, *target = NULL, *tar = NULL, *gz = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_digest_file("/etc/passwd", MX_DIGEST_SHA256, passwd_before, NULL));
        setenv("MYRMEX_LAYER_ZLIB", "1", 1);
        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++)
                if (strstr(cases[i].file, ".gz"))
                        check_case(&cases[i], MX_WHITEOUT_OVERLAY);
        sb = make_sandbox("zlib-multi");
        ASSERT_TRUE(asprintf(&target, "%s/target", sb) > 0);
        ASSERT_TRUE(asprintf(&tar, "%s/m.tar", mx_tap_tmpdir()) > 0);
        ASSERT_TRUE(asprintf(&gz, "%s/m.tar.gz", mx_tap_tmpdir()) > 0);
        ASSERT_EQ(
                sh("cd /usr/share && tar -cf '%s' common-licenses && "
                   "head -c 100000 '%s' | gzip -1 > '%s' && tail -c +100001 '%s' | gzip -9 >> '%s'",
                   tar, tar, gz, tar, gz),
                0);
        ASSERT_OK_E(unpack_into(gz, target, MX_WHITEOUT_OVERLAY, 0, NULL, &err), err);
        ASSERT_EQ(sh("diff -r /usr/share/common-licenses '%s/common-licenses'", target), 0);
        unsetenv("MYRMEX_LAYER_ZLIB");
        assert_confined(sb, "zlib multi-member");
        clean_canaries();
}
