/* SPDX-License-Identifier: Apache-2.0 */
/* The container lifecycle on the store: create, start (through the monitor), stop, kill,
 * remove, wait, list, inspect, pause, top, exec, logs, copy, prune. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/layer.h>
#include <myrmex/store.h>
#include <myrmex/volume.h>

#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "json.h"
#include "netwire.h"
#include "parse.h"
#include "proc.h"
#include "runtime-internal.h"
#include "store/store-internal.h"
#include "strv.h"

extern char **environ;

/* ---- small helpers ----------------------------------------------------------------------- */

static int wait_gone(pid_t pid, int64_t start, int timeout_ms);

int64_t mx_runtime__proc_start_time(pid_t pid)
{
        char path[64], buf[1024];
        int fd;
        ssize_t n;
        char *p;
        int field = 2;

        if (pid <= 0)
                return -1;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        /* the command may hold spaces and parentheses: fields start after the last ')' */
        p = strrchr(buf, ')');
        if (!p)
                return -1;
        p++;
        while (*p && field < 22) {
                if (*p == ' ')
                        field++;
                p++;
        }
        {
                uint64_t v = 0;

                while (*p >= '0' && *p <= '9')
                        v = v * 10 + (uint64_t)(*p++ - '0');
                return (int64_t)v;
        }
}

/* state of a process: 'Z' zombies count as dead */
static char proc_state(pid_t pid)
{
        char path[64], buf[512];
        int fd;
        ssize_t n;
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        return p && p[1] == ' ' ? p[2] : 0;
}

int mx_runtime__proc_alive(pid_t pid, int64_t start)
{
        char st;

        if (pid <= 0)
                return 0;
        if (mx_runtime__proc_start_time(pid) != start)
                return 0;
        st = proc_state(pid);
        return st != 0 && st != 'Z' && st != 'X';
}

char *mx_runtime__ctr_dir(const mx_runtime *rt, const char *id)
{
        char *p = NULL;

        if (asprintf(&p, "%s/containers/%s", rt->root, id) < 0)
                return NULL;
        return p;
}

static int is_active(const char *state)
{
        return strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
               strcmp(state, "restarting") == 0;
}

char *mx_runtime__find_binary(void)
{
        const char *env = getenv("MYRMEX_BINARY");
        char self[PATH_MAX];
        ssize_t n;
        Dl_info info;

        if (env && *env)
                return access(env, X_OK) == 0 ? strdup(env) : NULL;
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                const char *b;

                self[n] = '\0';
                b = strrchr(self, '/');
                if (b && strcmp(b + 1, "myrmex") == 0)
                        return strdup(self);
        }
        if (dladdr((void *)(uintptr_t)&mx_runtime_open, &info) && info.dli_fname) {
                static const char *const rel[] = {"myrmex", "src/cli/myrmex", "../bin/myrmex",
                                                  "../../bin/myrmex"};
                char dir[PATH_MAX];
                char *slash;

                snprintf(dir, sizeof(dir), "%s", info.dli_fname);
                slash = strrchr(dir, '/');
                if (slash) {
                        *slash = '\0';
                        for (size_t i = 0; i < MX_ARRAY_SIZE(rel); i++) {
                                char *cand = NULL;

                                if (asprintf(&cand, "%s/%s", dir, rel[i]) < 0)
                                        return NULL;
                                if (access(cand, X_OK) == 0)
                                        return cand;
                                free(cand);
                        }
                }
        }
        return mx_proc_which("myrmex");
}

/* ---- open -------------------------------------------------------------------------------- */

int mx_runtime_open(mx_runtime **out, const mx_runtime_opts *opts, mx_error **err)
{
        cleanup_free char *root = NULL;
        mx_runtime *rt;
        int r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no output");
        if (opts && opts->root) {
                root = strdup(opts->root);
                if (!root)
                        return mx_error_oom(err);
        } else {
                r = mx_store_default_root(&root, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "find the store");
        }
        rt = calloc(1, sizeof(*rt));
        if (!rt)
                return mx_error_oom(err);
        rt->root = TAKE_PTR(root);
        rt->pre_ctl = -1;
        r = mx_store_open(&rt->store, rt->root, err);
        if (r >= 0)
                r = mx_runtime__db_schema(rt->store, err);
        if (r >= 0)
                r = mx_driver_init(&rt->drv, opts ? opts->runtime : NULL, rt->root, err);
        if (r < 0) {
                mx_runtime_free(rt);
                return mx_error_wrap(err, MX_D_RUNTIME, "open the container runtime");
        }
        rt->db = mx_store__db(rt->store);
        /* Container state is re-derived from the processes after a crash, so this handle's
         * commits need not reach the disk before returning: WAL with synchronous=NORMAL
         * stays consistent after a power loss and costs no fsync per state change. The
         * pragma is per connection: the store's own handles keep FULL. */
        (void)sqlite3_exec(rt->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        /* Every myrmex process is short: closing the last connection would checkpoint the
         * WAL (two fsyncs) and delete it, and the next process would recreate it (two
         * more). Checkpoints still happen as the WAL grows (auto-checkpoint). */
        {
                int one = 1;

                (void)sqlite3_db_config(rt->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
                (void)sqlite3_file_control(rt->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
        }
        rt->cgroup_mode = mx_runtime__cgroup_mode(NULL);
        {
                cleanup_free char *cdir = NULL;

                if (asprintf(&cdir, "%s/containers", rt->root) < 0 ||
                    mx_fs_mkdir_p(cdir, 0711, err) < 0) {
                        mx_runtime_free(rt);
                        return mx_error_wrap(err, MX_D_RUNTIME, "open the container runtime");
                }
        }
        *out = rt;
        return 0;
}

void mx_runtime_free(mx_runtime *rt)
{
        if (!rt)
                return;
        if (rt->pre_ctl >= 0)
                close(rt->pre_ctl); /* an unused monitor spawned ahead sees EOF and exits */
        mx_driver_clear(&rt->drv);
        mx_store_free(rt->store);
        free(rt->root);
        free(rt);
}

int mx_runtime_info(mx_runtime *rt, char **json_out, mx_error **err)
{
        cleanup_json json_t *j = NULL;
        mx_ctr **list = NULL;
        size_t n = 0, running = 0;
        cleanup_free char *version = NULL;
        char *s;
        int r;

        if (!rt || !json_out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        r = mx_runtime__db_list(rt->db, &list, &n, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "list containers");
        /* every look at the containers cleans up after dead ones: their veths, rules and
         * leases (docs/internals/network.md, "Crash safety") */
        mx_runtime__net_cleanup_stale(rt);
        for (size_t i = 0; i < n; i++) {
                (void)mx_runtime__refresh(rt, list[i], NULL);
                if (strcmp(list[i]->state, "running") == 0)
                        running++;
        }
        mx_runtime__ctr_list_free(list, n);
        version = mx_driver_version(&rt->drv);
        j = json_pack("{s:s,s:s,s:s?,s:s,s:b,s:s,s:I,s:I}", "runtime", rt->drv.name, "runtime_path",
                      rt->drv.path, "runtime_version", version, "cgroup_mode",
                      mx_runtime__cgroup_mode_name(rt->cgroup_mode), "crun_hybrid_workaround",
                      rt->drv.hide_controllers, "root", rt->root, "containers", (json_int_t)n,
                      "running", (json_int_t)running);
        if (!j)
                return mx_error_oom(err);
        s = mx_json_dump_ordered(j);
        if (!s)
                return mx_error_oom(err);
        *json_out = s;
        return 0;
}

/* ---- liveness ---------------------------------------------------------------------------- */

int mx_runtime__refresh(mx_runtime *rt, mx_ctr *c, mx_error **err)
{
        int ctr_alive, mon_alive;

        if (!is_active(c->state) && strcmp(c->state, "created") != 0)
                return 0;
        mon_alive = c->monitor_pid > 0 &&
                    mx_runtime__proc_alive((pid_t)c->monitor_pid, c->monitor_start);
        if (strcmp(c->state, "created") == 0) {
                return 0;
        }
        ctr_alive = c->pid > 0 && mx_runtime__proc_alive((pid_t)c->pid, c->pid_start);
        if (ctr_alive || mon_alive)
                return 0;
        /* Neither the process nor its monitor exists: nobody recorded the end. */
        {
                int64_t now = mx_runtime__now_ns();
                int r = mx_runtime__db_update(
                        rt->db, c->id, err,
                        "state = 'exited', exit_code = CASE WHEN state = 'restarting' THEN "
                        "exit_code ELSE 255 END, finished_at = %lld, pid = 0, error = "
                        "'the container monitor exited unexpectedly; the exit status is unknown'",
                        (long long)now);

                if (r < 0)
                        return r;
                free(c->state);
                c->state = strdup("exited");
                if (!c->state)
                        return mx_error_oom(err);
                if (c->pid)
                        c->exit_code = 255;
                c->finished_at = now;
                c->pid = 0;
        }
        {
                const char *args[] = {"delete", "--force", c->id, NULL};

                (void)mx_driver_simple(&rt->drv, args, NULL);
        }
        return 0;
}

static int load(mx_runtime *rt, const char *ref, mx_ctr **out, mx_error **err)
{
        mx_ctr *c = NULL;
        int r;

        if (!rt || !ref)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        r = mx_runtime__db_resolve(rt->db, ref, &c, err);
        if (r < 0)
                return r;
        r = mx_runtime__refresh(rt, c, err);
        if (r < 0) {
                mx_ctr_free(c);
                return r;
        }
        *out = c;
        return 0;
}

int mx_container_resolve(mx_runtime *rt, const char *ref, char **id_out, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        int r = load(rt, ref, &c, err);

        if (r < 0)
                return r;
        *id_out = TAKE_PTR(c->id);
        return 0;
}

/* ---- root filesystems -------------------------------------------------------------------- */

static int is_mountpoint(const char *path)
{
        struct stat a, b;
        cleanup_free char *parent = NULL;

        if (asprintf(&parent, "%s/..", path) < 0)
                return 0;
        if (stat(path, &a) < 0 || stat(parent, &b) < 0)
                return 0;
        return a.st_dev != b.st_dev;
}

static int overlay_mount(char *const *lowers, const char *upper, const char *work,
                         const char *target, mx_error **err)
{
        return mx_rootfs_mount((const char *const *)lowers, mx_strv_length(lowers), upper, work,
                               target, 0, err);
}

/* Mount (or re-mount after a reboot) the container's overlay from the lower directories
 * recorded in its "lowers" file. */
int mx_runtime__rootfs_ensure(mx_runtime *rt, const char *id, mx_error **err);
int mx_runtime__rootfs_ensure(mx_runtime *rt, const char *id, mx_error **err)
{
        cleanup_free char *dir = mx_runtime__ctr_dir(rt, id);
        cleanup_free char *lowers_path = NULL, *rootfs = NULL, *upper = NULL, *work = NULL;
        mx_buf b = MX_BUF_INIT;
        cleanup_strv char **lowers = NULL;
        char *save = NULL;
        int r;

        if (!dir || asprintf(&lowers_path, "%s/lowers", dir) < 0 ||
            asprintf(&rootfs, "%s/rootfs", dir) < 0 || asprintf(&upper, "%s/upper", dir) < 0 ||
            asprintf(&work, "%s/work", dir) < 0)
                return mx_error_oom(err);
        if (!mx_fs_exists(lowers_path) || is_mountpoint(rootfs))
                return 0;
        r = mx_buf_read_file(&b, lowers_path, 1 << 20, err);
        if (r < 0)
                return r;
        for (char *t = strtok_r(b.ptr, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                if (mx_strv_push(&lowers, t) < 0) {
                        mx_buf_clear(&b);
                        return mx_error_oom(err);
                }
        }
        mx_buf_clear(&b);
        if (!lowers)
                return mx_error_set(err, MX_ECORRUPT, MX_D_RUNTIME, 0,
                                    "container '%s' lists no layers", id);
        r = overlay_mount(lowers, upper, work, rootfs, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "mount the root filesystem of '%.12s'", id);
        return 0;
}

static void rootfs_release(mx_runtime *rt, const char *id)
{
        cleanup_free char *dir = mx_runtime__ctr_dir(rt, id);
        cleanup_free char *rootfs = NULL;

        if (!dir || asprintf(&rootfs, "%s/rootfs", dir) < 0)
                return;
        if (is_mountpoint(rootfs))
                (void)umount2(rootfs, MNT_DETACH);
}

/* Set up containers/<id>/rootfs from the image: overlay of its unpacked layers with a
 * writable upper, or a flattened copy where overlayfs is missing. */
static int rootfs_from_image(mx_runtime *rt, const char *dir, const char *image_id, mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup_strv char **lowers = NULL;
        mx_buf list = MX_BUF_INIT;
        cleanup_free char *rootfs = NULL, *upper = NULL, *work = NULL, *lp = NULL;
        int r;

        r = mx_images_unpack(rt->store, image_id, NULL, NULL, err);
        if (r < 0)
                return r;
        r = mx_store_image_get(rt->store, image_id, &rec, err);
        if (r < 0)
                return r;
        for (size_t i = rec->n_layers; i > 0; i--) {
                char *ld = NULL;

                r = mx_store_layer_dir(rt->store, rec->layers[i - 1].chain_id, &ld, err);
                if (r < 0)
                        return r;
                if (mx_strv_push_take(&lowers, ld) < 0 || mx_buf_puts(&list, ld) < 0 ||
                    mx_buf_putc(&list, '\n') < 0) {
                        mx_buf_clear(&list);
                        return mx_error_oom(err);
                }
        }
        if (asprintf(&rootfs, "%s/rootfs", dir) < 0 || asprintf(&upper, "%s/upper", dir) < 0 ||
            asprintf(&work, "%s/work", dir) < 0 || asprintf(&lp, "%s/lowers", dir) < 0) {
                mx_buf_clear(&list);
                return mx_error_oom(err);
        }
        if (mkdir(rootfs, 0755) < 0 && errno != EEXIST) {
                mx_buf_clear(&list);
                return mx_error_errno(err, MX_D_RUNTIME, "create '%s'", rootfs);
        }
        if (rec->n_layers == 0) {
                mx_buf_clear(&list);
                return 0; /* an image without layers: an empty root */
        }
        if (mx_rootfs_overlay_supported()) {
                if ((mkdir(upper, 0755) < 0 && errno != EEXIST) ||
                    (mkdir(work, 0700) < 0 && errno != EEXIST)) {
                        mx_buf_clear(&list);
                        return mx_error_errno(err, MX_D_RUNTIME, "create '%s'", upper);
                }
                r = mx_runtime__write_file(lp, list.ptr, list.len, 0600, err);
                mx_buf_clear(&list);
                if (r < 0)
                        return r;
                r = overlay_mount(lowers, upper, work, rootfs, err);
        } else {
                mx_buf_clear(&list);
                r = mx_rootfs_flatten((const char *const *)lowers, mx_strv_length(lowers), rootfs,
                                      err);
        }
        return r;
}

/* ---- create ------------------------------------------------------------------------------ */

static const char *const adjectives[] = {
        "admiring", "brave",  "clever", "dazzling", "eager",    "fervent",    "gallant", "happy",
        "jolly",    "keen",   "loving", "modest",   "nifty",    "optimistic", "quirky",  "relaxed",
        "serene",   "tender", "upbeat", "vibrant",  "wizardly", "youthful",   "zealous", "stoic",
};
static const char *const surnames[] = {
        "lovelace", "hopper",  "turing",   "curie",   "noether", "ritchie",  "thompson",  "knuth",
        "hamilton", "shannon", "dijkstra", "babbage", "liskov",  "torvalds", "kernighan", "pike",
        "wozniak",  "allen",   "bell",     "darwin",  "euler",   "feynman",  "goldberg",  "hodgkin",
};

static int random_hex(char *out, size_t n_bytes)
{
        unsigned char raw[64];
        static const char hex[] = "0123456789abcdef";

        if (n_bytes > sizeof(raw) || getrandom(raw, n_bytes, 0) != (ssize_t)n_bytes)
                return -1;
        for (size_t i = 0; i < n_bytes; i++) {
                out[2 * i] = hex[raw[i] >> 4];
                out[2 * i + 1] = hex[raw[i] & 15];
        }
        out[2 * n_bytes] = '\0';
        return 0;
}

static int valid_name(const char *n)
{
        /* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
        if (!n[0] || !n[1] || strlen(n) > 128)
                return 0;
        for (const char *p = n; *p; p++) {
                int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                         (*p >= '0' && *p <= '9') || (p != n && strchr("_.-", *p));

                if (!ok)
                        return 0;
        }
        return 1;
}

/* What can be refused before anything is recorded. */
static int check_config(const json_t *cfg, mx_error **err)
{
        {
                const char *rp = mx_json_str(cfg, "restart_policy");
                int kind, max;
                json_t *rpo = json_object_get(cfg, "restart_policy");

                if (json_is_object(rpo))
                        rp = mx_json_str(rpo, "Name");
                if (rp && mx_runtime__parse_restart(rp, &kind, &max) < 0)
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "invalid restart policy '%s' (no, always, "
                                            "unless-stopped, on-failure[:N])",
                                            rp);
        }
        return 0;
}

static char *static_init_path(void)
{
        static const char *const cands[] = {"/usr/bin/tini-static", "/usr/bin/docker-init",
                                            "/usr/libexec/docker/docker-init"};

        for (size_t i = 0; i < MX_ARRAY_SIZE(cands); i++) {
                if (access(cands[i], X_OK) == 0)
                        return strdup(cands[i]);
        }
        return NULL;
}

int mx_container_create(mx_runtime *rt, const char *config_json, char **id_out, mx_error **err)
{
        cleanup_json json_t *cfg = NULL, *spec = NULL, *img_cfg_doc = NULL, *oci_mounts = NULL;
        cleanup_free char *dir = NULL, *image_id = NULL, *spec_text = NULL, *cfg_text = NULL;
        cleanup_free char *netns = NULL;
        cleanup_free char *cpath = NULL, *rootfs = NULL, *init = NULL, *gen_name = NULL;
        char id[65];
        const char *image, *name, *ext_rootfs;
        mx_ctr c = {0};
        mx_spec_input in = {0};
        int r, inserted = 0;

        if (!rt || !config_json || !id_out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        r = mx_json_parse(&cfg, config_json, strlen(config_json), 1 << 20, 1,
                          "container configuration", err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "create container");
        r = check_config(cfg, err);
        if (r < 0)
                return r;
        if (random_hex(id, 32) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "getrandom");
        image = mx_json_str(cfg, "image");
        ext_rootfs = mx_json_str(cfg, "rootfs");
        if ((!image || !*image) && (!ext_rootfs || !*ext_rootfs))
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "create container: no image given");
        name = mx_json_str(cfg, "name");
        if (name && *name == '/')
                name++;
        if (name && *name) {
                if (!valid_name(name))
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "invalid container name '%s': only "
                                            "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                            name);
        } else {
                unsigned char rnd[2];

                if (getrandom(rnd, 2, 0) != 2)
                        rnd[0] = rnd[1] = 0;
                if (asprintf(&gen_name, "%s_%s", adjectives[rnd[0] % MX_ARRAY_SIZE(adjectives)],
                             surnames[rnd[1] % MX_ARRAY_SIZE(surnames)]) < 0)
                        return mx_error_oom(err);
                /* a generated name that is taken gets the ID's start appended */
                {
                        mx_ctr *other = NULL;

                        if (mx_runtime__db_resolve(rt->db, gen_name, &other, NULL) == 0) {
                                mx_ctr_free(other);
                                free(gen_name);
                                if (asprintf(&gen_name, "%s_%s_%.6s",
                                             adjectives[rnd[0] % MX_ARRAY_SIZE(adjectives)],
                                             surnames[rnd[1] % MX_ARRAY_SIZE(surnames)], id) < 0)
                                        return mx_error_oom(err);
                        }
                }
                name = gen_name;
        }
        if (image && *image && !(ext_rootfs && *ext_rootfs)) {
                cleanup_free char *cfg_blob = NULL;
                size_t len = 0;

                r = mx_store_image_resolve(rt->store, image, &image_id, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "create container from '%s'",
                                             image);
                r = mx_store_blob_read(rt->store, image_id, 8 << 20, &cfg_blob, &len, err);
                if (r >= 0)
                        r = mx_json_parse(&img_cfg_doc, cfg_blob, len, 8 << 20, 1,
                                          "image configuration", err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "read the configuration of '%s'",
                                             image);
        }
        /* networks checked, ports parsed, the health check merged: kept in the record */
        r = mx_runtime__net_plan(rt, cfg,
                                 img_cfg_doc ? json_object_get(img_cfg_doc, "config") : NULL, err);
        if (r >= 0)
                r = mx_runtime__health_plan(
                        cfg, img_cfg_doc ? json_object_get(img_cfg_doc, "config") : NULL, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "create container");
        dir = mx_runtime__ctr_dir(rt, id);
        if (!dir)
                return mx_error_oom(err);
        /* The record first (it reserves the name atomically against parallel creators), then
         * the files; a crash in between leaves a 'created' row whose rm cleans up. */
        cfg_text = mx_json_dump_compact(cfg);
        if (!cfg_text)
                return mx_error_oom(err);
        c.id = id;
        c.name = (char *)(uintptr_t)name;
        c.image = (char *)(uintptr_t)(image ? image : ext_rootfs);
        c.image_id = image_id;
        c.config_json = cfg_text;
        c.state = (char *)(uintptr_t) "created";
        c.created = mx_runtime__now_ns();
        r = mx_runtime__db_insert(rt->db, &c, err);
        if (r < 0)
                return r;
        inserted = 1;
        mx_fault_point("runtime-create-recorded");
        r = mx_fs_mkdir_p(dir, 0710, err);
        if (r < 0)
                goto fail;
        if (ext_rootfs && *ext_rootfs) {
                if (ext_rootfs[0] != '/') {
                        r = mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                         "rootfs '%s' must be an absolute path", ext_rootfs);
                        goto fail;
                }
                rootfs = strdup(ext_rootfs);
                if (!rootfs) {
                        r = mx_error_oom(err);
                        goto fail;
                }
        } else {
                r = rootfs_from_image(rt, dir, image_id, err);
                if (r < 0) {
                        r = mx_error_wrap(err, MX_D_RUNTIME, "prepare the root filesystem of '%s'",
                                          image);
                        goto fail;
                }
                if (asprintf(&rootfs, "%s/rootfs", dir) < 0) {
                        r = mx_error_oom(err);
                        goto fail;
                }
        }
        if (json_is_true(json_object_get(cfg, "init"))) {
                init = static_init_path();
                if (!init) {
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0,
                                         "--init needs a static init binary: install tini "
                                         "(/usr/bin/tini-static)");
                        goto fail;
                }
        }
        /* volumes are created and seeded from the image's content, seen through the fresh
         * root filesystem (nothing has written to its upper directory yet) */
        r = mx_runtime__mounts_plan(rt, cfg, id, rootfs, &oci_mounts, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_RUNTIME, "create container");
                goto fail;
        }
        if (mx_runtime__net_wanted(cfg)) {
                netns = mx_runtime__netns_path(rt, id);
                if (!netns) {
                        r = mx_error_oom(err);
                        goto fail;
                }
        }
        in.netns_path = netns;
        in.mounts = oci_mounts;
        in.config = cfg;
        in.image_config = img_cfg_doc ? json_object_get(img_cfg_doc, "config") : NULL;
        in.id = id;
        in.name = name;
        in.rootfs = rootfs;
        in.container_dir = dir;
        in.init_path = init;
        in.cgroup_mode = rt->cgroup_mode;
        r = mx_runtime__spec_build(&spec, &in, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_RUNTIME, "create container");
                goto fail;
        }
        {
                /* the command line for ps, recorded once */
                mx_buf cmdline = MX_BUF_INIT;
                size_t i;
                json_t *a;

                json_array_foreach(json_object_get(json_object_get(spec, "process"), "args"), i, a)
                {
                        if (i)
                                (void)mx_buf_putc(&cmdline, ' ');
                        (void)mx_buf_puts(&cmdline, json_string_value(a));
                }
                free(cfg_text);
                cfg_text = mx_json_dump_compact(cfg);
                r = cfg_text ? mx_runtime__db_update(rt->db, id, err, "command = %Q, config = %Q",
                                                     cmdline.ptr, cfg_text)
                             : mx_error_oom(err);
                mx_buf_clear(&cmdline);
                if (r < 0)
                        goto fail;
        }
        r = mx_runtime__write_etc_files(dir, cfg,
                                        json_string_value(json_object_get(spec, "hostname")), err);
        if (r < 0)
                goto fail;
        spec_text = mx_json_dump_ordered(spec);
        if (!spec_text || asprintf(&cpath, "%s/config.json", dir) < 0) {
                r = mx_error_oom(err);
                goto fail;
        }
        r = mx_runtime__write_file(cpath, spec_text, strlen(spec_text), 0600, err);
        if (r < 0)
                goto fail;
        mx_fault_point("runtime-create-bundle");
        *id_out = strdup(id);
        if (!*id_out) {
                r = mx_error_oom(err);
                goto fail;
        }
        return 0;
fail:
        if (inserted)
                mx_runtime__volumes_release(rt, id, 1);
        rootfs_release(rt, id);
        (void)mx_fs_rm_rf(dir, NULL);
        if (inserted)
                (void)mx_runtime__db_delete(rt->db, id, NULL);
        return r;
}

/* ---- start: the detached monitor --------------------------------------------------------- */

static int spawn_monitor(mx_runtime *rt, const char *id, unsigned flags, int *ready_fd,
                         mx_error **err)
{
        cleanup_free char *bin = mx_runtime__find_binary();
        cleanup_strv char **env = NULL;
        cleanup_free char *e_root = NULL, *e_rt = NULL;
        char *argv[5];
        int pipefd[2];
        pid_t pid;
        int status, argc = 0;

        if (!bin)
                return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0,
                                    "cannot find the myrmex binary for the container monitor: "
                                    "set MYRMEX_BINARY or put myrmex in PATH");
        /* Fault injection targets one process: MYRMEX_MONITOR_FAULT_AT becomes the monitor's
         * MYRMEX_FAULT_AT, and the client's own MYRMEX_FAULT_AT is not inherited. */
        for (char **e = environ; e && *e; e++) {
                if (strncmp(*e, "MYRMEX_ROOT=", 12) == 0 ||
                    strncmp(*e, "MYRMEX_RUNTIME=", 15) == 0 ||
                    strncmp(*e, "MYRMEX_MONITOR_READY_FD=", 24) == 0 ||
                    strncmp(*e, "MYRMEX_FAULT_AT=", 16) == 0)
                        continue;
                if (strncmp(*e, "MYRMEX_MONITOR_FAULT_AT=", 24) == 0) {
                        cleanup_free char *fa = NULL;

                        if (asprintf(&fa, "MYRMEX_FAULT_AT=%s", *e + 24) < 0 ||
                            mx_strv_push(&env, fa) < 0)
                                return mx_error_oom(err);
                        continue;
                }
                if (mx_strv_push(&env, *e) < 0)
                        return mx_error_oom(err);
        }
        if (asprintf(&e_root, "MYRMEX_ROOT=%s", rt->root) < 0 ||
            asprintf(&e_rt, "MYRMEX_RUNTIME=%s", rt->drv.path) < 0 ||
            mx_strv_push(&env, e_root) < 0 || mx_strv_push(&env, e_rt) < 0 ||
            mx_strv_push(&env, "MYRMEX_MONITOR_READY_FD=3") < 0)
                return mx_error_oom(err);
        argv[argc++] = bin;
        argv[argc++] = (char *)(uintptr_t) "__monitor";
        if (flags & MX_START_WAIT_ATTACH)
                argv[argc++] = (char *)(uintptr_t) "--wait-attach";
        argv[argc++] = id ? (char *)(uintptr_t)id : (char *)(uintptr_t) "--pre";
        argv[argc] = NULL;
        /* a socket pair rather than a pipe: a monitor spawned ahead receives its container
         * (and the attach socket, SCM_RIGHTS) over it and reports back on it */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipefd) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "socketpair");
        pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return mx_error_errno(err, MX_D_RUNTIME, "fork the monitor");
        }
        if (pid == 0) {
                /* detach: new session, then a grandchild that init (or a subreaper) adopts */
                int devnull;
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (setsid() < 0)
                        _exit(1);
                pid = fork();
                if (pid != 0)
                        _exit(pid < 0 ? 1 : 0);
                devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull < 0 || dup2(pipefd[1], 3) < 0 || dup2(devnull, 0) < 0 ||
                    dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
                        _exit(1);
                execve(bin, argv, env);
                _exit(127);
        }
        close(pipefd[1]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        *ready_fd = pipefd[0];
        return 0;
}

int mx_runtime__attach_listen(mx_runtime *rt, const char *id, mx_error **err);

/* Read the monitor's report lines up to one starting with one of stop_at. */
static int read_ready(int fd, const char *stop_at, const char *id, mx_error **err)
{
        mx_buf b = MX_BUF_INIT_CAP(65536);
        int r = 0;

        for (;;) {
                char chunk[4096];
                ssize_t n = read(fd, chunk, sizeof(chunk));
                char *line;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                (void)mx_buf_put(&b, chunk, (size_t)n);
                line = b.ptr;
                while (line && *line) {
                        char *nl = strchr(line, '\n');

                        if (!nl)
                                break;
                        if (line[0] == 'E') {
                                *nl = '\0';
                                r = mx_error_set(err, MX_EFAIL, MX_D_RUNTIME, 0, "%s", line + 1);
                                goto out;
                        }
                        if (strchr(stop_at, line[0]))
                                goto out;
                        line = nl + 1;
                }
        }
        r = mx_error_set(err, MX_EFAIL, MX_D_RUNTIME, 0,
                         "the monitor of container '%.12s' exited before starting it", id);
out:
        mx_buf_clear(&b);
        return r;
}

int mx_container_start(mx_runtime *rt, const char *ref, unsigned int flags, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_close int ready = -1;
        int r;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        /* a monitor that recorded the exit may still be cleaning up: let it finish */
        if (!is_active(c->state) && c->monitor_pid > 0)
                (void)wait_gone((pid_t)c->monitor_pid, c->monitor_start, 10000);
        if (is_active(c->state) ||
            (c->monitor_pid > 0 && mx_runtime__proc_alive((pid_t)c->monitor_pid, c->monitor_start)))
                return mx_error_set(err, MX_EBUSY, MX_D_RUNTIME, 0,
                                    "container '%s' is already running", c->name);
        if (strcmp(c->state, "removing") == 0 || strcmp(c->state, "dead") == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "container '%s' is %s and cannot be started", c->name,
                                    c->state);
        r = mx_runtime__db_update(rt->db, c->id, err, "stop_requested = 0, error = ''");
        if (r < 0)
                return r;
        if (rt->pre_ctl >= 0) {
                /* hand the container to the monitor spawned ahead, with the attach socket
                 * bound here so a client can connect at once */
                int lfd = mx_runtime__attach_listen(rt, c->id, err);
                char msg[128];
                int n = snprintf(msg, sizeof(msg), "%s %u", c->id,
                                 (flags & MX_START_WAIT_ATTACH) ? MX_MONITOR_WAIT_ATTACH : 0u);
                union {
                        char b[CMSG_SPACE(sizeof(int))];
                        struct cmsghdr align;
                } u;
                struct iovec iov = {msg, (size_t)n};
                struct msghdr mh = {0};
                struct cmsghdr *cm;
                ssize_t sent;

                ready = TAKE_FD(rt->pre_ctl);
                if (lfd < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "start container '%s'", c->name);
                memset(&u, 0, sizeof(u));
                mh.msg_iov = &iov;
                mh.msg_iovlen = 1;
                mh.msg_control = u.b;
                mh.msg_controllen = sizeof(u.b);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
                sent = sendmsg(ready, &mh, MSG_NOSIGNAL);
                close(lfd);
                if (sent != n)
                        return mx_error_errno(err, MX_D_RUNTIME,
                                              "hand container '%s' to its monitor", c->name);
                if (flags & MX_START_WAIT_ATTACH)
                        return 0; /* the socket already listens: attach may connect now */
        } else {
                r = spawn_monitor(rt, c->id, flags, &ready, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "start container '%s'", c->name);
        }
        r = read_ready(ready, (flags & MX_START_WAIT_ATTACH) ? "LS" : "S", c->id, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "start container '%s'", c->name);
        return 0;
}

int mx_runtime_prepare_monitor(mx_runtime *rt, mx_error **err)
{
        int r;

        if (!rt)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        if (rt->pre_ctl >= 0)
                return 0;
        r = spawn_monitor(rt, NULL, 0, &rt->pre_ctl, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "spawn a container monitor");
        return 0;
}

/* The bounds of this process's command line in its memory (/proc/self/stat fields 48, 49). */
static int cmdline_area(char **start, char **end)
{
        char buf[2048], *p, *save = NULL, *tok;
        uint64_t v[2] = {0, 0};
        int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field = 2;
        ssize_t n;

        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p)
                return -1;
        for (tok = strtok_r(p + 1, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
                if (++field < 48)
                        continue;
                if (mx_parse_u64(tok, &v[field - 48]) < 0)
                        return -1;
                if (field == 49)
                        break;
        }
        if (field != 49 || v[0] == 0 || v[1] <= v[0])
                return -1;
        *start = (char *)(uintptr_t)v[0];
        *end = (char *)(uintptr_t)v[1];
        return 0;
}

static const char monitor_args[] = "__monitor\0--pre"; /* with its final NUL: 16 bytes */

/* Whether the command line can be rewritten to `ARGV0 __monitor --pre`, so that a forked
 * monitor shows as one (ps, pgrep, the tests' process scans) as an exec'ed one does. */
static int cmdline_fits(char **start, char **end)
{
        if (cmdline_area(start, end) < 0)
                return 0;
        return strnlen(*start, (size_t)(*end - *start)) + 1 + sizeof(monitor_args) <=
               (size_t)(*end - *start);
}

/* The monitor's child side of mx_runtime_fork_monitor(): what exec would give a fresh
 * process, done by hand. Never returns. */
static _Noreturn void forked_monitor(const char *root, const char *runtime, int ctl)
{
        const char *mfa = getenv("MYRMEX_MONITOR_FAULT_AT");
        sigset_t none;
        pid_t pid;
        int devnull;

        /* handlers the caller installed are code of the caller's: back to the defaults, as
         * exec does (ignored signals stay ignored, as across exec) */
        for (int s = 1; s < NSIG; s++) {
                struct sigaction sa;

                if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &sa) < 0)
                        continue;
                if (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL) {
                        memset(&sa, 0, sizeof(sa));
                        sa.sa_handler = SIG_DFL;
                        (void)sigaction(s, &sa, NULL);
                }
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (setsid() < 0)
                _exit(1);
        pid = fork();
        if (pid != 0)
                _exit(pid < 0 ? 1 : 0);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0 || dup2(ctl, 3) < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 ||
            dup2(devnull, 2) < 0)
                _exit(1);
        /* every other inherited descriptor goes, as O_CLOEXEC would have closed them */
        if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
                for (int fd = 4; fd < 65536; fd++)
                        (void)close(fd);
        /* the environment the exec path gives (see spawn_monitor) */
        if (root)
                (void)setenv("MYRMEX_ROOT", root, 1);
        if (mfa)
                (void)setenv("MYRMEX_FAULT_AT", mfa, 1);
        else
                (void)unsetenv("MYRMEX_FAULT_AT");
        (void)setenv("MYRMEX_MONITOR_READY_FD", "3", 1);
        /* root and runtime may point into the command line rewritten below */
        if ((root && !(root = strdup(root))) || (runtime && !(runtime = strdup(runtime))))
                _exit(1);
        {
                char *a, *e;

                /* checked by the parent: the area is this process's own stack memory */
                if (cmdline_area(&a, &e) == 0) {
                        char *p = a + strlen(a) + 1;

                        memcpy(p, monitor_args, sizeof(monitor_args));
                        memset(p + sizeof(monitor_args), 0, (size_t)(e - p) - sizeof(monitor_args));
                }
        }
        _exit(mx_runtime_monitor_main(root, runtime, NULL, MX_MONITOR_PRE));
}

int mx_runtime_fork_monitor(const char *root, const char *runtime, int *ctl_out, mx_error **err)
{
        int sp[2], status;
        pid_t pid;

        char *a, *e;

        if (!ctl_out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        if (!cmdline_fits(&a, &e))
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_RUNTIME, 0,
                                    "the command line is too short to name the monitor");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "socketpair");
        fflush(NULL); /* nothing buffered is written twice */
        pid = fork();
        if (pid < 0) {
                close(sp[0]);
                close(sp[1]);
                return mx_error_errno(err, MX_D_RUNTIME, "fork the monitor");
        }
        if (pid == 0)
                forked_monitor(root, runtime, sp[1]);
        close(sp[1]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        *ctl_out = sp[0];
        return 0;
}

int mx_runtime_adopt_monitor(mx_runtime *rt, int ctl_fd, mx_error **err)
{
        if (!rt || ctl_fd < 0) {
                if (ctl_fd >= 0)
                        close(ctl_fd);
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        }
        if (rt->pre_ctl >= 0) {
                close(ctl_fd);
                return 0;
        }
        rt->pre_ctl = ctl_fd;
        return 0;
}

static int attach_addr(mx_runtime *rt, const char *id, struct sockaddr_un *sa, int *dirfd_out,
                       mx_error **err);
static int attach_addr(mx_runtime *rt, const char *id, struct sockaddr_un *sa, int *dirfd_out,
                       mx_error **err)
{
        cleanup_free char *dir = mx_runtime__ctr_dir(rt, id);
        int dfd;

        if (!dir)
                return mx_error_oom(err);
        /* The socket is named through /proc/self/fd so that a long store path never
         * overflows sun_path. */
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "open '%s'", dir);
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/attach.sock", dfd);
        *dirfd_out = dfd;
        return 0;
}

int mx_runtime__attach_listen(mx_runtime *rt, const char *id, mx_error **err);
int mx_runtime__attach_listen(mx_runtime *rt, const char *id, mx_error **err)
{
        struct sockaddr_un sa;
        cleanup_close int dfd = -1;
        int fd, r;

        r = attach_addr(rt, id, &sa, &dfd, err);
        if (r < 0)
                return r;
        (void)unlinkat(dfd, "attach.sock", 0);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "socket");
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
                r = mx_error_errno(err, MX_D_RUNTIME, "listen on the attach socket of '%.12s'", id);
                close(fd);
                return r;
        }
        return fd;
}

int mx_container_attach(mx_runtime *rt, const char *ref, int *fd_out, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        struct sockaddr_un sa;
        cleanup_close int dfd = -1;
        int fd, r;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        r = attach_addr(rt, c->id, &sa, &dfd, err);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                if (errno == ENOENT || errno == ECONNREFUSED)
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "you cannot attach to a stopped container, start "
                                            "it first");
                return mx_error_errno(err, MX_D_RUNTIME, "attach to '%s'", c->name);
        }
        *fd_out = fd;
        return 0;
}

/* ---- stop, kill, wait, remove ------------------------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Wait until pid (with its start time) is gone, up to timeout_ms (-1 forever). 1 if gone. */
static int wait_gone(pid_t pid, int64_t start, int timeout_ms)
{
        int fd;
        int gone;

        if (!mx_runtime__proc_alive(pid, start))
                return 1;
        fd = pidfd_open_(pid);
        if (fd >= 0) {
                struct pollfd p = {fd, POLLIN, 0};

                if (mx_runtime__proc_alive(pid, start))
                        (void)poll(&p, 1, timeout_ms);
                close(fd);
        }
        /* a zombie waits for its parent (the monitor) to reap it */
        for (int i = 0; i < 200; i++) {
                gone = !mx_runtime__proc_alive(pid, start);
                if (gone || fd >= 0)
                        break;
                usleep(10000);
        }
        return !mx_runtime__proc_alive(pid, start);
}

static int signal_by_name(const char *s)
{
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                    {"TERM", SIGTERM}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2}, {"STOP", SIGSTOP},
                    {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PWR", SIGPWR}};
        uint64_t n;

        if (!s || !*s)
                return SIGTERM;
        if (mx_parse_u64(s, &n) == 0)
                return n > 0 && n < 65 ? (int)n : SIGTERM;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < MX_ARRAY_SIZE(sigs); i++) {
                if (strcasecmp(sigs[i].name, s) == 0)
                        return sigs[i].sig;
        }
        return SIGTERM;
}

static int send_signal(mx_runtime *rt, const mx_ctr *c, int signo, mx_error **err)
{
        char sig[16];
        const char *args[] = {"kill", c->id, sig, NULL};
        int r;

        snprintf(sig, sizeof(sig), "%d", signo);
        r = mx_driver_simple(&rt->drv, args, err);
        if (r < 0 && c->pid > 0 && mx_runtime__proc_alive((pid_t)c->pid, c->pid_start)) {
                /* the runtime lost its state (a crash between create and record): the
                 * process itself is still ours, verified by its start time */
                int pfd = pidfd_open_((pid_t)c->pid);

                if (pfd >= 0 && mx_runtime__proc_alive((pid_t)c->pid, c->pid_start) &&
                    syscall(SYS_pidfd_send_signal, pfd, signo, NULL, 0) == 0) {
                        close(pfd);
                        mx_error_free(err ? *err : NULL);
                        if (err)
                                *err = NULL;
                        return 0;
                }
                if (pfd >= 0)
                        close(pfd);
        }
        return r;
}

/* After the process is gone: let the monitor record it, or record it ourselves. */
static int settle(mx_runtime *rt, const char *id, mx_error **err)
{
        for (int i = 0; i < 500; i++) {
                cleanup(mx_ctr_freep) mx_ctr *c = NULL;
                int r = mx_runtime__db_get(rt->db, id, &c, err);

                if (r < 0)
                        return r == MX_ENOTFOUND ? 0 : r;
                r = mx_runtime__refresh(rt, c, err);
                if (r < 0)
                        return r;
                if (!is_active(c->state))
                        return 0;
                if (strcmp(c->state, "restarting") == 0 && c->stop_requested &&
                    !mx_runtime__proc_alive((pid_t)c->monitor_pid, c->monitor_start))
                        return 0;
                usleep(10000);
        }
        return 0;
}

int mx_container_stop(mx_runtime *rt, const char *ref, int timeout_s, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_json json_t *cfg = NULL;
        const char *ss = NULL;
        cleanup_free char *spec_text = NULL;
        int r, signo;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        r = mx_runtime__db_update(rt->db, c->id, err, "stop_requested = 1");
        if (r < 0)
                return r;
        if (!is_active(c->state))
                return 0;
        if (timeout_s < 0) {
                if (mx_json_parse(&cfg, c->config_json, strlen(c->config_json), 1 << 20, 1,
                                  "configuration", NULL) == 0) {
                        json_t *t = json_object_get(cfg, "stop_timeout");

                        timeout_s = json_is_integer(t) ? (int)json_integer_value(t) : 10;
                } else {
                        timeout_s = 10;
                }
        }
        {
                /* the stop signal was resolved into the bundle at create time */
                cleanup_free char *dir = mx_runtime__ctr_dir(rt, c->id);
                cleanup_free char *path = NULL;
                mx_buf b = MX_BUF_INIT;
                json_t *spec = NULL;

                if (dir && asprintf(&path, "%s/config.json", dir) >= 0 &&
                    mx_buf_read_file(&b, path, 16 << 20, NULL) >= 0 &&
                    mx_json_parse(&spec, b.ptr, b.len, 16 << 20, 1, "bundle", NULL) == 0) {
                        ss = mx_json_str(json_object_get(spec, "annotations"),
                                         "io.myrmex.stop-signal");
                        spec_text = ss ? strdup(ss) : NULL;
                        json_decref(spec);
                }
                mx_buf_clear(&b);
        }
        signo = signal_by_name(spec_text);
        if (strcmp(c->state, "paused") == 0) {
                const char *args[] = {"resume", c->id, NULL};

                (void)mx_driver_simple(&rt->drv, args, NULL);
        }
        if (c->pid > 0 && mx_runtime__proc_alive((pid_t)c->pid, c->pid_start)) {
                (void)send_signal(rt, c, signo, NULL);
                if (!wait_gone((pid_t)c->pid, c->pid_start, timeout_s * 1000)) {
                        r = send_signal(rt, c, SIGKILL, err);
                        if (r < 0)
                                return mx_error_wrap(err, MX_D_RUNTIME, "stop '%s'", c->name);
                        (void)wait_gone((pid_t)c->pid, c->pid_start, -1);
                }
        }
        return settle(rt, c->id, err);
}

int mx_container_kill(mx_runtime *rt, const char *ref, int signo, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        int r;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        if (signo <= 0 || signo > 64)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid signal %d", signo);
        if (strcmp(c->state, "running") != 0 && strcmp(c->state, "paused") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "cannot kill container '%s': container is not running",
                                    c->name);
        if (signo == SIGKILL) {
                /* docker kill stops the restart policy from restarting it */
                r = mx_runtime__db_update(rt->db, c->id, err, "stop_requested = 1");
                if (r < 0)
                        return r;
        }
        r = send_signal(rt, c, signo, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "kill '%s'", c->name);
        if (signo == SIGKILL) {
                (void)wait_gone((pid_t)c->pid, c->pid_start, 5000);
                return settle(rt, c->id, err);
        }
        return 0;
}

int mx_container_wait(mx_runtime *rt, const char *ref, int *exit_code_out, mx_error **err)
{
        cleanup_free char *id = NULL;
        int r, delay = 5000;

        r = mx_container_resolve(rt, ref, &id, err);
        if (r < 0)
                return r;
        for (;;) {
                cleanup(mx_ctr_freep) mx_ctr *c = NULL;

                r = mx_runtime__db_get(rt->db, id, &c, err);
                if (r < 0)
                        return r;
                r = mx_runtime__refresh(rt, c, err);
                if (r < 0)
                        return r;
                if (strcmp(c->state, "exited") == 0 || strcmp(c->state, "dead") == 0 ||
                    (strcmp(c->state, "created") == 0 &&
                     !mx_runtime__proc_alive((pid_t)c->monitor_pid, c->monitor_start))) {
                        if (exit_code_out)
                                *exit_code_out = (int)c->exit_code;
                        return 0;
                }
                if (c->pid > 0 && strcmp(c->state, "running") == 0) {
                        (void)wait_gone((pid_t)c->pid, c->pid_start, 1000);
                } else {
                        usleep((useconds_t)delay);
                        if (delay < 50000)
                                delay *= 2;
                }
        }
}

void mx_runtime__remove_files(mx_runtime *rt, const char *id, int runtime_delete);
void mx_runtime__remove_files(mx_runtime *rt, const char *id, int runtime_delete)
{
        cleanup_free char *dir = mx_runtime__ctr_dir(rt, id);
        const char *args[] = {"delete", "--force", id, NULL};

        if (runtime_delete)
                (void)mx_driver_simple(&rt->drv, args, NULL);
        rootfs_release(rt, id);
        if (dir)
                (void)mx_fs_rm_rf(dir, NULL);
}

int mx_container_remove(mx_runtime *rt, const char *ref, unsigned int flags, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        int r;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        if (is_active(c->state)) {
                if (!(flags & MX_REMOVE_FORCE))
                        return mx_error_set(err, MX_EBUSY, MX_D_RUNTIME, 0,
                                            "cannot remove container '%s': container is %s: "
                                            "stop the container before removing or force "
                                            "remove",
                                            c->name, c->state);
                r = mx_runtime__db_update(rt->db, c->id, err, "stop_requested = 1");
                if (r < 0)
                        return r;
                if (strcmp(c->state, "paused") == 0) {
                        const char *args[] = {"resume", c->id, NULL};

                        (void)mx_driver_simple(&rt->drv, args, NULL);
                }
                if (c->pid > 0)
                        (void)send_signal(rt, c, SIGKILL, NULL);
                (void)wait_gone((pid_t)c->pid, c->pid_start, 10000);
                (void)settle(rt, c->id, NULL);
        }
        /* a monitor that is still finishing (or waiting for an attach) goes first */
        if (c->monitor_pid > 0 && mx_runtime__proc_alive((pid_t)c->monitor_pid, c->monitor_start)) {
                (void)kill((pid_t)c->monitor_pid, SIGKILL);
                (void)wait_gone((pid_t)c->monitor_pid, c->monitor_start, 5000);
        }
        r = mx_runtime__db_update(rt->db, c->id, err, "state = 'removing'");
        if (r < 0)
                return r;
        mx_fault_point("runtime-remove-marked");
        /* addresses forgotten, ports unpublished, volume references dropped (rm -v: the
         * container's anonymous volumes removed) */
        mx_runtime__net_teardown(rt, c->id, 1, (flags & MX_REMOVE_VOLUMES) != 0);
        mx_runtime__remove_files(rt, c->id, 1);
        mx_fault_point("runtime-remove-files");
        r = mx_runtime__db_delete(rt->db, c->id, err);
        if (r < 0)
                return r;
        return 0;
}

/* ---- pause, top --------------------------------------------------------------------------- */

static int pause_resume(mx_runtime *rt, const char *ref, int pause, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        const char *args[] = {pause ? "pause" : "resume", NULL, NULL};
        int r;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        if (pause && strcmp(c->state, "running") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "container '%s' is not running", c->name);
        if (!pause && strcmp(c->state, "paused") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "container '%s' is not paused",
                                    c->name);
        args[1] = c->id;
        r = mx_driver_simple(&rt->drv, args, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "%s '%s'", pause ? "pause" : "unpause",
                                     c->name);
        return mx_runtime__db_update(rt->db, c->id, err, "state = '%s'",
                                     pause ? "paused" : "running");
}

int mx_container_pause(mx_runtime *rt, const char *ref, mx_error **err)
{
        return pause_resume(rt, ref, 1, err);
}

int mx_container_unpause(mx_runtime *rt, const char *ref, mx_error **err)
{
        return pause_resume(rt, ref, 0, err);
}

static json_t *top_row(pid_t pid)
{
        char path[64], buf[4096], name[64] = "?";
        mx_buf cmd = MX_BUF_INIT_CAP(65536);
        int fd;
        ssize_t n;
        long long ppid = 0, utime = 0, stime = 0, start = 0;
        unsigned uid = 0;
        FILE *f;
        long hz = sysconf(_SC_CLK_TCK);
        struct stat st;
        json_t *row;
        char t[32], stime_s[16];

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        {
                char *p = strrchr(buf, ')');
                char state;

                if (!p || sscanf(p + 2,
                                 "%c %lld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld "
                                 "%*d %*d %*d %*d %*d %*d %lld",
                                 &state, &ppid, &utime, &stime, &start) < 5)
                        return NULL;
        }
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (f) {
                char line[256];

                while (fgets(line, sizeof(line), f)) {
                        if (strncmp(line, "Uid:", 4) == 0)
                                (void)sscanf(line + 4, "%u", &uid);
                }
                fclose(f);
        }
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        if (mx_buf_read_file(&cmd, path, 65536, NULL) >= 0) {
                for (size_t i = 0; i + 1 < cmd.len; i++) {
                        if (cmd.ptr[i] == '\0')
                                cmd.ptr[i] = ' ';
                }
        }
        if (stat("/proc/self", &st) == 0 && hz > 0) {
                long long secs = (utime + stime) / hz;

                snprintf(t, sizeof(t), "%02lld:%02lld:%02lld", secs / 3600, (secs / 60) % 60,
                         secs % 60);
        } else {
                snprintf(t, sizeof(t), "00:00:00");
        }
        {
                struct timespec up;
                time_t started;
                struct tm tm;

                clock_gettime(CLOCK_BOOTTIME, &up);
                started = time(NULL) - up.tv_sec + (hz > 0 ? (time_t)(start / hz) : 0);
                gmtime_r(&started, &tm);
                strftime(stime_s, sizeof(stime_s), "%H:%M", &tm);
        }
        snprintf(name, sizeof(name), "%u", uid);
        row = json_pack("[s,I,I,s,s,s,s,s]", name, (json_int_t)pid, (json_int_t)ppid, "0", stime_s,
                        "?", t, cmd.len ? cmd.ptr : "?");
        mx_buf_clear(&cmd);
        return row;
}

int mx_container_top(mx_runtime *rt, const char *ref, char **json_out, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_free pid_t *pids = NULL;
        cleanup_free char *cg = NULL;
        cleanup_json json_t *out = NULL;
        json_t *procs;
        size_t n = 0;
        int r;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        if (strcmp(c->state, "running") != 0 && strcmp(c->state, "paused") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "container '%s' is not running", c->name);
        cg = mx_runtime__cgroup_path(c->id);
        if (!cg)
                return mx_error_oom(err);
        r = mx_runtime__cgroup_pids("/sys/fs/cgroup",
                                    rt->cgroup_mode == MX_CGROUP_V2 ? MX_CGROUP_V2 : MX_CGROUP_V1,
                                    cg, &pids, &n, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "list the processes of '%s'", c->name);
        out = json_pack("{s:[ssssssss],s:[]}", "Titles", "UID", "PID", "PPID", "C", "STIME", "TTY",
                        "TIME", "CMD", "Processes");
        if (!out)
                return mx_error_oom(err);
        procs = json_object_get(out, "Processes");
        for (size_t i = 0; i < n; i++) {
                json_t *row = top_row(pids[i]);

                if (row)
                        json_array_append_new(procs, row);
        }
        *json_out = mx_json_dump_ordered(out);
        return *json_out ? 0 : mx_error_oom(err);
}

/* ---- list, inspect ------------------------------------------------------------------------ */

static void fmt_time(char *buf, size_t len, int64_t ns)
{
        if (ns <= 0) {
                snprintf(buf, len, "0001-01-01T00:00:00Z");
                return;
        }
        mx_runtime__rfc3339(buf, len, ns);
}

static void human_duration(char *buf, size_t len, int64_t secs)
{
        /* Docker's units.HumanDuration */
        if (secs < 1)
                snprintf(buf, len, "Less than a second");
        else if (secs == 1)
                snprintf(buf, len, "1 second");
        else if (secs < 60)
                snprintf(buf, len, "%lld seconds", (long long)secs);
        else if (secs / 60 == 1)
                snprintf(buf, len, "About a minute");
        else if (secs < 3600)
                snprintf(buf, len, "%lld minutes", (long long)(secs / 60));
        else if ((secs + 1800) / 3600 == 1)
                snprintf(buf, len, "About an hour");
        else if (secs < 48 * 3600)
                snprintf(buf, len, "%lld hours", (long long)((secs + 1800) / 3600));
        else if (secs < 7 * 24 * 3600 * 2)
                snprintf(buf, len, "%lld days", (long long)(secs / 86400));
        else if (secs < 30 * 24 * 3600 * 3)
                snprintf(buf, len, "%lld weeks", (long long)(secs / (7 * 86400)));
        else if (secs < 365 * 24 * 3600 * 2)
                snprintf(buf, len, "%lld months", (long long)(secs / (30 * 86400)));
        else
                snprintf(buf, len, "%lld years", (long long)(secs / (365 * 86400)));
}

static void status_text(char *buf, size_t len, const mx_ctr *c, int64_t now)
{
        char d[64];

        if (strcmp(c->state, "running") == 0 || strcmp(c->state, "paused") == 0) {
                human_duration(d, sizeof(d), (now - c->started_at) / 1000000000);
                snprintf(buf, len, "Up %s%s", d,
                         strcmp(c->state, "paused") == 0 ? " (Paused)" : "");
        } else if (strcmp(c->state, "restarting") == 0) {
                human_duration(d, sizeof(d), (now - c->finished_at) / 1000000000);
                snprintf(buf, len, "Restarting (%lld) %s ago", (long long)c->exit_code, d);
        } else if (strcmp(c->state, "exited") == 0) {
                human_duration(d, sizeof(d), (now - c->finished_at) / 1000000000);
                snprintf(buf, len, "Exited (%lld) %s ago", (long long)c->exit_code, d);
        } else if (strcmp(c->state, "created") == 0) {
                snprintf(buf, len, "Created");
        } else if (strcmp(c->state, "removing") == 0) {
                snprintf(buf, len, "Removal In Progress");
        } else {
                snprintf(buf, len, "Dead");
        }
}

/* The process args of the bundle (what the container runs). */
static json_t *bundle_process(mx_runtime *rt, const char *id)
{
        cleanup_free char *dir = mx_runtime__ctr_dir(rt, id);
        cleanup_free char *path = NULL;
        mx_buf b = MX_BUF_INIT;
        json_t *spec = NULL, *proc = NULL;

        if (dir && asprintf(&path, "%s/config.json", dir) >= 0 &&
            mx_buf_read_file(&b, path, 16 << 20, NULL) >= 0 &&
            mx_json_parse(&spec, b.ptr, b.len, 16 << 20, 1, "bundle", NULL) == 0) {
                proc = json_incref(json_object_get(spec, "process"));
                json_decref(spec);
        }
        mx_buf_clear(&b);
        return proc;
}

static char *command_text(const json_t *args, const char *joined)
{
        mx_buf b = MX_BUF_INIT;
        size_t i;
        json_t *v;

        (void)mx_buf_putc(&b, '"');
        if (joined) {
                (void)mx_buf_puts(&b, joined);
        } else {
                json_array_foreach(args, i, v)
                {
                        if (i)
                                (void)mx_buf_putc(&b, ' ');
                        (void)mx_buf_puts(&b, json_string_value(v) ? json_string_value(v) : "");
                }
        }
        /* docker ps truncates the command to 20 characters with an ellipsis */
        if (b.len > 21) {
                mx_buf_truncate(&b, 20);
                (void)mx_buf_puts(&b, "…");
        }
        (void)mx_buf_putc(&b, '"');
        return mx_buf_detach(&b);
}

static json_t *labels_of(const json_t *cfg)
{
        json_t *l = json_object_get(cfg, "labels");

        if (json_is_object(l))
                return json_deep_copy(l);
        return json_object();
}

static char *labels_text(const json_t *labels)
{
        mx_buf b = MX_BUF_INIT;
        const char *k;
        json_t *v;
        int first = 1;

        json_object_foreach((json_t *)(uintptr_t)labels, k, v)
        {
                (void)mx_buf_printf(&b, "%s%s=%s", first ? "" : ",", k,
                                    json_string_value(v) ? json_string_value(v) : "");
                first = 0;
        }
        return mx_buf_detach(&b);
}

static json_t *ps_row(mx_runtime *rt, const mx_ctr *c, int64_t now, int with_command)
{
        cleanup_json json_t *cfg = NULL;
        json_t *row, *labels;
        char created[64], running_for[64], status[128];
        cleanup_free char *cmd = NULL, *ltext = NULL, *ports = NULL, *nets = NULL, *mounts = NULL;
        time_t secs = (time_t)(c->created / 1000000000);
        struct tm tm;

        (void)mx_json_parse(&cfg, c->config_json, strlen(c->config_json), 1 << 20, 1, "config",
                            NULL);
        gmtime_r(&secs, &tm);
        strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
        human_duration(running_for, sizeof(running_for), (now - c->created) / 1000000000);
        {
                size_t l = strlen(running_for);

                snprintf(running_for + l, sizeof(running_for) - l, " ago");
        }
        status_text(status, sizeof(status), c, now);
        if (strcmp(c->state, "running") == 0 && json_object_get(cfg, "_healthcheck")) {
                /* Docker: "Up 5 seconds (healthy)", "(health: starting)", "(unhealthy)" */
                cleanup_json json_t *h = mx_runtime__health_read(rt, c->id);
                const char *hs = mx_json_str(h, "Status");
                size_t l = strlen(status);

                if (!hs || strcmp(hs, "starting") == 0)
                        snprintf(status + l, sizeof(status) - l, " (health: starting)");
                else
                        snprintf(status + l, sizeof(status) - l, " (%s)", hs);
        }
        ports = mx_runtime__ports_cell(rt, c->id, cfg,
                                       strcmp(c->state, "running") == 0 ||
                                               strcmp(c->state, "paused") == 0);
        {
                size_t i;
                json_t *v;
                mx_buf nb = MX_BUF_INIT, mb = MX_BUF_INIT;

                json_array_foreach(json_object_get(cfg, "_networks"), i, v)(void)
                        mx_buf_printf(&nb, "%s%s", i ? "," : "", json_string_value(v));
                json_array_foreach(json_object_get(cfg, "_mounts"), i, v)
                {
                        const char *n = mx_json_str(v, "Name");

                        (void)mx_buf_printf(&mb, "%s%s", mb.len ? "," : "",
                                            n ? n : mx_json_str(v, "Source"));
                }
                nets = nb.len ? mx_buf_detach(&nb) : NULL;
                mounts = mx_buf_detach(&mb);
                mx_buf_clear(&nb);
        }
        if (with_command && c->command && *c->command) {
                cmd = command_text(NULL, c->command);
        } else if (with_command) {
                json_t *proc = bundle_process(rt, c->id);

                cmd = command_text(json_object_get(proc, "args"), NULL);
                json_decref(proc);
        }
        labels = labels_of(cfg);
        ltext = labels_text(labels);
        {
                const char *nm = mx_json_str(cfg, "network_mode");

                row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,"
                                "s:I,s:I,s:o}",
                                "ID", c->id, "Names", c->name, "Image", c->image, "ImageID",
                                c->image_id, "Command", cmd ? cmd : "\"\"", "CreatedAt", created,
                                "RunningFor", running_for, "Status", status, "State", c->state,
                                "Ports", ports ? ports : "", "Labels", ltext ? ltext : "", "Mounts",
                                mounts ? mounts : "", "Networks",
                                nets        ? nets
                                : nm && *nm ? nm
                                            : "none",
                                "Created", (json_int_t)(c->created / 1000000000), "ExitCode",
                                (json_int_t)c->exit_code, "Pid", (json_int_t)c->pid, "RestartCount",
                                (json_int_t)c->restart_count, "LabelsMap", labels);
        }
        if (row) {
                json_object_set_new(row, "Size", json_string("0B"));
                json_object_set_new(row, "LocalVolumes", json_string("0"));
        }
        return row;
}

int mx_container_list(mx_runtime *rt, unsigned int flags, char **json_out, mx_error **err)
{
        mx_ctr **list = NULL;
        size_t n = 0;
        cleanup_json json_t *arr = json_array();
        int64_t now = mx_runtime__now_ns();
        int r;

        if (!rt || !json_out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        r = mx_runtime__db_list(rt->db, &list, &n, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "list containers");
        /* every look at the containers cleans up after dead ones: their veths, rules and
         * leases (docs/internals/network.md, "Crash safety") */
        mx_runtime__net_cleanup_stale(rt);
        for (size_t i = 0; i < n; i++) {
                (void)mx_runtime__refresh(rt, list[i], NULL);
                if (!(flags & MX_LIST_ALL) && !is_active(list[i]->state))
                        continue;
                json_array_append_new(arr, ps_row(rt, list[i], now, 1));
        }
        mx_runtime__ctr_list_free(list, n);
        *json_out = mx_json_dump_ordered(arr);
        return *json_out ? 0 : mx_error_oom(err);
}

int mx_container_inspect(mx_runtime *rt, const char *ref, char **json_out, mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_json json_t *cfg = NULL, *proc = NULL, *out = NULL;
        char created[64], started[64], finished[64];
        cleanup_free char *dir = NULL, *logpath = NULL;
        json_t *args, *path = NULL, *rest, *hc, *cc, *state;
        int kind = 0, max = 0, r;
        const char *rp;
        json_t *res;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        mx_runtime__net_cleanup_stale(rt); /* NetworkSettings must not show a dead one's */
        (void)mx_json_parse(&cfg, c->config_json, strlen(c->config_json), 1 << 20, 1, "config",
                            NULL);
        proc = bundle_process(rt, c->id);
        args = json_deep_copy(json_object_get(proc, "args"));
        if (!args)
                args = json_array();
        if (json_array_size(args)) {
                path = json_incref(json_array_get(args, 0));
                json_array_remove(args, 0);
        }
        fmt_time(created, sizeof(created), c->created);
        fmt_time(started, sizeof(started), c->started_at);
        fmt_time(finished, sizeof(finished), c->finished_at);
        dir = mx_runtime__ctr_dir(rt, c->id);
        if (!dir || asprintf(&logpath, "%s/%s-json.log", dir, c->id) < 0)
                return mx_error_oom(err);
        rp = mx_json_str(cfg, "restart_policy");
        if (json_is_object(json_object_get(cfg, "restart_policy")))
                rp = mx_json_str(json_object_get(cfg, "restart_policy"), "Name");
        (void)mx_runtime__parse_restart(rp, &kind, &max);
        rest = json_pack("{s:s,s:i}", "Name",
                         kind == 0   ? "no"
                         : kind == 1 ? "always"
                         : kind == 2 ? "unless-stopped"
                                     : "on-failure",
                         "MaximumRetryCount", max);
        state = json_pack(
                "{s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:I,s:I,s:s,s:s,s:s}", "Status", c->state, "Running",
                strcmp(c->state, "running") == 0 || strcmp(c->state, "paused") == 0, "Paused",
                strcmp(c->state, "paused") == 0, "Restarting", strcmp(c->state, "restarting") == 0,
                "OOMKilled", (int)c->oom_killed, "Dead", strcmp(c->state, "dead") == 0,
                "RemovalInProgress", strcmp(c->state, "removing") == 0, "Pid", (json_int_t)c->pid,
                "ExitCode", (json_int_t)c->exit_code, "Error", c->error, "StartedAt", started,
                "FinishedAt", finished);
        res = json_object_get(cfg, "resources");
        hc = json_object();
        json_object_set_new(hc, "RestartPolicy", rest);
        json_object_set_new(hc, "NetworkMode",
                            json_string(mx_json_str(cfg, "network_mode")
                                                ? mx_json_str(cfg, "network_mode")
                                                : "none"));
        json_object_set_new(hc, "Privileged",
                            json_boolean(json_is_true(json_object_get(cfg, "privileged"))));
        json_object_set_new(hc, "ReadonlyRootfs",
                            json_boolean(json_is_true(json_object_get(cfg, "read_only"))));
        json_object_set_new(hc, "AutoRemove",
                            json_boolean(json_is_true(json_object_get(cfg, "auto_remove"))));
        json_object_set_new(hc, "Init", json_boolean(json_is_true(json_object_get(cfg, "init"))));
        json_object_set(hc, "CapAdd", json_object_get(cfg, "cap_add") ?: json_null());
        json_object_set(hc, "CapDrop", json_object_get(cfg, "cap_drop") ?: json_null());
        {
                uint64_t v = 0;
                const char *m = mx_json_str(res, "memory_limit");
                const char *cpus = mx_json_str(res, "cpu_limit");
                int64_t quota = 0;
                uint64_t period = 0;
                json_t *pl = json_object_get(res, "pids_limit");

                json_object_set_new(
                        hc, "Memory",
                        json_integer(m && mx_parse_size(m, &v) == 0 ? (json_int_t)v : 0));
                if (cpus && mx_runtime__parse_cpus(cpus, &quota, &period) == 0)
                        json_object_set_new(hc, "NanoCpus", json_integer(quota * 10000));
                else
                        json_object_set_new(hc, "NanoCpus", json_integer(0));
                json_object_set_new(hc, "PidsLimit",
                                    json_is_integer(pl) ? json_incref(pl) : json_null());
        }
        cc = json_object();
        json_object_set_new(
                cc, "Hostname",
                json_string(mx_json_str(cfg, "hostname") ? mx_json_str(cfg, "hostname") : ""));
        json_object_set_new(cc, "Image", json_string(c->image));
        json_object_set(cc, "Env", json_object_get(proc, "env") ?: json_array());
        json_object_set(cc, "Cmd", json_object_get(cfg, "command") ?: json_null());
        json_object_set(cc, "Entrypoint", json_object_get(cfg, "entrypoint") ?: json_null());
        json_object_set_new(cc, "WorkingDir",
                            json_string(mx_json_str(proc, "cwd") ? mx_json_str(proc, "cwd") : ""));
        json_object_set_new(cc, "User",
                            json_string(mx_json_str(cfg, "user") ? mx_json_str(cfg, "user") : ""));
        json_object_set_new(cc, "Tty", json_boolean(json_is_true(json_object_get(cfg, "tty"))));
        json_object_set_new(cc, "OpenStdin",
                            json_boolean(json_is_true(json_object_get(cfg, "stdin_open"))));
        json_object_set_new(cc, "Labels", labels_of(cfg));
        out = json_object();
        json_object_set_new(out, "Id", json_string(c->id));
        json_object_set_new(out, "Created", json_string(created));
        json_object_set_new(out, "Path", path ? path : json_string(""));
        json_object_set_new(out, "Args", args);
        json_object_set_new(out, "State", state);
        json_object_set_new(out, "Image", json_string(c->image_id));
        json_object_set_new(out, "LogPath", json_string(logpath));
        json_object_set_new(out, "Name", json_pack("s++", "/", c->name, ""));
        json_object_set_new(out, "RestartCount", json_integer(c->restart_count));
        json_object_set_new(out, "Driver", json_string("overlay"));
        {
                /* networks, ports, mounts and health (src/network's records and the monitor's
                 * health file) */
                json_t *h = mx_runtime__health_read(rt, c->id);
                json_t *pb = json_object();
                size_t i;
                json_t *v;

                if (json_object_get(cfg, "_healthcheck")) {
                        if (!h)
                                h = json_pack("{s:s,s:i,s:[]}", "Status", "starting",
                                              "FailingStreak", 0, "Log");
                        json_object_set_new(state, "Health", h);
                        json_object_set(cc, "Healthcheck", json_object_get(cfg, "_healthcheck"));
                } else {
                        json_decref(h);
                }
                json_array_foreach(json_object_get(cfg, "_ports"), i, v)
                {
                        char key[32], hp[8] = "";
                        json_t *arr;

                        snprintf(key, sizeof(key), "%d/%s", (int)mx_json_int(v, "ContainerPort", 0),
                                 mx_json_str(v, "Protocol") ? mx_json_str(v, "Protocol") : "tcp");
                        if (mx_json_int(v, "HostPort", 0))
                                snprintf(hp, sizeof(hp), "%d", (int)mx_json_int(v, "HostPort", 0));
                        arr = json_object_get(pb, key);
                        if (!arr) {
                                arr = json_array();
                                json_object_set_new(pb, key, arr);
                        }
                        json_array_append_new(
                                arr,
                                json_pack("{s:s,s:s}", "HostIp",
                                          mx_json_str(v, "HostIp") ? mx_json_str(v, "HostIp") : "",
                                          "HostPort", hp));
                }
                json_object_set_new(hc, "PortBindings", pb);
                json_object_set_new(
                        hc, "PublishAllPorts",
                        json_boolean(json_is_true(json_object_get(cfg, "publish_all"))));
                json_object_set_new(hc, "Dns",
                                    json_object_get(cfg, "dns")
                                            ? json_incref(json_object_get(cfg, "dns"))
                                            : json_array());
                json_object_set_new(out, "NetworkSettings",
                                    mx_runtime__net_settings(rt, c->id, cfg));
                json_object_set_new(out, "Mounts",
                                    json_object_get(cfg, "_mounts")
                                            ? json_incref(json_object_get(cfg, "_mounts"))
                                            : json_array());
        }
        json_object_set_new(out, "HostConfig", hc);
        json_object_set_new(out, "Config", cc);
        json_object_set_new(out, "Runtime", json_string(rt->drv.name));
        *json_out = mx_json_dump_ordered(out);
        return *json_out ? 0 : mx_error_oom(err);
}

/* ---- exec --------------------------------------------------------------------------------- */

int mx_container_exec(mx_runtime *rt, const char *ref, const char *exec_json, int *exit_code_out,
                      mx_error **err)
{
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_json json_t *ex = NULL, *proc = NULL;
        cleanup_free char *dir = NULL, *ppath = NULL, *text = NULL, *logp = NULL;
        cleanup_strv char **env = NULL;
        char rnd[17];
        int r, status = 0;
        size_t i;
        json_t *v;
        const char *user, *wd;

        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        if (strcmp(c->state, "running") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "container '%s' is not running", c->name);
        r = mx_json_parse(&ex, exec_json, strlen(exec_json), 1 << 20, 1, "exec configuration", err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "exec in '%s'", c->name);
        proc = bundle_process(rt, c->id);
        if (!proc)
                return mx_error_set(err, MX_ECORRUPT, MX_D_RUNTIME, 0,
                                    "the bundle of '%s' is unreadable", c->name);
        if (!json_is_array(json_object_get(ex, "args")) ||
            !json_array_size(json_object_get(ex, "args")))
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "exec: no command given");
        json_object_set(proc, "args", json_object_get(ex, "args"));
        json_object_set_new(proc, "terminal",
                            json_boolean(json_is_true(json_object_get(ex, "tty"))));
        json_object_del(proc, "consoleSize");
        json_array_foreach(json_object_get(proc, "env"), i, v)
        {
                if (mx_strv_push(&env, json_string_value(v)) < 0)
                        return mx_error_oom(err);
        }
        json_array_foreach(json_object_get(ex, "env"), i, v)
        {
                const char *s = json_string_value(v);
                size_t n;
                int replaced = 0;

                if (!s || !strchr(s, '='))
                        continue;
                n = (size_t)(strchr(s, '=') - s);
                for (char **p = env; p && *p; p++) {
                        if (strncmp(*p, s, n + 1) == 0) {
                                free(*p);
                                *p = strdup(s);
                                replaced = 1;
                        }
                }
                if (!replaced && mx_strv_push(&env, s) < 0)
                        return mx_error_oom(err);
        }
        {
                json_t *ea = json_array();

                MX_STRV_FOREACH (e, env)
                        json_array_append_new(ea, json_string(e));
                json_object_set_new(proc, "env", ea);
        }
        wd = mx_json_str(ex, "working_dir");
        if (wd && *wd)
                json_object_set_new(proc, "cwd", json_string(wd));
        user = mx_json_str(ex, "user");
        dir = mx_runtime__ctr_dir(rt, c->id);
        if (!dir)
                return mx_error_oom(err);
        if (user && *user) {
                cleanup_free char *rootfs = NULL, *pw = NULL, *gr = NULL;
                cleanup_free uint32_t *groups = NULL;
                size_t ng = 0;
                uint32_t uid, gid;
                mx_buf b = MX_BUF_INIT;

                if (asprintf(&rootfs, "%s/rootfs/etc/passwd", dir) >= 0 &&
                    mx_buf_read_file(&b, rootfs, 4 << 20, NULL) >= 0)
                        pw = mx_buf_detach(&b);
                mx_buf_clear(&b);
                free(rootfs);
                rootfs = NULL;
                if (asprintf(&rootfs, "%s/rootfs/etc/group", dir) >= 0 &&
                    mx_buf_read_file(&b, rootfs, 4 << 20, NULL) >= 0)
                        gr = mx_buf_detach(&b);
                mx_buf_clear(&b);
                r = mx_runtime__resolve_user(user, pw, gr, &uid, &gid, &groups, &ng, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "exec in '%s'", c->name);
                json_object_set_new(proc, "user",
                                    json_pack("{s:i,s:i}", "uid", (int)uid, "gid", (int)gid));
        }
        if (random_hex(rnd, 8) < 0 || asprintf(&ppath, "%s/exec-%s.json", dir, rnd) < 0 ||
            asprintf(&logp, "%s/exec-%s.log", dir, rnd) < 0)
                return mx_error_oom(err);
        text = mx_json_dump_ordered(proc);
        if (!text)
                return mx_error_oom(err);
        r = mx_runtime__write_file(ppath, text, strlen(text), 0600, err);
        if (r < 0)
                return r;
        {
                const char *args[] = {"--log",     logp,  "--log-format", "json", "exec",
                                      "--process", ppath, c->id,          NULL};
                /* stdin only with "interactive" (exec -i), else /dev/null as docker does */
                mx_driver_io io = {json_is_false(json_object_get(ex, "interactive")) ? -1 : 0, 1, 2,
                                   NULL, NULL};

                r = mx_driver_run(&rt->drv, args, &io, &status, err);
        }
        (void)unlink(ppath);
        if (r >= 0 && status != 0) {
                /* the runtime's own failure (not the process's exit status) is in its log */
                mx_buf lb = MX_BUF_INIT;

                if (mx_buf_read_file(&lb, logp, 1 << 20, NULL) >= 0 && lb.len) {
                        if (strcasestr(lb.ptr, "executable file not found") ||
                            strcasestr(lb.ptr, "not found in $PATH") ||
                            strcasestr(lb.ptr, "no such file or directory"))
                                status = 127;
                        else if (strcasestr(lb.ptr, "permission denied"))
                                status = 126;
                        else if (strstr(lb.ptr, "\"level\":\"error\""))
                                status = 126;
                }
                mx_buf_clear(&lb);
        }
        (void)unlink(logp);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "exec in '%s'", c->name);
        *exit_code_out = status;
        return 0;
}

/* ---- logs --------------------------------------------------------------------------------- */

typedef struct log_file {
        char *path;
} log_file;

int mx_container_logs(mx_runtime *rt, const char *ref, const mx_logs_opts *opts, mx_log_line_cb cb,
                      void *userdata, mx_error **err)
{
        static const mx_logs_opts dflt = MX_LOGS_OPTS_INIT;
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_free char *dir = NULL, *base = NULL;
        cleanup_strv char **files = NULL;
        mx_buf text = MX_BUF_INIT;
        size_t start_file = 0, start_off = 0;
        int r, stop = 0;
        char tbuf[64];

        if (!opts)
                opts = &dflt;
        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        dir = mx_runtime__ctr_dir(rt, c->id);
        if (!dir || asprintf(&base, "%s/%s-json.log", dir, c->id) < 0)
                return mx_error_oom(err);
        /* oldest first: .N ... .1, then the live file */
        {
                int maxk = 0;

                for (int k = 1; k < 1000; k++) {
                        char p[4096];

                        snprintf(p, sizeof(p), "%s.%d", base, k);
                        if (!mx_fs_exists(p))
                                break;
                        maxk = k;
                }
                for (int k = maxk; k >= 1; k--) {
                        char p[4096];

                        snprintf(p, sizeof(p), "%s.%d", base, k);
                        if (mx_strv_push(&files, p) < 0)
                                return mx_error_oom(err);
                }
                if (mx_strv_push(&files, base) < 0)
                        return mx_error_oom(err);
        }
        if (opts->tail >= 0) {
                /* walk back from the end counting lines */
                int64_t need = opts->tail;
                size_t nf = mx_strv_length(files);

                start_file = nf;
                start_off = 0;
                for (size_t fi = nf; fi > 0 && need >= 0; fi--) {
                        int fd = open(files[fi - 1], O_RDONLY | O_CLOEXEC);
                        struct stat st;
                        char *m;
                        size_t pos;

                        start_file = fi - 1;
                        start_off = 0;
                        if (fd < 0)
                                continue;
                        if (fstat(fd, &st) < 0 || st.st_size == 0) {
                                close(fd);
                                continue;
                        }
                        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                        close(fd);
                        if (m == MAP_FAILED)
                                continue;
                        pos = (size_t)st.st_size;
                        if (m[pos - 1] == '\n')
                                pos--;
                        {
                                int64_t found = 0;

                                /* the start is just after the need-th newline from the end */
                                while (pos > 0 && found < need) {
                                        if (m[pos - 1] == '\n' && ++found == need)
                                                break;
                                        pos--;
                                }
                                munmap(m, (size_t)st.st_size);
                                if (need > 0 && found == need) {
                                        start_off = pos;
                                        need = -1;
                                        break;
                                }
                                /* the whole file: found + 1 lines */
                                need -= found + 1;
                                if (need <= 0) {
                                        start_off = 0;
                                        need = -1;
                                        break;
                                }
                        }
                }
                if (opts->tail == 0) {
                        start_file = nf - 1;
                        start_off = 0;
                        {
                                struct stat st;

                                if (stat(files[nf - 1], &st) == 0)
                                        start_off = (size_t)st.st_size;
                        }
                }
        }
        {
                size_t nf = mx_strv_length(files);
                int fd = -1;
                ino_t ino = 0;
                mx_buf pending = MX_BUF_INIT;
                size_t fi = start_file;

                while (!stop && fi < nf) {
                        struct stat st;
                        char *m;

                        fd = open(files[fi], O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                fi++;
                                continue;
                        }
                        if (fstat(fd, &st) < 0) {
                                close(fd);
                                fd = -1;
                                fi++;
                                continue;
                        }
                        ino = st.st_ino;
                        if (fi + 1 == nf && opts->follow)
                                break; /* the live file is read incrementally below */
                        if (st.st_size > 0 &&
                            (size_t)st.st_size > (fi == start_file ? start_off : 0)) {
                                size_t off = fi == start_file ? start_off : 0;
                                size_t sz = (size_t)st.st_size;

                                m = mmap(NULL, sz, PROT_READ, MAP_PRIVATE, fd, 0);
                                if (m != MAP_FAILED) {
                                        madvise(m, sz, MADV_SEQUENTIAL);
                                        while (off < sz && !stop) {
                                                char *nl = memchr(m + off, '\n', sz - off);
                                                size_t len =
                                                        nl ? (size_t)(nl - (m + off)) : sz - off;
                                                int stream;
                                                int64_t tns = 0;

                                                if (mx_runtime__log_parse_line(m + off, len, &text,
                                                                               &stream, tbuf,
                                                                               sizeof(tbuf)) == 0) {
                                                        if (opts->since_ns || opts->until_ns)
                                                                (void)mx_runtime__parse_rfc3339(
                                                                        tbuf, &tns);
                                                        if ((!opts->since_ns ||
                                                             tns >= opts->since_ns) &&
                                                            (!opts->until_ns ||
                                                             tns < opts->until_ns))
                                                                stop = cb(stream, tns, tbuf,
                                                                          text.ptr, text.len,
                                                                          userdata);
                                                }
                                                off += len + 1;
                                        }
                                        munmap(m, sz);
                                }
                        }
                        close(fd);
                        fd = -1;
                        fi++;
                }
                if (opts->follow && !stop) {
                        off_t off = fi == start_file ? (off_t)start_off : 0;

                        if (fd < 0)
                                fd = open(base, O_RDONLY | O_CLOEXEC);
                        if (fd >= 0)
                                (void)lseek(fd, off, SEEK_SET);
                        while (!stop) {
                                char chunk[65536];
                                ssize_t n = fd >= 0 ? read(fd, chunk, sizeof(chunk)) : 0;

                                if (n > 0) {
                                        char *p;

                                        (void)mx_buf_put(&pending, chunk, (size_t)n);
                                        while ((p = memchr(pending.ptr, '\n', pending.len)) &&
                                               !stop) {
                                                size_t len = (size_t)(p - pending.ptr);
                                                int stream;
                                                int64_t tns = 0;

                                                if (mx_runtime__log_parse_line(pending.ptr, len,
                                                                               &text, &stream, tbuf,
                                                                               sizeof(tbuf)) == 0) {
                                                        if (opts->since_ns)
                                                                (void)mx_runtime__parse_rfc3339(
                                                                        tbuf, &tns);
                                                        if (!opts->since_ns ||
                                                            tns >= opts->since_ns)
                                                                stop = cb(stream, tns, tbuf,
                                                                          text.ptr, text.len,
                                                                          userdata);
                                                }
                                                memmove(pending.ptr, p + 1, pending.len - len - 1);
                                                mx_buf_truncate(&pending, pending.len - len - 1);
                                        }
                                        continue;
                                }
                                /* at the end: rotated? stopped? */
                                {
                                        struct stat st;
                                        cleanup(mx_ctr_freep) mx_ctr *now = NULL;

                                        if (stat(base, &st) == 0 && (fd < 0 || st.st_ino != ino)) {
                                                if (fd >= 0)
                                                        close(fd);
                                                fd = open(base, O_RDONLY | O_CLOEXEC);
                                                ino = st.st_ino;
                                                continue;
                                        }
                                        if (mx_runtime__db_get(rt->db, c->id, &now, NULL) < 0)
                                                break;
                                        (void)mx_runtime__refresh(rt, now, NULL);
                                        if (!is_active(now->state) &&
                                            !(now->monitor_pid > 0 &&
                                              mx_runtime__proc_alive((pid_t)now->monitor_pid,
                                                                     now->monitor_start))) {
                                                /* one last read, then done */
                                                n = fd >= 0 ? read(fd, chunk, sizeof(chunk)) : 0;
                                                if (n > 0) {
                                                        (void)lseek(fd, -(off_t)n, SEEK_CUR);
                                                        continue;
                                                }
                                                break;
                                        }
                                        usleep(50000);
                                }
                        }
                        if (fd >= 0)
                                close(fd);
                        fd = -1;
                }
                if (fd >= 0)
                        close(fd);
                mx_buf_clear(&pending);
        }
        mx_buf_clear(&text);
        return 0;
}

/* ---- copy, prune ------------------------------------------------------------------------- */

static int copy_tree(const char *src, const char *dst, mx_error **err)
{
        struct stat st;

        if (lstat(src, &st) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "stat '%s'", src);
        if (S_ISDIR(st.st_mode)) {
                DIR *d;
                struct dirent *e;
                int r = 0;

                if (mkdir(dst, st.st_mode & 07777) < 0 && errno != EEXIST)
                        return mx_error_errno(err, MX_D_RUNTIME, "create '%s'", dst);
                d = opendir(src);
                if (!d)
                        return mx_error_errno(err, MX_D_RUNTIME, "open '%s'", src);
                while (r >= 0 && (e = readdir(d)) != NULL) {
                        cleanup_free char *s = NULL, *t = NULL;

                        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                                continue;
                        if (asprintf(&s, "%s/%s", src, e->d_name) < 0 ||
                            asprintf(&t, "%s/%s", dst, e->d_name) < 0) {
                                r = mx_error_oom(err);
                                break;
                        }
                        r = copy_tree(s, t, err);
                }
                closedir(d);
                return r;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(src, target, sizeof(target) - 1);

                if (n < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "readlink '%s'", src);
                target[n] = '\0';
                (void)unlink(dst);
                if (symlink(target, dst) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "symlink '%s'", dst);
                return 0;
        }
        if (S_ISREG(st.st_mode))
                return mx_fs_copy_file(src, dst, st.st_mode & 07777, err);
        return 0; /* devices, fifos, sockets are skipped, as docker cp does */
}

/* Resolve a path inside the container root without escaping it (RESOLVE_IN_ROOT), and give
 * back an equivalent host path through /proc/self/fd. */
static int path_in_root(const char *rootfs, const char *path, int *fd_out, char **host_out,
                        mx_error **err)
{
        struct open_how_ {
                uint64_t flags, mode, resolve;
        } how = {O_PATH | O_CLOEXEC, 0, 0x10 /* RESOLVE_IN_ROOT */};
        cleanup_close int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd;

        if (root < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "open '%s'", rootfs);
        fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
        if (fd < 0)
                return mx_error_errno(err, MX_D_RUNTIME,
                                      "could not find the file '%s' in the "
                                      "container",
                                      path);
        if (asprintf(host_out, "/proc/self/fd/%d", fd) < 0) {
                close(fd);
                return mx_error_oom(err);
        }
        *fd_out = fd;
        return 0;
}

int mx_container_copy(mx_runtime *rt, const char *src, const char *dst, mx_error **err)
{
        const char *sc = strchr(src, ':'), *dc = strchr(dst, ':');
        int to_ctr;
        cleanup_free char *ref = NULL, *cpath_dir = NULL, *rootfs = NULL, *host = NULL;
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        const char *cpath, *hpath;
        cleanup_close int fd = -1;
        int r;

        if ((sc && src[0] != '/' && !(dc && dst[0] != '/')) == 0 && !(dc && dst[0] != '/'))
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "copy: one of the paths must be CONTAINER:PATH");
        to_ctr = !(sc && src[0] != '/');
        if (to_ctr) {
                ref = strndup(dst, (size_t)(dc - dst));
                cpath = dc + 1;
                hpath = src;
        } else {
                ref = strndup(src, (size_t)(sc - src));
                cpath = sc + 1;
                hpath = dst;
        }
        if (!ref)
                return mx_error_oom(err);
        r = load(rt, ref, &c, err);
        if (r < 0)
                return r;
        cpath_dir = mx_runtime__ctr_dir(rt, c->id);
        if (!cpath_dir || asprintf(&rootfs, "%s/rootfs", cpath_dir) < 0)
                return mx_error_oom(err);
        {
                cleanup_json json_t *cfg = NULL;

                if (mx_json_parse(&cfg, c->config_json, strlen(c->config_json), 1 << 20, 1,
                                  "config", NULL) == 0 &&
                    mx_json_str(cfg, "rootfs")) {
                        free(rootfs);
                        rootfs = strdup(mx_json_str(cfg, "rootfs"));
                        if (!rootfs)
                                return mx_error_oom(err);
                }
        }
        r = mx_runtime__rootfs_ensure(rt, c->id, err);
        if (r < 0)
                return r;
        if (to_ctr) {
                /* into an existing directory inside: resolve the directory, then copy the
                 * source's name beneath it */
                cleanup_free char *target = NULL;
                const char *name = strrchr(hpath, '/');
                struct stat st;

                r = path_in_root(rootfs, cpath, &fd, &host, err);
                if (r < 0)
                        return r;
                if (stat(host, &st) == 0 && S_ISDIR(st.st_mode)) {
                        if (asprintf(&target, "%s/%s", host, name ? name + 1 : hpath) < 0)
                                return mx_error_oom(err);
                } else {
                        target = strdup(host);
                }
                return copy_tree(hpath, target, err);
        }
        r = path_in_root(rootfs, cpath, &fd, &host, err);
        if (r < 0)
                return r;
        {
                struct stat st;
                cleanup_free char *target = NULL;
                const char *name = strrchr(cpath, '/');

                if (stat(hpath, &st) == 0 && S_ISDIR(st.st_mode)) {
                        if (asprintf(&target, "%s/%s", hpath, name ? name + 1 : cpath) < 0)
                                return mx_error_oom(err);
                } else {
                        target = strdup(hpath);
                }
                return copy_tree(host, target, err);
        }
}

int mx_container_prune(mx_runtime *rt, char **json_out, mx_error **err)
{
        mx_ctr **list = NULL;
        size_t n = 0;
        cleanup_json json_t *out = json_pack("{s:[]}", "ContainersDeleted");
        int r;

        r = mx_runtime__db_list(rt->db, &list, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                (void)mx_runtime__refresh(rt, list[i], NULL);
                if (is_active(list[i]->state))
                        continue;
                if (strcmp(list[i]->state, "created") == 0 && list[i]->monitor_pid > 0 &&
                    mx_runtime__proc_alive((pid_t)list[i]->monitor_pid, list[i]->monitor_start))
                        continue;
                if (mx_container_remove(rt, list[i]->id, 0, NULL) == 0)
                        json_array_append_new(json_object_get(out, "ContainersDeleted"),
                                              json_string(list[i]->id));
        }
        mx_runtime__ctr_list_free(list, n);
        /* directories no record points at: a crash between a removal's commit and its
         * files (run --rm removes the row first); their runtime state and mounts go too */
        {
                cleanup_free char *cdir = NULL;
                DIR *d;
                struct dirent *e;

                if (asprintf(&cdir, "%s/containers", rt->root) < 0)
                        return mx_error_oom(err);
                d = opendir(cdir);
                while (d && (e = readdir(d)) != NULL) {
                        mx_ctr *c = NULL;

                        if (strlen(e->d_name) != 64 || strspn(e->d_name, "0123456789abcdef") != 64)
                                continue;
                        if (mx_runtime__db_get(rt->db, e->d_name, &c, NULL) == 0) {
                                mx_ctr_free(c);
                                continue;
                        }
                        mx_runtime__remove_files(rt, e->d_name, 1);
                }
                if (d)
                        closedir(d);
        }
        *json_out = mx_json_dump_ordered(out);
        return *json_out ? 0 : mx_error_oom(err);
}
