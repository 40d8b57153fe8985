/* SPDX-License-Identifier: GPL-2.0 */
/* KCSAN's assertions: TSan checks the userspace build instead. */
#include "../shim.h"
#define ASSERT_EXCLUSIVE_WRITER(var)		do { } while (0)
#define ASSERT_EXCLUSIVE_ACCESS(var)		do { } while (0)
#define ASSERT_EXCLUSIVE_BITS(var, mask)	do { } while (0)
