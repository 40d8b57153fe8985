/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/masstree: ordered maps from byte-string keys to byte-string values,
 * shared through the kernel.
 *
 * A map is named, like a System V IPC object, and lives until it is
 * destroyed or the module is unloaded; or it is anonymous and lives as
 * long as the one file descriptor that created it. A file descriptor of
 * /dev/masstree is attached to at most one map (MASSTREE_IOC_OPEN or an
 * anonymous MASSTREE_IOC_CREATE); the data operations work on that map.
 *
 * Every structure is made of __u64 fields (names are arrays of 8-byte
 * multiples), so 32-bit and 64-bit callers share one layout. Each starts
 * with @size, which the caller sets to sizeof the structure it was built
 * with: a size smaller than this first version's is -EINVAL, a larger one
 * is accepted when the extra bytes are zero (-E2BIG otherwise), so later
 * versions can grow the structures. Reserved fields and unknown flags must
 * be zero (-EINVAL). Pointers are passed as __u64 (cast through
 * uintptr_t). Names are NUL-terminated and zero-padded.
 *
 * Errors, beyond those listed per command: -EFAULT (a bad pointer),
 * -EINVAL (bad flags, lengths, names or reserved fields), -ENOTTY (an
 * unknown command), -EBADFD (a data operation on a detached descriptor),
 * -EBADF (the attachment lacks the access the command needs: see the
 * table below), -EIDRM (the attached map was destroyed), -ENOMEM. A
 * command that fails changes nothing.
 *
 * Output fields: a command that changes a map (PUT, DEL, CMPXCHG, BATCH,
 * CLEAR) first writes zero to its out fields (@out_len and @result of
 * each operation, @done, @cleared), so an argument structure in a
 * read-only or unmapped page fails with -EFAULT before anything changes.
 * One race remains: if another thread unmaps or write-protects the page
 * between that write and the final one, the command has taken effect and
 * still returns -EFAULT. Callers that share their memory with such
 * threads must treat -EFAULT from these commands as "done or not".
 *
 * Names: each IPC namespace has its own name space of maps, as System V
 * IPC objects do: CREATE, OPEN, DESTROY, SETATTR and LIST see only the
 * maps of the caller's IPC namespace, and the same name may be taken in
 * two namespaces. When an IPC namespace dies (no task, nsfs file or
 * mount refers to it any more), its maps are destroyed soon after (at
 * the next control command anyone issues, or within seconds), as System
 * V frees the namespace's objects; descriptors still attached to them
 * get -EIDRM, and the maps are freed when the last is closed.
 *
 * Memory: a map is charged what it really holds in the kernel: its tree's
 * nodes and key suffixes at their slab object and kmalloc bucket sizes
 * (@node_bytes of struct masstree_ioc_stats), and each value at the size
 * of its allocation (its length plus a 24-byte header, rounded up to a
 * kmalloc bucket, or to pages). So a key's charge depends on the tree's shape:
 * keys that share a long span with another cost a 448-byte node per 8
 * shared bytes; a leaf emptied by erases down to one key stays charged
 * whole. The charge is held against three caps (module parameters): the
 * map's (max_map_bytes), its creator's across all the maps it created
 * (max_user_bytes) and the device's across all maps (max_total_bytes).
 * A PUT or CMPXCHG first reserves its worst case (its value, plus the
 * nodes and suffix a new key of its length could add at most: up to one
 * node per 8 bytes of key), fails if that would pass a cap, and after the
 * write is charged what the map then holds; DEL, CLEAR and DESTROY refund
 * what they freed. (The module folds completed writes into the figures
 * lazily, but every figure read and every cap that refuses a write sees
 * them folded in.) Near a cap, a write may thus fail although what it
 * would really add fits. When no write is in flight, a map's charge
 * (@charged_bytes, LIST's @bytes) equals @node_bytes plus its values'
 * allocations.
 *
 * Access each command needs (a named map: as OPEN granted it; an
 * anonymous map: read and write):
 *
 *	command		needs			notes
 *	CREATE		-			named: the name must be free in
 *						the caller's IPC namespace
 *	OPEN		the map's mode bits	or CAP_SYS_ADMIN
 *	SETATTR		owner (mode)		or CAP_SYS_ADMIN; uid: CAP_CHOWN;
 *						gid: owner and member, or CAP_CHOWN
 *	DESTROY		owner			or CAP_SYS_ADMIN
 *	LIST		-			keys and bytes: read permission
 *	GET		read
 *	PUT		write			@out_len only with read as well
 *	DEL		write			@out_len only with read as well
 *	CMPXCHG		read and write		it tells what the key holds
 *	SCAN		read
 *	BATCH		each operation's own
 *	STATS		read
 *	CLEAR		write
 *
 * Capabilities are those of the initial user namespace.
 */
#ifndef _UAPI_LINUX_MASSTREE_H
#define _UAPI_LINUX_MASSTREE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Limits. */
#define MASSTREE_NAME_MAX	64	/* bytes of a name, NUL included */
#define MASSTREE_KEY_MAX	65535	/* bytes of a key */
#define MASSTREE_VALUE_MAX	65536	/* bytes of a value */
#define MASSTREE_BATCH_MAX	1024	/* operations in one BATCH */

/**
 * struct masstree_ioc_create - MASSTREE_IOC_CREATE: make a map.
 * @size: sizeof(struct masstree_ioc_create).
 * @flags: MASSTREE_CREATE_*.
 * @mode: permission bits (0 to 0777) of a named map: read lets GET, SCAN
 *	and STATS through, write PUT, DEL, CMPXCHG and CLEAR; zero for an
 *	anonymous map.
 * @name: NUL-terminated name of 1 to 63 characters from [A-Za-z0-9._-],
 *	not starting with '.'; all zero for an anonymous map.
 * @reserved: must be zero.
 *
 * A named map is owned by the caller's effective uid and gid, which are
 * also recorded as its creator (for good: see struct masstree_map_info),
 * lives in the caller's IPC namespace, and is not attached to the
 * descriptor (use MASSTREE_IOC_OPEN). An anonymous map is attached to the
 * descriptor at once, read-write, and freed when it is closed. Errors:
 * -EEXIST (the name is taken in the caller's IPC namespace), -EBUSY
 * (anonymous: the descriptor is attached already), -EDQUOT (the caller's
 * effective uid created max_maps maps, named or anonymous, that are not
 * freed yet; giving a map away with SETATTR does not change whose count
 * it is in).
 */
struct masstree_ioc_create {
	__u64 size;
	__u64 flags;
	__u64 mode;
	char name[MASSTREE_NAME_MAX];
	__u64 reserved[4];
};

#define MASSTREE_CREATE_ANON	(1ULL << 0)	/* anonymous, private map */

/**
 * struct masstree_ioc_name - MASSTREE_IOC_OPEN and MASSTREE_IOC_DESTROY.
 * @size: sizeof(struct masstree_ioc_name).
 * @flags: OPEN: MASSTREE_OPEN_READ and/or MASSTREE_OPEN_WRITE (at least
 *	one); DESTROY: zero.
 * @name: the map's name, NUL-terminated.
 * @reserved: must be zero.
 *
 * OPEN attaches the descriptor to the map with the access asked for, once
 * the map's mode lets the caller have it (as for a file: owner, group,
 * then other bits; CAP_SYS_ADMIN overrides). Errors: -ENOENT, -EACCES,
 * -EBUSY (the descriptor is attached already).
 *
 * DESTROY unlinks the name at once; operations arriving later through
 * descriptors still attached get -EIDRM, and the map is freed when the
 * last of them is closed. Only the owner or CAP_SYS_ADMIN may destroy.
 * Errors: -ENOENT, -EPERM.
 */
struct masstree_ioc_name {
	__u64 size;
	__u64 flags;
	char name[MASSTREE_NAME_MAX];
	__u64 reserved[2];
};

#define MASSTREE_OPEN_READ	(1ULL << 0)
#define MASSTREE_OPEN_WRITE	(1ULL << 1)

/**
 * struct masstree_ioc_setattr - MASSTREE_IOC_SETATTR: chmod and chown a map.
 * @size: sizeof(struct masstree_ioc_setattr).
 * @flags: MASSTREE_SETATTR_MODE, _UID, _GID: which fields to apply.
 * @name: the map's name, NUL-terminated.
 * @mode: new permission bits (0 to 0777).
 * @uid: new owner, in the caller's user namespace.
 * @gid: new group, in the caller's user namespace.
 * @reserved: must be zero.
 *
 * As for a file: the owner (or CAP_SYS_ADMIN) may change the mode; a new
 * owner needs CAP_CHOWN (the owner may set its own uid again); a new group
 * needs the owner to be a member of it (effective or supplementary gid),
 * or CAP_CHOWN. The creator recorded at CREATE never changes. Either
 * every field asked for is applied or none is. Descriptors already
 * attached keep their access. Errors: -ENOENT, -EPERM, -EINVAL (an id with
 * no mapping, or mode above 0777).
 */
struct masstree_ioc_setattr {
	__u64 size;
	__u64 flags;
	char name[MASSTREE_NAME_MAX];
	__u64 mode;
	__u64 uid;
	__u64 gid;
	__u64 reserved[2];
};

#define MASSTREE_SETATTR_MODE	(1ULL << 0)
#define MASSTREE_SETATTR_UID	(1ULL << 1)
#define MASSTREE_SETATTR_GID	(1ULL << 2)

/**
 * struct masstree_map_info - one record of MASSTREE_IOC_LIST.
 * @name: the map's name, NUL-terminated.
 * @uid: owner, in the caller's user namespace (overflowuid if unmapped).
 * @gid: group, likewise.
 * @mode: permission bits.
 * @keys: keys stored; zero unless the caller may read the map.
 * @bytes: bytes charged to the map (@charged_bytes of struct
 *	masstree_ioc_stats); zero unless the caller may read the map.
 * @cuid: creator: the effective uid that created the map, in the caller's
 *	user namespace; SETATTR cannot change it. (Was reserved, always zero,
 *	in the first version: the record's size did not change.)
 * @cgid: the creator's effective gid, likewise.
 * @reserved: zero.
 */
struct masstree_map_info {
	char name[MASSTREE_NAME_MAX];
	__u64 uid;
	__u64 gid;
	__u64 mode;
	__u64 keys;
	__u64 bytes;
	__u64 cuid;
	__u64 cgid;
	__u64 reserved[1];
};

/**
 * struct masstree_ioc_list - MASSTREE_IOC_LIST: the named maps, by name.
 * @size: sizeof(struct masstree_ioc_list).
 * @flags: zero.
 * @after: list the maps whose names sort after this one (all zero: from
 *	the first); pass the last name returned to go on.
 * @maps: user pointer to an array of struct masstree_map_info.
 * @nr: entries in @maps.
 * @count: out: entries filled in.
 * @more: out: 1 if more maps follow, else 0.
 * @reserved: must be zero.
 *
 * Any user may list the maps of the caller's IPC namespace (as ipcs(1)
 * does); their contents, and their @keys and @bytes, stay behind each
 * map's mode.
 */
struct masstree_ioc_list {
	__u64 size;
	__u64 flags;
	char after[MASSTREE_NAME_MAX];
	__u64 maps;
	__u64 nr;
	__u64 count;
	__u64 more;
	__u64 reserved[2];
};

/**
 * struct masstree_ioc_op - one key operation: GET, PUT, DEL, CMPXCHG, or an
 *	element of a BATCH.
 * @size: sizeof(struct masstree_ioc_op).
 * @op: MASSTREE_OP_*; in a single-operation command, zero or the
 *	command's own operation.
 * @flags: PUT: MASSTREE_PUT_*; others: zero.
 * @key: user pointer to the key.
 * @key_len: its length, 0 to MASSTREE_KEY_MAX.
 * @value: PUT, CMPXCHG: the new value; GET: a buffer for the value.
 * @value_len: PUT, CMPXCHG: the new value's length (0 to
 *	MASSTREE_VALUE_MAX); GET: the buffer's size.
 * @expect: CMPXCHG: the value expected; others: zero.
 * @expect_len: CMPXCHG: its length; others: zero.
 * @out_len: out: GET, DEL, CMPXCHG, PUT with MASSTREE_PUT_EXIST: the
 *	length of the value found; zero (DEL, PUT) through an attachment
 *	without read access.
 * @result: out: 0 or -errno, as the command returns it (in a BATCH, the
 *	operation's own result).
 * @reserved: must be zero.
 *
 * GET copies the value if it fits in @value_len bytes; if not, it copies
 * nothing, sets @out_len and fails with -EOVERFLOW. DEL removes the key.
 * CMPXCHG replaces the value if it equals @expect byte for byte, else
 * fails with -ECANCELED and sets @out_len to the current length. Errors:
 * -ENOENT (no such key; PUT with MASSTREE_PUT_EXIST), -EEXIST (PUT with
 * MASSTREE_PUT_NOEXIST), -ENOSPC (the map's byte cap, or the device's),
 * -EDQUOT (the byte cap of the map's creator). See "Memory" above for
 * what a write is charged.
 */
struct masstree_ioc_op {
	__u64 size;
	__u64 op;
	__u64 flags;
	__u64 key;
	__u64 key_len;
	__u64 value;
	__u64 value_len;
	__u64 expect;
	__u64 expect_len;
	__u64 out_len;
	__s64 result;
	__u64 reserved;
};

#define MASSTREE_OP_GET		1
#define MASSTREE_OP_PUT		2
#define MASSTREE_OP_DEL		3
#define MASSTREE_OP_CMPXCHG	4

/* PUT: with neither flag, insert or replace. */
#define MASSTREE_PUT_NOEXIST	(1ULL << 0)	/* fail if present: -EEXIST */
#define MASSTREE_PUT_EXIST	(1ULL << 1)	/* fail if absent: -ENOENT */

/**
 * struct masstree_ioc_batch - MASSTREE_IOC_BATCH: several operations, one call.
 * @size: sizeof(struct masstree_ioc_batch).
 * @flags: MASSTREE_BATCH_*.
 * @ops: user pointer to an array of struct masstree_ioc_op, each with @op
 *	set and @size equal to sizeof(struct masstree_ioc_op) (-EINVAL).
 * @nr: entries in @ops, at most MASSTREE_BATCH_MAX.
 * @done: out: operations carried out.
 * @reserved: must be zero.
 *
 * The operations run in order, each on its own (a BATCH is not atomic),
 * and each gets its @result and @out_len written back. The batch stops
 * at the first operation that fails: the command returns its error,
 * @done is its index, and the operations before it have taken effect.
 * With MASSTREE_BATCH_CONTINUE, the expected outcomes of a single
 * operation (-ENOENT, -EEXIST, -ECANCELED, -EOVERFLOW) are recorded in
 * @result and the batch goes on.
 */
struct masstree_ioc_batch {
	__u64 size;
	__u64 flags;
	__u64 ops;
	__u64 nr;
	__u64 done;
	__u64 reserved[3];
};

#define MASSTREE_BATCH_CONTINUE	(1ULL << 0)

/**
 * struct masstree_ioc_scan - MASSTREE_IOC_SCAN: keys and values in order.
 * @size: sizeof(struct masstree_ioc_scan).
 * @flags: MASSTREE_SCAN_*.
 * @start: user pointer to the first key of the range (unless
 *	MASSTREE_IOC_SCAN_NO_START); in reverse, the highest.
 * @start_len: its length.
 * @end: user pointer to the key that ends the range (unless
 *	MASSTREE_IOC_SCAN_NO_END); in reverse, the lowest.
 * @end_len: its length.
 * @limit: at most this many records; 0: as many as fit.
 * @buf: user pointer to the output buffer.
 * @buf_len: its size.
 * @resume: user pointer to a buffer for the resume key.
 * @resume_len: in: that buffer's size (MASSTREE_KEY_MAX always fits);
 *	out: the resume key's length.
 * @count: out: records written.
 * @used: out: bytes of @buf written; with -EOVERFLOW, the size the first
 *	record needs.
 * @more: out: 1 if the range holds more keys: call again with @start set
 *	to the resume key (inclusive, so without MASSTREE_IOC_SCAN_START_EXCL).
 * @reserved: must be zero.
 *
 * Records are packed in @buf: a struct masstree_ioc_scan_rec, the key, the
 * value, then zero padding to a multiple of 8 bytes. Each key was present
 * with that value at some moment during the call; keys come strictly
 * increasing (decreasing in reverse). Errors: -EOVERFLOW (not even the
 * first record fits; see @used), -ENAMETOOLONG (the resume key does not
 * fit in its buffer).
 */
struct masstree_ioc_scan {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 start_len;
	__u64 end;
	__u64 end_len;
	__u64 limit;
	__u64 buf;
	__u64 buf_len;
	__u64 resume;
	__u64 resume_len;
	__u64 count;
	__u64 used;
	__u64 more;
	__u64 reserved[2];
};

#define MASSTREE_IOC_SCAN_REVERSE	(1ULL << 0)	/* decreasing keys */
#define MASSTREE_IOC_SCAN_START_EXCL	(1ULL << 1)	/* skip a key equal to start */
#define MASSTREE_IOC_SCAN_END_EXCL	(1ULL << 2)	/* stop before a key equal to end */
#define MASSTREE_IOC_SCAN_NO_START	(1ULL << 3)	/* from the first (last) key */
#define MASSTREE_IOC_SCAN_NO_END	(1ULL << 4)	/* to the last (first) key */

/**
 * struct masstree_ioc_scan_rec - header of one SCAN record.
 * @key_len: bytes of key that follow.
 * @value_len: bytes of value after the key.
 *
 * The next record starts at the next multiple of 8 bytes.
 */
struct masstree_ioc_scan_rec {
	__u32 key_len;
	__u32 value_len;
};

/**
 * struct masstree_ioc_stats - MASSTREE_IOC_STATS: the attached map.
 * @size: sizeof(struct masstree_ioc_stats).
 * @flags: zero.
 * @keys: keys stored.
 * @leaves: leaf nodes, all layers.
 * @internodes: interior nodes, all layers.
 * @layers: layers (B+trees of the trie).
 * @height: height of the top layer.
 * @node_bytes: memory held by nodes and key suffixes (slab object and
 *	kmalloc bucket sizes).
 * @value_bytes: bytes of the values as stored (their lengths; their
 *	allocations hold more, see "Memory" above).
 * @charged_bytes: bytes counted against the caps: what the map holds,
 *	@node_bytes plus its values' allocations, and the worst case of
 *	writes in flight (see "Memory" above). (In the first version: key
 *	and value lengths plus 64 per key.)
 * @gets: GET operations (BATCH elements included), likewise:
 * @puts: PUT operations.
 * @dels: DEL operations.
 * @cmpxchgs: CMPXCHG operations.
 * @scans: SCAN commands.
 * @batches: BATCH commands.
 * @cuid: out: creator (see struct masstree_map_info). (Was reserved in the
 *	first version: the structure's size did not change.)
 * @cgid: out: the creator's gid.
 * @reserved: must be zero.
 *
 * Counters are read while others may write: exact only when the map is
 * quiet.
 */
struct masstree_ioc_stats {
	__u64 size;
	__u64 flags;
	__u64 keys;
	__u64 leaves;
	__u64 internodes;
	__u64 layers;
	__u64 height;
	__u64 node_bytes;
	__u64 value_bytes;
	__u64 charged_bytes;
	__u64 gets;
	__u64 puts;
	__u64 dels;
	__u64 cmpxchgs;
	__u64 scans;
	__u64 batches;
	__u64 cuid;
	__u64 cgid;
	__u64 reserved[2];
};

/**
 * struct masstree_ioc_clear - MASSTREE_IOC_CLEAR: remove every key of the
 *	attached map.
 * @size: sizeof(struct masstree_ioc_clear).
 * @flags: zero.
 * @cleared: out: keys removed.
 * @reserved: must be zero.
 *
 * Keys that writers add while CLEAR runs may stay.
 */
struct masstree_ioc_clear {
	__u64 size;
	__u64 flags;
	__u64 cleared;
	__u64 reserved[2];
};

/*
 * Commands. The magic is unused in
 * Documentation/userspace-api/ioctl/ioctl-number.rst (6.1).
 */
#define MASSTREE_IOC_MAGIC	0xB8

#define MASSTREE_IOC_CREATE	_IOWR(MASSTREE_IOC_MAGIC, 0x01, struct masstree_ioc_create)
#define MASSTREE_IOC_OPEN	_IOWR(MASSTREE_IOC_MAGIC, 0x02, struct masstree_ioc_name)
#define MASSTREE_IOC_SETATTR	_IOWR(MASSTREE_IOC_MAGIC, 0x03, struct masstree_ioc_setattr)
#define MASSTREE_IOC_DESTROY	_IOWR(MASSTREE_IOC_MAGIC, 0x04, struct masstree_ioc_name)
#define MASSTREE_IOC_LIST	_IOWR(MASSTREE_IOC_MAGIC, 0x05, struct masstree_ioc_list)
#define MASSTREE_IOC_GET	_IOWR(MASSTREE_IOC_MAGIC, 0x10, struct masstree_ioc_op)
#define MASSTREE_IOC_PUT	_IOWR(MASSTREE_IOC_MAGIC, 0x11, struct masstree_ioc_op)
#define MASSTREE_IOC_DEL	_IOWR(MASSTREE_IOC_MAGIC, 0x12, struct masstree_ioc_op)
#define MASSTREE_IOC_CMPXCHG	_IOWR(MASSTREE_IOC_MAGIC, 0x13, struct masstree_ioc_op)
#define MASSTREE_IOC_SCAN	_IOWR(MASSTREE_IOC_MAGIC, 0x14, struct masstree_ioc_scan)
#define MASSTREE_IOC_BATCH	_IOWR(MASSTREE_IOC_MAGIC, 0x15, struct masstree_ioc_batch)
#define MASSTREE_IOC_STATS	_IOWR(MASSTREE_IOC_MAGIC, 0x16, struct masstree_ioc_stats)
#define MASSTREE_IOC_CLEAR	_IOWR(MASSTREE_IOC_MAGIC, 0x17, struct masstree_ioc_clear)

#endif /* _UAPI_LINUX_MASSTREE_H */
