/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include <myrmex/common.h>

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "version") == 0) {
                printf("myrmex %s\n", mx_version());
                return 0;
        }
        fprintf(stderr, "usage: myrmex COMMAND\n");
        return 2;
}
