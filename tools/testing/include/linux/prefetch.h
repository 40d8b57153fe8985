/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_PREFETCH_H
#define _SHIM_LINUX_PREFETCH_H

/* As x86-64's prefetch(): prefetchnta (no temporal locality). */
#define prefetch(x)	__builtin_prefetch(x, 0, 0)

#endif
