/* SPDX-License-Identifier: Apache-2.0 */
#include <myrmex/common.h>

#include "mx-config.h"

const char *mx_version(void)
{
        return MX_VERSION;
}
