/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps behind /dev/masstree: their lifetime, names, permissions and
 * byte caps (devmap.c), and the key operations on them (devops.c).
 */
#ifndef _MASSTREE_DEV_H
#define _MASSTREE_DEV_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/masstree.h>
#include <linux/percpu_counter.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <uapi/linux/masstree.h>

#include "faultinject.h"

struct dentry;
struct ipc_namespace;
struct mtdev_map;

/*
 * Per-CPU batch of the value byte counter: larger than any one value
 * (64 KiB), so the data path adds to its own CPU's count and reaches the
 * shared one only every 256 KiB.
 */
#define MTDEV_BYTES_BATCH	(256 * 1024)

/* Access an attachment grants: the uapi's MASSTREE_OPEN_* bits. */
#define MTDEV_READ	((unsigned int)MASSTREE_OPEN_READ)
#define MTDEV_WRITE	((unsigned int)MASSTREE_OPEN_WRITE)

enum mtdev_op_stat {
	MTDEV_STAT_GET,
	MTDEV_STAT_PUT,
	MTDEV_STAT_DEL,
	MTDEV_STAT_CMPXCHG,
	MTDEV_STAT_SCAN,
	MTDEV_STAT_BATCH,
	MTDEV_NR_STATS,
};

/**
 * struct mtdev_op_counts - one CPU's operation counters of a map.
 * @n: one counter per enum mtdev_op_stat.
 */
struct mtdev_op_counts {
	u64 n[MTDEV_NR_STATS];
};

/**
 * struct mtdev_user - what one uid has been charged.
 * @link: in the registry's list of users, under mtdev_lock.
 * @uid: the user.
 * @refs: maps charged to the user (under mtdev_lock).
 * @bytes: bytes charged by all of them: the sum of their @charged.
 */
struct mtdev_user {
	struct list_head link;
	kuid_t uid;
	unsigned int refs;
	atomic64_t bytes;
};

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
 * @user: who is charged for the map's bytes.
 * @charged: what the caps see: @held, plus the worst case of each write
 *	in flight (see "charging what a map holds" in devmap.c).
 * @charge_lock: serialises settling: @held and @value_slab.
 * @held: bytes the map held when last settled: its nodes and suffixes
 *	(masstree_bytes()) and @value_slab.
 * @value_slab: bytes the values' allocations hold (slab bucket, or pages).
 * @value_bytes: bytes of values, as userspace stored them.
 * @ops: per-CPU operation counters.
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
	struct mtdev_user *user;
	atomic64_t charged;
	spinlock_t charge_lock;	/* serialises settling */
	s64 held;
	s64 value_slab;
	struct percpu_counter value_bytes;
	struct mtdev_op_counts __percpu *ops;
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

/* Copy @len bytes in from userspace: key, expected value, scan bound. */
static inline void *mtdev_memdup_user(u64 uptr, u64 len)
{
	if (mst_fail_alloc(MST_FAIL_DEV_COPY))
		return ERR_PTR(-ENOMEM);
	return vmemdup_user(u64_to_user_ptr(uptr), len);
}

/* devmap.c: lifetime, names, permissions, caps. */
struct mtdev_map *mtdev_map_create(const char *name, umode_t mode);
struct mtdev_map *mtdev_map_open(const char *name, unsigned int access);
int mtdev_map_destroy(const char *name);
int mtdev_map_setattr(const struct masstree_ioc_setattr *attr);
int mtdev_map_list(struct masstree_ioc_list *list,
		   struct masstree_map_info *infos, unsigned int nr);
void mtdev_map_put(struct mtdev_map *m);
int mtdev_reserve(struct mtdev_map *m, s64 bytes);
void mtdev_settle(struct mtdev_map *m, s64 reserved, s64 value_delta);
s64 mtdev_total_bytes(void);
struct seq_file;
void mtdev_users_show(struct seq_file *sf);
void mtdev_caps_init(void);
void mtdev_count(struct mtdev_map *m, enum mtdev_op_stat which);
void mtdev_map_stats(struct mtdev_map *m, struct masstree_ioc_stats *s);
void mtdev_reap(void);
void mtdev_maps_exit(void);
long mtdev_nr_maps(void);

/* devops.c: the key operations. */
int mtdev_op(struct mtdev_map *m, unsigned int access,
	     struct masstree_ioc_op *op, unsigned int opcode);
int mtdev_scan(struct mtdev_map *m, struct masstree_ioc_scan *scan);
int mtdev_clear(struct mtdev_map *m, u64 *cleared);
void mtdev_reap_init(struct mtdev_map *m);
void mtdev_free_values(struct mtdev_map *m);

/* dev.c: the misc device. */
int mtdev_init(void);
void mtdev_exit(void);

#endif /* _MASSTREE_DEV_H */
