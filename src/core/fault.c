/* SPDX-License-Identifier: Apache-2.0 */
#include "fault.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"

static atomic_int fault_state; /* 0 unread, 1 inactive, 2 active */
static uint64_t fault_at;
static const char *fault_log;
static atomic_ulong fault_count;

static void fault_init(void)
{
        const char *at = getenv("MYRMEX_FAULT_AT");

        fault_log = getenv("MYRMEX_FAULT_LOG");
        if (!at || mx_parse_u64(at, &fault_at) < 0)
                fault_at = 0;
        atomic_store(&fault_state, (fault_at || fault_log) ? 2 : 1);
}

void mx_fault_point(const char *name)
{
        unsigned long n;

        if (atomic_load(&fault_state) == 0)
                fault_init();
        if (atomic_load(&fault_state) == 1)
                return;
        n = atomic_fetch_add(&fault_count, 1) + 1;
        if (fault_log) {
                int fd = open(fault_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

                if (fd >= 0) {
                        char line[256];
                        int len = snprintf(line, sizeof(line), "%lu %s\n", n, name);

                        if (len > 0)
                                (void)!write(fd, line, (size_t)len);
                        (void)close(fd);
                }
        }
        if (fault_at && n == fault_at)
                (void)kill(getpid(), SIGKILL);
}
