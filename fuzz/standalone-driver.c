/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays fuzz inputs without libFuzzer: every file named on the command line, or every file
 * in every directory named, is fed once to LLVMFuzzerTestOneInput. The suite uses it to run
 * the seed corpora under the sanitizers.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        struct stat st;
        uint8_t *data;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fstat(fd, &st) < 0) {
                perror(path);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        data = malloc((size_t)st.st_size + 1);
        if (!data) {
                close(fd);
                return -1;
        }
        n = read(fd, data, (size_t)st.st_size);
        close(fd);
        if (n != st.st_size) {
                free(data);
                return -1;
        }
        /* A copy of exactly size bytes, so overreads are caught by ASan. */
        {
                uint8_t *exact = malloc((size_t)n ? (size_t)n : 1);

                if (!exact) {
                        free(data);
                        return -1;
                }
                memcpy(exact, data, (size_t)n);
                LLVMFuzzerTestOneInput(exact, (size_t)n);
                free(exact);
        }
        free(data);
        return 0;
}

static int run_path(const char *path, int *count)
{
        struct stat st;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (stat(path, &st) < 0) {
                perror(path);
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return run_file(path);
        }
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char child[4096];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
                if (run_path(child, count) < 0)
                        r = -1;
        }
        closedir(d);
        return r;
}

int main(int argc, char **argv)
{
        int count = 0, r = 0;

        for (int i = 1; i < argc; i++)
                if (run_path(argv[i], &count) < 0)
                        r = 1;
        printf("replayed %d inputs\n", count);
        if (count == 0) {
                fprintf(stderr, "no inputs replayed\n");
                return 1;
        }
        return r;
}
