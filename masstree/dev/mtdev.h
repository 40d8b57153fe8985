/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data of /dev/masstree: a map, its values, the IPC namespaces that
 * have maps. Types only: every file of the device may include it; the
 * functions live with their layer's header (map.h, account.h, ...).
 */
#ifndef _MASSTREE_DEV_MTDEV_H
#define _MASSTREE_DEV_MTDEV_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/masstree.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <uapi/linux/masstree.h>

#include "account.h"

struct dentry;
struct ipc_namespace;

/* Access an attachment grants: the uapi's MASSTREE_OPEN_* bits. */
#define MTDEV_READ	((unsigned int)MASSTREE_OPEN_READ)
#define MTDEV_WRITE	((unsigned int)MASSTREE_OPEN_WRITE)

/**
 * struct mtdev_ns - an IPC namespace that has named maps.
 * @link: in the registry's list of namespaces.
 * @ipc: the namespace: counted (one reference for all its maps) unless it
 *	is the initial one, so the pointer cannot be reused while we hold it.
 * @id: unique number: the first 8 bytes (big-endian) of its maps' keys in
 *	the registry.
 * @maps: its named maps (struct mtdev_map.ns_link).
 * @debugfs: its debugfs directory, for a namespace other than the initial.
 *
 * All under the registry's mutex.
 */
struct mtdev_ns {
	struct list_head link;
	struct ipc_namespace *ipc;
	u64 id;
	struct list_head maps;
	struct dentry *debugfs;
};

/**
 * struct mtdev_map - a map of /dev/masstree.
 * @tree: the keys; entries are struct mtdev_value.
 * @ref: one per attached descriptor, plus one while the name is linked.
 * @id: unique number (names anonymous maps in debugfs).
 * @name: NUL-terminated name; empty for an anonymous map.
 * @ns: the IPC namespace whose name space holds @name; NULL once unlinked
 *	(under mtdev_lock).
 * @ns_link: in @ns->maps (under mtdev_lock).
 * @cuid: creator (the effective uid that created the map); never changes.
 * @cgid: the creator's effective gid; never changes.
 * @uid: owner (under mtdev_lock).
 * @gid: group (under mtdev_lock).
 * @mode: permission bits (under mtdev_lock).
 * @dead: set by DESTROY; later operations get -EIDRM.
 * @acct: what the map is charged, and its counters.
 * @debugfs: the map's debugfs directory.
 * @reap_lock: serialises growing @reap.
 * @reap_room: longest key @reap holds without growing (written under
 *	@reap_lock, read locklessly).
 * @reap: the cursor that empties the map when it is freed; its buffer is
 *	grown when a longer key than any before is stored (where failing is
 *	allowed), so that the teardown never allocates.
 */
struct mtdev_map {
	struct masstree tree;
	struct kref ref;
	u64 id;
	char name[MASSTREE_NAME_MAX];
	struct mtdev_ns *ns;
	struct list_head ns_link;
	kuid_t cuid;
	kgid_t cgid;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	bool dead;
	struct mtdev_account acct;
	struct dentry *debugfs;
	struct mutex reap_lock;	/* serialises growing @reap */
	u32 reap_room;
	struct masstree_cursor reap;
};

/**
 * struct mtdev_value - a value: bytes copied from userspace.
 * @rcu: frees it after readers are done (kvfree_rcu()).
 * @len: bytes in @data.
 * @data: the bytes.
 */
struct mtdev_value {
	struct rcu_head rcu;
	u32 len;
	u8 data[];
};

/**
 * mtdev_value_size() - bytes a value's allocation holds.
 * @v: the value.
 *
 * Context: Any context.
 * Return: its slab bucket, or its pages.
 */
static inline s64 mtdev_value_size(const struct mtdev_value *v)
{
	size_t size = struct_size(v, data, v->len);

	return is_vmalloc_addr(v) ? PAGE_ALIGN(size) : kmalloc_size_roundup(size);
}

#endif /* _MASSTREE_DEV_MTDEV_H */
