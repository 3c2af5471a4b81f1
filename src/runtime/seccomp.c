/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's default seccomp profile (moby profiles/seccomp/default.json) as an OCI
 * linux.seccomp object: an allow list with defaultAction SCMP_ACT_ERRNO (EPERM), the
 * personality and clone argument filters, clone3 answered with ENOSYS so libcs fall back
 * to clone, and the syscalls that Docker allows only with a capability added when that
 * capability is in the set. An allow list, not a deny list: a syscall the kernel adds later
 * is refused until it is reviewed, which is Docker's choice too.
 */
#include <string.h>

#include "runtime-internal.h"

static const char *const allowed[] = {
        "accept",
        "accept4",
        "access",
        "adjtimex",
        "alarm",
        "bind",
        "brk",
        "cachestat",
        "capget",
        "capset",
        "chdir",
        "chmod",
        "chown",
        "chown32",
        "clock_adjtime",
        "clock_adjtime64",
        "clock_getres",
        "clock_getres_time64",
        "clock_gettime",
        "clock_gettime64",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "close",
        "close_range",
        "connect",
        "copy_file_range",
        "creat",
        "dup",
        "dup2",
        "dup3",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_wait",
        "epoll_wait_old",
        "eventfd",
        "eventfd2",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fadvise64_64",
        "fallocate",
        "fanotify_mark",
        "fchdir",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "fchown",
        "fchown32",
        "fchownat",
        "fcntl",
        "fcntl64",
        "fdatasync",
        "fgetxattr",
        "flistxattr",
        "flock",
        "fork",
        "fremovexattr",
        "fsetxattr",
        "fstat",
        "fstat64",
        "fstatat64",
        "fstatfs",
        "fstatfs64",
        "fsync",
        "ftruncate",
        "ftruncate64",
        "futex",
        "futex_requeue",
        "futex_time64",
        "futex_wait",
        "futex_waitv",
        "futex_wake",
        "futimesat",
        "getcpu",
        "getcwd",
        "getdents",
        "getdents64",
        "getegid",
        "getegid32",
        "geteuid",
        "geteuid32",
        "getgid",
        "getgid32",
        "getgroups",
        "getgroups32",
        "getitimer",
        "getpeername",
        "getpgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getpriority",
        "getrandom",
        "getresgid",
        "getresgid32",
        "getresuid",
        "getresuid32",
        "getrlimit",
        "get_robust_list",
        "getrusage",
        "getsid",
        "getsockname",
        "getsockopt",
        "get_thread_area",
        "gettid",
        "gettimeofday",
        "getuid",
        "getuid32",
        "getxattr",
        "inotify_add_watch",
        "inotify_init",
        "inotify_init1",
        "inotify_rm_watch",
        "io_cancel",
        "ioctl",
        "io_destroy",
        "io_getevents",
        "io_pgetevents",
        "io_pgetevents_time64",
        "ioprio_get",
        "ioprio_set",
        "io_setup",
        "io_submit",
        "io_uring_enter",
        "io_uring_register",
        "io_uring_setup",
        "ipc",
        "kill",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "lchown",
        "lchown32",
        "lgetxattr",
        "link",
        "linkat",
        "listen",
        "listxattr",
        "llistxattr",
        "_llseek",
        "lremovexattr",
        "lseek",
        "lsetxattr",
        "lstat",
        "lstat64",
        "madvise",
        "map_shadow_stack",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "mincore",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "mlock",
        "mlock2",
        "mlockall",
        "mmap",
        "mmap2",
        "mprotect",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedreceive_time64",
        "mq_timedsend",
        "mq_timedsend_time64",
        "mq_unlink",
        "mremap",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "msync",
        "munlock",
        "munlockall",
        "munmap",
        "name_to_handle_at",
        "nanosleep",
        "newfstatat",
        "_newselect",
        "open",
        "openat",
        "openat2",
        "pause",
        "pidfd_open",
        "pidfd_send_signal",
        "pipe",
        "pipe2",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "poll",
        "ppoll",
        "ppoll_time64",
        "prctl",
        "pread64",
        "preadv",
        "preadv2",
        "prlimit64",
        "process_mrelease",
        "pselect6",
        "pselect6_time64",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "read",
        "readahead",
        "readlink",
        "readlinkat",
        "readv",
        "recv",
        "recvfrom",
        "recvmmsg",
        "recvmmsg_time64",
        "recvmsg",
        "remap_file_pages",
        "removexattr",
        "rename",
        "renameat",
        "renameat2",
        "restart_syscall",
        "rmdir",
        "rseq",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_rr_get_interval_time64",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "seccomp",
        "select",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "semtimedop_time64",
        "send",
        "sendfile",
        "sendfile64",
        "sendmmsg",
        "sendmsg",
        "sendto",
        "setfsgid",
        "setfsgid32",
        "setfsuid",
        "setfsuid32",
        "setgid",
        "setgid32",
        "setgroups",
        "setgroups32",
        "setitimer",
        "setpgid",
        "setpriority",
        "setregid",
        "setregid32",
        "setresgid",
        "setresgid32",
        "setresuid",
        "setresuid32",
        "setreuid",
        "setreuid32",
        "setrlimit",
        "set_robust_list",
        "setsid",
        "setsockopt",
        "set_thread_area",
        "set_tid_address",
        "setuid",
        "setuid32",
        "setxattr",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "shutdown",
        "sigaltstack",
        "signalfd",
        "signalfd4",
        "sigprocmask",
        "sigreturn",
        "socket",
        "socketcall",
        "socketpair",
        "splice",
        "stat",
        "stat64",
        "statfs",
        "statfs64",
        "statx",
        "symlink",
        "symlinkat",
        "sync",
        "sync_file_range",
        "syncfs",
        "sysinfo",
        "tee",
        "tgkill",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_gettime64",
        "timer_settime",
        "timer_settime64",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_gettime64",
        "timerfd_settime",
        "timerfd_settime64",
        "times",
        "tkill",
        "truncate",
        "truncate64",
        "ugetrlimit",
        "umask",
        "uname",
        "unlink",
        "unlinkat",
        "utime",
        "utimensat",
        "utimensat_time64",
        "utimes",
        "vfork",
        "vmsplice",
        "wait4",
        "waitid",
        "waitpid",
        "write",
        "writev",
        /* kernel >= 4.8 makes these safe; Docker allows them unconditionally since 19.03 */
        "process_vm_readv",
        "process_vm_writev",
        "ptrace",
        "kcmp",
        /* amd64 */
        "arch_prctl",
        "modify_ldt",
        /* CAP_SYS_CHROOT, CAP_AUDIT_WRITE... are in the default set: chroot is allowed */
        "chroot",
        NULL,
};

static const struct {
        const char *cap;
        const char *const names[16];
} by_cap[] = {
        {"CAP_SYS_ADMIN",
         {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
          "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
          "quotactl", NULL}},
        {"CAP_SYS_ADMIN",
         {"quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2",
          "unshare", NULL}},
        {"CAP_SYS_BOOT", {"reboot", NULL}},
        {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module", NULL}},
        {"CAP_SYS_PACCT", {"acct", NULL}},
        {"CAP_SYS_RAWIO", {"iopl", "ioperm", NULL}},
        {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64", NULL}},
        {"CAP_SYS_TTY_CONFIG", {"vhangup", NULL}},
        {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", NULL}},
        {"CAP_SYSLOG", {"syslog", NULL}},
        {"CAP_BPF", {"bpf", NULL}},
        {"CAP_PERFMON", {"perf_event_open", NULL}},
};

static int has_cap(const json_t *caps, const char *cap)
{
        size_t i;
        json_t *v;

        json_array_foreach(caps, i, v)
        {
                if (json_is_string(v) && strcmp(json_string_value(v), cap) == 0)
                        return 1;
        }
        return 0;
}

static json_t *names_array(const char *const *names)
{
        json_t *a = json_array();

        for (; *names; names++)
                json_array_append_new(a, json_string(*names));
        return a;
}

static json_t *rule(json_t *names, const char *action, json_t *args)
{
        json_t *r = json_object();

        json_object_set_new(r, "names", names);
        json_object_set_new(r, "action", json_string(action));
        if (args)
                json_object_set_new(r, "args", args);
        return r;
}

static json_t *arg(unsigned index, uint64_t value, uint64_t value2, const char *op)
{
        json_t *a = json_object();

        json_object_set_new(a, "index", json_integer(index));
        json_object_set_new(a, "value", json_integer((json_int_t)value));
        json_object_set_new(a, "valueTwo", json_integer((json_int_t)value2));
        json_object_set_new(a, "op", json_string(op));
        return a;
}

json_t *mx_runtime__seccomp_default(const json_t *caps)
{
        json_t *sc = json_object(), *sys = json_array();
        static const uint64_t personas[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};
        int sys_admin = has_cap(caps, "CAP_SYS_ADMIN");

        if (!sc || !sys) {
                json_decref(sc);
                json_decref(sys);
                return NULL;
        }
        json_object_set_new(sc, "defaultAction", json_string("SCMP_ACT_ERRNO"));
        json_object_set_new(sc, "defaultErrnoRet", json_integer(1)); /* EPERM */
        json_object_set_new(
                sc, "architectures",
                json_pack("[sss]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
        json_object_set_new(sc, "syscalls", sys);
        json_array_append_new(sys, rule(names_array(allowed), "SCMP_ACT_ALLOW", NULL));
        for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++)
                json_array_append_new(
                        sys, rule(json_pack("[s]", "personality"), "SCMP_ACT_ALLOW",
                                  json_pack("[o]", arg(0, personas[i], 0, "SCMP_CMP_EQ"))));
        if (!sys_admin) {
                /* clone without namespace flags only: CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|
                 * NEWNET|NEWCGROUP = 0x7E020000 */
                json_array_append_new(
                        sys, rule(json_pack("[s]", "clone"), "SCMP_ACT_ALLOW",
                                  json_pack("[o]", arg(0, 0x7E020000, 0, "SCMP_CMP_MASKED_EQ"))));
                {
                        json_t *r = rule(json_pack("[s]", "clone3"), "SCMP_ACT_ERRNO", NULL);

                        json_object_set_new(r, "errnoRet", json_integer(38)); /* ENOSYS */
                        json_array_append_new(sys, r);
                }
        }
        for (size_t i = 0; i < sizeof(by_cap) / sizeof(by_cap[0]); i++) {
                if (has_cap(caps, by_cap[i].cap))
                        json_array_append_new(
                                sys, rule(names_array(by_cap[i].names), "SCMP_ACT_ALLOW", NULL));
        }
        return sc;
}
