/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named network namespaces: a file that a bind mount of a namespace keeps alive (as
 * `ip netns add` does), so the namespace outlives the process that made it and the OCI
 * runtime can join it by path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error-internal.h"
#include "fault.h"
#include "network-internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int mx_netns__is_netns(const char *path)
{
        struct statfs sf;

        return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

int mx_netns__create(const char *path, mx_error **err)
{
        int fd, status = 0;
        pid_t pid;

        if (mx_netns__is_netns(path))
                return mx_error_set(err, MX_EEXISTS, MX_D_NETWORK, 0,
                                    "network namespace '%s' already exists", path);
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0)
                return mx_error_errno(err, MX_D_NETWORK, "create network namespace file '%s'",
                                      path);
        (void)close(fd);
        pid = fork();
        if (pid < 0) {
                int e = errno;

                (void)unlink(path);
                return mx_error_errno_val(err, e, MX_D_NETWORK, "fork to create namespace '%s'",
                                          path);
        }
        if (pid == 0) {
                /* Only syscalls here: the parent may have threads. */
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(errno & 0xff);
                if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                        _exit(errno & 0xff);
                _exit(0);
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        (void)unlink(path);
                        return mx_error_errno(err, MX_D_NETWORK, "wait for namespace helper");
                }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                int e = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;

                (void)unlink(path);
                return mx_error_errno_val(err, e, MX_D_NETWORK, "create network namespace '%s'",
                                          path);
        }
        mx_fault_point("netns-created");
        return 0;
}

int mx_netns__remove(const char *path, mx_error **err)
{
        /* Detach: a runtime or a shell may still hold it; the namespace dies with the last
         * user, the file goes now. */
        while (mx_netns__is_netns(path)) {
                if (umount2(path, MNT_DETACH) < 0) {
                        if (errno == EINVAL)
                                break;
                        return mx_error_errno(err, MX_D_NETWORK, "unmount network namespace '%s'",
                                              path);
                }
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return mx_error_errno(err, MX_D_NETWORK, "remove network namespace file '%s'",
                                      path);
        mx_fault_point("netns-removed");
        return 0;
}

int mx_netns__has_processes(const char *path)
{
        struct stat ns;
        DIR *d;
        struct dirent *de;
        int found = 0;

        if (stat(path, &ns) < 0 || !mx_netns__is_netns(path))
                return 0;
        d = opendir("/proc");
        if (!d)
                return 1; /* cannot tell: say yes, never tear down a live container */
        while (!found && (de = readdir(d)) != NULL) {
                char p[300];
                struct stat st;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(p, sizeof(p), "/proc/%s/ns/net", de->d_name);
                if (stat(p, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev)
                        found = 1;
        }
        closedir(d);
        return found;
}
