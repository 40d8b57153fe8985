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
 * What a map is charged lives in account.c, below this file: a map opens
 * its account when it is made and closes it when it is freed.
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
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/proc_ns.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <asm/unaligned.h>

#include "account.h"
#include "debugfs.h"
#include "fault.h"
#include "map.h"
#include "mtdev.h"

/* The reaper's period while a namespace other than the initial has maps. */
#define MTDEV_REAP_SECS	5

/* A registry key: the namespace's id, then the name without its NUL. */
#define MTDEV_KEY_MAX	(8 + MASSTREE_NAME_MAX)

/* Serialises the registry, the namespaces list and maps' owner and mode. */
static DEFINE_MUTEX(mtdev_lock);
static DEFINE_MASSTREE(mtdev_names);
static LIST_HEAD(mtdev_namespaces);
static u64 mtdev_next_ns_id;
static void mtdev_reap(void);
static void mtdev_reap_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(mtdev_reap_work, mtdev_reap_fn);
static atomic64_t mtdev_next_id = ATOMIC64_INIT(0);

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
	ns = mtdev_fail_alloc(MTDEV_FAIL_MAP) ? NULL : kzalloc(sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return NULL;
	ns->ipc = ipc;
	ns->id = mtdev_next_ns_id++;
	INIT_LIST_HEAD(&ns->maps);
	list_add(&ns->link, &mtdev_namespaces);
	if (!mtdev_ipc_is_initial(ipc)) {
		get_ipc_ns(ipc);
		mtdev_debugfs_ns_add(ns, ipc->ns.inum);
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
		mtdev_debugfs_ns_remove(ns);
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

/**
 * DOC: freeing a map without allocating
 *
 * A map's values are entries of its tree, and masstree_destroy() frees
 * only nodes, so the teardown must visit every key: with a cursor, whose
 * key buffer holds the current key and grows for longer ones. Growing
 * while a map is freed could fail, and a teardown that fails can only
 * loop or leak. So each map keeps a cursor of its own for the teardown,
 * and grows its buffer when a key longer than any before is stored: in
 * PUT, before the map changes, where -ENOMEM is an answer. The teardown
 * then walks with masstree_first() and masstree_next(), frees each value
 * (nothing else reaches the map any more) and leaves the nodes to
 * masstree_destroy(). It never allocates: a cursor step needs at most
 * the key's length plus one slice (8 bytes) of buffer, and the buffer has
 * that room for the longest key the map ever held. Its gfp is switched to
 * GFP_NOWAIT for the teardown, so a cursor that asked for more anyway
 * (a bug) fails at once, loudly, instead of sleeping or looping.
 *
 * The alternative, one maximal buffer (64 KiB) per map allocated at
 * creation, costs 64 KiB for every small map; a per-map list of values
 * would put a lock on the data path.
 */

/* Buffer a cursor step needs beyond the key's length. */
#define MTDEV_REAP_SLACK	8

/* Set up a new map's teardown cursor; the map is not yet published. */
static void mtdev_reap_init(struct mtdev_map *m)
{
	mutex_init(&m->reap_lock);
	masstree_cursor_init(&m->reap, &m->tree, GFP_KERNEL_ACCOUNT);
	m->reap_room = MASSTREE_CURSOR_INLINE - MTDEV_REAP_SLACK;
}

/**
 * mtdev_reap_room() - make sure a map's teardown cursor can hold a key.
 * @m: the map.
 * @key: a key about to be stored.
 * @len: its length.
 *
 * Called before the map changes, where -ENOMEM is an answer.
 *
 * Context: Process context; may sleep (takes @m->reap_lock).
 * Return: 0 or -ENOMEM.
 */
int mtdev_reap_room(struct mtdev_map *m, const u8 *key, size_t len)
{
	int err = 0;

	if (len <= READ_ONCE(m->reap_room))
		return 0;
	mutex_lock(&m->reap_lock);
	if (len > m->reap_room) {
		/* Seeking copies @key into the buffer: it grows to fit. */
		masstree_seek(&m->reap, key, len);
		if (m->reap.err || m->reap.cap < len + MTDEV_REAP_SLACK)
			err = -ENOMEM;
		else
			WRITE_ONCE(m->reap_room, len);
	}
	mutex_unlock(&m->reap_lock);
	return err;
}

/**
 * mtdev_value_gone() - a value left the map: free it after readers.
 * @m: the map.
 * @old: the value, no longer reachable from the map.
 *
 * Context: Any context.
 * Return: the bytes its allocation held, for the caller's settle.
 */
s64 mtdev_value_gone(struct mtdev_map *m, struct mtdev_value *old)
{
	s64 size = mtdev_value_size(old);

	mtdev_value_bytes_add(&m->acct, -(s64)old->len);
	kvfree_rcu(old, rcu);
	return size;
}

/*
 * Empty a map nobody can reach any more. Never allocates and cannot
 * fail: see "freeing a map without allocating" above.
 */
static void mtdev_free_values(struct mtdev_map *m)
{
	struct masstree_cursor *cur = &m->reap;
	void *entry;

	cur->gfp = GFP_NOWAIT | __GFP_NOWARN;
	/*
	 * No erase: the tree stays as it is (masstree_destroy() frees its
	 * nodes next), so no layer folds and nothing allocates. The map's
	 * release refunds its whole charge.
	 */
	for (entry = masstree_first(cur); entry; entry = masstree_next(cur)) {
		mtdev_value_gone(m, entry);
		cond_resched();
	}
	/* The values left behind leak: a broken promise, not a retry. */
	WARN_ON_ONCE(cur->err);
	masstree_cursor_fini(cur);
	mutex_destroy(&m->reap_lock);
}

static struct mtdev_map *mtdev_map_alloc(void)
{
	struct mtdev_map *m;
	int err;

	if (mtdev_fail_alloc(MTDEV_FAIL_MAP))
		return ERR_PTR(-ENOMEM);
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return ERR_PTR(-ENOMEM);
	/* Before the account: from then on a settle may read the tree. */
	masstree_init(&m->tree, 0);
	err = mtdev_account_open(&m->acct, &m->tree, current_euid());
	if (err) {
		kfree(m);
		return ERR_PTR(err);
	}
	kref_init(&m->ref);
	m->id = atomic64_inc_return(&mtdev_next_id);
	INIT_LIST_HEAD(&m->ns_link);
	mtdev_reap_init(m);
	return m;
}

/*
 * Free a map no one reaches any more: refund its charge (no settle reads
 * its tree from then on), empty it, free it.
 */
static void mtdev_map_free(struct mtdev_map *m)
{
	mtdev_account_close(&m->acct);
	mtdev_free_values(m);
	masstree_destroy(&m->tree);
	mtdev_account_free(&m->acct);
	kfree(m);
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
	m = mtdev_map_alloc();
	if (IS_ERR(m))
		goto out;
	strscpy(m->name, name, sizeof(m->name));
	m->cuid = current_euid();
	m->cgid = current_egid();
	m->uid = m->cuid;
	m->gid = m->cgid;
	m->mode = mode;
	if (ns) {
		err = masstree_insert(&mtdev_names, key, key_len, m, GFP_KERNEL);
		if (err) {
			mtdev_map_free(m);
			m = ERR_PTR(err);
			goto out;
		}
		m->ns = ns;
		list_add_tail(&m->ns_link, &ns->maps);
	}
	mtdev_debugfs_map_add(m, ns ? ns->debugfs : NULL);
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

	/* No descriptor and no name reach the map any more. */
	mtdev_debugfs_map_remove(m);
	mtdev_map_free(m);
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
	mtdev_debugfs_map_remove(m);
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
		info->bytes = mtdev_charged(&m->acct);
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

/**
 * mtdev_map_stats() - a map's shape, bytes, counters and creator.
 * @m: the map.
 * @s: filled in, @s->size included; every other field zero.
 *
 * Context: Process context (takes the RCU read lock and the counters'
 * locks).
 */
void mtdev_map_stats(struct mtdev_map *m, struct masstree_ioc_stats *s)
{
	mtdev_account_stats(&m->acct, s);
	s->cuid = from_kuid_munged(current_user_ns(), m->cuid);
	s->cgid = from_kgid_munged(current_user_ns(), m->cgid);
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
static void mtdev_reap(void)
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
	mtdev_account_exit();
}
