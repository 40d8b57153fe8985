// SPDX-License-Identifier: GPL-2.0
/*
 * A sample user of masstree: a registry of named, reference-counted
 * objects, of the kind a subsystem keeps for its devices or endpoints.
 *
 * Lookups run under RCU with no lock and take a reference with
 * refcount_inc_not_zero(); registration and removal need no lock either,
 * masstree serialises writers per node; listing is ordered by name and a
 * prefix selects a subtree ("net/", "block/"). An object leaves the map
 * first and is freed after a grace period once its last reference is
 * dropped, so a reader that found it may still use it.
 *
 * At load the module registers `objects` names, checks lookups, ordered
 * and prefix listings and removal against what it expects, and fails to
 * load if anything is wrong; at unload it removes and frees everything.
 */
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/string.h>

static unsigned int objects = 1000;
module_param(objects, uint, 0444);
MODULE_PARM_DESC(objects, "Objects registered by the self-check (default 1000)");

/**
 * struct registry_object - a named object in the registry.
 * @rcu: frees the object after readers are done.
 * @ref: one reference for the registry, one per user.
 * @id: the object's payload.
 * @name: its key, NUL-terminated.
 */
struct registry_object {
	struct rcu_head rcu;
	refcount_t ref;
	unsigned long id;
	char name[];
};

static DEFINE_MASSTREE(registry);

static int registry_add(const char *name, unsigned long id)
{
	size_t len = strlen(name);
	struct registry_object *obj;
	int err;

	obj = kmalloc(struct_size(obj, name, len + 1), GFP_KERNEL);
	if (!obj)
		return -ENOMEM;
	refcount_set(&obj->ref, 1);
	obj->id = id;
	memcpy(obj->name, name, len + 1);
	err = masstree_insert(&registry, name, len, obj, GFP_KERNEL);
	if (err)
		kfree(obj);
	return err;
}

static void registry_put(struct registry_object *obj)
{
	if (refcount_dec_and_test(&obj->ref))
		kfree_rcu(obj, rcu);
}

/* Find an object and take a reference; NULL if absent or going away. */
static struct registry_object *registry_get(const char *name)
{
	struct registry_object *obj;

	rcu_read_lock();
	obj = masstree_load(&registry, name, strlen(name));
	if (obj && !refcount_inc_not_zero(&obj->ref))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}

static int registry_remove(const char *name)
{
	struct registry_object *obj = masstree_erase(&registry, name, strlen(name));

	if (!obj)
		return -ENOENT;
	registry_put(obj);
	return 0;
}

static void registry_name(char *buf, size_t size, unsigned int i)
{
	static const char *const kinds[] = { "block/", "net/", "input/" };

	snprintf(buf, size, "%s%s%06u", kinds[i % 3],
		 i % 2 ? "device-with-a-longer-name-" : "dev", i);
}

/* Ordered listing: names must come strictly increasing. */
struct registry_listing {
	char last[64];
	bool first;
	unsigned int count;
	bool disordered;
};

static int registry_list_one(const void *key, size_t len, void *entry, void *arg)
{
	struct registry_listing *l = arg;
	struct registry_object *obj = entry;

	if (len >= sizeof(l->last) || strlen(obj->name) != len ||
	    memcmp(obj->name, key, len)) {
		l->disordered = true;
		return 1;
	}
	if (!l->first && strcmp(l->last, obj->name) >= 0)
		l->disordered = true;
	memcpy(l->last, key, len);
	l->last[len] = '\0';
	l->first = false;
	l->count++;
	return 0;
}

static int registry_count(const char *prefix, unsigned int *count)
{
	struct registry_listing l = { .first = true };
	struct masstree_cursor cur;
	void *entry;
	int err = 0;

	if (!prefix) {
		err = masstree_scan(&registry, NULL, 0, NULL, 0,
				    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
				    registry_list_one, &l);
	} else {
		masstree_cursor_init(&cur, &registry, GFP_KERNEL);
		masstree_for_each_prefix(&registry, &cur, entry, prefix,
					 strlen(prefix)) {
			if (strncmp(((struct registry_object *)entry)->name,
				    prefix, strlen(prefix)))
				l.disordered = true;
			l.count++;
		}
		err = cur.err;
		masstree_cursor_fini(&cur);
	}
	if (l.disordered)
		return -EILSEQ;
	*count = l.count;
	return err;
}

static int registry_self_check(void)
{
	struct registry_object *held;
	unsigned int i, count, removed = 0;
	char name[64];
	int err;

	for (i = 0; i < objects; i++) {
		registry_name(name, sizeof(name), i);
		err = registry_add(name, i);
		if (err)
			return err;
	}
	registry_name(name, sizeof(name), 0);
	if (objects && registry_add(name, 0) != -EEXIST)
		return -EINVAL;
	for (i = 0; i < objects; i++) {
		struct registry_object *obj;

		registry_name(name, sizeof(name), i);
		obj = registry_get(name);
		if (!obj || obj->id != i || strcmp(obj->name, name))
			return -EINVAL;
		registry_put(obj);
	}
	err = registry_count(NULL, &count);
	if (err || count != objects)
		return err ?: -EINVAL;
	err = registry_count("net/", &count);
	if (err || count != objects / 3 + (objects % 3 > 1))
		return err ?: -EINVAL;

	/* A user holding an object keeps it alive after removal. */
	held = objects ? registry_get("block/dev000000") : NULL;
	for (i = 0; i < objects; i += 2) {
		registry_name(name, sizeof(name), i);
		if (registry_remove(name))
			return -EINVAL;
		removed++;
	}
	if (held) {
		if (registry_get("block/dev000000") || held->id != 0)
			return -EINVAL;
		registry_put(held);
	}
	err = registry_count(NULL, &count);
	if (err || count != objects - removed)
		return err ?: -EINVAL;
	return 0;
}

static void registry_clear(void)
{
	struct registry_object *obj;
	struct masstree_cursor cur;

	/* The cursor's copy of the key stays valid after the erase. */
	masstree_cursor_init(&cur, &registry, GFP_KERNEL);
	while (masstree_next(&cur)) {
		obj = masstree_erase(&registry, masstree_cursor_key(&cur),
				     masstree_cursor_len(&cur));
		if (obj)
			registry_put(obj);
	}
	masstree_cursor_fini(&cur);
	masstree_destroy(&registry);
}

static int __init registry_init(void)
{
	int err = registry_self_check();

	if (err) {
		pr_err("masstree_registry: self-check failed: %d\n", err);
		registry_clear();
		return err;
	}
	pr_info("masstree_registry: %u objects registered, listed and removed\n",
		objects);
	return 0;
}

static void __exit registry_exit(void)
{
	registry_clear();
	/* kfree_rcu() callbacks need no module code: nothing to wait for. */
}

module_init(registry_init);
module_exit(registry_exit);
MODULE_DESCRIPTION("Sample: a registry of named objects on masstree");
MODULE_LICENSE("GPL");
