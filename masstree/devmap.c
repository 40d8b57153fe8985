// SPDX-License-Identifier: GPL-2.0
/*
 * The maps of /dev/masstree: named ones live in a registry (a masstree of
 * their own, keyed by name) until DESTROY or module unload, like System V
 * IPC objects; anonymous ones live as long as their descriptor. Every map
 * is a kref: the registry holds one reference while the name is linked,
 * each attached descriptor one more. The registry mutex serialises the
 * control path (create, open, setattr, destroy, list); the data path never
 * takes it.
 *
 * Each map charges the memory it holds to itself, to the uid that created
 * it and to the device as a whole, checked against module parameters, so
 * that no user can pin unbounded kernel memory through the device.
 *
 * DOC: charging what a map holds
 *
 * What a write makes the map hold depends on the tree's shape, not only
 * on the key and value: a key that shares a long span with another
 * builds a chain of layers, one 320-byte node per 8 shared bytes; a
 * split adds nodes; leaves emptied by erases stay until empty. So a map
 * is charged what it really holds: its nodes and suffixes as the core
 * counts them (masstree_bytes(): their slab objects) plus
 * its values at their allocation's size.
 *
 * A write first reserves its worst case: its value's allocation, plus
 * masstree_insert_bytes_max() if it may add a key. The reservation is
 * added to the map's counter (@charged), the user's and the device's
 * total, each checked against its cap, so a write that could take any of
 * them past its cap fails before it changes anything. After the write
 * (failed or not) it settles: under the map's @charge_lock it reads what
 * the map holds now, applies the difference from the last settled figure
 * (@held) and gives its reservation back, to all three counters. Each
 * settle thus folds in every write that completed before it, its own
 * included; writers in flight keep their reservations until their own
 * settle. A counter therefore never drifts: it is always a real reading
 * of the map plus the reservations still outstanding, and equals what
 * the map holds once writes are quiescent. Erases reserve nothing and
 * settle too, which refunds what they freed. The caps hold at every
 * reservation, and what a write adds beyond its reservation is bounded
 * as masstree_insert_bytes_max() explains, so a cap is exceeded, if at
 * all, by less than one write's worth until that write settles.
 *
 * The counters are atomics, not per-CPU: a per-CPU sum read while others
 * add could miss concurrent reservations and let several pass one cap.
 * The settle reads the core's per-CPU counters; it costs a few reads per
 * possible CPU and one uncontended lock per write of a map.
 *
 * DOC: names per IPC namespace
 *
 * Map names live in the caller's IPC namespace, as System V IPC objects
 * do: the registry's key is the namespace's number (struct mtdev_ns.id,
 * 8 bytes big-endian) followed by the name, so every control command
 * sees only its own namespace's maps.
 *
 * System V frees a namespace's objects when the namespace dies, from
 * free_ipc_ns(); a module cannot hook that, and put_ipc_ns() is not
 * exported. So each namespace with maps is counted once (get_ipc_ns(),
 * an inline refcount_inc()) and released through its own
 * proc_ns_operations (ns.ops->put(), which is put_ipc_ns()) when its
 * last map goes. Holding the reference is what makes the pointer a sound
 * key: the namespace cannot be freed and its address or inode number
 * reused while we use them. A namespace's inode number alone would not
 * do: inode numbers are recycled, and a new namespace would inherit a
 * dead one's maps.
 *
 * Holding the reference must not keep a dead namespace (and its System
 * V objects, which it frees) alive forever. When our reference is the
 * only one left, no task runs in the namespace and no nsfs file or bind
 * mount can bring one back (setns() needs one of those), so no caller
 * can ever reach its maps again: the namespace is dead but for us. The
 * reaper then destroys its maps, as DESTROY would, and drops the
 * reference, which frees the namespace. It runs before every control
 * command and from a delayed work every MTDEV_REAP_SECS seconds while
 * any namespace other than the initial one has maps. Until then the
 * maps stay charged to their creators' caps, which bound them.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ipc_namespace.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/percpu.h>
#include <linux/proc_ns.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <asm/unaligned.h>

#include "debugfs.h"
#include "dev.h"

static unsigned long max_map_bytes = 64UL << 20;
module_param(max_map_bytes, ulong, 0644);
MODULE_PARM_DESC(max_map_bytes,
		 "Bytes one /dev/masstree map may hold; 0: no cap (default 64 MiB)");

static unsigned long max_user_bytes = 256UL << 20;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Bytes the maps created by one uid may hold; 0: no cap (default 256 MiB)");

/* ULONG_MAX: not given at load, mtdev_caps_init() picks the default. */
static unsigned long max_total_bytes = ULONG_MAX;
module_param(max_total_bytes, ulong, 0644);
MODULE_PARM_DESC(max_total_bytes,
		 "Bytes all /dev/masstree maps together may hold; 0: no cap (default an eighth of RAM)");

static unsigned int max_maps = 64;
module_param(max_maps, uint, 0644);
MODULE_PARM_DESC(max_maps,
		 "Maps, named and anonymous, one uid may have created and not yet freed; 0: no cap (default 64)");

/* The reaper's period while a namespace other than the initial has maps. */
#define MTDEV_REAP_SECS	5

/* A registry key: the namespace's id, then the name without its NUL. */
#define MTDEV_KEY_MAX	(8 + MASSTREE_NAME_MAX)

/*
 * Serialises the registry, the namespaces and users lists and maps'
 * owner and mode.
 */
static DEFINE_MUTEX(mtdev_lock);
static DEFINE_MASSTREE(mtdev_names);
static LIST_HEAD(mtdev_users);
static LIST_HEAD(mtdev_namespaces);
static u64 mtdev_next_ns_id;
static void mtdev_reap_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(mtdev_reap_work, mtdev_reap_fn);
static atomic64_t mtdev_next_id = ATOMIC64_INIT(0);
static atomic_long_t mtdev_live_maps = ATOMIC_LONG_INIT(0);
/* Bytes charged to all maps: the sum of their @charged. */
static atomic64_t mtdev_total = ATOMIC64_INIT(0);

/* The caller's IPC namespace; NULL in a kernel without System V IPC. */
static struct ipc_namespace *mtdev_current_ipc(void)
{
	return current->nsproxy->ipc_ns;
}

static bool mtdev_ipc_is_initial(struct ipc_namespace *ipc)
{
	return !ipc || ipc->ns.inum == PROC_IPC_INIT_INO;
}

/* The record of @ipc, if it has maps; under mtdev_lock. */
static struct mtdev_ns *mtdev_ns_find(struct ipc_namespace *ipc)
{
	struct mtdev_ns *ns;

	lockdep_assert_held(&mtdev_lock);
	list_for_each_entry(ns, &mtdev_namespaces, link)
		if (ns->ipc == ipc)
			return ns;
	return NULL;
}

/* The record of @ipc, made (and the namespace counted) if need be. */
static struct mtdev_ns *mtdev_ns_get(struct ipc_namespace *ipc)
{
	struct mtdev_ns *ns = mtdev_ns_find(ipc);

	if (ns)
		return ns;
	ns = mst_fail_alloc(MST_FAIL_DEV_MAP) ? NULL : kzalloc(sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return NULL;
	ns->ipc = ipc;
	ns->id = mtdev_next_ns_id++;
	INIT_LIST_HEAD(&ns->maps);
	list_add(&ns->link, &mtdev_namespaces);
	if (!mtdev_ipc_is_initial(ipc)) {
		get_ipc_ns(ipc);
		mst_debugfs_ns_add(ns, ipc->ns.inum);
		schedule_delayed_work(&mtdev_reap_work, MTDEV_REAP_SECS * HZ);
	}
	return ns;
}

/* Forget a namespace whose last map went; under mtdev_lock. */
static void mtdev_ns_put(struct mtdev_ns *ns)
{
	lockdep_assert_held(&mtdev_lock);
	if (!list_empty(&ns->maps))
		return;
	list_del(&ns->link);
	if (!mtdev_ipc_is_initial(ns->ipc)) {
		mst_debugfs_ns_remove(ns);
		/* put_ipc_ns(), which is not exported. */
		ns->ipc->ns.ops->put(&ns->ipc->ns);
	}
	kfree(ns);
}

/* The registry key of @name in @ns; returns its length. */
static size_t mtdev_key(u8 *key, const struct mtdev_ns *ns, const char *name)
{
	size_t len = strnlen(name, MASSTREE_NAME_MAX - 1);

	put_unaligned_be64(ns->id, key);
	memcpy(key + 8, name, len);
	return 8 + len;
}

/* The caller's named map @name, or NULL; under mtdev_lock. */
static struct mtdev_map *mtdev_lookup(const char *name)
{
	struct mtdev_ns *ns = mtdev_ns_find(mtdev_current_ipc());
	u8 key[MTDEV_KEY_MAX];

	lockdep_assert_held(&mtdev_lock);
	if (!ns)
		return NULL;
	return masstree_load(&mtdev_names, key, mtdev_key(key, ns, name));
}

/* The user charged for a new map, with a reference; under mtdev_lock. */
static struct mtdev_user *mtdev_user_get(kuid_t uid)
{
	unsigned int cap = READ_ONCE(max_maps);
	struct mtdev_user *u;

	lockdep_assert_held(&mtdev_lock);
	list_for_each_entry(u, &mtdev_users, link) {
		if (!uid_eq(u->uid, uid))
			continue;
		if (cap && u->refs >= cap)
			return ERR_PTR(-EDQUOT);
		u->refs++;
		return u;
	}
	u = mst_fail_alloc(MST_FAIL_DEV_MAP) ? NULL : kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return ERR_PTR(-ENOMEM);
	atomic64_set(&u->bytes, 0);
	u->uid = uid;
	u->refs = 1;
	list_add(&u->link, &mtdev_users);
	return u;
}

static void mtdev_user_put(struct mtdev_user *u)
{
	lockdep_assert_held(&mtdev_lock);
	if (--u->refs)
		return;
	WARN_ON_ONCE(atomic64_read(&u->bytes) != 0);
	list_del(&u->link);
	kfree(u);
}

static void mtdev_map_free(struct mtdev_map *m)
{
	free_percpu(m->ops);
	percpu_counter_destroy(&m->value_bytes);
	kfree(m);
}

static struct mtdev_map *mtdev_map_alloc(void)
{
	struct mtdev_map *m;

	if (mst_fail_alloc(MST_FAIL_DEV_MAP))
		return NULL;
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return NULL;
	masstree_init(&m->tree, 0);
	kref_init(&m->ref);
	m->id = atomic64_inc_return(&mtdev_next_id);
	INIT_LIST_HEAD(&m->ns_link);
	atomic64_set(&m->charged, 0);
	spin_lock_init(&m->charge_lock);
	mtdev_reap_init(m);
	m->ops = alloc_percpu_gfp(struct mtdev_op_counts, GFP_KERNEL_ACCOUNT);
	if (!m->ops ||
	    percpu_counter_init(&m->value_bytes, 0, GFP_KERNEL_ACCOUNT)) {
		/* percpu_counter_destroy() accepts a counter never set up. */
		mtdev_map_free(m);
		return NULL;
	}
	return m;
}

/**
 * mtdev_map_create() - make a map.
 * @name: a checked name; "" for an anonymous map.
 * @mode: permission bits.
 *
 * Context: Process context; takes mtdev_lock.
 * Return: the map with one reference, or ERR_PTR(-EEXIST, -EDQUOT,
 * -ENOMEM). A named map's reference belongs to the registry (the caller
 * must not touch the map: it may be destroyed at once); an anonymous
 * map's belongs to the caller.
 */
struct mtdev_map *mtdev_map_create(const char *name, umode_t mode)
{
	struct mtdev_user *user;
	struct mtdev_map *m;
	int err;

	struct mtdev_ns *ns = NULL;
	u8 key[MTDEV_KEY_MAX];
	size_t key_len = 0;

	mtdev_reap();
	mutex_lock(&mtdev_lock);
	if (name[0]) {
		ns = mtdev_ns_get(mtdev_current_ipc());
		if (!ns) {
			m = ERR_PTR(-ENOMEM);
			goto out;
		}
		key_len = mtdev_key(key, ns, name);
		if (masstree_load(&mtdev_names, key, key_len)) {
			m = ERR_PTR(-EEXIST);
			goto out;
		}
	}
	user = mtdev_user_get(current_euid());
	if (IS_ERR(user)) {
		m = ERR_CAST(user);
		goto out;
	}
	m = mtdev_map_alloc();
	if (!m) {
		mtdev_user_put(user);
		m = ERR_PTR(-ENOMEM);
		goto out;
	}
	m->user = user;
	strscpy(m->name, name, sizeof(m->name));
	m->cuid = current_euid();
	m->cgid = current_egid();
	m->uid = m->cuid;
	m->gid = m->cgid;
	m->mode = mode;
	if (ns) {
		err = masstree_insert(&mtdev_names, key, key_len, m, GFP_KERNEL);
		if (err) {
			mtdev_free_values(m);	/* empty: releases the cursor */
			mtdev_map_free(m);
			mtdev_user_put(user);
			m = ERR_PTR(err);
			goto out;
		}
		m->ns = ns;
		list_add_tail(&m->ns_link, &ns->maps);
	}
	atomic_long_inc(&mtdev_live_maps);
	mst_debugfs_map_add(m, ns ? ns->debugfs : NULL);
out:
	/* A namespace whose first map could not be made keeps nothing. */
	if (ns)
		mtdev_ns_put(ns);
	mutex_unlock(&mtdev_lock);
	return m;
}

/* Do @m's mode bits alone give the caller @access? */
static bool mtdev_mode_permits(struct mtdev_map *m, unsigned int access)
{
	unsigned int granted, need = 0;

	lockdep_assert_held(&mtdev_lock);
	if (access & MTDEV_READ)
		need |= 4;
	if (access & MTDEV_WRITE)
		need |= 2;
	if (uid_eq(current_euid(), m->uid))
		granted = m->mode >> 6;
	else if (in_egroup_p(m->gid))
		granted = m->mode >> 3;
	else
		granted = m->mode;
	return (granted & need) == need;
}

/* May the caller have @access (MTDEV_READ, MTDEV_WRITE) to @m? */
static bool mtdev_permitted(struct mtdev_map *m, unsigned int access)
{
	return mtdev_mode_permits(m, access) || capable(CAP_SYS_ADMIN);
}

static bool mtdev_is_owner(struct mtdev_map *m)
{
	return uid_eq(current_euid(), m->uid) || capable(CAP_SYS_ADMIN);
}

/**
 * mtdev_map_open() - find a named map and take a reference for a
 *	descriptor.
 * @name: a checked name.
 * @access: MTDEV_READ and/or MTDEV_WRITE.
 *
 * Context: Process context; takes mtdev_lock.
 * Return: the map, or ERR_PTR(-ENOENT, -EACCES).
 */
struct mtdev_map *mtdev_map_open(const char *name, unsigned int access)
{
	struct mtdev_map *m;

	mtdev_reap();
	mutex_lock(&mtdev_lock);
	m = mtdev_lookup(name);
	if (!m)
		m = ERR_PTR(-ENOENT);
	else if (!mtdev_permitted(m, access))
		m = ERR_PTR(-EACCES);
	else
		kref_get(&m->ref);
	mutex_unlock(&mtdev_lock);
	return m;
}

static void mtdev_map_release(struct kref *ref)
{
	struct mtdev_map *m = container_of(ref, struct mtdev_map, ref);
	s64 charged;

	/* No descriptor and no name reach the map any more. */
	mst_debugfs_map_remove(m);
	mtdev_free_values(m);
	masstree_destroy(&m->tree);
	/* Nothing is left and no write is in flight: refund the rest. */
	charged = atomic64_read(&m->charged);
	atomic64_sub(charged, &m->user->bytes);
	atomic64_sub(charged, &mtdev_total);
	mutex_lock(&mtdev_lock);
	mtdev_user_put(m->user);
	mutex_unlock(&mtdev_lock);
	mtdev_map_free(m);
	atomic_long_dec(&mtdev_live_maps);
}

/**
 * mtdev_map_put() - drop a reference to a map; free it with the last.
 * @m: the map.
 *
 * Context: Process context; never under mtdev_lock (the last put takes it).
 */
void mtdev_map_put(struct mtdev_map *m)
{
	kref_put(&m->ref, mtdev_map_release);
}

/* Unlink @m's name; the caller then drops the registry's reference. */
static void mtdev_map_unlink(struct mtdev_map *m)
{
	struct mtdev_ns *ns = m->ns;
	u8 key[MTDEV_KEY_MAX];

	lockdep_assert_held(&mtdev_lock);
	masstree_erase(&mtdev_names, key, mtdev_key(key, ns, m->name));
	WRITE_ONCE(m->dead, true);
	/* A new map may take the name, and its debugfs directory, at once. */
	mst_debugfs_map_remove(m);
	list_del_init(&m->ns_link);
	m->ns = NULL;
	mtdev_ns_put(ns);
}

/**
 * mtdev_map_destroy() - unlink a named map; free it when unused.
 * @name: a checked name.
 *
 * Context: Process context; takes mtdev_lock.
 * Return: 0, -ENOENT, or -EPERM (neither the owner nor CAP_SYS_ADMIN).
 */
int mtdev_map_destroy(const char *name)
{
	struct mtdev_map *m;

	mtdev_reap();
	mutex_lock(&mtdev_lock);
	m = mtdev_lookup(name);
	if (!m) {
		mutex_unlock(&mtdev_lock);
		return -ENOENT;
	}
	if (!mtdev_is_owner(m)) {
		mutex_unlock(&mtdev_lock);
		return -EPERM;
	}
	mtdev_map_unlink(m);
	mutex_unlock(&mtdev_lock);
	mtdev_map_put(m);
	return 0;
}

/*
 * May the caller apply @attr to @m? As chmod(2) and chown(2) decide for a
 * file: the mode is the owner's to change (or CAP_SYS_ADMIN's, the
 * device's override); a new owner needs CAP_CHOWN; a new group needs the
 * owner to be a member of it, or CAP_CHOWN.
 */
static bool mtdev_setattr_permitted(struct mtdev_map *m,
				    const struct masstree_ioc_setattr *attr,
				    kuid_t uid, kgid_t gid)
{
	bool owner = uid_eq(current_euid(), m->uid);

	lockdep_assert_held(&mtdev_lock);
	if (attr->flags & MASSTREE_SETATTR_MODE && !owner &&
	    !capable(CAP_SYS_ADMIN))
		return false;
	if (attr->flags & MASSTREE_SETATTR_UID &&
	    !(owner && uid_eq(uid, m->uid)) && !capable(CAP_CHOWN))
		return false;
	if (attr->flags & MASSTREE_SETATTR_GID &&
	    !(owner && (gid_eq(gid, m->gid) || in_egroup_p(gid))) &&
	    !capable(CAP_CHOWN))
		return false;
	return true;
}

/**
 * mtdev_map_setattr() - chmod and chown a named map.
 * @attr: the request, flags and name checked by the caller.
 *
 * Context: Process context; takes mtdev_lock.
 * Return: 0, -ENOENT, -EPERM (see mtdev_setattr_permitted()), or -EINVAL
 * (a bad mode or unmapped id); on error nothing changed.
 */
int mtdev_map_setattr(const struct masstree_ioc_setattr *attr)
{
	struct user_namespace *ns = current_user_ns();
	kuid_t uid = INVALID_UID;
	kgid_t gid = INVALID_GID;
	struct mtdev_map *m;
	int err = 0;

	if (attr->flags & MASSTREE_SETATTR_MODE && attr->mode > 0777)
		return -EINVAL;
	if (attr->flags & MASSTREE_SETATTR_UID) {
		uid = attr->uid > U32_MAX ? INVALID_UID : make_kuid(ns, attr->uid);
		if (!uid_valid(uid))
			return -EINVAL;
	}
	if (attr->flags & MASSTREE_SETATTR_GID) {
		gid = attr->gid > U32_MAX ? INVALID_GID : make_kgid(ns, attr->gid);
		if (!gid_valid(gid))
			return -EINVAL;
	}
	mtdev_reap();
	mutex_lock(&mtdev_lock);
	m = mtdev_lookup(attr->name);
	if (!m) {
		err = -ENOENT;
	} else if (!mtdev_setattr_permitted(m, attr, uid, gid)) {
		err = -EPERM;
	} else {
		if (attr->flags & MASSTREE_SETATTR_MODE)
			m->mode = attr->mode;
		if (attr->flags & MASSTREE_SETATTR_UID)
			m->uid = uid;
		if (attr->flags & MASSTREE_SETATTR_GID)
			m->gid = gid;
	}
	mutex_unlock(&mtdev_lock);
	return err;
}

struct mtdev_list_ctx {
	struct masstree_map_info *infos;
	unsigned int nr;
	unsigned int count;
	bool more;
	bool admin;
	u64 ns_id;
};

/* Under the RCU read lock and mtdev_lock: describe one map, or stop. */
static int mtdev_list_one(const void *key, size_t len, void *entry, void *arg)
{
	struct user_namespace *ns = current_user_ns();
	struct mtdev_list_ctx *ctx = arg;
	struct mtdev_map *m = entry;
	struct masstree_map_info *info;
	struct masstree_stats st;

	/* Past the caller's namespace: done. */
	if (len < 8 || get_unaligned_be64(key) != ctx->ns_id)
		return 1;
	if (ctx->count == ctx->nr) {
		ctx->more = true;
		return 1;
	}
	info = &ctx->infos[ctx->count++];
	memset(info, 0, sizeof(*info));
	strscpy(info->name, m->name, sizeof(info->name));
	info->uid = from_kuid_munged(ns, m->uid);
	info->gid = from_kgid_munged(ns, m->gid);
	info->cuid = from_kuid_munged(ns, m->cuid);
	info->cgid = from_kgid_munged(ns, m->cgid);
	info->mode = m->mode;
	/* What a map holds is shown to those who could read it. */
	if (ctx->admin || mtdev_mode_permits(m, MTDEV_READ)) {
		masstree_get_stats(&m->tree, &st);
		info->keys = st.keys;
		info->bytes = max_t(s64, atomic64_read(&m->charged), 0);
	}
	return 0;
}

/**
 * mtdev_map_list() - describe named maps in name order.
 * @list: the request: @list->after is checked by the caller; @count and
 *	@more are filled in.
 * @infos: room for @nr records.
 * @nr: how many to describe at most.
 *
 * Context: Process context; takes mtdev_lock.
 * Return: 0 (or an error from the scan).
 */
int mtdev_map_list(struct masstree_ioc_list *list,
		   struct masstree_map_info *infos, unsigned int nr)
{
	struct mtdev_list_ctx ctx = { .infos = infos, .nr = nr };
	unsigned int flags = MASSTREE_SCAN_NO_END;
	u8 start[MTDEV_KEY_MAX];
	struct mtdev_ns *ns;
	size_t start_len;
	int err = 0;

	/* Asked here: the scan's callback runs under the RCU read lock. */
	ctx.admin = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
	mtdev_reap();
	mutex_lock(&mtdev_lock);
	ns = mtdev_ns_find(mtdev_current_ipc());
	if (ns) {
		ctx.ns_id = ns->id;
		start_len = mtdev_key(start, ns, list->after);
		/* From the namespace's first name, or after @list->after. */
		if (start_len > 8)
			flags |= MASSTREE_SCAN_START_EXCL;
		err = masstree_scan(&mtdev_names, start, start_len, NULL, 0,
				    flags, mtdev_list_one, &ctx);
	}
	mutex_unlock(&mtdev_lock);
	if (err < 0)
		return err;
	list->count = ctx.count;
	list->more = ctx.more;
	return 0;
}

/* Add @bytes to @ctr unless that takes it past @cap (0: no cap). */
static bool mtdev_add_capped(atomic64_t *ctr, s64 bytes, unsigned long cap)
{
	s64 now = atomic64_add_return(bytes, ctr);

	if (!cap || now <= 0 || (u64)now <= cap)
		return true;
	atomic64_sub(bytes, ctr);
	return false;
}

/**
 * mtdev_reserve() - reserve a write's worst case against the caps.
 * @m: the map.
 * @bytes: the most the write may make the map hold.
 *
 * See "charging what a map holds" above; every reservation is given back
 * by mtdev_settle().
 *
 * Context: Any context but NMI.
 * Return: 0; -ENOSPC over max_map_bytes or max_total_bytes, -EDQUOT over
 * max_user_bytes, with nothing reserved.
 */
int mtdev_reserve(struct mtdev_map *m, s64 bytes)
{
	if (!mtdev_add_capped(&m->charged, bytes, READ_ONCE(max_map_bytes)))
		return -ENOSPC;
	if (!mtdev_add_capped(&m->user->bytes, bytes, READ_ONCE(max_user_bytes))) {
		atomic64_sub(bytes, &m->charged);
		return -EDQUOT;
	}
	if (!mtdev_add_capped(&mtdev_total, bytes, READ_ONCE(max_total_bytes))) {
		atomic64_sub(bytes, &m->user->bytes);
		atomic64_sub(bytes, &m->charged);
		return -ENOSPC;
	}
	return 0;
}

/**
 * mtdev_settle() - charge what a map holds now; end a reservation.
 * @m: the map.
 * @reserved: what the caller's mtdev_reserve() took (0: none).
 * @value_delta: the caller's change to the values' allocations: bytes
 *	of the value it stored, less those of the values it removed.
 *
 * Context: Process context; takes @m->charge_lock.
 */
void mtdev_settle(struct mtdev_map *m, s64 reserved, s64 value_delta)
{
	s64 now, diff;

	spin_lock(&m->charge_lock);
	m->value_slab += value_delta;
	now = (s64)masstree_bytes(&m->tree) + m->value_slab;
	diff = now - m->held - reserved;
	m->held = now;
	atomic64_add(diff, &m->charged);
	atomic64_add(diff, &m->user->bytes);
	atomic64_add(diff, &mtdev_total);
	spin_unlock(&m->charge_lock);
}

/**
 * mtdev_total_bytes() - bytes charged to all maps together.
 *
 * Context: Any context.
 * Return: the bytes.
 */
s64 mtdev_total_bytes(void)
{
	return atomic64_read(&mtdev_total);
}

/**
 * mtdev_users_show() - one line per uid with maps: its bytes and maps.
 * @sf: the debugfs file.
 *
 * Context: Process context; takes mtdev_lock.
 */
void mtdev_users_show(struct seq_file *sf)
{
	struct mtdev_user *u;

	mutex_lock(&mtdev_lock);
	list_for_each_entry(u, &mtdev_users, link)
		seq_printf(sf, "%u %lld %u\n", from_kuid(&init_user_ns, u->uid),
			   (long long)atomic64_read(&u->bytes), u->refs);
	mutex_unlock(&mtdev_lock);
}

/**
 * mtdev_caps_init() - settle the module-wide cap's default.
 *
 * Context: Module init.
 */
void mtdev_caps_init(void)
{
	if (max_total_bytes == ULONG_MAX)
		max_total_bytes = (totalram_pages() << PAGE_SHIFT) / 8;
}

/**
 * mtdev_count() - count one operation on this CPU.
 * @m: the map.
 * @which: the operation.
 *
 * Context: Any context.
 */
void mtdev_count(struct mtdev_map *m, enum mtdev_op_stat which)
{
	this_cpu_inc(m->ops->n[which]);
}

/**
 * mtdev_map_stats() - a map's shape, bytes and operation counters.
 * @m: the map.
 * @s: filled in, @s->size included; every other field zero.
 *
 * Context: Process context (takes the RCU read lock and the counters'
 * locks).
 */
void mtdev_map_stats(struct mtdev_map *m, struct masstree_ioc_stats *s)
{
	u64 n[MTDEV_NR_STATS] = {};
	struct masstree_stats st;
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct mtdev_op_counts *c = per_cpu_ptr(m->ops, cpu);

		for (i = 0; i < MTDEV_NR_STATS; i++)
			/* Racing this_cpu_inc() is benign: exact when quiet. */
			n[i] += data_race(c->n[i]);
	}
	masstree_get_stats(&m->tree, &st);
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->keys = st.keys;
	s->leaves = st.leaves;
	s->internodes = st.internodes;
	s->layers = st.layers;
	s->height = st.height;
	s->node_bytes = st.bytes;
	s->value_bytes = max_t(s64, percpu_counter_sum(&m->value_bytes), 0);
	s->charged_bytes = max_t(s64, atomic64_read(&m->charged), 0);
	s->gets = n[MTDEV_STAT_GET];
	s->puts = n[MTDEV_STAT_PUT];
	s->dels = n[MTDEV_STAT_DEL];
	s->cmpxchgs = n[MTDEV_STAT_CMPXCHG];
	s->scans = n[MTDEV_STAT_SCAN];
	s->batches = n[MTDEV_STAT_BATCH];
	s->cuid = from_kuid_munged(current_user_ns(), m->cuid);
	s->cgid = from_kgid_munged(current_user_ns(), m->cgid);
}

/**
 * mtdev_nr_maps() - how many maps exist, named and anonymous.
 *
 * Context: Any context.
 * Return: the number.
 */
long mtdev_nr_maps(void)
{
	return atomic_long_read(&mtdev_live_maps);
}

/*
 * Unlink every map of @ns (all its maps: the caller holds mtdev_lock)
 * onto @dead, whose references the caller drops after unlocking. @ns is
 * freed with its last map.
 */
static void mtdev_ns_unlink_all(struct mtdev_ns *ns, struct list_head *dead)
{
	struct mtdev_map *m;
	bool last;

	lockdep_assert_held(&mtdev_lock);
	do {
		last = list_is_singular(&ns->maps);
		m = list_first_entry(&ns->maps, struct mtdev_map, ns_link);
		mtdev_map_unlink(m);	/* frees @ns with the last */
		list_add_tail(&m->ns_link, dead);
	} while (!last);
}

/* Drop the registry's references of maps mtdev_ns_unlink_all() took. */
static void mtdev_put_dead(struct list_head *dead)
{
	struct mtdev_map *m, *next;

	list_for_each_entry_safe(m, next, dead, ns_link) {
		list_del_init(&m->ns_link);
		mtdev_map_put(m);
	}
}

/**
 * mtdev_reap() - destroy the maps of IPC namespaces that died but for us.
 *
 * See "names per IPC namespace" above: a namespace whose only reference
 * is ours can never be entered again.
 *
 * Context: Process context; takes mtdev_lock.
 */
void mtdev_reap(void)
{
	struct mtdev_ns *ns, *next;
	bool foreign = false;
	LIST_HEAD(dead);

	mutex_lock(&mtdev_lock);
	list_for_each_entry_safe(ns, next, &mtdev_namespaces, link) {
		if (mtdev_ipc_is_initial(ns->ipc))
			continue;
		if (refcount_read(&ns->ipc->ns.count) == 1)
			mtdev_ns_unlink_all(ns, &dead);
		else
			foreign = true;
	}
	mutex_unlock(&mtdev_lock);
	mtdev_put_dead(&dead);
	if (foreign)
		schedule_delayed_work(&mtdev_reap_work, MTDEV_REAP_SECS * HZ);
}

static void mtdev_reap_fn(struct work_struct *work)
{
	mtdev_reap();
}

/**
 * mtdev_maps_exit() - free every named map at module unload.
 *
 * No descriptor is open (each holds a module reference), so the registry
 * holds the only reference to each map left.
 *
 * Context: Module exit.
 */
void mtdev_maps_exit(void)
{
	struct mtdev_map *m, *next;
	LIST_HEAD(dead);

	/* The work no longer runs, and nothing else can schedule it. */
	cancel_delayed_work_sync(&mtdev_reap_work);
	mutex_lock(&mtdev_lock);
	while (!list_empty(&mtdev_namespaces))
		mtdev_ns_unlink_all(list_first_entry(&mtdev_namespaces,
						     struct mtdev_ns, link),
				    &dead);
	mutex_unlock(&mtdev_lock);
	list_for_each_entry_safe(m, next, &dead, ns_link) {
		list_del_init(&m->ns_link);
		WARN_ON_ONCE(kref_read(&m->ref) != 1);
		mtdev_map_put(m);
	}
	masstree_destroy(&mtdev_names);
	WARN_ON_ONCE(atomic_long_read(&mtdev_live_maps));
	WARN_ON_ONCE(!list_empty(&mtdev_users));
	WARN_ON_ONCE(atomic64_read(&mtdev_total));
}
