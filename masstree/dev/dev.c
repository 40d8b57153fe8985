// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/masstree: the misc device that lets userspace reach maps. This
 * file only parses commands (include/uapi/linux/masstree.h) and keeps
 * each descriptor's attachment; ops.c carries out the key operations,
 * map.c owns the maps, account.c what they are charged, debugfs.c their
 * debugfs files. Each calls only the files after it in that list.
 *
 * The device is a client of masstree: it includes <linux/masstree.h>,
 * the uapi header and its own headers, nothing of the core's
 * (scripts/lint.sh checks it), so it could move to a module of its own.
 *
 * A descriptor is attached at most once and stays attached until it is
 * closed, so the data path reads the attachment with one acquire load and
 * takes no lock of the device's own: threads sharing a descriptor run
 * concurrently, as far as the map lets them.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "account.h"
#include "debugfs.h"
#include "dev.h"
#include "fault.h"
#include "map.h"
#include "mtdev.h"
#include "ops.h"

/* LIST describes at most this many maps per call. */
#define MTDEV_LIST_MAX	256

/*
 * Who may open the device node: read at load only (the node is made
 * then). Each map checks its own permissions; the node's mode decides
 * who reaches the device at all: 0660 and a udev rule that sets the
 * group keep it to one group (README.md, "Threat model").
 */
static ushort dev_mode = 0666;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode,
		 "Mode of /dev/masstree at load, 0 to 0666 (default 0666)");

/**
 * struct mtdev_file - one open descriptor of /dev/masstree.
 * @lock: serialises attaching.
 * @map: the attached map, or NULL; set once, then read locklessly.
 * @access: MTDEV_READ and/or MTDEV_WRITE; set before @map is published.
 */
struct mtdev_file {
	struct mutex lock;	/* serialises attaching */
	struct mtdev_map *map;
	unsigned int access;
};

static int mtdev_open(struct inode *inode, struct file *file)
{
	struct mtdev_file *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static int mtdev_release(struct inode *inode, struct file *file)
{
	struct mtdev_file *f = file->private_data;

	if (f->map)
		mtdev_map_put(f->map);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

/* Attach @m with @access; the caller holds @f->lock and the reference. */
static void mtdev_attach(struct mtdev_file *f, struct mtdev_map *m,
			 unsigned int access)
{
	lockdep_assert_held(&f->lock);
	f->access = access;
	/* Pairs with mtdev_attached(): @access is visible before @map. */
	smp_store_release(&f->map, m);
}

/*
 * The attached map, if the attachment grants @need (MTDEV_READ and/or
 * MTDEV_WRITE; 0: any); what it grants goes to @access if not NULL.
 */
static struct mtdev_map *mtdev_attached(struct mtdev_file *f,
					unsigned int need,
					unsigned int *access)
{
	/* Pairs with mtdev_attach(): see @access once @map is set. */
	struct mtdev_map *m = smp_load_acquire(&f->map);

	if (!m)
		return ERR_PTR(-EBADFD);
	if ((f->access & need) != need)
		return ERR_PTR(-EBADF);
	if (access)
		*access = f->access;
	return m;
}

/*
 * Copy in a command structure whose first field is its size: smaller than
 * this version is -EINVAL, larger is fine if the tail is zero (-E2BIG).
 */
static int mtdev_copy_in(void *dst, size_t ksize, const void __user *uarg)
{
	u64 usize;

	if (get_user(usize, (const u64 __user *)uarg))
		return -EFAULT;
	if (usize < ksize || usize > PAGE_SIZE)
		return -EINVAL;
	return copy_struct_from_user(dst, ksize, uarg, usize);
}

static int mtdev_copy_out(void __user *uarg, const void *src, size_t ksize)
{
	return copy_to_user(uarg, src, ksize) ? -EFAULT : 0;
}

static bool mtdev_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/*
 * [A-Za-z0-9._-], in ASCII: the kernel's isalnum() is Latin-1 and would
 * let bytes 0xc0-0xff through.
 */
static bool mtdev_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/*
 * A name: 1 to 63 characters of [A-Za-z0-9._-], not starting with '.',
 * NUL-terminated and zero-padded; or, with @may_be_empty, all zeros.
 */
static int mtdev_check_name(const char *name, bool may_be_empty)
{
	size_t i, len = strnlen(name, MASSTREE_NAME_MAX);

	if (len == MASSTREE_NAME_MAX ||
	    !mtdev_zero(name + len, MASSTREE_NAME_MAX - len))
		return -EINVAL;
	if (!len)
		return may_be_empty ? 0 : -EINVAL;
	if (name[0] == '.')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!mtdev_name_char(name[i]))
			return -EINVAL;
	return 0;
}

static long mtdev_ioc_create(struct mtdev_file *f, void __user *uarg)
{
	struct masstree_ioc_create c;
	bool anon;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_in(&c, sizeof(c), uarg);
	if (err)
		return err;
	anon = c.flags & MASSTREE_CREATE_ANON;
	if (c.flags & ~MASSTREE_CREATE_ANON ||
	    !mtdev_zero(c.reserved, sizeof(c.reserved)) || c.mode > 0777 ||
	    (anon && c.mode))
		return -EINVAL;
	err = mtdev_check_name(c.name, anon);
	if (err)
		return err;
	if (anon != !c.name[0])
		return -EINVAL;
	if (!anon) {
		m = mtdev_map_create(c.name, c.mode);
		return PTR_ERR_OR_ZERO(m);
	}
	mutex_lock(&f->lock);
	if (f->map) {
		err = -EBUSY;
	} else {
		m = mtdev_map_create("", 0);
		if (IS_ERR(m))
			err = PTR_ERR(m);
		else
			mtdev_attach(f, m, MTDEV_READ | MTDEV_WRITE);
	}
	mutex_unlock(&f->lock);
	return err;
}

static int mtdev_copy_name(struct masstree_ioc_name *n, void __user *uarg)
{
	int err = mtdev_copy_in(n, sizeof(*n), uarg);

	if (err)
		return err;
	if (!mtdev_zero(n->reserved, sizeof(n->reserved)))
		return -EINVAL;
	return mtdev_check_name(n->name, false);
}

static long mtdev_ioc_open(struct mtdev_file *f, void __user *uarg)
{
	const u64 access_bits = MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE;
	struct masstree_ioc_name n;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_name(&n, uarg);
	if (err)
		return err;
	if (!n.flags || n.flags & ~access_bits)
		return -EINVAL;
	mutex_lock(&f->lock);
	if (f->map) {
		err = -EBUSY;
	} else {
		m = mtdev_map_open(n.name, n.flags);
		if (IS_ERR(m))
			err = PTR_ERR(m);
		else
			mtdev_attach(f, m, n.flags);
	}
	mutex_unlock(&f->lock);
	return err;
}

static long mtdev_ioc_destroy(void __user *uarg)
{
	struct masstree_ioc_name n;
	int err;

	err = mtdev_copy_name(&n, uarg);
	if (err)
		return err;
	if (n.flags)
		return -EINVAL;
	return mtdev_map_destroy(n.name);
}

static long mtdev_ioc_setattr(void __user *uarg)
{
	const u64 known = MASSTREE_SETATTR_MODE | MASSTREE_SETATTR_UID |
			  MASSTREE_SETATTR_GID;
	struct masstree_ioc_setattr a;
	int err;

	err = mtdev_copy_in(&a, sizeof(a), uarg);
	if (err)
		return err;
	if (a.flags & ~known || !mtdev_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	err = mtdev_check_name(a.name, false);
	if (err)
		return err;
	return mtdev_map_setattr(&a);
}

static long mtdev_ioc_list(void __user *uarg)
{
	struct masstree_map_info *infos;
	struct masstree_ioc_list l;
	unsigned int nr;
	int err;

	err = mtdev_copy_in(&l, sizeof(l), uarg);
	if (err)
		return err;
	if (l.flags || !mtdev_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	err = mtdev_check_name(l.after, true);
	if (err)
		return err;
	nr = min_t(u64, l.nr, MTDEV_LIST_MAX);
	infos = mtdev_fail_alloc(MTDEV_FAIL_BUFFER) ? NULL :
		kvmalloc_array(nr ?: 1, sizeof(*infos), GFP_KERNEL);
	if (!infos)
		return -ENOMEM;
	err = mtdev_map_list(&l, infos, nr);
	if (!err && l.count &&
	    copy_to_user(u64_to_user_ptr(l.maps), infos, l.count * sizeof(*infos)))
		err = -EFAULT;
	if (!err)
		err = mtdev_copy_out(uarg, &l, sizeof(l));
	kvfree(infos);
	return err;
}

/*
 * Write the out fields of an operation in userspace (zero, as a command
 * starts with them) so that a structure in a read-only or unmapped page
 * fails with -EFAULT before the command changes the map rather than
 * after. A page unmapped between this probe and the final copy still
 * gets -EFAULT after the fact: the uapi header says so.
 */
static int mtdev_probe_op(struct masstree_ioc_op __user *uop)
{
	if (put_user(0, &uop->out_len) || put_user(0, &uop->result))
		return -EFAULT;
	return 0;
}

static long mtdev_ioc_op(struct mtdev_file *f, void __user *uarg,
			 unsigned int opcode)
{
	struct masstree_ioc_op op;
	unsigned int access;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_in(&op, sizeof(op), uarg);
	if (err)
		return err;
	if (op.op && op.op != opcode)
		return -EINVAL;
	m = mtdev_attached(f, 0, &access);
	if (IS_ERR(m))
		return PTR_ERR(m);
	op.out_len = 0;
	/* The answer must have somewhere to go before the map changes. */
	if (mtdev_probe_op(uarg))
		return -EFAULT;
	err = mtdev_op(m, access, &op, opcode);
	op.result = err;
	if (mtdev_copy_out(uarg, &op, sizeof(op)))
		return -EFAULT;
	return err;
}

/* In a BATCH with MASSTREE_BATCH_CONTINUE: outcomes that are answers. */
static bool mtdev_batch_answer(int err)
{
	return err == -ENOENT || err == -EEXIST || err == -ECANCELED ||
	       err == -EOVERFLOW;
}

static int mtdev_batch_one(struct mtdev_map *m, unsigned int access,
			   struct masstree_ioc_op __user *uop)
{
	struct masstree_ioc_op op;
	int err;

	if (copy_from_user(&op, uop, sizeof(op)) || mtdev_probe_op(uop))
		return -EFAULT;
	if (op.size != sizeof(op) || op.op < MASSTREE_OP_GET ||
	    op.op > MASSTREE_OP_CMPXCHG) {
		err = -EINVAL;
	} else {
		op.out_len = 0;
		err = mtdev_op(m, access, &op, op.op);
		if (put_user(op.out_len, &uop->out_len))
			return -EFAULT;
	}
	if (put_user((s64)err, &uop->result))
		return -EFAULT;
	return err;
}

static long mtdev_ioc_batch(struct mtdev_file *f, void __user *uarg)
{
	struct masstree_ioc_op __user *uops;
	struct masstree_ioc_batch b;
	unsigned int access;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_in(&b, sizeof(b), uarg);
	if (err)
		return err;
	if (b.flags & ~MASSTREE_BATCH_CONTINUE || b.nr > MASSTREE_BATCH_MAX ||
	    !mtdev_zero(b.reserved, sizeof(b.reserved)))
		return -EINVAL;
	m = mtdev_attached(f, 0, &access);
	if (IS_ERR(m))
		return PTR_ERR(m);
	/* As mtdev_probe_op(): @done must be writable before anything runs. */
	if (put_user(0, &((struct masstree_ioc_batch __user *)uarg)->done))
		return -EFAULT;
	mtdev_count(&m->acct, MTDEV_STAT_BATCH);
	uops = u64_to_user_ptr(b.ops);
	for (b.done = 0; b.done < b.nr; b.done++) {
		err = mtdev_batch_one(m, access, &uops[b.done]);
		if (err && !(b.flags & MASSTREE_BATCH_CONTINUE &&
			     mtdev_batch_answer(err)))
			break;
		err = 0;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	if (mtdev_copy_out(uarg, &b, sizeof(b)))
		return -EFAULT;
	return err;
}

static long mtdev_ioc_scan(struct mtdev_file *f, void __user *uarg)
{
	struct masstree_ioc_scan s;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_in(&s, sizeof(s), uarg);
	if (err)
		return err;
	m = mtdev_attached(f, MTDEV_READ, NULL);
	if (IS_ERR(m))
		return PTR_ERR(m);
	err = mtdev_scan(m, &s);
	if (mtdev_copy_out(uarg, &s, sizeof(s)))
		return -EFAULT;
	return err;
}

static long mtdev_ioc_stats(struct mtdev_file *f, void __user *uarg)
{
	struct masstree_ioc_stats s;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_in(&s, sizeof(s), uarg);
	if (err)
		return err;
	if (s.flags || !mtdev_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	m = mtdev_attached(f, MTDEV_READ, NULL);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (READ_ONCE(m->dead))
		return -EIDRM;
	mtdev_map_stats(m, &s);
	return mtdev_copy_out(uarg, &s, sizeof(s));
}

static long mtdev_ioc_clear(struct mtdev_file *f, void __user *uarg)
{
	struct masstree_ioc_clear c;
	struct mtdev_map *m;
	int err;

	err = mtdev_copy_in(&c, sizeof(c), uarg);
	if (err)
		return err;
	if (c.flags || !mtdev_zero(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	m = mtdev_attached(f, MTDEV_WRITE, NULL);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (put_user(0, &((struct masstree_ioc_clear __user *)uarg)->cleared))
		return -EFAULT;
	err = mtdev_clear(m, &c.cleared);
	if (mtdev_copy_out(uarg, &c, sizeof(c)))
		return -EFAULT;
	return err;
}

static long mtdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mtdev_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case MASSTREE_IOC_CREATE:
		return mtdev_ioc_create(f, uarg);
	case MASSTREE_IOC_OPEN:
		return mtdev_ioc_open(f, uarg);
	case MASSTREE_IOC_SETATTR:
		return mtdev_ioc_setattr(uarg);
	case MASSTREE_IOC_DESTROY:
		return mtdev_ioc_destroy(uarg);
	case MASSTREE_IOC_LIST:
		return mtdev_ioc_list(uarg);
	case MASSTREE_IOC_GET:
		return mtdev_ioc_op(f, uarg, MASSTREE_OP_GET);
	case MASSTREE_IOC_PUT:
		return mtdev_ioc_op(f, uarg, MASSTREE_OP_PUT);
	case MASSTREE_IOC_DEL:
		return mtdev_ioc_op(f, uarg, MASSTREE_OP_DEL);
	case MASSTREE_IOC_CMPXCHG:
		return mtdev_ioc_op(f, uarg, MASSTREE_OP_CMPXCHG);
	case MASSTREE_IOC_SCAN:
		return mtdev_ioc_scan(f, uarg);
	case MASSTREE_IOC_BATCH:
		return mtdev_ioc_batch(f, uarg);
	case MASSTREE_IOC_STATS:
		return mtdev_ioc_stats(f, uarg);
	case MASSTREE_IOC_CLEAR:
		return mtdev_ioc_clear(f, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations mtdev_fops = {
	.owner = THIS_MODULE,
	.open = mtdev_open,
	.release = mtdev_release,
	.unlocked_ioctl = mtdev_ioctl,
	/* Every structure has one layout for 32-bit and 64-bit callers. */
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static struct miscdevice mtdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "masstree",
	.fops = &mtdev_fops,
	/* Set from dev_mode at load. */
};

/**
 * mtdev_init() - register /dev/masstree and its debugfs files.
 * @debugfs_root: the module's debugfs directory (an error pointer
 *	without debugfs: the device works without its files).
 *
 * Context: Module init.
 * Return: 0, -EINVAL for a bad dev_mode, or the error of misc_register().
 */
int mtdev_init(struct dentry *debugfs_root)
{
	int err;

	/* SCAN passes its flags to masstree_scan() unchanged. */
	BUILD_BUG_ON(MASSTREE_IOC_SCAN_REVERSE != MASSTREE_SCAN_REVERSE);
	BUILD_BUG_ON(MASSTREE_IOC_SCAN_START_EXCL != MASSTREE_SCAN_START_EXCL);
	BUILD_BUG_ON(MASSTREE_IOC_SCAN_END_EXCL != MASSTREE_SCAN_END_EXCL);
	BUILD_BUG_ON(MASSTREE_IOC_SCAN_NO_START != MASSTREE_SCAN_NO_START);
	BUILD_BUG_ON(MASSTREE_IOC_SCAN_NO_END != MASSTREE_SCAN_NO_END);
	BUILD_BUG_ON(MASSTREE_KEY_MAX != MASSTREE_MAX_KEY_LEN);
	if (dev_mode & ~0666)
		return -EINVAL;
	mtdev_misc.mode = dev_mode;
	mtdev_caps_init();
	mtdev_debugfs_init(debugfs_root);
	err = misc_register(&mtdev_misc);
	if (err)
		mtdev_debugfs_exit();
	return err;
}

/**
 * mtdev_exit() - unregister /dev/masstree, free the named maps and remove
 *	the device's debugfs files.
 *
 * Context: Module exit: no descriptor is open.
 */
void mtdev_exit(void)
{
	misc_deregister(&mtdev_misc);
	mtdev_maps_exit();
	mtdev_debugfs_exit();
}
