// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of targeted races, round after round on a small map, with
 * long-lived kthreads released together each round. The race windows are
 * held open by the test hook (busy-waiting, bounded: the hook may run with
 * node locks held and interrupts off) until the other threads have acted
 * inside them, so that a bug in a window shows in the first rounds:
 *
 * - the first insert into an empty map, held after it published the root
 *   (MASSTREE_HOOK_NEW_ROOT) while other writers find that root and
 *   readers look keys up through it; and the same window alone, one
 *   writer per CPU, many short rounds (see rp_run());
 * - the first keys of a new layer, and inserts into a layer whose last key
 *   another thread erases, writers held between walk and leaf lock;
 * - the fold of a one-key layer (below a span) back into the slot
 *   above, the eraser held with the layer's leaf locked and the slot not
 *   yet switched (MASSTREE_HOOK_COLLAPSE) while readers look the
 *   survivor up and walk the map, and writers insert keys that share the
 *   span again (they wait for the leaf, and must find it deleted);
 * - readers of the keys a leaf split moves, and of the keys whose child
 *   index in the internode shifts, while the splitting writer is held in
 *   the split's and the internode insert's windows;
 * - two writers splitting full leaves under a full root internode: one is
 *   held between reading its leaf's parent and locking it
 *   (MASSTREE_HOOK_LOCK_PARENT) while the other's split splits the root,
 *   which moves the first one's leaf under a new internode: once it has
 *   the lock, the first must find that it locked a node that is no
 *   longer the parent;
 * - a leaf merge: the leftmost leaf (15 keys) erased down to 3 takes in
 *   its right neighbour's 3 keys, into slots the erases freed. A reader
 *   held on the leftmost leaf's full permutation (MASSTREE_HOOK_READ)
 *   until the merge is done must still find a key that stays there; the
 *   eraser held with the keys copied and the right leaf still in the
 *   parent (MASSTREE_HOOK_MERGE) while a reader looks up the moving keys
 *   and a writer inserts into the right leaf's range (it must not land
 *   in the retired leaf);
 * - a root internode left with one leaf, which an erase emptied and
 *   unlocked to wait for its left neighbour (MASSTREE_HOOK_LOCK_PREV),
 *   while the erase that held that neighbour removed it from the root:
 *   the root must leave the empty leaf to its erase (see
 *   masstree_races_root_shrink_beside_an_emptied_leaf());
 * - a reader held on a full leaf's permutation (MASSTREE_HOOK_READ) while
 *   an erase frees a slot and an insert refills it with another key: its
 *   search of the stale permutation meets the new key where the erased
 *   one was, and only a version change sends it back; and readers of a
 *   key re-inserted into the slot its erased entry left, the writer held
 *   before it marks the leaf (MASSTREE_HOOK_MARK): they must never see
 *   the erased entry; and a reader of a 16-byte key held once its window
 *   validated (MASSTREE_HOOK_VALIDATED), the slot of a key with the same
 *   first 8 bytes read, while that key is erased and the sought one
 *   inserted into its slot: the reader must compare the second 8 bytes
 *   it read from the leaf's bag in its window, not the new ones, or it
 *   returns the erased key's entry for the new key;
 * - readers that dereference the entries masstree_store() replaces, each
 *   filled by its writer just before the call: the publication must order
 *   the fill before the pointer. x86 cannot show a missing release; the
 *   strict KCSAN kernel's weak memory model holds one of the fill's plain
 *   stores back until the next barrier, and reports the reader that meets
 *   it (scripts/mutate-kernel boots the kernel to make that likely).
 *
 * After every round the map must hold exactly the expected keys, and the
 * statistics must be exact: keys equal to a cursor walk's count, bytes to
 * the counters masstree_validate() == 0 has checked against the map, and
 * (at the end of each case) leaves and internodes to the nodes still
 * allocated.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "internal.h"
#include "masstree_test.h"

#define RT_THREADS	5
#define RT_KLEN		32
/*
 * Rounds per case, about 10 s each on the KASAN kernel under TCG, where
 * a round costs tens of milliseconds (mostly waking and switching
 * threads); the KCSAN kernel is about ten times slower still.
 */
#define RT_ROUNDS	(IS_ENABLED(CONFIG_KCSAN) ? 40 : 150)
#define RT_SPLIT_ROUNDS	(IS_ENABLED(CONFIG_KCSAN) ? 24 : 60)
/*
 * Stores per writer and round in the store rounds. More under KCSAN: a
 * missing release shows only when the model held back one of the fill's
 * stores through the whole call and watched it again after the pointer
 * went out, a store in a few thousand at best (scripts/mutate-kernel
 * boots for it with few watched accesses held long).
 */
#define RT_STORE_OPS	(IS_ENABLED(CONFIG_KCSAN) ? 768 : 48)
/* The most a held window waits for the others, in microseconds. */
#define RT_HOLD_US	(IS_ENABLED(CONFIG_KCSAN) ? 10000 : 3000)

/* First-insert rounds: threads below this insert, the others read. */
#define RT_FIRST_WRITERS	3

enum rt_kind {
	RT_FIRST,		/* empty map: every thread inserts its key */
	RT_LAYER_NEW,		/* keys that share 8 or 16 bytes with a key */
	RT_LAYER_EMPTYING,	/* thread 0 erases a layer's last key */
	RT_SPLIT_LEAF,		/* readers: the split leaf's keys */
	RT_SPLIT_INODE_MARK,	/* readers: moved keys once the internode is about to be marked */
	RT_SPLIT_INODE_DIRTY,	/* readers: moved keys inside the internode's dirty window */
	RT_COLLAPSE,		/* thread 0 erases a key whose layer folds */
	RT_STORE,		/* thread 0 stores fresh entries; the others read them */
	RT_PARENT,		/* thread 0 held before locking a parent the root split moves */
	RT_MERGE_STALE,		/* thread 0's erases merge two leaves under a held reader */
	RT_MERGE_WINDOW,	/* the same, thread 0 held inside the merge */
	RT_REUSE,		/* a reader on a stale permutation; a slot freed and refilled */
	RT_REFILL,		/* readers of a key re-inserted into its erased slot */
	RT_BAG,			/* a validated reader; its slot's bag entry rewritten */
	RT_NR
};

/*
 * Writers of the store rounds, each with its own key. One: a watched
 * access delays its thread with interrupts off, so the readers that are
 * to meet it must have the other CPU to themselves.
 */
#define RT_STORE_WRITERS	1
#define RT_STORE_WORDS		6

/**
 * struct rt_obj - an entry of the store rounds, read by dereference.
 * @rcu: frees it after the readers that may hold it.
 * @seq: which store of its writer published it (0: the round's setup).
 * @key: the writer's index, whose key holds it.
 * @word: words derived from @seq and @key, all checked by readers.
 */
struct rt_obj {
	struct rcu_head rcu;
	u64 seq;
	u64 key;
	u64 word[RT_STORE_WORDS];
};

/* Split keys: slices 1000 + 16 * i, then fill keys 1000 + 16 * i + 8. */
#define RT_BASE		1000
#define RT_SPLIT_N	40
#define RT_SPLIT_FILL	7
/*
 * Parent keys: slices RT_BASE + 16 * i for i < 128, in order, make
 * sixteen leaves of eight under a full root internode; leaves 3 and 12
 * (either side of the root's split point) are filled to 15 keys with
 * RT_BASE + 16 * i + 8, and each writer's key, RT_BASE + 16 * i + 4,
 * splits one of them.
 */
#define RT_PARENT_N	128
#define RT_PARENT_A	12
#define RT_PARENT_B	3
#define RT_MAXKEYS	(RT_PARENT_N + 2 * 7 + 2)

struct rt_ctx;

/**
 * struct rt_thread - one kthread, for all the rounds of a case.
 * @ctx: the case.
 * @id: 0..RT_THREADS-1; 0 is the split rounds' writer.
 * @task: the kthread.
 * @rounds: rounds it took part in.
 * @errors: wrong answers it got.
 */
struct rt_thread {
	struct rt_ctx *ctx;
	unsigned int id;
	struct task_struct *task;
	unsigned long rounds;
	unsigned long errors;
};

/**
 * struct rt_ctx - a case.
 * @fx: the map (first: mtt_exit() destroys it).
 * @gen: round number; a change starts a round, -1 ends the threads.
 * @wq: where the threads wait for @gen to change, and the case for @done.
 * @kind: the round's kind.
 * @deep: layer keys share two slices instead of one.
 * @hold: the hook holds windows open this round.
 * @arrived: threads that reached the round's start line.
 * @done: threads done with the round.
 * @writer_done: the split or collapse round's writers are done: readers
 *	stop.
 * @collapse_held: the collapse round's eraser was held (or will not be).
 * @collapse_writes: @writes_done once the collapse round's writers are
 *	done.
 * @writes_done: write operations completed (what held writers wait for).
 * @stores_done: store rounds' writers done: readers stop at RT_STORE_WRITERS.
 * @found_root: writers that found the first root (LOCK_LEAF in RT_FIRST).
 * @first_done: first-insert rounds' writers done: readers stop at
 *	RT_FIRST_WRITERS.
 * @first_reads: lookups done by the first-insert rounds' readers.
 * @after_split: the split writer has passed MASSTREE_HOOK_SPLIT: its next
 *	windows are the internode's.
 * @window: the split writer's current window (enum
 *	masstree_test_hook_point + 1 for internode windows, see rt_hook()).
 * @reader_ops: lookups done by the split round's readers.
 * @parent_calls: the parent round's LOCK_PARENT calls by thread 0.
 * @parent_held: thread 0 is held before locking the parent (or will not be).
 * @merge_state: the merge rounds' progress: 1 the reader is held on the
 *	full leaf, 2 the writer is held in the merge, 4 the erases are done,
 *	8 thread 3 is about to insert into the right leaf's range.
 * @reuse_state: the reuse round's progress: 1 the reader is held on the
 *	full leaf, 2 the erase and the refilling insert are done.
 * @held: windows held, by kind.
 * @met: held windows another thread acted in, by kind.
 * @th: the threads.
 * @want: the keys the map must hold after the round.
 * @wlen: their lengths.
 * @wval: their entries.
 * @nwant: how many.
 */
struct rt_ctx {
	struct mtt_fixture fx;
	atomic_t gen;
	wait_queue_head_t wq;
	int kind;
	bool deep;
	bool hold;
	atomic_t arrived;
	atomic_t done;
	atomic_t writer_done;
	atomic_t collapse_held;
	long collapse_writes;
	atomic_long_t writes_done;
	atomic_t stores_done;
	atomic_long_t found_root;
	atomic_t first_done;
	atomic_long_t first_reads;
	bool after_split;
	int window;
	atomic_long_t reader_ops;
	int parent_calls;
	atomic_t parent_held;
	atomic_t merge_state;
	atomic_t reuse_state;
	atomic_long_t held[RT_NR];
	atomic_long_t met[RT_NR];
	struct rt_thread th[RT_THREADS];
	u8 want[RT_MAXKEYS][RT_KLEN];
	u32 wlen[RT_MAXKEYS];
	void *wval[RT_MAXKEYS];
	unsigned int nwant;
};

#define RT_W_INODE_MARK		1
#define RT_W_INODE_DIRTY	2

/* The case the hook serves; the hook is global, the case one at a time. */
static struct rt_ctx *rt_cur;

static u32 rt_first_key(u8 *b, unsigned int i)
{
	u32 len = 4 + 5 * i;

	memset(b, 'x', len);
	b[0] = 'a' + i;
	return len;
}

static u32 rt_layer_key(u8 *b, unsigned int i, bool deep)
{
	u32 off = deep ? 16 : 8;

	memcpy(b, "layer-X!layer-Y!", 16);
	memset(b + off, 'k', 12);
	b[off] = '0' + i;
	return off + 12;
}

/*
 * Collapse keys: 24 shared bytes (a span above the layer), then the
 * key's own. Key 8 is erased, 9 survives; threads 3 and 4 insert theirs.
 */
#define RT_GONE		8
#define RT_STAYS	9

static u32 rt_collapse_key(u8 *b, unsigned int i)
{
	memcpy(b, "collapse:span:of:24:byte", 24);
	memset(b + 24, 'c', 5);
	b[24] = '0' + i;
	return 29;
}

static u32 rt_slice_key(u8 *b, u64 s)
{
	mtt_key64(b, s);
	return 8;
}

static u64 rt_parent_key(unsigned int leaf)
{
	return RT_BASE + 16 * (8 * leaf) + 4;
}

/*
 * Merge rounds: the split rounds' map, the second leaf (i = 8..15) down
 * to the rt_merge_src[] keys. Thread 0 erases the leftmost leaf's keys at
 * the positions of rt_merge_gone[], in that order: the first three slots
 * freed take the moved keys, and position 7 is where a search of the
 * leftmost leaf starts. Position RT_MERGE_STAYS stays. RT_MERGE_NEW is
 * thread 3's insert, in the right leaf's range.
 */
#define RT_MERGE_SRC_N	3
#define RT_MERGE_STAYS	10
#define RT_MERGE_NEW	(RT_BASE + 16 * 10 + 4)
#define RT_MS_READER	1
#define RT_MS_WINDOW	2
#define RT_MS_ERASED	4
#define RT_MS_INSERT	8
static const unsigned int rt_merge_src[RT_MERGE_SRC_N] = { 8, 12, 15 };
static const unsigned int rt_merge_gone[] = { 7, 0, 1, 3, 4, 5, 6, 8, 9, 11, 12, 13 };

static bool rt_merge_is_src(u64 s)
{
	unsigned int i;

	for (i = 0; i < RT_MERGE_SRC_N; i++)
		if (s == RT_BASE + 16 * rt_merge_src[i])
			return true;
	return false;
}

static bool rt_merge_is_gone(u64 s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rt_merge_gone); i++)
		if (s == RT_BASE + 8 * rt_merge_gone[i])
			return true;
	return false;
}

/*
 * Reuse rounds: one root leaf of RT_REUSE_N keys, RT_BASE + 16 * i. In
 * RT_REUSE thread 0 erases position RT_REUSE_GONE and inserts
 * RT_REUSE_NEW, above all, into the slot it freed (the only free one);
 * reader 1 seeks position RT_REUSE_SOUGHT on the permutation it held
 * across both, whose search starts at position 7. In RT_REFILL the key
 * at RT_REFILL_POS, erased at setup (its slot keeps its slice and
 * entry), is inserted again with RT_REFILL_NEW.
 */
#define RT_REUSE_N	15
#define RT_REUSE_GONE	7
#define RT_REUSE_SOUGHT	10
#define RT_REUSE_NEW	(RT_BASE + 16 * 100)
#define RT_REFILL_POS	14
#define RT_REFILL_NEW	8888
#define RT_RU_READER	1
#define RT_RU_REFILLED	2

/*
 * The bag round: the same leaf of 16-byte keys, the slice of
 * RT_BASE + 16 * i then RT_BAG_STABLE; at RT_BAG_POS, RT_BAG_GONE
 * (erased by thread 0) and RT_BAG_NEW (inserted into its slot, sought
 * by reader 1).
 */
#define RT_BAG_POS	10
#define RT_BAG_STABLE	0x5354424c00000000ULL
#define RT_BAG_GONE	0x474f4e4500000000ULL
#define RT_BAG_NEW	0x4e45570000000000ULL

static u32 rt_bag_key(u8 *b, unsigned int pos, u64 second)
{
	mtt_key64(b, RT_BASE + 16 * pos);
	mtt_key64(b + 8, second);
	return 16;
}

static void *rt_bag_entry(unsigned int pos, u64 second)
{
	return mtt_entry(RT_BASE + 16 * pos +
			 (second == RT_BAG_NEW ? 1 : second == RT_BAG_GONE ? 2 : 0));
}

/*
 * Busy-wait (node locks may be held, interrupts off) until @a moves past
 * @v0 by @by, or RT_HOLD_US passed. Returns whether it did.
 */
static bool rt_hold(atomic_long_t *a, long v0, long by)
{
	unsigned int us;

	for (us = 0; us < RT_HOLD_US; us++) {
		if (atomic_long_read(a) - v0 >= by)
			return true;
		udelay(1);
	}
	return atomic_long_read(a) - v0 >= by;
}

/*
 * Busy-wait up to @us microseconds (a held thread may hold node locks
 * with interrupts off: no sleeping) for @bit in @state.
 */
static bool rt_wait_bit(atomic_t *state, int bit, unsigned int us)
{
	while (us--) {
		if (atomic_read(state) & bit)
			return true;
		udelay(1);
	}
	return atomic_read(state) & bit;
}

static void rt_hook(enum masstree_test_hook_point where)
{
	struct rt_ctx *ctx = READ_ONCE(rt_cur);
	struct rt_thread *self;
	long w0, f0, r0;
	int k;

	if (!ctx || !READ_ONCE(ctx->hold))
		return;
	/* Only our own kthreads: the case's setup writes run freely. */
	/*
	 * Marked reads only until a window is held: a plain access here
	 * could take the place of the writer's own access that KCSAN's weak
	 * memory model holds back across the window (one at a time).
	 */
	for (self = ctx->th; self < ctx->th + RT_THREADS; self++)
		if (READ_ONCE(self->task) == current)
			break;
	if (self == ctx->th + RT_THREADS)
		return;
	k = READ_ONCE(ctx->kind);
	if (k == RT_FIRST && where == MASSTREE_HOOK_LOCK_LEAF) {
		atomic_long_inc(&ctx->found_root);
	} else if (k == RT_FIRST && where == MASSTREE_HOOK_NEW_ROOT) {
		/*
		 * Another writer can finish now only by writing beside us:
		 * wait for that, or the bound; met if one found the root.
		 */
		w0 = atomic_long_read(&ctx->writes_done);
		f0 = atomic_long_read(&ctx->found_root);
		r0 = atomic_long_read(&ctx->first_reads);
		atomic_long_inc(&ctx->held[k]);
		rt_hold(&ctx->writes_done, w0, 1);
		if (atomic_long_read(&ctx->found_root) != f0 ||
		    atomic_long_read(&ctx->first_reads) != r0)
			atomic_long_inc(&ctx->met[k]);
	} else if ((k == RT_LAYER_NEW || k == RT_LAYER_EMPTYING) &&
		   where == MASSTREE_HOOK_LOCK_LEAF) {
		/* The slot this writer found changes under it meanwhile. */
		w0 = atomic_long_read(&ctx->writes_done);
		atomic_long_inc(&ctx->held[k]);
		if (rt_hold(&ctx->writes_done, w0, 1))
			atomic_long_inc(&ctx->met[k]);
	} else if (k == RT_COLLAPSE && where == MASSTREE_HOOK_COLLAPSE) {
		/*
		 * Until a reader looked the survivor up through the old slot
		 * (the writers wait for the layer's lock meanwhile, and may
		 * keep the readers' CPU from them: some rounds suffice).
		 */
		long r0 = atomic_long_read(&ctx->reader_ops);

		atomic_set(&ctx->collapse_held, 1);
		atomic_long_inc(&ctx->held[k]);
		if (rt_hold(&ctx->reader_ops, r0, 1))
			atomic_long_inc(&ctx->met[k]);
	} else if (k == RT_PARENT && self->id == 0 &&
		   where == MASSTREE_HOOK_LOCK_PARENT) {
		/*
		 * The first call comes before the split found the per-CPU
		 * pool empty (the write starts over with its nodes): hold
		 * from the second, until the other writer's split of the root
		 * is done.
		 */
		if (++ctx->parent_calls < 2)
			return;
		w0 = atomic_long_read(&ctx->writes_done);
		atomic_set(&ctx->parent_held, 1);
		atomic_long_inc(&ctx->held[k]);
		if (rt_hold(&ctx->writes_done, w0, 1))
			atomic_long_inc(&ctx->met[k]);
	} else if (k == RT_MERGE_STALE && self->id == 1 &&
		   where == MASSTREE_HOOK_READ &&
		   !(atomic_read(&ctx->merge_state) & RT_MS_READER)) {
		/*
		 * The reader, in the leftmost leaf with its full permutation
		 * loaded: until the erases (and the merge) are done.
		 */
		atomic_or(RT_MS_READER, &ctx->merge_state);
		atomic_long_inc(&ctx->held[k]);
		if (rt_wait_bit(&ctx->merge_state, RT_MS_ERASED, RT_HOLD_US))
			atomic_long_inc(&ctx->met[k]);
	} else if (((k == RT_REUSE && where == MASSTREE_HOOK_READ) ||
		    (k == RT_BAG && where == MASSTREE_HOOK_VALIDATED)) &&
		   self->id == 1 &&
		   !(atomic_read(&ctx->reuse_state) & RT_RU_READER)) {
		/*
		 * RT_REUSE: the full permutation loaded, no slot read yet;
		 * RT_BAG: the slot read and validated. Until the erase and
		 * the insert that refills the slot are done.
		 */
		atomic_or(RT_RU_READER, &ctx->reuse_state);
		atomic_long_inc(&ctx->held[k]);
		if (rt_wait_bit(&ctx->reuse_state, RT_RU_REFILLED, RT_HOLD_US))
			atomic_long_inc(&ctx->met[k]);
	} else if (k == RT_REFILL && self->id == 0 && where == MASSTREE_HOOK_MARK) {
		/* Before the slot is written: two more lookups of the key. */
		r0 = atomic_long_read(&ctx->reader_ops);
		atomic_long_inc(&ctx->held[k]);
		if (rt_hold(&ctx->reader_ops, r0, 2))
			atomic_long_inc(&ctx->met[k]);
	} else if (k == RT_MERGE_WINDOW && self->id == 0 &&
		   where == MASSTREE_HOOK_MERGE) {
		/*
		 * Until the other CPU's reader found the moving keys twice,
		 * then thread 3's insert started (and had time to reach the
		 * right leaf's lock).
		 */
		unsigned int us;

		r0 = atomic_long_read(&ctx->reader_ops);
		atomic_or(RT_MS_WINDOW, &ctx->merge_state);
		atomic_long_inc(&ctx->held[k]);
		if (rt_hold(&ctx->reader_ops, r0, 2))
			atomic_long_inc(&ctx->met[k]);
		for (us = 0; us < RT_HOLD_US &&
		     !(atomic_read(&ctx->merge_state) & RT_MS_INSERT); us++)
			udelay(1);
		for (us = 0; us < 100; us++)
			udelay(1);
	} else if (k >= RT_SPLIT_LEAF && k <= RT_SPLIT_INODE_DIRTY && self->id == 0 &&
		   (where == MASSTREE_HOOK_MARK || where == MASSTREE_HOOK_DIRTY ||
		    where == MASSTREE_HOOK_SPLIT)) {
		if (where == MASSTREE_HOOK_SPLIT)
			ctx->after_split = true;
		else if (ctx->after_split)
			WRITE_ONCE(ctx->window, where == MASSTREE_HOOK_MARK ?
				   RT_W_INODE_MARK : RT_W_INODE_DIRTY);
		/* Two more lookups: one of them started inside the window. */
		r0 = atomic_long_read(&ctx->reader_ops);
		atomic_long_inc(&ctx->held[k]);
		if (rt_hold(&ctx->reader_ops, r0, 2))
			atomic_long_inc(&ctx->met[k]);
		WRITE_ONCE(ctx->window, 0);
	}
}

static void rt_insert(struct rt_thread *t, const u8 *key, u32 len, void *entry)
{
	int err = masstree_insert(&t->ctx->fx.mt, key, len, entry, GFP_KERNEL);

	if (err)
		t->errors++;
	atomic_long_inc(&t->ctx->writes_done);
}

/*
 * A split round's reader: the split leaf's keys up to the split point
 * (RT_SPLIT_LEAF: a left-half insert reuses the slot of the first key
 * that moves), or, only inside the internode window of its round kind,
 * the keys that move to the new leaf, and otherwise keys right of the
 * split, whose child index shifts (by load, and by cursor seek). A
 * lookup that reaches a dirty node spins there with preemption off, so
 * a reader must not start one that would hold its CPU through the
 * window it is there for.
 */
static void rt_split_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	struct masstree_cursor cur;
	unsigned long n = t->id;
	u8 key[8];
	void *got;
	int w;
	u64 s;

	masstree_cursor_init(&cur, &ctx->fx.mt, GFP_KERNEL);
	while (!atomic_read(&ctx->writer_done)) {
		w = READ_ONCE(ctx->window);
		if (ctx->kind == RT_SPLIT_LEAF)
			s = RT_BASE + 8 * (n % 8);
		else if ((ctx->kind == RT_SPLIT_INODE_MARK && w == RT_W_INODE_MARK) ||
			 (ctx->kind == RT_SPLIT_INODE_DIRTY && w == RT_W_INODE_DIRTY))
			s = RT_BASE + 8 * (7 + n % 8);
		else
			s = RT_BASE + 16 * (8 + n % (RT_SPLIT_N - 8));
		rt_slice_key(key, s);
		if (n % 4 == 3) {
			got = masstree_seek(&cur, key, 8);
			if (got == mtt_entry(s) && (masstree_cursor_len(&cur) != 8 ||
						    memcmp(masstree_cursor_key(&cur), key, 8)))
				got = NULL;
		} else {
			got = masstree_load(&ctx->fx.mt, key, 8);
		}
		/* The key is present throughout: any other answer is wrong. */
		if (got != mtt_entry(s) && !t->errors++)
			pr_err("masstree_races: reader %u, window %d: %s key %llu: entry %lu\n",
			       t->id, w, n % 4 == 3 ? "seek to" : "load of",
			       (unsigned long long)s, mtt_entry_value(got));
		n++;
		atomic_long_inc(&ctx->reader_ops);
		cond_resched();
	}
	masstree_cursor_fini(&cur);
}

/*
 * A collapse round's reader: thread 1 loads the survivor and its
 * neighbour (present throughout), thread 2 walks the map with a cursor
 * (each of them exactly once, each new key at most once).
 */
static void rt_collapse_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	struct masstree *mt = &ctx->fx.mt;
	struct masstree_cursor cur;
	u8 stays[RT_KLEN], key[RT_KLEN];
	unsigned int seen[RT_THREADS], i;
	u32 slen = rt_collapse_key(stays, RT_STAYS), len;
	void *got;

	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	while (!atomic_read(&ctx->writer_done)) {
		if (t->id == 1) {
			got = masstree_load(mt, stays, slen);
			if (got != mtt_entry(RT_STAYS) && !t->errors++)
				pr_err("masstree_races: the survivor: entry %lu\n",
				       mtt_entry_value(got));
			got = masstree_load(mt, "aaaa", 4);
			if (got != mtt_entry(100) && !t->errors++)
				pr_err("masstree_races: the neighbour: entry %lu\n",
				       mtt_entry_value(got));
		} else {
			memset(seen, 0, sizeof(seen));
			masstree_for_each(mt, &cur, got) {
				const u8 *k = masstree_cursor_key(&cur);

				len = masstree_cursor_len(&cur);
				if (len == 4 && !memcmp(k, "aaaa", 4))
					seen[0]++;
				else if (len == slen && !memcmp(k, stays, slen))
					seen[1]++;
				for (i = 3; i < RT_THREADS; i++)
					if (len == rt_collapse_key(key, i) &&
					    !memcmp(k, key, len))
						seen[i]++;
			}
			if ((cur.err || seen[0] != 1 || seen[1] != 1 ||
			     seen[3] > 1 || seen[4] > 1) && !t->errors++)
				pr_err("masstree_races: a walk saw the neighbour %u, the survivor %u, new keys %u %u times (err %d)\n",
				       seen[0], seen[1], seen[3], seen[4], cur.err);
		}
		atomic_long_inc(&ctx->reader_ops);
		cond_resched();
	}
	masstree_cursor_fini(&cur);
}

/*
 * A merge round's thread other than the eraser. Threads 1 and 3 share a
 * CPU, the other one than the eraser's, which holds its CPU in the merge
 * window: 1 looks up the key that stays (held once on the full leaf in a
 * stale round) or the moving keys, and counts its lookups; 3 inserts
 * RT_MERGE_NEW once the eraser is in the window (or will not be), then
 * walks the map with a cursor; 2 and 4 look up and walk.
 */
static void rt_merge_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	struct masstree *mt = &ctx->fx.mt;
	struct masstree_cursor cur;
	unsigned long n = t->id, seen;
	unsigned int us;
	long r0;
	u8 key[8];
	void *got;
	u64 s;

	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	if (t->id == 3) {
		/* Inside the window, once thread 1 had the CPU for it. */
		r0 = atomic_long_read(&ctx->reader_ops);
		for (us = 0; us < RT_HOLD_US &&
		     (!(atomic_read(&ctx->merge_state) & RT_MS_WINDOW) ||
		      atomic_long_read(&ctx->reader_ops) - r0 < 2); us++) {
			udelay(1);
			cond_resched();
		}
		atomic_or(RT_MS_INSERT, &ctx->merge_state);
		rt_insert(t, key, rt_slice_key(key, RT_MERGE_NEW),
			  mtt_entry(RT_MERGE_NEW));
	}
	do {
		if (t->id >= 3) {
			/* Every key that stays, exactly once. */
			seen = 0;
			masstree_for_each(mt, &cur, got) {
				s = get_unaligned_be64(masstree_cursor_key(&cur));
				if (!rt_merge_is_gone(s) && s != RT_MERGE_NEW)
					seen++;
			}
			if ((cur.err || seen != RT_SPLIT_N + RT_SPLIT_FILL -
			     (8 - RT_MERGE_SRC_N) - ARRAY_SIZE(rt_merge_gone)) &&
			    !t->errors++)
				pr_err("masstree_races: a walk saw %lu stable keys (err %d)\n",
				       seen, cur.err);
		} else {
			if (ctx->kind == RT_MERGE_STALE && t->id == 1)
				s = RT_BASE + 8 * RT_MERGE_STAYS;
			else
				s = RT_BASE + 16 * rt_merge_src[n % RT_MERGE_SRC_N];
			got = masstree_load(mt, key, rt_slice_key(key, s));
			if (got != mtt_entry(s) && !t->errors++)
				pr_err("masstree_races: merge reader %u: key %llu: entry %lu\n",
				       t->id, (unsigned long long)s,
				       mtt_entry_value(got));
			if (t->id == 1)
				atomic_long_inc(&ctx->reader_ops);
		}
		n++;
		cond_resched();
	} while (!atomic_read(&ctx->writer_done));
	masstree_cursor_fini(&cur);
}

/* A merge round's eraser: the leftmost leaf down to three keys. */
static void rt_merge_writer(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	unsigned int us, i;
	u8 key[8];
	u64 s;

	/* A stale round: once the reader holds the full permutation. */
	for (us = 0; ctx->kind == RT_MERGE_STALE && READ_ONCE(ctx->hold) &&
	     us < RT_HOLD_US &&
	     !(atomic_read(&ctx->merge_state) & RT_MS_READER); us++)
		udelay(1);
	for (i = 0; i < ARRAY_SIZE(rt_merge_gone); i++) {
		s = RT_BASE + 8 * rt_merge_gone[i];
		if (masstree_erase(&ctx->fx.mt, key, rt_slice_key(key, s)) !=
		    mtt_entry(s) && !t->errors++)
			pr_err("masstree_races: merge round: erase of %llu\n",
			       (unsigned long long)s);
	}
	atomic_or(RT_MS_ERASED, &ctx->merge_state);
	atomic_set(&ctx->writer_done, 1);
}

/*
 * The writer of the reuse and bag rounds: once reader 1 is held, erase
 * key @gone and insert @nk with @entry into the slot it freed (the only
 * free one).
 */
static void rt_refill_writer(struct rt_thread *t, const u8 *gone, u32 glen,
			     void *gentry, const u8 *nk, u32 nlen, void *entry)
{
	struct rt_ctx *ctx = t->ctx;

	rt_wait_bit(&ctx->reuse_state, RT_RU_READER, RT_HOLD_US);
	if (masstree_erase(&ctx->fx.mt, gone, glen) != gentry && !t->errors++)
		pr_err("masstree_races: refill round: erase of entry %lu\n",
		       mtt_entry_value(gentry));
	rt_insert(t, nk, nlen, entry);
	atomic_or(RT_RU_REFILLED, &ctx->reuse_state);
	atomic_set(&ctx->writer_done, 1);
}

/* A reuse round's writer: RT_REUSE_GONE out, RT_REUSE_NEW into its slot. */
static void rt_reuse_writer(struct rt_thread *t)
{
	u64 s = RT_BASE + 16 * RT_REUSE_GONE;
	u8 key[8], nkey[8];

	rt_refill_writer(t, key, rt_slice_key(key, s), mtt_entry(s), nkey,
			 rt_slice_key(nkey, RT_REUSE_NEW), mtt_entry(RT_REUSE_NEW));
}

/*
 * Reuse rounds' readers: reader 1's first lookup (RT_REUSE) is the held
 * one, of a key that stays; the others load stable keys (RT_REUSE) or
 * the key being inserted again (RT_REFILL: absent or its new entry, never
 * the erased one).
 */
static void rt_reuse_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	unsigned long n = t->id;
	void *got, *want;
	u8 key[8];
	u64 s;

	do {
		if (ctx->kind == RT_REFILL)
			s = RT_BASE + 16 * RT_REFILL_POS;
		else if (t->id == 1)
			s = RT_BASE + 16 * RT_REUSE_SOUGHT;
		else
			s = RT_BASE + 16 * (n * 3 % RT_REUSE_N);
		n++;
		if (ctx->kind == RT_REUSE && s == RT_BASE + 16 * RT_REUSE_GONE)
			continue;
		got = masstree_load(&ctx->fx.mt, key, rt_slice_key(key, s));
		want = ctx->kind == RT_REFILL ? mtt_entry(RT_REFILL_NEW) :
		       mtt_entry(s);
		if (got != want && (ctx->kind == RT_REUSE || got) &&
		    !t->errors++)
			pr_err("masstree_races: reuse reader %u: key %llu: entry %lu\n",
			       t->id, (unsigned long long)s, mtt_entry_value(got));
		atomic_long_inc(&ctx->reader_ops);
		cond_resched();
	} while (!atomic_read(&ctx->writer_done));
}

/*
 * The bag round: thread 0, once reader 1 holds its validated window,
 * erases RT_BAG_GONE and inserts RT_BAG_NEW into its slot; reader 1 seeks
 * RT_BAG_NEW (absent, or with its entry: never RT_BAG_GONE's), readers 2
 * and 3 the stable keys.
 */
static void rt_bag_writer(struct rt_thread *t)
{
	u8 key[16], nkey[16];

	rt_refill_writer(t, key, rt_bag_key(key, RT_BAG_POS, RT_BAG_GONE),
			 rt_bag_entry(RT_BAG_POS, RT_BAG_GONE), nkey,
			 rt_bag_key(nkey, RT_BAG_POS, RT_BAG_NEW),
			 rt_bag_entry(RT_BAG_POS, RT_BAG_NEW));
}

static void rt_bag_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	unsigned long n = t->id;
	unsigned int pos;
	void *got, *want;
	u8 key[16];

	do {
		pos = n * 3 % RT_REUSE_N;
		n++;
		if (t->id == 1) {
			want = rt_bag_entry(RT_BAG_POS, RT_BAG_NEW);
			got = masstree_load(&ctx->fx.mt, key,
					    rt_bag_key(key, RT_BAG_POS, RT_BAG_NEW));
			if (got && got != want && !t->errors++)
				pr_err("masstree_races: bag reader: new key: entry %lu (%s)\n",
				       mtt_entry_value(got),
				       got == rt_bag_entry(RT_BAG_POS, RT_BAG_GONE) ?
				       "the erased key's" : "?");
		} else if (pos != RT_BAG_POS) {
			want = rt_bag_entry(pos, RT_BAG_STABLE);
			got = masstree_load(&ctx->fx.mt, key,
					    rt_bag_key(key, pos, RT_BAG_STABLE));
			if (got != want && !t->errors++)
				pr_err("masstree_races: bag reader %u: key %u: entry %lu\n",
				       t->id, pos, mtt_entry_value(got));
		}
		atomic_long_inc(&ctx->reader_ops);
		cond_resched();
	} while (!atomic_read(&ctx->writer_done));
}

static u64 rt_obj_word(u64 seq, u64 key, unsigned int i)
{
	return (seq * 0x9e3779b97f4a7c15ULL) ^ (key << 56) ^ i;
}

/* The store rounds' key of writer @k. */
static u32 rt_store_key(u8 *b, unsigned int k)
{
	return rt_slice_key(b, 7000 + k);
}

/*
 * Fill a new entry. Inlined on purpose: KCSAN holds a plain access back
 * only within the function that made it, and this fill must still be in
 * that function's scope when the caller publishes the entry.
 */
static __always_inline void rt_obj_fill(struct rt_obj *o, u64 seq, u64 key)
{
	unsigned int i;

	o->seq = seq;
	o->key = key;
	for (i = 0; i < RT_STORE_WORDS; i++)
		o->word[i] = rt_obj_word(seq, key, i);
}

static bool rt_obj_ok(const struct rt_obj *o, u64 key)
{
	unsigned int i;

	if (!o || o->key != key)
		return false;
	for (i = 0; i < RT_STORE_WORDS; i++)
		if (o->word[i] != rt_obj_word(o->seq, key, i))
			return false;
	return true;
}

/* A store round's writer: fresh entries for its key, the old ones freed. */
static void rt_store_writer(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	struct rt_obj *o, *old;
	unsigned int i;
	u8 key[8];
	u32 len;

	len = rt_store_key(key, t->id);
	for (i = 1; i <= RT_STORE_OPS; i++) {
		o = kmalloc(sizeof(*o), GFP_KERNEL);
		if (!o) {
			t->errors++;
			break;
		}
		rt_obj_fill(o, i, t->id);
		old = masstree_store(&ctx->fx.mt, key, len, o, GFP_KERNEL);
		if (masstree_is_err(old) || !rt_obj_ok(old, t->id) || old->seq != i - 1) {
			if (!t->errors++)
				pr_err("masstree_races: writer %u, store %u: replaced %s\n",
				       t->id, i, masstree_is_err(old) ? "an error" :
				       old ? "a torn or foreign entry" : "nothing");
			if (masstree_is_err(old))
				break;
		}
		if (old && !masstree_is_err(old))
			kfree_rcu(old, rcu);
		atomic_long_inc(&ctx->writes_done);
		ctx->wval[t->id] = o;
		cond_resched();
	}
	/* Readers may stop: every entry they will see was stored. */
	smp_mb__before_atomic();
	atomic_inc(&ctx->stores_done);
}

/* A store round's reader: every entry it finds is whole. */
static void rt_store_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	struct rt_obj *o;
	unsigned int k = t->id % RT_STORE_WRITERS;
	u8 key[8];
	u32 len;
	u64 seq;

	while (atomic_read(&ctx->stores_done) < RT_STORE_WRITERS) {
		len = rt_store_key(key, k);
		rcu_read_lock();
		o = masstree_load(&ctx->fx.mt, key, len);
		seq = o ? o->seq : 0;
		if (!rt_obj_ok(o, k) && !t->errors++)
			pr_err("masstree_races: reader %u: key %u holds %s\n",
			       t->id, k, o ? "a torn entry" : "nothing");
		rcu_read_unlock();
		/* Met: an entry a writer stored while this round ran. */
		if (seq)
			atomic_long_inc(&ctx->met[RT_STORE]);
		atomic_long_inc(&ctx->reader_ops);
		k = (k + 1) % RT_STORE_WRITERS;
		cond_resched();
	}
}

/*
 * A first-insert round's reader: looks the writers' keys up until they
 * are all in, through the root the first of them publishes. Each answer
 * is the key's entry or nothing.
 */
static void rt_first_reader(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	u8 key[RT_KLEN];
	unsigned int k = 0;
	void *got;
	u32 len;

	while (atomic_read(&ctx->first_done) < RT_FIRST_WRITERS) {
		len = rt_first_key(key, k);
		got = masstree_load(&ctx->fx.mt, key, len);
		if (got && got != mtt_entry(k) && !t->errors++)
			pr_err("masstree_races: reader %u: key %u holds %p\n",
			       t->id, k, got);
		atomic_long_inc(&ctx->first_reads);
		k = (k + 1) % RT_FIRST_WRITERS;
		cpu_relax();
	}
}

static void rt_round(struct rt_thread *t)
{
	struct rt_ctx *ctx = t->ctx;
	struct masstree *mt = &ctx->fx.mt;
	u8 key[RT_KLEN];
	u32 len;

	switch (ctx->kind) {
	case RT_FIRST:
		if (t->id >= RT_FIRST_WRITERS) {
			rt_first_reader(t);
			break;
		}
		len = rt_first_key(key, t->id);
		rt_insert(t, key, len, mtt_entry(t->id));
		atomic_inc(&ctx->first_done);
		break;
	case RT_LAYER_NEW:
		len = rt_layer_key(key, t->id, ctx->deep);
		rt_insert(t, key, len, mtt_entry(t->id));
		break;
	case RT_LAYER_EMPTYING:
		if (t->id == 0) {
			len = rt_layer_key(key, 9, ctx->deep);
			if (masstree_erase(mt, key, len) != mtt_entry(9))
				t->errors++;
			atomic_long_inc(&ctx->writes_done);
		} else {
			len = rt_layer_key(key, t->id, ctx->deep);
			rt_insert(t, key, len, mtt_entry(t->id));
		}
		break;
	case RT_COLLAPSE:
		if (t->id == 0) {
			len = rt_collapse_key(key, RT_GONE);
			if (masstree_erase(mt, key, len) != mtt_entry(RT_GONE))
				t->errors++;
			/* Once the two writers are done too, readers stop. */
			while (atomic_long_read(&ctx->writes_done) <
			       ctx->collapse_writes)
				cond_resched();
			atomic_set(&ctx->writer_done, 1);
		} else if (t->id <= 2) {
			rt_collapse_reader(t);
		} else {
			unsigned int us;

			for (us = 0; us < RT_HOLD_US &&
			     !atomic_read(&ctx->collapse_held); us++)
				udelay(1);
			len = rt_collapse_key(key, t->id);
			rt_insert(t, key, len, mtt_entry(t->id));
		}
		break;
	case RT_STORE:
		if (t->id < RT_STORE_WRITERS)
			rt_store_writer(t);
		else
			rt_store_reader(t);
		break;
	case RT_PARENT:
		if (t->id == 0) {
			len = rt_slice_key(key, rt_parent_key(RT_PARENT_A));
			rt_insert(t, key, len, mtt_entry(rt_parent_key(RT_PARENT_A)));
		} else if (t->id == 1) {
			unsigned int us;

			/* Once thread 0 is held (or it never will be). */
			for (us = 0; us < RT_HOLD_US &&
			     !atomic_read(&ctx->parent_held); us++)
				udelay(1);
			len = rt_slice_key(key, rt_parent_key(RT_PARENT_B));
			rt_insert(t, key, len, mtt_entry(rt_parent_key(RT_PARENT_B)));
		}
		break;
	case RT_MERGE_STALE:
	case RT_MERGE_WINDOW:
		if (t->id == 0)
			rt_merge_writer(t);
		else
			rt_merge_reader(t);
		break;
	case RT_REUSE:
		if (t->id == 0)
			rt_reuse_writer(t);
		else if (t->id <= 3)
			rt_reuse_reader(t);
		break;
	case RT_BAG:
		if (t->id == 0)
			rt_bag_writer(t);
		else if (t->id <= 3)
			rt_bag_reader(t);
		break;
	case RT_REFILL:
		if (t->id == 0) {
			len = rt_slice_key(key, RT_BASE + 16 * RT_REFILL_POS);
			rt_insert(t, key, len, mtt_entry(RT_REFILL_NEW));
			atomic_set(&ctx->writer_done, 1);
		} else if (t->id <= 3) {
			rt_reuse_reader(t);
		}
		break;
	default:
		if (t->id == 0) {
			len = rt_slice_key(key, RT_BASE - 1);
			rt_insert(t, key, len, mtt_entry(RT_BASE - 1));
			atomic_set(&ctx->writer_done, 1);
		} else {
			rt_split_reader(t);
		}
		break;
	}
}

/*
 * Two kthreads for a held-window case, @fn0 bound to the first online CPU
 * and @fn1 to the second, each with a reference taken (put it after
 * kthread_stop()), not yet woken. Fails the case and returns false if
 * either cannot be created.
 */
static bool rt_create_pair(struct kunit *test, int (*fn0)(void *),
			   int (*fn1)(void *), void *arg, const char *name,
			   struct task_struct *t[2])
{
	unsigned int i;

	t[0] = kthread_create(fn0, arg, "%s/0", name);
	if (IS_ERR(t[0])) {
		KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(t[0]));
		return false;
	}
	t[1] = kthread_create(fn1, arg, "%s/1", name);
	if (IS_ERR(t[1])) {
		kthread_stop(t[0]);
		KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(t[1]));
		return false;
	}
	for (i = 0; i < 2; i++) {
		kthread_bind(t[i], cpumask_nth(i, cpu_online_mask));
		get_task_struct(t[i]);
	}
	return true;
}

/*
 * Wake a pair from rt_create_pair() (the second first), wait until each
 * has signalled its @done, then stop them and drop the references.
 */
static void rt_run_pair(struct task_struct *t[2], struct completion done[2])
{
	unsigned int i;

	wake_up_process(t[1]);
	wake_up_process(t[0]);
	for (i = 0; i < 2; i++) {
		wait_for_completion(&done[i]);
		kthread_stop(t[i]);
		put_task_struct(t[i]);
	}
}

static int rt_threadfn(void *arg)
{
	struct rt_thread *t = arg;
	struct rt_ctx *ctx = t->ctx;
	int g = 0;

	for (;;) {
		wait_event(ctx->wq, atomic_read(&ctx->gen) != g);
		/* The case waits for every thread before the next round. */
		g = atomic_read(&ctx->gen);
		if (g < 0)
			break;
		/*
		 * All arrive, then all go at once (those that have a CPU; the
		 * others get one at the next tick).
		 */
		atomic_inc(&ctx->arrived);
		while (atomic_read(&ctx->arrived) < RT_THREADS)
			cpu_relax();
		rt_round(t);
		t->rounds++;
		/* The case reads what the round wrote once it sees this. */
		smp_mb__before_atomic();
		atomic_inc(&ctx->done);
		wake_up_all(&ctx->wq);
	}
	mtt_park();
	return 0;
}

static void rt_want(struct rt_ctx *ctx, const u8 *key, u32 len, void *entry)
{
	memcpy(ctx->want[ctx->nwant], key, len);
	ctx->wlen[ctx->nwant] = len;
	ctx->wval[ctx->nwant++] = entry;
}

static void rt_put(struct kunit *test, struct rt_ctx *ctx, const u8 *key,
		   u32 len, void *entry)
{
	KUNIT_EXPECT_EQ(test, masstree_insert(&ctx->fx.mt, key, len, entry,
					      GFP_KERNEL), 0);
	rt_want(ctx, key, len, entry);
}

static void rt_setup(struct kunit *test, struct rt_ctx *ctx)
{
	struct masstree *mt = &ctx->fx.mt;
	u8 key[RT_KLEN];
	unsigned int i;
	u32 len;

	ctx->nwant = 0;
	switch (ctx->kind) {
	case RT_FIRST:
		for (i = 0; i < RT_FIRST_WRITERS; i++)
			rt_want(ctx, key, rt_first_key(key, i), mtt_entry(i));
		break;
	case RT_LAYER_NEW:
		/* A neighbour, and the key whose slot turns into the layer. */
		rt_put(test, ctx, "aaaa", 4, mtt_entry(100));
		len = rt_layer_key(key, 8, ctx->deep);
		rt_put(test, ctx, key, len, mtt_entry(8));
		for (i = 0; i < RT_THREADS; i++)
			rt_want(ctx, key, rt_layer_key(key, i, ctx->deep), mtt_entry(i));
		break;
	case RT_LAYER_EMPTYING:
		/*
		 * A layer (or chain of two) down to its last key, 9: the
		 * erase's fold fails, so the layer stays.
		 */
		rt_put(test, ctx, "aaaa", 4, mtt_entry(100));
		len = rt_layer_key(key, 9, ctx->deep);
		KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len, mtt_entry(9),
						      GFP_KERNEL), 0);
		len = rt_layer_key(key, 8, ctx->deep);
		KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len, mtt_entry(8),
						      GFP_KERNEL), 0);
		masstree_fail_nth(1);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, len), mtt_entry(8));
		KUNIT_EXPECT_EQ(test, masstree_fail_nth_left(), 0U);
		masstree_fail_nth(0);
		for (i = 1; i < RT_THREADS; i++)
			rt_want(ctx, key, rt_layer_key(key, i, ctx->deep), mtt_entry(i));
		break;
	case RT_COLLAPSE:
		rt_put(test, ctx, "aaaa", 4, mtt_entry(100));
		len = rt_collapse_key(key, RT_STAYS);
		rt_put(test, ctx, key, len, mtt_entry(RT_STAYS));
		len = rt_collapse_key(key, RT_GONE);
		KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len, mtt_entry(RT_GONE),
						      GFP_KERNEL), 0);
		for (i = 3; i < RT_THREADS; i++)
			rt_want(ctx, key, rt_collapse_key(key, i), mtt_entry(i));
		ctx->collapse_writes = atomic_long_read(&ctx->writes_done) + 2;
		break;
	case RT_STORE:
		for (i = 0; i < RT_STORE_WRITERS; i++) {
			struct rt_obj *o = kmalloc(sizeof(*o), GFP_KERNEL);

			KUNIT_ASSERT_NOT_NULL(test, o);
			rt_obj_fill(o, 0, i);
			rt_put(test, ctx, key, rt_store_key(key, i), o);
		}
		break;
	case RT_PARENT:
		for (i = 0; i < RT_PARENT_N; i++)
			rt_put(test, ctx, key, rt_slice_key(key, RT_BASE + 16 * i),
			       mtt_entry(RT_BASE + 16 * i));
		for (i = 0; i < 7; i++) {
			u64 a = RT_BASE + 16 * (8 * RT_PARENT_A + i) + 8;
			u64 b = RT_BASE + 16 * (8 * RT_PARENT_B + i) + 8;

			rt_put(test, ctx, key, rt_slice_key(key, a), mtt_entry(a));
			rt_put(test, ctx, key, rt_slice_key(key, b), mtt_entry(b));
		}
		rt_want(ctx, key, rt_slice_key(key, rt_parent_key(RT_PARENT_A)),
			mtt_entry(rt_parent_key(RT_PARENT_A)));
		rt_want(ctx, key, rt_slice_key(key, rt_parent_key(RT_PARENT_B)),
			mtt_entry(rt_parent_key(RT_PARENT_B)));
		/*
		 * Empty per-CPU pools (no thread writes yet): thread 0's split
		 * starts over once, always at the same point.
		 */
		mst_preload_drain();
		break;
	case RT_MERGE_STALE:
	case RT_MERGE_WINDOW:
		for (i = 0; i < RT_SPLIT_N + RT_SPLIT_FILL; i++) {
			u64 s = i < RT_SPLIT_N ? RT_BASE + 16 * i :
				RT_BASE + 16 * (i - RT_SPLIT_N) + 8;

			KUNIT_EXPECT_EQ(test, masstree_insert(mt, key,
							      rt_slice_key(key, s),
							      mtt_entry(s), GFP_KERNEL), 0);
		}
		/* The second leaf down to its three keys: no merge yet. */
		for (i = 8; i < 16; i++) {
			u64 s = RT_BASE + 16 * i;

			if (!rt_merge_is_src(s))
				KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key,
									 rt_slice_key(key, s)),
						    mtt_entry(s));
		}
		KUNIT_EXPECT_EQ(test, mst_stat_read(mt, MST_STAT_LEAVES),
				(long)RT_SPLIT_N / 8);
		for (i = 0; i < RT_SPLIT_N + RT_SPLIT_FILL; i++) {
			u64 s = i < RT_SPLIT_N ? RT_BASE + 16 * i :
				RT_BASE + 16 * (i - RT_SPLIT_N) + 8;

			if ((i < 8 || i >= 16 || rt_merge_is_src(s)) &&
			    !rt_merge_is_gone(s))
				rt_want(ctx, key, rt_slice_key(key, s), mtt_entry(s));
		}
		rt_want(ctx, key, rt_slice_key(key, RT_MERGE_NEW),
			mtt_entry(RT_MERGE_NEW));
		break;
	case RT_REUSE:
	case RT_REFILL: {
		unsigned int gone = ctx->kind == RT_REUSE ? RT_REUSE_GONE :
				    RT_REFILL_POS;
		u64 g = RT_BASE + 16 * gone;

		/* A full root leaf: an erase frees its only free slot. */
		for (i = 0; i < RT_REUSE_N; i++) {
			u64 s = RT_BASE + 16 * i;

			KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, rt_slice_key(key, s),
							      mtt_entry(s), GFP_KERNEL), 0);
			if (i != gone)
				rt_want(ctx, key, rt_slice_key(key, s), mtt_entry(s));
		}
		KUNIT_EXPECT_EQ(test, mst_stat_read(mt, MST_STAT_LEAVES), 1L);
		if (ctx->kind == RT_REUSE) {
			rt_want(ctx, key, rt_slice_key(key, RT_REUSE_NEW),
				mtt_entry(RT_REUSE_NEW));
			break;
		}
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, rt_slice_key(key, g)),
				    mtt_entry(g));
		rt_want(ctx, key, rt_slice_key(key, g), mtt_entry(RT_REFILL_NEW));
		break;
	}
	case RT_BAG:
		/* A full root leaf of keys that end in its bag. */
		for (i = 0; i < RT_REUSE_N; i++) {
			u64 second = i == RT_BAG_POS ? RT_BAG_GONE : RT_BAG_STABLE;
			u32 len = rt_bag_key(key, i, second);

			KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len,
							      rt_bag_entry(i, second),
							      GFP_KERNEL), 0);
			if (i != RT_BAG_POS)
				rt_want(ctx, key, len, rt_bag_entry(i, second));
		}
		KUNIT_EXPECT_EQ(test, mst_stat_read(mt, MST_STAT_LEAVES), 1L);
		rt_want(ctx, key, rt_bag_key(key, RT_BAG_POS, RT_BAG_NEW),
			rt_bag_entry(RT_BAG_POS, RT_BAG_NEW));
		break;
	default:
		/*
		 * In order: five leaves of eight under the root internode;
		 * then the leftmost leaf filled up to 15 keys, its key at
		 * position p being RT_BASE + 8 * p.
		 */
		for (i = 0; i < RT_SPLIT_N; i++)
			rt_put(test, ctx, key, rt_slice_key(key, RT_BASE + 16 * i),
			       mtt_entry(RT_BASE + 16 * i));
		for (i = 0; i < RT_SPLIT_FILL; i++)
			rt_put(test, ctx, key, rt_slice_key(key, RT_BASE + 16 * i + 8),
			       mtt_entry(RT_BASE + 16 * i + 8));
		rt_want(ctx, key, rt_slice_key(key, RT_BASE - 1),
			mtt_entry(RT_BASE - 1));
		break;
	}
}

/*
 * The map holds exactly the wanted keys; its statistics are exact.
 * Returns false at the first difference (reported).
 */
static bool rt_check_map(struct kunit *test, struct rt_ctx *ctx)
{
	struct masstree *mt = &ctx->fx.mt;
	struct masstree_cursor cur;
	struct masstree_stats st;
	unsigned long walked = 0;
	unsigned int i;
	void *got;
	long sfx;
	int err;

	for (i = 0; i < ctx->nwant; i++) {
		got = masstree_load(mt, ctx->want[i], ctx->wlen[i]);
		if (got != ctx->wval[i]) {
			KUNIT_FAIL(test, "key %u (len %u): entry %lu, expected %lu",
				   i, ctx->wlen[i], mtt_entry_value(got),
				   mtt_entry_value(ctx->wval[i]));
			return false;
		}
	}
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	masstree_for_each(mt, &cur, got)
		walked++;
	masstree_cursor_fini(&cur);
	masstree_get_stats(mt, &st);
	sfx = mst_stat_read(mt, MST_STAT_SUFFIX_BYTES);
	if (walked != ctx->nwant || st.keys != walked) {
		KUNIT_FAIL(test, "a cursor walk found %lu keys, stats %lu, expected %u",
			   walked, st.keys, ctx->nwant);
		return false;
	}
	err = masstree_validate(mt);
	if (err) {
		KUNIT_FAIL(test, "masstree_validate(): %d", err);
		return false;
	}
	/* validate() == 0: the counters are what the map holds. */
	if (st.bytes != (st.leaves + st.internodes) * MST_NODE_BYTES + sfx) {
		KUNIT_FAIL(test, "stats: %lu bytes; %lu nodes and %ld suffix bytes",
			   st.bytes, st.leaves + st.internodes, sfx);
		return false;
	}
	return true;
}

/* Take a store round's entries out of the map and free them. */
static void rt_store_free(struct rt_ctx *ctx)
{
	struct rt_obj *o;
	unsigned int i;

	for (i = 0; i < ctx->nwant; i++) {
		o = masstree_erase(&ctx->fx.mt, ctx->want[i], ctx->wlen[i]);
		if (o && !masstree_is_err(o))
			kfree_rcu(o, rcu);
	}
}

/* Erase the last round's keys: the map is empty, but not destroyed. */
static void rt_erase_all(struct kunit *test, struct rt_ctx *ctx)
{
	struct masstree_stats st;
	unsigned int i;

	for (i = 0; i < ctx->nwant; i++)
		masstree_erase(&ctx->fx.mt, ctx->want[i], ctx->wlen[i]);
	masstree_get_stats(&ctx->fx.mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys + st.leaves + st.internodes + st.layers +
			st.bytes, 0UL);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(ctx->fx.mt.root));
}

/* The nodes still allocated are the map's (none once it is destroyed). */
static void rt_expect_nodes(struct kunit *test, struct rt_ctx *ctx)
{
	struct masstree_stats st;
	struct mst_node_stats now;

	masstree_get_stats(&ctx->fx.mt, &st);
	mtt_settled_nodes(&now);
	KUNIT_EXPECT_EQ(test, now.leaves - ctx->fx.nodes.leaves, (long)st.leaves);
	KUNIT_EXPECT_EQ(test, now.internodes - ctx->fx.nodes.internodes,
			(long)st.internodes);
}

static bool rt_all_met(struct rt_ctx *ctx, const int *kinds,
		       unsigned int nkinds)
{
	unsigned int i;

	for (i = 0; i < nkinds; i++)
		if (!atomic_long_read(&ctx->met[kinds[i]]))
			return false;
	return true;
}

/*
 * Run @rounds rounds cycling through the kinds @kinds, holding windows
 * every other pass through them (pure races in between); split rounds
 * always hold.
 */
static void rt_run(struct kunit *test, const int *kinds, unsigned int nkinds,
		   unsigned int rounds)
{
	struct rt_ctx *ctx = test->priv;
	unsigned int i, r, started = 0;
	bool ok = true;

	init_waitqueue_head(&ctx->wq);
	atomic_set(&ctx->gen, 0);
	WRITE_ONCE(rt_cur, ctx);
	WRITE_ONCE(masstree_test_hook, rt_hook);
	for (i = 0; i < RT_THREADS; i++) {
		struct rt_thread *t = &ctx->th[i];

		t->ctx = ctx;
		t->id = i;
		t->task = kthread_create(rt_threadfn, t, "masstree_rt/%u", i);
		if (IS_ERR(t->task)) {
			KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(t->task));
			break;
		}
		/*
		 * Spread over the CPUs: a held writer keeps its CPU with
		 * interrupts off, so the threads that must act inside its
		 * window have to be on another one. Thread 0, the split
		 * rounds' writer, and reader 1 are on different CPUs.
		 */
		kthread_bind(t->task, cpumask_nth(i % num_online_cpus(),
						  cpu_online_mask));
		get_task_struct(t->task);
		wake_up_process(t->task);
		started++;
	}
	/*
	 * On a loaded host a vCPU may sit out whole windows: go on, up to
	 * four times as long, until every kind of window was met.
	 */
	for (r = 0; ok && started == RT_THREADS &&
	     (r < rounds || (r < 4 * rounds && !rt_all_met(ctx, kinds, nkinds)));
	     r++) {
		ctx->kind = kinds[r % nkinds];
		ctx->deep = (r / nkinds) % 2;
		/*
		 * The last round's map stays for rt_expect_nodes(). Every
		 * other round the map is erased empty instead of destroyed:
		 * it keeps its per-CPU counters, whose allocation (under a
		 * mutex) otherwise spreads the first writers apart.
		 */
		if (r % 2)
			rt_erase_all(test, ctx);
		else
			masstree_destroy(&ctx->fx.mt);
		rt_setup(test, ctx);
		WRITE_ONCE(ctx->hold, ctx->kind == RT_STORE ? false :
			   ctx->kind >= RT_SPLIT_LEAF || (r / nkinds / 2) % 2 == 0);
		atomic_set(&ctx->collapse_held, 0);
		ctx->parent_calls = 0;
		atomic_set(&ctx->parent_held, 0);
		atomic_set(&ctx->merge_state, 0);
		atomic_set(&ctx->reuse_state, 0);
		ctx->after_split = false;
		WRITE_ONCE(ctx->window, 0);
		atomic_set(&ctx->arrived, 0);
		atomic_set(&ctx->done, 0);
		atomic_set(&ctx->writer_done, 0);
		atomic_set(&ctx->stores_done, 0);
		atomic_set(&ctx->first_done, 0);
		/* The threads read the round's setup once they see this. */
		atomic_set_release(&ctx->gen, r + 1);
		wake_up_all(&ctx->wq);
		wait_event(ctx->wq, atomic_read(&ctx->done) == RT_THREADS);
		WRITE_ONCE(ctx->hold, false);
		ok = rt_check_map(test, ctx);
		if (ctx->kind == RT_STORE)
			rt_store_free(ctx);
	}
	/* Threads that never ran a round would make the rounds vacuous. */
	atomic_set(&ctx->gen, -1);
	wake_up_all(&ctx->wq);
	for (i = 0; i < started; i++) {
		struct rt_thread *t = &ctx->th[i];

		/* A round waits for every thread: they all ran every round. */
		KUNIT_EXPECT_EQ(test, t->rounds, (unsigned long)r);
		KUNIT_EXPECT_EQ(test, t->errors, 0UL);
		kthread_stop(t->task);
		put_task_struct(t->task);
	}
	WRITE_ONCE(masstree_test_hook, NULL);
	WRITE_ONCE(rt_cur, NULL);
	synchronize_rcu();
	kunit_info(test, "%u rounds", r);
	rt_expect_nodes(test, ctx);
	for (i = 0; i < nkinds; i++) {
		int k = kinds[i];

		kunit_info(test, "kind %d: %ld windows held, %ld met", k,
			   atomic_long_read(&ctx->held[k]),
			   atomic_long_read(&ctx->met[k]));
		/* A window no other thread entered tested nothing. */
		if (ok)
			KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->met[k]), 0L);
	}
}

static void masstree_races_first_insert_into_empty_map(struct kunit *test)
{
	static const int kinds[] = { RT_FIRST };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_ROUNDS);
}

/*
 * The first root's publication, alone and many times: a writer on one CPU
 * inserts the first key of an empty map and is held just after publishing
 * the root (MASSTREE_HOOK_NEW_ROOT), while a writer bound to another CPU,
 * which waited for the root to appear, inserts its key beside it and
 * spins on the root's lock. On the strict KCSAN kernel a publication
 * without release lets the weak memory model hold the store of the root's
 * lock bit back past the pointer, and the second writer's loads of the
 * version meet it. The model watches one access in a few, so the store
 * must be watched in some round: short rounds, many of them. The rounds
 * of masstree_races_first_insert_into_empty_map() are too few for that.
 */
#define RP_ROUNDS	(IS_ENABLED(CONFIG_KCSAN) ? 200 : 400)
/* Hold until the second writer arrived, then this much longer. */
#define RP_HOLD_US	2000
#define RP_TAIL_US	200

/**
 * struct rp_ctx - the root-publication case.
 * @mt: the map.
 * @first: the writer that inserts the first key of each round.
 * @second: the writer that inserts beside it.
 * @gen: rounds the first writer started.
 * @done: rounds the second writer finished.
 * @stop: the rounds are over.
 * @arrived: the second writer's LOCK_LEAF hook calls.
 * @held: first-root windows held.
 * @met: held windows the second writer reached its leaf lock in.
 * @errors: wrong answers.
 */
struct rp_ctx {
	struct masstree *mt;
	struct task_struct *first;
	struct task_struct *second;
	atomic_t gen;
	atomic_t done;
	atomic_t stop;
	atomic_long_t arrived;
	atomic_long_t held;
	atomic_long_t met;
	atomic_long_t errors;
};

static struct rp_ctx *rp_cur;

static u32 rp_key(u8 *b, unsigned int round, bool second)
{
	/* Short and long (suffixed) keys in turn. */
	u32 len = round % 2 ? 4 : 13;

	memset(b, second ? 'b' : 'a', len);
	return len;
}

static void rp_hook(enum masstree_test_hook_point where)
{
	struct rp_ctx *ctx = READ_ONCE(rp_cur);
	unsigned int us;
	long a0;

	if (!ctx)
		return;
	if (where == MASSTREE_HOOK_LOCK_LEAF && current == READ_ONCE(ctx->second)) {
		atomic_long_inc(&ctx->arrived);
		return;
	}
	if (where != MASSTREE_HOOK_NEW_ROOT || current != READ_ONCE(ctx->first))
		return;
	/* Marked accesses only: a plain one could replace the held-back store. */
	a0 = atomic_long_read(&ctx->arrived);
	atomic_long_inc(&ctx->held);
	for (us = 0; us < RP_HOLD_US && atomic_long_read(&ctx->arrived) == a0; us++)
		udelay(1);
	if (atomic_long_read(&ctx->arrived) == a0)
		return;
	atomic_long_inc(&ctx->met);
	for (us = 0; us < RP_TAIL_US; us++) {
		atomic_long_read(&ctx->arrived);
		udelay(1);
	}
}

static void rp_expect(struct rp_ctx *ctx, unsigned int r, bool second)
{
	u8 key[16];
	u32 len = rp_key(key, r, second);

	if (masstree_load(ctx->mt, key, len) != mtt_entry(2 * r + second)) {
		atomic_long_inc(&ctx->errors);
		pr_err("masstree_races: root round %u: key %c missing\n", r,
		       second ? 'b' : 'a');
	}
}

static int rp_first_fn(void *arg)
{
	struct rp_ctx *ctx = arg;
	unsigned int r;
	u8 key[16];
	u32 len;

	for (r = 0; r < RP_ROUNDS; r++) {
		atomic_set_release(&ctx->gen, r + 1);
		len = rp_key(key, r, false);
		if (masstree_insert(ctx->mt, key, len, mtt_entry(2 * r), GFP_KERNEL))
			atomic_long_inc(&ctx->errors);
		while (atomic_read_acquire(&ctx->done) <= r)
			cond_resched();
		rp_expect(ctx, r, false);
		rp_expect(ctx, r, true);
		masstree_erase(ctx->mt, key, len);
		len = rp_key(key, r, true);
		masstree_erase(ctx->mt, key, len);
		if (rcu_access_pointer(ctx->mt->root))
			atomic_long_inc(&ctx->errors);
	}
	atomic_set(&ctx->stop, 1);
	mtt_park();
	return 0;
}

static int rp_second_fn(void *arg)
{
	struct rp_ctx *ctx = arg;
	unsigned long end;
	unsigned int r;
	u8 key[16];
	u32 len;

	for (r = 0; r < RP_ROUNDS; r++) {
		while (atomic_read_acquire(&ctx->gen) <= r)
			cond_resched();
		/* Until the first writer's root is there (bounded: it may fail). */
		end = jiffies + HZ;
		while (!rcu_access_pointer(ctx->mt->root) && time_before(jiffies, end))
			cpu_relax();
		len = rp_key(key, r, true);
		if (masstree_insert(ctx->mt, key, len, mtt_entry(2 * r + 1), GFP_KERNEL))
			atomic_long_inc(&ctx->errors);
		atomic_set_release(&ctx->done, r + 1);
	}
	mtt_park();
	return 0;
}

static void masstree_races_first_root_publication(struct kunit *test)
{
	struct rt_ctx *rt = test->priv;
	struct rp_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct task_struct *t[2];
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs: the held writer keeps its own");
	ctx->mt = &rt->fx.mt;
	if (!rt_create_pair(test, rp_first_fn, rp_second_fn, ctx, "masstree_rp", t))
		return;
	ctx->first = t[0];
	ctx->second = t[1];
	WRITE_ONCE(rp_cur, ctx);
	WRITE_ONCE(masstree_test_hook, rp_hook);
	wake_up_process(t[0]);
	wake_up_process(t[1]);
	while (!atomic_read(&ctx->stop))
		msleep(20);
	for (i = 0; i < 2; i++) {
		kthread_stop(t[i]);
		put_task_struct(t[i]);
	}
	WRITE_ONCE(masstree_test_hook, NULL);
	WRITE_ONCE(rp_cur, NULL);
	synchronize_rcu();
	kunit_info(test, "%d rounds: %ld windows held, %ld met", RP_ROUNDS,
		   atomic_long_read(&ctx->held), atomic_long_read(&ctx->met));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->errors), 0L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->held), (long)RP_ROUNDS);
	/* A window the second writer never entered tested nothing. */
	KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->met), 0L);
	KUNIT_EXPECT_EQ(test, masstree_validate(ctx->mt), 0);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(ctx->mt->root));
}

static void masstree_races_first_keys_of_a_layer(struct kunit *test)
{
	static const int kinds[] = { RT_LAYER_NEW, RT_LAYER_EMPTYING };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_ROUNDS);
}

static void masstree_races_readers_of_moved_and_shifted_keys(struct kunit *test)
{
	static const int kinds[] = {
		RT_SPLIT_LEAF, RT_SPLIT_INODE_MARK, RT_SPLIT_INODE_DIRTY,
	};

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_SPLIT_ROUNDS);
}

static void masstree_races_chain_folds_under_readers_and_writers(struct kunit *test)
{
	static const int kinds[] = { RT_COLLAPSE };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_ROUNDS);
}

static void masstree_races_store_publishes_filled_entries(struct kunit *test)
{
	static const int kinds[] = { RT_STORE };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_ROUNDS);
}

static void masstree_races_parent_moved_under_a_waiting_writer(struct kunit *test)
{
	static const int kinds[] = { RT_PARENT };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_SPLIT_ROUNDS);
}

static void masstree_races_leaf_merge_under_readers_and_writers(struct kunit *test)
{
	static const int kinds[] = { RT_MERGE_STALE, RT_MERGE_WINDOW };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_ROUNDS);
}

/*
 * A leaf slot freed by an erase and refilled by an insert, under readers
 * that hold a permutation from before the erase (RT_REUSE), look up
 * the key being inserted again into the slot its erased entry left
 * (RT_REFILL), or hold a validated window on the slot whose bag entry
 * the refill rewrites (RT_BAG): see the DOC at the top.
 */
static void masstree_races_freed_slot_refilled_under_readers(struct kunit *test)
{
	static const int kinds[] = { RT_REUSE, RT_REFILL, RT_BAG };

	rt_run(test, kinds, ARRAY_SIZE(kinds), RT_ROUNDS);
}

/*
 * The root shrink against an erase that waits for its left neighbour: a
 * layer (or the top layer) whose root internode has two leaves, the left
 * one L down to one key, the right one E full. Thread B erases L's key:
 * L emptied, it is held before locking the root (MASSTREE_HOOK_LOCK_PARENT),
 * L locked. Meanwhile thread A erases E's keys (their merges with L fail:
 * L is busy), the last one empties E, and A, finding L locked, unlocks E
 * to wait for it, and is held there (MASSTREE_HOOK_LOCK_PREV) until B is
 * done. B removes L from the root, which is left with E alone, unlocked
 * and empty: the root must not absorb it (that would make an empty root
 * leaf no erase removes); A's erase then removes E and the layer. Both
 * leaves emptied: the layer must be gone, the map valid, the other keys
 * there, and erasing those must give every node back.
 */
#define RS_BASE		0x5000
#define RS_FIRST	16
/* The most a held thread waits for the other, in microseconds. */
#define RS_HOLD_US	1000000
#define RS_B_HELD	1
#define RS_A_HELD	2
#define RS_B_DONE	4
#define RS_A_MET	8

/**
 * struct rs_ctx - the root-shrink case.
 * @mt: the map.
 * @prefix: the layer's 8 bytes, or NULL for the top layer.
 * @a: the thread that empties the right leaf.
 * @b: the thread that empties the left leaf.
 * @left: the left leaf's last key.
 * @right: the right leaf's keys, in the order A erases them.
 * @nright: how many.
 * @state: RS_* bits: who got held, who is done.
 * @errors: erases that returned the wrong entry.
 * @done: A and B are done.
 */
struct rs_ctx {
	struct masstree *mt;
	const u8 *prefix;
	struct task_struct *a;
	struct task_struct *b;
	u64 left;
	u64 right[MST_NODE_WIDTH];
	unsigned int nright;
	atomic_t state;
	atomic_t errors;
	struct completion done[2];
};

static struct rs_ctx *rs_cur;

static u32 rs_key(const struct rs_ctx *ctx, u8 *b, u64 s)
{
	u32 off = ctx->prefix ? 8 : 0;

	if (off)
		memcpy(b, ctx->prefix, 8);
	mtt_key64(b + off, s);
	return off + 8;
}

static bool rs_wait(struct rs_ctx *ctx, int bit)
{
	return rt_wait_bit(&ctx->state, bit, RS_HOLD_US);
}

static void rs_hook(enum masstree_test_hook_point where)
{
	struct rs_ctx *ctx = READ_ONCE(rs_cur);

	if (!ctx)
		return;
	if (where == MASSTREE_HOOK_LOCK_PARENT && current == ctx->b &&
	    !(atomic_read(&ctx->state) & RS_B_HELD)) {
		/* L emptied and locked: until A waits for it, E unlocked. */
		atomic_or(RS_B_HELD, &ctx->state);
		rs_wait(ctx, RS_A_HELD);
	} else if (where == MASSTREE_HOOK_LOCK_PREV && current == ctx->a &&
		   !(atomic_read(&ctx->state) & RS_A_HELD)) {
		atomic_or(RS_A_HELD, &ctx->state);
		if (rs_wait(ctx, RS_B_DONE))
			atomic_or(RS_A_MET, &ctx->state);
	}
}

static void rs_erase(struct rs_ctx *ctx, u64 s)
{
	u8 key[16];

	if (masstree_erase(ctx->mt, key, rs_key(ctx, key, s)) != mtt_entry(s))
		atomic_inc(&ctx->errors);
}

static int rs_b_fn(void *arg)
{
	struct rs_ctx *ctx = arg;

	rs_erase(ctx, ctx->left);
	atomic_or(RS_B_DONE, &ctx->state);
	complete(&ctx->done[1]);
	mtt_park();
	return 0;
}

static int rs_a_fn(void *arg)
{
	struct rs_ctx *ctx = arg;
	unsigned int i;

	if (rs_wait(ctx, RS_B_HELD))
		for (i = 0; i < ctx->nright; i++)
			rs_erase(ctx, ctx->right[i]);
	complete(&ctx->done[0]);
	mtt_park();
	return 0;
}

/*
 * The layer's root: an internode over two leaves, the left one holding
 * the keys below @sep. Fills the right one up to MST_NODE_WIDTH keys and
 * erases the left one's down to its first; records both for the threads.
 */
static void rs_setup(struct kunit *test, struct rs_ctx *ctx)
{
	struct masstree *mt = ctx->mt;
	struct mst_internode *r;
	struct mst_node *root;
	struct mst_leaf *l, *e;
	unsigned int i;
	u8 key[16];
	u64 sep, s;

	for (i = 0; i < RS_FIRST; i++) {
		s = RS_BASE + 16 * i;
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, rs_key(ctx, key, s),
						      mtt_entry(s), GFP_KERNEL), 0);
	}
	root = mtt_layer_root(mt, ctx->prefix);
	KUNIT_ASSERT_NOT_NULL(test, root);
	KUNIT_ASSERT_FALSE(test, mst_node_is_leaf(root));
	r = mst_to_internode(root);
	KUNIT_ASSERT_EQ(test, r->nkeys, 1);
	sep = r->ikey[0];
	l = mst_to_leaf(rcu_access_pointer(r->child[0]));
	e = mst_to_leaf(rcu_access_pointer(r->child[1]));
	/* The right leaf full: no merge with the left one while it shrinks. */
	for (i = RS_FIRST; i-- > 0 && mst_perm_size(e->permutation) < MST_NODE_WIDTH;) {
		s = RS_BASE + 16 * i + 8;
		if (s < sep)
			break;
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, rs_key(ctx, key, s),
						      mtt_entry(s), GFP_KERNEL), 0);
	}
	KUNIT_ASSERT_EQ(test, mst_perm_size(e->permutation), MST_NODE_WIDTH);
	ctx->left = RS_BASE;
	for (s = RS_BASE + 16; s < sep; s += 16)
		KUNIT_ASSERT_PTR_EQ(test, masstree_erase(mt, key, rs_key(ctx, key, s)),
				    mtt_entry(s));
	KUNIT_ASSERT_EQ(test, mst_perm_size(l->permutation), 1U);
	KUNIT_ASSERT_PTR_EQ(test, (struct mst_node *)mtt_layer_root(mt, ctx->prefix),
			    root);
	KUNIT_ASSERT_EQ(test, r->nkeys, 1);
	ctx->nright = 0;
	for (s = sep; s < RS_BASE + 16 * RS_FIRST; s += 8)
		if (masstree_load(mt, key, rs_key(ctx, key, s)))
			ctx->right[ctx->nright++] = s;
	KUNIT_ASSERT_EQ(test, ctx->nright, MST_NODE_WIDTH);
}

static void masstree_races_root_shrink_beside_an_emptied_leaf(struct kunit *test)
{
	static const u8 *const prefixes[] = { NULL, (const u8 *)"shrink:!" };
	struct rt_ctx *rt = test->priv;
	struct masstree *mt = &rt->fx.mt;
	struct task_struct *t[2];
	struct masstree_stats st;
	struct mst_node_stats now;
	unsigned int v;
	struct rs_ctx *ctx;
	int state;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs: each held thread keeps its own");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->mt = mt;
	for (v = 0; v < ARRAY_SIZE(prefixes); v++) {
		/* Whatever a failed variant left is not the next one's. */
		masstree_destroy(mt);
		ctx->prefix = prefixes[v];
		atomic_set(&ctx->state, 0);
		atomic_set(&ctx->errors, 0);
		init_completion(&ctx->done[0]);
		init_completion(&ctx->done[1]);
		if (ctx->prefix) {
			/* The layer's neighbours in the top layer, which stay. */
			KUNIT_ASSERT_EQ(test, masstree_insert(mt, "a", 1, mtt_entry(1),
							      GFP_KERNEL), 0);
			KUNIT_ASSERT_EQ(test, masstree_insert(mt, "zzzz", 4, mtt_entry(2),
							      GFP_KERNEL), 0);
		}
		rs_setup(test, ctx);
		if (!rt_create_pair(test, rs_a_fn, rs_b_fn, ctx, "masstree_rs", t))
			return;
		ctx->a = t[0];
		ctx->b = t[1];
		WRITE_ONCE(rs_cur, ctx);
		WRITE_ONCE(masstree_test_hook, rs_hook);
		rt_run_pair(t, ctx->done);
		WRITE_ONCE(masstree_test_hook, NULL);
		WRITE_ONCE(rs_cur, NULL);
		state = atomic_read(&ctx->state);
		/* Each thread held where the race is, while the other acted. */
		KUNIT_EXPECT_EQ(test, state, RS_B_HELD | RS_A_HELD | RS_B_DONE | RS_A_MET);
		KUNIT_EXPECT_EQ(test, atomic_read(&ctx->errors), 0);
		KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
		/* Both leaves emptied: the layer is gone, not an empty root. */
		KUNIT_EXPECT_NULL(test, mtt_layer_root(mt, ctx->prefix));
		masstree_get_stats(mt, &st);
		KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
		if (ctx->prefix) {
			KUNIT_EXPECT_EQ(test, st.keys, 2UL);
			KUNIT_EXPECT_EQ(test, st.layers, 1UL);
			KUNIT_EXPECT_EQ(test, st.leaves, 1UL);
			KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "a", 1), mtt_entry(1));
			KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "zzzz", 4), mtt_entry(2));
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "a", 1), mtt_entry(1));
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "zzzz", 4), mtt_entry(2));
		}
		mtt_expect_empty(test, mt);
		mtt_settled_nodes(&now);
		KUNIT_EXPECT_EQ(test, now.leaves, rt->fx.nodes.leaves);
		KUNIT_EXPECT_EQ(test, now.internodes, rt->fx.nodes.internodes);
	}
}

/*
 * A span split and a span merge, each held open at its hook while one
 * other thread acts, round after round. The pair A, B shares a span of
 * SP_SPAN bytes above the layer where they differ (their rests there:
 * SP_LOW on); C leaves the span at its 11th slice, E at its 12th (the
 * last), and D is a third key of the pair's layer. Thread W writes and is held, thread
 * O acts inside W's window:
 *
 * - SP_SPLIT_READ: W inserts C, held with the new layer built and the
 *   pair's layer root pointing up to it, the slot not yet switched; O
 *   looks up A and B, which must be there throughout (through the old
 *   span: a split that changed it in place, or freed it without a grace
 *   period, shows here).
 * - SP_SPLIT_CLIMB: the same window; O erases B, so the pair's layer is
 *   left with A, to fold into the slot above it: O reads the rewritten
 *   parent, the new layer, and waits for its lock. With a split that
 *   leaves the old parent, O climbs to the top layer's slot, which no
 *   longer leads there: it cannot fold (the map ends with a leaf more than the
 *   same keys inserted afresh) or folds into the wrong slot.
 * - SP_SPLIT_RETRY: O erases B first and is held in its climb, the old
 *   parent read, before locking the top layer's leaf, until W's split is
 *   in its window; once W publishes, O locks a slot that no longer leads
 *   to the pair's layer and must read the parent again (a climb that
 *   does not retry leaves the layer unfolded, or folds it wrongly).
 * - SP_MERGE_READ: W erases C, so the layer C made is left with one
 *   entry, the way down, and merges into the slot above as one span; W
 *   held with the new span built, the slot not yet switched; O looks up
 *   A and B throughout.
 * - SP_MERGE_LOW: the same window; O inserts D into the pair's layer,
 *   which the merge does not lock. Then A and B are erased: the fold of
 *   the pair's layer climbs through the parent the merge rewrote (a merge
 *   that leaves it pointing at the merged layer's leaf fails there).
 * - SP_MERGE_SPAN: the same window; O inserts E, which leaves the span
 *   below C's layer (one slice, so that with a preload the split there
 *   needs nothing it must unlock for): it waits for that layer's lock,
 *   which it must find deleted once W is done, and go again from the top
 *   (a merge that does not delete the layer loses E into it).
 *
 * After each round: the expected keys and nothing else, the map valid,
 * and as many leaves and layers as the same keys inserted afresh.
 */
enum sp_kind {
	SP_SPLIT_READ,
	SP_SPLIT_CLIMB,
	SP_SPLIT_RETRY,
	SP_MERGE_READ,
	SP_MERGE_LOW,
	SP_MERGE_SPAN,
	SP_NR
};

static const char *const sp_names[SP_NR] = {
	"split, reader", "split, climbing eraser", "split, eraser retrying",
	"merge, reader", "merge, insert below", "merge, insert into the span",
};

#define SP_ROUNDS	(IS_ENABLED(CONFIG_KCSAN) ? 3 : 8)
#define SP_S		101
#define SP_SPAN		96
#define SP_LOW		(8 + SP_SPAN)
#define SP_KLEN		(8 + SP_S + 1)
#define SP_A		0
#define SP_B		1
#define SP_C		2
#define SP_D		3
#define SP_E		4
#define SP_NKEYS	5
/* The most a held thread waits for the other, in microseconds. */
#define SP_HOLD_US	1000000
/* How long W stays in its window once O is on its way to a lock. */
#define SP_LINGER_US	(IS_ENABLED(CONFIG_KCSAN) ? 2000 : 500)

#define SP_W_HELD	1	/* W is in its window */
#define SP_W_GONE	2	/* W left its window */
#define SP_O_HELD	4	/* O is held in its climb (SP_SPLIT_RETRY) */
#define SP_O_MET	8	/* O acted while W was held */
#define SP_O_DONE	16	/* O is done */
#define SP_W_DONE	32	/* W is done */

/**
 * struct sp_ctx - the span split and merge rounds.
 * @mt: the map.
 * @kind: the round's kind.
 * @w: the held writer.
 * @o: the other thread.
 * @b: the keys' bytes.
 * @len: the keys' lengths.
 * @state: SP_* bits.
 * @o_locks: O's MASSTREE_HOOK_LOCK_LEAF calls this round.
 * @reads: O's lookups inside W's window.
 * @errors: wrong answers.
 * @done: W and O are done.
 */
struct sp_ctx {
	struct masstree *mt;
	enum sp_kind kind;
	struct task_struct *w;
	struct task_struct *o;
	u8 b[SP_NKEYS][SP_KLEN + 8];
	u32 len[SP_NKEYS];
	atomic_t state;
	atomic_t o_locks;
	atomic_t reads;
	atomic_t errors;
	struct completion done[2];
};

static struct sp_ctx *sp_cur;

/* The first @len bytes all the keys share. */
static void sp_fill(u8 *b, u32 len)
{
	u32 i;

	memcpy(b, "race-sp!", 8);
	for (i = 8; i < len; i++)
		b[i] = 'a' + (i * 7) % 23;
}

static void sp_keys(struct sp_ctx *ctx)
{
	static const u8 last[] = { '0', '9', 0, '5', 0 };
	unsigned int i;
	u32 p;

	for (i = 0; i < SP_NKEYS; i++) {
		if (last[i]) {
			sp_fill(ctx->b[i], SP_KLEN - 1);
			ctx->b[i][SP_KLEN - 1] = last[i];
			ctx->len[i] = SP_KLEN;
			continue;
		}
		/* C: slice 10 of the span, byte 3; E: slice 11, byte 2. */
		p = i == SP_C ? 8 + 8 * 10 + 3 : 8 + 8 * 11 + 2;
		sp_fill(ctx->b[i], p);
		ctx->b[i][p] = i == SP_C ? 0xfe : 0x01;
		memcpy(ctx->b[i] + p + 1, "tail", 4);
		ctx->len[i] = p + 5;
	}
}

static bool sp_wait(struct sp_ctx *ctx, int bit)
{
	return rt_wait_bit(&ctx->state, bit, SP_HOLD_US);
}

/* Wait until O made its @n-th MASSTREE_HOOK_LOCK_LEAF call, or gave up. */
static bool sp_wait_locks(struct sp_ctx *ctx, int n)
{
	unsigned int us;

	for (us = 0; us < SP_HOLD_US; us++) {
		if (atomic_read(&ctx->o_locks) >= n)
			return true;
		if (atomic_read(&ctx->state) & SP_O_DONE)
			return false;
		udelay(1);
	}
	return false;
}

/* Hold W while O does @n lookups (or is done). */
static bool sp_wait_reads(struct sp_ctx *ctx, int n)
{
	unsigned int us;

	for (us = 0; us < SP_HOLD_US; us++) {
		if (atomic_read(&ctx->reads) >= n)
			return true;
		udelay(1);
	}
	return false;
}

static void sp_hook(enum masstree_test_hook_point where)
{
	struct sp_ctx *ctx = READ_ONCE(sp_cur);
	bool met = false;

	if (!ctx)
		return;
	if (current == ctx->o && where == MASSTREE_HOOK_LOCK_LEAF) {
		/* The second: the climb, with the parent read. */
		if (atomic_inc_return(&ctx->o_locks) == 2 &&
		    ctx->kind == SP_SPLIT_RETRY) {
			atomic_or(SP_O_HELD, &ctx->state);
			sp_wait(ctx, SP_W_HELD);
		}
		return;
	}
	if (current != ctx->w ||
	    where != (ctx->kind < SP_MERGE_READ ? MASSTREE_HOOK_SPAN_SPLIT :
		      MASSTREE_HOOK_SPAN_MERGE) ||
	    (atomic_read(&ctx->state) & SP_W_HELD))
		return;
	atomic_or(SP_W_HELD, &ctx->state);
	switch (ctx->kind) {
	case SP_SPLIT_READ:
	case SP_MERGE_READ:
		met = sp_wait_reads(ctx, 20);
		break;
	case SP_SPLIT_CLIMB:
		/* O's climb reads the new parent and waits for its lock. */
		met = sp_wait_locks(ctx, 2);
		udelay(SP_LINGER_US);
		break;
	case SP_SPLIT_RETRY:
		/* O, released, waits for the top leaf's lock, which W holds. */
		met = atomic_read(&ctx->state) & SP_O_HELD;
		udelay(SP_LINGER_US);
		break;
	case SP_MERGE_LOW:
		met = sp_wait(ctx, SP_O_DONE);
		break;
	case SP_MERGE_SPAN:
		/* O walked to the merged layer's leaf and waits for its lock. */
		met = sp_wait_locks(ctx, 1);
		udelay(SP_LINGER_US);
		break;
	default:
		break;
	}
	if (met)
		atomic_or(SP_O_MET, &ctx->state);
	atomic_or(SP_W_GONE, &ctx->state);
}

static void sp_expect(struct sp_ctx *ctx, void *got, unsigned int k)
{
	if (got != mtt_entry(k))
		atomic_inc(&ctx->errors);
}

static int sp_w_fn(void *arg)
{
	struct sp_ctx *ctx = arg;
	unsigned int k = SP_C;

	if (ctx->kind == SP_SPLIT_RETRY)
		sp_wait(ctx, SP_O_HELD);
	if (ctx->kind < SP_MERGE_READ) {
		if (masstree_insert(ctx->mt, ctx->b[k], ctx->len[k], mtt_entry(k),
				    GFP_KERNEL))
			atomic_inc(&ctx->errors);
	} else {
		sp_expect(ctx, masstree_erase(ctx->mt, ctx->b[k], ctx->len[k]), k);
	}
	atomic_or(SP_W_DONE, &ctx->state);
	complete(&ctx->done[0]);
	mtt_park();
	return 0;
}

/*
 * Insert key @k with the per-CPU pool stocked, so that a split under the
 * leaf's lock takes its node from there instead of unlocking to allocate.
 */
static void sp_insert_preloaded(struct sp_ctx *ctx, unsigned int k)
{
	int err = -ENOMEM;

	if (!masstree_preload(GFP_KERNEL)) {
		err = masstree_insert(ctx->mt, ctx->b[k], ctx->len[k], mtt_entry(k),
				      GFP_ATOMIC);
		masstree_preload_end();
	}
	if (err == -ENOMEM)
		err = masstree_insert(ctx->mt, ctx->b[k], ctx->len[k], mtt_entry(k),
				      GFP_KERNEL);
	if (err)
		atomic_inc(&ctx->errors);
}

static int sp_o_fn(void *arg)
{
	struct sp_ctx *ctx = arg;
	unsigned int i, k;
	void *got;

	switch (ctx->kind) {
	case SP_SPLIT_READ:
	case SP_MERGE_READ:
		/* A and B throughout; C comes or goes, never anything else. */
		while (!(atomic_read(&ctx->state) & (SP_W_GONE | SP_W_DONE))) {
			bool held = atomic_read(&ctx->state) & SP_W_HELD;

			for (i = 0; i < 3; i++) {
				got = masstree_load(ctx->mt, ctx->b[i], ctx->len[i]);
				if (got != mtt_entry(i) && (i != SP_C || got))
					atomic_inc(&ctx->errors);
			}
			if (held)
				atomic_inc(&ctx->reads);
			cond_resched();
		}
		break;
	case SP_SPLIT_CLIMB:
	case SP_MERGE_LOW:
	case SP_MERGE_SPAN:
		sp_wait(ctx, SP_W_HELD);
		fallthrough;
	case SP_SPLIT_RETRY:
		if (ctx->kind == SP_SPLIT_CLIMB || ctx->kind == SP_SPLIT_RETRY) {
			k = SP_B;
			sp_expect(ctx, masstree_erase(ctx->mt, ctx->b[k], ctx->len[k]), k);
		} else {
			k = ctx->kind == SP_MERGE_LOW ? SP_D : SP_E;
			sp_insert_preloaded(ctx, k);
		}
		break;
	default:
		break;
	}
	atomic_or(SP_O_DONE, &ctx->state);
	complete(&ctx->done[1]);
	mtt_park();
	return 0;
}

/*
 * @mt holds the keys of @want, each with mtt_entry(k), nothing else, is
 * valid, and has the leaves and layers those keys inserted afresh have.
 */
static void sp_check(struct kunit *test, struct sp_ctx *ctx, unsigned int want,
		     const char *what)
{
	struct masstree_stats st, fst;
	struct masstree *fresh;
	unsigned int k;

	KUNIT_EXPECT_EQ_MSG(test, masstree_validate(ctx->mt), 0, "%s", what);
	fresh = kunit_kzalloc(test, sizeof(*fresh), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fresh);
	masstree_init(fresh, 0);
	for (k = 0; k < SP_NKEYS; k++) {
		KUNIT_EXPECT_PTR_EQ_MSG(test, masstree_load(ctx->mt, ctx->b[k], ctx->len[k]),
					want & BIT(k) ? mtt_entry(k) : NULL,
					"%s: key %u", what, k);
		if (want & BIT(k))
			KUNIT_EXPECT_EQ(test, masstree_insert(fresh, ctx->b[k], ctx->len[k],
							      mtt_entry(k), GFP_KERNEL), 0);
	}
	masstree_get_stats(ctx->mt, &st);
	masstree_get_stats(fresh, &fst);
	masstree_destroy(fresh);
	KUNIT_EXPECT_EQ_MSG(test, st.keys, (unsigned long)hweight32(want), "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, st.leaves, fst.leaves, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, st.layers, fst.layers, "%s", what);
	/*
	 * Not the bytes: a write may take a suffix buffer larger than it
	 * needs (a fold sizes its buffer for the way up it saw first), so
	 * two maps of the same shape may differ there.
	 */
}

static void sp_round(struct kunit *test, struct sp_ctx *ctx)
{
	static const unsigned int keys_after[SP_NR] = {
		[SP_SPLIT_READ] = BIT(SP_A) | BIT(SP_B) | BIT(SP_C),
		[SP_SPLIT_CLIMB] = BIT(SP_A) | BIT(SP_C),
		[SP_SPLIT_RETRY] = BIT(SP_A) | BIT(SP_C),
		[SP_MERGE_READ] = BIT(SP_A) | BIT(SP_B),
		[SP_MERGE_LOW] = BIT(SP_A) | BIT(SP_B) | BIT(SP_D),
		[SP_MERGE_SPAN] = BIT(SP_A) | BIT(SP_B) | BIT(SP_E),
	};
	const char *what = sp_names[ctx->kind];
	struct task_struct *t[2];
	unsigned int k;
	int state;

	masstree_destroy(ctx->mt);
	for (k = 0; k < (ctx->kind < SP_MERGE_READ ? 2 : 3); k++)
		KUNIT_ASSERT_EQ(test, masstree_insert(ctx->mt, ctx->b[k], ctx->len[k],
						      mtt_entry(k), GFP_KERNEL), 0);
	atomic_set(&ctx->state, 0);
	atomic_set(&ctx->o_locks, 0);
	atomic_set(&ctx->reads, 0);
	atomic_set(&ctx->errors, 0);
	init_completion(&ctx->done[0]);
	init_completion(&ctx->done[1]);
	if (!rt_create_pair(test, sp_w_fn, sp_o_fn, ctx, "masstree_sp", t))
		return;
	ctx->w = t[0];
	ctx->o = t[1];
	WRITE_ONCE(sp_cur, ctx);
	WRITE_ONCE(masstree_test_hook, sp_hook);
	rt_run_pair(t, ctx->done);
	WRITE_ONCE(masstree_test_hook, NULL);
	WRITE_ONCE(sp_cur, NULL);
	state = atomic_read(&ctx->state);
	/* W held in its window, and O acted inside it. */
	KUNIT_EXPECT_EQ_MSG(test, state & (SP_W_HELD | SP_O_MET),
			    SP_W_HELD | SP_O_MET, "%s: state %#x", what, state);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&ctx->errors), 0, "%s", what);
	sp_check(test, ctx, keys_after[ctx->kind], what);
	if (ctx->kind == SP_MERGE_LOW) {
		/* The pair's layer climbs through the merged span to fold. */
		for (k = SP_A; k <= SP_B; k++)
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(ctx->mt, ctx->b[k],
								 ctx->len[k]),
					    mtt_entry(k));
		sp_check(test, ctx, BIT(SP_D), "merge, insert below, then erases");
	}
}

static void masstree_races_span_split_and_merge_windows(struct kunit *test)
{
	struct rt_ctx *rt = test->priv;
	struct mst_node_stats now;
	unsigned int r, kind;
	struct sp_ctx *ctx;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs: each held thread keeps its own");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->mt = &rt->fx.mt;
	sp_keys(ctx);
	for (kind = 0; kind < SP_NR; kind++) {
		ctx->kind = kind;
		/* Every kind, even after a failure: each round starts afresh. */
		for (r = 0; r < SP_ROUNDS; r++)
			sp_round(test, ctx);
	}
	masstree_destroy(ctx->mt);
	mtt_settled_nodes(&now);
	KUNIT_EXPECT_EQ(test, now.leaves, rt->fx.nodes.leaves);
	KUNIT_EXPECT_EQ(test, now.internodes, rt->fx.nodes.internodes);
}

static int rt_init(struct kunit *test)
{
	struct rt_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	masstree_init(&ctx->fx.mt, 0);
	mtt_settled_nodes(&ctx->fx.nodes);
	test->priv = ctx;
	return 0;
}

static void rt_exit(struct kunit *test)
{
	struct rt_ctx *ctx = test->priv;

	WRITE_ONCE(masstree_test_hook, NULL);
	WRITE_ONCE(rt_cur, NULL);
	WRITE_ONCE(rp_cur, NULL);
	WRITE_ONCE(rs_cur, NULL);
	WRITE_ONCE(sp_cur, NULL);
	synchronize_rcu();
	masstree_destroy(&ctx->fx.mt);
}

static struct kunit_case masstree_races_cases[] = {
	KUNIT_CASE(masstree_races_first_insert_into_empty_map),
	KUNIT_CASE(masstree_races_first_root_publication),
	KUNIT_CASE(masstree_races_first_keys_of_a_layer),
	KUNIT_CASE(masstree_races_readers_of_moved_and_shifted_keys),
	KUNIT_CASE(masstree_races_chain_folds_under_readers_and_writers),
	KUNIT_CASE(masstree_races_store_publishes_filled_entries),
	KUNIT_CASE(masstree_races_parent_moved_under_a_waiting_writer),
	KUNIT_CASE(masstree_races_leaf_merge_under_readers_and_writers),
	KUNIT_CASE(masstree_races_freed_slot_refilled_under_readers),
	KUNIT_CASE(masstree_races_root_shrink_beside_an_emptied_leaf),
	KUNIT_CASE(masstree_races_span_split_and_merge_windows),
	{}
};

static struct kunit_suite masstree_races_suite = {
	.name = "masstree_races",
	.init = rt_init,
	.exit = rt_exit,
	.test_cases = masstree_races_cases,
};

kunit_test_suite(masstree_races_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's race windows, held open");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
