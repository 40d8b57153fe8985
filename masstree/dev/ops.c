// SPDX-License-Identifier: GPL-2.0
/*
 * The key operations of /dev/masstree on one map: values are byte strings
 * copied into the kernel, published in the map as its entries and freed
 * with kvfree_rcu() once replaced or removed, so lockless readers may
 * still be copying them. Nothing touches userspace memory inside an RCU
 * section: reads copy into a kernel buffer first, writes copy the value
 * in before they publish it.
 *
 * Every failed operation leaves the map as it was: a write reserves its
 * worst case and allocates its value before it changes anything, and
 * gives both back if the map refuses it. Every write and erase then
 * hands its reservation and what it stored or freed to the map's account
 * (see "charging what a map holds" in account.c).
 */
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "account.h"
#include "fault.h"
#include "map.h"
#include "mtdev.h"
#include "ops.h"

/* SCAN copies records through a bounce buffer this big: two maximal
 * records fit, so every pass makes progress.
 */
#define MTDEV_SCAN_BOUNCE	(256 * 1024)

/* GET tries a stack buffer first: most values are small. */
#define MTDEV_GET_STACK		128

/* Keys up to this long are copied to the stack: no allocation per call. */
#define MTDEV_KEY_STACK		64

#define MTDEV_SCAN_FLAGS	(MASSTREE_IOC_SCAN_REVERSE |		\
				 MASSTREE_IOC_SCAN_START_EXCL |		\
				 MASSTREE_IOC_SCAN_END_EXCL |		\
				 MASSTREE_IOC_SCAN_NO_START |		\
				 MASSTREE_IOC_SCAN_NO_END)

/* Copy @len bytes in from userspace: key, expected value, scan bound. */
static void *mtdev_memdup_user(u64 uptr, u64 len)
{
	if (mtdev_fail_alloc(MTDEV_FAIL_COPY))
		return ERR_PTR(-ENOMEM);
	return vmemdup_user(u64_to_user_ptr(uptr), len);
}

/*
 * The most a value of @len bytes can hold: kvmalloc() tries kmalloc()
 * first, whose bucket (pages rounded up to a power of two, past the
 * slab sizes) is never smaller than vmalloc()'s pages.
 */
static s64 mtdev_value_size_max(u64 len)
{
	struct mtdev_value *v;

	return kmalloc_size_roundup(struct_size(v, data, len));
}

static struct mtdev_value *mtdev_value_new(u64 uptr, u64 len)
{
	struct mtdev_value *v;

	if (mtdev_fail_alloc(MTDEV_FAIL_VALUE))
		return ERR_PTR(-ENOMEM);
	v = kvmalloc(struct_size(v, data, len), GFP_KERNEL_ACCOUNT);
	if (!v)
		return ERR_PTR(-ENOMEM);
	v->len = len;
	if (copy_from_user(v->data, u64_to_user_ptr(uptr), len)) {
		kvfree(v);
		return ERR_PTR(-EFAULT);
	}
	return v;
}

static int mtdev_get(struct mtdev_map *m, struct masstree_ioc_op *op,
		     const u8 *key)
{
	u8 stack[MTDEV_GET_STACK], *buf = stack;
	size_t cap = sizeof(stack), len;
	struct mtdev_value *v;
	int err;

	for (;;) {
		err = 0;
		rcu_read_lock();
		v = masstree_load(&m->tree, key, op->key_len);
		if (!v) {
			err = -ENOENT;
		} else {
			len = v->len;
			if (len <= cap)
				memcpy(buf, v->data, len);
		}
		rcu_read_unlock();
		if (err)
			break;
		op->out_len = len;
		if (len > op->value_len) {
			err = -EOVERFLOW;
			break;
		}
		if (len <= cap) {
			if (copy_to_user(u64_to_user_ptr(op->value), buf, len))
				err = -EFAULT;
			break;
		}
		/* Too big for the stack: again with room for this length. */
		if (buf != stack)
			kvfree(buf);
		buf = mtdev_fail_alloc(MTDEV_FAIL_BUFFER) ? NULL :
		      kvmalloc(len, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		cap = len;
	}
	if (buf != stack)
		kvfree(buf);
	return err;
}

/*
 * Replace @key's value with @v only if the key is present, and only if
 * its value satisfies @match (NULL: any value). Runs under the RCU read
 * lock so that the value compared cannot be freed and reused at the same
 * address before the exchange (no ABA). Replacing an entry never
 * allocates, hence GFP_NOWAIT.
 */
static struct mtdev_value *mtdev_replace(struct mtdev_map *m, const u8 *key,
					 size_t key_len, struct mtdev_value *v,
					 const u8 *match, size_t match_len,
					 u64 *out_len)
{
	struct mtdev_value *cur, *old;

	rcu_read_lock();
	for (;;) {
		cur = masstree_load(&m->tree, key, key_len);
		if (!cur) {
			old = ERR_PTR(-ENOENT);
			break;
		}
		*out_len = cur->len;
		if (match && (cur->len != match_len ||
			      memcmp(cur->data, match, match_len))) {
			old = ERR_PTR(-ECANCELED);
			break;
		}
		old = masstree_cmpxchg(&m->tree, key, key_len, cur, v,
				       GFP_NOWAIT);
		if (old == cur)
			break;
		if (masstree_is_err(old)) {
			old = ERR_PTR(masstree_err(old));
			break;
		}
		/* Another writer got there first: look again. */
	}
	rcu_read_unlock();
	return old;
}

static int mtdev_put(struct mtdev_map *m, struct masstree_ioc_op *op,
		     const u8 *key, const u8 *expect)
{
	bool may_insert = !expect && !(op->flags & MASSTREE_PUT_EXIST);
	struct mtdev_value *v, *old = NULL;
	s64 reserved, stored = 0, removed = 0;
	int err;

	err = mtdev_reap_room(m, key, op->key_len);
	if (err)
		return err;
	reserved = mtdev_value_size_max(op->value_len);
	if (may_insert)
		reserved += masstree_insert_bytes_max(&m->tree, op->key_len);
	err = mtdev_reserve(&m->acct, reserved);
	if (err)
		return err;
	v = mtdev_value_new(op->value, op->value_len);
	if (IS_ERR(v)) {
		err = PTR_ERR(v);
		goto done;
	}
	/* Once published, @v may be replaced and freed by another writer. */
	stored = mtdev_value_size(v);
	if (expect) {
		old = mtdev_replace(m, key, op->key_len, v, expect,
				    op->expect_len, &op->out_len);
	} else if (op->flags & MASSTREE_PUT_EXIST) {
		old = mtdev_replace(m, key, op->key_len, v, NULL, 0,
				    &op->out_len);
	} else if (op->flags & MASSTREE_PUT_NOEXIST) {
		err = masstree_insert(&m->tree, key, op->key_len, v,
				      GFP_KERNEL_ACCOUNT);
	} else {
		old = masstree_store(&m->tree, key, op->key_len, v,
				     GFP_KERNEL_ACCOUNT);
		if (masstree_is_err(old))
			old = ERR_PTR(masstree_err(old));
	}
	if (IS_ERR(old))
		err = PTR_ERR(old);
	if (err) {
		/* Never published: no reader can hold it. */
		kvfree(v);
		stored = 0;
		goto done;
	}
	mtdev_value_bytes_add(&m->acct, op->value_len);
	if (old)
		removed = mtdev_value_gone(m, old);
done:
	mtdev_done(&m->acct, reserved, stored - removed);
	return err;
}

static int mtdev_del(struct mtdev_map *m, struct masstree_ioc_op *op,
		     const u8 *key)
{
	struct mtdev_value *old = masstree_erase(&m->tree, key, op->key_len);

	if (!old)
		return -ENOENT;
	op->out_len = old->len;
	mtdev_done(&m->acct, 0, -mtdev_value_gone(m, old));
	return 0;
}

/* The fields each operation may use; the rest must be zero. */
static int mtdev_op_check(const struct masstree_ioc_op *op,
			  unsigned int opcode)
{
	if (op->reserved || op->key_len > MASSTREE_KEY_MAX)
		return -EINVAL;
	switch (opcode) {
	case MASSTREE_OP_GET:
		if (op->flags || op->expect || op->expect_len)
			return -EINVAL;
		return 0;
	case MASSTREE_OP_PUT:
		if (op->flags & ~(MASSTREE_PUT_NOEXIST | MASSTREE_PUT_EXIST) ||
		    (op->flags & MASSTREE_PUT_NOEXIST &&
		     op->flags & MASSTREE_PUT_EXIST) ||
		    op->value_len > MASSTREE_VALUE_MAX ||
		    op->expect || op->expect_len)
			return -EINVAL;
		return 0;
	case MASSTREE_OP_DEL:
		if (op->flags || op->value || op->value_len || op->expect ||
		    op->expect_len)
			return -EINVAL;
		return 0;
	case MASSTREE_OP_CMPXCHG:
		if (op->flags || op->value_len > MASSTREE_VALUE_MAX ||
		    op->expect_len > MASSTREE_VALUE_MAX)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/*
 * The access each operation needs (the table in the uapi header):
 * CMPXCHG is a write that also tells what the key holds, so it needs
 * both.
 */
static unsigned int mtdev_op_access(unsigned int opcode)
{
	switch (opcode) {
	case MASSTREE_OP_GET:
		return MTDEV_READ;
	case MASSTREE_OP_CMPXCHG:
		return MTDEV_READ | MTDEV_WRITE;
	default:
		return MTDEV_WRITE;
	}
}

/**
 * mtdev_op() - carry out one key operation.
 * @m: the attached map.
 * @access: what the attachment grants (MTDEV_READ, MTDEV_WRITE).
 * @op: the operation, copied from userspace; @op->out_len is filled in.
 * @opcode: MASSTREE_OP_*: the command's, or @op->op in a BATCH.
 *
 * Context: Process context; may sleep.
 * Return: 0 or -errno (see struct masstree_ioc_op); the map is unchanged
 * on error.
 */
int mtdev_op(struct mtdev_map *m, unsigned int access,
	     struct masstree_ioc_op *op, unsigned int opcode)
{
	u8 kstack[MTDEV_KEY_STACK], *key = kstack, *expect = NULL;
	int err;

	err = mtdev_op_check(op, opcode);
	if (err)
		return err;
	if ((access & mtdev_op_access(opcode)) != mtdev_op_access(opcode))
		return -EBADF;
	if (READ_ONCE(m->dead))
		return -EIDRM;
	if (op->key_len <= sizeof(kstack)) {
		if (copy_from_user(kstack, u64_to_user_ptr(op->key), op->key_len))
			return -EFAULT;
	} else {
		key = mtdev_memdup_user(op->key, op->key_len);
		if (IS_ERR(key))
			return PTR_ERR(key);
	}
	switch (opcode) {
	case MASSTREE_OP_GET:
		mtdev_count(&m->acct, MTDEV_STAT_GET);
		err = mtdev_get(m, op, key);
		break;
	case MASSTREE_OP_PUT:
		mtdev_count(&m->acct, MTDEV_STAT_PUT);
		err = mtdev_put(m, op, key, NULL);
		break;
	case MASSTREE_OP_DEL:
		mtdev_count(&m->acct, MTDEV_STAT_DEL);
		err = mtdev_del(m, op, key);
		break;
	case MASSTREE_OP_CMPXCHG:
		mtdev_count(&m->acct, MTDEV_STAT_CMPXCHG);
		/* A zero-length expectation still needs a non-NULL pointer. */
		expect = mtdev_memdup_user(op->expect, op->expect_len);
		if (IS_ERR(expect)) {
			err = PTR_ERR(expect);
			expect = NULL;
			break;
		}
		err = mtdev_put(m, op, key, expect);
		break;
	}
	kvfree(expect);
	if (key != kstack)
		kvfree(key);
	/* What a key held is for readers only (DEL, PUT with EXIST). */
	if (!(access & MTDEV_READ))
		op->out_len = 0;
	return err;
}

struct mtdev_scan_ctx {
	u8 *buf;
	size_t cap;
	size_t used;
	u64 count;
	u64 limit;
	u8 *resume;
	size_t resume_len;
	size_t need;
	bool stopped;
};

/* Called under RCU: copy one record into the bounce buffer, or stop. */
static int mtdev_scan_one(const void *key, size_t len, void *entry, void *arg)
{
	struct mtdev_scan_ctx *c = arg;
	struct mtdev_value *v = entry;
	struct masstree_ioc_scan_rec rec = { .key_len = len, .value_len = v->len };
	size_t size = ALIGN(sizeof(rec) + len + v->len, 8);
	u8 *p = c->buf + c->used;

	if ((c->limit && c->count == c->limit) || c->used + size > c->cap) {
		memcpy(c->resume, key, len);
		c->resume_len = len;
		c->need = size;
		c->stopped = true;
		return 1;
	}
	memcpy(p, &rec, sizeof(rec));
	memcpy(p + sizeof(rec), key, len);
	memcpy(p + sizeof(rec) + len, v->data, v->len);
	memset(p + sizeof(rec) + len + v->len, 0,
	       size - sizeof(rec) - len - v->len);
	c->used += size;
	c->count++;
	return 0;
}

static int mtdev_scan_check(const struct masstree_ioc_scan *s)
{
	if (s->flags & ~MTDEV_SCAN_FLAGS || s->reserved[0] || s->reserved[1] ||
	    s->start_len > MASSTREE_KEY_MAX || s->end_len > MASSTREE_KEY_MAX)
		return -EINVAL;
	if (s->flags & MASSTREE_IOC_SCAN_NO_START && (s->start || s->start_len))
		return -EINVAL;
	if (s->flags & MASSTREE_IOC_SCAN_NO_END && (s->end || s->end_len))
		return -EINVAL;
	return 0;
}

/* Copy a bound in, or NULL with its flag; ERR_PTR on failure. */
static u8 *mtdev_bound(u64 uptr, u64 len, bool none)
{
	if (none)
		return NULL;
	return mtdev_memdup_user(uptr, len);
}

/* The scan passes; @s's out fields are filled in as far as they got. */
static int mtdev_scan_passes(struct mtdev_map *m, struct masstree_ioc_scan *s,
			     const u8 *start, const u8 *end, u8 **from,
			     struct mtdev_scan_ctx *c)
{
	unsigned int flags = s->flags;	/* same bits as MASSTREE_SCAN_* */
	size_t start_len = s->start_len;
	int err;

	for (;;) {
		c->cap = min_t(u64, s->buf_len - s->used, MTDEV_SCAN_BOUNCE);
		c->used = 0;
		c->count = 0;
		c->limit = s->limit ? s->limit - s->count : 0;
		c->stopped = false;
		err = masstree_scan(&m->tree, start, start_len, end,
				    s->end_len, flags, mtdev_scan_one, c);
		if (err < 0)
			return err;
		if (c->used && copy_to_user(u64_to_user_ptr(s->buf + s->used),
					    c->buf, c->used))
			return -EFAULT;
		s->used += c->used;
		s->count += c->count;
		if (!c->stopped)
			return 0;
		/* Stopped by the limit or a full user buffer: more to come. */
		if ((s->limit && s->count == s->limit) ||
		    c->cap == s->buf_len - (s->used - c->used)) {
			s->more = 1;
			return 0;
		}
		/*
		 * Only the bounce buffer was full: go on from the next key,
		 * from a copy (the pass overwrites c->resume). Most scans
		 * never get here.
		 */
		if (!*from) {
			*from = kvmalloc(MASSTREE_KEY_MAX, GFP_KERNEL);
			if (!*from)
				return -ENOMEM;
		}
		memcpy(*from, c->resume, c->resume_len);
		start = *from;
		start_len = c->resume_len;
		flags &= ~(MASSTREE_SCAN_START_EXCL | MASSTREE_SCAN_NO_START);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
}

/**
 * mtdev_scan() - copy a range of records to userspace.
 * @m: the attached map (read access checked by the caller).
 * @s: the request, copied from userspace; its out fields are filled in.
 *
 * Context: Process context; may sleep.
 * Return: 0 or -errno (see struct masstree_ioc_scan).
 */
int mtdev_scan(struct mtdev_map *m, struct masstree_ioc_scan *s)
{
	struct mtdev_scan_ctx c = {};
	u8 *start = NULL, *end = NULL, *from = NULL;
	int err;

	err = mtdev_scan_check(s);
	if (err)
		return err;
	if (READ_ONCE(m->dead))
		return -EIDRM;
	mtdev_count(&m->acct, MTDEV_STAT_SCAN);
	s->count = 0;
	s->used = 0;
	s->more = 0;
	start = mtdev_bound(s->start, s->start_len,
			    s->flags & MASSTREE_IOC_SCAN_NO_START);
	end = mtdev_bound(s->end, s->end_len,
			  s->flags & MASSTREE_IOC_SCAN_NO_END);
	if (IS_ERR(start) || IS_ERR(end)) {
		err = PTR_ERR(IS_ERR(start) ? start : end);
		start = IS_ERR(start) ? NULL : start;
		end = IS_ERR(end) ? NULL : end;
		goto out;
	}
	err = -ENOMEM;
	if (mtdev_fail_alloc(MTDEV_FAIL_BUFFER))
		goto out;
	c.buf = kvmalloc(min_t(u64, s->buf_len, MTDEV_SCAN_BOUNCE) ?: 1,
			 GFP_KERNEL);
	c.resume = kvmalloc(MASSTREE_KEY_MAX, GFP_KERNEL);
	if (!c.buf || !c.resume)
		goto out;
	err = mtdev_scan_passes(m, s, start, end, &from, &c);
	if (err)
		goto out;
	if (s->more && s->count == 0 && !(s->limit && s->count == s->limit)) {
		/* Not even the first record fits. */
		s->used = c.need;
		err = -EOVERFLOW;
	} else if (s->more && c.resume_len > s->resume_len) {
		s->resume_len = c.resume_len;
		err = -ENAMETOOLONG;
	} else if (s->more) {
		s->resume_len = c.resume_len;
		if (copy_to_user(u64_to_user_ptr(s->resume), c.resume,
				 c.resume_len))
			err = -EFAULT;
	} else {
		s->resume_len = 0;
	}
out:
	kvfree(from);
	kvfree(c.resume);
	kvfree(c.buf);
	kvfree(end);
	kvfree(start);
	return err;
}

/* Keys CLEAR erases between two hand-ins of what it freed. */
#define MTDEV_CLEAR_BATCH	64

/* Erase every key; a fatal signal stops it. */
static int mtdev_erase_all(struct mtdev_map *m, u64 *cleared)
{
	struct masstree_cursor cur;
	struct mtdev_value *old;
	s64 freed = 0;
	int err = 0;

	masstree_cursor_init(&cur, &m->tree, GFP_KERNEL);
	while (masstree_next(&cur)) {
		old = masstree_erase(&m->tree, masstree_cursor_key(&cur),
				     masstree_cursor_len(&cur));
		if (old) {
			freed += mtdev_value_gone(m, old);
			if (++*cleared % MTDEV_CLEAR_BATCH == 0) {
				mtdev_done(&m->acct, 0, -freed);
				freed = 0;
			}
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	mtdev_done(&m->acct, 0, -freed);
	if (!err)
		err = cur.err;
	masstree_cursor_fini(&cur);
	return err;
}

/**
 * mtdev_clear() - erase every key of a map.
 * @m: the attached map (write access checked by the caller).
 * @cleared: out: keys erased.
 *
 * Context: Process context; may sleep.
 * Return: 0, -EIDRM, -EINTR (a fatal signal; the keys erased so far stay
 * erased), or -ENOMEM (likewise).
 */
int mtdev_clear(struct mtdev_map *m, u64 *cleared)
{
	*cleared = 0;
	if (READ_ONCE(m->dead))
		return -EIDRM;
	return mtdev_erase_all(m, cleared);
}
