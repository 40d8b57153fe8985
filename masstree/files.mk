# SPDX-License-Identifier: GPL-2.0
# The core's object files: one list for Kbuild and for the userspace
# build in tools/testing/. The character device (dev/) and debugfs are
# kernel-only.
MASSTREE_CORE_OBJS := node.o map.o reserve.o walk.o lock.o insert.o erase.o \
		      write.o stats.o validate.o cursor.o
